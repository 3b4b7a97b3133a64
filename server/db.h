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

/* A prepared statement for sql on db from the calling thread's cache (parsed once, then reset and
 * reused); a fresh one when that SQL is already in use further up the stack. NULL on error. Give
 * it back with db_done(). */
sqlite3_stmt *db_stmt(sqlite3 *db, const char *sql);

/* Ends the use of a statement: a cached one is reset for the next db_stmt(), any other is
 * finalized. NULL is fine. */
void db_done(sqlite3_stmt *st);

/* Current schema version. */
int db_schema_version(sqlite3 *db);

#endif
