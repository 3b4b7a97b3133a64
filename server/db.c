/* SQLite store: WAL, per-thread connections, migrations (see db.h). */
#include "db.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "longpoll.h"
#include "schema.h"

static char *db_path;
static pthread_key_t conn_key;
/* One writer at a time inside this process: waiting here is a futex, not SQLite's busy handler,
 * which sleeps in millisecond steps and collapses throughput under concurrent check-ins. */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

/* Per-thread statement cache: parsing SQL was most of a device check's CPU time. */
#define STMT_CACHE 96
struct stmt_slot {
    char *sql;
    sqlite3_stmt *st;
    int in_use;
};
static __thread struct stmt_slot stmt_cache[STMT_CACHE];
static __thread sqlite3 *stmt_cache_db;

static void stmt_cache_clear(void)
{
    int i;
    for (i = 0; i < STMT_CACHE; i++) {
        sqlite3_finalize(stmt_cache[i].st);
        free(stmt_cache[i].sql);
        stmt_cache[i].sql = NULL;
        stmt_cache[i].st = NULL;
        stmt_cache[i].in_use = 0;
    }
    stmt_cache_db = NULL;
}

sqlite3_stmt *db_stmt(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
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
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return NULL;
    }
    if (free_slot >= 0 && (stmt_cache[free_slot].sql = strdup(sql)) != NULL) {
        stmt_cache[free_slot].st = st;
        stmt_cache[free_slot].in_use = 1;
    }
    return st;
}

void db_done(sqlite3_stmt *st)
{
    int i;
    if (!st)
        return;
    for (i = 0; i < STMT_CACHE; i++)
        if (stmt_cache[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            stmt_cache[i].in_use = 0;
            return;
        }
    sqlite3_finalize(st);
}

static void conn_free(void *p)
{
    if (stmt_cache_db == p)
        stmt_cache_clear();
    sqlite3_close_v2((sqlite3 *)p);
}

static sqlite3 *open_conn(void)
{
    sqlite3 *db = NULL;
    char *err = NULL;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        log_msg(LOG_ERROR, "cannot open database", "path=%s error=\"%s\"", db_path, db ? sqlite3_errmsg(db) : "oom");
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

sqlite3 *db_get(void)
{
    sqlite3 *db = pthread_getspecific(conn_key);
    if (!db && (db = open_conn()) != NULL)
        pthread_setspecific(conn_key, db);
    return db;
}

void db_close_thread(void)
{
    sqlite3 *db = pthread_getspecific(conn_key);
    if (db) {
        if (stmt_cache_db == db)
            stmt_cache_clear();
        sqlite3_close_v2(db);
        pthread_setspecific(conn_key, NULL);
    }
}

int db_schema_version(sqlite3 *db)
{
    sqlite3_stmt *st;
    int v = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

int db_tx(int (*fn)(sqlite3 *db, void *arg), void *arg)
{
    sqlite3 *db = db_get();
    int rc;
    if (!db)
        return -1;
    pthread_mutex_lock(&write_lock);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        pthread_mutex_unlock(&write_lock);
        return -1;
    }
    rc = fn(db, arg);
    if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = -1;
    if (rc != 0)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&write_lock);
    longpoll_tx_end(rc == 0); /* news made by this transaction, now visible */
    return rc;
}

static int migrate(sqlite3 *db, void *arg)
{
    int v = db_schema_version(db), n = (int)(sizeof db_migrations / sizeof db_migrations[0]);
    char *err = NULL, pragma[64];
    (void)arg;
    if (v > n) {
        log_msg(LOG_ERROR, "database is newer than this server", "schema=%d known=%d", v, n);
        return -1;
    }
    for (; v < n; v++) {
        if (sqlite3_exec(db, db_migrations[v], NULL, NULL, &err) != SQLITE_OK) {
            log_msg(LOG_ERROR, "migration failed", "to=%d error=\"%s\"", v + 1, err ? err : "?");
            sqlite3_free(err);
            return -1;
        }
        snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", v + 1);
        if (sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK)
            return -1;
        log_msg(LOG_INFO, "database migrated", "schema=%d", v + 1);
    }
    return 0;
}

int db_init(const char *path)
{
    free(db_path);
    db_path = strdup(path);
    if (!db_path || pthread_key_create(&conn_key, conn_free) != 0)
        return -1;
    if (!db_get())
        return -1;
    return db_tx(migrate, NULL) == 0 ? 0 : -1;
}
