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
 * Mongoose pull (section 2): compat_mongoose.c. What every one of them does first (product, device,
 * claims): compat_lookup.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compat_lookup.h"
#include "db.h"
#include "device_check.h"
#include "history.h"
#include "input.h"
#include "log.h"
#include "lookup.h"
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

/* The ESP update headers with the given prefix ("x-ESP8266-" or "x-ESP32-"): all present? */
static int esp_headers_ok(http_req_t *r, const char *prefix)
{
    static const char *const need[] = {"STA-MAC", "AP-MAC", "free-space", "sketch-size", "sketch-md5", "chip-size",
                                       "sdk-version", NULL};
    char name[64];
    int i;
    for (i = 0; need[i]; i++) {
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

static enum MHD_Result esp_update(http_req_t *r)
{
    const char *prefix = esp_updater(r), *version, *md5;
    char name[64], mac[18], fmt[16] = "", devid[32];
    compat_lookup_t l;
    json_t *upd;
    int err;

    if (!prefix)
        return forbidden(r);
    snprintf(name, sizeof name, "%sSTA-MAC", prefix);
    if (!norm_mac(http_header(r, name), mac))
        return forbidden(r);
    snprintf(name, sizeof name, "%smode", prefix);
    if (http_header(r, name) && strcmp(http_header(r, name), "sketch") != 0)
        return not_modified(r); /* filesystem images are not served */
    snprintf(name, sizeof name, "%sversion", prefix);
    version = http_header(r, name);
    if (version && *version && !input_text_ok(version, 64, 1))
        return http_error(r, ERR_BAD_VERSION, "the version header must be 1-64 printable ASCII characters");
    snprintf(name, sizeof name, "%ssketch-md5", prefix);
    md5 = http_header(r, name);

    memset(&l, 0, sizeof l);
    snprintf(devid, sizeof devid, COMPAT_ESP_PREFIX "%s", mac);
    l.product_id = http_param(r, 0);
    l.mac = mac;
    l.device_id = devid;
    l.via = "esp";
    l.addr = r->addr;
    l.version = version && *version ? version : NULL;
    l.boot = COMPAT_BOOT_NONE;
    if ((err = compat_lookup(&l)) != 0)
        return compat_lookup_error(r, err, l.wait);
    upd = compat_offer(l.device, version && *version ? version : NULL, &err);
    if (err)
        return http_error(r, ERR_DATABASE, "check failed");
    if (!upd)
        return not_modified(r);
    /* The updater writes what it gets: only ESP images, and not the sketch it already runs. */
    {
        sqlite3 *db = db_get();
        sqlite3_stmt *st = db ? q_prep(db, "SELECT format FROM artifacts WHERE sha256 = ? LIMIT 1", "s",
                                       json_string_value(json_object_get(upd, "sha256")))
                              : NULL;
        if (st && sqlite3_step(st) == SQLITE_ROW)
            snprintf(fmt, sizeof fmt, "%s", q_text(st, 0));
        db_done(st);
    }
    if (!fmt[0] || !strcmp(fmt, "otakit") ||
        (md5 && !strcmp(md5, json_string_value(json_object_get(upd, "md5"))))) {
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

static enum MHD_Result catalog(http_req_t *r)
{
    const char *op = http_query(r, "op"), *path = http_query(r, "path");
    sqlite3 *db = db_get();
    sqlite3_stmt *st;
    json_t *arr = json_array();
    char name[120], date[40], tim[40];
    compat_policy_t pol;
    int64_t product;

    if (!op || strcmp(op, "list") != 0) {
        json_decref(arr);
        return http_error(r, ERR_BAD_OP, "op must be list");
    }
    if (!path || !*path)
        path = "/";
    while (*path == '/')
        path++;
    if (!db) {
        json_decref(arr);
        return http_error(r, ERR_DATABASE, "no connection");
    }
    if (!*path) {
        /* The root lists the products that take ESP updaters as directories. */
        st = q_prep(db, "SELECT product_id FROM products WHERE compat_esp ORDER BY product_id", "");
        while (st && sqlite3_step(st) == SQLITE_ROW)
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
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        time_t t = (time_t)sqlite3_column_int64(st, 4);
        struct tm tm;
        gmtime_r(&t, &tm);
        /* The protocol's date is MM/DD/YY (AutoConnect's own server writes it so). */
        snprintf(date, sizeof date, "%02d/%02d/%02d", tm.tm_mon + 1, tm.tm_mday, (tm.tm_year + 1900) % 100);
        snprintf(tim, sizeof tim, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
        catalog_name(name, sizeof name, q_text(st, 0), sqlite3_column_int(st, 1));
        /* Entries stay short: the client parses each into a 256-byte buffer. */
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:I}", "name", name, "type", "bin", "date", date,
                                             "time", tim, "size", (json_int_t)sqlite3_column_int64(st, 3)));
    }
    db_done(st);
    return http_json(r, 200, arr);
}

static enum MHD_Result catalog_download(http_req_t *r)
{
    sqlite3 *db;
    sqlite3_stmt *st;
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
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        catalog_name(name, sizeof name, q_text(st, 0), sqlite3_column_int(st, 1));
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

const http_route_t compat_routes[] = {
    {"GET", "/api/v1/esp/{product}/update", esp_update, AUTH_NONE, BODY_NONE},
    {"GET", "/_catalog", catalog, AUTH_NONE, BODY_NONE},
    {"GET", "/{product}/{name}", catalog_download, AUTH_NONE, BODY_NONE},
    {NULL, NULL, NULL, 0, 0},
};
