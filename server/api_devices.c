/*
 * Devices: the device API (register, check, report, command acks; device and enrollment tokens)
 * and the management API for a product's devices (list, detail, delete, commands, consent).
 *
 * Device API
 *   POST /api/v1/device/register        enrollment token; {"device_id","hw_rev","version","slot",
 *                                       "security_counter"?,"mac"?,"groups"?:[..]}
 *                                       -> 201 {"device_id","device_token","poll_interval"}
 *   GET  /api/v1/device/check?version=&slot=&security_counter=
 *                                       -> {"update": null | manifest, "commands": [..], "poll_interval"}
 *   POST /api/v1/device/report          {"action_id","status","progress"?,"message"?,"version"?}
 *   POST /api/v1/device/commands/{id}   {"status":"done"|"failed"|"declined","message"?}
 * Management API (owner token of {product}, or the admin token)
 *   GET    /api/v1/products/{product}/devices?state=&group=&version=&hw_rev=&limit=&offset=
 *   GET    /api/v1/products/{product}/devices/{device}      (+ actions, commands, last 50 events)
 *   DELETE /api/v1/products/{product}/devices/{device}
 *   POST   /api/v1/products/{product}/devices/{device}/commands  {"type":"upgrade"|"reboot",
 *                                                                 "release"?,"consent"?}
 *   GET    /api/v1/products/{product}/devices/{device}/commands
 *   POST   /api/v1/products/{product}/devices/{device}/commands/{id}/consent  {"granted"?: bool}
 *
 * Actions. An action is one release offered to one device (by a rollout or an upgrade command).
 * The device moves it forward with reports:
 *   offered -> downloading* -> downloaded -> installing -> installed -> confirmed
 * failed from any of these, rolled_back once the image is downloaded, a repeated final status is
 * answered 200 (a retried report) and anything else is 409 bad_transition. An action the server
 * cancelled (rollout cancelled, superseded by a command, consent declined) still accepts the facts
 * installing/installed/confirmed/failed/rolled_back: the device may have gone ahead anyway.
 * Every report appends an event; the device's history keeps every status with its detail.
 *
 * Which update a check offers. The device's in-flight action, if any (its offer is withheld
 * while its rollout is paused and the device has not started); otherwise the best running
 * rollout whose current stage includes the device, whose release is newer than what the device
 * runs, and whose security counter is not below the device's; a device is offered a given
 * rollout once. The manifest is the artifact for the device's inactive slot (1 - slot) when the
 * release has slot-linked images (ESP8266 user1.bin / user2.bin), else the universal one.
 * security_counter reported by the device only ever raises the recorded one.
 *
 * Commands: the sys_upgrade / sys_reboot flow of the Espressif cloud (seed 004, section 3 and 4.4).
 *   1. The owner queues {"type":"upgrade","release":"1.2.0","consent":true}  (= sys_upgrade).
 *      Refused at once (409) when the device could never take it (security counter, same version,
 *      no artifact for its inactive slot, an install in progress). A newer upgrade command
 *      replaces a queued one (cancelled).
 *   2. The device's next check delivers it once: "commands":[{"id","type":"upgrade","version",
 *      "action_id","consent_required"}] with the manifest in "update" (status delivered). Any
 *      older offer that has not reached installing is cancelled (superseded).
 *   3. The device downloads the image of its inactive slot, reporting downloading/progress, then
 *      "downloaded": the "download finished" message.
 *   4. Without consent the server queues a "reboot" command (sys_reboot) at once. With consent,
 *      the action waits (event awaiting_consent; the owner's app shows it to the user) until
 *      POST .../commands/{id}/consent {"granted":true} queues the reboot, or {"granted":false}
 *      (or the device acking the upgrade command "declined": the user said no on the device)
 *      cancels the action. Consent may also be given before the download finishes.
 *   5. The next check delivers {"type":"reboot","action_id"}; the device acks it "done", reboots
 *      into the new slot and reports installed, then confirmed after its self-test (or
 *      rolled_back when the bootloader reverted it).
 * Commands are delivered at most once (status queued -> delivered -> done|failed|declined); a
 * device acks only its own commands. An owner may also queue a bare "reboot".
 *
 * devices.state (the ?state= filter): registered (never checked in), idle, updating (an action is
 * in flight), failed (its latest action failed or rolled back).
 *
 * Each request that changes state runs in one transaction (db_tx): a kill -9 keeps all or none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat_policy.h"
#include "db.h"
#include "device_check.h"
#include "history.h"
#include "input.h"
#include "log.h"
#include "lookup.h"
#include "offer.h"
#include "rollout_eval.h"
#include "server.h"
#include "sql.h"
#include "tx.h"

/* ---- helpers -------------------------------------------------------------------------------- */

static json_t *int_or_null(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? json_null() : json_integer(sqlite3_column_int64(st, col));
}

/* ",a,b," -> ["a","b"] */
static json_t *groups_json(const char *g)
{
    json_t *a = json_array();
    const char *p = g, *e;
    while (*p) {
        while (*p == ',')
            p++;
        if (!*p)
            break;
        e = strchr(p, ',');
        if (!e)
            e = p + strlen(p);
        json_array_append_new(a, json_stringn(p, (size_t)(e - p)));
        p = e;
    }
    return a;
}

#define DEVICE_COLS                                                                                           \
    "d.device_id, d.hw_rev, d.version, d.slot, d.security_counter, d.mac, d.groups, d.state, d.last_seen, " \
    "d.created_at, d.via"

static json_t *device_json(sqlite3_stmt *st)
{
    return json_pack("{s:s,s:s,s:s,s:i,s:I,s:s,s:o,s:s,s:I,s:I,s:s}", "device_id", q_text(st, 0), "hw_rev",
                     q_text(st, 1), "version", q_text(st, 2), "slot", sqlite3_column_int(st, 3),
                     "security_counter", (json_int_t)sqlite3_column_int64(st, 4), "mac", q_text(st, 5), "groups",
                     groups_json(q_text(st, 6)), "state", q_text(st, 7), "last_seen",
                     (json_int_t)sqlite3_column_int64(st, 8), "created_at", (json_int_t)sqlite3_column_int64(st, 9),
                     "via", q_text(st, 10)); /* token | esp | mongoose: how it joined */
}

#define COMMAND_COLS                                                                                          \
    "c.id, c.type, c.status, r.version, c.consent, c.action, c.message, c.created_at, c.delivered_at, "     \
    "c.acked_at FROM commands c LEFT JOIN releases r ON r.id = c.release"

static json_t *command_json(sqlite3_stmt *st)
{
    json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:o,s:s,s:I,s:o,s:o}", "id", (json_int_t)sqlite3_column_int64(st, 0),
                          "type", q_text(st, 1), "status", q_text(st, 2), "consent", q_text(st, 4), "action_id",
                          int_or_null(st, 5), "message", q_text(st, 6), "created_at",
                          (json_int_t)sqlite3_column_int64(st, 7), "delivered_at", int_or_null(st, 8), "acked_at",
                          int_or_null(st, 9));
    if (o && sqlite3_column_type(st, 3) != SQLITE_NULL)
        json_object_set_new(o, "release", json_string(q_text(st, 3)));
    return o;
}

