/* Fleet logic shared by the device and rollout APIs (see fleet.h). */
#include "fleet.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "imgcheck.h"
#include "log.h"
#include "server.h"

/* ---- SQL helpers ------------------------------------------------------------------------------ */

static sqlite3_stmt *q_vprep(sqlite3 *db, const char *sql, const char *types, va_list ap)
{
    sqlite3_stmt *st;
    int i;
    if (!(st = db_stmt(db, sql))) {
        log_msg(LOG_ERROR, "cannot prepare statement", "error=\"%s\" sql=\"%.80s\"", sqlite3_errmsg(db), sql);
        return NULL;
    }
    for (i = 0; types && types[i]; i++) {
        switch (types[i]) {
        case 'i': sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t)); break;
        case 'd': sqlite3_bind_double(st, i + 1, va_arg(ap, double)); break;
        case 'n': sqlite3_bind_null(st, i + 1); break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (s)
                sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT);
            else
                sqlite3_bind_null(st, i + 1);
            break;
        }
        default: db_done(st); return NULL;
        }
    }
    return st;
}

sqlite3_stmt *q_prep(sqlite3 *db, const char *sql, const char *types, ...)
{
    va_list ap;
    sqlite3_stmt *st;
    va_start(ap, types);
    st = q_vprep(db, sql, types, ap);
    va_end(ap);
    return st;
}

int q_ids(sqlite3 *db, int64_t *out, int max, const char *sql, const char *types, ...)
{
    va_list ap;
    sqlite3_stmt *st;
    int n = 0;
    va_start(ap, types);
    st = q_vprep(db, sql, types, ap);
    va_end(ap);
    if (!st)
        return -1;
    while (n < max && sqlite3_step(st) == SQLITE_ROW)
        out[n++] = sqlite3_column_int64(st, 0);
    db_done(st);
    return n;
}

int q_exec(sqlite3 *db, const char *sql, const char *types, ...)
{
    va_list ap;
    sqlite3_stmt *st;
    int rc;
    va_start(ap, types);
    st = q_vprep(db, sql, types, ap);
    va_end(ap);
    if (!st)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    db_done(st);
    if (rc != SQLITE_DONE) {
        log_msg(LOG_ERROR, "statement failed", "error=\"%s\" sql=\"%.80s\"", sqlite3_errmsg(db), sql);
        return -1;
    }
    return sqlite3_changes(db);
}

int64_t q_int(sqlite3 *db, int64_t def, const char *sql, const char *types, ...)
{
    va_list ap;
    sqlite3_stmt *st;
    int64_t v = def;
    va_start(ap, types);
    st = q_vprep(db, sql, types, ap);
    va_end(ap);
    if (!st)
        return def;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    db_done(st);
    return v;
}

const char *q_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : "";
}

/* ---- results ------------------------------------------------------------------------------------ */

