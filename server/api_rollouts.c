/*
 * Rollouts: a release targeted to part of a product's fleet, in stages, with thresholds that
 * advance or pause it on their own (owner token of {product}, or the admin token).
 *
 *   POST /api/v1/products/{product}/rollouts
 *        {"release":"1.2.0", "name"?,
 *         "target": {"devices":[..]} | {"group":"g"} | {"filter":{"hw_rev"?,"version"?,"group"?}}
 *                   | {} (every device of the product),
 *         "stages"?: [{"percent":10},{"percent":50},{"percent":100}] | [{"devices":[..]},..],
 *         "success_threshold"?: 0.9, "error_threshold"?: 0.2}            -> 201 rollout + "excluded"
 *   GET  /api/v1/products/{product}/rollouts?state=
 *   GET  /api/v1/products/{product}/rollouts/{id}                       (per-stage counts)
 *   GET  /api/v1/products/{product}/rollouts/{id}/devices?stage=        (membership and status)
 *   POST /api/v1/products/{product}/rollouts/{id}/pause | resume | cancel
 *
 * Membership. The target is resolved once, when the rollout is created, and each device's stage
 * is stored (rollout_targets): restarts never reshuffle devices, and devices registered later are
 * not added. Devices that could not take the release are left out and listed in "excluded":
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
#include "lookup.h"
#include "offer.h"
#include "rollout_eval.h"
#include "server.h"
#include "sql.h"
#include "tx.h"

#define TARGET_HELP "target is {\"devices\":[..]}, {\"group\":\"g\"} or {\"filter\":{..}}"

static json_t *counts_json(const rollout_counts_t *c)
{
    json_t *o = json_object();
    int i;
    for (i = 0; i < RO_N; i++)
        json_object_set_new(o, rollout_count_names[i], json_integer(c->n[i]));
    return o;
}

/* The rollout as the API shows it, or NULL when it is not one of product's. */
static json_t *rollout_json(sqlite3 *db, int64_t product, int64_t id)
{
    sqlite3_stmt *st = q_prep(db,
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
    if (!st || sqlite3_step(st) != SQLITE_ROW) {
        db_done(st);
        return NULL;
    }
    target = json_loads(q_text(st, 8), 0, NULL);
    snprintf(state, sizeof state, "%s", q_text(st, 3));
    cur = sqlite3_column_int(st, 5);
    n = sqlite3_column_int(st, 11);
    o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:i,s:f,s:f,s:o,s:I,s:I}", "id", (json_int_t)sqlite3_column_int64(st, 0),
                  "release", q_text(st, 1), "name", q_text(st, 2), "state", state, "reason", q_text(st, 4),
                  "current_stage", cur, "success_threshold", sqlite3_column_double(st, 6), "error_threshold",
                  sqlite3_column_double(st, 7), "target", target ? target : json_object(), "created_at",
                  (json_int_t)sqlite3_column_int64(st, 9), "updated_at", (json_int_t)sqlite3_column_int64(st, 10));
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
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        int idx = sqlite3_column_int(st, 0), k;
        const char *ss;
        json_t *spec = json_loads(q_text(st, 1), 0, NULL);
        if (idx < 0 || idx >= n) {
            json_decref(spec);
            continue;
        }
        if (sqlite3_column_type(st, 3) != SQLITE_NULL || idx < cur)
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

/* ---- create ------------------------------------------------------------------------------------ */

typedef struct {
    int64_t id;
    char device_id[72];
    int stage;     /* -1: not placed yet */
    int eligible;
    const char *why;
} cand_t;

struct ro_new {
    http_req_t *r;
    tx_res_t res;
    const char *release, *name;
    json_t *target, *stages; /* borrowed from r->json; stages NULL = one 100% stage */
    double succ, err;
    int device_stages;
    cand_t *cand;
    size_t n, cap;
    idmap_t index; /* devices.id -> position in cand + 1 */
};

