/*
 * Releases of a product and their artifacts (the image files devices download).
 *
 *   POST   /api/v1/products/{product}/releases                       raw image body; query: version,
 *          channel, notes, slot, filename. The image is checked (imgcheck.h) and committed to the
 *          store (store.h). With slot=0|1 on an existing slot-linked release, adds that slot's image.
 *   POST   /api/v1/products/{product}/releases/{version}/artifacts   the other slot's image (slot=0|1)
 *   GET    /api/v1/products/{product}/releases                       newest first (?channel=, ?limit=, ?offset=; "total")
 *   GET    /api/v1/products/{product}/releases/{version}             one release with its artifacts
 *   DELETE /api/v1/products/{product}/releases/{version}             rows, then unreferenced files
 *   GET    /api/v1/artifacts/{sha256}                                download (Range, ETag, HEAD)
 *
 * Versions follow the product's version_rule: "semver" (otakit images name theirs in the signed
 * header) or "espressif" (labels [v|b]N1.N2.N3t<ptype>(o|l|a|n); v/b sets the channel).
 * The two upload routes live in release_upload.c.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "delta.h"
#include "imgcheck.h"
#include "log.h"
#include "releases.h"
#include "server.h"
#include "sql.h"
#include "store.h"

const char *rel_printable(const char *s, char *buf, size_t n)
{
    size_t i;
    for (i = 0; s && s[i] && i + 1 < n; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    buf[n ? (i < n ? i : n - 1) : 0] = 0;
    return buf;
}

int rel_product_load(db_t *db, const char *pid, struct rel_product *p)
{
    db_stmt_t *st;
    int found = 0;
    memset(p, 0, sizeof *p);
    if (!db || db_prepare_v2(db, "SELECT id, version_rule FROM products WHERE product_id = ?", -1, &st, NULL) !=
                   DB_OK)
        return -1;
    db_bind_text(st, 1, pid, -1, DB_STATIC);
    if (db_step(st) == DB_ROW) {
        p->id = db_column_int64(st, 0);
        p->espressif = !strcmp((const char *)db_column_text(st, 1), "espressif");
        snprintf(p->pid, sizeof p->pid, "%s", pid);
        found = 1;
    }
    db_done(st);
    /* Its active signing keys (none: a product that takes only ESP images). */
    st = found ? q_prep(db, "SELECT public_key FROM product_keys WHERE product = ? AND retired_at IS NULL "
                            "ORDER BY id DESC", "i", p->id)
               : NULL;
    while (st && db_step(st) == DB_ROW && p->nkeys < PRODUCT_KEYS_MAX) {
        int n = db_column_bytes(st, 0);
        if (n <= 0 || (unsigned)n > OTA_KEY_DER_MAX)
            continue;
        memcpy(p->der[p->nkeys], db_column_blob(st, 0), (size_t)n);
        p->keys[p->nkeys].der = p->der[p->nkeys];
        p->keys[p->nkeys].len = (uint32_t)n;
        p->nkeys++;
    }
    db_done(st);
    return found;
}

int64_t rel_find(db_t *db, const struct rel_product *p, const char *version, int loose)
{
    db_stmt_t *st;
    ota_version_t want, have;
    esp_label_t l;
    char canon[64];
    const char *v = (*version == 'v' || *version == 'V') ? version + 1 : version, *text;
    int64_t id = 0;
    int by_semver = !p->espressif && (loose ? semver_parse_loose(version, &want) == 0
                                            : ota_version_parse(v, &want) == OTA_OK);
    if (p->espressif && esp_label_parse(version, &l) == 0) {
        esp_label_format(&l, canon, sizeof canon);
        version = canon;
    }
    if (db_prepare_v2(db, "SELECT id, version FROM releases WHERE product = ?1 AND (version = ?2 OR ?3 <> 0)", -1,
                           &st, NULL) != DB_OK)
        return 0;
    db_bind_int64(st, 1, p->id);
    db_bind_text(st, 2, version, -1, DB_STATIC);
    db_bind_int(st, 3, by_semver);
    while (db_step(st) == DB_ROW) {
        text = (const char *)db_column_text(st, 1);
        if (!strcmp(text, version)) {
            id = db_column_int64(st, 0); /* the same text wins */
            break;
        }
        if (!id && by_semver && semver_parse_loose(text, &have) == 0 && ota_version_cmp(&want, &have) == 0)
            id = db_column_int64(st, 0);
    }
    db_done(st);
    return id;
}

