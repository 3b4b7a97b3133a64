/* mbedTLS configuration for otakit on a microcontroller (MBEDTLS_CONFIG_FILE; mbedTLS 2.28).
 * Only what the device library calls: SHA-256 (image hash), ECDSA-P256 verify (signature; and the
 * other algorithms the build selects, below),
 * MD5 (the ESP8266 push endpoint's checksum). No time, no files, no sockets, no libc allocator:
 * give mbedTLS a static heap once at start-up, as MCUboot does:
 *     static unsigned char heap[4096];   // ECDSA-P256 verify: about 2.5 KB; the TLS client: more
 *     mbedtls_memory_buffer_alloc_init(heap, sizeof heap);
 * Define OTAKIT_MBEDTLS_TLS (cmake -DOTAKIT_TARGET_TLS=ON) for the HTTPS client of otakit/tls.h:
 * TLS 1.2, ECDHE-ECDSA with AES-128-GCM, a pinned CA. Certificate dates are not checked (no
 * MBEDTLS_HAVE_TIME: most MCUs have no trusted clock). */
#ifndef OTAKIT_MBEDTLS_CONFIG_H
#define OTAKIT_MBEDTLS_CONFIG_H

/* Platform: no libc behind mbedTLS's back. */
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_PLATFORM_NO_STD_FUNCTIONS
#define MBEDTLS_MEMORY_BUFFER_ALLOC_C
#define MBEDTLS_NO_PLATFORM_ENTROPY
/* The static heap found corrupted: fault (the HardFault handler resets) rather than call exit(). */
#define MBEDTLS_PLATFORM_EXIT_MACRO(status) __builtin_trap()

/* Size over speed on a small core. */
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_AES_FEWER_TABLES /* one table per direction (the encrypted-image AES-CTR, the TLS client's GCM) */
#define MBEDTLS_ECP_WINDOW_SIZE 2
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 0
#define MBEDTLS_MPI_WINDOW_SIZE 2
/* The largest numbers the selected signature algorithms need (cmake/sigalgs.cmake passes
 * OTAKIT_SIG_*: ECDSA-P256 alone unless the build selects more). */
#if defined(OTAKIT_SIG_RSA) && OTAKIT_SIG_RSA
#define MBEDTLS_MPI_MAX_SIZE 384 /* RSA-3072 */
#elif defined(OTAKIT_SIG_ECDSA_P384) && OTAKIT_SIG_ECDSA_P384
#define MBEDTLS_MPI_MAX_SIZE 48
#else
#define MBEDTLS_MPI_MAX_SIZE 32
#endif
#if defined(OTAKIT_SIG_ECDSA_P384) && OTAKIT_SIG_ECDSA_P384
#define MBEDTLS_ECP_MAX_BITS 384
#else
#define MBEDTLS_ECP_MAX_BITS 256
#endif

/* Image verification. */
#define MBEDTLS_SHA256_C
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECDSA_C
/* Encrypted images (crypto/ecies.c): ECDH is ECP_C's point multiplication; AES-CTR on AES_C. */
#define MBEDTLS_AES_C
#define MBEDTLS_ECP_NO_INTERNAL_RNG /* verify uses public data only; TLS passes its DRBG */
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C /* ECDSA_C requires it (signature writing, unused here) */

/* The other signatures MCUboot accepts, when selected (OTAKIT_SIG_ALGS). Ed25519 is otakit's own
 * code (device/crypto/ed25519.c) and needs only SHA-512 from mbedTLS. */
#if defined(OTAKIT_SIG_ECDSA_P384) && OTAKIT_SIG_ECDSA_P384
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#endif
#if (defined(OTAKIT_SIG_ECDSA_P384) && OTAKIT_SIG_ECDSA_P384) || (defined(OTAKIT_SIG_ED25519) && OTAKIT_SIG_ED25519)
#define MBEDTLS_SHA512_C
#define MBEDTLS_SHA512_SMALLER
#endif
#if defined(OTAKIT_SIG_RSA) && OTAKIT_SIG_RSA
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V21 /* RSASSA-PSS */
#define MBEDTLS_MD_C      /* PSS's MGF1 goes through the md layer */
#define MBEDTLS_OID_C     /* RSA_C requires it */
#endif

/* ESP8266HTTPUpdateServer compatibility (net/push.c): the x-MD5 header. */
#define MBEDTLS_MD5_C

#ifdef OTAKIT_MBEDTLS_TLS
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_ECDH_C
#define MBEDTLS_CTR_DRBG_C
#define MBEDTLS_GCM_C
#define MBEDTLS_CIPHER_C
#define MBEDTLS_MD_C
#define MBEDTLS_OID_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_PEM_PARSE_C /* the CA may be PEM */
#define MBEDTLS_BASE64_C
#define MBEDTLS_X509_REMOVE_INFO /* no certificate pretty-printing */
/* oid.c still formats OIDs with snprintf; the linker drops it unless something calls it. */
#include <stdio.h>
#define MBEDTLS_PLATFORM_SNPRINTF_MACRO snprintf
#define MBEDTLS_SSL_CIPHERSUITES MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
/* Records: the server may send full 16 KB ones; ours are small. */
#define MBEDTLS_SSL_OUT_CONTENT_LEN 2048
#endif

#include "mbedtls/check_config.h"
#endif
