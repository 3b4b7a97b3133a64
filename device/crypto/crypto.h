/*
 * The device library's only door to cryptography: SHA-256 and ECDSA-P256 verification.
 * Backed by mbedTLS (crypto/mbedtls.c); a port with a hardware hash or PKA engine can
 * replace that one file. Internal header: not part of the public API.
 */
#ifndef OTAKIT_CRYPTO_H
#define OTAKIT_CRYPTO_H

#include <stdint.h>

#include <mbedtls/md5.h>
#include <mbedtls/sha256.h>

typedef struct {
    mbedtls_sha256_context ctx;
} ota_sha256_t;

/* Starts a SHA-256 computation. */
void ota_sha256_start(ota_sha256_t *h);
/* Feeds len bytes. */
void ota_sha256_update(ota_sha256_t *h, const uint8_t *data, uint32_t len);
/* Writes the digest and releases the context. */
void ota_sha256_finish(ota_sha256_t *h, uint8_t out[32]);

/* MD5, only to check the x-MD5 header of the ESP8266 HTTP update protocol (not for security:
 * the image's signature is what ota_end() trusts). */
typedef struct {
    mbedtls_md5_context ctx;
} ota_md5_t;

void ota_md5_start(ota_md5_t *h);
void ota_md5_update(ota_md5_t *h, const uint8_t *data, uint32_t len);
/* Writes the digest and releases the context. */
void ota_md5_finish(ota_md5_t *h, uint8_t out[16]);

/* Checks that der is an ECDSA P-256 SubjectPublicKeyInfo with an uncompressed point on the curve.
 * Returns OTA_OK or OTA_ERR_KEY_FORMAT. */
int ota_p256_key_check(const uint8_t *der, uint32_t len);

/* Verifies a DER ECDSA signature (exactly siglen bytes, strict DER) over a SHA-256 hash with the
 * key der. Returns OTA_OK, OTA_ERR_SIG_FORMAT, OTA_ERR_KEY_FORMAT, OTA_ERR_SIGNATURE or OTA_ERR_CRYPTO. */
int ota_p256_verify(const uint8_t *der, uint32_t len, const uint8_t hash[32], const uint8_t *sig,
                    uint32_t siglen);

#endif
