/*
 * The TLV table, the protected-area reader the verifier and the device pre-check share, and the
 * TLV area builder the signer writes through (otakit/tlv.h, otakit/image.h): the reader's verdict
 * on a protected area is the verifier's, a partial area reads as OTA_ERR_IO (the pre-check's
 * "unchecked"), and the builder refuses exactly what the verifier would refuse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "otakit/bytes.h"
#include "otakit/err.h"
#include "otakit/image.h"
#include "otakit/sign.h"

/* ---- the table ------------------------------------------------------------------------------ */

static void test_table_names_ids_and_rules(void **state)
{
    const ota_tlv_def_t *t;
    unsigned n, i, j;
    (void)state;
    assert_int_equal(OTA_TLV_SEC_CNT, 0x50);
    assert_int_equal(OTA_TLV_PRODUCT, 0xb0);
    assert_int_equal(OTA_TLV_HW_REV, 0xb1);
    assert_int_equal(OTA_TLV_ECDSA_SIG, 0x22);
    assert_string_equal(ota_tlv_name(OTA_TLV_HW_REV), "HW_REV");
    assert_string_equal(ota_tlv_name(0x34), "ENC_X25519_SHA512");
    assert_null(ota_tlv_name(0xc0de));
    assert_null(ota_tlv_def(0xc0de));
    assert_int_equal(ota_tlv_def(OTA_TLV_SEC_CNT)->kind, OTA_TLVK_U32);
    t = ota_tlv_table(&n);
    assert_true(n >= 20 && n <= 32);
    /* protected entries first: the signer writes in table order; SEC_CNT leads, as in imgtool */
    assert_int_equal(t[0].type, OTA_TLV_SEC_CNT);
    for (i = 0; i < n; i++) {
        assert_int_equal(t[i].index, i);
        assert_ptr_equal(ota_tlv_def(t[i].type), &t[i]);
        assert_non_null(ota_tlv_name(t[i].type));
        for (j = 0; j < i; j++)
            assert_int_not_equal(t[i].type, t[j].type);
    }
    assert_int_equal(ota_tlv_check(ota_tlv_def(OTA_TLV_PRODUCT), (const uint8_t *)"a b", 3), OTA_ERR_TLV_VALUE);
    assert_int_equal(ota_tlv_check(ota_tlv_def(OTA_TLV_PRODUCT), NULL, 0), OTA_ERR_TLV_LEN);
    assert_int_equal(ota_tlv_check(ota_tlv_def(OTA_TLV_SEC_CNT), NULL, 3), OTA_ERR_TLV_LEN);
    assert_int_equal(ota_tlv_check(ota_tlv_def(OTA_TLV_HW_REV), (const uint8_t *)"a,b", 3), OTA_OK);
}

/* ---- images with a hand-made protected area ------------------------------------------------- */

struct raw {
    uint8_t b[1024];
    uint32_t len;
};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* Header + 16-byte payload + the protected area holding the raw TLV bytes tlvs (none: no area) +
 * an unprotected area with the right SHA256: a hash-only image. */
static void raw_image(struct raw *r, const uint8_t *tlvs, uint16_t n)
{
    ota_image_header_t h;
    ota_mem_src_t m;
    uint32_t off;
    memset(r, 0, sizeof *r);
    memset(&h, 0, sizeof h);
    h.magic = OTA_IMAGE_MAGIC;
    h.hdr_size = 32;
    h.img_size = 16;
    h.protect_tlv_size = n ? (uint16_t)(n + 4) : 0;
    ota_image_header_encode(&h, r->b);
    off = 48;
    if (n) {
        put16(r->b + off, OTA_TLV_PROT_INFO_MAGIC);
        put16(r->b + off + 2, (uint16_t)(n + 4));
        memcpy(r->b + off + 4, tlvs, n);
        off += 4u + n;
    }
    m.p = r->b;
    m.len = off;
    put16(r->b + off, OTA_TLV_INFO_MAGIC);
    put16(r->b + off + 2, 4 + 4 + 32);
    put16(r->b + off + 4, OTA_TLV_SHA256);
    put16(r->b + off + 6, 32);
    assert_int_equal(ota_image_hash(ota_mem_read, &m, off, r->b + off + 8), OTA_OK);
    r->len = off + 40;
}

