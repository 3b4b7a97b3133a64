/*
 * libFuzzer target for the device-side image parser and verifier.
 *
 * Each input is an image in storage: ota_image_verify() runs over it through a read callback
 * that abort()s on any read outside the input, once with the imgtool vectors' public key trusted
 * and once with OTA_VERIFY_HASH_ONLY; ota_image_layout() and the TLV iterator are then driven
 * directly, checking that every area and TLV they report lies inside the input. Last, a copy
 * whose SHA256 TLVs are rewritten with the right digest is verified again, so mutations get past
 * the hash check into the KEYHASH/PUBKEY/signature/DER code. ASan and UBSan catch the rest.
 *
 * Build (clang only):
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DFUZZ=ON -DSANITIZE=ON
 *   cmake --build build-fuzz --target fuzz_verify
 * Short smoke run (what ctest's fuzz_verify_smoke does: 20 s, seed 1, fresh scratch corpus):
 *   ctest --test-dir build-fuzz -R fuzz_verify --output-on-failure
 * Longer run (an hour, 2 jobs), new inputs kept in build-fuzz/fuzz/corpus-long:
 *   cd build-fuzz/fuzz && ./fuzz_verify -max_len=4096 -max_total_time=3600 -jobs=2 -workers=2 \
 *       -create_missing_dirs=1 -artifact_prefix=artifacts/ corpus-long seed-corpus
 * Reproduce a crash:  ./fuzz_verify artifacts/crash-<sha1>
 *
 * The corpus seeds are copied at build time from the imgtool vectors (fw-1.signed.bin,
 * fw-1000.seccnt7.bin, fw-1000.multitlv.bin) and fuzz/corpus/verify/ (images made by otakit's signer
 * with the same key: SEC_CNT + product + hardware TLVs, a --pad-sig image, and an unsigned
 * hash-only image with a 64-byte header).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "otakit/image.h"

/* ec256-pub.der of the imgtool vectors (ec256-pub.c.txt). */
static const uint8_t vector_pub[OTA_P256_SPKI_LEN] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0x12, 0xb9, 0x35, 0x3d, 0xcb,
    0x3d, 0x64, 0x22, 0xd7, 0xde, 0x24, 0xe3, 0x09, 0xb4, 0x35, 0xcf, 0x16, 0x13, 0xa6, 0x8b, 0x86,
    0x2f, 0x58, 0x36, 0x29, 0x22, 0x49, 0x74, 0x5e, 0x75, 0x8c, 0x14, 0x76, 0x7d, 0x09, 0x92, 0x93,
    0x9d, 0x7c, 0x58, 0x04, 0x47, 0x36, 0xbe, 0x80, 0x7c, 0x2e, 0x24, 0x03, 0xcb, 0x32, 0xc6, 0x70,
    0x90, 0xaa, 0x30, 0x66, 0xce, 0xb8, 0x2f, 0x76, 0x06, 0xdf, 0x54,
};

struct src {
    const uint8_t *p;
    uint32_t avail;
};

static int src_read(void *ctx, uint32_t off, void *buf, uint32_t len)
{
    const struct src *s = ctx;
    if (off > s->avail || len > s->avail - off)
        abort(); /* the verifier asked for bytes it was told are not there */
    memcpy(buf, s->p + off, len);
    return 0;
}

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* What every successful or partial verification must satisfy. */
static void check_info(int rc, const ota_image_info_t *info, uint32_t avail, int hash_only)
{
    char ver[32];
    CHECK(rc <= 0);
    CHECK(info->product[OTA_PRODUCT_MAX] == '\0' && info->hw_rev[OTA_HW_REV_MAX] == '\0');
    if (info->signature_checked)
        CHECK(rc == OTA_OK && info->key_index == 0);
    if (rc != OTA_OK)
        return;
    CHECK(info->layout.image_end <= avail);
    CHECK(info->layout.unprot_off + info->layout.unprot_len == info->layout.image_end);
    CHECK(info->layout.payload_off == info->hdr.hdr_size);
    if (!hash_only)
        CHECK(info->signature_checked == 1);
    CHECK(ota_version_format(&info->hdr.version, ver, sizeof ver) > 0);
    (void)ota_image_hw_compatible(info, "revA");
}

