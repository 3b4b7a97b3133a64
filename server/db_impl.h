/* What the store's modules share behind db.h: the connection and statement structs, and the
 * PostgreSQL backend's entry points (db_pg.c). Only db*.c include this. */
#ifndef OTAKIT_SERVER_DB_IMPL_H
#define OTAKIT_SERVER_DB_IMPL_H

#include <sqlite3.h>

#include "db.h"

struct pg_conn;
struct pg_stmt;

struct db_conn {
    sqlite3 *lite;       /* SQLite backend */
    struct pg_conn *pg;  /* PostgreSQL backend */
};

struct db_stmt_s {
    db_t *db;
    sqlite3_stmt *lite;
    struct pg_stmt *pg;
};

/* ---- PostgreSQL backend (db_pg.c) ---- */
struct pg_conn *pg_open(const char *uri);
void pg_close(struct pg_conn *c);
const char *pg_errmsg(struct pg_conn *c);
int pg_exec(struct pg_conn *c, const char *sql, char **err);
int pg_prepare(struct pg_conn *c, const char *sql, struct pg_stmt **out);
int pg_step(struct pg_stmt *s);
int pg_reset(struct pg_stmt *s);
void pg_clear(struct pg_stmt *s);
void pg_finalize(struct pg_stmt *s);
int pg_bind(struct pg_stmt *s, int i, int type, const void *p, int n);
int pg_column_type(struct pg_stmt *s, int col);
const char *pg_column_text(struct pg_stmt *s, int col);
const void *pg_column_blob(struct pg_stmt *s, int col, int *len);
/* 1 when a statement of the open transaction failed: PostgreSQL then refuses every statement until
 * ROLLBACK, and answers COMMIT by rolling back. */
int pg_tx_failed(struct pg_conn *c);
int64_t pg_last_insert_rowid(struct pg_conn *c);
int pg_changes(struct pg_conn *c);
int pg_total_changes(struct pg_conn *c);
/* The migration text for PostgreSQL: SQLite's DDL types mapped (INTEGER PRIMARY KEY to an identity
 * column, INTEGER to BIGINT, REAL to DOUBLE PRECISION, BLOB to BYTEA). malloc'd. */
char *pg_ddl(const char *sqlite_ddl);

#endif
