/*
 * Creating a rollout (POST /api/v1/products/{product}/rollouts; the rules are in api_rollouts.c's
 * header): the target resolved to candidate devices, their eligibility and the stages placed in a
 * read transaction, then the rows written in bounded write transactions (the rollout in state
 * "creating", CREATE_BATCH targets at a time, then "running"), so that device check-ins and reports
 * go on while a large rollout is created. Resolving is linear in the fleet (an id index, no scans
 * per candidate); a creation that fails midway removes what it stored.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt_notify.h"
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

#define TARGET_HELP "target is {\"devices\":[..]}, {\"group\":\"g\"} or {\"filter\":{..}}"

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
    int include_new; /* devices registered later join (group, filter or whole-product targets) */
    cand_t *cand;
    size_t n, cap;
    idmap_t index; /* devices.id -> position in cand + 1 */
    json_t *notice; /* the MQTT rollout notice, sent once committed (mqtt_notify.h) */
    /* resolved (resolve_tx), then stored in batches */
    int64_t product, rel, id;
    char rversion[80];
    json_t *stage_specs;
    size_t ne, done;   /* eligible candidates; of g->cand, how many are stored */
};

/* Targets stored per write transaction: each batch holds the write lock for a few milliseconds,
 * so device checks and reports go on between batches while a large rollout is created. */
#define CREATE_BATCH 2000
/* Targets per INSERT statement (two parameters each; SQLite allows 32,766, PostgreSQL 65,535). */
#define INSERT_ROWS 500
/* One rollout created at a time: the overlap check of the next one sees every target of this one. */
static pthread_mutex_t create_lock = PTHREAD_MUTEX_INITIALIZER;

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

static cand_t *cand_find(db_t *db, struct ro_new *g, int64_t product, const char *device_id)
{
    size_t pos = idmap_get(&g->index, lookup_device_id(db, product, device_id));
    return pos ? &g->cand[pos - 1] : NULL;
}

/* Adds the named devices (each must exist). */
static int add_named(db_t *db, struct ro_new *g, int64_t product, json_t *arr)
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

static int add_query(db_t *db, struct ro_new *g, int64_t product, const char *hw, const char *version,
                     const char *group)
{
    char gpat[80];
    db_stmt_t *st;
    int rc;
    snprintf(gpat, sizeof gpat, ",%s,", group ? group : "");
    st = q_prep(db,
                "SELECT id, device_id FROM devices WHERE product = ?1 AND (?2 IS NULL OR hw_rev = ?2) "
                "AND (?3 IS NULL OR version = ?3) AND (?4 IS NULL OR instr(groups, ?5) > 0) ORDER BY id",
                "issss", product, hw, version, group, gpat);
    if (!st)
        return tx_dberr(&g->res, db);
    while ((rc = db_step(st)) == DB_ROW)
        if (cand_add(g, db_column_int64(st, 0), q_text(st, 1)) != 0) {
            db_done(st);
            return tx_fail(&g->res, ERR_INTERNAL, "out of memory");
        }
    db_done(st);
    return rc == DB_DONE ? 0 : tx_dberr(&g->res, db);
}

