/*
 * Encrypted images on the host (POSIX, heap): `otakit sign --encrypt` and `-K` of verify/inspect.
 * The format is MCUboot's (otakit/enc.h): imgtool's create() in scripts/imgtool/image.py is what
 * ota_sign_image_encrypted() reproduces, ecies_hkdf() what ota_enc_wrap_ec256() does. The
 * encryption keys are P-256 key pairs like the signing keys (otakit keygen / imgtool keygen -t
 * ecdsa-p256), read by otakit/keys.h.
 */
#ifndef OTAKIT_ENCRYPT_H
#define OTAKIT_ENCRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/enc.h"
#include "otakit/keys.h"
#include "otakit/sign.h"

/* Wraps aes_key (key_len 16 or 32 bytes) for the holder of enc_pub's private half, as imgtool's
 * ecies_hkdf(): a fresh ephemeral P-256 key, ECDH, HKDF-SHA256 (no salt, "MCUBoot_ECIES_v1") to
 * key_len + 32 bytes, AES-CTR (zero nonce) of the key, HMAC-SHA256 of the result. Writes the
 * ENC_EC256 TLV value (ephemeral point || tag || wrapped key, OTA_ENC_EC256_TLV_LEN(key_len)
 * bytes) to tlv. Returns OTA_OK, OTA_ERR_ARG or OTA_ERR_CRYPTO. */
int ota_enc_wrap_ec256(const ota_key_t *enc_pub, const uint8_t *aes_key, unsigned key_len, uint8_t *tlv);

/* Signs and encrypts: the payload is padded with zeros to a multiple of 16 bytes (imgtool does),
 * the header gets IMAGE_F_ENCRYPTED_AES128 (key_len 16) or _AES256 (32), hash and signature are
 * computed over the plaintext, the ENC_EC256 TLV (a fresh random AES key wrapped for enc_pub) is
 * appended to the unprotected area, and the payload is AES-CTR encrypted. Otherwise as
 * ota_sign_image() (which it calls). Returns OTA_OK or a specific error. */
int ota_sign_image_encrypted(const ota_sign_opts_t *opts, const ota_key_t *key, const ota_key_t *enc_pub,
                             unsigned key_len, const uint8_t *payload, size_t len, uint8_t **out,
                             size_t *out_len);

#endif
