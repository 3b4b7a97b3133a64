/*
 * The streaming writer: ota_begin / ota_write / ota_end / ota_abort / ota_resume.
 *
 * Bytes go straight to the update slot; no image is ever buffered in RAM. Each sector is erased
 * when the write pointer first enters it, and a journal checkpoint records how far the download
 * got, so a reset mid-download resumes instead of starting over. ota_end() trusts nothing it
 * wrote: it verifies the image by reading it back from flash before marking it pending.
 */
#include <string.h>

#include "otakit/mcuboot.h"
#include "otakit/ota.h"

#include "boot/swap.h"
#include "core/journal.h"

static const ota_area_t *wslot(const ota_ctx_t *ctx)
{
    return &ctx->cfg.layout->slot[ctx->w_slot];
}

/* The slot a new download goes to. */
static unsigned update_slot(const ota_ctx_t *ctx)
{
    if (ctx->cfg.layout->strategy == OTA_STRATEGY_SWAP)
        return 1;
    return 1u - ctx->rec.active;
}

/* Programs len bytes (a multiple of the write size) at slot offset off, one sector at a time.
 * Entering a sector, the journal first checkpoints its start (every byte below is programmed), then
 * the sector is erased; a resume from the checkpoint re-erases and rewrites just that sector. */
static int program(ota_ctx_t *ctx, uint32_t off, const uint8_t *p, uint32_t len)
{
    const ota_flash_t *f = ctx->cfg.flash;
    uint32_t start, size, n;
    int rc;
    while (len) {
        if (off >= ctx->w_erased_end) {
            if (off > ctx->rec.progress) {
                ota_record_t r = ctx->rec;
                r.progress = off;
                if ((rc = ota_journal_save(ctx, &r)) != OTA_OK)
                    return rc;
            }
            if ((rc = ota_flash_sector(f, wslot(ctx)->off + off, &start, &size)) != OTA_OK)
                return rc;
            if ((rc = ota_flash_erase(f, start)) != OTA_OK)
                return rc;
            ctx->w_erased_end = start + size - wslot(ctx)->off;
        }
        n = ctx->w_erased_end - off < len ? ctx->w_erased_end - off : len;
        if ((rc = ota_flash_write(f, wslot(ctx)->off + off, p, n)) != OTA_OK)
            return rc;
        off += n;
        p += n;
        len -= n;
    }
    return OTA_OK;
}

static int begin(ota_ctx_t *ctx, uint32_t size, uint8_t is_max);

int ota_begin(ota_ctx_t *ctx, uint32_t size)
{
    return begin(ctx, size, 0);
}

int ota_begin_max(ota_ctx_t *ctx, uint32_t max_size)
{
    return begin(ctx, max_size, 1);
}

static int begin(ota_ctx_t *ctx, uint32_t size, uint8_t is_max)
{
    ota_record_t r = ctx->rec;
    unsigned slot;
    int rc;
    if (r.state == OTA_STATE_TESTING || r.state == OTA_STATE_ROLLBACK || r.swap_op)
        return OTA_ERR_STATE; /* the running image must confirm (or roll back) first */
    slot = update_slot(ctx);
    if (size == 0 || size < OTA_IMAGE_HEADER_SIZE)
        return OTA_ERR_ARG;
    if (is_max && size > ctx->cfg.layout->slot[slot].size)
        size = ctx->cfg.layout->slot[slot].size; /* an upper bound: the slot is the real limit */
    if (size > ctx->cfg.layout->slot[slot].size)
        return OTA_ERR_NO_FIT;
    /* Recorded before the first erase: a pending image in this slot is no longer pending. */
    r.state = OTA_STATE_DOWNLOADING;
    r.target = (uint8_t)slot;
    r.size = size;
    r.progress = 0;
    r.boot_count = 0;
    if ((rc = ota_journal_save(ctx, &r)) != OTA_OK)
        return rc;
    ctx->w_active = 1;
    ctx->w_slot = (uint8_t)slot;
    ctx->w_size = size;
    ctx->w_size_is_max = is_max;
    ctx->w_written = 0;
    ctx->w_erased_end = 0;
    ctx->w_tail_len = 0;
    return OTA_OK;
}

int ota_write(ota_ctx_t *ctx, const void *buf, uint32_t len)
{
    const uint8_t *p = (const uint8_t *)buf;
    uint32_t ws = ctx->cfg.flash->write_size;
    int rc;
    if (!ctx->w_active)
        return OTA_ERR_STATE;
    if (len > ctx->w_size - ctx->w_written)
        return OTA_ERR_OVERFLOW;
    while (len) {
        uint32_t done = ctx->w_written - ctx->w_tail_len; /* bytes programmed */
        if (ctx->w_tail_len == 0 && len >= ws) {
            uint32_t n = len - len % ws;
            if ((rc = program(ctx, done, p, n)) != OTA_OK)
                return rc;
            ctx->w_written += n;
            p += n;
            len -= n;
        } else {
            uint32_t n = ws - ctx->w_tail_len;
            if (n > len)
                n = len;
            memcpy(ctx->w_tail + ctx->w_tail_len, p, n);
            ctx->w_tail_len = (uint8_t)(ctx->w_tail_len + n);
            ctx->w_written += n;
            p += n;
            len -= n;
            if (ctx->w_tail_len == ws) {
                if ((rc = program(ctx, done, ctx->w_tail, ws)) != OTA_OK)
                    return rc;
                ctx->w_tail_len = 0;
            }
        }
    }
    return OTA_OK;
}

