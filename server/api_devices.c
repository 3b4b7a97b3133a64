/*
 * A product's devices, for its owner (owner token of {product}, or the admin token): the list,
 * one device with its history, deleting it, and the commands queued for it. What devices
 * themselves call is in api_device.c.
 *
 *   GET    /api/v1/products/{product}/devices?q=&state=&group=&version=&hw_rev=&limit=&offset=
 *          (q: part of the device id; answers "total", the count of matching devices, for paging)
 *   GET    /api/v1/products/{product}/devices/{device}      (+ actions, commands, last 50 events)
 *   PATCH  /api/v1/products/{product}/devices/{device}     {"groups":[..]}: the operator sets the
 *          device's groups (replacing the ones it registered with; rollouts by group follow them)
 *   DELETE /api/v1/products/{product}/devices/{device}
 *   POST   /api/v1/products/{product}/devices/{device}/commands  {"type":"upgrade"|"reboot",
 *                                                                 "release"?,"consent"?}
 *   GET    /api/v1/products/{product}/devices/{device}/commands?limit=&offset=   (newest first; "total")
 *   GET    /api/v1/products/{product}/devices/{device}/events?limit=&offset=     the whole history,
 *          newest first ("total"; the device itself shows the last 50 and "events_total")
 *   POST   /api/v1/products/{product}/devices/{device}/commands/{id}/consent  {"granted"?: bool}
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

#include "db.h"
#include "device_actions.h"
#include "history.h"
#include "input.h"
#include "log.h"
#include "longpoll.h"
#include "lookup.h"
#include "offer.h"
#include "rollout_eval.h"
#include "server.h"
#include "sql.h"
#include "tx.h"

/* ---- helpers -------------------------------------------------------------------------------- */

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
    "d.created_at, d.via, d.attributes"

static json_t *device_json(db_stmt_t *st)
{
    /* attributes: what a DDI controller stored with configData (ddi_device.c), else {} */
    json_t *attrs = *q_text(st, 11) ? json_loads(q_text(st, 11), 0, NULL) : NULL;
    return json_pack("{s:s,s:s,s:s,s:i,s:I,s:s,s:o,s:s,s:I,s:I,s:s,s:o}", "device_id", q_text(st, 0), "hw_rev",
                     q_text(st, 1), "version", q_text(st, 2), "slot", db_column_int(st, 3),
                     "security_counter", (json_int_t)db_column_int64(st, 4), "mac", q_text(st, 5), "groups",
                     groups_json(q_text(st, 6)), "state", q_text(st, 7), "last_seen",
                     (json_int_t)db_column_int64(st, 8), "created_at", (json_int_t)db_column_int64(st, 9),
                     "via", q_text(st, 10), /* token | esp | mongoose | ddi: how it joined */
                     "attributes", json_is_object(attrs) ? attrs : (json_decref(attrs), json_object()));
}

#define ACTION_COLS                                                                                           \
    "a.id, r.version, a.rollout, a.command, a.status, a.progress, a.message, a.created_at, a.updated_at "   \
    "FROM actions a JOIN releases r ON r.id = a.release"

static json_t *action_json(db_stmt_t *st)
{
    return json_pack("{s:I,s:s,s:o,s:o,s:s,s:o,s:s,s:I,s:I}", "id", (json_int_t)db_column_int64(st, 0),
                     "release", q_text(st, 1), "rollout", q_json_int(st, 2), "command", q_json_int(st, 3),
                     "status", q_text(st, 4), "progress", q_json_int(st, 5), "message", q_text(st, 6),
                     "created_at", (json_int_t)db_column_int64(st, 7), "updated_at",
                     (json_int_t)db_column_int64(st, 8));
}

/* The device the path names ({product}, {device}): its devices.id, with *product set, or 0 after
 * recording 404 not_found in res. */
static int64_t path_device(db_t *db, http_req_t *r, tx_res_t *res, int64_t *product)
{
    int64_t id;
    if (!(*product = lookup_product_id(db, http_param(r, 0)))) {
        tx_fail(res, ERR_NOT_FOUND, "no product %s", http_param(r, 0));
        return 0;
    }
    if (!(id = lookup_device_id(db, *product, http_param(r, 1))))
        tx_fail(res, ERR_NOT_FOUND, "no device %s", http_param(r, 1));
    return id;
}

