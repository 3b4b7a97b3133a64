/* Bearer-token authorization (see auth.h). Tokens are stored only as SHA-256 hashes. */
#include "auth.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "otakit/bytes.h"

static char *admin_token;

void auth_set_admin_token(const char *token)
{
    free(admin_token);
    admin_token = strdup(token);
}

/* Looks a token hash up in one column; returns the row id and (for products) the product_id. */
static int64_t lookup(const char *sql, const char *hash, char *product_id, size_t n)
{
    db_t *db = db_get();
    db_stmt_t *st;
    int64_t id = 0;
    if (!db || !(st = db_stmt(db, sql)))
        return 0;
    db_bind_text(st, 1, hash, -1, DB_STATIC);
    if (db_step(st) == DB_ROW) {
        id = db_column_int64(st, 0);
        if (product_id && db_column_text(st, 1))
            snprintf(product_id, n, "%s", (const char *)db_column_text(st, 1));
    }
    db_done(st);
    return id;
}

static int deny(http_req_t *r, err_t e, const char *msg)
{
    if (e == ERR_UNAUTHORIZED)
        http_error_headers(r, e, (const char *const[]){"WWW-Authenticate", "Bearer realm=\"otakit\"", NULL}, "%s", msg);
    else
        http_error(r, e, "%s", msg);
    return 0;
}

int auth_check(http_req_t *r)
{
    unsigned need = r->route->auth;
    const char *h, *tok;
    char hash[65], pid[128];

    r->auth_kind = AUTH_NONE;
    if (need == AUTH_NONE)
        return 1;
    h = http_header(r, "Authorization");
    /* A browser's EventSource cannot send headers: event streams also take ?access_token= (the
     * access log never writes queries). */
    tok = h && strncasecmp(h, "Bearer ", 7) == 0 ? h + 7 /* the scheme is case-insensitive */
          : !h && strstr(r->route->pattern, "/stream") ? http_query(r, "access_token")
          : NULL;
    if (!tok || !*tok)
        return deny(r, ERR_UNAUTHORIZED, "this route needs Authorization: Bearer <token>");

    if ((need & (AUTH_ADMIN | AUTH_OWNER)) && admin_token && ota_ct_streq(tok, admin_token)) {
        r->auth_kind = AUTH_ADMIN;
        return 1;
    }
    http_token_hash(tok, hash);
    if (need & AUTH_OWNER) {
        pid[0] = 0;
        r->auth_product = lookup("SELECT id, product_id FROM products WHERE owner_token_hash = ?", hash, pid, sizeof pid);
        if (r->auth_product) {
            /* An owner reaches only its own product's routes. Routes without {product} (e.g.
             * artifact downloads) check r->auth_product themselves. */
            if (strstr(r->route->pattern, "/{product}") && strcmp(http_param(r, 0), pid) != 0)
                return deny(r, ERR_FORBIDDEN, "this token belongs to another product");
            r->auth_kind = AUTH_OWNER;
            return 1;
        }
    }
    if (need & AUTH_DEVICE) {
        r->auth_device = lookup("SELECT id FROM devices WHERE token_hash = ?", hash, NULL, 0);
        if (r->auth_device) {
            r->auth_kind = AUTH_DEVICE;
            return 1;
        }
    }
    if (need & AUTH_ENROLL) {
        r->auth_product = lookup("SELECT id FROM products WHERE enroll_token_hash = ?", hash, NULL, 0);
        if (r->auth_product) {
            r->auth_kind = AUTH_ENROLL;
            return 1;
        }
    }
    /* A token that is valid somewhere else is a scope error, not an unknown token. */
    if ((admin_token && ota_ct_streq(tok, admin_token)) ||
        lookup("SELECT id FROM products WHERE owner_token_hash = ?1 OR enroll_token_hash = ?1", hash, NULL, 0) ||
        lookup("SELECT id FROM devices WHERE token_hash = ?", hash, NULL, 0))
        return deny(r, ERR_FORBIDDEN, "this token may not use this route");
    return deny(r, ERR_UNAUTHORIZED, "unknown token");
}
