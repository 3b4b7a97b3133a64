/*
 * Push endpoints: one HTTP request served on an accepted connection (see otakit/push.h).
 * Fixed buffers only: a 512-byte reader, an OTA_PUSH_LINE_MAX line on the stack, a 256-byte
 * write-back buffer for image bytes.
 */
#include "otakit/push.h"

#include <string.h>

#include "otakit/bytes.h"
#include "otakit/update_page.h"

#include "core/deadline.h"
#include "core/text.h"

#define RD_BUF 512u
#define MAX_HEADERS 40
#define DEFAULT_TIMEOUT_MS 15000u
#define DEFAULT_HEAD_MS 10000u
#define DEFAULT_CONN_MS 600000u
#define LINGER_MS 2000u      /* after a 401 or a request of unknown length: the body dropped this long... */
#define LINGER_GAP_MS 200u   /* ...waiting at most this long for each piece */
#define LINGER_UNKNOWN 65536u /* bytes dropped after a request whose body length is unknown */

/* ---- buffered reading from the connection ------------------------------------------------- */

struct rd {
    const ota_net_t *net;
    int h;
    uint32_t timeout;     /* longest single wait */
    ota_deadline_t head;  /* for the whole request head, then for the lingering after the answer */
    ota_deadline_t conn;  /* for the whole connection */
    uint8_t buf[RD_BUF];
    size_t pos, len;
    uint32_t left;   /* body bytes still to come (Content-Length), once the head is read */
    uint8_t in_body; /* the head is read: every byte consumed counts against left */
    uint8_t bounded; /* lingering: the head deadline applies again */
};

/* How long the next receive or send may wait: 0 when a deadline has passed. */
static uint32_t rd_wait(const struct rd *r)
{
    uint32_t w = ota_deadline_wait(&r->conn, r->timeout);
    return r->in_body && !r->bounded ? w : ota_deadline_wait(&r->head, w);
}

static int rd_fill(struct rd *r)
{
    uint32_t wait = rd_wait(r);
    int n;
    if (!wait)
        return OTA_ERR_TIMEOUT;
    n = r->net->ops->recv(r->net->ctx, r->h, r->buf, sizeof r->buf, wait);
    if (n < 0)
        return n;
    if (n == 0)
        return OTA_ERR_NET; /* closed early */
    r->pos = 0;
    r->len = (size_t)n;
    return OTA_OK;
}

/* Reads one header line (without CRLF) into line. Returns its length, or an error. */
static int rd_line(struct rd *r, char *line, size_t max)
{
    size_t n = 0;
    int rc;
    for (;;) {
        char c;
        if (r->in_body && r->left == 0)
            return OTA_ERR_INCOMPLETE;
        if (r->pos == r->len && (rc = rd_fill(r)) != OTA_OK)
            return rc;
        c = (char)r->buf[r->pos++];
        if (r->in_body)
            r->left--;
        if (c == '\n')
            break;
        if (n + 1 >= max)
            return OTA_ERR_ARG; /* line too long */
        line[n++] = c;
    }
    if (n && line[n - 1] == '\r')
        n--;
    line[n] = 0;
    return (int)n;
}

/* Reads up to max body bytes (bounded by Content-Length). Returns the count (0 at the end). */
static int rd_body(struct rd *r, uint8_t *out, size_t max)
{
    size_t n;
    int rc;
    if (r->left == 0)
        return 0;
    if (r->pos == r->len && (rc = rd_fill(r)) != OTA_OK)
        return rc;
    n = r->len - r->pos;
    if (n > max)
        n = max;
    if (n > r->left)
        n = r->left;
    memcpy(out, r->buf + r->pos, n);
    r->pos += n;
    r->left -= (uint32_t)n;
    return (int)n;
}

/* ---- writing the response ------------------------------------------------------------------ */

struct out {
    char buf[768];
    size_t len;
};

static void put(struct out *o, const char *s)
{
    size_t n = strlen(s);
    if (n > sizeof o->buf - 1 - o->len)
        n = sizeof o->buf - 1 - o->len;
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = 0;
}

static void put_u32(struct out *o, uint32_t v)
{
    char tmp[11];
    put(o, ota_u32_str(tmp, v));
}

