/* libmicrohttpd glue: routing, the auth hook, bodies, responses (see http.h). */
#define _GNU_SOURCE
#include "http.h"
#include "input.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/sha256.h>

#include "log.h"
#include "metrics.h"
#include "mhd_errors.h"
#include "ratelimit.h"

static http_config_t cfg;
static const http_route_t *const *route_tables;
static unsigned conns_live; /* open connections (atomic) */

/* ---- routing ------------------------------------------------------------------------------ */

/* Matches url against pattern; on success fills r->params (allocated) and returns 1. */
static int match(const char *pattern, const char *url, http_req_t *r)
{
    const char *p = pattern, *u = url;
    int n = 0;
    while (*p && *u) {
        if (*p == '{') {
            const char *pe = strchr(p, '}'), *ue = u;
            while (*ue && *ue != '/')
                ue++;
            if (!pe || ue == u || n == 4)
                goto no;
            r->params[n] = strndup(u, (size_t)(ue - u));
            r->nparams = ++n;
            p = pe + 1;
            u = ue;
        } else if (*p++ != *u++) {
            goto no;
        }
    }
    if (*p == 0 && *u == 0)
        return 1;
no:
    while (n > 0)
        free(r->params[--n]);
    r->nparams = 0;
    return 0;
}

/* Finds the route; *method_mismatch is set when the path exists with another method. */
static const http_route_t *route_find(http_req_t *r, int *method_mismatch)
{
    const http_route_t *const *t;
    const http_route_t *rt;
    *method_mismatch = 0;
    for (t = route_tables; *t; t++)
        for (rt = *t; rt->method; rt++) {
            int same = !strcmp(rt->method, r->method) || (r->is_head && !strcmp(rt->method, "GET"));
            if (!match(rt->pattern, r->url, r))
                continue;
            if (same)
                return rt;
            *method_mismatch = 1;
            while (r->nparams > 0)
                free(r->params[--r->nparams]);
        }
    return NULL;
}

void http_print_routes(const http_route_t *const *tables, FILE *out)
{
    static const char *const kinds[] = {"admin", "owner", "device", "enroll"};
    static const char *const bodies[] = {"none", "json", "stream"};
    const http_route_t *rt;
    unsigned k;
    for (; *tables; tables++)
        for (rt = *tables; rt->method; rt++) {
            int n = 0;
            fprintf(out, "%s %s ", rt->method, rt->pattern);
            for (k = 0; k < 4; k++)
                if (rt->auth & (1u << k))
                    fprintf(out, "%s%s", n++ ? "|" : "", kinds[k]);
            fprintf(out, "%s %s\n", n ? "" : "none", rt->body < 3 ? bodies[rt->body] : "?");
        }
}

const char *http_param(http_req_t *r, int i)
{
    return i < r->nparams ? r->params[i] : NULL;
}

