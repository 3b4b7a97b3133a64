/* The store: backend choice, per-thread connections, statement cache, write transactions and
 * migrations (see db.h). Statement calls are in db_stmt.c, PostgreSQL specifics in db_pg.c. */
#include "db.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_impl.h"
#include "log.h"
#include "longpoll.h"
#include "schema.h"
#include "schema_pg.h"

static char *db_where;
static int db_pg_mode;
static pthread_key_t conn_key;
/* One writer at a time inside this process: waiting here is a futex, not SQLite's busy handler,
 * which sleeps in millisecond steps and collapses throughput under concurrent check-ins. */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

/* Per-thread statement cache: parsing SQL was most of a device check's CPU time. */
#define STMT_CACHE 96
struct stmt_slot {
    char *sql;
    db_stmt_t *st;
    int in_use;
};
static __thread struct stmt_slot stmt_cache[STMT_CACHE];
static __thread db_t *stmt_cache_db;

int db_is_postgres(const char *where)
{
    return where && (!strncmp(where, "postgres://", 11) || !strncmp(where, "postgresql://", 13));
}

int db_postgres(void)
{
    return db_pg_mode;
}

static void stmt_cache_clear(void)
{
    int i;
    for (i = 0; i < STMT_CACHE; i++) {
        db_finalize(stmt_cache[i].st);
        free(stmt_cache[i].sql);
        stmt_cache[i].sql = NULL;
        stmt_cache[i].st = NULL;
        stmt_cache[i].in_use = 0;
    }
    stmt_cache_db = NULL;
}

db_stmt_t *db_stmt(db_t *db, const char *sql)
{
    db_stmt_t *st = NULL;
    int i, free_slot = -1;
    if (stmt_cache_db != db)
        stmt_cache_clear();
    stmt_cache_db = db;
    for (i = 0; i < STMT_CACHE; i++) {
        if (!stmt_cache[i].sql) {
            if (free_slot < 0)
                free_slot = i;
            continue;
        }
        if (!stmt_cache[i].in_use && !strcmp(stmt_cache[i].sql, sql)) {
            stmt_cache[i].in_use = 1;
            return stmt_cache[i].st;
        }
    }
    if (db_prepare_v2(db, sql, -1, &st, NULL) != DB_OK) {
        db_finalize(st);
        return NULL;
    }
    if (free_slot >= 0 && (stmt_cache[free_slot].sql = strdup(sql)) != NULL) {
        stmt_cache[free_slot].st = st;
        stmt_cache[free_slot].in_use = 1;
    }
    return st;
}

void db_done(db_stmt_t *st)
{
    int i;
    if (!st)
        return;
    for (i = 0; i < STMT_CACHE; i++)
        if (stmt_cache[i].st == st) {
            db_reset(st);
            db_clear_bindings(st);
            stmt_cache[i].in_use = 0;
            return;
        }
    db_finalize(st);
}

static void conn_close(db_t *db)
{
    if (!db)
        return;
    if (stmt_cache_db == db)
        stmt_cache_clear();
    if (db->lite)
        sqlite3_close_v2(db->lite);
    if (db->pg)
        pg_close(db->pg);
    free(db);
}

static void conn_free(void *p)
{
    conn_close(p);
}

static sqlite3 *open_sqlite(const char *path)
{
    sqlite3 *db = NULL;
    char *err = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        log_msg(LOG_ERROR, "cannot open database", "path=%s error=\"%s\"", path, db ? sqlite3_errmsg(db) : "oom");
        sqlite3_close_v2(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    /* WAL: readers never block the writer. synchronous=NORMAL in WAL mode keeps every committed
     * transaction across a crash of the server process (kill -9) and the database consistent
     * across power loss of the machine, without an fsync per device check-in. */
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", NULL, NULL,
                     &err) != SQLITE_OK) {
        log_msg(LOG_ERROR, "cannot configure database", "error=\"%s\"", err ? err : "?");
        sqlite3_free(err);
        sqlite3_close_v2(db);
        return NULL;
    }
    return db;
}

static db_t *open_conn(void)
{
    db_t *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    if (db_pg_mode)
        db->pg = pg_open(db_where);
    else
        db->lite = open_sqlite(db_where);
    if (!db->lite && !db->pg) {
        free(db);
        return NULL;
    }
    return db;
}

db_t *db_get(void)
{
    db_t *db = pthread_getspecific(conn_key);
    if (!db && (db = open_conn()) != NULL)
        pthread_setspecific(conn_key, db);
    return db;
}

