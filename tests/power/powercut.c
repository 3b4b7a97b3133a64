/*
 * Power-cut harness: runs whole update scenarios on the simulated flash and cuts power before
 * every single flash operation (or tears it), then reboots and lets the device carry on as real
 * firmware would. After every boot the running slot must hold a whole, valid, signed image (the
 * old one or the new one, byte for byte, never a mix) and the run must end in the expected state.
 *
 *   powercut [--layout NAME|all] [--ws LIST] [--erased LIST] [--scenario NAME|all] [--mode cut|torn|both]
 *            [--stride N] [--second-cuts] [--seed S] [--encrypt] [-v]
 *
 * Scenarios: confirm  (update -> test boot -> confirm),
 *            rollback (update -> test boot -> never confirms -> rolled back),
 *            resume   (update whose download stops halfway and resumes after a reboot -> confirm),
 *            delta    (update rebuilt from a signed delta patch against the running image, resumed
 *                      after every cut from the applier's last checkpoint -> confirm),
 *            mqtt     (update pushed as Mongoose's ota.update requests, otakit/mqtt_ota.h: after every
 *                      cut the device's RAM is gone, ota.status reports the journal's checkpoint,
 *                      which must never claim a byte the update slot does not hold, and the push
 *                      continues there -> confirm).
 * --encrypt: both images are encrypted (ENC_EC256, otakit/enc.h) and the device's key comes from
 * the platform's enc_private_key: the download stays ciphertext in the update slot, the swap
 * decrypts into slot 0 and re-encrypts what leaves it, an A/B layout decrypts the new image in its
 * slot through a scratch sector (esp8266-512k gets its reserved 4K sector as one). The running slot
 * must then hold one image's plaintext whole, and the update slot, once the run settles, the other
 * image's ciphertext (swap) or its own plaintext (A/B). Delta patches are of plaintext images, so
 * --encrypt leaves the delta scenario out.
 * Prints how many cut points it exercised and the number of bricks (must be 0).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/encrypt.h"
#include "otakit/flash_sim.h"
#include "otakit/delta.h"
#include "otakit/delta_make.h"
#include "otakit/keys.h"
#include "otakit/mqtt_ota.h"
#include "otakit/ota.h"
#include "otakit/presets.h"
#include "otakit/sign.h"

#define MAX_BOOTS 40

enum scenario { SC_CONFIRM, SC_ROLLBACK, SC_RESUME, SC_DELTA, SC_MQTT, SC_COUNT };
static const char *const scenario_names[SC_COUNT] = {"confirm", "rollback", "resume", "delta", "mqtt"};

static int verbose;
static int encrypt_mode;
static uint8_t dev_priv[32]; /* the device's decryption key, handed over by the platform */

static int give_key(void *ctx, uint8_t out[32])
{
    memcpy(out, ctx, 32);
    return 0;
}
static const ota_platform_ops_t enc_platform = {.ctx = dev_priv, .enc_private_key = give_key};

/* Everything about one configuration: flash, layout, the two images. */
struct setup {
    const ota_preset_t *preset;
    ota_preset_t own;  /* the preset, with a scratch sector added for an encrypted A/B run */
    uint8_t *enc[2];   /* --encrypt: the images as signed and encrypted (img[] holds their plaintext) */
    ota_flash_sim_t *sim;
    ota_flash_t flash;
    ota_pubkey_t key;
    uint8_t key_der[OTA_P256_SPKI_LEN];
    uint8_t *img[2]; /* 0: old (v1, installed at the factory), 1: new (v2); as they run */
    size_t img_len[2];
    uint8_t *factory; /* flash contents after provisioning */
    uint8_t *patch;   /* the signed delta patch from img[0] to img[1] */
    size_t patch_len;
    uint32_t first_sector; /* size of slot 0's first sector */
};

/* Outcome of one device life (from power-on to a final state). */
struct life {
    int cuts;             /* power cuts that happened */
    int cuts_in_window;   /* cuts while the new image was on trial */
    int boots;
    int final_version;    /* 1 or 2 */
    unsigned final_slot;  /* the slot it runs from */
    int final_state;
    uint32_t resumed_at;  /* resume offset the last resume used (resume scenario) */
    ota_delta_ckpt_t ck;  /* delta: the checkpoint the device persisted (its settings) */
    int has_ck;
    char why[200];        /* non-empty: the device bricked or broke an invariant */
};

