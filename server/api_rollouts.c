/*
 * Rollouts: a release targeted to part of a product's fleet, in stages, with thresholds that
 * advance or pause it on their own (owner token of {product}, or the admin token).
 *
 *   POST /api/v1/products/{product}/rollouts
 *        {"release":"1.2.0", "name"?,
 *         "target": {"devices":[..]} | {"group":"g"} | {"filter":{"hw_rev"?,"version"?,"group"?}}
 *                   | {} (every device of the product),
 *         "stages"?: [{"percent":10},{"percent":50},{"percent":100}] | [{"devices":[..]},..],
 *         "success_threshold"?: 0.9, "error_threshold"?: 0.2, "include_new"?: false}
 *                                                                     -> 201 rollout + "excluded"
 *   GET  /api/v1/products/{product}/rollouts?state=&limit=&offset=  (newest first; "total" for paging)
 *   GET  /api/v1/products/{product}/rollouts/{id}                       (per-stage counts)
 *   GET  /api/v1/products/{product}/rollouts/{id}/devices?stage=        (membership and status)
 *   POST /api/v1/products/{product}/rollouts/{id}/pause | resume | cancel
 *
 * Membership. The target is resolved once, when the rollout is created, and each device's stage
 * is stored (rollout_targets): restarts never reshuffle devices. Devices registered later are
 * added only to a rollout created with "include_new": true, into its last stage (rollout_join.c).
 * A device is in one open (running or paused) rollout at a time: creating one over devices of
 * another is refused (409 rollout_overlap) until that one is cancelled. Devices that could not take the release are left out and listed in "excluded":
 * security_counter (their counter is above the release's), up_to_date (they run it or a newer
 * release), no_artifact (no image for their inactive slot). Percent stages are cumulative over the
 * eligible devices in a random order (stage i holds ceil(p_i * N / 100) minus the earlier ones)
 * and the last must be 100. Device-list stages must name devices of the target (the target may be
 * omitted: it is then their union); target devices no stage names form a final stage.
 *
 * Thresholds. After each device report the rollout is evaluated (rollout_eval):
 *  - the current stage advances when confirmed (or already up-to-date) devices reach
 *    success_threshold of its devices (an empty stage is met at once);
 *  - it pauses (reason error_threshold) when a started stage's failed + rolled_back devices reach
 *    error_threshold of its devices; resume acknowledges the failures seen so far, so only newer
 *    ones count towards pausing again;
 *  - it pauses (success_threshold_not_met) when every device of a non-final stage is done and the
 *    success threshold was missed; resume then moves on to the next stage;
 *  - it finishes when every device of every stage reached a final status (confirmed, up_to_date,
 *    failed, rolled_back, cancelled); reason completed or below_success_threshold.
 * Only running rollouts make offers; paused ones withhold offers a device has not started on.
 * Cancel withdraws every offer not yet installing. Each change is one transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "history.h"
#include "idmap.h"
#include "input.h"
#include "log.h"
#include "longpoll.h"
#include "lookup.h"
#include "offer.h"
#include "rollout_eval.h"
#include "server.h"
#include "sql.h"
#include "tx.h"
#include "rollouts.h"


static json_t *counts_json(const rollout_counts_t *c)
{
    json_t *o = json_object();
    int i;
    for (i = 0; i < RO_N; i++)
        json_object_set_new(o, rollout_count_names[i], json_integer(c->n[i]));
    return o;
}

json_t *rollout_json(db_t *db, int64_t product, int64_t id)
{
    db_stmt_t *st = q_prep(db,
                              "SELECT ro.id, rel.version, ro.name, ro.state, ro.reason, ro.current_stage, "
                              "ro.success_threshold, ro.error_threshold, ro.target, ro.created_at, ro.updated_at, "
                              "(SELECT COUNT(*) FROM rollout_stages WHERE rollout = ro.id) "
                              "FROM rollouts ro JOIN releases rel ON rel.id = ro.release "
                              "WHERE ro.id = ? AND ro.product = ?",
                              "ii", id, product);
    json_t *o, *stages, *target;
    rollout_counts_t *c, total;
    char state[16];
    int n, cur;
    if (!st || db_step(st) != DB_ROW) {
        db_done(st);
        return NULL;
    }
    target = json_loads(q_text(st, 8), 0, NULL);
    snprintf(state, sizeof state, "%s", q_text(st, 3));
    cur = db_column_int(st, 5);
    n = db_column_int(st, 11);
    o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:i,s:f,s:f,s:o,s:I,s:I}", "id", (json_int_t)db_column_int64(st, 0),
                  "release", q_text(st, 1), "name", q_text(st, 2), "state", state, "reason", q_text(st, 4),
                  "current_stage", cur, "success_threshold", db_column_double(st, 6), "error_threshold",
                  db_column_double(st, 7), "target", target ? target : json_object(), "created_at",
                  (json_int_t)db_column_int64(st, 9), "updated_at", (json_int_t)db_column_int64(st, 10));
    db_done(st);
    if (!o)
        return NULL;
    c = calloc((size_t)(n > 0 ? n : 1), sizeof *c);
    if (!c || rollout_counts(db, id, c, n) != 0) {
        free(c);
        json_decref(o);
        return NULL;
    }
    memset(&total, 0, sizeof total);
    stages = json_array();
    st = q_prep(db, "SELECT idx, spec, started_at, finished_at FROM rollout_stages WHERE rollout = ? ORDER BY idx",
                "i", id);
    while (st && db_step(st) == DB_ROW) {
        int idx = db_column_int(st, 0), k;
        const char *ss;
        json_t *spec = json_loads(q_text(st, 1), 0, NULL);
        if (idx < 0 || idx >= n) {
            json_decref(spec);
            continue;
        }
        if (db_column_type(st, 3) != DB_NULL || idx < cur)
            ss = "done";
        else if (idx == cur)
            ss = !strcmp(state, "finished") ? "done" : state;
        else
            ss = !strcmp(state, "cancelled") ? "cancelled" : "pending";
        json_array_append_new(stages, json_pack("{s:i,s:o,s:s,s:I,s:o,s:o,s:o}", "index", idx, "spec",
                                                spec ? spec : json_object(), "state", ss, "devices",
                                                (json_int_t)c[idx].total, "counts", counts_json(&c[idx]),
                                                "started_at", q_json_int(st, 2), "finished_at", q_json_int(st, 3)));
        total.total += c[idx].total;
        for (k = 0; k < RO_N; k++)
            total.n[k] += c[idx].n[k];
    }
    db_done(st);
    free(c);
    json_object_set_new(o, "stages", stages);
    json_object_set_new(o, "devices", json_integer(total.total));
    json_object_set_new(o, "counts", counts_json(&total));
    return o;
}

/* ---- read ------------------------------------------------------------------------------------ */