void db_close_thread(void)
{
    db_t *db = pthread_getspecific(conn_key);
    if (db) {
        conn_close(db);
        pthread_setspecific(conn_key, NULL);
    }
}

int db_schema_version(db_t *db)
{
    db_stmt_t *st;
    int v = 0;
    if (db_prepare_v2(db, db->pg ? "SELECT version FROM otakit_schema" : "PRAGMA user_version", -1, &st, NULL) ==
            DB_OK &&
        db_step(st) == DB_ROW)
        v = db_column_int(st, 0);
    db_finalize(st);
    return v;
}

/* The advisory lock key every server process takes for a write transaction on PostgreSQL. */
#define PG_WRITE_LOCK "SELECT pg_advisory_xact_lock(7105436417)"

int db_tx(int (*fn)(db_t *db, void *arg), void *arg)
{
    db_t *db = db_get();
    int rc;
    if (!db)
        return -1;
    pthread_mutex_lock(&write_lock);
    if (db_exec(db, db->pg ? "BEGIN; " PG_WRITE_LOCK : "BEGIN IMMEDIATE", NULL, NULL, NULL) != DB_OK) {
        if (db->pg)
            db_exec(db, "ROLLBACK", NULL, NULL, NULL);
        pthread_mutex_unlock(&write_lock);
        return -1;
    }
    rc = fn(db, arg);
    if (rc == 0 && db->pg && pg_tx_failed(db->pg)) { /* fn went on past a failed statement */
        log_msg(LOG_ERROR, "a write transaction went on after a failed statement: rolled back",
                "error=\"%s\"", pg_errmsg(db->pg));
        rc = -1;
    }
    if (rc == 0 && db_exec(db, "COMMIT", NULL, NULL, NULL) != DB_OK)
        rc = -1;
    if (rc != 0)
        db_exec(db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&write_lock);
    longpoll_tx_end(rc == 0); /* news made by this transaction, now visible */
    return rc;
}

int db_cluster_lock(int on)
{
    db_t *db;
    if (!db_pg_mode)
        return 0;
    if (!(db = db_get()))
        return -1;
    return db_exec(db, on ? "SELECT pg_advisory_lock(7105436418)" : "SELECT pg_advisory_unlock(7105436418)", NULL,
                   NULL, NULL) == DB_OK
               ? 0
               : -1;
}

/* The text of migration v (0-based) for this connection's backend. */
static char *migration_text(db_t *db, int v)
{
    size_t i;
    if (!db->pg)
        return strdup(db_migrations[v]);
    for (i = 0; i < sizeof db_migrations_pg / sizeof db_migrations_pg[0]; i++)
        if (db_migrations_pg[i].version == v + 1)
            return strdup(db_migrations_pg[i].sql);
    return pg_ddl(db_migrations[v]);
}

static int migrate(db_t *db, void *arg)
{
    int v, n = (int)(sizeof db_migrations / sizeof db_migrations[0]);
    char *err = NULL, *sql, setv[80];
    (void)arg;
    if (db->pg && db_exec(db, DB_PG_PRELUDE, NULL, NULL, &err) != DB_OK) {
        log_msg(LOG_ERROR, "cannot prepare the PostgreSQL schema", "error=\"%s\"", err ? err : "?");
        db_free(err);
        return -1;
    }
    v = db_schema_version(db);
    if (v > n) {
        log_msg(LOG_ERROR, "database is newer than this server", "schema=%d known=%d", v, n);
        return -1;
    }
    for (; v < n; v++) {
        if (!(sql = migration_text(db, v)))
            return -1;
        if (db_exec(db, sql, NULL, NULL, &err) != DB_OK) {
            log_msg(LOG_ERROR, "migration failed", "to=%d error=\"%s\"", v + 1, err ? err : "?");
            db_free(err);
            free(sql);
            return -1;
        }
        free(sql);
        snprintf(setv, sizeof setv, db->pg ? "UPDATE otakit_schema SET version = %d" : "PRAGMA user_version=%d", v + 1);
        if (db_exec(db, setv, NULL, NULL, NULL) != DB_OK)
            return -1;
        log_msg(LOG_INFO, "database migrated", "schema=%d", v + 1);
    }
    return 0;
}

int db_init(const char *where)
{
    free(db_where);
    db_where = strdup(where);
    db_pg_mode = db_is_postgres(where);
    if (!db_where || pthread_key_create(&conn_key, conn_free) != 0)
        return -1;
    if (!db_get())
        return -1;
    return db_tx(migrate, NULL) == 0 ? 0 : -1;
}
