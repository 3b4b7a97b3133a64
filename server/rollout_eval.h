/*
 * Rollout evaluation, shared by the rollout API and every request that moves a device forward:
 * the status of each target device, the counts per stage, and the rules that advance, pause and
 * finish a running rollout (api_rollouts.c describes them).
 *
 * Every function here expects to run inside the caller's transaction.
 */
#ifndef OTAKIT_SERVER_ROLLOUT_EVAL_H
#define OTAKIT_SERVER_ROLLOUT_EVAL_H

#include "db.h"
#include <stdint.h>

/* Per-target status inside a rollout (see rollout_counts). */
enum {
    RO_PENDING, RO_OFFERED, RO_DOWNLOADING, RO_DOWNLOADED, RO_INSTALLING, RO_INSTALLED, RO_CONFIRMED,
    RO_UP_TO_DATE, RO_FAILED, RO_ROLLED_BACK, RO_CANCELLED, RO_N
};
/* Their names in the API ("pending"...), in that order. */
extern const char *const rollout_count_names[RO_N];

typedef struct {
    int64_t total;
    int64_t n[RO_N];
} rollout_counts_t;

/* Counts the devices of each stage of a rollout by status (nstages entries, zeroed first), from
 * the counters the triggers of migration 7 keep (schema.h), in time independent of the number of
 * devices. A device's status is its latest action's for this rollout, or up_to_date when it already runs
 * the release (or a newer one), or pending. Returns 0 or -1. */
int rollout_counts(db_t *db, int64_t rollout, rollout_counts_t *per_stage, int nstages);
/* SQL of the targets of rollout ?1 with their status (columns: device, stage, device_id, action id
 * or NULL, status); a caller may append AND conditions and an ORDER BY. */
extern const char rollout_target_status_sql[];

/* Evaluates a running rollout: pauses it when a started stage's new failures reach the error
 * threshold, advances it while the current stage meets the success threshold, pauses it when the
 * current stage ended below it, and finishes it when every device reached a final status.
 * Returns 0 or -1 (database error). */
int rollout_eval(db_t *db, int64_t rollout);
/* Evaluates every running rollout that targets device. Returns 0 or -1. */
int rollout_eval_device(db_t *db, int64_t device);
/* One device event: evaluates rollout (when not 0) and every other running rollout that targets
 * device, each once. Returns 0 or -1. */
int rollout_eval_event(db_t *db, int64_t device, int64_t rollout);

#endif
