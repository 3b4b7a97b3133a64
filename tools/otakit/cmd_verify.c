/* otakit verify / inspect: check images with the same verifier the devices run. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "otakit/err.h"
#include "otakit/enc.h"
#include "otakit/fileio.h"
#include "otakit/keys.h"

#define MAX_KEYS 16

static const char verify_help[] =
    "usage: otakit verify -k KEY [-k KEY]... [checks] IMAGE...\n\n"
    "Verifies each image: header, TLV structure, SHA-256 hash, and an ECDSA-P256 signature by\n"
    "one of the trusted keys (public or private, PEM or DER). Prints one line per image.\n\n"
    "  -k, --key FILE                 a trusted key (repeat for several)\n"
    "      --product ID               also require the image to be for this product\n"
    "      --hw-rev R                 also require the image to support this hardware revision\n"
    "      --min-security-counter N   also require a security counter of at least N\n"
    "  -K, --enc-key FILE             the device's decryption key (P-256 private key, PEM or DER):\n"
    "                                 encrypted images are decrypted on the fly to check the\n"
    "                                 hash and signature of their plaintext\n"
    "  -q, --quiet                    print nothing for images that pass\n"
    "  -h, --help                     this text\n\n"
    "Exit status: 0 when every image verifies, 1 when any does not, 2 on a bad command line.\n";

static const char inspect_help[] =
    "usage: otakit inspect [--json] [-k KEY]... IMAGE\n\n"
    "Shows what an image holds: header, version, sizes, security counter, product, hardware,\n"
    "every TLV, the image hash (recomputed), the key hash and the slot trailer if padded.\n"
    "Without -k the signature is reported but not checked.\n\n"
    "  -k, --key FILE   check the signature against this key (repeat for several)\n"
    "  -K, --enc-key FILE  decryption key of an encrypted image: check its plaintext\n"
    "      --json       machine-readable output\n"
    "  -h, --help       this text\n\n"
    "Exit status: 0 when the image is well formed and its hash (and, with -k, signature) is\n"
    "good; 1 otherwise (the reason is printed); 2 on a bad command line.\n";

/* An image as the verifier reads it: the file, or, for an encrypted image and a -K key, the file
 * decrypted on the fly (otakit/enc.h), so the hash and signature of the plaintext are checked. */
struct image_src {
    ota_file_src_t file;
    ota_enc_key_t key;
    ota_enc_reader_t dec;
    ota_read_fn read;
    void *ctx;
    int encrypted; /* the header says so */
};

/* Opens path; with priv (a -K key) opens an encrypted image's key too. Returns OTA_OK or the
 * error (the file is then closed). */
static int image_open(const char *path, const uint8_t *priv, struct image_src *s)
{
    uint8_t raw[OTA_IMAGE_HEADER_SIZE];
    ota_image_header_t h;
    int rc;
    memset(s, 0, sizeof *s);
    if ((rc = ota_file_src_open(path, &s->file)) != OTA_OK)
        return rc;
    s->read = ota_file_src_read;
    s->ctx = &s->file;
    if (s->file.size > UINT32_MAX) {
        ota_file_src_close(&s->file);
        return OTA_ERR_TOO_BIG;
    }
    if (ota_file_src_read(&s->file, 0, raw, sizeof raw) != 0)
        return OTA_OK; /* the verifier says what is wrong */
    ota_image_header_decode(raw, &h);
    s->encrypted = h.magic == OTA_IMAGE_MAGIC && ota_enc_key_len(h.flags) != 0;
    if (!s->encrypted || !priv)
        return OTA_OK;
    if ((rc = ota_enc_load(ota_file_src_read, &s->file, (uint32_t)s->file.size, priv, &s->key)) != OTA_OK) {
        ota_file_src_close(&s->file);
        return rc;
    }
    s->dec.read = ota_file_src_read;
    s->dec.ctx = &s->file;
    s->dec.key = &s->key;
    s->read = ota_enc_read;
    s->ctx = &s->dec;
    return OTA_OK;
}