static int send_all(const struct rd *r, const char *p, size_t len)
{
    while (len) {
        uint32_t wait = ota_deadline_wait(&r->conn, r->timeout);
        int n;
        if (!wait)
            return OTA_ERR_TIMEOUT;
        n = r->net->ops->send(r->net->ctx, r->h, p, len, wait);
        if (n <= 0)
            return n < 0 ? n : OTA_ERR_NET;
        p += n;
        len -= (size_t)n;
    }
    return OTA_OK;
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 502: return "Bad Gateway";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    default: return "Error";
    }
}

static int respond(struct rd *r, ota_push_result_t *res, int status, const char *ctype, const char *body,
                   const char *extra_header)
{
    struct out o;
    int rc;
    o.len = 0;
    o.buf[0] = 0;
    put(&o, "HTTP/1.1 ");
    put_u32(&o, (uint32_t)status);
    put(&o, " ");
    put(&o, reason(status));
    put(&o, "\r\nContent-Type: ");
    put(&o, ctype);
    put(&o, "\r\nContent-Length: ");
    put_u32(&o, (uint32_t)strlen(body));
    put(&o, "\r\nConnection: close\r\n");
    if (extra_header)
        put(&o, extra_header);
    put(&o, "\r\n");
    res->status = status;
    if ((rc = send_all(r, o.buf, o.len)) != OTA_OK)
        return rc;
    return send_all(r, body, strlen(body));
}

/* ---- request head ---------------------------------------------------------------------------- */

struct head {
    char method[8];
    char path[64];      /* without the query */
    uint32_t content_length;
    uint8_t has_length;
    uint8_t chunked;    /* Transfer-Encoding: a body of unknown length (without it nor a length: none) */
    uint8_t authorized;
    char boundary[4 + 70 + 1]; /* "\r\n--" + RFC 2046 boundary (1..70 chars) + NUL */
};

/* Case-insensitive "Name:" prefix match; returns the value (spaces skipped) or NULL. */
static const char *header_value(const char *line, const char *name)
{
    size_t i, n = strlen(name);
    for (i = 0; i < n; i++)
        if (ota_lower((unsigned char)line[i]) != ota_lower((unsigned char)name[i]))
            return NULL;
    if (line[n] != ':')
        return NULL;
    line += n + 1;
    while (*line == ' ' || *line == '\t')
        line++;
    return line;
}

static int parse_u32(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (0xffffffffUL - (uint32_t)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint32_t)(*s - '0');
    }
    while (*s == ' ')
        s++;
    if (*s)
        return -1;
    *out = v;
    return 0;
}

/* Whether the value of "name=" in a list of name=value pairs (a Cookie header, separated by ';'
 * and spaces, or a query, separated by '&') is the configured token. Mongoose's dashboard keeps its
 * credentials so: the cookie access_token, or ?access_token= (mg_http_creds, src/http.c). */
static int var_is_token(const char *list, const char *name, const char *token)
{
    size_t n = strlen(name);
    const char *p = list;
    if (!token)
        return 0;
    while ((p = strstr(p, name)) != NULL) {
        if ((p == list || p[-1] == ' ' || p[-1] == ';' || p[-1] == '&' || p[-1] == '?') && p[n] == '=') {
            const char *v = p + n + 1;
            size_t len = strcspn(v, "; ,&");
            if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
                v++;
                len -= 2;
            }
            return len == strlen(token) && ota_ct_equal(v, token, len);
        }
        p += n;
    }
    return 0;
}

