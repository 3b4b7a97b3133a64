/*
 * Devices that join after a rollout started (see rollouts.h): a rollout created with
 * "include_new": true over a group, a filter or the whole product takes in each device registered
 * later that its target matches and that can take the release, into its last stage, so the
 * staging already done is not bypassed. A device joins one open rollout at most (the oldest),
 * as no device is in two open rollouts.
 */
#include <string.h>

#include "db.h"
#include "history.h"
#include "offer.h"
#include "rollout_eval.h"
#include "rollouts.h"
#include "sql.h"

struct dev {
    int64_t id, version_value, counter;
    int slot;
    char hw[72], version[72], groups[2200];
};

/* Whether the device matches a stored target ({"group"}, {"filter"} or {} plus include_new). */
static int matches(const struct dev *d, json_t *target)
{
    json_t *f = json_object_get(target, "filter");
    const char *g = json_string_value(json_object_get(f ? f : target, "group")), *hw, *v;
    char pat[80];
    if (json_object_get(target, "devices"))
        return 0;
    if (g) {
        snprintf(pat, sizeof pat, ",%s,", g);
        if (!strstr(d->groups, pat))
            return 0;
    }
    hw = json_string_value(json_object_get(f, "hw_rev"));
    v = json_string_value(json_object_get(f, "version"));
    return (!hw || !strcmp(hw, d->hw)) && (!v || !strcmp(v, d->version));
}

int rollout_join_new(db_t *db, int64_t device)
{
    struct dev d;
    db_stmt_t *st = q_prep(db,
                              "SELECT product, hw_rev, version, version_value, security_counter, slot, groups "
                              "FROM devices WHERE id = ?",
                              "i", device);
    int64_t product = 0, joined = 0, stage = 0;
    memset(&d, 0, sizeof d);
    if (st && db_step(st) == DB_ROW) {
        product = db_column_int64(st, 0);
        snprintf(d.hw, sizeof d.hw, "%s", q_text(st, 1));
        snprintf(d.version, sizeof d.version, "%s", q_text(st, 2));
        d.version_value = db_column_int64(st, 3);
        d.counter = db_column_int64(st, 4);
        d.slot = db_column_int(st, 5);
        snprintf(d.groups, sizeof d.groups, "%s", q_text(st, 6));
    }
    db_done(st);
    if (!product)
        return -1;
    d.id = device;
    st = q_prep(db,
                "SELECT ro.id, ro.target, rel.id, rel.version, rel.version_value, rel.security_counter, "
                "(SELECT MAX(idx) FROM rollout_stages WHERE rollout = ro.id) "
                "FROM rollouts ro JOIN releases rel ON rel.id = ro.release WHERE ro.product = ? "
                "AND ro.state IN ('running', 'paused', 'creating') AND CAST(json_extract(ro.target, '$.include_new') AS TEXT) = '1' "
                "ORDER BY ro.id",
                "i", product);
    while (st && !joined && db_step(st) == DB_ROW) {
        json_t *target = json_loads(q_text(st, 1), 0, NULL);
        int ok = target && matches(&d, target) && d.counter <= db_column_int64(st, 5) &&
                 strcmp(d.version, q_text(st, 3)) && d.version_value < db_column_int64(st, 4) &&
                 offer_artifact_for(db, db_column_int64(st, 2), d.slot);
        json_decref(target);
        if (ok) {
            joined = db_column_int64(st, 0);
            stage = db_column_int64(st, 6);
        }
    }
    db_done(st);
    if (!st)
        return -1;
    if (!joined)
        return 0;
    if (q_exec(db, "INSERT INTO rollout_targets(rollout, device, stage) VALUES (?, ?, ?)", "iii", joined, device,
               stage) < 0 ||
        history_event(db, device, 0, "rollout_joined",
                      json_pack("{s:I,s:I}", "rollout", (json_int_t)joined, "stage", (json_int_t)stage)) != 0)
        return -1;
    return rollout_eval(db, joined);
}