/* ---- management: list, detail, delete --------------------------------------------------------- */

/* WHERE clause of the device list: ?1 product, ?2 state, ?3 group, ?4 ",group,", ?5 version,
 * ?6 hw_rev, ?7 part of the id. */
#define DEVICES_WHERE                                                                                         \
    " FROM devices d WHERE d.product = ?1 AND (?2 IS NULL OR d.state = ?2) "                                  \
    "AND (?3 IS NULL OR instr(d.groups, ?4) > 0) AND (?5 IS NULL OR d.version = ?5) "                         \
    "AND (?6 IS NULL OR d.hw_rev = ?6) AND (?7 IS NULL OR instr(d.device_id, ?7) > 0)"

static enum MHD_Result devices_list(http_req_t *r)
{
    db_t *db = db_get();
    db_stmt_t *st;
    json_t *arr;
    const char *state = http_query(r, "state"), *group = http_query(r, "group"), *version = http_query(r, "version"),
               *hw = http_query(r, "hw_rev"), *q = http_query(r, "q");
    int64_t product, limit, offset, total;
    enum MHD_Result ret;
    char gpat[80];
    if (!db)
        return http_error(r, ERR_DATABASE, "no connection");
    if (!(product = lookup_product_id(db, http_param(r, 0))))
        return http_error(r, ERR_NOT_FOUND, "no product %s", http_param(r, 0));
    if (group && !input_ident_ok(group))
        return http_error(r, ERR_BAD_GROUP, "group names are 1-64 characters of A-Z a-z 0-9 . _ : -");
    if (http_page(r, &limit, &offset, &ret) != 0)
        return ret;
    if (q && !*q)
        q = NULL;
    snprintf(gpat, sizeof gpat, ",%s,", group ? group : "");
    total = q_int(db, -1, "SELECT COUNT(*)" DEVICES_WHERE, "issssss", product, state, group, gpat, version, hw, q);
    st = q_prep(db, "SELECT " DEVICE_COLS DEVICES_WHERE " ORDER BY d.device_id LIMIT ?8 OFFSET ?9", "issssssii",
                product, state, group, gpat, version, hw, q, limit, offset);
    if (!st || total < 0) {
        db_done(st);
        return http_error(r, ERR_DATABASE, "cannot list devices");
    }
    arr = json_array();
    while (db_step(st) == DB_ROW)
        json_array_append_new(arr, device_json(st));
    db_done(st);
    return http_json(r, 200, json_pack("{s:o,s:I}", "devices", arr, "total", (json_int_t)total));
}

struct dev_get {
    http_req_t *r;
    tx_res_t res;
    int64_t limit, offset; /* the page of a list (http_page) */
    const char *list;      /* which list: "commands" or "events" */
};

/* One row of "SELECT " EVENT_COLS as the device's history shows it. */
#define EVENT_COLS "id, action, kind, detail, at FROM events"
static json_t *event_json(db_stmt_t *st)
{
    const char *d = q_text(st, 3);
    json_t *dj = *d ? json_loads(d, 0, NULL) : NULL;
    return json_pack("{s:I,s:o,s:s,s:o,s:I}", "id", (json_int_t)db_column_int64(st, 0), "action_id",
                     q_json_int(st, 1), "kind", q_text(st, 2), "detail", dj ? dj : json_object(), "at",
                     (json_int_t)db_column_int64(st, 4));
}

