/*
 * hawkBit DDI: who is calling (TargetToken / GatewayToken, registration on first poll), what the
 * device tells the server (deployment feedback, configData, cancel feedback), and the owner's DDI
 * settings of a product. Routes and the mapping are described in ddi.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compat_policy.h"
#include "db.h"
#include "ddi.h"
#include "device_check.h"
#include "history.h"
#include "input.h"
#include "log.h"
#include "lookup.h"
#include "server.h"
#include "sql.h"
#include "tx.h"

/* ---- auth ---------------------------------------------------------------------------------- */

struct reg {
    int64_t product, device;
    const char *controller, *addr;
    unsigned wait;
};

/* Registers controller in product on its first GatewayToken poll, when the product allows it. */
static int register_tx(db_t *db, void *arg)
{
    struct reg *g = arg;
    char tok[65], hash[65];
    if ((g->device = lookup_device_id(db, g->product, g->controller)) != 0)
        return 0; /* registered by a concurrent poll */
    if (!q_int(db, 0, "SELECT ddi_register FROM products WHERE id = ?", "i", g->product))
        return 1;
    if ((g->wait = compat_first_contact_wait(g->addr, g->product)) != 0)
        return 3;
    /* The device authenticates with the gateway's token: its own token is one nobody knows. */
    if (http_new_token(tok) != 0)
        return -1;
    http_token_hash(tok, hash);
    if (q_exec(db, "INSERT INTO devices(device_id, product, token_hash, via, created_at) VALUES (?, ?, ?, 'ddi', ?)",
               "sisi", g->controller, g->product, hash, now_s()) < 0)
        return -1;
    g->device = db_last_insert_rowid(db);
    log_msg(LOG_INFO, "device registered on first DDI poll", "device=%s addr=%s", g->controller, g->addr);
    return 0;
}

static int refuse(http_req_t *r, err_t e, const char *msg)
{
    if (e == ERR_UNAUTHORIZED)
        http_error_headers(r, e, (const char *const[]){"WWW-Authenticate", "TargetToken", NULL}, "%s", msg);
    else
        http_error(r, e, "%s", msg);
    return 0;
}

/* The product the tenant names: its product id, else the one product whose id matches it in
 * another case (hawkBit's tenants are case-insensitive: Zephyr polls /default/... and requires
 * /DEFAULT/... in its download link). The tenant parameter becomes the product's own spelling,
 * which the links the server gives use. Returns products.id or 0. */
static int64_t ddi_tenant(db_t *db, http_req_t *r)
{
    int64_t ids[2];
    char *canon;
    db_stmt_t *st;
    int64_t product = lookup_product_id(db, http_param(r, 0));
    if (product)
        return product;
    if (q_ids(db, ids, 2, "SELECT id FROM products WHERE product_id = ? COLLATE NOCASE LIMIT 2", "s",
              http_param(r, 0)) != 1)
        return 0;
    st = q_prep(db, "SELECT product_id FROM products WHERE id = ?", "i", ids[0]);
    canon = st && db_step(st) == DB_ROW ? strdup(q_text(st, 0)) : NULL;
    db_done(st);
    if (!canon)
        return 0;
    free(r->params[0]);
    r->params[0] = canon;
    return ids[0];
}

int ddi_auth(http_req_t *r, int may_register, int64_t *device)
{
    db_t *db = db_get();
    const char *h = http_header(r, "Authorization"), *controller = http_param(r, 1);
    char hash[65];
    int64_t product;
    *device = 0;
    if (!db)
        return refuse(r, ERR_DATABASE, "no database");
    if (!(product = ddi_tenant(db, r)))
        return refuse(r, ERR_NOT_FOUND, "no such tenant");
    if (h && !strncasecmp(h, "TargetToken ", 12) && h[12]) {
        http_token_hash(h + 12, hash);
        *device = q_int(db, 0, "SELECT id FROM devices WHERE token_hash = ? AND product = ? AND device_id = ?", "sis",
                        hash, product, controller);
        return *device ? 1 : refuse(r, ERR_UNAUTHORIZED, "the TargetToken is not this controller's");
    }
    if (h && !strncasecmp(h, "GatewayToken ", 13) && h[13]) {
        struct reg g = {product, 0, controller, r->addr, 0};
        int rc;
        http_token_hash(h + 13, hash);
        if (!q_int(db, 0, "SELECT 1 FROM products WHERE id = ? AND ddi_gateway_token_hash = ?", "is", product, hash))
            return refuse(r, ERR_UNAUTHORIZED, "the GatewayToken is not this tenant's");
        if ((*device = lookup_device_id(db, product, controller)) != 0)
            return 1;
        if (!may_register || !input_ident_ok(controller) || compat_reserved_id(controller))
            return refuse(r, ERR_NOT_FOUND, "unknown controller");
        rc = db_tx(register_tx, &g);
        if (rc == 3)
            return http_too_many(r, g.wait, "too many new devices from this address or for this product"), 0;
        if (rc != 0)
            return refuse(r, rc == 1 ? ERR_NOT_FOUND : ERR_DATABASE,
                          rc == 1 ? "unknown controller (the product does not register DDI controllers)"
                                  : "cannot register the controller");
        *device = g.device;
        return 1;
    }
    return refuse(r, ERR_UNAUTHORIZED, "DDI needs Authorization: TargetToken <token> or GatewayToken <token>");
}

