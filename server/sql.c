/* Small SQL helpers over db_stmt() (see sql.h). */
#include "sql.h"

#include <stdarg.h>
#include <stddef.h>

#include "db.h"
#include "log.h"

static db_stmt_t *q_vprep(db_t *db, const char *sql, const char *types, va_list ap)
{
    db_stmt_t *st;
    int i;
    if (!(st = db_stmt(db, sql))) {
        log_msg(LOG_ERROR, "cannot prepare statement", "error=\"%s\" sql=\"%.80s\"", db_errmsg(db), sql);
        return NULL;
    }
    for (i = 0; types && types[i]; i++) {
        switch (types[i]) {
        case 'i': db_bind_int64(st, i + 1, va_arg(ap, int64_t)); break;
        case 'd': db_bind_double(st, i + 1, va_arg(ap, double)); break;
        case 'n': db_bind_null(st, i + 1); break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (s)
                db_bind_text(st, i + 1, s, -1, DB_TRANSIENT);
            else
                db_bind_null(st, i + 1);
            break;
        }
        default: db_done(st); return NULL;
        }
    }
    return st;
}

db_stmt_t *q_prep(db_t *db, const char *sql, const char *types, ...)
{
    va_list ap;
    db_stmt_t *st;
    va_start(ap, types);
    st = q_vprep(db, sql, types, ap);
    va_end(ap);
    return st;
}

int q_ids(db_t *db, int64_t *out, int max, const char *sql, const char *types, ...)
{
    va_list ap;
    db_stmt_t *st;
    int n = 0;
    va_start(ap, types);
    st = q_vprep(db, sql, types, ap);
    va_end(ap);
    if (!st)
        return -1;
    while (n < max && db_step(st) == DB_ROW)
        out[n++] = db_column_int64(st, 0);
    db_done(st);
    return n;
}

int q_exec(db_t *db, const char *sql, const char *types, ...)
{
    va_list ap;
    db_stmt_t *st;
    int rc;
    va_start(ap, types);
    st = q_vprep(db, sql, types, ap);
    va_end(ap);
    if (!st)
        return -1;
    while ((rc = db_step(st)) == DB_ROW)
        ;
    db_done(st);
    if (rc != DB_DONE) {
        log_msg(LOG_ERROR, "statement failed", "error=\"%s\" sql=\"%.80s\"", db_errmsg(db), sql);
        return -1;
    }
    return db_changes(db);
}

int64_t q_int(db_t *db, int64_t def, const char *sql, const char *types, ...)
{
    va_list ap;
    db_stmt_t *st;
    int64_t v = def;
    va_start(ap, types);
    st = q_vprep(db, sql, types, ap);
    va_end(ap);
    if (!st)
        return def;
    if (db_step(st) == DB_ROW && db_column_type(st, 0) != DB_NULL)
        v = db_column_int64(st, 0);
    db_done(st);
    return v;
}

const char *q_text(db_stmt_t *st, int col)
{
    const unsigned char *t = db_column_text(st, col);
    return t ? (const char *)t : "";
}

json_t *q_json_int(db_stmt_t *st, int col)
{
    return db_column_type(st, col) == DB_NULL ? json_null() : json_integer(db_column_int64(st, col));
}