static json_t *command_by_id(sqlite3 *db, int64_t id)
{
    sqlite3_stmt *st = q_prep(db, "SELECT " COMMAND_COLS " WHERE c.id = ?", "i", id);
    json_t *o = NULL;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        o = command_json(st);
    db_done(st);
    return o;
}

#define ACTION_COLS                                                                                           \
    "a.id, r.version, a.rollout, a.command, a.status, a.progress, a.message, a.created_at, a.updated_at "   \
    "FROM actions a JOIN releases r ON r.id = a.release"

static json_t *action_json(sqlite3_stmt *st)
{
    return json_pack("{s:I,s:s,s:o,s:o,s:s,s:o,s:s,s:I,s:I}", "id", (json_int_t)sqlite3_column_int64(st, 0),
                     "release", q_text(st, 1), "rollout", int_or_null(st, 2), "command", int_or_null(st, 3),
                     "status", q_text(st, 4), "progress", int_or_null(st, 5), "message", q_text(st, 6),
                     "created_at", (json_int_t)sqlite3_column_int64(st, 7), "updated_at",
                     (json_int_t)sqlite3_column_int64(st, 8));
}

/* Cancels a device's offers that have not reached installing (their events say why). */
static int cancel_offers(sqlite3 *db, int64_t device, const char *where, int64_t arg, const char *why)
{
    char sql[400];
    int64_t ids[64];
    int i, n;
    snprintf(sql, sizeof sql,
             "SELECT id FROM actions WHERE device = ?1 AND status IN ('offered','downloading','downloaded') %s", where);
    if ((n = q_ids(db, ids, 64, sql, *where ? "ii" : "i", device, arg)) < 0)
        return -1;
    for (i = 0; i < n; i++)
        if (q_exec(db, "UPDATE actions SET status = 'cancelled', message = ?, updated_at = ? WHERE id = ?", "sii",
                   why, now_s(), ids[i]) < 0 ||
            history_event(db, device, ids[i], "cancelled", json_pack("{s:s}", "reason", why)) != 0)
            return -1;
    /* A rollout may have been waiting for this device. */
    return n ? rollout_eval_device(db, device) : 0;
}

/* Queues the reboot command (sys_reboot) that lets a downloaded update take effect. */
static int queue_reboot(sqlite3 *db, int64_t device, int64_t action)
{
    int64_t id;
    if (q_int(db, 0,
              "SELECT id FROM commands WHERE device = ? AND action = ? AND type = 'reboot' "
              "AND status IN ('queued','delivered')",
              "ii", device, action))
        return 0;
    if (q_exec(db,
               "INSERT INTO commands(device, type, payload, status, created_at, action) "
               "VALUES (?, 'reboot', '{}', 'queued', ?, ?)",
               "iii", device, now_s(), action) < 0)
        return -1;
    id = sqlite3_last_insert_rowid(db);
    return history_event(db, device, action, "command_queued", json_pack("{s:I,s:s}", "command", (json_int_t)id, "type",
                                                                       "reboot"));
}

/* ---- POST /api/v1/device/register ------------------------------------------------------------ */

struct reg {
    http_req_t *r;
    tx_res_t res;
    const char *device_id, *hw_rev, *version, *mac;
    int slot;
    int64_t counter;
    char groups[32 * 66 + 2];
};

static int register_tx(sqlite3 *db, void *arg)
{
    struct reg *g = arg;
    char token[65], hash[65];
    int64_t id;
    if (lookup_device_id(db, g->r->auth_product, g->device_id))
        return tx_fail(&g->res, ERR_EXISTS,
                          "device %s is already registered (the owner must delete it before it registers again)",
                          g->device_id);
    if (http_new_token(token) != 0)
        return tx_fail(&g->res, ERR_INTERNAL, "cannot make a token");
    http_token_hash(token, hash);
    if (q_exec(db,
               "INSERT INTO devices(device_id, product, token_hash, hw_rev, version, version_value, slot, "
               "security_counter, mac, groups, state, created_at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'registered', ?)",
               "sisssiiissi", g->device_id, g->r->auth_product, hash, g->hw_rev, g->version,
               offer_version_value(db, g->r->auth_product, g->version), (int64_t)g->slot, g->counter, g->mac,
               g->groups, now_s()) < 0)
        return tx_dberr(&g->res, db);
    id = sqlite3_last_insert_rowid(db);
    if (history_event(db, id, 0, "registered",
                    json_pack("{s:s,s:s,s:i,s:I}", "hw_rev", g->hw_rev, "version", g->version, "slot", g->slot,
                              "security_counter", (json_int_t)g->counter)) != 0)
        return tx_dberr(&g->res, db);
    g->res.out = json_pack("{s:s,s:s,s:i}", "device_id", g->device_id, "device_token", token, "poll_interval",
                           CHECK_POLL_IDLE);
    return 0;
}

static enum MHD_Result device_register(http_req_t *r)
{
    struct reg g;
    json_t *j = r->json, *v, *grp;
    size_t i;
    memset(&g, 0, sizeof g);
    g.r = r;
    g.device_id = json_string_value(json_object_get(j, "device_id"));
    g.hw_rev = json_string_value(json_object_get(j, "hw_rev"));
    g.version = json_string_value(json_object_get(j, "version"));
    if (!input_ident_ok(g.device_id))
        return http_error(r, ERR_BAD_DEVICE_ID, "device_id must be 1-64 characters of A-Z a-z 0-9 . _ : -");
    if (compat_reserved_id(g.device_id))
        return http_error(r, ERR_BAD_DEVICE_ID,
                          "device ids starting with " COMPAT_ESP_PREFIX " or " COMPAT_MONGOOSE_PREFIX
                          " are the compat protocols' devices");
    if (!input_text_ok(g.hw_rev, 64, 1))
        return http_error(r, ERR_BAD_HW_REV, "hw_rev must be 1-64 printable characters");
    if (!input_text_ok(g.version, 64, 0))
        return http_error(r, ERR_BAD_VERSION, "version must be 1-64 printable characters without spaces");
    v = json_object_get(j, "slot");
    if (!json_is_integer(v) || (json_integer_value(v) != 0 && json_integer_value(v) != 1))
        return http_error(r, ERR_BAD_SLOT, "slot must be 0 or 1 (the slot the device runs from)");
    g.slot = (int)json_integer_value(v);
    v = json_object_get(j, "security_counter");
    if (v && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 0xffffffffLL))
        return http_error(r, ERR_BAD_SECURITY_COUNTER, "security_counter must be an integer 0..4294967295");
    g.counter = v ? json_integer_value(v) : 0;
    v = json_object_get(j, "mac");
    g.mac = v ? json_string_value(v) : "";
    if (v && (!g.mac || strlen(g.mac) > 32 || strspn(g.mac, "0123456789abcdefABCDEF:-") != strlen(g.mac)))
        return http_error(r, ERR_BAD_MAC, "mac must be up to 32 hex digits, ':' or '-'");
    grp = json_object_get(j, "groups");
    if (grp && (!json_is_array(grp) || json_array_size(grp) > 32))
        return http_error(r, ERR_BAD_GROUPS, "groups must be an array of up to 32 names");
    strcpy(g.groups, ",");
    json_array_foreach(grp, i, v) {
        if (!input_ident_ok(json_string_value(v)))
            return http_error(r, ERR_BAD_GROUPS, "group names are 1-64 characters of A-Z a-z 0-9 . _ : -");
        strcat(g.groups, json_string_value(v));
        strcat(g.groups, ",");
    }
    if (!strcmp(g.groups, ","))
        g.groups[0] = 0;
    return tx_reply(r, db_tx(register_tx, &g), &g.res, 201);
}