const char *http_query(http_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

int http_page(http_req_t *r, int64_t *limit, int64_t *offset, enum MHD_Result *ret)
{
    const char *ls = http_query(r, "limit"), *os = http_query(r, "offset");
    *limit = 1000;
    *offset = 0;
    if (ls && ((*limit = input_parse_id(ls)) <= 0 || *limit > 10000)) {
        *ret = http_error(r, ERR_BAD_LIMIT, "limit must be 1..10000");
        return -1;
    }
    if (os && strcmp(os, "0") && (*offset = input_parse_id(os)) <= 0) {
        *ret = http_error(r, ERR_BAD_OFFSET, "offset must be a non-negative integer");
        return -1;
    }
    return 0;
}

const char *http_header(http_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* ---- responses ---------------------------------------------------------------------------- */

static enum MHD_Result respond(http_req_t *r, unsigned status, struct MHD_Response *resp)
{
    enum MHD_Result ret;
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Server", "otakit");
    /* ESP8266httpUpdate (useHTTP10) and other HTTP/1.0 clients get an HTTP/1.0 status line, and
     * never a chunked body. */
    if (r->http10)
        MHD_set_response_options(resp, MHD_RF_HTTP_1_0_SERVER, MHD_RO_END);
    if (r->close)
        MHD_add_response_header(resp, "Connection", "close");
    r->status = status;
    ret = mhd_queue(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result http_text(http_req_t *r, unsigned status, const char *ctype, const char *body, size_t len,
                          const char *const *headers)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    if (ctype)
        MHD_add_response_header(resp, "Content-Type", ctype);
    for (; headers && headers[0]; headers += 2)
        MHD_add_response_header(resp, headers[0], headers[1]);
    return respond(r, status, resp);
}

enum MHD_Result http_stream(http_req_t *r, const char *ctype, MHD_ContentReaderCallback reader, void *cls,
                            MHD_ContentReaderFreeCallback free_cb)
{
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, reader, cls, free_cb);
    if (!resp) {
        free_cb(cls);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", ctype);
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* a reverse proxy passes each event at once */
    return respond(r, 200, resp);
}

enum MHD_Result http_json(http_req_t *r, unsigned status, json_t *obj)
{
    char *s = obj ? json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    enum MHD_Result ret;
    json_decref(obj);
    if (!s) { /* a value that is not JSON (text that is not UTF-8): an answer all the same */
        log_msg(LOG_ERROR, "cannot encode the answer", "method=%s path=%s", r->method, r->url);
        return http_error(r, ERR_INTERNAL, "the answer could not be encoded");
    }
    ret = http_text(r, status, "application/json", s, strlen(s), NULL);
    free(s);
    return ret;
}

/* The error body of e with message msg (made printable ASCII in place: it may echo request
 * input, and the JSON must stay valid). Returns a string to free(), or NULL. */
static char *error_body(err_t e, char *msg)
{
    char *c;
    for (c = msg; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
            *c = '?';
    return err_json(e, msg);
}

enum MHD_Result http_error_headers(http_req_t *r, err_t e, const char *const *headers, const char *fmt, ...)
{
    char msg[512], *body;
    enum MHD_Result ret;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!(body = error_body(e, msg)))
        return MHD_NO;
    if (err_status(e) >= 500)
        log_msg(LOG_ERROR, "request failed", "method=%s path=%s status=%u code=%s error=\"%s\"", r->method, r->url,
                err_status(e), err_code(e), msg);
    ret = http_text(r, err_status(e), "application/json", body, strlen(body), headers);
    free(body);
    return ret;
}

enum MHD_Result http_too_many(http_req_t *r, unsigned retry_after, const char *msg)
{
    char ra[16];
    snprintf(ra, sizeof ra, "%u", retry_after);
    return http_error_headers(r, ERR_TOO_MANY_REQUESTS, (const char *const[]){"Retry-After", ra, NULL}, "%s", msg);
}

enum MHD_Result http_storage_error(http_req_t *r, int err, const char *what)
{
    if (err == ENOSPC || err == EDQUOT || err == EFBIG)
        return http_error(r, ERR_INSUFFICIENT_STORAGE, "%s: %s", what, strerror(err));
    return http_error(r, ERR_STORAGE, "%s: %s", what, strerror(err));
}

/* Parses a single "bytes=" range against size. Returns 1 with [*from, *to] (inclusive), 0 when the
 * header should be ignored (syntax we do not serve: send the whole file), -1 when unsatisfiable. */
static int parse_range(const char *h, uint64_t size, uint64_t *from, uint64_t *to)
{
    char *end;
    unsigned long long a, b;
    if (strncmp(h, "bytes=", 6) != 0)
        return 0;
    h += 6;
    if (strchr(h, ','))
        return 0; /* multiple ranges: answered with the whole representation (RFC 7233 allows it) */
    if (*h == '-') {
        b = strtoull(h + 1, &end, 10);
        if (end == h + 1 || *end)
            return 0;
        if (b == 0 || size == 0)
            return -1;
        *from = b >= size ? 0 : size - b;
        *to = size - 1;
        return 1;
    }
    a = strtoull(h, &end, 10);
    if (end == h || *end != '-')
        return 0;
    h = end + 1;
    if (*h == 0) {
        b = size ? size - 1 : 0;
    } else {
        b = strtoull(h, &end, 10);
        if (*end || b < a)
            return 0;
        if (b >= size)
            b = size - 1;
    }
    if (a >= size)
        return -1;
    *from = a;
    *to = b;
    return 1;
}

enum MHD_Result http_file(http_req_t *r, const char *path, const char *etag, const char *ctype,
                          const char *const *headers)
{
    struct MHD_Response *resp;
    struct stat st;
    char qetag[80], cr[96];
    const char *range = http_header(r, "Range"), *ifr = http_header(r, "If-Range"),
               *inm = http_header(r, "If-None-Match");
    uint64_t from = 0, to = 0;
    int fd, rr = 0;
    unsigned status = MHD_HTTP_OK;

    snprintf(qetag, sizeof qetag, "\"%s\"", etag);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return http_error(r, ERR_NOT_FOUND, "artifact is gone from the store");
    }
    if (inm && (strstr(inm, qetag) || !strcmp(inm, "*"))) {
        close(fd);
        return http_text(r, MHD_HTTP_NOT_MODIFIED, NULL, "", 0, (const char *const[]){"ETag", qetag, NULL});
    }
    /* If-Range: serve the range only if the representation is still the one the client has. */
    if (range && (!ifr || !strcmp(ifr, qetag)))
        rr = parse_range(range, (uint64_t)st.st_size, &from, &to);
    if (rr < 0) {
        close(fd);
        snprintf(cr, sizeof cr, "bytes */%" PRIu64, (uint64_t)st.st_size);
        return http_error_headers(r, ERR_RANGE_NOT_SATISFIABLE, (const char *const[]){"Content-Range", cr, NULL},
                                  "range outside the file");
    }
    if (rr == 0) {
        from = 0;
        to = st.st_size ? (uint64_t)st.st_size - 1 : 0;
    } else {
        status = MHD_HTTP_PARTIAL_CONTENT;
    }
    /* libmicrohttpd sends a HEAD answer's headers (Content-Length included) without its body. */
    resp = MHD_create_response_from_fd_at_offset64(st.st_size ? to - from + 1 : 0, fd, (uint64_t)from);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", ctype ? ctype : "application/octet-stream");
    MHD_add_response_header(resp, "Accept-Ranges", "bytes");
    MHD_add_response_header(resp, "ETag", qetag);
    if (status == MHD_HTTP_PARTIAL_CONTENT) {
        snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, from, to, (uint64_t)st.st_size);
        MHD_add_response_header(resp, "Content-Range", cr);
    }
    for (; headers && headers[0]; headers += 2)
        MHD_add_response_header(resp, headers[0], headers[1]);
    return respond(r, status, resp);
}

/* ---- tokens ------------------------------------------------------------------------------- */

void http_token_hash(const char *token, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char h[32];
    int i;
    mbedtls_sha256_ret((const unsigned char *)token, strlen(token), h, 0);
    for (i = 0; i < 32; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[64] = 0;
}

int http_new_token(char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[32];
    int i, fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, b, sizeof b) != (ssize_t)sizeof b) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    for (i = 0; i < 32; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[64] = 0;
    return 0;
}

/* ---- request lifecycle -------------------------------------------------------------------- */

static void hex_of(const unsigned char *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * n] = 0;
}

