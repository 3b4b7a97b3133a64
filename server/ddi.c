/*
 * Eclipse hawkBit Direct Device Integration (DDI) API, the protocol of Zephyr's hawkBit client
 * (subsys/mgmt/hawkbit/hawkbit.c) and SWUpdate's suricatta (suricatta/server_hawkbit.c), mapped
 * onto otakit's products, devices, actions and rollouts. The tenant is the product id, the
 * controller id the device id.
 *
 *   GET  /{tenant}/controller/v1/{controller}                   poll: polling sleep and links
 *   GET  .../deploymentBase/{action}?c=                         the deployment: chunks, artifacts
 *   POST .../deploymentBase/{action}/feedback                   execution/result -> action status
 *   GET  .../softwaremodules/{release}/artifacts/{file}         the artifact (Range), or <file>.MD5SUM
 *   PUT  .../configData                                         the device's attributes
 *   GET  .../cancelAction/{action}, POST .../feedback           an action the server cancelled
 *
 * Auth (ddi_auth.c): "Authorization: TargetToken <device token>" (the token a device got at
 * registration) or "GatewayToken <product's gateway token>"; a GatewayToken poll from an unknown
 * controller registers it when the product's owner allows it (PUT /api/v1/products/{p}/ddi).
 *
 * Feedback mapping (ddi_feedback.c): download/proceeding/scheduled/resumed -> downloading,
 * downloaded -> downloaded, closed+failure -> failed, closed otherwise -> confirmed (SWUpdate sends
 * it after the restart that runs the update), rejected/canceled -> failed. Rollouts count these
 * like the reports of the native API (device_report_tx).
 */
#include "ddi.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "device_check.h"
#include "input.h"
#include "offer.h"
#include "server.h"
#include "sql.h"
#include "store.h"
#include "tx.h"

/* Statuses in which the device is still working on an action: offered with a deploymentBase. */
#define DDI_IN_FLIGHT "'offered','downloading','downloaded','installing','installed'"

void ddi_base_url(http_req_t *r, char *out, size_t n)
{
    snprintf(out, n, "%s/%s/controller/v1/%s", g_server.public_url, http_param(r, 0), http_param(r, 1));
}

/* "HH:MM:SS" of s seconds. */
static void hms(unsigned s, char out[16])
{
    snprintf(out, 16, "%02u:%02u:%02u", (s / 3600) % 100, (s / 60) % 60, s % 60);
}

struct poll {
    int64_t device;
    int64_t deploy, cancel; /* action ids, 0: none */
    int want_config;
};

static int poll_read(db_t *db, void *arg)
{
    struct poll *p = arg;
    db_stmt_t *st = q_prep(db,
                              "SELECT a.id, a.status, a.cancel_acked IS NULL, ro.state FROM actions a "
                              "LEFT JOIN rollouts ro ON ro.id = a.rollout WHERE a.device = ? ORDER BY a.id DESC LIMIT 1",
                              "i", p->device);
    if (!st)
        return -1;
    if (db_step(st) == DB_ROW) {
        const char *status = q_text(st, 1), *rstate = q_text(st, 3);
        if (!strcmp(status, "cancelled")) {
            if (db_column_int(st, 2))
                p->cancel = db_column_int64(st, 0);
        } else if (strstr(DDI_IN_FLIGHT, status) &&
                   /* paused before the device started: withheld, as offer.c does */
                   !(*rstate && strcmp(rstate, "running") && !strcmp(status, "offered"))) {
            p->deploy = db_column_int64(st, 0);
        }
    }
    db_done(st);
    p->want_config = q_int(db, 1, "SELECT attributes = '' FROM devices WHERE id = ?", "i", p->device) != 0;
    return 0;
}

