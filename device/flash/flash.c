/* Flash helpers over a port's ops: bounds, sectors, erase ranges, erased checks. */
#include "otakit/flash.h"

#include <string.h>

int ota_flash_check(const ota_flash_t *f)
{
    uint32_t total = 0;
    unsigned i;
    if (!f || !f->ops || !f->ops->read || !f->ops->write || !f->ops->erase || !f->runs || !f->n_runs)
        return OTA_ERR_ARG;
    if (f->write_size == 0 || f->write_size > OTA_FLASH_MAX_WRITE_SIZE || (f->write_size & (f->write_size - 1)))
        return OTA_ERR_ARG;
    if (f->erased_val != 0xff && f->erased_val != 0x00)
        return OTA_ERR_ARG;
    for (i = 0; i < f->n_runs; i++) {
        if (!f->runs[i].size || !f->runs[i].count || f->runs[i].size % f->write_size)
            return OTA_ERR_ARG;
        if (f->runs[i].count > (UINT32_MAX - total) / f->runs[i].size)
            return OTA_ERR_ARG;
        total += f->runs[i].count * f->runs[i].size;
    }
    return total == f->size ? OTA_OK : OTA_ERR_ARG;
}

int ota_flash_sector(const ota_flash_t *f, uint32_t addr, uint32_t *start, uint32_t *size)
{
    uint32_t base = 0;
    unsigned i;
    for (i = 0; i < f->n_runs; i++) {
        uint32_t run = f->runs[i].count * f->runs[i].size;
        if (addr - base < run) {
            uint32_t k = (addr - base) / f->runs[i].size;
            *start = base + k * f->runs[i].size;
            *size = f->runs[i].size;
            return OTA_OK;
        }
        base += run;
    }
    return OTA_ERR_ARG;
}

static int in_range(const ota_flash_t *f, uint32_t addr, uint32_t len)
{
    return addr <= f->size && len <= f->size - addr;
}

int ota_flash_read(const ota_flash_t *f, uint32_t addr, void *buf, uint32_t len)
{
    if (!in_range(f, addr, len))
        return OTA_ERR_FLASH_RANGE;
    if (len == 0)
        return OTA_OK;
    return f->ops->read(f->ctx, addr, buf, len) == 0 ? OTA_OK : OTA_ERR_FLASH_READ;
}

int ota_flash_write(const ota_flash_t *f, uint32_t addr, const void *buf, uint32_t len)
{
    if (!in_range(f, addr, len) || addr % f->write_size || len % f->write_size)
        return OTA_ERR_FLASH_RANGE;
    if (len == 0)
        return OTA_OK;
    return f->ops->write(f->ctx, addr, buf, len) == 0 ? OTA_OK : OTA_ERR_FLASH_WRITE;
}

int ota_flash_erase(const ota_flash_t *f, uint32_t addr)
{
    uint32_t start, size;
    if (ota_flash_sector(f, addr, &start, &size) != OTA_OK || start != addr)
        return OTA_ERR_FLASH_RANGE;
    return f->ops->erase(f->ctx, addr) == 0 ? OTA_OK : OTA_ERR_FLASH_ERASE;
}

int ota_flash_erase_range(const ota_flash_t *f, uint32_t addr, uint32_t len)
{
    uint32_t start, size, end, a;
    int rc;
    if (!in_range(f, addr, len))
        return OTA_ERR_FLASH_RANGE;
    end = addr + len;
    /* Check the whole range first: a bad range must erase nothing. */
    for (a = addr; a < end; a += size)
        if (ota_flash_sector(f, a, &start, &size) != OTA_OK || start != a || size > end - a)
            return OTA_ERR_FLASH_RANGE;
    for (a = addr; a < end; a += size) {
        ota_flash_sector(f, a, &start, &size);
        if ((rc = ota_flash_erase(f, a)) != OTA_OK)
            return rc;
    }
    return OTA_OK;
}

int ota_flash_is_erased(const ota_flash_t *f, uint32_t addr, uint32_t len)
{
    uint8_t buf[64];
    while (len) {
        uint32_t n = len < sizeof buf ? len : (uint32_t)sizeof buf, i;
        int rc = ota_flash_read(f, addr, buf, n);
        if (rc != OTA_OK)
            return rc;
        for (i = 0; i < n; i++)
            if (buf[i] != f->erased_val)
                return 0;
        addr += n;
        len -= n;
    }
    return 1;
}

int ota_area_read(void *reader, uint32_t off, void *buf, uint32_t len)
{
    const ota_area_reader_t *r = (const ota_area_reader_t *)reader;
    if (off > r->size || len > r->size - off)
        return -1;
    return ota_flash_read(r->flash, r->off + off, buf, len) == OTA_OK ? 0 : -1;
}
