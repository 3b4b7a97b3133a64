/* MCUboot's image trailer, written and read as bootutil does (see otakit/mcuboot.h). */
#include "otakit/mcuboot.h"

#include <string.h>

#include "otakit/err.h"

/* bootutil_public.c boot_img_magic (as bytes, little-endian words) and its alternate magic. */
static const uint8_t magic8[16] = {0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
                                   0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80};
static const uint8_t magic_alt[14] = {0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d,
                                      0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a};

#define FLAG_SET 0x01 /* BOOT_FLAG_SET */

void ota_mcuboot_magic(uint32_t max_align, uint8_t out[16])
{
    if (max_align == 8) {
        memcpy(out, magic8, 16);
        return;
    }
    out[0] = (uint8_t)max_align;
    out[1] = (uint8_t)(max_align >> 8);
    memcpy(out + 2, magic_alt, sizeof magic_alt);
}

uint32_t ota_mcuboot_max_align(uint32_t write_size)
{
    return write_size > 8 ? write_size : 8;
}

static uint32_t align_up(uint32_t v, uint32_t a)
{
    return (v + a - 1) / a * a;
}

uint32_t ota_mcuboot_trailer_size(ota_mcuboot_mode_t mode, uint32_t write_size, uint32_t max_sectors)
{
    uint32_t m = ota_mcuboot_max_align(write_size);
    uint32_t per = mode == OTA_MCUBOOT_SWAP_SCRATCH ? 3 : mode == OTA_MCUBOOT_SWAP_MOVE ? 2 : 0;
    return max_sectors * per * write_size + 4 * m + align_up(16, m);
}

/* Offsets from the slot start (boot_magic_off(), boot_image_ok_off(), ...). */
static uint32_t magic_area_off(const ota_flash_t *f, const ota_area_t *s)
{
    return s->size - align_up(16, ota_mcuboot_max_align(f->write_size));
}
static uint32_t image_ok_off(const ota_flash_t *f, const ota_area_t *s)
{
    return magic_area_off(f, s) - ota_mcuboot_max_align(f->write_size);
}
static uint32_t copy_done_off(const ota_flash_t *f, const ota_area_t *s)
{
    return image_ok_off(f, s) - ota_mcuboot_max_align(f->write_size);
}
static uint32_t swap_info_off(const ota_flash_t *f, const ota_area_t *s)
{
    return copy_done_off(f, s) - ota_mcuboot_max_align(f->write_size);
}

static int all_erased(const ota_flash_t *f, const uint8_t *p, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        if (p[i] != f->erased_val)
            return 0;
    return 1;
}

static int read_at(const ota_flash_t *f, const ota_area_t *s, uint32_t off, void *buf, uint32_t n)
{
    return ota_flash_read(f, s->off + off, buf, n) == OTA_OK ? OTA_OK : OTA_ERR_FLASH_READ;
}

static uint8_t flag_decode(const ota_flash_t *f, uint8_t v)
{
    return v == f->erased_val ? OTA_MCUBOOT_UNSET : v == FLAG_SET ? OTA_MCUBOOT_GOOD : OTA_MCUBOOT_BAD;
}

static int slot_ok(const ota_flash_t *f, const ota_area_t *s)
{
    return f && s && ota_flash_check(f) == OTA_OK && s->size >= ota_mcuboot_trailer_size(OTA_MCUBOOT_OVERWRITE_ONLY,
                                                                                     f->write_size, 0) &&
           s->off + s->size <= f->size && s->size % ota_mcuboot_max_align(f->write_size) == 0;
}

int ota_mcuboot_read(const ota_flash_t *f, const ota_area_t *s, ota_mcuboot_state_t *st)
{
    uint8_t magic[16], want[16], b;
    int rc;
    if (!slot_ok(f, s) || !st)
        return OTA_ERR_ARG;
    if ((rc = read_at(f, s, s->size - 16, magic, 16)) != OTA_OK)
        return rc;
    ota_mcuboot_magic(ota_mcuboot_max_align(f->write_size), want);
    st->magic = all_erased(f, magic, 16) ? OTA_MCUBOOT_UNSET
                : memcmp(magic, want, 16) == 0 ? OTA_MCUBOOT_GOOD : OTA_MCUBOOT_BAD;
    if ((rc = read_at(f, s, swap_info_off(f, s), &b, 1)) != OTA_OK)
        return rc;
    st->swap_type = (uint8_t)(b & 0x0f);
    st->image_num = (uint8_t)(b >> 4);
    if (b == f->erased_val || st->swap_type > OTA_MCUBOOT_REVERT) {
        st->swap_type = OTA_MCUBOOT_NONE;
        st->image_num = 0;
    }
    if ((rc = read_at(f, s, copy_done_off(f, s), &b, 1)) != OTA_OK)
        return rc;
    st->copy_done = flag_decode(f, b);
    if ((rc = read_at(f, s, image_ok_off(f, s), &b, 1)) != OTA_OK)
        return rc;
    st->image_ok = flag_decode(f, b);
    return OTA_OK;
}

