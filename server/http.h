/*
 * HTTP layer of otakit-server over GNU libmicrohttpd: a route table with path parameters, bearer
 * token auth per route, request bodies (JSON up to a limit, or artifacts streamed to a temp file
 * while hashed), and response helpers (JSON, stable JSON errors, files with Range/ETag).
 */
#ifndef OTAKIT_SERVER_HTTP_H
#define OTAKIT_SERVER_HTTP_H

#include <jansson.h>
#include <mbedtls/md.h>
#include <microhttpd.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "errors.h"

/* Who may call a route (route.auth). Admin may call everything except device-only routes. */
enum {
    AUTH_NONE = 0,   /* public (compat protocols authenticate by their own rules) */
    AUTH_ADMIN = 1,  /* the admin token */
    AUTH_OWNER = 2,  /* admin, or the owner token of the product named by {product} */
    AUTH_DEVICE = 4, /* a device token (the handler checks it acts on itself) */
    AUTH_ENROLL = 8  /* a product's enrollment token (device registration) */
};

/* How a route takes its body (route.body). */
enum { BODY_NONE = 0, BODY_JSON = 1, BODY_STREAM = 2 };

typedef struct http_req http_req_t;
typedef enum MHD_Result (*http_handler_t)(http_req_t *r);

typedef struct {
    const char *method;  /* "GET", "POST"...; GET routes also answer HEAD */
    const char *pattern; /* "/api/v1/products/{product}/releases" */
    http_handler_t fn;
    unsigned auth;
    unsigned body;
} http_route_t;

struct http_req {
    struct MHD_Connection *conn;
    const char *method;
    const char *url;
    const http_route_t *route;
    char *params[4];      /* path parameters, in pattern order */
    int nparams;
    int is_head;
    /* who is calling */
    unsigned auth_kind;   /* AUTH_ADMIN, AUTH_OWNER, AUTH_DEVICE, AUTH_ENROLL or AUTH_NONE */
    int64_t auth_product; /* products.id for owner/enroll tokens */
    int64_t auth_device;  /* devices.id for device tokens */
    /* BODY_JSON */
    char *body;
    size_t body_len;
    json_t *json;         /* parsed body (object), or NULL */
    /* BODY_STREAM */
    int upload_fd;
    char upload_path[512];
    uint64_t upload_len;
    mbedtls_md_context_t md[3]; /* sha256, sha1, md5 */
    char sha256[65], sha1[41], md5[33];
    int too_big;
    int write_errno;      /* the upload could not be written (disk full...): answered 507/500 */
    const char *addr;     /* the client's address ("127.0.0.1"), for per-address limits */
    int close;            /* answer with Connection: close */
    int http10;           /* the request line said HTTP/1.0: so does the status line of the answer */
    char *url_abs;        /* "/" + a request target given without its leading slash (owned) */
    unsigned status;      /* the status answered (0: none yet) */
    struct timespec t0;   /* when the request head arrived (CLOCK_MONOTONIC) */
    void *lp;             /* a long-polling check's waiter (longpoll.c; freed with the request) */
};

typedef struct {
    const char *listen;     /* "127.0.0.1:8080" */
    unsigned threads;
    const char *tls_cert;   /* PEM files; both or neither */
    const char *tls_key;
    const char *tmp_dir;    /* where uploads are streamed */
    uint64_t max_upload;    /* bytes */
    size_t max_json;        /* bytes */
    unsigned idle_timeout;  /* seconds a connection may idle once a request carried a valid token */
    unsigned unauth_timeout; /* seconds before that (and for the credential-less routes) */
    unsigned max_conns;     /* connections served at once; more get 503 (a few more get silence) */
    unsigned max_conns_per_ip; /* connections from one address served at once; more get 503 */
    /* Decides whether the caller may use r->route (called once the route is found, before the
     * body is read; auth.h's auth_check): fills r->auth_* and returns 1, or returns 0 after
     * queuing the refusal. NULL: every route is public. */
    int (*authorize)(http_req_t *r);
    int access_log;         /* log one line per request (logfmt, level info; no header, no query) */
} http_config_t;

