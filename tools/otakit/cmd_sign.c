/* otakit sign: raw firmware .bin -> signed image (MCUboot layout, imgtool-compatible). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "otakit/err.h"
#include "otakit/encrypt.h"
#include "otakit/fileio.h"
#include "otakit/sign.h"

#define MAX_CUSTOM 16
#define MAX_NAMED 16

static const char sign_help[] =
    "usage: otakit sign -k KEY.pem -v VERSION [options] IN.bin OUT.bin\n\n"
    "Signs a raw firmware binary: prepends the image header and appends the protected TLVs\n"
    "(security counter, product, hardware), the SHA-256 hash, the key hash and an ECDSA-P256\n"
    "signature. The output verifies with `otakit verify` and with MCUboot's `imgtool verify`.\n"
    "Signing is deterministic: the same input and key give the same bytes.\n\n"
    "  -k, --key FILE             private signing key (PEM or DER; from otakit or imgtool keygen)\n"
    "  -v, --version V            major.minor.revision+build, e.g. 1.2.3+4 (required)\n"
    "  -s, --security-counter N   anti-rollback counter; devices refuse images below theirs\n"
    "      --product ID           product id this image is for ([A-Za-z0-9._-], up to 32)\n"
    "      --hw-rev R             compatible hardware revision; repeat for several\n"
    "  -H, --header-size N        payload offset, >= 32 (default 32; e.g. 0x200 for vector tables)\n"
    "  -S, --slot-size N          slot size: refuse an image that does not fit with its trailer\n"
    "      --pad                  pad the output to the slot size and write the trailer magic\n"
    "      --confirm              mark the image confirmed in the trailer (implies --pad)\n"
    "      --align N              flash write alignment for the trailer: 1,2,4,8,16,32 (default 1)\n"
    "      --max-sectors N        sectors covered by the swap status (default 128)\n"
    "  -R, --erased-val V         erased flash value used for padding: 0xff (default) or 0\n"
    "      --load-addr A          RAM load address (sets the RAM-load flag)\n"
    "      --pad-sig              pad the signature TLV to 72 bytes\n"
    "      --tlv NAME=VAL         a protected TLV of otakit's table by name (e.g. BOOT_RECORD=0x..);\n"
    "                             VAL is a number, an identifier, or 0xHEX or text, by its kind\n"
    "      --custom-tlv TAG=VAL   extra protected TLV, TAG 0xa0..0xfffe, VAL 0xHEX or text\n"
    "  -E, --encrypt PUB.pem      encrypt the payload for the device holding PUB's private half\n"
    "                             (MCUboot's ENC_EC256: ECIES-P256 key wrap, AES-CTR payload);\n"
    "                             hash and signature stay over the plaintext\n"
    "      --encrypt-keylen N     AES key length with --encrypt: 128 (default) or 256\n"
    "      --aes256               the same as --encrypt-keylen 256\n"
    "  -h, --help                 this text\n\n"
    "Numbers may be decimal or 0x-hex.\n";

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

/* VALUE as 0xHEX bytes or UTF-8 text (imgtool's convention), kept in val itself: text is used
 * where it is, hex is decoded in place (it only gets shorter). */
static int parse_bytes(char *val, ota_custom_tlv_t *t)
{
    size_t n, i;
    if (val[0] == '0' && (val[1] == 'x' || val[1] == 'X')) {
        const char *hex = val + 2;
        n = strlen(hex);
        if (n == 0 || n % 2 || n / 2 > 0xffff)
            return -1;
        for (i = 0; i < n / 2; i++) {
            int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return -1;
            val[i] = (char)(hi << 4 | lo);
        }
        n /= 2;
    } else {
        n = strlen(val);
        if (n > 0xffff)
            return -1;
    }
    t->len = (uint16_t)n;
    t->value = (const uint8_t *)val;
    return 0;
}

/* TAG=VALUE of --custom-tlv: TAG 0xa0..0xfffe, VALUE as parse_bytes() reads it. */
static int parse_custom(char *arg, ota_custom_tlv_t *t)
{
    char *eq = strchr(arg, '=');
    char tag[16];
    uint32_t v;
    if (!eq || (size_t)(eq - arg) >= sizeof tag)
        return -1;
    memcpy(tag, arg, (size_t)(eq - arg));
    tag[eq - arg] = 0;
    if (parse_uint(tag, 0xfffe, &v) || v < 0xa0)
        return -1;
    t->type = (uint16_t)v;
    return parse_bytes(eq + 1, t);
}

/* The value of a protected TLV the table names, parsed by its kind: a number for U32 (kept in
 * u32), an identifier as it is, 0xHEX or text for bytes. Fills t; returns 0 or -1 when invalid. */
