/*
 * ota_boot(): what the bootloader does on every reset (see otakit/ota.h).
 *
 * A/B: both slots execute; the journal says which is confirmed (active) and which is being
 * tested (target). SWAP: only slot 0 executes; a new image is swapped in from slot 1 and the
 * previous image waits in slot 1 until the new one confirms (or is swapped back).
 *
 * Encrypted images (otakit/enc.h) are verified decrypting on the fly while still ciphertext; SWAP
 * decrypts during the swap (swap.c); A/B decrypts the new image in its own slot through the
 * scratch after verifying it, since a slot that executes in place cannot run ciphertext.
 *
 * In both, a new image gets max_test_boots boots to call ota_confirm(): a crash, hang (watchdog
 * reset) or reset loop before that rolls it back. The image about to run is always validated
 * (hash, and signature when configured; a new image's signature always), and if it is bad the
 * other slot's image runs instead, so a device with one good image always boots it.
 */
#include <string.h>

#include "otakit/ota.h"

#include "core/journal.h"
#include "swap.h"

static int save_state(ota_ctx_t *ctx, uint8_t state, uint8_t boot_count)
{
    ota_record_t r = ctx->rec;
    r.state = state;
    r.boot_count = boot_count;
    return ota_journal_save(ctx, &r);
}

/* A/B: decide, validate, fall back. */
static int boot_ab(ota_ctx_t *ctx, ota_boot_result_t *res, ota_image_info_t *info)
{
    const ota_record_t *r = &ctx->rec;
    unsigned run;
    int rc, sig = ctx->cfg.boot_check_signature;

    if (r->swap_op == OTA_SWAP_DECRYPT) {
        /* A power cut stopped the in-place decryption of a verified new image: finish it; its
         * last step makes this the new image's first boot (TESTING, boot_count 1). */
        if ((rc = ota_swap_run(ctx)) != OTA_OK)
            return rc;
    } else {
        switch (r->state) {
        case OTA_STATE_NEW:
            if (ota_slot_verify(ctx, r->target, 1, info) == OTA_OK &&
                (!(info->hdr.flags & OTA_IMAGE_F_ENCRYPTED) || ota_swap_can_decrypt(ctx))) {
                /* Verified (decrypting on the fly if it is encrypted): an encrypted image is now
                 * decrypted in its slot, which then runs it in place; the last step marks TESTING. */
                if (info->hdr.flags & OTA_IMAGE_F_ENCRYPTED)
                    rc = ota_swap_start(ctx, OTA_SWAP_DECRYPT);
                else
                    rc = save_state(ctx, OTA_STATE_TESTING, 1);
                if (rc != OTA_OK)
                    return rc;
            } else {
                if ((rc = save_state(ctx, OTA_STATE_FAILED, 0)) != OTA_OK)
                    return rc;
                res->rolled_back = 1;
            }
            break;
        case OTA_STATE_TESTING:
            if (r->boot_count < ctx->cfg.max_test_boots) {
                rc = save_state(ctx, OTA_STATE_TESTING, (uint8_t)(r->boot_count + 1));
            } else {
                rc = save_state(ctx, OTA_STATE_FAILED, 0); /* never confirmed: crash, hang or reset loop */
                res->rolled_back = 1;
            }
            if (rc != OTA_OK)
                return rc;
            break;
        case OTA_STATE_ROLLBACK:
            if ((rc = save_state(ctx, OTA_STATE_FAILED, 0)) != OTA_OK)
                return rc;
            res->rolled_back = 1;
            break;
        default:
            break;
        }
    }

    run = ota_running_slot(ctx);
    if (ota_slot_verify(ctx, run, sig, info) == OTA_OK) {
        res->slot = (uint8_t)run;
        return OTA_OK;
    }
    /* The chosen image is bad (corrupted, or below the anti-rollback floor): run the other. */
    if (ota_slot_verify(ctx, 1 - run, sig, info) == OTA_OK) {
        ota_record_t nr = ctx->rec;
        if (nr.state == OTA_STATE_TESTING)
            nr.state = OTA_STATE_FAILED;
        else
            nr.active = (uint8_t)(1 - run);
        nr.boot_count = 0;
        if ((rc = ota_journal_save(ctx, &nr)) != OTA_OK)
            return rc;
        res->rolled_back = 1;
        res->slot = (uint8_t)(1 - run);
        return OTA_OK;
    }
    return OTA_ERR_NO_IMAGE;
}

