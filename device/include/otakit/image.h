/*
 * otakit image format: the MCUboot layout (see docs/image-format.md).
 *
 *   [header 32 B][header padding up to hdr_size][payload img_size B]
 *   [protected TLV area: info {0x6908, tot} + TLVs]   (optional, covered by the hash)
 *   [unprotected TLV area: info {0x6907, tot} + SHA256, KEYHASH|PUBKEY, ECDSA signature]
 *
 * This is the only module that knows the byte layout. The signer (lib/), the CLI,
 * the server and the bootloader all read and write images through it; the TLV types and
 * their rules are the table in otakit/tlv.h. It is portable C99: no heap, no stdio;
 * storage is read through an ota_read_fn.
 */
#ifndef OTAKIT_IMAGE_H
#define OTAKIT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/err.h"
#include "otakit/tlv.h"

#define OTA_IMAGE_MAGIC 0x96f3b83dUL
#define OTA_IMAGE_HEADER_SIZE 32u
#define OTA_TLV_INFO_MAGIC 0x6907u      /* unprotected TLV area */
#define OTA_TLV_PROT_INFO_MAGIC 0x6908u /* protected TLV area (hashed and signed) */
#define OTA_TLV_INFO_SIZE 4u
#define OTA_TLV_HDR_SIZE 4u

/* Header flags (ih_flags). */
#define OTA_IMAGE_F_PIC 0x00000001UL
#define OTA_IMAGE_F_ENCRYPTED_AES128 0x00000004UL
#define OTA_IMAGE_F_ENCRYPTED_AES256 0x00000008UL
#define OTA_IMAGE_F_NON_BOOTABLE 0x00000010UL
#define OTA_IMAGE_F_RAM_LOAD 0x00000020UL
#define OTA_IMAGE_F_ROM_FIXED 0x00000100UL
#define OTA_IMAGE_F_COMPRESSED_LZMA1 0x00000200UL
#define OTA_IMAGE_F_COMPRESSED_LZMA2 0x00000400UL
/* Encrypted payload (otakit/enc.h: decrypted with the device's key where the layout needs it). */
#define OTA_IMAGE_F_ENCRYPTED (OTA_IMAGE_F_ENCRYPTED_AES128 | OTA_IMAGE_F_ENCRYPTED_AES256)
/* Flags whose images this library cannot verify or run. */
#define OTA_IMAGE_F_UNSUPPORTED (OTA_IMAGE_F_COMPRESSED_LZMA1 | OTA_IMAGE_F_COMPRESSED_LZMA2)

/* TLV types (OTA_TLV_SEC_CNT, OTA_TLV_PRODUCT, ...) and their rules come from the table in
 * otakit/tlv.h. */
#define OTA_P256_SPKI_LEN 91u     /* DER SubjectPublicKeyInfo of an uncompressed P-256 key */
#define OTA_P384_SPKI_LEN 120u    /* the same for P-384 */
#define OTA_ED25519_SPKI_LEN 44u  /* DER SubjectPublicKeyInfo of an Ed25519 key (RFC 8410) */
#define OTA_RSA3072_DER_LEN 398u  /* DER PKCS#1 RSAPublicKey of a 3072-bit key, exponent 65537 */
#define OTA_KEY_DER_MAX 400u      /* longest public key DER of any algorithm below */

/* The signature algorithms of MCUboot images (imgtool keygen -t: ecdsa-p256, ecdsa-p384,
 * rsa-2048, rsa-3072, ed25519). A build verifies those it selects (CMake OTAKIT_SIG_ALGS, see
 * docs/image-format.md); the trusted key's DER form says which one an image must use. */
enum {
    OTA_ALG_NONE = 0,
    OTA_ALG_ECDSA_P256, /* ECDSASIG 0x22 over SHA-256 (0x10); key: SubjectPublicKeyInfo */
    OTA_ALG_ECDSA_P384, /* ECDSASIG 0x22 over SHA-384 (0x11); key hash SHA-384 too */
    OTA_ALG_RSA2048,    /* RSA2048 0x20, RSASSA-PSS SHA-256, salt 32; key: PKCS#1 RSAPublicKey */
    OTA_ALG_RSA3072,    /* RSA3072 0x23, the same */
    OTA_ALG_ED25519     /* ED25519 0x24 over the SHA-256 digest (not --pure); SubjectPublicKeyInfo */
};

