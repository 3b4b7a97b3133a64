/*
 * Encrypted images in MCUboot's format (docs/image-format.md, "Encrypted images").
 *
 * The header flag IMAGE_F_ENCRYPTED_AES128 (0x4) or _AES256 (0x8) says the payload (and only the
 * payload: not the header, not the TLVs) is AES-CTR encrypted, with a counter that is the 16-byte
 * block number from the payload's start. The AES key travels in the ENC_EC256 TLV (0x32, in the
 * unprotected area), wrapped by ECIES-P256 for the device's key pair: ephemeral public key (65
 * bytes) || HMAC-SHA256 tag (32) || AES-CTR-wrapped key (16 or 32). The SHA256 TLV and the
 * signature cover the plaintext (header, payload, protected TLVs), as MCUboot defines; so an
 * encrypted image is verified by decrypting it on the fly while hashing (ota_enc_read()).
 *
 * Followed: mcu-tools/mcuboot boot/bootutil/src/encrypted.c (boot_decrypt_key, boot_enc_load,
 * boot_enc_decrypt), boot/bootutil/src/bootutil_img_hash.c and loader.c (what is decrypted),
 * scripts/imgtool/image.py (ecies_hkdf, create), docs/encrypted_images.md.
 *
 * The device's private key comes from the port (ota_platform_ops_t.enc_private_key, otakit/port.h),
 * never from the image. Portable C99, no heap; the key is wiped from RAM after use.
 */
#ifndef OTAKIT_ENC_H
#define OTAKIT_ENC_H

#include <stdint.h>

#include "otakit/image.h"
#include "otakit/port.h"

#define OTA_ENC_EC256_PUB_LEN 65u /* uncompressed P-256 point */
#define OTA_ENC_TAG_LEN 32u       /* HMAC-SHA256 */
/* ENC_EC256 TLV length for an AES key of key_len bytes: 113 (AES-128) or 129 (AES-256). */
#define OTA_ENC_EC256_TLV_LEN(key_len) (OTA_ENC_EC256_PUB_LEN + OTA_ENC_TAG_LEN + (key_len))
#define OTA_ENC_INFO "MCUBoot_ECIES_v1" /* the HKDF info string */

/* The AES key of one image and the bytes it covers. */
typedef struct {
    uint8_t key[32];
    uint8_t key_len;    /* 16 or 32; 0: the image is not encrypted (nothing to apply) */
    uint32_t start;     /* the encrypted bytes: the payload, [hdr_size, hdr_size + img_size) */
    uint32_t end;
} ota_enc_key_t;

/* AES key length (16 or 32) an image's header flags ask for, or 0 for a plain image. */
unsigned ota_enc_key_len(uint32_t flags);

/* Opens the ENC_EC256 TLV value tlv (tlv_len bytes) with the device's private scalar priv (32
 * bytes, big-endian): ECDH with the ephemeral key, HKDF-SHA256 (no salt, info OTA_ENC_INFO) to
 * key_len + 32 bytes, HMAC-SHA256 check of the wrapped key, AES-CTR unwrap into key.
 * Returns OTA_OK, OTA_ERR_ENC_TLV (wrong length, not a curve point, or the tag does not match:
 * another key's image or a modified TLV), OTA_ERR_ENC_KEY (priv is not a valid scalar) or
 * OTA_ERR_CRYPTO. */
int ota_enc_unwrap(const uint8_t priv[32], const uint8_t *tlv, uint32_t tlv_len, uint8_t *key, unsigned key_len);

/* Loads the AES key of the image read through read (avail bytes): its header's flags, the
 * ENC_EC256 TLV of its unprotected area, ota_enc_unwrap(). A plain image gives OTA_OK with
 * k->key_len 0. Returns OTA_OK, a format error (OTA_ERR_MAGIC, ...), OTA_ERR_ENC_TLV (flag set
 * but no usable ENC_EC256 TLV), OTA_ERR_ENC_KEY or OTA_ERR_IO. */
int ota_enc_load(ota_read_fn read, void *ctx, uint32_t avail, const uint8_t priv[32], ota_enc_key_t *k);

/* ota_enc_load() with the private key asked from the port's enc_private_key callback (wiped
 * after use). A plain image needs no key. Returns as ota_enc_load(), or OTA_ERR_ENC_KEY when
 * the image is encrypted and the port has no key to give. */
int ota_enc_load_port(ota_read_fn read, void *ctx, uint32_t avail, const ota_platform_ops_t *plat,
                      ota_enc_key_t *k);

/* Encrypts or decrypts (the same XOR) buf, which holds the image's bytes [off, off + len): only
 * the part inside [k->start, k->end) changes. Nothing when k->key_len is 0. Returns OTA_OK or
 * OTA_ERR_CRYPTO. */
int ota_enc_apply(const ota_enc_key_t *k, uint32_t off, uint8_t *buf, uint32_t len);

/* Wipes the key. */
void ota_enc_clear(ota_enc_key_t *k);

/* An ota_read_fn that decrypts: reads through read/ctx and applies key, so ota_image_verify()
 * over it checks the plaintext's hash and signature while the storage keeps the ciphertext. */
typedef struct {
    ota_read_fn read;
    void *ctx;
    const ota_enc_key_t *key;
} ota_enc_reader_t;

/* ota_read_fn over an ota_enc_reader_t. Returns 0, or -1 on a read or crypto failure. */
int ota_enc_read(void *reader, uint32_t off, void *buf, uint32_t len);

/* What the device core (ota_end, ota_boot: control.c, swap.c) calls encrypted images through, so
 * that a build that does not enable them links none of their code (AES, ECDH: about 10 KB on a
 * Cortex-M3), as MCUboot's MCUBOOT_ENC_IMAGES leaves it out: a port enables them by setting
 * ota_config_t.enc = &ota_enc_ecies_p256 and giving ota_platform_ops_t.enc_private_key. */
typedef struct ota_enc_ops {
    int (*load_port)(ota_read_fn read, void *ctx, uint32_t avail, const ota_platform_ops_t *plat,
                     ota_enc_key_t *k);                                              /* ota_enc_load_port */
    int (*apply)(const ota_enc_key_t *k, uint32_t off, uint8_t *buf, uint32_t len); /* ota_enc_apply */
    int (*read)(void *reader, uint32_t off, void *buf, uint32_t len);               /* ota_enc_read */
} ota_enc_ops_t;

/* MCUboot's ENC_EC256 (ECIES-P256, AES-128/256-CTR): the functions above. */
extern const ota_enc_ops_t ota_enc_ecies_p256;

#endif
