/* Shared helpers of the otakit CLI: errors, numbers, keys, JSON strings, terminal-safe text. */
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
    uint8_t *der = calloc(n ? n : 1, OTA_KEY_DER_MAX);
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
        size_t len = 0;
        rc = ota_key_der(k, der + (size_t)i * OTA_KEY_DER_MAX, OTA_KEY_DER_MAX, &len);
        ota_key_free(k);
        if (rc != OTA_OK) {
            free(der);
            return op_error(cmd, paths[i], rc);
        }
        keys[i].der = der + (size_t)i * OTA_KEY_DER_MAX;
        keys[i].len = (uint32_t)len;
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

/* Length of the well-formed UTF-8 sequence at s (n bytes left) that starts with a byte >= 0x80,
 * or 0 when it is not one (stray continuation, overlong, surrogate, past U+10FFFF, cut short). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    size_t i;
    if (!len || len > n)
        return 0;
    for (i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || (c == 0xf0 && s[1] < 0x90) ||
        (c == 0xf4 && s[1] > 0x8f))
        return 0;
    return len;
}

char *term_safe(const char *str, int keep_nl)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n = strlen(str), i = 0, o = 0, len;
    char *out = malloc(n * 6 + 1); /* at worst every byte becomes \u00XX */
    if (!out)
        return NULL;
    while (i < n) {
        unsigned char c = s[i];
        if ((c < 0x20 && !(keep_nl && c == '\n')) || c == 0x7f) {
            o += (size_t)sprintf(out + o, "\\u%04x", c); /* C0 controls and DEL */
            i++;
        } else if (c < 0x80) {
            out[o++] = (char)c;
            i++;
        } else if (!(len = utf8_len(s + i, n - i))) {
            o += (size_t)sprintf(out + o, "\\x%02x", c); /* not UTF-8: a raw 8-bit control, maybe */
            i++;
        } else if (c == 0xc2 && s[i + 1] < 0xa0) {
            o += (size_t)sprintf(out + o, "\\u%04x", s[i + 1]); /* C1 controls U+0080..U+009F (CSI...) */
            i += 2;
        } else {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
        }
    }
    out[o] = '\0';
    return out;
}
