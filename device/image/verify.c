/*
 * ota_image_verify(): checks an image read in small chunks from storage (see otakit/image.h).
 *
 * Follows MCUboot's bootutil rules (image_validate.c, tlv.c) and is stricter where MCUboot is
 * configurable: security and vendor TLVs only count in the protected area, each TLV type that
 * carries a fact may appear once, and the signature must follow a KEYHASH/PUBKEY of a trusted key.
 */
#include <string.h>

#include "otakit/bytes.h"
#include "otakit/image.h"

#include "crypto/crypto.h"

#ifndef OTA_VERIFY_CHUNK
#define OTA_VERIFY_CHUNK 256u /* bytes hashed per read: stack cost vs. read calls */
#endif

/* TLV types MCUboot's allow-list admits in the unprotected area (the table's UNPROT flag). */
static int unprotected_allowed(uint16_t type)
{
    const ota_tlv_def_t *d = ota_tlv_def(type);
    return d && (d->flags & OTA_TLVF_UNPROT);
}

/* State of the walk over the unprotected area. */
struct sig_state {
    uint8_t has_hash;
    uint8_t has_sig;
    uint8_t has_key;   /* a KEYHASH or PUBKEY was seen */
    uint8_t key_before_sig;
    int key_index;
    uint8_t sig[OTA_ECDSA_SIG_MAX];
    uint32_t sig_len;  /* DER length, from the SEQUENCE header */
};

static int match_key(const ota_verify_cfg_t *cfg, const uint8_t hash[OTA_SHA256_LEN])
{
    unsigned i;
    uint8_t kh[OTA_SHA256_LEN];
    for (i = 0; cfg && i < cfg->n_keys; i++) {
        if (ota_key_hash(cfg->keys[i].der, cfg->keys[i].len, kh) == OTA_OK &&
            memcmp(kh, hash, sizeof kh) == 0)
            return (int)i;
    }
    return -1;
}

static int unprotected_tlv(ota_read_fn read, void *ctx, const ota_tlv_t *t, const uint8_t digest[32],
                           const ota_verify_cfg_t *cfg, ota_image_info_t *info, struct sig_state *st)
{
    uint8_t buf[OTA_PUBKEY_TLV_MAX];
    uint32_t i;

    if (!unprotected_allowed(t->type))
        return OTA_ERR_TLV_UNPROTECTED;
    switch (t->type) {
    case OTA_TLV_SHA256:
        if (st->has_hash)
            return OTA_ERR_TLV_DUP;
        if (t->len != OTA_SHA256_LEN)
            return OTA_ERR_TLV_LEN;
        if (read(ctx, t->off, buf, OTA_SHA256_LEN) != 0)
            return OTA_ERR_IO;
        st->has_hash = 1;
        if (!ota_ct_equal(buf, digest, OTA_SHA256_LEN))
            return OTA_ERR_HASH;
        memcpy(info->hash, digest, OTA_SHA256_LEN);
        return OTA_OK;
    case OTA_TLV_KEYHASH:
    case OTA_TLV_PUBKEY:
        if (st->has_key)
            return OTA_ERR_TLV_DUP;
        if (t->type == OTA_TLV_KEYHASH ? t->len != OTA_SHA256_LEN : (t->len == 0 || t->len > sizeof buf))
            return OTA_ERR_TLV_LEN;
        if (read(ctx, t->off, buf, t->len) != 0)
            return OTA_ERR_IO;
        st->has_key = 1;
        if (t->type == OTA_TLV_KEYHASH)
            memcpy(info->key_hash, buf, OTA_SHA256_LEN);
        else if (ota_key_hash(buf, t->len, info->key_hash) != OTA_OK)
            return OTA_ERR_CRYPTO;
        info->has_key_hash = 1;
        st->key_index = match_key(cfg, info->key_hash);
        return OTA_OK;
    case OTA_TLV_ECDSA_SIG:
        if (st->has_sig)
            return OTA_ERR_TLV_DUP;
        if (t->len < 8 || t->len > OTA_ECDSA_SIG_MAX)
            return OTA_ERR_TLV_LEN;
        if (read(ctx, t->off, st->sig, t->len) != 0)
            return OTA_ERR_IO;
        /* imgtool --pad-sig pads a short DER signature with zeros up to 72 bytes: the DER length
         * comes from the SEQUENCE header and the padding must be zeros. */
        if (st->sig[0] != 0x30 || st->sig[1] >= 0x80 || (uint32_t)st->sig[1] + 2 > t->len)
            return OTA_ERR_SIG_FORMAT;
        st->sig_len = (uint32_t)st->sig[1] + 2;
        for (i = st->sig_len; i < t->len; i++)
            if (st->sig[i] != 0)
                return OTA_ERR_SIG_FORMAT;
        st->has_sig = 1;
        st->key_before_sig = st->has_key;
        info->has_signature = 1;
        return OTA_OK;
    default:
        return OTA_OK; /* other algorithms' hashes and signatures: not used by this build */
    }
}

