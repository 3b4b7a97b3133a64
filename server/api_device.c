/*
 * The device API: what firmware calls with its enrollment token (registration) and then its
 * device token (check-ins, reports, command acks). A device token acts only on its own device.
 *
 *   POST /api/v1/device/register        enrollment token; {"device_id","hw_rev","version","slot",
 *                                       "security_counter"?,"mac"?,"groups"?:[..]}
 *                                       -> 201 {"device_id","device_token","poll_interval"}
 *   GET  /api/v1/device/check?version=&slot=&security_counter=&wait=
 *                                       -> {"update": null | manifest, "commands": [..], "poll_interval"}
 *                                       wait=N (0..300): long-poll, see longpoll.h
 *   POST /api/v1/device/report          {"action_id","status","progress"?,"message"?,"version"?}
 *   POST /api/v1/device/commands/{id}   {"status":"done"|"failed"|"declined","message"?}
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
 * Commands (what the owner queues, what the device acks) are described in api_devices.c.
 *
 * Each request that changes state runs in one transaction (db_tx): a kill -9 keeps all or none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat_policy.h"
#include "db.h"
#include "delta.h"
#include "device_actions.h"
#include "device_check.h"
#include "history.h"
#include "input.h"
#include "longpoll.h"
#include "lookup.h"
#include "offer.h"
#include "rollouts.h"
#include "rollout_eval.h"
#include "server.h"
#include "sql.h"
#include "tx.h"

/* ---- POST /api/v1/device/register ------------------------------------------------------------ */

struct reg {
    http_req_t *r;
    tx_res_t res;
    const char *device_id, *hw_rev, *version, *mac;
    int slot;
    int64_t counter;
    char groups[32 * 66 + 2];
};

static int register_tx(db_t *db, void *arg)
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
    id = db_last_insert_rowid(db);
    if (history_event(db, id, 0, "registered",
                    json_pack("{s:s,s:s,s:i,s:I}", "hw_rev", g->hw_rev, "version", g->version, "slot", g->slot,
                              "security_counter", (json_int_t)g->counter)) != 0 ||
        rollout_join_new(db, id) != 0)
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