static int upload_open(http_req_t *r)
{
    static const mbedtls_md_type_t types[3] = {MBEDTLS_MD_SHA256, MBEDTLS_MD_SHA1, MBEDTLS_MD_MD5};
    int i;
    snprintf(r->upload_path, sizeof r->upload_path, "%s/upload-XXXXXX", cfg.tmp_dir);
    r->upload_fd = mkstemp(r->upload_path);
    if (r->upload_fd < 0)
        return -1;
    for (i = 0; i < 3; i++) {
        mbedtls_md_init(&r->md[i]);
        if (mbedtls_md_setup(&r->md[i], mbedtls_md_info_from_type(types[i]), 0) != 0 ||
            mbedtls_md_starts(&r->md[i]) != 0)
            return -1;
    }
    return 0;
}

static void upload_finish(http_req_t *r)
{
    unsigned char h[32];
    mbedtls_md_finish(&r->md[0], h);
    hex_of(h, 32, r->sha256);
    mbedtls_md_finish(&r->md[1], h);
    hex_of(h, 20, r->sha1);
    mbedtls_md_finish(&r->md[2], h);
    hex_of(h, 16, r->md5);
}

static void req_free(http_req_t *r)
{
    int i;
    while (r->nparams > 0)
        free(r->params[--r->nparams]);
    free(r->body);
    free(r->url_abs);
    free(r->lp);
    json_decref(r->json);
    if (r->upload_fd > 0) {
        close(r->upload_fd);
        for (i = 0; i < 3; i++)
            mbedtls_md_free(&r->md[i]);
    }
    if (r->upload_path[0])
        unlink(r->upload_path); /* a handler that keeps the upload renames it first */
    free(r);
}

