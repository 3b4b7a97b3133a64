/*
 * Delta patch figures for one pair of signed images (bench/delta.sh runs it on real firmware pairs):
 *
 *   delta_bench BASE.img TARGET.img KEY.pem [PRESET]        (default preset stm32f4-1m)
 *
 * Prints one line of key=value figures:
 *   image      bytes of the target image (what a full update downloads)
 *   patch      bytes of otakit's patch with the defaults (1 KB window, 258-byte matches, 1 KB blocks)
 *   patch_w8   the same with a 256-byte window (less RAM on the device), patch_w12 with 4 KB
 *   stream     bytes of the instruction stream before compression; ops, diff and extra bytes
 *   ram        sizeof(ota_delta_t) on this host (bench/delta.sh measures it on Cortex-M3 too)
 *   full_ms / delta_ms   simulated flash busy time (SPI NOR model: 45 ms per 4 KB erased,
 *              0.7 ms per 256 bytes programmed) of a full update and of the delta one, both ending
 *              in ota_end()'s verification from flash; full_cpu_ms / delta_cpu_ms the host CPU time
 *   base_read  bytes the delta read from the running image
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otakit/delta.h"
#include "otakit/delta_make.h"
#include "otakit/fileio.h"
#include "otakit/flash_sim.h"
#include "otakit/keys.h"
#include "otakit/presets.h"

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

typedef struct {
    ota_flash_sim_t *sim;
    ota_flash_t flash;
    ota_config_t cfg;
    ota_ctx_t ctx;
} dev_t_;

static int dev_open(dev_t_ *v, const ota_preset_t *p, const ota_pubkey_t *pub, const uint8_t *base, size_t n)
{
    ota_flash_sim_cfg_t sc;
    memset(v, 0, sizeof *v);
    ota_flash_sim_cfg_preset(&sc, p, 8, 0xff);
    sc.erase_us_per_4k = 45000;
    sc.program_us_per_256 = 700;
    if (n > p->layout.slot[0].size || ota_flash_sim_open(&sc, &v->sim) != OTA_OK)
        return -1;
    ota_flash_sim_bind(v->sim, &v->flash);
    memcpy(ota_flash_sim_data(v->sim) + p->layout.slot[0].off, base, n);
    v->cfg.flash = &v->flash;
    v->cfg.layout = &p->layout;
    v->cfg.keys = pub;
    v->cfg.n_keys = 1;
    if (ota_init(&v->ctx, &v->cfg) != OTA_OK)
        return -1;
    ota_flash_sim_reset_counters(v->sim);
    return 0;
}

int main(int argc, char **argv)
{
    static ota_delta_t d;
    const ota_preset_t *p = ota_preset_find(argc > 4 ? argv[4] : "stm32f4-1m");
    uint8_t *base, *target, *patch, *p8, *p12, der[OTA_P256_SPKI_LEN];
    size_t bn, tn, pn, n8, n12, off;
    ota_delta_params_t prm;
    ota_delta_stats_t st;
    ota_flash_sim_stats_t fs;
    ota_delta_hdr_t h;
    ota_pubkey_t pub;
    ota_key_t *key;
    dev_t_ v;
    double t0, full_ms, full_cpu, delta_ms, delta_cpu;
    uint32_t next = 0;
    int rc;
    if (argc < 4 || !p) {
        fprintf(stderr, "usage: delta_bench BASE.img TARGET.img KEY.pem [PRESET]\n");
        return 2;
    }
    if (ota_file_read(argv[1], &base, &bn) != OTA_OK || ota_file_read(argv[2], &target, &tn) != OTA_OK ||
        ota_key_load(argv[3], &key) != OTA_OK || ota_key_public_der(key, der) != OTA_OK) {
        fprintf(stderr, "delta_bench: cannot read the images or the key\n");
        return 1;
    }
    pub.der = der;
    pub.len = sizeof der;
    ota_delta_params_init(&prm);
    if (ota_delta_make(base, bn, target, tn, &prm, key, &patch, &pn, &st) != OTA_OK)
        return 1;
    prm.window_bits = 8;
    if (ota_delta_make(base, bn, target, tn, &prm, key, &p8, &n8, NULL) != OTA_OK)
        return 1;
    prm.window_bits = 12;
    if (ota_delta_make(base, bn, target, tn, &prm, key, &p12, &n12, NULL) != OTA_OK)
        return 1;

    /* A full update: the image written in 1 KB pieces, then verified from flash. */
    if (dev_open(&v, p, &pub, base, bn) != 0)
        return 1;
    t0 = cpu_ms();
    rc = ota_begin(&v.ctx, (uint32_t)tn);
    for (off = 0; rc == OTA_OK && off < tn; off += 1024)
        rc = ota_write(&v.ctx, target + off, (uint32_t)(tn - off < 1024 ? tn - off : 1024));
    if (rc == OTA_OK)
        rc = ota_end(&v.ctx);
    full_cpu = cpu_ms() - t0;
    ota_flash_sim_stats(v.sim, &fs);
    full_ms = fs.sim_time_us / 1e3;
    ota_flash_sim_close(v.sim);
    if (rc != OTA_OK) {
        fprintf(stderr, "delta_bench: full update: %s\n", ota_errname(rc));
        return 1;
    }

    /* The delta: header checks, the base's hash, the blocks in 1 KB pieces, the same verification. */
    if (dev_open(&v, p, &pub, base, bn) != 0)
        return 1;
    t0 = cpu_ms();
    rc = ota_delta_hdr_parse(patch, (uint32_t)pn, &h);
    if (rc == OTA_OK)
        rc = ota_delta_hdr_verify(patch, &pub, 1);
    if (rc == OTA_OK)
        rc = ota_delta_start(&d, &v.ctx, &h, NULL, &next);
    for (off = next; rc == OTA_OK && off < pn; off += 1024)
        rc = ota_delta_feed(&d, patch + off, (uint32_t)(pn - off < 1024 ? pn - off : 1024));
    if (rc == OTA_OK)
        rc = ota_delta_finish(&d);
    delta_cpu = cpu_ms() - t0;
    ota_flash_sim_stats(v.sim, &fs);
    delta_ms = fs.sim_time_us / 1e3;
    if (rc != OTA_OK || memcmp(ota_flash_sim_data(v.sim) + p->layout.slot[v.ctx.rec.target].off, target, tn)) {
        fprintf(stderr, "delta_bench: delta update: %s\n", ota_errname(rc));
        return 1;
    }
    ota_flash_sim_close(v.sim);
    printf("image=%zu patch=%zu patch_w8=%zu patch_w12=%zu stream=%zu ops=%zu diff=%zu extra=%zu blocks=%zu "
           "ram=%zu full_ms=%.0f delta_ms=%.0f full_cpu_ms=%.1f delta_cpu_ms=%.1f base_read=%zu\n",
           tn, pn, n8, n12, st.stream_bytes, st.ops, st.diff_bytes, st.extra_bytes, st.blocks, sizeof(ota_delta_t),
           full_ms, delta_ms, full_cpu, delta_cpu, bn);
    free(base);
    free(target);
    free(patch);
    free(p8);
    free(p12);
    ota_key_free(key);
    return 0;
}
