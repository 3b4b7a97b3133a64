/* Partition map checks (see otakit/flash.h). */
#include <stddef.h>

#include "otakit/flash.h"

/* Area lies inside the flash and starts and ends on sector boundaries. Counts its sectors. */
static int area_ok(const ota_flash_t *f, const ota_area_t *a, uint32_t *sectors, uint32_t *max_sector)
{
    uint32_t addr = a->off, start, size, n = 0, mx = 0;
    if (a->size == 0 || a->off > f->size || a->size > f->size - a->off)
        return 0;
    while (addr < a->off + a->size) {
        if (ota_flash_sector(f, addr, &start, &size) != OTA_OK || start != addr || size > a->off + a->size - addr)
            return 0;
        if (size > mx)
            mx = size;
        addr += size;
        n++;
    }
    if (sectors)
        *sectors = n;
    if (max_sector)
        *max_sector = mx;
    return 1;
}

static int overlap(const ota_area_t *a, const ota_area_t *b)
{
    if (!a->size || !b->size)
        return 0;
    return a->off < b->off + b->size && b->off < a->off + a->size;
}

/* The two slots have the same sequence of sector sizes (so a swap moves whole sectors). */
static int same_geometry(const ota_flash_t *f, const ota_area_t *a, const ota_area_t *b)
{
    uint32_t off = 0, sa, za, sb, zb;
    if (a->size != b->size)
        return 0;
    while (off < a->size) {
        if (ota_flash_sector(f, a->off + off, &sa, &za) != OTA_OK ||
            ota_flash_sector(f, b->off + off, &sb, &zb) != OTA_OK || za != zb)
            return 0;
        off += za;
    }
    return 1;
}

int ota_layout_check(const ota_layout_t *l, const ota_flash_t *f)
{
    const ota_area_t *areas[5];
    uint32_t n, slot_max, scratch_max;
    unsigned i, j, count = 0;

    if (!l || ota_flash_check(f) != OTA_OK)
        return OTA_ERR_LAYOUT;
    if (!area_ok(f, &l->slot[0], NULL, &slot_max) || !area_ok(f, &l->slot[1], NULL, NULL))
        return OTA_ERR_LAYOUT;
    if (!area_ok(f, &l->state, &n, NULL) || n < 2)
        return OTA_ERR_LAYOUT;
    if (l->boot.size && !area_ok(f, &l->boot, NULL, NULL))
        return OTA_ERR_LAYOUT;
    if (l->strategy == OTA_STRATEGY_AB) {
        if (l->slot[0].size != l->slot[1].size)
            return OTA_ERR_LAYOUT;
    } else if (l->strategy == OTA_STRATEGY_SWAP) {
        if (!same_geometry(f, &l->slot[0], &l->slot[1]) || !area_ok(f, &l->scratch, NULL, &scratch_max) ||
            l->scratch.size < slot_max)
            return OTA_ERR_LAYOUT;
    } else {
        return OTA_ERR_LAYOUT;
    }
    areas[count++] = &l->boot;
    areas[count++] = &l->slot[0];
    areas[count++] = &l->slot[1];
    areas[count++] = &l->state;
    areas[count++] = &l->scratch;
    for (i = 0; i < count; i++)
        for (j = i + 1; j < count; j++)
            if (overlap(areas[i], areas[j]))
                return OTA_ERR_LAYOUT;
    return OTA_OK;
}
