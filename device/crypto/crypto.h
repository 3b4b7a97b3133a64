/*
 * The device library's only door to cryptography: SHA-256 and ECDSA-P256 verification, and
 * the other signatures MCUboot accepts when the build selects them (OTAKIT_SIG_*, below).
 * Backed by mbedTLS (crypto/mbedtls.c, sha512.c, rsa.c) and by ed25519.c (mbedTLS has no
 * Ed25519); a port with a hardware hash or PKA engine can replace those files. Internal header:
 * not part of the public API.
 */
#ifndef OTAKIT_CRYPTO_H
#define OTAKIT_CRYPTO_H

#include <stdint.h>

#include <mbedtls/md5.h>
#include <mbedtls/sha256.h>

/* Signature algorithms this build verifies, chosen at compile time (CMake: OTAKIT_SIG_ALGS), so
 * that an ECDSA-P256-only bootloader links nothing else. Unset: ECDSA-P256 only. */
#ifndef OTAKIT_SIG_ECDSA_P256
#define OTAKIT_SIG_ECDSA_P256 1
#endif
#ifndef OTAKIT_SIG_ECDSA_P384
#define OTAKIT_SIG_ECDSA_P384 0
#endif
#ifndef OTAKIT_SIG_RSA
#define OTAKIT_SIG_RSA 0
#endif
#ifndef OTAKIT_SIG_ED25519
#define OTAKIT_SIG_ED25519 0
#endif
#ifndef OTAKIT_ED25519_SIGN
#define OTAKIT_ED25519_SIGN 0 /* host tools only: ota_ed25519_sign() */
#endif
#define OTAKIT_SHA512 (OTAKIT_SIG_ECDSA_P384 || OTAKIT_SIG_ED25519)

#if OTAKIT_SHA512
#include <mbedtls/sha512.h>
#endif

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

#if OTAKIT_SHA512
/* SHA-512 (Ed25519) and SHA-384 (MCUboot's hash for ECDSA-P384 images), crypto/sha512.c. */
typedef struct {
    mbedtls_sha512_context ctx;
} ota_sha512_t;

/* Starts SHA-512, or SHA-384 when is384 is 1. */
void ota_sha512_start_alg(ota_sha512_t *h, int is384);
#define ota_sha512_start(h) ota_sha512_start_alg((h), 0)
void ota_sha512_update(ota_sha512_t *h, const uint8_t *data, uint32_t len);
/* Writes the digest (64 bytes, or 48 for SHA-384) and releases the context. */
void ota_sha512_finish(ota_sha512_t *h, uint8_t *out);
#endif

#if OTAKIT_SIG_ECDSA_P384
/* Verifies a strict DER ECDSA signature over a SHA-384 hash with the P-384 key der. Same results
 * as ota_p256_verify(). */
int ota_p384_verify(const uint8_t *der, uint32_t len, const uint8_t hash[48], const uint8_t *sig,
                    uint32_t siglen);
#endif

/* The modulus size in bits (2048 or 3072) of der, a DER PKCS#1 RSAPublicKey {n, e} as imgtool
 * embeds it, or 0 when der is not one (strict DER, nothing after it, other sizes refused). Pure
 * DER reading: compiled in every build (ota_key_alg() uses it). */
unsigned ota_rsa_key_bits(const uint8_t *der, uint32_t len);

#if OTAKIT_SIG_RSA
/* Verifies an RSASSA-PSS signature (MGF1 with SHA-256, 32-byte salt: MCUboot's only parameters)
 * of siglen bytes (the modulus size) over a SHA-256 hash. Returns OTA_OK, OTA_ERR_KEY_FORMAT,
 * OTA_ERR_SIG_FORMAT, OTA_ERR_SIGNATURE or OTA_ERR_CRYPTO. */
int ota_rsa_pss_verify(const uint8_t *der, uint32_t len, const uint8_t hash[32], const uint8_t *sig,
                       uint32_t siglen);
#endif

#if OTAKIT_SIG_ED25519
/* Verifies the 64-byte Ed25519 signature of msg (for MCUboot: the image's SHA-256 digest) with the
 * key der. Returns OTA_OK, OTA_ERR_KEY_FORMAT, OTA_ERR_SIG_FORMAT (S not below the group order)
 * or OTA_ERR_SIGNATURE. */
int ota_ed25519_verify(const uint8_t *der, uint32_t len, const uint8_t *msg, uint32_t msglen,
                       const uint8_t sig[64]);
#if OTAKIT_ED25519_SIGN
/* The public key of a 32-byte private seed, and the signature of msg under it (RFC 8032). */
void ota_ed25519_public(const uint8_t seed[32], uint8_t pub[32]);
void ota_ed25519_sign(const uint8_t seed[32], const uint8_t *msg, uint32_t len, uint8_t sig[64]);
#endif
#endif

/* Verifies siglen bytes of signature over the image digest with the trusted key der of algorithm
 * alg (OTA_ALG_*), through the verifier this build selected (image/sigalg.c). Returns OTA_OK,
 * OTA_ERR_SIGNATURE, OTA_ERR_SIG_FORMAT, OTA_ERR_KEY_FORMAT (also: alg not built) or OTA_ERR_CRYPTO. */
int ota_sig_verify(int alg, const uint8_t *der, uint32_t len, const uint8_t *digest, const uint8_t *sig,
                   uint32_t siglen);

#endif
