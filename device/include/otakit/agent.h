/*
 * The update agent's network side: ask the otakit server whether there is an update, and pull
 * the image over HTTP(S) into the streaming writer, resuming across dropped connections and
 * device resets.
 *
 *   ota_check_request(&http, "https://ota.example.com", token, "1.0.0", slot, counter,
 *                     buf, sizeof buf, &chk);           GET /api/v1/device/check, parsed
 *   if (chk.has_update) {
 *       ota_pull_opts_t o = {0};
 *       o.token = token; o.size = chk.size; o.sha256 = chk.sha256;
 *       rc = ota_pull_image(&ctx, &http, chk.url, &o, &stats);   ota_begin/write/end inside
 *   }
 *
 * The pull never lets a wrong byte reach an accepted image: it continues a download only with a
 * Range request validated by If-Range (the entity tag, "\"<sha256>\"" on otakit servers) and a
 * 206 whose Content-Range starts exactly where it stopped; any other answer (200: the server
 * ignored the range or the file changed; 416; another ETag) restarts from byte zero with
 * ota_abort() + ota_begin(). The bytes written are hashed as they go and must match the manifest's
 * SHA-256 before ota_end(), which then checks the signature from flash. Portable C99: no heap.
 *
 * These are the pieces; otakit/agent_loop.h puts them together with registration, reports,
 * commands, settings and retries behind one call, ota_agent_step().
 */
#ifndef OTAKIT_AGENT_H
#define OTAKIT_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/http.h"
#include "otakit/ota.h"

/* ---- the check response ------------------------------------------------------------------ */

#define OTA_CHECK_TEXT_MAX 64u    /* version strings, NUL included */
#define OTA_CHECK_URL_MAX 384u    /* artifact URL, NUL included */
#define OTA_CHECK_MAX_COMMANDS 4u /* commands one check can deliver */

/* One command delivered by a check (seed 004 sys_upgrade / sys_reboot). */
typedef struct {
    uint32_t id;
    char type[16];                   /* "upgrade" or "reboot" (others are kept as given) */
    uint32_t action_id;              /* 0 when absent */
    char version[OTA_CHECK_TEXT_MAX];/* upgrade: the version it installs; "" when absent */
    uint8_t consent_required;
} ota_command_t;

/* GET /api/v1/device/check, decoded. Fields of "update" are valid when has_update is 1. */
typedef struct {
    uint8_t has_update;
    uint32_t action_id;
    char status[16];                 /* "offered", "downloading", ... ("" when absent) */
    char version[OTA_CHECK_TEXT_MAX];
    uint32_t size;
    char sha256[65];                 /* 64 lowercase hex digits */
    char url[OTA_CHECK_URL_MAX];
    uint32_t security_counter;
    int8_t slot;                     /* slot the image is built for; -1 when absent */
    uint8_t reboot_on_command;       /* "reboot": "on_command" (wait for a reboot command) */
    uint8_t n_commands;
    ota_command_t commands[OTA_CHECK_MAX_COMMANDS];
    uint32_t poll_interval;          /* seconds; 0 when absent */
    /* "update"."delta" (asked for with ota_check_request_delta()): a signed patch rebuilding the
     * image from the running one (otakit/delta.h). Valid when has_delta is 1. */
    uint8_t has_delta;
    uint32_t delta_size;
    char delta_sha256[65];           /* of the patch */
    char delta_base[65];             /* of the image it applies to */
    char delta_url[OTA_CHECK_URL_MAX];
} ota_check_t;

/* Decodes a check response (len bytes of JSON at json; no NUL needed) into *out. Unknown fields
 * are skipped; "update" must be null or carry action_id, version, size, sha256 and url.
 * Returns OTA_OK, OTA_ERR_JSON (malformed JSON, missing or mistyped field, bad sha256) or
 * OTA_ERR_NO_SPACE (a string or the command list does not fit in *out). */
int ota_check_parse(const char *json, size_t len, ota_check_t *out);

/* Asks server_url ("https://host[:port]", no trailing path) for an update: GET
 * /api/v1/device/check?version=&slot=&security_counter= with the device token, reads the answer
 * into buf (cap bytes; 2 KB suffices for a manifest and a few commands) and parses it into *out.
 * Returns OTA_OK, OTA_ERR_HTTP_STATUS (not 200), the HTTP client's errors, or those of
 * ota_check_parse(). */