static int read_head(struct rd *r, const ota_push_cfg_t *cfg, struct head *hd)
{
    char line[OTA_PUSH_LINE_MAX];
    const char *v, *sp1, *sp2;
    int n, count = 0;

    memset(hd, 0, sizeof *hd);
    if ((n = rd_line(r, line, sizeof line)) < 0)
        return n;
    sp1 = strchr(line, ' ');
    sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || (size_t)(sp1 - line) >= sizeof hd->method || (size_t)(sp2 - sp1 - 1) >= sizeof hd->path)
        return OTA_ERR_ARG;
    memcpy(hd->method, line, (size_t)(sp1 - line));
    memcpy(hd->path, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    {
        char *q = strchr(hd->path, '?');
        if (q) {
            if (var_is_token(q + 1, "access_token", cfg->token))
                hd->authorized = 1;
            *q = 0;
        }
    }
    for (;;) {
        if ((n = rd_line(r, line, sizeof line)) < 0)
            return n;
        if (n == 0)
            break;
        if (++count > MAX_HEADERS)
            return OTA_ERR_ARG;
        if ((v = header_value(line, "Content-Length")) != NULL) {
            if (parse_u32(v, &hd->content_length) != 0)
                return OTA_ERR_ARG;
            hd->has_length = 1;
        } else if (header_value(line, "Transfer-Encoding") != NULL) {
            hd->chunked = 1;
        } else if ((v = header_value(line, "Authorization")) != NULL) {
            /* ota_istarts() stops at the value's NUL: a short value is never read past. */
            if (cfg->token && ota_istarts(v, "bearer ") && ota_ct_streq(v + 7, cfg->token))
                hd->authorized = 1;
            if (cfg->basic_b64 && ota_istarts(v, "basic ") && ota_ct_streq(v + 6, cfg->basic_b64))
                hd->authorized = 1;
        } else if ((v = header_value(line, "Cookie")) != NULL) {
            if (var_is_token(v, "access_token", cfg->token))
                hd->authorized = 1;
        } else if ((v = header_value(line, "Content-Type")) != NULL) {
            const char *b = strstr(v, "boundary=");
            if (b) {
                size_t bl;
                b += 9;
                if (*b == '"')
                    b++;
                bl = strcspn(b, "\";");
                if (bl == 0 || bl > 70)
                    return OTA_ERR_ARG;
                memcpy(hd->boundary, "\r\n--", 4);
                memcpy(hd->boundary + 4, b, bl);
                hd->boundary[4 + bl] = 0;
            }
        }
    }
    return OTA_OK;
}

/* The CORS headers ESP8266HTTPUpdateServer puts on its /update answers. */
#define CORS "Access-Control-Allow-Headers: *\r\nAccess-Control-Allow-Origin: *\r\n"

/* ---- handlers -------------------------------------------------------------------------------- */

static const char form_page[] =
    "<!DOCTYPE html><html><body><form method='POST' action='/update' enctype='multipart/form-data'>"
    "Firmware:<br><input type='file' accept='.bin,.img' name='firmware'>"
    "<input type='submit' value='Update Firmware'></form></body></html>";

/* ota_end(), and on failure drop the download: a pushed image cannot be resumed. */
static int end_or_abort(ota_ctx_t *ctx)
{
    int rc = ota_end(ctx);
    if (rc != OTA_OK)
        ota_abort(ctx);
    return rc;
}

/* Streams Content-Length raw body bytes into the writer. */
static int raw_update(ota_ctx_t *ctx, struct rd *r)
{
    uint8_t chunk[256];
    int n, rc;
    if ((rc = ota_begin(ctx, r->left)) != OTA_OK)
        return rc;
    while ((n = rd_body(r, chunk, sizeof chunk)) > 0)
        if ((rc = ota_write(ctx, chunk, (uint32_t)n)) != OTA_OK) {
            ota_abort(ctx);
            return rc;
        }
    if (n < 0) {
        ota_abort(ctx);
        return n;
    }
    return end_or_abort(ctx);
}

/* Image bytes of a multipart part, batched before ota_write(). */
struct sink {
    ota_ctx_t *ctx;
    uint8_t buf[256];
    size_t len;
    int rc;
};

static void sink_put(struct sink *s, const uint8_t *p, size_t n)
{
    while (n && s->rc == OTA_OK) {
        size_t k = sizeof s->buf - s->len < n ? sizeof s->buf - s->len : n;
        memcpy(s->buf + s->len, p, k);
        s->len += k;
        p += k;
        n -= k;
        if (s->len == sizeof s->buf) {
            s->rc = ota_write(s->ctx, s->buf, (uint32_t)s->len);
            s->len = 0;
        }
    }
}

/* Skips to the "firmware" part of a multipart body and streams it into the writer until the
 * delimiter. The delimiter starts with the only CR it contains, so a mismatch can restart only
 * at a CR. */