/* SWAP: finish any swap in progress, decide, swap, validate slot 0, recover from slot 1. */
static int boot_swap(ota_ctx_t *ctx, ota_boot_result_t *res, ota_image_info_t *info)
{
    const ota_record_t *r = &ctx->rec;
    int rc, sig = ctx->cfg.boot_check_signature;

    if (r->swap_op) {
        if (r->swap_op != OTA_SWAP_INSTALL)
            res->rolled_back = 1;
        res->swapped = 1;
        if ((rc = ota_swap_run(ctx)) != OTA_OK)
            return rc;
    } else {
        switch (r->state) {
        case OTA_STATE_NEW:
            if (ota_slot_verify(ctx, 1, 1, info) == OTA_OK) {
                res->swapped = 1;
                rc = ota_swap_start(ctx, OTA_SWAP_INSTALL);
            } else {
                rc = save_state(ctx, OTA_STATE_FAILED, 0);
                res->rolled_back = 1;
            }
            if (rc != OTA_OK)
                return rc;
            break;
        case OTA_STATE_TESTING:
            if (r->boot_count < ctx->cfg.max_test_boots) {
                if ((rc = save_state(ctx, OTA_STATE_TESTING, (uint8_t)(r->boot_count + 1))) != OTA_OK)
                    return rc;
                break;
            }
            /* fall through - never confirmed */
        case OTA_STATE_ROLLBACK:
            res->rolled_back = 1;
            res->swapped = 1;
            if ((rc = ota_swap_start(ctx, OTA_SWAP_REVERT)) != OTA_OK)
                return rc;
            break;
        default:
            break;
        }
    }

    if (ota_slot_verify(ctx, 0, sig, info) == OTA_OK) {
        res->slot = 0;
        return OTA_OK;
    }
    /* Slot 0 is bad: bring in slot 1's image if it is good. */
    if (ota_slot_verify(ctx, 1, sig, info) == OTA_OK) {
        uint8_t op = (r->state == OTA_STATE_TESTING) ? OTA_SWAP_REVERT : OTA_SWAP_RECOVER;
        res->rolled_back = 1;
        res->swapped = 1;
        if ((rc = ota_swap_start(ctx, op)) != OTA_OK)
            return rc;
        if (ota_slot_verify(ctx, 0, sig, info) == OTA_OK) {
            res->slot = 0;
            return OTA_OK;
        }
    }
    return OTA_ERR_NO_IMAGE;
}

int ota_boot(ota_ctx_t *ctx, ota_boot_result_t *res)
{
    const ota_platform_ops_t *plat;
    ota_image_info_t info;
    int rc;
    if (!ctx || !res)
        return OTA_ERR_ARG;
    plat = ctx->cfg.platform;
    memset(res, 0, sizeof *res);
    ctx->w_active = 0;
    if (ctx->cfg.layout->strategy == OTA_STRATEGY_SWAP)
        rc = boot_swap(ctx, res, &info);
    else
        rc = boot_ab(ctx, res, &info);
    if (rc != OTA_OK)
        return rc;
    res->state = ctx->rec.state;
    res->version = info.hdr.version;
    res->security_counter = info.security_counter;
    if (plat && plat->select_bank && plat->select_bank(plat->ctx, res->slot) != 0)
        return OTA_ERR_FLASH_WRITE;
    /* The commit window: a new image that hangs before ota_confirm() gets reset, then rolled back.
     * If the watchdog cannot be armed the image still boots on trial: a reset still rolls it back,
     * and refusing to boot would be worse. */
    if (res->state == OTA_STATE_TESTING && plat && plat->watchdog_start)
        res->watchdog_armed =
            plat->watchdog_start(plat->ctx, ctx->cfg.commit_window_ms ? ctx->cfg.commit_window_ms : 60000u) == 0;
    return OTA_OK;
}