static void shuffle(cand_t **v, size_t n)
{
    size_t i;
    for (i = n; i > 1; i--) {
        uint64_t r;
        size_t j;
        cand_t *t;
        db_randomness(sizeof r, &r);
        j = (size_t)(r % i);
        t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* 1-3: the target resolved, eligibility, overlap and stages, in a read transaction. */
static int resolve_tx(db_t *db, void *arg)
{
    struct ro_new *g = arg;
    int64_t product = lookup_product_id(db, http_param(g->r, 0)), rel = 0, rvalue = 0, rcounter = 0;
    db_stmt_t *st;
    char *rversion = g->rversion;
    cand_t **elig;
    size_t i, ne = 0;
    json_t *v, *stage_specs;
    const char *why;

    if (!product)
        return tx_fail(&g->res, ERR_NOT_FOUND, "no product %s", http_param(g->r, 0));
    st = q_prep(db, "SELECT id, version, version_value, security_counter FROM releases WHERE id = ?", "i",
                offer_release_named(db, product, g->release)); /* exact for labels (offer.h) */
    if (st && db_step(st) == DB_ROW) {
        rel = db_column_int64(st, 0);
        snprintf(rversion, sizeof g->rversion, "%s", q_text(st, 1));
        rvalue = db_column_int64(st, 2);
        rcounter = db_column_int64(st, 3);
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
        int rc = DB_ERROR;
        st = q_prep(db, "SELECT id, version, security_counter, slot, version_value FROM devices WHERE product = ?",
                    "i", product);
        while (st && (rc = db_step(st)) == DB_ROW) {
            cand_t *c;
            if (!(pos = idmap_get(&g->index, db_column_int64(st, 0))))
                continue;
            c = &g->cand[pos - 1];
            if (db_column_int64(st, 2) > rcounter)
                c->why = "security_counter";
            else if (!strcmp(q_text(st, 1), rversion) || db_column_int64(st, 4) >= rvalue)
                c->why = "up_to_date";
            else if (!art[db_column_int(st, 3) ? 1 : 0])
                c->why = "no_artifact";
            c->eligible = c->why == NULL;
            ne += (size_t)c->eligible;
            seen++;
        }
        db_done(st);
        if (!st || rc != DB_DONE || seen != g->n)
            return tx_dberr(&g->res, db);
    }
    /* Devices are in one open rollout at a time: a second one over them would offer another release
     * past the first one's stages and thresholds. The operator cancels the earlier one first. */
    {
        int64_t other = 0, n_over = 0;
        char who[80] = "", ostate[16] = "";
        int rc;
        st = q_prep(db,
                    "SELECT t.device, ro.id, ro.state FROM rollout_targets t JOIN rollouts ro ON ro.id = t.rollout "
                    "WHERE ro.product = ? AND ro.state IN ('running', 'paused', 'creating') ORDER BY ro.id",
                    "i", product);
        while (st && (rc = db_step(st)) == DB_ROW) {
            size_t pos = idmap_get(&g->index, db_column_int64(st, 0));
            if (!pos || !g->cand[pos - 1].eligible)
                continue;
            if (!n_over++) {
                other = db_column_int64(st, 1);
                snprintf(who, sizeof who, "%s", g->cand[pos - 1].device_id);
                snprintf(ostate, sizeof ostate, "%s", q_text(st, 2));
            }
        }
        db_done(st);
        if (!st)
            return tx_dberr(&g->res, db);
        if (n_over)
            return tx_fail(&g->res, ERR_ROLLOUT_OVERLAP,
                           "%lld of the targeted devices (%s first) are in rollout %lld, which is %s: cancel it "
                           "first or target other devices",
                           (long long)n_over, who, (long long)other, ostate);
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
    g->product = product;
    g->rel = rel;
    g->ne = ne;
    g->stage_specs = stage_specs;
    return 0;
}

/* 4. The rollout row (state creating: nothing is offered yet) and its stages. */
static int head_tx(db_t *db, void *arg)
{
    struct ro_new *g = arg;
    char *target_text;
    json_t *v;
    size_t i;
    int s;
    if (g->target) {
        json_t *t = json_deep_copy(g->target);
        if (t && g->include_new)
            json_object_set_new(t, "include_new", json_true());
        target_text = t ? json_dumps(t, JSON_COMPACT) : NULL;
        json_decref(t);
    } else
        target_text = strdup("{\"stages\":true}");
    s = q_exec(db,
               "INSERT INTO rollouts(product, release, name, target, state, current_stage, success_threshold, "
               "error_threshold, created_at, updated_at) VALUES (?, ?, ?, ?, 'creating', 0, ?, ?, ?, ?)",
               "iissddii", g->product, g->rel, g->name ? g->name : "", target_text ? target_text : "{}", g->succ,
               g->err, now_s(), now_s());
    free(target_text);
    if (s < 0)
        return tx_dberr(&g->res, db);
    g->id = db_last_insert_rowid(db);
    json_array_foreach(g->stage_specs, i, v) {
        char *spec = json_dumps(v, JSON_COMPACT);
        s = q_exec(db, "INSERT INTO rollout_stages(rollout, idx, spec, started_at) VALUES (?, ?, ?, NULLIF(?, 0))",
                   "iisi", g->id, (int64_t)i, spec ? spec : "{}", i == 0 ? now_s() : (int64_t)0);
        free(spec);
        if (s < 0)
            return tx_dberr(&g->res, db);
    }
    return 0;
}

/* Stores n targets (device ids and stages) in one statement: one round trip and, on PostgreSQL, one
 * run of the counters' statement trigger (schema_pg.h, migration 9). A device deleted since it was
 * resolved is skipped. The statement for INSERT_ROWS targets is cached; a shorter one (the last of a
 * rollout) is prepared for this use only. Returns 0 or -1. */
static int insert_targets(db_t *db, int64_t rollout, const int64_t *dev, const int64_t *stage, int n)
{
    static const char head[] = "INSERT INTO rollout_targets(rollout, device, stage) SELECT ?1, d.id, v.column2 "
                               "FROM (VALUES (?, ?)",
                      tail[] = ") AS v JOIN devices d ON d.id = v.column1";
    char sql[sizeof head + sizeof tail + INSERT_ROWS * 8];
    size_t len = sizeof head - 1;
    db_stmt_t *st;
    int i, rc;
    memcpy(sql, head, len);
    for (i = 1; i < n; i++) {
        memcpy(sql + len, ", (?, ?)", 8);
        len += 8;
    }
    memcpy(sql + len, tail, sizeof tail);
    if (n == INSERT_ROWS)
        st = db_stmt(db, sql);
    else if (db_prepare_v2(db, sql, -1, &st, NULL) != DB_OK)
        st = NULL;
    if (!st)
        return -1;
    rc = db_bind_int64(st, 1, rollout);
    for (i = 0; i < n && rc == DB_OK; i++)
        if ((rc = db_bind_int64(st, 2 + 2 * i, dev[i])) == DB_OK)
            rc = db_bind_int64(st, 3 + 2 * i, stage[i]);
    if (rc == DB_OK)
        rc = db_step(st);
    db_done(st);
    return rc == DB_DONE ? 0 : -1;
}

/* 5. The next CREATE_BATCH eligible targets, INSERT_ROWS per statement. */
static int batch_tx(db_t *db, void *arg)
{
    struct ro_new *g = arg;
    int64_t dev[INSERT_ROWS], stage[INSERT_ROWS];
    size_t stored = 0;
    int n = 0;
    for (; g->done < g->n && stored < CREATE_BATCH; g->done++) {
        cand_t *c = &g->cand[g->done];
        if (!c->eligible)
            continue;
        dev[n] = c->id;
        stage[n] = c->stage;
        stored++;
        if (++n == INSERT_ROWS) {
            if (insert_targets(db, g->id, dev, stage, n) != 0)
                return tx_dberr(&g->res, db);
            n = 0;
        }
    }
    if (n && insert_targets(db, g->id, dev, stage, n) != 0)
        return tx_dberr(&g->res, db);
    return 0;
}

/* 6. Running: offered from now on, evaluated once, answered. */
static int finish_tx(db_t *db, void *arg)
{
    struct ro_new *g = arg;
    json_t *excluded;
    size_t i;
    if (q_exec(db, "UPDATE rollouts SET state = 'running', updated_at = ? WHERE id = ? AND state = 'creating'", "ii",
               now_s(), g->id) != 1)
        return tx_dberr(&g->res, db);
    if (rollout_eval(db, g->id) != 0 || !(g->res.out = rollout_json(db, g->product, g->id)))
        return tx_dberr(&g->res, db);
    longpoll_news_product(g->product); /* waiting checks of its devices run again */
    excluded = json_array();
    for (i = 0; i < g->n; i++)
        if (!g->cand[i].eligible)
            json_array_append_new(excluded,
                                  json_pack("{s:s,s:s}", "device_id", g->cand[i].device_id, "reason", g->cand[i].why));
    json_object_set_new(g->res.out, "excluded", excluded);
    json_decref(g->notice);
    g->notice = mqtt_notice_build(db, http_param(g->r, 0), g->id, g->rel);
    return 0;
}

/* A creation that failed midway leaves nothing: the rollout and what was stored of it go. */
static int drop_tx(db_t *db, void *arg)
{
    struct ro_new *g = arg;
    return q_exec(db, "DELETE FROM rollouts WHERE id = ?", "i", g->id) < 0 ? -1 : 0;
}

/* Creates the rollout g describes: resolved in a read transaction, stored in bounded write
 * transactions (head, CREATE_BATCH targets each, then running). Returns 0 or -1 (g->res). */
static int create_run(struct ro_new *g)
{
    int rc;
    pthread_mutex_lock(&create_lock);
    rc = tx_read(resolve_tx, g);
    if (rc == 0)
        rc = db_tx(head_tx, g);
    while (rc == 0 && g->done < g->n)
        rc = db_tx(batch_tx, g);
    if (rc == 0)
        rc = db_tx(finish_tx, g);
    if (rc != 0 && g->id && db_tx(drop_tx, g) != 0)
        log_msg(LOG_ERROR, "cannot remove a rollout whose creation failed", "rollout=%lld", (long long)g->id);
    pthread_mutex_unlock(&create_lock);
    if (rc == 0)
        log_msg(LOG_INFO, "rollout created", "product=%s rollout=%lld release=%s devices=%zu stages=%zu",
                http_param(g->r, 0), (long long)g->id, g->release, g->ne, json_array_size(g->stage_specs));
    json_decref(g->stage_specs);
    return rc;
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

enum MHD_Result rollout_create(http_req_t *r)
{
    struct ro_new g;
    json_t *v, *t;
    size_t i;
    enum MHD_Result ret;
    int last = 0, rc;
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

    v = json_object_get(r->json, "include_new");
    if (v && !json_is_boolean(v))
        return http_error(r, ERR_BAD_TARGET, "include_new must be true or false");
    g.include_new = json_is_true(v);
    if (g.include_new && (!g.target || json_object_get(g.target, "devices")))
        return http_error(r, ERR_BAD_TARGET, "include_new needs a group, a filter or the whole product as target");

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

    rc = create_run(&g);
    ret = tx_reply(r, rc, &g.res, 201);
    if (rc == 0)
        mqtt_notify_send(g.notice); /* devices keeping a broker connection check at once */
    else
        json_decref(g.notice);
    free(g.cand);
    idmap_free(&g.index);
    return ret;
}
