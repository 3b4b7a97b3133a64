/* Encrypted images: key loading and on-the-fly decryption (see otakit/enc.h). */
#include "otakit/enc.h"

#include <string.h>

#include "otakit/bytes.h"

#include "core/le.h"
#include "crypto/ecies.h"

unsigned ota_enc_key_len(uint32_t flags)
{
    if (flags & OTA_IMAGE_F_ENCRYPTED_AES256)
        return 32;
    if (flags & OTA_IMAGE_F_ENCRYPTED_AES128)
        return 16;
    return 0;
}

int ota_enc_unwrap(const uint8_t priv[32], const uint8_t *tlv, uint32_t tlv_len, uint8_t *key, unsigned key_len)
{
    uint8_t shared[32], derived[32 + 32], tag[32];
    const uint8_t *wrapped = tlv + OTA_ENC_EC256_PUB_LEN + OTA_ENC_TAG_LEN;
    int rc;

    if ((key_len != 16 && key_len != 32) || !tlv || tlv_len != OTA_ENC_EC256_TLV_LEN(key_len))
        return OTA_ERR_ENC_TLV;
    if ((rc = ota_p256_ecdh(priv, tlv, shared)) != OTA_OK)
        return rc;
    /* boot_decrypt_key(): key_len bytes of AES key, then 32 bytes of HMAC key. */
    ota_hkdf_sha256(shared, sizeof shared, (const uint8_t *)OTA_ENC_INFO, sizeof OTA_ENC_INFO - 1, derived,
                    key_len + 32);
    ota_hmac_sha256(derived + key_len, 32, wrapped, key_len, NULL, 0, tag);
    if (!ota_ct_equal(tag, tlv + OTA_ENC_EC256_PUB_LEN, OTA_ENC_TAG_LEN)) {
        rc = OTA_ERR_ENC_TLV;
    } else {
        memcpy(key, wrapped, key_len);
        rc = ota_aes_ctr_xor(derived, key_len, 0, key, key_len);
    }
    ota_wipe(shared, sizeof shared);
    ota_wipe(derived, sizeof derived);
    return rc;
}

int ota_enc_load(ota_read_fn read, void *ctx, uint32_t avail, const uint8_t priv[32], ota_enc_key_t *k)
{
    uint8_t raw[OTA_IMAGE_HEADER_SIZE], tlv[OTA_ENC_EC256_TLV_LEN(32)];
    ota_image_header_t h;
    ota_image_layout_t lay;
    ota_tlv_iter_t it;
    ota_tlv_t t;
    unsigned key_len;
    int rc, found = 0;

    memset(k, 0, sizeof *k);
    if (avail < sizeof raw)
        return OTA_ERR_TRUNCATED;
    if (read(ctx, 0, raw, sizeof raw) != 0)
        return OTA_ERR_IO;
    if ((rc = ota_image_header_decode(raw, &h)) != OTA_OK)
        return rc;
    if ((key_len = ota_enc_key_len(h.flags)) == 0)
        return OTA_OK;
    if ((rc = ota_image_layout(read, ctx, avail, &h, &lay)) != OTA_OK)
        return rc;
    /* MCUboot's boot_enc_load(): the first ENC_EC256 of the unprotected area. */
    ota_tlv_iter_init(&it, read, ctx, &lay);
    while (!found && (rc = ota_tlv_next(&it, &t)) == 1)
        found = !t.is_protected && t.type == OTA_TLV_ENC_EC256;
    if (rc < 0)
        return rc;
    if (!found || t.len != OTA_ENC_EC256_TLV_LEN(key_len))
        return OTA_ERR_ENC_TLV;
    if (read(ctx, t.off, tlv, t.len) != 0)
        return OTA_ERR_IO;
    if ((rc = ota_enc_unwrap(priv, tlv, t.len, k->key, key_len)) != OTA_OK) {
        ota_enc_clear(k);
        return rc;
    }
    k->key_len = (uint8_t)key_len;
    k->start = h.hdr_size;
    k->end = h.hdr_size + h.img_size;
    return OTA_OK;
}

int ota_enc_load_port(ota_read_fn read, void *ctx, uint32_t avail, const ota_platform_ops_t *plat,
                      ota_enc_key_t *k)
{
    uint8_t raw[OTA_IMAGE_HEADER_SIZE], priv[32];
    int rc;

    memset(k, 0, sizeof *k);
    if (avail < sizeof raw)
        return OTA_ERR_TRUNCATED;
    if (read(ctx, 0, raw, sizeof raw) != 0)
        return OTA_ERR_IO;
    if (ota_enc_key_len(ota_get_le32(raw + 16)) == 0)
        return ota_enc_load(read, ctx, avail, NULL, k); /* plain: checks the header, needs no key */
    if (!plat || !plat->enc_private_key || plat->enc_private_key(plat->ctx, priv) != 0)
        return OTA_ERR_ENC_KEY;
    rc = ota_enc_load(read, ctx, avail, priv, k);
    ota_wipe(priv, sizeof priv);
    return rc;
}

int ota_enc_apply(const ota_enc_key_t *k, uint32_t off, uint8_t *buf, uint32_t len)
{
    uint32_t from, to;
    if (!k->key_len || off >= k->end || len == 0 || off + len <= k->start)
        return OTA_OK;
    from = off > k->start ? off : k->start;
    to = off + len < k->end ? off + len : k->end;
    return ota_aes_ctr_xor(k->key, k->key_len, from - k->start, buf + (from - off), to - from);
}

void ota_enc_clear(ota_enc_key_t *k)
{
    ota_wipe(k->key, sizeof k->key);
    k->key_len = 0;
}

const ota_enc_ops_t ota_enc_ecies_p256 = {ota_enc_load_port, ota_enc_apply, ota_enc_read};

int ota_enc_read(void *reader, uint32_t off, void *buf, uint32_t len)
{
    const ota_enc_reader_t *r = (const ota_enc_reader_t *)reader;
    if (r->read(r->ctx, off, buf, len) != 0)
        return -1;
    return ota_enc_apply(r->key, off, (uint8_t *)buf, len) == OTA_OK ? 0 : -1;
}
