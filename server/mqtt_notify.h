/*
 * Rollout notices over MQTT (--mqtt URL, off by default): when a rollout starts, otakit-server
 * publishes one message per product on "otakit/<product>/update" (QoS 1), so devices that keep a
 * broker connection check at once instead of at their next poll. The notice carries what a device
 * needs to start the HTTP(S) pull it would start after a poll:
 *   {"event":"rollout","product":"sim","rollout":7,"version":"2.0.0","size":20480,
 *    "sha256":"<hex>","check":"<public url>/api/v1/device/check"}
 * It grants nothing: the device still checks with its own token, and the check decides whether
 * this device is in the rollout. Reports go back over HTTP as always. The broker client is
 * Debian's libmosquitto, run in its own thread (reconnecting by itself).
 */
#ifndef OTAKIT_SERVER_MQTT_NOTIFY_H
#define OTAKIT_SERVER_MQTT_NOTIFY_H

#include <jansson.h>
#include "db.h"
#include <stdint.h>

/* Connects to the broker at url ("mqtt://host[:port]" or "host[:port]"). Returns 0, or -1 with a
 * log line (bad URL; the broker need not be up yet: the client keeps trying). */
int mqtt_notify_start(const char *url);

/* 1 when --mqtt was given. */
int mqtt_notify_enabled(void);

/* Inside the rollout's transaction: the notice of rollout id of release rel of product (its id
 * string), or NULL when notices are off. The caller passes it to mqtt_notify_send() once the
 * transaction committed (or json_decref()s it). */
json_t *mqtt_notice_build(db_t *db, const char *product, int64_t rollout, int64_t rel);

/* Publishes a notice built by mqtt_notice_build() and frees it (NULL: nothing). */
void mqtt_notify_send(json_t *notice);

/* Disconnects (at shutdown). */
void mqtt_notify_stop(void);

#endif
