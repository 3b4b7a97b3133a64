/*
 * The TLV table: every TLV type otakit knows, with its name, id, value kind and where it may
 * sit. It is the one place for these facts: the type constants (OTA_TLV_SEC_CNT, ...), the
 * verifier's and the pre-check's protected-area rules and the unprotected allow-list, the
 * builder's checks, and the names `otakit inspect` prints all come from OTA_TLV_TABLE.
 *
 * Adding a protected TLV: one X(...) line in the protected part below (its position is where
 * `otakit sign` writes it), then the `otakit sign` option that sets it (tools/otakit/cmd_sign.c).
 * The verifier then checks it, the builder writes it and `otakit inspect` names and shows it.
 */
#ifndef OTAKIT_TLV_H
#define OTAKIT_TLV_H

#include <stdint.h>

/* Value sizes the table and the image structs share. */
#define OTA_PRODUCT_MAX 32u   /* product id: 1..32 of [A-Za-z0-9._-] */
#define OTA_HW_REV_MAX 64u    /* hardware revisions: 1..64 chars, comma separated */
#define OTA_TLV_TEXT_MAX 64u  /* longest IDENT/IDENT_LIST value of any table entry */
#define OTA_SHA256_LEN 32u
#define OTA_HASH_MAX 48u      /* SHA-384, the longest image hash */
#define OTA_ECDSA_SIG_MAX 72u /* longest DER P-256 signature */
#define OTA_ECDSA384_SIG_MAX 104u /* longest DER P-384 signature */
#define OTA_PUBKEY_TLV_MAX 400u   /* an RSA-3072 PKCS#1 key fits */

/* Value kinds: how a value is checked and shown. max is the entry's last column. */
#define OTA_TLVK_BYTES 0u      /* opaque, 0..max bytes (max 0: any length) */
#define OTA_TLVK_FIXED 1u      /* opaque, exactly max bytes */
#define OTA_TLVK_U32 2u        /* little-endian u32 (max is 4) */
#define OTA_TLVK_IDENT 3u      /* 1..max chars of [A-Za-z0-9._-] */
#define OTA_TLVK_IDENT_LIST 4u /* the same, comma-separated non-empty items */

/* Flags: where a type may sit and how often. */
#define OTA_TLVF_PROT 0x1u   /* allowed in the protected area */
#define OTA_TLVF_UNPROT 0x2u /* allowed in the unprotected area (MCUboot's allow-list) */
#define OTA_TLVF_ONCE 0x4u   /* at most once in the protected area */
#define OTA_TLVF_ANY (OTA_TLVF_PROT | OTA_TLVF_UNPROT)

/*
 * X(NAME, type, kind, flags, max). Types not listed here are vendors' (0xa0..0xfffe): accepted in
 * the protected area (hashed, not interpreted), refused in the unprotected one.
 */
#define OTA_TLV_TABLE(X)                                                                           \
    /* protected area, in the order otakit sign writes them: imgtool's, then otakit's */          \
    X(SEC_CNT, 0x50, OTA_TLVK_U32, OTA_TLVF_PROT | OTA_TLVF_ONCE, 4)                               \
    X(BOOT_RECORD, 0x60, OTA_TLVK_BYTES, OTA_TLVF_PROT, 0)                                         \
    X(DEPENDENCY, 0x40, OTA_TLVK_BYTES, OTA_TLVF_PROT, 0)                                          \
    X(PRODUCT, 0xb0, OTA_TLVK_IDENT, OTA_TLVF_PROT | OTA_TLVF_ONCE, OTA_PRODUCT_MAX)               \
    X(HW_REV, 0xb1, OTA_TLVK_IDENT_LIST, OTA_TLVF_PROT | OTA_TLVF_ONCE, OTA_HW_REV_MAX)            \
    /* unprotected area, in writing order; these four can never be covered by their own hash */  \
    X(SHA256, 0x10, OTA_TLVK_FIXED, OTA_TLVF_UNPROT, OTA_SHA256_LEN)                               \
    X(KEYHASH, 0x01, OTA_TLVK_BYTES, OTA_TLVF_UNPROT, OTA_HASH_MAX) /* 32, or 48 with SHA384 */   \
    X(PUBKEY, 0x02, OTA_TLVK_BYTES, OTA_TLVF_UNPROT, OTA_PUBKEY_TLV_MAX)                           \
    X(ECDSA_SIG, 0x22, OTA_TLVK_BYTES, OTA_TLVF_UNPROT, OTA_ECDSA384_SIG_MAX)                      \
    /* other hashes and signatures (the verifier uses those its build selects), and keys */       \
    X(SHA384, 0x11, OTA_TLVK_BYTES, OTA_TLVF_ANY, 0)                                               \
    X(SHA512, 0x12, OTA_TLVK_BYTES, OTA_TLVF_ANY, 0)                                               \
    X(RSA2048_PSS, 0x20, OTA_TLVK_BYTES, OTA_TLVF_ANY, 0)                                          \
    X(ECDSA224, 0x21, OTA_TLVK_BYTES, OTA_TLVF_ANY, 0)                                             \
    X(RSA3072_PSS, 0x23, OTA_TLVK_BYTES, OTA_TLVF_ANY, 0)                                          \
    X(ED25519, 0x24, OTA_TLVK_BYTES, OTA_TLVF_ANY, 0)                                              \
    X(ENC_RSA2048, 0x30, OTA_TLVK_BYTES, OTA_TLVF_ANY, 0)                                          \
    X(ENC_KW, 0x31, OTA_TLVK_BYTES, OTA_TLVF_ANY, 0)                                               \
    X(ENC_EC256, 0x32, OTA_TLVK_BYTES, OTA_TLVF_ANY, 0)                                            \
    X(ENC_X25519, 0x33, OTA_TLVK_BYTES, OTA_TLVF_ANY, 0)                                           \
    X(ENC_X25519_SHA512, 0x34, OTA_TLVK_BYTES, OTA_TLVF_ANY, 0)

/* The type constants: OTA_TLV_SEC_CNT = 0x50, ... */
#define OTA_TLV_X_TYPE(name, type, kind, flags, max) OTA_TLV_##name = (type),
enum { OTA_TLV_TABLE(OTA_TLV_X_TYPE) };
#undef OTA_TLV_X_TYPE

/* One table entry. */
typedef struct {
    uint16_t type;
    uint8_t kind;  /* OTA_TLVK_* */
    uint8_t flags; /* OTA_TLVF_* */
    uint16_t max;
    uint8_t index; /* position in the table (bit index for at-most-once bookkeeping) */
} ota_tlv_def_t;

/* The table entry of type, or NULL when the table does not list it (a vendor's TLV).
 * The entry is static; nothing is owned by the caller. */
const ota_tlv_def_t *ota_tlv_def(uint16_t type);

/* The whole table in its order (protected entries first, in writing order); *n gets its length.
 * Returns a static array. */
const ota_tlv_def_t *ota_tlv_table(unsigned *n);

/* The name of a TLV type ("SEC_CNT", "PRODUCT", ...), or NULL for a type the table does not list.
 * Kept apart from ota_tlv_def() so a device that never prints names does not link them. */
const char *ota_tlv_name(uint16_t type);

/* Checks a value of len bytes against d's kind and max: the length first, then (when val is not
 * NULL) the content. Returns OTA_OK, OTA_ERR_TLV_LEN or OTA_ERR_TLV_VALUE. */
int ota_tlv_check(const ota_tlv_def_t *d, const uint8_t *val, uint32_t len);

#endif
