/* Version rules and the artifact a device gets (see offer.h). */
#include "offer.h"

#include "db.h"
#include "imgcheck.h"
#include "sql.h"

static int espressif_rule(sqlite3 *db, int64_t product)
{
    return (int)q_int(db, 0, "SELECT version_rule = 'espressif' FROM products WHERE id = ?", "i", product);
}

int64_t offer_version_value(sqlite3 *db, int64_t product, const char *version)
{
    if (!version || !*version)
        return -1;
    if (espressif_rule(db, product)) {
        esp_label_t l;
        return esp_label_parse(version, &l) == 0 ? esp_label_value(&l) : -1;
    } else {
        ota_version_t v;
        return semver_parse_loose(version, &v) == 0 ? semver_value(&v) : -1;
    }
}

const char *offer_release_not_ota(sqlite3 *db, int64_t release)
{
    sqlite3_stmt *st = q_prep(db,
                              "SELECT r.version, p.version_rule = 'espressif' FROM releases r "
                              "JOIN products p ON p.id = r.product WHERE r.id = ?",
                              "i", release);
    const char *why = NULL;
    esp_label_t l;
    if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 1) &&
        esp_label_parse(q_text(st, 0), &l) == 0) {
        if (l.fota == 'n')
            why = "its label is marked (n): no upgrade";
        else if (l.fota == 'l')
            why = "its label is marked (l): local upgrade only";
    }
    db_done(st);
    return why;
}

int64_t offer_artifact_for(sqlite3 *db, int64_t release, int device_slot)
{
    /* A slot-linked image for the inactive slot wins over a universal one; an image linked to the
     * running slot is never offered (it would overwrite the running firmware's address range). */
    return q_int(db, 0,
                 "SELECT id FROM artifacts WHERE release = ? AND (slot = -1 OR slot = ?) ORDER BY slot DESC LIMIT 1",
                 "ii", release, (int64_t)(1 - (device_slot ? 1 : 0)));
}

