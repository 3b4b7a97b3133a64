/*
 * The HTTP client, the URL parser and the check parser without sockets: a scripted in-memory
 * transport hands the client a response in pieces of 1, 2, 3, 7, 64 and 4096 bytes, so every
 * split of every line, chunk header and body is exercised; the request the client wrote is
 * captured and compared byte for byte. The JSON check parser gets well-formed and malformed
 * documents, every proper prefix of a valid answer included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "otakit/agent.h"
#include "otakit/http.h"

/* ---- a scripted transport ------------------------------------------------------------------ */

typedef struct {
    const char *resp;   /* what the "server" sends on every connection */
    size_t resp_len;
    size_t piece;       /* bytes per recv */
    size_t at;          /* position in resp on the open connection */
    int connects, open, fail_connect;
    char sent[4096];    /* request bytes of the last connection */
    size_t sent_len;
    int one_stream;     /* 1: a new connection goes on where the last one stopped in resp */
    char log[8192];     /* request bytes of every connection, each started by "|" */
    size_t log_len;
    uint32_t now, tick; /* the clock (now_ms), moved on by tick at every recv */
    uint32_t max_wait;  /* longest timeout a recv was given */
} script_t;

static int s_connect(void *ctx, const char *host, uint16_t port, uint32_t timeout_ms)
{
    script_t *s = ctx;
    (void)host, (void)port, (void)timeout_ms;
    if (s->fail_connect)
        return s->fail_connect;
    s->connects++;
    s->open = 1;
    if (!s->one_stream)
        s->at = 0;
    s->sent_len = 0;
    assert_true(s->log_len + 1 < sizeof s->log);
    s->log[s->log_len++] = '|';
    s->log[s->log_len] = 0;
    return 3;
}

static int s_send(void *ctx, int h, const void *buf, size_t len, uint32_t timeout_ms)
{
    script_t *s = ctx;
    (void)timeout_ms;
    assert_int_equal(h, 3);
    assert_true(s->open);
    if (len > 5)
        len = 5; /* short writes: the client must loop */
    assert_true(s->sent_len + len < sizeof s->sent);
    memcpy(s->sent + s->sent_len, buf, len);
    s->sent_len += len;
    s->sent[s->sent_len] = 0;
    assert_true(s->log_len + len < sizeof s->log);
    memcpy(s->log + s->log_len, buf, len);
    s->log_len += len;
    s->log[s->log_len] = 0;
    return (int)len;
}

static int s_recv(void *ctx, int h, void *buf, size_t len, uint32_t timeout_ms)
{
    script_t *s = ctx;
    size_t n = s->resp_len - s->at;
    assert_int_equal(h, 3);
    assert_true(s->open);
    assert_true(timeout_ms > 0);
    if (timeout_ms > s->max_wait)
        s->max_wait = timeout_ms;
    s->now += s->tick;
    if (n > s->piece)
        n = s->piece;
    if (n > len)
        n = len;
    memcpy(buf, s->resp + s->at, n);
    s->at += n;
    return (int)n; /* 0 at the end: the server closed */
}

static void s_close(void *ctx, int h)
{
    script_t *s = ctx;
    assert_int_equal(h, 3);
    s->open = 0;
}

static uint32_t s_now(void *ctx)
{
    return ((script_t *)ctx)->now;
}

static const ota_net_ops_t script_ops = {s_connect, s_send, s_recv, s_close};
static const size_t pieces[] = {1, 2, 3, 7, 64, 4096};

typedef struct {
    uint8_t body[8192];
    size_t len;
} body_t;

static int collect(void *arg, const uint8_t *d, size_t n)
{
    body_t *b = arg;
    assert_true(n > 0 && n <= OTA_HTTP_BUF_SIZE);
    assert_true(b->len + n <= sizeof b->body);
    memcpy(b->body + b->len, d, n);
    b->len += n;
    return 0;
}

