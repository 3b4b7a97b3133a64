/*
 * Storage for the verifier tests that fails the test on any out-of-bounds read: the verifier must
 * never ask for a byte outside what it was told is readable. Optionally fails the k-th read.
 * Include after <cmocka.h>.
 */
#ifndef OTAKIT_TEST_CHECKED_SRC_H
#define OTAKIT_TEST_CHECKED_SRC_H

#include <inttypes.h>
#include <string.h>

#include "otakit/image.h"

struct src {
    const uint8_t *p;
    uint32_t avail;
    long reads;   /* reads so far */
    long fail_at; /* this read (0-based) returns an error; -1: never */
};

static inline struct src src_of(const uint8_t *p, uint32_t avail)
{
    struct src s = {p, avail, 0, -1};
    return s;
}

static inline int src_read(void *ctx, uint32_t off, void *buf, uint32_t len)
{
    struct src *s = ctx;
    if (off > s->avail || len > s->avail - off)
        fail_msg("verifier read [%" PRIu32 ", +%" PRIu32 ") outside the %" PRIu32 " readable bytes", off,
                 len, s->avail);
    if (s->reads++ == s->fail_at)
        return -1;
    memcpy(buf, s->p + off, len);
    return 0;
}

/* ota_image_verify() over len bytes in memory through src_read. */
static inline int verify_mem(const uint8_t *img, size_t len, const ota_verify_cfg_t *cfg, ota_image_info_t *info)
{
    struct src s = src_of(img, (uint32_t)len);
    assert_true(len <= UINT32_MAX);
    return ota_image_verify(src_read, &s, s.avail, cfg, info);
}

#endif