static enum MHD_Result ddi_poll(http_req_t *r)
{
    struct poll p;
    tx_res_t res;
    char base[700], href[800], sleep[16];
    json_t *links, *out;
    memset(&p, 0, sizeof p);
    if (!ddi_auth(r, 1, &p.device))
        return MHD_YES;
    /* The native check: records the contact and starts the offer of a running rollout. */
    if (device_check_run(p.device, NULL, -1, -1, &res) != 0)
        return tx_reply(r, -1, &res, 200);
    json_decref(res.out);
    if (tx_read(poll_read, &p) != 0)
        return http_error(r, ERR_DATABASE, "poll failed");
    ddi_base_url(r, base, sizeof base);
    links = json_object();
    if (p.deploy) {
        snprintf(href, sizeof href, "%s/deploymentBase/%lld?c=a%lld", base, (long long)p.deploy, (long long)p.deploy);
        json_object_set_new(links, "deploymentBase", json_pack("{s:s}", "href", href));
    } else if (p.cancel) {
        snprintf(href, sizeof href, "%s/cancelAction/%lld", base, (long long)p.cancel);
        json_object_set_new(links, "cancelAction", json_pack("{s:s}", "href", href));
    }
    if (p.want_config) {
        snprintf(href, sizeof href, "%s/configData", base);
        json_object_set_new(links, "configData", json_pack("{s:s}", "href", href));
    }
    hms(g_server.ddi_sleep ? g_server.ddi_sleep : (p.deploy || p.cancel) ? CHECK_POLL_ACTIVE : CHECK_POLL_IDLE, sleep);
    out = json_pack("{s:{s:{s:s}},s:o}", "config", "polling", "sleep", sleep, "_links", links);
    return http_json(r, 200, out);
}

/* ---- deploymentBase ------------------------------------------------------------------------ */

struct deploy {
    http_req_t *r;
    int64_t device, action;
    json_t *out;
    int gone;
};

static int deploy_read(db_t *db, void *arg)
{
    struct deploy *d = arg;
    char base[700], href[1000], status[16] = "";
    int64_t release = 0, art;
    int slot = 0;
    const char *fmt;
    db_stmt_t *st = q_prep(db,
                              "SELECT a.status, a.release, r.version, p.name, d.slot FROM actions a "
                              "JOIN releases r ON r.id = a.release JOIN devices d ON d.id = a.device "
                              "JOIN products p ON p.id = d.product WHERE a.id = ? AND a.device = ?",
                              "ii", d->action, d->device);
    json_t *chunk = NULL, *artifacts;
    if (!st)
        return -1;
    if (db_step(st) == DB_ROW) {
        snprintf(status, sizeof status, "%s", q_text(st, 0));
        release = db_column_int64(st, 1);
        slot = db_column_int(st, 4);
        chunk = json_pack("{s:s,s:s,s:s}", "part", "os", "version", q_text(st, 2), "name", q_text(st, 3));
    }
    db_done(st);
    if (!chunk || !strstr(DDI_IN_FLIGHT, status)) {
        json_decref(chunk);
        d->gone = 1;
        return 0;
    }
    ddi_base_url(d->r, base, sizeof base);
    artifacts = json_array();
    art = offer_artifact_for(db, release, slot);
    st = q_prep(db, "SELECT filename, size, sha256, sha1, md5, format FROM artifacts WHERE id = ?", "i", art);
    if (st && db_step(st) == DB_ROW) {
        const char *fn = q_text(st, 0);
        fmt = q_text(st, 5);
        /* Zephyr's client takes the chunk whose part is "bApp" (hawkbit.c); SWUpdate any part. */
        if (!strcmp(fmt, "otakit"))
            json_object_set_new(chunk, "part", json_string("bApp"));
        snprintf(href, sizeof href, "%s/softwaremodules/%lld/artifacts/%s", base, (long long)release, fn);
        json_array_append_new(
            artifacts,
            json_pack("{s:s,s:{s:s,s:s,s:s},s:I,s:{s:{s:s},s:{s:s},s:{s:s+},s:{s:s+}}}", "filename", fn, "hashes",
                      "sha1", q_text(st, 3), "md5", q_text(st, 4), "sha256", q_text(st, 2), "size",
                      (json_int_t)db_column_int64(st, 1), "_links", "download", "href", href, "download-http",
                      "href", href, "md5sum", "href", href, ".MD5SUM", "md5sum-http", "href", href, ".MD5SUM"));
    }
    db_done(st);
    json_object_set_new(chunk, "artifacts", artifacts);
    {
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)d->action);
        d->out = json_pack("{s:s,s:{s:s,s:s,s:s,s:[o]}}", "id", id, "deployment", "download", "forced", "update",
                           "forced", "maintenanceWindow", "available", "chunks", chunk);
    }
    return d->out ? 0 : -1;
}

