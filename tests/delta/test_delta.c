/*
 * Delta patches as a device relies on them (otakit/delta.h, lib/delta.c), on the host flash
 * simulator with a swap and an A/B layout: a patch made by ota_delta_make() rebuilds the new image
 * from the running one whatever the chunking of the transfer; a reset in the middle resumes from
 * the last checkpoint; a patch for another base, signed by an untrusted key, altered in a block or
 * asking for more RAM than the device has is refused, and then nothing is marked pending and the
 * running image is untouched; a block that passes its hash but does not decode is refused too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "otakit/delta.h"
#include "otakit/delta_make.h"
#include "otakit/flash_sim.h"
#include "otakit/keys.h"
#include "otakit/presets.h"
#include "otakit/sign.h"

static ota_key_t *key, *other_key;
static uint8_t der[OTA_P256_SPKI_LEN];
static ota_pubkey_t pub;
static uint8_t *base, *target, *foreign, *patch, *patch_other_key;
static size_t base_n, target_n, foreign_n, patch_n, patch_other_key_n;

static uint8_t *payload(size_t n, uint32_t seed)
{
    uint8_t *p = malloc(n);
    size_t i;
    for (i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (uint8_t)(seed >> 24);
    }
    return p;
}

static int sign(uint8_t major, const uint8_t *pl, size_t n, uint8_t **out, size_t *out_n)
{
    ota_sign_opts_t o;
    ota_sign_opts_init(&o);
    o.version.major = major;
    o.has_security_counter = 1;
    o.security_counter = major;
    o.product = "acme";
    return ota_sign_image(&o, key, pl, n, out, out_n);
}

static int group_setup(void **state)
{
    ota_delta_params_t p;
    uint8_t *b, *t;
    size_t i;
    (void)state;
    if (ota_key_generate(&key) != OTA_OK || ota_key_generate(&other_key) != OTA_OK ||
        ota_key_public_der(key, der) != OTA_OK)
        return -1;
    pub.der = der;
    pub.len = sizeof der;
    /* Base: 40 KB. Target: the same with a run of bytes changed every 250 and 3 KB more. */
    b = payload(40000, 1);
    t = payload(43000, 1);
    for (i = 100; i < 43000; i += 250) { /* 12 new bytes every 250, as a code change scatters them */
        size_t k;
        for (k = 0; k < 12; k++)
            t[i + k] = (uint8_t)(i * 31 + k * 7 + (i >> 7));
    }
    if (sign(1, b, 40000, &base, &base_n) != OTA_OK || sign(2, t, 43000, &target, &target_n) != OTA_OK)
        return -1;
    free(t);
    t = payload(40000, 2); /* another image of the same size: not the patch's base */
    if (sign(1, t, 40000, &foreign, &foreign_n) != OTA_OK)
        return -1;
    free(b);
    free(t);
    ota_delta_params_init(&p);
    if (ota_delta_make(base, base_n, target, target_n, &p, key, &patch, &patch_n, NULL) != OTA_OK ||
        ota_delta_make(base, base_n, target, target_n, &p, other_key, &patch_other_key, &patch_other_key_n, NULL) !=
            OTA_OK)
        return -1;
    return patch_n < target_n / 4 ? 0 : -1; /* a small change makes a small patch */
}

static int group_teardown(void **state)
{
    (void)state;
    free(base);
    free(target);
    free(foreign);
    free(patch);
    free(patch_other_key);
    ota_key_free(key);
    ota_key_free(other_key);
    return 0;
}

/* ---- the simulated device ---------------------------------------------------------------- */

typedef struct {
    const ota_preset_t *preset;
    ota_flash_sim_t *sim;
    ota_flash_t flash;
    ota_config_t cfg;
    ota_ctx_t ctx;
    ota_delta_t d;
    ota_delta_ckpt_t ck;
    int has_ck;
} sdev_t;

static void on_ckpt(void *arg, const ota_delta_ckpt_t *c)
{
    sdev_t *v = (sdev_t *)arg;
    v->ck = *c;
    v->has_ck = 1;
}

static void boot(sdev_t *v)
{
    ota_boot_result_t r;
    assert_int_equal(ota_init(&v->ctx, &v->cfg), OTA_OK);
    assert_int_equal(ota_boot(&v->ctx, &r), OTA_OK);
    assert_int_equal(ota_init(&v->ctx, &v->cfg), OTA_OK); /* the firmware */
}

static void dev_open(sdev_t *v, const char *preset, const uint8_t *factory, size_t n)
{
    ota_flash_sim_cfg_t sc;
    memset(v, 0, sizeof *v);
    v->preset = ota_preset_find(preset);
    assert_non_null(v->preset);
    ota_flash_sim_cfg_preset(&sc, v->preset, 8, 0xff);
    assert_int_equal(ota_flash_sim_open(&sc, &v->sim), OTA_OK);
    ota_flash_sim_bind(v->sim, &v->flash);
    memcpy(ota_flash_sim_data(v->sim) + v->preset->layout.slot[0].off, factory, n);
    v->cfg.flash = &v->flash;
    v->cfg.layout = &v->preset->layout;
    v->cfg.keys = &pub;
    v->cfg.n_keys = 1;
    v->cfg.product = "acme";
    v->d.checkpoint = on_ckpt;
    v->d.checkpoint_arg = v;
    boot(v);
}

