/*
 * Host platform (otakit/port.h's ota_platform_ops_t) on POSIX: a CLOCK_MONOTONIC clock, nanosleep,
 * getrandom entropy and a watchdog on SIGALRM. The reference port of the platform ops, used by
 * the simulated device (tools/sim), the tests and the benchmarks; ports/host/platform_posix.c.
 */
#ifndef OTAKIT_PLATFORM_POSIX_H
#define OTAKIT_PLATFORM_POSIX_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/port.h"

/* Fills *p with the host platform: now_ms, sleep_ms, entropy and the watchdog (watchdog_start,
 * watchdog_kick); select_bank NULL (no bank swap on the host), ctx NULL. reset is what the
 * watchdog does when it expires (the device's "reset", e.g. re-exec the program): it runs in a
 * SIGALRM handler, after the watchdog is stopped, so it must be async-signal-safe; NULL: _exit(1).
 * There is one watchdog per process (one SIGALRM timer), shared by every *p filled here. */
void ota_host_platform_init(ota_platform_ops_t *p, void (*reset)(void));

/* Stops the watchdog (a host-only convenience: a confirmed simulated image switches it off rather
 * than kick it forever). Returns nothing. */
void ota_host_watchdog_stop(void);

/* Milliseconds of CLOCK_MONOTONIC, 64-bit (the platform's now_ms is its low 32 bits; the POSIX
 * transport measures its per-operation timeouts with it). */
uint64_t ota_host_clock_ms(void);

/* Fills len bytes at out from the kernel's random generator (getrandom). The platform's entropy
 * op (ctx unused). Returns 0, or -1 when the kernel gives none. */
int ota_host_entropy(void *ctx, unsigned char *out, size_t len);

#endif
