/*
 * A product's signing keys, so a product can move to a new key and keep its old releases
 * verifiable (owner token of {product}, or admin):
 *
 *   GET    /api/v1/products/{product}/keys         every key, newest first: key_hash, created_at,
 *                                                  retired_at (null while active), releases (how
 *                                                  many releases have an image it signed); "total"
 *   POST   /api/v1/products/{product}/keys         {"public_key":"<PEM>"} adds an active key
 *   DELETE /api/v1/products/{product}/keys/{key}   retires the key ({key}: its key_hash, or a
 *                                                  prefix of 8+ hex digits naming one key)
 *
 * An upload is verified against every active key (the image header names the key that signed
 * it, and otakit_image_verify picks it from the set), so an image signed by a retired key is 400
 * wrong_key. Retiring changes nothing already published: the releases a key signed keep its hash
 * in their artifacts' meta, stay downloadable, and verify as before on devices and with `otakit
 * verify` given that key (both take several trusted keys). The last active key cannot be retired
 * (409 in_use): a product with otakit images always has a key to verify the next one.
 * products.key_hash (what GET /products shows) is the newest active key.
 */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "lookup.h"
#include "otakit/keys.h"
#include "product_keys.h"
#include "server.h"
#include "sql.h"
#include "tx.h"

int product_key_parse(const char *pem, uint8_t der[OTA_KEY_DER_MAX], size_t *der_len, char khex[65])
{
    ota_key_t *key;
    uint8_t kh[32];
    int rc, i;
    *der_len = 0;
    if (!pem || ota_key_load_mem((const uint8_t *)pem, strlen(pem), &key) != OTA_OK)
        return -1;
    rc = ota_alg_enabled(ota_key_get_alg(key)) ? ota_key_der(key, der, OTA_KEY_DER_MAX, der_len) : OTA_ERR_KEY_FORMAT;
    ota_key_free(key);
    if (rc != OTA_OK || ota_key_hash(der, (uint32_t)*der_len, kh) != OTA_OK)
        return -1;
    for (i = 0; i < 32; i++)
        snprintf(khex + 2 * i, 3, "%02x", kh[i]);
    return 0;
}

#define KEY_COLS                                                                                                    \
    "k.id, k.key_hash, k.created_at, k.retired_at, (SELECT COUNT(DISTINCT a.release) FROM artifacts a JOIN releases r " \
    "ON r.id = a.release WHERE r.product = k.product AND json_extract(a.meta, '$.key_hash') = k.key_hash)"

static json_t *key_json(db_stmt_t *st)
{
    return json_pack("{s:s,s:I,s:o,s:b,s:I}", "key_hash", q_text(st, 1), "created_at",
                     (json_int_t)db_column_int64(st, 2), "retired_at", q_json_int(st, 3), "active",
                     db_column_type(st, 3) == DB_NULL, "releases", (json_int_t)db_column_int64(st, 4));
}

static json_t *key_by_id(db_t *db, int64_t id)
{
    db_stmt_t *st = q_prep(db, "SELECT " KEY_COLS " FROM product_keys k WHERE k.id = ?", "i", id);
    json_t *k = st && db_step(st) == DB_ROW ? key_json(st) : NULL;
    db_done(st);
    return k;
}

/* products.public_key / key_hash follow the newest active key. */
static int primary_update(db_t *db, int64_t product)
{
    return q_exec(db,
                  "UPDATE products SET (public_key, key_hash) = (SELECT public_key, key_hash FROM product_keys "
                  "WHERE product = ?1 AND retired_at IS NULL ORDER BY id DESC LIMIT 1) WHERE id = ?1 AND EXISTS "
                  "(SELECT 1 FROM product_keys WHERE product = ?1 AND retired_at IS NULL)",
                  "i", product) < 0
               ? -1
               : 0;
}

struct keys_req {
    http_req_t *r;
    tx_res_t res;
    uint8_t der[OTA_KEY_DER_MAX];
    size_t der_len;
    char khex[65];
};

static int list_tx(db_t *db, void *arg)
{
    struct keys_req *k = arg;
    int64_t product = lookup_product_id(db, http_param(k->r, 0));
    db_stmt_t *st;
    json_t *arr;
    if (!product)
        return tx_fail(&k->res, ERR_NOT_FOUND, "no product %s", http_param(k->r, 0));
    arr = json_array();
    st = q_prep(db, "SELECT " KEY_COLS " FROM product_keys k WHERE k.product = ? ORDER BY k.id DESC", "i", product);
    while (st && db_step(st) == DB_ROW)
        json_array_append_new(arr, key_json(st));
    db_done(st);
    k->res.out = json_pack("{s:o,s:I}", "keys", arr, "total", (json_int_t)json_array_size(arr));
    return 0;
}

/* Runs fn in a write (or read) transaction for r and answers ok_status. */
static enum MHD_Result keys_run(http_req_t *r, int (*fn)(db_t *, void *), int write, unsigned ok_status)
{
    struct keys_req k;
    memset(&k, 0, sizeof k);
    k.r = r;
    return tx_reply(r, write ? db_tx(fn, &k) : tx_read(fn, &k), &k.res, ok_status);
}

