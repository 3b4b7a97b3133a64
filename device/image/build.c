/* The TLV area builder (see otakit/image.h): writes what the verifier's rules accept. */
#include <string.h>

#include "otakit/image.h"

#include "core/le.h"

void ota_tlv_area_begin(ota_tlv_writer_t *w, uint8_t *buf, uint32_t cap, int is_protected)
{
    w->buf = buf;
    w->cap = buf ? cap : 0;
    w->len = OTA_TLV_INFO_SIZE;
    w->seen = 0;
    w->count = 0;
    w->is_protected = is_protected ? 1 : 0;
    w->err = buf && cap < OTA_TLV_INFO_SIZE ? OTA_ERR_NO_SPACE : OTA_OK;
}

/* The table's rule for type in this area: OTA_OK or why it may not go there. */
static int admit(const ota_tlv_writer_t *w, const ota_tlv_def_t *d, const void *val, uint16_t len)
{
    if (!w->is_protected) {
        if (!d || !(d->flags & OTA_TLVF_UNPROT))
            return OTA_ERR_TLV_UNPROTECTED;
    } else if (d) {
        if (!(d->flags & OTA_TLVF_PROT))
            return OTA_ERR_TLV_VALUE;
        if ((d->flags & OTA_TLVF_ONCE) && (w->seen & (1UL << d->index)))
            return OTA_ERR_TLV_DUP;
    }
    return d ? ota_tlv_check(d, (const uint8_t *)val, len) : OTA_OK;
}

int ota_tlv_put(ota_tlv_writer_t *w, uint16_t type, const void *val, uint16_t len)
{
    const ota_tlv_def_t *d = ota_tlv_def(type);
    uint32_t need = OTA_TLV_HDR_SIZE + (uint32_t)len;
    int rc;

    if (w->err != OTA_OK)
        return w->err;
    if (len && !val)
        rc = OTA_ERR_ARG;
    else if ((rc = admit(w, d, val, len)) != OTA_OK)
        ;
    else if (w->len + need > 0xffffu)
        rc = OTA_ERR_TLV_LEN; /* the info header's tot is 16 bits */
    else if (w->buf && w->len + need > w->cap)
        rc = OTA_ERR_NO_SPACE;
    if (rc != OTA_OK)
        return w->err = rc;
    if (w->buf) {
        ota_put_le16(w->buf + w->len, type);
        ota_put_le16(w->buf + w->len + 2, len);
        if (len)
            memcpy(w->buf + w->len + OTA_TLV_HDR_SIZE, val, len);
    }
    w->len += need;
    w->count++;
    if (d)
        w->seen |= 1UL << d->index;
    return OTA_OK;
}

int ota_tlv_area_end(ota_tlv_writer_t *w, uint32_t *len)
{
    *len = 0;
    if (w->err != OTA_OK)
        return w->err;
    if (w->is_protected && w->count == 0)
        return OTA_OK; /* no protected TLVs: no protected area */
    if (w->buf) {
        ota_put_le16(w->buf, w->is_protected ? OTA_TLV_PROT_INFO_MAGIC : OTA_TLV_INFO_MAGIC);
        ota_put_le16(w->buf + 2, (uint16_t)w->len);
    }
    *len = w->len;
    return OTA_OK;
}