/* The reader's verdict on the image's protected area, and the verifier's on the whole image. */
static void verdicts(const struct raw *r, int *reader, int *verifier)
{
    static const ota_verify_cfg_t hash_only = {NULL, 0, OTA_VERIFY_HASH_ONLY};
    ota_image_info_t info;
    ota_mem_src_t m = {r->b, r->len};
    memset(&info, 0, sizeof info);
    assert_int_equal(ota_image_header_decode(r->b, &info.hdr), OTA_OK);
    assert_int_equal(ota_image_layout(ota_mem_read, &m, m.len, &info.hdr, &info.layout), OTA_OK);
    *reader = ota_image_read_protected(ota_mem_read, &m, &info.layout, &info);
    *verifier = ota_image_verify_buf(r->b, r->len, &hash_only, &info);
}

#define TLV(t, l) (uint8_t)(t), (uint8_t)((t) >> 8), (uint8_t)(l), 0

static void test_reader_is_the_verifiers_rule_for_the_protected_area(void **state)
{
    static const uint8_t ok_all[] = {TLV(0x50, 4), 7, 0, 0, 0, TLV(0xb0, 4), 'a', 'c', 'm', 'e',
                                     TLV(0xb1, 3), 'a', ',', 'b', TLV(0xc0de, 1), 9};
    static const uint8_t dup_cnt[] = {TLV(0x50, 4), 7, 0, 0, 0, TLV(0x50, 4), 8, 0, 0, 0};
    static const uint8_t short_cnt[] = {TLV(0x50, 3), 7, 0, 0};
    static const uint8_t bad_product[] = {TLV(0xb0, 3), 'a', ' ', 'b'};
    static const uint8_t dup_product[] = {TLV(0xb0, 1), 'a', TLV(0xb0, 1), 'b'};
    static const uint8_t long_product[4 + 33] = {TLV(0xb0, 33), 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a',
                                                'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a',
                                                'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a'};
    static const uint8_t bad_hw[] = {TLV(0xb1, 3), 'a', ',', ','};
    static const uint8_t empty_hw[] = {TLV(0xb1, 0)};
    static const uint8_t sha_inside[] = {TLV(0x10, 1), 0};
    static const uint8_t past_end[] = {TLV(0xa0, 9), 1, 2};
    static const struct {
        const uint8_t *tlvs;
        uint16_t n;
        int want;
    } cases[] = {
        {ok_all, sizeof ok_all, OTA_OK},
        {dup_cnt, sizeof dup_cnt, OTA_ERR_TLV_DUP},
        {short_cnt, sizeof short_cnt, OTA_ERR_TLV_LEN},
        {bad_product, sizeof bad_product, OTA_ERR_TLV_VALUE},
        {dup_product, sizeof dup_product, OTA_ERR_TLV_DUP},
        {long_product, sizeof long_product, OTA_ERR_TLV_LEN},
        {bad_hw, sizeof bad_hw, OTA_ERR_TLV_VALUE},
        {empty_hw, sizeof empty_hw, OTA_ERR_TLV_LEN},
        {sha_inside, sizeof sha_inside, OTA_ERR_TLV_VALUE},
        {past_end, sizeof past_end, OTA_ERR_TLV_BOUNDS},
    };
    struct raw r;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int reader, verifier;
        raw_image(&r, cases[i].tlvs, cases[i].n);
        verdicts(&r, &reader, &verifier);
        if (reader != cases[i].want || verifier != cases[i].want)
            fail_msg("case %zu: reader %s, verifier %s, want %s", i, ota_errname(reader), ota_errname(verifier),
                     ota_errname(cases[i].want));
    }
}

static void test_reader_fills_the_facts_and_reads_nothing_past_the_area(void **state)
{
    static const uint8_t tlvs[] = {TLV(0x50, 4), 7, 0, 0, 0, TLV(0xb0, 4), 'a', 'c', 'm', 'e',
                                   TLV(0xb1, 3), 'a', ',', 'b'};
    ota_image_info_t info;
    ota_mem_src_t m;
    struct raw r;
    (void)state;
    raw_image(&r, tlvs, sizeof tlvs);
    memset(&info, 0, sizeof info);
    assert_int_equal(ota_image_header_decode(r.b, &info.hdr), OTA_OK);
    m.p = r.b;
    m.len = r.len;
    assert_int_equal(ota_image_layout(ota_mem_read, &m, m.len, &info.hdr, &info.layout), OTA_OK);
    /* only the bytes up to the end of the protected area are there: enough */
    m.len = info.layout.prot_off + info.layout.prot_len;
    assert_int_equal(ota_image_read_protected(ota_mem_read, &m, &info.layout, &info), OTA_OK);
    assert_int_equal(info.has_security_counter, 1);
    assert_int_equal(info.security_counter, 7);
    assert_string_equal(info.product, "acme");
    assert_string_equal(info.hw_rev, "a,b");
    /* the pre-check fetched too little: the reader says IO ("unchecked"), never OK */
    m.len = info.layout.prot_off + info.layout.prot_len - 1;
    memset(info.product, 0, sizeof info.product);
    assert_int_equal(ota_image_read_protected(ota_mem_read, &m, &info.layout, &info), OTA_ERR_IO);
}

