/*
 * Delta offers: a signed patch from the release a device runs to the image it is offered, computed
 * the first time a device asks for it (lib/delta.c) and kept content-addressed in DATA/deltas:
 *
 *   DATA/deltas/<sha256 of the patch>            the patch (GET /api/v1/deltas/{patch})
 *   DATA/deltas/<sha256 of the patch>.pair       "<base sha256> <target sha256>\n"
 *   DATA/deltas/by-pair/<base sha256>-<target sha256>   the patch's name
 *
 * Each file is written to a temporary name and renamed, so a crash leaves a whole file or none.
 * A patch lives as long as both its images: deleting the last release of either removes it.
 * Patches are signed with the key given by --delta-key (the product key, or a key the devices
 * trust for patches); without one, no delta is offered.
 */
#ifndef OTAKIT_SERVER_DELTA_H
#define OTAKIT_SERVER_DELTA_H

#include <jansson.h>
#include <stdint.h>

#include "http.h"

/* Loads the signing key (path NULL: deltas off) and creates DATA/deltas. Call once at startup,
 * after the data directory exists. Returns 0, or -1 (logged) when the key cannot be used. */
int delta_init(const char *key_path);

/* Adds "delta": {"url","size","sha256","base_sha256"} to update (a check answer's "update"
 * object) when deltas are on, the device runs a known release of its product from slot (-1:
 * unknown, taken as 0) whose image differs from the offered one, and the patch is smaller than
 * the image. Runs outside any transaction; computes the patch when it is not cached. Failures
 * only leave the delta out (logged). */
void delta_attach(int64_t device, const char *version, int slot, json_t *update);

/* Removes every cached patch from or to the image sha256 (its files and by-pair entry); call once
 * no release refers to that image any more (a deleted release's last reference). Works whether or
 * not deltas are on. Returns how many patches were removed. */
int delta_forget(const char *sha256);

/* Removes the cached patches whose base or target is no longer the image of any release (what a
 * delete on another server process, or before this cleanup existed, left). Call at startup after
 * db_init(). Returns how many patches were removed. */
int delta_sweep(void);

extern const http_route_t delta_routes[];

#endif
