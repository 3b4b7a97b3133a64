/*
 * Long-polling device checks: GET /api/v1/device/check?wait=N parks a check that has nothing to
 * say (no offer, no command) for up to N seconds, its connection suspended (no thread held),
 * and answers it again as soon as something makes news for its device: a rollout of its product
 * starts, resumes or advances a stage, or a command is queued for it. Past N seconds the check
 * answers "nothing" ({"update":null,"commands":[]}) as an ordinary check would.
 *
 * News is recorded inside the transaction that makes it and told to the waiters once that
 * transaction commits (db_tx calls longpoll_tx_end), so a woken check sees it.
 */
#ifndef OTAKIT_SERVER_LONGPOLL_H
#define OTAKIT_SERVER_LONGPOLL_H

#include <stdint.h>

#include "http.h"

/* The longest wait a check may ask for (seconds). */
#define LONGPOLL_MAX_S 300

/* A counter of news told so far: read it before running a check, pass it to longpoll_park(). */
uint64_t longpoll_seq(void);

/* Parks request r (r->lp: its place among the waiters, plain memory freed with r), a check of
 * device of product, until news or its deadline (wait_s seconds after it was first parked).
 * Returns 0 when r's connection is suspended (the handler returns MHD_YES without an answer and
 * runs again once woken), 1 when news came since seq (run the check again now), -1 when r must
 * be answered now (its deadline passed, or the server stops). */
int longpoll_park(http_req_t *r, int64_t device, int64_t product, unsigned wait_s, uint64_t seq);

/* Records news for one device (a command) or for every device of a product (a rollout), told to
 * the waiters when the calling thread's transaction commits. */
void longpoll_news_device(int64_t device);
void longpoll_news_product(int64_t product);

/* End of the calling thread's transaction: committed tells the news recorded in it, else drops it. */
void longpoll_tx_end(int committed);

/* Wakes every parked check to be answered now, and parks no more (before the HTTP server stops). */
void longpoll_stop(void);

#endif
