/* Image header coding, TLV area layout and the TLV iterator (see otakit/image.h). */
#include "otakit/image.h"

#include "core/le.h"

int ota_image_header_decode(const uint8_t raw[OTA_IMAGE_HEADER_SIZE], ota_image_header_t *out)
{
    out->magic = ota_get_le32(raw + 0);
    out->load_addr = ota_get_le32(raw + 4);
    out->hdr_size = ota_get_le16(raw + 8);
    out->protect_tlv_size = ota_get_le16(raw + 10);
    out->img_size = ota_get_le32(raw + 12);
    out->flags = ota_get_le32(raw + 16);
    out->version.major = raw[20];
    out->version.minor = raw[21];
    out->version.revision = ota_get_le16(raw + 22);
    out->version.build = ota_get_le32(raw + 24);
    if (out->magic != OTA_IMAGE_MAGIC)
        return OTA_ERR_MAGIC;
    if (out->hdr_size < OTA_IMAGE_HEADER_SIZE)
        return OTA_ERR_HDR_SIZE;
    if (out->flags & OTA_IMAGE_F_UNSUPPORTED)
        return OTA_ERR_FLAGS;
    return OTA_OK;
}

void ota_image_header_encode(const ota_image_header_t *h, uint8_t raw[OTA_IMAGE_HEADER_SIZE])
{
    ota_put_le32(raw + 0, h->magic);
    ota_put_le32(raw + 4, h->load_addr);
    ota_put_le16(raw + 8, h->hdr_size);
    ota_put_le16(raw + 10, h->protect_tlv_size);
    ota_put_le32(raw + 12, h->img_size);
    ota_put_le32(raw + 16, h->flags);
    raw[20] = h->version.major;
    raw[21] = h->version.minor;
    ota_put_le16(raw + 22, h->version.revision);
    ota_put_le32(raw + 24, h->version.build);
    ota_put_le32(raw + 28, 0);
}

/* Reads a TLV info header {magic, tot} at off, which must lie (with tot) inside avail. */
static int read_info(ota_read_fn read, void *ctx, uint32_t avail, uint32_t off, uint16_t *magic,
                     uint16_t *tot)
{
    uint8_t b[OTA_TLV_INFO_SIZE];
    if (off > avail || avail - off < OTA_TLV_INFO_SIZE)
        return OTA_ERR_TRUNCATED;
    if (read(ctx, off, b, sizeof b) != 0)
        return OTA_ERR_IO;
    *magic = ota_get_le16(b);
    *tot = ota_get_le16(b + 2);
    return OTA_OK;
}

int ota_image_layout(ota_read_fn read, void *ctx, uint32_t avail, const ota_image_header_t *hdr,
                     ota_image_layout_t *out)
{
    uint16_t magic, tot;
    uint32_t off;
    int rc;

    out->payload_off = hdr->hdr_size;
    out->prot_off = out->prot_len = out->unprot_off = out->unprot_len = out->image_end = 0;
    if (hdr->img_size > UINT32_MAX - hdr->hdr_size)
        return OTA_ERR_TOO_BIG;
    off = hdr->hdr_size + hdr->img_size;
    if (off > avail)
        return OTA_ERR_TRUNCATED;

    if ((rc = read_info(read, ctx, avail, off, &magic, &tot)) != OTA_OK)
        return rc;
    if (magic == OTA_TLV_PROT_INFO_MAGIC) {
        /* MCUboot's rule: the header's protect_tlv_size is exactly the area's tot. */
        if (hdr->protect_tlv_size != tot || tot < OTA_TLV_INFO_SIZE)
            return OTA_ERR_PROT_SIZE;
        if (tot > avail - off)
            return OTA_ERR_TRUNCATED;
        out->prot_off = off;
        out->prot_len = tot;
        off += tot;
        if ((rc = read_info(read, ctx, avail, off, &magic, &tot)) != OTA_OK)
            return rc;
    } else if (hdr->protect_tlv_size != 0) {
        return OTA_ERR_PROT_SIZE;
    }
    if (magic != OTA_TLV_INFO_MAGIC || tot < OTA_TLV_INFO_SIZE)
        return OTA_ERR_TLV_MAGIC;
    if (tot > avail - off)
        return OTA_ERR_TRUNCATED;
    out->unprot_off = off;
    out->unprot_len = tot;
    out->image_end = off + tot;
    return OTA_OK;
}

void ota_tlv_iter_init(ota_tlv_iter_t *it, ota_read_fn read, void *ctx, const ota_image_layout_t *layout)
{
    it->read = read;
    it->ctx = ctx;
    it->layout = layout;
    if (layout->prot_len) {
        it->area = 0;
        it->off = layout->prot_off + OTA_TLV_INFO_SIZE;
        it->end = layout->prot_off + layout->prot_len;
    } else {
        it->area = 1;
        it->off = layout->unprot_off + OTA_TLV_INFO_SIZE;
        it->end = layout->unprot_off + layout->unprot_len;
    }
}

int ota_tlv_next(ota_tlv_iter_t *it, ota_tlv_t *tlv)
{
    uint8_t b[OTA_TLV_HDR_SIZE];
    for (;;) {
        if (it->area > 1)
            return 0;
        if (it->off < it->end)
            break;
        if (it->area == 0) {
            it->area = 1;
            it->off = it->layout->unprot_off + OTA_TLV_INFO_SIZE;
            it->end = it->layout->unprot_off + it->layout->unprot_len;
        } else {
            it->area = 2;
        }
    }
    if (it->end - it->off < OTA_TLV_HDR_SIZE)
        return OTA_ERR_TLV_BOUNDS;
    if (it->read(it->ctx, it->off, b, sizeof b) != 0)
        return OTA_ERR_IO;
    tlv->type = ota_get_le16(b);
    tlv->len = ota_get_le16(b + 2);
    tlv->off = it->off + OTA_TLV_HDR_SIZE;
    tlv->is_protected = it->area == 0;
    if (tlv->len > it->end - tlv->off)
        return OTA_ERR_TLV_BOUNDS;
    it->off = tlv->off + tlv->len;
    return 1;
}