/* Starts the server with the given route tables (NULL-terminated list of arrays terminated by a
 * route with method NULL). Returns the daemon or NULL (logged). */
struct MHD_Daemon *http_start(const http_config_t *cfg, const http_route_t *const *tables);

/* Prints every route of tables (as for http_start), one per line: "METHOD PATTERN AUTH BODY", AUTH
 * the route's kinds joined by '|' (none, admin, owner, device, enroll), BODY none, json or stream. */
void http_print_routes(const http_route_t *const *tables, FILE *out);

/* Connections open right now (admitted or not). */
unsigned http_conns_live(void);

/* The port actually bound (useful with port 0). */
unsigned http_port(struct MHD_Daemon *d);

/* Path parameter i (decoded), query argument or request header; NULL when absent. */
const char *http_param(http_req_t *r, int i);
const char *http_query(http_req_t *r, const char *name);
/* The page a list asks for: ?limit= (1..10000, default 1000) and ?offset= (>= 0, default 0).
 * Every paged list reads them here and answers "total" (the matching count) with its page. On
 * bad input the error (bad_limit, bad_offset) is answered into *ret and -1 returned. */
int http_page(http_req_t *r, int64_t *limit, int64_t *offset, enum MHD_Result *ret);
const char *http_header(http_req_t *r, const char *name);

/* Sends obj as JSON with status (takes ownership of obj). */
enum MHD_Result http_json(http_req_t *r, unsigned status, json_t *obj);

/* Sends {"error":{"code":...,"message":...}} with the code and status of e (errors.h), the
 * formatted message (made printable ASCII: it may echo request text) and extra headers
 * (NULL-terminated name/value pairs, e.g. WWW-Authenticate; NULL for none). */
enum MHD_Result http_error_headers(http_req_t *r, err_t e, const char *const *headers, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same without extra headers: http_error(r, ERR_NOT_FOUND, "no product %s", id). */
#define http_error(r, e, ...) http_error_headers((r), (e), NULL, __VA_ARGS__)

/* Sends 429 too_many_requests with Retry-After: retry_after and the message. */
enum MHD_Result http_too_many(http_req_t *r, unsigned retry_after, const char *msg);

/* Sends 507 insufficient_storage (err ENOSPC, EDQUOT or EFBIG: the disk or a size limit is full)
 * or 500 storage for another errno, with "what: strerror(err)". */
enum MHD_Result http_storage_error(http_req_t *r, int err, const char *what);

/* Sends a body from memory (copied) with a content type and extra headers (NULL-terminated
 * name/value pairs). */
/* Answers 200 with a body of unknown length that reader produces (an event stream: sse.c), with
 * Cache-Control: no-cache. free_cb(cls) runs when the connection ends (also when this fails). */
enum MHD_Result http_stream(http_req_t *r, const char *ctype, MHD_ContentReaderCallback reader, void *cls,
                            MHD_ContentReaderFreeCallback free_cb);

enum MHD_Result http_text(http_req_t *r, unsigned status, const char *ctype, const char *body, size_t len,
                          const char *const *headers);

/* Sends a file (zero-copy sendfile) honouring HEAD, Range (RFC 7233: one range; suffix and open
 * ranges; 416 when unsatisfiable; multiple ranges answered with the whole file), If-Range and
 * If-None-Match against etag. headers: extra NULL-terminated name/value pairs. */
enum MHD_Result http_file(http_req_t *r, const char *path, const char *etag, const char *ctype,
                          const char *const *headers);

/* Hex SHA-256 of a token, as stored in the database. out: 65 bytes. */
void http_token_hash(const char *token, char out[65]);

/* Makes a new random token (64 hex chars + NUL). Returns 0 or -1. */
int http_new_token(char out[65]);

#endif
