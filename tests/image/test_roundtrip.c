/*
 * Sign/verify round trips and the small public helpers: whatever ota_sign_image() writes,
 * ota_image_verify() accepts and reports back field for field; the signer refuses bad options
 * with the documented error; versions, identifiers, trailer sizes and error names behave as
 * otakit/image.h, otakit/sign.h and otakit/err.h say.
 *
 * Usage: test_roundtrip [VECTORS_DIR]   (the signing key is the vectors' ec256-key.pem)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "otakit/err.h"
#include "otakit/image.h"
#include "otakit/keys.h"
#include "otakit/sign.h"

#include "checked_src.h"

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

static const char *vec_dir = OTAKIT_VECTORS;

static struct {
    ota_key_t *priv;
    uint8_t der[OTA_P256_SPKI_LEN];
    ota_pubkey_t pub;
    ota_verify_cfg_t cfg;
} g;

/* xorshift32: a fixed, portable pseudo-random sequence. */
static uint32_t rng_state;

static uint32_t rnd(void)
{
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

static uint8_t *random_payload(size_t n, uint32_t seed)
{
    uint8_t *p = malloc(n ? n : 1);
    size_t i;
    assert_non_null(p);
    rng_state = seed ? seed : 1;
    for (i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
    return p;
}

/* An oracle independent of the library's own hashing code. */
static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
#if MBEDTLS_VERSION_MAJOR < 3
    assert_int_equal(mbedtls_sha256_ret(p, n, out, 0), 0);
#else
    assert_int_equal(mbedtls_sha256(p, n, out, 0), 0);
#endif
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void sign_ok(const ota_sign_opts_t *o, const uint8_t *payload, size_t n, uint8_t **out, size_t *out_len)
{
    int rc = ota_sign_image(o, g.priv, payload, n, out, out_len);
    if (rc != OTA_OK)
        fail_msg("ota_sign_image: %s", ota_errname(rc));
    assert_non_null(*out);
}

/* Signs payload with o and returns the result code (output freed). */
static int sign_rc(const ota_sign_opts_t *o, const ota_key_t *key, const uint8_t *payload, size_t n)
{
    uint8_t *out = (uint8_t *)"untouched";
    size_t out_len = 12345;
    int rc = ota_sign_image(o, key, payload, n, &out, &out_len);
    if (rc == OTA_OK) {
        free(out);
    } else {
        assert_null(out);
        assert_int_equal(out_len, 0);
    }
    return rc;
}

static int group_setup(void **state)
{
    char path[PATH_MAX];
    (void)state;
    snprintf(path, sizeof path, "%s/ec256-key.pem", vec_dir);
    assert_int_equal(ota_key_load(path, &g.priv), OTA_OK);
    assert_int_equal(ota_key_public_der(g.priv, g.der), OTA_OK);
    g.pub.der = g.der;
    g.pub.len = sizeof g.der;
    g.cfg.keys = &g.pub;
    g.cfg.n_keys = 1;
    g.cfg.flags = 0;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ota_key_free(g.priv);
    return 0;
}

/* Options a round trip uses; extras is a bit set of the optional protected TLVs. */
enum { X_SEC_CNT = 1, X_PRODUCT = 2, X_HW_REV = 4 };

#define PRODUCT "otakit-demo_1.0"
#define HW_REV "revA,revB,evt-2"

/*
 * Signs a payload of n bytes with header hdr and the given extras, verifies it with a bounds-checked
 * reader, and checks every field the verifier reports against what was asked for.
 */
static void roundtrip(size_t n, uint16_t hdr, unsigned extras, uint32_t seed)
{
    ota_sign_opts_t o;
    ota_image_info_t info;
    uint8_t *payload = random_payload(n, seed), *img;
    uint8_t digest[32], kh[32];
    size_t len;
    uint32_t prot = 0, k;
    int rc;

    ota_sign_opts_init(&o);
    o.version.major = (uint8_t)(seed % 256);
    o.version.minor = (uint8_t)(n % 256);
    o.version.revision = (uint16_t)(hdr + 1);
    o.version.build = seed * 2654435761u;
    o.header_size = hdr;
    o.erased_val = seed % 2 ? 0xff : 0x00;
    if (extras & X_SEC_CNT) {
        o.has_security_counter = 1;
        o.security_counter = seed % 3 ? seed : 0; /* 0 is a counter too */
        prot += 8;
    }
    if (extras & X_PRODUCT) {
        o.product = PRODUCT;
        prot += 4 + (uint32_t)strlen(PRODUCT);
    }
    if (extras & X_HW_REV) {
        o.hw_rev = HW_REV;
        prot += 4 + (uint32_t)strlen(HW_REV);
    }
    if (prot)
        prot += 4;

    sign_ok(&o, payload, n, &img, &len);
    rc = verify_mem(img, len, &g.cfg, &info);
    if (rc != OTA_OK)
        fail_msg("size %zu hdr %u extras %u: %s", n, hdr, extras, ota_errname(rc));
    assert_int_equal(info.signature_checked, 1);
    assert_int_equal(info.key_index, 0);

    assert_int_equal(info.hdr.magic, OTA_IMAGE_MAGIC);
    assert_int_equal(info.hdr.hdr_size, hdr);
    assert_int_equal(info.hdr.img_size, n);
    assert_int_equal(info.hdr.protect_tlv_size, prot);
    assert_int_equal(info.hdr.flags, 0);
    assert_int_equal(info.hdr.load_addr, 0);
    assert_int_equal(ota_version_cmp(&info.hdr.version, &o.version), 0);
    assert_int_equal(info.hdr.version.build, o.version.build);

    assert_int_equal(info.has_security_counter, !!(extras & X_SEC_CNT));
    assert_int_equal(info.security_counter, o.security_counter);
    assert_string_equal(info.product, extras & X_PRODUCT ? PRODUCT : "");
    assert_string_equal(info.hw_rev, extras & X_HW_REV ? HW_REV : "");

    /* layout: header (padded with the erased value), payload, protected area, unprotected area */
    for (k = OTA_IMAGE_HEADER_SIZE; k < hdr; k++)
        assert_int_equal(img[k], o.erased_val);
    if (n)
        assert_memory_equal(img + hdr, payload, n);
    assert_int_equal(info.layout.payload_off, hdr);
    assert_int_equal(info.layout.prot_len, prot);
    assert_int_equal(info.layout.unprot_off, hdr + n + prot);
    assert_int_equal(info.layout.image_end, len);
    assert_int_equal(le16(img + info.layout.unprot_off), OTA_TLV_INFO_MAGIC);

    sha256(img, info.layout.unprot_off, digest);
    assert_memory_equal(info.hash, digest, 32);
    sha256(g.der, sizeof g.der, kh);
    assert_int_equal(info.has_key_hash, 1);
    assert_memory_equal(info.key_hash, kh, 32);

    free(img);
    free(payload);
}

/* ---------------------------------------------------------------------------------------------
 * Round trips
 * ------------------------------------------------------------------------------------------- */

static const size_t edge_sizes[] = {0, 1, 2, 31, 32, 33, 255, 256, 4095, 4096, 4097, 65536, 100003};
static const unsigned extras_sets[] = {0, X_SEC_CNT, X_PRODUCT | X_HW_REV, X_SEC_CNT | X_PRODUCT | X_HW_REV};

static void test_roundtrip_edge_sizes_header_32(void **state)
{
    size_t i, j;
    (void)state;
    for (i = 0; i < sizeof edge_sizes / sizeof edge_sizes[0]; i++)
        for (j = 0; j < sizeof extras_sets / sizeof extras_sets[0]; j++)
            roundtrip(edge_sizes[i], 32, extras_sets[j], (uint32_t)(i * 16 + j + 1));
}

static void test_roundtrip_edge_sizes_header_0x200(void **state)
{
    size_t i, j;
    (void)state;
    for (i = 0; i < sizeof edge_sizes / sizeof edge_sizes[0]; i++)
        for (j = 0; j < sizeof extras_sets / sizeof extras_sets[0]; j++)
            roundtrip(edge_sizes[i], 0x200, extras_sets[j], (uint32_t)(i * 16 + j + 7));
}

static void test_roundtrip_random_sizes_and_headers(void **state)
{
    static const uint16_t hdrs[] = {32, 33, 64, 0x100, 0x1ff, 0x200, 0x1000};
    int i;
    (void)state;
    for (i = 0; i < 12; i++) {
        uint32_t r;
        rng_state = 0x5eed0000u + (uint32_t)i; /* fixed seed: the same sizes every run */
        r = rnd();
        roundtrip(r % 70000, hdrs[rnd() % (sizeof hdrs / sizeof hdrs[0])], rnd() % 8, r);
    }
}

static void test_signing_is_deterministic(void **state)
{
    static const size_t sizes[] = {0, 1, 1000, 4097};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ota_sign_opts_t o;
        uint8_t *payload = random_payload(sizes[i], 42 + (uint32_t)i), *a, *b, *c;
        size_t alen, blen, clen;
        ota_sign_opts_init(&o);
        o.version.major = 3;
        o.has_security_counter = 1;
        o.security_counter = 9;
        o.product = "prod";
        sign_ok(&o, payload, sizes[i], &a, &alen);
        sign_ok(&o, payload, sizes[i], &b, &blen);
        assert_int_equal(alen, blen);
        assert_memory_equal(a, b, alen);
        /* a different payload (or version) gives another hash and another signature */
        o.version.major = 4;
        sign_ok(&o, payload, sizes[i], &c, &clen);
        assert_memory_not_equal(a + alen - 64, c + clen - 64, 64);
        free(a);
        free(b);
        free(c);
        free(payload);
    }
}

static void test_unsigned_image_passes_hash_only(void **state)
{
    ota_verify_cfg_t hash_only = {NULL, 0, OTA_VERIFY_HASH_ONLY};
    ota_sign_opts_t o;
    ota_image_info_t info;
    uint8_t payload[100], *img;
    size_t len;
    (void)state;
    memset(payload, 0xa5, sizeof payload);
    ota_sign_opts_init(&o);
    assert_int_equal(ota_sign_image(&o, NULL, payload, sizeof payload, &img, &len), OTA_OK);
    /* header, payload, then only {0x6907, 40} and the SHA256 TLV */
    assert_int_equal(len, 32 + 100 + 4 + 36);
    assert_int_equal(le16(img + 132 + 2), 40);
    assert_int_equal(le16(img + 136), OTA_TLV_SHA256);
    assert_int_equal(verify_mem(img, len, &hash_only, &info), OTA_OK);
    assert_int_equal(info.has_signature, 0);
    assert_int_equal(info.signature_checked, 0);
    assert_int_equal(info.has_key_hash, 0);
    assert_int_equal(verify_mem(img, len, &g.cfg, &info), OTA_ERR_NO_SIGNATURE);
    free(img);
}

static void test_load_addr_sets_ram_load_flag(void **state)
{
    ota_sign_opts_t o;
    ota_image_info_t info;
    uint8_t payload[8] = {0}, *img;
    size_t len;
    (void)state;
    ota_sign_opts_init(&o);
    o.load_addr = 0x20001000u;
    sign_ok(&o, payload, sizeof payload, &img, &len);
    assert_int_equal(verify_mem(img, len, &g.cfg, &info), OTA_OK);
    assert_int_equal(info.hdr.load_addr, 0x20001000u);
    assert_int_equal(info.hdr.flags, OTA_IMAGE_F_RAM_LOAD);
    free(img);
}

static void test_custom_tlvs_are_protected_in_order(void **state)
{
    static const uint8_t v1[5] = {1, 2, 3, 4, 5};
    const ota_custom_tlv_t custom[3] = {{0xa0, sizeof v1, v1}, {0xfffe, 0, v1}, {0xc0de, 3, (const uint8_t *)"abc"}};
    ota_sign_opts_t o;
    ota_image_info_t info;
    uint8_t payload[10] = {0}, *img;
    size_t len;
    struct src s;
    ota_tlv_iter_t it;
    ota_tlv_t t;
    (void)state;
    ota_sign_opts_init(&o);
    o.has_security_counter = 1;
    o.security_counter = 5;
    o.custom = custom;
    o.n_custom = 3;
    sign_ok(&o, payload, sizeof payload, &img, &len);
    assert_int_equal(verify_mem(img, len, &g.cfg, &info), OTA_OK);
    assert_int_equal(info.hdr.protect_tlv_size, 4 + 8 + 9 + 4 + 7);
    s = src_of(img, (uint32_t)len);
    ota_tlv_iter_init(&it, src_read, &s, &info.layout);
    assert_int_equal(ota_tlv_next(&it, &t), 1);
    assert_int_equal(t.type, OTA_TLV_SEC_CNT);
    assert_int_equal(ota_tlv_next(&it, &t), 1);
    assert_int_equal(t.type, 0xa0);
    assert_int_equal(t.is_protected, 1);
    assert_memory_equal(img + t.off, v1, 5);
    assert_int_equal(ota_tlv_next(&it, &t), 1);
    assert_int_equal(t.type, 0xfffe);
    assert_int_equal(t.len, 0);
    assert_int_equal(ota_tlv_next(&it, &t), 1);
    assert_int_equal(t.type, 0xc0de);
    assert_memory_equal(img + t.off, "abc", 3);
    assert_int_equal(t.is_protected, 1);
    assert_int_equal(ota_tlv_next(&it, &t), 1);
    assert_int_equal(t.type, OTA_TLV_SHA256);
    assert_int_equal(t.is_protected, 0);
    free(img);
}

static void test_custom_tlv_options_checked(void **state)
{
    static const uint8_t big[0x8000];
    ota_custom_tlv_t c = {0x9f, 1, (const uint8_t *)"x"};
    ota_custom_tlv_t two_big[2] = {{0xa0, sizeof big, big}, {0xa1, sizeof big, big}};
    ota_sign_opts_t o;
    uint8_t payload[4] = {0};
    (void)state;
    ota_sign_opts_init(&o);
    o.custom = &c;
    o.n_custom = 1;
    assert_int_equal(sign_rc(&o, g.priv, payload, 4), OTA_ERR_TLV_VALUE); /* MCUboot's own range */
    c.type = 0xffff;
    assert_int_equal(sign_rc(&o, g.priv, payload, 4), OTA_ERR_TLV_VALUE);
    c.type = 0xa0;
    c.value = NULL;
    assert_int_equal(sign_rc(&o, g.priv, payload, 4), OTA_ERR_TLV_VALUE);
    c.value = (const uint8_t *)"x";
    assert_int_equal(sign_rc(&o, g.priv, payload, 4), OTA_OK);
    o.custom = two_big;
    o.n_custom = 2;
    assert_int_equal(sign_rc(&o, g.priv, payload, 4), OTA_ERR_TLV_LEN); /* area > 0xffff */
}

/* 0xb0/0xb1 are in the custom range but are otakit's product and hardware TLVs: the signer must
 * never emit an image its own verifier rejects (a second product, a malformed one). */
static void test_custom_tlv_cannot_forge_product_or_hw(void **state)
{
    ota_custom_tlv_t c = {OTA_TLV_PRODUCT, 6, (const uint8_t *)"widget"};
    ota_sign_opts_t o;
    uint8_t payload[4] = {0};
    int rc;
    (void)state;
    ota_sign_opts_init(&o);
    o.custom = &c;
    o.n_custom = 1;
    o.product = "gadget";
    rc = sign_rc(&o, g.priv, payload, 4);
    assert_true(rc < 0);
    o.product = NULL;
    c.value = (const uint8_t *)"bad id";
    rc = sign_rc(&o, g.priv, payload, 4);
    assert_true(rc < 0);
    c.type = OTA_TLV_HW_REV;
    c.len = 4;
    c.value = (const uint8_t *)"a,,b";
    rc = sign_rc(&o, g.priv, payload, 4);
    assert_true(rc < 0);
}

/* check_opts() accepts a custom TLV {type, 0, NULL} (only len > 0 needs a value): signing it must
 * work, and must not hand NULL to memcpy (UBSan: "null pointer passed as argument 2"). */
static void test_empty_custom_tlv_without_value(void **state)
{
    const ota_custom_tlv_t empty = {0xa5, 0, NULL};
    ota_sign_opts_t o;
    ota_image_info_t info;
    uint8_t payload[4] = {1, 2, 3, 4}, *img;
    size_t len;
    (void)state;
    ota_sign_opts_init(&o);
    o.custom = &empty;
    o.n_custom = 1;
    sign_ok(&o, payload, sizeof payload, &img, &len);
    assert_int_equal(verify_mem(img, len, &g.cfg, &info), OTA_OK);
    assert_int_equal(info.hdr.protect_tlv_size, 8);
    assert_int_equal(le16(img + 36 + 4), 0xa5);
    assert_int_equal(le16(img + 36 + 6), 0);
    free(img);
}

/* ---------------------------------------------------------------------------------------------
 * Hardware revisions, signature padding, slots and trailers
 * ------------------------------------------------------------------------------------------- */

static void sign_and_verify_hw(const char *hw, ota_image_info_t *info)
{
    ota_sign_opts_t o;
    uint8_t payload[16] = {0}, *img;
    size_t len;
    ota_sign_opts_init(&o);
    o.hw_rev = hw;
    sign_ok(&o, payload, sizeof payload, &img, &len);
    assert_int_equal(verify_mem(img, len, &g.cfg, info), OTA_OK);
    free(img);
}

static void test_hw_compatible_matches_whole_list_items(void **state)
{
    ota_image_info_t info;
    (void)state;
    sign_and_verify_hw("revA,revB", &info);
    assert_string_equal(info.hw_rev, "revA,revB");
    assert_int_equal(ota_image_hw_compatible(&info, "revA"), 1);
    assert_int_equal(ota_image_hw_compatible(&info, "revB"), 1);
    assert_int_equal(ota_image_hw_compatible(&info, "rev"), 0);
    assert_int_equal(ota_image_hw_compatible(&info, "revAB"), 0);
    assert_int_equal(ota_image_hw_compatible(&info, "revC"), 0);
    assert_int_equal(ota_image_hw_compatible(&info, "evA"), 0);
    assert_int_equal(ota_image_hw_compatible(&info, "revA,revB"), 0);
    assert_int_equal(ota_image_hw_compatible(&info, ""), 0);
    assert_int_equal(ota_image_hw_compatible(&info, NULL), 0);
    assert_int_equal(ota_image_hw_compatible(NULL, "revA"), 0);

    sign_and_verify_hw("only", &info);
    assert_int_equal(ota_image_hw_compatible(&info, "only"), 1);
    assert_int_equal(ota_image_hw_compatible(&info, "onl"), 0);
    assert_int_equal(ota_image_hw_compatible(&info, "only1"), 0);
}

static void test_hw_compatible_without_hw_list_matches_anything(void **state)
{
    ota_sign_opts_t o;
    ota_image_info_t info;
    uint8_t payload[16] = {0}, *img;
    size_t len;
    (void)state;
    ota_sign_opts_init(&o);
    o.product = "widget";
    sign_ok(&o, payload, sizeof payload, &img, &len);
    assert_int_equal(verify_mem(img, len, &g.cfg, &info), OTA_OK);
    assert_string_equal(info.hw_rev, "");
    assert_int_equal(ota_image_hw_compatible(&info, "revA"), 1);
    assert_int_equal(ota_image_hw_compatible(&info, "anything-at_all.1"), 1);
    assert_int_equal(ota_image_hw_compatible(&info, ""), 1);
    free(img);
}

/* Finds a payload whose deterministic signature is shorter than 72 bytes, so padding shows. */
static void test_pad_sig_gives_72_byte_tlv_that_verifies(void **state)
{
    uint32_t seed;
    (void)state;
    for (seed = 1; seed < 64; seed++) {
        ota_sign_opts_t o;
        ota_image_info_t info;
        uint8_t *payload = random_payload(200, seed), *plain, *padded;
        size_t plen, dlen, i;
        uint32_t sig_off;
        ota_sign_opts_init(&o);
        sign_ok(&o, payload, 200, &plain, &plen);
        sig_off = 32 + 200 + 4 + 72; /* header of the signature TLV */
        dlen = le16(plain + sig_off + 2);
        if (dlen == 72) {
            free(plain);
            free(payload);
            continue;
        }
        o.pad_sig = 1;
        sign_ok(&o, payload, 200, &padded, &plen);
        assert_int_equal(le16(padded + sig_off), OTA_TLV_ECDSA_SIG);
        assert_int_equal(le16(padded + sig_off + 2), 72);
        assert_int_equal(plen, sig_off + 4 + 72);
        assert_int_equal(padded[sig_off + 5] + 2, dlen); /* the DER length is unchanged */
        assert_memory_equal(padded + sig_off + 4, plain + sig_off + 4, dlen);
        for (i = dlen; i < 72; i++)
            assert_int_equal(padded[sig_off + 4 + i], 0);
        assert_int_equal(verify_mem(padded, plen, &g.cfg, &info), OTA_OK);
        assert_int_equal(info.signature_checked, 1);
        free(plain);
        free(padded);
        free(payload);
        return;
    }
    fail_msg("no payload gave a DER signature shorter than 72 bytes");
}

static void test_trailer_size_matches_imgtool(void **state)
{
    ota_sign_opts_t o;
    (void)state;
    ota_sign_opts_init(&o);
    assert_int_equal(ota_trailer_size(&o), 432); /* 128*3*1 + 8*4 + 16 */
    o.align = 0;
    assert_int_equal(ota_trailer_size(&o), 432);
    o.align = 8;
    assert_int_equal(ota_trailer_size(&o), 3120); /* 128*3*8 + 8*4 + 16 */
    o.align = 4;
    assert_int_equal(ota_trailer_size(&o), 1584);
    o.align = 32;
    assert_int_equal(ota_trailer_size(&o), 128 * 3 * 32 + 32 * 4 + 32);
    o.align = 1;
    o.max_sectors = 256;
    assert_int_equal(ota_trailer_size(&o), 256 * 3 + 8 * 4 + 16);
}

static void test_slot_size_boundary(void **state)
{
    ota_sign_opts_t o;
    uint8_t payload[300], *img;
    size_t len;
    uint32_t need;
    (void)state;
    memset(payload, 7, sizeof payload);
    ota_sign_opts_init(&o);
    sign_ok(&o, payload, sizeof payload, &img, &len);
    free(img);
    need = (uint32_t)len + ota_trailer_size(&o);
    o.slot_size = need;
    assert_int_equal(sign_rc(&o, g.priv, payload, sizeof payload), OTA_OK);
    o.slot_size = need - 1;
    assert_int_equal(sign_rc(&o, g.priv, payload, sizeof payload), OTA_ERR_SLOT_SIZE);
    o.slot_size = ota_trailer_size(&o) - 1; /* not even the trailer fits */
    assert_int_equal(sign_rc(&o, g.priv, payload, sizeof payload), OTA_ERR_SLOT_SIZE);
    o.slot_size = need - 1;
    o.pad = 1;
    assert_int_equal(sign_rc(&o, g.priv, payload, sizeof payload), OTA_ERR_SLOT_SIZE);
    o.slot_size = need;
    sign_ok(&o, payload, sizeof payload, &img, &len);
    assert_int_equal(len, need);
    free(img);
}

static void test_pad_or_confirm_needs_slot_size(void **state)
{
    ota_sign_opts_t o;
    uint8_t payload[4] = {0};
    (void)state;
    ota_sign_opts_init(&o);
    o.pad = 1;
    assert_int_equal(sign_rc(&o, g.priv, payload, 4), OTA_ERR_SLOT_SIZE);
    o.pad = 0;
    o.confirm = 1;
    assert_int_equal(sign_rc(&o, g.priv, payload, 4), OTA_ERR_SLOT_SIZE);
}

static void test_padded_trailer_layout(void **state)
{
    static const uint8_t magic8[16] = {0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
                                       0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80};
    static const uint8_t magic_alt[14] = {0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d,
                                          0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a};
    ota_sign_opts_t o;
    ota_image_info_t info;
    uint8_t payload[64], *img;
    size_t len, k;
    (void)state;
    memset(payload, 0x3c, sizeof payload);

    /* align 8, erased 0xff, confirmed: image_ok at end-24, the 16-byte magic last */
    ota_sign_opts_init(&o);
    o.align = 8;
    o.slot_size = 0x4000;
    o.pad = o.confirm = 1;
    sign_ok(&o, payload, sizeof payload, &img, &len);
    assert_int_equal(len, 0x4000);
    assert_int_equal(verify_mem(img, len, &g.cfg, &info), OTA_OK);
    assert_memory_equal(img + len - 16, magic8, 16);
    for (k = info.layout.image_end; k < len - 16; k++)
        assert_int_equal(img[k], k == len - 24 ? 0x01 : 0xff);
    free(img);

    /* align 32, erased 0x00, padded but not confirmed: alternate magic with max_align first */
    ota_sign_opts_init(&o);
    o.align = 32;
    o.erased_val = 0x00;
    o.slot_size = 0x8000;
    o.pad = 1;
    sign_ok(&o, payload, sizeof payload, &img, &len);
    assert_int_equal(len, 0x8000);
    assert_int_equal(verify_mem(img, len, &g.cfg, &info), OTA_OK);
    assert_int_equal(img[len - 16], 32);
    assert_int_equal(img[len - 15], 0);
    assert_memory_equal(img + len - 14, magic_alt, 14);
    for (k = info.layout.image_end; k < len - 16; k++)
        assert_int_equal(img[k], 0x00);
    free(img);
}

/* ---------------------------------------------------------------------------------------------
 * Signer option errors
 * ------------------------------------------------------------------------------------------- */

static void test_bad_align_rejected(void **state)
{
    static const unsigned bad[] = {3, 5, 6, 7, 12, 24, 64, 128, 0xffffffffu};
    static const unsigned good[] = {0, 1, 2, 4, 8, 16, 32};
    ota_sign_opts_t o;
    uint8_t payload[4] = {0};
    size_t i;
    (void)state;
    ota_sign_opts_init(&o);
    o.slot_size = 0x10000;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.align = bad[i];
        assert_int_equal(sign_rc(&o, g.priv, payload, 4), OTA_ERR_ALIGN);
    }
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        o.align = good[i];
        assert_int_equal(sign_rc(&o, g.priv, payload, 4), OTA_OK);
    }
}

