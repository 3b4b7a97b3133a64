/* Signing keys for the host tools (see otakit/keys.h): ECDSA P-256/P-384 and RSA-2048/3072 on
 * mbedTLS; Ed25519 (which mbedTLS lacks) read from PKCS#8/SubjectPublicKeyInfo here and signed with
 * the device library's own Ed25519 (device/crypto/ed25519.c). */
#define _GNU_SOURCE
#include "otakit/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/ecdsa.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/version.h>

#include "otakit/err.h"
#include "otakit/fileio.h"
#include "rng.h"

#include "crypto/crypto.h"

struct ota_key {
    mbedtls_pk_context pk; /* unused for Ed25519 */
    int is_private;
    int alg;               /* OTA_ALG_* */
    uint8_t ed_seed[32];   /* Ed25519: the private seed (with is_private) and the public key */
    uint8_t ed_pub[32];
};

/* DER prefixes of an Ed25519 key (RFC 8410): PKCS#8 PrivateKeyInfo{v1, id-Ed25519,
 * OCTET STRING{OCTET STRING seed}} and SubjectPublicKeyInfo{id-Ed25519, BIT STRING}, as imgtool and
 * openssl write them. The 32 key bytes follow each. */
static const uint8_t ed25519_pkcs8_prefix[16] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                                 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};

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
    mbedtls_platform_zeroize(key->ed_seed, sizeof key->ed_seed);
    mbedtls_pk_free(&key->pk);
    free(key);
}

int ota_key_generate(ota_key_t **out)
{
    ota_host_rng_t r;
    ota_key_t *k;
    int rc = OTA_ERR_CRYPTO;

    *out = NULL;
    if (!(k = key_new()))
        return OTA_ERR_NO_MEM;
    if (ota_host_rng_init(&r, "otakit") == OTA_OK &&
        mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) == 0 &&
        mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(k->pk), mbedtls_ctr_drbg_random,
                            &r.drbg) == 0)
        rc = OTA_OK;
    k->alg = OTA_ALG_ECDSA_P256;
    ota_host_rng_free(&r);
    if (rc != OTA_OK) {
        ota_key_free(k);
        return rc;
    }
    k->is_private = 1;
    *out = k;
    return OTA_OK;
}

/* The algorithm of a key mbedTLS parsed, or OTA_ALG_NONE for one MCUboot does not take. */
static int pk_alg(const mbedtls_pk_context *pk)
{
    if (mbedtls_pk_get_type(pk) == MBEDTLS_PK_ECKEY) {
        mbedtls_ecp_group_id id = mbedtls_pk_ec(*pk)->grp.id;
        return id == MBEDTLS_ECP_DP_SECP256R1 ? OTA_ALG_ECDSA_P256
               : id == MBEDTLS_ECP_DP_SECP384R1 ? OTA_ALG_ECDSA_P384 : OTA_ALG_NONE;
    }
    if (mbedtls_pk_get_type(pk) == MBEDTLS_PK_RSA) {
        size_t bits = mbedtls_pk_get_bitlen(pk);
        return bits == 2048 ? OTA_ALG_RSA2048 : bits == 3072 ? OTA_ALG_RSA3072 : OTA_ALG_NONE;
    }
    return OTA_ALG_NONE;
}

/* An Ed25519 key in DER (PKCS#8 private or SubjectPublicKeyInfo public), or in PEM around it.
 * Returns 1 when buf held one (k filled), else 0. */