static int multipart_update(ota_ctx_t *ctx, struct rd *r, const char *delim, const char **why)
{
    char line[OTA_PUSH_LINE_MAX];
    size_t dlen = strlen(delim), m = 0;
    struct sink s;
    uint8_t chunk[128];
    int n, i, found = 0, rc;

    if (!delim[0])
        return OTA_ERR_ARG;
    /* Skip to the part named "firmware", then past its headers (up to the blank line). */
    while (!found) {
        if ((n = rd_line(r, line, sizeof line)) < 0)
            return n;
        if (!header_value(line, "Content-Disposition"))
            continue;
        if (strstr(line, "name=\"firmware\""))
            found = 1;
        else if (strstr(line, "name=\"filesystem\"")) {
            *why = "filesystem images are not supported"; /* the other form of the real page */
            return OTA_ERR_ARG;
        }
    }
    do {
        if ((n = rd_line(r, line, sizeof line)) < 0)
            return n;
    } while (n != 0);
    /* ESP8266HTTPUpdateServer takes .bin.gz too (the ESP8266 bootloader inflates it); an otakit
     * image is verified as it is written, so a gzip stream (1f 8b) is refused by name, before the
     * flash is touched. */
    if (r->pos == r->len && r->left && (rc = rd_fill(r)) != OTA_OK)
        return rc;
    if (r->left >= 2 && r->pos < r->len && r->buf[r->pos] == 0x1f &&
        (r->pos + 1 == r->len || r->buf[r->pos + 1] == 0x8b)) {
        *why = "compressed (.bin.gz) images are not supported: upload the .bin";
        return OTA_ERR_MAGIC;
    }
    /* What is left of the body is the image and the closing delimiter: an upper bound. */
    if ((rc = ota_begin_max(ctx, r->left)) != OTA_OK)
        return rc;
    s.ctx = ctx;
    s.len = 0;
    s.rc = OTA_OK;
    while (s.rc == OTA_OK) {
        if ((n = rd_body(r, chunk, sizeof chunk)) <= 0) {
            ota_abort(ctx);
            return n < 0 ? n : OTA_ERR_INCOMPLETE; /* body ended before the delimiter */
        }
        for (i = 0; i < n; i++) {
            uint8_t c = chunk[i];
            if (c == (uint8_t)delim[m]) {
                if (++m == dlen)
                    goto done;
                continue;
            }
            if (m) {
                sink_put(&s, (const uint8_t *)delim, m); /* the held bytes were data after all */
                m = 0;
            }
            if (c == (uint8_t)delim[0])
                m = 1;
            else
                sink_put(&s, &c, 1);
        }
    }
    ota_abort(ctx);
    return s.rc;
done:
    if (s.len && s.rc == OTA_OK)
        s.rc = ota_write(ctx, s.buf, (uint32_t)s.len);
    if (s.rc != OTA_OK) {
        ota_abort(ctx);
        return s.rc;
    }
    return end_or_abort(ctx);
}

static int status_json(ota_ctx_t *ctx, struct rd *r, ota_push_result_t *res)
{
    ota_image_info_t info;
    char ver[OTA_VERSION_STR_MAX];
    unsigned slot = ota_running_slot(ctx);
    struct out o;
    o.len = 0;
    o.buf[0] = 0;
    ver[0] = 0;
    if (ota_slot_verify(ctx, slot, 0, &info) == OTA_OK)
        ota_version_format(&info.hdr.version, ver, sizeof ver);
    put(&o, "{\"state\":\"");
    put(&o, ota_state_name(ctx->rec.state));
    put(&o, "\",\"running_slot\":");
    put_u32(&o, slot);
    put(&o, ",\"version\":\"");
    put(&o, ver);
    put(&o, "\",\"security_counter\":");
    put_u32(&o, ctx->rec.security_counter);
    put(&o, "}");
    return respond(r, res, 200, "application/json", o.buf, NULL);
}

/* "error: <message>" for a failed operation. */
static int fail_text(struct rd *r, ota_push_result_t *res, int status, const char *prefix, int err,
                     const char *suffix)
{
    struct out o;
    o.len = 0;
    o.buf[0] = 0;
    put(&o, prefix);
    put(&o, ota_strerror(err));
    put(&o, suffix);
    return respond(r, res, status, "text/plain", o.buf, NULL);
}

