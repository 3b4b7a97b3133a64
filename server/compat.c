/*
 * The protocols existing devices already speak (shared/reference/protocols.md), mapped onto the same
 * products, releases, devices and rollouts as the native API. They have no bearer tokens: devices
 * are known by what the protocol sends (an ESP's STA-MAC, a Mongoose id) and are registered on
 * first contact, so an owner sees them and can target them with rollouts. A product answers them
 * only when its owner switched the protocol on (compat_policy.h); their devices live in their own
 * id namespace ("esp:<MAC>", "mongoose:<id>") and first contacts are rate limited.
 *
 * ESP8266 / ESP32 Arduino HTTP update (ESP8266httpUpdate, HTTPUpdate; section 4)
 *   GET /api/v1/esp/{product}/update   with the x-ESP8266-* (or x-ESP32-*) headers
 *   403 without the updater's User-Agent and headers; 304 when there is nothing newer (or the
 *   offered image is the sketch it runs, by MD5); else 200 with the image, Content-Length, x-MD5.
 * AutoConnect update server (section 7)
 *   GET /_catalog?op=list&path=/{product}   flat JSON array of {"name","type","date","time","size"}
 *   GET /{product}/{name}                   the binary, with the ESP update headers (else 403)
 *   GET /api/v1/device/catalog              (device token) the same list of the device's own
 *                                           product's otakit images, for its update page
 * Mongoose pull (section 2): compat_mongoose.c. What every one of them does first (product, device,
 * claims): compat_lookup.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "compat_lookup.h"
#include "db.h"
#include "device_check.h"
#include "history.h"
#include "input.h"
#include "log.h"
#include "lookup.h"
#include "otakit/agent.h"
#include "rollout_eval.h"
#include "server.h"
#include "sql.h"
#include "store.h"
#include "tx.h"

/* Serves an artifact with the headers ESP updaters check. */
static enum MHD_Result serve_esp(http_req_t *r, const char *sha256, const char *md5, const char *filename,
                                 const char *version)
{
    char path[700], disp[200];
    if (store_path(sha256, path, sizeof path) != 0)
        return http_error(r, ERR_STORAGE, "bad artifact name");
    snprintf(disp, sizeof disp, "attachment; filename=%s", filename);
    return http_file(r, path, sha256, "application/octet-stream",
                     (const char *const[]){"Content-Disposition", disp, "x-MD5", md5, "x-version", version, NULL});
}

/* The ESP update headers with the given prefix ("x-ESP8266-" or "x-ESP32-"): all present? The
 * sketch MD5 is required of the ESP8266 only: ESP8266httpUpdate always sends it (and the Arduino
 * docs' reference server insists on it), ESP32's HTTPUpdate sends it only when the core knows it
 * (older versions never; they send x-ESP32-sketch-sha256 when they know that). */
static int esp_headers_ok(http_req_t *r, const char *prefix)
{
    static const char *const need[] = {"STA-MAC", "AP-MAC", "free-space", "sketch-size", "chip-size",
                                       "sdk-version", "sketch-md5", NULL};
    char name[64];
    int i, esp32 = !strcmp(prefix, "x-ESP32-");
    for (i = 0; need[i]; i++) {
        if (esp32 && !strcmp(need[i], "sketch-md5"))
            continue;
        snprintf(name, sizeof name, "%s%s", prefix, need[i]);
        if (!http_header(r, name))
            return 0;
    }
    return 1;
}

/* Which updater is calling: "x-ESP8266-", "x-ESP32-" or NULL (then the answer is 403). */
static const char *esp_updater(http_req_t *r)
{
    const char *ua = http_header(r, "User-Agent");
    if (ua && !strcmp(ua, "ESP8266-http-Update") && esp_headers_ok(r, "x-ESP8266-"))
        return "x-ESP8266-";
    if (ua && !strcmp(ua, "ESP32-http-Update") && esp_headers_ok(r, "x-ESP32-"))
        return "x-ESP32-";
    return NULL;
}