/* ---- deployment feedback ------------------------------------------------------------------- */

struct fb {
    device_report_t rep;
    const char *execution, *finished;
    int gone, nochange;
};

/* The action status a feedback moves to, or NULL when it moves nothing. */
static const char *fb_status(const char *execution, const char *finished)
{
    if (!strcmp(execution, "closed"))
        return finished && !strcmp(finished, "failure") ? "failed" : "confirmed";
    if (!strcmp(execution, "rejected") || !strcmp(execution, "canceled"))
        return "failed";
    if (!strcmp(execution, "downloaded"))
        return "downloaded";
    if (!strcmp(execution, "download") || !strcmp(execution, "proceeding") || !strcmp(execution, "scheduled") ||
        !strcmp(execution, "resumed"))
        return "downloading";
    return NULL;
}

static int feedback_tx(db_t *db, void *arg)
{
    struct fb *f = arg;
    db_stmt_t *st = q_prep(db, "SELECT status FROM actions WHERE id = ? AND device = ?", "ii", f->rep.action,
                              f->rep.device);
    char cur[16] = "";
    if (!st)
        return tx_dberr(&f->rep.res, db);
    if (db_step(st) == DB_ROW)
        snprintf(cur, sizeof cur, "%s", q_text(st, 0));
    db_done(st);
    if (!cur[0])
        return tx_fail(&f->rep.res, ERR_NOT_FOUND, "no action %lld for this controller", (long long)f->rep.action);
    if (!strstr("'offered','downloading','downloaded','installing','installed'", cur)) {
        f->gone = 1;
        return tx_fail(&f->rep.res, ERR_ACTION_GONE, "action %lld is %s", (long long)f->rep.action, cur);
    }
    /* Going back (proceeding after downloaded) moves nothing: the client only says it is busy. */
    if (!f->rep.status || !strcmp(cur, f->rep.status) ||
        (!strcmp(f->rep.status, "downloading") && strcmp(cur, "offered")) ||
        (!strcmp(f->rep.status, "downloaded") && strcmp(cur, "offered") && strcmp(cur, "downloading"))) {
        f->nochange = 1;
        return history_event(db, f->rep.device, f->rep.action, "ddi_feedback",
                             json_pack("{s:s,s:s?}", "execution", f->execution, "message", f->rep.message)) ? -1 : 0;
    }
    return device_report_tx(db, &f->rep);
}

enum MHD_Result ddi_feedback(http_req_t *r)
{
    struct fb f;
    json_t *status, *result, *details, *progress;
    char msg[513] = "";
    int rc;
    memset(&f, 0, sizeof f);
    if (!ddi_auth(r, 0, &f.rep.device))
        return MHD_YES;
    if ((f.rep.action = input_parse_id(http_param(r, 2))) <= 0)
        return http_error(r, ERR_BAD_ACTION_ID, "the action id is a positive integer");
    status = json_object_get(r->json, "status");
    result = json_object_get(status, "result");
    f.execution = json_string_value(json_object_get(status, "execution"));
    f.finished = json_string_value(json_object_get(result, "finished"));
    if (!f.execution)
        return http_error(r, ERR_BAD_FEEDBACK, "feedback needs status.execution");
    f.rep.status = fb_status(f.execution, f.finished);
    f.rep.progress = -1;
    progress = json_object_get(result, "progress");
    if (json_integer_value(json_object_get(progress, "of")) > 0) {
        json_int_t cnt = json_integer_value(json_object_get(progress, "cnt")),
                   of = json_integer_value(json_object_get(progress, "of"));
        f.rep.progress = cnt < 0 ? 0 : cnt >= of ? 100 : cnt * 100 / of;
    }
    details = json_object_get(status, "details");
    if (json_is_array(details)) {
        size_t i;
        for (i = 0; i < json_array_size(details); i++) {
            const char *d = json_string_value(json_array_get(details, i));
            if (d && *d)
                snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "%s%s", msg[0] ? "; " : "", d);
        }
    }
    f.rep.message = msg[0] ? msg : NULL;
    rc = db_tx(feedback_tx, &f);
    if (rc == 0) {
        json_decref(f.rep.res.out);
        return http_text(r, 200, NULL, "", 0, NULL); /* SWUpdate takes only 200 (not 201/204) */
    }
    if (f.rep.res.failed && f.rep.res.err == ERR_BAD_TRANSITION) /* a fact the action cannot take: noted */
        return http_text(r, 200, NULL, "", 0, NULL);
    return tx_reply(r, rc, &f.rep.res, 200);
}