unsigned http_conns_live(void)
{
    return __atomic_load_n(&conns_live, __ATOMIC_SEQ_CST);
}

/* The access log line and the metrics of one finished request. Logged: method, route pattern,
 * path, status, duration, client address and body size; never a header (tokens) or the query
 * string (compat protocols carry identities there). */
static void access_log(http_req_t *r, enum MHD_RequestTerminationCode toe)
{
    static const char unmatched[] = "unmatched", other[] = "OTHER";
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", NULL};
    const char *route = r->route ? r->route->pattern : unmatched, *method = other, *const *m;
    struct timespec t1;
    double secs;
    char path[201];
    size_t i;
    for (i = 0; r->route && r->url[i] && i < sizeof path - 1; i++) /* printable, no quote: one logfmt value */
        path[i] = (r->url[i] < 0x20 || r->url[i] > 0x7e || r->url[i] == '"' || r->url[i] == '\\') ? '?' : r->url[i];
    path[i] = 0;
    for (m = methods; *m; m++)
        if (!strcmp(*m, r->method))
            method = *m;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - r->t0.tv_sec) + (double)(t1.tv_nsec - r->t0.tv_nsec) / 1e9;
    metrics_request(route, method, r->status, secs);
    if (!cfg.access_log)
        return;
    log_msg(LOG_INFO, "request", "method=%s route=\"%s\" path=\"%s\" status=%u ms=%.1f addr=%s in=%llu%s",
            method, route, r->route ? path : "-", r->status, secs * 1000.0, r->addr ? r->addr : "?",
            (unsigned long long)(r->upload_len + r->body_len),
            toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=true");
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    if (*con_cls) {
        access_log(*con_cls, toe);
        req_free(*con_cls);
    }
    *con_cls = NULL;
}

/* Per-connection state: the client's address and whether it was admitted under the limits. */
struct conn_ctx {
    char addr[48];
    int admitted;
};

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct conn_ctx *x = *socket_context;
    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        unsigned live = __atomic_add_fetch(&conns_live, 1, __ATOMIC_SEQ_CST), per_ip;
        if (!(x = calloc(1, sizeof *x)))
            return;
        if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr, x->addr,
                      sizeof x->addr);
        else
            snprintf(x->addr, sizeof x->addr, "?");
        per_ip = rl_conn_count(x->addr, +1);
        x->admitted = live <= cfg.max_conns && per_ip <= cfg.max_conns_per_ip;
        if (!x->admitted)
            log_msg(LOG_WARN, "connection over the limit", "addr=%s from_addr=%u open=%u", x->addr, per_ip, live);
        *socket_context = x;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        __atomic_sub_fetch(&conns_live, 1, __ATOMIC_SEQ_CST);
        if (x) {
            rl_conn_count(x->addr, -1);
            free(x);
            *socket_context = NULL;
        }
    }
}