static void dev_close(sdev_t *v)
{
    ota_flash_sim_close(v->sim);
}

static const uint8_t *slot(sdev_t *v, unsigned s)
{
    return ota_flash_sim_data(v->sim) + v->preset->layout.slot[s].off;
}

/* Starts the patch p (resuming from v's checkpoint when resume) and feeds it from the offset the
 * applier asks for, chunk bytes at a time, stopping after stop bytes of the body (0: all). */
static int apply(sdev_t *v, const uint8_t *p, size_t n, uint32_t chunk, int resume, uint32_t stop)
{
    ota_delta_hdr_t h;
    uint32_t off, fed = 0;
    int rc;
    if ((rc = ota_delta_hdr_parse(p, (uint32_t)n, &h)) != OTA_OK ||
        (rc = ota_delta_hdr_verify(p, v->cfg.keys, v->cfg.n_keys)) != OTA_OK ||
        (rc = ota_delta_start(&v->d, &v->ctx, &h, resume && v->has_ck ? &v->ck : NULL, &off)) != OTA_OK)
        return rc;
    while (off < n) {
        uint32_t k = (uint32_t)n - off < chunk ? (uint32_t)n - off : chunk;
        if ((rc = ota_delta_feed(&v->d, p + off, k)) != OTA_OK)
            return rc;
        off += k;
        fed += k;
        if (stop && fed >= stop)
            return 1;
    }
    return ota_delta_finish(&v->d);
}

/* The update slot holds the target and it is pending. */
static void assert_rebuilt(sdev_t *v)
{
    assert_int_equal(v->ctx.rec.state, OTA_STATE_NEW);
    assert_memory_equal(slot(v, v->ctx.rec.target), target, target_n);
}

/* Refused: nothing pending, the running image as it was. */
static void assert_untouched(sdev_t *v)
{
    assert_int_not_equal(v->ctx.rec.state, OTA_STATE_NEW);
    assert_memory_equal(slot(v, ota_running_slot(&v->ctx)), base, base_n);
}

static const char *const presets[] = {"swap-256k", "esp8266-512k"};

static void rebuilds_in_any_chunking(void **state)
{
    static const uint32_t chunks[] = {1, 7, 333, 4096, 1u << 30};
    unsigned p, c;
    (void)state;
    for (p = 0; p < 2; p++)
        for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            sdev_t v;
            dev_open(&v, presets[p], base, base_n);
            assert_int_equal(apply(&v, patch, patch_n, chunks[c], 0, 0), OTA_OK);
            assert_rebuilt(&v);
            /* and the bootloader installs it like any other image */
            boot(&v);
            assert_int_equal(v.ctx.rec.state, OTA_STATE_TESTING);
            dev_close(&v);
        }
}

static void resumes_after_a_reset(void **state)
{
    unsigned p;
    (void)state;
    for (p = 0; p < 2; p++) {
        sdev_t v;
        dev_open(&v, presets[p], base, base_n);
        assert_int_equal(apply(&v, patch, patch_n, 500, 0, (uint32_t)patch_n * 3 / 4), 1);
        assert_true(v.has_ck);
        assert_true(v.ck.patch_off > OTA_DELTA_HDR_SIZE); /* a checkpoint past the first block */
        boot(&v);                                        /* reset: RAM is gone, flash and ck stay */
        assert_int_equal(v.ctx.rec.state, OTA_STATE_DOWNLOADING);
        assert_int_equal(apply(&v, patch, patch_n, 500, 1, 0), OTA_OK);
        assert_true(v.d.skip_to > 0); /* the writer went on where flash was good */
        assert_rebuilt(&v);
        dev_close(&v);
    }
}

static void refuses_another_base(void **state)
{
    sdev_t v;
    (void)state;
    dev_open(&v, "swap-256k", foreign, foreign_n);
    assert_int_equal(apply(&v, patch, patch_n, 4096, 0, 0), OTA_ERR_DELTA_BASE);
    assert_int_equal(v.ctx.rec.state, OTA_STATE_NONE); /* nothing was even begun */
    assert_memory_equal(slot(&v, 0), foreign, foreign_n);
    dev_close(&v);
}

static void refuses_an_untrusted_signature(void **state)
{
    uint8_t *p = malloc(patch_n);
    sdev_t v;
    (void)state;
    dev_open(&v, "swap-256k", base, base_n);
    assert_int_equal(apply(&v, patch_other_key, patch_other_key_n, 4096, 0, 0), OTA_ERR_SIGNATURE);
    memcpy(p, patch, patch_n);
    p[16] ^= 1; /* the target size, under the signature */
    assert_int_equal(apply(&v, p, patch_n, 4096, 0, 0), OTA_ERR_SIGNATURE);
    memcpy(p, patch, patch_n);
    p[OTA_DELTA_HDR_SIZE - 1] = 1; /* the padding after the signature */
    assert_int_equal(apply(&v, p, patch_n, 4096, 0, 0), OTA_ERR_DELTA);
    assert_int_equal(v.ctx.rec.state, OTA_STATE_NONE);
    assert_untouched(&v);
    free(p);
    dev_close(&v);
}