/* Adds a candidate once (a device named twice, or by two stages, is one candidate): O(1), so a
 * rollout over a whole fleet stays linear while it holds the write lock. */
static int cand_add(struct ro_new *g, int64_t id, const char *device_id)
{
    if (idmap_get(&g->index, id))
        return 0;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 64;
        cand_t *p = realloc(g->cand, cap * sizeof *p);
        if (!p)
            return -1;
        g->cand = p;
        g->cap = cap;
    }
    memset(&g->cand[g->n], 0, sizeof g->cand[g->n]);
    g->cand[g->n].id = id;
    snprintf(g->cand[g->n].device_id, sizeof g->cand[g->n].device_id, "%s", device_id);
    g->cand[g->n].stage = -1;
    g->n++;
    return idmap_put(&g->index, id, g->n);
}

static cand_t *cand_find(sqlite3 *db, struct ro_new *g, int64_t product, const char *device_id)
{
    size_t pos = idmap_get(&g->index, lookup_device_id(db, product, device_id));
    return pos ? &g->cand[pos - 1] : NULL;
}

/* Adds the named devices (each must exist). */
static int add_named(sqlite3 *db, struct ro_new *g, int64_t product, json_t *arr)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *name = json_string_value(v);
        int64_t id = lookup_device_id(db, product, name);
        if (!id)
            return tx_fail(&g->res, ERR_UNKNOWN_DEVICE, "no device %s in this product", name);
        if (cand_add(g, id, name) != 0)
            return tx_fail(&g->res, ERR_INTERNAL, "out of memory");
    }
    return 0;
}

static int add_query(sqlite3 *db, struct ro_new *g, int64_t product, const char *hw, const char *version,
                     const char *group)
{
    char gpat[80];
    sqlite3_stmt *st;
    int rc;
    snprintf(gpat, sizeof gpat, ",%s,", group ? group : "");
    st = q_prep(db,
                "SELECT id, device_id FROM devices WHERE product = ?1 AND (?2 IS NULL OR hw_rev = ?2) "
                "AND (?3 IS NULL OR version = ?3) AND (?4 IS NULL OR instr(groups, ?5) > 0) ORDER BY id",
                "issss", product, hw, version, group, gpat);
    if (!st)
        return tx_dberr(&g->res, db);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (cand_add(g, sqlite3_column_int64(st, 0), q_text(st, 1)) != 0) {
            db_done(st);
            return tx_fail(&g->res, ERR_INTERNAL, "out of memory");
        }
    db_done(st);
    return rc == SQLITE_DONE ? 0 : tx_dberr(&g->res, db);
}

