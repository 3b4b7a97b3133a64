/*
 * RSASSA-PSS verification for MCUboot's RSA2048 and RSA3072 TLVs, on mbedTLS's RSA (2.28, 3.x).
 * MCUboot (boot/bootutil/src/image_rsa.c) accepts one parameter set: SHA-256, MGF1 with SHA-256,
 * a 32-byte salt; the key is the DER PKCS#1 RSAPublicKey that imgtool embeds
 * (scripts/imgtool/keys/rsa.py, get_public_bytes: PublicFormat.PKCS1).
 */
#include "crypto.h"

#include "otakit/err.h"

/* Reads one DER header (tag, minimal definite length) at *p; the value must lie before end.
 * Returns the value's length and advances *p to it, or -1. */
static long der_header(const uint8_t **p, const uint8_t *end, uint8_t tag)
{
    const uint8_t *q = *p;
    unsigned long n;
    if (end - q < 2 || q[0] != tag)
        return -1;
    n = q[1];
    q += 2;
    if (n == 0x81) {
        if (end - q < 1 || q[0] < 0x80)
            return -1;
        n = q[0];
        q += 1;
    } else if (n == 0x82) {
        if (end - q < 2 || q[0] == 0 || ((unsigned long)q[0] << 8 | q[1]) < 0x100)
            return -1;
        n = (unsigned long)q[0] << 8 | q[1];
        q += 2;
    } else if (n >= 0x80) {
        return -1;
    }
    if (n > (unsigned long)(end - q))
        return -1;
    *p = q;
    return (long)n;
}

/* A positive, minimally encoded INTEGER: *val and *n get its magnitude without the sign byte. */
static int der_uint(const uint8_t **p, const uint8_t *end, const uint8_t **val, uint32_t *n)
{
    long len = der_header(p, end, 0x02);
    const uint8_t *q = *p;
    if (len <= 0 || (q[0] & 0x80))
        return -1;
    if (len > 1 && q[0] == 0 && !(q[1] & 0x80))
        return -1;
    *p = q + len;
    if (q[0] == 0 && len > 1) {
        q++;
        len--;
    }
    *val = q;
    *n = (uint32_t)len;
    return 0;
}

/* Splits der into the modulus and exponent magnitudes; returns the modulus bits or 0. */
static unsigned parse_key(const uint8_t *der, uint32_t len, const uint8_t **n, uint32_t *nlen,
                          const uint8_t **e, uint32_t *elen)
{
    const uint8_t *p = der, *end = der + len;
    long seq;
    if (!der || (seq = der_header(&p, end, 0x30)) < 0 || p + seq != end)
        return 0;
    if (der_uint(&p, end, n, nlen) != 0 || der_uint(&p, end, e, elen) != 0 || p != end)
        return 0;
    if ((*nlen != 256 && *nlen != 384) || !((*n)[0] & 0x80))
        return 0; /* exactly 2048 or 3072 bits */
    if (*elen > 4 || !((*e)[*elen - 1] & 1) || (*elen == 1 && (*e)[0] < 3))
        return 0; /* an odd public exponent of at most 32 bits, at least 3 */
    return *nlen * 8;
}

unsigned ota_rsa_key_bits(const uint8_t *der, uint32_t len)
{
    const uint8_t *n, *e;
    uint32_t nlen, elen;
    return parse_key(der, len, &n, &nlen, &e, &elen);
}

#if OTAKIT_SIG_RSA

#include <mbedtls/rsa.h>
#include <mbedtls/version.h>

#define PSS_SALT_LEN 32

int ota_rsa_pss_verify(const uint8_t *der, uint32_t len, const uint8_t hash[32], const uint8_t *sig,
                       uint32_t siglen)
{
    mbedtls_rsa_context rsa;
    const uint8_t *n, *e;
    uint32_t nlen, elen;
    int rc;

    if (!parse_key(der, len, &n, &nlen, &e, &elen))
        return OTA_ERR_KEY_FORMAT;
    if (!sig || siglen != nlen)
        return OTA_ERR_SIG_FORMAT;
#if MBEDTLS_VERSION_MAJOR < 3
    mbedtls_rsa_init(&rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
#else
    mbedtls_rsa_init(&rsa);
    (void)mbedtls_rsa_set_padding(&rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
#endif
    if (mbedtls_rsa_import_raw(&rsa, n, nlen, NULL, 0, NULL, 0, NULL, 0, e, elen) != 0 ||
        mbedtls_rsa_complete(&rsa) != 0 || mbedtls_rsa_check_pubkey(&rsa) != 0) {
        rc = OTA_ERR_KEY_FORMAT;
        goto out;
    }
#if MBEDTLS_VERSION_MAJOR < 3
    rc = mbedtls_rsa_rsassa_pss_verify_ext(&rsa, NULL, NULL, MBEDTLS_RSA_PUBLIC, MBEDTLS_MD_SHA256, 32, hash,
                                           MBEDTLS_MD_SHA256, PSS_SALT_LEN, sig);
#else
    rc = mbedtls_rsa_rsassa_pss_verify_ext(&rsa, MBEDTLS_MD_SHA256, 32, hash, MBEDTLS_MD_SHA256, PSS_SALT_LEN, sig);
#endif
    rc = rc == 0 ? OTA_OK : OTA_ERR_SIGNATURE;
out:
    mbedtls_rsa_free(&rsa);
    return rc;
}

#endif
