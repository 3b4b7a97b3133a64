/*
 * Power-cut harness of MCUboot trailer mode (otakit/mcuboot.h): every flash operation of each
 * trailer write is cut (skipped) or torn (left half done) on the simulated NOR flash, at write
 * sizes 1..32 and erased values 0xff and 0x00; after the "reboot" the trailers are read as MCUboot's
 * boot_swap_type_multi() reads them (ota_mcuboot_swap_type()):
 *
 *   request  ota_mcuboot_request_upgrade(), test and permanent: MCUboot then sees no request or
 *            exactly the requested one, never another; asking again (after erasing the trailer's
 *            sector when the cut left torn bytes there, which the call reports as OTA_ERR_STATE)
 *            gives the request.
 *   confirm  ota_mcuboot_confirm() of an image on trial after MCUboot's test swap: MCUboot then
 *            reverts it (not confirmed) or keeps it (confirmed), and ota_mcuboot_on_trial() says
 *            the same; confirming again always ends confirmed.
 *   update   the whole trailer-mode update through the device core (ota_begin/write/end with
 *            ota_config_t.mcuboot_request): a cut anywhere, in the image writes too, leaves no
 *            request, or a request with the whole signed image in the secondary slot; the update
 *            run again afterwards succeeds.
 *
 *   mcuboot_cut [-v]        prints the cut points tried and the failures (must be 0)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/flash_sim.h"
#include "otakit/keys.h"
#include "otakit/mcuboot.h"
#include "otakit/ota.h"
#include "otakit/presets.h"
#include "otakit/sign.h"

#define SLOT 0x20000u
#define SECTOR 0x1000u

static const ota_sector_run_t runs[] = {{2 * SLOT / SECTOR, SECTOR}};

static int verbose;
static unsigned long points, failures;

static void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    failures++;
}

struct rig {
    ota_flash_sim_t *sim;
    ota_flash_t f;
    const ota_preset_t *preset; /* the update scenario's device (NULL: two bare slots) */
    ota_area_t primary, secondary;
    uint32_t size;
    uint8_t *before; /* the flash before the operation under test */
};

static int rig_open(struct rig *r, uint32_t ws, uint8_t erased, const ota_preset_t *pr)
{
    ota_flash_sim_cfg_t c;
    memset(&c, 0, sizeof c);
    r->preset = pr;
    c.size = pr ? pr->flash_size : 2 * SLOT;
    c.n_runs = pr ? pr->n_runs : 1;
    c.runs = pr ? pr->runs : runs;
    c.write_size = ws;
    c.erased_val = erased;
    r->size = c.size;
    r->primary.off = pr ? pr->layout.slot[0].off : 0;
    r->primary.size = pr ? pr->layout.slot[0].size : SLOT;
    r->secondary.off = pr ? pr->layout.slot[1].off : SLOT;
    r->secondary.size = pr ? pr->layout.slot[1].size : SLOT;
    if (ota_flash_sim_open(&c, &r->sim) != OTA_OK)
        return -1;
    ota_flash_sim_bind(r->sim, &r->f);
    r->before = malloc(c.size);
    return r->before ? 0 : -1;
}

static void rig_close(struct rig *r)
{
    free(r->before);
    ota_flash_sim_close(r->sim);
}

static void snapshot(struct rig *r)
{
    memcpy(r->before, ota_flash_sim_data(r->sim), r->size);
}

/* Back to the snapshot, powered on, op numbering from 1, a cut armed at op k (0: none). */
static void restore(struct rig *r, uint64_t k, ota_sim_cut_t mode, uint32_t seed)
{
    memcpy(ota_flash_sim_data(r->sim), r->before, r->size);
    ota_flash_sim_power_on(r->sim);
    ota_flash_sim_reset_counters(r->sim);
    ota_flash_sim_cut_at(r->sim, k, mode, seed);
}

