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

/* What a product's public key may be: every algorithm MCUboot signs with that this build verifies. */
#define PRODUCT_KEY_RULE "public_key must be a PEM public key: ECDSA P-256 or P-384, RSA-2048 or RSA-3072, or Ed25519"

/* Reads a public key in PEM (an algorithm this build verifies) into its DER as MCUboot embeds it
 * (*der_len bytes) and its key hash (hex SHA-256 of that DER, the product's key_hash). Returns 0,
 * or -1 when pem is no such key. */
int product_key_parse(const char *pem, uint8_t der[OTA_KEY_DER_MAX], size_t *der_len, char khex[65]);

#endif