/* Reads and drops up to max bytes of what is left of the request's body (bounded by the deadlines). */
static void drain(struct rd *r, uint32_t max)
{
    uint8_t junk[128];
    int n;
    while (max && (n = rd_body(r, junk, max < sizeof junk ? max : sizeof junk)) > 0)
        max -= (uint32_t)n;
}

/* ESP8266HTTPUpdateServer's failure page: "Update error: " and the Updater's printError() line,
 * "ERROR[<n>]: <message>\n" (here n is the otakit error's number, without its sign). */
static int update_error(struct rd *r, ota_push_result_t *res, int err, const char *why, const char *cors)
{
    struct out o;
    o.len = 0;
    o.buf[0] = 0;
    put(&o, "Update error: ERROR[");
    put_u32(&o, (uint32_t)(err < 0 ? -err : err));
    put(&o, "]: ");
    put(&o, why ? why : ota_strerror(err));
    put(&o, "\n");
    return respond(r, res, 200, "text/html", o.buf, cors);
}

/* After the answer: reads and drops the rest of the request body before the port closes the
 * connection. Closing a TCP socket with unread bytes sends a reset, and the peer's stack then
 * discards what it has not yet handed to the client: a client still sending its body (curl, a
 * browser, Python's http.client, which read only after sending) would get "connection reset"
 * instead of the answer. An authorized body (a 409 while pulling, a 405, the closing delimiter of
 * a multipart upload) is dropped whole, within the connection deadline; an unauthorized one, or one
 * of unknown length (a 400, a 411), for at most LINGER_MS. A client that closes first ends it. */
static void linger(struct rd *r, const ota_push_cfg_t *cfg, const struct head *hd, int known)
{
    if (!known) {
        r->left = LINGER_UNKNOWN;
        r->in_body = 1;
    }
    if (!hd->authorized || !known) {
        r->timeout = LINGER_GAP_MS;
        r->bounded = 1;
        ota_deadline_start(&r->head, cfg->platform, LINGER_MS);
    }
    drain(r, 0xffffffffu);
}

static int serve(ota_ctx_t *ctx, struct rd *r, const ota_push_cfg_t *cfg, const struct head *hd,
                 ota_push_result_t *res);

int ota_push_serve(ota_ctx_t *ctx, const ota_net_t *net, int h, const ota_push_cfg_t *cfg, ota_push_result_t *res)
{
    struct rd r;
    struct head hd;
    int rc;

    memset(res, 0, sizeof *res);
    memset(&r, 0, sizeof r);
    r.net = net;
    r.h = h;
    r.timeout = cfg->timeout_ms ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    ota_deadline_start(&r.conn, cfg->platform, cfg->conn_timeout_ms ? cfg->conn_timeout_ms : DEFAULT_CONN_MS);
    ota_deadline_start(&r.head, cfg->platform, cfg->head_timeout_ms ? cfg->head_timeout_ms : DEFAULT_HEAD_MS);
    if ((rc = read_head(&r, cfg, &hd)) != OTA_OK) {
        if (rc != OTA_ERR_ARG)
            return rc;
        if ((rc = respond(&r, res, 400, "text/plain", "bad request", NULL)) == OTA_OK)
            linger(&r, cfg, &hd, 0);
        return rc;
    }
    r.left = hd.content_length;
    r.in_body = 1;
    rc = serve(ctx, &r, cfg, &hd, res);
    if (rc == OTA_OK && res->status)
        linger(&r, cfg, &hd, hd.has_length || !hd.chunked);
    return rc;
}

