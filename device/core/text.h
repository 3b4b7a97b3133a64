/*
 * Small text helpers shared by the HTTP client, the URL parser and the JSON reader: ASCII only,
 * locale free (no ctype), no library calls. Internal header: not part of the public API.
 */
#ifndef OTAKIT_CORE_TEXT_H
#define OTAKIT_CORE_TEXT_H

#include <stddef.h>
#include <stdint.h>

static inline int ota_lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

/* 1 when the n bytes at s equal the lowercase literal lit, ignoring case. */
static inline int ota_ieq(const char *s, size_t n, const char *lit)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!lit[i] || ota_lower((unsigned char)s[i]) != lit[i])
            return 0;
    return lit[n] == 0;
}

/* 1 when s starts with the lowercase literal prefix, ignoring case. */
static inline int ota_istarts(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if (ota_lower((unsigned char)*s) != *prefix)
            return 0;
    return 1;
}

/* Decimal text of v in buf (11 bytes); returns where it starts inside buf. */
static inline const char *ota_u32_str(char buf[11], uint32_t v)
{
    int i = 10;
    buf[10] = 0;
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    return buf + i;
}

/* 1 when s is printable ASCII (spaces included; no control characters, so no CR or LF) and at
 * most max characters long. */
static inline int ota_printable(const char *s, size_t max)
{
    size_t i;
    for (i = 0; s[i]; i++)
        if (i >= max || (unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

/* Value of a hex digit, or -1. */
static inline int ota_hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = ota_lower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Decimal digits at s into *out. Returns how many were read, 0 if none or on overflow. */
static inline size_t ota_parse_u32(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    size_t i;
    for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
        uint32_t d = (uint32_t)(s[i] - '0');
        if (v > (0xffffffffUL - d) / 10u)
            return 0;
        v = v * 10u + d;
    }
    *out = v;
    return i;
}

#endif
