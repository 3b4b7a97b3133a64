/*
 * Device core, as a user relies on it: the streaming writer (ota_begin/write/end/abort/resume),
 * the bootloader (ota_boot), confirm/rollback and the boot-state journal, on the host flash
 * simulator with the ready-made layouts (A/B: esp8266-512k, dualbank-1m; SWAP: swap-256k,
 * stm32f4-1m).
 *
 * Every device starts in the factory state: image v1 (security counter 1, product "acme")
 * programmed into slot 0, boot state empty. A "reset" is ota_init() + ota_boot() (the bootloader)
 * followed by ota_init() on the same flash (the firmware): nothing survives but the flash.
 * After every refused update the running slot is byte-for-byte unchanged, the journal is not NEW
 * and the next boot runs the old image.
 *
 * One key pair is generated for the whole run (group setup) and every image is signed once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "otakit/flash_sim.h"
#include "otakit/keys.h"
#include "otakit/ota.h"
#include "otakit/presets.h"
#include "otakit/sign.h"

/* ------------------------------------------------------------------------------------------ */
/* Images                                                                                     */

enum {
    IMG_V1,            /* factory image: 1.0.0, counter 1, "acme" */
    IMG_V2,            /* the usual update: 2.0.0, counter 2 */
    IMG_V5,            /* 5.0.0, counter 5 */
    IMG_V4,            /* 4.0.0, counter 4: a downgrade once 5 is confirmed */
    IMG_SAME,          /* 2.1.0, counter 1: leaves the floor at 1, so v1 stays acceptable */
    IMG_UNSIGNED,      /* hash only (signed with key NULL) */
    IMG_OTHER_KEY,     /* signed by a key the device does not trust */
    IMG_OTHER_PRODUCT, /* product "zeta" */
    IMG_HW_AB,         /* hardware "revA,revB" */
    IMG_NO_PRODUCT,    /* no product TLV */
    IMG_COUNT
};

enum { KEY_TRUSTED, KEY_OTHER, KEY_NONE };

static const struct {
    uint8_t major, minor;
    uint32_t counter;
    const char *product;
    const char *hw;
    int key;
    size_t payload;
} spec[IMG_COUNT] = {
    [IMG_V1] = {1, 0, 1, "acme", NULL, KEY_TRUSTED, 9000},
    [IMG_V2] = {2, 0, 2, "acme", NULL, KEY_TRUSTED, 13000},
    [IMG_V5] = {5, 0, 5, "acme", NULL, KEY_TRUSTED, 11111},
    [IMG_V4] = {4, 0, 4, "acme", NULL, KEY_TRUSTED, 10500},
    [IMG_SAME] = {2, 1, 1, "acme", NULL, KEY_TRUSTED, 12345},
    [IMG_UNSIGNED] = {3, 0, 3, "acme", NULL, KEY_NONE, 10000},
    [IMG_OTHER_KEY] = {3, 0, 3, "acme", NULL, KEY_OTHER, 10000},
    [IMG_OTHER_PRODUCT] = {3, 0, 3, "zeta", NULL, KEY_TRUSTED, 10000},
    [IMG_HW_AB] = {3, 0, 3, "acme", "revA,revB", KEY_TRUSTED, 10000},
    [IMG_NO_PRODUCT] = {3, 0, 3, NULL, NULL, KEY_TRUSTED, 10000},
};

static uint8_t *img[IMG_COUNT];
static size_t img_len[IMG_COUNT];
static ota_key_t *key_trusted, *key_other;
static uint8_t trusted_der[OTA_P256_SPKI_LEN];
static ota_pubkey_t trusted_pub;