int ota_check_request(ota_http_t *http, const char *server_url, const char *token, const char *version,
                      unsigned slot, uint32_t security_counter, char *buf, size_t cap, ota_check_t *out);

/* The same, telling the server that this device applies delta patches (&delta=1): the answer's
 * update may then carry one (out->has_delta). */
int ota_check_request_delta(ota_http_t *http, const char *server_url, const char *token, const char *version,
                            unsigned slot, uint32_t security_counter, char *buf, size_t cap, ota_check_t *out);

/* The same with the options spelled out: delta as above; wait_s (1..300) asks otakit-server to hold
 * the check until there is news for this device (a rollout, a command) or wait_s seconds have
 * passed (&wait=N, long-polling); the client's read timeout must exceed wait_s. 0: answer at once. */
int ota_check_request_opts(ota_http_t *http, const char *server_url, const char *token, const char *version,
                           unsigned slot, uint32_t security_counter, char *buf, size_t cap, ota_check_t *out,
                           int delta, unsigned wait_s);

/* ---- the pull ---------------------------------------------------------------------------- */

typedef struct {
    const char *token;        /* "Authorization: Bearer" (device token); NULL: none */
    uint32_t size;            /* image size (the manifest's); 0: learn it from the server */
    const char *sha256;       /* the manifest's SHA-256 (64 hex digits) or NULL. When set, the ETag
                                 "\"<sha256>\"" validates resumes, the bytes must hash to it, and a
                                 server offering other content fails with OTA_ERR_CHANGED */
    uint8_t max_retries;      /* failed attempts in a row without progress (below) before giving
                                 up; 0 means 5 */
    uint32_t min_progress;    /* bytes past the furthest point reached before that make a failed
                                 attempt count as progress (the retry count starts again); 0 means
                                 1024. Less progress adds up over attempts but spends retries */
    uint32_t deadline_ms;     /* the whole pull, retries and pauses included, within this; measured
                                 on the platform clock of the HTTP client (its cfg.platform->now_ms;
                                 without one there is no deadline); 0 means 3600000 (one hour) */
    uint32_t retry_delay_ms;  /* pause before a retry, doubled each time up to 32x, with the HTTP
                                 client's cfg.platform->sleep_ms (without one: no pause) */
    /* Called after every block written: done of total bytes (done goes back to 0 on a restart). */
    void (*progress)(void *arg, uint32_t done, uint32_t total);
    void *progress_arg;
} ota_pull_opts_t;

/* What a pull did (for logs, reports and tests). */
typedef struct {
    uint32_t requests;        /* HTTP requests sent */
    uint32_t resumes;         /* 206 answers continuing an interrupted download */
    uint32_t restarts;        /* downloads started over from byte zero */
    uint32_t failures;        /* attempts that failed (dropped, timed out, 5xx, ...) */
    uint32_t bytes;           /* body bytes written to flash, restarts included */
    uint32_t reset_offset;    /* where a download interrupted by a reset continued (0: none) */
    int last_error;           /* the error of the last failed attempt (OTA_OK if none) */
} ota_pull_stats_t;

/* Downloads url into the update slot: ota_begin (or, after a reset mid-download, ota_resume with
 * OTA_RESUME_AUTO when the journal's size matches), ota_write in pieces as they arrive, then
 * checks the SHA-256 and calls ota_end (signature, product, hardware, counter from flash). Dropped
 * connections, timeouts and 5xx answers are retried with Range/If-Range; see the file comment for
 * when it starts over. http is the caller's client (its transports, timeouts, redirect policy);
 * the pull sets its deadline (ota_http_set_deadline) to opts->deadline_ms and removes it on return.
 * Returns OTA_OK (image verified and pending: reset to install), the last network error once
 * max_retries attempts in a row failed without min_progress, OTA_ERR_TIMEOUT once deadline_ms has
 * passed (in both cases the partial download stays resumable), OTA_ERR_CHANGED,
 * OTA_ERR_HASH, OTA_ERR_HTTP_STATUS (4xx), ota_end()'s or the flash's errors (the download is then
 * abandoned with ota_abort). stats may be NULL. */
