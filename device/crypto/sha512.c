/* SHA-512 and SHA-384 on mbedTLS (2.28 and 3.x), for Ed25519 and ECDSA-P384 images. */
#include "crypto.h"

#if OTAKIT_SHA512

#include <mbedtls/version.h>

#if MBEDTLS_VERSION_MAJOR < 3
#define sha512_starts mbedtls_sha512_starts_ret
#define sha512_update mbedtls_sha512_update_ret
#define sha512_finish mbedtls_sha512_finish_ret
#else
#define sha512_starts mbedtls_sha512_starts
#define sha512_update mbedtls_sha512_update
#define sha512_finish mbedtls_sha512_finish
#endif

void ota_sha512_start_alg(ota_sha512_t *h, int is384)
{
    mbedtls_sha512_init(&h->ctx);
    (void)sha512_starts(&h->ctx, is384);
}

void ota_sha512_update(ota_sha512_t *h, const uint8_t *data, uint32_t len)
{
    (void)sha512_update(&h->ctx, data, len);
}

void ota_sha512_finish(ota_sha512_t *h, uint8_t *out)
{
    (void)sha512_finish(&h->ctx, out);
    mbedtls_sha512_free(&h->ctx);
}

#endif