int ota_mcuboot_swap_type(const ota_mcuboot_state_t *p, const ota_mcuboot_state_t *s)
{
    /* boot_swap_tables[], in its order: the secondary slot's settings come first. */
    if (s->magic == OTA_MCUBOOT_GOOD && s->image_ok == OTA_MCUBOOT_UNSET)
        return OTA_MCUBOOT_TEST;
    if (s->magic == OTA_MCUBOOT_GOOD && s->image_ok == OTA_MCUBOOT_GOOD)
        return OTA_MCUBOOT_PERM;
    if (p->magic == OTA_MCUBOOT_GOOD && s->magic == OTA_MCUBOOT_UNSET && p->image_ok == OTA_MCUBOOT_UNSET &&
        p->copy_done == OTA_MCUBOOT_GOOD)
        return OTA_MCUBOOT_REVERT;
    return OTA_MCUBOOT_NONE;
}

/* boot_write_trailer(): one byte, padded with the erased value to the write size. */
static int write_flag(const ota_flash_t *f, const ota_area_t *s, uint32_t off, uint8_t v)
{
    uint8_t buf[32];
    memset(buf, f->erased_val, sizeof buf);
    buf[0] = v;
    return ota_flash_write(f, s->off + off, buf, f->write_size) == OTA_OK ? OTA_OK : OTA_ERR_FLASH_WRITE;
}

/* boot_write_magic(): MA bytes ending at the slot's end, the magic in the last 16. */
static int write_magic(const ota_flash_t *f, const ota_area_t *s)
{
    uint8_t buf[32];
    uint32_t ma = align_up(16, ota_mcuboot_max_align(f->write_size));
    memset(buf, f->erased_val, sizeof buf);
    ota_mcuboot_magic(ota_mcuboot_max_align(f->write_size), buf + ma - 16);
    return ota_flash_write(f, s->off + s->size - ma, buf, ma) == OTA_OK ? OTA_OK : OTA_ERR_FLASH_WRITE;
}

int ota_mcuboot_request_upgrade(const ota_flash_t *f, const ota_area_t *s, int permanent)
{
    ota_mcuboot_state_t st;
    uint8_t b[32];
    uint32_t from;
    int rc;
    if ((rc = ota_mcuboot_read(f, s, &st)) != OTA_OK)
        return rc;
    if (st.magic == OTA_MCUBOOT_GOOD)
        return OTA_OK; /* "Swap already scheduled." */
    if (st.magic == OTA_MCUBOOT_BAD)
        return OTA_ERR_STATE;
    /* Everything from swap_info to the end must be erased, or the writes would break NOR rules. */
    for (from = swap_info_off(f, s); from < s->size; from += sizeof b) {
        uint32_t n = s->size - from < sizeof b ? s->size - from : (uint32_t)sizeof b;
        if ((rc = read_at(f, s, from, b, n)) != OTA_OK)
            return rc;
        if (!all_erased(f, b, n))
            return OTA_ERR_STATE;
    }
    if (permanent && (rc = write_flag(f, s, image_ok_off(f, s), FLAG_SET)) != OTA_OK)
        return rc;
    if ((rc = write_magic(f, s)) != OTA_OK)
        return rc;
    /* BOOT_SET_SWAP_INFO(swap_info, 0, type) */
    return write_flag(f, s, swap_info_off(f, s), (uint8_t)(permanent ? OTA_MCUBOOT_PERM : OTA_MCUBOOT_TEST));
}

int ota_mcuboot_confirm(const ota_flash_t *f, const ota_area_t *p)
{
    ota_mcuboot_state_t st;
    int rc;
    if ((rc = ota_mcuboot_read(f, p, &st)) != OTA_OK)
        return rc;
    if (st.magic == OTA_MCUBOOT_UNSET)
        return OTA_OK; /* "Already confirmed." */
    if (st.magic == OTA_MCUBOOT_BAD)
        return OTA_ERR_STATE;
    if (st.image_ok != OTA_MCUBOOT_UNSET)
        return OTA_OK;
    return write_flag(f, p, image_ok_off(f, p), FLAG_SET);
}

int ota_mcuboot_on_trial(const ota_flash_t *f, const ota_area_t *p)
{
    ota_mcuboot_state_t st;
    int rc;
    if ((rc = ota_mcuboot_read(f, p, &st)) != OTA_OK)
        return rc;
    return st.magic == OTA_MCUBOOT_GOOD && st.image_ok == OTA_MCUBOOT_UNSET;
}