static void refuses_an_altered_block(void **state)
{
    uint8_t *p = malloc(patch_n);
    size_t at;
    (void)state;
    for (at = OTA_DELTA_HDR_SIZE; at < patch_n; at += (patch_n - OTA_DELTA_HDR_SIZE) / 7) {
        sdev_t v;
        int rc;
        dev_open(&v, "swap-256k", base, base_n);
        memcpy(p, patch, patch_n);
        p[at] ^= 0x40;
        rc = apply(&v, p, patch_n, 333, 0, 0);
        /* a length byte may also make the block too long for the patch (malformed) */
        assert_true(rc == OTA_ERR_HASH || rc == OTA_ERR_DELTA);
        assert_untouched(&v);
        assert_int_equal(ota_abort(&v.ctx), OTA_OK);
        boot(&v);
        assert_int_equal(v.ctx.rec.state, OTA_STATE_NONE);
        assert_memory_equal(slot(&v, 0), base, base_n);
        dev_close(&v);
    }
    free(p);
}

static void refuses_what_it_cannot_hold(void **state)
{
    uint8_t h[OTA_DELTA_HDR_SIZE];
    ota_delta_hdr_t d;
    (void)state;
    memcpy(h, patch, sizeof h);
    assert_int_equal(ota_delta_hdr_parse(h, sizeof h, &d), OTA_OK);
    h[5] = OTA_DELTA_WINDOW_BITS + 1; /* a larger window */
    assert_int_equal(ota_delta_hdr_parse(h, sizeof h, &d), OTA_ERR_DELTA_LIMITS);
    memcpy(h, patch, sizeof h);
    h[8] = 0x00, h[9] = 0x10; /* 4 KB blocks */
    assert_int_equal(ota_delta_hdr_parse(h, sizeof h, &d), OTA_ERR_DELTA_LIMITS);
    memcpy(h, patch, sizeof h);
    h[0] = 'X';
    assert_int_equal(ota_delta_hdr_parse(h, sizeof h, &d), OTA_ERR_DELTA);
    assert_int_equal(ota_delta_hdr_parse(patch, OTA_DELTA_HDR_SIZE - 1, &d), OTA_ERR_DELTA);
}

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    (void)mbedtls_sha256(p, n, out, 0);
#else
    (void)mbedtls_sha256_ret(p, n, out, 0);
#endif
}

/* A verified block (its hash in the header) whose instructions run past the target: refused. */
static void refuses_a_verified_block_that_does_not_decode(void **state)
{
    /* literals only (tag 1 + 8 bits): diff_len 0, extra_len 200 (the target is 100), seek 0 */
    static const uint8_t ops[] = {0x00, 0xc8, 0x01, 0x00, 'a', 'b'};
    uint8_t blk[2 + 16 + 32], bits[16] = {0};
    ota_delta_hdr_t h;
    sdev_t v;
    size_t i, pos = 0, n;
    uint32_t off;
    (void)state;
    for (i = 0; i < sizeof ops; i++) {
        unsigned k, code = 0x100u | ops[i];
        for (k = 0; k < 9; k++, pos++)
            if (code & (1u << (8 - k)))
                bits[pos / 8] |= (uint8_t)(0x80u >> (pos % 8));
    }
    n = (pos + 7) / 8;
    blk[0] = (uint8_t)n;
    blk[1] = 0;
    memcpy(blk + 2, bits, n);
    memset(blk + 2 + n, 0, 32);
    memset(&h, 0, sizeof h);
    h.window_bits = 10;
    h.lookahead_bits = 5;
    h.block_max = 1024;
    h.base_size = (uint32_t)base_n;
    h.target_size = 100;
    h.body_size = (uint32_t)(2 + n + 32);
    sha256(base, base_n, h.base_sha);
    sha256(blk, 2 + n + 32, h.first_hash);
    dev_open(&v, "swap-256k", base, base_n);
    assert_int_equal(ota_delta_start(&v.d, &v.ctx, &h, NULL, &off), OTA_OK);
    assert_int_equal(ota_delta_feed(&v.d, blk, (uint32_t)(2 + n + 32)), OTA_ERR_DELTA);
    assert_untouched(&v);
    dev_close(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rebuilds_in_any_chunking),
        cmocka_unit_test(resumes_after_a_reset),
        cmocka_unit_test(refuses_another_base),
        cmocka_unit_test(refuses_an_untrusted_signature),
        cmocka_unit_test(refuses_an_altered_block),
        cmocka_unit_test(refuses_what_it_cannot_hold),
        cmocka_unit_test(refuses_a_verified_block_that_does_not_decode),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