static void shuffle(cand_t **v, size_t n)
{
    size_t i;
    for (i = n; i > 1; i--) {
        uint64_t r;
        size_t j;
        cand_t *t;
        sqlite3_randomness(sizeof r, &r);
        j = (size_t)(r % i);
        t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

static int create_tx(sqlite3 *db, void *arg)
{
    struct ro_new *g = arg;
    int64_t product = lookup_product_id(db, http_param(g->r, 0)), rel = 0, rvalue = 0, rcounter = 0, id;
    sqlite3_stmt *st;
    char rversion[80] = "", *target_text;
    cand_t **elig;
    size_t i, ne = 0, nstages;
    json_t *excluded, *v, *stage_specs;
    const char *why;
    int s;

    if (!product)
        return tx_fail(&g->res, ERR_NOT_FOUND, "no product %s", http_param(g->r, 0));
    st = q_prep(db, "SELECT id, version, version_value, security_counter FROM releases WHERE id = ?", "i",
                offer_release_named(db, product, g->release)); /* exact for labels (offer.h) */
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        rel = sqlite3_column_int64(st, 0);
        snprintf(rversion, sizeof rversion, "%s", q_text(st, 1));
        rvalue = sqlite3_column_int64(st, 2);
        rcounter = sqlite3_column_int64(st, 3);
    }
    db_done(st);
    if (!rel)
        return tx_fail(&g->res, ERR_RELEASE_NOT_FOUND, "no release %s", g->release);
    if (!q_int(db, 0, "SELECT COUNT(*) FROM artifacts WHERE release = ?", "i", rel))
        return tx_fail(&g->res, ERR_NO_ARTIFACT, "release %s has no artifact yet", rversion);
    if ((why = offer_release_not_ota(db, rel)) != NULL)
        return tx_fail(&g->res, ERR_NOT_UPGRADABLE, "release %s cannot be sent over the air: %s", rversion, why);

    /* 1. The target, resolved now and kept. */
    if (g->target) {
        json_t *f;
        if ((v = json_object_get(g->target, "devices")) != NULL) {
            if (add_named(db, g, product, v) != 0)
                return -1;
        } else if ((v = json_object_get(g->target, "group")) != NULL) {
            if (add_query(db, g, product, NULL, NULL, json_string_value(v)) != 0)
                return -1;
        } else if ((f = json_object_get(g->target, "filter")) != NULL) {
            if (add_query(db, g, product, json_string_value(json_object_get(f, "hw_rev")),
                          json_string_value(json_object_get(f, "version")),
                          json_string_value(json_object_get(f, "group"))) != 0)
                return -1;
        } else if (add_query(db, g, product, NULL, NULL, NULL) != 0) { /* {}: every device of the product */
            return -1;
        }
    } else {
        size_t k;
        json_array_foreach(g->stages, k, v) {
            if (add_named(db, g, product, json_object_get(v, "devices")) != 0)
                return -1;
        }
    }

    /* 2. Who can take the release: one pass over the product's devices (the candidates are found
     * by id in the index), and the artifact of each running slot looked up once. */
    {
        int64_t art[2] = {offer_artifact_for(db, rel, 0), offer_artifact_for(db, rel, 1)};
        size_t seen = 0, pos;
        int rc = SQLITE_ERROR;
        st = q_prep(db, "SELECT id, version, security_counter, slot, version_value FROM devices WHERE product = ?",
                    "i", product);
        while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            cand_t *c;
            if (!(pos = idmap_get(&g->index, sqlite3_column_int64(st, 0))))
                continue;
            c = &g->cand[pos - 1];
            if (sqlite3_column_int64(st, 2) > rcounter)
                c->why = "security_counter";
            else if (!strcmp(q_text(st, 1), rversion) || sqlite3_column_int64(st, 4) >= rvalue)
                c->why = "up_to_date";
            else if (!art[sqlite3_column_int(st, 3) ? 1 : 0])
                c->why = "no_artifact";
            c->eligible = c->why == NULL;
            ne += (size_t)c->eligible;
            seen++;
        }
        db_done(st);
        if (!st || rc != SQLITE_DONE || seen != g->n)
            return tx_dberr(&g->res, db);
    }
    if (ne == 0)
        return tx_fail(&g->res, ERR_NO_ELIGIBLE_DEVICES,
                          "none of the %zu targeted devices can take %s (see their versions and security counters)",
                          g->n, g->release);

    /* 3. Stages. */
    stage_specs = json_array();
    elig = calloc(ne, sizeof *elig);
    if (!elig) {
        json_decref(stage_specs);
        return tx_fail(&g->res, ERR_INTERNAL, "out of memory");
    }
    for (i = 0, ne = 0; i < g->n; i++)
        if (g->cand[i].eligible)
            elig[ne++] = &g->cand[i];
    if (g->device_stages) {
        size_t k, m;
        int rest = 0;
        json_array_foreach(g->stages, k, v) {
            json_t *d;
            json_array_foreach(json_object_get(v, "devices"), m, d) {
                cand_t *c = cand_find(db, g, product, json_string_value(d));
                if (!c) {
                    free(elig);
                    json_decref(stage_specs);
                    return tx_fail(&g->res, ERR_BAD_STAGES, "device %s of stage %zu is not in the target",
                                      json_string_value(d), k);
                }
                if (c->stage >= 0) {
                    free(elig);
                    json_decref(stage_specs);
                    return tx_fail(&g->res, ERR_BAD_STAGES, "device %s is in two stages", c->device_id);
                }
                c->stage = (int)k;
            }
            json_array_append(stage_specs, v);
        }
        for (i = 0; i < ne; i++)
            if (elig[i]->stage < 0) {
                elig[i]->stage = (int)json_array_size(g->stages);
                rest = 1;
            }
        if (rest)
            json_array_append_new(stage_specs, json_pack("{s:b}", "rest", 1));
    } else {
        size_t k, from = 0;
        shuffle(elig, ne);
        if (!g->stages) {
            json_array_append_new(stage_specs, json_pack("{s:i}", "percent", 100));
        } else {
            json_array_foreach(g->stages, k, v) {
                json_array_append(stage_specs, v);
            }
        }
        json_array_foreach(stage_specs, k, v) {
            size_t upto = ((size_t)json_integer_value(json_object_get(v, "percent")) * ne + 99) / 100; /* ceil */
            if (upto > ne)
                upto = ne;
            for (; from < upto; from++)
                elig[from]->stage = (int)k;
        }
    }
    free(elig);
    nstages = json_array_size(stage_specs);

    /* 4. Store it. */
    if (g->target)
        target_text = json_dumps(g->target, JSON_COMPACT);
    else
        target_text = strdup("{\"stages\":true}");
    s = q_exec(db,
               "INSERT INTO rollouts(product, release, name, target, state, current_stage, success_threshold, "
               "error_threshold, created_at, updated_at) VALUES (?, ?, ?, ?, 'running', 0, ?, ?, ?, ?)",
               "iissddii", product, rel, g->name ? g->name : "", target_text ? target_text : "{}", g->succ, g->err,
               now_s(), now_s());
    free(target_text);
    if (s < 0) {
        json_decref(stage_specs);
        return tx_dberr(&g->res, db);
    }
    id = sqlite3_last_insert_rowid(db);
    json_array_foreach(stage_specs, i, v) {
        char *spec = json_dumps(v, JSON_COMPACT);
        s = q_exec(db, "INSERT INTO rollout_stages(rollout, idx, spec, started_at) VALUES (?, ?, ?, NULLIF(?, 0))",
                   "iisi", id,
                   (int64_t)i, spec ? spec : "{}", i == 0 ? now_s() : (int64_t)0);
        free(spec);
        if (s < 0) {
            json_decref(stage_specs);
            return tx_dberr(&g->res, db);
        }
    }
    json_decref(stage_specs);
    excluded = json_array();
    st = q_prep(db, "INSERT INTO rollout_targets(rollout, device, stage) VALUES (?, ?, ?)", "i", id);
    for (i = 0; st && i < g->n; i++) { /* one statement, rebound per target */
        cand_t *c = &g->cand[i];
        if (!c->eligible) {
            json_array_append_new(excluded, json_pack("{s:s,s:s}", "device_id", c->device_id, "reason", c->why));
            continue;
        }
        sqlite3_bind_int64(st, 2, c->id);
        sqlite3_bind_int64(st, 3, c->stage);
        if (sqlite3_step(st) != SQLITE_DONE)
            break;
        sqlite3_reset(st);
    }
    db_done(st);
    if (!st || i < g->n) {
        json_decref(excluded);
        return tx_dberr(&g->res, db);
    }
    if (rollout_eval(db, id) != 0 || !(g->res.out = rollout_json(db, product, id))) {
        json_decref(excluded);
        return tx_dberr(&g->res, db);
    }
    json_object_set_new(g->res.out, "excluded", excluded);
    log_msg(LOG_INFO, "rollout created", "product=%s rollout=%lld release=%s devices=%zu stages=%zu",
            http_param(g->r, 0), (long long)id, g->release, ne, nstages);
    return 0;
}