/* The algorithm of a DER public key in the form imgtool embeds (see above), or OTA_ALG_NONE. Knows
 * every algorithm, also those this build does not verify. */
int ota_key_alg(const uint8_t *der, uint32_t len);

/* 1 when this build verifies alg's signatures. */
int ota_alg_enabled(int alg);

/* imgtool's name of alg ("ecdsa-p256", ...; "none"). */
const char *ota_alg_name(int alg);

/* The signature TLV type of alg's images, and the length of their image hash and key hash (32:
 * SHA-256, 48: SHA-384). 0 for OTA_ALG_NONE. */
uint16_t ota_alg_sig_tlv(int alg);
uint32_t ota_alg_hash_len(int alg);

typedef struct {
    uint8_t major;
    uint8_t minor;
    uint16_t revision;
    uint32_t build;
} ota_version_t;

typedef struct {
    uint32_t magic;
    uint32_t load_addr;
    uint16_t hdr_size;         /* payload offset, >= 32 */
    uint16_t protect_tlv_size; /* whole protected area incl. its info header, or 0 */
    uint32_t img_size;         /* payload bytes */
    uint32_t flags;
    ota_version_t version;
} ota_image_header_t;

/* Where each part of an image lies, all offsets from the image start. */
typedef struct {
    uint32_t payload_off; /* = hdr_size */
    uint32_t prot_off;    /* protected area (info header included); prot_len 0 if absent */
    uint32_t prot_len;
    uint32_t unprot_off;  /* unprotected area; also the length of the hashed region */
    uint32_t unprot_len;
    uint32_t image_end;   /* first byte after the image (slot padding/trailer follow) */
} ota_image_layout_t;

/*
 * Reads len bytes at offset off of the storage holding the image into buf.
 * Returns 0 on success, anything else on failure (reported as OTA_ERR_IO).
 */
typedef int (*ota_read_fn)(void *ctx, uint32_t off, void *buf, uint32_t len);

/* Decodes a 32-byte little-endian header and checks magic, hdr_size and flags.
 * Returns OTA_OK, OTA_ERR_MAGIC, OTA_ERR_HDR_SIZE or OTA_ERR_FLAGS (out is filled in all cases). */
int ota_image_header_decode(const uint8_t raw[OTA_IMAGE_HEADER_SIZE], ota_image_header_t *out);

/* Encodes hdr into 32 little-endian bytes (the pad word is written as zero). */
void ota_image_header_encode(const ota_image_header_t *hdr, uint8_t raw[OTA_IMAGE_HEADER_SIZE]);

/* Locates the TLV areas of the image whose header is hdr, reading their info headers through
 * read. avail is how many bytes the storage holds; nothing past it is read. Returns OTA_OK or
 * OTA_ERR_TRUNCATED / OTA_ERR_TOO_BIG / OTA_ERR_PROT_SIZE / OTA_ERR_TLV_MAGIC / OTA_ERR_IO. */
int ota_image_layout(ota_read_fn read, void *ctx, uint32_t avail, const ota_image_header_t *hdr,
                     ota_image_layout_t *out);

/* One TLV: its type, value length, value offset in the image and which area holds it. */
typedef struct {
    uint16_t type;
    uint16_t len;
    uint32_t off;
    uint8_t is_protected;
} ota_tlv_t;

/* Walks the TLVs of both areas in file order (protected first). Holds no buffers. */
typedef struct {
    ota_read_fn read;
    void *ctx;
    const ota_image_layout_t *layout;
    uint32_t off;  /* next TLV header */
    uint32_t end;  /* end of the current area */
    uint8_t area;  /* 0 protected, 1 unprotected, 2 done */
} ota_tlv_iter_t;

/* Starts a walk over the TLVs of an image whose layout was found by ota_image_layout(). */
void ota_tlv_iter_init(ota_tlv_iter_t *it, ota_read_fn read, void *ctx, const ota_image_layout_t *layout);

/* Gets the next TLV. Returns 1 with *tlv filled, 0 at the end, or OTA_ERR_TLV_BOUNDS / OTA_ERR_IO
 * when a TLV header or value does not lie wholly inside its area. */
int ota_tlv_next(ota_tlv_iter_t *it, ota_tlv_t *tlv);

