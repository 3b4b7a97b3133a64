/*
 * HTTP/1.1 client: URL parsing, the request writer and a streaming response parser (status line,
 * headers, Content-Length / chunked / until-close bodies). See otakit/http.h.
 *
 * One buffer (ota_http_t.buf) serves everything: the request is formatted into it and sent, then
 * response bytes are received into it. Header and chunk-size lines are parsed in place (a line must
 * fit in the buffer); body bytes are handed out as slices of it, so nothing is copied twice and no
 * response is ever held whole. Portable C99: no heap, no stdio, no ctype (locale free).
 */
#include <string.h>

#include "otakit/http.h"

#include "core/buf.h"
#include "core/deadline.h"
#include "core/text.h"

#define DEFAULT_CONNECT_MS 10000u
#define DEFAULT_READ_MS 15000u
#define DEFAULT_USER_AGENT "otakit/0.1"

/* Body parser states (ota_http_t.body_state). */
enum { B_NONE, B_LENGTH, B_EOF, B_CHUNK_SIZE, B_CHUNK_DATA, B_CHUNK_END, B_TRAILER, B_DONE };

/* ---- the connection ----------------------------------------------------------------------- */

/* Maps a transport's failure to the codes the client promises. */
static int net_err(int rc)
{
    return rc == OTA_ERR_TIMEOUT || rc == OTA_ERR_TLS || rc == OTA_ERR_ARG ? rc : OTA_ERR_NET;
}

/* The longest the next receive or send may wait: the read timeout, cut to what is left of the
 * deadline (0 once it has passed). */
static uint32_t read_ms(const ota_http_t *c)
{
    return ota_deadline_wait(&c->deadline, c->cfg.read_timeout_ms ? c->cfg.read_timeout_ms : DEFAULT_READ_MS);
}

void ota_http_set_deadline(ota_http_t *c, uint32_t ms)
{
    ota_deadline_start(&c->deadline, c->cfg.platform, ms);
}

int ota_http_init(ota_http_t *c, const ota_http_cfg_t *cfg)
{
    if (!c || !cfg || !cfg->tcp || !cfg->tcp->ops)
        return OTA_ERR_ARG;
    memset(c, 0, sizeof *c);
    c->cfg = *cfg;
    c->h = -1;
    return OTA_OK;
}

void ota_http_close(ota_http_t *c)
{
    if (c->h >= 0)
        c->net->ops->close(c->net->ctx, c->h);
    c->h = -1;
    c->reusable = 0;
    c->pos = c->len = 0;
    c->body_state = B_NONE; /* a body cut short reads as an error, not as its end */
}

/* Makes sure a connection to url's server is open. Returns 1 when a kept-alive one is reused,
 * 0 when a new one was opened, or an error. */
static int conn_open(ota_http_t *c, const ota_url_t *url)
{
    const ota_net_t *net = url->https ? c->cfg.tls : c->cfg.tcp;
    uint32_t wait;
    int h;
    if (c->h >= 0 && c->reusable && c->conn_https == url->https && c->conn_port == url->port &&
        strcmp(c->conn_host, url->host) == 0)
        return 1;
    ota_http_close(c);
    if (!net || !net->ops)
        return OTA_ERR_TLS; /* https:// without a TLS transport */
    wait = ota_deadline_wait(&c->deadline, c->cfg.connect_timeout_ms ? c->cfg.connect_timeout_ms : DEFAULT_CONNECT_MS);
    if (!wait)
        return OTA_ERR_TIMEOUT;
    h = net->ops->connect(net->ctx, url->host, url->port, wait);
    if (h < 0)
        return net_err(h);
    c->net = net;
    c->h = h;
    c->conn_https = url->https;
    c->conn_port = url->port;
    memcpy(c->conn_host, url->host, strlen(url->host) + 1);
    return 0;
}

static int send_all(ota_http_t *c, const void *buf, size_t n)
{
    const uint8_t *p = (const uint8_t *)buf;
    while (n) {
        uint32_t wait = read_ms(c);
        int rc = wait ? c->net->ops->send(c->net->ctx, c->h, p, n, wait) : OTA_ERR_TIMEOUT;
        if (rc <= 0 || (size_t)rc > n)
            return rc < 0 ? net_err(rc) : OTA_ERR_NET;
        p += rc;
        n -= (size_t)rc;
    }
    return OTA_OK;
}