static int ident_ok_json(json_t *v)
{
    return input_ident_ok(json_string_value(v));
}

static int names_ok(json_t *arr)
{
    size_t i;
    json_t *v;
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > 100000)
        return 0;
    json_array_foreach(arr, i, v) {
        if (!ident_ok_json(v))
            return 0;
    }
    return 1;
}

static enum MHD_Result rollout_create(http_req_t *r)
{
    struct ro_new g;
    json_t *v, *t;
    size_t i;
    enum MHD_Result ret;
    int last = 0;
    memset(&g, 0, sizeof g);
    g.r = r;
    g.succ = 0.9;
    g.err = 0.2;
    g.release = json_string_value(json_object_get(r->json, "release"));
    if (!input_text_ok(g.release, 64, 1))
        return http_error(r, ERR_BAD_RELEASE, "release must name a release version");
    v = json_object_get(r->json, "name");
    if (v && (!json_is_string(v) || json_string_length(v) > 128))
        return http_error(r, ERR_BAD_NAME, "name must be a string of at most 128 bytes");
    g.name = json_string_value(v);

    /* stages */
    g.stages = json_object_get(r->json, "stages");
    if (g.stages) {
        if (!json_is_array(g.stages) || json_array_size(g.stages) < 1 || json_array_size(g.stages) > 20)
            return http_error(r, ERR_BAD_STAGES, "stages must be an array of 1 to 20 stages");
        json_array_foreach(g.stages, i, v) {
            json_t *p = json_object_get(v, "percent"), *d = json_object_get(v, "devices");
            if (!json_is_object(v) || json_object_size(v) != 1 || (!p && !d))
                return http_error(r, ERR_BAD_STAGES, "each stage is {\"percent\":N} or {\"devices\":[..]}");
            if (i == 0)
                g.device_stages = d != NULL;
            if ((d != NULL) != g.device_stages)
                return http_error(r, ERR_BAD_STAGES, "stages are all percentages or all device lists");
            if (p) {
                if (!json_is_integer(p) || json_integer_value(p) <= last || json_integer_value(p) > 100)
                    return http_error(r, ERR_BAD_STAGES, "stage percentages must rise, within 1..100");
                last = (int)json_integer_value(p);
            } else if (!names_ok(d)) {
                return http_error(r, ERR_BAD_STAGES, "a stage's devices must be a non-empty list of device ids");
            }
        }
        if (!g.device_stages && last != 100)
            return http_error(r, ERR_BAD_STAGES, "the last stage must be 100%%");
    }

