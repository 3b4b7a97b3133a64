/*
 * The server's store of record: SQLite in WAL mode, one file, created and migrated on first start.
 * Each server thread gets its own connection (db_get()); statements are prepared per call.
 */
#ifndef OTAKIT_SERVER_DB_H
#define OTAKIT_SERVER_DB_H

#include <sqlite3.h>

/* Opens (creating if needed) the database at path, applies pending migrations. Returns 0 or -1
 * (the reason is logged). Call once at startup, before threads start. */
int db_init(const char *path);

/* The calling thread's connection (opened on first use). NULL on failure (logged). */
sqlite3 *db_get(void);

/* Closes the calling thread's connection (thread exit) and, from the main thread, all state. */
void db_close_thread(void);

/* Runs fn inside BEGIN IMMEDIATE ... COMMIT, rolling back when fn returns nonzero.
 * Returns fn's result, or -1 when the transaction itself failed. */
int db_tx(int (*fn)(sqlite3 *db, void *arg), void *arg);

/* Current schema version. */
int db_schema_version(sqlite3 *db);

#endif