static json_t *artifact_json(db_stmt_t *st)
{
    char url[400];
    json_t *meta = json_loads((const char *)db_column_text(st, 8), 0, NULL);
    int slot = db_column_int(st, 0);
    snprintf(url, sizeof url, "%s/api/v1/artifacts/%s", g_server.public_url, (const char *)db_column_text(st, 4));
    return json_pack("{s:o,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:o}", "slot", slot < 0 ? json_null() : json_integer(slot),
                     "filename", (const char *)db_column_text(st, 1), "format",
                     (const char *)db_column_text(st, 2), "size", (json_int_t)db_column_int64(st, 3),
                     "sha256", (const char *)db_column_text(st, 4), "sha1", (const char *)db_column_text(st, 5),
                     "md5", (const char *)db_column_text(st, 6), "url", url, "meta", meta ? meta : json_object());
}

json_t *rel_json(db_t *db, const char *pid, int64_t id)
{
    db_stmt_t *st;
    json_t *rel = NULL, *arts = json_array(), *meta;
    if (db_prepare_v2(db,
                           "SELECT version, version_value, channel, security_counter, notes, meta, created_at "
                           "FROM releases WHERE id = ?",
                           -1, &st, NULL) != DB_OK)
        return NULL;
    db_bind_int64(st, 1, id);
    if (db_step(st) == DB_ROW) {
        meta = json_loads((const char *)db_column_text(st, 5), 0, NULL);
        rel = json_pack("{s:s,s:s,s:I,s:s,s:I,s:s,s:o,s:I}", "product", pid, "version",
                        (const char *)db_column_text(st, 0), "version_value",
                        (json_int_t)db_column_int64(st, 1), "channel", (const char *)db_column_text(st, 2),
                        "security_counter", (json_int_t)db_column_int64(st, 3), "notes",
                        (const char *)db_column_text(st, 4), "meta", meta ? meta : json_object(), "created_at",
                        (json_int_t)db_column_int64(st, 6));
    }
    db_done(st);
    if (!rel || db_prepare_v2(db,
                                   "SELECT slot, filename, format, size, sha256, sha1, md5, created_at, meta "
                                   "FROM artifacts WHERE release = ? ORDER BY slot",
                                   -1, &st, NULL) != DB_OK) {
        json_decref(arts);
        return rel;
    }
    db_bind_int64(st, 1, id);
    while (db_step(st) == DB_ROW)
        json_array_append_new(arts, artifact_json(st));
    db_done(st);
    json_object_set_new(rel, "artifacts", arts);
    return rel;
}

static enum MHD_Result create(http_req_t *r)
{
    return rel_upload(r, NULL);
}

static enum MHD_Result add_artifact(http_req_t *r)
{
    return rel_upload(r, http_param(r, 1));
}

/* ---- read, delete, download --------------------------------------------------------------- */

/* Loads the product of the path (404 otherwise) and, when with_release, the release id. */
static int lookup(http_req_t *r, db_t *db, struct rel_product *p, int64_t *rel, enum MHD_Result *ret)
{
    int rc = db ? rel_product_load(db, http_param(r, 0), p) : -1;
    char pr[80];
    if (rc <= 0) {
        *ret = rc < 0 ? http_error(r, ERR_DATABASE, "cannot read product")
                      : http_error(r, ERR_NOT_FOUND, "no product %s", rel_printable(http_param(r, 0), pr, sizeof pr));
        return -1;
    }
    if (rel && !(*rel = rel_find(db, p, http_param(r, 1), 0))) {
        *ret = http_error(r, ERR_NOT_FOUND, "product %s has no release %s", p->pid,
                          rel_printable(http_param(r, 1), pr, sizeof pr));
        return -1;
    }
    return 0;
}

