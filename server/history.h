/*
 * A device's history: every registration, offer, report and command appends an event (shown by
 * GET .../devices/{device}), and devices.state follows its latest action.
 */
#ifndef OTAKIT_SERVER_HISTORY_H
#define OTAKIT_SERVER_HISTORY_H

#include <jansson.h>
#include "db.h"
#include <stdint.h>

/* Appends an event to a device's history (action 0: none); detail (may be NULL) is stolen.
 * Returns 0 or -1. */
int history_event(db_t *db, int64_t device, int64_t action, const char *kind, json_t *detail);
/* Recomputes devices.state from its latest action: registered (never checked in), idle,
 * updating (an action is in flight) or failed (the latest action failed or rolled back).
 * Returns 0 or -1. */
int history_device_state(db_t *db, int64_t device);
/* Whether history_device_state() would write (1: the recorded state is stale, 0: it is right),
 * read only; -1 on a database error. */
int history_device_state_due(db_t *db, int64_t device);

#endif
