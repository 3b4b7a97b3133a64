/*
 * Applying a delta patch (otakit/delta.h): blocks checked against the hash chain, each one
 * decompressed (LZSS, a 2^window_bits ring that restarts at every block) into bsdiff-style
 * instructions that add to the base image read from the running slot, and the image written
 * through ota_write(). A checkpoint is offered whenever the writer's own journal checkpoint moves
 * past the start of the block being decoded, so a reset resumes at that block and regenerates only
 * what ota_resume() cannot vouch for.
 */
#include <stddef.h>
#include <string.h>

#include "otakit/delta.h"

#include "core/le.h"
#include "crypto/crypto.h"

typedef char hash_ctx_fits[sizeof(ota_sha256_t) <= sizeof(((ota_delta_t *)0)->hash_ctx) ? 1 : -1];

#define MIN_MATCH 3u

static ota_sha256_t *hctx(ota_delta_t *d)
{
    return (ota_sha256_t *)(void *)&d->hash_ctx;
}

static uint32_t running_base(const ota_ctx_t *ota)
{
    return ota->cfg.layout->slot[ota_running_slot(ota)].off;
}

int ota_delta_base_sha(ota_ctx_t *ota, uint32_t size, uint8_t sha[32])
{
    uint8_t buf[128];
    uint32_t base, o, n;
    ota_sha256_t h;
    int rc;
    if (size > ota->cfg.layout->slot[ota_running_slot(ota)].size)
        return OTA_ERR_DELTA_BASE;
    base = running_base(ota);
    ota_sha256_start(&h);
    for (o = 0; o < size; o += n) {
        n = size - o < sizeof buf ? size - o : (uint32_t)sizeof buf;
        if ((rc = ota_flash_read(ota->cfg.flash, base + o, buf, n)) != OTA_OK) {
            ota_sha256_finish(&h, sha);
            return rc;
        }
        ota_sha256_update(&h, buf, n);
    }
    ota_sha256_finish(&h, sha);
    return OTA_OK;
}

/* ---- output ------------------------------------------------------------------------------- */

static int flush(ota_delta_t *d)
{
    int rc;
    if (!d->out_n)
        return OTA_OK;
    if ((rc = ota_write(d->ota, d->out, d->out_n)) != OTA_OK)
        return rc;
    d->out_n = 0;
    /* The writer checkpointed a new sector: everything below it is programmed. The start of the
     * current block is a resume point once it lies at or below that. */
    if (d->ota->rec.progress > d->progress_seen) {
        d->progress_seen = d->ota->rec.progress;
        if (d->at.out_off <= d->progress_seen && d->checkpoint)
            d->checkpoint(d->checkpoint_arg, &d->at);
    }
    return OTA_OK;
}

static int emit(ota_delta_t *d, uint8_t b)
{
    if (d->cur.out_off >= d->hdr.target_size)
        return OTA_ERR_DELTA;
    if (d->cur.out_off++ < d->skip_to)
        return OTA_OK; /* a resume regenerates it: flash holds it already */
    ota_sha256_update(hctx(d), &b, 1);
    d->out[d->out_n++] = b;
    return d->out_n == sizeof d->out ? flush(d) : OTA_OK;
}

static int old_byte(ota_delta_t *d, uint8_t *b)
{
    uint32_t pos = d->cur.old_pos;
    int rc;
    if (pos >= d->hdr.base_size)
        return OTA_ERR_DELTA;
    if (pos < d->old_at || pos >= d->old_at + d->old_n) {
        d->old_at = pos;
        d->old_n = d->hdr.base_size - pos < sizeof d->old ? d->hdr.base_size - pos : (uint32_t)sizeof d->old;
        if ((rc = ota_flash_read(d->ota->cfg.flash, d->base_addr + pos, d->old, d->old_n)) != OTA_OK) {
            d->old_n = 0;
            return rc;
        }
    }
    *b = d->old[pos - d->old_at];
    return OTA_OK;
}

/* Moves past finished runs: diff -> extra -> seek -> next instruction. */
static int settle(ota_delta_t *d)
{
    ota_delta_ckpt_t *c = &d->cur;
    if (c->phase == 3 && c->remaining == 0) {
        c->phase = 4;
        c->remaining = c->extra_len;
    }
    if (c->phase == 4 && c->remaining == 0) {
        int64_t np = (int64_t)c->old_pos + ((c->seek & 1u) ? -(int64_t)(c->seek >> 1) - 1 : (int64_t)(c->seek >> 1));
        if (np < 0 || np > (int64_t)d->hdr.base_size)
            return OTA_ERR_DELTA;
        c->old_pos = (uint32_t)np;
        c->phase = 0;
    }
    return OTA_OK;
}