struct ro_req {
    http_req_t *r;
    tx_res_t res;
    int64_t product, id;
    const char *op;
    int64_t limit, offset; /* the page of a list (http_page) */
};

static int lookup(db_t *db, struct ro_req *q)
{
    if (!(q->product = lookup_product_id(db, http_param(q->r, 0))))
        return tx_fail(&q->res, ERR_NOT_FOUND, "no product %s", http_param(q->r, 0));
    if (q->r->nparams > 1) {
        q->id = input_parse_id(http_param(q->r, 1));
        if (!q->id || !q_int(db, 0, "SELECT 1 FROM rollouts WHERE id = ? AND product = ?", "ii", q->id, q->product))
            return tx_fail(&q->res, ERR_NOT_FOUND, "no rollout %s", http_param(q->r, 1));
    }
    return 0;
}

static int list_tx(db_t *db, void *arg)
{
    struct ro_req *q = arg;
    const char *state = http_query(q->r, "state");
    db_stmt_t *st;
    json_t *arr;
    int64_t *ids, total;
    int n = 0, i;
    if (lookup(db, q) != 0)
        return -1;
    total = q_int(db, -1, "SELECT COUNT(*) FROM rollouts WHERE product = ? AND (?2 IS NULL OR state = ?2)", "is",
                  q->product, state);
    if (total < 0 || !(ids = calloc((size_t)q->limit, sizeof *ids)))
        return tx_dberr(&q->res, db);
    st = q_prep(db,
                "SELECT id FROM rollouts WHERE product = ? AND (?2 IS NULL OR state = ?2) ORDER BY id DESC "
                "LIMIT ?3 OFFSET ?4",
                "isii", q->product, state, q->limit, q->offset);
    while (st && n < q->limit && db_step(st) == DB_ROW)
        ids[n++] = db_column_int64(st, 0);
    db_done(st);
    arr = json_array();
    for (i = 0; i < n; i++) {
        json_t *o = rollout_json(db, q->product, ids[i]);
        if (o)
            json_array_append_new(arr, o);
    }
    free(ids);
    q->res.out = json_pack("{s:o,s:I}", "rollouts", arr, "total", (json_int_t)total);
    return 0;
}

