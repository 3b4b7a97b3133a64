/* Shared helpers of the otakit CLI: errors, numbers, keys, JSON strings. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "otakit/err.h"

int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "otakit %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'otakit %s --help'.\n", cmd);
    return EXIT_USAGE;
}

int op_error(const char *cmd, const char *what, int rc)
{
    if (rc == OTA_ERR_FILE && errno)
        fprintf(stderr, "otakit %s: %s: %s\n", cmd, what, strerror(errno));
    else
        fprintf(stderr, "otakit %s: %s: %s\n", cmd, what, ota_strerror(rc));
    return EXIT_FAIL;
}

int parse_uint(const char *s, uint32_t max, uint32_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || *end || v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int load_trusted_keys(const char *cmd, char **paths, unsigned n, uint8_t **der_out, ota_pubkey_t *keys)
{
    uint8_t *der = calloc(n ? n : 1, OTA_P256_SPKI_LEN);
    unsigned i;
    *der_out = NULL;
    if (!der)
        return op_error(cmd, "keys", OTA_ERR_NO_MEM);
    for (i = 0; i < n; i++) {
        ota_key_t *k;
        int rc;
        errno = 0;
        if ((rc = ota_key_load(paths[i], &k)) != OTA_OK) {
            free(der);
            return op_error(cmd, paths[i], rc);
        }
        rc = ota_key_public_der(k, der + (size_t)i * OTA_P256_SPKI_LEN);
        ota_key_free(k);
        if (rc != OTA_OK) {
            free(der);
            return op_error(cmd, paths[i], rc);
        }
        keys[i].der = der + (size_t)i * OTA_P256_SPKI_LEN;
        keys[i].len = OTA_P256_SPKI_LEN;
    }
    *der_out = der;
    return EXIT_OK;
}

void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}
