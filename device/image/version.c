/* Image versions and identifier strings (see otakit/image.h). */
#include "otakit/image.h"

/* Parses one decimal field at *s: no sign, no leading zero unless the field is "0", <= max. */
static int parse_field(const char **s, uint32_t max, uint32_t *out)
{
    const char *p = *s;
    uint32_t v = 0;
    if (*p < '0' || *p > '9')
        return -1;
    if (p[0] == '0' && p[1] >= '0' && p[1] <= '9')
        return -1;
    while (*p >= '0' && *p <= '9') {
        uint32_t d = (uint32_t)(*p - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
        p++;
    }
    *s = p;
    *out = v;
    return 0;
}

int ota_version_parse(const char *s, ota_version_t *out)
{
    uint32_t f[4] = {0, 0, 0, 0};
    static const uint32_t max[4] = {0xffu, 0xffu, 0xffffu, 0xffffffffu};
    static const char sep[4] = {'.', '.', '+', 0};
    int i;
    if (!s || !out)
        return OTA_ERR_ARG;
    for (i = 0; i < 4; i++) {
        if (parse_field(&s, max[i], &f[i]) != 0)
            return OTA_ERR_VERSION;
        if (*s == '\0')
            break;
        if (i == 3 || *s != sep[i])
            return OTA_ERR_VERSION;
        s++;
    }
    out->major = (uint8_t)f[0];
    out->minor = (uint8_t)f[1];
    out->revision = (uint16_t)f[2];
    out->build = f[3];
    return OTA_OK;
}

/* Appends the decimal form of v at buf[*pos]; returns -1 when it does not fit with a NUL. */
static int put_u32(char *buf, size_t n, size_t *pos, uint32_t v)
{
    char tmp[10];
    int len = 0;
    do {
        tmp[len++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (*pos + (size_t)len + 1 > n)
        return -1;
    while (len)
        buf[(*pos)++] = tmp[--len];
    buf[*pos] = '\0';
    return 0;
}

static int put_char(char *buf, size_t n, size_t *pos, char c)
{
    if (*pos + 2 > n)
        return -1;
    buf[(*pos)++] = c;
    buf[*pos] = '\0';
    return 0;
}

int ota_version_format(const ota_version_t *v, char *buf, size_t n)
{
    size_t pos = 0;
    if (!v || !buf || n == 0)
        return OTA_ERR_ARG;
    if (put_u32(buf, n, &pos, v->major) || put_char(buf, n, &pos, '.') ||
        put_u32(buf, n, &pos, v->minor) || put_char(buf, n, &pos, '.') ||
        put_u32(buf, n, &pos, v->revision) || put_char(buf, n, &pos, '+') ||
        put_u32(buf, n, &pos, v->build))
        return OTA_ERR_NO_SPACE;
    return (int)pos;
}

int ota_version_cmp(const ota_version_t *a, const ota_version_t *b)
{
    if (a->major != b->major)
        return a->major < b->major ? -1 : 1;
    if (a->minor != b->minor)
        return a->minor < b->minor ? -1 : 1;
    if (a->revision != b->revision)
        return a->revision < b->revision ? -1 : 1;
    if (a->build != b->build)
        return a->build < b->build ? -1 : 1;
    return 0;
}

static int ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

int ota_ident_valid(const char *s, size_t len, size_t max, int list)
{
    size_t i;
    if (!s || len == 0 || len > max)
        return 0;
    for (i = 0; i < len; i++) {
        if (ident_char(s[i]))
            continue;
        /* a comma separates two non-empty items */
        if (list && s[i] == ',' && i > 0 && i + 1 < len && s[i - 1] != ',')
            continue;
        return 0;
    }
    return 1;
}
