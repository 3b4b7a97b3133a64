/* Rollout counts and evaluation (see rollout_eval.h). */
#include "rollout_eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "longpoll.h"
#include "server.h"
#include "sql.h"

const char *const rollout_count_names[RO_N] = {"pending",    "offered",   "downloading", "downloaded",
                                              "installing", "installed", "confirmed",   "up_to_date",
                                              "failed",     "rolled_back", "cancelled"};

/* Columns: device, stage, device_id, action id (or NULL), status. Bind ?1 = rollout. The status is
 * the one the triggers of migration 7 keep (schema.h). */
#define TARGETS_SQL                                                                                           \
    "SELECT t.device, t.stage, d.device_id, a.id, t.status "                                                  \
    "FROM rollout_targets t JOIN devices d ON d.id = t.device "                                               \
    "LEFT JOIN actions a ON a.id = (SELECT MAX(x.id) FROM actions x WHERE x.rollout = t.rollout "             \
    "  AND x.device = t.device) "                                                                             \
    "WHERE t.rollout = ?1"

const char rollout_target_status_sql[] = TARGETS_SQL;

static int count_index(const char *s)
{
    int i;
    for (i = 0; i < RO_N; i++)
        if (!strcmp(s, rollout_count_names[i]))
            return i;
    return RO_PENDING;
}

int rollout_counts(db_t *db, int64_t rollout, rollout_counts_t *per_stage, int nstages)
{
    /* The counters, not the targets: constant in the number of devices. */
    db_stmt_t *st = q_prep(db, "SELECT stage, status, n FROM rollout_counts WHERE rollout = ?1", "i", rollout);
    int rc;
    memset(per_stage, 0, sizeof *per_stage * (size_t)nstages);
    if (!st)
        return -1;
    while ((rc = db_step(st)) == DB_ROW) {
        int s = db_column_int(st, 0);
        int64_t n = db_column_int64(st, 2);
        if (s < 0 || s >= nstages)
            continue;
        per_stage[s].total += n;
        per_stage[s].n[count_index(q_text(st, 1))] += n;
    }
    db_done(st);
    return rc == DB_DONE ? 0 : -1;
}

static int64_t in_flight(const rollout_counts_t *c)
{
    return c->n[RO_PENDING] + c->n[RO_OFFERED] + c->n[RO_DOWNLOADING] + c->n[RO_DOWNLOADED] + c->n[RO_INSTALLING] +
           c->n[RO_INSTALLED];
}

static int set_state(db_t *db, int64_t rollout, const char *state, const char *reason)
{
    log_msg(LOG_INFO, "rollout state", "rollout=%lld state=%s reason=%s", (long long)rollout, state, reason);
    return q_exec(db, "UPDATE rollouts SET state = ?, reason = ?, updated_at = ? WHERE id = ?", "ssii", state, reason,
                  now_s(), rollout) < 0
               ? -1
               : 0;
}

int rollout_eval(db_t *db, int64_t rollout)
{
    int guard;
    for (guard = 0; guard < 256; guard++) {
        db_stmt_t *st;
        rollout_counts_t *c;
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
        if (db_step(st) != DB_ROW) {
            db_done(st);
            return 0;
        }
        snprintf(state, sizeof state, "%s", q_text(st, 0));
        cur = db_column_int(st, 1);
        succ_thr = db_column_double(st, 2);
        err_thr = db_column_double(st, 3);
        n = db_column_int(st, 4);
        db_done(st);
        if (strcmp(state, "running") != 0 || n <= 0)
            return 0;
        if (cur >= n)
            cur = n - 1;

        c = calloc((size_t)n, sizeof *c);
        acked = calloc((size_t)n, sizeof *acked);
        forced = calloc((size_t)n, sizeof *forced);
        if (!c || !acked || !forced || rollout_counts(db, rollout, c, n) != 0) {
            free(c);
            free(acked);
            free(forced);
            return -1;
        }
        st = q_prep(db, "SELECT idx, acked_failures, forced FROM rollout_stages WHERE rollout = ?", "i", rollout);
        while (st && db_step(st) == DB_ROW) {
            s = db_column_int(st, 0);
            if (s >= 0 && s < n) {
                acked[s] = db_column_int64(st, 1);
                forced[s] = db_column_int(st, 2);
            }
        }
        db_done(st);

        /* 1. Error threshold: new failures (not acknowledged by a resume) in any started stage. */
        for (s = 0; s <= cur; s++) {
            int64_t fails = c[s].n[RO_FAILED] + c[s].n[RO_ROLLED_BACK], fresh = fails - acked[s];
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
            int64_t ok = c[cur].n[RO_CONFIRMED] + c[cur].n[RO_UP_TO_DATE];
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
                    /* the next stage's devices have an offer now: their waiting checks run again */
                    longpoll_news_product(q_int(db, 0, "SELECT product FROM rollouts WHERE id = ?", "i", rollout));
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

int rollout_eval_device(db_t *db, int64_t device)
{
    return rollout_eval_event(db, device, 0);
}

int rollout_eval_event(db_t *db, int64_t device, int64_t rollout)
{
    int64_t ids[64];
    int i, n = q_ids(db, ids, 64,
                     "SELECT ro.id FROM rollout_targets t JOIN rollouts ro ON ro.id = t.rollout "
                     "WHERE t.device = ? AND ro.state = 'running' ORDER BY ro.id",
                     "i", device);
    if (n < 0 || (rollout && rollout_eval(db, rollout) != 0))
        return -1;
    for (i = 0; i < n; i++)
        if (ids[i] != rollout && rollout_eval(db, ids[i]) != 0)
            return -1;
    return 0;
}
