/* Product, device and claims of a compat protocol request (see compat_lookup.h). */
#include "compat_lookup.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "device_check.h"
#include "history.h"
#include "log.h"
#include "lookup.h"
#include "offer.h"
#include "rollout_eval.h"
#include "server.h"
#include "sql.h"
#include "tx.h"

int64_t compat_product(db_t *db, const char *product_id, const char *via, compat_policy_t *pol)
{
    int64_t product = lookup_product_id(db, product_id);
    if (!product || compat_policy_load(db, product, pol) != 0)
        return 0;
    return (!strcmp(via, "esp") ? pol->esp : pol->mongoose) ? product : 0;
}

int compat_same_version(db_t *db, int64_t product, const char *a, const char *b)
{
    int64_t va, vb;
    if (!a || !b)
        return 0;
    if (!strcmp(a, b))
        return 1;
    va = offer_version_value(db, product, a);
    vb = offer_version_value(db, product, b);
    return va >= 0 && va == vb;
}

/* Finds (or registers) the device of l in its protocol's namespace, which no token device can
 * take (compat_reserved_id) and which takes nothing of theirs. Returns 0, 3 when a first contact is
 * over the rate limit, -1 on error. */
static int compat_device(db_t *db, compat_lookup_t *l)
{
    char tok[65], hash[65];
    if ((l->device = q_int(db, 0, "SELECT id FROM devices WHERE product = ? AND via = ? AND device_id = ?", "iss",
                           l->product, l->via, l->device_id)) != 0)
        return 0;
    if ((l->wait = compat_first_contact_wait(l->addr, l->product)) != 0) {
        log_msg(LOG_WARN, "first contact over the rate limit", "device=%s addr=%s", l->device_id, l->addr);
        return 3;
    }
    /* First contact: a device row whose token nobody knows (these protocols carry none). */
    if (http_new_token(tok) != 0)
        return -1;
    http_token_hash(tok, hash);
    if (q_exec(db,
               "INSERT INTO devices(device_id, product, token_hash, mac, via, created_at) VALUES (?, ?, ?, ?, ?, ?)",
               "sisssi", l->device_id, l->product, hash, l->mac ? l->mac : "", l->via, now_s()) < 0)
        return -1;
    l->device = db_last_insert_rowid(db);
    log_msg(LOG_INFO, "device registered on first contact", "device=%s via=%s addr=%s", l->device_id, l->via,
            l->addr);
    return 0;
}

/* Moves each in-flight action of the device in one of the statuses of `from` (an SQL list) to
 * status `to` when its release is (same != 0) or is not (same == 0) the version the device claims.
 * Returns the number moved, or -1. */
static int move_actions(db_t *db, compat_lookup_t *l, const char *from, int same, const char *to,
                        const char *by)
{
    char sql[400];
    int64_t ids[16];
    char versions[16][80];
    db_stmt_t *st;
    int i, n = 0, moved = 0;
    snprintf(sql, sizeof sql,
             "SELECT a.id, r.version FROM actions a JOIN releases r ON r.id = a.release "
             "WHERE a.device = ? AND a.status IN (%s) ORDER BY a.id LIMIT 16",
             from);
    if (!(st = q_prep(db, sql, "i", l->device)))
        return -1;
    while (n < 16 && db_step(st) == DB_ROW) {
        ids[n] = db_column_int64(st, 0);
        snprintf(versions[n], sizeof versions[n], "%s", q_text(st, 1));
        n++;
    }
    db_done(st);
    for (i = 0; i < n; i++) {
        if (compat_same_version(db, l->product, versions[i], l->version) != same)
            continue;
        if (q_exec(db, "UPDATE actions SET status = ?, updated_at = ? WHERE id = ?", "sii", to, now_s(), ids[i]) < 0 ||
            history_event(db, l->device, ids[i], to, json_pack("{s:s,s:s}", "by", by, "version", l->version)) != 0)
            return -1;
        moved++;
    }
    return moved;
}

#define IN_FLIGHT "'offered','downloading','downloaded','installing'"

/* What the device's claims settle. These protocols have no reports, only the version the device
 * runs and (Mongoose) its boot state:
 *  - boot state rolled back, newly (or with an update seen running on trial): each update that
 *    was downloaded or seen running, and is not the version it runs now, was rolled back;
 *  - on trial (testing): the update it runs is installed, never more: the device still rolls
 *    back unless it commits;
 *  - otherwise, running the release of its in-flight action means it installed it. Nothing proves
 *    that (anyone can send that version), so the action is confirmed, and counts in its rollout,
 *    only when the product trusts these reports (confirm_by_version); else it stays installed and
 *    the rollout waits for the owner.
 * Versions match by value ("2.0.0" runs the release "2.0.0+0"). */
static int settle(db_t *db, compat_lookup_t *l)
{
    int n = 0, was = -1;
    if (l->boot != COMPAT_BOOT_NONE) {
        was = (int)q_int(db, -1, "SELECT boot_state FROM devices WHERE id = ?", "i", l->device);
        if (q_exec(db, "UPDATE devices SET boot_state = ? WHERE id = ?", "ii", (int64_t)l->boot, l->device) < 0)
            return -1;
    }
    if (l->boot == COMPAT_BOOT_ROLLEDBACK) {
        int m = move_actions(db, l, "'installing','installed'", 0, "rolled_back", "boot state: rolled back");
        if (m >= 0 && was != COMPAT_BOOT_ROLLEDBACK) {
            int k = move_actions(db, l, "'downloading','downloaded'", 0, "rolled_back", "boot state: rolled back");
            m = k < 0 ? -1 : m + k;
        }
        n = m;
    } else if (l->boot == COMPAT_BOOT_TESTING || l->boot == COMPAT_BOOT_TRIAL) {
        n = move_actions(db, l, IN_FLIGHT, 1, "installed", "reported version, on trial");
    } else if (l->pol.confirm_by_version) {
        n = move_actions(db, l, IN_FLIGHT ",'installed'", 1, "confirmed", "reported version");
    } else {
        n = move_actions(db, l, IN_FLIGHT, 1, "installed", "reported version (unverified)");
    }
    if (n < 0)
        return -1;
    if (n && history_device_state(db, l->device) != 0)
        return -1;
    return n ? rollout_eval_device(db, l->device) : 0;
}

static int lookup_tx(db_t *db, void *arg)
{
    compat_lookup_t *l = arg;
    int rc;
    if (!(l->product = compat_product(db, l->product_id, l->via, &l->pol)))
        return 1;
    if ((rc = compat_device(db, l)) != 0)
        return rc;
    return l->version ? settle(db, l) : 0;
}

int compat_lookup(compat_lookup_t *l)
{
    return db_tx(lookup_tx, l);
}

enum MHD_Result compat_lookup_error(http_req_t *r, int err, unsigned wait)
{
    if (err == 1)
        return http_error(r, ERR_NOT_FOUND, "no such product (or it does not take this protocol)");
    if (err == 3)
        return http_too_many(r, wait, "too many new devices from this address or for this product: retry later");
    return http_error(r, ERR_DATABASE, "device lookup failed");
}

json_t *compat_offer(int64_t device, const char *version, int *err)
{
    tx_res_t res;
    json_t *upd;
    *err = device_check_run(device, version, -1, -1, &res) != 0;
    if (*err) {
        json_decref(res.out);
        return NULL;
    }
    upd = json_incref(json_object_get(res.out, "update"));
    json_decref(res.out);
    if (json_is_null(upd)) {
        json_decref(upd);
        return NULL;
    }
    return upd;
}