/* ota_read_fn over bytes in memory: ctx points to one. */
typedef struct {
    const uint8_t *p;
    uint32_t len;
} ota_mem_src_t;

/* Copies len bytes at off of the ota_mem_src_t ctx into buf. Returns 0, or -1 when the range is
 * not wholly inside the buffer. */
int ota_mem_read(void *ctx, uint32_t off, void *buf, uint32_t len);

/* Computes SHA-256 over bytes [0, len) of the storage, read through read in small chunks (the
 * image hash when len is layout.unprot_off). Returns OTA_OK or OTA_ERR_IO. */
int ota_image_hash(ota_read_fn read, void *ctx, uint32_t len, uint8_t out[OTA_SHA256_LEN]);

/* The same with SHA-384 when hash_len is 48 (ECDSA-P384 images; OTA_ERR_CRYPTO in a build without
 * P-384), SHA-256 when it is 32. */
int ota_image_hash_len(ota_read_fn read, void *ctx, uint32_t len, uint32_t hash_len, uint8_t *out);

/* Writes one TLV area (info header, then TLVs) into a caller's buffer and holds no other memory:
 * ota_tlv_area_begin(), ota_tlv_put() for each TLV in order, ota_tlv_area_end(). Each TLV is
 * checked by the table's rules for its area (otakit/tlv.h), so an area it writes is one
 * ota_image_verify() accepts. With buf NULL it only counts, to size an area before writing it. */
typedef struct {
    uint8_t *buf;         /* start of the area (its info header), or NULL to count only */
    uint32_t cap;         /* bytes available at buf */
    uint32_t len;         /* bytes of the area so far, info header included */
    uint32_t seen;        /* table entries put so far (bit = ota_tlv_def_t.index) */
    uint16_t count;       /* TLVs put */
    uint8_t is_protected; /* 1: the protected area (0x6908), 0: the unprotected one (0x6907) */
    int err;              /* the first error; it sticks until the end */
} ota_tlv_writer_t;

/* Starts an area at buf (cap bytes; buf NULL: count only), protected or not. */
void ota_tlv_area_begin(ota_tlv_writer_t *w, uint8_t *buf, uint32_t cap, int is_protected);

/* Appends TLV {type, len, val}. Returns OTA_OK, or the first error, which sticks:
 * OTA_ERR_TLV_VALUE/OTA_ERR_TLV_LEN/OTA_ERR_TLV_DUP (the table's rules), OTA_ERR_TLV_UNPROTECTED
 * (a type the unprotected area does not admit), OTA_ERR_TLV_LEN (area past 0xffff bytes),
 * OTA_ERR_NO_SPACE (past cap) or OTA_ERR_ARG (len without val). */
int ota_tlv_put(ota_tlv_writer_t *w, uint16_t type, const void *val, uint16_t len);

/* Finishes the area: writes its info header {magic, tot} and sets *len to the area's size; a
 * protected area with no TLVs is left out (*len 0), as MCUboot does. Returns OTA_OK or the first
 * error of the area. */
int ota_tlv_area_end(ota_tlv_writer_t *w, uint32_t *len);

/* A trusted public key, DER in the form imgtool embeds: SubjectPublicKeyInfo (ECDSA P-256 91 bytes,
 * P-384 120, Ed25519 44) or PKCS#1 RSAPublicKey (RSA-2048/3072); see ota_key_alg(). */
typedef struct {
    const uint8_t *der;
    uint32_t len;
} ota_pubkey_t;

/* ota_verify_cfg_t.flags */
#define OTA_VERIFY_HASH_ONLY 0x1u /* check structure and hash; do not require or check a signature */
/* An encrypted image (otakit/enc.h) read as it lies, without the device's key: its SHA256 TLV (the
 * plaintext's hash) cannot be recomputed, so the signature is checked over that stated hash. What
 * a server can check of a release it stores and serves encrypted. */
#define OTA_VERIFY_ENC_STATED_HASH 0x2u

typedef struct {
    const ota_pubkey_t *keys; /* trusted keys; the image's KEYHASH/PUBKEY picks one */
    unsigned n_keys;
    unsigned flags;
} ota_verify_cfg_t;

