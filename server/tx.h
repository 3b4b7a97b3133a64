/*
 * One request, one transaction: a handler runs its work in db_tx() (writes) or tx_read() (reads),
 * records the answer in a tx_res_t (the success body, or an error from errors.h), and answers
 * with tx_reply() once the transaction is over. "return tx_fail(...)" inside the work rolls it
 * back, so a request never half-succeeds.
 */
#ifndef OTAKIT_SERVER_TX_H
#define OTAKIT_SERVER_TX_H

#include <jansson.h>
#include "db.h"

#include "errors.h"
#include "http.h"

typedef struct {
    int failed;    /* an error was recorded (tx_fail) */
    err_t err;     /* which (errors.h) */
    char msg[256];
    json_t *out;   /* the success body (owned; tx_reply sends or frees it) */
} tx_res_t;

/* Records error e with a message for the reply; returns -1 (so "return tx_fail(...)" rolls back). */
int tx_fail(tx_res_t *res, err_t e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Records a database error (500 "database") with SQLite's message; returns -1. */
int tx_dberr(tx_res_t *res, db_t *db);
/* Answers a request after its transaction: res->out with ok_status (204: no body) when rc == 0,
 * else the recorded error, else 500 "database". Frees res->out when it is not sent. */
enum MHD_Result tx_reply(http_req_t *r, int rc, tx_res_t *res, unsigned ok_status);

/* Runs fn inside a read transaction (BEGIN DEFERRED: one consistent snapshot, no write lock).
 * Returns fn's result, or -1 when the transaction itself failed. */
int tx_read(int (*fn)(db_t *db, void *arg), void *arg);

#endif
