/*
 * Signing keys for the host tools (POSIX, heap): every algorithm MCUboot verifies (ECDSA P-256 and
 * P-384, RSA-2048 and RSA-3072, Ed25519; otakit/image.h OTA_ALG_*). Keys are read from PEM or DER:
 * SEC1, PKCS#1 or PKCS#8 private keys (what `openssl` and MCUboot's `imgtool keygen` write) and
 * SubjectPublicKeyInfo (or PKCS#1 RSA) public keys. The key file decides the algorithm.
 */
#ifndef OTAKIT_KEYS_H
#define OTAKIT_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/image.h"

typedef struct ota_key ota_key_t;

/* Generates a new P-256 key pair from the system entropy source. Caller frees with ota_key_free().
 * Returns OTA_OK, OTA_ERR_CRYPTO or OTA_ERR_NO_MEM. */
int ota_key_generate(ota_key_t **out);

/* Loads a private or public P-256 key from a PEM or DER file. Caller frees the key.
 * Returns OTA_OK, OTA_ERR_FILE (errno kept) or OTA_ERR_KEY_PARSE. */
int ota_key_load(const char *path, ota_key_t **out);

/* Loads a key from memory (PEM must be NUL-terminated inside len). Same results as ota_key_load(). */
int ota_key_load_mem(const uint8_t *buf, size_t len, ota_key_t **out);

/* Releases a key (NULL is fine). */
void ota_key_free(ota_key_t *key);

/* 1 when the key holds the private half. */
int ota_key_is_private(const ota_key_t *key);

/* The key's algorithm (OTA_ALG_ECDSA_P256, ..., OTA_ALG_ED25519). */
int ota_key_get_alg(const ota_key_t *key);

/* Writes the public key's DER in the form imgtool embeds and KEYHASH hashes (SubjectPublicKeyInfo;
 * PKCS#1 RSAPublicKey for RSA) into der (cap bytes; OTA_KEY_DER_MAX suffice), its length to *len.
 * Returns OTA_OK, OTA_ERR_NO_SPACE or OTA_ERR_CRYPTO. */
int ota_key_der(const ota_key_t *key, uint8_t *der, size_t cap, size_t *len);

/* Writes the 91-byte DER SubjectPublicKeyInfo of a P-256 key (OTA_ERR_CRYPTO for other keys). */
int ota_key_public_der(const ota_key_t *key, uint8_t der[OTA_P256_SPKI_LEN]);

/* Writes the private key as a PEM file (SEC1 "EC PRIVATE KEY") with mode 0600. Refuses to replace an existing file
 * unless overwrite is set. Returns OTA_OK, OTA_ERR_KEY_PUBLIC or OTA_ERR_FILE (errno kept). */
int ota_key_write_private_pem(const ota_key_t *key, const char *path, int overwrite);

/* PEM text of the public key into buf (NUL-terminated). Returns OTA_OK or OTA_ERR_NO_SPACE. */
int ota_key_public_pem(const ota_key_t *key, char *buf, size_t n);

/* Signs a SHA-256 hash with deterministic ECDSA (RFC 6979): the same image and key always give
 * the same signature. Writes DER into sig (72 bytes suffice). Returns OTA_OK, OTA_ERR_KEY_PUBLIC
 * or OTA_ERR_CRYPTO. */
int ota_key_sign_hash(const ota_key_t *key, const uint8_t hash[32], uint8_t *sig, size_t *siglen);

/* The 32-byte big-endian private scalar of a private key: an image-decryption key as a device's
 * enc_private_key callback gives it (otakit/port.h; `otakit verify -K`). Returns OTA_OK,
 * OTA_ERR_KEY_PUBLIC or OTA_ERR_CRYPTO. */
int ota_key_private_scalar(const ota_key_t *key, uint8_t out[32]);

/* Signs an image digest as MCUboot verifies it for the key's algorithm: dlen is
 * ota_alg_hash_len() (48 for P-384, else 32); ECDSA writes DER (deterministic, RFC 6979), RSA
 * RSASSA-PSS with MGF1-SHA256 and a random 32-byte salt (the modulus size), Ed25519 the 64-byte
 * signature of the digest. cap: bytes at sig (384 suffice). Returns OTA_OK, OTA_ERR_KEY_PUBLIC,
 * OTA_ERR_ARG (wrong digest length), OTA_ERR_NO_SPACE or OTA_ERR_CRYPTO. */
int ota_key_sign(const ota_key_t *key, const uint8_t *digest, size_t dlen, uint8_t *sig, size_t cap,
                 size_t *siglen);

#endif
