/* Request results made inside a transaction (see tx.h). */
#include "tx.h"

#include <stdarg.h>
#include <stdio.h>

#include "db.h"

int tx_fail(tx_res_t *res, err_t e, const char *fmt, ...)
{
    va_list ap;
    res->failed = 1;
    res->err = e;
    va_start(ap, fmt);
    vsnprintf(res->msg, sizeof res->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int tx_dberr(tx_res_t *res, db_t *db)
{
    return tx_fail(res, ERR_DATABASE, "%s", db_errmsg(db));
}

enum MHD_Result tx_reply(http_req_t *r, int rc, tx_res_t *res, unsigned ok_status)
{
    if (rc == 0 && ok_status == 204) {
        json_decref(res->out);
        return http_text(r, 204, NULL, "", 0, NULL);
    }
    if (rc == 0 && res->out)
        return http_json(r, ok_status, res->out);
    json_decref(res->out);
    res->out = NULL;
    if (res->failed)
        return http_error(r, res->err, "%s", res->msg);
    return http_error(r, ERR_DATABASE, "the transaction failed");
}

int tx_read(int (*fn)(db_t *db, void *arg), void *arg)
{
    db_t *db = db_get();
    int rc;
    if (!db || db_exec(db, "BEGIN", NULL, NULL, NULL) != DB_OK)
        return -1;
    rc = fn(db, arg);
    db_exec(db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    return rc;
}
