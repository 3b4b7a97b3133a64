/*
 * Image builder (see otakit/sign.h). Writes exactly what MCUboot's imgtool writes for the same
 * options: header, header padding (erased value), payload, protected TLVs (SEC_CNT, then ours, then custom
 * ones), then SHA256, KEYHASH and the DER ECDSA signature. Optional slot padding and trailer.
 */
#include "otakit/sign.h"

#include <stdlib.h>
#include <string.h>

#include "otakit/err.h"

#include "../device/crypto/crypto.h"
#include "../device/image/le.h"

/* The swap trailer's 16-byte magic when max_align is 8; with a larger alignment the first two
 * bytes hold max_align and the rest is MCUboot's alternate magic. */
static const uint8_t boot_magic8[16] = {0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
                                        0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80};
static const uint8_t boot_magic_alt[14] = {0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d,
                                           0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a};

void ota_sign_opts_init(ota_sign_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->header_size = OTA_IMAGE_HEADER_SIZE;
    o->align = 1;
    o->erased_val = 0xff;
}

static unsigned opt_align(const ota_sign_opts_t *o)
{
    return o->align ? o->align : 1;
}

static int align_valid(unsigned a)
{
    return a == 1 || a == 2 || a == 4 || a == 8 || a == 16 || a == 32;
}

static uint32_t max_align(const ota_sign_opts_t *o)
{
    return opt_align(o) > 8 ? opt_align(o) : 8;
}

static uint32_t align_up(uint32_t v, uint32_t a)
{
    return (v + a - 1) & ~(a - 1);
}

uint32_t ota_trailer_size(const ota_sign_opts_t *o)
{
    uint32_t sectors = o->max_sectors ? o->max_sectors : 128;
    /* swap status (3 entries a sector) + image_ok, copy_done, swap_info, swap_size + magic */
    return sectors * 3 * opt_align(o) + max_align(o) * 4 + align_up(16, max_align(o));
}

static uint8_t *put_tlv(uint8_t *p, uint16_t type, const void *val, uint16_t len)
{
    ota_put_le16(p, type);
    ota_put_le16(p + 2, len);
    if (len)
        memcpy(p + 4, val, len);
    return p + 4 + len;
}

/* Checks options; computes the protected area length (0 when there is none). */
static int check_opts(const ota_sign_opts_t *o, uint32_t *prot_len)
{
    uint32_t n = 0;
    unsigned i;
    if (!align_valid(opt_align(o)))
        return OTA_ERR_ALIGN;
    if (o->header_size && o->header_size < OTA_IMAGE_HEADER_SIZE)
        return OTA_ERR_HDR_TOO_SMALL;
    if ((o->pad || o->confirm) && !o->slot_size)
        return OTA_ERR_SLOT_SIZE;
    if (o->has_security_counter)
        n += OTA_TLV_HDR_SIZE + 4;
    if (o->product) {
        if (!ota_ident_valid(o->product, strlen(o->product), OTA_PRODUCT_MAX, 0))
            return OTA_ERR_IDENT;
        n += OTA_TLV_HDR_SIZE + (uint32_t)strlen(o->product);
    }
    if (o->hw_rev) {
        if (!ota_ident_valid(o->hw_rev, strlen(o->hw_rev), OTA_HW_REV_MAX, 1))
            return OTA_ERR_IDENT;
        n += OTA_TLV_HDR_SIZE + (uint32_t)strlen(o->hw_rev);
    }
    for (i = 0; i < o->n_custom; i++) {
        if (o->custom[i].type < 0xa0 || o->custom[i].type == 0xffff ||
            (o->custom[i].len && !o->custom[i].value))
            return OTA_ERR_TLV_VALUE;
        n += OTA_TLV_HDR_SIZE + o->custom[i].len;
    }
    if (n)
        n += OTA_TLV_INFO_SIZE;
    if (n > 0xffff)
        return OTA_ERR_TLV_LEN;
    *prot_len = n;
    return OTA_OK;
}

