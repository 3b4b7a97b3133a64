/*
 * A product's signing keys (api_keys.c): several may be active at once, so a product can move to a
 * new key while the releases signed with the old one stay verifiable.
 */
#ifndef OTAKIT_SERVER_PRODUCT_KEYS_H
#define OTAKIT_SERVER_PRODUCT_KEYS_H

#include <stdint.h>

#include "otakit/image.h"

/* Most active keys a product may have at once. */
#define PRODUCT_KEYS_MAX 8

/* Reads an ECDSA P-256 public key in PEM into its DER SubjectPublicKeyInfo and its key hash (hex,
 * the one otakit image headers carry). Returns 0, or -1 when pem is no such key. */
int product_key_parse(const char *pem, uint8_t der[OTA_P256_SPKI_LEN], char khex[65]);

#endif