/* ---- GET /api/v1/device/check ------------------------------------------------------------------ */

struct chk {
    int64_t dev;         /* devices.id of the device checking in */
    tx_res_t res;
    const char *version; /* reported, or NULL */
    int slot;            /* reported, or -1 */
    int64_t counter;     /* reported, or -1 */
    /* the device as recorded (after this check's update) */
    int64_t product;
    char cur_version[80];
    int64_t cur_value; /* cur_version's ordering value (-1: unknown) */
    int cur_slot;
    int64_t cur_counter;
};

/* Delivers queued commands (at most once); returns the array for the device or NULL. */
static json_t *deliver_commands(sqlite3 *db, struct chk *c)
{
    struct {
        int64_t id, release, counter, value;
        char type[16], version[80], consent[16];
    } q[32];
    sqlite3_stmt *st;
    json_t *out = json_array();
    int n = 0, i;
    st = q_prep(db,
                "SELECT c.id, c.type, c.release, c.consent, r.version, r.security_counter, r.version_value "
                "FROM commands c "
                "LEFT JOIN releases r ON r.id = c.release WHERE c.device = ? AND c.status = 'queued' ORDER BY c.id "
                "LIMIT 32",
                "i", c->dev);
    if (!st) {
        json_decref(out);
        return NULL;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        q[n].id = sqlite3_column_int64(st, 0);
        snprintf(q[n].type, sizeof q[n].type, "%s", q_text(st, 1));
        q[n].release = sqlite3_column_type(st, 2) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 2);
        snprintf(q[n].consent, sizeof q[n].consent, "%s", q_text(st, 3));
        snprintf(q[n].version, sizeof q[n].version, "%s", q_text(st, 4));
        q[n].counter = sqlite3_column_int64(st, 5);
        q[n].value = sqlite3_column_int64(st, 6);
        n++;
    }
    db_done(st);

    for (i = 0; i < n; i++) {
        int64_t dev = c->dev, aid = 0;
        json_t *cmd;
        if (!strcmp(q[i].type, "upgrade")) {
            const char *why = NULL;
            if (!q[i].release)
                why = "the release was deleted";
            else if (q[i].counter < c->cur_counter)
                why = "the release's security counter is below the device's";
            else if (!strcmp(q[i].version, c->cur_version) || (c->cur_value >= 0 && q[i].value == c->cur_value))
                why = "the device already runs this version";
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
            if (cancel_offers(db, dev, "", 0, "superseded by an upgrade command") != 0 ||
                q_exec(db,
                       "INSERT INTO actions(device, release, rollout, status, created_at, updated_at, command) "
                       "VALUES (?, ?, NULL, 'offered', ?, ?, ?)",
                       "iiiii", dev, q[i].release, now_s(), now_s(), q[i].id) < 0)
                goto fail;
            aid = sqlite3_last_insert_rowid(db);
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

/* Starts the best rollout offer for the device, if any. Returns the new action id, 0, or -1. */
static int64_t rollout_offer(sqlite3 *db, struct chk *c)
{
    sqlite3_stmt *st = q_prep(
        db,
        "SELECT ro.id, ro.release, rel.version FROM rollout_targets t JOIN rollouts ro ON ro.id = t.rollout "
        "JOIN releases rel ON rel.id = ro.release "
        "WHERE t.device = ?1 AND ro.state = 'running' AND t.stage <= ro.current_stage "
        "  AND rel.security_counter >= ?2 AND rel.version <> ?3 AND rel.version_value > ?4 "
        "  AND NOT EXISTS (SELECT 1 FROM actions a WHERE a.rollout = ro.id AND a.device = ?1) "
        "  AND EXISTS (SELECT 1 FROM artifacts WHERE release = rel.id AND (slot = -1 OR slot = ?5)) "
        "ORDER BY rel.version_value DESC, ro.id DESC LIMIT 1",
        "iisii", c->dev, c->cur_counter, c->cur_version, c->cur_value, (int64_t)(1 - c->cur_slot));
    int64_t ro = 0, rel = 0, aid;
    char version[80] = "";
    if (!st)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        ro = sqlite3_column_int64(st, 0);
        rel = sqlite3_column_int64(st, 1);
        snprintf(version, sizeof version, "%s", q_text(st, 2));
    }
    db_done(st);
    if (!ro)
        return 0;
    if (q_exec(db,
               "INSERT INTO actions(device, release, rollout, status, created_at, updated_at) "
               "VALUES (?, ?, ?, 'offered', ?, ?)",
               "iiiii", c->dev, rel, ro, now_s(), now_s()) < 0)
        return -1;
    aid = sqlite3_last_insert_rowid(db);
    if (history_event(db, c->dev, aid, "offered",
                    json_pack("{s:s,s:I}", "version", version, "rollout", (json_int_t)ro)) != 0)
        return -1;
    return aid;
}

/* The manifest of the device's in-flight action, or JSON null. Sets *active when an action is in
 * flight. Returns NULL on a database error. */
static json_t *current_offer(sqlite3 *db, struct chk *c, int *active)
{
    sqlite3_stmt *st;
    int64_t aid = 0, rel = 0, rcounter = 0, art, rollout = 0, cmd = 0;
    char status[16] = "", version[80] = "", rstate[16] = "";
    json_t *m;
    int again;

    for (again = 0; again < 2; again++) {
        st = q_prep(db,
                    "SELECT a.id, a.release, a.status, r.version, r.security_counter, a.rollout, ro.state, a.command "
                    "FROM actions a JOIN releases r ON r.id = a.release LEFT JOIN rollouts ro ON ro.id = a.rollout "
                    "WHERE a.device = ? AND a.status IN ('offered','downloading','downloaded','installing',"
                    "'installed') ORDER BY a.id DESC LIMIT 1",
                    "i", c->dev);
        if (!st)
            return NULL;
        aid = 0;
        if (sqlite3_step(st) == SQLITE_ROW) {
            aid = sqlite3_column_int64(st, 0);
            rel = sqlite3_column_int64(st, 1);
            snprintf(status, sizeof status, "%s", q_text(st, 2));
            snprintf(version, sizeof version, "%s", q_text(st, 3));
            rcounter = sqlite3_column_int64(st, 4);
            rollout = sqlite3_column_type(st, 5) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 5);
            snprintf(rstate, sizeof rstate, "%s", q_text(st, 6));
            cmd = sqlite3_column_type(st, 7) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 7);
        }
        db_done(st);
        if (aid || again)
            break;
        if (rollout_offer(db, c) < 0)
            return NULL;
    }
    *active = aid != 0;
    if (!aid || !strcmp(status, "installing") || !strcmp(status, "installed"))
        return json_null();
    if (rcounter < c->cur_counter) {
        /* The device's counter rose past this release since it was offered: never a downgrade. */
        if (cancel_offers(db, c->dev, "AND id = ?2", aid, "security counter below the device's") != 0)
            return NULL;
        *active = 0;
        return json_null();
    }
    if (rollout && strcmp(rstate, "running") != 0 && !strcmp(status, "offered"))
        return json_null(); /* paused before the device started: withheld */
    art = offer_artifact_for(db, rel, c->cur_slot);
    if (!art) {
        log_msg(LOG_WARN, "no artifact for the device's inactive slot", "action=%lld slot=%d", (long long)aid,
                1 - c->cur_slot);
        return json_null();
    }
    st = q_prep(db, "SELECT filename, size, sha256, sha1, md5 FROM artifacts WHERE id = ?", "i", art);
    if (!st || sqlite3_step(st) != SQLITE_ROW) {
        db_done(st);
        return NULL;
    }
    {
        char url[400];
        snprintf(url, sizeof url, "%s/api/v1/artifacts/%s", g_server.public_url, q_text(st, 2));
        m = json_pack("{s:I,s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:I,s:i,s:s}", "action_id", (json_int_t)aid, "status",
                      status, "version", version, "filename", q_text(st, 0), "size",
                      (json_int_t)sqlite3_column_int64(st, 1), "sha256", q_text(st, 2), "sha1", q_text(st, 3), "md5",
                      q_text(st, 4), "url", url, "security_counter", (json_int_t)rcounter, "slot", 1 - c->cur_slot,
                      "reboot", cmd ? "on_command" : "auto");
    }
    db_done(st);
    return m;
}

