/*
 * Fleet logic shared by the device API (api_devices.c) and the rollout API (api_rollouts.c):
 * small SQL helpers, request results produced inside a transaction, the event history, which
 * artifact a device gets, and rollout evaluation (stage counts, automatic advance and pause).
 *
 * Every function that takes a sqlite3 * expects to run inside db_tx(): the caller's whole request
 * is one transaction, so a crash never leaves half a change.
 */
#ifndef OTAKIT_SERVER_FLEET_H
#define OTAKIT_SERVER_FLEET_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

#include "http.h"

/* Poll interval advice (seconds): nothing in flight / an update or a command is in flight. */
#define FLEET_POLL_IDLE 300
#define FLEET_POLL_ACTIVE 30

/* ---- SQL helpers ---------------------------------------------------------------------------
 * types names the bound values in order: 'i' int64_t, 's' const char * (NULL binds NULL),
 * 'd' double, 'n' NULL (takes no argument). */
sqlite3_stmt *q_prep(sqlite3 *db, const char *sql, const char *types, ...);
/* Runs a statement to completion; returns the number of changed rows or -1. */
int q_exec(sqlite3 *db, const char *sql, const char *types, ...);
/* First column of the first row as an integer; def when there is no row or on error. */
int64_t q_int(sqlite3 *db, int64_t def, const char *sql, const char *types, ...);
/* Collects the first column (an id) of up to max rows into out. Returns the count, or -1. */
int q_ids(sqlite3 *db, int64_t *out, int max, const char *sql, const char *types, ...);
/* Column text or "" (never NULL). */
const char *q_text(sqlite3_stmt *st, int col);

/* ---- results of a transaction --------------------------------------------------------------- */
typedef struct {
    int failed;    /* an error was recorded (fleet_fail) */
    err_t err;     /* which (errors.h) */
    char msg[256];
    json_t *out;   /* the success body */
} fleet_res_t;

/* Records error e with a message for the reply; returns -1 (so "return fleet_fail(...)" rolls back). */
int fleet_fail(fleet_res_t *res, err_t e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Records a database error (500 "database") with SQLite's message; returns -1. */
int fleet_dberr(fleet_res_t *res, sqlite3 *db);
/* Answers a request after db_tx(): res->out with ok_status (204: no body) when rc == 0, else the
 * recorded error, else 500 "database". Frees res->out when it is not sent. */
enum MHD_Result fleet_reply(http_req_t *r, int rc, fleet_res_t *res, unsigned ok_status);

/* Runs fn inside a read transaction (BEGIN DEFERRED: one consistent snapshot, no write lock).
 * Returns fn's result, or -1 when the transaction itself failed. */
int fleet_read(int (*fn)(sqlite3 *db, void *arg), void *arg);

/* ---- lookups -------------------------------------------------------------------------------- */
/* products.id of the {product} path parameter (0 when unknown). */
int64_t fleet_product_id(sqlite3 *db, const char *product_id);
/* devices.id of device_id in product (0 when unknown). */
int64_t fleet_device_id(sqlite3 *db, int64_t product, const char *device_id);
/* Device ids and group names: 1-64 characters of A-Z a-z 0-9 . _ : - */
int fleet_ident_ok(const char *s);
/* Text a device or an operator sends that ends up in views (versions, hardware revisions):
 * 1..max bytes of printable ASCII, spaces only when allowed (so always valid UTF-8). */
int fleet_text_ok(const char *s, size_t max, int spaces);
/* Parses a decimal id path parameter (> 0); 0 when malformed. */
int64_t fleet_parse_id(const char *s);

/* Ordering value of a version text under the product's version rule (semver: the value the
 * releases module stores in releases.version_value; espressif: N1*1000000 + N2*1000 + N3), or -1
 * when it does not parse. */
int64_t fleet_version_value(sqlite3 *db, int64_t product, const char *version);
/* NULL when release (a releases.id) may be offered over the air, else why not: an Espressif label
 * marked (l) local or (n) no upgrade (seed 004, section 6). */
const char *fleet_release_not_ota(sqlite3 *db, int64_t release);

/* ---- history -------------------------------------------------------------------------------- */
/* Appends an event to a device's history; detail (may be NULL) is stolen. Returns 0 or -1. */
int fleet_event(sqlite3 *db, int64_t device, int64_t action, const char *kind, json_t *detail);
/* Recomputes devices.state from its latest action: registered (never checked in), idle,
 * updating (an action is in flight) or failed (the latest action failed or rolled back). */
int fleet_device_state(sqlite3 *db, int64_t device);

/* ---- artifacts ------------------------------------------------------------------------------ */
/* The artifact of release for a device running from slot: the slot-linked image of the inactive
 * slot (1 - slot) when the release has slot-linked images, else the universal one (slot -1).
 * Returns the artifacts.id or 0 when the release has nothing this device can take. */
int64_t fleet_artifact_for(sqlite3 *db, int64_t release, int device_slot);

/* ---- rollouts ------------------------------------------------------------------------------- */
/* Per-target status inside a rollout (see fleet_counts). */
enum {
    FC_PENDING, FC_OFFERED, FC_DOWNLOADING, FC_DOWNLOADED, FC_INSTALLING, FC_INSTALLED, FC_CONFIRMED,
    FC_UP_TO_DATE, FC_FAILED, FC_ROLLED_BACK, FC_CANCELLED, FC_N
};
extern const char *const fleet_count_names[FC_N];

typedef struct {
    int64_t total;
    int64_t n[FC_N];
} fleet_counts_t;

/* Counts the devices of each stage of a rollout by status (nstages entries, zeroed first).
 * A device's status is its latest action's for this rollout, or up_to_date when it already runs
 * the release (or a newer one), or pending. Returns 0 or -1. */
int fleet_counts(sqlite3 *db, int64_t rollout, fleet_counts_t *per_stage, int nstages);
/* SQL expression evaluating to a target's status (for listing); columns t (rollout_targets). */
extern const char fleet_target_status_sql[];

/* Evaluates a running rollout: pauses it when a started stage's new failures reach the error
 * threshold, advances it while the current stage meets the success threshold, pauses it when the
 * current stage ended below it, and finishes it when every device reached a final status.
 * Returns 0 or -1 (database error). */
int fleet_rollout_eval(sqlite3 *db, int64_t rollout);
/* Evaluates every running rollout that targets device. */
int fleet_rollouts_eval_device(sqlite3 *db, int64_t device);

/* ---- device check (api_devices.c) ------------------------------------------------------------ */
/* Runs a device check-in in one transaction, exactly as GET /api/v1/device/check does: records the
 * reported version (NULL: unchanged), slot and security counter (-1: unchanged), delivers queued
 * commands and finds the offer. On success res->out holds {"update","commands","poll_interval"}
 * (caller owns it). Returns 0, or nonzero with the error recorded in res (see fleet_reply). */
int device_check_run(int64_t device, const char *version, int slot, int64_t counter, fleet_res_t *res);

#endif