/* ---- the builder ---------------------------------------------------------------------------- */

static void test_builder_counts_writes_and_ends_areas(void **state)
{
    static const uint8_t cnt[4] = {5, 0, 0, 0};
    uint8_t buf[64], h[32] = {0};
    ota_tlv_writer_t w;
    uint32_t len, sized;
    (void)state;
    /* counting pass, then writing pass: same size */
    ota_tlv_area_begin(&w, NULL, 0, 1);
    ota_tlv_put(&w, OTA_TLV_SEC_CNT, cnt, 4);
    ota_tlv_put(&w, OTA_TLV_PRODUCT, "x1", 2);
    assert_int_equal(ota_tlv_area_end(&w, &sized), OTA_OK);
    assert_int_equal(sized, 4 + 8 + 6);
    ota_tlv_area_begin(&w, buf, sizeof buf, 1);
    assert_int_equal(ota_tlv_put(&w, OTA_TLV_SEC_CNT, cnt, 4), OTA_OK);
    assert_int_equal(ota_tlv_put(&w, OTA_TLV_PRODUCT, "x1", 2), OTA_OK);
    assert_int_equal(ota_tlv_area_end(&w, &len), OTA_OK);
    assert_int_equal(len, sized);
    assert_memory_equal(buf, "\x08\x69\x12\x00\x50\x00\x04\x00\x05\x00\x00\x00\xb0\x00\x02\x00x1", 18);
    /* an empty protected area is left out; an empty unprotected one is not */
    ota_tlv_area_begin(&w, buf, sizeof buf, 1);
    assert_int_equal(ota_tlv_area_end(&w, &len), OTA_OK);
    assert_int_equal(len, 0);
    ota_tlv_area_begin(&w, buf, sizeof buf, 0);
    assert_int_equal(ota_tlv_area_end(&w, &len), OTA_OK);
    assert_int_equal(len, 4);
    /* out of room: the error sticks to the end */
    ota_tlv_area_begin(&w, buf, 20, 0);
    assert_int_equal(ota_tlv_put(&w, OTA_TLV_SHA256, h, 32), OTA_ERR_NO_SPACE);
    assert_int_equal(ota_tlv_put(&w, OTA_TLV_KEYHASH, h, 1), OTA_ERR_NO_SPACE);
    assert_int_equal(ota_tlv_area_end(&w, &len), OTA_ERR_NO_SPACE);
    assert_int_equal(len, 0);
}

/* The builder refuses what the verifier would: it applies the same table. */
static void test_builder_applies_the_table(void **state)
{
    static const uint8_t cnt[4] = {1, 0, 0, 0};
    static const struct {
        int prot;
        uint16_t type;
        const char *val;
        uint16_t len;
        int want;
    } cases[] = {
        {1, OTA_TLV_SEC_CNT, "\1\0\0", 3, OTA_ERR_TLV_LEN},
        {1, OTA_TLV_PRODUCT, "a b", 3, OTA_ERR_TLV_VALUE},
        {1, OTA_TLV_PRODUCT, "", 0, OTA_ERR_TLV_LEN},
        {1, OTA_TLV_HW_REV, "a,,b", 4, OTA_ERR_TLV_VALUE},
        {1, OTA_TLV_SHA256, "0123456789abcdef0123456789abcdef", 32, OTA_ERR_TLV_VALUE},
        {1, OTA_TLV_ECDSA_SIG, "0", 1, OTA_ERR_TLV_VALUE},
        {1, 0xc0de, "anything", 8, OTA_OK},
        {0, OTA_TLV_SEC_CNT, "\1\0\0\0", 4, OTA_ERR_TLV_UNPROTECTED},
        {0, OTA_TLV_PRODUCT, "acme", 4, OTA_ERR_TLV_UNPROTECTED},
        {0, 0xc0de, "x", 1, OTA_ERR_TLV_UNPROTECTED},
        {0, OTA_TLV_SHA256, "short", 5, OTA_ERR_TLV_LEN},
        {0, OTA_TLV_KEYHASH, "0123456789abcdef0123456789abcdef", 32, OTA_OK},
    };
    uint8_t buf[128];
    ota_tlv_writer_t w;
    uint32_t len;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ota_tlv_area_begin(&w, buf, sizeof buf, cases[i].prot);
        if (ota_tlv_put(&w, cases[i].type, cases[i].val, cases[i].len) != cases[i].want)
            fail_msg("case %zu: want %s", i, ota_errname(cases[i].want));
    }
    /* at most once where the table says so */
    ota_tlv_area_begin(&w, buf, sizeof buf, 1);
    assert_int_equal(ota_tlv_put(&w, OTA_TLV_SEC_CNT, cnt, 4), OTA_OK);
    assert_int_equal(ota_tlv_put(&w, OTA_TLV_SEC_CNT, cnt, 4), OTA_ERR_TLV_DUP);
    assert_int_equal(ota_tlv_area_end(&w, &len), OTA_ERR_TLV_DUP);
    ota_tlv_area_begin(&w, buf, sizeof buf, 1);
    assert_int_equal(ota_tlv_put(&w, OTA_TLV_DEPENDENCY, "d", 1), OTA_OK);
    assert_int_equal(ota_tlv_put(&w, OTA_TLV_DEPENDENCY, "e", 1), OTA_OK);
    assert_int_equal(ota_tlv_put(&w, 0xa0, NULL, 1), OTA_ERR_ARG);
}

