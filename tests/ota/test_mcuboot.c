/*
 * MCUboot trailer mode (otakit/mcuboot.h) against MCUboot's own definitions:
 *  - the bytes imgtool writes: `imgtool sign --pad --confirm --align 4 -S 0x20000`
 *    (tests/vectors/imgtool/fw-4096.padded-confirmed.bin) are what a permanent upgrade request on
 *    the unpadded image leaves in the slot, but for swap_info (imgtool leaves it erased; the
 *    application's boot_set_pending() writes BOOT_SWAP_TYPE_PERM there);
 *  - the field offsets of bootutil_public.c (boot_magic_off(), boot_image_ok_off(),
 *    boot_copy_done_off(), boot_swap_info_off(): BOOT_MAX_ALIGN = max(8, write size)) at every
 *    write size from 1 to 32, with the alternate magic (max_align as LE16 first) above 8;
 *  - the swap type MCUboot's boot_swap_type_multi() derives through boot_swap_tables[]: test,
 *    permanent, revert after a test boot, none once confirmed (boot_set_confirmed_multi());
 *  - a power cut before or during any flash write of a request leaves either no request or the
 *    complete one, never a test request where a permanent one was asked or a half one;
 *  - the device core in trailer mode (ota_config_t.mcuboot_request): ota_begin/write/end of the
 *    imgtool image into the secondary slot requests the test upgrade, and after MCUboot's swap
 *    ota_confirm() writes image_ok as boot_set_confirmed() does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "otakit/err.h"
#include "otakit/flash_sim.h"
#include "otakit/mcuboot.h"
#include "otakit/ota.h"
#include "otakit/presets.h"

#define SLOT 0x20000u
#define SECTOR 0x1000u

static const ota_sector_run_t runs[] = {{2 * SLOT / SECTOR, SECTOR}};
static const ota_area_t primary = {0, SLOT}, secondary = {SLOT, SLOT};

struct rig {
    ota_flash_sim_t *sim;
    ota_flash_t f;
};

static void rig_open(struct rig *r, uint32_t write_size)
{
    ota_flash_sim_cfg_t c;
    memset(&c, 0, sizeof c);
    c.size = 2 * SLOT;
    c.n_runs = 1;
    c.runs = runs;
    c.write_size = write_size;
    c.erased_val = 0xff;
    assert_int_equal(ota_flash_sim_open(&c, &r->sim), OTA_OK);
    ota_flash_sim_bind(r->sim, &r->f);
}

static uint8_t *slot_bytes(struct rig *r, const ota_area_t *a)
{
    return ota_flash_sim_data(r->sim) + a->off;
}

static int swap_type(struct rig *r)
{
    ota_mcuboot_state_t p, s;
    assert_int_equal(ota_mcuboot_read(&r->f, &primary, &p), OTA_OK);
    assert_int_equal(ota_mcuboot_read(&r->f, &secondary, &s), OTA_OK);
    return ota_mcuboot_swap_type(&p, &s);
}

static uint8_t *read_file(const char *name, size_t *len)
{
    char path[512];
    FILE *f;
    uint8_t *buf;
    long n;
    snprintf(path, sizeof path, "%s/%s", OTAKIT_VECTORS, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* imgtool --pad --confirm vs. a permanent request on the image as downloaded. */
