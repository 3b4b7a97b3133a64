/*
 * libFuzzer target for the device's HTTP client (device/net/http.c) and the check parsers: each
 * input is what a server sends (see fuzz_net.h for the layout), read by ota_http_request() and
 * ota_http_body() or ota_http_read_all(): status line, headers (Content-Length, chunked,
 * Content-Range, ETag, x-MD5, Connection, Location with redirects on), 1xx answers, chunk sizes,
 * extensions and trailers, bodies framed every way. With keep-alive a second request reads the
 * next answer from the rest of the input. The same stream then goes through ota_check_parse() and
 * ota_mongoose_parse(), ota_catalog_pick() and ota_catalog_device_find() (the JSON seeds have two
 * leading bytes for the layout). Flags byte: bit 1 redirects, bit 2 keep-alive, bit 3 a deadline, bit 4
 * HEAD, bit 5 a Range request, bit 6 read_all into a small buffer.
 *
 * Besides ASan and UBSan it checks what callers rely on: a parsed status is 100..599, ETag and
 * x-MD5 are NUL-terminated within their arrays, ranges are ordered, body pieces are 1 to
 * OTA_HTTP_BUF_SIZE bytes, a Content-Length body that ends OK has exactly that length, and the
 * client never uses a closed connection. Seeds: fuzz/corpus/http/.
 *   cd build-fuzz/fuzz && ./fuzz_http -max_len=4096 -max_total_time=600 corpus-http seed-corpus-http
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_net.h"
#include "otakit/agent.h"
#include "otakit/http.h"

static int count(void *arg, const uint8_t *d, size_t n)
{
    FZ_CHECK(d && n > 0 && n <= OTA_HTTP_BUF_SIZE);
    *(uint32_t *)arg += (uint32_t)n;
    return 0;
}

static void check_head(const ota_http_resp_t *r)
{
    FZ_CHECK(r->status >= 100 && r->status <= 599);
    FZ_CHECK(memchr(r->etag, 0, sizeof r->etag) != NULL);
    FZ_CHECK(r->md5[0] == 0 || (strlen(r->md5) == 32 && r->has_md5));
    FZ_CHECK(!r->has_range || r->range_first <= r->range_last);
    FZ_CHECK(!(r->has_range && r->has_total) || r->range_last < r->range_total);
    FZ_CHECK(!(r->has_length && r->chunked));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ota_http_t c;
    static ota_check_t chk;
    static ota_mongoose_t mg;
    static ota_catalog_t cat;
    static char small[300];
    ota_http_cfg_t cfg;
    ota_http_req_t req;
    ota_http_resp_t r;
    ota_url_t u;
    fz_net_t f;
    ota_net_t net;
    int flags, i, rc;

    if ((flags = fz_net_init(&f, &net, data, size)) < 0)
        return 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.platform = &f.plat;
    cfg.tcp = &net; /* no TLS transport: an https redirect fails with OTA_ERR_TLS */
    cfg.max_redirects = flags & 2 ? 2 : 0;
    cfg.keep_alive = (uint8_t)(flags & 4 ? 1 : 0);
    FZ_CHECK(ota_http_init(&c, &cfg) == OTA_OK);
    if (flags & 8)
        ota_http_set_deadline(&c, 2000);
    FZ_CHECK(ota_url_parse("http://dev.example:8080/api/v1/artifacts/ab?x=1", &u) == OTA_OK);
    memset(&req, 0, sizeof req);
    req.method = flags & 16 ? "HEAD" : "GET";
    req.token = "t0k3n";
    req.has_range = (uint8_t)(flags & 32 ? 1 : 0);
    req.range_from = 100;
    req.if_range = req.has_range ? "\"abc\"" : NULL;
    for (i = 0; i < 2; i++) {
        uint32_t got = 0;
        size_t n = 0;
        if ((rc = ota_http_request(&c, &u, &req, &r)) != OTA_OK)
            break;
        check_head(&r);
        if (flags & 64) {
            rc = ota_http_read_all(&c, small, sizeof small, &n);
            FZ_CHECK(rc != OTA_OK || (n < sizeof small && small[n] == 0));
            got = (uint32_t)n;
        } else {
            rc = ota_http_body(&c, count, &got);
        }
        if (rc == OTA_OK && r.has_length && !(flags & 16) && r.status != 204 && r.status != 304 &&
            r.status >= 200)
            FZ_CHECK(got == r.length);
        if (rc != OTA_OK || !cfg.keep_alive)
            break;
    }
    ota_http_close(&c);
    FZ_CHECK(!f.open);

    rc = ota_check_parse((const char *)f.p, f.len, &chk);
    FZ_CHECK(rc == OTA_OK || rc == OTA_ERR_JSON || rc == OTA_ERR_NO_SPACE);
    if (rc == OTA_OK && chk.has_update)
        FZ_CHECK(strlen(chk.sha256) == 64 && chk.n_commands <= OTA_CHECK_MAX_COMMANDS);
    rc = ota_mongoose_parse((const char *)f.p, f.len, "1.0.0", &mg);
    FZ_CHECK(rc == OTA_OK || rc == OTA_ERR_JSON || rc == OTA_ERR_NO_SPACE);
    rc = ota_catalog_pick((const char *)f.p, f.len, "http://h", "fw", "1.0.0", 1, &cat);
    FZ_CHECK(rc == OTA_OK || rc == OTA_ERR_JSON || rc == OTA_ERR_NO_SPACE);
    rc = ota_catalog_device_find((const char *)f.p, f.len, "2.0.0.bin", &cat);
    FZ_CHECK(rc == OTA_OK || rc == OTA_ERR_JSON || rc == OTA_ERR_ARG);
    if (rc == OTA_OK)
        FZ_CHECK(!strcmp(cat.name, "2.0.0.bin") && strlen(cat.sha256) == 64 && cat.size && cat.url[0]);
    return 0;
}
