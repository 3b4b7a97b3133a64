/*
 * Push endpoints on the device: a tiny HTTP/1.1 server for one request at a time, on any
 * ota_net_t connection the port has accepted (the accept loop is port code).
 *
 *   POST /api/ota/update     raw image as the body (Mongoose's tutorials; curl --data-binary @fw.img):
 *                            200 "ok\n", or 500 "<error>\n"
 *   POST /api/ota            the same, as Mongoose's device dashboard posts it: 200 "ok\n" or 500 "<error>"
 *   GET  /update             the upload form of ESP8266HTTPUpdateServer
 *   POST /update             multipart/form-data, file field "firmware" (ESP8266HTTPUpdateServer):
 *                            200 with its success page (meta refresh to / after 15 s) or
 *                            "Update error: ERROR[n]: ...", and its CORS headers; the "filesystem"
 *                            field and gzip (.bin.gz) images are refused so
 *   OPTIONS /update          its CORS preflight answer (no credentials needed: a preflight has none)
 *   any  /api/ota/commit     ota_confirm(): 200 "ok\n" (any method, as Mongoose's tutorials match it)
 *   any  /api/ota/rollback   ota_rollback(): 200 "ok\n"
 *   GET  /api/ota/status     {"state","running_slot","version","security_counter"}
 *   GET  /_ac/update         the device's update page (AutoConnect's UPDATE menu; cfg.page):
 *                            /_ac/update_catalog, POST /_ac/update_act, /_ac/update_progress
 *
 * Every request must carry credentials matching the configuration: "Authorization: Bearer
 * <token>", Basic credentials, or the token where Mongoose's dashboard keeps its session (the
 * Cookie access_token=<token>, or ?access_token=<token>; mg_http_creds in Mongoose's src/http.c);
 * anything else gets 401 before a single byte of body is read, so unauthenticated requests change
 * nothing. Images go straight to ota_write() in small pieces and are verified by
 * ota_end() before anything is marked. Portable C99: no heap, no stdio.
 *
 * Every answer is followed by reading and dropping what is left of the request body (the rest of
 * an image pushed while pulling, a body on a route that takes none, the end of a multipart upload)
 * before ota_push_serve() returns and the port closes the connection: a socket closed with unread
 * bytes sends a reset, and a client still sending would see "connection reset" instead of the
 * answer. After a 401, or a request whose body length is unknown (400, 411), this lasts 2 s at most.
 *
 * Slow clients: every wait for bytes is bounded by timeout_ms, the whole request head by
 * head_timeout_ms and the whole connection by conn_timeout_ms, so a client that connects and
 * sends nothing, or one byte at a time, holds the (single-request) server for seconds, not
 * forever. The last two are measured with the platform clock (cfg.platform->now_ms, otakit/port.h):
 * a port without one gets only timeout_ms.
 */
#ifndef OTAKIT_PUSH_H
#define OTAKIT_PUSH_H

#include "otakit/port.h"
#include "otakit/ota.h"

#ifndef OTA_PUSH_LINE_MAX
#define OTA_PUSH_LINE_MAX 512u /* line buffer (on the stack): lines up to this - 2 bytes, longer: 400 */
#endif

/* What the device's update page shows while a pull it started runs (ota_push_page_t.progress). */
typedef enum { OTA_PAGE_IDLE = 0, OTA_PAGE_PULLING = 1, OTA_PAGE_DONE = 2, OTA_PAGE_FAILED = 3 } ota_page_state_t;

typedef struct {
    uint8_t state;           /* ota_page_state_t */
    uint32_t done, total;    /* bytes of the pull in flight */
    int error;               /* OTA_PAGE_FAILED: why */
    const char *running;     /* the running version ("1.0.0+0") */
    const char *name;        /* the binary being pulled, or the last one */
} ota_page_progress_t;

/* The device's own update page (AutoConnect's UPDATE menu, served at /_ac/update; see
 * otakit/update_page.h): the port lists a catalog and pulls the chosen binary in its own loop. */
typedef struct {
    /* Fetches the update server's catalog (a flat JSON array as AutoConnect's update server and
     * otakit-server answer GET /_catalog; for a product of otakit images, otakit-server's list for
     * this device, ota_catalog_device_list() in otakit/agent.h) into buf (cap bytes,
     * NUL-terminated). Returns its length or an otakit error. */
    int (*catalog)(void *ctx, char *buf, size_t cap);
    /* Starts the pull of the named binary (it runs in the port's loop after this request is
     * answered). Returns OTA_OK or an error (OTA_ERR_STATE: one runs already). */
    int (*start)(void *ctx, const char *name);
    /* Where the pull stands. */
    void (*progress)(void *ctx, ota_page_progress_t *p);
    void *ctx;
    char *buf;               /* the catalog and the progress answer are built here */
    size_t cap;              /* 2048 holds a catalog of about 20 binaries (8 of the device list) */
} ota_push_page_t;

typedef struct {
    const char *token;       /* accepted bearer token, or NULL */
    const char *basic_b64;   /* accepted Basic credentials, base64 of "user:password", or NULL */
    uint32_t timeout_ms;     /* longest wait for the next bytes of a request (0 means 15000) */
    uint32_t head_timeout_ms;/* the request line and headers must all arrive within this, counted
                                from the call: authentication comes after them (0 means 10000) */
    uint32_t conn_timeout_ms;/* the whole request, body and response included (0 means 600000:
                                a 1 MB image at 2 KB/s) */
    const ota_platform_ops_t *platform; /* its now_ms measures head and connection deadlines; NULL:
                                only timeout_ms */
    const ota_push_page_t *page; /* the update page at /_ac/update; NULL: none (404) */
    uint8_t busy;            /* 1: a pull runs: uploads, commit and rollback answer 409 */
} ota_push_cfg_t;

/* What a served request did (for the caller's logs and its decision to reboot). */
typedef struct {
    int status;              /* HTTP status sent */
    int result;              /* OTA_OK or the error of the update, commit or rollback */
    uint8_t reboot;          /* 1: an image is now pending (or a rollback requested): reset soon */
} ota_push_result_t;

/* Serves one request on the connected handle h of net (does not close it). Returns OTA_OK when a
 * response was sent (see *res), or a transport error when the connection failed. */
int ota_push_serve(ota_ctx_t *ctx, const ota_net_t *net, int h, const ota_push_cfg_t *cfg, ota_push_result_t *res);

#endif
