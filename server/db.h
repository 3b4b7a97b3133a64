/*
 * The server's store of record, behind one interface with two backends:
 *   - SQLite (the embedded default): one file in WAL mode, created and migrated on first start;
 *   - PostgreSQL (db_init("postgres://...")): several server processes may share one database.
 * Each server thread gets its own connection (db_get()); statements come from a per-thread cache.
 *
 * The statement calls mirror the SQLite C API the server was written against (db_prepare_v2,
 * db_bind_*, db_step, db_column_*, DB_ROW...), so that code written with sqlite3_* converts by a
 * rename (scripts/dev/db-convert.sh). SQL is written in SQLite's dialect with ? or ?N parameters;
 * the PostgreSQL backend translates it when it prepares a statement (db_pg.c says what it covers).
 */
#ifndef OTAKIT_SERVER_DB_H
#define OTAKIT_SERVER_DB_H

#include <stdint.h>

typedef struct db_conn db_t;
typedef struct db_stmt_s db_stmt_t;
typedef int64_t db_int64;
typedef void (*db_destructor_type)(void *);

/* Result codes (the values of SQLite's). */
#define DB_OK 0
#define DB_ERROR 1
#define DB_BUSY 5
#define DB_LOCKED 6
#define DB_CONSTRAINT 19
#define DB_ROW 100
#define DB_DONE 101
/* Column types (db_column_type()). */
#define DB_INTEGER 1
#define DB_FLOAT 2
#define DB_TEXT 3
#define DB_BLOB 4
#define DB_NULL 5
/* Text and blob binding: the value stays valid until the statement ends / is copied now. Both
 * backends copy anyway; the two exist so converted calls keep their meaning. */
#define DB_STATIC ((db_destructor_type)0)
#define DB_TRANSIENT ((db_destructor_type)-1)

/* Opens (creating if needed) the store, applies pending migrations. where: a SQLite file path, or a
 * PostgreSQL URI ("postgres://..." / "postgresql://..."). Returns 0 or -1 (the reason is logged).
 * Call once at startup, before threads start. */
int db_init(const char *where);
/* 1 when where names a PostgreSQL database. */
int db_is_postgres(const char *where);
/* 1 when the open store is PostgreSQL. */
int db_postgres(void);

/* The calling thread's connection (opened on first use). NULL on failure (logged). */
db_t *db_get(void);

/* Closes the calling thread's connection (thread exit) and, from the main thread, all state. */
void db_close_thread(void);

/* Runs fn as the only writer: SQLite BEGIN IMMEDIATE; PostgreSQL BEGIN and a transaction-scoped
 * advisory lock shared by every server process on the database. COMMIT, or ROLLBACK when fn
 * returns nonzero. Returns fn's result, or -1 when the transaction itself failed. fn gives up
 * (returns nonzero) at its first failed statement: on PostgreSQL that statement has ended the
 * transaction (no savepoints), so one that fn went on past is rolled back, logged, and -1. */
int db_tx(int (*fn)(db_t *db, void *arg), void *arg);

/* Takes (on nonzero) or releases a lock that one thread of all server processes sharing the store
 * holds at a time, across transactions (PostgreSQL: a session advisory lock on the calling
 * thread's connection; SQLite: nothing, the callers' own mutex suffices). Returns 0 or -1. */
int db_cluster_lock(int on);

/* A prepared statement for sql on db from the calling thread's cache (parsed once, then reset and
 * reused); a fresh one when that SQL is already in use further up the stack. NULL on error. Give
 * it back with db_done(). */
db_stmt_t *db_stmt(db_t *db, const char *sql);

/* Ends the use of a statement: a cached one is reset for the next db_stmt(), any other is
 * finalized. NULL is fine. */
void db_done(db_stmt_t *st);

/* Current schema version. */
int db_schema_version(db_t *db);

/* ---- statements (SQLite's semantics; see the file comment) ---------------------------------- */
int db_prepare_v2(db_t *db, const char *sql, int n, db_stmt_t **out, const char **tail);
int db_step(db_stmt_t *st);
int db_reset(db_stmt_t *st);
int db_clear_bindings(db_stmt_t *st);
int db_finalize(db_stmt_t *st);
int db_bind_int(db_stmt_t *st, int i, int v);
int db_bind_int64(db_stmt_t *st, int i, db_int64 v);
int db_bind_double(db_stmt_t *st, int i, double v);
int db_bind_null(db_stmt_t *st, int i);
int db_bind_text(db_stmt_t *st, int i, const char *s, int n, db_destructor_type d);
int db_bind_blob(db_stmt_t *st, int i, const void *p, int n, db_destructor_type d);
int db_column_type(db_stmt_t *st, int col);
int db_column_int(db_stmt_t *st, int col);
db_int64 db_column_int64(db_stmt_t *st, int col);
double db_column_double(db_stmt_t *st, int col);
const unsigned char *db_column_text(db_stmt_t *st, int col);
const void *db_column_blob(db_stmt_t *st, int col);
int db_column_bytes(db_stmt_t *st, int col);
/* ---- connection ---------------------------------------------------------------------------- */
const char *db_errmsg(db_t *db);
db_int64 db_last_insert_rowid(db_t *db);
int db_changes(db_t *db);
int db_total_changes(db_t *db);
/* Runs one or more statements without parameters; cb must be NULL. *err (when err is not NULL)
 * gets a message to release with db_free(). */
int db_exec(db_t *db, const char *sql, void *cb, void *arg, char **err);
void db_free(void *p);
/* n random bytes from the operating system. */
void db_randomness(int n, void *out);

#endif
