/*
 * Host transport: an ota_net_t over POSIX sockets (getaddrinfo, non-blocking connect, poll-based
 * timeouts). The reference port of otakit/net.h; the clock and the TLS entropy are the host
 * platform's (otakit/platform_posix.h).
 */
#ifndef OTAKIT_NET_POSIX_H
#define OTAKIT_NET_POSIX_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/net.h"

/* Counters of one transport (for logs and tests). */
typedef struct {
    uint32_t connects;     /* connections opened */
    uint64_t bytes_sent;
    uint64_t bytes_received;
} ota_net_posix_t;

/* Points *net at the POSIX transport, counting into *state (which must outlive net; zeroed here).
 * Handles are socket descriptors, also ones the caller accepted itself (blocking or not: every
 * wait is bounded by the operation's timeout either way); every connection is independent, so one
 * transport serves any number of clients and threads. Returns nothing. */
void ota_net_posix_init(ota_net_posix_t *state, ota_net_t *net);

#endif
