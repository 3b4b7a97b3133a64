/* Rollouts, shared between the API (api_rollouts.c) and their creation (rollout_create.c). */
#ifndef OTAKIT_SERVER_ROLLOUTS_H
#define OTAKIT_SERVER_ROLLOUTS_H

#include <jansson.h>
#include "db.h"
#include <stdint.h>

#include "http.h"

/* The rollout as the API shows it (stages with their counts), or NULL when id is not one of
 * product's rollouts. */
json_t *rollout_json(db_t *db, int64_t product, int64_t id);

/* Puts a newly registered device into the oldest open rollout made with "include_new" whose target
 * it matches and whose release it can take, in its last stage (rollout_join.c). Returns 0 (joined
 * or not) or -1 (database error). */
int rollout_join_new(db_t *db, int64_t device);

/* POST /api/v1/products/{product}/rollouts. */
enum MHD_Result rollout_create(http_req_t *r);

#endif
