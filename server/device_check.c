/* The device check-in (see device_check.h): what the device reported, its commands, its offer. */
#include "device_check.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "device_actions.h"
#include "history.h"
#include "metrics.h"
#include "offer.h"
#include "rollout_eval.h"
#include "seen.h"
#include "server.h"
#include "sql.h"

struct chk {
    tx_res_t res;
    const char *version; /* reported, or NULL */
    int slot;            /* reported, or -1 */
    int64_t counter;     /* reported, or -1 */
    int64_t product;
    offer_device_t d;    /* the device (devices.id) as recorded after this check's update */
    long long rows;      /* database rows this check wrote (triggers included) */
    int ro;              /* read-only pass: stop (need_write) where the check would write */
    int need_write;
};

/* In the read-only pass: records that the check has something to write; returns -1 (the read
 * transaction ends and the check runs again in a write transaction). */
static int needs_write(struct chk *c)
{
    c->need_write = 1;
    return -1;
}

/* Delivers queued commands (at most once); returns the array for the device or NULL. */
static json_t *deliver_commands(db_t *db, struct chk *c)
{
    struct {
        int64_t id, release, counter, value;
        char type[16], version[80], consent[16];
        int downgrade;
    } q[32];
    db_stmt_t *st;
    json_t *out = json_array();
    int n = 0, i;
    st = q_prep(db,
                "SELECT c.id, c.type, c.release, c.consent, r.version, r.security_counter, r.version_value, "
                "c.payload LIKE '%\"downgrade\":true%' FROM commands c "
                "LEFT JOIN releases r ON r.id = c.release WHERE c.device = ? AND c.status = 'queued' ORDER BY c.id "
                "LIMIT 32",
                "i", c->d.id);
    if (!st) {
        json_decref(out);
        return NULL;
    }
    while (db_step(st) == DB_ROW) {
        q[n].id = db_column_int64(st, 0);
        snprintf(q[n].type, sizeof q[n].type, "%s", q_text(st, 1));
        q[n].release = db_column_type(st, 2) == DB_NULL ? 0 : db_column_int64(st, 2);
        snprintf(q[n].consent, sizeof q[n].consent, "%s", q_text(st, 3));
        snprintf(q[n].version, sizeof q[n].version, "%s", q_text(st, 4));
        q[n].counter = db_column_int64(st, 5);
        q[n].value = db_column_int64(st, 6);
        q[n].downgrade = db_column_int(st, 7);
        n++;
    }
    db_done(st);

    for (i = 0; i < n; i++) {
        int64_t dev = c->d.id, aid = 0;
        json_t *cmd;
        if (!strcmp(q[i].type, "upgrade")) {
            const char *why = NULL;
            if (!q[i].release)
                why = "the release was deleted";
            else if (q[i].counter < c->d.counter)
                why = "the release's security counter is below the device's";
            else if (!strcmp(q[i].version, c->d.version) || (c->d.value >= 0 && q[i].value == c->d.value))
                why = "the device already runs this version";
            else if (c->d.value >= 0 && q[i].value >= 0 && q[i].value < c->d.value && !q[i].downgrade)
                why = "the release is older than what the device runs";
            else if (offer_device_not_ota(db, c->product, c->d.version))
                why = offer_device_not_ota(db, c->product, c->d.version);
            else if (q_int(db, 0, "SELECT 1 FROM actions WHERE device = ? AND status IN ('installing','installed')",
                           "i", dev))
                why = "another update is being installed";
            if (why) {
                if (q_exec(db, "UPDATE commands SET status = 'failed', message = ?, acked_at = ? WHERE id = ?", "sii",
                           why, now_s(), q[i].id) < 0 ||
                    history_event(db, dev, 0, "command_failed",
                                json_pack("{s:I,s:s,s:s}", "command", (json_int_t)q[i].id, "type", "upgrade",
                                          "reason", why)) != 0)
                    goto fail;
                continue;
            }
            if (action_cancel_offers(db, dev, "", 0, "superseded by an upgrade command") != 0 ||
                q_exec(db,
                       "INSERT INTO actions(device, release, rollout, status, created_at, updated_at, command) "
                       "VALUES (?, ?, NULL, 'offered', ?, ?, ?)",
                       "iiiii", dev, q[i].release, now_s(), now_s(), q[i].id) < 0)
                goto fail;
            aid = db_last_insert_rowid(db);
            if (history_event(db, dev, aid, "offered",
                            json_pack("{s:s,s:I}", "version", q[i].version, "command", (json_int_t)q[i].id)) != 0)
                goto fail;
            cmd = json_pack("{s:I,s:s,s:s,s:I,s:b}", "id", (json_int_t)q[i].id, "type", "upgrade", "version",
                            q[i].version, "action_id", (json_int_t)aid, "consent_required",
                            strcmp(q[i].consent, "none") != 0);
        } else {
            aid = q_int(db, 0, "SELECT action FROM commands WHERE id = ?", "i", q[i].id);
            cmd = json_pack("{s:I,s:s}", "id", (json_int_t)q[i].id, "type", q[i].type);
            if (aid)
                json_object_set_new(cmd, "action_id", json_integer(aid));
        }
        if (q_exec(db, "UPDATE commands SET status = 'delivered', delivered_at = ?, action = NULLIF(?, 0) WHERE id = ?",
                   "iii",
                   now_s(), aid, q[i].id) < 0 ||
            history_event(db, dev, aid, "command_delivered",
                        json_pack("{s:I,s:s}", "command", (json_int_t)q[i].id, "type", q[i].type)) != 0) {
            json_decref(cmd);
            goto fail;
        }
        json_array_append_new(out, cmd);
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

static int check_body(db_t *db, struct chk *c)
{
    db_stmt_t *st;
    json_t *cmds, *upd;
    int64_t dev = c->d.id;
    int active = 0, waiting;
    char prev_version[80];

    st = q_prep(db, "SELECT product, version, slot, security_counter, version_value, last_seen FROM devices WHERE id = ?",
                "i", dev);
    if (!st || db_step(st) != DB_ROW) {
        db_done(st);
        return tx_fail(&c->res, ERR_NOT_FOUND, "the device was deleted");
    }
    c->product = db_column_int64(st, 0);
    snprintf(prev_version, sizeof prev_version, "%s", q_text(st, 1));
    snprintf(c->d.version, sizeof c->d.version, "%s", c->version ? c->version : q_text(st, 1));
    if (c->ro && c->version && strcmp(c->version, q_text(st, 1)) != 0) {
        db_done(st);
        return needs_write(c);
    }
    if (c->version && strcmp(c->version, q_text(st, 1)) != 0 &&
        history_event(db, dev, 0, "version_reported", json_pack("{s:s,s:s}", "from", q_text(st, 1), "to", c->version))) {
        db_done(st);
        return tx_dberr(&c->res, db);
    }
    c->d.slot = c->slot >= 0 ? c->slot : db_column_int(st, 2);
    c->d.counter = db_column_int64(st, 3);
    if (c->counter > c->d.counter)
        c->d.counter = c->counter;
    c->d.value = c->version ? offer_version_value(db, c->product, c->version) : db_column_int64(st, 4);
    if (c->ro && (db_column_int64(st, 5) <= 0 || c->d.value != db_column_int64(st, 4) ||
                  c->d.slot != db_column_int(st, 2) || c->d.counter != db_column_int64(st, 3))) {
        db_done(st);
        return needs_write(c);
    }
    /* Only the time is news: written by the next batch (seen.h), not by this check. */
    if (c->ro && db_column_int64(st, 5) <= now_s() - CHECK_SEEN_STEP)
        seen_note(dev, now_s());
    db_done(st);
    /* A check that changes nothing writes nothing: last_seen moves only when it is CHECK_SEEN_STEP
     * seconds old, the rest only when it differs (the read-only pass got here: nothing differs). */
    if (!c->ro && q_exec(db,
               "UPDATE devices SET last_seen = ?1, version = ?2, version_value = ?3, slot = ?4, security_counter = ?5 "
               "WHERE id = ?6 AND (last_seen <= ?1 - ?7 OR version IS NOT ?2 OR version_value IS NOT ?3 "
               "OR slot IS NOT ?4 OR security_counter IS NOT ?5)",
               "isiiiii", now_s(), c->d.version, c->d.value, (int64_t)c->d.slot, c->d.counter, dev,
               (int64_t)CHECK_SEEN_STEP) < 0)
        return tx_dberr(&c->res, db);

    /* A device that now runs a rollout's release (or newer) counts as up to date there. */
    if (c->version && strcmp(c->version, prev_version) != 0 && rollout_eval_device(db, dev) != 0)
        return tx_dberr(&c->res, db);
    if (c->ro && q_int(db, 0, "SELECT 1 FROM commands WHERE device = ? AND status = 'queued' LIMIT 1", "i", dev))
        return needs_write(c);
    if (!(cmds = c->ro ? json_array() : deliver_commands(db, c)))
        return tx_dberr(&c->res, db);
    if (!(upd = offer_current(db, &c->d, &active, c->ro ? &c->need_write : NULL))) {
        json_decref(cmds);
        return tx_dberr(&c->res, db);
    }
    if (c->need_write || (c->ro ? history_device_state_due(db, dev) : history_device_state(db, dev)) != 0) {
        json_decref(cmds);
        json_decref(upd);
        return c->need_write || c->ro ? needs_write(c) : tx_dberr(&c->res, db);
    }
    waiting = (int)q_int(db, 0, "SELECT COUNT(*) FROM commands WHERE device = ? AND status = 'delivered'", "i", dev);
    c->res.out = json_pack("{s:o,s:o,s:i}", "update", upd, "commands", cmds, "poll_interval",
                           active || waiting || json_array_size(cmds) ? CHECK_POLL_ACTIVE : CHECK_POLL_IDLE);
    return 0;
}

static int check_tx(db_t *db, void *arg)
{
    struct chk *c = arg;
    int changes0 = db_total_changes(db), rc = check_body(db, c);
    c->rows = db_total_changes(db) - changes0;
    return rc;
}

int device_check_run(int64_t device, const char *version, int slot, int64_t counter, tx_res_t *res)
{
    int64_t product;
    return device_check_product(device, version, slot, counter, res, &product);
}

int device_check_product(int64_t device, const char *version, int slot, int64_t counter, tx_res_t *res,
                         int64_t *product)
{
    struct chk c;
    int rc;
    memset(&c, 0, sizeof c);
    c.d.id = device; /* the device checking in */
    c.version = version;
    c.slot = slot;
    c.counter = counter;
    /* First a read transaction (no write lock: checks run side by side); only a check that has
     * something to record takes the write transaction, and runs there again. */
    c.ro = 1;
    rc = tx_read(check_tx, &c);
    if (rc != 0 && c.need_write) {
        json_decref(c.res.out);
        memset(&c.res, 0, sizeof c.res);
        c.ro = c.need_write = 0;
        rc = db_tx(check_tx, &c);
    }
    metrics_check_rows(c.rows, c.ro);
    *res = c.res;
    *product = c.product;
    return rc;
}