/* Runs one GET of the scripted answer at every piece size; returns the last result. */
static int run(const char *resp, size_t len, const ota_http_req_t *req_in, ota_http_resp_t *r, body_t *b,
               int *body_rc, script_t *out_script)
{
    int rc = 0, first_rc = 0, first_brc = 0;
    size_t first_len = 0;
    unsigned i;
    for (i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        static ota_http_t c;
        script_t s;
        ota_net_t net = {&script_ops, &s};
        ota_http_cfg_t cfg;
        ota_http_req_t req;
        ota_url_t u;
        memset(&s, 0, sizeof s);
        s.resp = resp;
        s.resp_len = len;
        s.piece = pieces[i];
        memset(&cfg, 0, sizeof cfg);
        cfg.tcp = &net;
        assert_int_equal(ota_http_init(&c, &cfg), OTA_OK);
        assert_int_equal(ota_url_parse("http://dev.example:8080/api/v1/artifacts/ab?x=1", &u), OTA_OK);
        memset(&req, 0, sizeof req);
        if (req_in)
            req = *req_in;
        memset(b, 0, sizeof *b);
        rc = ota_http_request(&c, &u, &req, r);
        *body_rc = rc == OTA_OK ? ota_http_body(&c, collect, b) : rc;
        ota_http_close(&c);
        assert_false(s.open);
        if (i == 0) {
            first_rc = rc;
            first_brc = *body_rc;
            first_len = b->len;
        } else if (rc != first_rc || *body_rc != first_brc || b->len != first_len) {
            fail_msg("%zu-byte pieces: %s/%s, %zu bytes; 1-byte pieces: %s/%s, %zu bytes", pieces[i], ota_errname(rc),
                     ota_errname(*body_rc), b->len, ota_errname(first_rc), ota_errname(first_brc), first_len);
        }
        if (out_script)
            *out_script = s;
    }
    return rc;
}

#define RUN(resp, req, r, b, brc) run(resp, sizeof(resp) - 1, req, r, b, brc, NULL)

/* ---- URLs ---------------------------------------------------------------------------------- */

static void test_url(void **state)
{
    static const struct {
        const char *url;
        int https, port;
        const char *host, *path;
    } ok[] = {
        {"http://a.example/x/y?z=1#frag", 0, 80, "a.example", "/x/y?z=1"},
        {"HTTPS://Host-1.example:8443", 1, 8443, "Host-1.example", "/"},
        {"http://127.0.0.1:1?q", 0, 1, "127.0.0.1", "/?q"},
        {"https://[::1]:443/p", 1, 443, "::1", "/p"},
        {"http://h:65535/", 0, 65535, "h", "/"},
    };
    static const char *bad[] = {"ftp://h/", "http:/h/", "http://", "http://:80/", "http://h:0/", "http://h:65536/",
                                "http://h:/", "http://u@h/", "http://h x/", "http://h/a b", "http://h/\r\nX: y",
                                "http://[::1/", "http://h:80x/", "h/x", ""};
    char longhost[300], longpath[300];
    ota_url_t u;
    unsigned i;
    (void)state;
    for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(ota_url_parse(ok[i].url, &u), OTA_OK);
        assert_int_equal(u.https, ok[i].https);
        assert_int_equal(u.port, ok[i].port);
        assert_string_equal(u.host, ok[i].host);
        assert_string_equal(u.path, ok[i].path);
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ota_url_parse(bad[i], &u), OTA_ERR_URL);
    snprintf(longhost, sizeof longhost, "http://%0200d/", 0);
    assert_int_equal(ota_url_parse(longhost, &u), OTA_ERR_URL);
    snprintf(longpath, sizeof longpath, "http://h/%0280d", 0);
    assert_int_equal(ota_url_parse(longpath, &u), OTA_ERR_URL);

    /* redirect targets: a path on the same server, or a URL; never https -> http */
    assert_int_equal(ota_url_parse("https://a.example:444/x", &u), OTA_OK);
    assert_int_equal(ota_url_resolve(&u, "/y?z"), OTA_OK);
    assert_string_equal(u.host, "a.example");
    assert_int_equal(u.port, 444);
    assert_string_equal(u.path, "/y?z");
    assert_int_equal(ota_url_resolve(&u, "https://b.example/q"), OTA_OK);
    assert_string_equal(u.host, "b.example");
    assert_int_equal(ota_url_resolve(&u, "http://c.example/"), OTA_ERR_REDIRECT);
}

/* fuzz_url found it: a too-long redirect path (Location: /aaa...) failed but had already written
 * its first 255 bytes over the caller's path and no NUL, so the URL the caller keeps ran off its
 * array. A failed path copy now leaves the path as it was. */