/* One byte of the instruction stream. */
static int op(ota_delta_t *d, uint8_t b)
{
    ota_delta_ckpt_t *c = &d->cur;
    uint8_t o;
    int rc;
    if (c->phase <= 2) {
        if (c->shift == 28 && (b & 0xf0))
            return OTA_ERR_DELTA; /* past 32 bits */
        c->acc |= (uint32_t)(b & 0x7f) << c->shift;
        if (b & 0x80) {
            c->shift = (uint8_t)(c->shift + 7);
            return OTA_OK;
        }
        if (c->phase == 0)
            c->remaining = c->acc;
        else if (c->phase == 1)
            c->extra_len = c->acc;
        else
            c->seek = c->acc;
        c->acc = 0;
        c->shift = 0;
        if (++c->phase < 3)
            return OTA_OK;
        if (c->remaining > d->hdr.target_size - c->out_off ||
            c->extra_len > d->hdr.target_size - c->out_off - c->remaining ||
            c->remaining > d->hdr.base_size - c->old_pos)
            return OTA_ERR_DELTA;
        return settle(d);
    }
    if (c->phase == 3) {
        if ((rc = old_byte(d, &o)) != OTA_OK)
            return rc;
        c->old_pos++;
        b = (uint8_t)(b + o);
    }
    c->remaining--;
    if ((rc = emit(d, b)) != OTA_OK)
        return rc;
    return settle(d);
}

/* Decompresses one verified block payload into the instruction stream. */
static int decode(ota_delta_t *d, const uint8_t *p, uint32_t n)
{
    uint32_t bits = n * 8u, pos = 0, made = 0, wbits = d->hdr.window_bits, lbits = d->hdr.lookahead_bits;
    uint32_t mask = sizeof d->win - 1u, i;
    int rc;
#define GETBITS(k, v)                                                                              \
    do {                                                                                           \
        uint32_t k_ = (k);                                                                         \
        v = 0;                                                                                     \
        while (k_--) {                                                                             \
            v = (v << 1) | ((p[pos >> 3] >> (7u - (pos & 7u))) & 1u);                              \
            pos++;                                                                                 \
        }                                                                                          \
    } while (0)
    while (bits - pos >= 9u) {
        uint32_t tag, v, dist, len;
        GETBITS(1, tag);
        if (tag) {
            GETBITS(8, v);
            d->win[made++ & mask] = (uint8_t)v;
            if ((rc = op(d, (uint8_t)v)) != OTA_OK)
                return rc;
            continue;
        }
        if (bits - pos < wbits + lbits)
            return OTA_ERR_DELTA;
        GETBITS(wbits, dist);
        GETBITS(lbits, len);
        dist += 1;
        len += MIN_MATCH;
        if (dist > made)
            return OTA_ERR_DELTA; /* before the block's start: the window restarts at each block */
        for (i = 0; i < len; i++) {
            uint8_t b = d->win[(made - dist) & mask];
            d->win[made++ & mask] = b;
            if ((rc = op(d, b)) != OTA_OK)
                return rc;
        }
    }
#undef GETBITS
    return (p[n - 1] & (uint8_t)((1u << (bits - pos)) - 1u)) ? OTA_ERR_DELTA : OTA_OK; /* zero padding */
}

/* ---- the block stream --------------------------------------------------------------------- */

static int block(ota_delta_t *d)
{
    uint32_t n = ota_get_le16(d->blk), end = OTA_DELTA_HDR_SIZE + d->hdr.body_size;
    static const uint8_t zero[32] = {0};
    uint8_t got[32];
    ota_sha256_t h;
    int rc;
    ota_sha256_start(&h);
    ota_sha256_update(&h, d->blk, 2 + n + 32);
    ota_sha256_finish(&h, got);
    if (memcmp(got, d->cur.hash, 32) != 0)
        return OTA_ERR_HASH;
    if ((rc = decode(d, d->blk + 2, n)) != OTA_OK)
        return rc;
    memcpy(d->cur.hash, d->blk + 2 + n, 32);
    d->cur.patch_off += 2 + n + 32;
    d->blk_have = 0;
    if (d->cur.patch_off == end) {
        if (memcmp(d->cur.hash, zero, 32) != 0 || d->cur.phase != 0 || d->cur.shift ||
            d->cur.out_off != d->hdr.target_size)
            return OTA_ERR_DELTA;
        d->done = 1;
    }
    d->at = d->cur;
    return OTA_OK;
}