/* Drives layout + iterator directly: every TLV must lie inside its area and the walk must end. */
static void walk_tlvs(const uint8_t *data, uint32_t size)
{
    struct src s = {data, size};
    ota_image_header_t hdr;
    ota_image_layout_t lay;
    ota_tlv_iter_t it;
    ota_tlv_t t;
    uint32_t n = 0;
    int rc;

    if (size < OTA_IMAGE_HEADER_SIZE)
        return;
    (void)ota_image_header_decode(data, &hdr); /* layout only needs the size fields */
    if (ota_image_layout(src_read, &s, size, &hdr, &lay) != OTA_OK)
        return;
    CHECK(lay.image_end <= size);
    CHECK(lay.unprot_len >= OTA_TLV_INFO_SIZE && lay.unprot_off + lay.unprot_len == lay.image_end);
    if (lay.prot_len) {
        CHECK(lay.prot_off == (uint32_t)hdr.hdr_size + hdr.img_size);
        CHECK(lay.prot_off + lay.prot_len == lay.unprot_off);
    } else {
        CHECK(lay.unprot_off == (uint32_t)hdr.hdr_size + hdr.img_size);
    }
    ota_tlv_iter_init(&it, src_read, &s, &lay);
    while ((rc = ota_tlv_next(&it, &t)) == 1) {
        uint32_t a_off = t.is_protected ? lay.prot_off : lay.unprot_off;
        uint32_t a_end = t.is_protected ? lay.prot_off + lay.prot_len : lay.image_end;
        CHECK(t.off >= a_off + OTA_TLV_INFO_SIZE + OTA_TLV_HDR_SIZE);
        CHECK(t.len <= a_end - t.off);
        CHECK(++n <= size / OTA_TLV_HDR_SIZE); /* every TLV takes at least its 4-byte header */
    }
    CHECK(rc == 0 || rc == OTA_ERR_TLV_BOUNDS);
}

/* Rewrites every 32-byte SHA256 TLV of the unprotected area of a copy of the input with the digest
 * of [0, unprot_off), then verifies the copy. */
static void verify_with_fixed_hash(const uint8_t *data, uint32_t size, const ota_verify_cfg_t *cfg)
{
    struct src s = {data, size};
    ota_image_header_t hdr;
    ota_image_layout_t lay;
    ota_image_info_t info;
    ota_tlv_iter_t it;
    ota_tlv_t t;
    uint8_t digest[32], *copy;
    int fixed = 0, rc;

    if (size < OTA_IMAGE_HEADER_SIZE || ota_image_header_decode(data, &hdr) != OTA_OK ||
        ota_image_layout(src_read, &s, size, &hdr, &lay) != OTA_OK)
        return;
#if MBEDTLS_VERSION_MAJOR < 3
    if (mbedtls_sha256_ret(data, lay.unprot_off, digest, 0) != 0)
        abort();
#else
    if (mbedtls_sha256(data, lay.unprot_off, digest, 0) != 0)
        abort();
#endif
    if (!(copy = malloc(size)))
        abort();
    memcpy(copy, data, size);
    ota_tlv_iter_init(&it, src_read, &s, &lay);
    while (ota_tlv_next(&it, &t) == 1) {
        if (!t.is_protected && t.type == OTA_TLV_SHA256 && t.len == 32) {
            memcpy(copy + t.off, digest, 32);
            fixed = 1;
        }
    }
    if (fixed) {
        s.p = copy;
        rc = ota_image_verify(src_read, &s, size, cfg, &info);
        check_info(rc, &info, size, 0);
        CHECK(rc != OTA_ERR_HASH);
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ota_pubkey_t key = {vector_pub, sizeof vector_pub};
    static const ota_verify_cfg_t cfg = {&key, 1, 0};
    static const ota_verify_cfg_t hash_only = {NULL, 0, OTA_VERIFY_HASH_ONLY};
    struct src s;
    ota_image_info_t info;
    int rc;

    if (size > UINT32_MAX)
        return 0;
    s.p = data;
    s.avail = (uint32_t)size;

    rc = ota_image_verify(src_read, &s, s.avail, &cfg, &info);
    check_info(rc, &info, s.avail, 0);
    rc = ota_image_verify(src_read, &s, s.avail, &hash_only, &info);
    check_info(rc, &info, s.avail, 1);
    walk_tlvs(data, s.avail);
    verify_with_fixed_hash(data, s.avail, &cfg);
    return 0;
}
