/*
 * TLS transport: an ota_net_t that runs a mbedTLS TLS client (1.2 or later) over another ota_net_t
 * (plain TCP from the port), so the HTTP client speaks https:// through the same four operations.
 *
 *   static ota_tls_t tls;
 *   ota_tls_cfg_t tc = {&tcp, ca_pem, 0, NULL, &platform};   platform.entropy: a hardware RNG
 *   ota_tls_init(&tls, &tc);              parse the pinned CA, seed the DRBG, set up mbedTLS
 *   http_cfg.tls = &tls.net;              https:// URLs now go through TLS
 *   ...
 *   ota_tls_free(&tls);
 *
 * The server's certificate must chain to the pinned CA (nothing else is trusted) and name the host
 * (or cfg.server_name); otherwise connect fails with OTA_ERR_TLS. One connection at a time per
 * ota_tls_t. All state is in the caller's ota_tls_t; otakit allocates nothing, but mbedTLS takes its
 * record buffers (about 2 x 16 KB by default, less with MBEDTLS_SSL_MAX_CONTENT_LEN) and the
 * certificate chain through its platform allocator: on an MCU give it a static pool
 * (MBEDTLS_MEMORY_BUFFER_ALLOC_C, docs/porting.md section 5). The mbedTLS configuration needs
 * MBEDTLS_SSL_CLI_C, MBEDTLS_SSL_PROTO_TLS1_2, MBEDTLS_X509_CRT_PARSE_C, MBEDTLS_CTR_DRBG_C and
 * a key exchange the server offers (e.g. ECDHE-ECDSA with P-256).
 */
#ifndef OTAKIT_TLS_H
#define OTAKIT_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/version.h> /* pulls in the mbedTLS configuration */
#if defined(MBEDTLS_THREADING_PTHREAD) && defined(__arm__) && !defined(__linux__)
/* A desktop mbedTLS configuration seen by a bare-metal compiler (scripts/cross-check.sh builds
 * with the host's headers): there are no POSIX threads on an MCU, so drop the mutexes. A real MCU
 * port brings its own MBEDTLS_CONFIG_FILE and never takes this branch. */
#undef MBEDTLS_THREADING_PTHREAD
#undef MBEDTLS_THREADING_C
#endif
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "otakit/port.h"

typedef struct {
    const ota_net_t *lower;      /* the transport TLS runs over (TCP) */
    const uint8_t *ca;           /* pinned CA certificate(s): PEM or DER */
    size_t ca_len;               /* bytes at ca; for PEM include the terminating NUL, or pass 0 when
                                    ca is a NUL-terminated PEM string */
    const char *server_name;     /* name the certificate must carry; NULL: the host given to connect */
    /* Its entropy (required) seeds the DRBG: true random bytes, from a hardware RNG (getrandom on
     * the host). */
    const ota_platform_ops_t *platform;
} ota_tls_cfg_t;

/* One TLS client. The caller allocates it (statically on an MCU) and must not move it after init. */
typedef struct {
    ota_net_t net;               /* the TLS transport: pass &tls.net as ota_http_cfg_t.tls */
    ota_tls_cfg_t cfg;
    int lower_h;                 /* handle of the lower connection, -1 when none */
    int lower_err;               /* internal: the lower transport's last error during a TLS call */
    uint32_t timeout_ms;         /* internal: timeout of the operation in progress */
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca;
    mbedtls_ctr_drbg_context drbg;
} ota_tls_t;

/* Parses the pinned CA, seeds the random generator and prepares the TLS client; t->net is then
 * ready to use. Returns OTA_OK, OTA_ERR_ARG, OTA_ERR_TLS (CA not parsable, setup failed),
 * OTA_ERR_CRYPTO (entropy source failed) or OTA_ERR_NO_MEM (mbedTLS could not allocate). */
int ota_tls_init(ota_tls_t *t, const ota_tls_cfg_t *cfg);

/* Closes any open connection and releases everything mbedTLS holds for t. */
void ota_tls_free(ota_tls_t *t);

#endif