/* The updaters read only the status; the body is the API's JSON error like any other. */
static enum MHD_Result forbidden(http_req_t *r)
{
    return http_error(r, ERR_FORBIDDEN, "only for ESP8266/ESP32 HTTP updaters");
}

static enum MHD_Result not_modified(http_req_t *r)
{
    return http_text(r, 304, NULL, "", 0, NULL);
}

/* Uppercase MAC "AA:BB:CC:DD:EE:FF", or NULL when malformed. */
static const char *norm_mac(const char *in, char out[18])
{
    int i;
    if (!in || strlen(in) != 17)
        return NULL;
    for (i = 0; i < 17; i++) {
        char c = in[i];
        if (i % 3 == 2) {
            if (c != ':')
                return NULL;
            out[i] = ':';
        } else if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')) {
            out[i] = c;
        } else if (c >= 'a' && c <= 'f') {
            out[i] = (char)(c - 32);
        } else {
            return NULL;
        }
    }
    out[17] = 0;
    return out;
}

/* ---- ESP8266 / ESP32 HTTP update ------------------------------------------------------------ */

/* The header prefix+name, or NULL. */
static const char *esp_header(http_req_t *r, const char *prefix, const char *name)
{
    char full[64];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    return http_header(r, full);
}

/* A decimal header value, or -1 when absent or not a number. */
static long long esp_number(const char *v)
{
    char *end;
    long long n;
    if (!v || *v < '0' || *v > '9')
        return -1;
    n = strtoll(v, &end, 10);
    return *end ? -1 : n;
}

/* The format of the artifact sha256 ("esp8266", "esp-idf", "otakit"), into fmt ("" if unknown). */
static void artifact_format(const char *sha256, char fmt[16])
{
    db_t *db = db_get();
    db_stmt_t *st = db ? q_prep(db, "SELECT format FROM artifacts WHERE sha256 = ? LIMIT 1", "s", sha256) : NULL;
    fmt[0] = 0;
    if (st && db_step(st) == DB_ROW)
        snprintf(fmt, 16, "%s", q_text(st, 0));
    db_done(st);
}

struct nofit {
    int64_t device, action;
    char message[160];
};

/* The offer cannot fit the device's free sketch space: it fails (once) with the reason, so the
 * rollout counts it and the owner sees why, and the device is not offered it again. */
static int nofit_tx(db_t *db, void *arg)
{
    struct nofit *f = arg;
    int n = q_exec(db, "UPDATE actions SET status = 'failed', message = ?, updated_at = ? WHERE id = ? AND "
                       "status = 'offered'",
                   "sii", f->message, now_s(), f->action);
    if (n <= 0)
        return n < 0 ? -1 : 0;
    if (history_event(db, f->device, f->action, "failed", json_pack("{s:s}", "message", f->message)) != 0 ||
        history_device_state(db, f->device) != 0)
        return -1;
    return rollout_eval_device(db, f->device);
}

/* Whether the offer upd can go to the updater: an ESP image (otakit images are for the device
 * API), not the sketch it runs (by its MD5, or the ESP32's SHA-256), and small enough for the free
 * sketch space it reported (the updater refuses a larger one with HTTP_UE_TOO_LESS_SPACE, on every
 * poll). */
static int esp_deliverable(http_req_t *r, const char *prefix, int64_t device, json_t *upd, int *err)
{
    const char *md5 = esp_header(r, prefix, "sketch-md5"), *sha = esp_header(r, prefix, "sketch-sha256");
    long long free_space = esp_number(esp_header(r, prefix, "free-space"));
    json_int_t size = json_integer_value(json_object_get(upd, "size"));
    char fmt[16];
    *err = 0;
    artifact_format(json_string_value(json_object_get(upd, "sha256")), fmt);
    if (!fmt[0] || !strcmp(fmt, "otakit"))
        return 0;
    if ((md5 && !strcasecmp(md5, json_string_value(json_object_get(upd, "md5")))) ||
        (sha && !strcasecmp(sha, json_string_value(json_object_get(upd, "sha256")))))
        return 0;
    if (free_space >= 0 && size > free_space) {
        struct nofit f;
        f.device = device;
        f.action = json_integer_value(json_object_get(upd, "action_id"));
        snprintf(f.message, sizeof f.message, "the image (%lld bytes) does not fit the free sketch space (%lld bytes)",
                 (long long)size, free_space);
        *err = db_tx(nofit_tx, &f) != 0;
        return 0;
    }
    return 1;
}