int ota_delta_feed(ota_delta_t *d, const uint8_t *p, uint32_t len)
{
    uint32_t end = OTA_DELTA_HDR_SIZE + d->hdr.body_size;
    int rc;
    if (!d->hdr_ok)
        return OTA_ERR_STATE;
    while (len) {
        uint32_t want, n;
        if (d->done)
            return OTA_ERR_DELTA; /* bytes past the last block */
        want = d->blk_have < 2 ? 2 : 2 + ota_get_le16(d->blk) + 32u;
        n = want - d->blk_have < len ? want - d->blk_have : len;
        memcpy(d->blk + d->blk_have, p, n);
        d->blk_have += n;
        p += n;
        len -= n;
        if (d->blk_have == 2) {
            uint32_t bl = ota_get_le16(d->blk);
            if (bl == 0 || bl > d->hdr.block_max || bl + 2u + 32u > end - d->cur.patch_off)
                return OTA_ERR_DELTA;
        } else if (d->blk_have == want && (rc = block(d)) != OTA_OK) {
            return rc;
        }
    }
    return OTA_OK;
}

uint32_t ota_delta_rewind(ota_delta_t *d)
{
    d->blk_have = 0;
    return d->cur.patch_off;
}

/* ---- start, resume, finish ---------------------------------------------------------------- */

static int resume(ota_delta_t *d, const ota_delta_ckpt_t *ck)
{
    ota_ctx_t *ota = d->ota;
    uint32_t r = OTA_RESUME_AUTO, size = 0, base, o, n;
    int rc;
    if (memcmp(ck->id, d->hdr.first_hash, 8) != 0 || ck->patch_off >= OTA_DELTA_HDR_SIZE + d->hdr.body_size ||
        ck->out_off > d->hdr.target_size || ck->old_pos > d->hdr.base_size)
        return 1;
    if (ota->rec.state != OTA_STATE_DOWNLOADING || ota->rec.size != d->hdr.target_size)
        return 1;
    if (ota_resume(ota, &r, &size) != OTA_OK || size != d->hdr.target_size || r < ck->out_off)
        return 1; /* flash does not reach the checkpoint: start over */
    base = ota->cfg.layout->slot[ota->w_slot].off;
    for (o = 0; o < r; o += n) {
        n = r - o < sizeof d->blk ? r - o : (uint32_t)sizeof d->blk;
        if ((rc = ota_flash_read(ota->cfg.flash, base + o, d->blk, n)) != OTA_OK)
            return rc;
        ota_sha256_update(hctx(d), d->blk, n);
    }
    d->skip_to = r;
    d->cur = *ck;
    d->at = *ck;
    d->progress_seen = ota->rec.progress;
    return OTA_OK;
}

int ota_delta_start(ota_delta_t *d, ota_ctx_t *ota, const ota_delta_hdr_t *hdr, const ota_delta_ckpt_t *ck,
                    uint32_t *next_off)
{
    void (*cb)(void *, const ota_delta_ckpt_t *) = d->checkpoint;
    void *arg = d->checkpoint_arg;
    uint8_t sha[32];
    int rc;
    if (!ota || !hdr || !next_off)
        return OTA_ERR_ARG;
    memset(d, 0, offsetof(ota_delta_t, hash_ctx));
    d->checkpoint = cb;
    d->checkpoint_arg = arg;
    d->ota = ota;
    d->hdr = *hdr;
    if ((rc = ota_delta_base_sha(ota, hdr->base_size, sha)) != OTA_OK)
        return rc;
    if (memcmp(sha, hdr->base_sha, 32) != 0)
        return OTA_ERR_DELTA_BASE;
    d->base_addr = running_base(ota);
    ota_sha256_start(hctx(d));
    rc = ck ? resume(d, ck) : 1;
    if (rc < 0) {
        ota_sha256_finish(hctx(d), sha);
        return rc;
    }
    if (rc == 1) {
        ota_sha256_finish(hctx(d), sha);
        ota_sha256_start(hctx(d));
        if ((rc = ota_begin(ota, hdr->target_size)) != OTA_OK) {
            ota_sha256_finish(hctx(d), sha);
            return rc;
        }
        memcpy(d->cur.id, hdr->first_hash, 8);
        d->cur.patch_off = OTA_DELTA_HDR_SIZE;
        memcpy(d->cur.hash, hdr->first_hash, 32);
        d->at = d->cur;
        d->progress_seen = ota->rec.progress;
        if (d->checkpoint)
            d->checkpoint(d->checkpoint_arg, &d->at);
    }
    d->hdr_ok = 1;
    *next_off = d->cur.patch_off;
    return OTA_OK;
}

int ota_delta_finish(ota_delta_t *d)
{
    uint8_t got[32];
    int rc;
    if (!d->hdr_ok)
        return OTA_ERR_STATE;
    if ((rc = flush(d)) != OTA_OK)
        return rc;
    d->hdr_ok = 0;
    ota_sha256_finish(hctx(d), got);
    if (!d->done)
        return OTA_ERR_INCOMPLETE;
    if (memcmp(got, d->hdr.target_sha, 32) != 0)
        return OTA_ERR_HASH;
    return ota_end(d->ota);
}
