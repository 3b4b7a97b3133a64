/*
 * Swap with scratch, resumable after a power cut at any flash operation.
 *
 * Slots 0 and 1 have the same sector sizes (ota_layout_check), so sector i of each is exchanged
 * in three steps, each recorded in the journal when done:
 *   step 0: erase scratch, copy slot0[i] -> scratch
 *   step 1: erase slot0[i], copy slot1[i] -> slot0[i]
 *   step 2: erase slot1[i], copy scratch -> slot1[i]      (then sector i+1, step 0)
 * A step's source is never modified before that step is recorded, so a step cut anywhere (even
 * by a torn write or erase) is simply redone from its start on the next boot. The journal entry
 * of the very last step also carries the state the swap leads to, so "swapped" and "state
 * changed" are one atomic fact.
 */
#include "swap.h"

#include "core/journal.h"

#ifndef OTA_COPY_BUF
#define OTA_COPY_BUF 512u /* RAM used to move data between sectors */
#endif

/* Offset (from the slot start) and size of the i-th sector of slot 0 (slot 1 is identical). */
static int slot_sector(ota_ctx_t *ctx, unsigned i, uint32_t *rel, uint32_t *size)
{
    const ota_area_t *s0 = &ctx->cfg.layout->slot[0];
    uint32_t off = 0, start, sz = 0;
    for (;;) {
        if (off >= s0->size || ota_flash_sector(ctx->cfg.flash, s0->off + off, &start, &sz) != OTA_OK)
            return OTA_ERR_LAYOUT;
        if (i == 0)
            break;
        i--;
        off += sz;
    }
    *rel = off;
    *size = sz;
    return OTA_OK;
}

/* Where the image in a slot ends, per its header and TLV info; the whole slot if unreadable. */
static uint32_t image_extent(ota_ctx_t *ctx, unsigned slot)
{
    const ota_area_t *a = &ctx->cfg.layout->slot[slot];
    ota_area_reader_t src;
    uint8_t raw[OTA_IMAGE_HEADER_SIZE];
    ota_image_header_t h;
    ota_image_layout_t lay;
    src.flash = ctx->cfg.flash;
    src.off = a->off;
    src.size = a->size;
    if (ota_area_read(&src, 0, raw, sizeof raw) != 0 || ota_image_header_decode(raw, &h) != OTA_OK ||
        ota_image_layout(ota_area_read, &src, a->size, &h, &lay) != OTA_OK)
        return a->size;
    return lay.image_end;
}

uint16_t ota_swap_chunks(ota_ctx_t *ctx)
{
    uint32_t need = image_extent(ctx, 0), e1 = image_extent(ctx, 1), rel, size;
    uint16_t n = 0;
    if (e1 > need)
        need = e1;
    while (slot_sector(ctx, n, &rel, &size) == OTA_OK && rel < need)
        n++;
    return n;
}

/* Erases the sectors from addr on until at least len bytes are erased. */
static int erase_at_least(const ota_flash_t *f, uint32_t addr, uint32_t len)
{
    uint32_t start, size, done = 0;
    int rc;
    while (done < len) {
        if (ota_flash_sector(f, addr + done, &start, &size) != OTA_OK)
            return OTA_ERR_FLASH_RANGE;
        if ((rc = ota_flash_erase(f, start)) != OTA_OK)
            return rc;
        done += size;
    }
    return OTA_OK;
}

/* Erases len bytes at dst, then copies len bytes from src; runs of erased bytes are skipped. */
static int move(const ota_flash_t *f, uint32_t src, uint32_t dst, uint32_t len)
{
    uint8_t buf[OTA_COPY_BUF];
    uint32_t off, n, i;
    int rc;
    if ((rc = erase_at_least(f, dst, len)) != OTA_OK)
        return rc;
    for (off = 0; off < len; off += n) {
        n = len - off < sizeof buf ? len - off : (uint32_t)sizeof buf;
        if ((rc = ota_flash_read(f, src + off, buf, n)) != OTA_OK)
            return rc;
        for (i = 0; i < n && buf[i] == f->erased_val; i++)
            ;
        if (i == n)
            continue;
        if ((rc = ota_flash_write(f, dst + off, buf, n)) != OTA_OK)
            return rc;
    }
    return OTA_OK;
}

/* The state a finished swap leads to. */
static void finish(ota_record_t *r)
{
    switch (r->swap_op) {
    case OTA_SWAP_INSTALL:
        r->state = OTA_STATE_TESTING;
        r->boot_count = 1;
        break;
    case OTA_SWAP_REVERT:
        r->state = OTA_STATE_FAILED;
        r->boot_count = 0;
        break;
    default:
        r->state = OTA_STATE_NONE;
        r->boot_count = 0;
        break;
    }
    r->active = 0;
    r->target = 0;
    r->swap_op = 0;
    r->swap_chunk = 0;
    r->swap_step = 0;
}

int ota_swap_run(ota_ctx_t *ctx)
{
    const ota_layout_t *l = ctx->cfg.layout;
    const ota_flash_t *f = ctx->cfg.flash;
    ota_record_t r = ctx->rec;
    uint32_t rel, size, a0, a1;
    int rc;

    while (r.swap_op) {
        if (r.swap_chunk >= r.swap_chunks) {
            finish(&r);
        } else {
            if ((rc = slot_sector(ctx, r.swap_chunk, &rel, &size)) != OTA_OK)
                return rc;
            a0 = l->slot[0].off + rel;
            a1 = l->slot[1].off + rel;
            switch (r.swap_step) {
            case 0: rc = move(f, a0, l->scratch.off, size); break;
            case 1: rc = move(f, a1, a0, size); break;
            default: rc = move(f, l->scratch.off, a1, size); break;
            }
            if (rc != OTA_OK)
                return rc;
            if (++r.swap_step == 3) {
                r.swap_step = 0;
                if (++r.swap_chunk == r.swap_chunks)
                    finish(&r);
            }
        }
        if ((rc = ota_journal_save(ctx, &r)) != OTA_OK)
            return rc;
    }
    return OTA_OK;
}

int ota_swap_start(ota_ctx_t *ctx, uint8_t op)
{
    ota_record_t r = ctx->rec;
    int rc;
    r.swap_op = op;
    r.swap_chunks = ota_swap_chunks(ctx);
    r.swap_chunk = 0;
    r.swap_step = 0;
    if ((rc = ota_journal_save(ctx, &r)) != OTA_OK)
        return rc;
    return ota_swap_run(ctx);
}