/* Whether a request announces a body (Content-Length > 0 or chunked). */
static int has_body(http_req_t *r)
{
    const char *cl = http_header(r, "Content-Length"), *te = http_header(r, "Transfer-Encoding");
    return (cl && strspn(cl, "0") != strlen(cl)) || te;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    http_req_t *r = *con_cls;
    int mismatch;
    (void)cls;

    if (!r) {
        /* First call: headers only. Route and authenticate before reading any body. */
        if (!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        *con_cls = r;
        r->conn = c;
        r->method = method;
        r->url = url;
        r->upload_fd = -1;
        clock_gettime(CLOCK_MONOTONIC, &r->t0);
        r->is_head = !strcmp(method, "HEAD");
        r->http10 = version && !strcmp(version, MHD_HTTP_VERSION_1_0);
        /* AutoConnect's client requests uri + "/" + name with a relative uri ("GET fw/app.bin"), which
         * its own updateserver.py resolves under its catalog root: so is it resolved here. */
        if (url[0] != '/' && url[0] != 0) {
            if (!(r->url_abs = malloc(strlen(url) + 2)))
                return MHD_NO;
            r->url_abs[0] = '/';
            strcpy(r->url_abs + 1, url);
            r->url = r->url_abs;
            url = r->url_abs;
        }
        {
            const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
            const struct conn_ctx *x = ci ? ci->socket_context : NULL;
            r->addr = x ? x->addr : "?";
            if (x && !x->admitted) {
                r->close = 1;
                /* a device told when to come back spreads its retry instead of hammering a full server */
                return http_error_headers(r, ERR_OVERLOADED, (const char *const[]){"Retry-After", "5", NULL},
                                          "too many connections (from %s or in all): retry later", r->addr);
            }
        }
        if (strstr(url, "/../") || strstr(url, "/./") || (strlen(url) >= 3 && !strcmp(url + strlen(url) - 3, "/..")))
            return http_error(r, ERR_BAD_PATH, "path traversal is not allowed");
        r->route = route_find(r, &mismatch);
        if (!r->route)
            return mismatch ? http_error(r, ERR_METHOD_NOT_ALLOWED,
                                         "%s is not allowed on %s", method, url)
                            : http_error(r, ERR_NOT_FOUND, "no such route: %s", url);
        if (r->route->body == BODY_NONE && has_body(r)) {
            r->close = 1; /* refused before a byte of it is read; the connection cannot be reused */
            return http_error(r, ERR_BODY_NOT_ALLOWED, "%s %s takes no request body", method,
                              r->route->pattern);
        }
        if (cfg.authorize && !cfg.authorize(r))
            return MHD_YES; /* the refusal (401/403) is queued */
        if (r->auth_kind != AUTH_NONE) /* a caller with a valid token may idle longer */
            MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, cfg.idle_timeout);
        if (r->route->body == BODY_STREAM && upload_open(r) != 0)
            return http_error(r, ERR_STORAGE, "cannot create upload file: %s",
                              strerror(errno));
        return MHD_YES;
    }

    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_big || r->write_errno || r->route->body == BODY_NONE)
            return MHD_YES; /* discarded */
        if (r->route->body == BODY_STREAM) {
            int i;
            if (r->upload_len + n > cfg.max_upload) {
                r->too_big = 1;
                return MHD_YES;
            }
            for (i = 0; i < 3; i++)
                mbedtls_md_update(&r->md[i], (const unsigned char *)upload_data, n);
            while (n) {
                ssize_t w = write(r->upload_fd, upload_data, n);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0) { /* answered once the body is in (the client is still sending it) */
                    r->write_errno = w < 0 ? errno : ENOSPC;
                    /* give the space back now, not when the client is done sending */
                    if (ftruncate(r->upload_fd, 0) == 0 && unlink(r->upload_path) == 0)
                        r->upload_path[0] = 0;
                    log_msg(LOG_WARN, "upload write failed", "path=%s error=\"%s\"", r->url,
                            strerror(r->write_errno));
                    return MHD_YES;
                }
                upload_data += w;
                n -= (size_t)w;
                r->upload_len += (uint64_t)w;
            }
        } else {
            char *nb;
            if (r->body_len + n > cfg.max_json) {
                r->too_big = 1;
                return MHD_YES;
            }
            if (!(nb = realloc(r->body, r->body_len + n + 1)))
                return MHD_NO;
            r->body = nb;
            memcpy(r->body + r->body_len, upload_data, n);
            r->body_len += n;
            r->body[r->body_len] = 0;
        }
        return MHD_YES;
    }

    /* Last call: the whole body is in. */
    if (r->too_big)
        return http_error(r, ERR_TOO_LARGE, "request body is larger than %llu bytes",
                          (unsigned long long)(r->route->body == BODY_STREAM ? cfg.max_upload : cfg.max_json));
    if (r->route->body == BODY_JSON) {
        json_error_t err;
        if (!r->body_len)
            return http_error(r, ERR_BAD_JSON, "a JSON object body is required");
        r->json = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &err);
        if (!r->json || !json_is_object(r->json))
            return http_error(r, ERR_BAD_JSON, "body is not a JSON object%s%s",
                              r->json ? "" : ": ", r->json ? "" : err.text);
    } else if (r->route->body == BODY_STREAM) {
        if (!r->write_errno && fsync(r->upload_fd) != 0)
            r->write_errno = errno;
        if (r->write_errno)
            return http_storage_error(r, r->write_errno, "cannot store the upload");
        upload_finish(r);
    }
    return r->route->fn(r);
}

