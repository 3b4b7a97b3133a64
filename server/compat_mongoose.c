/*
 * Mongoose pull (cesanta/mongoose src/ota.c, mg_ota_url_check() and s_version_fn()), mapped onto
 * the products, releases, devices and rollouts of the native API (see compat.c for the trust rules
 * every compat protocol shares).
 *
 *   GET /api/v1/mongoose/{product}/ota.json?arch=&version=&id=&interval=&boot=
 *       -> 200 {"version","url","size"}
 *   GET /api/v1/mongoose/{product}/fw/{sha256}?id=   the image, Content-Length == size
 *
 * What the client decides (s_version_fn): anything but 200 with a JSON object whose version and
 * url are strings and whose size is a number > 0 is "Bad metadata"; a version equal (strcmp) to
 * its own MG_OTA_FIRMWARE_VERSION is "Same version", which is also what lets a firmware on trial
 * commit itself when its window ends (mg_ota_poll: s_autocommit_ok); any other version makes it
 * download url and flash it when the answer is 200 with exactly size bytes (s_firmware_fn).
 */
#include <stdio.h>
#include <string.h>

#include "compat_lookup.h"
#include "db.h"
#include "history.h"
#include "input.h"
#include "server.h"
#include "sql.h"
#include "store.h"
#include "tx.h"

/* The "Same version" answer: the device's own version string, and a size > 0 (the client takes
 * size <= 0 as bad metadata): the size and url of that release's image when the product has one,
 * else size 1 and the metadata url (never fetched: the client downloads only other versions). */
static enum MHD_Result same_version(http_req_t *r, int64_t product, const char *id, const char *version)
{
    db_t *db = db_get();
    char url[600];
    json_int_t size = 1;
    db_stmt_t *st;
    snprintf(url, sizeof url, "%s/api/v1/mongoose/%s/ota.json", g_server.public_url, http_param(r, 0));
    st = db && version ? q_prep(db,
                                "SELECT r.version, a.sha256, a.size FROM artifacts a JOIN releases r ON r.id = a.release "
                                "WHERE r.product = ? ORDER BY a.id",
                                "i", product)
                       : NULL;
    while (st && db_step(st) == DB_ROW) {
        if (compat_same_version(db, product, q_text(st, 0), version)) {
            snprintf(url, sizeof url, "%s/api/v1/mongoose/%s/fw/%s?id=%s", g_server.public_url, http_param(r, 0),
                     q_text(st, 1), id);
            size = (json_int_t)db_column_int64(st, 2);
            break;
        }
    }
    db_done(st);
    return http_json(r, 200, json_pack("{s:s,s:s,s:I}", "version", version ? version : "", "url", url, "size", size));
}

static enum MHD_Result mongoose_meta(http_req_t *r)
{
    const char *id = http_query(r, "id"), *v = http_query(r, "version"), *boot = http_query(r, "boot");
    compat_lookup_t l;
    json_t *upd;
    char url[600], devid[80], version[80];
    int err;

    if (!id || !input_ident_ok(id) || strlen(id) > COMPAT_MONGOOSE_ID_MAX)
        return http_error(r, ERR_BAD_ID, "id must be 1-%d characters of A-Z a-z 0-9 . _ : -",
                          (int)COMPAT_MONGOOSE_ID_MAX);
    if (v) {
        /* The client writes its version into the query unescaped ("2.0.0+0"); libmicrohttpd reads a
         * query '+' as a space (form encoding). No version has a space, so each one was a '+'. */
        size_t i;
        snprintf(version, sizeof version, "%s", v);
        for (i = 0; version[i]; i++)
            if (version[i] == ' ')
                version[i] = '+';
        if (strlen(v) >= sizeof version || !input_text_ok(version, 64, 0))
            return http_error(r, ERR_BAD_VERSION, "version must be 1-64 printable ASCII characters, no spaces");
        v = version;
    }
    memset(&l, 0, sizeof l);
    snprintf(devid, sizeof devid, COMPAT_MONGOOSE_PREFIX "%s", id);
    l.product_id = http_param(r, 0);
    l.device_id = devid;
    l.via = "mongoose";
    l.addr = r->addr;
    l.version = v;
    /* MG_OTA_STATE_GET(): 0 confirmed, 1 testing, 2 on trial, 3 rolled back; anything else says nothing. */
    l.boot = boot && boot[0] >= '0' && boot[0] <= '3' && !boot[1] ? boot[0] - '0' : COMPAT_BOOT_NONE;
    if ((err = compat_lookup(&l)) != 0)
        return compat_lookup_error(r, err, l.wait);
    upd = compat_offer(l.device, v, &err);
    if (err)
        return http_error(r, ERR_DATABASE, "check failed");
    if (!upd || compat_same_version(db_get(), l.product, json_string_value(json_object_get(upd, "version")), v)) {
        json_decref(upd);
        return same_version(r, l.product, id, v);
    }
    snprintf(url, sizeof url, "%s/api/v1/mongoose/%s/fw/%s?id=%s", g_server.public_url, http_param(r, 0),
             json_string_value(json_object_get(upd, "sha256")), id);
    {
        json_t *out = json_pack("{s:O,s:s,s:O}", "version", json_object_get(upd, "version"), "url", url, "size",
                                json_object_get(upd, "size"));
        json_decref(upd);
        return http_json(r, 200, out);
    }
}

