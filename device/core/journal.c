/*
 * The boot-state journal: ota_record_t persisted as append-only 32-byte entries in the state area
 * (two or more sectors).
 *
 * Entry: u16 magic, u32 seq, fields, u32 CRC-32 of the first 28 bytes. The newest valid entry
 * (highest seq with a good CRC) is the state. Saving appends the next entry in the first fully
 * erased slot after the newest one; a torn write fails its CRC and is simply skipped over next time.
 * When a sector is full, the next sector (which only holds older entries) is erased and writing
 * continues there, so the newest entry is never erased. A torn erase leaves garbage that fails CRC,
 * or old entries with lower seq. Like ESP-IDF's two-copy otadata, but one erase per sector's worth
 * of updates instead of one per update.
 */
#include "core/journal.h"

#include <string.h>

#include "core/le.h"

#define JOURNAL_MAGIC 0x4b4fu /* "OK" */

static void encode(const ota_record_t *r, uint8_t e[OTA_JOURNAL_ENTRY])
{
    ota_put_le16(e + 0, JOURNAL_MAGIC);
    ota_put_le32(e + 2, r->seq);
    e[6] = r->state;
    e[7] = r->active;
    e[8] = r->target;
    e[9] = r->boot_count;
    e[10] = r->swap_step;
    e[11] = r->swap_op;
    ota_put_le32(e + 12, r->security_counter);
    ota_put_le32(e + 16, r->size);
    ota_put_le32(e + 20, r->progress);
    ota_put_le16(e + 24, r->swap_chunks);
    ota_put_le16(e + 26, r->swap_chunk);
    ota_put_le32(e + 28, ota_crc32(0, e, 28));
}

static int decode(const uint8_t e[OTA_JOURNAL_ENTRY], ota_record_t *r)
{
    if (ota_get_le16(e) != JOURNAL_MAGIC || ota_get_le32(e + 28) != ota_crc32(0, e, 28))
        return 0;
    r->seq = ota_get_le32(e + 2);
    r->state = e[6];
    r->active = e[7];
    r->target = e[8];
    r->boot_count = e[9];
    r->swap_step = e[10];
    r->swap_op = e[11];
    r->security_counter = ota_get_le32(e + 12);
    r->size = ota_get_le32(e + 16);
    r->progress = ota_get_le32(e + 20);
    r->swap_chunks = ota_get_le16(e + 24);
    r->swap_chunk = ota_get_le16(e + 26);
    /* A good CRC over impossible fields is not ours: ignore it. */
    return r->state <= OTA_STATE_ROLLBACK && r->active <= 1 && r->target <= 1 && r->swap_op <= 4 &&
           r->swap_step <= 2 && r->swap_chunk <= r->swap_chunks;
}

int ota_journal_load(ota_ctx_t *ctx)
{
    const ota_area_t *a = &ctx->cfg.layout->state;
    uint8_t e[OTA_JOURNAL_ENTRY];
    ota_record_t r;
    uint32_t off;
    int rc;

    memset(&ctx->rec, 0, sizeof ctx->rec);
    ctx->journal_valid = 0;
    ctx->journal_last = a->off;
    ctx->journal_next = a->off;
    for (off = a->off; off < a->off + a->size; off += OTA_JOURNAL_ENTRY) {
        if ((rc = ota_flash_read(ctx->cfg.flash, off, e, sizeof e)) != OTA_OK)
            return rc;
        if (!decode(e, &r))
            continue;
        if (!ctx->journal_valid || r.seq > ctx->rec.seq) {
            ctx->rec = r;
            ctx->journal_valid = 1;
            ctx->journal_last = off;
            ctx->journal_next = off + OTA_JOURNAL_ENTRY;
        }
    }
    return OTA_OK;
}

int ota_journal_save(ota_ctx_t *ctx, const ota_record_t *rec)
{
    const ota_flash_t *f = ctx->cfg.flash;
    const ota_area_t *a = &ctx->cfg.layout->state;
    uint8_t e[OTA_JOURNAL_ENTRY], back[OTA_JOURNAL_ENTRY];
    uint32_t off = ctx->journal_next, start, size, last_start, last_size, tries;
    ota_record_t r = *rec;
    int rc;

    r.seq = ctx->journal_valid ? ctx->rec.seq + 1 : 1;
    encode(&r, e);
    if (ota_flash_sector(f, ctx->journal_last, &last_start, &last_size) != OTA_OK)
        return OTA_ERR_JOURNAL;

    for (tries = a->size / OTA_JOURNAL_ENTRY + 1; tries; tries--) {
        if (off >= a->off + a->size)
            off = a->off;
        if ((rc = ota_flash_sector(f, off, &start, &size)) != OTA_OK)
            return OTA_ERR_JOURNAL;
        if (off == start) {
            /* Entering a sector: it holds only entries older than the newest, or garbage. */
            if (ctx->journal_valid && start == last_start)
                return OTA_ERR_JOURNAL;
            if ((rc = ota_flash_is_erased(f, start, size)) < 0)
                return rc;
            if (!rc && (rc = ota_flash_erase(f, start)) != OTA_OK)
                return rc;
        }
        if ((rc = ota_flash_is_erased(f, off, OTA_JOURNAL_ENTRY)) < 0)
            return rc;
        if (rc == 1) {
            if ((rc = ota_flash_write(f, off, e, sizeof e)) != OTA_OK)
                return rc;
            if ((rc = ota_flash_read(f, off, back, sizeof back)) != OTA_OK)
                return rc;
            if (memcmp(e, back, sizeof e) == 0) {
                ctx->rec = r;
                ctx->journal_valid = 1;
                ctx->journal_last = off;
                ctx->journal_next = off + OTA_JOURNAL_ENTRY;
                return OTA_OK;
            }
        }
        off += OTA_JOURNAL_ENTRY; /* dirty or weak slot: leave it, take the next */
    }
    return OTA_ERR_JOURNAL;
}