static void fail(struct life *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct life *l, const char *fmt, ...)
{
    va_list ap;
    if (l->why[0])
        return;
    va_start(ap, fmt);
    vsnprintf(l->why, sizeof l->why, fmt, ap);
    va_end(ap);
}

/* The running slot must hold exactly the old or the new image. Returns its version (1/2) or 0. */
static int check_slot(struct setup *s, unsigned slot, struct life *l)
{
    const ota_area_t *a = &s->preset->layout.slot[slot];
    const uint8_t *mem = ota_flash_sim_data(s->sim) + a->off;
    int v;
    for (v = 0; v < 2; v++)
        if (memcmp(mem, s->img[v], s->img_len[v]) == 0)
            return v + 1;
    fail(l, "slot %u holds neither image whole (torn or mixed image booted)", slot);
    return 0;
}

/* Writes the new image as a downloader would: odd-sized chunks. stop_at: bytes after which the
 * "connection drops" (returns 1, the device then reboots), or 0 to write everything. */
static int download(ota_ctx_t *ctx, struct setup *s, uint32_t from, uint32_t stop_at)
{
    const uint32_t chunk = 700;
    const uint8_t *dl = encrypt_mode ? s->enc[1] : s->img[1]; /* what the server sends */
    uint32_t off = from;
    while (off < s->img_len[1]) {
        uint32_t n = (uint32_t)s->img_len[1] - off < chunk ? (uint32_t)s->img_len[1] - off : chunk;
        int rc = ota_write(ctx, dl + off, n);
        if (rc != OTA_OK)
            return rc;
        off += n;
        if (stop_at && off >= stop_at && off < s->img_len[1])
            return 1;
    }
    return ota_end(ctx);
}

static void save_ckpt(void *arg, const ota_delta_ckpt_t *c)
{
    struct life *l = (struct life *)arg;
    l->ck = *c;
    l->has_ck = 1;
}

/* The delta scenario's download: the patch applied against the running image, continuing from the
 * persisted checkpoint after a reset. Returns OTA_OK (pending) or an error. */
static int apply_patch(ota_ctx_t *ctx, struct setup *s, struct life *l)
{
    static ota_delta_t d;
    ota_delta_hdr_t h;
    uint32_t off;
    int rc;
    if ((rc = ota_delta_hdr_parse(s->patch, (uint32_t)s->patch_len, &h)) != OTA_OK ||
        (rc = ota_delta_hdr_verify(s->patch, ctx->cfg.keys, ctx->cfg.n_keys)) != OTA_OK)
        return rc;
    d.checkpoint = save_ckpt;
    d.checkpoint_arg = l;
    if ((rc = ota_delta_start(&d, ctx, &h, l->has_ck ? &l->ck : NULL, &off)) != OTA_OK)
        return rc;
    if (d.skip_to > 0)
        l->resumed_at = d.skip_to; /* the writer went on where flash was good, decoding from a checkpoint */
    while (off < s->patch_len) {
        uint32_t n = (uint32_t)s->patch_len - off < 333 ? (uint32_t)s->patch_len - off : 333;
        if ((rc = ota_delta_feed(&d, s->patch + off, n)) != OTA_OK)
            return rc;
        off += n;
    }
    return ota_delta_finish(&d);
}

/* Base64 of n bytes (RFC 4648, padded) into out, NUL-terminated. */
static void b64(const uint8_t *d, uint32_t n, char *out)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t i;
    for (i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
        *out++ = al[v >> 18];
        *out++ = al[v >> 12 & 63];
        *out++ = i + 1 < n ? al[v >> 6 & 63] : '=';
        *out++ = i + 2 < n ? al[v & 63] : '=';
    }
    *out = 0;
}

/* The mqtt scenario's download, one power-on of it: a fresh ota_mqtt_ota_t (RAM does not survive a
 * reset), ota.status, then ota.update requests from the offset it reports to the empty chunk that
 * ends the transfer. Whatever offset is reported, the update slot must hold the image's bytes up
 * to it. Returns OTA_OK (pending), the request's error, or OTA_ERR_STATE on a broken invariant. */
