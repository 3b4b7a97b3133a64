/*
 * imgtool interoperability: the images MCUboot's own imgtool made (OTAKIT_VECTORS, see its
 * README.md) verify with otakit exactly as the README describes, and otakit's signer writes the
 * same bytes imgtool writes for the same options (everything but the randomized ECDSA signature).
 *
 * Usage: test_vectors [VECTORS_DIR]   (default: the OTAKIT_VECTORS path compiled in)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/err.h"
#include "otakit/fileio.h"
#include "otakit/image.h"
#include "otakit/keys.h"
#include "otakit/sign.h"

#include "checked_src.h"

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

static const char *vec_dir = OTAKIT_VECTORS;

/* The 91-byte key of ec256-pub.c.txt ("imgtool getpub"), typed in independently of the files. */
static const uint8_t imgtool_pub_c_array[91] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0x12, 0xb9, 0x35, 0x3d, 0xcb,
    0x3d, 0x64, 0x22, 0xd7, 0xde, 0x24, 0xe3, 0x09, 0xb4, 0x35, 0xcf, 0x16, 0x13, 0xa6, 0x8b, 0x86,
    0x2f, 0x58, 0x36, 0x29, 0x22, 0x49, 0x74, 0x5e, 0x75, 0x8c, 0x14, 0x76, 0x7d, 0x09, 0x92, 0x93,
    0x9d, 0x7c, 0x58, 0x04, 0x47, 0x36, 0xbe, 0x80, 0x7c, 0x2e, 0x24, 0x03, 0xcb, 0x32, 0xc6, 0x70,
    0x90, 0xaa, 0x30, 0x66, 0xce, 0xb8, 0x2f, 0x76, 0x06, 0xdf, 0x54,
};

static void vpath(char *out, size_t n, const char *name)
{
    int w = snprintf(out, n, "%s/%s", vec_dir, name);
    assert_true(w > 0 && (size_t)w < n);
}