static int check_tx(sqlite3 *db, void *arg)
{
    struct chk *c = arg;
    sqlite3_stmt *st;
    json_t *cmds, *upd;
    int64_t dev = c->dev;
    int active = 0, waiting;
    char prev_version[80];

    st = q_prep(db, "SELECT product, version, slot, security_counter, version_value FROM devices WHERE id = ?", "i",
                dev);
    if (!st || sqlite3_step(st) != SQLITE_ROW) {
        db_done(st);
        return tx_fail(&c->res, ERR_NOT_FOUND, "the device was deleted");
    }
    c->product = sqlite3_column_int64(st, 0);
    snprintf(prev_version, sizeof prev_version, "%s", q_text(st, 1));
    snprintf(c->cur_version, sizeof c->cur_version, "%s", c->version ? c->version : q_text(st, 1));
    if (c->version && strcmp(c->version, q_text(st, 1)) != 0 &&
        history_event(db, dev, 0, "version_reported", json_pack("{s:s,s:s}", "from", q_text(st, 1), "to", c->version))) {
        db_done(st);
        return tx_dberr(&c->res, db);
    }
    c->cur_slot = c->slot >= 0 ? c->slot : sqlite3_column_int(st, 2);
    c->cur_counter = sqlite3_column_int64(st, 3);
    if (c->counter > c->cur_counter)
        c->cur_counter = c->counter;
    c->cur_value = c->version ? offer_version_value(db, c->product, c->version) : sqlite3_column_int64(st, 4);
    db_done(st);
    if (q_exec(db,
               "UPDATE devices SET last_seen = ?, version = ?, version_value = ?, slot = ?, security_counter = ? "
               "WHERE id = ?",
               "isiiii", now_s(), c->cur_version, c->cur_value, (int64_t)c->cur_slot, c->cur_counter, dev) < 0)
        return tx_dberr(&c->res, db);

    /* A device that now runs a rollout's release (or newer) counts as up to date there. */
    if (c->version && strcmp(c->version, prev_version) != 0 && rollout_eval_device(db, dev) != 0)
        return tx_dberr(&c->res, db);
    if (!(cmds = deliver_commands(db, c)))
        return tx_dberr(&c->res, db);
    if (!(upd = current_offer(db, c, &active))) {
        json_decref(cmds);
        return tx_dberr(&c->res, db);
    }
    if (history_device_state(db, dev) != 0) {
        json_decref(cmds);
        json_decref(upd);
        return tx_dberr(&c->res, db);
    }
    waiting = (int)q_int(db, 0, "SELECT COUNT(*) FROM commands WHERE device = ? AND status = 'delivered'", "i", dev);
    c->res.out = json_pack("{s:o,s:o,s:i}", "update", upd, "commands", cmds, "poll_interval",
                           active || waiting || json_array_size(cmds) ? CHECK_POLL_ACTIVE : CHECK_POLL_IDLE);
    return 0;
}

int device_check_run(int64_t device, const char *version, int slot, int64_t counter, tx_res_t *res)
{
    struct chk c;
    int rc;
    memset(&c, 0, sizeof c);
    c.dev = device;
    c.version = version;
    c.slot = slot;
    c.counter = counter;
    rc = db_tx(check_tx, &c);
    *res = c.res;
    return rc;
}

static enum MHD_Result device_check(http_req_t *r)
{
    tx_res_t res;
    const char *s, *version;
    char *end;
    int slot = -1, rc;
    int64_t counter = -1;
    version = http_query(r, "version");
    if (version && !input_text_ok(version, 64, 0))
        return http_error(r, ERR_BAD_VERSION, "version must be 1-64 printable characters without spaces");
    if ((s = http_query(r, "slot")) != NULL) {
        if (strcmp(s, "0") && strcmp(s, "1"))
            return http_error(r, ERR_BAD_SLOT, "slot must be 0 or 1");
        slot = s[0] - '0';
    }
    if ((s = http_query(r, "security_counter")) != NULL) {
        unsigned long long v = strtoull(s, &end, 10);
        if (!*s || *end || *s == '-' || v > 0xffffffffULL)
            return http_error(r, ERR_BAD_SECURITY_COUNTER, "security_counter must be an integer 0..4294967295");
        counter = (int64_t)v;
    }
    rc = device_check_run(r->auth_device, version, slot, counter, &res);
    return tx_reply(r, rc, &res, 200);
}

/* ---- POST /api/v1/device/report ---------------------------------------------------------------- */

static const char *const report_statuses[] = {"offered",   "downloading", "downloaded", "installing", "installed",
                                              "confirmed", "failed",      "rolled_back", NULL};

static int rank_of(const char *s)
{
    int i;
    for (i = 0; report_statuses[i]; i++)
        if (!strcmp(report_statuses[i], s))
            return i;
    return -1;
}

struct rep {
    http_req_t *r;
    tx_res_t res;
    int64_t action;
    const char *status, *message, *version;
    int64_t progress; /* -1: absent */
};

/* NULL when the move is allowed, else why not. */
static const char *transition_error(const char *from, const char *to)
{
    int f = rank_of(from), t = rank_of(to);
    if (!strcmp(from, "cancelled"))
        return (!strcmp(to, "installing") || !strcmp(to, "installed") || !strcmp(to, "confirmed") ||
                !strcmp(to, "failed") || !strcmp(to, "rolled_back"))
                   ? NULL
                   : "the action was cancelled";
    if (!strcmp(from, "confirmed") || !strcmp(from, "failed") || !strcmp(from, "rolled_back"))
        return "the action is already final";
    if (!strcmp(to, "failed"))
        return NULL;
    if (!strcmp(to, "rolled_back"))
        return f >= rank_of("downloaded") ? NULL : "nothing was downloaded to roll back";
    if (!strcmp(to, "offered"))
        return "only the server offers";
    return t >= f ? NULL : "status cannot go backwards";
}

