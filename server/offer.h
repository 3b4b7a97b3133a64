/*
 * What may be offered to a device: versions ordered by the product's rule, releases that may go
 * over the air, and which artifact of a release a device running from a given slot takes.
 */
#ifndef OTAKIT_SERVER_OFFER_H
#define OTAKIT_SERVER_OFFER_H

#include <sqlite3.h>
#include <stdint.h>

/* Ordering value of a version text under the product's version rule (semver: the value the
 * releases module stores in releases.version_value; espressif: N1*1000000 + N2*1000 + N3), or -1
 * when it does not parse. */
int64_t offer_version_value(sqlite3 *db, int64_t product, const char *version);
/* NULL when release (a releases.id) may be offered over the air, else why not (a static string):
 * an Espressif label marked (l) local or (n) no upgrade (seed 004, section 6). */
const char *offer_release_not_ota(sqlite3 *db, int64_t release);
/* The artifact of release for a device running from slot: the slot-linked image of the inactive
 * slot (1 - slot) when the release has slot-linked images, else the universal one (slot -1).
 * Returns the artifacts.id or 0 when the release has nothing this device can take. */
int64_t offer_artifact_for(sqlite3 *db, int64_t release, int device_slot);

#endif