static enum MHD_Result keys_list(http_req_t *r)
{
    return keys_run(r, list_tx, 0, 200);
}

static int add_tx(db_t *db, void *arg)
{
    struct keys_req *k = arg;
    int64_t product = lookup_product_id(db, http_param(k->r, 0)), id;
    if (!product)
        return tx_fail(&k->res, ERR_NOT_FOUND, "no product %s", http_param(k->r, 0));
    if (q_int(db, 0, "SELECT id FROM product_keys WHERE product = ? AND key_hash = ?", "is", product, k->khex))
        return tx_fail(&k->res, ERR_EXISTS, "key %.16s is already a key of product %s (a retired key is not reused)",
                       k->khex, http_param(k->r, 0));
    if (q_int(db, 0, "SELECT COUNT(*) FROM product_keys WHERE product = ? AND retired_at IS NULL", "i", product) >=
        PRODUCT_KEYS_MAX)
        return tx_fail(&k->res, ERR_IN_USE, "product %s has %d active keys: retire one first", http_param(k->r, 0),
                       PRODUCT_KEYS_MAX);
    {
        db_stmt_t *st = db_stmt(db, "INSERT INTO product_keys(product, public_key, key_hash, created_at) "
                                       "VALUES (?, ?, ?, ?)");
        int rc;
        if (!st)
            return tx_dberr(&k->res, db);
        db_bind_int64(st, 1, product);
        db_bind_blob(st, 2, k->der, (int)k->der_len, DB_STATIC);
        db_bind_text(st, 3, k->khex, -1, DB_STATIC);
        db_bind_int64(st, 4, now_s());
        rc = db_step(st);
        db_done(st);
        if (rc != DB_DONE)
            return tx_dberr(&k->res, db);
    }
    id = db_last_insert_rowid(db);
    if (primary_update(db, product) != 0 || !(k->res.out = key_by_id(db, id)))
        return tx_dberr(&k->res, db);
    log_msg(LOG_INFO, "product key added", "product=%s key_hash=%.16s", http_param(k->r, 0), k->khex);
    return 0;
}

static enum MHD_Result keys_add(http_req_t *r)
{
    struct keys_req k;
    memset(&k, 0, sizeof k);
    k.r = r;
    if (product_key_parse(json_string_value(json_object_get(r->json, "public_key")), k.der, &k.der_len, k.khex) != 0)
        return http_error(r, ERR_BAD_PUBLIC_KEY, PRODUCT_KEY_RULE);
    return tx_reply(r, db_tx(add_tx, &k), &k.res, 201);
}

static int retire_tx(db_t *db, void *arg)
{
    struct keys_req *k = arg;
    const char *name = http_param(k->r, 1);
    int64_t product = lookup_product_id(db, http_param(k->r, 0)), ids[2];
    size_t i, n = strlen(name);
    int found;
    if (!product)
        return tx_fail(&k->res, ERR_NOT_FOUND, "no product %s", http_param(k->r, 0));
    for (i = 0; i < n; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            break;
    if (n < 8 || n > 64 || i < n)
        return tx_fail(&k->res, ERR_NOT_FOUND, "name the key by its key_hash (8 to 64 lowercase hex digits)");
    found = q_ids(db, ids, 2, "SELECT id FROM product_keys WHERE product = ? AND key_hash LIKE ? || '%'", "is",
                  product, name); /* name: lowercase hex, checked above */
    if (found < 0)
        return tx_dberr(&k->res, db);
    if (found != 1)
        return tx_fail(&k->res, ERR_NOT_FOUND, found ? "%s names more than one key of product %s: give more digits"
                                                     : "%s is no key of product %s", name, http_param(k->r, 0));
    if (q_int(db, 0, "SELECT retired_at IS NULL FROM product_keys WHERE id = ?", "i", ids[0]) &&
        q_int(db, 0, "SELECT COUNT(*) FROM product_keys WHERE product = ? AND retired_at IS NULL", "i", product) == 1)
        return tx_fail(&k->res, ERR_IN_USE, "that is product %s's only active key: add its successor first",
                       http_param(k->r, 0));
    if (q_exec(db, "UPDATE product_keys SET retired_at = ? WHERE id = ? AND retired_at IS NULL", "ii", now_s(),
               ids[0]) < 0 ||
        primary_update(db, product) != 0 || !(k->res.out = key_by_id(db, ids[0])))
        return tx_dberr(&k->res, db);
    log_msg(LOG_INFO, "product key retired", "product=%s key=%s", http_param(k->r, 0), name);
    return 0;
}

static enum MHD_Result keys_retire(http_req_t *r)
{
    return keys_run(r, retire_tx, 1, 200);
}

const http_route_t keys_routes[] = {
    {"GET", "/api/v1/products/{product}/keys", keys_list, AUTH_OWNER, BODY_NONE},
    {"POST", "/api/v1/products/{product}/keys", keys_add, AUTH_OWNER, BODY_JSON},
    {"DELETE", "/api/v1/products/{product}/keys/{key}", keys_retire, AUTH_OWNER, BODY_NONE},
    {NULL, NULL, NULL, 0, 0},
};
