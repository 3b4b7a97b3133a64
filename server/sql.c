/* Small SQL helpers over db_stmt() (see sql.h). */
#include "sql.h"

#include <stdarg.h>
#include <stddef.h>

#include "db.h"
#include "log.h"

static sqlite3_stmt *q_vprep(sqlite3 *db, const char *sql, const char *types, va_list ap)
{
    sqlite3_stmt *st;
    int i;
    if (!(st = db_stmt(db, sql))) {
        log_msg(LOG_ERROR, "cannot prepare statement", "error=\"%s\" sql=\"%.80s\"", sqlite3_errmsg(db), sql);
        return NULL;
    }
    for (i = 0; types && types[i]; i++) {
        switch (types[i]) {
        case 'i': sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t)); break;
        case 'd': sqlite3_bind_double(st, i + 1, va_arg(ap, double)); break;
        case 'n': sqlite3_bind_null(st, i + 1); break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (s)
                sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT);
            else
                sqlite3_bind_null(st, i + 1);
            break;
        }
        default: db_done(st); return NULL;
        }
    }
    return st;
}

sqlite3_stmt *q_prep(sqlite3 *db, const char *sql, const char *types, ...)
{
    va_list ap;
    sqlite3_stmt *st;
    va_start(ap, types);
    st = q_vprep(db, sql, types, ap);
    va_end(ap);
    return st;
}

int q_ids(sqlite3 *db, int64_t *out, int max, const char *sql, const char *types, ...)
{
    va_list ap;
    sqlite3_stmt *st;
    int n = 0;
    va_start(ap, types);
    st = q_vprep(db, sql, types, ap);
    va_end(ap);
    if (!st)
        return -1;
    while (n < max && sqlite3_step(st) == SQLITE_ROW)
        out[n++] = sqlite3_column_int64(st, 0);
    db_done(st);
    return n;
}

int q_exec(sqlite3 *db, const char *sql, const char *types, ...)
{
    va_list ap;
    sqlite3_stmt *st;
    int rc;
    va_start(ap, types);
    st = q_vprep(db, sql, types, ap);
    va_end(ap);
    if (!st)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    db_done(st);
    if (rc != SQLITE_DONE) {
        log_msg(LOG_ERROR, "statement failed", "error=\"%s\" sql=\"%.80s\"", sqlite3_errmsg(db), sql);
        return -1;
    }
    return sqlite3_changes(db);
}

int64_t q_int(sqlite3 *db, int64_t def, const char *sql, const char *types, ...)
{
    va_list ap;
    sqlite3_stmt *st;
    int64_t v = def;
    va_start(ap, types);
    st = q_vprep(db, sql, types, ap);
    va_end(ap);
    if (!st)
        return def;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    db_done(st);
    return v;
}

const char *q_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : "";
}

json_t *q_json_int(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? json_null() : json_integer(sqlite3_column_int64(st, col));
}