int ota_sign_image(const ota_sign_opts_t *o, const ota_key_t *key, const uint8_t *payload, size_t len,
                   uint8_t **out, size_t *out_len)
{
    const uint32_t unprot_max = OTA_TLV_INFO_SIZE + 2 * (OTA_TLV_HDR_SIZE + 32) + OTA_TLV_HDR_SIZE +
                                OTA_ECDSA_SIG_MAX;
    uint16_t hdr_size = o->header_size ? o->header_size : OTA_IMAGE_HEADER_SIZE;
    uint32_t prot_len, hashed, image_len, total;
    uint8_t digest[32], der[OTA_P256_SPKI_LEN], keyhash[32], sig[OTA_ECDSA_SIG_MAX + 8];
    size_t siglen = 0;
    ota_image_header_t h;
    ota_sha256_t sha;
    uint8_t *img, *p, *unprot;
    unsigned i;
    int rc;

    *out = NULL;
    *out_len = 0;
    if ((rc = check_opts(o, &prot_len)) != OTA_OK)
        return rc;
    if (key && !ota_key_is_private(key))
        return OTA_ERR_KEY_PUBLIC;
    if (len > UINT32_MAX - hdr_size - prot_len - unprot_max)
        return OTA_ERR_PAYLOAD_SIZE;
    hashed = hdr_size + (uint32_t)len + prot_len;
    if (!(img = calloc(1, (size_t)hashed + unprot_max)))
        return OTA_ERR_NO_MEM;

    memset(&h, 0, sizeof h);
    h.magic = OTA_IMAGE_MAGIC;
    h.load_addr = o->load_addr;
    h.hdr_size = hdr_size;
    h.protect_tlv_size = (uint16_t)prot_len;
    h.img_size = (uint32_t)len;
    h.flags = o->load_addr ? OTA_IMAGE_F_RAM_LOAD : 0;
    h.version = o->version;
    /* imgtool fills the header padding (bytes 32..hdr_size) with the erased value. */
    memset(img + OTA_IMAGE_HEADER_SIZE, o->erased_val, hdr_size - OTA_IMAGE_HEADER_SIZE);
    ota_image_header_encode(&h, img);
    if (len)
        memcpy(img + hdr_size, payload, len);

    p = img + hdr_size + len;
    if (prot_len) {
        uint8_t b[4];
        ota_put_le16(p, OTA_TLV_PROT_INFO_MAGIC);
        ota_put_le16(p + 2, (uint16_t)prot_len);
        p += OTA_TLV_INFO_SIZE;
        if (o->has_security_counter) {
            ota_put_le32(b, o->security_counter);
            p = put_tlv(p, OTA_TLV_SEC_CNT, b, 4);
        }
        if (o->product)
            p = put_tlv(p, OTA_TLV_PRODUCT, o->product, (uint16_t)strlen(o->product));
        if (o->hw_rev)
            p = put_tlv(p, OTA_TLV_HW_REV, o->hw_rev, (uint16_t)strlen(o->hw_rev));
        for (i = 0; i < o->n_custom; i++)
            p = put_tlv(p, o->custom[i].type, o->custom[i].value, o->custom[i].len);
    }

    ota_sha256_start(&sha);
    ota_sha256_update(&sha, img, hashed);
    ota_sha256_finish(&sha, digest);

    unprot = p;
    p += OTA_TLV_INFO_SIZE;
    p = put_tlv(p, OTA_TLV_SHA256, digest, 32);
    if (key) {
        if ((rc = ota_key_public_der(key, der)) != OTA_OK || (rc = ota_key_hash(der, sizeof der, keyhash)) != OTA_OK ||
            (rc = ota_key_sign_hash(key, digest, sig, &siglen)) != OTA_OK)
            goto fail;
        if (o->pad_sig) {
            memset(sig + siglen, 0, OTA_ECDSA_SIG_MAX - siglen);
            siglen = OTA_ECDSA_SIG_MAX;
        }
        p = put_tlv(p, OTA_TLV_KEYHASH, keyhash, 32);
        p = put_tlv(p, OTA_TLV_ECDSA_SIG, sig, (uint16_t)siglen);
    }
    ota_put_le16(unprot, OTA_TLV_INFO_MAGIC);
    ota_put_le16(unprot + 2, (uint16_t)(p - unprot));
    image_len = (uint32_t)(p - img);

    /* Self-check: the image we made must pass the same verifier every device runs. */
    {
        ota_image_info_t info;
        ota_pubkey_t pk;
        ota_verify_cfg_t cfg;
        pk.der = der;
        pk.len = sizeof der;
        cfg.keys = &pk;
        cfg.n_keys = key ? 1 : 0;
        cfg.flags = key ? 0 : OTA_VERIFY_HASH_ONLY;
        if ((rc = ota_image_verify_buf(img, image_len, &cfg, &info)) != OTA_OK)
            goto fail;
    }

    total = image_len;
    if (o->slot_size) {
        uint32_t tsize = ota_trailer_size(o);
        if (tsize > o->slot_size || image_len > o->slot_size - tsize) {
            rc = OTA_ERR_SLOT_SIZE;
            goto fail;
        }
        if (o->pad || o->confirm) {
            uint32_t ma = max_align(o);
            uint8_t *np = realloc(img, o->slot_size);
            if (!np) {
                rc = OTA_ERR_NO_MEM;
                goto fail;
            }
            img = np;
            total = o->slot_size;
            memset(img + image_len, o->erased_val, total - image_len);
            if (ma == 8) {
                memcpy(img + total - 16, boot_magic8, 16);
            } else {
                img[total - 16] = (uint8_t)ma;
                img[total - 15] = (uint8_t)(ma >> 8);
                memcpy(img + total - 14, boot_magic_alt, sizeof boot_magic_alt);
            }
            if (o->confirm)
                img[total - align_up(16, ma) - ma] = 0x01; /* image_ok */
        }
    }
    *out = img;
    *out_len = total;
    return OTA_OK;
fail:
    free(img);
    return rc;
}
