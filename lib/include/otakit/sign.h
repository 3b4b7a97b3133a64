/*
 * Builds signed images (host side): header + payload + protected TLVs + SHA256/KEYHASH/ECDSA
 * TLVs, in the byte order MCUboot's imgtool writes, so imgtool verifies our images and we verify
 * its. The layout itself comes from otakit/image.h.
 */
#ifndef OTAKIT_SIGN_H
#define OTAKIT_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/image.h"
#include "otakit/keys.h"

/* One protected TLV given by its bytes: a vendor's (custom) or one the TLV table names. */
typedef struct {
    uint16_t type; /* custom: 0xa0..0xfffe; tlvs: a protected type of otakit/tlv.h */
    uint16_t len;
    const uint8_t *value;
} ota_custom_tlv_t;

typedef struct {
    ota_version_t version;
    uint16_t header_size;    /* payload offset; 0 means 32. Bytes 32..header_size hold erased_val. */
    uint32_t load_addr;      /* nonzero sets the RAM-load flag, as imgtool does */
    int has_security_counter;
    uint32_t security_counter;
    const char *product;     /* NULL: no product TLV */
    const char *hw_rev;      /* NULL: no hardware TLV; "revA,revB" lists several */
    const ota_custom_tlv_t *tlvs; /* more protected TLVs the table names (set by their own options); */
    unsigned n_tlvs;              /* with the three above, written in the table's order */
    const ota_custom_tlv_t *custom; /* vendor TLVs, written last in this order (--custom-tlv) */
    unsigned n_custom;
    uint32_t slot_size;      /* 0: no slot check; else image + trailer must fit */
    unsigned align;          /* flash write alignment for the trailer: 1,2,4,8,16,32 (0 means 1) */
    unsigned max_sectors;    /* sectors the swap status covers (0 means 128, imgtool's default) */
    int pad;                 /* pad to slot_size with erased_val and write the trailer magic */
    int confirm;             /* with pad: mark the image confirmed (image_ok) */
    uint8_t erased_val;      /* 0xff or 0x00 */
    int pad_sig;             /* pad the DER signature with zeros to 72 bytes (imgtool --pad-sig) */
    uint32_t flags;          /* more header flags (ota_sign_image_encrypted(): ENCRYPTED_AES*) */
    const ota_custom_tlv_t *unprot_tail; /* TLVs appended to the unprotected area after the */
    unsigned n_unprot_tail;              /* signature (ENC_EC256), types the table admits there */
} ota_sign_opts_t;

/* Fills opts with the defaults: version 0.0.0+0, header 32, align 1, erased 0xff, nothing else. */
void ota_sign_opts_init(ota_sign_opts_t *opts);

/* Size of MCUboot's swap trailer at the end of a slot for these options (imgtool's formula). */
uint32_t ota_trailer_size(const ota_sign_opts_t *opts);

/* Builds the signed image of payload into a new heap buffer (*out, *out_len; caller frees).
 * key may be NULL for an unsigned (hash-only) image. Returns OTA_OK or a specific error:
 * OTA_ERR_SLOT_SIZE, OTA_ERR_ALIGN, OTA_ERR_HDR_TOO_SMALL, OTA_ERR_IDENT, OTA_ERR_KEY_PUBLIC... */
int ota_sign_image(const ota_sign_opts_t *opts, const ota_key_t *key, const uint8_t *payload,
                   size_t len, uint8_t **out, size_t *out_len);

#endif
