/* See rng.h. */
#include "rng.h"

#include <string.h>

#include "otakit/err.h"

int ota_host_rng_init(ota_host_rng_t *r, const char *pers)
{
    mbedtls_entropy_init(&r->entropy);
    mbedtls_ctr_drbg_init(&r->drbg);
    return mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy, (const unsigned char *)pers,
                                 strlen(pers)) == 0
               ? OTA_OK
               : OTA_ERR_CRYPTO;
}

void ota_host_rng_free(ota_host_rng_t *r)
{
    mbedtls_ctr_drbg_free(&r->drbg);
    mbedtls_entropy_free(&r->entropy);
}
