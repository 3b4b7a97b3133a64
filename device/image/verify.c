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

/* The longest signature this build verifies (read from flash only for the final check). */
#if OTAKIT_SIG_RSA
#define SIG_BUF 384u
#elif OTAKIT_SIG_ECDSA_P384
#define SIG_BUF OTA_ECDSA384_SIG_MAX
#else
#define SIG_BUF OTA_ECDSA_SIG_MAX
#endif

/* TLV types MCUboot's allow-list admits in the unprotected area (the table's UNPROT flag). */
static int unprotected_allowed(uint16_t type)
{
    const ota_tlv_def_t *d = ota_tlv_def(type);
    return d && (d->flags & OTA_TLVF_UNPROT);
}

/* The signature TLV types this build verifies, with their length limits: 1 usable, -1 a wrong
 * length, 0 a type this build skips. key_alg (OTA_ALG_*, or NONE before a trusted key was named)
 * narrows ECDSA's limit to its curve (P-256: 72 bytes with imgtool's --pad-sig). */
static int sig_tlv_usable(uint16_t type, uint16_t len, int key_alg)
{
    switch (type) {
    case OTA_TLV_ECDSA_SIG:
        if (!OTAKIT_SIG_ECDSA_P256 && !OTAKIT_SIG_ECDSA_P384)
            return 0;
        return len >= 8 && len <= (key_alg == OTA_ALG_ECDSA_P256 ? OTA_ECDSA_SIG_MAX : SIG_BUF) ? 1 : -1;
    case OTA_TLV_RSA2048_PSS:
        return OTAKIT_SIG_RSA ? (len == 256 ? 1 : -1) : 0;
    case OTA_TLV_RSA3072_PSS:
        return OTAKIT_SIG_RSA ? (len == 384 ? 1 : -1) : 0;
    case OTA_TLV_ED25519:
        return OTAKIT_SIG_ED25519 ? (len == 64 ? 1 : -1) : 0;
    default:
        return 0;
    }
}

/* State of the walk over the unprotected area. */
struct sig_state {
    uint8_t has_hash;
    uint8_t has_sig;
    uint8_t has_key;   /* a KEYHASH or PUBKEY was seen */
    uint8_t key_before_sig;
    uint8_t hash_len;  /* 32: SHA256 TLV, 48: SHA384 TLV (a build with ECDSA-P384) */
    int key_index;
    ota_tlv_t sig;     /* where the signature TLV is */
};

/* A read view that starts at base: a TLV value read as storage of its own. */
struct window {
    ota_read_fn read;
    void *ctx;
    uint32_t base;
};

static int window_read(void *c, uint32_t off, void *buf, uint32_t len)
{
    const struct window *w = (const struct window *)c;
    return w->read(w->ctx, w->base + off, buf, len);
}

static int match_key(const ota_verify_cfg_t *cfg, const uint8_t *hash, uint32_t hash_len)
{
    unsigned i;
    uint8_t kh[OTA_HASH_MAX];
    for (i = 0; cfg && i < cfg->n_keys; i++) {
        if (ota_key_hash_len(cfg->keys[i].der, cfg->keys[i].len, hash_len, kh) == OTA_OK &&
            memcmp(kh, hash, hash_len) == 0)
            return (int)i;
    }
    return -1;
}

static int unprotected_tlv(ota_read_fn read, void *ctx, const ota_tlv_t *t, const uint8_t *digest,
                           const ota_verify_cfg_t *cfg, ota_image_info_t *info, struct sig_state *st)
{
    uint8_t buf[OTA_HASH_MAX];
    int usable, key_alg;

    if (!unprotected_allowed(t->type))
        return OTA_ERR_TLV_UNPROTECTED;
    switch (t->type) {
    case OTA_TLV_SHA256:
    case OTA_TLV_SHA384:
        if ((t->type == OTA_TLV_SHA384) != (st->hash_len == 48))
            return OTA_OK; /* the other hash: not the one this image is checked by */
        if (st->has_hash)
            return OTA_ERR_TLV_DUP;
        if (t->len != st->hash_len)
            return OTA_ERR_TLV_LEN;
        if (read(ctx, t->off, buf, t->len) != 0)
            return OTA_ERR_IO;
        st->has_hash = 1;
        if (!ota_ct_equal(buf, digest, t->len))
            return OTA_ERR_HASH;
        memcpy(info->hash, digest, t->len);
        return OTA_OK;
    case OTA_TLV_KEYHASH:
    case OTA_TLV_PUBKEY:
        if (st->has_key)
            return OTA_ERR_TLV_DUP;
        if (t->type == OTA_TLV_KEYHASH ? t->len != st->hash_len : (t->len == 0 || t->len > OTA_PUBKEY_TLV_MAX))
            return OTA_ERR_TLV_LEN;
        st->has_key = 1;
        if (t->type == OTA_TLV_KEYHASH) {
            if (read(ctx, t->off, info->key_hash, t->len) != 0)
                return OTA_ERR_IO;
        } else {
            /* MCUboot hashes an embedded key with the image's hash, over the TLV's bytes. */
            struct window w;
            int rc;
            w.read = read;
            w.ctx = ctx;
            w.base = t->off;
            if ((rc = ota_image_hash_len(window_read, &w, t->len, st->hash_len, info->key_hash)) != OTA_OK)
                return rc;
        }
        info->has_key_hash = 1;
        st->key_index = match_key(cfg, info->key_hash, st->hash_len);
        return OTA_OK;
    default:
        /* Once a trusted key is named, only its algorithm's signature TLV counts: the others are
         * skipped, as MCUboot built for one algorithm skips them. */
        key_alg = st->key_index >= 0 ? ota_key_alg(cfg->keys[st->key_index].der, cfg->keys[st->key_index].len)
                                     : OTA_ALG_NONE;
        if (key_alg != OTA_ALG_NONE && ota_alg_sig_tlv(key_alg) != t->type)
            return OTA_OK;
        usable = sig_tlv_usable(t->type, t->len, key_alg);
        if (usable == 0)
            return OTA_OK; /* another algorithm's signature or an encryption key: not used here */
        if (st->has_sig)
            return OTA_ERR_TLV_DUP;
        if (usable < 0)
            return OTA_ERR_TLV_LEN;
        st->sig = *t;
        st->has_sig = 1;
        st->key_before_sig = st->has_key;
        info->has_signature = 1;
        return OTA_OK;
    }
}