static int mqtt_push(ota_ctx_t *ctx, struct setup *s, struct life *l)
{
    static char req[2048], chunk[1024];
    char ans[OTA_MQTT_ANSWER_MAX];
    const uint8_t *dl = encrypt_mode ? s->enc[1] : s->img[1];
    const uint32_t len = (uint32_t)s->img_len[1];
    ota_mqtt_ota_t m;
    size_t an;
    uint8_t pending;
    uint32_t off;
    int n, rc;
    ota_mqtt_ota_init(&m, ctx);
    n = snprintf(req, sizeof req, "{\"id\":1,\"method\":\"ota.status\"}");
    if ((rc = ota_mqtt_ota_request(&m, (const uint8_t *)req, (size_t)n, ans, sizeof ans, &an, &pending)) != OTA_OK)
        return rc;
    off = m.active && m.total == len ? m.next : 0; /* what the answer says, as otakit push reads it */
    if (off) {
        const uint8_t *slot = ota_flash_sim_data(s->sim) + s->preset->layout.slot[ctx->w_slot].off;
        if (off > len || memcmp(slot, dl, off) != 0) {
            fail(l, "ota.status reports offset %u, but the update slot does not hold those bytes", off);
            return OTA_ERR_STATE;
        }
        l->resumed_at = off;
    }
    for (;;) {
        uint32_t k = len - off < 700 ? len - off : 700;
        b64(dl + off, k, chunk);
        n = snprintf(req, sizeof req,
                     "{\"id\":2,\"method\":\"ota.update\",\"params\":{\"offset\":%u,\"total\":%u,\"chunk\":\"%s\"}}",
                     off, len, chunk);
        rc = ota_mqtt_ota_request(&m, (const uint8_t *)req, (size_t)n, ans, sizeof ans, &an, &pending);
        if (rc != OTA_OK)
            return rc;
        if (!k)
            return pending ? OTA_OK : OTA_ERR_STATE;
        off += k;
    }
}

/* One device life. Returns when the device reaches its final state or breaks. */
static void live(struct setup *s, enum scenario sc, struct life *l, uint32_t second_cut_seed)
{
    ota_config_t cfg;
    ota_ctx_t ctx;
    ota_boot_result_t res;
    int dropped = 0, rc;
    uint32_t rng = second_cut_seed;

    memset(&cfg, 0, sizeof cfg);
    cfg.flash = &s->flash;
    cfg.layout = &s->preset->layout;
    cfg.keys = &s->key;
    cfg.n_keys = 1;
    cfg.product = "powercut";
    cfg.max_test_boots = 1;
    cfg.platform = encrypt_mode ? &enc_platform : NULL;
    cfg.enc = encrypt_mode ? &ota_enc_ecies_p256 : NULL;

    for (l->boots = 0; l->boots < MAX_BOOTS; l->boots++) {
        int on_trial;
        if (ota_flash_sim_is_dead(s->sim)) {
            /* Power comes back. Maybe arm a second cut during the recovery that follows. */
            l->cuts++;
            ota_flash_sim_power_on(s->sim);
            if (second_cut_seed && l->cuts == 1) {
                rng = rng * 1103515245u + 12345u;
                ota_flash_sim_reset_counters(s->sim);
                ota_flash_sim_cut_at(s->sim, 1 + (rng >> 16) % 64, (rng & 1) ? OTA_SIM_CUT_TORN : OTA_SIM_CUT_BEFORE,
                                     rng);
            }
        }
        /* --- bootloader --- */
        if ((rc = ota_init(&ctx, &cfg)) != OTA_OK || (rc = ota_boot(&ctx, &res)) != OTA_OK) {
            if (ota_flash_sim_is_dead(s->sim)) {
                if (ctx.rec.state == OTA_STATE_TESTING)
                    l->cuts_in_window++;
                continue;
            }
            fail(l, "BRICK: boot failed: %s", ota_strerror(rc));
            return;
        }
        l->final_version = check_slot(s, res.slot, l);
        l->final_slot = res.slot;
        if (!l->final_version)
            return;
        l->final_state = ctx.rec.state;
        if (verbose > 1)
            printf("    boot %d: slot %u v%d state %s\n", l->boots, res.slot, l->final_version,
                   ota_state_name(ctx.rec.state));

        /* --- firmware --- */
        on_trial = ctx.rec.state == OTA_STATE_TESTING;
        if (l->final_version == 2) {
            if (sc == SC_ROLLBACK) {
                if (!on_trial) {
                    fail(l, "new image runs in state %s in the rollback scenario", ota_state_name(ctx.rec.state));
                    return;
                }
                continue; /* it crashes (or hangs) before confirming: reset */
            }
            if (!on_trial) {
                if (ctx.rec.state != OTA_STATE_CONFIRMED)
                    fail(l, "new image runs in state %s", ota_state_name(ctx.rec.state));
                return;
            }
            if ((rc = ota_confirm(&ctx)) == OTA_OK) {
                l->final_state = ctx.rec.state;
                return;
            }
            if (ota_flash_sim_is_dead(s->sim)) {
                l->cuts_in_window++;
                continue;
            }
            fail(l, "confirm failed: %s", ota_strerror(rc));
            return;
        }
        /* Old image runs. */
        if (ctx.rec.state == OTA_STATE_FAILED)
            return; /* the update was tried and rolled back: final */
        if (ctx.rec.state == OTA_STATE_NEW)
            continue; /* a verified update waits: reboot into it */
        if (ctx.rec.state == OTA_STATE_CONFIRMED || ctx.rec.state == OTA_STATE_TESTING) {
            fail(l, "old image runs in state %s", ota_state_name(ctx.rec.state));
            return;
        }
        if (sc == SC_DELTA) {
            rc = apply_patch(&ctx, s, l);
        } else if (sc == SC_MQTT) {
            rc = mqtt_push(&ctx, s, l);
            if (l->why[0])
                return;
        } else if (ctx.rec.state == OTA_STATE_DOWNLOADING) {
            uint32_t off = OTA_RESUME_AUTO;
            rc = ota_resume(&ctx, &off, NULL);
            if (rc == OTA_OK) {
                l->resumed_at = off;
                rc = download(&ctx, s, off, 0);
            }
        } else {
            rc = ota_begin(&ctx, (uint32_t)s->img_len[1]);
            if (rc == OTA_OK)
                rc = download(&ctx, s, 0, (sc == SC_RESUME && !dropped) ? (uint32_t)s->img_len[1] / 2 : 0);
            if (rc == 1) {
                dropped = 1;
                continue; /* connection lost, device reboots */
            }
        }
        if (rc == OTA_OK)
            continue; /* image pending: reboot */
        if (ota_flash_sim_is_dead(s->sim))
            continue;
        fail(l, "update failed without a power cut: %s", ota_strerror(rc));
        return;
    }
    fail(l, "device did not settle after %d boots", MAX_BOOTS);
}

