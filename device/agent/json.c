/*
 * The JSON reader of device/agent (see json.h): strict RFC 8259, in place, no allocation.
 */
#include <string.h>

#include "otakit/err.h"

#include "json.h"

static int is_ws(int ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static int is_digit(const ota_json_t *j)
{
    return j->p < j->end && *j->p >= '0' && *j->p <= '9';
}

void ota_json_init(ota_json_t *j, const char *s, size_t len)
{
    j->p = s;
    j->end = s + len;
}

int ota_json_peek(ota_json_t *j)
{
    while (j->p < j->end && is_ws((unsigned char)*j->p))
        j->p++;
    return j->p < j->end ? (unsigned char)*j->p : 0;
}

int ota_json_enter(ota_json_t *j, int open)
{
    if (ota_json_peek(j) != open)
        return OTA_ERR_JSON;
    j->p++;
    return 0;
}

/* Before item *n of a container closed by close: consumes the ',' or the closing byte. */
static int next_item(ota_json_t *j, int *n, int close)
{
    int ch = ota_json_peek(j);
    if (ch == close) {
        j->p++;
        return 0;
    }
    if (*n > 0) {
        if (ch != ',')
            return OTA_ERR_JSON;
        j->p++;
        ch = ota_json_peek(j);
        if (ch == close)
            return OTA_ERR_JSON; /* trailing comma */
    }
    if (!ch)
        return OTA_ERR_JSON;
    (*n)++;
    return 1;
}

static int hex4(ota_json_t *j, uint32_t *v)
{
    int i;
    *v = 0;
    if (j->end - j->p < 4)
        return OTA_ERR_JSON;
    for (i = 0; i < 4; i++) {
        int ch = (unsigned char)*j->p++, d;
        if (ch >= '0' && ch <= '9')
            d = ch - '0';
        else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
            d = (ch | 0x20) - 'a' + 10;
        else
            return OTA_ERR_JSON;
        *v = *v * 16u + (uint32_t)d;
    }
    return 0;
}

/* Appends one byte to out (when out is not NULL), noting when it does not fit. */
static void emit(char *out, size_t cap, size_t *n, int *full, uint32_t ch)
{
    if (out) {
        if (*n + 1 < cap)
            out[*n] = (char)ch;
        else
            *full = 1;
    }
    (*n)++;
}

/* \uXXXX (and a following low surrogate) as UTF-8. */
static int unicode(ota_json_t *j, char *out, size_t cap, size_t *n, int *full)
{
    uint32_t cp, lo;
    if (hex4(j, &cp))
        return OTA_ERR_JSON;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return OTA_ERR_JSON; /* a lone low surrogate */
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
            return OTA_ERR_JSON;
        j->p += 2;
        if (hex4(j, &lo) || lo < 0xdc00 || lo > 0xdfff)
            return OTA_ERR_JSON;
        cp = 0x10000u + ((cp - 0xd800u) << 10) + (lo - 0xdc00u);
    }
    if (cp == 0)
        return OTA_ERR_JSON; /* not representable in a C string */
    if (cp < 0x80) {
        emit(out, cap, n, full, cp);
    } else if (cp < 0x800) {
        emit(out, cap, n, full, 0xc0 | (cp >> 6));
        emit(out, cap, n, full, 0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        emit(out, cap, n, full, 0xe0 | (cp >> 12));
        emit(out, cap, n, full, 0x80 | ((cp >> 6) & 0x3f));
        emit(out, cap, n, full, 0x80 | (cp & 0x3f));
    } else {
        emit(out, cap, n, full, 0xf0 | (cp >> 18));
        emit(out, cap, n, full, 0x80 | ((cp >> 12) & 0x3f));
        emit(out, cap, n, full, 0x80 | ((cp >> 6) & 0x3f));
        emit(out, cap, n, full, 0x80 | (cp & 0x3f));
    }
    return 0;
}

/* A string at the cursor: validated, and decoded into out unless out is NULL. */
static int string_value(ota_json_t *j, char *out, size_t cap)
{
    static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
    size_t n = 0;
    int full = 0;
    if (ota_json_peek(j) != '"')
        return OTA_ERR_JSON;
    j->p++;
    for (;;) {
        int ch;
        const char *e;
        if (j->p >= j->end)
            return OTA_ERR_JSON;
        ch = (unsigned char)*j->p++;
        if (ch == '"')
            break;
        if (ch < 0x20)
            return OTA_ERR_JSON; /* control characters must be escaped */
        if (ch != '\\') {
            emit(out, cap, &n, &full, (uint32_t)ch);
            continue;
        }
        if (j->p >= j->end)
            return OTA_ERR_JSON;
        ch = (unsigned char)*j->p++;
        if (ch == 'u') {
            if (unicode(j, out, cap, &n, &full))
                return OTA_ERR_JSON;
        } else if (ch && (e = strchr(esc_in, ch)) != NULL) {
            emit(out, cap, &n, &full, (unsigned char)esc_out[e - esc_in]);
        } else {
            return OTA_ERR_JSON;
        }
    }
    if (out) {
        if (full || !cap)
            return OTA_ERR_NO_SPACE;
        out[n] = 0;
    }
    return (int)n;
}

int ota_json_member(ota_json_t *j, int *n, const char **key, size_t *klen)
{
    const char *start;
    int rc = next_item(j, n, '}');
    if (rc <= 0)
        return rc;
    start = j->p + 1;
    if (string_value(j, NULL, 0) < 0)
        return OTA_ERR_JSON;
    *key = start;
    *klen = (size_t)(j->p - 1 - start);
    if (ota_json_peek(j) != ':')
        return OTA_ERR_JSON;
    j->p++;
    return ota_json_peek(j) ? 1 : OTA_ERR_JSON;
}

int ota_json_element(ota_json_t *j, int *n)
{
    return next_item(j, n, ']');
}

int ota_json_string(ota_json_t *j, char *out, size_t cap)
{
    return string_value(j, out, cap);
}

int ota_json_u32(ota_json_t *j, uint32_t *out)
{
    const char *start;
    uint32_t v = 0;
    if (ota_json_peek(j) < '0' || ota_json_peek(j) > '9')
        return OTA_ERR_JSON;
    start = j->p;
    while (is_digit(j)) {
        uint32_t d = (uint32_t)(*j->p++ - '0');
        if (v > (0xffffffffUL - d) / 10u)
            return OTA_ERR_JSON;
        v = v * 10u + d;
    }
    if (*start == '0' && j->p - start > 1)
        return OTA_ERR_JSON; /* leading zero */
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
        return OTA_ERR_JSON;
    *out = v;
    return 0;
}

static int literal(ota_json_t *j, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return OTA_ERR_JSON;
    j->p += n;
    return 0;
}

int ota_json_bool(ota_json_t *j, uint8_t *out)
{
    int ch = ota_json_peek(j);
    if (ch == 't' && literal(j, "true") == 0)
        *out = 1;
    else if (ch == 'f' && literal(j, "false") == 0)
        *out = 0;
    else
        return OTA_ERR_JSON;
    return 0;
}

int ota_json_null(ota_json_t *j)
{
    return ota_json_peek(j) == 'n' && literal(j, "null") == 0;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int number(ota_json_t *j)
{
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (!is_digit(j))
        return OTA_ERR_JSON;
    if (*j->p++ != '0')
        while (is_digit(j))
            j->p++;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!is_digit(j))
            return OTA_ERR_JSON;
        while (is_digit(j))
            j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!is_digit(j))
            return OTA_ERR_JSON;
        while (is_digit(j))
            j->p++;
    }
    return 0;
}