static int get_tx(db_t *db, void *arg)
{
    struct ro_req *q = arg;
    if (lookup(db, q) != 0)
        return -1;
    q->res.out = rollout_json(db, q->product, q->id);
    return q->res.out ? 0 : tx_dberr(&q->res, db);
}

static int devices_tx(db_t *db, void *arg)
{
    struct ro_req *q = arg;
    const char *stage = http_query(q->r, "stage");
    char sql[2048];
    db_stmt_t *st;
    json_t *arr;
    int64_t sv = -1;
    if (lookup(db, q) != 0)
        return -1;
    if (stage && strcmp(stage, "0") && !(sv = input_parse_id(stage)))
        return tx_fail(&q->res, ERR_BAD_STAGE, "stage must be a stage index");
    if (stage && !strcmp(stage, "0"))
        sv = 0;
    snprintf(sql, sizeof sql, "%s AND (?2 < 0 OR t.stage = ?2) ORDER BY t.stage, d.device_id", rollout_target_status_sql);
    st = q_prep(db, sql, "ii", q->id, sv);
    if (!st)
        return tx_dberr(&q->res, db);
    arr = json_array();
    while (db_step(st) == DB_ROW)
        json_array_append_new(arr, json_pack("{s:s,s:i,s:s,s:o}", "device_id", q_text(st, 2), "stage",
                                             db_column_int(st, 1), "status", q_text(st, 4), "action_id",
                                             q_json_int(st, 3)));
    db_done(st);
    q->res.out = json_pack("{s:o}", "devices", arr);
    return 0;
}

static enum MHD_Result rollout_list(http_req_t *r)
{
    struct ro_req q = {.r = r};
    enum MHD_Result ret;
    if (http_page(r, &q.limit, &q.offset, &ret) != 0)
        return ret;
    return tx_reply(r, tx_read(list_tx, &q), &q.res, 200);
}

static enum MHD_Result rollout_get(http_req_t *r)
{
    struct ro_req q = {.r = r};
    return tx_reply(r, tx_read(get_tx, &q), &q.res, 200);
}

static enum MHD_Result rollout_devices(http_req_t *r)
{
    struct ro_req q = {.r = r};
    return tx_reply(r, tx_read(devices_tx, &q), &q.res, 200);
}

/* ---- pause / resume / cancel ------------------------------------------------------------------ */

