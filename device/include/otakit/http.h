/*
 * A small HTTP/1.1 client for devices: URL parsing, a request writer and a streaming response
 * parser over any ota_net_t transport (plain TCP, or TLS from device/net/tls.c for https://).
 *
 *   ota_http_t c;                 (static on an MCU: all buffers are inside, nothing is allocated)
 *   ota_http_init(&c, &cfg);
 *   ota_url_parse("https://ota.example.com/api/v1/artifacts/ab12...", &url);
 *   ota_http_request(&c, &url, &req, &resp);    connect (or reuse), send, read the status and headers
 *   ota_http_body(&c, sink, arg);                body to sink() in pieces of <= OTA_HTTP_BUF_SIZE
 *   ota_http_close(&c);
 *
 * Bodies framed by Content-Length, by Transfer-Encoding: chunked (decoded as it streams) or by
 * the end of the connection are all handled; no body is ever held whole in RAM. Limits: a response
 * header line must fit in OTA_HTTP_BUF_SIZE and the whole header in OTA_HTTP_HEAD_MAX, else
 * OTA_ERR_HEADERS_TOO_BIG. Every wait is bounded by the configured connect and read timeouts.
 * Redirects are off unless cfg.max_redirects is set; a Location header is otherwise ignored.
 * Portable C99: no heap, no stdio.
 */
#ifndef OTAKIT_HTTP_H
#define OTAKIT_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/err.h"
#include "otakit/port.h"

#ifndef OTA_HTTP_BUF_SIZE
#define OTA_HTTP_BUF_SIZE 1024u /* request/response buffer: the longest request and header line */
#endif
#ifndef OTA_HTTP_HEAD_MAX
#define OTA_HTTP_HEAD_MAX 8192u /* most response header bytes accepted (status line included) */
#endif
#define OTA_URL_HOST_MAX 128u   /* host name or address, NUL included */
#define OTA_URL_PATH_MAX 256u   /* path and query, NUL included */
#define OTA_HTTP_ETAG_MAX 80u   /* longest ETag kept, quotes and NUL included ("\"<sha256 hex>\"" fits) */

/* A parsed http:// or https:// URL. */
typedef struct {
    uint8_t https;               /* 1 for https:// */
    uint16_t port;               /* explicit port, else 80 or 443 */
    char host[OTA_URL_HOST_MAX]; /* name or address; an IPv6 literal without its brackets */
    char path[OTA_URL_PATH_MAX]; /* "/..." with the query; the fragment is dropped; "/" if empty */
} ota_url_t;

/* Parses "http[s]://host[:port][/path][?query][#fragment]" (no user info; printable ASCII only).
 * Returns OTA_OK with *out filled, or OTA_ERR_URL (malformed, other scheme, part too long). */
int ota_url_parse(const char *url, ota_url_t *out);

/* Points *url at ref, a redirect target: an absolute http(s) URL or an absolute path on the same
 * server. Returns OTA_OK, OTA_ERR_URL, or OTA_ERR_REDIRECT for a step down from https to http
 * (*url may then be partly changed). */
int ota_url_resolve(ota_url_t *url, const char *ref);

/* 1 when a and b are the same origin (scheme, host and port), else 0: credentials given for one
 * URL go only to its own origin. Hosts compare byte for byte (a case change counts as another). */
int ota_url_same_origin(const ota_url_t *a, const ota_url_t *b);

typedef struct {
    const ota_net_t *tcp;        /* transport for http:// (required) */
    const ota_net_t *tls;        /* transport for https:// (NULL: https URLs fail with OTA_ERR_TLS) */
    uint32_t connect_timeout_ms; /* 0 means 10000 */
    uint32_t read_timeout_ms;    /* longest wait for the next bytes of a response; 0 means 15000 */
    uint8_t max_redirects;       /* 0 (default): 301/302/303/307/308 fail with OTA_ERR_REDIRECT */
    uint8_t keep_alive;          /* 1: ask for and reuse a persistent connection; 0: Connection: close */
    const char *user_agent;      /* NULL means "otakit/<version>" */
    const ota_platform_ops_t *platform; /* its now_ms bounds deadlines (ota_http_set_deadline, the
                                    pull's deadline_ms) and its sleep_ms paces the pull's retries;
                                    NULL: no deadlines, no pauses */
} ota_http_cfg_t;

/* What to send. Zero it, then set what applies. Header values must be printable ASCII. */
typedef struct {
    const char *method;          /* NULL means "GET" */
    const char *token;           /* "Authorization: Bearer <token>"; NULL: none */
    uint8_t has_range;           /* 1: "Range: bytes=<range_from>-" */
    uint32_t range_from;
    const char *if_range;        /* "If-Range: <entity tag>" (send it as the server gave it); NULL: none */
    const void *body;            /* request body (POST/PUT), body_len bytes; NULL: none */
    uint32_t body_len;
    const char *content_type;    /* of the body; NULL means application/json */
    const char *extra_headers;   /* more header lines, pre-formatted "Name: value\r\n" each (printable
                                    ASCII, every line CRLF-terminated; anything else: OTA_ERR_ARG); NULL: none */
} ota_http_req_t;

