/*
 * URLs for the HTTP client: "http[s]://host[:port][/path][?query][#fragment]" and redirect
 * targets. See otakit/http.h. Portable C99: no heap, no stdio.
 */
#include <string.h>

#include "otakit/http.h"

#include "core/text.h"

static int host_char(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
           ch == '-' || ch == '_';
}

/* Copies a path (and query) up to the end or a '#' into out, adding a leading '/' if missing.
 * Only printable ASCII without spaces: nothing can break the request line. Checks before it
 * writes: on OTA_ERR_URL out is untouched (still the caller's NUL-terminated path). */
static int copy_path(const char *p, char out[OTA_URL_PATH_MAX])
{
    size_t n = 0, lead = *p != '/';
    for (; p[n] && p[n] != '#'; n++)
        if ((unsigned char)p[n] <= 0x20 || (unsigned char)p[n] >= 0x7f || lead + n + 1 >= OTA_URL_PATH_MAX)
            return OTA_ERR_URL;
    if (lead)
        out[0] = '/';
    memcpy(out + lead, p, n);
    out[lead + n] = 0;
    return OTA_OK;
}

int ota_url_parse(const char *u, ota_url_t *out)
{
    const char *p, *host, *hend;
    size_t n;
    if (!u || !out)
        return OTA_ERR_URL;
    if (ota_istarts(u, "http://")) {
        out->https = 0;
        out->port = 80;
        p = u + 7;
    } else if (ota_istarts(u, "https://")) {
        out->https = 1;
        out->port = 443;
        p = u + 8;
    } else {
        return OTA_ERR_URL;
    }
    if (*p == '[') { /* IPv6 literal */
        host = ++p;
        while (*p && *p != ']') {
            if (ota_hexval((unsigned char)*p) < 0 && *p != ':' && *p != '.')
                return OTA_ERR_URL;
            p++;
        }
        if (*p != ']')
            return OTA_ERR_URL;
        hend = p++;
    } else {
        host = p;
        while (host_char((unsigned char)*p))
            p++;
        hend = p;
    }
    n = (size_t)(hend - host);
    if (n == 0 || n >= OTA_URL_HOST_MAX)
        return OTA_ERR_URL;
    memcpy(out->host, host, n);
    out->host[n] = 0;
    if (*p == ':') {
        uint32_t port;
        size_t k = ota_parse_u32(++p, &port);
        if (k == 0 || k > 5 || port == 0 || port > 65535u)
            return OTA_ERR_URL;
        out->port = (uint16_t)port;
        p += k;
    }
    if (*p && *p != '/' && *p != '?' && *p != '#')
        return OTA_ERR_URL; /* user info, a bad host character, junk after the port */
    return copy_path(p, out->path);
}

int ota_url_resolve(ota_url_t *url, const char *ref)
{
    uint8_t was_https = url->https;
    int rc;
    if (!ref)
        return OTA_ERR_URL;
    if (ref[0] == '/' && ref[1] != '/')
        return copy_path(ref, url->path);
    if ((rc = ota_url_parse(ref, url)) != OTA_OK)
        return rc;
    return was_https && !url->https ? OTA_ERR_REDIRECT : OTA_OK;
}

int ota_url_same_origin(const ota_url_t *a, const ota_url_t *b)
{
    return a->https == b->https && a->port == b->port && strcmp(a->host, b->host) == 0;
}