static void test_url_failed_resolve_keeps_path(void **state)
{
    char ref[OTA_URL_PATH_MAX + 40];
    ota_url_t u;
    (void)state;
    memset(&u, 'A', sizeof u); /* what was in the array past the old path's NUL */
    assert_int_equal(ota_url_parse("http://h/x", &u), OTA_OK);
    ref[0] = '/';
    memset(ref + 1, 'a', sizeof ref - 2);
    ref[sizeof ref - 1] = 0;
    assert_int_equal(ota_url_resolve(&u, ref), OTA_ERR_URL);
    assert_non_null(memchr(u.path, 0, sizeof u.path));
    assert_string_equal(u.path, "/x");
    assert_string_equal(u.host, "h");
    /* the longest path that fits still fits, with or without its leading '/' added */
    ref[OTA_URL_PATH_MAX - 1] = 0;
    assert_int_equal(ota_url_resolve(&u, ref), OTA_OK);
    assert_int_equal(strlen(u.path), OTA_URL_PATH_MAX - 1);
    ref[OTA_URL_PATH_MAX - 1] = 'a';
    ref[OTA_URL_PATH_MAX] = 0;
    assert_int_equal(ota_url_resolve(&u, ref), OTA_ERR_URL);
    assert_int_equal(strlen(u.path), OTA_URL_PATH_MAX - 1);
    assert_int_equal(ota_url_parse("http://h2?q", &u), OTA_OK);
    assert_string_equal(u.path, "/?q");
}

/* ---- requests ------------------------------------------------------------------------------ */

static void test_request_bytes(void **state)
{
    static const char resp[] = "HTTP/1.1 204 No Content\r\n\r\n";
    ota_http_req_t req;
    ota_http_resp_t r;
    body_t b;
    script_t s;
    int brc;
    (void)state;
    memset(&req, 0, sizeof req);
    req.token = "tok123";
    req.has_range = 1;
    req.range_from = 4096;
    req.if_range = "\"abc\"";
    assert_int_equal(run(resp, sizeof resp - 1, &req, &r, &b, &brc, &s), OTA_OK);
    assert_string_equal(s.sent, "GET /api/v1/artifacts/ab?x=1 HTTP/1.1\r\nHost: dev.example:8080\r\n"
                                "User-Agent: otakit/0.1\r\nAuthorization: Bearer tok123\r\n"
                                "Range: bytes=4096-\r\nIf-Range: \"abc\"\r\nConnection: close\r\n\r\n");
    assert_int_equal(r.status, 204);
    assert_int_equal(brc, OTA_OK);
    assert_int_equal(b.len, 0);

    /* POST with a body */
    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.body = "{\"a\":1}";
    req.body_len = 7;
    assert_int_equal(run(resp, sizeof resp - 1, &req, &r, &b, &brc, &s), OTA_OK);
    assert_string_equal(s.sent, "POST /api/v1/artifacts/ab?x=1 HTTP/1.1\r\nHost: dev.example:8080\r\n"
                                "User-Agent: otakit/0.1\r\nContent-Type: application/json\r\nContent-Length: 7\r\n"
                                "Connection: close\r\n\r\n{\"a\":1}");

    /* no header injection, no request larger than the buffer */
    memset(&req, 0, sizeof req);
    req.token = "x\r\nX-Evil: 1";
    assert_int_equal(RUN(resp, &req, &r, &b, &brc), OTA_ERR_ARG);
    {
        static char big[OTA_HTTP_BUF_SIZE + 10];
        memset(big, 'a', sizeof big - 1);
        req.token = big;
        assert_int_equal(RUN(resp, &req, &r, &b, &brc), OTA_ERR_NO_SPACE);
    }
}

/* ---- responses ----------------------------------------------------------------------------- */

static void test_content_length_and_headers(void **state)
{
    static const char resp[] = "HTTP/1.1 100 Continue\r\n\r\n"
                               "HTTP/1.1 206 Partial Content\r\ncontent-LENGTH:  10 \r\nETag: \"e1\"\r\n"
                               "Content-Range: bytes 5-14/100\r\nX-Other: y\r\n\r\n0123456789";
    ota_http_resp_t r;
    body_t b;
    int brc;
    (void)state;
    assert_int_equal(RUN(resp, NULL, &r, &b, &brc), OTA_OK);
    assert_int_equal(brc, OTA_OK);
    assert_int_equal(r.status, 206);
    assert_true(r.has_length && r.length == 10);
    assert_true(r.has_range && r.range_first == 5 && r.range_last == 14 && r.has_total && r.range_total == 100);
    assert_string_equal(r.etag, "\"e1\"");
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.body, "0123456789", 10);
}