static uint64_t ops_done(struct rig *r)
{
    ota_flash_sim_stats_t st;
    ota_flash_sim_stats(r->sim, &st);
    return st.ops;
}

static int swap_type(struct rig *r)
{
    ota_mcuboot_state_t p, s;
    if (ota_mcuboot_read(&r->f, &r->primary, &p) != OTA_OK || ota_mcuboot_read(&r->f, &r->secondary, &s) != OTA_OK)
        return -1;
    return ota_mcuboot_swap_type(&p, &s);
}

/* The recovery ota_mcuboot_request_upgrade() asks for with OTA_ERR_STATE: erase the trailer's sector. */
static void erase_trailer(struct rig *r, const ota_area_t *a)
{
    ota_flash_erase_range(&r->f, a->off + a->size - SECTOR, SECTOR);
}

static void cut_request(const char *label, uint32_t ws, uint8_t erased, ota_sim_cut_t mode, int permanent)
{
    int want = permanent ? OTA_MCUBOOT_PERM : OTA_MCUBOOT_TEST;
    uint64_t k, ops;
    struct rig r;
    if (rig_open(&r, ws, erased, NULL) != 0) {
        failf("%s: cannot open the flash sim", label);
        return;
    }
    snapshot(&r);
    restore(&r, 0, mode, 0);
    if (ota_mcuboot_request_upgrade(&r.f, &r.secondary, permanent) != OTA_OK || swap_type(&r) != want) {
        failf("%s: the clean request does not give swap type %d", label, want);
        rig_close(&r);
        return;
    }
    ops = ops_done(&r);
    for (k = 1; k <= ops; k++) {
        int rc, t;
        restore(&r, k, mode, (uint32_t)(k * 2654435761u) ^ ws);
        rc = ota_mcuboot_request_upgrade(&r.f, &r.secondary, permanent);
        ota_flash_sim_power_on(r.sim);
        t = swap_type(&r);
        points++;
        if (t != OTA_MCUBOOT_NONE && t != want) {
            failf("%s: cut at op %llu/%llu: MCUboot would see swap type %d", label, (unsigned long long)k,
                  (unsigned long long)ops, t);
            continue;
        }
        if (rc == OTA_OK && t != want)
            failf("%s: cut at op %llu: the call said OK but there is no request", label, (unsigned long long)k);
        /* life goes on: ask again, erasing the trailer first when the call says it must be */
        rc = ota_mcuboot_request_upgrade(&r.f, &r.secondary, permanent);
        if (rc == OTA_ERR_STATE && t == OTA_MCUBOOT_NONE) {
            erase_trailer(&r, &r.secondary);
            rc = ota_mcuboot_request_upgrade(&r.f, &r.secondary, permanent);
        }
        if (rc != OTA_OK || swap_type(&r) != want)
            failf("%s: cut at op %llu: asking again gives %d, swap type %d", label, (unsigned long long)k, rc,
                  swap_type(&r));
    }
    if (verbose)
        printf("  %-40s %llu ops cut\n", label, (unsigned long long)ops);
    rig_close(&r);
}

/* The primary slot as MCUboot leaves it after a test swap: magic, swap_info TEST, copy_done set,
 * image_ok erased; the secondary slot erased. */
static int after_test_swap(struct rig *r)
{
    ota_mcuboot_state_t p;
    uint8_t *d = ota_flash_sim_data(r->sim);
    uint32_t ws = r->f.write_size, m = ota_mcuboot_max_align(ws), ma = (16 + m - 1) / m * m;
    uint8_t buf[32];
    memset(buf, r->f.erased_val, sizeof buf);
    ota_mcuboot_magic(m, buf + ma - 16);
    memcpy(d + SLOT - ma, buf, ma);
    d[SLOT - ma - 3 * m] = OTA_MCUBOOT_TEST; /* swap_info */
    d[SLOT - ma - 2 * m] = 0x01;             /* copy_done */
    return ota_mcuboot_read(&r->f, &r->primary, &p) == OTA_OK && p.magic == OTA_MCUBOOT_GOOD &&
                   p.copy_done == OTA_MCUBOOT_GOOD && swap_type(r) == OTA_MCUBOOT_REVERT
               ? 0
               : -1;
}