static int group_setup(void **state)
{
    unsigned i;
    (void)state;
    if (ota_key_generate(&key_trusted) != OTA_OK || ota_key_generate(&key_other) != OTA_OK)
        return -1;
    if (ota_key_public_der(key_trusted, trusted_der) != OTA_OK)
        return -1;
    trusted_pub.der = trusted_der;
    trusted_pub.len = sizeof trusted_der;
    for (i = 0; i < IMG_COUNT; i++) {
        ota_sign_opts_t o;
        uint8_t *pl = malloc(spec[i].payload);
        uint32_t seed = 2654435761u * (i + 1);
        size_t k;
        if (!pl)
            return -1;
        for (k = 0; k < spec[i].payload; k++) {
            seed = seed * 1664525u + 1013904223u;
            pl[k] = (uint8_t)(seed >> 24);
        }
        ota_sign_opts_init(&o);
        o.version.major = spec[i].major;
        o.version.minor = spec[i].minor;
        o.has_security_counter = 1;
        o.security_counter = spec[i].counter;
        o.product = spec[i].product;
        o.hw_rev = spec[i].hw;
        o.pad_sig = 1; /* fixed-length signatures: image sizes (and their tails) are the same every run */
        if (ota_sign_image(&o,
                           spec[i].key == KEY_TRUSTED ? key_trusted : spec[i].key == KEY_OTHER ? key_other : NULL,
                           pl, spec[i].payload, &img[i], &img_len[i]) != OTA_OK) {
            free(pl);
            return -1;
        }
        free(pl);
    }
    /* The writer must pad a last partial write unit at every write size tested. */
    if (img_len[IMG_V2] % 16 == 0 || img_len[IMG_V2] % 8 == 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    unsigned i;
    (void)state;
    for (i = 0; i < IMG_COUNT; i++)
        free(img[i]);
    ota_key_free(key_trusted);
    ota_key_free(key_other);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The simulated device                                                                       */

typedef struct {
    const char *preset;
    uint32_t ws;
    uint8_t erased;
} param_t;

typedef struct {
    const param_t *par;
    const ota_preset_t *p;
    const ota_layout_t *l;
    ota_flash_sim_t *sim;
    ota_flash_t flash;
    ota_config_t cfg;
    ota_ctx_t ctx;           /* the bootloader's, then the firmware's (re-initialised at each reset) */
    ota_boot_result_t res;   /* what the last boot decided */
    uint8_t *snap;           /* snapshot of one slot */
} rig_t;

#define assert_rc(got, want)                                                                        \
    do {                                                                                            \
        int g_ = (got), w_ = (want);                                                                \
        if (g_ != w_) {                                                                             \
            print_error("%s:%d: got %s (%d), expected %s (%d)\n", __FILE__, __LINE__, ota_errname(g_), \
                        g_, ota_errname(w_), w_);                                                   \
            fail();                                                                                 \
        }                                                                                           \
    } while (0)

#define assert_state(got, want)                                                                     \
    do {                                                                                            \
        int g_ = (got), w_ = (want);                                                                \
        if (g_ != w_) {                                                                             \
            print_error("%s:%d: state %s, expected %s\n", __FILE__, __LINE__, ota_state_name(g_),      \
                        ota_state_name(w_));                                                        \
            fail();                                                                                 \
        }                                                                                           \
    } while (0)

static uint8_t *mem(rig_t *r)
{
    return ota_flash_sim_data(r->sim);
}

static uint8_t *slot_mem(rig_t *r, unsigned slot)
{
    return mem(r) + r->l->slot[slot].off;
}

static int holds(rig_t *r, unsigned slot, int id)
{
    return memcmp(slot_mem(r, slot), img[id], img_len[id]) == 0;
}

/* Which of our images a slot holds (-1: none whole). */
static int slot_image(rig_t *r, unsigned slot)
{
    int i;
    for (i = 0; i < IMG_COUNT; i++)
        if (holds(r, slot, i))
            return i;
    return -1;
}

#define assert_holds(r, slot, id)                                                                   \
    do {                                                                                            \
        int h_ = slot_image((r), (slot));                                                           \
        if (h_ != (id)) {                                                                           \
            print_error("%s:%d: slot %u holds image #%d, expected #%d\n", __FILE__, __LINE__,          \
                        (unsigned)(slot), h_, (int)(id));                                           \
            fail();                                                                                 \
        }                                                                                           \
    } while (0)

/* Factory state: everything erased, v1 in slot 0, counters zeroed. */
static void rig_factory(rig_t *r)
{
    ota_flash_sim_power_on(r->sim);
    memset(mem(r), r->par->erased, r->p->flash_size);
    memcpy(slot_mem(r, 0), img[IMG_V1], img_len[IMG_V1]);
    ota_flash_sim_reset_counters(r->sim);
}

static void rig_open(rig_t *r, const param_t *par)
{
    ota_flash_sim_cfg_t sc;
    memset(r, 0, sizeof *r);
    r->par = par;
    r->p = ota_preset_find(par->preset);
    assert_non_null(r->p);
    r->l = &r->p->layout;
    ota_flash_sim_cfg_preset(&sc, r->p, par->ws, par->erased);
    assert_rc(ota_flash_sim_open(&sc, &r->sim), OTA_OK);
    ota_flash_sim_bind(r->sim, &r->flash);
    r->snap = malloc(r->l->slot[0].size > r->l->slot[1].size ? r->l->slot[0].size : r->l->slot[1].size);
    assert_non_null(r->snap);
    r->cfg.flash = &r->flash;
    r->cfg.layout = r->l;
    r->cfg.keys = &trusted_pub;
    r->cfg.n_keys = 1;
    r->cfg.product = "acme";
    rig_factory(r);
}

static void rig_close(rig_t *r)
{
    ota_flash_sim_close(r->sim);
    free(r->snap);
    r->sim = NULL;
    r->snap = NULL;
}

static int rig_setup(void **state)
{
    rig_t *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    rig_open(r, (const param_t *)*state);
    *state = r;
    return 0;
}

static int rig_teardown(void **state)
{
    rig_t *r = (rig_t *)*state;
    rig_close(r);
    free(r);
    return 0;
}

static void no_violations(rig_t *r)
{
    ota_flash_sim_stats_t st;
    ota_flash_sim_stats(r->sim, &st);
    assert_int_equal(st.violations, 0);
}

static uint64_t flash_ops(rig_t *r)
{
    ota_flash_sim_stats_t st;
    ota_flash_sim_stats(r->sim, &st);
    return st.ops;
}

/* The firmware starts: its own ota_init on the flash. */
static void app(rig_t *r)
{
    assert_rc(ota_init(&r->ctx, &r->cfg), OTA_OK);
}

/* A reset: the bootloader runs. Returns ota_boot()'s result; the firmware's ctx is then ready. */
static int boot(rig_t *r)
{
    int rc;
    assert_rc(ota_init(&r->ctx, &r->cfg), OTA_OK);
    rc = ota_boot(&r->ctx, &r->res);
    if (rc == OTA_OK) {
        /* What the bootloader decided is what the firmware then sees. */
        ota_state_t st = (ota_state_t)r->ctx.rec.state;
        app(r);
        assert_state(r->ctx.rec.state, st);
        assert_int_equal(ota_running_slot(&r->ctx), r->res.slot);
    }
    return rc;
}

/* A reset that must boot image id in the given state. */
static void boot_expect(rig_t *r, int id, ota_state_t state)
{
    assert_rc(boot(r), OTA_OK);
    assert_holds(r, r->res.slot, id);
    assert_state(r->res.state, state);
    assert_int_equal(r->res.version.major, spec[id].major);
    assert_int_equal(r->res.version.minor, spec[id].minor);
    if (r->l->strategy == OTA_STRATEGY_SWAP)
        assert_int_equal(r->res.slot, 0);
}

static int download_buf(rig_t *r, const uint8_t *b, size_t n, uint32_t chunk)
{
    size_t off;
    int rc;
    if ((rc = ota_begin(&r->ctx, (uint32_t)n)) != OTA_OK)
        return rc;
    for (off = 0; off < n; off += chunk) {
        uint32_t k = n - off < chunk ? (uint32_t)(n - off) : chunk;
        if ((rc = ota_write(&r->ctx, b + off, k)) != OTA_OK)
            return rc;
    }
    return ota_end(&r->ctx);
}

static int download(rig_t *r, int id, uint32_t chunk)
{
    return download_buf(r, img[id], img_len[id], chunk);
}

/* Update to image id, boot it (TESTING), confirm it (CONFIRMED). */
static void update_confirm(rig_t *r, int id)
{
    unsigned target;
    assert_rc(download(r, id, 700), OTA_OK);
    assert_state(r->ctx.rec.state, OTA_STATE_NEW);
    target = r->ctx.rec.target;
    boot_expect(r, id, OTA_STATE_TESTING);
    if (r->l->strategy == OTA_STRATEGY_AB)
        assert_int_equal(r->res.slot, target);
    assert_rc(ota_confirm(&r->ctx), OTA_OK);
    assert_state(r->ctx.rec.state, OTA_STATE_CONFIRMED);
    assert_int_equal(r->ctx.rec.security_counter, spec[id].counter);
    boot_expect(r, id, OTA_STATE_CONFIRMED);
}

/* Remembers the running slot's bytes (before an update attempt). Returns the running slot. */
static unsigned snap_running(rig_t *r)
{
    unsigned run = ota_running_slot(&r->ctx);
    memcpy(r->snap, slot_mem(r, run), r->l->slot[run].size);
    return run;
}

/* After a refused update: running slot unchanged, not pending, and the next boot runs old_id. */
static void check_refused(rig_t *r, unsigned run, int old_id)
{
    ota_ctx_t reloaded;
    assert_true(memcmp(slot_mem(r, run), r->snap, r->l->slot[run].size) == 0);
    assert_int_not_equal(r->ctx.rec.state, OTA_STATE_NEW);
    assert_rc(ota_init(&reloaded, &r->cfg), OTA_OK);
    assert_int_not_equal(reloaded.rec.state, OTA_STATE_NEW);
    assert_rc(boot(r), OTA_OK);
    assert_int_equal(r->res.slot, run);
    assert_holds(r, run, old_id);
    assert_int_equal(r->res.swapped, 0);
    assert_int_not_equal(r->res.state, OTA_STATE_TESTING);
    assert_true(memcmp(slot_mem(r, run), r->snap, r->l->slot[run].size) == 0);
    no_violations(r);
}

/* A whole image download of id that ota_end() must refuse with want. */
static void refuse_image(rig_t *r, const uint8_t *b, size_t n, int want, int old_id)
{
    unsigned run = snap_running(r);
    assert_rc(download_buf(r, b, n, 700), want);
    check_refused(r, run, old_id);
}

/* ------------------------------------------------------------------------------------------ */
/* 1. ota_end() refuses, each with its own error                                              */

static void test_refuse_unsigned(void **state)
{
    rig_t *r = *state;
    assert_rc(boot(r), OTA_OK);
    refuse_image(r, img[IMG_UNSIGNED], img_len[IMG_UNSIGNED], OTA_ERR_NO_SIGNATURE, IMG_V1);
}

static void test_refuse_other_key(void **state)
{
    rig_t *r = *state;
    assert_rc(boot(r), OTA_OK);
    refuse_image(r, img[IMG_OTHER_KEY], img_len[IMG_OTHER_KEY], OTA_ERR_KEY_UNKNOWN, IMG_V1);
}

static void test_refuse_flipped_byte(void **state)
{
    rig_t *r = *state;
    uint8_t *b = malloc(img_len[IMG_V2]);
    assert_non_null(b);
    memcpy(b, img[IMG_V2], img_len[IMG_V2]);
    b[OTA_IMAGE_HEADER_SIZE + 5000] ^= 0x01;
    assert_rc(boot(r), OTA_OK);
    refuse_image(r, b, img_len[IMG_V2], OTA_ERR_HASH, IMG_V1);
    free(b);
}

static void test_refuse_downgrade(void **state)
{
    rig_t *r = *state;
    assert_rc(boot(r), OTA_OK);
    update_confirm(r, IMG_V5);
    assert_int_equal(r->ctx.rec.security_counter, 5);
    refuse_image(r, img[IMG_V4], img_len[IMG_V4], OTA_ERR_DOWNGRADE, IMG_V5);
}

static void test_refuse_other_product(void **state)
{
    rig_t *r = *state;
    assert_rc(boot(r), OTA_OK);
    refuse_image(r, img[IMG_OTHER_PRODUCT], img_len[IMG_OTHER_PRODUCT], OTA_ERR_PRODUCT, IMG_V1);
}

static void test_refuse_hw_rev(void **state)
{
    rig_t *r = *state;
    r->cfg.hw_rev = "revC";
    assert_rc(boot(r), OTA_OK);
    refuse_image(r, img[IMG_HW_AB], img_len[IMG_HW_AB], OTA_ERR_HW_REV, IMG_V1);
    /* The same image on a listed board is accepted. */
    r->cfg.hw_rev = "revB";
    app(r);
    assert_rc(download(r, IMG_HW_AB, 700), OTA_OK);
}

static void test_refuse_no_product(void **state)
{
    rig_t *r = *state;
    assert_rc(boot(r), OTA_OK);
    refuse_image(r, img[IMG_NO_PRODUCT], img_len[IMG_NO_PRODUCT], OTA_ERR_PRODUCT, IMG_V1);
}

static void test_refuse_incomplete(void **state)
{
    rig_t *r = *state;
    unsigned run;
    assert_rc(boot(r), OTA_OK);
    run = snap_running(r);
    assert_rc(ota_begin(&r->ctx, (uint32_t)img_len[IMG_V2]), OTA_OK);
    assert_rc(ota_write(&r->ctx, img[IMG_V2], (uint32_t)img_len[IMG_V2] - 1), OTA_OK);
    assert_rc(ota_end(&r->ctx), OTA_ERR_INCOMPLETE);
    check_refused(r, run, IMG_V1);
}

static void test_refuse_overflow(void **state)
{
    rig_t *r = *state;
    uint32_t n = (uint32_t)img_len[IMG_V2];
    unsigned run, upd;
    uint64_t ops;
    uint8_t *upd_before = malloc(r->l->slot[0].size);
    assert_non_null(upd_before);
    assert_rc(boot(r), OTA_OK);
    run = snap_running(r);
    upd = 1 - run;

    /* One chunk larger than announced: refused before anything reaches the flash. */
    assert_rc(ota_begin(&r->ctx, n - 100), OTA_OK);
    ops = flash_ops(r);
    memcpy(upd_before, slot_mem(r, upd), r->l->slot[upd].size);
    assert_rc(ota_write(&r->ctx, img[IMG_V2], n), OTA_ERR_OVERFLOW);
    assert_int_equal(flash_ops(r), ops);
    assert_true(memcmp(upd_before, slot_mem(r, upd), r->l->slot[upd].size) == 0);
    assert_rc(ota_end(&r->ctx), OTA_ERR_INCOMPLETE);
    check_refused(r, run, IMG_V1);

    /* Everything announced written, then one byte more: refused, nothing written. */
    assert_rc(ota_begin(&r->ctx, n), OTA_OK);
    assert_rc(ota_write(&r->ctx, img[IMG_V2], n), OTA_OK);
    ops = flash_ops(r);
    memcpy(upd_before, slot_mem(r, upd), r->l->slot[upd].size);
    assert_rc(ota_write(&r->ctx, "x", 1), OTA_ERR_OVERFLOW);
    assert_int_equal(flash_ops(r), ops);
    assert_true(memcmp(upd_before, slot_mem(r, upd), r->l->slot[upd].size) == 0);
    assert_rc(ota_abort(&r->ctx), OTA_OK);
    check_refused(r, run, IMG_V1);
    free(upd_before);
}

static void test_refuse_no_fit(void **state)
{
    rig_t *r = *state;
    unsigned run;
    uint64_t ops;
    uint32_t seq;
    assert_rc(boot(r), OTA_OK);
    run = snap_running(r);
    ops = flash_ops(r);
    seq = r->ctx.rec.seq;
    assert_rc(ota_begin(&r->ctx, r->l->slot[1 - run].size + 1), OTA_ERR_NO_FIT);
    assert_int_equal(flash_ops(r), ops); /* not even a journal entry */
    assert_int_equal(r->ctx.rec.seq, seq);
    assert_rc(ota_write(&r->ctx, img[IMG_V2], 100), OTA_ERR_STATE);
    check_refused(r, run, IMG_V1);
    /* Exactly the slot size is accepted by ota_begin. */
    assert_rc(ota_begin(&r->ctx, r->l->slot[1 - run].size), OTA_OK);
    assert_rc(ota_abort(&r->ctx), OTA_OK);
}

/* ------------------------------------------------------------------------------------------ */
/* 2. Any chunk size works                                                                    */

static void test_chunk_sizes(void **state)
{
    static const uint32_t chunks[] = {1, 3, 7, 700, 4096, 0 /* all at once */};
    rig_t *r = *state;
    unsigned i;
    for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        uint32_t chunk = chunks[i] ? chunks[i] : (uint32_t)img_len[IMG_V2];
        rig_factory(r);
        boot_expect(r, IMG_V1, OTA_STATE_NONE);
        assert_rc(download(r, IMG_V2, chunk), OTA_OK);
        assert_state(r->ctx.rec.state, OTA_STATE_NEW);
        boot_expect(r, IMG_V2, OTA_STATE_TESTING);
        assert_rc(ota_confirm(&r->ctx), OTA_OK);
        boot_expect(r, IMG_V2, OTA_STATE_CONFIRMED);
        no_violations(r);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* 3. Full flows                                                                              */

static void test_flow_confirm(void **state)
{
    rig_t *r = *state;
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    assert_int_equal(r->res.slot, 0);
    assert_rc(download(r, IMG_V2, 700), OTA_OK);
    assert_state(r->ctx.rec.state, OTA_STATE_NEW);
    if (r->l->strategy == OTA_STRATEGY_AB) {
        assert_int_equal(r->ctx.rec.target, 1);
        assert_holds(r, 1, IMG_V2);
        assert_holds(r, 0, IMG_V1);
        boot_expect(r, IMG_V2, OTA_STATE_TESTING);
        assert_int_equal(r->res.slot, 1);
        assert_int_equal(r->res.swapped, 0);
    } else {
        assert_holds(r, 1, IMG_V2);
        boot_expect(r, IMG_V2, OTA_STATE_TESTING);
        assert_int_equal(r->res.swapped, 1);
        /* The old image waits in slot 1, whole, until the new one confirms. */
        assert_holds(r, 1, IMG_V1);
    }
    assert_int_equal(r->res.rolled_back, 0);
    assert_int_equal(r->res.security_counter, 2);
    assert_rc(ota_confirm(&r->ctx), OTA_OK);
    assert_state(r->ctx.rec.state, OTA_STATE_CONFIRMED);
    assert_int_equal(r->ctx.rec.security_counter, 2);
    assert_rc(ota_confirm(&r->ctx), OTA_OK); /* idempotent */
    boot_expect(r, IMG_V2, OTA_STATE_CONFIRMED);
    assert_int_equal(r->res.swapped, 0);
    if (r->l->strategy == OTA_STRATEGY_AB) {
        assert_int_equal(ota_running_slot(&r->ctx), 1);
        /* The next update goes to the other slot: slot 0. */
        assert_rc(download(r, IMG_V5, 700), OTA_OK);
        assert_int_equal(r->ctx.rec.target, 0);
        assert_holds(r, 0, IMG_V5);
        assert_holds(r, 1, IMG_V2);
        boot_expect(r, IMG_V5, OTA_STATE_TESTING);
        assert_int_equal(r->res.slot, 0);
    } else {
        assert_int_equal(ota_running_slot(&r->ctx), 0);
        assert_rc(download(r, IMG_V5, 700), OTA_OK);
        assert_holds(r, 1, IMG_V5);
        assert_holds(r, 0, IMG_V2);
        boot_expect(r, IMG_V5, OTA_STATE_TESTING);
        assert_holds(r, 1, IMG_V2);
    }
    assert_rc(ota_confirm(&r->ctx), OTA_OK);
    assert_int_equal(r->ctx.rec.security_counter, 5);
    boot_expect(r, IMG_V5, OTA_STATE_CONFIRMED);
    /* The floor survives resets. */
    assert_int_equal(r->ctx.rec.security_counter, 5);
    no_violations(r);
}

static void expect_rolled_back(rig_t *r)
{
    boot_expect(r, IMG_V1, OTA_STATE_FAILED);
    assert_int_equal(r->res.slot, 0);
    assert_int_equal(r->res.rolled_back, 1);
    assert_int_equal(r->res.swapped, r->l->strategy == OTA_STRATEGY_SWAP);
    if (r->l->strategy == OTA_STRATEGY_SWAP)
        assert_holds(r, 1, IMG_V2);
    /* The floor did not move: the failed image never confirmed. */
    assert_true(r->ctx.rec.security_counter <= 1);
    /* And it stays rolled back. */
    boot_expect(r, IMG_V1, OTA_STATE_FAILED);
    assert_int_equal(r->res.rolled_back, 0);
    assert_int_equal(r->res.swapped, 0);
    /* A failed update does not block the next one. */
    assert_rc(download(r, IMG_V2, 700), OTA_OK);
    boot_expect(r, IMG_V2, OTA_STATE_TESTING);
    assert_rc(ota_confirm(&r->ctx), OTA_OK);
    boot_expect(r, IMG_V2, OTA_STATE_CONFIRMED);
    no_violations(r);
}

static void test_flow_never_confirmed(void **state)
{
    rig_t *r = *state;
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    assert_rc(download(r, IMG_V2, 700), OTA_OK);
    boot_expect(r, IMG_V2, OTA_STATE_TESTING);
    /* The new image crashes before confirming: reset. */
    expect_rolled_back(r);
}

static void test_flow_explicit_rollback(void **state)
{
    rig_t *r = *state;
    unsigned run;
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    assert_rc(download(r, IMG_V2, 700), OTA_OK);
    boot_expect(r, IMG_V2, OTA_STATE_TESTING);
    run = ota_running_slot(&r->ctx);
    assert_rc(ota_rollback(&r->ctx), OTA_OK);
    assert_state(r->ctx.rec.state, OTA_STATE_ROLLBACK);
    assert_int_equal(ota_running_slot(&r->ctx), run); /* still running the new one until reset */
    assert_rc(ota_rollback(&r->ctx), OTA_OK);          /* asking twice is fine */
    assert_rc(ota_confirm(&r->ctx), OTA_ERR_STATE);    /* too late to confirm */
    assert_rc(ota_begin(&r->ctx, 1000), OTA_ERR_STATE);
    expect_rolled_back(r);
}

static void test_flow_max_test_boots(void **state)
{
    rig_t *r = *state;
    int b;
    r->cfg.max_test_boots = 3;
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    assert_rc(download(r, IMG_V2, 700), OTA_OK);
    /* Boot 1 runs the new image; it survives two unconfirmed resets (boots 2 and 3)... */
    for (b = 1; b <= 3; b++) {
        boot_expect(r, IMG_V2, OTA_STATE_TESTING);
        assert_int_equal(r->res.rolled_back, 0);
        assert_int_equal(r->ctx.rec.boot_count, b);
    }
    /* ...and the third unconfirmed reset rolls it back. */
    expect_rolled_back(r);
}

static void test_flow_max_test_boots_confirm_late(void **state)
{
    rig_t *r = *state;
    r->cfg.max_test_boots = 3;
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    assert_rc(download(r, IMG_V5, 700), OTA_OK);
    boot_expect(r, IMG_V5, OTA_STATE_TESTING);
    boot_expect(r, IMG_V5, OTA_STATE_TESTING);
    boot_expect(r, IMG_V5, OTA_STATE_TESTING);
    /* Confirming at the last allowed boot keeps it. */
    assert_rc(ota_confirm(&r->ctx), OTA_OK);
    boot_expect(r, IMG_V5, OTA_STATE_CONFIRMED);
    boot_expect(r, IMG_V5, OTA_STATE_CONFIRMED);
    assert_int_equal(r->ctx.rec.security_counter, 5);
    no_violations(r);
}

/* ------------------------------------------------------------------------------------------ */
/* 4. State rules                                                                             */

static void test_state_begin_while_testing(void **state)
{
    rig_t *r = *state;
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    assert_rc(download(r, IMG_V2, 700), OTA_OK);
    boot_expect(r, IMG_V2, OTA_STATE_TESTING);
    assert_rc(ota_begin(&r->ctx, (uint32_t)img_len[IMG_V5]), OTA_ERR_STATE);
    assert_state(r->ctx.rec.state, OTA_STATE_TESTING);
    assert_rc(ota_confirm(&r->ctx), OTA_OK);
    assert_rc(ota_begin(&r->ctx, (uint32_t)img_len[IMG_V5]), OTA_OK);
    assert_rc(ota_abort(&r->ctx), OTA_OK);
}

/* Field-by-field equality of two records (memcmp would compare struct padding too). */
static int record_equal(const ota_record_t *a, const ota_record_t *b)
{
    return a->seq == b->seq && a->state == b->state && a->active == b->active && a->target == b->target &&
           a->boot_count == b->boot_count && a->security_counter == b->security_counter &&
           a->size == b->size && a->progress == b->progress && a->swap_chunks == b->swap_chunks &&
           a->swap_chunk == b->swap_chunk && a->swap_step == b->swap_step && a->swap_op == b->swap_op;
}

static void test_state_confirm_rollback_while_none(void **state)
{
    rig_t *r = *state;
    ota_record_t before;
    uint64_t ops;
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    before = r->ctx.rec;
    ops = flash_ops(r);
    assert_rc(ota_confirm(&r->ctx), OTA_OK);
    assert_int_equal(flash_ops(r), ops);
    assert_true(record_equal(&before, &r->ctx.rec));
    assert_rc(ota_rollback(&r->ctx), OTA_ERR_STATE);
    assert_int_equal(flash_ops(r), ops);
    assert_true(record_equal(&before, &r->ctx.rec));
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    assert_int_equal(r->res.rolled_back, 0);
    /* After a confirmed update too: nothing to roll back to any more. */
    update_confirm(r, IMG_V2);
    assert_rc(ota_rollback(&r->ctx), OTA_ERR_STATE);
    assert_rc(ota_confirm(&r->ctx), OTA_OK);
    boot_expect(r, IMG_V2, OTA_STATE_CONFIRMED);
}

static void test_state_abort(void **state)
{
    rig_t *r = *state;
    uint32_t half = (uint32_t)img_len[IMG_V2] / 2;
    unsigned run;
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    run = snap_running(r);
    assert_rc(ota_begin(&r->ctx, (uint32_t)img_len[IMG_V2]), OTA_OK);
    assert_state(r->ctx.rec.state, OTA_STATE_DOWNLOADING);
    assert_rc(ota_write(&r->ctx, img[IMG_V2], half), OTA_OK);
    assert_rc(ota_abort(&r->ctx), OTA_OK);
    assert_state(r->ctx.rec.state, OTA_STATE_NONE);
    assert_rc(ota_write(&r->ctx, img[IMG_V2] + half, 10), OTA_ERR_STATE);
    assert_rc(ota_end(&r->ctx), OTA_ERR_STATE);
    assert_rc(ota_abort(&r->ctx), OTA_OK); /* nothing to abort: still fine */
    check_refused(r, run, IMG_V1);
    assert_state(r->res.state, OTA_STATE_NONE);
}

static void test_state_write_end_without_begin(void **state)
{
    rig_t *r = *state;
    unsigned run;
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    run = snap_running(r);
    assert_rc(ota_write(&r->ctx, img[IMG_V2], 100), OTA_ERR_STATE);
    assert_rc(ota_end(&r->ctx), OTA_ERR_STATE);
    check_refused(r, run, IMG_V1);
    /* Nor after a reset in the middle of a download (ota_resume is the way back in). */
    assert_rc(ota_begin(&r->ctx, (uint32_t)img_len[IMG_V2]), OTA_OK);
    assert_rc(ota_write(&r->ctx, img[IMG_V2], 5000), OTA_OK);
    boot_expect(r, IMG_V1, OTA_STATE_DOWNLOADING);
    assert_rc(ota_write(&r->ctx, img[IMG_V2] + 5000, 100), OTA_ERR_STATE);
    assert_rc(ota_end(&r->ctx), OTA_ERR_STATE);
}

static void test_state_begin_cancels_pending(void **state)
{
    rig_t *r = *state;
    unsigned run;
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    run = snap_running(r);
    assert_rc(download(r, IMG_V2, 700), OTA_OK);
    assert_state(r->ctx.rec.state, OTA_STATE_NEW);
    assert_rc(ota_begin(&r->ctx, (uint32_t)img_len[IMG_V5]), OTA_OK);
    assert_state(r->ctx.rec.state, OTA_STATE_DOWNLOADING);
    /* Reset right away: the formerly pending image must not be tried. */
    check_refused(r, run, IMG_V1);
    assert_state(r->res.state, OTA_STATE_DOWNLOADING);
    assert_int_equal(r->res.rolled_back, 0);
    /* A second reset: still the old image. */
    boot_expect(r, IMG_V1, OTA_STATE_DOWNLOADING);
    assert_int_equal(r->res.slot, run);
}

/* ------------------------------------------------------------------------------------------ */
/* 5. select_bank hook                                                                        */

struct bank_hook {
    unsigned calls;
    unsigned last;
};

static int select_bank(void *c, unsigned slot)
{
    struct bank_hook *h = c;
    h->calls++;
    h->last = slot;
    return 0;
}

static void boot_hooked(rig_t *r, struct bank_hook *h, int id, ota_state_t st, unsigned slot)
{
    unsigned before = h->calls;
    boot_expect(r, id, st);
    assert_int_equal(h->calls, before + 1);
    assert_int_equal(h->last, r->res.slot);
    assert_int_equal(r->res.slot, slot);
}

static void test_select_bank(void **state)
{
    rig_t *r = *state;
    struct bank_hook h = {0, 99};
    ota_platform_ops_t plat;
    memset(&plat, 0, sizeof plat);
    plat.select_bank = select_bank;
    plat.ctx = &h;
    r->cfg.platform = &plat;
    boot_hooked(r, &h, IMG_V1, OTA_STATE_NONE, 0);
    boot_hooked(r, &h, IMG_V1, OTA_STATE_NONE, 0);
    /* Update, never confirmed: slot 1 then back to 0. */
    assert_rc(download(r, IMG_V2, 700), OTA_OK);
    assert_int_equal(h.calls, 2); /* the firmware side never calls it */
    boot_hooked(r, &h, IMG_V2, OTA_STATE_TESTING, 1);
    boot_hooked(r, &h, IMG_V1, OTA_STATE_FAILED, 0);
    /* Update, confirmed. */
    assert_rc(download(r, IMG_V2, 700), OTA_OK);
    boot_hooked(r, &h, IMG_V2, OTA_STATE_TESTING, 1);
    assert_rc(ota_confirm(&r->ctx), OTA_OK);
    boot_hooked(r, &h, IMG_V2, OTA_STATE_CONFIRMED, 1);
    /* Next update into slot 0, explicit rollback: back to slot 1. */
    assert_rc(download(r, IMG_V5, 700), OTA_OK);
    boot_hooked(r, &h, IMG_V5, OTA_STATE_TESTING, 0);
    assert_rc(ota_rollback(&r->ctx), OTA_OK);
    boot_hooked(r, &h, IMG_V2, OTA_STATE_FAILED, 1);
    assert_int_equal(h.calls, 8);
}

/* ------------------------------------------------------------------------------------------ */
/* 6. Bad running image                                                                       */

static void test_bad_running_image(void **state)
{
    rig_t *r = *state;
    unsigned run;
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    update_confirm(r, IMG_SAME); /* counter 1: v1 stays above the floor */
    run = ota_running_slot(&r->ctx);
    slot_mem(r, run)[OTA_IMAGE_HEADER_SIZE + 3000] ^= 0x40; /* bit rot in the running image */
    assert_rc(boot(r), OTA_OK);
    assert_int_equal(r->res.rolled_back, 1);
    assert_holds(r, r->res.slot, IMG_V1);
    if (r->l->strategy == OTA_STRATEGY_AB) {
        assert_int_equal(run, 1);
        assert_int_equal(r->res.slot, 0);
        assert_int_equal(r->res.swapped, 0);
    } else {
        assert_int_equal(r->res.slot, 0);
        assert_int_equal(r->res.swapped, 1);
        assert_holds(r, 0, IMG_V1);
    }
    /* Settled: the next boot runs v1 again without further rescue. */
    boot_expect(r, IMG_V1, (ota_state_t)r->res.state);
    assert_int_equal(r->res.rolled_back, 0);
    assert_int_equal(r->res.swapped, 0);
    /* And it can be updated again. */
    assert_rc(download(r, IMG_V5, 700), OTA_OK);
    boot_expect(r, IMG_V5, OTA_STATE_TESTING);
    assert_rc(ota_confirm(&r->ctx), OTA_OK);
    boot_expect(r, IMG_V5, OTA_STATE_CONFIRMED);
    no_violations(r);
}

static void test_bad_image_nothing_else(void **state)
{
    rig_t *r = *state;
    /* Factory image corrupted, nothing in slot 1. */
    slot_mem(r, 0)[OTA_IMAGE_HEADER_SIZE + 10] ^= 0x01;
    assert_rc(ota_init(&r->ctx, &r->cfg), OTA_OK);
    assert_rc(ota_boot(&r->ctx, &r->res), OTA_ERR_NO_IMAGE);
}

static void test_empty_flash(void **state)
{
    rig_t *r = *state;
    memset(mem(r), r->par->erased, r->p->flash_size);
    assert_rc(ota_init(&r->ctx, &r->cfg), OTA_OK);
    assert_rc(ota_boot(&r->ctx, &r->res), OTA_ERR_NO_IMAGE);
    assert_rc(ota_init(&r->ctx, &r->cfg), OTA_OK);
    assert_rc(ota_boot(&r->ctx, &r->res), OTA_ERR_NO_IMAGE);
    no_violations(r);
}

/* A pending image that rots before its first boot is never run: FAILED, the old image runs. */
static void test_bad_pending_image(void **state)
{
    rig_t *r = *state;
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    assert_rc(download(r, IMG_V2, 700), OTA_OK);
    slot_mem(r, r->ctx.rec.target)[OTA_IMAGE_HEADER_SIZE + 7000] ^= 0x10;
    boot_expect(r, IMG_V1, OTA_STATE_FAILED);
    assert_int_equal(r->res.rolled_back, 1);
    assert_int_equal(r->res.swapped, 0);
    assert_int_equal(r->res.slot, 0);
    boot_expect(r, IMG_V1, OTA_STATE_FAILED);
    no_violations(r);
}

/* With boot_check_signature, an image whose hash is right but which no trusted key signed is
 * never run, even when written straight into the flash. */
static void test_boot_check_signature(void **state)
{
    rig_t *r = *state;
    unsigned run;
    r->cfg.boot_check_signature = 1;
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    update_confirm(r, IMG_SAME); /* counter 1: v1 stays above the floor */
    /* An attacker (or a bad tool) replaces the running image with a hash-only one. */
    run = r->res.slot;
    memset(slot_mem(r, run), r->par->erased, r->l->slot[run].size);
    memcpy(slot_mem(r, run), img[IMG_UNSIGNED], img_len[IMG_UNSIGNED]);
    assert_rc(boot(r), OTA_OK);
    assert_int_equal(r->res.rolled_back, 1);
    assert_holds(r, r->res.slot, IMG_V1);
    /* Without the option the hash is all the bootloader checks: such an image would run. */
    r->cfg.boot_check_signature = 0;
    run = r->res.slot;
    memset(slot_mem(r, run), r->par->erased, r->l->slot[run].size);
    memcpy(slot_mem(r, run), img[IMG_OTHER_KEY], img_len[IMG_OTHER_KEY]);
    assert_rc(boot(r), OTA_OK);
    assert_int_equal(r->res.slot, run);
    assert_holds(r, run, IMG_OTHER_KEY);
}

/* ------------------------------------------------------------------------------------------ */
/* 7. Journal                                                                                 */

/* Index (geometry order) of the sector holding addr. */
static uint32_t sector_index(const ota_flash_t *f, uint32_t addr)
{
    uint32_t base = 0, idx = 0;
    unsigned i;
    for (i = 0; i < f->n_runs; i++) {
        uint32_t run = f->runs[i].count * f->runs[i].size;
        if (addr - base < run)
            return idx + (addr - base) / f->runs[i].size;
        base += run;
        idx += f->runs[i].count;
    }
    fail_msg("address 0x%x outside the flash", addr);
    return 0;
}

static uint64_t state_area_erases(rig_t *r, uint32_t *sector_size)
{
    const ota_area_t *a = &r->l->state;
    uint32_t off = a->off, start, size;
    uint64_t n = 0;
    while (off < a->off + a->size) {
        assert_rc(ota_flash_sector(&r->flash, off, &start, &size), OTA_OK);
        n += ota_flash_sim_sector_erases(r->sim, sector_index(&r->flash, off));
        *sector_size = size;
        off += size;
    }
    return n;
}

/* One journal save: begin on even i, abort on odd i. */
static void one_save(rig_t *r, unsigned i)
{
    if (i % 2 == 0) {
        assert_rc(ota_begin(&r->ctx, 1000 + i), OTA_OK);
        assert_state(r->ctx.rec.state, OTA_STATE_DOWNLOADING);
    } else {
        assert_rc(ota_abort(&r->ctx), OTA_OK);
        assert_state(r->ctx.rec.state, OTA_STATE_NONE);
    }
}

static void test_journal_many_saves(void **state)
{
    enum { SAVES = 2000 };
    rig_t *r = *state;
    ota_ctx_t re;
    uint32_t seq0, sector = 0;
    uint64_t erases;
    unsigned i;
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    seq0 = r->ctx.rec.seq;
    ota_flash_sim_reset_counters(r->sim);
    for (i = 0; i < SAVES; i++) {
        one_save(r, i);
        assert_int_equal(r->ctx.rec.seq, seq0 + i + 1);
        /* A reset at any point sees the newest state. */
        assert_rc(ota_init(&re, &r->cfg), OTA_OK);
        assert_int_equal(re.rec.seq, r->ctx.rec.seq);
        assert_state(re.rec.state, r->ctx.rec.state);
        assert_int_equal(re.rec.size, r->ctx.rec.size);
    }
    erases = state_area_erases(r, &sector);
    if (erases > SAVES / (sector / 32) + 2)
        fail_msg("%llu erases of the state area for %d saves (%u entries per sector)", (unsigned long long)erases,
                 SAVES, sector / 32);
    assert_true(erases >= 1); /* it did wrap around */
    no_violations(r);
    /* Still works as a device afterwards. */
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    assert_rc(download(r, IMG_V2, 700), OTA_OK);
    boot_expect(r, IMG_V2, OTA_STATE_TESTING);
}

/* A journal entry torn by a power cut leaves the previous state readable, and the journal goes on. */
static void torn_save(rig_t *r, int at_sector_start)
{
    ota_record_t prev = r->ctx.rec;
    ota_ctx_t re;
    ota_flash_sim_stats_t st;
    uint32_t seed;
    for (seed = 1; seed <= 4; seed++) {
        prev = r->ctx.rec;
        ota_flash_sim_reset_counters(r->sim);
        /* Entering a used sector, the save erases it first (op 1) and then writes (op 2). */
        ota_flash_sim_cut_at(r->sim, at_sector_start ? 2 : 1, OTA_SIM_CUT_TORN, seed * 7919u);
        assert_int_not_equal(prev.state == OTA_STATE_NONE ? ota_begin(&r->ctx, 4242) : ota_abort(&r->ctx), OTA_OK);
        assert_true(ota_flash_sim_is_dead(r->sim));
        ota_flash_sim_stats(r->sim, &st);
        assert_int_equal(st.erases, at_sector_start ? 1 : 0);
        assert_int_equal(st.writes, 0);
        ota_flash_sim_power_on(r->sim);
        assert_rc(ota_init(&re, &r->cfg), OTA_OK);
        assert_int_equal(re.rec.seq, prev.seq);
        assert_true(record_equal(&re.rec, &prev));
        /* The next save after the reset lands and is the newest. */
        r->ctx = re;
        one_save(r, prev.state == OTA_STATE_NONE ? 0 : 1);
        assert_int_equal(r->ctx.rec.seq, prev.seq + 1);
        assert_rc(ota_init(&re, &r->cfg), OTA_OK);
        assert_int_equal(re.rec.seq, prev.seq + 1);
        assert_state(re.rec.state, r->ctx.rec.state);
        if (at_sector_start)
            break;
    }
}

static void test_journal_torn_entry(void **state)
{
    rig_t *r = *state;
    const ota_area_t *a = &r->l->state;
    uint32_t start, size, entries = a->size / 32;
    unsigned i = 0;
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    /* Mid-sector. */
    one_save(r, i++);
    one_save(r, i++);
    torn_save(r, 0);
    /* Get past one full round of the area, then stop just before a sector boundary. */
    while (r->ctx.rec.seq < entries + 3)
        one_save(r, r->ctx.rec.state == OTA_STATE_NONE ? 0 : 1);
    for (;;) {
        assert_rc(ota_flash_sector(&r->flash, r->ctx.journal_next < a->off + a->size ? r->ctx.journal_next : a->off,
                                   &start, &size),
                  OTA_OK);
        if (r->ctx.journal_next == start || r->ctx.journal_next == a->off + a->size)
            break;
        one_save(r, r->ctx.rec.state == OTA_STATE_NONE ? 0 : 1);
    }
    torn_save(r, 1);
    no_violations(r);
    /* The device still updates. */
    if (r->ctx.rec.state == OTA_STATE_DOWNLOADING)
        assert_rc(ota_abort(&r->ctx), OTA_OK);
    assert_rc(download(r, IMG_V2, 700), OTA_OK);
    boot_expect(r, IMG_V2, OTA_STATE_TESTING);
}

/* ------------------------------------------------------------------------------------------ */
/* 8. Resume                                                                                  */

static uint32_t slot_sector_size(rig_t *r, unsigned slot, uint32_t rel)
{
    uint32_t start, size;
    assert_rc(ota_flash_sector(&r->flash, r->l->slot[slot].off + rel, &start, &size), OTA_OK);
    return size;
}

/* Finishes a resumed download of id from offset off, then boots and confirms it. */
static void finish_resumed(rig_t *r, int id, uint32_t off)
{
    while (off < img_len[id]) {
        uint32_t k = img_len[id] - off < 700 ? (uint32_t)(img_len[id] - off) : 700;
        assert_rc(ota_write(&r->ctx, img[id] + off, k), OTA_OK);
        off += k;
    }
    assert_rc(ota_end(&r->ctx), OTA_OK);
    boot_expect(r, id, OTA_STATE_TESTING);
    assert_rc(ota_confirm(&r->ctx), OTA_OK);
    boot_expect(r, id, OTA_STATE_CONFIRMED);
    no_violations(r);
}

static void test_resume_auto(void **state)
{
    rig_t *r = *state;
    uint32_t written = 0, off = OTA_RESUME_AUTO, size = 0, sec = slot_sector_size(r, 1, 0), start, ssz;
    unsigned upd;
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    upd = 1 - ota_running_slot(&r->ctx);
    assert_rc(ota_begin(&r->ctx, (uint32_t)img_len[IMG_V2]), OTA_OK);
    while (written < 2 * sec + sec / 2) {
        assert_rc(ota_write(&r->ctx, img[IMG_V2] + written, 700), OTA_OK);
        written += 700;
    }
    /* Reset mid-download: the old image runs, the download can be resumed. */
    boot_expect(r, IMG_V1, OTA_STATE_DOWNLOADING);
    assert_rc(ota_resume(&r->ctx, &off, &size), OTA_OK);
    assert_int_equal(size, img_len[IMG_V2]);
    assert_true(off <= written);
    assert_true(off > 0); /* two whole sectors were done: no restart from zero */
    assert_rc(ota_flash_sector(&r->flash, r->l->slot[upd].off + off, &start, &ssz), OTA_OK);
    assert_int_equal(start, r->l->slot[upd].off + off);
    finish_resumed(r, IMG_V2, off);
}

/* Writes exactly n bytes of v2, resets. */
static void partial_then_reset(rig_t *r, uint32_t n)
{
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    assert_rc(ota_begin(&r->ctx, (uint32_t)img_len[IMG_V2]), OTA_OK);
    assert_rc(ota_write(&r->ctx, img[IMG_V2], n), OTA_OK);
    boot_expect(r, IMG_V1, OTA_STATE_DOWNLOADING);
}

static void test_resume_mid_sector(void **state)
{
    rig_t *r = *state;
    uint32_t sec = slot_sector_size(r, 1, 0);
    uint32_t n = sec + sec / 4, off;
    n -= n % r->par->ws;
    off = n;
    partial_then_reset(r, n);
    assert_rc(ota_resume(&r->ctx, &off, NULL), OTA_OK);
    assert_int_equal(off, n); /* the rest of that sector is erased: kept */
    finish_resumed(r, IMG_V2, off);
}

static void test_resume_beyond_written(void **state)
{
    rig_t *r = *state;
    uint32_t sec = slot_sector_size(r, 1, 0);
    uint32_t n = sec + sec / 4, off;
    n -= n % r->par->ws;
    /* Claims more than was written, still inside the same sector (e.g. a downloader that counted
     * a chunk as done before the reset cut its ota_write short). */
    off = n + sec / 2;
    partial_then_reset(r, n);
    assert_rc(ota_resume(&r->ctx, &off, NULL), OTA_OK);
    if (off != sec) {
        /* Show what a downloader that trusts the returned offset gets: the gap [n, off) stays
         * erased and the update fails verification (safe, but the download is lost). */
        uint32_t o = off;
        int rc = OTA_OK;
        while (rc == OTA_OK && o < img_len[IMG_V2]) {
            uint32_t k = img_len[IMG_V2] - o < 700 ? (uint32_t)(img_len[IMG_V2] - o) : 700;
            rc = ota_write(&r->ctx, img[IMG_V2] + o, k);
            o += k;
        }
        if (rc == OTA_OK)
            rc = ota_end(&r->ctx);
        fail_msg("resume(%u) after writing %u bytes returned %u, expected the sector start %u "
                 "(continuing from %u: ota_end() -> %s)",
                 n + sec / 2, n, off, sec, off, ota_errname(rc));
    }
    finish_resumed(r, IMG_V2, off);
}

static void test_resume_lower_offsets(void **state)
{
    rig_t *r = *state;
    uint32_t sec = slot_sector_size(r, 1, 0);
    uint32_t n = 2 * sec + sec / 2, off;
    n -= n % r->par->ws;
    partial_then_reset(r, n);
    /* An offset inside a sector already fully written is lowered to that sector's start. */
    off = sec + sec / 2 + 1;
    assert_rc(ota_resume(&r->ctx, &off, NULL), OTA_OK);
    assert_int_equal(off, sec);
    /* 0 restarts. */
    off = 0;
    assert_rc(ota_resume(&r->ctx, &off, NULL), OTA_OK);
    assert_int_equal(off, 0);
    off = sec;
    assert_rc(ota_resume(&r->ctx, &off, NULL), OTA_OK);
    assert_int_equal(off, sec);
    finish_resumed(r, IMG_V2, off);
}

static void test_resume_nothing(void **state)
{
    rig_t *r = *state;
    uint32_t off = OTA_RESUME_AUTO;
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    assert_rc(ota_resume(&r->ctx, &off, NULL), OTA_ERR_STATE);
    assert_rc(ota_write(&r->ctx, img[IMG_V2], 10), OTA_ERR_STATE);
    /* Nor once the image is complete and pending. */
    assert_rc(download(r, IMG_V2, 700), OTA_OK);
    off = OTA_RESUME_AUTO;
    assert_rc(ota_resume(&r->ctx, &off, NULL), OTA_ERR_STATE);
    assert_state(r->ctx.rec.state, OTA_STATE_NEW);
    /* Nor after an abort. */
    assert_rc(ota_begin(&r->ctx, (uint32_t)img_len[IMG_V5]), OTA_OK);
    assert_rc(ota_abort(&r->ctx), OTA_OK);
    boot_expect(r, IMG_V1, OTA_STATE_NONE);
    off = OTA_RESUME_AUTO;
    assert_rc(ota_resume(&r->ctx, &off, NULL), OTA_ERR_STATE);
}

/* ------------------------------------------------------------------------------------------ */
/* 9. Layouts                                                                                 */

static int nop_read(void *c, uint32_t a, void *b, uint32_t n)
{
    (void)c, (void)a, (void)b, (void)n;
    return 0;
}
static int nop_write(void *c, uint32_t a, const void *b, uint32_t n)
{
    (void)c, (void)a, (void)b, (void)n;
    return 0;
}
static int nop_erase(void *c, uint32_t a)
{
    (void)c, (void)a;
    return 0;
}
static const ota_flash_ops_t nop_ops = {nop_read, nop_write, nop_erase};

static void preset_flash(const ota_preset_t *p, ota_flash_t *f)
{
    memset(f, 0, sizeof *f);
    f->ops = &nop_ops;
    f->size = p->flash_size;
    f->write_size = 8;
    f->erased_val = 0xff;
    f->n_runs = p->n_runs;
    f->runs = p->runs;
}

static void test_layout_presets(void **state)
{
    unsigned n, i;
    const ota_preset_t *ps = ota_presets(&n);
    (void)state;
    assert_true(n >= 5);
    for (i = 0; i < n; i++) {
        ota_flash_t f;
        preset_flash(&ps[i], &f);
        if (ota_layout_check(&ps[i].layout, &f) != OTA_OK)
            fail_msg("preset %s fails its own layout check", ps[i].name);
        assert_ptr_equal(ota_preset_find(ps[i].name), &ps[i]);
    }
    assert_null(ota_preset_find("no-such-chip"));
}

static void expect_bad_layout(const char *preset, void (*mutate)(ota_layout_t *))
{
    const ota_preset_t *p = ota_preset_find(preset);
    ota_layout_t l;
    ota_flash_t f;
    assert_non_null(p);
    preset_flash(p, &f);
    l = p->layout;
    assert_rc(ota_layout_check(&l, &f), OTA_OK);
    mutate(&l);
    assert_rc(ota_layout_check(&l, &f), OTA_ERR_LAYOUT);
}

static void mut_overlap(ota_layout_t *l)
{
    l->slot[1].off = l->slot[0].off + l->slot[0].size - 4096; /* last sector shared */
}
static void mut_overlap_state(ota_layout_t *l)
{
    l->state.off = l->slot[1].off; /* state area inside slot 1 */
}
static void mut_misaligned(ota_layout_t *l)
{
    l->slot[1].off += 512;
}
static void mut_misaligned_size(ota_layout_t *l)
{
    l->slot[0].size -= 512;
    l->slot[1].size -= 512;
}
static void mut_one_sector_state(ota_layout_t *l)
{
    l->state.size = 4096;
}
static void mut_one_sector_state_f4(ota_layout_t *l)
{
    l->state.size = 16 * 1024;
}
static void mut_small_scratch_f4(ota_layout_t *l)
{
    /* A 16K scratch in a 16K sector (boot shrunk to make room): slots have 128K sectors. */
    l->boot.size = 16 * 1024;
    l->scratch.off = 16 * 1024;
    l->scratch.size = 16 * 1024;
}
static void mut_no_scratch(ota_layout_t *l)
{
    l->scratch.size = 0;
}
static void mut_ab_sizes(ota_layout_t *l)
{
    l->slot[1].size -= 4096;
}
static void mut_swap_geometry_f4(ota_layout_t *l)
{
    /* Slots of the same size but other sector sizes: slot 0 on 4x16K + 64K, slot 1 on one 128K. */
    l->boot.size = 0;
    l->slot[0].off = 0;
    l->slot[0].size = 128 * 1024;
    l->slot[1].off = 128 * 1024;
    l->slot[1].size = 128 * 1024;
    l->state.off = 256 * 1024;
    l->state.size = 256 * 1024;
}

static void mut_swap_geometry_f4_ok(ota_layout_t *l)
{
    /* The control for the one above: the same map with slots of equal geometry passes. */
    l->boot.size = 0;
    l->slot[0].off = 128 * 1024;
    l->slot[0].size = 128 * 1024;
    l->slot[1].off = 256 * 1024;
    l->slot[1].size = 128 * 1024;
    l->state.off = 0;
    l->state.size = 32 * 1024;
}

static void test_layout_rejects(void **state)
{
    (void)state;
    expect_bad_layout("esp8266-512k", mut_overlap);
    expect_bad_layout("swap-256k", mut_overlap);
    expect_bad_layout("esp8266-512k", mut_overlap_state);
    expect_bad_layout("esp8266-512k", mut_misaligned);
    expect_bad_layout("swap-256k", mut_misaligned);
    expect_bad_layout("dualbank-1m", mut_misaligned_size);
    expect_bad_layout("esp8266-512k", mut_one_sector_state);
    expect_bad_layout("swap-256k", mut_one_sector_state);
    expect_bad_layout("stm32f4-1m", mut_one_sector_state_f4);
    expect_bad_layout("stm32f4-1m", mut_small_scratch_f4);
    expect_bad_layout("swap-256k", mut_no_scratch);
    expect_bad_layout("esp8266-512k", mut_ab_sizes);
    expect_bad_layout("dualbank-1m", mut_ab_sizes);
    expect_bad_layout("stm32f4-1m", mut_swap_geometry_f4);
    {
        const ota_preset_t *p = ota_preset_find("stm32f4-1m");
        ota_layout_t l = p->layout;
        ota_flash_t f;
        preset_flash(p, &f);
        mut_swap_geometry_f4_ok(&l);
        assert_rc(ota_layout_check(&l, &f), OTA_OK);
    }
}

/* ota_init refuses a bad layout too, before touching the flash. */
static void test_layout_init_refuses(void **state)
{
    rig_t *r = *state;
    ota_layout_t l = *r->l;
    ota_config_t c = r->cfg;
    uint64_t ops = flash_ops(r);
    uint32_t start, size;
    assert_rc(ota_flash_sector(&r->flash, l.state.off, &start, &size), OTA_OK);
    l.state.size = size; /* one sector */
    c.layout = &l;
    assert_rc(ota_init(&r->ctx, &c), OTA_ERR_LAYOUT);
    assert_int_equal(flash_ops(r), ops);
}

/* ------------------------------------------------------------------------------------------ */

static const param_t ab_esp = {"esp8266-512k", 1, 0xff};
static const param_t ab_dual = {"dualbank-1m", 16, 0x00};
static const param_t sw_256 = {"swap-256k", 8, 0xff};
static const param_t sw_f4 = {"stm32f4-1m", 4, 0x00};
static const param_t sw_256_00 = {"swap-256k", 16, 0x00};
static const param_t ab_esp1m = {"esp8266-1m", 8, 0xff};

static const param_t *const all_p[] = {&ab_esp, &ab_dual, &sw_256, &sw_f4};
static const param_t *const ab_p[] = {&ab_esp, &ab_dual};
/* Resume needs images spanning several sectors. */
static const param_t *const resume_p[] = {&ab_esp, &ab_dual, &sw_256, &sw_256_00};

#define MAX_TESTS 256
static struct CMUnitTest tests[MAX_TESTS];
static char names[MAX_TESTS][96];
static unsigned n_tests;

static void add(const char *name, CMUnitTestFunction fn, const param_t *p, int with_rig)
{
    struct CMUnitTest *t;
    if (n_tests == MAX_TESTS)
        abort();
    t = &tests[n_tests];
    if (p)
        snprintf(names[n_tests], sizeof names[n_tests], "%s %s ws=%u erased=%02x", name, p->preset, p->ws, p->erased);
    else
        snprintf(names[n_tests], sizeof names[n_tests], "%s", name);
    t->name = names[n_tests];
    t->test_func = fn;
    t->setup_func = with_rig ? rig_setup : NULL;
    t->teardown_func = with_rig ? rig_teardown : NULL;
    t->initial_state = (void *)(uintptr_t)p;
    n_tests++;
}

#define ADD_EACH(list, fn)                                                                          \
    do {                                                                                            \
        unsigned k_;                                                                                \
        for (k_ = 0; k_ < sizeof(list) / sizeof(list)[0]; k_++)                                     \
            add(#fn, fn, (list)[k_], 1);                                                            \
    } while (0)

/* test_ota_core [--filter PATTERN] [--skip PATTERN]: cmocka name patterns ('*' and '?'). */
int main(int argc, char **argv)
{
    static const char *const chunk_presets[] = {"esp8266-512k", "dualbank-1m", "swap-256k", "stm32f4-1m"};
    static const uint32_t wss[] = {1, 8, 16};
    static const uint8_t ervs[] = {0xff, 0x00};
    static param_t chunk_p[4 * 3 * 2];
    unsigned i, j, k, n = 0;

    ADD_EACH(all_p, test_refuse_unsigned);
    ADD_EACH(all_p, test_refuse_other_key);
    ADD_EACH(all_p, test_refuse_flipped_byte);
    ADD_EACH(all_p, test_refuse_downgrade);
    ADD_EACH(all_p, test_refuse_other_product);
    ADD_EACH(all_p, test_refuse_hw_rev);
    ADD_EACH(all_p, test_refuse_no_product);
    ADD_EACH(all_p, test_refuse_incomplete);
    ADD_EACH(all_p, test_refuse_overflow);
    ADD_EACH(all_p, test_refuse_no_fit);

    for (i = 0; i < 4; i++)
        for (j = 0; j < 3; j++)
            for (k = 0; k < 2; k++) {
                chunk_p[n].preset = chunk_presets[i];
                chunk_p[n].ws = wss[j];
                chunk_p[n].erased = ervs[k];
                add("test_chunk_sizes", test_chunk_sizes, &chunk_p[n], 1);
                n++;
            }

    ADD_EACH(all_p, test_flow_confirm);
    add("test_flow_confirm", test_flow_confirm, &ab_esp1m, 1);
    ADD_EACH(all_p, test_flow_never_confirmed);
    ADD_EACH(all_p, test_flow_explicit_rollback);
    ADD_EACH(all_p, test_flow_max_test_boots);
    ADD_EACH(all_p, test_flow_max_test_boots_confirm_late);

    ADD_EACH(all_p, test_state_begin_while_testing);
    ADD_EACH(all_p, test_state_confirm_rollback_while_none);
    ADD_EACH(all_p, test_state_abort);
    ADD_EACH(all_p, test_state_write_end_without_begin);
    ADD_EACH(all_p, test_state_begin_cancels_pending);

    ADD_EACH(ab_p, test_select_bank);

    ADD_EACH(all_p, test_bad_running_image);
    ADD_EACH(all_p, test_bad_image_nothing_else);
    ADD_EACH(all_p, test_empty_flash);
    ADD_EACH(all_p, test_bad_pending_image);
    ADD_EACH(all_p, test_boot_check_signature);

    ADD_EACH(all_p, test_journal_many_saves);
    ADD_EACH(all_p, test_journal_torn_entry);

    ADD_EACH(resume_p, test_resume_auto);
    ADD_EACH(resume_p, test_resume_mid_sector);
    ADD_EACH(resume_p, test_resume_beyond_written);
    ADD_EACH(resume_p, test_resume_lower_offsets);
    ADD_EACH(all_p, test_resume_nothing);

    add("test_layout_presets", test_layout_presets, NULL, 0);
    add("test_layout_rejects", test_layout_rejects, NULL, 0);
    ADD_EACH(all_p, test_layout_init_refuses);

    for (i = 1; i + 1 < (unsigned)argc; i += 2) {
        if (strcmp(argv[i], "--filter") == 0)
            cmocka_set_test_filter(argv[i + 1]);
        else if (strcmp(argv[i], "--skip") == 0)
            cmocka_set_skip_filter(argv[i + 1]);
    }
    return _cmocka_run_group_tests("ota_core", tests, n_tests, group_setup, group_teardown);
}