/* --encrypt: once settled, the other slot holds the other image: as ciphertext in a swap layout's
 * update slot (the one that left slot 0 was re-encrypted with its own key), as plaintext in an
 * A/B layout (each decrypted in its own slot). */
static void check_other_slot(struct setup *s, struct life *l)
{
    const ota_layout_t *lay = &s->preset->layout;
    int other = l->final_version == 2 ? 0 : 1;
    unsigned slot = lay->strategy == OTA_STRATEGY_SWAP ? 1 : 1 - l->final_slot;
    const uint8_t *want = lay->strategy == OTA_STRATEGY_SWAP ? s->enc[other] : s->img[other];
    if (!encrypt_mode || l->why[0] || !l->final_version)
        return;
    if (memcmp(ota_flash_sim_data(s->sim) + lay->slot[slot].off, want, s->img_len[other]) != 0)
        fail(l, "slot %u does not hold v%d %s", slot, other + 1,
             lay->strategy == OTA_STRATEGY_SWAP ? "encrypted" : "decrypted");
}

/* Is the outcome of a life what the scenario expects, given the cuts it suffered? */
static void judge(enum scenario sc, struct life *l, const ota_flash_sim_stats_t *st)
{
    if (l->why[0])
        return;
    if (st->violations)
        fail(l, "%llu flash rule violations (programming unerased bytes, misaligned access)",
             (unsigned long long)st->violations);
    else if (sc == SC_ROLLBACK && !(l->final_version == 1 && l->final_state == OTA_STATE_FAILED))
        fail(l, "ended with v%d in state %s, expected v1 rolled back", l->final_version,
             ota_state_name(l->final_state));
    else if (sc != SC_ROLLBACK && !(l->final_version == 2 && l->final_state == OTA_STATE_CONFIRMED) &&
             !(l->cuts_in_window && l->final_version == 1 && l->final_state == OTA_STATE_FAILED))
        /* A cut inside the commit window legitimately rolls the update back; nothing else may. */
        fail(l, "ended with v%d in state %s, expected v2 confirmed", l->final_version,
             ota_state_name(l->final_state));
}