static int report_tx(sqlite3 *db, void *arg)
{
    struct rep *p = arg;
    sqlite3_stmt *st;
    int64_t dev, release, rollout, command, rcounter;
    char cur[16], rversion[80];
    const char *why;
    json_t *detail;
    int final;

    st = q_prep(db,
                "SELECT a.device, a.release, a.rollout, a.command, a.status, r.version, r.security_counter "
                "FROM actions a JOIN releases r ON r.id = a.release WHERE a.id = ?",
                "i", p->action);
    if (!st || sqlite3_step(st) != SQLITE_ROW) {
        db_done(st);
        return tx_fail(&p->res, ERR_NOT_FOUND, "no action %lld", (long long)p->action);
    }
    dev = sqlite3_column_int64(st, 0);
    release = sqlite3_column_int64(st, 1);
    rollout = sqlite3_column_type(st, 2) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 2);
    command = sqlite3_column_type(st, 3) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 3);
    snprintf(cur, sizeof cur, "%s", q_text(st, 4));
    snprintf(rversion, sizeof rversion, "%s", q_text(st, 5));
    rcounter = sqlite3_column_int64(st, 6);
    db_done(st);
    (void)release;
    if (dev != p->r->auth_device)
        return tx_fail(&p->res, ERR_FORBIDDEN, "action %lld belongs to another device", (long long)p->action);

    final = !strcmp(p->status, "confirmed") || !strcmp(p->status, "failed") || !strcmp(p->status, "rolled_back");
    if (final && !strcmp(cur, p->status)) {
        /* A retried final report (the answer was lost): nothing changes. */
        p->res.out = json_pack("{s:I,s:s,s:b,s:i}", "action_id", (json_int_t)p->action, "status", cur, "duplicate", 1,
                               "poll_interval", CHECK_POLL_IDLE);
        return 0;
    }
    if ((why = transition_error(cur, p->status)) != NULL)
        return tx_fail(&p->res, ERR_BAD_TRANSITION, "%s -> %s: %s", cur, p->status, why);

    if (q_exec(db,
               "UPDATE actions SET status = ?, progress = CASE WHEN ? >= 0 THEN ? ELSE progress END, "
               "message = COALESCE(?, message), updated_at = ? WHERE id = ?",
               "siisii", p->status, p->progress, p->progress, p->message, now_s(), p->action) < 0)
        return tx_dberr(&p->res, db);
    detail = json_object();
    if (p->progress >= 0)
        json_object_set_new(detail, "progress", json_integer(p->progress));
    if (p->message)
        json_object_set_new(detail, "message", json_string(p->message));
    if (p->version)
        json_object_set_new(detail, "version", json_string(p->version));
    if (history_event(db, dev, p->action, p->status, detail) != 0)
        return tx_dberr(&p->res, db);

    /* What the device runs now. */
    if (!strcmp(p->status, "confirmed") || p->version) {
        const char *now = p->version ? p->version : rversion;
        int64_t product = q_int(db, 0, "SELECT product FROM devices WHERE id = ?", "i", dev);
        if (q_exec(db,
                   "UPDATE devices SET version = ?, version_value = ?, "
                   "security_counter = MAX(security_counter, ?) WHERE id = ?",
                   "siii", now, offer_version_value(db, product, now),
                   !strcmp(p->status, "confirmed") ? rcounter : (int64_t)0, dev) < 0)
            return tx_dberr(&p->res, db);
    }

    /* "Download finished" (seed 004): a command-driven update reboots on the server's word. */
    if (!strcmp(p->status, "downloaded") && strcmp(cur, "downloaded") != 0 && command) {
        char consent[16] = "";
        st = q_prep(db, "SELECT consent FROM commands WHERE id = ?", "i", command);
        if (st && sqlite3_step(st) == SQLITE_ROW)
            snprintf(consent, sizeof consent, "%s", q_text(st, 0));
        db_done(st);
        if (!strcmp(consent, "none") || !strcmp(consent, "granted")) {
            if (queue_reboot(db, dev, p->action) != 0)
                return tx_dberr(&p->res, db);
        } else if (!strcmp(consent, "pending")) {
            if (history_event(db, dev, p->action, "awaiting_consent",
                            json_pack("{s:I,s:s}", "command", (json_int_t)command, "version", rversion)) != 0)
                return tx_dberr(&p->res, db);
        }
    }
    if (history_device_state(db, dev) != 0)
        return tx_dberr(&p->res, db);
    /* Final statuses (and installs) move the rollout thresholds. */
    if (final || !strcmp(p->status, "installed")) {
        if ((rollout && rollout_eval(db, rollout) != 0) || rollout_eval_device(db, dev) != 0)
            return tx_dberr(&p->res, db);
    }
    p->res.out = json_pack("{s:I,s:s,s:i}", "action_id", (json_int_t)p->action, "status", p->status, "poll_interval",
                           final ? CHECK_POLL_IDLE : CHECK_POLL_ACTIVE);
    return 0;
}

static enum MHD_Result device_report(http_req_t *r)
{
    struct rep p;
    json_t *v;
    memset(&p, 0, sizeof p);
    p.r = r;
    v = json_object_get(r->json, "action_id");
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return http_error(r, ERR_BAD_ACTION_ID, "action_id must be the positive integer from the offer");
    p.action = json_integer_value(v);
    p.status = json_string_value(json_object_get(r->json, "status"));
    if (!p.status || rank_of(p.status) < 0 || !strcmp(p.status, "offered"))
        return http_error(r, ERR_BAD_STATUS,
                          "status must be downloading, downloaded, installing, installed, confirmed, failed or "
                          "rolled_back");
    v = json_object_get(r->json, "progress");
    if (v && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100))
        return http_error(r, ERR_BAD_PROGRESS, "progress must be an integer 0..100");
    p.progress = v ? json_integer_value(v) : -1;
    v = json_object_get(r->json, "message");
    if (v && (!json_is_string(v) || json_string_length(v) > 512))
        return http_error(r, ERR_BAD_MESSAGE, "message must be a string of at most 512 bytes");
    p.message = json_string_value(v);
    v = json_object_get(r->json, "version");
    if (v && !input_text_ok(json_string_value(v), 64, 0))
        return http_error(r, ERR_BAD_VERSION, "version must be 1-64 printable characters without spaces");
    p.version = json_string_value(v);
    return tx_reply(r, db_tx(report_tx, &p), &p.res, 200);
}

/* ---- POST /api/v1/device/commands/{id} ----------------------------------------------------------- */

struct ack {
    http_req_t *r;
    tx_res_t res;
    int64_t id;
    const char *status, *message;
};

