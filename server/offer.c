/* Version rules, the artifact a device gets, and the offer a check-in makes (see offer.h). */
#include "offer.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "device_actions.h"
#include "history.h"
#include "imgcheck.h"
#include "log.h"
#include "server.h"
#include "sql.h"

int offer_espressif(db_t *db, int64_t product)
{
    return (int)q_int(db, 0, "SELECT version_rule = 'espressif' FROM products WHERE id = ?", "i", product);
}

const char *offer_canonical(db_t *db, int64_t product, const char *version, char *buf, size_t n)
{
    esp_label_t l;
    if (!version || !offer_espressif(db, product) || esp_label_parse(version, &l) != 0)
        return version;
    esp_label_format(&l, buf, n);
    return buf;
}

int64_t offer_version_value(db_t *db, int64_t product, const char *version)
{
    if (!version || !*version)
        return -1;
    if (offer_espressif(db, product)) {
        esp_label_t l;
        return esp_label_parse(version, &l) == 0 ? esp_label_value(&l) : -1;
    } else {
        ota_version_t v;
        return semver_parse_loose(version, &v) == 0 ? semver_value(&v) : -1;
    }
}

const char *offer_release_not_ota(db_t *db, int64_t release)
{
    db_stmt_t *st = q_prep(db,
                              "SELECT r.version, p.version_rule = 'espressif' FROM releases r "
                              "JOIN products p ON p.id = r.product WHERE r.id = ?",
                              "i", release);
    const char *why = NULL;
    esp_label_t l;
    if (st && db_step(st) == DB_ROW && db_column_int(st, 1) &&
        esp_label_parse(q_text(st, 0), &l) == 0) {
        if (l.fota == 'n')
            why = "its label is marked (n): no upgrade";
        else if (l.fota == 'l')
            why = "its label is marked (l): local upgrade only";
    }
    db_done(st);
    return why;
}

int64_t offer_release_named(db_t *db, int64_t product, const char *name)
{
    char canon[80];
    return q_int(db, 0,
                 "SELECT id FROM releases WHERE product = ?1 AND (version = ?2 OR (version_value = ?3 AND ?4 <> 0)) "
                 "ORDER BY version = ?2 DESC, id DESC LIMIT 1",
                 "isii", product, offer_canonical(db, product, name, canon, sizeof canon),
                 offer_version_value(db, product, name), (int64_t)!offer_espressif(db, product));
}

int64_t offer_ptype(db_t *db, int64_t product)
{
    db_stmt_t *st = q_prep(db, "SELECT version FROM releases WHERE product = ? ORDER BY id", "i", product);
    esp_label_t l;
    int64_t t = -1;
    while (t < 0 && st && db_step(st) == DB_ROW)
        if (esp_label_parse(q_text(st, 0), &l) == 0)
            t = l.ptype;
    db_done(st);
    return t;
}

const char *offer_device_not_ota(db_t *db, int64_t product, const char *version)
{
    esp_label_t l;
    int64_t t;
    if (!version || !offer_espressif(db, product) || esp_label_parse(version, &l) != 0)
        return NULL;
    if ((t = offer_ptype(db, product)) >= 0 && t != (int64_t)l.ptype)
        return "the device runs a firmware of another product type (ptype) than this product's releases";
    if (l.fota == 'n')
        return "the device runs a firmware marked (n): no upgrade";
    if (l.fota == 'l')
        return "the device runs a firmware marked (l): local upgrade only";
    return NULL;
}

int64_t offer_artifact_for(db_t *db, int64_t release, int device_slot)
{
    /* A slot-linked image for the inactive slot wins over a universal one; an image linked to the
     * running slot is never offered (it would overwrite the running firmware's address range). */
    return q_int(db, 0,
                 "SELECT id FROM artifacts WHERE release = ? AND (slot = -1 OR slot = ?) ORDER BY slot DESC LIMIT 1",
                 "ii", release, (int64_t)(1 - (device_slot ? 1 : 0)));
}

/* ---- the offer of a check-in ------------------------------------------------------------------ */