/* x-ESP8266-mode: version (ESP8266httpUpdate::getAvailableVersion): 200 with x-version (and
 * x-MD5), as the reference server answers: the version it would get, else the one it runs. */
static enum MHD_Result esp_version(http_req_t *r, int64_t device, const char *version, json_t *upd)
{
    char have[80] = "", md5[33] = "";
    const char *const h[] = {"x-version", have, "x-MD5", md5, NULL};
    if (upd) {
        snprintf(have, sizeof have, "%s", json_string_value(json_object_get(upd, "version")));
        snprintf(md5, sizeof md5, "%s", json_string_value(json_object_get(upd, "md5")));
    } else if (version) {
        snprintf(have, sizeof have, "%s", version);
    } else {
        db_t *db = db_get();
        db_stmt_t *st = db ? q_prep(db, "SELECT version FROM devices WHERE id = ?", "i", device) : NULL;
        if (st && db_step(st) == DB_ROW)
            snprintf(have, sizeof have, "%s", q_text(st, 0));
        db_done(st);
    }
    if (!have[0])
        return http_error(r, ERR_NOT_FOUND, "no version is known for this device: send x-ESP8266-version");
    return http_text(r, 200, "text/plain", "", 0, md5[0] ? h : (const char *const[]){"x-version", have, NULL});
}

static enum MHD_Result esp_update(http_req_t *r)
{
    const char *prefix = esp_updater(r), *version, *mode;
    char mac[18], devid[32];
    compat_lookup_t l;
    json_t *upd;
    int err, ok;

    if (!prefix)
        return forbidden(r);
    if (!norm_mac(esp_header(r, prefix, "STA-MAC"), mac))
        return forbidden(r);
    mode = esp_header(r, prefix, "mode");
    if (mode && !strcmp(mode, "spiffs"))
        return not_modified(r); /* filesystem images are not served */
    if (mode && strcmp(mode, "sketch") != 0 && strcmp(mode, "version") != 0)
        return http_error(r, ERR_NOT_FOUND, "mode not supported: %s", mode);
    version = esp_header(r, prefix, "version");
    if (version && *version && !input_text_ok(version, 64, 1))
        return http_error(r, ERR_BAD_VERSION, "the version header must be 1-64 printable ASCII characters");
    if (version && !*version)
        version = NULL;

    memset(&l, 0, sizeof l);
    snprintf(devid, sizeof devid, COMPAT_ESP_PREFIX "%s", mac);
    l.product_id = http_param(r, 0);
    l.mac = mac;
    l.device_id = devid;
    l.via = "esp";
    l.addr = r->addr;
    l.version = version;
    l.boot = COMPAT_BOOT_NONE;
    if ((err = compat_lookup(&l)) != 0)
        return compat_lookup_error(r, err, l.wait);
    upd = compat_offer(l.device, version, &err);
    if (err)
        return http_error(r, ERR_DATABASE, "check failed");
    ok = upd && esp_deliverable(r, prefix, l.device, upd, &err);
    if (err) {
        json_decref(upd);
        return http_error(r, ERR_DATABASE, "check failed");
    }
    if (mode && !strcmp(mode, "version")) {
        enum MHD_Result ret = esp_version(r, l.device, version, ok ? upd : NULL);
        json_decref(upd);
        return ret;
    }
    if (!ok) {
        json_decref(upd);
        return not_modified(r);
    }
    {
        enum MHD_Result ret = serve_esp(r, json_string_value(json_object_get(upd, "sha256")),
                                        json_string_value(json_object_get(upd, "md5")),
                                        json_string_value(json_object_get(upd, "filename")),
                                        json_string_value(json_object_get(upd, "version")));
        json_decref(upd);
        return ret;
    }
}

