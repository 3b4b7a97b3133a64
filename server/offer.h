/*
 * What a device is offered: versions ordered by the product's rule, releases that may go over the
 * air, which artifact of a release a device running from a given slot takes, and the offer a
 * check-in makes (api_device.c describes the rules).
 */
#ifndef OTAKIT_SERVER_OFFER_H
#define OTAKIT_SERVER_OFFER_H

#include <jansson.h>
#include "db.h"
#include <stdint.h>

/* Ordering value of a version text under the product's version rule (semver: the value the
 * releases module stores in releases.version_value; espressif: N1*1000000 + N2*1000 + N3), or -1
 * when it does not parse. */
int64_t offer_version_value(db_t *db, int64_t product, const char *version);
/* The release of product that name names: its stored text, else (semver rule) the newest release
 * of the same value ("2.1.0" names "2.1.0+0"). An Espressif label names only itself, in any
 * spelling esp_label_parse() takes (v1.2.0t45772(a) never names v1.2.0t45772(o)). Returns the
 * releases.id, or 0. */
int64_t offer_release_named(db_t *db, int64_t product, const char *name);
/* Whether the product orders versions by the espressif rule (labels). */
int offer_espressif(db_t *db, int64_t product);
/* How the product stores version: an Espressif label in its canonical form (into buf, n bytes),
 * else version itself. Returns buf or version. */
const char *offer_canonical(db_t *db, int64_t product, const char *version, char *buf, size_t n);
/* NULL when release (a releases.id) may be offered over the air, else why not (a static string):
 * an Espressif label marked (l) local or (n) no upgrade (seed 004, section 6). */
const char *offer_release_not_ota(db_t *db, int64_t release);
/* The product's Espressif product type (ptype): that of its labels (the first one fixes it, and
 * the upload refuses labels of another type). Returns it, or -1 when the product has no label. */
int64_t offer_ptype(db_t *db, int64_t product);
/* NULL when a device running version (an Espressif label of product) may take an online upgrade,
 * else why not: the running firmware's own mode is (l) local or (n) no upgrade (seed 004, 6.1),
 * or it is of another product type than the product's releases (6.1: tPTYPE). */
const char *offer_device_not_ota(db_t *db, int64_t product, const char *version);
/* The artifact of release for a device running from slot: the slot-linked image of the inactive
 * slot (1 - slot) when the release has slot-linked images, else the universal one (slot -1).
 * Returns the artifacts.id or 0 when the release has nothing this device can take. */
int64_t offer_artifact_for(db_t *db, int64_t release, int device_slot);

/* A device as its check-in sees it, once what it reported is recorded. */
typedef struct {
    int64_t id;       /* devices.id */
    char version[80]; /* the version it runs */
    int64_t value;    /* that version's ordering value (-1: unknown) */
    int slot;         /* the slot it runs from */
    int64_t counter;  /* its security counter */
} offer_device_t;

/* The manifest of d's in-flight action, starting the best running rollout's offer when none is in
 * flight; JSON null when there is nothing to offer (or it is withheld). Sets *active when an
 * action is in flight. Returns a new reference, or NULL on a database error. Runs inside the
 * caller's transaction. would_write NULL: writes what the offer needs; else read only: sets
 * *would_write to 1 (answer to be discarded) where it would have written. */
json_t *offer_current(db_t *db, const offer_device_t *d, int *active, int *would_write);

#endif