struct fw {
    int64_t product;
    const char *sha256, *id;
};

/* The device named by ?id= fetches the image of its offer: the action is downloading (so a
 * rollback it reports next is the rollback of this update). */
static int fw_tx(db_t *db, void *arg)
{
    struct fw *f = arg;
    char devid[80];
    int64_t ids[4];
    int i, n;
    snprintf(devid, sizeof devid, COMPAT_MONGOOSE_PREFIX "%s", f->id);
    n = q_ids(db, ids, 4,
              "SELECT x.id FROM actions x JOIN devices d ON d.id = x.device JOIN artifacts a ON a.release = x.release "
              "WHERE d.product = ? AND d.via = 'mongoose' AND d.device_id = ? AND a.sha256 = ? "
              "AND x.status = 'offered'",
              "iss", f->product, devid, f->sha256);
    for (i = 0; i < n; i++) {
        int64_t dev = q_int(db, 0, "SELECT device FROM actions WHERE id = ?", "i", ids[i]);
        if (q_exec(db, "UPDATE actions SET status = 'downloading', updated_at = ? WHERE id = ?", "ii", now_s(),
                   ids[i]) < 0 ||
            history_event(db, dev, ids[i], "downloading", json_pack("{s:s}", "by", "firmware fetched")) != 0)
            return -1;
    }
    return n < 0 ? -1 : 0;
}

/* Serves only an artifact of a release this product offered to a Mongoose device: not every file
 * of the product (otakit images published for the token API stay there). */
static enum MHD_Result mongoose_fw(http_req_t *r)
{
    db_t *db = db_get();
    char path[700];
    compat_policy_t pol;
    struct fw f;
    const char *id = http_query(r, "id");
    if (!store_name_valid(http_param(r, 1)))
        return http_error(r, ERR_BAD_SHA256, "not a sha256");
    if (!db || !(f.product = compat_product(db, http_param(r, 0), "mongoose", &pol)) ||
        !q_int(db, 0,
               "SELECT EXISTS (SELECT 1 FROM artifacts a JOIN actions x ON x.release = a.release "
               "JOIN devices d ON d.id = x.device WHERE d.product = ? AND d.via = 'mongoose' AND a.sha256 = ?)",
               "is", f.product, http_param(r, 1)) ||
        store_path(http_param(r, 1), path, sizeof path) != 0)
        return http_error(r, ERR_NOT_FOUND, "no such firmware");
    f.sha256 = http_param(r, 1);
    f.id = id;
    if (id && input_ident_ok(id) && !r->is_head && db_tx(fw_tx, &f) != 0)
        return http_error(r, ERR_DATABASE, "cannot record the download");
    return http_file(r, path, http_param(r, 1), "application/octet-stream", NULL);
}

const http_route_t mongoose_routes[] = {
    {"GET", "/api/v1/mongoose/{product}/ota.json", mongoose_meta, AUTH_NONE, BODY_NONE},
    {"GET", "/api/v1/mongoose/{product}/fw/{sha256}", mongoose_fw, AUTH_NONE, BODY_NONE},
    {NULL, NULL, NULL, 0, 0},
};