/* Reads a vector file; fails the test when it is missing. Caller frees. */
static uint8_t *vload(const char *name, size_t *len)
{
    char path[PATH_MAX];
    uint8_t *buf;
    int rc;
    vpath(path, sizeof path, name);
    rc = ota_file_read(path, &buf, len);
    if (rc != OTA_OK)
        fail_msg("cannot read %s: %s", path, ota_strerror(rc));
    return buf;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The "Image digest: <hex>" line of imgtool's verify output for image. */
static void imgtool_digest(const char *image, uint8_t out[32])
{
    static const char tag[] = "Image digest: ";
    char name[256];
    size_t len, i;
    uint8_t *txt;
    const char *p;
    snprintf(name, sizeof name, "%.*s.verify.txt", (int)(strlen(image) - 4), image);
    txt = vload(name, &len);
    p = strstr((const char *)txt, tag);
    if (!p)
        fail_msg("%s has no digest line", name);
    p += sizeof tag - 1;
    for (i = 0; i < 32; i++) {
        int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);
        assert_true(hi >= 0 && lo >= 0);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    free(txt);
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* ---------------------------------------------------------------------------------------------
 * The vectors, as the README's tables describe them
 * ------------------------------------------------------------------------------------------- */

struct tlv_spec {
    uint16_t type, len;
};

struct vector {
    const char *image;
    const char *payload; /* raw fw-N.bin at hdr_size */
    const char *version;
    uint16_t hdr_size;
    uint32_t prot_len;   /* 0: no protected area (it starts right after the payload) */
    uint32_t unprot_off;
    uint32_t unprot_len;
    uint32_t image_end;
    uint32_t file_size;
    int has_sec_cnt;
    uint32_t sec_cnt;
    struct tlv_spec tlvs[8]; /* every TLV in file order, protected first */
    unsigned n_tlvs;
};

#define UNPROT(siglen) {0x10, 32}, {0x01, 32}, {0x22, siglen}

static const struct vector vectors[] = {
    {"fw-1.signed.bin", "fw-1.bin", "1.2.3+4", 32, 0, 33, 150, 183, 183, 0, 0, {UNPROT(70)}, 3},
    {"fw-1000.customtlv.bin", "fw-1000.bin", "1.2.3+4", 32, 13, 1045, 150, 1195, 1195, 0, 0,
     {{0xa0, 5}, UNPROT(70)}, 4},
    {"fw-1000.multitlv.bin", "fw-1000.bin", "1.2.3+4", 32, 142, 1174, 151, 1325, 1325, 1, 7,
     {{0x50, 4}, {0x60, 91}, {0x40, 12}, {0xa0, 5}, {0xa1, 6}, UNPROT(71)}, 8},
    {"fw-1000.padsig.bin", "fw-1000.bin", "1.2.3+4", 32, 0, 1032, 152, 1184, 1184, 0, 0, {UNPROT(72)}, 3},
    {"fw-1000.seccnt7.bin", "fw-1000.bin", "1.2.3+4", 32, 12, 1044, 152, 1196, 1196, 1, 7,
     {{0x50, 4}, UNPROT(72)}, 4},
    {"fw-1000.sig69.bin", "fw-1000.bin", "1.2.3+4", 32, 0, 1032, 149, 1181, 1181, 0, 0, {UNPROT(69)}, 3},
    {"fw-1000.sig70.bin", "fw-1000.bin", "1.2.3+4", 32, 0, 1032, 150, 1182, 1182, 0, 0, {UNPROT(70)}, 3},
    {"fw-1000.sig71.bin", "fw-1000.bin", "1.2.3+4", 32, 0, 1032, 151, 1183, 1183, 0, 0, {UNPROT(71)}, 3},
    {"fw-1000.sig72.bin", "fw-1000.bin", "1.2.3+4", 32, 0, 1032, 152, 1184, 1184, 0, 0, {UNPROT(72)}, 3},
    {"fw-1000.signed.bin", "fw-1000.bin", "1.2.3+4", 32, 0, 1032, 150, 1182, 1182, 0, 0, {UNPROT(70)}, 3},
    {"fw-4096.padded-confirmed.bin", "fw-4096.bin", "2.0.0+0", 0x200, 0, 4608, 152, 4760, 131072, 0, 0,
     {UNPROT(72)}, 3},
    {"fw-4096.signed.bin", "fw-4096.bin", "1.2.3+4", 32, 0, 4128, 152, 4280, 4280, 0, 0, {UNPROT(72)}, 3},
    {"fw-65537.signed.bin", "fw-65537.bin", "1.2.3+4", 32, 0, 65569, 152, 65721, 65721, 0, 0,
     {UNPROT(72)}, 3},
};
#define N_VECTORS (sizeof vectors / sizeof vectors[0])

/* Shared by all tests (group setup). */
static struct {
    uint8_t pub_der[OTA_P256_SPKI_LEN]; /* ec256-pub.der */
    uint8_t pubhash[32];                /* ec256-pubhash.bin */
    ota_key_t *priv;                    /* ec256-key.pem */
    ota_key_t *other;                   /* a fresh key nobody signed with */
    uint8_t other_der[OTA_P256_SPKI_LEN];
    ota_pubkey_t trusted;               /* the imgtool key */
    ota_pubkey_t untrusted;
} g;

static int group_setup(void **state)
{
    char path[PATH_MAX];
    uint8_t *b;
    size_t n;
    (void)state;
    b = vload("ec256-pub.der", &n);
    assert_int_equal(n, OTA_P256_SPKI_LEN);
    memcpy(g.pub_der, b, n);
    free(b);
    b = vload("ec256-pubhash.bin", &n);
    assert_int_equal(n, 32);
    memcpy(g.pubhash, b, n);
    free(b);
    vpath(path, sizeof path, "ec256-key.pem");
    assert_int_equal(ota_key_load(path, &g.priv), OTA_OK);
    assert_int_equal(ota_key_generate(&g.other), OTA_OK);
    assert_int_equal(ota_key_public_der(g.other, g.other_der), OTA_OK);
    g.trusted.der = g.pub_der;
    g.trusted.len = sizeof g.pub_der;
    g.untrusted.der = g.other_der;
    g.untrusted.len = sizeof g.other_der;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ota_key_free(g.priv);
    ota_key_free(g.other);
    return 0;
}

static const struct vector *find_vector(const char *image)
{
    size_t i;
    for (i = 0; i < N_VECTORS; i++)
        if (strcmp(vectors[i].image, image) == 0)
            return &vectors[i];
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Verifying imgtool's images
 * ------------------------------------------------------------------------------------------- */

/* The table above must name every fw-*.*.bin image of the directory (and nothing else). */
static void test_vector_table_covers_every_image(void **state)
{
    DIR *d = opendir(vec_dir);
    struct dirent *e;
    unsigned found = 0;
    (void)state;
    if (!d)
        fail_msg("cannot open %s", vec_dir);
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        const char *dot = strchr(e->d_name, '.');
        if (strncmp(e->d_name, "fw-", 3) != 0 || n < 4 || strcmp(e->d_name + n - 4, ".bin") != 0)
            continue;
        if (!dot || dot == e->d_name + n - 4)
            continue; /* fw-N.bin: a raw payload, not an image */
        if (!find_vector(e->d_name))
            fail_msg("%s is in the vectors directory but not in this test's table", e->d_name);
        found++;
    }
    closedir(d);
    assert_int_equal(found, N_VECTORS);
}

static void test_imgtool_images_verify_with_imgtool_key(void **state)
{
    ota_verify_cfg_t cfg = {&g.trusted, 1, 0};
    size_t i;
    (void)state;
    for (i = 0; i < N_VECTORS; i++) {
        const struct vector *v = &vectors[i];
        size_t ilen, plen;
        uint8_t *img = vload(v->image, &ilen);
        uint8_t *payload = vload(v->payload, &plen);
        uint8_t digest[32];
        char ver[32];
        ota_image_info_t info;
        uint32_t k;
        int rc;

        print_message("  %s\n", v->image);
        assert_int_equal(ilen, v->file_size);
        rc = verify_mem(img, ilen, &cfg, &info);
        if (rc != OTA_OK)
            fail_msg("%s: %s", v->image, ota_errname(rc));
        assert_int_equal(info.signature_checked, 1);
        assert_int_equal(info.has_signature, 1);
        assert_int_equal(info.key_index, 0);

        assert_int_equal(info.hdr.magic, OTA_IMAGE_MAGIC);
        assert_int_equal(info.hdr.hdr_size, v->hdr_size);
        assert_int_equal(info.hdr.img_size, plen);
        assert_int_equal(info.hdr.protect_tlv_size, v->prot_len);
        assert_int_equal(info.hdr.flags, 0);
        assert_int_equal(ota_version_format(&info.hdr.version, ver, sizeof ver), (int)strlen(v->version));
        assert_string_equal(ver, v->version);

        /* the payload sits at hdr_size; imgtool --pad-header fills the header padding with the
         * erased value 0xff (the README says zeros, but the file and imgtool's code say 0xff) */
        assert_memory_equal(img + v->hdr_size, payload, plen);
        for (k = OTA_IMAGE_HEADER_SIZE; k < v->hdr_size; k++)
            assert_int_equal(img[k], 0xff);

        assert_int_equal(info.layout.payload_off, v->hdr_size);
        assert_int_equal(info.layout.prot_len, v->prot_len);
        if (v->prot_len)
            assert_int_equal(info.layout.prot_off, v->hdr_size + plen);
        assert_int_equal(info.layout.unprot_off, v->unprot_off);
        assert_int_equal(info.layout.unprot_len, v->unprot_len);
        assert_int_equal(info.layout.image_end, v->image_end);

        assert_int_equal(info.has_security_counter, v->has_sec_cnt);
        assert_int_equal(info.security_counter, v->sec_cnt);
        assert_string_equal(info.product, "");
        assert_string_equal(info.hw_rev, "");

        assert_int_equal(info.has_key_hash, 1);
        assert_memory_equal(info.key_hash, g.pubhash, 32);
        imgtool_digest(v->image, digest);
        assert_memory_equal(info.hash, digest, 32);
        /* and the SHA256 TLV bytes themselves (first TLV of the unprotected area) */
        assert_memory_equal(img + v->unprot_off + 8, digest, 32);
        free(img);
        free(payload);
    }
}

static void test_imgtool_tlvs_are_walked_in_readme_order(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < N_VECTORS; i++) {
        const struct vector *v = &vectors[i];
        size_t ilen;
        uint8_t *img = vload(v->image, &ilen);
        struct src s = src_of(img, (uint32_t)ilen);
        uint8_t raw[OTA_IMAGE_HEADER_SIZE];
        ota_image_header_t hdr;
        ota_image_layout_t lay;
        ota_tlv_iter_t it;
        ota_tlv_t t;
        unsigned n = 0, n_prot = 0;
        int rc;

        memcpy(raw, img, sizeof raw);
        assert_int_equal(ota_image_header_decode(raw, &hdr), OTA_OK);
        assert_int_equal(ota_image_layout(src_read, &s, s.avail, &hdr, &lay), OTA_OK);
        assert_int_equal(lay.image_end, v->image_end);
        ota_tlv_iter_init(&it, src_read, &s, &lay);
        while ((rc = ota_tlv_next(&it, &t)) == 1) {
            if (n >= v->n_tlvs)
                fail_msg("%s: more TLVs than the README lists", v->image);
            assert_int_equal(t.type, v->tlvs[n].type);
            assert_int_equal(t.len, v->tlvs[n].len);
            /* the value offset is right after a header holding the same type and length */
            assert_int_equal(le16(img + t.off - 4), t.type);
            assert_int_equal(le16(img + t.off - 2), t.len);
            if (t.is_protected) {
                assert_int_equal(n, n_prot); /* protected TLVs come first */
                assert_true(t.off >= lay.prot_off + 8 && t.off + t.len <= lay.prot_off + lay.prot_len);
                n_prot++;
            } else {
                assert_true(t.off >= lay.unprot_off + 8 && t.off + t.len <= lay.image_end);
            }
            n++;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(n, v->n_tlvs);
        assert_int_equal(ota_tlv_next(&it, &t), 0); /* stays at the end */
        free(img);
    }
}

static void test_imgtool_images_pick_the_matching_trusted_key(void **state)
{
    ota_pubkey_t keys[2] = {g.untrusted, g.trusted};
    ota_verify_cfg_t cfg = {keys, 2, 0};
    size_t i;
    (void)state;
    for (i = 0; i < N_VECTORS; i++) {
        size_t ilen;
        uint8_t *img = vload(vectors[i].image, &ilen);
        ota_image_info_t info;
        assert_int_equal(verify_mem(img, ilen, &cfg, &info), OTA_OK);
        assert_int_equal(info.key_index, 1);
        assert_int_equal(info.signature_checked, 1);
        free(img);
    }
}

static void test_imgtool_images_rejected_with_untrusted_key(void **state)
{
    ota_verify_cfg_t cfg = {&g.untrusted, 1, 0};
    ota_verify_cfg_t none = {NULL, 0, 0};
    size_t i;
    (void)state;
    for (i = 0; i < N_VECTORS; i++) {
        size_t ilen;
        uint8_t *img = vload(vectors[i].image, &ilen);
        ota_image_info_t info;
        assert_int_equal(verify_mem(img, ilen, &cfg, &info), OTA_ERR_KEY_UNKNOWN);
        assert_int_equal(info.signature_checked, 0);
        assert_int_equal(info.key_index, -1);
        assert_int_equal(verify_mem(img, ilen, &none, &info), OTA_ERR_KEY_UNKNOWN);
        assert_int_equal(verify_mem(img, ilen, NULL, &info), OTA_ERR_KEY_UNKNOWN);
        free(img);
    }
}

static void test_imgtool_images_pass_hash_only_without_keys(void **state)
{
    ota_verify_cfg_t cfg = {NULL, 0, OTA_VERIFY_HASH_ONLY};
    size_t i;
    (void)state;
    for (i = 0; i < N_VECTORS; i++) {
        size_t ilen;
        uint8_t *img = vload(vectors[i].image, &ilen);
        uint8_t digest[32];
        ota_image_info_t info;
        assert_int_equal(verify_mem(img, ilen, &cfg, &info), OTA_OK);
        assert_int_equal(info.signature_checked, 0);
        assert_int_equal(info.key_index, -1);
        assert_int_equal(info.layout.image_end, vectors[i].image_end);
        imgtool_digest(vectors[i].image, digest);
        assert_memory_equal(info.hash, digest, 32);
        free(img);
    }
}

/* ec256-pub.der, ec256-pub.pem, ec256-key.pem and the C array are one key; KEYHASH is its hash. */
static void test_imgtool_key_files_agree(void **state)
{
    static const char *const files[] = {"ec256-pub.der", "ec256-pub.pem", "ec256-key.pem"};
    uint8_t der[OTA_P256_SPKI_LEN], kh[32];
    size_t i;
    (void)state;
    assert_memory_equal(g.pub_der, imgtool_pub_c_array, sizeof g.pub_der);
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[PATH_MAX];
        ota_key_t *k;
        vpath(path, sizeof path, files[i]);
        assert_int_equal(ota_key_load(path, &k), OTA_OK);
        assert_int_equal(ota_key_is_private(k), i == 2);
        assert_int_equal(ota_key_public_der(k, der), OTA_OK);
        assert_memory_equal(der, g.pub_der, sizeof der);
        ota_key_free(k);
    }
    assert_int_equal(ota_key_hash(g.pub_der, sizeof g.pub_der, kh), OTA_OK);
    assert_memory_equal(kh, g.pubhash, 32);
}

/* ---------------------------------------------------------------------------------------------
 * Our signer against imgtool's bytes
 * ------------------------------------------------------------------------------------------- */

static const uint8_t custom_a0[5] = {1, 2, 3, 4, 5};
static const ota_custom_tlv_t custom_tlv_a0 = {0xa0, sizeof custom_a0, custom_a0};

/* imgtool's options for each image (README): all used -v, -H, --align 4, -S 0x20000. */
struct sign_case {
    const char *image;
    const char *payload;
    const char *version;
    uint16_t header_size;
    int sec_cnt7;
    int custom;
    int pad_sig;
    int pad_confirm;
};

static const struct sign_case sign_cases[] = {
    {"fw-1.signed.bin", "fw-1.bin", "1.2.3+4", 32, 0, 0, 0, 0},
    {"fw-1000.signed.bin", "fw-1000.bin", "1.2.3+4", 32, 0, 0, 0, 0},
    {"fw-1000.seccnt7.bin", "fw-1000.bin", "1.2.3+4", 32, 1, 0, 0, 0},
    {"fw-1000.customtlv.bin", "fw-1000.bin", "1.2.3+4", 32, 0, 1, 0, 0},
    {"fw-1000.padsig.bin", "fw-1000.bin", "1.2.3+4", 32, 0, 0, 1, 0},
    {"fw-4096.signed.bin", "fw-4096.bin", "1.2.3+4", 32, 0, 0, 0, 0},
    {"fw-65537.signed.bin", "fw-65537.bin", "1.2.3+4", 32, 0, 0, 0, 0},
    {"fw-4096.padded-confirmed.bin", "fw-4096.bin", "2.0.0+0", 0x200, 0, 0, 0, 1},
};

static const struct sign_case *find_sign_case(const char *image)
{
    size_t i;
    for (i = 0; i < sizeof sign_cases / sizeof sign_cases[0]; i++)
        if (strcmp(sign_cases[i].image, image) == 0)
            return &sign_cases[i];
    fail_msg("no sign case for %s", image);
    return NULL;
}

static void sign_like_imgtool(const struct sign_case *c, uint8_t **out, size_t *out_len)
{
    ota_sign_opts_t o;
    size_t plen;
    uint8_t *payload = vload(c->payload, &plen);
    ota_sign_opts_init(&o);
    assert_int_equal(ota_version_parse(c->version, &o.version), OTA_OK);
    o.header_size = c->header_size;
    o.align = 4;
    o.slot_size = 0x20000;
    if (c->sec_cnt7) {
        o.has_security_counter = 1;
        o.security_counter = 7;
    }
    if (c->custom) {
        o.custom = &custom_tlv_a0;
        o.n_custom = 1;
    }
    o.pad_sig = c->pad_sig;
    o.pad = o.confirm = c->pad_confirm;
    assert_int_equal(ota_sign_image(&o, g.priv, payload, plen, out, out_len), OTA_OK);
    free(payload);
}

/*
 * ours and theirs must be the same image except for the ECDSA signature TLV (the last TLV; its
 * length may differ, and with it the unprotected tot) and, in a padded file, where the 0xff
 * padding starts.
 */
static void assert_same_but_signature(const uint8_t *ours, size_t olen, const uint8_t *theirs, size_t tlen)
{
    ota_verify_cfg_t cfg = {&g.trusted, 1, 0};
    ota_image_info_t oi, ti;
    uint32_t u, sig_hdr, osig, tsig, oend, tend, k;

    assert_int_equal(verify_mem(ours, olen, &cfg, &oi), OTA_OK);
    assert_int_equal(oi.signature_checked, 1);
    assert_int_equal(verify_mem(theirs, tlen, &cfg, &ti), OTA_OK);
    u = ti.layout.unprot_off;
    assert_int_equal(oi.layout.unprot_off, u);

    /* header, header padding, payload, protected area and the unprotected info magic */
    assert_memory_equal(ours, theirs, u + 2);
    /* SHA256 and KEYHASH TLVs, headers and values */
    sig_hdr = u + OTA_TLV_INFO_SIZE + 2 * (OTA_TLV_HDR_SIZE + 32);
    assert_memory_equal(ours + u + 4, theirs + u + 4, sig_hdr - (u + 4));
    /* then the signature TLV, the last one */
    assert_int_equal(le16(ours + sig_hdr), OTA_TLV_ECDSA_SIG);
    assert_int_equal(le16(theirs + sig_hdr), OTA_TLV_ECDSA_SIG);
    osig = le16(ours + sig_hdr + 2);
    tsig = le16(theirs + sig_hdr + 2);
    oend = sig_hdr + 4 + osig;
    tend = sig_hdr + 4 + tsig;
    assert_int_equal(oi.layout.image_end, oend);
    assert_int_equal(ti.layout.image_end, tend);
    assert_int_equal(le16(ours + u + 2), oend - u); /* tot */
    if (osig == tsig)
        assert_memory_equal(ours, theirs, sig_hdr + 4);

    if (tlen == tend) {
        assert_int_equal(olen, oend); /* no padding either */
        return;
    }
    /* padded to the slot: same length, same trailer; between the image and the trailer 0xff */
    assert_int_equal(olen, tlen);
    for (k = oend < tend ? oend : tend; k < tlen; k++) {
        if (k >= oend && k >= tend) {
            if (ours[k] != theirs[k])
                fail_msg("padded files differ at offset %" PRIu32 ": ours 0x%02x, imgtool 0x%02x", k, ours[k],
                         theirs[k]);
        } else if (k >= oend) {
            assert_int_equal(ours[k], 0xff);
        } else {
            assert_int_equal(theirs[k], 0xff);
        }
    }
}

static void check_signer_matches(const char *image)
{
    const struct sign_case *c = find_sign_case(image);
    uint8_t *ours, *theirs;
    size_t olen, tlen;
    sign_like_imgtool(c, &ours, &olen);
    theirs = vload(c->image, &tlen);
    assert_same_but_signature(ours, olen, theirs, tlen);
    free(ours);
    free(theirs);
}

static void test_signer_matches_imgtool_fw1000_signed(void **state)
{
    uint8_t *ours, *theirs;
    size_t olen, tlen;
    (void)state;
    check_signer_matches("fw-1000.signed.bin");
    /* spelled out as the README's offsets: 1032 header+payload, 4 info, 36 SHA256, 36 KEYHASH */
    sign_like_imgtool(find_sign_case("fw-1000.signed.bin"), &ours, &olen);
    theirs = vload("fw-1000.signed.bin", &tlen);
    assert_memory_equal(ours, theirs, 1032 + 2);
    assert_memory_equal(ours + 1036, theirs + 1036, 36 + 36);
    assert_int_equal(le16(ours + 1032 + 4 + 36 + 36), 0x22);
    free(ours);
    free(theirs);
}

static void test_signer_matches_imgtool_seccnt7(void **state)
{
    uint8_t *ours, *theirs;
    size_t olen, tlen;
    (void)state;
    check_signer_matches("fw-1000.seccnt7.bin");
    sign_like_imgtool(find_sign_case("fw-1000.seccnt7.bin"), &ours, &olen);
    theirs = vload("fw-1000.seccnt7.bin", &tlen);
    assert_memory_equal(ours, theirs, 1044 + 2); /* through the protected area and 0x6907 */
    assert_memory_equal(ours + 1048, theirs + 1048, 36 + 36);
    assert_int_equal(le16(ours + 1120), 0x22);
    free(ours);
    free(theirs);
}

static void test_signer_matches_imgtool_customtlv(void **state)
{
    (void)state;
    check_signer_matches("fw-1000.customtlv.bin");
}

static void test_signer_matches_imgtool_padsig(void **state)
{
    uint8_t *ours;
    size_t olen;
    (void)state;
    check_signer_matches("fw-1000.padsig.bin");
    /* --pad-sig: always a 72-byte TLV, the DER signature then zeros */
    sign_like_imgtool(find_sign_case("fw-1000.padsig.bin"), &ours, &olen);
    assert_int_equal(olen, 1184);
    assert_int_equal(le16(ours + 1110), 72);
    assert_true(ours[1113] + 2u <= 72u);
    free(ours);
}

static void test_signer_matches_imgtool_plain_images(void **state)
{
    (void)state;
    check_signer_matches("fw-1.signed.bin");
    check_signer_matches("fw-4096.signed.bin");
    check_signer_matches("fw-65537.signed.bin");
}

static void test_signer_matches_imgtool_padded_confirmed(void **state)
{
    uint8_t *ours;
    size_t olen;
    (void)state;
    check_signer_matches("fw-4096.padded-confirmed.bin");
    /* the README's trailer: image_ok at slot_end-24, boot magic in the last 16 bytes */
    sign_like_imgtool(find_sign_case("fw-4096.padded-confirmed.bin"), &ours, &olen);
    assert_int_equal(olen, 131072);
    assert_int_equal(ours[olen - 24], 0x01);
    assert_int_equal(ours[olen - 17], 0xff);
    assert_int_equal(ours[olen - 25], 0xff);
    {
        static const uint8_t magic[16] = {0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
                                          0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80};
        assert_memory_equal(ours + olen - 16, magic, 16);
    }
    free(ours);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_table_covers_every_image),
        cmocka_unit_test(test_imgtool_images_verify_with_imgtool_key),
        cmocka_unit_test(test_imgtool_tlvs_are_walked_in_readme_order),
        cmocka_unit_test(test_imgtool_images_pick_the_matching_trusted_key),
        cmocka_unit_test(test_imgtool_images_rejected_with_untrusted_key),
        cmocka_unit_test(test_imgtool_images_pass_hash_only_without_keys),
        cmocka_unit_test(test_imgtool_key_files_agree),
        cmocka_unit_test(test_signer_matches_imgtool_fw1000_signed),
        cmocka_unit_test(test_signer_matches_imgtool_seccnt7),
        cmocka_unit_test(test_signer_matches_imgtool_customtlv),
        cmocka_unit_test(test_signer_matches_imgtool_padsig),
        cmocka_unit_test(test_signer_matches_imgtool_plain_images),
        cmocka_unit_test(test_signer_matches_imgtool_padded_confirmed),
    };
    if (argc > 1)
        vec_dir = argv[1];
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
