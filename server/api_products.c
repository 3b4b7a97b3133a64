/*
 * Products: the unit of ownership. Creating one (admin) returns its owner token (manages the
 * product's releases, rollouts and devices) and its enrollment token (built into firmware so a
 * device can register itself). Both are shown once; only their hashes are stored.
 *
 *   POST  /api/v1/products            {"product_id","name","public_key":"<PEM>","version_rule"?,"compat"?}
 *   GET   /api/v1/products?limit=&offset=   (by product_id; "total")
 *   GET   /api/v1/products/{product}
 *   PATCH /api/v1/products/{product}  {"compat":{"esp"?,"mongoose"?,"confirm_by_version"?}} (owner)
 *
 *   POST  /api/v1/products/{product}/owner-token   (admin) a new owner token, shown once
 *   POST  /api/v1/products/{product}/enroll-token  (owner) a new enrollment token, shown once
 *
 * public_key is the product's first signing key; more are added and retired in api_keys.c.
 *
 * A rotation replaces the stored hash, so the old token stops working with the next request (no
 * grace period); devices already registered keep their own device tokens.
 *
 * "compat" says what the credential-less compat protocols may do in the product (all off unless
 * set; compat_policy.h, docs/server.md "Trust model").
 */
#include <string.h>

#include "compat_policy.h"
#include "db.h"
#include "log.h"
#include "lookup.h"
#include "product_keys.h"
#include "server.h"
#include "sql.h"

#define PRODUCT_COLS "product_id, name, key_hash, version_rule, created_at, " COMPAT_POLICY_COLS

static json_t *product_json(db_stmt_t *st)
{
    compat_policy_t pol;
    compat_policy_from_row(st, 5, &pol);
    const char *kh = (const char *)db_column_text(st, 2);
    return json_pack("{s:s,s:s,s:o,s:s,s:I,s:o}", "product_id", (const char *)db_column_text(st, 0), "name",
                     (const char *)db_column_text(st, 1), "key_hash", kh && *kh ? json_string(kh) : json_null(),
                     "version_rule", (const char *)db_column_text(st, 3), "created_at",
                     (json_int_t)db_column_int64(st, 4), "compat", compat_policy_json(&pol));
}

static enum MHD_Result create(http_req_t *r)
{
    const char *pid = json_string_value(json_object_get(r->json, "product_id"));
    const char *name = json_string_value(json_object_get(r->json, "name"));
    const char *pem = json_string_value(json_object_get(r->json, "public_key"));
    const char *rule = json_string_value(json_object_get(r->json, "version_rule"));
    char owner[65], enroll[65], oh[65], eh[65], khex[65];
    compat_policy_t pol = {0, 0, 0};
    const char *why;
    uint8_t der[OTA_KEY_DER_MAX];
    size_t der_len = 0;
    db_t *db = db_get();
    db_stmt_t *st;
    int rc;