static int control_tx(db_t *db, void *arg)
{
    struct ro_req *q = arg;
    db_stmt_t *st;
    char state[16] = "", reason[96] = "";
    int cur = 0, n = 0;
    if (lookup(db, q) != 0)
        return -1;
    st = q_prep(db,
                "SELECT state, reason, current_stage, (SELECT COUNT(*) FROM rollout_stages WHERE rollout = ?1) "
                "FROM rollouts WHERE id = ?1",
                "i", q->id);
    if (st && db_step(st) == DB_ROW) {
        snprintf(state, sizeof state, "%s", q_text(st, 0));
        snprintf(reason, sizeof reason, "%s", q_text(st, 1));
        cur = db_column_int(st, 2);
        n = db_column_int(st, 3);
    }
    db_done(st);

    if (!strcmp(q->op, "pause")) {
        if (!strcmp(state, "running")) {
            if (q_exec(db, "UPDATE rollouts SET state = 'paused', reason = 'manual', updated_at = ? WHERE id = ?", "ii",
                       now_s(), q->id) < 0)
                return tx_dberr(&q->res, db);
        } else if (strcmp(state, "paused") != 0) {
            return tx_fail(&q->res, ERR_ROLLOUT_CLOSED, "rollout %lld is %s", (long long)q->id, state);
        }
    } else if (!strcmp(q->op, "resume")) {
        if (!strcmp(state, "paused")) {
            rollout_counts_t *c = calloc((size_t)(n > 0 ? n : 1), sizeof *c);
            int s;
            if (!c || rollout_counts(db, q->id, c, n) != 0) {
                free(c);
                return tx_dberr(&q->res, db);
            }
            /* The operator has seen the failures so far; only newer ones count towards pausing. */
            for (s = 0; s < n && s <= cur; s++)
                if (q_exec(db, "UPDATE rollout_stages SET acked_failures = ? WHERE rollout = ? AND idx = ?", "iii",
                           c[s].n[RO_FAILED] + c[s].n[RO_ROLLED_BACK], q->id, (int64_t)s) < 0) {
                    free(c);
                    return tx_dberr(&q->res, db);
                }
            free(c);
            if (!strcmp(reason, "success_threshold_not_met") &&
                q_exec(db, "UPDATE rollout_stages SET forced = 1 WHERE rollout = ? AND idx = ?", "ii", q->id,
                       (int64_t)cur) < 0)
                return tx_dberr(&q->res, db);
            longpoll_news_product(q->product); /* waiting checks of its devices run again */
            if (q_exec(db, "UPDATE rollouts SET state = 'running', reason = '', updated_at = ? WHERE id = ?", "ii",
                       now_s(), q->id) < 0 ||
                rollout_eval(db, q->id) != 0)
                return tx_dberr(&q->res, db);
        } else if (strcmp(state, "running") != 0) {
            return tx_fail(&q->res, ERR_ROLLOUT_CLOSED, "rollout %lld is %s", (long long)q->id, state);
        }
    } else {
        if (!strcmp(state, "running") || !strcmp(state, "paused")) {
            int64_t (*ids)[2] = NULL;
            size_t na = 0, cap = 0, i;
            st = q_prep(db,
                        "SELECT id, device FROM actions WHERE rollout = ? "
                        "AND status IN ('offered','downloading','downloaded')",
                        "i", q->id);
            while (st && db_step(st) == DB_ROW) {
                if (na == cap) {
                    void *p = realloc(ids, (cap = cap ? cap * 2 : 64) * sizeof *ids);
                    if (!p)
                        break;
                    ids = p;
                }
                ids[na][0] = db_column_int64(st, 0);
                ids[na][1] = db_column_int64(st, 1);
                na++;
            }
            db_done(st);
            for (i = 0; i < na; i++)
                if (q_exec(db,
                           "UPDATE actions SET status = 'cancelled', message = 'rollout cancelled', updated_at = ? "
                           "WHERE id = ?",
                           "ii", now_s(), ids[i][0]) < 0 ||
                    history_event(db, ids[i][1], ids[i][0], "cancelled",
                                json_pack("{s:s,s:I}", "reason", "rollout cancelled", "rollout", (json_int_t)q->id)) !=
                        0 ||
                    history_device_state(db, ids[i][1]) != 0) {
                    free(ids);
                    return tx_dberr(&q->res, db);
                }
            free(ids);
            if (q_exec(db, "UPDATE rollouts SET state = 'cancelled', reason = 'manual', updated_at = ? WHERE id = ?",
                       "ii", now_s(), q->id) < 0)
                return tx_dberr(&q->res, db);
        } else if (strcmp(state, "cancelled") != 0) {
            return tx_fail(&q->res, ERR_ROLLOUT_CLOSED, "rollout %lld is %s", (long long)q->id, state);
        }
    }
    log_msg(LOG_INFO, "rollout control", "product=%s rollout=%lld op=%s was=%s", http_param(q->r, 0),
            (long long)q->id, q->op, state);
    q->res.out = rollout_json(db, q->product, q->id);
    return q->res.out ? 0 : tx_dberr(&q->res, db);
}

static enum MHD_Result rollout_pause(http_req_t *r)
{
    struct ro_req q = {.r = r, .op = "pause"};
    return tx_reply(r, db_tx(control_tx, &q), &q.res, 200);
}

static enum MHD_Result rollout_resume(http_req_t *r)
{
    struct ro_req q = {.r = r, .op = "resume"};
    return tx_reply(r, db_tx(control_tx, &q), &q.res, 200);
}

static enum MHD_Result rollout_cancel(http_req_t *r)
{
    struct ro_req q = {.r = r, .op = "cancel"};
    return tx_reply(r, db_tx(control_tx, &q), &q.res, 200);
}

const http_route_t rollouts_routes[] = {
    {"POST", "/api/v1/products/{product}/rollouts", rollout_create, AUTH_OWNER, BODY_JSON},
    {"GET", "/api/v1/products/{product}/rollouts", rollout_list, AUTH_OWNER, BODY_NONE},
    {"GET", "/api/v1/products/{product}/rollouts/{rollout}", rollout_get, AUTH_OWNER, BODY_NONE},
    {"GET", "/api/v1/products/{product}/rollouts/{rollout}/devices", rollout_devices, AUTH_OWNER, BODY_NONE},
    {"POST", "/api/v1/products/{product}/rollouts/{rollout}/pause", rollout_pause, AUTH_OWNER, BODY_NONE},
    {"POST", "/api/v1/products/{product}/rollouts/{rollout}/resume", rollout_resume, AUTH_OWNER, BODY_NONE},
    {"POST", "/api/v1/products/{product}/rollouts/{rollout}/cancel", rollout_cancel, AUTH_OWNER, BODY_NONE},
    {NULL, NULL, NULL, 0, 0},
};
