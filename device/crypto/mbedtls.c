/* SHA-256, MD5 and ECDSA (P-256, P-384) verification on mbedTLS (2.28 and 3.x). */
#include "crypto.h"

#include <string.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/version.h>

#include "otakit/err.h"
#include "otakit/image.h"

#if MBEDTLS_VERSION_MAJOR < 3
#define sha256_starts mbedtls_sha256_starts_ret
#define sha256_update mbedtls_sha256_update_ret
#define sha256_finish mbedtls_sha256_finish_ret
#define md5_starts mbedtls_md5_starts_ret
#define md5_update mbedtls_md5_update_ret
#define md5_finish mbedtls_md5_finish_ret
#else
#define md5_starts mbedtls_md5_starts
#define md5_update mbedtls_md5_update
#define md5_finish mbedtls_md5_finish
#define sha256_starts mbedtls_sha256_starts
#define sha256_update mbedtls_sha256_update
#define sha256_finish mbedtls_sha256_finish
#endif

/* DER prefix of SubjectPublicKeyInfo{id-ecPublicKey, prime256v1} + BIT STRING header; the
 * 65-byte uncompressed point (04 || X || Y) follows. */
static const uint8_t p256_spki_prefix[26] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
};

void ota_sha256_start(ota_sha256_t *h)
{
    mbedtls_sha256_init(&h->ctx);
    (void)sha256_starts(&h->ctx, 0);
}

void ota_sha256_update(ota_sha256_t *h, const uint8_t *data, uint32_t len)
{
    (void)sha256_update(&h->ctx, data, len);
}

void ota_sha256_finish(ota_sha256_t *h, uint8_t out[32])
{
    (void)sha256_finish(&h->ctx, out);
    mbedtls_sha256_free(&h->ctx);
}

void ota_md5_start(ota_md5_t *h)
{
    mbedtls_md5_init(&h->ctx);
    (void)md5_starts(&h->ctx);
}

void ota_md5_update(ota_md5_t *h, const uint8_t *data, uint32_t len)
{
    (void)md5_update(&h->ctx, data, len);
}

void ota_md5_finish(ota_md5_t *h, uint8_t out[16])
{
    (void)md5_finish(&h->ctx, out);
    mbedtls_md5_free(&h->ctx);
}

int ota_key_hash(const uint8_t *der, uint32_t len, uint8_t out[OTA_SHA256_LEN])
{
    ota_sha256_t h;
    if (!der || !out)
        return OTA_ERR_ARG;
    ota_sha256_start(&h);
    ota_sha256_update(&h, der, len);
    ota_sha256_finish(&h, out);
    return OTA_OK;
}

int ota_p256_key_check(const uint8_t *der, uint32_t len)
{
    if (!der || len != OTA_P256_SPKI_LEN || memcmp(der, p256_spki_prefix, sizeof p256_spki_prefix) != 0 ||
        der[sizeof p256_spki_prefix] != 0x04)
        return OTA_ERR_KEY_FORMAT;
    return OTA_OK;
}


#if OTAKIT_SIG_ECDSA_P256 || OTAKIT_SIG_ECDSA_P384
/* Reads one DER INTEGER of an ECDSA signature at *p (< end): positive, minimally encoded, at most
 * size significant bytes (32 for P-256, 48 for P-384). Returns 0 and advances *p, or -1. */
static int der_integer(const uint8_t **p, const uint8_t *end, uint32_t size, mbedtls_mpi *out)
{
    const uint8_t *q = *p;
    uint8_t n;
    if (end - q < 3 || q[0] != 0x02)
        return -1;
    n = q[1];
    q += 2;
    if (n == 0 || n > size + 1 || (size_t)(end - q) < n)
        return -1;
    if (q[0] & 0x80)
        return -1; /* negative */
    if (n > 1 && q[0] == 0x00 && !(q[1] & 0x80))
        return -1; /* not minimal */
    if (n == size + 1 && q[0] != 0x00)
        return -1; /* wider than the curve */
    if (mbedtls_mpi_read_binary(out, q, n) != 0)
        return -1;
    *p = q + n;
    return 0;
}

/* ECDSA verification of a strict DER signature over hash (hlen bytes) with the uncompressed point
 * of 2 * size + 1 bytes at point, on curve id. */
static int ecdsa_verify(mbedtls_ecp_group_id id, uint32_t size, const uint8_t *point, const uint8_t *hash,
                        uint32_t hlen, const uint8_t *sig, uint32_t siglen)
{
    mbedtls_ecp_group grp;
    mbedtls_ecp_point q;
    mbedtls_mpi r, s;
    const uint8_t *p, *end;
    int rc;

    if (!sig || siglen < 8 || sig[0] != 0x30 || sig[1] >= 0x80 || (uint32_t)sig[1] + 2 != siglen)
        return OTA_ERR_SIG_FORMAT;

    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&q);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    p = sig + 2;
    end = sig + siglen;
    if (der_integer(&p, end, size, &r) != 0 || der_integer(&p, end, size, &s) != 0 || p != end) {
        rc = OTA_ERR_SIG_FORMAT;
        goto out;
    }
    if (mbedtls_ecp_group_load(&grp, id) != 0) {
        rc = OTA_ERR_CRYPTO;
        goto out;
    }
    if (mbedtls_ecp_point_read_binary(&grp, &q, point, 2 * size + 1) != 0 ||
        mbedtls_ecp_check_pubkey(&grp, &q) != 0) {
        rc = OTA_ERR_KEY_FORMAT;
        goto out;
    }
    rc = mbedtls_ecdsa_verify(&grp, hash, hlen, &q, &r, &s) == 0 ? OTA_OK : OTA_ERR_SIGNATURE;
out:
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&r);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_group_free(&grp);
    return rc;
}

#endif

#if OTAKIT_SIG_ECDSA_P256
int ota_p256_verify(const uint8_t *der, uint32_t len, const uint8_t hash[32], const uint8_t *sig,
                    uint32_t siglen)
{
    if (ota_p256_key_check(der, len) != OTA_OK)
        return OTA_ERR_KEY_FORMAT;
    return ecdsa_verify(MBEDTLS_ECP_DP_SECP256R1, 32, der + sizeof p256_spki_prefix, hash, 32, sig, siglen);
}
#endif

#if OTAKIT_SIG_ECDSA_P384
int ota_p384_verify(const uint8_t *der, uint32_t len, const uint8_t hash[48], const uint8_t *sig,
                    uint32_t siglen)
{
    if (ota_key_alg(der, len) != OTA_ALG_ECDSA_P384)
        return OTA_ERR_KEY_FORMAT;
    return ecdsa_verify(MBEDTLS_ECP_DP_SECP384R1, 48, der + len - 97, hash, 48, sig, siglen);
}
#endif