static int ed25519_parse(const uint8_t *buf, size_t len, ota_key_t *k)
{
    const uint8_t *der = buf;
    size_t dlen = len;
    mbedtls_pem_context pem;
    int ok = 0, i;

    mbedtls_pem_init(&pem);
    for (i = 0; i < 2 && memmem(buf, len, "-----BEGIN", 10); i++) {
        size_t used;
        if (mbedtls_pem_read_buffer(&pem, i ? "-----BEGIN PUBLIC KEY-----" : "-----BEGIN PRIVATE KEY-----",
                                    i ? "-----END PUBLIC KEY-----" : "-----END PRIVATE KEY-----", buf, NULL, 0,
                                    &used) == 0) {
            der = pem.buf;
            dlen = pem.buflen;
            break;
        }
        mbedtls_pem_free(&pem);
        mbedtls_pem_init(&pem);
    }
    if (dlen == sizeof ed25519_pkcs8_prefix + 32 && memcmp(der, ed25519_pkcs8_prefix, sizeof ed25519_pkcs8_prefix) == 0) {
        memcpy(k->ed_seed, der + sizeof ed25519_pkcs8_prefix, 32);
        ota_ed25519_public(k->ed_seed, k->ed_pub);
        k->is_private = ok = 1;
    } else if (ota_key_alg(der, (uint32_t)dlen) == OTA_ALG_ED25519) {
        memcpy(k->ed_pub, der + dlen - 32, 32);
        ok = 1;
    }
    mbedtls_pem_free(&pem);
    if (ok)
        k->alg = OTA_ALG_ED25519;
    return ok;
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
        ota_host_rng_t r;
        if (ota_host_rng_init(&r, "otakit") == OTA_OK)
            ok = mbedtls_pk_parse_key(&k->pk, copy, n, NULL, 0, mbedtls_ctr_drbg_random, &r.drbg) == 0;
        ota_host_rng_free(&r);
    }
#endif
    if (ok) {
        k->is_private = 1;
    } else {
        mbedtls_pk_free(&k->pk);
        mbedtls_pk_init(&k->pk);
        ok = mbedtls_pk_parse_public_key(&k->pk, copy, n) == 0;
    }
    if (ok)
        ok = (k->alg = pk_alg(&k->pk)) != OTA_ALG_NONE;
    else
        ok = ed25519_parse(copy, len, k);
    free(copy);
    if (!ok) {
        ota_key_free(k);
        return OTA_ERR_KEY_PARSE;
    }
    *out = k;
    return OTA_OK;
}

int ota_key_get_alg(const ota_key_t *key)
{
    return key ? key->alg : OTA_ALG_NONE;
}