static void test_matches_imgtool_confirm(void **state)
{
    struct rig r;
    size_t n;
    uint8_t *vec = read_file("fw-4096.padded-confirmed.bin", &n);
    const uint32_t image_end = 4760; /* README: "end 4760 of 131072" */
    (void)state;
    assert_int_equal(n, SLOT);
    rig_open(&r, 4);
    memcpy(slot_bytes(&r, &secondary), vec, image_end); /* what the agent downloaded */
    assert_int_equal(swap_type(&r), OTA_MCUBOOT_NONE);
    assert_int_equal(ota_mcuboot_request_upgrade(&r.f, &secondary, 1), OTA_OK);
    /* Only swap_info differs: imgtool leaves it erased, boot_set_pending() writes PERM (image 0). */
    assert_int_equal(slot_bytes(&r, &secondary)[SLOT - 40], 0x03);
    assert_int_equal(vec[SLOT - 40], 0xff);
    vec[SLOT - 40] = 0x03;
    assert_memory_equal(slot_bytes(&r, &secondary), vec, SLOT);
    assert_int_equal(swap_type(&r), OTA_MCUBOOT_PERM);
    /* A second request changes nothing ("Swap already scheduled."). */
    assert_int_equal(ota_mcuboot_request_upgrade(&r.f, &secondary, 0), OTA_OK);
    assert_memory_equal(slot_bytes(&r, &secondary), vec, SLOT);
    free(vec);
    ota_flash_sim_close(r.sim);
}

/* bootutil's offsets, worked out by hand from bootutil_public.c for each write size. */
static void test_offsets_for_each_write_size(void **state)
{
    static const struct {
        uint32_t ws, image_ok, copy_done, swap_info, magic_area;
    } want[] = {
        {1, 24, 32, 40, 16}, {2, 24, 32, 40, 16}, {4, 24, 32, 40, 16}, {8, 24, 32, 40, 16},
        {16, 32, 48, 64, 16}, {32, 64, 96, 128, 32},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct rig r;
        uint8_t magic[16], *t;
        uint32_t ws = want[i].ws, k;
        rig_open(&r, ws);
        assert_int_equal(ota_mcuboot_request_upgrade(&r.f, &secondary, 1), OTA_OK);
        t = slot_bytes(&r, &secondary);
        ota_mcuboot_magic(ws > 8 ? ws : 8, magic);
        if (ws <= 8)
            assert_int_equal(magic[0], 0x77);
        else
            assert_true(magic[0] == ws && magic[1] == 0 && magic[2] == 0x2d);
        assert_memory_equal(t + SLOT - 16, magic, 16);
        for (k = SLOT - want[i].magic_area; k < SLOT - 16; k++)
            assert_int_equal(t[k], 0xff); /* boot_write_magic() pads with the erased value */
        assert_int_equal(t[SLOT - want[i].image_ok], 0x01);
        assert_int_equal(t[SLOT - want[i].swap_info], OTA_MCUBOOT_PERM);
        assert_int_equal(t[SLOT - want[i].copy_done], 0xff);
        /* every byte of the trailer other than these is still erased */
        for (k = SLOT - 200; k < SLOT; k++)
            if (k < SLOT - 16 && k != SLOT - want[i].image_ok && k != SLOT - want[i].swap_info)
                assert_int_equal(t[k], 0xff);
        assert_int_equal(swap_type(&r), OTA_MCUBOOT_PERM);
        ota_flash_sim_close(r.sim);
    }
    assert_int_equal(ota_mcuboot_trailer_size(OTA_MCUBOOT_SWAP_SCRATCH, 1, 128), 432);  /* image-format.md */
    assert_int_equal(ota_mcuboot_trailer_size(OTA_MCUBOOT_SWAP_SCRATCH, 8, 128), 3120);
    assert_int_equal(ota_mcuboot_trailer_size(OTA_MCUBOOT_SWAP_MOVE, 4, 128), 128 * 2 * 4 + 32 + 16);
    assert_int_equal(ota_mcuboot_trailer_size(OTA_MCUBOOT_OVERWRITE_ONLY, 4, 128), 48);
}