static void test_chunked(void **state)
{
    static const char resp[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
                               "5;name=v\r\nhello\r\n1\r\n \r\n00A \r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n";
    static const char bad[][128] = {
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZ\r\nx\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffff\r\nx\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n0\r\n\r\n",
    };
    ota_http_resp_t r;
    body_t b;
    int brc;
    unsigned i;
    (void)state;
    assert_int_equal(RUN(resp, NULL, &r, &b, &brc), OTA_OK);
    assert_int_equal(brc, OTA_OK);
    assert_true(r.chunked);
    assert_false(r.has_length);
    assert_int_equal(b.len, 16);
    assert_memory_equal(b.body, "hello 0123456789", 16);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(run(bad[i], strlen(bad[i]), NULL, &r, &b, &brc, NULL), OTA_OK);
        assert_int_equal(brc, OTA_ERR_HTTP);
    }
    /* cut inside a chunk: a dropped connection, not the end of the body */
    assert_int_equal(run(resp, 60, NULL, &r, &b, &brc, NULL), OTA_OK);
    assert_int_equal(brc, OTA_ERR_NET);
}

static void test_until_close_and_truncation(void **state)
{
    static const char eof[] = "HTTP/1.0 200 OK\r\n\r\nall of it";
    static const char cut[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this";
    ota_http_resp_t r;
    body_t b;
    int brc;
    (void)state;
    assert_int_equal(RUN(eof, NULL, &r, &b, &brc), OTA_OK);
    assert_int_equal(brc, OTA_OK);
    assert_int_equal(b.len, 9);
    assert_int_equal(RUN(cut, NULL, &r, &b, &brc), OTA_OK);
    assert_int_equal(brc, OTA_ERR_NET);
    assert_int_equal(b.len, 9);
    /* closed before the head ends */
    assert_int_equal(run(cut, 20, NULL, &r, &b, &brc, NULL), OTA_ERR_NET);
}

static void test_malformed_heads(void **state)
{
    static const struct {
        const char *resp;
        int want;
    } cases[] = {
        {"HTTP/2 200 OK\r\n\r\n", OTA_ERR_HTTP},
        {"HTTP/1.1 20 OK\r\n\r\n", OTA_ERR_HTTP},
        {"HTTP/1.1 200OK\r\n\r\n", OTA_ERR_HTTP},
        {"ICY 200 OK\r\n\r\n", OTA_ERR_HTTP},
        {"HTTP/1.1 200 OK\r\nNo-Colon\r\n\r\n", OTA_ERR_HTTP},
        {"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n", OTA_ERR_HTTP},
        {"HTTP/1.1 200 OK\r\nBad Name: b\r\n\r\n", OTA_ERR_HTTP},
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", OTA_ERR_HTTP},
        {"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", OTA_ERR_HTTP},
        {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", OTA_ERR_HTTP},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", OTA_ERR_HTTP},
        {"HTTP/1.1 206 OK\r\nContent-Range: bytes 9-5/100\r\n\r\n", OTA_ERR_HTTP},
        {"HTTP/1.1 206 OK\r\nContent-Range: bytes 0-100/100\r\n\r\n", OTA_ERR_HTTP},
        {"HTTP/1.1 206 OK\r\nContent-Range: items 0-1/100\r\n\r\n", OTA_ERR_HTTP},
        {"HTTP/1.1 101 Switching\r\n\r\n", OTA_ERR_HTTP},
        {"HTTP/1.1 302 Found\r\nLocation: http://x/\r\n\r\n", OTA_ERR_REDIRECT},
    };
    ota_http_resp_t r;
    body_t b;
    unsigned i;
    int brc;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (run(cases[i].resp, strlen(cases[i].resp), NULL, &r, &b, &brc, NULL) != cases[i].want)
            fail_msg("case %u: %s", i, cases[i].resp);
    }
    /* a NUL byte in a header line */
    assert_int_equal(run("HTTP/1.1 200 OK\r\nContent-Length: 1\0x\r\n\r\nA", 38, NULL, &r, &b, &brc, NULL),
                     OTA_ERR_HTTP);
    /* 416 with "bytes * /total" */
    assert_int_equal(RUN("HTTP/1.1 416 X\r\nContent-Range: bytes */77\r\nContent-Length: 0\r\n\r\n", NULL, &r, &b,
                         &brc),
                     OTA_OK);
    assert_true(r.status == 416 && !r.has_range && r.has_total && r.range_total == 77);
}