/* ---- AutoConnect catalog -------------------------------------------------------------------- */

/* The catalog name of an artifact: VERSION.bin, or VERSION-userN.bin for a slot-linked image. */
static void catalog_name(char *out, size_t n, const char *version, int slot)
{
    if (slot >= 0)
        snprintf(out, n, "%s-user%d.bin", version, slot + 1);
    else
        snprintf(out, n, "%s.bin", version);
}

/* One catalog entry as AutoConnect's client reads it: name, type "bin", the protocol's MM/DD/YY
 * date and HH:MM:SS time (AutoConnect's own server writes them so), size. */
static json_t *catalog_entry(const char *name, int64_t size, int64_t created_at)
{
    char date[40], tim[40];
    time_t t = (time_t)created_at;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(date, sizeof date, "%02d/%02d/%02d", tm.tm_mon + 1, tm.tm_mday, (tm.tm_year + 1900) % 100);
    snprintf(tim, sizeof tim, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
    return json_pack("{s:s,s:s,s:s,s:s,s:I}", "name", name, "type", "bin", "date", date, "time", tim, "size",
                     (json_int_t)size);
}

static enum MHD_Result catalog(http_req_t *r)
{
    const char *op = http_query(r, "op"), *path = http_query(r, "path");
    db_t *db = db_get();
    db_stmt_t *st;
    json_t *arr = json_array();
    char name[120], dir[80];
    compat_policy_t pol;
    int64_t product;

    if (!op || strcmp(op, "list") != 0) {
        json_decref(arr);
        return http_error(r, ERR_BAD_OP, "op must be list");
    }
    /* AutoConnect's client sends its uri as given (default "."), which updateserver.py joins to
     * its catalog root: ".", "/", "./espy", "/espy/" and "espy" name the same places here, by
     * the device catalog client's own rule (ota_catalog_dir). */
    {
        const char *start;
        size_t n = ota_catalog_dir(path ? path : "", &start);
        snprintf(dir, sizeof dir, "%.*s", (int)(n < sizeof dir ? n : sizeof dir - 1), start);
    }
    path = dir;
    if (!db) {
        json_decref(arr);
        return http_error(r, ERR_DATABASE, "no connection");
    }
    if (!*path) {
        /* The root lists the products that take ESP updaters as directories. */
        st = q_prep(db, "SELECT product_id FROM products WHERE compat_esp <> 0 ORDER BY product_id", "");
        while (st && db_step(st) == DB_ROW)
            json_array_append_new(arr, json_pack("{s:s,s:s}", "name", q_text(st, 0), "type", "directory"));
        db_done(st);
        return http_json(r, 200, arr);
    }
    if (!(product = compat_product(db, path, "esp", &pol))) {
        json_decref(arr);
        return http_error(r, ERR_NOT_FOUND, "no such catalog path");
    }
    /* Only what an ESP updater can flash: otakit images are for the device API. */
    st = q_prep(db,
                "SELECT r.version, a.slot, a.format, a.size, a.created_at FROM artifacts a "
                "JOIN releases r ON r.id = a.release WHERE r.product = ? AND a.format <> 'otakit' "
                "ORDER BY r.version_value DESC, a.slot",
                "i", product);
    while (st && db_step(st) == DB_ROW) {
        catalog_name(name, sizeof name, q_text(st, 0), db_column_int(st, 1));
        /* Entries stay short: the client parses each into a 256-byte buffer. */
        json_array_append_new(arr, catalog_entry(name, db_column_int64(st, 3), db_column_int64(st, 4)));
    }
    db_done(st);
    return http_json(r, 200, arr);
}

static enum MHD_Result catalog_download(http_req_t *r)
{
    db_t *db;
    db_stmt_t *st;
    char name[120], sha[65] = "", md5[33] = "", version[80] = "";
    compat_policy_t pol;
    int64_t product;

    if (!(db = db_get()) || !(product = compat_product(db, http_param(r, 0), "esp", &pol)))
        return http_error(r, ERR_NOT_FOUND, "no such route or catalog path: %s", r->url);
    if (!esp_updater(r))
        return forbidden(r);
    st = q_prep(db,
                "SELECT r.version, a.slot, a.sha256, a.md5 FROM artifacts a JOIN releases r ON r.id = a.release "
                "WHERE r.product = ? AND a.format <> 'otakit'",
                "i", product);
    while (st && db_step(st) == DB_ROW) {
        catalog_name(name, sizeof name, q_text(st, 0), db_column_int(st, 1));
        if (!strcmp(name, http_param(r, 1))) {
            snprintf(version, sizeof version, "%s", q_text(st, 0));
            snprintf(sha, sizeof sha, "%s", q_text(st, 2));
            snprintf(md5, sizeof md5, "%s", q_text(st, 3));
            break;
        }
    }
    db_done(st);
    if (!sha[0])
        return http_error(r, ERR_NOT_FOUND, "no such binary in the catalog");
    return serve_esp(r, sha, md5, http_param(r, 1), version);
}

/* The same catalog for a device of otakit images (its update page, otakit/update_page.h): the
 * releases of the device's own product in the otakit format, newest first, that it could install
 * (slot-independent or built for the slot it does not run from; security counter not below its
 * floor). Each entry adds version, sha256 and url, the device-token download of the artifact as a
 * rollout's manifest names it (which checks the product again), so the device pulls it like a
 * rollout: Range resume, hash, signature. */
static enum MHD_Result device_catalog(http_req_t *r)
{
    db_t *db = db_get();
    db_stmt_t *st;
    json_t *arr, *e;
    char name[120], url[600];
    int64_t product = 0, slot = 0, counter = 0;

    if (!db)
        return http_error(r, ERR_DATABASE, "no connection");
    st = q_prep(db, "SELECT product, slot, security_counter FROM devices WHERE id = ?", "i", r->auth_device);
    if (st && db_step(st) == DB_ROW) {
        product = db_column_int64(st, 0);
        slot = db_column_int64(st, 1);
        counter = db_column_int64(st, 2);
    }
    db_done(st);
    if (!product)
        return http_error(r, ERR_NOT_FOUND, "no such device");
    st = q_prep(db,
                "SELECT r.version, a.slot, a.size, a.created_at, a.sha256 FROM artifacts a "
                "JOIN releases r ON r.id = a.release WHERE r.product = ? AND a.format = 'otakit' "
                "AND (a.slot < 0 OR a.slot = 1 - ?) AND r.security_counter >= ? "
                "ORDER BY r.version_value DESC, a.slot",
                "iii", product, slot, counter);
    if (!st)
        return http_error(r, ERR_DATABASE, "cannot list the catalog: %s", db_errmsg(db));
    arr = json_array();
    while (db_step(st) == DB_ROW) {
        catalog_name(name, sizeof name, q_text(st, 0), db_column_int(st, 1));
        snprintf(url, sizeof url, "%s/api/v1/artifacts/%s", g_server.public_url, q_text(st, 4));
        e = catalog_entry(name, db_column_int64(st, 2), db_column_int64(st, 3));
        json_object_set_new(e, "version", json_string(q_text(st, 0)));
        json_object_set_new(e, "sha256", json_string(q_text(st, 4)));
        json_object_set_new(e, "url", json_string(url));
        json_array_append_new(arr, e);
    }
    db_done(st);
    return http_json(r, 200, arr);
}

const http_route_t compat_routes[] = {
    {"GET", "/api/v1/device/catalog", device_catalog, AUTH_DEVICE, BODY_NONE},
    {"GET", "/api/v1/esp/{product}/update", esp_update, AUTH_NONE, BODY_NONE},
    {"GET", "/_catalog", catalog, AUTH_NONE, BODY_NONE},
    {"GET", "/{product}/{name}", catalog_download, AUTH_NONE, BODY_NONE},
    {NULL, NULL, NULL, 0, 0},
};