/* Receives more bytes after buf[len], first moving unread bytes to the front when the buffer is
 * full. Returns the number received (>0), 0 when the peer closed, or an error. */
static int fill(ota_http_t *c)
{
    uint32_t wait = read_ms(c);
    int rc;
    if (!wait)
        return OTA_ERR_TIMEOUT;
    if (c->pos == c->len) {
        c->pos = c->len = 0;
    } else if (c->len == sizeof c->buf && c->pos > 0) {
        memmove(c->buf, c->buf + c->pos, c->len - c->pos);
        c->len -= c->pos;
        c->pos = 0;
    }
    rc = c->net->ops->recv(c->net->ctx, c->h, c->buf + c->len, sizeof c->buf - c->len, wait);
    if (rc < 0)
        return net_err(rc);
    if ((size_t)rc > sizeof c->buf - c->len)
        return OTA_ERR_NET;
    c->len += (size_t)rc;
    return rc;
}

/* Gets the next line of the response without its CR LF, NUL-terminated in place: *line is valid
 * until the next read. Lines that do not fit in the buffer fail with too_long; header lines
 * (head != 0) also count against OTA_HTTP_HEAD_MAX. Returns the line length or an error. */
static int read_line(ota_http_t *c, char **line, int too_long, int head)
{
    size_t scan = c->pos;
    for (;;) {
        size_t off;
        int rc;
        while (scan < c->len && c->buf[scan] != '\n')
            scan++;
        if (scan < c->len) {
            size_t start = c->pos, end = scan;
            if (head && (c->head_bytes += (uint32_t)(scan + 1 - start)) > OTA_HTTP_HEAD_MAX)
                return OTA_ERR_HEADERS_TOO_BIG;
            c->pos = scan + 1;
            if (end > start && c->buf[end - 1] == '\r')
                end--;
            c->buf[end] = 0;
            *line = (char *)c->buf + start;
            return (int)(end - start);
        }
        if (head && c->head_bytes + (c->len - c->pos) > OTA_HTTP_HEAD_MAX)
            return OTA_ERR_HEADERS_TOO_BIG;
        if (c->pos == 0 && c->len == sizeof c->buf)
            return too_long;
        off = scan - c->pos;
        rc = fill(c);
        if (rc <= 0)
            return rc < 0 ? rc : OTA_ERR_NET; /* closed in the middle of a line */
        scan = c->pos + off;
    }
}

/* ---- the request -------------------------------------------------------------------------- */

/* 1 when s is a header value we may send: printable ASCII and spaces, no CR/LF. */
static int value_ok(const char *s)
{
    return ota_printable(s, (size_t)-1);
}

/* 1 when s is empty or a run of "Name: value\r\n" lines: a name of printable ASCII without spaces
 * or colons, a value of printable ASCII and spaces, and a CRLF after every line. */
static int lines_ok(const char *s)
{
    while (*s) {
        const char *n = s;
        for (; *s && *s != ':'; s++)
            if ((unsigned char)*s <= 0x20 || (unsigned char)*s > 0x7e)
                return 0;
        if (s == n || *s++ != ':')
            return 0;
        for (; *s && *s != '\r'; s++)
            if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
                return 0;
        if (s[0] != '\r' || s[1] != '\n')
            return 0;
        s += 2;
    }
    return 1;
}

