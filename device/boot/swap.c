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
 *
 * Encrypted images (otakit/enc.h) are ciphertext in slot 1 and plaintext in slot 0, as in MCUboot
 * (docs/encrypted_images.md, loader.c boot_copy_region()): step 1 decrypts the payload bytes of the
 * image coming from slot 1, step 2 re-encrypts those of the image leaving slot 0 with its own key,
 * so the scratch only ever holds slot 0's plaintext, which lies in the executable slot anyway.
 * AES-CTR makes each sector's transform independent of the others, so a redone step writes the
 * same bytes. The two keys are opened again from the images' ENC_EC256 TLVs on every (resumed)
 * run, reading each image where the journal's progress says its sectors lie at that moment.
 *
 * A/B layouts execute in place from either slot and cannot run ciphertext: OTA_SWAP_DECRYPT
 * decrypts the verified new image in its own slot, sector by sector through the scratch:
 *   step 0: erase scratch, copy slot[i] -> scratch
 *   step 1: erase slot[i], decrypt scratch -> slot[i]
 */
#include <string.h>

#include "swap.h"

#include "otakit/bytes.h"
#include "otakit/enc.h"

#include "core/journal.h"

#ifndef OTA_COPY_BUF
#define OTA_COPY_BUF 512u /* RAM used to move data between sectors */
#endif

