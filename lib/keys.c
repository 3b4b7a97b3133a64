/* ECDSA P-256 keys on mbedTLS for the host tools (see otakit/keys.h). */
#define _GNU_SOURCE
#include "otakit/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/version.h>

#include "otakit/err.h"
#include "otakit/fileio.h"

struct ota_key {
    mbedtls_pk_context pk;
    int is_private;
};

/* A seeded DRBG for key generation and signature blinding (the nonce itself is RFC 6979). */
struct rng {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
};

static int rng_init(struct rng *r)
{
    static const unsigned char pers[] = "otakit";
    mbedtls_entropy_init(&r->entropy);
    mbedtls_ctr_drbg_init(&r->drbg);
    return mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy, pers, sizeof pers - 1) == 0
               ? OTA_OK
               : OTA_ERR_CRYPTO;
}

static void rng_free(struct rng *r)
{
    mbedtls_ctr_drbg_free(&r->drbg);
    mbedtls_entropy_free(&r->entropy);
}

static ota_key_t *key_new(void)
{
    ota_key_t *k = calloc(1, sizeof *k);
    if (k)
        mbedtls_pk_init(&k->pk);
    return k;
}

void ota_key_free(ota_key_t *key)
{
    if (!key)
        return;
    mbedtls_pk_free(&key->pk);
    free(key);
}

int ota_key_generate(ota_key_t **out)
{
    struct rng r;
    ota_key_t *k;
    int rc = OTA_ERR_CRYPTO;

    *out = NULL;
    if (!(k = key_new()))
        return OTA_ERR_NO_MEM;
    if (rng_init(&r) == OTA_OK &&
        mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) == 0 &&
        mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(k->pk), mbedtls_ctr_drbg_random,
                            &r.drbg) == 0)
        rc = OTA_OK;
    rng_free(&r);
    if (rc != OTA_OK) {
        ota_key_free(k);
        return rc;
    }
    k->is_private = 1;
    *out = k;
    return OTA_OK;
}

static int is_p256(const mbedtls_pk_context *pk)
{
    return mbedtls_pk_get_type(pk) == MBEDTLS_PK_ECKEY &&
           mbedtls_pk_ec(*pk)->grp.id == MBEDTLS_ECP_DP_SECP256R1;
}

int ota_key_load_mem(const uint8_t *buf, size_t len, ota_key_t **out)
{
    ota_key_t *k;
    uint8_t *copy;
    size_t n = len;
    int ok = 0;

    *out = NULL;
    /* mbedTLS wants PEM NUL-terminated and counted with its NUL. */
    if (!(copy = malloc(len + 1)))
        return OTA_ERR_NO_MEM;
    memcpy(copy, buf, len);
    copy[len] = 0;
    if (len && memmem(copy, len, "-----BEGIN", 10))
        n = len + 1;
    if (!(k = key_new())) {
        free(copy);
        return OTA_ERR_NO_MEM;
    }
#if MBEDTLS_VERSION_MAJOR < 3
    ok = mbedtls_pk_parse_key(&k->pk, copy, n, NULL, 0) == 0;
#else
    {
        struct rng r;
        if (rng_init(&r) == OTA_OK)
            ok = mbedtls_pk_parse_key(&k->pk, copy, n, NULL, 0, mbedtls_ctr_drbg_random, &r.drbg) == 0;
        rng_free(&r);
    }
#endif
    if (ok) {
        k->is_private = 1;
    } else {
        mbedtls_pk_free(&k->pk);
        mbedtls_pk_init(&k->pk);
        ok = mbedtls_pk_parse_public_key(&k->pk, copy, n) == 0;
    }
    free(copy);
    if (!ok || !is_p256(&k->pk)) {
        ota_key_free(k);
        return OTA_ERR_KEY_PARSE;
    }
    *out = k;
    return OTA_OK;
}

int ota_key_load(const char *path, ota_key_t **out)
{
    uint8_t *buf;
    size_t len;
    int rc;
    *out = NULL;
    if ((rc = ota_file_read(path, &buf, &len)) != OTA_OK)
        return rc;
    rc = ota_key_load_mem(buf, len, out);
    free(buf);
    return rc;
}

int ota_key_is_private(const ota_key_t *key)
{
    return key && key->is_private;
}

int ota_key_public_der(const ota_key_t *key, uint8_t der[OTA_P256_SPKI_LEN])
{
    unsigned char buf[160];
    int n = mbedtls_pk_write_pubkey_der((mbedtls_pk_context *)&key->pk, buf, sizeof buf);
    if (n != (int)OTA_P256_SPKI_LEN)
        return OTA_ERR_CRYPTO;
    memcpy(der, buf + sizeof buf - n, (size_t)n); /* mbedTLS writes DER at the end of the buffer */
    return OTA_OK;
}

int ota_key_public_pem(const ota_key_t *key, char *buf, size_t n)
{
    return mbedtls_pk_write_pubkey_pem((mbedtls_pk_context *)&key->pk, (unsigned char *)buf, n) == 0
               ? OTA_OK
               : OTA_ERR_NO_SPACE;
}

int ota_key_write_private_pem(const ota_key_t *key, const char *path, int overwrite)
{
    unsigned char pem[512];
    size_t len;
    int fd, rc;

    if (!ota_key_is_private(key))
        return OTA_ERR_KEY_PUBLIC;
    if (mbedtls_pk_write_key_pem((mbedtls_pk_context *)&key->pk, pem, sizeof pem) != 0)
        return OTA_ERR_CRYPTO;
    len = strlen((char *)pem);
    if (!overwrite) {
        /* Claim the name first so an existing key is never replaced by accident. */
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0)
            return OTA_ERR_FILE;
        close(fd);
    }
    rc = ota_file_write(path, pem, len, 0600);
    mbedtls_platform_zeroize(pem, sizeof pem);
    if (rc != OTA_OK && !overwrite) {
        int e = errno;
        unlink(path);
        errno = e;
    }
    return rc;
}

int ota_key_sign_hash(const ota_key_t *key, const uint8_t hash[32], uint8_t *sig, size_t *siglen)
{
    struct rng r;
    int rc = OTA_ERR_CRYPTO;
    if (!ota_key_is_private(key))
        return OTA_ERR_KEY_PUBLIC;
    if (rng_init(&r) == OTA_OK) {
#if MBEDTLS_VERSION_MAJOR < 3
        if (mbedtls_ecdsa_write_signature(mbedtls_pk_ec(key->pk), MBEDTLS_MD_SHA256, hash, 32, sig, siglen,
                                          mbedtls_ctr_drbg_random, &r.drbg) == 0)
#else
        if (mbedtls_ecdsa_write_signature(mbedtls_pk_ec(key->pk), MBEDTLS_MD_SHA256, hash, 32, sig,
                                          OTA_ECDSA_SIG_MAX, siglen, mbedtls_ctr_drbg_random, &r.drbg) == 0)
#endif
            rc = OTA_OK;
    }
    rng_free(&r);
    return rc;
}

int ota_key_private_scalar(const ota_key_t *key, uint8_t out[32])
{
    if (!key || !key->is_private)
        return OTA_ERR_KEY_PUBLIC;
    return mbedtls_mpi_write_binary(&mbedtls_pk_ec(key->pk)->d, out, 32) == 0 ? OTA_OK : OTA_ERR_CRYPTO;
}