static int ack_tx(sqlite3 *db, void *arg)
{
    struct ack *k = arg;
    sqlite3_stmt *st =
        q_prep(db, "SELECT device, type, status, action, consent FROM commands WHERE id = ?", "i", k->id);
    int64_t dev, action;
    char type[16], status[16], consent[16];
    if (!st || sqlite3_step(st) != SQLITE_ROW) {
        db_done(st);
        return tx_fail(&k->res, ERR_NOT_FOUND, "no command %lld", (long long)k->id);
    }
    dev = sqlite3_column_int64(st, 0);
    snprintf(type, sizeof type, "%s", q_text(st, 1));
    snprintf(status, sizeof status, "%s", q_text(st, 2));
    action = sqlite3_column_type(st, 3) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 3);
    snprintf(consent, sizeof consent, "%s", q_text(st, 4));
    db_done(st);
    if (dev != k->r->auth_device)
        return tx_fail(&k->res, ERR_FORBIDDEN, "command %lld belongs to another device", (long long)k->id);
    if (!strcmp(status, k->status)) {
        k->res.out = command_by_id(db, k->id);
        return k->res.out ? 0 : tx_dberr(&k->res, db);
    }
    if (!strcmp(status, "queued"))
        return tx_fail(&k->res, ERR_NOT_DELIVERED, "command %lld was not delivered yet", (long long)k->id);
    if (!strcmp(status, "cancelled"))
        return tx_fail(&k->res, ERR_COMMAND_CANCELLED, "command %lld was cancelled", (long long)k->id);
    if (strcmp(status, "delivered") != 0)
        return tx_fail(&k->res, ERR_ALREADY_ACKED, "command %lld was already acknowledged %s", (long long)k->id,
                          status);
    if (q_exec(db, "UPDATE commands SET status = ?, message = COALESCE(?, message), acked_at = ? WHERE id = ?",
               "ssii", k->status, k->message, now_s(), k->id) < 0)
        return tx_dberr(&k->res, db);
    {
        json_t *d = json_pack("{s:I,s:s}", "command", (json_int_t)k->id, "type", type);
        char kind[32];
        if (k->message)
            json_object_set_new(d, "message", json_string(k->message));
        snprintf(kind, sizeof kind, "command_%s", k->status);
        if (history_event(db, dev, action, kind, d) != 0)
            return tx_dberr(&k->res, db);
    }
    /* The user declined the upgrade on the device: no reboot will come, the offer is withdrawn. */
    if (!strcmp(type, "upgrade") && !strcmp(k->status, "declined")) {
        if ((strcmp(consent, "none") != 0 &&
             q_exec(db, "UPDATE commands SET consent = 'declined' WHERE id = ?", "i", k->id) < 0) ||
            (action && cancel_offers(db, dev, "AND id = ?2", action, "declined on the device") != 0) ||
            history_device_state(db, dev) != 0)
            return tx_dberr(&k->res, db);
    }
    k->res.out = command_by_id(db, k->id);
    return k->res.out ? 0 : tx_dberr(&k->res, db);
}

static enum MHD_Result device_ack(http_req_t *r)
{
    struct ack k;
    json_t *v;
    memset(&k, 0, sizeof k);
    k.r = r;
    if (!(k.id = input_parse_id(http_param(r, 0))))
        return http_error(r, ERR_NOT_FOUND, "no command %s", http_param(r, 0));
    k.status = json_string_value(json_object_get(r->json, "status"));
    if (!k.status || (strcmp(k.status, "done") && strcmp(k.status, "failed") && strcmp(k.status, "declined")))
        return http_error(r, ERR_BAD_STATUS, "status must be done, failed or declined");
    v = json_object_get(r->json, "message");
    if (v && (!json_is_string(v) || json_string_length(v) > 512))
        return http_error(r, ERR_BAD_MESSAGE, "message must be a string of at most 512 bytes");
    k.message = json_string_value(v);
    return tx_reply(r, db_tx(ack_tx, &k), &k.res, 200);
}

/* ---- management: list, detail, delete --------------------------------------------------------- */

static enum MHD_Result devices_list(http_req_t *r)
{
    sqlite3 *db = db_get();
    sqlite3_stmt *st;
    json_t *arr;
    const char *state = http_query(r, "state"), *group = http_query(r, "group"), *version = http_query(r, "version"),
               *hw = http_query(r, "hw_rev"), *ls = http_query(r, "limit"), *os = http_query(r, "offset");
    int64_t product, limit = 1000, offset = 0;
    char gpat[80];
    if (!db)
        return http_error(r, ERR_DATABASE, "no connection");
    if (!(product = lookup_product_id(db, http_param(r, 0))))
        return http_error(r, ERR_NOT_FOUND, "no product %s", http_param(r, 0));
    if (group && !input_ident_ok(group))
        return http_error(r, ERR_BAD_GROUP, "group names are 1-64 characters of A-Z a-z 0-9 . _ : -");
    if (ls && ((limit = input_parse_id(ls)) <= 0 || limit > 10000))
        return http_error(r, ERR_BAD_LIMIT, "limit must be 1..10000");
    if (os && strcmp(os, "0") && (offset = input_parse_id(os)) <= 0)
        return http_error(r, ERR_BAD_OFFSET, "offset must be a non-negative integer");
    snprintf(gpat, sizeof gpat, ",%s,", group ? group : "");
    st = q_prep(db,
                "SELECT " DEVICE_COLS " FROM devices d WHERE d.product = ?1 AND (?2 IS NULL OR d.state = ?2) "
                "AND (?3 IS NULL OR instr(d.groups, ?4) > 0) AND (?5 IS NULL OR d.version = ?5) "
                "AND (?6 IS NULL OR d.hw_rev = ?6) ORDER BY d.device_id LIMIT ?7 OFFSET ?8",
                "isssssii", product, state, group, gpat, version, hw, limit, offset);
    if (!st)
        return http_error(r, ERR_DATABASE, "cannot list devices");
    arr = json_array();
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(arr, device_json(st));
    db_done(st);
    return http_json(r, 200, json_pack("{s:o}", "devices", arr));
}

struct dev_get {
    http_req_t *r;
    tx_res_t res;
};