int ota_key_der(const ota_key_t *key, uint8_t *der, size_t cap, size_t *len)
{
    unsigned char buf[OTA_KEY_DER_MAX + 64], *p = buf + sizeof buf;
    int n;
    if (key->alg == OTA_ALG_ED25519) {
        static const uint8_t spki[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
        if (cap < OTA_ED25519_SPKI_LEN)
            return OTA_ERR_NO_SPACE;
        memcpy(der, spki, sizeof spki);
        memcpy(der + sizeof spki, key->ed_pub, 32);
        *len = OTA_ED25519_SPKI_LEN;
        return OTA_OK;
    }
    /* imgtool embeds SubjectPublicKeyInfo for ECDSA, the bare PKCS#1 RSAPublicKey for RSA. */
    if (key->alg == OTA_ALG_RSA2048 || key->alg == OTA_ALG_RSA3072)
        n = mbedtls_pk_write_pubkey(&p, buf, &key->pk);
    else
        n = mbedtls_pk_write_pubkey_der((mbedtls_pk_context *)&key->pk, buf, sizeof buf);
    if (n <= 0)
        return OTA_ERR_CRYPTO;
    if ((size_t)n > cap)
        return OTA_ERR_NO_SPACE;
    memcpy(der, buf + sizeof buf - n, (size_t)n); /* mbedTLS writes DER at the end of the buffer */
    *len = (size_t)n;
    return ota_key_alg(der, (uint32_t)n) == key->alg ? OTA_OK : OTA_ERR_CRYPTO;
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
    size_t n;
    if (key->alg != OTA_ALG_ECDSA_P256)
        return OTA_ERR_CRYPTO;
    return ota_key_der(key, der, OTA_P256_SPKI_LEN, &n);
}

int ota_key_public_pem(const ota_key_t *key, char *buf, size_t n)
{
    if (key->alg == OTA_ALG_ED25519) {
        uint8_t der[OTA_ED25519_SPKI_LEN];
        size_t len, olen;
        if (ota_key_der(key, der, sizeof der, &len) != OTA_OK)
            return OTA_ERR_CRYPTO;
        return mbedtls_pem_write_buffer("-----BEGIN PUBLIC KEY-----\n", "-----END PUBLIC KEY-----\n", der, len,
                                        (unsigned char *)buf, n, &olen) == 0
                   ? OTA_OK
                   : OTA_ERR_NO_SPACE;
    }
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
    if (key->alg == OTA_ALG_ED25519)
        return OTA_ERR_CRYPTO; /* keygen makes P-256 keys only */
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
    if (key->alg != OTA_ALG_ECDSA_P256)
        return OTA_ERR_CRYPTO;
    return ota_key_sign(key, hash, 32, sig, OTA_ECDSA_SIG_MAX, siglen);
}

int ota_key_sign(const ota_key_t *key, const uint8_t *digest, size_t dlen, uint8_t *sig, size_t cap,
                 size_t *siglen)
{
    ota_host_rng_t r;
    int rc = OTA_ERR_CRYPTO;
    if (!ota_key_is_private(key))
        return OTA_ERR_KEY_PUBLIC;
    if (dlen != ota_alg_hash_len(key->alg))
        return OTA_ERR_ARG;
    if (key->alg == OTA_ALG_ED25519) {
        /* MCUboot's Ed25519 (not --pure): the signed message is the image digest itself. */
        if (cap < 64)
            return OTA_ERR_NO_SPACE;
        ota_ed25519_sign(key->ed_seed, digest, (uint32_t)dlen, sig);
        *siglen = 64;
        return OTA_OK;
    }
    if (ota_host_rng_init(&r, "otakit") != OTA_OK) {
        ota_host_rng_free(&r);
        return OTA_ERR_CRYPTO;
    }
    if (key->alg == OTA_ALG_RSA2048 || key->alg == OTA_ALG_RSA3072) {
        /* RSASSA-PSS, MGF1-SHA256, salt 32: imgtool's PSS(mgf=MGF1(SHA256()), salt_length=32). */
        mbedtls_rsa_context *rsa = mbedtls_pk_rsa(key->pk);
        size_t n = mbedtls_rsa_get_len(rsa);
        if (cap < n) {
            rc = OTA_ERR_NO_SPACE;
        } else {
#if MBEDTLS_VERSION_MAJOR < 3
            mbedtls_rsa_set_padding(rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
#else
            (void)mbedtls_rsa_set_padding(rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
#endif
            if (mbedtls_rsa_rsassa_pss_sign_ext(rsa, mbedtls_ctr_drbg_random, &r.drbg, MBEDTLS_MD_SHA256, 32, digest,
                                                32, sig) == 0) {
                *siglen = n;
                rc = OTA_OK;
            }
        }
    } else {
        mbedtls_md_type_t md = dlen == 48 ? MBEDTLS_MD_SHA384 : MBEDTLS_MD_SHA256;
#if MBEDTLS_VERSION_MAJOR < 3
        (void)cap;
        if (mbedtls_ecdsa_write_signature(mbedtls_pk_ec(key->pk), md, digest, dlen, sig, siglen,
                                          mbedtls_ctr_drbg_random, &r.drbg) == 0)
#else
        if (mbedtls_ecdsa_write_signature(mbedtls_pk_ec(key->pk), md, digest, dlen, sig, cap, siglen,
                                          mbedtls_ctr_drbg_random, &r.drbg) == 0)
#endif
            rc = OTA_OK;
    }
    ota_host_rng_free(&r);
    return rc;
}

int ota_key_private_scalar(const ota_key_t *key, uint8_t out[32])
{
    if (!key || !key->is_private)
        return OTA_ERR_KEY_PUBLIC;
    return mbedtls_mpi_write_binary(&mbedtls_pk_ec(key->pk)->d, out, 32) == 0 ? OTA_OK : OTA_ERR_CRYPTO;
}