static void test_header_smaller_than_32_rejected(void **state)
{
    static const uint16_t bad[] = {1, 16, 31};
    ota_sign_opts_t o;
    ota_image_info_t info;
    uint8_t payload[4] = {0}, *img;
    size_t len, i;
    (void)state;
    ota_sign_opts_init(&o);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.header_size = bad[i];
        assert_int_equal(sign_rc(&o, g.priv, payload, 4), OTA_ERR_HDR_TOO_SMALL);
    }
    o.header_size = 0; /* means 32 */
    sign_ok(&o, payload, 4, &img, &len);
    assert_int_equal(verify_mem(img, len, &g.cfg, &info), OTA_OK);
    assert_int_equal(info.hdr.hdr_size, 32);
    free(img);
}

static void test_invalid_identifiers_rejected(void **state)
{
    static const char *const bad_product[] = {"", "a b", "x/y", "a,b", "na\xc3\xafve", "tab\t", "semi;colon",
                                              "123456789012345678901234567890123" /* 33 */};
    static const char *const bad_hw[] = {"", ",revA", "revA,", "revA,,revB", "rev A", "revA;revB", ",",
                                         "12345678901234567890123456789012345678901234567890123456789012345"};
    ota_sign_opts_t o;
    uint8_t payload[4] = {0};
    size_t i;
    (void)state;
    ota_sign_opts_init(&o);
    for (i = 0; i < sizeof bad_product / sizeof bad_product[0]; i++) {
        o.product = bad_product[i];
        if (sign_rc(&o, g.priv, payload, 4) != OTA_ERR_IDENT)
            fail_msg("product \"%s\" was not rejected with OTA_ERR_IDENT", bad_product[i]);
    }
    o.product = NULL;
    for (i = 0; i < sizeof bad_hw / sizeof bad_hw[0]; i++) {
        o.hw_rev = bad_hw[i];
        if (sign_rc(&o, g.priv, payload, 4) != OTA_ERR_IDENT)
            fail_msg("hardware list \"%s\" was not rejected with OTA_ERR_IDENT", bad_hw[i]);
    }
}