static int device_get_tx(sqlite3 *db, void *arg)
{
    struct dev_get *g = arg;
    int64_t product = lookup_product_id(db, http_param(g->r, 0)), id;
    sqlite3_stmt *st;
    json_t *o = NULL, *arr;
    if (!product)
        return tx_fail(&g->res, ERR_NOT_FOUND, "no product %s", http_param(g->r, 0));
    if (!(id = lookup_device_id(db, product, http_param(g->r, 1))))
        return tx_fail(&g->res, ERR_NOT_FOUND, "no device %s", http_param(g->r, 1));
    st = q_prep(db, "SELECT " DEVICE_COLS " FROM devices d WHERE d.id = ?", "i", id);
    if (st && sqlite3_step(st) == SQLITE_ROW)
        o = device_json(st);
    db_done(st);
    if (!o)
        return tx_dberr(&g->res, db);
    arr = json_array();
    st = q_prep(db, "SELECT " ACTION_COLS " WHERE a.device = ? ORDER BY a.id DESC LIMIT 50", "i", id);
    while (st && sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(arr, action_json(st));
    db_done(st);
    json_object_set_new(o, "actions", arr);
    arr = json_array();
    st = q_prep(db, "SELECT " COMMAND_COLS " WHERE c.device = ? ORDER BY c.id DESC LIMIT 50", "i", id);
    while (st && sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(arr, command_json(st));
    db_done(st);
    json_object_set_new(o, "commands", arr);
    arr = json_array();
    st = q_prep(db, "SELECT id, action, kind, detail, at FROM events WHERE device = ? ORDER BY id DESC LIMIT 50", "i",
                id);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        const char *d = q_text(st, 3);
        json_t *dj = *d ? json_loads(d, 0, NULL) : NULL;
        json_array_append_new(arr, json_pack("{s:I,s:o,s:s,s:o,s:I}", "id", (json_int_t)sqlite3_column_int64(st, 0),
                                             "action_id", int_or_null(st, 1), "kind", q_text(st, 2), "detail",
                                             dj ? dj : json_object(), "at", (json_int_t)sqlite3_column_int64(st, 4)));
    }
    db_done(st);
    json_object_set_new(o, "events", arr);
    g->res.out = o;
    return 0;
}

static enum MHD_Result device_get(http_req_t *r)
{
    struct dev_get g;
    memset(&g, 0, sizeof g);
    g.r = r;
    return tx_reply(r, tx_read(device_get_tx, &g), &g.res, 200);
}

static int device_delete_tx(sqlite3 *db, void *arg)
{
    struct dev_get *g = arg;
    int64_t product = lookup_product_id(db, http_param(g->r, 0)), id, ros[64];
    sqlite3_stmt *st;
    int n = 0, i;
    if (!product)
        return tx_fail(&g->res, ERR_NOT_FOUND, "no product %s", http_param(g->r, 0));
    if (!(id = lookup_device_id(db, product, http_param(g->r, 1))))
        return tx_fail(&g->res, ERR_NOT_FOUND, "no device %s", http_param(g->r, 1));
    st = q_prep(db,
                "SELECT DISTINCT t.rollout FROM rollout_targets t JOIN rollouts ro ON ro.id = t.rollout "
                "WHERE t.device = ? AND ro.state = 'running'",
                "i", id);
    while (st && n < 64 && sqlite3_step(st) == SQLITE_ROW)
        ros[n++] = sqlite3_column_int64(st, 0);
    db_done(st);
    if (q_exec(db, "DELETE FROM devices WHERE id = ?", "i", id) < 0)
        return tx_dberr(&g->res, db);
    /* The rollouts it was part of lose a member: their thresholds may now be met. */
    for (i = 0; i < n; i++)
        if (rollout_eval(db, ros[i]) != 0)
            return tx_dberr(&g->res, db);
    log_msg(LOG_INFO, "device deleted", "product=%s device=%s", http_param(g->r, 0), http_param(g->r, 1));
    return 0;
}

static enum MHD_Result device_delete(http_req_t *r)
{
    struct dev_get g;
    memset(&g, 0, sizeof g);
    g.r = r;
    return tx_reply(r, db_tx(device_delete_tx, &g), &g.res, 204);
}

/* ---- management: commands and consent ----------------------------------------------------------- */

struct cmd_new {
    http_req_t *r;
    tx_res_t res;
    const char *type, *release;
    int consent;
};

static int command_create_tx(sqlite3 *db, void *arg)
{
    struct cmd_new *c = arg;
    int64_t product = lookup_product_id(db, http_param(c->r, 0)), dev, rel = 0, id;
    sqlite3_stmt *st;
    char dversion[80] = "";
    int64_t dcounter = 0, dvalue = -1;
    int dslot = 0;
    const char *why;
    if (!product)
        return tx_fail(&c->res, ERR_NOT_FOUND, "no product %s", http_param(c->r, 0));
    if (!(dev = lookup_device_id(db, product, http_param(c->r, 1))))
        return tx_fail(&c->res, ERR_NOT_FOUND, "no device %s", http_param(c->r, 1));
    st = q_prep(db, "SELECT version, slot, security_counter, version_value FROM devices WHERE id = ?", "i", dev);
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        snprintf(dversion, sizeof dversion, "%s", q_text(st, 0));
        dslot = sqlite3_column_int(st, 1);
        dcounter = sqlite3_column_int64(st, 2);
        dvalue = sqlite3_column_int64(st, 3);
    }
    db_done(st);

    if (!strcmp(c->type, "upgrade")) {
        int64_t rcounter = 0, rvalue = -1;
        char rversion[80] = "";
        /* The release by its stored text, else by value under the product's rule ("2.1.0" names
         * "2.1.0+0"; the newest such release when several share the value). */
        st = q_prep(db,
                    "SELECT id, security_counter, version_value, version FROM releases WHERE product = ?1 "
                    "AND (version = ?2 OR version_value = ?3) ORDER BY version = ?2 DESC, id DESC LIMIT 1",
                    "isi", product, c->release, offer_version_value(db, product, c->release));
        if (st && sqlite3_step(st) == SQLITE_ROW) {
            rel = sqlite3_column_int64(st, 0);
            rcounter = sqlite3_column_int64(st, 1);
            rvalue = sqlite3_column_int64(st, 2);
            snprintf(rversion, sizeof rversion, "%s", q_text(st, 3));
        }
        db_done(st);
        if (!rel)
            return tx_fail(&c->res, ERR_RELEASE_NOT_FOUND, "no release %s", c->release);
        if (rcounter < dcounter)
            return tx_fail(&c->res, ERR_SECURITY_COUNTER,
                              "release %s has security counter %lld, below the device's %lld", c->release,
                              (long long)rcounter, (long long)dcounter);
        if ((why = offer_release_not_ota(db, rel)) != NULL)
            return tx_fail(&c->res, ERR_NOT_UPGRADABLE, "release %s cannot be sent over the air: %s",
                              rversion, why);
        if (!strcmp(dversion, rversion) || (dvalue >= 0 && dvalue == rvalue))
            return tx_fail(&c->res, ERR_ALREADY_RUNNING, "the device already runs %s", dversion);
        if (!offer_artifact_for(db, rel, dslot))
            return tx_fail(&c->res, ERR_NO_ARTIFACT, "release %s has no image for slot %d", c->release,
                              1 - dslot);
        if (q_int(db, 0, "SELECT 1 FROM actions WHERE device = ? AND status IN ('installing','installed')", "i", dev))
            return tx_fail(&c->res, ERR_UPDATE_IN_PROGRESS, "the device is installing another update");
        /* A newer upgrade order replaces one the device has not picked up yet. */
        if (q_exec(db,
                   "UPDATE commands SET status = 'cancelled', message = 'replaced by a newer upgrade command', "
                   "acked_at = ? WHERE device = ? AND type = 'upgrade' AND status = 'queued'",
                   "ii", now_s(), dev) < 0)
            return tx_dberr(&c->res, db);
    }
    if (q_exec(db,
               "INSERT INTO commands(device, type, payload, status, created_at, release, consent) "
               "VALUES (?, ?, '{}', 'queued', ?, NULLIF(?, 0), ?)",
               "isiis", dev, c->type, now_s(), rel, c->consent ? "pending" : "none") < 0)
        return tx_dberr(&c->res, db);
    id = sqlite3_last_insert_rowid(db);
    if (history_event(db, dev, 0, "command_queued",
                    json_pack("{s:I,s:s}", "command", (json_int_t)id, "type", c->type)) != 0)
        return tx_dberr(&c->res, db);
    log_msg(LOG_INFO, "command queued", "product=%s device=%s command=%lld type=%s", http_param(c->r, 0),
            http_param(c->r, 1), (long long)id, c->type);
    c->res.out = json_pack("{s:o}", "command", command_by_id(db, id));
    return 0;
}

