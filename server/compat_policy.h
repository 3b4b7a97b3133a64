/*
 * What a product lets the credential-less compat protocols do (docs/server.md, "Trust model"):
 * per-product switches stored in products.compat_*, the namespaces compat devices live in, and the
 * rate limit on their first contacts.
 */
#ifndef OTAKIT_SERVER_COMPAT_POLICY_H
#define OTAKIT_SERVER_COMPAT_POLICY_H

#include <jansson.h>
#include "db.h"
#include <stdint.h>

typedef struct {
    int esp;                /* ESP8266/ESP32 HTTP update and the AutoConnect catalog may reach the product */
    int mongoose;           /* Mongoose pull may reach the product */
    int confirm_by_version; /* a compat device reporting its update's version confirms it in rollouts */
} compat_policy_t;

/* Device ids of compat devices start with these; device registration refuses them. */
#define COMPAT_ESP_PREFIX "esp:"
#define COMPAT_MONGOOSE_PREFIX "mongoose:"
/* Longest Mongoose id (the prefixed device id stays within the 64 characters of any device id). */
#define COMPAT_MONGOOSE_ID_MAX (64 - (sizeof COMPAT_MONGOOSE_PREFIX - 1))

/* SQL columns of the policy, in compat_policy_t order (for SELECTs of products). */
#define COMPAT_POLICY_COLS "compat_esp, compat_mongoose, compat_confirm_by_version"

/* Reads product's policy (all off when the product is unknown). Returns 0 or -1. */
int compat_policy_load(db_t *db, int64_t product, compat_policy_t *p);
/* The policy from the three columns of st starting at col. */
void compat_policy_from_row(db_stmt_t *st, int col, compat_policy_t *p);
/* {"esp":bool,"mongoose":bool,"confirm_by_version":bool} (new reference). */
json_t *compat_policy_json(const compat_policy_t *p);
/* Applies a "compat" object of a request (only the keys it has) to p. Returns NULL, or why the
 * object is refused. */
const char *compat_policy_apply(json_t *in, compat_policy_t *p);

/* Whether device_id is in a compat namespace (a device registering with a token may not take it). */
int compat_reserved_id(const char *device_id);

/* Whether a compat device from addr may be registered in product now (first contacts per address
 * and per product, --first-contacts-per-ip / --first-contacts-per-product). 0 when allowed, else
 * the seconds to wait. */
unsigned compat_first_contact_wait(const char *addr, int64_t product);

#endif