static void test_longest_identifiers_roundtrip(void **state)
{
    static const char product32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ_.-019";
    static const char hw64[] = "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z,0,1,2,3,4,56";
    ota_sign_opts_t o;
    ota_image_info_t info;
    uint8_t payload[4] = {0}, *img;
    size_t len;
    (void)state;
    assert_int_equal(strlen(product32), OTA_PRODUCT_MAX);
    assert_int_equal(strlen(hw64), OTA_HW_REV_MAX);
    ota_sign_opts_init(&o);
    o.product = product32;
    o.hw_rev = hw64;
    sign_ok(&o, payload, 4, &img, &len);
    assert_int_equal(verify_mem(img, len, &g.cfg, &info), OTA_OK);
    assert_string_equal(info.product, product32);
    assert_string_equal(info.hw_rev, hw64);
    assert_int_equal(ota_image_hw_compatible(&info, "56"), 1);
    assert_int_equal(ota_image_hw_compatible(&info, "a"), 1);
    free(img);
}

static void test_ident_valid_rules(void **state)
{
    (void)state;
    assert_int_equal(ota_ident_valid("abc", 3, 32, 0), 1);
    assert_int_equal(ota_ident_valid("A-Z_a.z09", 9, 32, 0), 1);
    assert_int_equal(ota_ident_valid("a,b", 3, 32, 0), 0);
    assert_int_equal(ota_ident_valid("a,b", 3, 64, 1), 1);
    assert_int_equal(ota_ident_valid("a,,b", 4, 64, 1), 0);
    assert_int_equal(ota_ident_valid(",a", 2, 64, 1), 0);
    assert_int_equal(ota_ident_valid("a,", 2, 64, 1), 0);
    assert_int_equal(ota_ident_valid("", 0, 32, 0), 0);
    assert_int_equal(ota_ident_valid("abcd", 4, 3, 0), 0);
    assert_int_equal(ota_ident_valid("abc", 3, 3, 0), 1);
    assert_int_equal(ota_ident_valid("a\0b", 3, 32, 0), 0); /* an embedded NUL is not a character */
    assert_int_equal(ota_ident_valid(NULL, 3, 32, 0), 0);
}