static enum MHD_Result command_create(http_req_t *r)
{
    struct cmd_new c;
    json_t *v;
    memset(&c, 0, sizeof c);
    c.r = r;
    c.type = json_string_value(json_object_get(r->json, "type"));
    if (!c.type || (strcmp(c.type, "upgrade") && strcmp(c.type, "reboot")))
        return http_error(r, ERR_BAD_TYPE, "type must be \"upgrade\" or \"reboot\"");
    v = json_object_get(r->json, "consent");
    if (v && !json_is_boolean(v))
        return http_error(r, ERR_BAD_CONSENT, "consent must be true or false");
    c.consent = json_is_true(v);
    if (!strcmp(c.type, "upgrade")) {
        c.release = json_string_value(json_object_get(r->json, "release"));
        if (!input_text_ok(c.release, 64, 0))
            return http_error(r, ERR_BAD_RELEASE, "an upgrade names the release version to install");
    } else if (c.consent || json_object_get(r->json, "release")) {
        return http_error(r, ERR_BAD_COMMAND, "a reboot takes no release and no consent");
    }
    return tx_reply(r, db_tx(command_create_tx, &c), &c.res, 201);
}

static int commands_list_tx(sqlite3 *db, void *arg)
{
    struct dev_get *g = arg;
    int64_t product = lookup_product_id(db, http_param(g->r, 0)), dev;
    sqlite3_stmt *st;
    json_t *arr;
    if (!product)
        return tx_fail(&g->res, ERR_NOT_FOUND, "no product %s", http_param(g->r, 0));
    if (!(dev = lookup_device_id(db, product, http_param(g->r, 1))))
        return tx_fail(&g->res, ERR_NOT_FOUND, "no device %s", http_param(g->r, 1));
    arr = json_array();
    st = q_prep(db, "SELECT " COMMAND_COLS " WHERE c.device = ? ORDER BY c.id DESC LIMIT 200", "i", dev);
    while (st && sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(arr, command_json(st));
    db_done(st);
    g->res.out = json_pack("{s:o}", "commands", arr);
    return 0;
}

static enum MHD_Result commands_list(http_req_t *r)
{
    struct dev_get g;
    memset(&g, 0, sizeof g);
    g.r = r;
    return tx_reply(r, tx_read(commands_list_tx, &g), &g.res, 200);
}

struct consent {
    http_req_t *r;
    tx_res_t res;
    int granted;
};

static int consent_tx(sqlite3 *db, void *arg)
{
    struct consent *c = arg;
    int64_t product = lookup_product_id(db, http_param(c->r, 0)), dev, id = input_parse_id(http_param(c->r, 2)),
            action = 0;
    sqlite3_stmt *st;
    char type[16] = "", status[16] = "", consent[16] = "", astatus[16] = "";
    const char *want = c->granted ? "granted" : "declined";
    if (!product)
        return tx_fail(&c->res, ERR_NOT_FOUND, "no product %s", http_param(c->r, 0));
    if (!(dev = lookup_device_id(db, product, http_param(c->r, 1))))
        return tx_fail(&c->res, ERR_NOT_FOUND, "no device %s", http_param(c->r, 1));
    st = q_prep(db,
                "SELECT c.type, c.status, c.consent, c.action, a.status FROM commands c "
                "LEFT JOIN actions a ON a.id = c.action WHERE c.id = ? AND c.device = ?",
                "ii", id, dev);
    if (!st || sqlite3_step(st) != SQLITE_ROW) {
        db_done(st);
        return tx_fail(&c->res, ERR_NOT_FOUND, "no command %s on device %s", http_param(c->r, 2),
                          http_param(c->r, 1));
    }
    snprintf(type, sizeof type, "%s", q_text(st, 0));
    snprintf(status, sizeof status, "%s", q_text(st, 1));
    snprintf(consent, sizeof consent, "%s", q_text(st, 2));
    action = sqlite3_column_type(st, 3) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 3);
    snprintf(astatus, sizeof astatus, "%s", q_text(st, 4));
    db_done(st);
    if (strcmp(type, "upgrade") != 0 || !strcmp(consent, "none"))
        return tx_fail(&c->res, ERR_CONSENT_NOT_REQUIRED, "command %lld does not wait for consent",
                          (long long)id);
    if (!strcmp(consent, want)) {
        c->res.out = json_pack("{s:o}", "command", command_by_id(db, id));
        return 0;
    }
    if (strcmp(consent, "pending") != 0)
        return tx_fail(&c->res, ERR_CONSENT_DECIDED, "consent was already %s", consent);
    if (!strcmp(status, "failed") || !strcmp(status, "declined") || !strcmp(status, "cancelled"))
        return tx_fail(&c->res, ERR_COMMAND_CLOSED, "command %lld is %s", (long long)id, status);
    if (q_exec(db, "UPDATE commands SET consent = ? WHERE id = ?", "si", want, id) < 0 ||
        history_event(db, dev, action, c->granted ? "consent_granted" : "consent_declined",
                    json_pack("{s:I}", "command", (json_int_t)id)) != 0)
        return tx_dberr(&c->res, db);
    if (c->granted && action && !strcmp(astatus, "downloaded")) {
        if (queue_reboot(db, dev, action) != 0)
            return tx_dberr(&c->res, db);
    } else if (!c->granted) {
        if (!action && q_exec(db,
                              "UPDATE commands SET status = 'cancelled', message = 'consent declined', acked_at = ? "
                              "WHERE id = ? AND status = 'queued'",
                              "ii", now_s(), id) < 0)
            return tx_dberr(&c->res, db);
        if (action && (cancel_offers(db, dev, "AND id = ?2", action, "consent declined") != 0 ||
                       history_device_state(db, dev) != 0))
            return tx_dberr(&c->res, db);
    }
    log_msg(LOG_INFO, "consent", "product=%s device=%s command=%lld consent=%s", http_param(c->r, 0),
            http_param(c->r, 1), (long long)id, want);
    c->res.out = json_pack("{s:o}", "command", command_by_id(db, id));
    return 0;
}

static enum MHD_Result command_consent(http_req_t *r)
{
    struct consent c;
    json_t *v = json_object_get(r->json, "granted");
    memset(&c, 0, sizeof c);
    c.r = r;
    if (v && !json_is_boolean(v))
        return http_error(r, ERR_BAD_GRANTED, "granted must be true or false");
    c.granted = v ? json_is_true(v) : 1;
    return tx_reply(r, db_tx(consent_tx, &c), &c.res, 200);
}

const http_route_t devices_routes[] = {
    {"POST", "/api/v1/device/register", device_register, AUTH_ENROLL, BODY_JSON},
    {"GET", "/api/v1/device/check", device_check, AUTH_DEVICE, BODY_NONE},
    {"POST", "/api/v1/device/report", device_report, AUTH_DEVICE, BODY_JSON},
    {"POST", "/api/v1/device/commands/{command}", device_ack, AUTH_DEVICE, BODY_JSON},
    {"GET", "/api/v1/products/{product}/devices", devices_list, AUTH_OWNER, BODY_NONE},
    {"GET", "/api/v1/products/{product}/devices/{device}", device_get, AUTH_OWNER, BODY_NONE},
    {"DELETE", "/api/v1/products/{product}/devices/{device}", device_delete, AUTH_OWNER, BODY_NONE},
    {"POST", "/api/v1/products/{product}/devices/{device}/commands", command_create, AUTH_OWNER, BODY_JSON},
    {"GET", "/api/v1/products/{product}/devices/{device}/commands", commands_list, AUTH_OWNER, BODY_NONE},
    {"POST", "/api/v1/products/{product}/devices/{device}/commands/{command}/consent", command_consent, AUTH_OWNER,
     BODY_JSON},
    {NULL, NULL, NULL, 0, 0},
};