static int parse_named_value(const ota_tlv_def_t *d, char *val, uint8_t u32[4], ota_custom_tlv_t *t)
{
    uint32_t v;
    t->type = d->type;
    if (d->kind == OTA_TLVK_U32) {
        if (parse_uint(val, UINT32_MAX, &v))
            return -1;
        u32[0] = (uint8_t)v;
        u32[1] = (uint8_t)(v >> 8);
        u32[2] = (uint8_t)(v >> 16);
        u32[3] = (uint8_t)(v >> 24);
        t->value = u32;
        t->len = 4;
    } else if (d->kind == OTA_TLVK_IDENT || d->kind == OTA_TLVK_IDENT_LIST) {
        t->value = (const uint8_t *)val;
        t->len = (uint16_t)(strlen(val) > 0xffff ? 0 : strlen(val));
    } else if (parse_bytes(val, t) != 0) {
        return -1;
    }
    return ota_tlv_check(d, t->value, t->len) == OTA_OK ? 0 : -1;
}

/* NAME=VALUE of --tlv: NAME a protected type of the TLV table (as otakit inspect names it). */
static int parse_named(char *arg, uint8_t u32[4], ota_custom_tlv_t *t)
{
    char *eq = strchr(arg, '=');
    const ota_tlv_def_t *tab;
    unsigned n, i;
    if (!eq)
        return -1;
    tab = ota_tlv_table(&n);
    for (i = 0; i < n; i++) {
        const char *name = ota_tlv_name(tab[i].type);
        if ((tab[i].flags & OTA_TLVF_PROT) && strlen(name) == (size_t)(eq - arg) &&
            !strncasecmp(name, arg, (size_t)(eq - arg)))
            return parse_named_value(&tab[i], eq + 1, u32, t);
    }
    return -1;
}

