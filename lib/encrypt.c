/*
 * Encrypted images on the host (see otakit/encrypt.h). Follows mcu-tools/mcuboot
 * scripts/imgtool/image.py (create(), ecies_hkdf()) with mbedTLS's own HKDF, HMAC and AES, a
 * second implementation beside the device's (device/crypto/ecies.c), which opens what this wraps.
 */
#include "otakit/encrypt.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/ecdh.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>

#include "otakit/err.h"
#include "rng.h"

/* AES-CTR from a zero counter block over buf, in place. */
static int aes_ctr(const uint8_t *key, unsigned key_len, uint8_t *buf, size_t len)
{
    mbedtls_aes_context aes;
    unsigned char nonce[16] = {0}, block[16];
    size_t nc_off = 0;
    int rc;
    mbedtls_aes_init(&aes);
    rc = mbedtls_aes_setkey_enc(&aes, key, key_len * 8) == 0 &&
                 mbedtls_aes_crypt_ctr(&aes, len, &nc_off, nonce, block, buf, buf) == 0
             ? OTA_OK
             : OTA_ERR_CRYPTO;
    mbedtls_aes_free(&aes);
    return rc;
}

int ota_enc_wrap_ec256(const ota_key_t *enc_pub, const uint8_t *aes_key, unsigned key_len, uint8_t *tlv)
{
    uint8_t der[OTA_P256_SPKI_LEN], shared[32], derived[64];
    mbedtls_ecp_group grp;
    mbedtls_ecp_point q, eph;
    mbedtls_mpi d, z;
    size_t olen = 0;
    ota_host_rng_t r;
    int rc = OTA_ERR_CRYPTO;

    if ((key_len != 16 && key_len != 32) || !enc_pub || ota_key_public_der(enc_pub, der) != OTA_OK)
        return OTA_ERR_ARG;
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&q);
    mbedtls_ecp_point_init(&eph);
    mbedtls_mpi_init(&d);
    mbedtls_mpi_init(&z);
    if (ota_host_rng_init(&r, "otakit-encrypt") != OTA_OK ||
        mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) != 0 ||
        mbedtls_ecp_point_read_binary(&grp, &q, der + OTA_P256_SPKI_LEN - 65, 65) != 0 ||
        mbedtls_ecdh_gen_public(&grp, &d, &eph, mbedtls_ctr_drbg_random, &r.drbg) != 0 ||
        mbedtls_ecdh_compute_shared(&grp, &z, &q, &d, mbedtls_ctr_drbg_random, &r.drbg) != 0 ||
        mbedtls_mpi_write_binary(&z, shared, sizeof shared) != 0 ||
        mbedtls_ecp_point_write_binary(&grp, &eph, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, tlv, 65) != 0 || olen != 65)
        goto out;
    if (mbedtls_hkdf(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), NULL, 0, shared, sizeof shared,
                     (const unsigned char *)OTA_ENC_INFO, sizeof OTA_ENC_INFO - 1, derived, key_len + 32) != 0)
        goto out;
    memcpy(tlv + 65 + 32, aes_key, key_len);
    if (aes_ctr(derived, key_len, tlv + 65 + 32, key_len) != OTA_OK ||
        mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), derived + key_len, 32, tlv + 65 + 32, key_len,
                        tlv + 65) != 0)
        goto out;
    rc = OTA_OK;
out:
    memset(shared, 0, sizeof shared);
    memset(derived, 0, sizeof derived);
    ota_host_rng_free(&r);
    mbedtls_mpi_free(&z);
    mbedtls_mpi_free(&d);
    mbedtls_ecp_point_free(&eph);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_group_free(&grp);
    return rc;
}

int ota_sign_image_encrypted(const ota_sign_opts_t *opts, const ota_key_t *key, const ota_key_t *enc_pub,
                             unsigned key_len, const uint8_t *payload, size_t len, uint8_t **out, size_t *out_len)
{
    uint8_t aes_key[32], tlv[OTA_ENC_EC256_TLV_LEN(32)];
    ota_custom_tlv_t enc_tlv;
    ota_sign_opts_t o = *opts;
    ota_image_header_t h;
    size_t padded = (len + 15) / 16 * 16;
    uint8_t *pl;
    ota_host_rng_t r;
    int rc;

    *out = NULL;
    *out_len = 0;
    if (key_len != 16 && key_len != 32)
        return OTA_ERR_ARG;
    /* A fresh key for every image (docs/encrypted_images.md: never reuse one). */
    if ((rc = ota_host_rng_init(&r, "otakit-encrypt")) == OTA_OK &&
        mbedtls_ctr_drbg_random(&r.drbg, aes_key, key_len) != 0)
        rc = OTA_ERR_CRYPTO;
    ota_host_rng_free(&r);
    if (rc != OTA_OK || (rc = ota_enc_wrap_ec256(enc_pub, aes_key, key_len, tlv)) != OTA_OK)
        goto done;
    /* imgtool pads the payload with zeros to whole AES blocks before hashing. */
    if (!(pl = calloc(1, padded ? padded : 1))) {
        rc = OTA_ERR_NO_MEM;
        goto done;
    }
    if (len)
        memcpy(pl, payload, len);
    enc_tlv.type = OTA_TLV_ENC_EC256;
    enc_tlv.len = (uint16_t)OTA_ENC_EC256_TLV_LEN(key_len);
    enc_tlv.value = tlv;
    o.flags |= key_len == 32 ? OTA_IMAGE_F_ENCRYPTED_AES256 : OTA_IMAGE_F_ENCRYPTED_AES128;
    o.unprot_tail = &enc_tlv;
    o.n_unprot_tail = 1;
    rc = ota_sign_image(&o, key, pl, padded, out, out_len);
    free(pl);
    if (rc != OTA_OK)
        goto done;
    ota_image_header_decode(*out, &h);
    if ((rc = aes_ctr(aes_key, key_len, *out + h.hdr_size, h.img_size)) != OTA_OK) {
        free(*out);
        *out = NULL;
        *out_len = 0;
    }
done:
    memset(aes_key, 0, sizeof aes_key);
    return rc;
}
