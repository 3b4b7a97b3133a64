/*
 * Image signer (see otakit/sign.h). Writes exactly what MCUboot's imgtool writes for the same
 * options: header, header padding (erased value), payload, protected TLVs (the table's in its order:
 * SEC_CNT, then ours; then custom ones), then the hash (SHA256; SHA384 for ECDSA-P384 keys), KEYHASH
 * and the signature TLV of the key's algorithm, and optional slot padding and trailer. The TLV areas are written by the image module's builder.
 */
#include "otakit/sign.h"

#include <stdlib.h>
#include <string.h>

#include "otakit/err.h"
#include "otakit/mcuboot.h"


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
    return ota_mcuboot_max_align(opt_align(o));
}

static uint32_t align_up(uint32_t v, uint32_t a)
{
    return (v + a - 1) & ~(a - 1);
}

uint32_t ota_trailer_size(const ota_sign_opts_t *o)
{
    /* imgtool's formula: the swap-scratch trailer (otakit/mcuboot.h) */
    return ota_mcuboot_trailer_size(OTA_MCUBOOT_SWAP_SCRATCH, opt_align(o), o->max_sectors ? o->max_sectors : 128);
}

/* Checks the options that are not TLVs. */
static int check_opts(const ota_sign_opts_t *o)
{
    if (!align_valid(opt_align(o)))
        return OTA_ERR_ALIGN;
    if (o->header_size && o->header_size < OTA_IMAGE_HEADER_SIZE)
        return OTA_ERR_HDR_TOO_SMALL;
    if ((o->pad || o->confirm) && !o->slot_size)
        return OTA_ERR_SLOT_SIZE;
    return OTA_OK;
}

/* Puts one TLV the table names; a malformed identifier is the caller's OTA_ERR_IDENT. */
static int put_named(ota_tlv_writer_t *w, const ota_tlv_def_t *d, const void *val, size_t len)
{
    int ident = d->kind == OTA_TLVK_IDENT || d->kind == OTA_TLVK_IDENT_LIST;
    int rc = len > 0xffff ? OTA_ERR_TLV_LEN : ota_tlv_put(w, d->type, val, (uint16_t)len);
    return ident && (rc == OTA_ERR_TLV_VALUE || rc == OTA_ERR_TLV_LEN) ? OTA_ERR_IDENT : rc;
}

/* Writes the protected area at buf (NULL: only sizes it) and sets *len (0 when there is none):
 * the TLVs the table names, in the table's order, then the custom ones in the order given. */
static int put_protected(const ota_sign_opts_t *o, uint8_t *buf, uint32_t cap, uint32_t *len)
{
    ota_tlv_writer_t w;
    const ota_tlv_def_t *t;
    unsigned n, i, k;
    uint8_t cnt[4];
    int rc = OTA_OK;

    for (k = 0; k < o->n_tlvs; k++) {
        const ota_tlv_def_t *d = ota_tlv_def(o->tlvs[k].type);
        if (!d || !(d->flags & OTA_TLVF_PROT) || (o->tlvs[k].len && !o->tlvs[k].value))
            return OTA_ERR_TLV_VALUE;
    }
    for (k = 0; k < o->n_custom; k++)
        if (o->custom[k].type < 0xa0 || o->custom[k].type == 0xffff || (o->custom[k].len && !o->custom[k].value))
            return OTA_ERR_TLV_VALUE;

    ota_tlv_area_begin(&w, buf, cap, 1);
    t = ota_tlv_table(&n);
    for (i = 0; i < n && rc == OTA_OK; i++) {
        if (t[i].type == OTA_TLV_SEC_CNT && o->has_security_counter) {
            cnt[0] = (uint8_t)o->security_counter;
            cnt[1] = (uint8_t)(o->security_counter >> 8);
            cnt[2] = (uint8_t)(o->security_counter >> 16);
            cnt[3] = (uint8_t)(o->security_counter >> 24);
            rc = put_named(&w, &t[i], cnt, sizeof cnt);
        } else if (t[i].type == OTA_TLV_PRODUCT && o->product) {
            rc = put_named(&w, &t[i], o->product, strlen(o->product));
        } else if (t[i].type == OTA_TLV_HW_REV && o->hw_rev) {
            rc = put_named(&w, &t[i], o->hw_rev, strlen(o->hw_rev));
        }
        for (k = 0; k < o->n_tlvs && rc == OTA_OK; k++)
            if (o->tlvs[k].type == t[i].type)
                rc = put_named(&w, &t[i], o->tlvs[k].value, o->tlvs[k].len);
    }
    for (k = 0; k < o->n_custom && rc == OTA_OK; k++)
        rc = ota_tlv_put(&w, o->custom[k].type, o->custom[k].value, o->custom[k].len);
    return rc != OTA_OK ? rc : ota_tlv_area_end(&w, len);
}