static void test_header_limits(void **state)
{
    static char resp[OTA_HTTP_HEAD_MAX * 2];
    ota_http_resp_t r;
    body_t b;
    int brc;
    size_t n;
    (void)state;
    /* one line longer than the buffer */
    n = (size_t)snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nX-Big: ");
    memset(resp + n, 'a', OTA_HTTP_BUF_SIZE);
    n += OTA_HTTP_BUF_SIZE;
    n += (size_t)snprintf(resp + n, sizeof resp - n, "\r\n\r\n");
    assert_int_equal(run(resp, n, NULL, &r, &b, &brc, NULL), OTA_ERR_HEADERS_TOO_BIG);
    /* many short lines, more than OTA_HTTP_HEAD_MAX in all */
    n = (size_t)snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\n");
    while (n < OTA_HTTP_HEAD_MAX + 100)
        n += (size_t)snprintf(resp + n, sizeof resp - n, "X-Line: 0123456789012345678901234567890123456789\r\n");
    n += (size_t)snprintf(resp + n, sizeof resp - n, "\r\n");
    assert_int_equal(run(resp, n, NULL, &r, &b, &brc, NULL), OTA_ERR_HEADERS_TOO_BIG);
    /* an ETag too long to keep is dropped, not truncated */
    n = (size_t)snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nETag: \"%0100d\"\r\nContent-Length: 0\r\n\r\n", 0);
    assert_int_equal(run(resp, n, NULL, &r, &b, &brc, NULL), OTA_OK);
    assert_string_equal(r.etag, "");
}

static void test_keep_alive_reuse(void **state)
{
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
    static ota_http_t c;
    script_t s;
    ota_net_t net = {&script_ops, &s};
    ota_http_cfg_t cfg;
    ota_http_req_t req;
    ota_http_resp_t r;
    ota_url_t u;
    char buf[16];
    size_t n;
    int i;
    (void)state;
    memset(&s, 0, sizeof s);
    s.resp = resp;
    s.resp_len = sizeof resp - 1;
    s.piece = 4096;
    memset(&cfg, 0, sizeof cfg);
    cfg.tcp = &net;
    cfg.keep_alive = 1;
    assert_int_equal(ota_http_init(&c, &cfg), OTA_OK);
    memset(&req, 0, sizeof req);
    for (i = 0; i < 3; i++) {
        assert_int_equal(ota_url_parse("http://h/x", &u), OTA_OK);
        s.at = 0; /* the scripted server answers again on the same connection */
        assert_int_equal(ota_http_request(&c, &u, &req, &r), OTA_OK);
        assert_int_equal(ota_http_read_all(&c, buf, sizeof buf, &n), OTA_OK);
        assert_string_equal(buf, "abc");
    }
    assert_int_equal(s.connects, 1);
    assert_non_null(strstr(s.sent, "Connection: keep-alive"));
    /* a server that closed the kept connection: one fresh connection is tried */
    s.at = s.resp_len;
    assert_int_equal(ota_http_request(&c, &u, &req, &r), OTA_OK);
    assert_int_equal(s.connects, 2);
    /* a body bigger than the buffer given for it */
    assert_int_equal(ota_http_read_all(&c, buf, 3, &n), OTA_ERR_RESPONSE_TOO_BIG);
    ota_http_close(&c);
}