static enum MHD_Result ddi_deployment(http_req_t *r)
{
    struct deploy d;
    memset(&d, 0, sizeof d);
    d.r = r;
    if (!ddi_auth(r, 0, &d.device))
        return MHD_YES;
    if ((d.action = input_parse_id(http_param(r, 2))) <= 0)
        return http_error(r, ERR_BAD_ACTION_ID, "the action id is a positive integer");
    if (tx_read(deploy_read, &d) != 0) {
        json_decref(d.out);
        return http_error(r, ERR_DATABASE, "cannot read the deployment");
    }
    if (d.gone)
        return http_error(r, ERR_NOT_FOUND, "no active action %lld for this controller", (long long)d.action);
    return http_json(r, 200, d.out);
}

/* ---- artifacts ----------------------------------------------------------------------------- */

static enum MHD_Result ddi_artifact(http_req_t *r)
{
    db_t *db = db_get();
    int64_t device, release;
    const char *file = http_param(r, 3);
    char name[160], path[700], sha[65] = "", md5[33] = "";
    size_t n = strlen(file);
    int md5sum = n > 7 && !strcmp(file + n - 7, ".MD5SUM");
    db_stmt_t *st;
    if (!ddi_auth(r, 0, &device))
        return MHD_YES;
    if ((release = input_parse_id(http_param(r, 2))) <= 0 || n - (md5sum ? 7 : 0) >= sizeof name)
        return http_error(r, ERR_NOT_FOUND, "no such artifact");
    snprintf(name, sizeof name, "%.*s", (int)(n - (md5sum ? 7 : 0)), file);
    /* Only a release this device was offered, and only its own artifact files. */
    st = db ? q_prep(db,
                     "SELECT a.sha256, a.md5 FROM artifacts a WHERE a.release = ? AND a.filename = ? AND EXISTS "
                     "(SELECT 1 FROM actions x WHERE x.device = ? AND x.release = a.release)",
                     "isi", release, name, device)
            : NULL;
    if (st && db_step(st) == DB_ROW) {
        snprintf(sha, sizeof sha, "%s", q_text(st, 0));
        snprintf(md5, sizeof md5, "%s", q_text(st, 1));
    }
    db_done(st);
    if (!sha[0] || store_path(sha, path, sizeof path) != 0)
        return http_error(r, ERR_NOT_FOUND, "no such artifact");
    if (md5sum) {
        char body[256];
        int len = snprintf(body, sizeof body, "%s  %s\n", md5, name);
        return http_text(r, 200, "text/plain", body, (size_t)len, NULL);
    }
    /* Zephyr's client sends no feedback before it downloads: the fetch itself starts the action. */
    if (!r->is_head) {
        device_report_t rep;
        memset(&rep, 0, sizeof rep);
        rep.device = device;
        rep.status = "downloading";
        rep.progress = -1;
        rep.action = db ? q_int(db, 0, "SELECT id FROM actions WHERE device = ? AND release = ? AND status = 'offered' "
                                       "ORDER BY id DESC LIMIT 1", "ii", device, release)
                        : 0;
        if (rep.action && db_tx(device_report_tx, &rep) != 0)
            return tx_reply(r, -1, &rep.res, 200);
        json_decref(rep.res.out);
    }
    return http_file(r, path, sha, "application/octet-stream", NULL);
}

const http_route_t ddi_routes[] = {
    {"GET", "/{tenant}/controller/v1/{controller}", ddi_poll, AUTH_NONE, BODY_NONE},
    {"GET", "/{tenant}/controller/v1/{controller}/deploymentBase/{action}", ddi_deployment, AUTH_NONE, BODY_NONE},
    {"POST", "/{tenant}/controller/v1/{controller}/deploymentBase/{action}/feedback", ddi_feedback, AUTH_NONE,
     BODY_JSON},
    {"GET", "/{tenant}/controller/v1/{controller}/softwaremodules/{module}/artifacts/{file}", ddi_artifact, AUTH_NONE,
     BODY_NONE},
    {"PUT", "/{tenant}/controller/v1/{controller}/configData", ddi_config_data, AUTH_NONE, BODY_JSON},
    {"GET", "/{tenant}/controller/v1/{controller}/cancelAction/{action}", ddi_cancel, AUTH_NONE, BODY_NONE},
    {"POST", "/{tenant}/controller/v1/{controller}/cancelAction/{action}/feedback", ddi_cancel_feedback, AUTH_NONE,
     BODY_JSON},
    {"GET", "/api/v1/products/{product}/ddi", ddi_settings_get, AUTH_OWNER, BODY_NONE},
    {"PUT", "/api/v1/products/{product}/ddi", ddi_settings_put, AUTH_OWNER, BODY_JSON},
    {NULL, NULL, NULL, 0, 0},
};
