/*
 * libFuzzer target for the HTTP client's URLs (device/net/url.c): ota_url_parse() on the input up
 * to its first NUL byte, then ota_url_resolve() of the rest (a redirect target) against the result,
 * and ota_url_same_origin() between the two.
 *
 * Besides ASan and UBSan it checks what callers rely on, whether a call succeeds or fails: host and
 * path stay NUL-terminated within their arrays (the caller's URL is rewritten in place by a
 * redirect). On success: https is 0 or 1, the port is 1..65535 (80/443 when none is given), the
 * host is not empty and holds only host characters, the path starts with '/' and holds printable
 * ASCII without spaces or '#' (it goes into the request line); the URL printed back as text parses
 * to the same fields; a redirect never steps down from https, and a path-only one keeps the
 * origin; same_origin is reflexive and symmetric. Seeds: fuzz/corpus/url/.
 *   cd build-fuzz/fuzz && ./fuzz_url -max_len=1024 -max_total_time=600 corpus-url ../../fuzz/corpus/url
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/http.h"

#define FZ_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static void check_terminated(const ota_url_t *u)
{
    FZ_CHECK(memchr(u->host, 0, sizeof u->host) != NULL);
    FZ_CHECK(memchr(u->path, 0, sizeof u->path) != NULL);
}

static void check_parsed(const ota_url_t *u)
{
    char text[8 + OTA_URL_HOST_MAX + 2 + 6 + OTA_URL_PATH_MAX + 1];
    ota_url_t again;
    int v6;
    check_terminated(u);
    FZ_CHECK(u->https <= 1 && u->port != 0);
    FZ_CHECK(u->host[0] != 0);
    for (const char *h = u->host; *h; h++)
        FZ_CHECK((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') || (*h >= '0' && *h <= '9') ||
                 *h == '.' || *h == '-' || *h == '_' || *h == ':');
    FZ_CHECK(u->path[0] == '/');
    for (const char *p = u->path; *p; p++)
        FZ_CHECK(*p > 0x20 && *p < 0x7f && *p != '#');
    FZ_CHECK(ota_url_same_origin(u, u) == 1);

    v6 = strchr(u->host, ':') != NULL;
    FZ_CHECK((size_t)snprintf(text, sizeof text, "%s://%s%s%s:%u%s", u->https ? "https" : "http", v6 ? "[" : "",
                              u->host, v6 ? "]" : "", (unsigned)u->port, u->path) < sizeof text);
    FZ_CHECK(ota_url_parse(text, &again) == OTA_OK);
    FZ_CHECK(again.https == u->https && again.port == u->port);
    FZ_CHECK(strcmp(again.host, u->host) == 0 && strcmp(again.path, u->path) == 0);
    FZ_CHECK(ota_url_same_origin(u, &again) == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[1025];
    const char *ref;
    ota_url_t u, v;
    size_t n = size < sizeof in - 1 ? size : sizeof in - 1;
    int rc;

    memcpy(in, data, n);
    in[n] = 0;
    ref = in + strlen(in) + (strlen(in) < n ? 1 : 0); /* after the first NUL, else "" */

    /* Start from a valid URL, as a caller's would be, so a failed call shows what it leaves. */
    FZ_CHECK(ota_url_parse("http://start.example/", &u) == OTA_OK);
    rc = ota_url_parse(in, &u);
    FZ_CHECK(rc == OTA_OK || rc == OTA_ERR_URL);
    check_terminated(&u);
    if (rc == OTA_OK) {
        check_parsed(&u);
        /* No explicit port: the scheme's. The authority ends at the first '/', '?' or '#'. */
        const char *auth = in + (u.https ? 8 : 7);
        size_t alen = strcspn(auth, "/?#");
        int explicit_port = 0;
        for (size_t i = 0; i < alen; i++)
            if (auth[i] == ':' && (auth[0] != '[' || (i > 0 && auth[i - 1] == ']')))
                explicit_port = 1;
        if (!explicit_port)
            FZ_CHECK(u.port == (u.https ? 443 : 80));
    }

    v = u;
    rc = ota_url_resolve(&v, ref);
    FZ_CHECK(rc == OTA_OK || rc == OTA_ERR_URL || rc == OTA_ERR_REDIRECT);
    check_terminated(&v);
    if (rc == OTA_OK) {
        check_parsed(&v);
        FZ_CHECK(!u.https || v.https);
        if (ref[0] == '/' && ref[1] != '/')
            FZ_CHECK(ota_url_same_origin(&u, &v) == 1);
    }
    FZ_CHECK(ota_url_same_origin(&u, &v) == ota_url_same_origin(&v, &u));
    return 0;
}
