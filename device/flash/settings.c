/* Settings in two flash sectors, power-cut safe (see otakit/settings.h). */
#include "otakit/settings.h"

#include <string.h>

#include "core/le.h"
#include "otakit/ota.h"

#define SETTINGS_MAGIC 0x5341544fu /* "OTAS" */
#define HDR 12u                    /* magic, seq, len */
#define CRC_AT (OTA_SETTINGS_RECORD - 4u)

/* Reads the record of sector i into rec; returns its sequence number, or 0 when it is not valid. */
static uint32_t read_record(const ota_settings_flash_t *s, unsigned i, uint8_t rec[OTA_SETTINGS_RECORD], int *err)
{
    int rc = ota_flash_read(s->flash, s->sector[i], rec, OTA_SETTINGS_RECORD);
    if (rc != OTA_OK) {
        *err = rc;
        return 0;
    }
    if (ota_get_le32(rec) != SETTINGS_MAGIC || ota_get_le32(rec + 8) > OTA_SETTINGS_MAX ||
        ota_get_le32(rec + CRC_AT) != ota_crc32(0, rec, CRC_AT))
        return 0;
    return ota_get_le32(rec + 4);
}

/* Finds the newest valid record: *which (0, 1 or -1 for none) and its seq; rec then holds it. */
static int newest(const ota_settings_flash_t *s, uint8_t rec[OTA_SETTINGS_RECORD], int *which, uint32_t *seq)
{
    int err = OTA_OK;
    uint32_t a = read_record(s, 0, rec, &err), b = read_record(s, 1, rec, &err);
    if (err != OTA_OK && !a && !b)
        return err;
    *which = a || b ? (a >= b ? 0 : 1) : -1;
    *seq = a >= b ? a : b;
    if (*which == 0 && read_record(s, 0, rec, &err) != a) /* rec holds sector 1's: read 0 again */
        return err != OTA_OK ? err : OTA_ERR_FLASH_READ;
    return OTA_OK;
}

static int flash_load(void *ctx, void *buf, uint32_t cap)
{
    const ota_settings_flash_t *s = ctx;
    uint8_t rec[OTA_SETTINGS_RECORD];
    uint32_t seq, len;
    int which, rc;
    if ((rc = newest(s, rec, &which, &seq)) != OTA_OK)
        return rc;
    if (which < 0)
        return 0;
    len = ota_get_le32(rec + 8);
    if (len > cap)
        return OTA_ERR_NO_SPACE;
    memcpy(buf, rec + HDR, len);
    return (int)len;
}

static int flash_save(void *ctx, const void *buf, uint32_t len)
{
    const ota_settings_flash_t *s = ctx;
    uint8_t rec[OTA_SETTINGS_RECORD], back[32];
    uint32_t seq, i;
    int which, rc;
    unsigned to;
    if (len > OTA_SETTINGS_MAX || (len && !buf))
        return OTA_ERR_ARG;
    if ((rc = newest(s, rec, &which, &seq)) != OTA_OK)
        return rc;
    to = which == 0 ? 1u : 0u; /* never the sector holding the newest value */
    memset(rec, s->flash->erased_val, sizeof rec);
    ota_put_le32(rec, SETTINGS_MAGIC);
    ota_put_le32(rec + 4, seq + 1);
    ota_put_le32(rec + 8, len);
    if (len)
        memcpy(rec + HDR, buf, len);
    ota_put_le32(rec + CRC_AT, ota_crc32(0, rec, CRC_AT));
    if ((rc = ota_flash_erase(s->flash, s->sector[to])) != OTA_OK ||
        (rc = ota_flash_write(s->flash, s->sector[to], rec, sizeof rec)) != OTA_OK)
        return rc;
    for (i = 0; i < sizeof rec; i += sizeof back) { /* read back: a weak program fails here, not later */
        if ((rc = ota_flash_read(s->flash, s->sector[to] + i, back, sizeof back)) != OTA_OK)
            return rc;
        if (memcmp(rec + i, back, sizeof back) != 0)
            return OTA_ERR_FLASH_WRITE;
    }
    return OTA_OK;
}

int ota_settings_flash_init(ota_settings_flash_t *s, const ota_flash_t *flash, uint32_t off, uint32_t size)
{
    uint32_t start, sz0, sz1;
    if (!s || !flash || ota_flash_check(flash) != OTA_OK)
        return OTA_ERR_ARG;
    if (ota_flash_sector(flash, off, &start, &sz0) != OTA_OK || start != off || sz0 >= size ||
        ota_flash_sector(flash, off + sz0, &start, &sz1) != OTA_OK || sz0 + sz1 > size ||
        sz0 < OTA_SETTINGS_RECORD || sz1 < OTA_SETTINGS_RECORD)
        return OTA_ERR_LAYOUT;
    memset(s, 0, sizeof *s);
    s->flash = flash;
    s->sector[0] = off;
    s->sector[1] = off + sz0;
    s->settings.load = flash_load;
    s->settings.save = flash_save;
    s->settings.ctx = s;
    return OTA_OK;
}