/* Offset (from the slot start) and size of the i-th sector of a slot (SWAP: both are identical). */
static int slot_sector_of(const ota_ctx_t *ctx, unsigned slot, unsigned i, uint32_t *rel, uint32_t *size)
{
    const ota_area_t *s0 = &ctx->cfg.layout->slot[slot];
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

/* The slot whose sectors a swap walks: the A/B target for OTA_SWAP_DECRYPT, else slot 0. */
static unsigned walk_slot(const ota_record_t *r)
{
    return r->swap_op == OTA_SWAP_DECRYPT ? r->target : 0;
}

static int slot_sector(const ota_ctx_t *ctx, const ota_record_t *r, unsigned i, uint32_t *rel, uint32_t *size)
{
    return slot_sector_of(ctx, walk_slot(r), i, rel, size);
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

static uint16_t swap_chunks(ota_ctx_t *ctx, const ota_record_t *r)
{
    unsigned slot = walk_slot(r);
    uint32_t need = image_extent(ctx, slot), e1, rel, size;
    uint16_t n = 0;
    if (r->swap_op != OTA_SWAP_DECRYPT && (e1 = image_extent(ctx, 1)) > need)
        need = e1;
    while (slot_sector_of(ctx, slot, n, &rel, &size) == OTA_OK && rel < need)
        n++;
    return n;
}

uint16_t ota_swap_chunks(ota_ctx_t *ctx)
{
    return swap_chunks(ctx, &ctx->rec);
}

int ota_swap_can_decrypt(const ota_ctx_t *ctx)
{
    const ota_layout_t *l = ctx->cfg.layout;
    const ota_area_t *t = &l->slot[ctx->rec.target];
    uint32_t off, start, size;
    if (!l->scratch.size)
        return 0;
    for (off = 0; off < t->size; off += size) {
        if (ota_flash_sector(ctx->cfg.flash, t->off + off, &start, &size) != OTA_OK || size > l->scratch.size)
            return 0;
    }
    return 1;
}

/* An image as it lies in the middle of a swap: its sector k is wherever the journal's progress
 * (r) says it is now. Reads header and TLVs, which are never encrypted, to open its key. */
struct view {
    ota_ctx_t *ctx;
    const ota_record_t *r;
    uint8_t which; /* 0: the image that started in slot 1 (or the A/B target), 1: the one in slot 0 */
};

static uint32_t where(const struct view *v, unsigned k, uint32_t rel)
{
    const ota_layout_t *l = v->ctx->cfg.layout;
    const ota_record_t *r = v->r;
    if (r->swap_op == OTA_SWAP_DECRYPT)
        return k == r->swap_chunk && r->swap_step == 1 ? l->scratch.off : l->slot[r->target].off + rel;
    if (v->which == 0) /* slot 1 -> slot 0 in step 1 */
        return k < r->swap_chunk || (k == r->swap_chunk && r->swap_step >= 2) ? l->slot[0].off + rel
                                                                               : l->slot[1].off + rel;
    /* slot 0 -> scratch in step 0, scratch -> slot 1 in step 2 */
    if (k < r->swap_chunk)
        return l->slot[1].off + rel;
    if (k == r->swap_chunk && r->swap_step >= 1)
        return l->scratch.off;
    return l->slot[0].off + rel;
}

static int view_read(void *vp, uint32_t off, void *buf, uint32_t len)
{
    const struct view *v = (const struct view *)vp;
    uint8_t *p = (uint8_t *)buf;
    uint32_t rel = 0, size = 0, n;
    unsigned k = 0;
    while (len) {
        while (slot_sector(v->ctx, v->r, k, &rel, &size) == OTA_OK && off >= rel + size)
            k++;
        if (slot_sector(v->ctx, v->r, k, &rel, &size) != OTA_OK || off < rel)
            return -1;
        n = rel + size - off < len ? rel + size - off : len;
        if (ota_flash_read(v->ctx->cfg.flash, where(v, k, rel) + (off - rel), p, n) != OTA_OK)
            return -1;
        off += n;
        p += n;
        len -= n;
    }
    return 0;
}

/* Opens the key of image which (see struct view) as it lies now. An image that is not
 * encrypted, or whose header cannot be read (a slot 0 being recovered), gets none (copied as is). */
static int load_key(ota_ctx_t *ctx, const ota_record_t *r, uint8_t which, ota_enc_key_t *k)
{
    struct view v;
    uint8_t raw[OTA_IMAGE_HEADER_SIZE];
    ota_image_header_t h;
    v.ctx = ctx;
    v.r = r;
    v.which = which;
    memset(k, 0, sizeof *k);
    if (view_read(&v, 0, raw, sizeof raw) != 0 || ota_image_header_decode(raw, &h) != OTA_OK ||
        !(h.flags & OTA_IMAGE_F_ENCRYPTED))
        return OTA_OK;
    if (!ctx->cfg.enc)
        return OTA_ERR_FLAGS;
    return ctx->cfg.enc->load_port(view_read, &v, ctx->cfg.layout->slot[0].size, ctx->cfg.platform, k);
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

/* Erases len bytes at dst, then copies len bytes from src, applying key (NULL: none) to what are
 * the image's bytes [rel, rel + len); runs of erased bytes are skipped. */
static int move(const ota_ctx_t *ctx, uint32_t src, uint32_t dst, uint32_t len, const ota_enc_key_t *key,
                uint32_t rel)
{
    const ota_flash_t *f = ctx->cfg.flash;
    uint8_t buf[OTA_COPY_BUF];
    uint32_t off, n, i;
    int rc;
    if ((rc = erase_at_least(f, dst, len)) != OTA_OK)
        return rc;
    for (off = 0; off < len; off += n) {
        n = len - off < sizeof buf ? len - off : (uint32_t)sizeof buf;
        if ((rc = ota_flash_read(f, src + off, buf, n)) != OTA_OK)
            return rc;
        if (key && key->key_len && (rc = ctx->cfg.enc->apply(key, rel + off, buf, n)) != OTA_OK)
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
    case OTA_SWAP_DECRYPT:
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
    if (r->swap_op != OTA_SWAP_DECRYPT) { /* A/B keeps its slots; the new image runs from target */
        r->active = 0;
        r->target = 0;
    }
    r->swap_op = 0;
    r->swap_chunk = 0;
    r->swap_step = 0;
}

/* One step of sector a (slot-relative rel, size bytes) with the keys in/out. */
static int step(ota_ctx_t *ctx, const ota_record_t *r, uint32_t rel, uint32_t size, const ota_enc_key_t *in,
                const ota_enc_key_t *out)
{
    const ota_layout_t *l = ctx->cfg.layout;
    uint32_t a0 = l->slot[0].off + rel, a1 = l->slot[1].off + rel;
    if (r->swap_op == OTA_SWAP_DECRYPT) {
        uint32_t at = l->slot[r->target].off + rel;
        return r->swap_step == 0 ? move(ctx, at, l->scratch.off, size, NULL, 0)
                                 : move(ctx, l->scratch.off, at, size, in, rel);
    }
    switch (r->swap_step) {
    case 0: return move(ctx, a0, l->scratch.off, size, NULL, 0);
    case 1: return move(ctx, a1, a0, size, in, rel);        /* decrypts the incoming image */
    default: return move(ctx, l->scratch.off, a1, size, out, rel); /* re-encrypts the outgoing one */
    }
}

int ota_swap_run(ota_ctx_t *ctx)
{
    ota_record_t r = ctx->rec;
    ota_enc_key_t in, out;
    uint32_t rel, size;
    uint8_t steps = r.swap_op == OTA_SWAP_DECRYPT ? 2 : 3;
    int rc = OTA_OK;

    memset(&in, 0, sizeof in);
    memset(&out, 0, sizeof out);
    if (r.swap_op && r.swap_chunk < r.swap_chunks) {
        if ((rc = load_key(ctx, &r, 0, &in)) != OTA_OK)
            return rc;
        if (r.swap_op != OTA_SWAP_DECRYPT && load_key(ctx, &r, 1, &out) != OTA_OK)
            memset(&out, 0, sizeof out); /* no key for it: it moves as it is */
    }
    while (r.swap_op) {
        if (r.swap_chunk >= r.swap_chunks) {
            finish(&r);
        } else {
            if ((rc = slot_sector(ctx, &r, r.swap_chunk, &rel, &size)) != OTA_OK ||
                (rc = step(ctx, &r, rel, size, &in, &out)) != OTA_OK)
                break;
            if (++r.swap_step == steps) {
                r.swap_step = 0;
                if (++r.swap_chunk == r.swap_chunks)
                    finish(&r);
            }
        }
        if ((rc = ota_journal_save(ctx, &r)) != OTA_OK)
            break;
    }
    ota_wipe(&in, sizeof in); /* the keys do not outlive the swap */
    ota_wipe(&out, sizeof out);
    return rc;
}

int ota_swap_start(ota_ctx_t *ctx, uint8_t op)
{
    ota_record_t r = ctx->rec;
    int rc;
    r.swap_op = op;
    r.swap_chunk = 0;
    r.swap_step = 0;
    r.swap_chunks = swap_chunks(ctx, &r);
    if ((rc = ota_journal_save(ctx, &r)) != OTA_OK)
        return rc;
    return ota_swap_run(ctx);
}
