/*
 * Transport interface: the only way the device library talks to a network.
 *
 * A port provides four operations on byte-stream connections (TCP, or anything that behaves like
 * it). They map one to one onto BSD sockets, lwIP's netconn/socket API or a hardware TCP/IP chip
 * such as the W5500 (connect = Sn_CR CONNECT and poll Sn_SR, send = fill the TX buffer and SEND,
 * recv = wait for Sn_RX_RSR, close = DISCON/CLOSE). ports/host/net_posix.c is the reference port.
 * device/net/tls.c builds a TLS transport (mbedTLS) on top of any other one with the same ops.
 *
 * Every operation that can block takes a timeout in milliseconds: the port must return by then
 * (OTA_ERR_TIMEOUT). Errors are negative otakit codes; a port that cannot tell what went wrong
 * returns OTA_ERR_NET. Portable C99: no heap, no stdio.
 *
 * The clock that bounds many operations together is the platform's (ota_platform_ops_t.now_ms,
 * otakit/port.h, which lists everything a port provides).
 */
#ifndef OTAKIT_NET_H
#define OTAKIT_NET_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/err.h"

typedef struct {
    /* Opens a connection to host (a name or a literal address) and port, giving up after
     * timeout_ms. Returns a handle >= 0 that the other operations take, or OTA_ERR_NET (refused,
     * unreachable, name unknown), OTA_ERR_TIMEOUT, OTA_ERR_TLS (TLS transports) or OTA_ERR_ARG. */
    int (*connect)(void *ctx, const char *host, uint16_t port, uint32_t timeout_ms);
    /* Sends up to len bytes, waiting at most timeout_ms for room. Returns the number of bytes
     * taken (1..len; the caller loops for the rest), or OTA_ERR_NET / OTA_ERR_TIMEOUT. */
    int (*send)(void *ctx, int h, const void *buf, size_t len, uint32_t timeout_ms);
    /* Receives up to len bytes, waiting at most timeout_ms for the first one. Returns the number
     * of bytes received (>0), 0 when the peer closed the connection, or OTA_ERR_NET / OTA_ERR_TIMEOUT. */
    int (*recv)(void *ctx, int h, void *buf, size_t len, uint32_t timeout_ms);
    /* Closes the connection and releases the handle (never fails; h may be reused afterwards). */
    void (*close)(void *ctx, int h);
} ota_net_ops_t;

/* A transport: its operations and the port's state passed to each of them as ctx. */
typedef struct {
    const ota_net_ops_t *ops;
    void *ctx;
} ota_net_t;

#endif