static enum MHD_Result list(http_req_t *r)
{
    db_t *db = db_get();
    struct rel_product p;
    db_stmt_t *st;
    enum MHD_Result ret;
    const char *ch = http_query(r, "channel");
    int64_t limit, offset, total;
    json_t *arr;
    if (lookup(r, db, &p, NULL, &ret) != 0 || http_page(r, &limit, &offset, &ret) != 0)
        return ret;
    total = q_int(db, -1, "SELECT COUNT(*) FROM releases WHERE product = ?1 AND (?2 IS NULL OR channel = ?2)", "is",
                  p.id, ch);
    st = q_prep(db,
                "SELECT id FROM releases WHERE product = ?1 AND (?2 IS NULL OR channel = ?2) "
                "ORDER BY version_value DESC, id DESC LIMIT ?3 OFFSET ?4",
                "isii", p.id, ch, limit, offset);
    if (!st || total < 0) {
        db_done(st);
        return http_error(r, ERR_DATABASE, "cannot list releases");
    }
    arr = json_array();
    while (db_step(st) == DB_ROW)
        json_array_append_new(arr, rel_json(db, p.pid, db_column_int64(st, 0)));
    db_done(st);
    return http_json(r, 200, json_pack("{s:o,s:I}", "releases", arr, "total", (json_int_t)total));
}

static enum MHD_Result get(http_req_t *r)
{
    db_t *db = db_get();
    struct rel_product p;
    int64_t rel;
    enum MHD_Result ret;
    json_t *j;
    if (lookup(r, db, &p, &rel, &ret) != 0)
        return ret;
    j = rel_json(db, p.pid, rel);
    return j ? http_json(r, 200, j) : http_error(r, ERR_DATABASE, "cannot read release");
}

struct del {
    int64_t rel;
    char sha[4][65];
    int n;
    int in_use;
    char version[64];
};

static int delete_tx(db_t *db, void *arg)
{
    struct del *d = arg;
    db_stmt_t *st;
    int rc;
    if (db_prepare_v2(db, "SELECT version FROM releases WHERE id = ?", -1, &st, NULL) != DB_OK)
        return -1;
    db_bind_int64(st, 1, d->rel);
    if (db_step(st) == DB_ROW)
        snprintf(d->version, sizeof d->version, "%s", (const char *)db_column_text(st, 0));
    db_done(st);
    if (!d->version[0])
        return 2; /* deleted meanwhile */
    /* A rollout still delivering the release keeps it (the rollouts table comes with that module). */
    if (db_prepare_v2(db,
                           "SELECT COUNT(*) FROM rollouts WHERE release = ? AND state IN ('running', 'paused', "
                           "'creating')",
                           -1, &st, NULL) == DB_OK) {
        db_bind_int64(st, 1, d->rel);
        if (db_step(st) == DB_ROW)
            d->in_use = db_column_int(st, 0);
        db_done(st);
        if (d->in_use)
            return 1;
    }
    if (db_prepare_v2(db, "SELECT DISTINCT sha256 FROM artifacts WHERE release = ?", -1, &st, NULL) != DB_OK)
        return -1;
    db_bind_int64(st, 1, d->rel);
    while (d->n < 4 && db_step(st) == DB_ROW)
        snprintf(d->sha[d->n++], 65, "%s", (const char *)db_column_text(st, 0));
    db_done(st);
    if (db_prepare_v2(db, "DELETE FROM releases WHERE id = ?", -1, &st, NULL) != DB_OK)
        return -1;
    db_bind_int64(st, 1, d->rel);
    rc = db_step(st);
    db_done(st);
    return rc == DB_DONE ? 0 : -1;
}