static int send_request(ota_http_t *c, const ota_url_t *url, const ota_http_req_t *req)
{
    const char *method = req->method ? req->method : "GET";
    const char *ua = c->cfg.user_agent ? c->cfg.user_agent : DEFAULT_USER_AGENT;
    const char *m;
    ota_buf_t w;
    int rc;
    for (m = method; *m; m++)
        if (*m < 'A' || *m > 'Z')
            return OTA_ERR_ARG;
    if (!*method || !value_ok(ua) || (req->token && !value_ok(req->token)) ||
        (req->if_range && !value_ok(req->if_range)) || (req->content_type && !value_ok(req->content_type)) ||
        (req->extra_headers && !lines_ok(req->extra_headers)))
        return OTA_ERR_ARG; /* no header injection through CR/LF */
    ota_buf_bytes(&w, c->buf, sizeof c->buf);
    ota_buf_put(&w, method);
    ota_buf_put(&w, " ");
    ota_buf_put(&w, url->path);
    ota_buf_put(&w, " HTTP/1.1\r\nHost: ");
    if (strchr(url->host, ':')) { /* IPv6 literal */
        ota_buf_put(&w, "[");
        ota_buf_put(&w, url->host);
        ota_buf_put(&w, "]");
    } else {
        ota_buf_put(&w, url->host);
    }
    if (url->port != (url->https ? 443 : 80)) {
        ota_buf_put(&w, ":");
        ota_buf_put_u32(&w, url->port);
    }
    ota_buf_put(&w, "\r\nUser-Agent: ");
    ota_buf_put(&w, ua);
    if (req->token) {
        ota_buf_put(&w, "\r\nAuthorization: Bearer ");
        ota_buf_put(&w, req->token);
    }
    if (req->has_range) {
        ota_buf_put(&w, "\r\nRange: bytes=");
        ota_buf_put_u32(&w, req->range_from);
        ota_buf_put(&w, "-");
    }
    if (req->if_range) {
        ota_buf_put(&w, "\r\nIf-Range: ");
        ota_buf_put(&w, req->if_range);
    }
    if (req->body) {
        ota_buf_put(&w, "\r\nContent-Type: ");
        ota_buf_put(&w, req->content_type ? req->content_type : "application/json");
        ota_buf_put(&w, "\r\nContent-Length: ");
        ota_buf_put_u32(&w, req->body_len);
    }
    if (req->extra_headers && *req->extra_headers) { /* its last CRLF is the one put below */
        ota_buf_put(&w, "\r\n");
        ota_buf_put_n(&w, req->extra_headers, strlen(req->extra_headers) - 2);
    }
    ota_buf_put(&w, c->cfg.keep_alive ? "\r\nConnection: keep-alive\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
    if (w.full)
        return OTA_ERR_NO_SPACE;
    c->pos = c->len = 0;
    if ((rc = send_all(c, c->buf, w.n)) != OTA_OK)
        return rc;
    if (req->body && req->body_len)
        return send_all(c, req->body, req->body_len);
    return OTA_OK;
}

/* ---- the response head -------------------------------------------------------------------- */

/* The body is over: keep the connection for the next request, or close it. */
static void body_done(ota_http_t *c)
{
    int keep = c->cfg.keep_alive && !c->server_close && c->pos == c->len;
    if (!keep)
        ota_http_close(c);
    c->reusable = (uint8_t)keep;
    c->body_state = B_DONE;
}

static int is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* "HTTP/1.x NNN reason". Returns OTA_OK or OTA_ERR_HTTP. */
static int parse_status(ota_http_t *c, const char *l, int n, ota_http_resp_t *r)
{
    if (n < 12 || !(l[0] == 'H' && l[1] == 'T' && l[2] == 'T' && l[3] == 'P' && l[4] == '/' && l[5] == '1' &&
                    l[6] == '.' && (l[7] == '0' || l[7] == '1') && l[8] == ' '))
        return OTA_ERR_HTTP;
    if (l[9] < '1' || l[9] > '5' || l[10] < '0' || l[10] > '9' || l[11] < '0' || l[11] > '9' ||
        (n > 12 && l[12] != ' '))
        return OTA_ERR_HTTP;
    r->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
    c->server_close = l[7] == '0'; /* HTTP/1.0: the server closes after the response */
    return OTA_OK;
}

/* "bytes first-last/total", "bytes first-last/ *" or "bytes * /total". */
static int parse_content_range(const char *p, ota_http_resp_t *r)
{
    size_t k;
    if (!ota_istarts(p, "bytes "))
        return OTA_ERR_HTTP;
    for (p += 6; *p == ' '; p++)
        ;
    if (*p == '*') {
        p++;
    } else {
        if (!(k = ota_parse_u32(p, &r->range_first)) || p[k] != '-')
            return OTA_ERR_HTTP;
        p += k + 1;
        if (!(k = ota_parse_u32(p, &r->range_last)) || r->range_last < r->range_first)
            return OTA_ERR_HTTP;
        p += k;
        r->has_range = 1;
    }
    if (*p++ != '/')
        return OTA_ERR_HTTP;
    if (p[0] == '*' && !p[1])
        return r->has_range ? OTA_OK : OTA_ERR_HTTP;
    if (!(k = ota_parse_u32(p, &r->range_total)) || p[k] || (r->has_range && r->range_last >= r->range_total))
        return OTA_ERR_HTTP;
    r->has_total = 1;
    return OTA_OK;
}

/* One "Name: value" line. follow: the status is a redirect being followed (Location matters). */
static int parse_header(ota_http_t *c, char *l, int n, ota_http_resp_t *r, ota_url_t *url, int follow,
                        int *have_location, uint8_t *cl_seen)
{
    char *v, *e = l + n;
    size_t name_len;
    uint32_t u;
    int rc;
    if (l[0] == ' ' || l[0] == '\t')
        return OTA_ERR_HTTP; /* obsolete line folding */
    for (v = l; v < e && *v != ':'; v++)
        if (*v == ' ' || *v == '\t' || *v == 0)
            return OTA_ERR_HTTP;
    if (v == e || v == l)
        return OTA_ERR_HTTP;
    name_len = (size_t)(v - l);
    if (strlen(l) != (size_t)n)
        return OTA_ERR_HTTP; /* a NUL byte inside the line */
    for (v++; v < e && (*v == ' ' || *v == '\t'); v++)
        ;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *e = 0;
    if (ota_ieq(l, name_len, "content-length")) {
        size_t k = ota_parse_u32(v, &u);
        if (!k || v[k] || (*cl_seen && u != r->length))
            return OTA_ERR_HTTP;
        *cl_seen = 1;
        r->length = u;
    } else if (ota_ieq(l, name_len, "transfer-encoding")) {
        if (!ota_ieq(v, (size_t)(e - v), "chunked"))
            return OTA_ERR_HTTP; /* no other coding is supported */
        r->chunked = 1;
    } else if (ota_ieq(l, name_len, "content-range")) {
        if ((rc = parse_content_range(v, r)) != OTA_OK)
            return rc;
    } else if (ota_ieq(l, name_len, "etag")) {
        if ((size_t)(e - v) < OTA_HTTP_ETAG_MAX)
            memcpy(r->etag, v, (size_t)(e - v) + 1);
        else
            r->etag[0] = 0; /* too long to keep: treated as absent */
    } else if (ota_ieq(l, name_len, "x-md5")) {
        size_t i, len = (size_t)(e - v);
        r->has_md5 = 1;
        r->md5[0] = 0;
        for (i = 0; i < len && ota_hexval((unsigned char)v[i]) >= 0; i++)
            ;
        if (len == 32 && i == 32) {
            for (i = 0; i < 32; i++)
                r->md5[i] = (char)ota_lower((unsigned char)v[i]);
            r->md5[32] = 0;
        }
    } else if (ota_ieq(l, name_len, "connection")) {
        const char *t;
        for (t = v; *t; t++)
            if (ota_istarts(t, "close"))
                c->server_close = 1;
    } else if (ota_ieq(l, name_len, "location") && follow) {
        if ((rc = ota_url_resolve(url, v)) != OTA_OK)
            return rc;
        *have_location = 1;
    }
    return OTA_OK;
}

/* Reads the status line and headers (skipping 1xx interim answers) and sets up the body parser.
 * Returns OTA_OK, 1 when a redirect is to be followed (*url already points at its target), or an
 * error. */
static int read_head(ota_http_t *c, const ota_http_req_t *req, ota_http_resp_t *r, ota_url_t *url)
{
    const char *method = req->method ? req->method : "GET";
    int is_head = strcmp(method, "HEAD") == 0;
    int follow = 0, have_location = 0, n, rc;
    uint8_t cl_seen;
    char *line;
    for (;;) {
        memset(r, 0, sizeof *r);
        cl_seen = 0;
        if ((n = read_line(c, &line, OTA_ERR_HEADERS_TOO_BIG, 1)) < 0)
            return n;
        if ((rc = parse_status(c, line, n, r)) != OTA_OK)
            return rc;
        if (is_redirect(r->status)) {
            if (!c->cfg.max_redirects || !(is_head || strcmp(method, "GET") == 0))
                return OTA_ERR_REDIRECT;
            follow = 1;
        }
        while ((n = read_line(c, &line, OTA_ERR_HEADERS_TOO_BIG, 1)) > 0)
            if ((rc = parse_header(c, line, n, r, url, follow, &have_location, &cl_seen)) != OTA_OK)
                return rc;
        if (n < 0)
            return n;
        if (r->status >= 200)
            break;
        if (r->status == 101)
            return OTA_ERR_HTTP; /* no protocol switch was asked for */
    }
    if (follow)
        return have_location ? 1 : OTA_ERR_REDIRECT;
    r->has_length = (uint8_t)(cl_seen && !r->chunked);
    if (is_head || r->status == 204 || r->status == 304) {
        c->body_state = B_LENGTH;
        c->body_left = 0;
    } else if (r->chunked) {
        c->body_state = B_CHUNK_SIZE;
    } else if (r->has_length) {
        c->body_state = B_LENGTH;
        c->body_left = r->length;
    } else {
        c->body_state = B_EOF;
        c->server_close = 1;
    }
    if (c->body_state == B_LENGTH && c->body_left == 0)
        body_done(c);
    return OTA_OK;
}

/* Connect (or reuse), send, read the head. A kept-alive connection that the server had already
 * closed fails before any response byte: then one fresh connection is tried. */
static int exchange(ota_http_t *c, ota_url_t *url, const ota_http_req_t *req, ota_http_resp_t *resp)
{
    int attempt, reused, rc = OTA_ERR_NET;
    for (attempt = 0; attempt < 2; attempt++) {
        if ((reused = conn_open(c, url)) < 0)
            return reused;
        c->reusable = 0;
        c->server_close = 0;
        c->body_state = B_NONE;
        c->head_bytes = 0;
        rc = send_request(c, url, req);
        if (rc == OTA_OK)
            rc = read_head(c, req, resp, url);
        if (rc == OTA_ERR_NET && reused && c->head_bytes == 0 && c->len == 0) {
            ota_http_close(c);
            continue;
        }
        break;
    }
    if (rc != OTA_OK)
        ota_http_close(c);
    return rc;
}

int ota_http_request(ota_http_t *c, ota_url_t *url, const ota_http_req_t *req, ota_http_resp_t *resp)
{
    unsigned redirects = 0;
    ota_http_req_t hop;
    ota_url_t origin; /* scheme, host and port of the URL asked for (the path is not compared) */
    int rc;
    if (!c || !url || !req || !resp)
        return OTA_ERR_ARG;
    hop = *req;
    c->status = 0;
    origin.https = url->https;
    origin.port = url->port;
    memcpy(origin.host, url->host, sizeof origin.host);
    while ((rc = exchange(c, url, &hop, resp)) == 1) {
        if (++redirects > c->cfg.max_redirects)
            return OTA_ERR_REDIRECT;
        /* The token belongs to the origin asked for: never sent to another one (curl does the same). */
        hop.token = ota_url_same_origin(url, &origin) ? req->token : NULL;
    }
    if (rc == OTA_OK)
        c->status = resp->status;
    return rc;
}

/* ---- the body ----------------------------------------------------------------------------- */


/* "1a2b[;ext]" */
static int parse_chunk_size(const char *l, uint32_t *out)
{
    uint32_t v = 0;
    int d, n = 0;
    while ((d = ota_hexval((unsigned char)*l)) >= 0) {
        if (v > 0x0fffffffUL)
            return OTA_ERR_HTTP;
        v = v * 16u + (uint32_t)d;
        l++;
        n++;
    }
    while (*l == ' ' || *l == '\t')
        l++;
    if (!n || (*l && *l != ';'))
        return OTA_ERR_HTTP;
    *out = v;
    return OTA_OK;
}

/* The next slice of body bytes, at most max: *data points into c->buf. Returns its length, 0 at
 * the end of the body, or an error. */
static int next_piece(ota_http_t *c, const uint8_t **data, size_t max)
{
    char *line;
    int n, rc;
    for (;;) {
        switch (c->body_state) {
        case B_DONE:
            return 0;
        case B_LENGTH:
        case B_CHUNK_DATA:
        case B_EOF: {
            size_t k;
            if (c->pos == c->len) {
                if ((rc = fill(c)) < 0)
                    return rc;
                if (rc == 0) {
                    if (c->body_state != B_EOF)
                        return OTA_ERR_NET; /* dropped before the end of the body */
                    c->server_close = 1;
                    body_done(c);
                    return 0;
                }
            }
            k = c->len - c->pos;
            if (k > max)
                k = max;
            if (c->body_state != B_EOF && k > c->body_left)
                k = c->body_left;
            *data = c->buf + c->pos;
            c->pos += k;
            if (c->body_state != B_EOF && (c->body_left -= (uint32_t)k) == 0) {
                if (c->body_state == B_CHUNK_DATA)
                    c->body_state = B_CHUNK_END;
                else
                    body_done(c);
            }
            return (int)k;
        }
        case B_CHUNK_SIZE:
            if ((n = read_line(c, &line, OTA_ERR_HTTP, 0)) < 0)
                return n;
            if ((rc = parse_chunk_size(line, &c->body_left)) != OTA_OK)
                return rc;
            c->body_state = c->body_left ? B_CHUNK_DATA : B_TRAILER;
            break;
        case B_CHUNK_END:
            if ((n = read_line(c, &line, OTA_ERR_HTTP, 0)) != 0)
                return n < 0 ? n : OTA_ERR_HTTP;
            c->body_state = B_CHUNK_SIZE;
            break;
        case B_TRAILER: /* trailer fields count against the header limit; they are ignored */
            if ((n = read_line(c, &line, OTA_ERR_HEADERS_TOO_BIG, 1)) < 0)
                return n;
            if (n == 0) {
                body_done(c);
                return 0;
            }
            break;
        default:
            return OTA_ERR_STATE; /* no response to read */
        }
    }
}

int ota_http_body(ota_http_t *c, ota_http_sink_fn sink, void *arg)
{
    for (;;) {
        const uint8_t *d;
        int n = next_piece(c, &d, sizeof c->buf), rc;
        if (n <= 0) {
            if (n < 0)
                ota_http_close(c);
            return n;
        }
        if ((rc = sink(arg, d, (size_t)n)) < 0) {
            ota_http_close(c);
            return rc;
        }
    }
}

int ota_http_read(ota_http_t *c, void *buf, size_t len)
{
    const uint8_t *d;
    int n;
    if (!buf || !len)
        return OTA_ERR_ARG;
    n = next_piece(c, &d, len > sizeof c->buf ? sizeof c->buf : len);
    if (n > 0)
        memcpy(buf, d, (size_t)n);
    else if (n < 0)
        ota_http_close(c);
    return n;
}

int ota_http_read_all(ota_http_t *c, char *buf, size_t cap, size_t *out_len)
{
    size_t have = 0;
    int n;
    if (!buf || !cap)
        return OTA_ERR_ARG;
    for (;;) {
        const uint8_t *d;
        if ((n = next_piece(c, &d, sizeof c->buf)) <= 0)
            break;
        if ((size_t)n > cap - 1 - have) {
            ota_http_close(c);
            return OTA_ERR_RESPONSE_TOO_BIG;
        }
        memcpy(buf + have, d, (size_t)n);
        have += (size_t)n;
    }
    if (n < 0) {
        ota_http_close(c);
        return n;
    }
    buf[have] = 0;
    if (out_len)
        *out_len = have;
    return OTA_OK;
}

int ota_http_get_all(ota_http_t *c, ota_url_t *url, const char *token, char *buf, size_t cap, size_t *len)
{
    ota_http_req_t req;
    ota_http_resp_t resp;
    int rc;
    memset(&req, 0, sizeof req);
    req.token = token;
    if ((rc = ota_http_request(c, url, &req, &resp)) != OTA_OK)
        return rc;
    if (resp.status != 200) {
        ota_http_close(c);
        return OTA_ERR_HTTP_STATUS;
    }
    return ota_http_read_all(c, buf, cap, len);
}