static enum MHD_Result device_check(http_req_t *r)
{
    tx_res_t res;
    const char *s, *version, *delta;
    char *end;
    int slot = -1, rc, park;
    int64_t counter = -1, product = 0;
    unsigned wait = 0;
    uint64_t seq;
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
    if ((delta = http_query(r, "delta")) != NULL && strcmp(delta, "0") && strcmp(delta, "1"))
        return http_error(r, ERR_BAD_DELTA, "delta must be 0 or 1");
    if ((s = http_query(r, "wait")) != NULL) {
        unsigned long v = strtoul(s, &end, 10);
        if (!*s || *end || *s == '-' || v > LONGPOLL_MAX_S)
            return http_error(r, ERR_BAD_WAIT, "wait must be 0..%d seconds", LONGPOLL_MAX_S);
        wait = (unsigned)v;
    }
    /* A long-polling check with nothing to say is parked until news for the device or its
     * deadline, then runs again (this handler is called again once its connection resumes). */
    for (;;) {
        seq = longpoll_seq();
        rc = device_check_product(r->auth_device, version, slot, counter, &res, &product);
        if (rc != 0 || !wait || !json_is_null(json_object_get(res.out, "update")) ||
            json_array_size(json_object_get(res.out, "commands")))
            break;
        if ((park = longpoll_park(r, r->auth_device, product, wait, seq)) < 0)
            break;
        json_decref(res.out);
        if (park == 0)
            return MHD_YES;
    }
    if (rc == 0 && delta && !strcmp(delta, "1")) /* the device applies otakit delta patches */
        delta_attach(r->auth_device, version, slot, json_object_get(res.out, "update"));
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

int device_report_tx(db_t *db, void *arg)
{
    device_report_t *p = arg;
    db_stmt_t *st;
    int64_t dev, release, rollout, command, rcounter;
    char cur[16], rversion[80];
    const char *why;
    json_t *detail;
    int final;

    st = q_prep(db,
                "SELECT a.device, a.release, a.rollout, a.command, a.status, r.version, r.security_counter "
                "FROM actions a JOIN releases r ON r.id = a.release WHERE a.id = ?",
                "i", p->action);
    if (!st || db_step(st) != DB_ROW) {
        db_done(st);
        return tx_fail(&p->res, ERR_NOT_FOUND, "no action %lld", (long long)p->action);
    }
    dev = db_column_int64(st, 0);
    release = db_column_int64(st, 1);
    rollout = db_column_type(st, 2) == DB_NULL ? 0 : db_column_int64(st, 2);
    command = db_column_type(st, 3) == DB_NULL ? 0 : db_column_int64(st, 3);
    snprintf(cur, sizeof cur, "%s", q_text(st, 4));
    snprintf(rversion, sizeof rversion, "%s", q_text(st, 5));
    rcounter = db_column_int64(st, 6);
    db_done(st);
    (void)release;
    if (dev != p->device)
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
        if (st && db_step(st) == DB_ROW)
            snprintf(consent, sizeof consent, "%s", q_text(st, 0));
        db_done(st);
        if (!strcmp(consent, "none") || !strcmp(consent, "granted")) {
            if (command_queue_reboot(db, dev, p->action) != 0)
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
        if (rollout_eval_event(db, dev, rollout) != 0)
            return tx_dberr(&p->res, db);
    }
    p->res.out = json_pack("{s:I,s:s,s:i}", "action_id", (json_int_t)p->action, "status", p->status, "poll_interval",
                           final ? CHECK_POLL_IDLE : CHECK_POLL_ACTIVE);
    return 0;
}

static enum MHD_Result device_report(http_req_t *r)
{
    device_report_t p;
    json_t *v;
    memset(&p, 0, sizeof p);
    p.device = r->auth_device;
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
    return tx_reply(r, db_tx(device_report_tx, &p), &p.res, 200);
}

/* ---- POST /api/v1/device/commands/{id} ----------------------------------------------------------- */

struct ack {
    http_req_t *r;
    tx_res_t res;
    int64_t id;
    const char *status, *message;
};

static int ack_tx(db_t *db, void *arg)
{
    struct ack *k = arg;
    db_stmt_t *st =
        q_prep(db, "SELECT device, type, status, action, consent FROM commands WHERE id = ?", "i", k->id);
    int64_t dev, action;
    char type[16], status[16], consent[16];
    if (!st || db_step(st) != DB_ROW) {
        db_done(st);
        return tx_fail(&k->res, ERR_NOT_FOUND, "no command %lld", (long long)k->id);
    }
    dev = db_column_int64(st, 0);
    snprintf(type, sizeof type, "%s", q_text(st, 1));
    snprintf(status, sizeof status, "%s", q_text(st, 2));
    action = db_column_type(st, 3) == DB_NULL ? 0 : db_column_int64(st, 3);
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
            (action && action_cancel_offers(db, dev, "AND id = ?2", action, "declined on the device") != 0) ||
            history_device_state(db, dev) != 0)
            return tx_dberr(&k->res, db);
    }
    k->res.out = command_by_id(db, k->id);
    return k->res.out ? 0 : tx_dberr(&k->res, db);
}

int device_command_ack(int64_t device, int64_t command, const char *status, const char *message)
{
    struct ack k;
    http_req_t r;
    int rc;
    memset(&k, 0, sizeof k);
    memset(&r, 0, sizeof r);
    r.auth_device = device;
    k.r = &r;
    k.id = command;
    k.status = status;
    k.message = message;
    rc = db_tx(ack_tx, &k);
    json_decref(k.res.out);
    return rc;
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

const http_route_t device_routes[] = {
    {"POST", "/api/v1/device/register", device_register, AUTH_ENROLL, BODY_JSON},
    {"GET", "/api/v1/device/check", device_check, AUTH_DEVICE, BODY_NONE},
    {"POST", "/api/v1/device/report", device_report, AUTH_DEVICE, BODY_JSON},
    {"POST", "/api/v1/device/commands/{command}", device_ack, AUTH_DEVICE, BODY_JSON},
    {NULL, NULL, NULL, 0, 0},
};
