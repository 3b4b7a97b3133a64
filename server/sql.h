/*
 * Small SQL helpers for the fleet code: prepare-and-bind in one call, run a statement, read one
 * integer or a column of ids. Statements come from the thread's cache (db_stmt()); give a prepared
 * one back with db_done().
 *
 * types names the bound values in order: 'i' int64_t, 's' const char * (NULL binds NULL),
 * 'd' double, 'n' NULL (takes no argument).
 */
#ifndef OTAKIT_SERVER_SQL_H
#define OTAKIT_SERVER_SQL_H

#include <jansson.h>
#include "db.h"
#include <stdint.h>

/* A statement for sql with the values bound (owned by the caller until db_done()); NULL on error
 * (logged). */
db_stmt_t *q_prep(db_t *db, const char *sql, const char *types, ...);
/* Runs a statement to completion; returns the number of changed rows or -1 (logged). */
int q_exec(db_t *db, const char *sql, const char *types, ...);
/* First column of the first row as an integer; def when there is no row, a NULL, or an error. */
int64_t q_int(db_t *db, int64_t def, const char *sql, const char *types, ...);
/* Collects the first column (an id) of up to max rows into out. Returns the count, or -1. */
int q_ids(db_t *db, int64_t *out, int max, const char *sql, const char *types, ...);
/* Column text or "" (never NULL; valid until the statement moves on). */
const char *q_text(db_stmt_t *st, int col);
/* Column as a JSON integer, or JSON null when it is NULL (new reference). */
json_t *q_json_int(db_stmt_t *st, int col);

#endif