/* Starts the best rollout offer for the device, if any. Returns the new action id, 0, or -1. */
static int64_t start_rollout_offer(db_t *db, const offer_device_t *d, int *would_write)
{
    db_stmt_t *st = q_prep(
        db,
        "SELECT ro.id, ro.release, rel.version FROM rollout_targets t JOIN rollouts ro ON ro.id = t.rollout "
        "JOIN releases rel ON rel.id = ro.release "
        "WHERE t.device = ?1 AND ro.state = 'running' AND t.stage <= ro.current_stage "
        "  AND rel.security_counter >= ?2 AND rel.version <> ?3 AND rel.version_value > ?4 "
        "  AND NOT EXISTS (SELECT 1 FROM actions a WHERE a.rollout = ro.id AND a.device = ?1) "
        "  AND EXISTS (SELECT 1 FROM artifacts WHERE release = rel.id AND (slot = -1 OR slot = ?5)) "
        "ORDER BY rel.version_value DESC, ro.id DESC LIMIT 1",
        "iisii", d->id, d->counter, d->version, d->value, (int64_t)(1 - d->slot));
    int64_t ro = 0, rel = 0, aid;
    char version[80] = "";
    if (!st)
        return -1;
    if (db_step(st) == DB_ROW) {
        ro = db_column_int64(st, 0);
        rel = db_column_int64(st, 1);
        snprintf(version, sizeof version, "%s", q_text(st, 2));
    }
    db_done(st);
    if (!ro)
        return 0;
    if (would_write) {
        *would_write = 1;
        return 0;
    }
    if (q_exec(db,
               "INSERT INTO actions(device, release, rollout, status, created_at, updated_at) "
               "VALUES (?, ?, ?, 'offered', ?, ?)",
               "iiiii", d->id, rel, ro, now_s(), now_s()) < 0)
        return -1;
    aid = db_last_insert_rowid(db);
    if (history_event(db, d->id, aid, "offered",
                    json_pack("{s:s,s:I}", "version", version, "rollout", (json_int_t)ro)) != 0)
        return -1;
    return aid;
}

json_t *offer_current(db_t *db, const offer_device_t *d, int *active, int *would_write)
{
    db_stmt_t *st;
    int64_t aid = 0, rel = 0, rcounter = 0, art, rollout = 0, cmd = 0;
    char status[16] = "", version[80] = "", rstate[16] = "";
    json_t *m;
    int again;

    *active = 0;
    if (offer_device_not_ota(db, q_int(db, 0, "SELECT product FROM devices WHERE id = ?", "i", d->id), d->version))
        return json_null(); /* its own mode says no online upgrade (seed 004, 6.1) */
    for (again = 0; again < 2; again++) {
        st = q_prep(db,
                    "SELECT a.id, a.release, a.status, r.version, r.security_counter, a.rollout, ro.state, a.command "
                    "FROM actions a JOIN releases r ON r.id = a.release LEFT JOIN rollouts ro ON ro.id = a.rollout "
                    "WHERE a.device = ? AND a.status IN ('offered','downloading','downloaded','installing',"
                    "'installed') ORDER BY a.id DESC LIMIT 1",
                    "i", d->id);
        if (!st)
            return NULL;
        aid = 0;
        if (db_step(st) == DB_ROW) {
            aid = db_column_int64(st, 0);
            rel = db_column_int64(st, 1);
            snprintf(status, sizeof status, "%s", q_text(st, 2));
            snprintf(version, sizeof version, "%s", q_text(st, 3));
            rcounter = db_column_int64(st, 4);
            rollout = db_column_type(st, 5) == DB_NULL ? 0 : db_column_int64(st, 5);
            snprintf(rstate, sizeof rstate, "%s", q_text(st, 6));
            cmd = db_column_type(st, 7) == DB_NULL ? 0 : db_column_int64(st, 7);
        }
        db_done(st);
        if (aid || again)
            break;
        if (start_rollout_offer(db, d, would_write) < 0)
            return NULL;
        if (would_write && *would_write)
            return json_null();
    }
    *active = aid != 0;
    if (!aid || !strcmp(status, "installing") || !strcmp(status, "installed"))
        return json_null();
    if (rcounter < d->counter) {
        /* The device's counter rose past this release since it was offered: never a downgrade. */
        if (would_write) {
            *would_write = 1;
            return json_null();
        }
        if (action_cancel_offers(db, d->id, "AND id = ?2", aid, "security counter below the device's") != 0)
            return NULL;
        *active = 0;
        return json_null();
    }
    if (rollout && strcmp(rstate, "running") != 0 && !strcmp(status, "offered"))
        return json_null(); /* paused before the device started: withheld */
    art = offer_artifact_for(db, rel, d->slot);
    if (!art) {
        log_msg(LOG_WARN, "no artifact for the device's inactive slot", "action=%lld slot=%d", (long long)aid,
                1 - d->slot);
        return json_null();
    }
    st = q_prep(db, "SELECT filename, size, sha256, sha1, md5 FROM artifacts WHERE id = ?", "i", art);
    if (!st || db_step(st) != DB_ROW) {
        db_done(st);
        return NULL;
    }
    {
        char url[400];
        snprintf(url, sizeof url, "%s/api/v1/artifacts/%s", g_server.public_url, q_text(st, 2));
        m = json_pack("{s:I,s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:I,s:i,s:s}", "action_id", (json_int_t)aid, "status",
                      status, "version", version, "filename", q_text(st, 0), "size",
                      (json_int_t)db_column_int64(st, 1), "sha256", q_text(st, 2), "sha1", q_text(st, 3), "md5",
                      q_text(st, 4), "url", url, "security_counter", (json_int_t)rcounter, "slot", 1 - d->slot,
                      "reboot", cmd ? "on_command" : "auto");
    }
    db_done(st);
    return m;
}
