/*
 * Every signature MCUboot verifies besides ECDSA-P256 (RSA-2048/3072 RSASSA-PSS, ECDSA-P384 over
 * SHA-384, Ed25519): imgtool's images (tests/vectors/imgtool-algs) verify with the device
 * verifier exactly as imgtool's own verdict says; a changed byte anywhere that matters is refused
 * with its own error; otakit's signer makes images that verify, equal to imgtool's byte for byte for
 * Ed25519; the key parsers refuse malformed keys; and the Ed25519 code passes RFC 8032's vectors.
 *
 * Usage: test_algs [IMGTOOL_VECTORS_DIR]   (the algs vectors are its sibling imgtool-algs/)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/err.h"
#include "otakit/fileio.h"
#include "otakit/image.h"
#include "otakit/keys.h"
#include "otakit/sign.h"

#include "crypto/crypto.h"

static char algs_dir[PATH_MAX / 2];

static const char *const names[] = {"rsa-2048", "rsa-3072", "ecdsa-p384", "ed25519"};
static const int algs[] = {OTA_ALG_RSA2048, OTA_ALG_RSA3072, OTA_ALG_ECDSA_P384, OTA_ALG_ED25519};
#define N_ALGS 4

__attribute__((noinline)) static uint8_t *load(const char *name, size_t *len)
{
    char path[PATH_MAX];
    uint8_t *b = NULL;
    assert_true(strlen(name) < 128);
    snprintf(path, sizeof path, "%s/%s", algs_dir, name);
    if (ota_file_read(path, &b, len) != OTA_OK || !b)
        fail_msg("cannot read %s", path);
    return b;
}

static ota_key_t *key(const char *alg, const char *which)
{
    char path[PATH_MAX];
    ota_key_t *k;
    snprintf(path, sizeof path, "%s/%s-%s.pem", algs_dir, alg, which);
    assert_int_equal(ota_key_load(path, &k), OTA_OK);
    return k;
}

static void der_of(const ota_key_t *k, uint8_t *der, uint32_t *len)
{
    size_t n;
    assert_int_equal(ota_key_der(k, der, OTA_KEY_DER_MAX, &n), OTA_OK);
    *len = (uint32_t)n;
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

/* Offset and length of the first unprotected TLV of type in img. */
static uint32_t find_tlv(const uint8_t *img, uint32_t len, uint16_t type, uint16_t *tlen)
{
    ota_image_info_t info;
    ota_verify_cfg_t cfg = {NULL, 0, OTA_VERIFY_HASH_ONLY};
    ota_tlv_iter_t it;
    ota_tlv_t t;
    ota_mem_src_t m = {img, len};
    assert_int_equal(ota_image_verify_buf(img, len, &cfg, &info), OTA_OK);
    ota_tlv_iter_init(&it, ota_mem_read, &m, &info.layout);
    while (ota_tlv_next(&it, &t) == 1)
        if (!t.is_protected && t.type == type) {
            *tlen = t.len;
            return t.off;
        }
    fail_msg("no TLV 0x%x", type);
    return 0;
}

/* imgtool's image of each algorithm verifies with its public key, with the digest imgtool printed,
 * the key hash of the right length, and the algorithm reported. */
static void test_imgtool_images_verify(void **state)
{
    int i;
    (void)state;
    for (i = 0; i < N_ALGS; i++) {
        char name[64];
        size_t len, tlen;
        uint8_t *img, *txt, der[OTA_KEY_DER_MAX], want[OTA_HASH_MAX], kh[OTA_HASH_MAX];
        uint32_t dlen, hl = ota_alg_hash_len(algs[i]);
        ota_key_t *pub = key(names[i], "pub");
        ota_pubkey_t pk;
        ota_verify_cfg_t cfg = {&pk, 1, 0};
        ota_image_info_t info;
        const char *d;

        assert_int_equal(ota_key_get_alg(pub), algs[i]);
        der_of(pub, der, &dlen);
        assert_int_equal(ota_key_alg(der, dlen), algs[i]);
        pk.der = der;
        pk.len = dlen;
        snprintf(name, sizeof name, "fw-65537.%s.bin", names[i]);
        img = load(name, &len);
        assert_int_equal(ota_image_verify_buf(img, (uint32_t)len, &cfg, &info), OTA_OK);
        assert_int_equal(info.signature_checked, 1);
        assert_int_equal(info.sig_alg, algs[i]);
        assert_int_equal(info.hash_len, hl);
        snprintf(name, sizeof name, "fw-65537.%s.verify.txt", names[i]);
        txt = load(name, &tlen);
        d = strstr((const char *)txt, "Image digest: ");
        assert_non_null(d);
        {
            char hexd[2 * OTA_HASH_MAX + 1];
            memcpy(hexd, d + 14, 2 * hl);
            hexd[2 * hl] = 0;
            assert_int_equal(unhex(hexd, want, hl), 0);
        }
        assert_memory_equal(info.hash, want, hl);
        assert_int_equal(ota_key_hash_len(der, dlen, hl, kh), OTA_OK);
        assert_memory_equal(info.key_hash, kh, hl);
        free(txt);
        free(img);
        ota_key_free(pub);
    }
}