static void test_public_key_cannot_sign(void **state)
{
    char path[PATH_MAX];
    ota_key_t *pub;
    ota_sign_opts_t o;
    uint8_t payload[4] = {0}, hash[32] = {0}, sig[OTA_ECDSA_SIG_MAX];
    size_t siglen = 0;
    (void)state;
    snprintf(path, sizeof path, "%s/ec256-pub.pem", vec_dir);
    assert_int_equal(ota_key_load(path, &pub), OTA_OK);
    assert_int_equal(ota_key_is_private(pub), 0);
    ota_sign_opts_init(&o);
    assert_int_equal(sign_rc(&o, pub, payload, 4), OTA_ERR_KEY_PUBLIC);
    assert_int_equal(ota_key_sign_hash(pub, hash, sig, &siglen), OTA_ERR_KEY_PUBLIC);
    ota_key_free(pub);
}

/* ---------------------------------------------------------------------------------------------
 * Versions
 * ------------------------------------------------------------------------------------------- */

static void expect_version(const char *s, unsigned major, unsigned minor, unsigned rev, uint32_t build)
{
    ota_version_t v;
    int rc = ota_version_parse(s, &v);
    if (rc != OTA_OK)
        fail_msg("\"%s\" was rejected: %s", s, ota_errname(rc));
    assert_int_equal(v.major, major);
    assert_int_equal(v.minor, minor);
    assert_int_equal(v.revision, rev);
    assert_int_equal(v.build, build);
}