static void cut_confirm(const char *label, uint32_t ws, uint8_t erased, ota_sim_cut_t mode)
{
    uint64_t k, ops;
    struct rig r;
    if (rig_open(&r, ws, erased, NULL) != 0 || after_test_swap(&r) != 0) {
        failf("%s: setup", label);
        return;
    }
    snapshot(&r);
    restore(&r, 0, mode, 0);
    if (ota_mcuboot_on_trial(&r.f, &r.primary) != 1 || ota_mcuboot_confirm(&r.f, &r.primary) != OTA_OK ||
        swap_type(&r) != OTA_MCUBOOT_NONE || ota_mcuboot_on_trial(&r.f, &r.primary) != 0) {
        failf("%s: the clean confirm does not end confirmed", label);
        rig_close(&r);
        return;
    }
    ops = ops_done(&r);
    for (k = 1; k <= ops; k++) {
        int t, trial;
        restore(&r, k, mode, (uint32_t)(k * 40503u) ^ ws);
        ota_mcuboot_confirm(&r.f, &r.primary);
        ota_flash_sim_power_on(r.sim);
        t = swap_type(&r);
        trial = ota_mcuboot_on_trial(&r.f, &r.primary);
        points++;
        if (!((t == OTA_MCUBOOT_REVERT && trial == 1) || (t == OTA_MCUBOOT_NONE && trial == 0)))
            failf("%s: cut at op %llu: swap type %d with on_trial %d", label, (unsigned long long)k, t, trial);
        if (ota_mcuboot_confirm(&r.f, &r.primary) != OTA_OK || swap_type(&r) != OTA_MCUBOOT_NONE ||
            ota_mcuboot_on_trial(&r.f, &r.primary) != 0)
            failf("%s: cut at op %llu: confirming again does not end confirmed", label, (unsigned long long)k);
    }
    if (verbose)
        printf("  %-40s %llu ops cut\n", label, (unsigned long long)ops);
    rig_close(&r);
}

/* One trailer-mode update through the device core: returns ota_end()'s result (or the first error). */
static int core_update(struct rig *r, const ota_pubkey_t *key, const uint8_t *img, uint32_t len)
{
    ota_config_t cfg;
    ota_ctx_t ctx;
    uint32_t off;
    int rc;
    memset(&cfg, 0, sizeof cfg);
    cfg.flash = &r->f;
    cfg.layout = &r->preset->layout;
    cfg.keys = key;
    cfg.n_keys = 1;
    cfg.mcuboot_request = OTA_MCUBOOT_TEST;
    if ((rc = ota_init(&ctx, &cfg)) != OTA_OK || (rc = ota_begin(&ctx, len)) != OTA_OK)
        return rc;
    for (off = 0; off < len; off += 700) /* chunks that straddle write units and sectors */
        if ((rc = ota_write(&ctx, img + off, len - off < 700 ? len - off : 700)) != OTA_OK)
            return rc;
    return ota_end(&ctx);
}

