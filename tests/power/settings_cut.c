/*
 * Power-cut harness of the settings sectors (otakit/settings.h, device/flash/settings.c): a run of
 * saves, each of them cut before every one of its flash operations (skipped, or torn half way),
 * on several geometries, write sizes and erased values. After each cut and reboot, load must give
 * the old value or the new one, byte for byte, never neither and never a mix; and the next save
 * must work and be what load gives.
 *
 *   settings_cut [-v]
 *
 * Prints the cut points tried and the failures (must be 0).
 */
#include <stdio.h>
#include <string.h>

#include "otakit/flash_sim.h"
#include "otakit/settings.h"

#define SAVES 6

static int verbose;

/* The value of save number i (0: nothing saved yet): its length and bytes. */
static uint32_t value(unsigned i, uint8_t *out)
{
    uint32_t n = i ? (i * 37u) % OTA_SETTINGS_MAX + 1u : 0, k;
    if (i == SAVES - 1)
        n = OTA_SETTINGS_MAX; /* the largest record too */
    for (k = 0; k < n; k++)
        out[k] = (uint8_t)(i * 101u + k * 7u);
    return n;
}

/* 1 when the settings hold save number i exactly. */
static int holds(const ota_settings_t *st, unsigned i)
{
    uint8_t want[OTA_SETTINGS_MAX], got[OTA_SETTINGS_MAX];
    uint32_t n = value(i, want);
    int len = st->load(st->ctx, got, sizeof got);
    return len >= 0 && (uint32_t)len == n && memcmp(want, got, n) == 0;
}

static unsigned long points, failures;

static void run(const char *label, const ota_sector_run_t *runs, uint8_t n_runs, uint32_t size, uint32_t ws,
                uint8_t erased, ota_sim_cut_t mode)
{
    ota_flash_sim_cfg_t c;
    ota_flash_sim_t *sim;
    ota_flash_t f;
    ota_settings_flash_t sf;
    ota_flash_sim_stats_t stats;
    uint8_t v[OTA_SETTINGS_MAX];
    unsigned i;
    uint64_t k, ops;
    memset(&c, 0, sizeof c);
    c.size = size;
    c.n_runs = n_runs;
    c.runs = runs;
    c.write_size = ws;
    c.erased_val = erased;
    if (ota_flash_sim_open(&c, &sim) != OTA_OK) {
        printf("FAIL %s: cannot open the flash sim\n", label);
        failures++;
        return;
    }
    ota_flash_sim_bind(sim, &f);
    if (ota_settings_flash_init(&sf, &f, 0, size) != OTA_OK) {
        printf("FAIL %s: init\n", label);
        failures++;
        ota_flash_sim_close(sim);
        return;
    }
    for (i = 1; i < SAVES; i++) {
        uint32_t n = value(i, v);
        /* How many flash operations this save takes: a clean run on a copy of the contents. */
        uint8_t before[64 * 1024];
        memcpy(before, ota_flash_sim_data(sim), size);
        ota_flash_sim_reset_counters(sim);
        if (sf.settings.save(sf.settings.ctx, v, n) != OTA_OK || !holds(&sf.settings, i)) {
            printf("FAIL %s: clean save %u\n", label, i);
            failures++;
            break;
        }
        ota_flash_sim_stats(sim, &stats);
        ops = stats.ops;
        for (k = 1; k <= ops; k++) {
            int old, new_;
            memcpy(ota_flash_sim_data(sim), before, size);
            ota_flash_sim_power_on(sim);
            ota_flash_sim_reset_counters(sim);
            ota_flash_sim_cut_at(sim, k, mode, (uint32_t)(k * 2654435761u) ^ i);
            sf.settings.save(sf.settings.ctx, v, n); /* fails at the cut */
            ota_flash_sim_power_on(sim);
            old = holds(&sf.settings, i - 1);
            new_ = holds(&sf.settings, i);
            points++;
            if (!old && !new_) {
                printf("FAIL %s: save %u cut at op %llu/%llu: neither the old nor the new value\n", label, i,
                       (unsigned long long)k, (unsigned long long)ops);
                failures++;
                continue;
            }
            /* and life goes on: the next save over whatever the cut left */
            if (sf.settings.save(sf.settings.ctx, v, n) != OTA_OK || !holds(&sf.settings, i)) {
                printf("FAIL %s: save %u after a cut at op %llu does not hold\n", label, i, (unsigned long long)k);
                failures++;
            }
        }
        /* continue the run from the clean save */
        memcpy(ota_flash_sim_data(sim), before, size);
        ota_flash_sim_power_on(sim);
        sf.settings.save(sf.settings.ctx, v, n);
        if (verbose)
            printf("  %-34s %s save %u: %llu ops cut\n", label, mode == OTA_SIM_CUT_TORN ? "torn" : "cut", i,
                   (unsigned long long)ops);
    }
    ota_flash_sim_close(sim);
}

int main(int argc, char **argv)
{
    static const ota_sector_run_t two4k[] = {{2, 4096}};
    static const ota_sector_run_t mixed[] = {{1, 16384}, {1, 4096}, {1, 8192}}; /* uses 16K + 4K */
    static const unsigned wsv[] = {1, 8, 16, 32};
    unsigned w, e, m;
    verbose = argc > 1 && !strcmp(argv[1], "-v");
    for (w = 0; w < sizeof wsv / sizeof wsv[0]; w++)
        for (e = 0; e < 2; e++)
            for (m = 1; m <= 2; m++) {
                char label[64];
                snprintf(label, sizeof label, "2x4K ws=%u erased=0x%02x", wsv[w], e ? 0 : 0xff);
                run(label, two4k, 1, 8192, wsv[w], e ? 0 : 0xff, (ota_sim_cut_t)m);
                snprintf(label, sizeof label, "16K+4K ws=%u erased=0x%02x", wsv[w], e ? 0 : 0xff);
                run(label, mixed, 3, 28672, wsv[w], e ? 0 : 0xff, (ota_sim_cut_t)m);
            }
    printf("settings_cut: %lu cut points, %lu failures\n", points, failures);
    return failures || !points ? 1 : 0;
}