static void test_version_parse_accepts(void **state)
{
    (void)state;
    expect_version("1", 1, 0, 0, 0);
    expect_version("1.2", 1, 2, 0, 0);
    expect_version("1.2.3", 1, 2, 3, 0);
    expect_version("1.2.3+4", 1, 2, 3, 4);
    expect_version("0.0.0+0", 0, 0, 0, 0);
    expect_version("0", 0, 0, 0, 0);
    expect_version("10.20.300+4000", 10, 20, 300, 4000);
    expect_version("255.255.65535+4294967295", 255, 255, 65535, 4294967295u);
}

static void test_version_parse_rejects(void **state)
{
    static const char *const bad[] = {
        "",       "1.",       "01.2",     "256.0.0",  "1.2.3+4294967296", "1.2.3.4", "a.b",  "1.2+3",
        " 1",     "1 ",       "1.2.3+",   "1..2",     "-1",               "+1",      "1.2.3+04", "1.2.65536",
        "0x1",    "1.2.3+4+5", "1.256",   "1.2.00",   "1.2.3+99999999999", "1,2",    ".1",   "1.2.3 +4",
    };
    size_t i;
    ota_version_t v;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&v, 0x5a, sizeof v);
        if (ota_version_parse(bad[i], &v) != OTA_ERR_VERSION)
            fail_msg("\"%s\" was not rejected with OTA_ERR_VERSION", bad[i]);
    }
    assert_int_equal(ota_version_parse(NULL, &v), OTA_ERR_ARG);
    assert_int_equal(ota_version_parse("1", NULL), OTA_ERR_ARG);
}