int fleet_fail(fleet_res_t *res, err_t e, const char *fmt, ...)
{
    va_list ap;
    res->failed = 1;
    res->err = e;
    va_start(ap, fmt);
    vsnprintf(res->msg, sizeof res->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int fleet_dberr(fleet_res_t *res, sqlite3 *db)
{
    return fleet_fail(res, ERR_DATABASE, "%s", sqlite3_errmsg(db));
}

enum MHD_Result fleet_reply(http_req_t *r, int rc, fleet_res_t *res, unsigned ok_status)
{
    if (rc == 0 && ok_status == 204) {
        json_decref(res->out);
        return http_text(r, 204, NULL, "", 0, NULL);
    }
    if (rc == 0 && res->out)
        return http_json(r, ok_status, res->out);
    json_decref(res->out);
    res->out = NULL;
    if (res->failed)
        return http_error(r, res->err, "%s", res->msg);
    return http_error(r, ERR_DATABASE, "the transaction failed");
}

int fleet_read(int (*fn)(sqlite3 *db, void *arg), void *arg)
{
    sqlite3 *db = db_get();
    int rc;
    if (!db || sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    rc = fn(db, arg);
    sqlite3_exec(db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* ---- lookups ------------------------------------------------------------------------------------ */

int64_t fleet_product_id(sqlite3 *db, const char *product_id)
{
    return product_id ? q_int(db, 0, "SELECT id FROM products WHERE product_id = ?", "s", product_id) : 0;
}

int64_t fleet_device_id(sqlite3 *db, int64_t product, const char *device_id)
{
    return device_id ? q_int(db, 0, "SELECT id FROM devices WHERE product = ? AND device_id = ?", "is", product,
                             device_id)
                     : 0;
}

int fleet_ident_ok(const char *s)
{
    size_t n;
    if (!s)
        return 0;
    n = strlen(s);
    if (n < 1 || n > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
              *s == '_' || *s == ':' || *s == '-'))
            return 0;
    return 1;
}

int fleet_text_ok(const char *s, size_t max, int spaces)
{
    size_t n;
    if (!s)
        return 0;
    n = strlen(s);
    if (n < 1 || n > max)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < (spaces ? 0x20 : 0x21) || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

int64_t fleet_parse_id(const char *s)
{
    int64_t v = 0;
    if (!s || !*s || strlen(s) > 18)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        v = v * 10 + (*s - '0');
    }
    return v;
}

static int espressif_rule(sqlite3 *db, int64_t product)
{
    return (int)q_int(db, 0, "SELECT version_rule = 'espressif' FROM products WHERE id = ?", "i", product);
}

int64_t fleet_version_value(sqlite3 *db, int64_t product, const char *version)
{
    if (!version || !*version)
        return -1;
    if (espressif_rule(db, product)) {
        esp_label_t l;
        return esp_label_parse(version, &l) == 0 ? esp_label_value(&l) : -1;
    } else {
        ota_version_t v;
        return semver_parse_loose(version, &v) == 0 ? semver_value(&v) : -1;
    }
}

const char *fleet_release_not_ota(sqlite3 *db, int64_t release)
{
    sqlite3_stmt *st = q_prep(db,
                              "SELECT r.version, p.version_rule = 'espressif' FROM releases r "
                              "JOIN products p ON p.id = r.product WHERE r.id = ?",
                              "i", release);
    const char *why = NULL;
    esp_label_t l;
    if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 1) &&
        esp_label_parse(q_text(st, 0), &l) == 0) {
        if (l.fota == 'n')
            why = "its label is marked (n): no upgrade";
        else if (l.fota == 'l')
            why = "its label is marked (l): local upgrade only";
    }
    db_done(st);
    return why;
}

/* ---- history ------------------------------------------------------------------------------------ */

int fleet_event(sqlite3 *db, int64_t device, int64_t action, const char *kind, json_t *detail)
{
    char *d = NULL;
    int rc;
    if (detail && json_object_size(detail) > 0)
        d = json_dumps(detail, JSON_COMPACT);
    json_decref(detail);
    if (action)
        rc = q_exec(db, "INSERT INTO events(device, action, kind, detail, at) VALUES (?, ?, ?, ?, ?)", "iissi",
                    device, action, kind, d ? d : "", now_s());
    else
        rc = q_exec(db, "INSERT INTO events(device, action, kind, detail, at) VALUES (?, NULL, ?, ?, ?)", "issi",
                    device, kind, d ? d : "", now_s());
    free(d);
    return rc < 0 ? -1 : 0;
}

int fleet_device_state(sqlite3 *db, int64_t device)
{
    sqlite3_stmt *st = q_prep(db,
                              "SELECT (SELECT status FROM actions WHERE device = ?1 ORDER BY id DESC LIMIT 1), "
                              "last_seen FROM devices WHERE id = ?1",
                              "i", device);
    const char *state = "registered";
    int rc;
    if (!st)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *a = (const char *)sqlite3_column_text(st, 0);
        if (!a)
            state = sqlite3_column_int64(st, 1) > 0 ? "idle" : "registered";
        else if (!strcmp(a, "failed") || !strcmp(a, "rolled_back"))
            state = "failed";
        else if (!strcmp(a, "confirmed") || !strcmp(a, "cancelled"))
            state = "idle";
        else
            state = "updating";
    }
    rc = q_exec(db, "UPDATE devices SET state = ? WHERE id = ? AND state <> ?1", "si", state, device);
    db_done(st);
    return rc < 0 ? -1 : 0;
}

/* ---- artifacts ---------------------------------------------------------------------------------- */

int64_t fleet_artifact_for(sqlite3 *db, int64_t release, int device_slot)
{
    /* A slot-linked image for the inactive slot wins over a universal one; an image linked to the
     * running slot is never offered (it would overwrite the running firmware's address range). */
    return q_int(db, 0,
                 "SELECT id FROM artifacts WHERE release = ? AND (slot = -1 OR slot = ?) ORDER BY slot DESC LIMIT 1",
                 "ii", release, (int64_t)(1 - (device_slot ? 1 : 0)));
}

/* ---- rollouts ----------------------------------------------------------------------------------- */

const char *const fleet_count_names[FC_N] = {"pending",    "offered",   "downloading", "downloaded",
                                              "installing", "installed", "confirmed",   "up_to_date",
                                              "failed",     "rolled_back", "cancelled"};

/* Columns: device, stage, device_id, action id (or NULL), status. Bind ?1 = rollout. The version a
 * compat device reports proves nothing, so it makes the device up_to_date only in a product that
 * trusts those reports (compat_policy.h). */
#define TARGETS_SQL                                                                                           \
    "SELECT t.device, t.stage, d.device_id, a.id, "                                                           \
    "  CASE WHEN a.status IS NOT NULL AND a.status <> 'cancelled' THEN a.status "                             \
    "       WHEN (d.version = rel.version OR d.version_value >= rel.version_value) AND (d.via = 'token' "     \
    "         OR (SELECT compat_confirm_by_version FROM products WHERE id = ro.product)) THEN 'up_to_date' "  \
    "       ELSE COALESCE(a.status, 'pending') END "                                                          \
    "FROM rollout_targets t JOIN rollouts ro ON ro.id = t.rollout JOIN releases rel ON rel.id = ro.release " \
    "JOIN devices d ON d.id = t.device "                                                                      \
    "LEFT JOIN actions a ON a.id = (SELECT MAX(x.id) FROM actions x WHERE x.rollout = t.rollout "             \
    "  AND x.device = t.device) "                                                                             \
    "WHERE t.rollout = ?1"

const char fleet_target_status_sql[] = TARGETS_SQL;

static int count_index(const char *s)
{
    int i;
    for (i = 0; i < FC_N; i++)
        if (!strcmp(s, fleet_count_names[i]))
            return i;
    return FC_PENDING;
}

int fleet_counts(sqlite3 *db, int64_t rollout, fleet_counts_t *per_stage, int nstages)
{
    sqlite3_stmt *st = q_prep(db, TARGETS_SQL, "i", rollout);
    int rc;
    memset(per_stage, 0, sizeof *per_stage * (size_t)nstages);
    if (!st)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int s = sqlite3_column_int(st, 1);
        if (s < 0 || s >= nstages)
            continue;
        per_stage[s].total++;
        per_stage[s].n[count_index(q_text(st, 4))]++;
    }
    db_done(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int64_t in_flight(const fleet_counts_t *c)
{
    return c->n[FC_PENDING] + c->n[FC_OFFERED] + c->n[FC_DOWNLOADING] + c->n[FC_DOWNLOADED] + c->n[FC_INSTALLING] +
           c->n[FC_INSTALLED];
}

static int set_state(sqlite3 *db, int64_t rollout, const char *state, const char *reason)
{
    log_msg(LOG_INFO, "rollout state", "rollout=%lld state=%s reason=%s", (long long)rollout, state, reason);
    return q_exec(db, "UPDATE rollouts SET state = ?, reason = ?, updated_at = ? WHERE id = ?", "ssii", state, reason,
                  now_s(), rollout) < 0
               ? -1
               : 0;
}

int fleet_rollout_eval(sqlite3 *db, int64_t rollout)
{
    int guard;
    for (guard = 0; guard < 256; guard++) {
        sqlite3_stmt *st;
        fleet_counts_t *c;
        int64_t *acked;
        int *forced, n, cur, s, rc = 0;
        double succ_thr, err_thr;
        char state[16] = "";

        st = q_prep(db,
                    "SELECT state, current_stage, success_threshold, error_threshold, "
                    "(SELECT COUNT(*) FROM rollout_stages WHERE rollout = ?1) FROM rollouts WHERE id = ?1",
                    "i", rollout);
        if (!st)
            return -1;
        if (sqlite3_step(st) != SQLITE_ROW) {
            db_done(st);
            return 0;
        }
        snprintf(state, sizeof state, "%s", q_text(st, 0));
        cur = sqlite3_column_int(st, 1);
        succ_thr = sqlite3_column_double(st, 2);
        err_thr = sqlite3_column_double(st, 3);
        n = sqlite3_column_int(st, 4);
        db_done(st);
        if (strcmp(state, "running") != 0 || n <= 0)
            return 0;
        if (cur >= n)
            cur = n - 1;

        c = calloc((size_t)n, sizeof *c);
        acked = calloc((size_t)n, sizeof *acked);
        forced = calloc((size_t)n, sizeof *forced);
        if (!c || !acked || !forced || fleet_counts(db, rollout, c, n) != 0) {
            free(c);
            free(acked);
            free(forced);
            return -1;
        }
        st = q_prep(db, "SELECT idx, acked_failures, forced FROM rollout_stages WHERE rollout = ?", "i", rollout);
        while (st && sqlite3_step(st) == SQLITE_ROW) {
            s = sqlite3_column_int(st, 0);
            if (s >= 0 && s < n) {
                acked[s] = sqlite3_column_int64(st, 1);
                forced[s] = sqlite3_column_int(st, 2);
            }
        }
        db_done(st);

        /* 1. Error threshold: new failures (not acknowledged by a resume) in any started stage. */
        for (s = 0; s <= cur; s++) {
            int64_t fails = c[s].n[FC_FAILED] + c[s].n[FC_ROLLED_BACK], fresh = fails - acked[s];
            if (c[s].total > 0 && fresh > 0 && (double)fresh >= err_thr * (double)c[s].total - 1e-9) {
                char why[96];
                snprintf(why, sizeof why, "error_threshold (stage %d: %lld of %lld failed)", s, (long long)fails,
                         (long long)c[s].total);
                rc = set_state(db, rollout, "paused", why);
                goto done;
            }
        }
        /* 2. Success threshold of the current stage. */
        {
            int64_t ok = c[cur].n[FC_CONFIRMED] + c[cur].n[FC_UP_TO_DATE];
            int met = forced[cur] || c[cur].total == 0 || (double)ok >= succ_thr * (double)c[cur].total - 1e-9;
            if (cur < n - 1) {
                if (met) {
                    log_msg(LOG_INFO, "rollout stage done", "rollout=%lld stage=%d confirmed=%lld of=%lld",
                            (long long)rollout, cur, (long long)ok, (long long)c[cur].total);
                    if (q_exec(db,
                               "UPDATE rollout_stages SET finished_at = COALESCE(finished_at, ?3) "
                               "WHERE rollout = ?1 AND idx = ?2",
                               "iii", rollout, (int64_t)cur, now_s()) < 0 ||
                        q_exec(db,
                               "UPDATE rollout_stages SET started_at = COALESCE(started_at, ?3) "
                               "WHERE rollout = ?1 AND idx = ?2",
                               "iii", rollout, (int64_t)cur + 1, now_s()) < 0 ||
                        q_exec(db, "UPDATE rollouts SET current_stage = ?, updated_at = ? WHERE id = ?", "iii",
                               (int64_t)cur + 1, now_s(), rollout) < 0)
                        rc = -1;
                    free(c);
                    free(acked);
                    free(forced);
                    if (rc)
                        return -1;
                    continue; /* the next stage may already be met */
                }
                if (in_flight(&c[cur]) == 0)
                    rc = set_state(db, rollout, "paused", "success_threshold_not_met");
                goto done;
            }
            /* Last stage: done when met; the rollout finishes when nobody is left in flight. */
            if (met && q_exec(db,
                              "UPDATE rollout_stages SET finished_at = COALESCE(finished_at, ?3) "
                              "WHERE rollout = ?1 AND idx = ?2",
                              "iii", rollout, (int64_t)cur, now_s()) < 0) {
                rc = -1;
                goto done;
            }
            {
                int64_t left = 0;
                for (s = 0; s < n; s++)
                    left += in_flight(&c[s]);
                if (left == 0)
                    rc = set_state(db, rollout, "finished", met ? "completed" : "below_success_threshold");
            }
        }
    done:
        free(c);
        free(acked);
        free(forced);
        return rc;
    }
    return 0;
}

int fleet_rollouts_eval_device(sqlite3 *db, int64_t device)
{
    int64_t ids[64];
    int i, n = q_ids(db, ids, 64,
                     "SELECT ro.id FROM rollout_targets t JOIN rollouts ro ON ro.id = t.rollout "
                     "WHERE t.device = ? AND ro.state = 'running' ORDER BY ro.id",
                     "i", device);
    if (n < 0)
        return -1;
    for (i = 0; i < n; i++)
        if (fleet_rollout_eval(db, ids[i]) != 0)
            return -1;
    return 0;
}