/* Redirects: the token goes to the origin first asked only (scheme, host and port), as in curl. */
static void test_redirect_token(void **state)
{
    static const char *const locations[] = {"/same/path", "http://dev.example:8081/x", "http://other.example:8080/x",
                                            "http://dev.example:8080/back"};
    static const int token_after[] = {1, 0, 0, 1};
    static ota_http_t c;
    unsigned i;
    (void)state;
    for (i = 0; i < sizeof locations / sizeof locations[0]; i++) {
        char resp[256];
        script_t s;
        ota_net_t net = {&script_ops, &s};
        ota_http_cfg_t cfg;
        ota_http_req_t req;
        ota_http_resp_t r;
        ota_url_t u;
        const char *second;
        memset(&s, 0, sizeof s);
        snprintf(resp, sizeof resp, "HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n"
                 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", locations[i]);
        s.resp = resp;
        s.resp_len = strlen(resp);
        s.piece = 1; /* nothing of the second answer is read on the first connection */
        s.one_stream = 1;
        memset(&cfg, 0, sizeof cfg);
        cfg.tcp = &net;
        cfg.max_redirects = 1;
        assert_int_equal(ota_http_init(&c, &cfg), OTA_OK);
        assert_int_equal(ota_url_parse("http://dev.example:8080/fw", &u), OTA_OK);
        memset(&req, 0, sizeof req);
        req.token = "s3cret";
        assert_int_equal(ota_http_request(&c, &u, &req, &r), OTA_OK);
        assert_int_equal(r.status, 200);
        ota_http_close(&c);
        assert_int_equal(s.connects, 2);
        second = strchr(s.log + 1, '|');
        assert_non_null(second);
        assert_true(strstr(s.log, "Authorization: Bearer s3cret\r\n") < second); /* the first request has it */
        if ((strstr(second, "Authorization:") != NULL) != token_after[i])
            fail_msg("Location %s: token %s", locations[i], token_after[i] ? "dropped" : "sent");
    }
}

/* ota_http_set_deadline(): a body that trickles in within the read timeout ends at the deadline,
 * and no wait is longer than what is left of it. */
static void test_deadline(void **state)
{
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n";
    static char full[sizeof resp - 1 + 200];
    static ota_http_t c;
    int with;
    (void)state;
    memcpy(full, resp, sizeof resp - 1);
    memset(full + sizeof resp - 1, 'x', 200);
    for (with = 0; with < 2; with++) {
        script_t s;
        ota_net_t net = {&script_ops, &s};
        ota_platform_ops_t plat; /* the clock */
        ota_http_cfg_t cfg;
        ota_http_req_t req;
        ota_http_resp_t r;
        ota_url_t u;
        body_t b;
        memset(&s, 0, sizeof s);
        s.resp = full;
        s.resp_len = sizeof full;
        s.piece = 1;
        s.tick = 100;          /* 100 ms a byte: far below the 15 s read timeout */
        s.now = 0xfffff000u;   /* the clock wraps during the transfer */
        memset(&plat, 0, sizeof plat);
        plat.now_ms = s_now;
        plat.ctx = &s;
        memset(&cfg, 0, sizeof cfg);
        cfg.tcp = &net;
        cfg.platform = &plat;
        assert_int_equal(ota_http_init(&c, &cfg), OTA_OK);
        if (with)
            ota_http_set_deadline(&c, 5000);
        assert_int_equal(ota_url_parse("http://h/x", &u), OTA_OK);
        memset(&req, 0, sizeof req);
        memset(&b, 0, sizeof b);
        if (with) {
            int rc = ota_http_request(&c, &u, &req, &r);
            if (rc == OTA_OK)
                rc = ota_http_body(&c, collect, &b);
            assert_int_equal(rc, OTA_ERR_TIMEOUT);
            assert_true(s.at < 60 && s.max_wait <= 5000);
        } else {
            assert_int_equal(ota_http_request(&c, &u, &req, &r), OTA_OK);
            assert_int_equal(ota_http_body(&c, collect, &b), OTA_OK);
            assert_int_equal(b.len, 200);
        }
        ota_http_close(&c);
    }
}

/* ---- JSON --------------------------------------------------------------------------------- */

static const char check_doc[] =
    "{\"update\": {\"action_id\": 42, \"status\": \"offered\", \"version\": \"2.0.0+7\", \"filename\": \"fw.img\",\n"
    "  \"size\": 81234, \"sha256\": \"ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789\",\n"
    "  \"sha1\": \"x\", \"md5\": \"y\", \"url\": \"http://127.0.0.1:8080/api/v1/artifacts/abc\",\n"
    "  \"security_counter\": 3, \"slot\": 1, \"reboot\": \"on_command\", \"future\": [1, -2.5e3, {\"a\": [true, null]}]},\n"
    " \"commands\": [{\"id\": 7, \"type\": \"upgrade\", \"version\": \"2.0.0\", \"action_id\": 42,\n"
    "  \"consent_required\": true}, {\"id\": 8, \"type\": \"reboot\", \"action_id\": null}],\n"
    " \"poll_interval\": 300, \"note\": \"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\/ \\n\"}";

static void test_check_parse(void **state)
{
    ota_check_t c;
    size_t i;
    (void)state;
    assert_int_equal(ota_check_parse(check_doc, sizeof check_doc - 1, &c), OTA_OK);
    assert_true(c.has_update);
    assert_int_equal(c.action_id, 42);
    assert_string_equal(c.status, "offered");
    assert_string_equal(c.version, "2.0.0+7");
    assert_int_equal(c.size, 81234);
    assert_string_equal(c.sha256, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
    assert_string_equal(c.url, "http://127.0.0.1:8080/api/v1/artifacts/abc");
    assert_int_equal(c.security_counter, 3);
    assert_int_equal(c.slot, 1);
    assert_true(c.reboot_on_command);
    assert_int_equal(c.n_commands, 2);
    assert_int_equal(c.commands[0].id, 7);
    assert_string_equal(c.commands[0].type, "upgrade");
    assert_string_equal(c.commands[0].version, "2.0.0");
    assert_int_equal(c.commands[0].action_id, 42);
    assert_true(c.commands[0].consent_required);
    assert_int_equal(c.commands[1].id, 8);
    assert_int_equal(c.commands[1].action_id, 0);
    assert_int_equal(c.poll_interval, 300);
    /* every proper prefix is malformed */
    for (i = 0; i < sizeof check_doc - 1; i++)
        if (ota_check_parse(check_doc, i, &c) != OTA_ERR_JSON)
            fail_msg("prefix of %zu bytes accepted", i);
    /* a universal image: "slot": null (the parser once returned 1, neither OK nor an error code) */
    {
        static const char doc[] = "{\"update\":{\"action_id\":1,\"version\":\"1.0.1\",\"size\":9,\"sha256\":"
                                  "\"abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789\",\"url\":"
                                  "\"http://h/a\",\"slot\":null,\"security_counter\":0},\"commands\":[]}";
        assert_int_equal(ota_check_parse(doc, sizeof doc - 1, &c), OTA_OK);
        assert_true(c.has_update);
        assert_int_equal(c.slot, -1);
        assert_int_equal(c.security_counter, 0);
    }
    /* nothing offered */
    assert_int_equal(ota_check_parse("{\"update\":null,\"commands\":[],\"poll_interval\":60}", 48, &c), OTA_OK);
    assert_false(c.has_update);
    assert_int_equal(c.poll_interval, 60);
}

static void test_check_malformed(void **state)
{
    static const struct {
        const char *doc;
        int want;
    } cases[] = {
        {"", OTA_ERR_JSON},
        {"[]", OTA_ERR_JSON},
        {"{}", OTA_ERR_JSON}, /* no "update" */
        {"{\"update\":null} x", OTA_ERR_JSON},
        {"{\"update\":null,}", OTA_ERR_JSON},
        {"{\"update\":null,,\"a\":1}", OTA_ERR_JSON},
        {"{\"update\" null}", OTA_ERR_JSON},
        {"{update:null}", OTA_ERR_JSON},
        {"{'update':null}", OTA_ERR_JSON},
        {"{\"update\":nul}", OTA_ERR_JSON},
        {"{\"update\":null,\"a\":01}", OTA_ERR_JSON},
        {"{\"update\":null,\"a\":1.}", OTA_ERR_JSON},
        {"{\"update\":null,\"a\":.5}", OTA_ERR_JSON},
        {"{\"update\":null,\"a\":+1}", OTA_ERR_JSON},
        {"{\"update\":null,\"a\":1e}", OTA_ERR_JSON},
        {"{\"update\":null,\"a\":\"\\x\"}", OTA_ERR_JSON},
        {"{\"update\":null,\"a\":\"\\ud800\"}", OTA_ERR_JSON},
        {"{\"update\":null,\"a\":\"\\udc00\"}", OTA_ERR_JSON},
        {"{\"update\":null,\"a\":\"\\u12\"}", OTA_ERR_JSON},
        {"{\"update\":null,\"a\":\"tab\there\"}", OTA_ERR_JSON},
        {"{\"update\":null,\"a\":[1,2,]}", OTA_ERR_JSON},
        {"{\"update\":null,\"a\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}", OTA_ERR_JSON},
        {"{\"update\":null,\"poll_interval\":-1}", OTA_ERR_JSON},
        {"{\"update\":null,\"poll_interval\":4294967296}", OTA_ERR_JSON},
        {"{\"update\":null,\"poll_interval\":1.5}", OTA_ERR_JSON},
        {"{\"update\":null,\"poll_interval\":\"60\"}", OTA_ERR_JSON},
        {"{\"update\":{\"action_id\":1,\"version\":\"1\",\"size\":5,\"url\":\"http://h/\"}}", OTA_ERR_JSON},
        {"{\"update\":{\"action_id\":1,\"version\":\"1\",\"size\":5,\"url\":\"http://h/\",\"sha256\":\"abc\"}}",
         OTA_ERR_JSON},
        {"{\"update\":{\"action_id\":1,\"version\":\"1\",\"size\":5,\"url\":\"http://h/\",\"sha256\":"
         "\"g000000000000000000000000000000000000000000000000000000000000000\"}}",
         OTA_ERR_JSON},
        {"{\"update\":{\"action_id\":1,\"version\":1,\"size\":5,\"url\":\"http://h/\",\"sha256\":"
         "\"0000000000000000000000000000000000000000000000000000000000000000\"}}",
         OTA_ERR_JSON},
        {"{\"update\":{\"action_id\":1,\"version\":\"1\",\"size\":5,\"url\":\"http://h/\",\"slot\":2,\"sha256\":"
         "\"0000000000000000000000000000000000000000000000000000000000000000\"}}",
         OTA_ERR_JSON},
        {"{\"update\":null,\"commands\":[{\"id\":1}]}", OTA_ERR_JSON},
        {"{\"update\":null,\"commands\":{}}", OTA_ERR_JSON},
        {"{\"update\":null,\"commands\":[{\"id\":1,\"type\":\"a\"},{\"id\":2,\"type\":\"a\"},{\"id\":3,\"type\":\"a\"},"
         "{\"id\":4,\"type\":\"a\"},{\"id\":5,\"type\":\"a\"}]}",
         OTA_ERR_NO_SPACE},
        {"{\"update\":null,\"commands\":[{\"id\":1,\"type\":\"a-very-long-command-type\"}]}", OTA_ERR_NO_SPACE},
    };
    ota_check_t c;
    unsigned i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = ota_check_parse(cases[i].doc, strlen(cases[i].doc), &c);
        if (rc != cases[i].want)
            fail_msg("case %u: %s gave %s", i, cases[i].doc, ota_errname(rc));
    }
    /* a NUL byte inside the document */
    assert_int_equal(ota_check_parse("{\"update\":null}\0", 16, &c), OTA_ERR_JSON);
}

static void test_json_reader(void **state)
{
    static const char *good[] = {"0", "-0", "-12.5e+7", "1E3", "\"\"", "[]", "{}", "[{}, [], \"a\", true, false, null]",
                                 "{\"a\": {\"b\": [1, {\"c\": \"\\u0041\\\\\"}]}}"};
    ota_json_t j;
    char out[8];
    unsigned i;
    (void)state;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        ota_json_init(&j, good[i], strlen(good[i]));
        assert_int_equal(ota_json_skip(&j), 0);
        assert_int_equal(ota_json_finish(&j), 0);
    }
    ota_json_init(&j, "\"caf\\u00e9!\"", 12);
    assert_int_equal(ota_json_string(&j, out, sizeof out), 6);
    assert_string_equal(out, "caf\xc3\xa9!");
    ota_json_init(&j, "\"12345678\"", 10);
    assert_int_equal(ota_json_string(&j, out, sizeof out), OTA_ERR_NO_SPACE);
}

