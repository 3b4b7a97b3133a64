/* otakit keygen / getpub: make a signing key, and export its public half for firmware. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "otakit/err.h"
#include "otakit/fileio.h"

static const char keygen_help[] =
    "usage: otakit keygen -k KEY.pem [--pub PUB.pem] [--force]\n\n"
    "Generates an ECDSA P-256 key pair and writes the private key as PEM (mode 0600).\n"
    "Keep it secret: whoever holds it can sign firmware your devices will accept.\n\n"
    "  -k, --key FILE   where to write the private key (required)\n"
    "      --pub FILE   also write the public key as PEM\n"
    "      --force      replace FILE if it exists (default: refuse)\n"
    "  -h, --help       this text\n";

int cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, 0, 'k'},
                                         {"pub", required_argument, 0, 'p'},
                                         {"force", no_argument, 0, 'f'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *path = NULL, *pub = NULL;
    int force = 0, c, rc;
    ota_key_t *key;
    uint8_t der[OTA_P256_SPKI_LEN], hash[32];
    char hex[65], pem[512];

    optind = 1;
    while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': path = optarg; break;
        case 'p': pub = optarg; break;
        case 'f': force = 1; break;
        case 'h': fputs(keygen_help, stdout); return EXIT_OK;
        default: return usage_error("keygen", "bad option");
        }
    }
    if (optind != argc)
        return usage_error("keygen", "unexpected argument '%s'", argv[optind]);
    if (!path)
        return usage_error("keygen", "missing -k KEY.pem");

    if ((rc = ota_key_generate(&key)) != OTA_OK)
        return op_error("keygen", "generating key", rc);
    errno = 0;
    rc = ota_key_write_private_pem(key, path, force);
    if (rc == OTA_ERR_FILE && errno == EEXIST) {
        ota_key_free(key);
        fprintf(stderr, "otakit keygen: %s already exists; not replacing a key (use --force)\n", path);
        return EXIT_FAIL;
    }
    if (rc != OTA_OK) {
        ota_key_free(key);
        return op_error("keygen", path, rc);
    }
    if (pub) {
        if ((rc = ota_key_public_pem(key, pem, sizeof pem)) != OTA_OK ||
            (errno = 0, rc = ota_file_write(pub, (uint8_t *)pem, strlen(pem), 0644)) != OTA_OK) {
            ota_key_free(key);
            return op_error("keygen", pub, rc);
        }
    }
    rc = ota_key_public_der(key, der);
    ota_key_free(key);
    if (rc != OTA_OK || ota_key_hash(der, sizeof der, hash) != OTA_OK)
        return op_error("keygen", "public key", rc ? rc : OTA_ERR_CRYPTO);
    ota_hex_encode(hash, sizeof hash, hex);
    printf("wrote %s (ECDSA P-256 private key, mode 0600)\n", path);
    if (pub)
        printf("wrote %s (public key)\n", pub);
    printf("key hash: %s\n", hex);
    return EXIT_OK;
}

static const char getpub_help[] =
    "usage: otakit getpub -k KEY [-e c|hash|pem|der] [-o FILE]\n\n"
    "Prints the public half of a key (private or public PEM/DER) for embedding in firmware.\n\n"
    "  -k, --key FILE        the key (required)\n"
    "  -e, --encoding ENC    c     C arrays of the DER public key and of its SHA-256 key hash\n"
    "                              (default; the key hash is what images carry in KEYHASH)\n"
    "                        hash  the key hash as hex\n"
    "                        pem   the public key as PEM\n"
    "                        der   the 91-byte DER SubjectPublicKeyInfo (binary)\n"
    "  -n, --name NAME       C identifier prefix (default otakit_pub_key)\n"
    "  -o, --output FILE     write to FILE instead of stdout\n"
    "  -h, --help            this text\n";

static void c_array(FILE *f, const char *name, const uint8_t *p, size_t n)
{
    size_t i;
    fprintf(f, "const unsigned char %s[] = {", name);
    for (i = 0; i < n; i++)
        fprintf(f, "%s0x%02x,", i % 8 ? " " : "\n    ", p[i]);
    fprintf(f, "\n};\nconst unsigned int %s_len = %zu;\n", name, n);
}

int cmd_getpub(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, 0, 'k'},
                                         {"encoding", required_argument, 0, 'e'},
                                         {"name", required_argument, 0, 'n'},
                                         {"output", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *path = NULL, *enc = "c", *out = "-", *name = "otakit_pub_key";
    uint8_t der[OTA_KEY_DER_MAX], hash[OTA_HASH_MAX];
    size_t der_len = 0;
    uint32_t hash_len;
    int alg;
    char hex[2 * OTA_HASH_MAX + 1], pem[1024], hname[128];
    char *text = NULL;
    size_t text_len = 0;
    ota_key_t *key;
    FILE *f;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "k:e:n:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': path = optarg; break;
        case 'e': enc = optarg; break;
        case 'n': name = optarg; break;
        case 'o': out = optarg; break;
        case 'h': fputs(getpub_help, stdout); return EXIT_OK;
        default: return usage_error("getpub", "bad option");
        }
    }
    if (optind != argc)
        return usage_error("getpub", "unexpected argument '%s'", argv[optind]);
    if (!path)
        return usage_error("getpub", "missing -k KEY");
    if (strcmp(enc, "c") && strcmp(enc, "hash") && strcmp(enc, "pem") && strcmp(enc, "der"))
        return usage_error("getpub", "unknown encoding '%s' (c, hash, pem or der)", enc);
    if (!ota_ident_valid(name, strlen(name), 64, 0) || strchr(name, '.') || strchr(name, '-') ||
        (name[0] >= '0' && name[0] <= '9'))
        return usage_error("getpub", "'%s' is not a C identifier", name);

    errno = 0;
    if ((rc = ota_key_load(path, &key)) != OTA_OK)
        return op_error("getpub", path, rc);
    /* The key hash MCUboot compares: SHA-256 of the DER, SHA-384 for ECDSA-P384. */
    alg = ota_key_get_alg(key);
    hash_len = ota_alg_hash_len(alg);
    rc = ota_key_der(key, der, sizeof der, &der_len);
    if (rc == OTA_OK)
        rc = ota_key_public_pem(key, pem, sizeof pem);
    ota_key_free(key);
    if (rc != OTA_OK || (rc = ota_key_hash_len(der, (uint32_t)der_len, hash_len, hash)) != OTA_OK)
        return op_error("getpub", path, rc);
    ota_hex_encode(hash, hash_len, hex);

    if (!strcmp(enc, "der")) {
        errno = 0;
        rc = ota_file_write(out, der, der_len, 0644);
        return rc == OTA_OK ? EXIT_OK : op_error("getpub", out, rc);
    }
    if (!(f = open_memstream(&text, &text_len)))
        return op_error("getpub", "output", OTA_ERR_NO_MEM);
    if (!strcmp(enc, "hash")) {
        fprintf(f, "%s\n", hex);
    } else if (!strcmp(enc, "pem")) {
        fputs(pem, f);
    } else {
        fprintf(f, "/* %s public key (DER, as MCUboot embeds it) from %s */\n", ota_alg_name(alg), path);
        c_array(f, name, der, der_len);
        snprintf(hname, sizeof hname, "%s_hash", name);
        fprintf(f, "/* %s of the key above: the KEYHASH TLV of every image it signs */\n",
                hash_len == 48 ? "SHA-384" : "SHA-256");
        c_array(f, hname, hash, hash_len);
    }
    fclose(f);
    errno = 0;
    rc = ota_file_write(out, (uint8_t *)text, text_len, 0644);
    free(text);
    return rc == OTA_OK ? EXIT_OK : op_error("getpub", out, rc);
}