static uint8_t *make_payload(size_t n, uint32_t seed)
{
    uint8_t *p = malloc(n);
    size_t i;
    for (i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (uint8_t)(seed >> 24);
    }
    return p;
}

/* Builds flash, keys, images and the factory state for one configuration. */
static int setup_init(struct setup *s, const ota_preset_t *p, uint32_t ws, uint8_t erased, ota_key_t *key,
                      ota_key_t *dev_key)
{
    ota_flash_sim_cfg_t sc;
    ota_sign_opts_t o;
    uint32_t sector, start, big;
    size_t n[2];
    int v;

    memset(s, 0, sizeof *s);
    s->own = *p;
    if (encrypt_mode && p->layout.strategy == OTA_STRATEGY_AB && !p->layout.scratch.size) {
        if (strcmp(p->name, "esp8266-512k") != 0)
            return -1;
        s->own.layout.scratch.off = 256 * 1024; /* the reserved sector between user params and user2 */
        s->own.layout.scratch.size = 4096;
    }
    s->preset = p = &s->own;
    ota_flash_sim_cfg_preset(&sc, p, ws, erased);
    if (ota_flash_sim_open(&sc, &s->sim) != OTA_OK)
        return -1;
    ota_flash_sim_bind(s->sim, &s->flash);

    /* Images spanning a few sectors (and not sector-aligned), the new one larger than the old. */
    ota_flash_sector(&s->flash, p->layout.slot[0].off, &start, &sector);
    s->first_sector = sector;
    big = sector < 16384 ? 3 * sector + 1234 : 20000;
    n[0] = big - 2000;
    n[1] = big + 777;
    ota_key_public_der(key, s->key_der);
    s->key.der = s->key_der;
    s->key.len = sizeof s->key_der;
    for (v = 0; v < 2; v++) {
        /* The new payload is the old one with a few bytes changed and more at the end: what a delta
         * patch is for. */
        uint8_t *pl = make_payload(n[v], 7919u);
        size_t i;
        for (i = 0; v && i < n[v]; i += 211)
            pl[i] ^= 0x5a;
        ota_sign_opts_init(&o);
        o.version.major = (uint8_t)(v + 1);
        o.has_security_counter = 1;
        o.security_counter = (uint32_t)v + 1;
        o.product = "powercut";
        if (encrypt_mode) {
            ota_mem_src_t m;
            ota_enc_key_t k;
            if (ota_sign_image_encrypted(&o, key, dev_key, v ? 32 : 16, pl, n[v], &s->enc[v], &s->img_len[v]) !=
                OTA_OK) {
                free(pl);
                return -1;
            }
            /* The plaintext twin: what runs once the device decrypted it. */
            m.p = s->enc[v];
            m.len = (uint32_t)s->img_len[v];
            s->img[v] = malloc(s->img_len[v]);
            memcpy(s->img[v], s->enc[v], s->img_len[v]);
            if (ota_enc_load(ota_mem_read, &m, m.len, dev_priv, &k) != OTA_OK ||
                ota_enc_apply(&k, 0, s->img[v], m.len) != OTA_OK) {
                free(pl);
                return -1;
            }
        } else if (ota_sign_image(&o, key, pl, n[v], &s->img[v], &s->img_len[v]) != OTA_OK) {
            free(pl);
            return -1;
        }
        free(pl);
    }
    {
        ota_delta_params_t dp;
        ota_delta_params_init(&dp);
        if (ota_delta_make(s->img[0], s->img_len[0], s->img[1], s->img_len[1], &dp, key, &s->patch, &s->patch_len,
                           NULL) != OTA_OK)
            return -1;
    }
    /* Factory: the old image programmed into slot 0, boot state empty. */
    memcpy(ota_flash_sim_data(s->sim) + p->layout.slot[0].off, s->img[0], s->img_len[0]);
    s->factory = malloc(p->flash_size);
    memcpy(s->factory, ota_flash_sim_data(s->sim), p->flash_size);
    return 0;
}

static void setup_free(struct setup *s)
{
    ota_flash_sim_close(s->sim);
    free(s->img[0]);
    free(s->img[1]);
    free(s->enc[0]);
    free(s->enc[1]);
    free(s->factory);
    free(s->patch);
}