static int device_get_tx(db_t *db, void *arg)
{
    struct dev_get *g = arg;
    int64_t product, id;
    db_stmt_t *st;
    json_t *o = NULL, *arr;
    if (!(id = path_device(db, g->r, &g->res, &product)))
        return -1;
    st = q_prep(db, "SELECT " DEVICE_COLS " FROM devices d WHERE d.id = ?", "i", id);
    if (st && db_step(st) == DB_ROW)
        o = device_json(st);
    db_done(st);
    if (!o)
        return tx_dberr(&g->res, db);
    arr = json_array();
    st = q_prep(db, "SELECT " ACTION_COLS " WHERE a.device = ? ORDER BY a.id DESC LIMIT 50", "i", id);
    while (st && db_step(st) == DB_ROW)
        json_array_append_new(arr, action_json(st));
    db_done(st);
    json_object_set_new(o, "actions", arr);
    arr = json_array();
    st = q_prep(db, "SELECT " COMMAND_COLS " WHERE c.device = ? ORDER BY c.id DESC LIMIT 50", "i", id);
    while (st && db_step(st) == DB_ROW)
        json_array_append_new(arr, command_json(st));
    db_done(st);
    json_object_set_new(o, "commands", arr);
    arr = json_array();
    st = q_prep(db, "SELECT " EVENT_COLS " WHERE device = ? ORDER BY id DESC LIMIT 50", "i", id);
    while (st && db_step(st) == DB_ROW)
        json_array_append_new(arr, event_json(st));
    db_done(st);
    json_object_set_new(o, "events", arr);
    json_object_set_new(o, "events_total", json_integer(q_int(db, 0, "SELECT COUNT(*) FROM events WHERE device = ?",
                                                               "i", id)));
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

static int device_delete_tx(db_t *db, void *arg)
{
    struct dev_get *g = arg;
    int64_t product, id, ros[64];
    db_stmt_t *st;
    int n = 0, i;
    if (!(id = path_device(db, g->r, &g->res, &product)))
        return -1;
    st = q_prep(db,
                "SELECT DISTINCT t.rollout FROM rollout_targets t JOIN rollouts ro ON ro.id = t.rollout "
                "WHERE t.device = ? AND ro.state = 'running'",
                "i", id);
    while (st && n < 64 && db_step(st) == DB_ROW)
        ros[n++] = db_column_int64(st, 0);
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

struct dev_patch {
    http_req_t *r;
    tx_res_t res;
    char groups[32 * 66 + 2];
};

static int device_patch_tx(db_t *db, void *arg)
{
    struct dev_patch *g = arg;
    int64_t product, id;
    db_stmt_t *st;
    if (!(id = path_device(db, g->r, &g->res, &product)))
        return -1;
    if (q_exec(db, "UPDATE devices SET groups = ? WHERE id = ?", "si", g->groups, id) < 0 ||
        history_event(db, id, 0, "groups_set", json_pack("{s:O}", "groups", json_object_get(g->r->json, "groups"))))
        return tx_dberr(&g->res, db);
    st = q_prep(db, "SELECT " DEVICE_COLS " FROM devices d WHERE d.id = ?", "i", id);
    if (st && db_step(st) == DB_ROW)
        g->res.out = device_json(st);
    db_done(st);
    return g->res.out ? 0 : tx_dberr(&g->res, db);
}

static enum MHD_Result device_patch(http_req_t *r)
{
    struct dev_patch g;
    const char *k;
    json_t *grp = json_object_get(r->json, "groups"), *v;
    size_t i;
    memset(&g, 0, sizeof g);
    g.r = r;
    json_object_foreach(r->json, k, v) {
        if (strcmp(k, "groups"))
            return http_error(r, ERR_BAD_FIELD, "only groups can be set on a device (not %.64s)", k);
    }
    if (!grp || !json_is_array(grp) || json_array_size(grp) > 32)
        return http_error(r, ERR_BAD_GROUPS, "groups must be an array of up to 32 names");
    json_array_foreach(grp, i, v) {
        if (!input_ident_ok(json_string_value(v)))
            return http_error(r, ERR_BAD_GROUPS, "group names are 1-64 characters of A-Z a-z 0-9 . _ : -");
        strcat(g.groups, i ? "" : ",");
        strcat(g.groups, json_string_value(v));
        strcat(g.groups, ",");
    }
    return tx_reply(r, db_tx(device_patch_tx, &g), &g.res, 200);
}

/* ---- management: commands and consent ----------------------------------------------------------- */

struct cmd_new {
    http_req_t *r;
    tx_res_t res;
    const char *type, *release;
    int consent, downgrade;
};

static int command_create_tx(db_t *db, void *arg)
{
    struct cmd_new *c = arg;
    int64_t product, dev, rel = 0, id;
    db_stmt_t *st;
    char dversion[80] = "";
    int64_t dcounter = 0, dvalue = -1;
    int dslot = 0;
    const char *why;
    if (!(dev = path_device(db, c->r, &c->res, &product)))
        return -1;
    st = q_prep(db, "SELECT version, slot, security_counter, version_value FROM devices WHERE id = ?", "i", dev);
    if (st && db_step(st) == DB_ROW) {
        snprintf(dversion, sizeof dversion, "%s", q_text(st, 0));
        dslot = db_column_int(st, 1);
        dcounter = db_column_int64(st, 2);
        dvalue = db_column_int64(st, 3);
    }
    db_done(st);

    if (!strcmp(c->type, "upgrade")) {
        int64_t rcounter = 0, rvalue = -1;
        char rversion[80] = "";
        st = q_prep(db, "SELECT id, security_counter, version_value, version FROM releases WHERE id = ?", "i",
                    offer_release_named(db, product, c->release));
        if (st && db_step(st) == DB_ROW) {
            rel = db_column_int64(st, 0);
            rcounter = db_column_int64(st, 1);
            rvalue = db_column_int64(st, 2);
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
        if ((why = offer_device_not_ota(db, product, dversion)) != NULL)
            return tx_fail(&c->res, ERR_NOT_UPGRADABLE, "%s (%s): nothing is sent over the air", why, dversion);
        if (!strcmp(dversion, rversion) || (dvalue >= 0 && dvalue == rvalue))
            return tx_fail(&c->res, ERR_ALREADY_RUNNING, "the device already runs %s", dversion);
        if (dvalue >= 0 && rvalue >= 0 && rvalue < dvalue && !c->downgrade)
            return tx_fail(&c->res, ERR_DOWNGRADE,
                           "release %s is older than %s, which the device runs: pass \"downgrade\": true", rversion,
                           dversion);
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
               "VALUES (?, ?, ?, 'queued', ?, NULLIF(?, 0), ?)",
               "issiis", dev, c->type, c->downgrade ? "{\"downgrade\":true}" : "{}", now_s(), rel,
               c->consent ? "pending" : "none") < 0)
        return tx_dberr(&c->res, db);
    id = db_last_insert_rowid(db);
    longpoll_news_device(dev);
    if (history_event(db, dev, 0, "command_queued",
                    json_pack("{s:I,s:s}", "command", (json_int_t)id, "type", c->type)) != 0)
        return tx_dberr(&c->res, db);
    log_msg(LOG_INFO, "command queued", "product=%s device=%s command=%lld type=%s", http_param(c->r, 0),
            http_param(c->r, 1), (long long)id, c->type);
    c->res.out = json_pack("{s:o}", "command", command_by_id(db, id));
    return 0;
}

enum MHD_Result devices_command_create(http_req_t *r)
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
    v = json_object_get(r->json, "downgrade");
    if (v && (!json_is_boolean(v) || strcmp(c.type, "upgrade") != 0))
        return http_error(r, ERR_BAD_COMMAND, "downgrade is true or false, for an upgrade only");
    c.downgrade = json_is_true(v);
    if (!strcmp(c.type, "upgrade")) {
        c.release = json_string_value(json_object_get(r->json, "release"));
        if (!input_text_ok(c.release, 64, 0))
            return http_error(r, ERR_BAD_RELEASE, "an upgrade names the release version to install");
    } else if (c.consent || json_object_get(r->json, "release")) {
        return http_error(r, ERR_BAD_COMMAND, "a reboot takes no release and no consent");
    }
    return tx_reply(r, db_tx(command_create_tx, &c), &c.res, 201);
}

/* One page of a device's commands or events (g->list says which), newest first, with "total". */
static int device_page_tx(db_t *db, void *arg)
{
    struct dev_get *g = arg;
    int events = !strcmp(g->list, "events");
    int64_t product, dev;
    db_stmt_t *st;
    json_t *arr;
    if (!(dev = path_device(db, g->r, &g->res, &product)))
        return -1;
    arr = json_array();
    st = q_prep(db,
                events ? "SELECT " EVENT_COLS " WHERE device = ? ORDER BY id DESC LIMIT ? OFFSET ?"
                       : "SELECT " COMMAND_COLS " WHERE c.device = ? ORDER BY c.id DESC LIMIT ? OFFSET ?",
                "iii", dev, g->limit, g->offset);
    while (st && db_step(st) == DB_ROW)
        json_array_append_new(arr, events ? event_json(st) : command_json(st));
    db_done(st);
    g->res.out = json_pack("{s:o,s:I}", g->list, arr, "total",
                           (json_int_t)q_int(db, 0,
                                             events ? "SELECT COUNT(*) FROM events WHERE device = ?"
                                                    : "SELECT COUNT(*) FROM commands WHERE device = ?",
                                             "i", dev));
    return 0;
}

/* GET .../devices/{device}/commands and .../events (list: "commands" or "events"), a page at a time. */
static enum MHD_Result device_page(http_req_t *r, const char *list)
{
    struct dev_get g;
    enum MHD_Result ret;
    memset(&g, 0, sizeof g);
    g.r = r;
    g.list = list;
    if (http_page(r, &g.limit, &g.offset, &ret) != 0)
        return ret;
    return tx_reply(r, tx_read(device_page_tx, &g), &g.res, 200);
}

static enum MHD_Result commands_list(http_req_t *r)
{
    return device_page(r, "commands");
}

static enum MHD_Result events_list(http_req_t *r)
{
    return device_page(r, "events");
}

struct consent {
    http_req_t *r;
    tx_res_t res;
    int granted;
};

static int consent_tx(db_t *db, void *arg)
{
    struct consent *c = arg;
    int64_t product, dev, id = input_parse_id(http_param(c->r, 2)),
            action = 0;
    db_stmt_t *st;
    char type[16] = "", status[16] = "", consent[16] = "", astatus[16] = "";
    const char *want = c->granted ? "granted" : "declined";
    if (!(dev = path_device(db, c->r, &c->res, &product)))
        return -1;
    st = q_prep(db,
                "SELECT c.type, c.status, c.consent, c.action, a.status FROM commands c "
                "LEFT JOIN actions a ON a.id = c.action WHERE c.id = ? AND c.device = ?",
                "ii", id, dev);
    if (!st || db_step(st) != DB_ROW) {
        db_done(st);
        return tx_fail(&c->res, ERR_NOT_FOUND, "no command %s on device %s", http_param(c->r, 2),
                          http_param(c->r, 1));
    }
    snprintf(type, sizeof type, "%s", q_text(st, 0));
    snprintf(status, sizeof status, "%s", q_text(st, 1));
    snprintf(consent, sizeof consent, "%s", q_text(st, 2));
    action = db_column_type(st, 3) == DB_NULL ? 0 : db_column_int64(st, 3);
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
        if (command_queue_reboot(db, dev, action) != 0)
            return tx_dberr(&c->res, db);
    } else if (!c->granted) {
        if (!action && q_exec(db,
                              "UPDATE commands SET status = 'cancelled', message = 'consent declined', acked_at = ? "
                              "WHERE id = ? AND status = 'queued'",
                              "ii", now_s(), id) < 0)
            return tx_dberr(&c->res, db);
        if (action && (action_cancel_offers(db, dev, "AND id = ?2", action, "consent declined") != 0 ||
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
    {"GET", "/api/v1/products/{product}/devices", devices_list, AUTH_OWNER, BODY_NONE},
    {"GET", "/api/v1/products/{product}/devices/{device}", device_get, AUTH_OWNER, BODY_NONE},
    {"PATCH", "/api/v1/products/{product}/devices/{device}", device_patch, AUTH_OWNER, BODY_JSON},
    {"DELETE", "/api/v1/products/{product}/devices/{device}", device_delete, AUTH_OWNER, BODY_NONE},
    {"POST", "/api/v1/products/{product}/devices/{device}/commands", devices_command_create, AUTH_OWNER, BODY_JSON},
    {"GET", "/api/v1/products/{product}/devices/{device}/commands", commands_list, AUTH_OWNER, BODY_NONE},
    {"GET", "/api/v1/products/{product}/devices/{device}/events", events_list, AUTH_OWNER, BODY_NONE},
    {"POST", "/api/v1/products/{product}/devices/{device}/commands/{command}/consent", command_consent, AUTH_OWNER,
     BODY_JSON},
    {NULL, NULL, NULL, 0, 0},
};