static int parse_listen(const char *s, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    char *end;
    unsigned long port;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    if (!colon || (size_t)(colon - s) >= sizeof host)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    port = strtoul(colon + 1, &end, 10);
    if (*end || port > 65535 || inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa->sin_addr) != 1)
        return -1;
    sa->sin_port = htons((uint16_t)port);
    return 0;
}

static __attribute__((format(printf, 2, 0))) void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];
    size_t n;
    (void)cls;
    vsnprintf(buf, sizeof buf, fmt, ap);
    n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '"'))
        buf[--n] = 0;
    log_msg(LOG_WARN, "http", "detail=\"%s\"", buf);
}

static char *read_pem(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = calloc(1, (size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

struct MHD_Daemon *http_start(const http_config_t *c, const http_route_t *const *tables)
{
    struct sockaddr_in sa;
    struct MHD_Daemon *d;
    /* suspend/resume: event streams (sse.c) and long-polling checks (longpoll.h) wait suspended,
     * without holding a thread */
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    static char *cert, *key;

    cfg = *c;
    route_tables = tables;
    if (mhd_errors_init(c->tls_cert != NULL) != 0)
        return NULL;
    if (parse_listen(c->listen, &sa) != 0) {
        log_msg(LOG_ERROR, "bad listen address (want IPV4:PORT)", "listen=%s", c->listen);
        return NULL;
    }
    if (c->tls_cert || c->tls_key) {
        if (!c->tls_cert || !c->tls_key || !(cert = read_pem(c->tls_cert)) || !(key = read_pem(c->tls_key))) {
            log_msg(LOG_ERROR, "HTTPS needs a readable --tls-cert and --tls-key", NULL);
            return NULL;
        }
        flags |= MHD_USE_TLS;
    }
    d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                         MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(c->threads ? c->threads : 4),
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION,
                         on_connection, NULL,
                         /* past max_conns connections are still taken to be answered 503; only past
                          * this margin does the kernel's backlog hold them */
                         MHD_OPTION_CONNECTION_LIMIT, c->max_conns + c->max_conns / 8 + 16,
                         MHD_OPTION_CONNECTION_TIMEOUT, c->unauth_timeout,
                         /* per-connection buffer: device requests are small, uploads stream */
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(12 * 1024),
                         cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
                         MHD_OPTION_END);
    if (!d)
        log_msg(LOG_ERROR, "cannot start HTTP server", "listen=%s error=\"%s\"", c->listen, strerror(errno));
    return d;
}

unsigned http_port(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : 0;
}