int ota_sign_image(const ota_sign_opts_t *o, const ota_key_t *key, const uint8_t *payload, size_t len,
                   uint8_t **out, size_t *out_len)
{
    /* hash, key hash and signature of the longest algorithm (SHA-384, RSA-3072), then any tail */
    uint32_t unprot_max = OTA_TLV_INFO_SIZE + 2 * (OTA_TLV_HDR_SIZE + OTA_HASH_MAX) + OTA_TLV_HDR_SIZE + 384;
    uint16_t hdr_size = o->header_size ? o->header_size : OTA_IMAGE_HEADER_SIZE;
    uint32_t prot_len, unprot_len, hashed, image_len, total;
    int alg = key ? ota_key_get_alg(key) : OTA_ALG_NONE;
    uint32_t hash_len = key ? ota_alg_hash_len(alg) : OTA_SHA256_LEN;
    uint8_t digest[OTA_HASH_MAX], der[OTA_KEY_DER_MAX], keyhash[OTA_HASH_MAX], sig[384];
    size_t siglen = 0, der_len = 0;
    ota_image_header_t h;
    ota_tlv_writer_t w;
    ota_mem_src_t m;
    uint8_t *img;
    int rc;

    unsigned k;

    *out = NULL;
    *out_len = 0;
    for (k = 0; k < o->n_unprot_tail; k++)
        unprot_max += OTA_TLV_HDR_SIZE + o->unprot_tail[k].len;
    if ((rc = check_opts(o)) != OTA_OK || (rc = put_protected(o, NULL, 0, &prot_len)) != OTA_OK)
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
    h.flags = (o->load_addr ? OTA_IMAGE_F_RAM_LOAD : 0) | o->flags;
    h.version = o->version;
    /* imgtool fills the header padding (bytes 32..hdr_size) with the erased value. */
    memset(img + OTA_IMAGE_HEADER_SIZE, o->erased_val, hdr_size - OTA_IMAGE_HEADER_SIZE);
    ota_image_header_encode(&h, img);
    if (len)
        memcpy(img + hdr_size, payload, len);
    if (prot_len && (rc = put_protected(o, img + hdr_size + len, prot_len, &prot_len)) != OTA_OK)
        goto fail;

    m.p = img;
    m.len = hashed;
    if ((rc = ota_image_hash_len(ota_mem_read, &m, hashed, hash_len, digest)) != OTA_OK)
        goto fail;
    ota_tlv_area_begin(&w, img + hashed, unprot_max, 0);
    ota_tlv_put(&w, hash_len == 48 ? OTA_TLV_SHA384 : OTA_TLV_SHA256, digest, (uint16_t)hash_len);
    if (key) {
        /* imgtool: the key hash with the image's hash, then the signature of the digest */
        if ((rc = ota_key_der(key, der, sizeof der, &der_len)) != OTA_OK ||
            (rc = ota_key_hash_len(der, (uint32_t)der_len, hash_len, keyhash)) != OTA_OK ||
            (rc = ota_key_sign(key, digest, hash_len, sig, sizeof sig, &siglen)) != OTA_OK)
            goto fail;
        if (o->pad_sig && alg == OTA_ALG_ECDSA_P256) {
            memset(sig + siglen, 0, OTA_ECDSA_SIG_MAX - siglen);
            siglen = OTA_ECDSA_SIG_MAX;
        }
        ota_tlv_put(&w, OTA_TLV_KEYHASH, keyhash, (uint16_t)hash_len);
        ota_tlv_put(&w, ota_alg_sig_tlv(alg), sig, (uint16_t)siglen);
    }
    for (k = 0; k < o->n_unprot_tail; k++)
        ota_tlv_put(&w, o->unprot_tail[k].type, o->unprot_tail[k].value, o->unprot_tail[k].len);
    if ((rc = ota_tlv_area_end(&w, &unprot_len)) != OTA_OK)
        goto fail;
    image_len = hashed + unprot_len;

    /* Self-check: the image we made must pass the same verifier every device runs. */
    {
        ota_image_info_t info;
        ota_pubkey_t pk;
        ota_verify_cfg_t cfg;
        pk.der = der;
        pk.len = (uint32_t)der_len;
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
            ota_mcuboot_magic(ma, img + total - 16);
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