/* The signer's named TLVs (o.tlvs) go in table order with the option ones, before custom ones. */
static void test_signer_writes_named_tlvs_in_table_order(void **state)
{
    static const uint8_t rec[3] = {0xa1, 0x01, 0x02};
    const ota_custom_tlv_t named[1] = {{OTA_TLV_BOOT_RECORD, sizeof rec, rec}};
    const ota_custom_tlv_t custom[1] = {{0xa0, 1, (const uint8_t *)"c"}};
    const ota_custom_tlv_t unknown[1] = {{0xc0de, 1, (const uint8_t *)"u"}};
    static const uint16_t order[] = {OTA_TLV_SEC_CNT, OTA_TLV_BOOT_RECORD, OTA_TLV_PRODUCT, 0xa0, OTA_TLV_SHA256};
    static const ota_verify_cfg_t hash_only = {NULL, 0, OTA_VERIFY_HASH_ONLY};
    ota_sign_opts_t o;
    ota_image_info_t info;
    ota_mem_src_t m;
    ota_tlv_iter_t it;
    ota_tlv_t t;
    uint8_t payload[8] = {0}, *img;
    size_t len, i;
    (void)state;
    ota_sign_opts_init(&o);
    o.custom = custom;
    o.n_custom = 1;
    o.product = "p1";
    o.tlvs = named;
    o.n_tlvs = 1;
    o.has_security_counter = 1;
    assert_int_equal(ota_sign_image(&o, NULL, payload, sizeof payload, &img, &len), OTA_OK);
    assert_int_equal(ota_image_verify_buf(img, (uint32_t)len, &hash_only, &info), OTA_OK);
    m.p = img;
    m.len = (uint32_t)len;
    ota_tlv_iter_init(&it, ota_mem_read, &m, &info.layout);
    for (i = 0; i < sizeof order / sizeof order[0]; i++) {
        assert_int_equal(ota_tlv_next(&it, &t), 1);
        assert_int_equal(t.type, order[i]);
    }
    free(img);
    o.tlvs = unknown; /* a type the table does not name is not a named TLV */
    assert_int_equal(ota_sign_image(&o, NULL, payload, sizeof payload, &img, &len), OTA_ERR_TLV_VALUE);
}

static void test_hex_and_constant_time_compare(void **state)
{
    static const uint8_t b[3] = {0x00, 0xab, 0xff};
    char out[7];
    (void)state;
    assert_string_equal(ota_hex_encode(b, 3, out), "00abff");
    assert_string_equal(ota_hex_encode(b, 0, out), "");
    assert_int_equal(ota_ct_equal("abc", "abc", 3), 1);
    assert_int_equal(ota_ct_equal("abc", "abd", 3), 0);
    assert_int_equal(ota_ct_equal("abc", "xbc", 0), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_names_ids_and_rules),
        cmocka_unit_test(test_reader_is_the_verifiers_rule_for_the_protected_area),
        cmocka_unit_test(test_reader_fills_the_facts_and_reads_nothing_past_the_area),
        cmocka_unit_test(test_builder_counts_writes_and_ends_areas),
        cmocka_unit_test(test_builder_applies_the_table),
        cmocka_unit_test(test_signer_writes_named_tlvs_in_table_order),
        cmocka_unit_test(test_hex_and_constant_time_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