static void factory_reset(struct setup *s)
{
    memcpy(ota_flash_sim_data(s->sim), s->factory, s->preset->flash_size);
    ota_flash_sim_power_on(s->sim);
    ota_flash_sim_reset_counters(s->sim);
}

struct totals {
    unsigned long runs, cut_points, bricks, failures, rollbacks_from_cuts, double_cuts;
    unsigned long delta_runs, delta_resumed; /* delta cut runs, and those that resumed mid-patch */
    unsigned long mqtt_runs, mqtt_resumed;   /* mqtt cut runs, and those whose push resumed mid-image */
};

/* All cut points of one scenario in one configuration. */
static void sweep(struct setup *s, enum scenario sc, ota_sim_cut_t mode, unsigned stride, int second,
                  uint32_t seed, struct totals *t, const char *label)
{
    ota_flash_sim_stats_t st;
    struct life l;
    uint64_t ops, k;
    unsigned long points = 0, bad = 0;

    /* The clean run: must succeed, and tells how many flash operations there are to cut. */
    factory_reset(s);
    memset(&l, 0, sizeof l);
    live(s, sc, &l, 0);
    ota_flash_sim_stats(s->sim, &st);
    judge(sc, &l, &st);
    check_other_slot(s, &l);
    if (l.why[0]) {
        printf("FAIL %s %s: clean run: %s\n", label, scenario_names[sc], l.why);
        t->failures++;
        return;
    }
    /* Resume points are sector starts (a torn write may have hit anywhere after one), so a drop
     * beyond the first sector must not restart from zero. */
    if (sc == SC_RESUME && s->img_len[1] / 2 > s->first_sector &&
        !(l.resumed_at > 0 && l.resumed_at < s->img_len[1])) {
        printf("FAIL %s resume: the download restarted from %u instead of resuming\n", label, l.resumed_at);
        t->failures++;
    }
    ops = st.ops;
    for (k = 1; k <= ops; k += stride) {
        factory_reset(s);
        ota_flash_sim_cut_at(s->sim, k, mode, seed ^ (uint32_t)k);
        memset(&l, 0, sizeof l);
        live(s, sc, &l, second ? (seed * 31u + (uint32_t)k) | 1u : 0);
        ota_flash_sim_stats(s->sim, &st);
        judge(sc, &l, &st);
        check_other_slot(s, &l);
        points++;
        if (sc == SC_DELTA) {
            t->delta_runs++;
            t->delta_resumed += l.resumed_at > 0;
        }
        if (sc == SC_MQTT) {
            t->mqtt_runs++;
            t->mqtt_resumed += l.resumed_at > 0;
        }
        if (l.cuts >= 2)
            t->double_cuts++;
        if (l.why[0]) {
            bad++;
            if (strstr(l.why, "BRICK") || strstr(l.why, "neither image"))
                t->bricks++;
            else
                t->failures++;
            if (bad <= 5)
                printf("FAIL %s %s %s cut at op %llu/%llu: %s\n", label, scenario_names[sc],
                       mode == OTA_SIM_CUT_TORN ? "torn" : "cut", (unsigned long long)k, (unsigned long long)ops,
                       l.why);
        } else if (sc != SC_ROLLBACK && l.final_state == OTA_STATE_FAILED) {
            t->rollbacks_from_cuts++;
        }
    }
    t->cut_points += points;
    t->runs++;
    if (verbose)
        printf("  %-28s %-8s %-4s %5llu ops, %5lu cut points, %lu bad\n", label, scenario_names[sc],
               mode == OTA_SIM_CUT_TORN ? "torn" : "cut", (unsigned long long)ops, points, bad);
}