/* What ota_image_verify() learned about an image; valid fields depend on how far it got. */
typedef struct {
    ota_image_header_t hdr;
    ota_image_layout_t layout;
    uint32_t security_counter;    /* 0 when the image has no SEC_CNT TLV */
    uint8_t has_security_counter;
    uint8_t has_signature;
    uint8_t signature_checked;    /* 1 only when the signature was verified against a trusted key */
    int key_index;                /* index in cfg->keys of the key that verified it, or -1 */
    uint8_t hash[OTA_HASH_MAX];   /* the image hash (SHA256 or SHA384 TLV, checked against the data) */
    uint8_t key_hash[OTA_HASH_MAX];
    uint8_t has_key_hash;
    uint8_t hash_len;             /* bytes of hash and key_hash: 32 (SHA-256) or 48 (SHA-384) */
    uint8_t sig_alg;              /* OTA_ALG_* of the key that verified the signature, or 0 */
    char product[OTA_PRODUCT_MAX + 1]; /* "" when the image names no product */
    char hw_rev[OTA_HW_REV_MAX + 1];   /* "" when the image names no hardware */
} ota_image_info_t;

/* Reads every TLV of the protected area through read and checks it against the table's rules
 * (otakit/tlv.h): allowed there, at most once where the table says so, value well formed. Fills
 * info->security_counter/has_security_counter, product and hw_rev; touches nothing else. Used by
 * ota_image_verify() and the agent's pre-check alike. Returns OTA_OK, OTA_ERR_TLV_BOUNDS,
 * OTA_ERR_TLV_LEN, OTA_ERR_TLV_DUP, OTA_ERR_TLV_VALUE or OTA_ERR_IO. */
int ota_image_read_protected(ota_read_fn read, void *ctx, const ota_image_layout_t *layout,
                             ota_image_info_t *info);

/*
 * Verifies the image held in storage (avail bytes readable through read), reading it in small
 * chunks: header, layout, every TLV inside its area, the SHA-256 hash, and (unless
 * OTA_VERIFY_HASH_ONLY) that a KEYHASH or PUBKEY naming a trusted key precedes a valid ECDSA-P256
 * signature. Vendor/security TLVs are only honoured in the protected area. Fills *info as it goes.
 * Returns OTA_OK or the first specific error found.
 */
int ota_image_verify(ota_read_fn read, void *ctx, uint32_t avail, const ota_verify_cfg_t *cfg,
                     ota_image_info_t *info);

/* ota_image_verify() over an image in memory (a convenience for hosts and tests). */
int ota_image_verify_buf(const uint8_t *img, uint32_t len, const ota_verify_cfg_t *cfg,
                         ota_image_info_t *info);

/* Returns 1 when hw is listed in the image's hardware TLV or the image names no hardware, else 0. */
int ota_image_hw_compatible(const ota_image_info_t *info, const char *hw);

/* Computes SHA-256 of a DER public key (the KEYHASH value). Returns OTA_OK or OTA_ERR_CRYPTO. */
int ota_key_hash(const uint8_t *der, uint32_t len, uint8_t out[OTA_SHA256_LEN]);
/* The KEYHASH value of an image of alg: SHA-256 of der, or SHA-384 for ECDSA-P384 (hash_len 48). */
int ota_key_hash_len(const uint8_t *der, uint32_t len, uint32_t hash_len, uint8_t *out);

/* Parses "major[.minor[.revision[+build]]]" (decimal, no leading zeros, each within its field
 * width). Returns OTA_OK or OTA_ERR_VERSION. */
int ota_version_parse(const char *s, ota_version_t *out);

/* Writes "major.minor.revision+build" and a NUL into buf. Returns the length written, or
 * OTA_ERR_NO_SPACE when n is too small (OTA_VERSION_STR_MAX bytes always suffice). */
#define OTA_VERSION_STR_MAX 25u /* "255.255.65535+4294967295" and its NUL */
int ota_version_format(const ota_version_t *v, char *buf, size_t n);

/* Orders versions by major, minor, revision, then build: <0, 0 or >0 like strcmp. */
int ota_version_cmp(const ota_version_t *a, const ota_version_t *b);

/* Checks a product id or hardware revision string: 1..max chars of [A-Za-z0-9._-]
 * (commas allowed when list is nonzero, as separators of non-empty items). Returns 1 if valid. */
int ota_ident_valid(const char *s, size_t len, size_t max, int list);

#endif