/* ---- configData ---------------------------------------------------------------------------- */

struct cfg {
    int64_t device;
    const char *mode;
    json_t *data;
    tx_res_t res;
};

static int config_tx(db_t *db, void *arg)
{
    struct cfg *c = arg;
    db_stmt_t *st = q_prep(db, "SELECT attributes FROM devices WHERE id = ?", "i", c->device);
    json_t *cur = NULL, *v;
    const char *k;
    char *text;
    int rc;
    if (st && db_step(st) == DB_ROW && *q_text(st, 0))
        cur = json_loads(q_text(st, 0), 0, NULL);
    db_done(st);
    if (!json_is_object(cur) || !strcmp(c->mode, "replace")) {
        json_decref(cur);
        cur = json_object();
    }
    json_object_foreach(c->data, k, v)
    {
        if (!strcmp(c->mode, "remove"))
            json_object_del(cur, k);
        else
            json_object_set(cur, k, v);
    }
    if (json_object_size(cur) > 64) {
        json_decref(cur);
        return tx_fail(&c->res, ERR_BAD_CONFIG_DATA, "a device keeps at most 64 attributes");
    }
    text = json_dumps(cur, JSON_COMPACT | JSON_SORT_KEYS);
    rc = text ? q_exec(db, "UPDATE devices SET attributes = ? WHERE id = ?", "si", text, c->device) : -1;
    free(text);
    c->res.out = json_incref(cur); /* the answer: the attributes now stored */
    if (rc < 0 || history_event(db, c->device, 0, "attributes", cur) != 0)
        return tx_dberr(&c->res, db);
    return 0;
}

enum MHD_Result ddi_config_data(http_req_t *r)
{
    struct cfg c;
    json_t *v;
    const char *k;
    memset(&c, 0, sizeof c);
    if (!ddi_auth(r, 0, &c.device))
        return MHD_YES;
    c.mode = json_string_value(json_object_get(r->json, "mode"));
    if (!c.mode)
        c.mode = "merge"; /* older clients send no mode */
    c.data = json_object_get(r->json, "data");
    if ((strcmp(c.mode, "merge") && strcmp(c.mode, "replace") && strcmp(c.mode, "remove")) || !json_is_object(c.data))
        return http_error(r, ERR_BAD_CONFIG_DATA, "configData is {\"mode\":\"merge|replace|remove\",\"data\":{...}}");
    json_object_foreach(c.data, k, v)
    {
        if (strlen(k) > 128 || !json_is_string(v) || json_string_length(v) > 512)
            return http_error(r, ERR_BAD_CONFIG_DATA, "attributes are names of up to 128 bytes with string values "
                                                      "of up to 512 bytes");
    }
    return tx_reply(r, db_tx(config_tx, &c), &c.res, 200);
}

/* ---- cancelAction -------------------------------------------------------------------------- */

/* The action id of the request when it is a cancelled action of device, else 0. */
static int64_t cancelled_action(http_req_t *r, int64_t device)
{
    int64_t action = input_parse_id(http_param(r, 2));
    db_t *db = db_get();
    if (action <= 0 || !db)
        return 0;
    return q_int(db, 0, "SELECT id FROM actions WHERE id = ? AND device = ? AND status = 'cancelled'", "ii", action,
                 device);
}

enum MHD_Result ddi_cancel(http_req_t *r)
{
    int64_t device, action;
    char id[24];
    if (!ddi_auth(r, 0, &device))
        return MHD_YES;
    if (!(action = cancelled_action(r, device)))
        return http_error(r, ERR_NOT_FOUND, "no cancelled action %s for this controller", http_param(r, 2));
    snprintf(id, sizeof id, "%lld", (long long)action);
    return http_json(r, 200, json_pack("{s:s,s:{s:s}}", "id", id, "cancelAction", "stopId", id));
}