    if (!pid || !ota_ident_valid(pid, strlen(pid), OTA_PRODUCT_MAX, 0))
        return http_error(r, ERR_BAD_PRODUCT_ID, "product_id must be 1-32 characters of A-Z a-z 0-9 . _ -");
    if (!name || !*name || strlen(name) > 128)
        return http_error(r, ERR_BAD_NAME, "name must be 1-128 characters");
    if (!rule)
        rule = "semver";
    if (strcmp(rule, "semver") && strcmp(rule, "espressif"))
        return http_error(r, ERR_BAD_VERSION_RULE, "version_rule must be \"semver\" or \"espressif\"");
    if (json_object_get(r->json, "compat") &&
        (why = compat_policy_apply(json_object_get(r->json, "compat"), &pol)) != NULL)
        return http_error(r, ERR_BAD_COMPAT, "%s", why);
    /* Without a key the product takes only ESP images (ESP-IDF, ESP8266): nothing it publishes
     * is an otakit/MCUboot image, whose signature needs one. */
    khex[0] = 0;
    if (json_object_get(r->json, "public_key") && !json_is_null(json_object_get(r->json, "public_key")) &&
        product_key_parse(pem, der, &der_len, khex) != 0)
        return http_error(r, ERR_BAD_PUBLIC_KEY, PRODUCT_KEY_RULE);
    if (http_new_token(owner) || http_new_token(enroll))
        return http_error(r, ERR_INTERNAL, "cannot make tokens");
    http_token_hash(owner, oh);
    http_token_hash(enroll, eh);
    if (!db || db_prepare_v2(db,
                                  "INSERT INTO products(product_id, name, public_key, key_hash, version_rule, "
                                  "owner_token_hash, enroll_token_hash, created_at, " COMPAT_POLICY_COLS
                                  ") VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                                  -1, &st, NULL) != DB_OK)
        return http_error(r, ERR_DATABASE, "%s", db ? db_errmsg(db) : "no connection");
    db_bind_text(st, 1, pid, -1, DB_STATIC);
    db_bind_text(st, 2, name, -1, DB_STATIC);
    db_bind_blob(st, 3, der, khex[0] ? (int)der_len : 0, DB_STATIC);
    db_bind_text(st, 4, khex, -1, DB_STATIC);
    db_bind_text(st, 5, rule, -1, DB_STATIC);
    db_bind_text(st, 6, oh, -1, DB_STATIC);
    db_bind_text(st, 7, eh, -1, DB_STATIC);
    db_bind_int64(st, 8, now_s());
    db_bind_int(st, 9, pol.esp);
    db_bind_int(st, 10, pol.mongoose);
    db_bind_int(st, 11, pol.confirm_by_version);
    rc = db_step(st);
    db_done(st);
    if (rc == DB_CONSTRAINT)
        return http_error(r, ERR_EXISTS, "product %s already exists", pid);
    if (rc != DB_DONE)
        return http_error(r, ERR_DATABASE, "%s", db_errmsg(db));
    log_msg(LOG_INFO, "product created", "product=%s key_hash=%.16s", pid, khex[0] ? khex : "none");
    return http_json(r, 201,
                     json_pack("{s:s,s:s,s:o,s:s,s:o,s:s,s:s}", "product_id", pid, "name", name, "key_hash",
                               khex[0] ? json_string(khex) : json_null(),
                               "version_rule", rule, "compat", compat_policy_json(&pol), "owner_token", owner,
                               "enroll_token", enroll));
}

static enum MHD_Result list(http_req_t *r)
{
    db_t *db = db_get();
    db_stmt_t *st;
    json_t *arr;
    int64_t limit, offset, only = r->auth_kind == AUTH_OWNER ? r->auth_product : 0, total;
    enum MHD_Result ret;
    if (http_page(r, &limit, &offset, &ret) != 0)
        return ret;
    total = db ? q_int(db, -1, "SELECT COUNT(*) FROM products WHERE ?1 = 0 OR id = ?1", "i", only) : -1;
    st = db && total >= 0 ? q_prep(db, "SELECT " PRODUCT_COLS " FROM products WHERE ?1 = 0 OR id = ?1 "
                                       "ORDER BY product_id LIMIT ?2 OFFSET ?3", "iii", only, limit, offset)
                          : NULL;
    if (!st)
        return http_error(r, ERR_DATABASE, "cannot list products");
    arr = json_array();
    while (db_step(st) == DB_ROW)
        json_array_append_new(arr, product_json(st));
    db_done(st);
    return http_json(r, 200, json_pack("{s:o,s:I}", "products", arr, "total", (json_int_t)total));
}

/* The product named by the path, as JSON (NULL when unknown; *err set on a database error). */
static json_t *product_by_id(db_t *db, const char *product_id, int *err)
{
    db_stmt_t *st;
    json_t *p = NULL;
    *err = !db || db_prepare_v2(db, "SELECT " PRODUCT_COLS " FROM products WHERE product_id = ?", -1, &st,
                                     NULL) != DB_OK;
    if (*err)
        return NULL;
    db_bind_text(st, 1, product_id, -1, DB_STATIC);
    if (db_step(st) == DB_ROW)
        p = product_json(st);
    db_done(st);
    return p;
}

static enum MHD_Result get(http_req_t *r)
{
    int err;
    json_t *p = product_by_id(db_get(), http_param(r, 0), &err);
    if (err)
        return http_error(r, ERR_DATABASE, "cannot read product");
    if (!p)
        return http_error(r, ERR_NOT_FOUND, "no product %s", http_param(r, 0));
    return http_json(r, 200, p);
}

/* PATCH: the owner changes the product's compat policy (keys not given keep their value). */
static enum MHD_Result update(http_req_t *r)
{
    db_t *db = db_get();
    compat_policy_t pol;
    const char *why, *k;
    json_t *v, *p;
    int64_t product;
    int err;
    json_object_foreach(r->json, k, v) {
        if (strcmp(k, "compat") != 0)
            return http_error(r, ERR_BAD_FIELD, "only compat can be changed (not %s)", k);
    }
    if (!db)
        return http_error(r, ERR_DATABASE, "no connection");
    if (!(product = lookup_product_id(db, http_param(r, 0))))
        return http_error(r, ERR_NOT_FOUND, "no product %s", http_param(r, 0));
    if (compat_policy_load(db, product, &pol) != 0)
        return http_error(r, ERR_DATABASE, "cannot read product");
    if ((v = json_object_get(r->json, "compat")) != NULL && (why = compat_policy_apply(v, &pol)) != NULL)
        return http_error(r, ERR_BAD_COMPAT, "%s", why);
    if (q_exec(db, "UPDATE products SET compat_esp = ?, compat_mongoose = ?, compat_confirm_by_version = ? "
                   "WHERE id = ?", "iiii", (int64_t)pol.esp, (int64_t)pol.mongoose, (int64_t)pol.confirm_by_version,
               product) < 0)
        return http_error(r, ERR_DATABASE, "%s", db_errmsg(db));
    log_msg(LOG_INFO, "product compat policy", "product=%s esp=%d mongoose=%d confirm_by_version=%d",
            http_param(r, 0), pol.esp, pol.mongoose, pol.confirm_by_version);
    if (!(p = product_by_id(db, http_param(r, 0), &err)))
        return http_error(r, ERR_DATABASE, "cannot read product");
    return http_json(r, 200, p);
}

/* Replaces one of the product's tokens (column owner_token_hash or enroll_token_hash) and
 * answers the new token once, under the name `field`. */
static enum MHD_Result rotate(http_req_t *r, const char *column, const char *field)
{
    db_t *db = db_get();
    char tok[65], hash[65], sql[96];
    int64_t product;
    if (!db)
        return http_error(r, ERR_DATABASE, "no connection");
    if (!(product = lookup_product_id(db, http_param(r, 0))))
        return http_error(r, ERR_NOT_FOUND, "no product %s", http_param(r, 0));
    if (http_new_token(tok))
        return http_error(r, ERR_INTERNAL, "cannot make tokens");
    http_token_hash(tok, hash);
    snprintf(sql, sizeof sql, "UPDATE products SET %s = ? WHERE id = ?", column);
    if (q_exec(db, sql, "si", hash, product) < 0)
        return http_error(r, ERR_DATABASE, "%s", db_errmsg(db));
    log_msg(LOG_INFO, "product token rotated", "product=%s token=%s", http_param(r, 0), field);
    return http_json(r, 200, json_pack("{s:s,s:s}", "product_id", http_param(r, 0), field, tok));
}

static enum MHD_Result rotate_owner(http_req_t *r)
{
    return rotate(r, "owner_token_hash", "owner_token");
}

static enum MHD_Result rotate_enroll(http_req_t *r)
{
    return rotate(r, "enroll_token_hash", "enroll_token");
}

const http_route_t products_routes[] = {
    {"POST", "/api/v1/products", create, AUTH_ADMIN, BODY_JSON},
    {"GET", "/api/v1/products", list, AUTH_OWNER, BODY_NONE},
    {"GET", "/api/v1/products/{product}", get, AUTH_OWNER, BODY_NONE},
    {"PATCH", "/api/v1/products/{product}", update, AUTH_OWNER, BODY_JSON},
    {"POST", "/api/v1/products/{product}/owner-token", rotate_owner, AUTH_ADMIN, BODY_NONE},
    {"POST", "/api/v1/products/{product}/enroll-token", rotate_enroll, AUTH_OWNER, BODY_NONE},
    {NULL, NULL, NULL, 0, 0},
};