static int in_list(const char *list, const char *item)
{
    size_t n = strlen(item);
    const char *p = list;
    if (!strcmp(list, "all"))
        return 1;
    while ((p = strstr(p, item)) != NULL) {
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == 0))
            return 1;
        p += n;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"layout", 1, 0, 'l'}, {"ws", 1, 0, 'w'},   {"erased", 1, 0, 'e'},
                                         {"scenario", 1, 0, 's'}, {"mode", 1, 0, 'm'}, {"stride", 1, 0, 'S'},
                                         {"second-cuts", 0, 0, '2'}, {"seed", 1, 0, 'r'}, {"help", 0, 0, 'h'},
                                         {"encrypt", 0, 0, 'E'},
                                         {0, 0, 0, 0}};
    const char *layouts = "esp8266-512k,stm32f4-1m,swap-256k", *wss = "1,8,16", *erased = "ff,00",
               *scen = "all", *mode = "both";
    unsigned stride = 1, np, i, w, e, sc, m;
    int second = 0, c;
    uint32_t seed = 1;
    const ota_preset_t *presets = ota_presets(&np);
    static const unsigned wsv[] = {1, 2, 4, 8, 16, 32};
    ota_key_t *key, *dev_key = NULL;
    struct totals t;

    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case 'l': layouts = optarg; break;
        case 'w': wss = optarg; break;
        case 'e': erased = optarg; break;
        case 's': scen = optarg; break;
        case 'm': mode = optarg; break;
        case 'S': stride = (unsigned)atoi(optarg) ? (unsigned)atoi(optarg) : 1; break;
        case '2': second = 1; break;
        case 'r': seed = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'v': verbose++; break;
        case 'E': encrypt_mode = 1; break;
        default:
            printf("usage: %s [--layout L,...|all] [--ws 1,8,16] [--erased ff,00] [--scenario confirm,rollback,resume,delta,mqtt|all]\n"
                   "       [--mode cut|torn|both] [--stride N] [--second-cuts] [--seed S] [--encrypt] [-v]\n",
                   argv[0]);
            return c == 'h' ? 0 : 2;
        }
    }
    if (ota_key_generate(&key) != OTA_OK ||
        (encrypt_mode && (ota_key_generate(&dev_key) != OTA_OK || ota_key_private_scalar(dev_key, dev_priv) != OTA_OK))) {
        fprintf(stderr, "powercut: cannot make a key\n");
        return 1;
    }
    memset(&t, 0, sizeof t);
    for (i = 0; i < np; i++) {
        if (!in_list(layouts, presets[i].name))
            continue;
        for (w = 0; w < sizeof wsv / sizeof wsv[0]; w++) {
            char wsname[8];
            snprintf(wsname, sizeof wsname, "%u", wsv[w]);
            if (!in_list(wss, wsname))
                continue;
            for (e = 0; e < 2; e++) {
                struct setup s;
                char label[64];
                if (!in_list(erased, e ? "00" : "ff"))
                    continue;
                if (setup_init(&s, &presets[i], wsv[w], e ? 0x00 : 0xff, key, dev_key) != 0) {
                    fprintf(stderr, "powercut: setup failed for %s\n", presets[i].name);
                    return 1;
                }
                snprintf(label, sizeof label, "%s%s ws=%u erased=0x%02x", presets[i].name, encrypt_mode ? " enc" : "",
                         wsv[w], e ? 0 : 0xff);
                for (sc = 0; sc < SC_COUNT; sc++) {
                    if (!in_list(scen, scenario_names[sc]) || (encrypt_mode && sc == SC_DELTA))
                        continue;
                    for (m = 1; m <= 2; m++)
                        if (in_list(mode, "both") || in_list(mode, m == 1 ? "cut" : "torn"))
                            sweep(&s, (enum scenario)sc, (ota_sim_cut_t)m, stride, second, seed, &t, label);
                }
                setup_free(&s);
            }
        }
    }
    ota_key_free(key);
    ota_key_free(dev_key);
    printf("powercut: %lu sweeps, %lu cut points (%lu of them with a second cut during recovery), "
           "%lu bricks, %lu other failures\n"
           "          (%lu cuts inside a commit window rolled the update back, as they should)\n",
           t.runs, t.cut_points, t.double_cuts, t.bricks, t.failures, t.rollbacks_from_cuts);
    if (t.delta_runs) {
        printf("          delta: %lu cut runs, %lu of them resumed writing mid-image from a patch checkpoint\n", t.delta_runs,
               t.delta_resumed);
        if (!t.delta_resumed)
            t.failures++; /* a cut mid-patch must resume, not start over */
    }
    if (t.mqtt_runs) {
        printf("          mqtt: %lu cut runs, %lu of them resumed the push at the offset ota.status reported\n",
               t.mqtt_runs, t.mqtt_resumed);
        if (!t.mqtt_resumed)
            t.failures++; /* a cut mid-transfer must resume from flash, not start over */
    }
    printf("%lu passed, %lu failed\n", t.cut_points - t.bricks - t.failures, t.bricks + t.failures);
    return t.bricks || t.failures || !t.cut_points ? 1 : 0;
}