/* Routes one request whose head is read; answers it (res->status) and returns what respond() did. */
static int serve(ota_ctx_t *ctx, struct rd *r, const ota_push_cfg_t *cfg, const struct head *hd,
                 ota_push_result_t *res)
{
    const char *why = NULL;
    int post;
    /* ESP8266HTTPUpdateServer answers a browser's CORS preflight without credentials (a preflight
     * never carries them), and its POST answers carry the same two headers. */
    if (!strcmp(hd->path, "/update") && !strcmp(hd->method, "OPTIONS"))
        return respond(r, res, 200, "text/html", "y", CORS);
    /* Authentication before anything else: an unauthorized request changes nothing, and its body
     * is read only after the 401 (linger()). */
    if (!hd->authorized) {
        return respond(r, res, 401, "text/plain", "authentication required",
                       !strcmp(hd->path, "/update") && !strcmp(hd->method, "POST")
                           ? CORS "WWW-Authenticate: Basic realm=\"Login Required\"\r\n"
                           : "WWW-Authenticate: Basic realm=\"Login Required\"\r\n");
    }
    post = !strcmp(hd->method, "POST");
    if (cfg->page && !memcmp(hd->path, "/_ac/update", 11)) { /* the update page (hd->path: 64 bytes, zeroed) */
        char body[128];
        const char *ctype, *text;
        int n = 0, status;
        if (post && hd->content_length > sizeof body)
            return respond(r, res, 413, "text/plain", "too large", NULL);
        while (post && (uint32_t)n < hd->content_length) {
            int got = rd_body(r, (uint8_t *)body + n, hd->content_length - (uint32_t)n);
            if (got <= 0)
                return got < 0 ? got : OTA_ERR_NET;
            n += got;
        }
        status = ota_update_page_answer(cfg->page, hd->method, hd->path, body, (size_t)n, &ctype, &text);
        return respond(r, res, status, ctype, text, NULL);
    }
    if (!strcmp(hd->path, "/api/ota/status")) {
        if (strcmp(hd->method, "GET"))
            return respond(r, res, 405, "text/plain", "use GET", NULL);
        return status_json(ctx, r, res);
    }
    if (!strcmp(hd->path, "/update") && !strcmp(hd->method, "GET"))
        return respond(r, res, 200, "text/html", form_page, NULL);
    /* Mongoose's tutorials match /api/ota/commit and /api/ota/rollback with any method
     * (mg_match on the uri only) and answer "ok\n". */
    if (cfg->busy && (!strcmp(hd->path, "/api/ota/commit") || !strcmp(hd->path, "/api/ota/rollback") || post))
        return respond(r, res, 409, "text/plain", "busy: an update is being pulled", NULL);
    if (!strcmp(hd->path, "/api/ota/commit")) {
        res->result = ota_confirm(ctx);
        return res->result == OTA_OK ? respond(r, res, 200, "text/plain", "ok\n", NULL)
                                     : fail_text(r, res, 409, "error: ", res->result, "");
    }
    if (!strcmp(hd->path, "/api/ota/rollback")) {
        res->result = ota_rollback(ctx);
        res->reboot = res->result == OTA_OK;
        return res->result == OTA_OK ? respond(r, res, 200, "text/plain", "ok\n", NULL)
                                     : fail_text(r, res, 409, "error: ", res->result, "");
    }
    if (strcmp(hd->path, "/update") && strcmp(hd->path, "/api/ota/update") && strcmp(hd->path, "/api/ota"))
        return respond(r, res, 404, "text/plain", "not found", NULL);
    if (!post)
        return respond(r, res, 405, "text/plain", "use POST", NULL);
    if (!hd->has_length)
        return respond(r, res, 411, "text/plain", "Content-Length required", NULL);
    if (strcmp(hd->path, "/update") != 0) {
        /* The raw body, as mg_http_start_ota() takes it: "ok\n", or 500 with the error (the
         * tutorials' default callback ends it with a newline, the dashboard's does not). */
        res->result = raw_update(ctx, r);
        res->reboot = res->result == OTA_OK;
        if (res->result == OTA_OK)
            return respond(r, res, 200, "text/plain", "ok\n", NULL);
        drain(r, 0xffffffffu);
        return fail_text(r, res, 500, "", res->result, strcmp(hd->path, "/api/ota") ? "\n" : "");
    }
    /* ESP8266HTTPUpdateServer answers 200 either way, with the outcome in the text; its success
     * page sends the browser back to / after 15 s, when the device has rebooted. */
    res->result = multipart_update(ctx, r, hd->boundary, &why);
    res->reboot = res->result == OTA_OK;
    if (res->result != OTA_OK)
        drain(r, 0xffffffffu);
    return res->result == OTA_OK
               ? respond(r, res, 200, "text/html",
                         "<META http-equiv=\"refresh\" content=\"15;URL=/\">Update Success! Rebooting...", CORS)
               : update_error(r, res, res->result, why, CORS);
}