    /* target */
    t = json_object_get(r->json, "target");
    if (t) {
        json_t *f;
        if (!json_is_object(t) || json_object_size(t) > 1)
            return http_error(r, ERR_BAD_TARGET, TARGET_HELP);
        if ((v = json_object_get(t, "devices")) != NULL) {
            if (!names_ok(v))
                return http_error(r, ERR_BAD_TARGET, "target devices must be a non-empty list of device ids");
        } else if ((v = json_object_get(t, "group")) != NULL) {
            if (!ident_ok_json(v))
                return http_error(r, ERR_BAD_TARGET, "target group must be a group name");
        } else if ((f = json_object_get(t, "filter")) != NULL) {
            const char *k;
            if (!json_is_object(f))
                return http_error(r, ERR_BAD_TARGET, "target filter must be an object");
            json_object_foreach(f, k, v) {
                if (!strcmp(k, "hw_rev") ? !input_text_ok(json_string_value(v), 64, 1)
                    : !strcmp(k, "version") ? !input_text_ok(json_string_value(v), 64, 1)
                    : !strcmp(k, "group")   ? !ident_ok_json(v)
                                            : 1)
                    return http_error(r, ERR_BAD_TARGET, "filter keys are hw_rev, version and group (strings)");
            }
        } else if (json_object_size(t) != 0) {
            return http_error(r, ERR_BAD_TARGET, TARGET_HELP);
        }
        g.target = t;
    } else if (!g.device_stages) {
        return http_error(r, ERR_BAD_TARGET, "a target is required (unless the stages list the devices)");
    }