/* The status and the headers the client understands. */
typedef struct {
    int status;                  /* 100..599 */
    uint8_t chunked;             /* Transfer-Encoding: chunked (decoded transparently) */
    uint8_t has_length;          /* Content-Length given (and no chunking) */
    uint32_t length;
    uint8_t has_range;           /* Content-Range: bytes first-last/... */
    uint32_t range_first, range_last;
    uint8_t has_total;           /* Content-Range: .../total (also "bytes * /total" of a 416) */
    uint32_t range_total;
    char etag[OTA_HTTP_ETAG_MAX];/* the ETag as sent, quotes included; "" if absent or too long */
    uint8_t has_md5;             /* an x-MD5 header was sent (ESP8266 HTTP update protocol) */
    char md5[33];                /* its value in lowercase when exactly 32 hex digits, else "" */
} ota_http_resp_t;

/* One client: configuration, the open connection and its buffer. The caller allocates it. */
typedef struct {
    ota_http_cfg_t cfg;
    const ota_net_t *net;        /* transport of the open connection */
    int h;                       /* connection handle, -1 when closed */
    uint8_t conn_https;          /* where the open connection goes (for keep-alive reuse) */
    uint16_t conn_port;
    char conn_host[OTA_URL_HOST_MAX];
    uint8_t reusable;            /* the last response ended cleanly on a kept-alive connection */
    uint8_t server_close;        /* the current response says Connection: close (or is HTTP/1.0) */
    int status;                  /* the last response's status (0: none since the last request began),
                                    for callers of ota_http_get_all() that tell a 401 from a 500 */
    uint8_t body_state;          /* internal: where the body parser is */
    uint32_t body_left;          /* internal: bytes left in the body or in the current chunk */
    uint32_t head_bytes;         /* internal: header bytes read so far */
    ota_deadline_t deadline;     /* internal: ota_http_set_deadline() */
    size_t pos, len;             /* unread response bytes are buf[pos..len) */
    uint8_t buf[OTA_HTTP_BUF_SIZE];
} ota_http_t;

/* Prepares a client with a copy of cfg (the transports it points to must outlive c). No
 * connection is opened yet. Returns OTA_OK, or OTA_ERR_ARG when cfg has no TCP transport. */
int ota_http_init(ota_http_t *c, const ota_http_cfg_t *cfg);

/* Sends one request and reads the response status and headers into *resp. Reuses the open
 * connection if it is kept alive and goes to the same server, else connects. With max_redirects,
 * follows redirects of GET/HEAD requests and rewrites *url to the final location (never from
 * https to http); like curl, req->token is sent only to the origin of the URL first asked for, so
 * a redirect to another scheme, host or port goes without it. A caller that requests the rewritten
 * *url again must drop the token itself unless the origin is still the same (ota_url_same_origin). Any status is returned as OTA_OK: the caller decides what a 404 means.
 * Returns OTA_OK, OTA_ERR_NET, _TIMEOUT, _TLS, _HTTP, _HEADERS_TOO_BIG, _REDIRECT, _URL, _ARG,
 * or OTA_ERR_NO_SPACE (request larger than OTA_HTTP_BUF_SIZE). The connection closes on errors. */
int ota_http_request(ota_http_t *c, ota_url_t *url, const ota_http_req_t *req, ota_http_resp_t *resp);

/* Receives the body of the current response piece by piece: data is owned by c and valid until
 * the next call on c. Returns OTA_OK at the end of the body, the sink's own negative return value
 * (which stops the transfer and closes the connection), or OTA_ERR_NET (connection dropped before
 * the end), OTA_ERR_TIMEOUT, OTA_ERR_HTTP (bad chunk framing). */
typedef int (*ota_http_sink_fn)(void *arg, const uint8_t *data, size_t len);
int ota_http_body(ota_http_t *c, ota_http_sink_fn sink, void *arg);

/* Reads the next body bytes into buf (at most len). Returns the number copied (>0), 0 at the end
 * of the body, or the errors of ota_http_body(). Mixes freely with ota_http_body(). */
int ota_http_read(ota_http_t *c, void *buf, size_t len);

/* Reads the rest of the body into buf and NUL-terminates it (for small JSON answers); *out_len gets
 * its length. Returns OTA_OK, OTA_ERR_RESPONSE_TOO_BIG when it needs more than cap - 1 bytes (the
 * connection is then closed), or the errors of ota_http_body(). */
int ota_http_read_all(ota_http_t *c, char *buf, size_t cap, size_t *out_len);

/* Closes the connection, if any. Safe to call at any time; c stays usable for new requests. */
void ota_http_close(ota_http_t *c);

/* Bounds all that c does from now on (connects, sends, receives, across requests) to ms
 * milliseconds on the platform clock (cfg.platform->now_ms; without one this does nothing):
 * each wait is cut to what is left, and once it has passed every operation fails with
 * OTA_ERR_TIMEOUT. ms 0 removes the deadline. Returns nothing. */
void ota_http_set_deadline(ota_http_t *c, uint32_t ms);

/* GET url (redirects, when enabled, update it; "Authorization: Bearer token" unless NULL), require a 200 and read the
 * whole body into buf (cap bytes) with *len its length: the small JSON answers of check endpoints.
 * Returns OTA_OK, OTA_ERR_HTTP_STATUS (not 200, which c->status holds; the connection is closed) or the
 * client's errors. */
int ota_http_get_all(ota_http_t *c, ota_url_t *url, const char *token, char *buf, size_t cap, size_t *len);

#endif