/* MCUboot trailer mode: requests the upgrade in the slot's trailer. A trailer left over from an
 * earlier image (its fields not erased) is cleared by erasing the slot's last sector, unless the
 * image reaches into it (imgtool's trailer size keeps it clear). */
static int mcuboot_request(ota_ctx_t *ctx, uint32_t image_end)
{
    const ota_flash_t *f = ctx->cfg.flash;
    const ota_area_t *a = &ctx->cfg.layout->slot[ctx->w_slot];
    int permanent = ctx->cfg.mcuboot_request == OTA_MCUBOOT_PERM;
    uint32_t start, size;
    int rc = ota_mcuboot_request_upgrade(f, a, permanent);
    if (rc != OTA_ERR_STATE)
        return rc;
    if ((rc = ota_flash_sector(f, a->off + a->size - 1, &start, &size)) != OTA_OK)
        return rc;
    if (start < a->off + image_end)
        return OTA_ERR_SLOT_SIZE;
    if ((rc = ota_flash_erase(f, start)) != OTA_OK)
        return rc;
    return ota_mcuboot_request_upgrade(f, a, permanent);
}

int ota_end(ota_ctx_t *ctx)
{
    const ota_flash_t *f = ctx->cfg.flash;
    ota_image_info_t info;
    ota_record_t r;
    int rc;
    if (!ctx->w_active)
        return OTA_ERR_STATE;
    if (ctx->w_size_is_max)
        ctx->w_size = ctx->w_written; /* the transfer ended: that is the image */
    if (ctx->w_written != ctx->w_size || ctx->w_size == 0)
        return OTA_ERR_INCOMPLETE;
    if (ctx->w_tail_len) {
        /* Pad the last partial write unit with the erased value. */
        memset(ctx->w_tail + ctx->w_tail_len, f->erased_val, f->write_size - ctx->w_tail_len);
        if ((rc = program(ctx, ctx->w_written - ctx->w_tail_len, ctx->w_tail, f->write_size)) != OTA_OK)
            return rc;
        ctx->w_tail_len = 0;
    }
    ctx->w_active = 0;

    /* Trust nothing that was written: read it back and verify it like the bootloader would. */
    if ((rc = ota_slot_verify(ctx, ctx->w_slot, 1, &info)) != OTA_OK)
        return rc;
    if (info.layout.image_end > ctx->w_size)
        return OTA_ERR_TRUNCATED;
    if (ctx->cfg.product && strcmp(ctx->cfg.product, info.product) != 0)
        return OTA_ERR_PRODUCT;
    if (ctx->cfg.hw_rev && !ota_image_hw_compatible(&info, ctx->cfg.hw_rev))
        return OTA_ERR_HW_REV;
    /* An A/B slot runs in place: an encrypted image is decrypted there through the scratch. */
    if ((info.hdr.flags & OTA_IMAGE_F_ENCRYPTED) && ctx->cfg.layout->strategy == OTA_STRATEGY_AB &&
        !ota_swap_can_decrypt(ctx))
        return OTA_ERR_LAYOUT;

    r = ctx->rec;
    r.state = OTA_STATE_NEW;
    r.target = ctx->w_slot;
    r.progress = ctx->w_size;
    if ((rc = ota_journal_save(ctx, &r)) != OTA_OK || !ctx->cfg.mcuboot_request)
        return rc;
    return mcuboot_request(ctx, info.layout.image_end);
}

int ota_abort(ota_ctx_t *ctx)
{
    ota_record_t r = ctx->rec;
    ctx->w_active = 0;
    ctx->w_tail_len = 0;
    if (r.state != OTA_STATE_DOWNLOADING)
        return OTA_OK;
    r.state = OTA_STATE_NONE;
    r.progress = 0;
    return ota_journal_save(ctx, &r);
}

int ota_resume(ota_ctx_t *ctx, uint32_t *offset, uint32_t *size_out)
{
    const ota_flash_t *f = ctx->cfg.flash;
    uint32_t off, start, size, base;
    int rc;
    if (ctx->rec.state != OTA_STATE_DOWNLOADING || !offset)
        return OTA_ERR_STATE;
    ctx->w_slot = ctx->rec.target;
    ctx->w_size = ctx->rec.size;
    ctx->w_size_is_max = 0;
    base = wslot(ctx)->off;
    off = *offset == OTA_RESUME_AUTO ? ctx->rec.progress : *offset;
    if (off > ctx->w_size)
        off = ctx->w_size;
    off -= off % f->write_size;
    if ((rc = ota_flash_sector(f, base + off, &start, &size)) != OTA_OK)
        return rc;
    if (start - base > ctx->rec.progress) {
        /* Past the last sector the download entered: nothing there was written. */
        off = ctx->rec.progress;
        if ((rc = ota_flash_sector(f, base + off, &start, &size)) != OTA_OK)
            return rc;
    }
    if (base + off != start) {
        /* Mid-sector: keep it only if the rest of the sector is erased and the write unit just
         * below it was programmed; otherwise redo the sector from its start. */
        int rest = ota_flash_is_erased(f, base + off, start + size - base - off);
        int below = ota_flash_is_erased(f, base + off - f->write_size, f->write_size);
        if (rest < 0 || below < 0)
            return rest < 0 ? rest : below;
        if (!(rest == 1 && below == 0))
            off = start - base;
    }
    /* At a sector start the next write erases the sector; mid-sector its remainder is erased. */
    ctx->w_erased_end = base + off == start ? off : start + size - base;
    ctx->w_written = off;
    ctx->w_tail_len = 0;
    ctx->w_active = 1;
    *offset = off;
    if (size_out)
        *size_out = ctx->w_size;
    return OTA_OK;
}
