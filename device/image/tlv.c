/*
 * The TLV table (see otakit/tlv.h) and the protected-area reader that applies it: the one set of
 * protected-TLV rules for the verifier, the device's pre-check and the builder.
 */
#include <string.h>

#include "otakit/image.h"

#include "core/le.h"

#define OTA_TLV_X_DEF(name, type, kind, flags, max) {(type), (kind), (flags), (max), OTA_TLV_IDX_##name},
#define OTA_TLV_X_IDX(name, type, kind, flags, max) OTA_TLV_IDX_##name,
enum { OTA_TLV_TABLE(OTA_TLV_X_IDX) OTA_TLV_COUNT };

static const ota_tlv_def_t table[OTA_TLV_COUNT] = {OTA_TLV_TABLE(OTA_TLV_X_DEF)};

/* Compile-time checks of the table: at most 32 entries (one bit each in a uint32_t) and no text
 * value longer than OTA_TLV_TEXT_MAX (the reader's buffer). */
typedef char ota_tlv_table_fits[OTA_TLV_COUNT <= 32 ? 1 : -1];
#define OTA_TLV_X_TEXT(name, type, kind, flags, max)                                               \
    typedef char ota_tlv_text_fits_##name[((kind) == OTA_TLVK_IDENT || (kind) == OTA_TLVK_IDENT_LIST) && \
                                                  (max) > OTA_TLV_TEXT_MAX                          \
                                              ? -1                                                  \
                                              : 1];
OTA_TLV_TABLE(OTA_TLV_X_TEXT)

const ota_tlv_def_t *ota_tlv_def(uint16_t type)
{
    unsigned i;
    for (i = 0; i < OTA_TLV_COUNT; i++)
        if (table[i].type == type)
            return &table[i];
    return NULL;
}

const ota_tlv_def_t *ota_tlv_table(unsigned *n)
{
    *n = OTA_TLV_COUNT;
    return table;
}

int ota_tlv_check(const ota_tlv_def_t *d, const uint8_t *val, uint32_t len)
{
    switch (d->kind) {
    case OTA_TLVK_FIXED:
    case OTA_TLVK_U32:
        return len == d->max ? OTA_OK : OTA_ERR_TLV_LEN;
    case OTA_TLVK_IDENT:
    case OTA_TLVK_IDENT_LIST:
        if (len == 0 || len > d->max)
            return OTA_ERR_TLV_LEN;
        if (val && !ota_ident_valid((const char *)val, len, d->max, d->kind == OTA_TLVK_IDENT_LIST))
            return OTA_ERR_TLV_VALUE;
        return OTA_OK;
    default:
        return d->max && len > d->max ? OTA_ERR_TLV_LEN : OTA_OK;
    }
}

/* Checks one protected TLV and keeps the facts the device acts on in info. */
static int protected_tlv(ota_read_fn read, void *ctx, const ota_tlv_t *t, uint32_t *seen, ota_image_info_t *info)
{
    const ota_tlv_def_t *d = ota_tlv_def(t->type);
    uint8_t v[OTA_TLV_TEXT_MAX];
    int rc;

    if (!d)
        return OTA_OK; /* another vendor's TLV: hashed, not interpreted */
    if (!(d->flags & OTA_TLVF_PROT))
        return OTA_ERR_TLV_VALUE;
    if ((d->flags & OTA_TLVF_ONCE) && (*seen & (1UL << d->index)))
        return OTA_ERR_TLV_DUP;
    if ((rc = ota_tlv_check(d, NULL, t->len)) != OTA_OK)
        return rc;
    *seen |= 1UL << d->index;
    if (d->kind != OTA_TLVK_U32 && d->kind != OTA_TLVK_IDENT && d->kind != OTA_TLVK_IDENT_LIST)
        return OTA_OK; /* opaque: its length was all there was to check */
    if (read(ctx, t->off, v, t->len) != 0)
        return OTA_ERR_IO;
    if ((rc = ota_tlv_check(d, v, t->len)) != OTA_OK)
        return rc;
    if (t->type == OTA_TLV_SEC_CNT) {
        info->security_counter = ota_get_le32(v);
        info->has_security_counter = 1;
    } else if (t->type == OTA_TLV_PRODUCT || t->type == OTA_TLV_HW_REV) {
        char *dst = t->type == OTA_TLV_PRODUCT ? info->product : info->hw_rev;
        memcpy(dst, v, t->len);
        dst[t->len] = '\0';
    }
    return OTA_OK;
}

int ota_image_read_protected(ota_read_fn read, void *ctx, const ota_image_layout_t *layout, ota_image_info_t *info)
{
    ota_tlv_iter_t it;
    ota_tlv_t t;
    uint32_t seen = 0;
    int rc;

    ota_tlv_iter_init(&it, read, ctx, layout);
    while (it.area == 0 && it.off < it.end) { /* the protected area only: nothing after it is read */
        if ((rc = ota_tlv_next(&it, &t)) < 0)
            return rc;
        if ((rc = protected_tlv(read, ctx, &t, &seen, info)) != OTA_OK)
            return rc;
    }
    return OTA_OK;
}
