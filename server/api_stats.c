/*
 * The fleet's version distribution, now and over time, for the dashboard's chart (owner token of
 * {product}, or the admin token).
 *
 *   GET /api/v1/products/{product}/versions?points=N   (N 2..200, default 40)
 *       -> {"now":[{"version":V,"devices":n},..] (most devices first),
 *           "series":[{"at":T,"versions":{V:n,..}},..]}  (N samples from the first event to now)
 *
 * The series is rebuilt from the device histories (events): a device runs the version it
 * registered with until it reports another (version_reported) or confirms a release. Devices
 * deleted since are not counted. Past MAX_VERSIONS distinct versions the rest count as "other".
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "idmap.h"
#include "input.h"
#include "lookup.h"
#include "server.h"
#include "sql.h"
#include "tx.h"

#define MAX_VERSIONS 32

struct vstats {
    http_req_t *r;
    tx_res_t res;
    int points;
    char names[MAX_VERSIONS + 1][65];
    int nnames;
    long long counts[MAX_VERSIONS + 1];
    int *dev_ver; /* per device (idmap position): its version index, -1 none yet */
    size_t ndev, capdev;
    idmap_t index;
};

static int version_index(struct vstats *v, const char *name)
{
    int i;
    for (i = 0; i < v->nnames; i++)
        if (!strcmp(v->names[i], name))
            return i;
    if (v->nnames == MAX_VERSIONS) {
        snprintf(v->names[MAX_VERSIONS], sizeof v->names[0], "other");
        return MAX_VERSIONS;
    }
    snprintf(v->names[v->nnames], sizeof v->names[0], "%s", name);
    return v->nnames++;
}

/* Sets device's version; returns -1 when out of memory. */
static int set_version(struct vstats *v, int64_t device, const char *name)
{
    size_t pos = idmap_get(&v->index, device);
    int vi;
    if (!name || !*name)
        return 0;
    if (!pos) {
        if (v->ndev == v->capdev) {
            size_t cap = v->capdev ? v->capdev * 2 : 256;
            int *n = realloc(v->dev_ver, cap * sizeof *n);
            if (!n)
                return -1;
            v->dev_ver = n;
            v->capdev = cap;
        }
        v->dev_ver[v->ndev++] = -1;
        pos = v->ndev;
        if (idmap_put(&v->index, device, pos) != 0)
            return -1;
    }
    vi = version_index(v, name);
    if (v->dev_ver[pos - 1] >= 0)
        v->counts[v->dev_ver[pos - 1]]--;
    v->dev_ver[pos - 1] = vi;
    v->counts[vi]++;
    return 0;
}

static json_t *snapshot(const struct vstats *v, int64_t at)
{
    json_t *m = json_object();
    int i;
    for (i = 0; i <= MAX_VERSIONS && i < v->nnames + (v->nnames == MAX_VERSIONS); i++)
        if (v->counts[i] > 0)
            json_object_set_new(m, v->names[i], json_integer(v->counts[i]));
    return json_pack("{s:I,s:o}", "at", (json_int_t)at, "versions", m);
}

static int versions_tx(db_t *db, void *arg)
{
    struct vstats *v = arg;
    int64_t product = lookup_product_id(db, http_param(v->r, 0)), first, now = now_s(), next;
    db_stmt_t *st;
    json_t *series, *cur;
    int k = 0;
    if (!product)
        return tx_fail(&v->res, ERR_NOT_FOUND, "no product %s", http_param(v->r, 0));
    first = q_int(db, now, "SELECT MIN(e.at) FROM events e JOIN devices d ON d.id = e.device WHERE d.product = ?",
                  "i", product);
    if (first >= now)
        first = now - 1;
    series = json_array();
    st = q_prep(db,
                "SELECT e.device, e.at, e.kind, json_extract(CASE WHEN json_valid(e.detail) THEN e.detail END, "
                "CASE e.kind WHEN 'registered' THEN '$.version' ELSE '$.to' END), r.version "
                "FROM events e JOIN devices d ON d.id = e.device LEFT JOIN actions a ON a.id = e.action "
                "LEFT JOIN releases r ON r.id = a.release WHERE d.product = ? "
                "AND e.kind IN ('registered', 'version_reported', 'confirmed') ORDER BY e.at, e.id",
                "i", product);
    if (!st) {
        json_decref(series);
        return tx_dberr(&v->res, db);
    }
    next = first;
    while (db_step(st) == DB_ROW) {
        int64_t at = db_column_int64(st, 1);
        const char *kind = q_text(st, 2);
        while (k < v->points && at > next) {
            json_array_append_new(series, snapshot(v, next));
            k++;
            next = first + (now - first) * k / (v->points - 1);
        }
        if (set_version(v, db_column_int64(st, 0),
                        (const char *)db_column_text(st, !strcmp(kind, "confirmed") ? 4 : 3)) != 0) {
            db_done(st);
            json_decref(series);
            return tx_fail(&v->res, ERR_INTERNAL, "out of memory");
        }
    }
    db_done(st);
    while (k < v->points) {
        json_array_append_new(series, snapshot(v, next));
        k++;
        next = first + (now - first) * k / (v->points - 1);
    }
    cur = json_array();
    st = q_prep(db, "SELECT version, COUNT(*) AS n FROM devices WHERE product = ? GROUP BY version ORDER BY n DESC, "
                    "version", "i", product);
    while (st && db_step(st) == DB_ROW)
        json_array_append_new(cur, json_pack("{s:s,s:I}", "version", q_text(st, 0), "devices",
                                             (json_int_t)db_column_int64(st, 1)));
    db_done(st);
    v->res.out = json_pack("{s:o,s:o}", "now", cur, "series", series);
    return 0;
}

static enum MHD_Result versions(http_req_t *r)
{
    struct vstats *v = calloc(1, sizeof *v);
    const char *p = http_query(r, "points");
    enum MHD_Result ret;
    int64_t n = 40;
    if (!v)
        return http_error(r, ERR_INTERNAL, "out of memory");
    if (p && ((n = input_parse_id(p)) < 2 || n > 200)) {
        free(v);
        return http_error(r, ERR_BAD_LIMIT, "points must be 2..200");
    }
    v->r = r;
    v->points = (int)n;
    ret = tx_reply(r, tx_read(versions_tx, v), &v->res, 200);
    idmap_free(&v->index);
    free(v->dev_ver);
    free(v);
    return ret;
}

const http_route_t stats_routes[] = {
    {"GET", "/api/v1/products/{product}/versions", versions, AUTH_OWNER, BODY_NONE},
    {NULL, NULL, NULL, 0, 0},
};