int ota_image_hash(ota_read_fn read, void *ctx, uint32_t len, uint8_t out[OTA_SHA256_LEN])
{
    uint8_t buf[OTA_VERIFY_CHUNK];
    ota_sha256_t h;
    uint32_t off = 0;
    ota_sha256_start(&h);
    while (off < len) {
        uint32_t n = len - off < sizeof buf ? len - off : (uint32_t)sizeof buf;
        if (read(ctx, off, buf, n) != 0) {
            ota_sha256_finish(&h, out);
            return OTA_ERR_IO;
        }
        ota_sha256_update(&h, buf, n);
        off += n;
    }
    ota_sha256_finish(&h, out);
    return OTA_OK;
}

int ota_image_verify(ota_read_fn read, void *ctx, uint32_t avail, const ota_verify_cfg_t *cfg,
                     ota_image_info_t *info)
{
    uint8_t raw[OTA_IMAGE_HEADER_SIZE];
    uint8_t digest[OTA_SHA256_LEN];
    struct sig_state st;
    ota_tlv_iter_t it;
    ota_tlv_t t;
    int rc;

    if (!read || !info)
        return OTA_ERR_ARG;
    memset(info, 0, sizeof *info);
    memset(&st, 0, sizeof st);
    info->key_index = -1;
    st.key_index = -1;

    if (avail < OTA_IMAGE_HEADER_SIZE)
        return OTA_ERR_TRUNCATED;
    if (read(ctx, 0, raw, sizeof raw) != 0)
        return OTA_ERR_IO;
    if ((rc = ota_image_header_decode(raw, &info->hdr)) != OTA_OK)
        return rc;
    if ((rc = ota_image_layout(read, ctx, avail, &info->hdr, &info->layout)) != OTA_OK)
        return rc;

    /* Structure first: the protected facts read by their rules, then every TLV inside its area. */
    if ((rc = ota_image_read_protected(read, ctx, &info->layout, info)) != OTA_OK)
        return rc;
    ota_tlv_iter_init(&it, read, ctx, &info->layout);
    while ((rc = ota_tlv_next(&it, &t)) == 1)
        ;
    if (rc < 0)
        return rc;

    if (cfg && (cfg->flags & OTA_VERIFY_ENC_STATED_HASH) && (info->hdr.flags & OTA_IMAGE_F_ENCRYPTED)) {
        /* The hash of a plaintext we cannot see: take the SHA256 TLV's word for it (the signature
         * below must still verify over it). */
        memset(digest, 0, sizeof digest);
        ota_tlv_iter_init(&it, read, ctx, &info->layout);
        while ((rc = ota_tlv_next(&it, &t)) == 1)
            if (!t.is_protected && t.type == OTA_TLV_SHA256 && t.len == OTA_SHA256_LEN) {
                if (read(ctx, t.off, digest, OTA_SHA256_LEN) != 0)
                    return OTA_ERR_IO;
                break;
            }
    } else if ((rc = ota_image_hash(read, ctx, info->layout.unprot_off, digest)) != OTA_OK) {
        return rc;
    }

    ota_tlv_iter_init(&it, read, ctx, &info->layout);
    while ((rc = ota_tlv_next(&it, &t)) == 1) {
        if (t.is_protected)
            continue;
        if ((rc = unprotected_tlv(read, ctx, &t, digest, cfg, info, &st)) != OTA_OK)
            return rc;
    }
    if (rc < 0)
        return rc;
    if (!st.has_hash)
        return OTA_ERR_NO_HASH;
    if (cfg && (cfg->flags & OTA_VERIFY_HASH_ONLY))
        return OTA_OK;

    if (!st.has_sig)
        return OTA_ERR_NO_SIGNATURE;
    if (!st.key_before_sig)
        return OTA_ERR_NO_KEYHASH;
    if (st.key_index < 0)
        return OTA_ERR_KEY_UNKNOWN;
    rc = ota_p256_verify(cfg->keys[st.key_index].der, cfg->keys[st.key_index].len, digest, st.sig,
                         st.sig_len);
    if (rc != OTA_OK)
        return rc;
    info->key_index = st.key_index;
    info->signature_checked = 1;
    return OTA_OK;
}

int ota_mem_read(void *ctx, uint32_t off, void *buf, uint32_t len)
{
    const ota_mem_src_t *m = (const ota_mem_src_t *)ctx;
    if (off > m->len || len > m->len - off)
        return -1;
    memcpy(buf, m->p + off, len);
    return 0;
}

int ota_image_verify_buf(const uint8_t *img, uint32_t len, const ota_verify_cfg_t *cfg,
                         ota_image_info_t *info)
{
    ota_mem_src_t m;
    if (!img && len)
        return OTA_ERR_ARG;
    m.p = img;
    m.len = len;
    return ota_image_verify(ota_mem_read, &m, len, cfg, info);
}

int ota_image_hw_compatible(const ota_image_info_t *info, const char *hw)
{
    const char *p;
    size_t n;
    if (!info || !hw)
        return 0;
    if (info->hw_rev[0] == '\0')
        return 1;
    n = strlen(hw);
    for (p = info->hw_rev; *p;) {
        const char *e = p;
        while (*e && *e != ',')
            e++;
        if ((size_t)(e - p) == n && memcmp(p, hw, n) == 0)
            return 1;
        p = *e ? e + 1 : e;
    }
    return 0;
}
