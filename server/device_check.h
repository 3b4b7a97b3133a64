/*
 * The device check-in (GET /api/v1/device/check), shared by the device API and the compat
 * protocols, which run the same check for their devices.
 */
#ifndef OTAKIT_SERVER_DEVICE_CHECK_H
#define OTAKIT_SERVER_DEVICE_CHECK_H

#include <stdint.h>

#include "db.h"

#include "tx.h"

/* Poll interval advice (seconds): nothing in flight / an update or a command is in flight. */
#define CHECK_POLL_IDLE 300
#define CHECK_POLL_ACTIVE 30
/* A check records devices.last_seen only when the recorded one is at least this old (seconds), and
 * then in a batch (seen.h) unless it writes anything else, so a check that changes nothing takes
 * no write lock and writes nothing (GET /metrics: otakit_checks_read_only_total). */
#define CHECK_SEEN_STEP 30

/* Runs a device check-in in one transaction, exactly as GET /api/v1/device/check does: records the
 * reported version (NULL: unchanged), slot and security counter (-1: unchanged), delivers queued
 * commands and finds the offer. On success res->out holds {"update","commands","poll_interval"}
 * (caller owns it). Returns 0, or nonzero with the error recorded in res (see tx_reply). */
int device_check_run(int64_t device, const char *version, int slot, int64_t counter, tx_res_t *res);
/* The same, also telling the device's product (products.id) into *product. */
int device_check_product(int64_t device, const char *version, int slot, int64_t counter, tx_res_t *res,
                         int64_t *product);

/* A device's report on one of its actions (POST /api/v1/device/report, and the DDI feedback). */
typedef struct {
    int64_t device;   /* devices.id of the reporting device (the action must be its own) */
    int64_t action;
    const char *status, *message, *version; /* message, version: NULL when absent */
    int64_t progress; /* 0..100, -1: absent */
    tx_res_t res;     /* the answer: {"action_id","status",...} or the error */
} device_report_t;

/* Moves the action as the report says (the transitions api_device.c describes), with its event,
 * the device's version once confirmed, and the rollout thresholds. db_tx() work function (arg: a
 * device_report_t); returns 0 or -1 with the error in res. */
int device_report_tx(db_t *db, void *arg);

/* Acks the device's command as POST /api/v1/device/commands/{id} does (status done, failed or
 * declined; message may be NULL), for protocols that ack otherwise. Returns 0 or -1. */
int device_command_ack(int64_t device, int64_t command, const char *status, const char *message);

#endif
