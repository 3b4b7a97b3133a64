/*
 * Actions and commands of a device: the pieces that the device API (api_device.c), the owner's
 * device API (api_devices.c) and the check-in (device_check.c, offer.c) share. An action is one
 * release offered to one device; a command is an owner's order (upgrade, reboot) for one device.
 *
 * Every function here expects to run inside the caller's transaction.
 */
#ifndef OTAKIT_SERVER_DEVICE_ACTIONS_H
#define OTAKIT_SERVER_DEVICE_ACTIONS_H

#include <jansson.h>
#include "db.h"
#include <stdint.h>

/* Columns and FROM clause of a command as command_json() reads it (alias c). */
#define COMMAND_COLS                                                                                          \
    "c.id, c.type, c.status, r.version, c.consent, c.action, c.message, c.created_at, c.delivered_at, "     \
    "c.acked_at FROM commands c LEFT JOIN releases r ON r.id = c.release"

/* A command row (selected with COMMAND_COLS) as the API shows it (new reference). */
json_t *command_json(db_stmt_t *st);
/* Command id as the API shows it, or NULL when it does not exist. */
json_t *command_by_id(db_t *db, int64_t id);

/* Cancels device's offers that have not reached installing (their events say why: reason why).
 * where is "" (all of them) or an extra SQL condition using ?2 = arg ("AND id = ?2"). Then
 * re-evaluates the rollouts the device is in. Returns 0 or -1. */
int action_cancel_offers(db_t *db, int64_t device, const char *where, int64_t arg, const char *why);
/* Queues the reboot command (sys_reboot) that lets action's downloaded update take effect, unless
 * one is already queued or delivered. Returns 0 or -1. */
int command_queue_reboot(db_t *db, int64_t device, int64_t action);

#endif