int ota_pull_image(ota_ctx_t *ctx, ota_http_t *http, const char *url, const ota_pull_opts_t *opts,
                   ota_pull_stats_t *stats);

/* ---- the pre-check ----------------------------------------------------------------------- */

/* Fetches the product, hardware and security counter of an image BEFORE downloading it, like
 * ESP-IDF's esp_https_ota_get_img_desc(). Our TLVs follow the payload, so this takes two small
 * Range requests: "bytes=0-" of which only the 32-byte header is read (then the connection is
 * closed: the client sends open-ended ranges only, so at most one receive window more reaches the
 * device), and "bytes=<hdr_size+img_size>-" (If-Range: the first answer's ETag) of which at most
 * OTA_PRECHECK_TLV_MAX bytes are read. Call it before ota_pull_image():
 *
 *   ota_precheck_t pc;
 *   rc = ota_pull_precheck(&ctx, &http, chk.url, token, chk.size, &running, &pc);
 *   if (rc == OTA_OK) rc = ota_pull_image(&ctx, &http, chk.url, &o, &stats);
 *
 * It never touches the flash (no ota_begin). What it reads is NOT authenticated: it only saves a
 * download that ota_end() would refuse; ota_end() still verifies the signature and checks product,
 * hardware and counter again from flash. */
#ifndef OTA_PRECHECK_TLV_MAX
#define OTA_PRECHECK_TLV_MAX 512u /* TLV bytes fetched (both areas of a signed image fit) */
#endif

typedef struct {
    uint8_t checked;          /* 1: the checks ran on the image's TLVs; 0: skipped (see below) */
    uint32_t requests;        /* HTTP requests sent (0..2) */
    uint32_t bytes;           /* body bytes read */
    ota_image_info_t info;    /* hdr (version), layout, product, hw_rev, security_counter; valid
                                 when checked (hdr also after the first request) */
} ota_precheck_t;

/* Returns OTA_OK with out->checked = 1 when the image names ctx's product (cfg.product, when set),
 * lists its hardware revision (cfg.hw_rev, when set), has a security counter >= the device's floor
 * (ctx->rec.security_counter) and, when running is not NULL, a version newer than *running.
 * Returns OTA_OK with out->checked = 0 (skipped, pull as usual) when the server ignores Range (200),
 * the file changed between the requests, or the TLV areas are larger than OTA_PRECHECK_TLV_MAX.
 * Errors: OTA_ERR_PRODUCT, OTA_ERR_HW_REV, OTA_ERR_DOWNGRADE (counter below the floor, or version
 * not newer than *running), OTA_ERR_CHANGED (the server's size is not size; size 0: not checked),
 * header and layout errors (OTA_ERR_MAGIC, _FLAGS, _TRUNCATED, _TLV_MAGIC, _TLV_BOUNDS, ...),
 * OTA_ERR_HTTP_STATUS (4xx/5xx other than 416) and the HTTP client's errors. */
int ota_pull_precheck(ota_ctx_t *ctx, ota_http_t *http, const char *url, const char *token, uint32_t size,
                      const ota_version_t *running, ota_precheck_t *out);

/* ---- servers of other OTA protocols (shared/reference/protocols.md, sections 2 and 4) ------ */

/* Mongoose pull: GET <metadata URL>?arch=..&version=..&id=.. answers {"version","url","size"}; any
 * version other than the running one is an update, downloaded with a 200 whose Content-Length is
 * size. Pull it with ota_pull_image() (opts.size = size, no sha256: the protocol has none; ota_end()
 * still verifies the signature):
 *
 *   rc = ota_mongoose_check(&http, "http://host/ota.json?arch=stm32&version=1.0.0&id=dev-1", "1.0.0",
 *                           buf, sizeof buf, &mg);
 *   if (rc == OTA_OK && mg.has_update) { o.size = mg.size; rc = ota_pull_image(&ctx, &http, mg.url, &o, &st); }
 */
typedef struct {
    uint8_t has_update;               /* version differs from the running one and url is not empty */
    char version[OTA_CHECK_TEXT_MAX];
    char url[OTA_CHECK_URL_MAX];
    uint32_t size;                    /* > 0 when has_update */
} ota_mongoose_t;

