/*
 * Releases module internals shared by api_releases.c (routes, reads, delete, download) and
 * release_upload.c (the two upload routes). Not an API for other modules.
 */
#ifndef OTAKIT_SERVER_RELEASES_H
#define OTAKIT_SERVER_RELEASES_H

#include <jansson.h>
#include "db.h"
#include <stdint.h>

#include "http.h"
#include "otakit/image.h"
#include "product_keys.h"

/* The product a request names, as the releases code needs it. */
struct rel_product {
    int64_t id;
    char pid[64];
    uint8_t der[PRODUCT_KEYS_MAX][OTA_KEY_DER_MAX]; /* its active keys (product_keys), DER as MCUboot embeds it */
    ota_pubkey_t keys[PRODUCT_KEYS_MAX];
    unsigned nkeys;
    int espressif;    /* version_rule = espressif */
};

/* Loads product pid. Returns 1 when found, 0 when absent, -1 on a database error. */
int rel_product_load(db_t *db, const char *pid, struct rel_product *p);

/* Finds the release that `version` names: the same text first, else (semver products) the same
 * semver ("1.2.3" and "v1.2.3" name "1.2.3+0"; with loose, "1.2.3-dirty" does too: uploads use
 * that to refuse duplicates, paths do not), else (espressif) the same canonical label.
 * Returns its id, or 0. */
int64_t rel_find(db_t *db, const struct rel_product *p, const char *version, int loose);

/* Release id as JSON with its artifacts (slot order; slot null = universal). NULL when absent. */
json_t *rel_json(db_t *db, const char *pid, int64_t id);

/* Copies s into buf (n bytes) with every byte outside printable ASCII replaced by '?', so that
 * request text can be echoed in a JSON error message (jansson refuses invalid UTF-8). */
const char *rel_printable(const char *s, char *buf, size_t n);

/* POST .../releases (add_to NULL) and POST .../releases/{version}/artifacts (add_to = version):
 * checks the uploaded image, resolves the version, adds the rows and commits the file. */
enum MHD_Result rel_upload(http_req_t *r, const char *add_to);

#endif
