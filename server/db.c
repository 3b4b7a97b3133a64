/* SQLite store: WAL, per-thread connections, migrations (see db.h). */
#include "db.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "schema.h"

static char *db_path;
static pthread_key_t conn_key;

static void conn_free(void *p)
{
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
    /* WAL: readers never block the writer; synchronous=NORMAL is durable across process crashes
     * in WAL mode, FULL adds durability across power loss of the server machine. */
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", NULL, NULL,
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
    if (!db || sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    rc = fn(db, arg);
    if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = -1;
    if (rc != 0)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
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