/* Decodes a metadata answer (len bytes of JSON). "version" and "url" (strings) are required,
 * "size" too when url is not empty; other members are skipped. Returns OTA_OK, OTA_ERR_JSON or
 * OTA_ERR_NO_SPACE. */
int ota_mongoose_parse(const char *json, size_t len, const char *running_version, ota_mongoose_t *out);

/* GETs meta_url (the query already in it), reads the answer into buf (cap bytes; 512 suffice) and
 * decodes it. Returns OTA_OK, OTA_ERR_HTTP_STATUS (not 200), the HTTP client's errors, or those of
 * ota_mongoose_parse(). */
int ota_mongoose_check(ota_http_t *http, const char *meta_url, const char *running_version, char *buf, size_t cap,
                       ota_mongoose_t *out);

/* ESP8266 / ESP32 Arduino HTTP update: one GET with the updater's User-Agent and x-ESP8266-*
 * (x-ESP32-*) headers; 304 means no update, 200 carries the whole image (Content-Length required,
 * chunked refused) with an optional x-MD5 of it. There is no resume in this protocol: a failed
 * transfer is abandoned (ota_abort) and the next call starts over. */
typedef struct {
    const char *sta_mac;      /* "18:FE:AA:AA:AA:AA" (required; 17 characters) */
    const char *ap_mac;       /* NULL: sta_mac */
    const char *version;      /* the running version (x-...-version); NULL: not sent */
    const char *sketch_md5;   /* 32 lowercase hex digits of the running image; NULL: 32 zeros */
    const char *sdk_version;  /* NULL: "otakit" */
    uint32_t chip_id;         /* x-ESP8266-Chip-ID (not sent for ESP32) */
    uint32_t free_space;      /* bytes free for a new sketch; 0: the update slot's size */
    uint32_t sketch_size;     /* size of the running image */
    uint32_t chip_size;       /* flash size; 0: not known, sent as the slot size times two */
    uint8_t esp32;            /* 1: ESP32-http-Update with x-ESP32-* headers */
    uint8_t require_md5;      /* 1: a 200 without x-MD5 is refused (OTA_ERR_HTTP) */
    /* Called after every block written: done of total bytes (NULL: none). */
    void (*progress)(void *arg, uint32_t done, uint32_t total);
    void *progress_arg;
} ota_esp_info_t;

#define OTA_ESP_NO_UPDATE 1   /* ota_esp_update(): the server answered 304 (flash untouched) */

/* Sends the request to url and, on 200, streams the body into ota_begin/ota_write/ota_end, hashing
 * it with MD5 and comparing with x-MD5 (when sent) before ota_end() verifies the signature.
 * Returns OTA_OK (image verified and pending: reset to install), OTA_ESP_NO_UPDATE (304),
 * OTA_ERR_HTTP_STATUS (403, 404 or any other status), OTA_ERR_HTTP (chunked or no Content-Length,
 * malformed x-MD5), OTA_ERR_HASH (MD5 mismatch), OTA_ERR_ARG, the HTTP client's errors, or
 * ota_begin/ota_write/ota_end's errors. stats (may be NULL): requests, bytes, last_error. */
int ota_esp_update(ota_ctx_t *ctx, ota_http_t *http, const char *url, const ota_esp_info_t *info,
                   ota_pull_stats_t *stats);

/* AutoConnect update server catalog (Hieromon/AutoConnect AutoConnectUpdate.cpp; its updateserver.py
 * and otakit-server serve it): GET <base>/_catalog?op=list&path=<path> answers a flat JSON array of
 * {"name","type","date","time","size"}. The newest binary for
 * this device is downloaded from <base>/<path>/<name> with the ESP updater's headers:
 *
 *   rc = ota_catalog_check(&http, "http://host:8000", "fw", "1.0.0", 1 - ota_running_slot(&ctx),
 *                          buf, sizeof buf, &cat);
 *   if (rc == OTA_OK && cat.has_update) rc = ota_esp_update(&ctx, &http, cat.url, &esp, &st);
 */
typedef struct {
    uint8_t has_update;               /* the newest binary is newer than the running version */
    char name[OTA_CHECK_TEXT_MAX];    /* that entry's name ("" when none qualifies) */
    char version[OTA_CHECK_TEXT_MAX]; /* the version read from its name */
    char url[OTA_CHECK_URL_MAX];      /* where to get it: base, path, name */
    uint32_t size;                    /* the size the catalog lists */
    uint32_t entries;                 /* binaries in the list */
    char sha256[65];                  /* otakit-server's device catalog: the artifact's SHA-256 */
} ota_catalog_t;

