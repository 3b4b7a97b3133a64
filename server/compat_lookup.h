/*
 * What every credential-less compat protocol (compat.c, compat_mongoose.c) does before it answers:
 * find the product (only when its owner switched the protocol on), find or register the device in
 * the protocol's namespace, settle what the device's claims say about its in-flight update, and
 * run the native check for it.
 */
#ifndef OTAKIT_SERVER_COMPAT_LOOKUP_H
#define OTAKIT_SERVER_COMPAT_LOOKUP_H

#include <jansson.h>
#include "db.h"
#include <stdint.h>

#include "compat_policy.h"
#include "http.h"

/* Boot states a device may claim (Mongoose's MG_OTA_* in src/ota.h: boot=0..3). */
enum {
    COMPAT_BOOT_NONE = -1,    /* the protocol says nothing about it */
    COMPAT_BOOT_CONFIRMED = 0,
    COMPAT_BOOT_TESTING = 1,  /* new firmware, first boot */
    COMPAT_BOOT_TRIAL = 2,    /* MG_OTA_FAILED: running on trial, rolls back unless committed in time */
    COMPAT_BOOT_ROLLEDBACK = 3
};

typedef struct {
    const char *product_id;
    const char *mac;       /* ESP: the STA-MAC, or NULL */
    const char *device_id; /* in the protocol's namespace: "esp:<MAC>" or "mongoose:<id>" */
    const char *version;   /* the version the device says it runs, or NULL */
    const char *via;       /* "esp" or "mongoose" */
    const char *addr;      /* the client's address (first-contact limit) */
    int boot;              /* COMPAT_BOOT_* the device claims */
    compat_policy_t pol;
    int64_t product;       /* out: products.id */
    int64_t device;        /* out: devices.id */
    unsigned wait;         /* out: first contact refused: seconds to wait */
} compat_lookup_t;

/* products.id of product_id when its owner lets protocol via ("esp" or "mongoose") reach it, else
 * 0 (unknown, or switched off: the same 404, so a switched-off product is not revealed). */
int64_t compat_product(db_t *db, const char *product_id, const char *via, compat_policy_t *pol);

/* In one transaction: the product, the device (registered on first contact), and what its claims
 * settle (see compat_lookup.c). Returns 0, 1 (no such product for this protocol), 3 (first contact
 * over the rate limit, l->wait set) or -1. */
int compat_lookup(compat_lookup_t *l);

/* The answer for a compat_lookup() failure err. */
enum MHD_Result compat_lookup_error(http_req_t *r, int err, unsigned wait);

/* Runs the native check for a compat device; returns the offered update manifest (owned) or NULL
 * (nothing to offer, or *err set on a database error). */
json_t *compat_offer(int64_t device, const char *version, int *err);

/* Whether versions a and b of the product are the same version: equal strings, or equal values by
 * the product's version rule ("2.0.0" and "2.0.0+0"). */
int compat_same_version(db_t *db, int64_t product, const char *a, const char *b);

#endif