int cmd_sign(int argc, char **argv)
{
    enum { O_PRODUCT = 256, O_HW, O_PAD, O_CONFIRM, O_ALIGN, O_SECTORS, O_LOAD, O_PADSIG, O_CUSTOM, O_TLV, O_KEYLEN,
           O_AES256 };
    static const struct option opts[] = {{"key", required_argument, 0, 'k'},
                                         {"version", required_argument, 0, 'v'},
                                         {"security-counter", required_argument, 0, 's'},
                                         {"product", required_argument, 0, O_PRODUCT},
                                         {"hw-rev", required_argument, 0, O_HW},
                                         {"header-size", required_argument, 0, 'H'},
                                         {"slot-size", required_argument, 0, 'S'},
                                         {"pad", no_argument, 0, O_PAD},
                                         {"confirm", no_argument, 0, O_CONFIRM},
                                         {"align", required_argument, 0, O_ALIGN},
                                         {"max-sectors", required_argument, 0, O_SECTORS},
                                         {"erased-val", required_argument, 0, 'R'},
                                         {"load-addr", required_argument, 0, O_LOAD},
                                         {"pad-sig", no_argument, 0, O_PADSIG},
                                         {"custom-tlv", required_argument, 0, O_CUSTOM},
                                         {"tlv", required_argument, 0, O_TLV},
                                         {"encrypt", required_argument, 0, 'E'},
                                         {"encrypt-keylen", required_argument, 0, O_KEYLEN},
                                         {"aes256", no_argument, 0, O_AES256},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    ota_sign_opts_t o;
    ota_custom_tlv_t custom[MAX_CUSTOM], named[MAX_NAMED];
    uint8_t named_u32[MAX_NAMED][4];
    const char *keypath = NULL, *version = NULL, *encpath = NULL, *in, *out;
    unsigned enc_bits = 128;
    ota_key_t *enc_key = NULL;
    char hw[OTA_HW_REV_MAX + 2] = "";
    uint8_t *payload = NULL, *img = NULL, der[OTA_KEY_DER_MAX];
    size_t len, img_len;
    ota_key_t *key = NULL;
    ota_image_info_t info;
    ota_verify_cfg_t cfg;
    ota_pubkey_t pk;
    char hash_hex[2 * OTA_HASH_MAX + 1], kh_hex[2 * OTA_HASH_MAX + 1], vbuf[32];
    uint32_t v;
    int c, rc;

    ota_sign_opts_init(&o);
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:v:s:H:S:R:E:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': keypath = optarg; break;
        case 'v': version = optarg; break;
        case 's':
            if (parse_uint(optarg, UINT32_MAX, &o.security_counter))
                return usage_error("sign", "bad security counter '%s' (0..4294967295)", optarg);
            o.has_security_counter = 1;
            break;
        case O_PRODUCT: o.product = optarg; break;
        case O_HW:
            if (strlen(hw) + strlen(optarg) + 1 > OTA_HW_REV_MAX)
                return usage_error("sign", "hardware revisions are longer than %u characters", OTA_HW_REV_MAX);
            if (hw[0])
                strcat(hw, ",");
            strcat(hw, optarg);
            break;
        case 'H':
            if (parse_uint(optarg, 0xffff, &v) || v < OTA_IMAGE_HEADER_SIZE)
                return usage_error("sign", "bad header size '%s' (32..65535)", optarg);
            o.header_size = (uint16_t)v;
            break;
        case 'S':
            if (parse_uint(optarg, UINT32_MAX, &o.slot_size) || o.slot_size == 0)
                return usage_error("sign", "bad slot size '%s'", optarg);
            break;
        case O_PAD: o.pad = 1; break;
        case O_CONFIRM: o.confirm = 1; o.pad = 1; break;
        case O_ALIGN:
            if (parse_uint(optarg, 32, &v) || (v & (v - 1)) || v == 0)
                return usage_error("sign", "bad alignment '%s' (1, 2, 4, 8, 16 or 32)", optarg);
            o.align = v;
            break;
        case O_SECTORS:
            if (parse_uint(optarg, 65536, &v) || v == 0)
                return usage_error("sign", "bad sector count '%s'", optarg);
            o.max_sectors = v;
            break;
        case 'R':
            if (parse_uint(optarg, 0xff, &v) || (v != 0 && v != 0xff))
                return usage_error("sign", "erased value must be 0xff or 0");
            o.erased_val = (uint8_t)v;
            break;
        case O_LOAD:
            if (parse_uint(optarg, UINT32_MAX, &o.load_addr))
                return usage_error("sign", "bad load address '%s'", optarg);
            break;
        case O_PADSIG: o.pad_sig = 1; break;
        case O_CUSTOM:
            if (o.n_custom == MAX_CUSTOM)
                return usage_error("sign", "at most %d custom TLVs", MAX_CUSTOM);
            if (parse_custom(optarg, &custom[o.n_custom]))
                return usage_error("sign", "bad --custom-tlv '%s' (TAG=0xHEX or TAG=text, TAG 0xa0..0xfffe)", optarg);
            o.n_custom++;
            break;
        case O_TLV:
            if (o.n_tlvs == MAX_NAMED)
                return usage_error("sign", "at most %d --tlv options", MAX_NAMED);
            if (parse_named(optarg, named_u32[o.n_tlvs], &named[o.n_tlvs]))
                return usage_error("sign", "bad --tlv '%s' (NAME=VALUE, NAME a protected TLV otakit inspect names)",
                                   optarg);
            o.n_tlvs++;
            break;
        case 'E': encpath = optarg; break;
        case O_KEYLEN:
            if (parse_uint(optarg, 256, &v) || (v != 128 && v != 256))
                return usage_error("sign", "bad --encrypt-keylen '%s' (128 or 256)", optarg);
            enc_bits = v;
            break;
        case O_AES256: enc_bits = 256; break;
        case 'h': fputs(sign_help, stdout); return EXIT_OK;
        default: return usage_error("sign", "bad option");
        }
    }
    o.custom = custom;
    o.tlvs = named;
    if (hw[0])
        o.hw_rev = hw;
    if (argc - optind != 2)
        return usage_error("sign", "need IN.bin and OUT.bin");
    in = argv[optind];
    out = argv[optind + 1];
    if (!keypath)
        return usage_error("sign", "missing -k KEY.pem");
    if (!version)
        return usage_error("sign", "missing -v VERSION (e.g. 1.2.3+4)");
    if (ota_version_parse(version, &o.version) != OTA_OK)
        return usage_error("sign", "bad version '%s': %s", version, ota_strerror(OTA_ERR_VERSION));
    if (o.product && !ota_ident_valid(o.product, strlen(o.product), OTA_PRODUCT_MAX, 0))
        return usage_error("sign", "bad product id '%s': %s", o.product, ota_strerror(OTA_ERR_IDENT));
    if (o.hw_rev && !ota_ident_valid(o.hw_rev, strlen(o.hw_rev), OTA_HW_REV_MAX, 1))
        return usage_error("sign", "bad hardware revision '%s': %s", o.hw_rev, ota_strerror(OTA_ERR_IDENT));
    if (o.pad && !o.slot_size)
        return usage_error("sign", "--pad and --confirm need --slot-size");

    errno = 0;
    if ((rc = ota_key_load(keypath, &key)) != OTA_OK)
        return op_error("sign", keypath, rc);
    if (!ota_key_is_private(key)) {
        ota_key_free(key);
        return op_error("sign", keypath, OTA_ERR_KEY_PUBLIC);
    }
    errno = 0;
    if (encpath && (rc = ota_key_load(encpath, &enc_key)) != OTA_OK) {
        ota_key_free(key);
        return op_error("sign", encpath, rc);
    }
    errno = 0;
    if ((rc = ota_file_read(in, &payload, &len)) != OTA_OK) {
        ota_key_free(key);
        ota_key_free(enc_key);
        return op_error("sign", in, rc);
    }
    if (len >= 4 && payload[0] == 0x3d && payload[1] == 0xb8 && payload[2] == 0xf3 && payload[3] == 0x96) {
        fprintf(stderr, "otakit sign: %s is already a signed image (header magic 0x96f3b83d); "
                        "sign the raw firmware binary\n", in);
        rc = EXIT_FAIL;
        goto done;
    }
    if (enc_key)
        rc = ota_sign_image_encrypted(&o, key, enc_key, enc_bits / 8, payload, len, &img, &img_len);
    else
        rc = ota_sign_image(&o, key, payload, len, &img, &img_len);
    if (rc == OTA_ERR_SLOT_SIZE) {
        fprintf(stderr, "otakit sign: %s: %s (payload %zu bytes, trailer %u bytes, slot %u bytes)\n", in,
                ota_strerror(rc), len, (unsigned)ota_trailer_size(&o), (unsigned)o.slot_size);
        rc = EXIT_FAIL;
        goto done;
    }
    if (rc != OTA_OK) {
        rc = op_error("sign", in, rc);
        goto done;
    }
    errno = 0;
    if ((rc = ota_file_write(out, img, img_len, 0644)) != OTA_OK) {
        rc = op_error("sign", out, rc);
        goto done;
    }

    /* Report what was signed, read back through the verifier. */
    {
        size_t der_len = 0;
        ota_key_der(key, der, sizeof der, &der_len);
        pk.der = der;
        pk.len = (uint32_t)der_len;
    }
    cfg.keys = &pk;
    cfg.n_keys = 1;
    cfg.flags = 0;
    /* An encrypted image's hash is over the plaintext, which is gone: report the header and TLVs. */
    cfg.flags = enc_key ? OTA_VERIFY_HASH_ONLY : 0;
    if (ota_image_verify_buf(img, (uint32_t)img_len, &cfg, &info) != OTA_OK && enc_key) {
        ota_mem_src_t m = {img, (uint32_t)img_len};
        ota_tlv_iter_t it;
        ota_tlv_t t;
        ota_image_read_protected(ota_mem_read, &m, &info.layout, &info);
        ota_tlv_iter_init(&it, ota_mem_read, &m, &info.layout);
        while (ota_tlv_next(&it, &t) == 1)
            if ((t.type == OTA_TLV_SHA256 && t.len == 32) || (t.type == OTA_TLV_SHA384 && t.len == 48)) {
                memcpy(info.hash, img + t.off, t.len);
                info.hash_len = t.len;
            } else if (t.type == OTA_TLV_KEYHASH && (t.len == 32 || t.len == 48)) {
                memcpy(info.key_hash, img + t.off, t.len);
            }
        if (key)
            info.sig_alg = (uint8_t)ota_key_get_alg(key);
    }
    ota_version_format(&info.hdr.version, vbuf, sizeof vbuf);
    ota_hex_encode(info.hash, info.hash_len, hash_hex);
    ota_hex_encode(info.key_hash, info.hash_len, kh_hex);
    if (strcmp(out, "-") != 0) {
        printf("signed %s -> %s\n", in, out);
        printf("  version           %s\n", vbuf);
        printf("  payload           %u bytes at offset %u\n", (unsigned)info.hdr.img_size, (unsigned)info.hdr.hdr_size);
        printf("  image             %u bytes", (unsigned)info.layout.image_end);
        if (img_len != info.layout.image_end)
            printf(" (file padded to %zu bytes%s)", img_len, o.confirm ? ", confirmed" : "");
        printf("\n");
        if (info.has_security_counter)
            printf("  security counter  %u\n", (unsigned)info.security_counter);
        if (info.product[0])
            printf("  product           %s\n", info.product);
        if (info.hw_rev[0])
            printf("  hardware          %s\n", info.hw_rev);
        printf("  %-17s %s%s\n  key hash          %s\n  signature         %s\n", info.hash_len == 48 ? "sha384" : "sha256",
               hash_hex, enc_key ? " (of the plaintext)" : "", kh_hex, ota_alg_name(info.sig_alg));
        if (enc_key)
            printf("  encrypted         AES-%u-CTR, key wrapped for %s (ENC_EC256)\n", enc_bits, encpath);
    }
    rc = EXIT_OK;
done:
    free(img);
    free(payload);
    ota_key_free(key);
    ota_key_free(enc_key);
    return rc;
}