/* Random byte flips, insertions and cuts of valid answers: every outcome is a result code (ASan and
 * UBSan watch for anything else), and an accepted check never holds an unterminated string. */
static void test_mutations(void **state)
{
    static const char resp[] = "HTTP/1.1 206 Partial Content\r\nTransfer-Encoding: chunked\r\nETag: \"e\"\r\n"
                               "Content-Range: bytes 5-14/100\r\n\r\n4;x\r\nabcd\r\n6\r\nefghij\r\n0\r\nT: 1\r\n\r\n";
    static const char flips[] = "\r\n:;\" 0129aAfFzZ-/*{}[],\\u";
    char buf[sizeof check_doc + 16];
    uint32_t seed = 12345;
    unsigned i;
    (void)state;
    for (i = 0; i < 3000; i++) {
        const char *src = i % 2 ? resp : check_doc;
        size_t n = i % 2 ? sizeof resp - 1 : sizeof check_doc - 1, k, m;
        memcpy(buf, src, n);
        for (m = 0; m < 1 + i % 3; m++) {
            seed = seed * 1103515245u + 12345u;
            k = (seed >> 8) % n;
            buf[k] = flips[(seed >> 20) % (sizeof flips - 1)];
        }
        seed = seed * 1103515245u + 12345u;
        if (seed % 5 == 0)
            n = (seed >> 8) % n; /* and sometimes cut short */
        if (i % 2) {
            ota_http_resp_t r;
            body_t b;
            int brc;
            (void)run(buf, n, NULL, &r, &b, &brc, NULL);
        } else {
            ota_check_t c;
            if (ota_check_parse(buf, n, &c) == OTA_OK && c.has_update) {
                assert_true(strlen(c.version) < sizeof c.version && strlen(c.url) < sizeof c.url);
                assert_int_equal(strlen(c.sha256), 64);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_url_failed_resolve_keeps_path),
        cmocka_unit_test(test_request_bytes),
        cmocka_unit_test(test_content_length_and_headers),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_until_close_and_truncation),
        cmocka_unit_test(test_malformed_heads),
        cmocka_unit_test(test_header_limits),
        cmocka_unit_test(test_keep_alive_reuse),
        cmocka_unit_test(test_redirect_token),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_check_parse),
        cmocka_unit_test(test_check_malformed),
        cmocka_unit_test(test_json_reader),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