/* Test request, MCUboot's test swap, trial, revert or confirm: boot_swap_tables[] at each step. */
static void test_test_boot_then_confirm(void **state)
{
    struct rig r;
    uint8_t *p;
    (void)state;
    rig_open(&r, 8);
    assert_int_equal(ota_mcuboot_on_trial(&r.f, &primary), 0); /* a programmed image: not on trial */
    assert_int_equal(ota_mcuboot_confirm(&r.f, &primary), OTA_OK);
    assert_int_equal(slot_bytes(&r, &primary)[SLOT - 24], 0xff); /* nothing written */
    assert_int_equal(ota_mcuboot_request_upgrade(&r.f, &secondary, 0), OTA_OK);
    assert_int_equal(slot_bytes(&r, &secondary)[SLOT - 24], 0xff);
    assert_int_equal(slot_bytes(&r, &secondary)[SLOT - 40], OTA_MCUBOOT_TEST);
    assert_int_equal(swap_type(&r), OTA_MCUBOOT_TEST);
    /* What MCUboot leaves after the test swap (boot_swap_image(), swap_scratch.c): the primary
     * trailer has magic, swap_info TEST and copy_done set; the secondary one is erased. */
    p = slot_bytes(&r, &primary);
    memcpy(p + SLOT - 16, slot_bytes(&r, &secondary) + SLOT - 16, 16);
    p[SLOT - 40] = OTA_MCUBOOT_TEST;
    p[SLOT - 32] = 0x01;
    memset(slot_bytes(&r, &secondary) + SLOT - SECTOR, 0xff, SECTOR);
    assert_int_equal(ota_mcuboot_on_trial(&r.f, &primary), 1);
    assert_int_equal(swap_type(&r), OTA_MCUBOOT_REVERT); /* a reset now reverts */
    assert_int_equal(ota_mcuboot_confirm(&r.f, &primary), OTA_OK);
    assert_int_equal(p[SLOT - 24], 0x01);
    assert_int_equal(ota_mcuboot_on_trial(&r.f, &primary), 0);
    assert_int_equal(swap_type(&r), OTA_MCUBOOT_NONE);
    assert_int_equal(ota_mcuboot_confirm(&r.f, &primary), OTA_OK); /* twice: no second write */
    /* A corrupt magic is refused, never written over. */
    p[SLOT - 1] ^= 1;
    assert_int_equal(ota_mcuboot_confirm(&r.f, &primary), OTA_ERR_STATE);
    /* A request over a trailer that is not erased is refused (NOR cannot program it). */
    slot_bytes(&r, &secondary)[SLOT - 32] = 0x00;
    assert_int_equal(ota_mcuboot_request_upgrade(&r.f, &secondary, 0), OTA_ERR_STATE);
    ota_flash_sim_close(r.sim);
}

/* A cut before or during each write: no request, or exactly the requested one. */
static void test_power_cut_at_every_write(void **state)
{
    int permanent, mode, seen_none, seen_full;
    uint64_t op;
    (void)state;
    for (permanent = 0; permanent < 2; permanent++)
        for (mode = OTA_SIM_CUT_BEFORE; mode <= OTA_SIM_CUT_TORN; mode++) {
            seen_none = seen_full = 0;
            for (op = 1; op <= 4; op++) {
                struct rig r;
                int rc, t, want = permanent ? OTA_MCUBOOT_PERM : OTA_MCUBOOT_TEST;
                rig_open(&r, 4);
                ota_flash_sim_reset_counters(r.sim);
                ota_flash_sim_cut_at(r.sim, op, (ota_sim_cut_t)mode, (uint32_t)(op * 7 + 1));
                rc = ota_mcuboot_request_upgrade(&r.f, &secondary, permanent);
                ota_flash_sim_power_on(r.sim);
                t = swap_type(&r);
                assert_true(t == OTA_MCUBOOT_NONE || t == want);
                if (rc == OTA_OK)
                    assert_int_equal(t, want);
                seen_none += t == OTA_MCUBOOT_NONE;
                seen_full += t == want;
                /* After a cut that left no request, asking again either completes it or says the
                 * trailer must be erased first: never a different request. */
                if (t == OTA_MCUBOOT_NONE) {
                    rc = ota_mcuboot_request_upgrade(&r.f, &secondary, permanent);
                    t = swap_type(&r);
                    assert_true((rc == OTA_OK && t == want) || (rc == OTA_ERR_STATE && t == OTA_MCUBOOT_NONE));
                }
                ota_flash_sim_close(r.sim);
            }
            assert_true(seen_none > 0 && seen_full > 0); /* the cuts did land on both sides */
        }
}