struct cfb {
    int64_t device, action;
    const char *execution, *finished;
};

static int cancel_fb_tx(db_t *db, void *arg)
{
    struct cfb *c = arg;
    if (q_exec(db, "UPDATE actions SET cancel_acked = COALESCE(cancel_acked, ?) WHERE id = ?", "ii", now_s(),
               c->action) < 0)
        return -1;
    return history_event(db, c->device, c->action, "cancel_acknowledged",
                         json_pack("{s:s,s:s?}", "execution", c->execution, "finished", c->finished));
}

enum MHD_Result ddi_cancel_feedback(http_req_t *r)
{
    struct cfb c;
    json_t *status;
    if (!ddi_auth(r, 0, &c.device))
        return MHD_YES;
    if (!(c.action = cancelled_action(r, c.device)))
        return http_error(r, ERR_ACTION_GONE, "no cancelled action %s for this controller", http_param(r, 2));
    status = json_object_get(r->json, "status");
    c.execution = json_string_value(json_object_get(status, "execution"));
    c.finished = json_string_value(json_object_get(json_object_get(status, "result"), "finished"));
    if (!c.execution)
        return http_error(r, ERR_BAD_FEEDBACK, "feedback needs status.execution");
    if (db_tx(cancel_fb_tx, &c) != 0)
        return http_error(r, ERR_DATABASE, "cannot record the feedback");
    return http_text(r, 200, NULL, "", 0, NULL);
}

/* ---- the owner's settings: GET/PUT /api/v1/products/{product}/ddi -------------------------- */

static enum MHD_Result settings_answer(http_req_t *r, int64_t product, const char *new_token)
{
    db_t *db = db_get();
    db_stmt_t *st = db ? q_prep(db, "SELECT ddi_register, ddi_gateway_token_hash IS NOT NULL FROM products "
                                       "WHERE id = ?", "i", product)
                          : NULL;
    json_t *o = NULL;
    if (st && db_step(st) == DB_ROW)
        o = json_pack("{s:b,s:b}", "register", db_column_int(st, 0), "gateway_token_set",
                      db_column_int(st, 1));
    db_done(st);
    if (!o)
        return http_error(r, ERR_DATABASE, "cannot read the product");
    if (new_token)
        json_object_set_new(o, "gateway_token", json_string(new_token));
    return http_json(r, 200, o);
}

enum MHD_Result ddi_settings_get(http_req_t *r)
{
    db_t *db = db_get();
    int64_t product = db ? lookup_product_id(db, http_param(r, 0)) : 0;
    if (!product)
        return http_error(r, ERR_NOT_FOUND, "no product %s", http_param(r, 0));
    return settings_answer(r, product, NULL);
}

enum MHD_Result ddi_settings_put(http_req_t *r)
{
    db_t *db = db_get();
    int64_t product = db ? lookup_product_id(db, http_param(r, 0)) : 0;
    json_t *reg = json_object_get(r->json, "register");
    const char *gt = json_string_value(json_object_get(r->json, "gateway_token")), *k;
    char tok[65], hash[65];
    json_t *v;
    if (!product)
        return http_error(r, ERR_NOT_FOUND, "no product %s", http_param(r, 0));
    json_object_foreach(r->json, k, v)
    {
        if (strcmp(k, "register") && strcmp(k, "gateway_token"))
            return http_error(r, ERR_BAD_DDI, "unknown field %s", k);
    }
    if ((reg && !json_is_boolean(reg)) ||
        (json_object_get(r->json, "gateway_token") && (!gt || (strcmp(gt, "new") && strcmp(gt, "none")))))
        return http_error(r, ERR_BAD_DDI, "DDI settings are {\"register\"?:bool,\"gateway_token\"?:\"new\"|\"none\"}");
    if (gt && !strcmp(gt, "new") && http_new_token(tok) != 0)
        return http_error(r, ERR_INTERNAL, "cannot make a token");
    if (gt && !strcmp(gt, "new"))
        http_token_hash(tok, hash);
    if ((reg && q_exec(db, "UPDATE products SET ddi_register = ? WHERE id = ?", "ii", (int64_t)json_is_true(reg),
                       product) < 0) ||
        (gt && q_exec(db, "UPDATE products SET ddi_gateway_token_hash = ? WHERE id = ?", "si",
                      !strcmp(gt, "new") ? hash : NULL, product) < 0))
        return http_error(r, ERR_DATABASE, "cannot store the settings");
    return settings_answer(r, product, gt && !strcmp(gt, "new") ? tok : NULL);
}