static enum MHD_Result del(http_req_t *r)
{
    db_t *db = db_get();
    struct rel_product p;
    struct del d;
    enum MHD_Result ret;
    int rc, i, removed = 0, patches = 0;
    memset(&d, 0, sizeof d);
    if (lookup(r, db, &p, &d.rel, &ret) != 0)
        return ret;
    store_lock();
    rc = db_tx(delete_tx, &d);
    for (i = 0; rc == 0 && i < d.n; i++)
        if (store_drop_unreferenced(d.sha[i]) == 1) { /* the image's last release: its patches go too */
            removed++;
            patches += delta_forget(d.sha[i]);
        }
    store_unlock();
    if (rc == 2)
        return http_error(r, ERR_NOT_FOUND, "product %s has no release %s", p.pid,
                          rel_printable(http_param(r, 1), d.version, sizeof d.version));
    if (d.in_use)
        return http_error(r, ERR_IN_USE, "release %s is in %d running or paused rollout(s): cancel them first",
                          d.version, d.in_use);
    if (rc != 0)
        return http_error(r, ERR_DATABASE, "cannot delete release: %s", db_errmsg(db));
    log_msg(LOG_INFO, "release deleted", "product=%s version=%s files_removed=%d patches_removed=%d", p.pid,
            d.version, removed, patches);
    return http_json(r, 200, json_pack("{s:s,s:s,s:i,s:i}", "deleted", d.version, "product", p.pid,
                                       "files_removed", removed, "patches_removed", patches));
}

static enum MHD_Result download(http_req_t *r)
{
    const char *sha = http_param(r, 0);
    db_t *db = db_get();
    db_stmt_t *st;
    int64_t mine = 0, owner = 0;
    char path[700], filename[129] = "", md5[33] = "", disp[200];
    int found = 0;

    if (!store_name_valid(sha) || store_path(sha, path, sizeof path) != 0)
        return http_error(r, ERR_BAD_SHA256, "an artifact is named by 64 lowercase hex digits (its SHA-256)");
    if (!db)
        return http_error(r, ERR_DATABASE, "no database connection");
    if (r->auth_kind == AUTH_OWNER)
        mine = r->auth_product;
    else if (r->auth_kind == AUTH_DEVICE &&
             db_prepare_v2(db, "SELECT product FROM devices WHERE id = ?", -1, &st, NULL) == DB_OK) {
        db_bind_int64(st, 1, r->auth_device);
        if (db_step(st) == DB_ROW)
            mine = db_column_int64(st, 0);
        db_done(st);
    }
    /* The same bytes may belong to several products: prefer a row of the caller's product. */
    if (db_prepare_v2(db,
                           "SELECT a.filename, a.md5, r.product FROM artifacts a JOIN releases r ON r.id = a.release "
                           "WHERE a.sha256 = ?1 ORDER BY r.product = ?2 DESC, a.id LIMIT 1",
                           -1, &st, NULL) != DB_OK)
        return http_error(r, ERR_DATABASE, "cannot look the artifact up");
    db_bind_text(st, 1, sha, -1, DB_STATIC);
    db_bind_int64(st, 2, mine);
    if (db_step(st) == DB_ROW) {
        snprintf(filename, sizeof filename, "%s", (const char *)db_column_text(st, 0));
        snprintf(md5, sizeof md5, "%s", (const char *)db_column_text(st, 1));
        owner = db_column_int64(st, 2);
        found = 1;
    }
    db_done(st);
    if (!found)
        return http_error(r, ERR_NOT_FOUND, "no artifact %s", sha);
    if (r->auth_kind != AUTH_ADMIN && owner != mine)
        return http_error(r, ERR_FORBIDDEN, "this artifact belongs to another product");
    snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", filename);
    return http_file(r, path, sha, "application/octet-stream",
                     (const char *const[]){"Content-Disposition", disp, "x-MD5", md5, NULL});
}

const http_route_t releases_routes[] = {
    {"POST", "/api/v1/products/{product}/releases", create, AUTH_OWNER, BODY_STREAM},
    {"GET", "/api/v1/products/{product}/releases", list, AUTH_OWNER, BODY_NONE},
    {"GET", "/api/v1/products/{product}/releases/{version}", get, AUTH_OWNER, BODY_NONE},
    {"DELETE", "/api/v1/products/{product}/releases/{version}", del, AUTH_OWNER, BODY_NONE},
    {"POST", "/api/v1/products/{product}/releases/{version}/artifacts", add_artifact, AUTH_OWNER, BODY_STREAM},
    {"GET", "/api/v1/artifacts/{sha256}", download, AUTH_OWNER | AUTH_DEVICE, BODY_NONE},
    {NULL, NULL, NULL, 0, 0},
};