/* The final check: the signature TLV read from storage and verified with the trusted key, whose
 * algorithm must be the one the image's TLVs say (signature type and hash). */
static int check_signature(ota_read_fn read, void *ctx, const struct sig_state *st, const ota_pubkey_t *key,
                           const uint8_t *digest)
{
    uint8_t sig[SIG_BUF];
    uint32_t len = st->sig.len, i;
    int alg = ota_key_alg(key->der, key->len);

    if (!ota_alg_enabled(alg))
        return OTA_ERR_KEY_FORMAT;
    if (ota_alg_sig_tlv(alg) != st->sig.type || ota_alg_hash_len(alg) != st->hash_len)
        return OTA_ERR_SIG_FORMAT;
    if (read(ctx, st->sig.off, sig, len) != 0)
        return OTA_ERR_IO;
    if (st->sig.type == OTA_TLV_ECDSA_SIG) {
        /* imgtool --pad-sig pads a short DER signature with zeros up to 72 bytes: the DER length
         * comes from the SEQUENCE header and the padding must be zeros. */
        if (sig[0] != 0x30 || sig[1] >= 0x80 || (uint32_t)sig[1] + 2 > len)
            return OTA_ERR_SIG_FORMAT;
        for (i = (uint32_t)sig[1] + 2; i < len; i++)
            if (sig[i] != 0)
                return OTA_ERR_SIG_FORMAT;
        len = (uint32_t)sig[1] + 2;
    }
    return ota_sig_verify(alg, key->der, key->len, digest, sig, len);
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
    uint8_t digest[OTA_HASH_MAX];
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
    /* The image hash is SHA-384 when the image has a SHA384 TLV but no SHA256 one and this build
     * knows SHA-384 (ECDSA-P384 images), else SHA-256. MCUboot's image_validate.c fixes one hash
     * per build and skips the other's TLV; this build, which may verify both, reads what the image
     * carries. */
    ota_tlv_iter_init(&it, read, ctx, &info->layout);
    while ((rc = ota_tlv_next(&it, &t)) == 1)
        if (!t.is_protected && (t.type == OTA_TLV_SHA256 || t.type == OTA_TLV_SHA384))
            st.hash_len |= t.type == OTA_TLV_SHA256 ? 1 : 2;
    if (rc < 0)
        return rc;
    st.hash_len = OTAKIT_SIG_ECDSA_P384 && st.hash_len == 2 ? 48 : OTA_SHA256_LEN;
    info->hash_len = st.hash_len;

    if (cfg && (cfg->flags & OTA_VERIFY_ENC_STATED_HASH) && (info->hdr.flags & OTA_IMAGE_F_ENCRYPTED)) {
        /* The hash of a plaintext we cannot see: take the hash TLV's word for it (the signature
         * below must still verify over it). */
        memset(digest, 0, sizeof digest);
        ota_tlv_iter_init(&it, read, ctx, &info->layout);
        while ((rc = ota_tlv_next(&it, &t)) == 1)
            if (!t.is_protected && t.type == (st.hash_len == 48 ? OTA_TLV_SHA384 : OTA_TLV_SHA256) &&
                t.len == st.hash_len) {
                if (read(ctx, t.off, digest, st.hash_len) != 0)
                    return OTA_ERR_IO;
                break;
            }
    } else if ((rc = ota_image_hash_len(read, ctx, info->layout.unprot_off, st.hash_len, digest)) != OTA_OK) {
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
    if ((rc = check_signature(read, ctx, &st, &cfg->keys[st.key_index], digest)) != OTA_OK)
        return rc;
    info->key_index = st.key_index;
    info->sig_alg = (uint8_t)ota_key_alg(cfg->keys[st.key_index].der, cfg->keys[st.key_index].len);
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