static void image_close(struct image_src *s)
{
    ota_enc_clear(&s->key);
    ota_file_src_close(&s->file);
}

/* An encrypted image read without its key fails its hash: say why. */
static int enc_error(const struct image_src *s, int rc)
{
    return rc == OTA_ERR_HASH && s->encrypted && !s->key.key_len ? OTA_ERR_ENC_KEY : rc;
}

/* Loads -K's private scalar into priv. Returns EXIT_OK or EXIT_FAIL (after saying why). */
static int load_enc_key(const char *cmd, const char *path, uint8_t priv[32])
{
    ota_key_t *k = NULL;
    int rc;
    errno = 0;
    if ((rc = ota_key_load(path, &k)) == OTA_OK)
        rc = ota_key_private_scalar(k, priv);
    ota_key_free(k);
    if (rc != OTA_OK) {
        op_error(cmd, path, rc);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* Applies the policy options of verify after a successful ota_image_verify(). */
struct policy {
    const char *product;
    const char *hw;
    int has_min_sc;
    uint32_t min_sc;
};

static int check_policy(const struct policy *p, const ota_image_info_t *info)
{
    if (p->product && strcmp(p->product, info->product) != 0)
        return OTA_ERR_PRODUCT;
    if (p->hw && !ota_image_hw_compatible(info, p->hw))
        return OTA_ERR_HW_REV;
    if (p->has_min_sc && info->security_counter < p->min_sc)
        return OTA_ERR_DOWNGRADE;
    return OTA_OK;
}

int cmd_verify(int argc, char **argv)
{
    enum { O_PRODUCT = 256, O_HW, O_MINSC };
    static const struct option opts[] = {{"key", required_argument, 0, 'k'},
                                         {"enc-key", required_argument, 0, 'K'},
                                         {"product", required_argument, 0, O_PRODUCT},
                                         {"hw-rev", required_argument, 0, O_HW},
                                         {"min-security-counter", required_argument, 0, O_MINSC},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    char *keypaths[MAX_KEYS];
    ota_pubkey_t keys[MAX_KEYS];
    unsigned nkeys = 0;
    struct policy pol = {0, 0, 0, 0};
    int quiet = 0, c, failed = 0, i;
    uint8_t *der, priv[32];
    const char *encpath = NULL;
    ota_verify_cfg_t cfg;

    optind = 1;
    while ((c = getopt_long(argc, argv, "k:K:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (nkeys == MAX_KEYS)
                return usage_error("verify", "at most %d keys", MAX_KEYS);
            keypaths[nkeys++] = optarg;
            break;
        case 'K': encpath = optarg; break;
        case O_PRODUCT: pol.product = optarg; break;
        case O_HW: pol.hw = optarg; break;
        case O_MINSC:
            if (parse_uint(optarg, UINT32_MAX, &pol.min_sc))
                return usage_error("verify", "bad security counter '%s'", optarg);
            pol.has_min_sc = 1;
            break;
        case 'q': quiet = 1; break;
        case 'h': fputs(verify_help, stdout); return EXIT_OK;
        default: return usage_error("verify", "bad option");
        }
    }
    if (!nkeys)
        return usage_error("verify", "missing -k KEY (a trusted public key)");
    if (optind == argc)
        return usage_error("verify", "missing IMAGE");
    if (encpath && load_enc_key("verify", encpath, priv) != EXIT_OK)
        return EXIT_FAIL;
    if (load_trusted_keys("verify", keypaths, nkeys, &der, keys) != EXIT_OK)
        return EXIT_FAIL;
    cfg.keys = keys;
    cfg.n_keys = nkeys;
    cfg.flags = 0;

    for (i = optind; i < argc; i++) {
        ota_image_info_t info;
        struct image_src src;
        char vbuf[32], kh[65];
        int rc;

        errno = 0;
        if ((rc = image_open(argv[i], encpath ? priv : NULL, &src)) != OTA_OK) {
            if (rc == OTA_ERR_FILE)
                op_error("verify", argv[i], rc);
            else
                fprintf(stderr, "%s: FAIL: %s (%s)\n", argv[i], ota_strerror(rc), ota_errname(rc));
            failed = 1;
            continue;
        }
        /* streamed from the file through the read callback, as a device reads its slot */
        if ((rc = ota_image_verify(src.read, src.ctx, (uint32_t)src.file.size, &cfg, &info)) == OTA_OK)
            rc = check_policy(&pol, &info);
        rc = enc_error(&src, rc);
        image_close(&src);
        if (rc != OTA_OK) {
            fprintf(stderr, "%s: FAIL: %s (%s)\n", argv[i], ota_strerror(rc), ota_errname(rc));
            failed = 1;
            continue;
        }
        if (quiet)
            continue;
        ota_version_format(&info.hdr.version, vbuf, sizeof vbuf);
        ota_hex_encode(info.key_hash, 8, kh);
        printf("%s: OK: version %s", argv[i], vbuf);
        if (info.has_security_counter)
            printf(", security counter %u", (unsigned)info.security_counter);
        if (info.product[0])
            printf(", product %s", info.product);
        printf(", signed by %s (key hash %s...)%s\n", keypaths[info.key_index], kh,
               info.hdr.flags & OTA_IMAGE_F_ENCRYPTED ? ", encrypted (plaintext checked)" : "");
    }
    memset(priv, 0, sizeof priv);
    free(der);
    return failed ? EXIT_FAIL : EXIT_OK;
}

/* ---- inspect ---------------------------------------------------------------------------- */

/* What the tail of a padded file says about MCUboot's trailer (magic, image_ok). */
struct trailer {
    int present;
    unsigned max_align;
    int image_ok;
};

static void find_trailer(ota_file_src_t *src, uint32_t image_end, struct trailer *t)
{
    static const uint8_t magic8[16] = {0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
                                       0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80};
    static const uint8_t magic_alt[14] = {0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d,
                                          0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a};
    uint32_t len = (uint32_t)src->size;
    uint8_t tail[16], ok;
    memset(t, 0, sizeof *t);
    if (len < (uint64_t)image_end + 64 || ota_file_src_read(src, len - 16, tail, 16) != 0)
        return;
    if (!memcmp(tail, magic8, 16)) {
        t->max_align = 8;
    } else if (!memcmp(tail + 2, magic_alt, 14)) {
        t->max_align = (unsigned)(tail[0] | tail[1] << 8);
        if (t->max_align < 16 || t->max_align > 32 || (t->max_align & (t->max_align - 1)))
            return;
    } else {
        return;
    }
    if (ota_file_src_read(src, len - (t->max_align > 16 ? t->max_align : 16) - t->max_align, &ok, 1) != 0)
        return;
    t->present = 1;
    t->image_ok = ok == 0x01;
}

/* The value of a protected TLV the table names, as text when its kind has one: a number (returns 1)
 * or an identifier (returns 2); out gets "" and 0 is returned for other TLVs or a malformed value. */
static int tlv_value(ota_file_src_t *src, const ota_tlv_t *t, char out[OTA_TLV_TEXT_MAX + 1])
{
    const ota_tlv_def_t *d = ota_tlv_def(t->type);
    uint8_t v[OTA_TLV_TEXT_MAX];
    out[0] = '\0';
    if (!d || !t->is_protected || t->len > sizeof v || ota_file_src_read(src, t->off, v, t->len) != 0 ||
        ota_tlv_check(d, v, t->len) != OTA_OK)
        return 0;
    if (d->kind == OTA_TLVK_U32) {
        snprintf(out, OTA_TLV_TEXT_MAX + 1, "%u", (unsigned)(v[0] | v[1] << 8 | v[2] << 16 | (uint32_t)v[3] << 24));
        return 1;
    }
    if (d->kind != OTA_TLVK_IDENT && d->kind != OTA_TLVK_IDENT_LIST)
        return 0;
    memcpy(out, v, t->len); /* checked: only [A-Za-z0-9._-,] */
    out[t->len] = '\0';
    return 2;
}

static const char *area_name(int prot)
{
    return prot ? "protected" : "unprotected";
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, 0, 'k'},
                                         {"enc-key", required_argument, 0, 'K'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    char *keypaths[MAX_KEYS];
    ota_pubkey_t keys[MAX_KEYS];
    unsigned nkeys = 0;
    int json = 0, c, rc, hrc, lrc = OTA_ERR_MAGIC, trc = 0, ntlv = 0;
    uint8_t *der = NULL, raw[OTA_IMAGE_HEADER_SIZE], digest[32];
    size_t len;
    const char *path;
    ota_verify_cfg_t cfg;
    ota_image_info_t info;
    ota_image_header_t hdr;
    ota_image_layout_t lay;
    ota_tlv_iter_t it;
    ota_tlv_t tlvs[64];
    struct trailer tr;
    struct image_src isrc;
    const char *encpath = NULL;
    uint8_t priv[32];
    char hex[2 * OTA_HASH_MAX + 1], vbuf[32];

    optind = 1;
    while ((c = getopt_long(argc, argv, "k:K:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (nkeys == MAX_KEYS)
                return usage_error("inspect", "at most %d keys", MAX_KEYS);
            keypaths[nkeys++] = optarg;
            break;
        case 'K': encpath = optarg; break;
        case 'j': json = 1; break;
        case 'h': fputs(inspect_help, stdout); return EXIT_OK;
        default: return usage_error("inspect", "bad option");
        }
    }
    if (argc - optind != 1)
        return usage_error("inspect", "need exactly one IMAGE");
    path = argv[optind];
    if (encpath && load_enc_key("inspect", encpath, priv) != EXIT_OK)
        return EXIT_FAIL;
    if (nkeys && load_trusted_keys("inspect", keypaths, nkeys, &der, keys) != EXIT_OK)
        return EXIT_FAIL;
    errno = 0;
    if ((rc = image_open(path, encpath ? priv : NULL, &isrc)) != OTA_OK) {
        free(der);
        return op_error("inspect", path, rc);
    }
    memset(priv, 0, sizeof priv);
    len = (size_t)isrc.file.size;

    /* The verdict, from the one verifier (over the plaintext of an encrypted image with -K). */
    cfg.keys = keys;
    cfg.n_keys = nkeys;
    cfg.flags = nkeys ? 0 : OTA_VERIFY_HASH_ONLY;
    rc = enc_error(&isrc, ota_image_verify(isrc.read, isrc.ctx, (uint32_t)len, &cfg, &info));

    /* The details, from the same format module, as far as the image lets us read. */
    memset(&hdr, 0, sizeof hdr);
    memset(&lay, 0, sizeof lay);
    hrc = ota_file_src_read(&isrc.file, 0, raw, sizeof raw) == 0 ? ota_image_header_decode(raw, &hdr) : OTA_ERR_TRUNCATED;
    if (hrc == OTA_OK || hrc == OTA_ERR_FLAGS)
        lrc = ota_image_layout(ota_file_src_read, &isrc.file, (uint32_t)len, &hdr, &lay);
    if (lrc == OTA_OK) {
        ota_image_hash(isrc.read, isrc.ctx, lay.unprot_off, digest);
        ota_tlv_iter_init(&it, ota_file_src_read, &isrc.file, &lay);
        while (ntlv < 64 && (trc = ota_tlv_next(&it, &tlvs[ntlv])) == 1)
            ntlv++;
        find_trailer(&isrc.file, lay.image_end, &tr);
    } else {
        memset(&tr, 0, sizeof tr);
    }
    ota_version_format(&hdr.version, vbuf, sizeof vbuf);

    if (json) {
        int i, j;
        printf("{\"file\":");
        print_json_string(path);
        printf(",\"file_size\":%zu,\"status\":\"%s\"", len, rc == OTA_OK ? "ok" : "error");
        if (rc != OTA_OK) {
            printf(",\"error\":{\"code\":\"%s\",\"message\":", ota_errname(rc));
            print_json_string(ota_strerror(rc));
            printf("}");
        }
        if (hrc == OTA_OK || hrc == OTA_ERR_FLAGS) {
            printf(",\"header\":{\"magic\":\"0x%08x\",\"load_addr\":%u,\"hdr_size\":%u,\"protect_tlv_size\":%u,"
                   "\"img_size\":%u,\"flags\":%u},\"version\":\"%s\"",
                   (unsigned)hdr.magic, (unsigned)hdr.load_addr, hdr.hdr_size, hdr.protect_tlv_size,
                   (unsigned)hdr.img_size, (unsigned)hdr.flags, vbuf);
            printf(",\"encrypted\":%s,\"decrypted\":%s", isrc.encrypted ? "true" : "false",
                   isrc.key.key_len ? "true" : "false");
        }
        if (lrc == OTA_OK) {
            printf(",\"image_size\":%u", (unsigned)lay.image_end);
            ota_hex_encode(digest, 32, hex);
            printf(",\"sha256\":\"%s\",\"hash_ok\":%s", hex, info.hash[0] || rc == OTA_OK ? "true" : "false");
            printf(",\"tlvs\":[");
            for (i = 0; i < ntlv; i++) {
                const char *n = ota_tlv_name(tlvs[i].type);
                char val[OTA_TLV_TEXT_MAX + 1];
                int kind = tlv_value(&isrc.file, &tlvs[i], val);
                printf("%s{\"area\":\"%s\",\"type\":%u,\"name\":", i ? "," : "", area_name(tlvs[i].is_protected),
                       tlvs[i].type);
                if (n)
                    print_json_string(n);
                else
                    printf("null");
                printf(",\"len\":%u,\"offset\":%u", tlvs[i].len, (unsigned)tlvs[i].off);
                if (kind == 1)
                    printf(",\"value\":%s", val);
                if (kind == 2) {
                    printf(",\"value\":");
                    print_json_string(val);
                }
                printf("}");
            }
            printf("]");
            if (tr.present)
                printf(",\"trailer\":{\"max_align\":%u,\"image_ok\":%s}", tr.max_align, tr.image_ok ? "true" : "false");
            else
                printf(",\"trailer\":null");
        }
        printf(",\"security_counter\":");
        if (info.has_security_counter)
            printf("%u", (unsigned)info.security_counter);
        else
            printf("null");
        printf(",\"product\":");
        if (info.product[0])
            print_json_string(info.product);
        else
            printf("null");
        printf(",\"hw_rev\":");
        if (info.hw_rev[0]) {
            const char *s = info.hw_rev;
            printf("[");
            for (j = 0; *s; j++) {
                const char *e = strchr(s, ',');
                size_t n = e ? (size_t)(e - s) : strlen(s);
                printf("%s\"%.*s\"", j ? "," : "", (int)n, s);
                s += n + (e ? 1 : 0);
            }
            printf("]");
        } else {
            printf("null");
        }
        printf(",\"key_hash\":");
        if (info.has_key_hash) {
            ota_hex_encode(info.key_hash, info.hash_len ? info.hash_len : 32, hex);
            printf("\"%s\"", hex);
        } else {
            printf("null");
        }
        printf(",\"signature\":{\"present\":%s,\"checked\":%s,\"valid\":%s", info.has_signature ? "true" : "false",
               nkeys ? "true" : "false", info.signature_checked ? "true" : "false");
        if (info.signature_checked) {
            printf(",\"key\":");
            print_json_string(keypaths[info.key_index]);
        }
        printf("}}\n");
    } else {
        int i;
        printf("image             %s (%zu bytes)\n", path, len);
        if (hrc == OTA_OK || hrc == OTA_ERR_FLAGS) {
            printf("version           %s\n", vbuf);
            printf("header            %u bytes, flags 0x%x, load address 0x%x\n", hdr.hdr_size,
                   (unsigned)hdr.flags, (unsigned)hdr.load_addr);
            printf("payload           %u bytes (0x%x) at offset %u\n", (unsigned)hdr.img_size,
                   (unsigned)hdr.img_size, hdr.hdr_size);
            if (isrc.encrypted)
                printf("encrypted         AES-%u-CTR, key in ENC_EC256 (%s)\n", ota_enc_key_len(hdr.flags) * 8,
                       isrc.key.key_len ? "decrypted with -K: the hash below is the plaintext's"
                                        : "not decrypted: give -K ENCKEY to check the plaintext");
        }
        if (lrc == OTA_OK) {
            printf("image size        %u bytes", (unsigned)lay.image_end);
            if (len > lay.image_end)
                printf(" (+%zu bytes of slot padding/trailer)", len - lay.image_end);
            printf("\n");
        }
        if (info.has_security_counter)
            printf("security counter  %u\n", (unsigned)info.security_counter);
        else if (lrc == OTA_OK)
            printf("security counter  none (counts as 0)\n");
        printf("product           %s\n", info.product[0] ? info.product : "(any)");
        printf("hardware          %s\n", info.hw_rev[0] ? info.hw_rev : "(any)");
        if (lrc == OTA_OK) {
            ota_hex_encode(digest, 32, hex);
            printf("sha256            %s (%s)\n", hex, rc == OTA_OK || info.hash[0] ? "matches the SHA256 TLV"
                                                                                    : "recomputed");
        }
        if (info.has_key_hash) {
            ota_hex_encode(info.key_hash, info.hash_len ? info.hash_len : 32, hex);
            printf("key hash          %s\n", hex);
        }
        if (info.signature_checked)
            printf("signature         %s, valid (key %s)\n", ota_alg_name(info.sig_alg), keypaths[info.key_index]);
        else if (info.has_signature)
            printf("signature         ECDSA-P256, %s\n", nkeys ? "NOT valid" : "present (not checked: no -k)");
        else if (lrc == OTA_OK)
            printf("signature         none\n");
        if (lrc == OTA_OK) {
            printf("TLVs\n");
            for (i = 0; i < ntlv; i++) {
                const char *n = ota_tlv_name(tlvs[i].type);
                char val[OTA_TLV_TEXT_MAX + 1];
                tlv_value(&isrc.file, &tlvs[i], val);
                printf("  %-11s 0x%04x %-12s %5u bytes at %u%s%s\n", area_name(tlvs[i].is_protected), tlvs[i].type,
                       n ? n : "(vendor)", tlvs[i].len, (unsigned)tlvs[i].off, val[0] ? "  " : "", val);
            }
            if (trc < 0)
                printf("  (stopped: %s)\n", ota_strerror(trc));
            if (tr.present)
                printf("trailer           MCUboot magic (max align %u), image_ok %s\n", tr.max_align,
                       tr.image_ok ? "set (confirmed)" : "not set");
        }
        if (rc == OTA_OK)
            printf("status            OK%s\n", nkeys ? "" : " (hash checked; use -k KEY to check the signature)");
    }
    if (rc != OTA_OK)
        fprintf(stderr, "%s: FAIL: %s (%s)\n", path, ota_strerror(rc), ota_errname(rc));
    image_close(&isrc);
    free(der);
    return rc == OTA_OK ? EXIT_OK : EXIT_FAIL;
}
