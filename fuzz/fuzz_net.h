/*
 * A fake transport for the network fuzz targets (fuzz_push.c, fuzz_http.c): the fuzzer's bytes
 * are what the peer sends, handed out in pieces of a size the input chooses, so the real library
 * code parses them exactly as it would from a socket. Sends are swallowed. The clock moves on a
 * little at every call, so long inputs also run into the library's deadlines.
 *
 * Input layout: byte 0 = piece size - 1 (low 6 bits), byte 1 = flags for the target (bit 0: the
 * peer ends with a timeout instead of closing), then the stream. abort()s when the library breaks
 * the transport contract: an operation on a closed or unknown handle, or a wait of 0 ms (which a
 * port may take as "forever").
 */
#ifndef OTAKIT_FUZZ_NET_H
#define OTAKIT_FUZZ_NET_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/port.h"

#define FZ_HANDLE 5
#define FZ_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

typedef struct {
    const uint8_t *p;
    size_t len, at, piece;
    int end_rc;      /* what recv returns once the stream is used up: 0 (closed) or OTA_ERR_TIMEOUT */
    int open;
    unsigned connects;
    uint32_t now;    /* the fake clock, in ms */
    ota_platform_ops_t plat; /* its now_ms reads (and moves on) the fake clock */
} fz_net_t;

static int fz_connect(void *ctx, const char *host, uint16_t port, uint32_t timeout_ms)
{
    fz_net_t *f = ctx;
    FZ_CHECK(host && *host && port && timeout_ms > 0 && !f->open);
    f->now += 3;
    f->open = 1;
    f->connects++;
    return FZ_HANDLE;
}

static int fz_send(void *ctx, int h, const void *buf, size_t len, uint32_t timeout_ms)
{
    fz_net_t *f = ctx;
    FZ_CHECK(h == FZ_HANDLE && f->open && buf && len > 0 && timeout_ms > 0);
    f->now += 1;
    return (int)(len > 700 ? 700 : len); /* short sends: the caller must loop */
}

static int fz_recv(void *ctx, int h, void *buf, size_t len, uint32_t timeout_ms)
{
    fz_net_t *f = ctx;
    size_t n = f->len - f->at;
    FZ_CHECK(h == FZ_HANDLE && f->open && buf && len > 0 && timeout_ms > 0);
    f->now += 7;
    if (n == 0)
        return f->end_rc;
    if (n > f->piece)
        n = f->piece;
    if (n > len)
        n = len;
    memcpy(buf, f->p + f->at, n);
    f->at += n;
    return (int)n;
}

static void fz_close(void *ctx, int h)
{
    fz_net_t *f = ctx;
    FZ_CHECK(h == FZ_HANDLE && f->open);
    f->open = 0;
}

static uint32_t fz_now(void *ctx)
{
    return ((fz_net_t *)ctx)->now += 1;
}

static const ota_net_ops_t fz_ops = {fz_connect, fz_send, fz_recv, fz_close};

/* Sets f and net (and f->plat, the platform clock to give the HTTP client or push server) up for one input. Returns the target's flags byte, or -1 when the input is too
 * short to have one. */
static int fz_net_init(fz_net_t *f, ota_net_t *net, const uint8_t *data, size_t size)
{
    if (size < 2)
        return -1;
    memset(f, 0, sizeof *f);
    f->piece = (size_t)(data[0] & 63u) + 1;
    f->end_rc = data[1] & 1 ? OTA_ERR_TIMEOUT : 0;
    f->p = data + 2;
    f->len = size - 2;
    f->now = 0xfffff000u; /* near the wrap of the 32-bit clock: deadlines must survive it */
    f->plat.now_ms = fz_now;
    f->plat.ctx = f;
    net->ops = &fz_ops;
    net->ctx = f;
    return data[1];
}

#endif
