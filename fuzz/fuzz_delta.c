/*
 * libFuzzer target for the delta patch parser and applier (otakit/delta.h).
 *
 * Each input is read three ways: as a patch header (ota_delta_hdr_parse, _verify), as a checkpoint
 * (ota_delta_ckpt_get), and as block payloads that get past the hash chain: the input's first two
 * bytes pick the target size and the block length, the rest is cut into blocks whose hashes are
 * chained as a server would, so the mutations reach the LZ decoder and the instruction
 * interpreter, which run against a 4 KB base image in slot 0 of a RAM flash (swap-256k) and write
 * through ota_write(). Every read the applier makes of the base must stay inside it (the flash
 * bounds checks report the rest); ASan and UBSan catch the others.
 *
 * Build and run as fuzz_verify.c says (target fuzz_delta, seeds fuzz/corpus/delta/).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "otakit/delta.h"
#include "otakit/presets.h"

#define BASE_N 4096u

static uint8_t mem[262144];

static int rd(void *c, uint32_t a, void *b, uint32_t n)
{
    (void)c;
    memcpy(b, mem + a, n);
    return 0;
}

static int wr(void *c, uint32_t a, const void *b, uint32_t n)
{
    uint32_t i;
    (void)c;
    for (i = 0; i < n; i++)
        mem[a + i] &= ((const uint8_t *)b)[i]; /* NOR: programming only clears bits */
    return 0;
}

static int er(void *c, uint32_t a)
{
    (void)c;
    memset(mem + a, 0xff, 4096);
    return 0;
}

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    (void)mbedtls_sha256(p, n, out, 0);
#else
    (void)mbedtls_sha256_ret(p, n, out, 0);
#endif
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ota_flash_ops_t ops = {rd, wr, er};
    static ota_delta_t d;
    static ota_ctx_t ctx;
    static uint8_t body[16384];
    const ota_preset_t *p = ota_preset_find("swap-256k");
    ota_delta_hdr_t h;
    ota_delta_ckpt_t ck;
    ota_config_t cfg;
    ota_flash_t f;
    uint32_t i, bl, n = 0, off, nb = 0, starts[256];
    uint8_t next[32] = {0};

    if (size >= OTA_DELTA_HDR_SIZE && ota_delta_hdr_parse(data, (uint32_t)size, &h) == OTA_OK)
        (void)ota_delta_hdr_verify(data, NULL, 0);
    if (size >= OTA_DELTA_CKPT_SIZE)
        (void)ota_delta_ckpt_get(data, &ck);
    if (size < 3 || size > 4096 || !p || p->flash_size > sizeof mem)
        return 0;

    /* A RAM flash with the base image (pseudo-random bytes) in slot 0, nothing else. */
    memset(mem, 0xff, sizeof mem);
    for (i = 0; i < BASE_N; i++)
        mem[p->layout.slot[0].off + i] = (uint8_t)((i * 2654435761u) >> 13);
    memset(&f, 0, sizeof f);
    f.ops = &ops;
    f.size = p->flash_size;
    f.write_size = 8;
    f.erased_val = 0xff;
    f.n_runs = p->n_runs;
    f.runs = p->runs;
    memset(&cfg, 0, sizeof cfg);
    cfg.flash = &f;
    cfg.layout = &p->layout;
    if (ota_init(&ctx, &cfg) != OTA_OK)
        return 0;

    /* The blocks: payloads of data[1] + 1 bytes (the last one shorter), chained back to front. */
    bl = (uint32_t)data[1] + 1u;
    for (off = 2; off < size && nb < 256; off += bl) {
        uint32_t k = (uint32_t)size - off < bl ? (uint32_t)size - off : bl;
        starts[nb++] = n;
        body[n] = (uint8_t)k;
        body[n + 1] = (uint8_t)(k >> 8);
        memcpy(body + n + 2, data + off, k);
        memset(body + n + 2 + k, 0, 32);
        n += 2 + k + 32;
    }
    for (i = nb; i-- > 0;) {
        uint32_t k = (uint32_t)body[starts[i]] | (uint32_t)body[starts[i] + 1] << 8;
        memcpy(body + starts[i] + 2 + k, next, 32);
        sha256(body + starts[i], 2 + k + 32, next);
    }
    memset(&h, 0, sizeof h);
    h.window_bits = 4u + data[0] % (OTA_DELTA_WINDOW_BITS - 3u);
    h.lookahead_bits = 2u + (data[0] >> 4) % 7u;
    h.block_max = OTA_DELTA_BLOCK_MAX;
    h.base_size = BASE_N;
    h.target_size = 64u + (uint32_t)data[0] * 64u;
    h.body_size = n;
    sha256(mem + p->layout.slot[0].off, BASE_N, h.base_sha);
    memcpy(h.first_hash, next, 32);
    if (ota_delta_start(&d, &ctx, &h, NULL, &off) != OTA_OK)
        return 0;
    /* Fed in two uneven pieces: block boundaries never line up with transfer boundaries. */
    if (ota_delta_feed(&d, body, n / 3) == OTA_OK && ota_delta_feed(&d, body + n / 3, n - n / 3) == OTA_OK)
        (void)ota_delta_finish(&d);
    (void)ota_abort(&ctx);
    return 0;
}