/* The device core in MCUboot trailer mode, on the swap-256k layout (slot 0 primary, 1 secondary). */
static void test_device_core_trailer_mode(void **state)
{
    const ota_preset_t *pr = ota_preset_find("swap-256k");
    ota_flash_sim_cfg_t c;
    ota_flash_sim_t *sim;
    ota_flash_t f;
    ota_config_t cfg;
    ota_pubkey_t key;
    ota_ctx_t ctx;
    size_t n, kn;
    uint8_t *vec = read_file("fw-4096.padded-confirmed.bin", &n), *der = read_file("ec256-pub.der", &kn), *d;
    const ota_area_t *s0, *s1;
    const uint32_t image_end = 4760;
    (void)state;
    assert_non_null(pr);
    ota_flash_sim_cfg_preset(&c, pr, 4, 0xff);
    assert_int_equal(ota_flash_sim_open(&c, &sim), OTA_OK);
    ota_flash_sim_bind(sim, &f);
    s0 = &pr->layout.slot[0];
    s1 = &pr->layout.slot[1];
    d = ota_flash_sim_data(sim);
    memset(d + s1->off + s1->size - 4096, 0x00, 4096); /* an old trailer: ota_end must clear it */
    key.der = der;
    key.len = (uint32_t)kn;
    memset(&cfg, 0, sizeof cfg);
    cfg.flash = &f;
    cfg.layout = &pr->layout;
    cfg.keys = &key;
    cfg.n_keys = 1;
    cfg.mcuboot_request = OTA_MCUBOOT_TEST;
    assert_int_equal(ota_init(&ctx, &cfg), OTA_OK);
    assert_int_equal(ota_begin(&ctx, image_end), OTA_OK);
    assert_int_equal(ota_write(&ctx, vec, 1000), OTA_OK);
    assert_int_equal(ota_write(&ctx, vec + 1000, image_end - 1000), OTA_OK);
    assert_int_equal(ota_end(&ctx), OTA_OK);
    {
        ota_mcuboot_state_t p, s;
        assert_int_equal(ota_mcuboot_read(&f, s0, &p), OTA_OK);
        assert_int_equal(ota_mcuboot_read(&f, s1, &s), OTA_OK);
        assert_int_equal(ota_mcuboot_swap_type(&p, &s), OTA_MCUBOOT_TEST);
        assert_int_equal(d[s1->off + s1->size - 40], OTA_MCUBOOT_TEST);
        assert_memory_equal(d + s1->off + s1->size - 16, vec + SLOT - 16, 16); /* imgtool's magic */
    }
    /* MCUboot's test swap: the image and the trailer (magic, swap_info, copy_done) in primary. */
    memcpy(d + s0->off, vec, image_end);
    memcpy(d + s0->off + s0->size - 16, vec + SLOT - 16, 16);
    d[s0->off + s0->size - 40] = OTA_MCUBOOT_TEST;
    d[s0->off + s0->size - 32] = 0x01;
    memset(d + s1->off, 0xff, s1->size);
    assert_int_equal(ota_init(&ctx, &cfg), OTA_OK); /* the new firmware starts */
    assert_int_equal(ota_mcuboot_on_trial(&f, s0), 1);
    assert_int_equal(ota_confirm(&ctx), OTA_OK);
    assert_int_equal(ota_mcuboot_on_trial(&f, s0), 0);
    assert_int_equal(d[s0->off + s0->size - 24], 0x01);
    free(vec);
    free(der);
    ota_flash_sim_close(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_imgtool_confirm),
        cmocka_unit_test(test_offsets_for_each_write_size),
        cmocka_unit_test(test_test_boot_then_confirm),
        cmocka_unit_test(test_power_cut_at_every_write),
        cmocka_unit_test(test_device_core_trailer_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