/* The private key files give the same public key as the public ones. */
static void test_private_and_public_files_agree(void **state)
{
    int i;
    (void)state;
    for (i = 0; i < N_ALGS; i++) {
        ota_key_t *priv = key(names[i], "key"), *pub = key(names[i], "pub");
        uint8_t a[OTA_KEY_DER_MAX], b[OTA_KEY_DER_MAX];
        uint32_t al, bl;
        assert_true(ota_key_is_private(priv));
        assert_false(ota_key_is_private(pub));
        der_of(priv, a, &al);
        der_of(pub, b, &bl);
        assert_int_equal(al, bl);
        assert_memory_equal(a, b, al);
        ota_key_free(priv);
        ota_key_free(pub);
    }
}

/* Changed images: a payload byte (hash), a signature byte (signature), a trusted key of another
 * algorithm (no key matches), the same image under each other algorithm's key. */
static void test_changes_are_refused(void **state)
{
    int i, j;
    (void)state;
    for (i = 0; i < N_ALGS; i++) {
        char name[64];
        size_t len;
        uint8_t *img, der[OTA_KEY_DER_MAX];
        uint32_t dlen, off;
        uint16_t tlen;
        ota_key_t *pub = key(names[i], "pub");
        ota_pubkey_t pk;
        ota_verify_cfg_t cfg = {&pk, 1, 0};
        ota_image_info_t info;

        der_of(pub, der, &dlen);
        pk.der = der;
        pk.len = dlen;
        snprintf(name, sizeof name, "fw-65537.%s.bin", names[i]);
        img = load(name, &len);
        img[0x200 + 1000] ^= 1;
        assert_int_equal(ota_image_verify_buf(img, (uint32_t)len, &cfg, &info), OTA_ERR_HASH);
        img[0x200 + 1000] ^= 1;
        off = find_tlv(img, (uint32_t)len, ota_alg_sig_tlv(algs[i]), &tlen);
        /* ECDSA: a byte inside s's value; RSA: the middle; Ed25519: inside R */
        img[algs[i] == OTA_ALG_ECDSA_P384 ? off + tlen - 3 : algs[i] == OTA_ALG_ED25519 ? off + 5 : off + tlen / 2] ^= 0x10;
        assert_int_equal(ota_image_verify_buf(img, (uint32_t)len, &cfg, &info), OTA_ERR_SIGNATURE);
        if (algs[i] == OTA_ALG_ED25519) {
            img[off + 5] ^= 0x10;
            img[off + 63] |= 0xf0; /* S far above the group order: refused before any arithmetic */
            assert_int_equal(ota_image_verify_buf(img, (uint32_t)len, &cfg, &info), OTA_ERR_SIG_FORMAT);
        }
        for (j = 0; j < N_ALGS; j++) {
            ota_key_t *other;
            uint8_t oder[OTA_KEY_DER_MAX];
            uint32_t olen;
            if (j == i)
                continue;
            other = key(names[j], "pub");
            der_of(other, oder, &olen);
            pk.der = oder;
            pk.len = olen;
            assert_int_equal(ota_image_verify_buf(img, (uint32_t)len, &cfg, &info), OTA_ERR_KEY_UNKNOWN);
            ota_key_free(other);
        }
        free(img);
        ota_key_free(pub);
    }
}

/* otakit sign with each key and imgtool's options (--align 8 --version 1.2.0+3 --header-size 0x200
 * --pad-header --slot-size 0x40000): the image verifies, and it is imgtool's for Ed25519 (the only
 * deterministic one); RSA-PSS images match up to the signature value, whose length is the same. */
static void test_signer_matches_imgtool(void **state)
{
    size_t plen;
    uint8_t *payload = load("fw-65537.bin", &plen);
    int i;
    (void)state;
    for (i = 0; i < N_ALGS; i++) {
        char name[64];
        size_t vlen, olen;
        uint8_t *vec, *out, der[OTA_KEY_DER_MAX];
        uint32_t dlen, off;
        uint16_t tlen;
        ota_key_t *priv = key(names[i], "key");
        ota_sign_opts_t o;
        ota_pubkey_t pk;
        ota_verify_cfg_t cfg = {&pk, 1, 0};
        ota_image_info_t info;

        ota_sign_opts_init(&o);
        o.align = 8;
        assert_int_equal(ota_version_parse("1.2.0+3", &o.version), OTA_OK);
        o.header_size = 0x200;
        o.slot_size = 0x40000;
        assert_int_equal(ota_sign_image(&o, priv, payload, plen, &out, &olen), OTA_OK);
        der_of(priv, der, &dlen);
        pk.der = der;
        pk.len = dlen;
        assert_int_equal(ota_image_verify_buf(out, (uint32_t)olen, &cfg, &info), OTA_OK);
        assert_int_equal(info.sig_alg, algs[i]);
        snprintf(name, sizeof name, "fw-65537.%s.bin", names[i]);
        vec = load(name, &vlen);
        off = find_tlv(vec, (uint32_t)vlen, ota_alg_sig_tlv(algs[i]), &tlen);
        if (algs[i] == OTA_ALG_ED25519) {
            assert_int_equal(olen, vlen);
            assert_memory_equal(out, vec, vlen);
        } else if (algs[i] != OTA_ALG_ECDSA_P384) {
            assert_int_equal(olen, vlen);
            assert_memory_equal(out, vec, off);
        } else {
            /* ECDSA: the DER length varies; header, payload, SHA384 and KEYHASH are imgtool's */
            uint32_t end = 0x200 + (uint32_t)plen;
            assert_memory_equal(out, vec, end);
            assert_memory_equal(out + end + 4, vec + end + 4, off - 4 - (end + 4));
        }
        free(vec);
        free(out);
        ota_key_free(priv);
    }
    free(payload);
}