static void test_version_format(void **state)
{
    ota_version_t v = {1, 2, 3, 4};
    ota_version_t max = {255, 255, 65535, 4294967295u};
    char buf[64];
    (void)state;
    assert_int_equal(ota_version_format(&v, buf, sizeof buf), 7);
    assert_string_equal(buf, "1.2.3+4");
    assert_int_equal(ota_version_format(&v, buf, 8), 7); /* exactly fits with its NUL */
    assert_string_equal(buf, "1.2.3+4");
    assert_int_equal(ota_version_format(&v, buf, 7), OTA_ERR_NO_SPACE);
    assert_int_equal(ota_version_format(&v, buf, 1), OTA_ERR_NO_SPACE);
    assert_int_equal(ota_version_format(&v, buf, 0), OTA_ERR_ARG);
    assert_int_equal(ota_version_format(NULL, buf, sizeof buf), OTA_ERR_ARG);
    /* the longest version is 24 characters: it needs 25 bytes with the NUL */
    assert_int_equal(ota_version_format(&max, buf, sizeof buf), 24);
    assert_string_equal(buf, "255.255.65535+4294967295");
    assert_int_equal(ota_version_format(&max, buf, 25), 24);
    assert_int_equal(ota_version_format(&max, buf, 24), OTA_ERR_NO_SPACE);
}

