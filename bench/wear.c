/*
 * Flash wear and time of one update and one rollback, per layout and strategy, on the simulated
 * flash with a timing model (4 KiB erase 45 ms, 256 B program 0.7 ms, scaled by size).
 * An erase budget is a real product constraint: NOR sectors last 10k-100k erases.
 *
 *   bench/wear [IMAGE_KB]     (default: half of each layout's slot)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/flash_sim.h"
#include "otakit/keys.h"
#include "otakit/ota.h"
#include "otakit/presets.h"
#include "otakit/sign.h"

struct dev {
    const ota_preset_t *p;
    ota_flash_sim_t *sim;
    ota_flash_t flash;
    ota_pubkey_t pk;
    uint8_t der[OTA_P256_SPKI_LEN];
    ota_config_t cfg;
    ota_ctx_t ctx;
};

static uint8_t *image(ota_key_t *key, int major, size_t n, size_t *len)
{
    uint8_t *pl = malloc(n), *img;
    ota_sign_opts_t o;
    size_t i;
    for (i = 0; i < n; i++)
        pl[i] = (uint8_t)(i * 2654435761u >> 24 ^ (unsigned)major);
    ota_sign_opts_init(&o);
    o.version.major = (uint8_t)major;
    if (ota_sign_image(&o, key, pl, n, &img, len) != OTA_OK)
        exit(1);
    free(pl);
    return img;
}

static void boot(struct dev *d)
{
    ota_boot_result_t r;
    if (ota_init(&d->ctx, &d->cfg) != OTA_OK || ota_boot(&d->ctx, &r) != OTA_OK) {
        fprintf(stderr, "wear: boot failed\n");
        exit(1);
    }
}

static void update(struct dev *d, const uint8_t *img, size_t len)
{
    size_t off;
    if (ota_begin(&d->ctx, (uint32_t)len) != OTA_OK)
        exit(1);
    for (off = 0; off < len; off += 1024)
        if (ota_write(&d->ctx, img + off, (uint32_t)(len - off < 1024 ? len - off : 1024)) != OTA_OK)
            exit(1);
    if (ota_end(&d->ctx) != OTA_OK)
        exit(1);
}

/* Sums erases over the sectors of an area; reports the most-erased sector. */
static void area_erases(struct dev *d, const ota_area_t *a, unsigned *total, unsigned *max)
{
    uint32_t addr = 0, idx = 0, i, j;
    *total = *max = 0;
    if (!a->size)
        return;
    for (i = 0; i < d->p->n_runs; i++)
        for (j = 0; j < d->p->runs[i].count; j++, idx++) {
            uint32_t n;
            if (addr >= a->off && addr < a->off + a->size) {
                n = ota_flash_sim_sector_erases(d->sim, idx);
                *total += n;
                if (n > *max)
                    *max = n;
            }
            addr += d->p->runs[i].size;
        }
}

static void report(struct dev *d, const char *what)
{
    ota_flash_sim_stats_t st;
    unsigned t0, m0, t1, m1, ts, ms, tj, mj;
    const ota_layout_t *l = &d->p->layout;
    ota_flash_sim_stats(d->sim, &st);
    area_erases(d, &l->slot[0], &t0, &m0);
    area_erases(d, &l->slot[1], &t1, &m1);
    area_erases(d, &l->scratch, &ts, &ms);
    area_erases(d, &l->state, &tj, &mj);
    printf("%-13s %-5s %-9s %7llu %6llu %7llu   %4u/%-3u %4u/%-3u %4u/%-3u %4u/%-3u %9.1f s\n", d->p->name,
           l->strategy == OTA_STRATEGY_SWAP ? "swap" : "a/b", what, (unsigned long long)st.writes,
           (unsigned long long)st.erases, (unsigned long long)(st.bytes_programmed / 1024), t0, m0, t1, m1, ts, ms,
           tj, mj, (double)st.sim_time_us / 1e6);
}

int main(int argc, char **argv)
{
    static const char *const names[] = {"esp8266-512k", "dualbank-1m", "stm32f4-1m", "swap-256k"};
    unsigned kb = argc > 1 ? (unsigned)atoi(argv[1]) : 0, i;
    ota_key_t *key;

    if (ota_key_generate(&key) != OTA_OK)
        return 1;
    printf("One update (download, test boot, confirm) and one rollback (download, test boot, reset,\n"
           "revert), each from a confirmed state. Erases: total/most on one sector, per area.\n"
           "Timing model: 4 KiB erase 45 ms, 256 B program 0.7 ms (scaled by sector size).\n\n");
    printf("%-13s %-5s %-9s %7s %6s %7s   %-8s %-8s %-8s %-8s %11s\n", "layout", "kind", "operation", "writes",
           "erases", "KiB prg", "slot0", "slot1", "scratch", "state", "flash time");
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct dev d;
        ota_flash_sim_cfg_t sc;
        uint8_t *img[3];
        size_t len[3], n;
        int op;

        memset(&d, 0, sizeof d);
        d.p = ota_preset_find(names[i]);
        n = kb ? (size_t)kb * 1024 : d.p->layout.slot[0].size / 2;
        ota_flash_sim_cfg_preset(&sc, d.p, 8, 0xff);
        sc.erase_us_per_4k = 45000;
        sc.program_us_per_256 = 700;
        if (ota_flash_sim_open(&sc, &d.sim) != OTA_OK)
            return 1;
        ota_flash_sim_bind(d.sim, &d.flash);
        ota_key_public_der(key, d.der);
        d.pk.der = d.der;
        d.pk.len = sizeof d.der;
        d.cfg.flash = &d.flash;
        d.cfg.layout = &d.p->layout;
        d.cfg.keys = &d.pk;
        d.cfg.n_keys = 1;
        for (op = 0; op < 3; op++)
            img[op] = image(key, op + 1, n - (size_t)op * 1000, &len[op]);
        memcpy(ota_flash_sim_data(d.sim) + d.p->layout.slot[0].off, img[0], len[0]);
        boot(&d);

        ota_flash_sim_reset_counters(d.sim);
        update(&d, img[1], len[1]);
        boot(&d);
        ota_confirm(&d.ctx);
        report(&d, "update");

        ota_flash_sim_reset_counters(d.sim);
        update(&d, img[2], len[2]);
        boot(&d); /* test boot: never confirms */
        boot(&d); /* rolled back */
        report(&d, "rollback");
        printf("%-13s image %zu KiB, slot %u KiB\n", "", len[1] / 1024, (unsigned)(d.p->layout.slot[0].size / 1024));
        for (op = 0; op < 3; op++)
            free(img[op]);
        ota_flash_sim_close(d.sim);
    }
    ota_key_free(key);
    return 0;
}