/* The key forms the verifier takes, and malformed ones it refuses. */
static void test_key_forms(void **state)
{
    ota_key_t *k = key("rsa-2048", "pub");
    uint8_t der[OTA_KEY_DER_MAX], bad[OTA_KEY_DER_MAX + 4];
    uint32_t len;
    (void)state;
    der_of(k, der, &len);
    ota_key_free(k);
    assert_int_equal(len, 270);
    assert_int_equal(ota_key_alg(der, len), OTA_ALG_RSA2048);
    assert_int_equal(ota_key_alg(der, len - 1), OTA_ALG_NONE);         /* truncated */
    memcpy(bad, der, len);
    bad[len] = 0;
    assert_int_equal(ota_key_alg(bad, len + 1), OTA_ALG_NONE);         /* trailing byte */
    bad[len - 1] ^= 1;                                                /* even exponent (65536) */
    assert_int_equal(ota_key_alg(bad, len), OTA_ALG_NONE);
    memcpy(bad, der, len);
    bad[9] = 0x7f;                                                    /* modulus not 2048 bits */
    assert_int_equal(ota_key_alg(bad, len), OTA_ALG_NONE);
    memcpy(bad, der, len);
    bad[1] = 0x83;                                                    /* unsupported length form */
    assert_int_equal(ota_key_alg(bad, len), OTA_ALG_NONE);
    /* non-minimal long form: 0x82 0x00 0x10 */
    {
        static const uint8_t short_long[] = {0x30, 0x82, 0x00, 0x08, 0x02, 0x01, 0x01, 0x02, 0x03, 0x01, 0x00, 0x01};
        assert_int_equal(ota_key_alg(short_long, sizeof short_long), OTA_ALG_NONE);
    }
    assert_int_equal(ota_key_alg(NULL, 10), OTA_ALG_NONE);
    assert_string_equal(ota_alg_name(OTA_ALG_ED25519), "ed25519");
    assert_int_equal(ota_alg_enabled(OTA_ALG_RSA3072), 1);
}

/* RFC 8032 section 7.1, tests 1 and 2: public key from the seed, signature, and verification. */
static void test_ed25519_rfc8032(void **state)
{
    static const struct {
        const char *seed, *pub, *msg, *sig;
    } v[] = {
        {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
        {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t seed[32], pub[32], msg[1], sig[64], mine[64], spki[OTA_ED25519_SPKI_LEN] = {
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
        uint32_t mlen = (uint32_t)strlen(v[i].msg) / 2;
        assert_int_equal(unhex(v[i].seed, seed, 32), 0);
        assert_int_equal(unhex(v[i].pub, pub, 32), 0);
        assert_int_equal(unhex(v[i].msg, msg, mlen), 0);
        assert_int_equal(unhex(v[i].sig, sig, 64), 0);
        ota_ed25519_public(seed, mine);
        assert_memory_equal(mine, pub, 32);
        ota_ed25519_sign(seed, msg, mlen, mine);
        assert_memory_equal(mine, sig, 64);
        memcpy(spki + 12, pub, 32);
        assert_int_equal(ota_ed25519_verify(spki, sizeof spki, msg, mlen, sig), OTA_OK);
        sig[10] ^= 1;
        assert_int_equal(ota_ed25519_verify(spki, sizeof spki, msg, mlen, sig), OTA_ERR_SIGNATURE);
        sig[10] ^= 1;
        spki[12 + 31] ^= 0x80; /* the other x: another key */
        assert_int_equal(ota_ed25519_verify(spki, sizeof spki, msg, mlen, sig), OTA_ERR_SIGNATURE);
        memset(spki + 12, 0xff, 31); /* y >= p: not a canonical encoding */
        spki[12 + 31] = 0x7f;
        assert_int_equal(ota_ed25519_verify(spki, sizeof spki, msg, mlen, sig), OTA_ERR_KEY_FORMAT);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_imgtool_images_verify),      cmocka_unit_test(test_private_and_public_files_agree),
        cmocka_unit_test(test_changes_are_refused),        cmocka_unit_test(test_signer_matches_imgtool),
        cmocka_unit_test(test_key_forms),                  cmocka_unit_test(test_ed25519_rfc8032),
    };
    snprintf(algs_dir, sizeof algs_dir, "%s/../imgtool-algs", argc > 1 ? argv[1] : OTAKIT_VECTORS);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
