/*
 * ECIES-P256 pieces for encrypted images (see ecies.h), following MCUboot's
 * boot/bootutil/src/encrypted.c: hkdf() (RFC 5869, zero salt), the ECDH shared secret (the x
 * coordinate), and AES-CTR with the block number as a big-endian counter (boot_enc_decrypt()).
 */
#include "ecies.h"

#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>

#include "otakit/bytes.h"
#include "otakit/err.h"

#include "crypto.h"

#define BLOCK 64u /* SHA-256 block size */

void ota_hmac_sha256(const uint8_t *key, uint32_t key_len, const uint8_t *m1, uint32_t n1, const uint8_t *m2,
                     uint32_t n2, uint8_t out[32])
{
    uint8_t k[BLOCK], pad[BLOCK], inner[32];
    ota_sha256_t h;
    unsigned i;

    ota_wipe(k, sizeof k);
    if (key_len > BLOCK) {
        ota_sha256_start(&h);
        ota_sha256_update(&h, key, key_len);
        ota_sha256_finish(&h, k);
    } else if (key_len) {
        memcpy(k, key, key_len);
    }
    for (i = 0; i < BLOCK; i++)
        pad[i] = (uint8_t)(k[i] ^ 0x36);
    ota_sha256_start(&h);
    ota_sha256_update(&h, pad, BLOCK);
    if (n1)
        ota_sha256_update(&h, m1, n1);
    if (n2)
        ota_sha256_update(&h, m2, n2);
    ota_sha256_finish(&h, inner);
    for (i = 0; i < BLOCK; i++)
        pad[i] = (uint8_t)(k[i] ^ 0x5c);
    ota_sha256_start(&h);
    ota_sha256_update(&h, pad, BLOCK);
    ota_sha256_update(&h, inner, sizeof inner);
    ota_sha256_finish(&h, out);
    ota_wipe(k, sizeof k);
    ota_wipe(pad, sizeof pad);
    ota_wipe(inner, sizeof inner);
}

void ota_hkdf_sha256(const uint8_t *ikm, uint32_t ikm_len, const uint8_t *info, uint32_t info_len, uint8_t *okm,
                     uint32_t okm_len)
{
    uint8_t salt[32], prk[32], t[32 + 64], ctr;
    uint32_t off = 0, n;

    ota_wipe(salt, sizeof salt);
    ota_hmac_sha256(salt, sizeof salt, ikm, ikm_len, NULL, 0, prk); /* extract */
    for (ctr = 1; off < okm_len; ctr++) {                            /* expand: T(i) = HMAC(T(i-1) | info | i) */
        uint32_t prev = ctr == 1 ? 0 : 32;
        if (info_len > 64)
            break;
        memcpy(t + prev, info, info_len);
        t[prev + info_len] = ctr;
        ota_hmac_sha256(prk, sizeof prk, t, prev + info_len + 1, NULL, 0, t);
        n = okm_len - off < 32 ? okm_len - off : 32;
        memcpy(okm + off, t, n);
        off += n;
    }
    ota_wipe(prk, sizeof prk);
    ota_wipe(t, sizeof t);
}

/* Blinding values for the scalar multiplication (mbedTLS 3 requires an RNG): HMAC-SHA256 keyed
 * by the private scalar over the peer's point and a counter, so they are unpredictable without
 * the key. MCUboot passes a fixed counting sequence (fake_rng() in encrypted.c). */
struct blind {
    const uint8_t *priv;
    const uint8_t *pub;
    uint32_t n;
};

static int blind_rng(void *ctx, unsigned char *out, size_t len)
{
    struct blind *b = (struct blind *)ctx;
    uint8_t ctr[4], v[32];
    while (len) {
        size_t k = len < sizeof v ? len : sizeof v;
        ctr[0] = (uint8_t)(b->n >> 24);
        ctr[1] = (uint8_t)(b->n >> 16);
        ctr[2] = (uint8_t)(b->n >> 8);
        ctr[3] = (uint8_t)b->n;
        b->n++;
        ota_hmac_sha256(b->priv, 32, b->pub, 65, ctr, sizeof ctr, v);
        memcpy(out, v, k);
        out += k;
        len -= k;
    }
    return 0;
}

int ota_p256_ecdh(const uint8_t priv[32], const uint8_t pub[65], uint8_t shared[32])
{
    mbedtls_ecp_group grp;
    mbedtls_ecp_point q, r;
    mbedtls_mpi d;
    struct blind b;
    uint8_t pt[65];
    size_t olen = 0;
    int rc = OTA_ERR_CRYPTO;

    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&q);
    mbedtls_ecp_point_init(&r);
    mbedtls_mpi_init(&d);
    if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) != 0)
        goto out;
    if (pub[0] != 0x04 || mbedtls_ecp_point_read_binary(&grp, &q, pub, 65) != 0 ||
        mbedtls_ecp_check_pubkey(&grp, &q) != 0) {
        rc = OTA_ERR_ENC_TLV;
        goto out;
    }
    if (mbedtls_mpi_read_binary(&d, priv, 32) != 0 || mbedtls_ecp_check_privkey(&grp, &d) != 0) {
        rc = OTA_ERR_ENC_KEY;
        goto out;
    }
    b.priv = priv;
    b.pub = pub;
    b.n = 0;
    if (mbedtls_ecp_mul(&grp, &r, &d, &q, blind_rng, &b) != 0 ||
        mbedtls_ecp_point_write_binary(&grp, &r, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, pt, sizeof pt) != 0 ||
        olen != sizeof pt)
        goto out;
    memcpy(shared, pt + 1, 32);
    rc = OTA_OK;
out:
    ota_wipe(pt, sizeof pt);
    mbedtls_mpi_free(&d);
    mbedtls_ecp_point_free(&r);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_group_free(&grp);
    return rc;
}

int ota_aes_ctr_xor(const uint8_t *key, uint32_t key_len, uint32_t pos, uint8_t *buf, uint32_t len)
{
    mbedtls_aes_context aes;
    uint8_t ctr[16], ks[16];
    uint32_t blk = pos / 16, i;
    unsigned skip = pos % 16;
    int rc = OTA_OK;

    if (key_len != 16 && key_len != 32)
        return OTA_ERR_ARG;
    mbedtls_aes_init(&aes);
    if (mbedtls_aes_setkey_enc(&aes, key, key_len * 8) != 0) {
        rc = OTA_ERR_CRYPTO;
        goto out;
    }
    memset(ctr, 0, 12);
    while (len) {
        ctr[12] = (uint8_t)(blk >> 24);
        ctr[13] = (uint8_t)(blk >> 16);
        ctr[14] = (uint8_t)(blk >> 8);
        ctr[15] = (uint8_t)blk;
        if (mbedtls_aes_crypt_ecb(&aes, MBEDTLS_AES_ENCRYPT, ctr, ks) != 0) {
            rc = OTA_ERR_CRYPTO;
            goto out;
        }
        for (i = skip; i < 16 && len; i++, len--)
            *buf++ ^= ks[i];
        skip = 0;
        blk++;
    }
out:
    ota_wipe(ks, sizeof ks);
    mbedtls_aes_free(&aes);
    return rc;
}