/* Picks from a catalog answer (len bytes of JSON): among the binaries (type "bin" in any case, or
 * "file" named *.bin: updateserver.py lists only 0xE9 ESP images as "bin", an otakit image as a file),
 * skipping slot-linked ones ("-user1.bin", "-user2.bin") for the other slot than inactive_slot
 * (0 or 1), the one whose name carries the highest version (the first [0-9.+] run that
 * ota_version_parse() takes, after an optional 'v': "2.1.0.bin", "fw-v1.4.2+7.bin"; names without
 * one are skipped). has_update when there is no parseable running_version or that version is
 * older. Returns OTA_OK, OTA_ERR_JSON, OTA_ERR_NO_SPACE (url) or OTA_ERR_ARG (path with spaces, '&',
 * '#', '?', '%' or "..", or more than 128 characters). */
int ota_catalog_pick(const char *json, size_t len, const char *base_url, const char *path,
                     const char *running_version, unsigned inactive_slot, ota_catalog_t *out);

/* The directory a catalog path names, as AutoConnect's updateserver.py joins it to its root: the
 * path without its leading "/" and "./" and its trailing "/" ("." and "" are the root; "./fw/",
 * "/fw" and "fw" name fw). Sets *start (inside path) and returns the length. The one rule of the
 * device's catalog client and of otakit-server's catalog (server/compat.c). */
size_t ota_catalog_dir(const char *path, const char **start);

/* GETs the catalog of path ("." or "" for the root; as AutoConnect's uri) from base_url
 * ("http://host:port", no trailing slash), reads the whole list into buf (cap bytes: about 90 a
 * entry) and picks as ota_catalog_pick(). Returns its codes, OTA_ERR_HTTP_STATUS (not 200) or the
 * HTTP client's errors (OTA_ERR_NO_SPACE: the list does not fit buf). */
int ota_catalog_check(ota_http_t *http, const char *base_url, const char *path, const char *running_version,
                      unsigned inactive_slot, char *buf, size_t cap, ota_catalog_t *out);

/* otakit-server's catalog for a device of otakit images (the device's update page,
 * otakit/update_page.h): GET {server_url}/api/v1/device/catalog with the device token answers the
 * same flat list for the device's own product only, each entry adding "version", "sha256" and
 * "url" (the artifact's device-token download, as a rollout's manifest names it):
 *
 *   rc = ota_catalog_device_pull(&ctx, &http, server, token, "2.0.0.bin", buf, sizeof buf, &o, &st);
 *
 * Reads the list into buf (cap bytes, NUL added; about 250 a entry) with *len its length. Returns
 * OTA_OK, OTA_ERR_HTTP_STATUS (401: not a device of this server), OTA_ERR_URL, OTA_ERR_NO_SPACE
 * or the HTTP client's errors. */
int ota_catalog_device_list(ota_http_t *http, const char *server_url, const char *token, char *buf, size_t cap,
                            size_t *len);

/* Finds the entry called name in such a list (len bytes of JSON): *out gets its name, version, url,
 * size and sha256, and entries the count of entries. Returns OTA_OK, OTA_ERR_ARG (no entry of that
 * name with a url, size and sha256 this device takes) or OTA_ERR_JSON. */
int ota_catalog_device_find(const char *json, size_t len, const char *name, ota_catalog_t *out);

/* Lists the catalog into buf, finds name and pulls it with ota_pull_image() pinned to the entry's
 * size and SHA-256 (Range resume across drops and resets; the hash, then ota_end() verifies the
 * signature, product, hardware and counter from flash before the image is marked). opts (may be
 * NULL): the pull's other options (token, size and sha256 are set here). Returns OTA_OK (image
 * verified and pending: reset to install) or the errors of the three steps. */
int ota_catalog_device_pull(ota_ctx_t *ctx, ota_http_t *http, const char *server_url, const char *token,
                            const char *name, char *buf, size_t cap, const ota_pull_opts_t *opts,
                            ota_pull_stats_t *stats);

#endif