static void test_version_format_parse_roundtrip(void **state)
{
    int i;
    (void)state;
    rng_state = 0xc0ffee;
    for (i = 0; i < 2000; i++) {
        ota_version_t v, w;
        char buf[32];
        uint32_t r = rnd();
        v.major = (uint8_t)r;
        v.minor = (uint8_t)(r >> 8);
        v.revision = (uint16_t)(r >> 16);
        v.build = i % 3 ? rnd() : (uint32_t)i; /* small and large builds */
        assert_true(ota_version_format(&v, buf, sizeof buf) > 0);
        assert_int_equal(ota_version_parse(buf, &w), OTA_OK);
        assert_int_equal(ota_version_cmp(&v, &w), 0);
        assert_int_equal(w.build, v.build);
    }
}

static void test_version_cmp_orders_fields(void **state)
{
    /* strictly increasing */
    static const ota_version_t seq[] = {
        {0, 0, 0, 0},         {0, 0, 0, 1},     {0, 0, 1, 0},       {0, 0, 255, 4294967295u},
        {0, 0, 256, 0},       {0, 1, 0, 0},     {0, 255, 65535, 4294967295u}, {1, 0, 0, 0},
        {1, 2, 3, 4},         {1, 2, 3, 5},     {1, 2, 4, 0},       {1, 10, 0, 0},
        {2, 0, 0, 0},         {255, 255, 65535, 4294967295u},
    };
    size_t n = sizeof seq / sizeof seq[0], i, j;
    (void)state;
    for (i = 0; i < n; i++) {
        for (j = 0; j < n; j++) {
            int c = ota_version_cmp(&seq[i], &seq[j]);
            if (i < j)
                assert_true(c < 0);
            else if (i > j)
                assert_true(c > 0);
            else
                assert_int_equal(c, 0);
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Error codes
 * ------------------------------------------------------------------------------------------- */

struct err_row {
    int code;
    const char *name;
};

static const struct err_row err_rows[] = {
#define ROW(name, value, msg) {name, #name},
    OTA_ERROR_LIST(ROW)
#undef ROW
};
#define N_ERRS (sizeof err_rows / sizeof err_rows[0])

static void test_error_names_and_messages(void **state)
{
    size_t i, j;
    (void)state;
    assert_int_equal(err_rows[0].code, OTA_OK);
    assert_int_equal(OTA_OK, 0);
    for (i = 0; i < N_ERRS; i++) {
        const char *name = ota_errname(err_rows[i].code);
        const char *msg = ota_strerror(err_rows[i].code);
        assert_non_null(name);
        assert_non_null(msg);
        assert_string_equal(name, err_rows[i].name);
        assert_true(strlen(msg) > 0);
        if (i > 0)
            assert_true(err_rows[i].code < 0); /* every error is negative */
        for (j = 0; j < i; j++) {
            assert_int_not_equal(err_rows[i].code, err_rows[j].code);
            assert_string_not_equal(name, ota_errname(err_rows[j].code));
            assert_string_not_equal(msg, ota_strerror(err_rows[j].code));
        }
    }
}

static void test_unknown_error_codes_get_generic_text(void **state)
{
    static const int unknown[] = {1, 42, -1000, 1000, INT_MIN, INT_MAX};
    size_t i, j;
    (void)state;
    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *msg = ota_strerror(unknown[i]);
        assert_string_equal(ota_errname(unknown[i]), "OTA_ERR_UNKNOWN");
        assert_non_null(msg);
        assert_true(strlen(msg) > 0);
        for (j = 0; j < N_ERRS; j++)
            assert_string_not_equal(msg, ota_strerror(err_rows[j].code));
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_edge_sizes_header_32),
        cmocka_unit_test(test_roundtrip_edge_sizes_header_0x200),
        cmocka_unit_test(test_roundtrip_random_sizes_and_headers),
        cmocka_unit_test(test_signing_is_deterministic),
        cmocka_unit_test(test_unsigned_image_passes_hash_only),
        cmocka_unit_test(test_load_addr_sets_ram_load_flag),
        cmocka_unit_test(test_custom_tlvs_are_protected_in_order),
        cmocka_unit_test(test_custom_tlv_options_checked),
        cmocka_unit_test(test_custom_tlv_cannot_forge_product_or_hw),
        cmocka_unit_test(test_hw_compatible_matches_whole_list_items),
        cmocka_unit_test(test_hw_compatible_without_hw_list_matches_anything),
        cmocka_unit_test(test_pad_sig_gives_72_byte_tlv_that_verifies),
        cmocka_unit_test(test_trailer_size_matches_imgtool),
        cmocka_unit_test(test_slot_size_boundary),
        cmocka_unit_test(test_pad_or_confirm_needs_slot_size),
        cmocka_unit_test(test_padded_trailer_layout),
        cmocka_unit_test(test_bad_align_rejected),
        cmocka_unit_test(test_header_smaller_than_32_rejected),
        cmocka_unit_test(test_invalid_identifiers_rejected),
        cmocka_unit_test(test_longest_identifiers_roundtrip),
        cmocka_unit_test(test_ident_valid_rules),
        cmocka_unit_test(test_public_key_cannot_sign),
        cmocka_unit_test(test_version_parse_accepts),
        cmocka_unit_test(test_version_parse_rejects),
        cmocka_unit_test(test_version_format),
        cmocka_unit_test(test_version_format_parse_roundtrip),
        cmocka_unit_test(test_version_cmp_orders_fields),
        cmocka_unit_test(test_error_names_and_messages),
        cmocka_unit_test(test_unknown_error_codes_get_generic_text),
        /* last: under UBSan a library bug here aborts the process (see the test) */
        cmocka_unit_test(test_empty_custom_tlv_without_value),
    };
    if (argc > 1)
        vec_dir = argv[1];
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
