/*
 * The crypto behind encrypted images (internal): ECIES-P256 key unwrapping exactly as MCUboot's
 * boot_decrypt_key() does it for the ENC_EC256 TLV, and the AES-CTR keystream of the payload.
 * Backed by mbedTLS (crypto/ecies.c: ECP for the ECDH, AES); HMAC and HKDF are built here on
 * ota_sha256 (crypto.h), so no mbedTLS MD layer is needed on a target.
 */
#ifndef OTAKIT_ECIES_H
#define OTAKIT_ECIES_H

#include <stdint.h>

/* HMAC-SHA256 of the concatenation of two messages (either may be NULL with length 0). */
void ota_hmac_sha256(const uint8_t *key, uint32_t key_len, const uint8_t *m1, uint32_t n1, const uint8_t *m2,
                     uint32_t n2, uint8_t out[32]);

/* HKDF-SHA256 (RFC 5869) with no salt (MCUboot's: a zeroed 32-byte salt): okm_len <= 64 bytes
 * from ikm and info. */
void ota_hkdf_sha256(const uint8_t *ikm, uint32_t ikm_len, const uint8_t *info, uint32_t info_len, uint8_t *okm,
                     uint32_t okm_len);

/* ECDH on P-256: the x coordinate of priv * pub, where pub is an uncompressed point (04||X||Y)
 * checked to be on the curve and priv a 32-byte big-endian scalar in [1, n-1].
 * Returns OTA_OK, OTA_ERR_ENC_TLV (pub not a valid point), OTA_ERR_ENC_KEY (bad scalar) or
 * OTA_ERR_CRYPTO. */
int ota_p256_ecdh(const uint8_t priv[32], const uint8_t pub[65], uint8_t shared[32]);

/* XORs the AES-CTR keystream of key (16 or 32 bytes) into buf: len bytes starting at byte pos of
 * the stream, whose counter block is the 128-bit big-endian block number (pos / 16) from a zero
 * nonce, as MCUboot's boot_enc_decrypt() and imgtool's Cipher(AES(key), CTR(zeros)).
 * Returns OTA_OK or OTA_ERR_CRYPTO. */
int ota_aes_ctr_xor(const uint8_t *key, uint32_t key_len, uint32_t pos, uint8_t *buf, uint32_t len);

#endif
