/* ota_init, slot verification, confirm and rollback (see otakit/ota.h). */
#include <string.h>

#include "otakit/bytes.h"
#include "otakit/enc.h"
#include "otakit/mcuboot.h"
#include "otakit/ota.h"

#include "core/journal.h"

const char *ota_state_name(int state)
{
    static const char *const names[] = {"none",    "downloading", "new",     "testing",
                                        "confirmed", "failed",    "rollback"};
    return state >= 0 && state <= OTA_STATE_ROLLBACK ? names[state] : "unknown";
}

int ota_init(ota_ctx_t *ctx, const ota_config_t *cfg)
{
    if (!ctx || !cfg || !cfg->flash || !cfg->layout)
        return OTA_ERR_ARG;
    memset(ctx, 0, sizeof *ctx);
    ctx->cfg = *cfg;
    if (ctx->cfg.max_test_boots == 0)
        ctx->cfg.max_test_boots = 1;
    if (ota_layout_check(cfg->layout, cfg->flash) != OTA_OK)
        return OTA_ERR_LAYOUT;
    return ota_journal_load(ctx);
}

unsigned ota_running_slot(const ota_ctx_t *ctx)
{
    if (ctx->cfg.layout->strategy == OTA_STRATEGY_SWAP)
        return 0;
    return (ctx->rec.state == OTA_STATE_TESTING || ctx->rec.state == OTA_STATE_ROLLBACK) ? ctx->rec.target
                                                                                        : ctx->rec.active;
}

/* Whether a slot holds an encrypted image as ciphertext (otakit/enc.h): the update slot of a swap
 * layout always does (the swap decrypts into slot 0 and re-encrypts what leaves it); an A/B
 * layout's target slot does until the bootloader decrypts the verified image in place. */
static int slot_is_ciphertext(const ota_ctx_t *ctx, unsigned slot)
{
    if (ctx->cfg.layout->strategy == OTA_STRATEGY_SWAP)
        return slot == 1;
    return slot == ctx->rec.target && (ctx->rec.state == OTA_STATE_DOWNLOADING || ctx->rec.state == OTA_STATE_NEW);
}

int ota_slot_verify(ota_ctx_t *ctx, unsigned slot, int sig, ota_image_info_t *info)
{
    ota_area_reader_t src;
    ota_enc_reader_t dec;
    ota_enc_key_t key;
    ota_verify_cfg_t vc;
    int rc;
    if (slot > 1)
        return OTA_ERR_ARG;
    src.flash = ctx->cfg.flash;
    src.off = ctx->cfg.layout->slot[slot].off;
    src.size = ctx->cfg.layout->slot[slot].size;
    vc.keys = ctx->cfg.keys;
    vc.n_keys = ctx->cfg.n_keys;
    vc.flags = sig ? 0 : OTA_VERIFY_HASH_ONLY;
    memset(&key, 0, sizeof key);
    if (slot_is_ciphertext(ctx, slot)) {
        uint8_t raw[OTA_IMAGE_HEADER_SIZE];
        ota_image_header_t h;
        rc = OTA_OK;
        if (ctx->cfg.enc)
            rc = ctx->cfg.enc->load_port(ota_area_read, &src, src.size, ctx->cfg.platform, &key);
        else if (ota_area_read(&src, 0, raw, sizeof raw) == 0 && ota_image_header_decode(raw, &h) == OTA_OK &&
                 (h.flags & OTA_IMAGE_F_ENCRYPTED))
            rc = OTA_ERR_FLAGS; /* an image, encrypted, and this build does not take encrypted images */
        if (rc != OTA_OK) {
            memset(info, 0, sizeof *info);
            return rc;
        }
    }
    if (key.key_len) {
        /* Hash and signature are over the plaintext: decrypt while reading, as MCUboot does. */
        dec.read = ota_area_read;
        dec.ctx = &src;
        dec.key = &key;
        rc = ota_image_verify(ctx->cfg.enc->read, &dec, src.size, &vc, info);
        ota_wipe(&key, sizeof key);
    } else {
        rc = ota_image_verify(ota_area_read, &src, src.size, &vc, info);
    }
    if (rc == OTA_OK && info->security_counter < ctx->rec.security_counter)
        return OTA_ERR_DOWNGRADE;
    return rc;
}

int ota_confirm(ota_ctx_t *ctx)
{
    ota_record_t r = ctx->rec;
    ota_image_info_t info;
    unsigned slot = ota_running_slot(ctx);
    int rc;
    if (ctx->cfg.mcuboot_request) {
        /* MCUboot ran the image: its trailer, not the journal, says whether it is on trial. */
        if ((rc = ota_mcuboot_confirm(ctx->cfg.flash, &ctx->cfg.layout->slot[0])) != OTA_OK ||
            r.state != OTA_STATE_TESTING)
            return rc;
    }
    if (r.state != OTA_STATE_TESTING)
        return r.state == OTA_STATE_CONFIRMED || r.state == OTA_STATE_NONE ? OTA_OK : OTA_ERR_STATE;
    if ((rc = ota_slot_verify(ctx, slot, 0, &info)) != OTA_OK)
        return rc;
    r.state = OTA_STATE_CONFIRMED;
    r.active = (uint8_t)slot;
    r.boot_count = 0;
    /* Anti-rollback: from now on nothing older than this image's counter is accepted. */
    if (info.security_counter > r.security_counter)
        r.security_counter = info.security_counter;
    return ota_journal_save(ctx, &r);
}

int ota_rollback(ota_ctx_t *ctx)
{
    ota_record_t r = ctx->rec;
    if (r.state == OTA_STATE_ROLLBACK)
        return OTA_OK;
    if (r.state != OTA_STATE_TESTING)
        return OTA_ERR_STATE;
    r.state = OTA_STATE_ROLLBACK;
    return ota_journal_save(ctx, &r);
}