static int skip(ota_json_t *j, int depth)
{
    int ch = ota_json_peek(j), n = 0, rc;
    const char *k;
    size_t kl;
    switch (ch) {
    case '{':
    case '[':
        if (depth >= OTA_JSON_MAX_DEPTH)
            return OTA_ERR_JSON;
        j->p++;
        while ((rc = ch == '{' ? ota_json_member(j, &n, &k, &kl) : ota_json_element(j, &n)) == 1)
            if (skip(j, depth + 1))
                return OTA_ERR_JSON;
        return rc;
    case '"':
        return string_value(j, NULL, 0) < 0 ? OTA_ERR_JSON : 0;
    case 't':
        return literal(j, "true");
    case 'f':
        return literal(j, "false");
    case 'n':
        return literal(j, "null");
    default:
        return ch == '-' || (ch >= '0' && ch <= '9') ? number(j) : OTA_ERR_JSON;
    }
}

int ota_json_skip(ota_json_t *j)
{
    return skip(j, 0);
}

int ota_json_finish(ota_json_t *j)
{
    ota_json_peek(j);
    return j->p == j->end ? 0 : OTA_ERR_JSON;
}

int ota_json_key_is(const char *key, size_t klen, const char *lit)
{
    return strlen(lit) == klen && memcmp(key, lit, klen) == 0;
}

int ota_json_sha256(ota_json_t *j, char out[65])
{
    int rc = ota_json_string(j, out, 65), i;
    if (rc == OTA_ERR_NO_SPACE || (rc >= 0 && rc != 64))
        return OTA_ERR_JSON;
    if (rc < 0)
        return rc;
    for (i = 0; i < 64; i++) {
        char ch = out[i];
        if (ch >= 'A' && ch <= 'F')
            out[i] = (char)(ch - 'A' + 'a');
        else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return OTA_ERR_JSON;
    }
    return 0;
}
