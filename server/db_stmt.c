/* Statement and connection calls of db.h, dispatched to SQLite or to db_pg.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "db.h"
#include "db_impl.h"

int db_prepare_v2(db_t *db, const char *sql, int n, db_stmt_t **out, const char **tail)
{
    db_stmt_t *st;
    int rc;
    (void)n;
    *out = NULL;
    if (tail)
        *tail = NULL;
    if (!db || !(st = calloc(1, sizeof *st)))
        return DB_ERROR;
    st->db = db;
    if (db->pg)
        rc = pg_prepare(db->pg, sql, &st->pg);
    else
        rc = sqlite3_prepare_v3(db->lite, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->lite, tail);
    if (rc != DB_OK) {
        db_finalize(st);
        return rc;
    }
    *out = st;
    return DB_OK;
}

int db_step(db_stmt_t *st)
{
    return st->pg ? pg_step(st->pg) : sqlite3_step(st->lite);
}

int db_reset(db_stmt_t *st)
{
    return st->pg ? pg_reset(st->pg) : sqlite3_reset(st->lite);
}

int db_clear_bindings(db_stmt_t *st)
{
    if (st->pg) {
        pg_clear(st->pg);
        return DB_OK;
    }
    return sqlite3_clear_bindings(st->lite);
}

int db_finalize(db_stmt_t *st)
{
    if (!st)
        return DB_OK;
    if (st->pg)
        pg_finalize(st->pg);
    else
        sqlite3_finalize(st->lite);
    free(st);
    return DB_OK;
}

int db_bind_int(db_stmt_t *st, int i, int v)
{
    return db_bind_int64(st, i, v);
}

int db_bind_int64(db_stmt_t *st, int i, db_int64 v)
{
    return st->pg ? pg_bind(st->pg, i, DB_INTEGER, &v, 0) : sqlite3_bind_int64(st->lite, i, v);
}

int db_bind_double(db_stmt_t *st, int i, double v)
{
    return st->pg ? pg_bind(st->pg, i, DB_FLOAT, &v, 0) : sqlite3_bind_double(st->lite, i, v);
}

int db_bind_null(db_stmt_t *st, int i)
{
    return st->pg ? pg_bind(st->pg, i, DB_NULL, NULL, 0) : sqlite3_bind_null(st->lite, i);
}

int db_bind_text(db_stmt_t *st, int i, const char *s, int n, db_destructor_type d)
{
    (void)d;
    if (!s)
        return db_bind_null(st, i);
    if (st->pg)
        return pg_bind(st->pg, i, DB_TEXT, s, n < 0 ? (int)strlen(s) : n);
    return sqlite3_bind_text(st->lite, i, s, n, SQLITE_TRANSIENT);
}

int db_bind_blob(db_stmt_t *st, int i, const void *p, int n, db_destructor_type d)
{
    (void)d;
    if (st->pg)
        return pg_bind(st->pg, i, DB_BLOB, p ? p : "", p ? n : 0);
    return sqlite3_bind_blob(st->lite, i, p, n, SQLITE_TRANSIENT);
}

int db_column_type(db_stmt_t *st, int col)
{
    return st->pg ? pg_column_type(st->pg, col) : sqlite3_column_type(st->lite, col);
}

db_int64 db_column_int64(db_stmt_t *st, int col)
{
    const char *t;
    if (!st->pg)
        return sqlite3_column_int64(st->lite, col);
    t = pg_column_text(st->pg, col);
    if (!t)
        return 0;
    if (t[0] == 't' || t[0] == 'f') /* a boolean */
        return t[0] == 't';
    return strtoll(t, NULL, 10);
}

int db_column_int(db_stmt_t *st, int col)
{
    return (int)db_column_int64(st, col);
}

double db_column_double(db_stmt_t *st, int col)
{
    const char *t;
    if (!st->pg)
        return sqlite3_column_double(st->lite, col);
    t = pg_column_text(st->pg, col);
    return t ? strtod(t, NULL) : 0.0;
}

const unsigned char *db_column_text(db_stmt_t *st, int col)
{
    return st->pg ? (const unsigned char *)pg_column_text(st->pg, col) : sqlite3_column_text(st->lite, col);
}

const void *db_column_blob(db_stmt_t *st, int col)
{
    int n;
    return st->pg ? pg_column_blob(st->pg, col, &n) : sqlite3_column_blob(st->lite, col);
}

int db_column_bytes(db_stmt_t *st, int col)
{
    int n = 0;
    if (!st->pg)
        return sqlite3_column_bytes(st->lite, col);
    pg_column_blob(st->pg, col, &n);
    return n;
}

const char *db_errmsg(db_t *db)
{
    return db->pg ? pg_errmsg(db->pg) : sqlite3_errmsg(db->lite);
}

db_int64 db_last_insert_rowid(db_t *db)
{
    return db->pg ? pg_last_insert_rowid(db->pg) : sqlite3_last_insert_rowid(db->lite);
}

int db_changes(db_t *db)
{
    return db->pg ? pg_changes(db->pg) : sqlite3_changes(db->lite);
}

int db_total_changes(db_t *db)
{
    return db->pg ? pg_total_changes(db->pg) : sqlite3_total_changes(db->lite);
}

int db_exec(db_t *db, const char *sql, void *cb, void *arg, char **err)
{
    char *e = NULL;
    int rc;
    (void)cb;
    (void)arg;
    if (err)
        *err = NULL;
    if (db->pg)
        return pg_exec(db->pg, sql, err);
    rc = sqlite3_exec(db->lite, sql, NULL, NULL, &e);
    if (err && e)
        *err = strdup(e);
    sqlite3_free(e);
    return rc;
}

void db_free(void *p)
{
    free(p);
}

void db_randomness(int n, void *out)
{
    if (n <= 0 || getrandom(out, (size_t)n, 0) != (ssize_t)n)
        sqlite3_randomness(n, out); /* getrandom cannot fail for small n after boot; belt and braces */
}