static void cut_update(const char *label, uint32_t ws, uint8_t erased, ota_sim_cut_t mode, const ota_pubkey_t *key,
                       const uint8_t *img, uint32_t len)
{
    uint64_t k, ops;
    struct rig r;
    if (rig_open(&r, ws, erased, ota_preset_find("swap-256k")) != 0) {
        failf("%s: setup", label);
        return;
    }
    /* an old trailer in the secondary slot's last sector: ota_end() must clear it first */
    memset(ota_flash_sim_data(r.sim) + r.secondary.off + r.secondary.size - SECTOR, erased ^ 0x5a, SECTOR);
    snapshot(&r);
    restore(&r, 0, mode, 0);
    if (core_update(&r, key, img, len) != OTA_OK || swap_type(&r) != OTA_MCUBOOT_TEST) {
        failf("%s: the clean update does not request the test swap", label);
        rig_close(&r);
        return;
    }
    ops = ops_done(&r);
    for (k = 1; k <= ops; k++) {
        int t;
        restore(&r, k, mode, (uint32_t)(k * 69069u) ^ ws);
        core_update(&r, key, img, len);
        ota_flash_sim_power_on(r.sim);
        t = swap_type(&r);
        points++;
        if (t == OTA_MCUBOOT_TEST) {
            if (memcmp(ota_flash_sim_data(r.sim) + r.secondary.off, img, len) != 0)
                failf("%s: cut at op %llu: a request for an image that is not whole", label, (unsigned long long)k);
        } else if (t != OTA_MCUBOOT_NONE) {
            failf("%s: cut at op %llu: MCUboot would see swap type %d", label, (unsigned long long)k, t);
        }
        if (core_update(&r, key, img, len) != OTA_OK || swap_type(&r) != OTA_MCUBOOT_TEST ||
            memcmp(ota_flash_sim_data(r.sim) + r.secondary.off, img, len) != 0)
            failf("%s: cut at op %llu: the update run again does not request the whole image", label,
                  (unsigned long long)k);
    }
    if (verbose)
        printf("  %-40s %llu ops cut\n", label, (unsigned long long)ops);
    rig_close(&r);
}

int main(int argc, char **argv)
{
    static const uint32_t wsv[] = {1, 2, 4, 8, 16, 32};
    ota_key_t *k;
    ota_sign_opts_t o;
    uint8_t payload[3000], der[OTA_P256_SPKI_LEN], *img;
    size_t len, i;
    ota_pubkey_t key;
    unsigned w, e, m;

    verbose = argc > 1 && !strcmp(argv[1], "-v");
    for (i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 131u + 7u);
    ota_sign_opts_init(&o);
    o.version.major = 2;
    if (ota_key_generate(&k) != OTA_OK || ota_key_public_der(k, der) != OTA_OK ||
        ota_sign_image(&o, k, payload, sizeof payload, &img, &len) != OTA_OK) {
        printf("mcuboot_cut: cannot make the signed image\n");
        return 1;
    }
    ota_key_free(k);
    key.der = der;
    key.len = sizeof der;
    for (w = 0; w < sizeof wsv / sizeof wsv[0]; w++)
        for (e = 0; e < 2; e++)
            for (m = OTA_SIM_CUT_BEFORE; m <= OTA_SIM_CUT_TORN; m++) {
                uint8_t erased = e ? 0x00 : 0xff;
                char label[96];
                const char *how = m == OTA_SIM_CUT_TORN ? "torn" : "cut";
                snprintf(label, sizeof label, "request test ws=%u erased=0x%02x %s", wsv[w], erased, how);
                cut_request(label, wsv[w], erased, (ota_sim_cut_t)m, 0);
                snprintf(label, sizeof label, "request permanent ws=%u erased=0x%02x %s", wsv[w], erased, how);
                cut_request(label, wsv[w], erased, (ota_sim_cut_t)m, 1);
                snprintf(label, sizeof label, "confirm ws=%u erased=0x%02x %s", wsv[w], erased, how);
                cut_confirm(label, wsv[w], erased, (ota_sim_cut_t)m);
                snprintf(label, sizeof label, "update ws=%u erased=0x%02x %s", wsv[w], erased, how);
                cut_update(label, wsv[w], erased, (ota_sim_cut_t)m, &key, img, (uint32_t)len);
            }
    free(img);
    printf("mcuboot_cut: %lu cut points, %lu failures\n", points, failures);
    return failures || !points ? 1 : 0;
}