    /* thresholds */
    v = json_object_get(r->json, "success_threshold");
    if (v && (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1))
        return http_error(r, ERR_BAD_THRESHOLD, "success_threshold must be a number 0..1");
    if (v)
        g.succ = json_number_value(v);
    v = json_object_get(r->json, "error_threshold");
    if (v && (!json_is_number(v) || json_number_value(v) <= 0 || json_number_value(v) > 1))
        return http_error(r, ERR_BAD_THRESHOLD, "error_threshold must be a number in (0, 1]");
    if (v)
        g.err = json_number_value(v);

    ret = tx_reply(r, db_tx(create_tx, &g), &g.res, 201);
    free(g.cand);
    idmap_free(&g.index);
    return ret;
}

/* ---- read ------------------------------------------------------------------------------------ */

struct ro_req {
    http_req_t *r;
    tx_res_t res;
    int64_t product, id;
    const char *op;
};

static int lookup(sqlite3 *db, struct ro_req *q)
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

static int list_tx(sqlite3 *db, void *arg)
{
    struct ro_req *q = arg;
    const char *state = http_query(q->r, "state");
    sqlite3_stmt *st;
    json_t *arr;
    int64_t ids[1000];
    int n = 0, i;
    if (lookup(db, q) != 0)
        return -1;
    st = q_prep(db,
                "SELECT id FROM rollouts WHERE product = ? AND (?2 IS NULL OR state = ?2) ORDER BY id DESC LIMIT 1000",
                "is", q->product, state);
    while (st && n < 1000 && sqlite3_step(st) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(st, 0);
    db_done(st);
    arr = json_array();
    for (i = 0; i < n; i++) {
        json_t *o = rollout_json(db, q->product, ids[i]);
        if (o)
            json_array_append_new(arr, o);
    }
    q->res.out = json_pack("{s:o}", "rollouts", arr);
    return 0;
}

static int get_tx(sqlite3 *db, void *arg)
{
    struct ro_req *q = arg;
    if (lookup(db, q) != 0)
        return -1;
    q->res.out = rollout_json(db, q->product, q->id);
    return q->res.out ? 0 : tx_dberr(&q->res, db);
}

static int devices_tx(sqlite3 *db, void *arg)
{
    struct ro_req *q = arg;
    const char *stage = http_query(q->r, "stage");
    char sql[2048];
    sqlite3_stmt *st;
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
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(arr, json_pack("{s:s,s:i,s:s,s:o}", "device_id", q_text(st, 2), "stage",
                                             sqlite3_column_int(st, 1), "status", q_text(st, 4), "action_id",
                                             q_json_int(st, 3)));
    db_done(st);
    q->res.out = json_pack("{s:o}", "devices", arr);
    return 0;
}

static enum MHD_Result rollout_list(http_req_t *r)
{
    struct ro_req q = {.r = r};
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

static int control_tx(sqlite3 *db, void *arg)
{
    struct ro_req *q = arg;
    sqlite3_stmt *st;
    char state[16] = "", reason[96] = "";
    int cur = 0, n = 0;
    if (lookup(db, q) != 0)
        return -1;
    st = q_prep(db,
                "SELECT state, reason, current_stage, (SELECT COUNT(*) FROM rollout_stages WHERE rollout = ?1) "
                "FROM rollouts WHERE id = ?1",
                "i", q->id);
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        snprintf(state, sizeof state, "%s", q_text(st, 0));
        snprintf(reason, sizeof reason, "%s", q_text(st, 1));
        cur = sqlite3_column_int(st, 2);
        n = sqlite3_column_int(st, 3);
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
            while (st && sqlite3_step(st) == SQLITE_ROW) {
                if (na == cap) {
                    void *p = realloc(ids, (cap = cap ? cap * 2 : 64) * sizeof *ids);
                    if (!p)
                        break;
                    ids = p;
                }
                ids[na][0] = sqlite3_column_int64(st, 0);
                ids[na][1] = sqlite3_column_int64(st, 1);
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
