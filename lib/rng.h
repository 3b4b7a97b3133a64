/* The host library's randomness (key generation, signature blinding, ECDH and AES keys of
 * encrypted images; ECDSA nonces themselves are RFC 6979): mbedTLS's CTR-DRBG seeded from its
 * entropy sources. Private to lib/. */
#ifndef OTAKIT_LIB_RNG_H
#define OTAKIT_LIB_RNG_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

typedef struct {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
} ota_host_rng_t;

/* Seeds r with the personalization string pers. OTA_OK or OTA_ERR_CRYPTO; free r either way. */
int ota_host_rng_init(ota_host_rng_t *r, const char *pers);
void ota_host_rng_free(ota_host_rng_t *r);

#endif
