/*
 * Release uploads (see releases.h): the image check (imgcheck.h), the version the product's rule
 * gives it, the slot rules of slot-linked releases, then one transaction that adds the rows and
 * commits the file to the store (store.h) under the store lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "imgcheck.h"
#include "log.h"
#include "offer.h"
#include "releases.h"
#include "server.h"
#include "sql.h"
#include "store.h"

#define VERSION_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+-()~"

struct upload {
    http_req_t *r;
    struct rel_product p;
    imgcheck_t chk;
    int slot;                /* -1 universal, 0 or 1 */
    const char *add_to;      /* artifacts route: the release version from the path */
    char version[64];
    ota_version_t semver;
    esp_label_t label;
    int64_t value;
    const char *channel;
    const char *notes;
    char filename[129];
    int64_t release_id;
    int created_file;
    int failed;              /* an error answer was made (reject) */
    int same;                /* the release already holds this very image: answered 200 with it */
    err_t err;
    char msg[300];
};

static int reject(struct upload *u, err_t e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int reject(struct upload *u, err_t e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->msg, sizeof u->msg, fmt, ap);
    va_end(ap);
    rel_printable(u->msg, u->msg, sizeof u->msg); /* may echo request text */
    u->failed = 1;
    u->err = e;
    return -1;
}

/* Decides the release version, its value and (Espressif) channel from the image and the query
 * version qv, following the product's rule. */
static int resolve_version(struct upload *u, const char *qv)
{
    imgcheck_t *c = &u->chk;
    ota_version_t q;
    esp_label_t il;
    if (qv && strlen(qv) >= sizeof u->version)
        return reject(u, ERR_BAD_VERSION, "version is longer than %zu characters", sizeof u->version - 1);
    if (u->p.espressif) {
        int img_label = c->format == IMG_ESP_IDF && esp_label_parse(c->version, &il) == 0;
        unsigned t[3];
        int has_t = 0;
        if (!qv && !img_label)
            return reject(u, ERR_VERSION_REQUIRED,
                          "product %s uses Espressif version labels: pass ?version=, e.g. v1.0.2t45772(a)", u->p.pid);
        if (esp_label_parse(qv ? qv : c->version, &u->label) != 0)
            return reject(u, ERR_BAD_VERSION,
                          "\"%s\" is not an Espressif version label [v|b]N1.N2.N3t<ptype>(o|l|a|n), N in 0..999",
                          qv ? qv : c->version);
        if (img_label) {
            memcpy(t, il.n, sizeof t);
            has_t = 1;
        } else if (c->has_semver) {
            t[0] = c->semver.major, t[1] = c->semver.minor, t[2] = c->semver.revision;
            has_t = 1;
        }
        if (has_t && memcmp(t, u->label.n, sizeof t) != 0)
            return reject(u, ERR_VERSION_MISMATCH, "the image says version %u.%u.%u, the label says %u.%u.%u", t[0],
                          t[1], t[2], u->label.n[0], u->label.n[1], u->label.n[2]);
        esp_label_format(&u->label, u->version, sizeof u->version);
        u->value = esp_label_value(&u->label);
        return 0;
    }
    if (qv && semver_parse_loose(qv, &q) != 0)
        return reject(u, ERR_BAD_VERSION, "\"%s\" is not a version major.minor.revision[+build]", qv);
    if (c->format == IMG_OTAKIT || (c->format == IMG_ESP_IDF && !qv)) {
        if (!c->has_semver)
            return reject(u, ERR_VERSION_REQUIRED,
                          "the image's version \"%s\" is not major.minor.revision[+build]: pass ?version=", c->version);
        if (qv && ota_version_cmp(&q, &c->semver) != 0)
            return reject(u, ERR_VERSION_MISMATCH, "the image says version %s, the request says %s", c->version, qv);
        snprintf(u->version, sizeof u->version, "%s", c->version);
        u->semver = c->semver;
    } else {
        if (!qv)
            return reject(u, ERR_VERSION_REQUIRED, "%s carry no version: pass ?version=",
                          c->format == IMG_ESP8266 ? "ESP8266 images" : "files of this kind");
        if (c->has_semver && ota_version_cmp(&q, &c->semver) != 0)
            return reject(u, ERR_VERSION_MISMATCH, "the image says version %s, the request says %s", c->version, qv);
        snprintf(u->version, sizeof u->version, "%s", qv);
        u->semver = q;
    }
    /* The version names the release in paths and file names: keep it to a safe alphabet. */
    if (strspn(u->version, VERSION_CHARS) != strlen(u->version))
        return reject(u, ERR_BAD_VERSION, "version \"%s\" may only use A-Z a-z 0-9 . _ + - ( ) ~%s", u->version,
                      qv ? "" : ": pass ?version=");
    u->value = semver_value(&u->semver);
    return 0;
}

/* Channel, notes, slot and filename from the query. */
static int read_query(struct upload *u)
{
    const char *ch = http_query(u->r, "channel"), *slot = http_query(u->r, "slot"),
               *fn = http_query(u->r, "filename");
    json_t *s;
    size_t i;
    if (ch && strcmp(ch, "official") && strcmp(ch, "beta"))
        return reject(u, ERR_BAD_CHANNEL, "channel must be official or beta");
    u->channel = ch ? ch : "official";
    if (u->p.espressif) {
        const char *lc = u->label.type == 'v' ? "official" : "beta";
        if (ch && strcmp(ch, lc))
            return reject(u, ERR_CHANNEL_MISMATCH, "label %s is a%s release", u->version,
                          u->label.type == 'v' ? "n official" : " beta");
        u->channel = lc;
    }
    u->notes = http_query(u->r, "notes");
    if (!u->notes)
        u->notes = "";
    if (strlen(u->notes) > 4096 || !(s = json_string(u->notes)))
        return reject(u, ERR_BAD_NOTES, "notes must be UTF-8 text of at most 4096 bytes");
    json_decref(s);
    u->slot = -1;
    if (slot && strcmp(slot, "0") && strcmp(slot, "1"))
        return reject(u, ERR_BAD_SLOT, "slot must be 0 or 1 (omit it for a universal image)");
    if (slot)
        u->slot = slot[0] - '0';
    /* A slot-linked ESP8266 image must fit the FOTA layout of the flash its header declares. */
    if (u->chk.format == IMG_ESP8266 && u->slot >= 0 && u->chk.esp_flash_size &&
        (!esp8266_fota_slot_max(u->chk.esp_flash_size) || u->r->upload_len > esp8266_fota_slot_max(u->chk.esp_flash_size)))
        return reject(u, ERR_BAD_IMAGE, "user%d.bin is %llu bytes; the FOTA layout of the %lu KB flash its header declares "
                      "holds %lu KB (seed 004, section 2)", u->slot + 1, (unsigned long long)u->r->upload_len,
                      (unsigned long)(u->chk.esp_flash_size / 1024), (unsigned long)(esp8266_fota_slot_max(u->chk.esp_flash_size) / 1024));
    if (fn) {
        if (!*fn || strlen(fn) > 128 || fn[0] == '.' ||
            strspn(fn, VERSION_CHARS) != strlen(fn) || strchr(fn, '~'))
            return reject(u, ERR_BAD_FILENAME, "filename must be 1-128 characters of A-Z a-z 0-9 . _ + - ( )");
        snprintf(u->filename, sizeof u->filename, "%s", fn);
    } else if (u->chk.format == IMG_ESP8266 && u->slot >= 0) {
        snprintf(u->filename, sizeof u->filename, "user%d.bin", u->slot + 1);
    } else {
        snprintf(u->filename, sizeof u->filename, "%.32s-%.63s.bin", u->p.pid, u->version);
        for (i = 0; u->filename[i]; i++)
            if (!strchr("._-+", u->filename[i]) && !(u->filename[i] >= '0' && u->filename[i] <= '9') &&
                !((u->filename[i] | 32) >= 'a' && (u->filename[i] | 32) <= 'z'))
                u->filename[i] = '_';
    }
    return 0;
}

/* Refuses a new label that the seed's uniqueness rule forbids next to the product's others. */
static int label_rule(db_t *db, struct upload *u)
{
    db_stmt_t *st;
    esp_label_t e;
    const char *why = NULL;
    char other[64] = "";
    int64_t ptype = offer_ptype(db, u->p.id);
    /* One product, one product type: its first label fixes it (seed 004, 6.1: tPTYPE). */
    if (ptype >= 0 && ptype != (int64_t)u->label.ptype)
        return reject(u, ERR_WRONG_PRODUCT, "%s is of product type %lu, this product's labels are t%lld", u->version,
                      (unsigned long)u->label.ptype, (long long)ptype);
    if (db_prepare_v2(db, "SELECT version FROM releases WHERE product = ? AND version_value = ?", -1, &st,
                           NULL) != DB_OK)
        return reject(u, ERR_DATABASE, "%s", db_errmsg(db));
    db_bind_int64(st, 1, u->p.id);
    db_bind_int64(st, 2, u->value);
    while (!why && db_step(st) == DB_ROW)
        if (esp_label_parse((const char *)db_column_text(st, 0), &e) == 0 && (why = esp_label_conflict(&e, &u->label)))
            snprintf(other, sizeof other, "%s", (const char *)db_column_text(st, 0));
    db_done(st);
    return why ? reject(u, ERR_VERSION_CONFLICT, "%s cannot coexist with %s: %s", u->version, other, why) : 0;
}

/* Checks that the upload may join release u->release_id as slot u->slot. */
static int slot_rule(db_t *db, struct upload *u)
{
    db_stmt_t *st;
    int rc = 0;
    if (db_prepare_v2(db,
                           "SELECT a.slot, a.format, r.security_counter FROM artifacts a JOIN releases r "
                           "ON r.id = a.release WHERE a.release = ?",
                           -1, &st, NULL) != DB_OK)
        return reject(u, ERR_DATABASE, "%s", db_errmsg(db));
    db_bind_int64(st, 1, u->release_id);
    while (!rc && db_step(st) == DB_ROW) {
        int slot = db_column_int(st, 0);
        if (slot < 0)
            rc = reject(u, ERR_EXISTS, "release %s already has its image (it is not slot-linked)", u->version);
        else if (u->slot < 0)
            rc = reject(u, ERR_BAD_SLOT, "release %s is slot-linked: pass slot=0 or slot=1", u->version);
        else if (slot == u->slot)
            rc = reject(u, ERR_EXISTS, "release %s already has an image for slot %d", u->version, slot);
        else if (strcmp((const char *)db_column_text(st, 1), imgcheck_format_name(u->chk.format)))
            rc = reject(u, ERR_FORMAT_MISMATCH, "slot %d holds a %s image, this is %s", slot,
                        (const char *)db_column_text(st, 1), imgcheck_format_name(u->chk.format));
        else if ((uint32_t)db_column_int64(st, 2) != u->chk.security_counter)
            rc = reject(u, ERR_SECURITY_COUNTER_MISMATCH, "the release's security counter is %lld, this image's %u",
                        (long long)db_column_int64(st, 2), u->chk.security_counter);
    }
    db_done(st);
    return rc;
}

static int exec_insert(db_t *db, struct upload *u, db_stmt_t *st)
{
    int rc = db_step(st);
    db_done(st);
    if (rc == DB_CONSTRAINT)
        return reject(u, ERR_EXISTS, "release %s already has that image", u->version);
    return rc == DB_DONE ? 0 : reject(u, ERR_DATABASE, "%s", db_errmsg(db));
}

/* The transaction: find or create the release, add the artifact row, commit the file. */
static int upload_tx(db_t *db, void *arg)
{
    struct upload *u = arg;
    db_stmt_t *st;
    char *meta = NULL;
    int rc;

    u->release_id = rel_find(db, &u->p, u->version, 1);
    if (u->add_to) {
        int64_t named = rel_find(db, &u->p, u->add_to, 0);
        if (!named)
            return reject(u, ERR_NOT_FOUND, "product %s has no release %s", u->p.pid, u->add_to);
        if (u->release_id != named)
            return reject(u, ERR_VERSION_MISMATCH, "the path names release %s, the image or query version %s",
                          u->add_to, u->version);
    }
    if (u->release_id && !u->add_to &&
        q_int(db, 0, "SELECT COUNT(*) FROM artifacts WHERE release = ? AND slot = ? AND sha256 = ?", "iis",
              u->release_id, (int64_t)u->slot, u->r->sha256) > 0) {
        u->same = 1; /* a retry of an upload that succeeded (CI): the release as it is, nothing changed */
        return 0;
    }
    if (u->release_id && u->slot < 0 && !u->add_to)
        return reject(u, ERR_EXISTS, "release %s already exists (with another image)", u->version);
    if (u->release_id) {
        if (slot_rule(db, u) != 0)
            return -1;
    } else {
        if (u->p.espressif && label_rule(db, u) != 0)
            return -1;
        if (db_prepare_v2(db,
                               "INSERT INTO releases(product, version, version_value, channel, security_counter, "
                               "notes, meta, created_at) VALUES (?,?,?,?,?,?,?,?)",
                               -1, &st, NULL) != DB_OK)
            return reject(u, ERR_DATABASE, "%s", db_errmsg(db));
        meta = json_dumps(u->chk.meta, JSON_COMPACT | JSON_SORT_KEYS);
        db_bind_int64(st, 1, u->p.id);
        db_bind_text(st, 2, u->version, -1, DB_STATIC);
        db_bind_int64(st, 3, u->value);
        db_bind_text(st, 4, u->channel, -1, DB_STATIC);
        db_bind_int64(st, 5, u->chk.security_counter);
        db_bind_text(st, 6, u->notes, -1, DB_STATIC);
        db_bind_text(st, 7, meta ? meta : "{}", -1, DB_STATIC);
        db_bind_int64(st, 8, now_s());
        rc = exec_insert(db, u, st);
        free(meta);
        if (rc != 0)
            return -1;
        u->release_id = db_last_insert_rowid(db);
    }
    if (db_prepare_v2(db,
                           "INSERT INTO artifacts(release, slot, filename, format, size, sha256, sha1, md5, meta, "
                           "created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != DB_OK)
        return reject(u, ERR_DATABASE, "%s", db_errmsg(db));
    meta = json_dumps(u->chk.meta, JSON_COMPACT | JSON_SORT_KEYS);
    db_bind_int64(st, 1, u->release_id);
    db_bind_int(st, 2, u->slot);
    db_bind_text(st, 3, u->filename, -1, DB_STATIC);
    db_bind_text(st, 4, imgcheck_format_name(u->chk.format), -1, DB_STATIC);
    db_bind_int64(st, 5, (db_int64)u->r->upload_len);
    db_bind_text(st, 6, u->r->sha256, -1, DB_STATIC);
    db_bind_text(st, 7, u->r->sha1, -1, DB_STATIC);
    db_bind_text(st, 8, u->r->md5, -1, DB_STATIC);
    db_bind_text(st, 9, meta ? meta : "{}", -1, DB_STATIC);
    db_bind_int64(st, 10, now_s());
    rc = exec_insert(db, u, st);
    free(meta);
    if (rc != 0)
        return -1;
    /* Last: the file becomes visible only with rows that will commit (or be rolled back and dropped). */
    if (store_commit(u->r->upload_path, u->r->sha256, &u->created_file) != 0)
        return reject(u, ERR_STORAGE, "cannot store the artifact: %s", strerror(errno));
    if (u->created_file)
        u->r->upload_path[0] = 0; /* renamed into the store: not the request's to delete any more */
    return 0;
}

enum MHD_Result rel_upload(http_req_t *r, const char *add_to)
{
    struct upload *u = calloc(1, sizeof *u);
    db_t *db = db_get();
    const char *qv = http_query(r, "version"), *kind;
    enum MHD_Result ret;
    json_t *rel;
    int rc;

    if (!u || !db) {
        free(u);
        return http_error(r, ERR_INTERNAL, "out of memory or no database");
    }
    u->r = r;
    u->add_to = add_to;
    if ((rc = rel_product_load(db, http_param(r, 0), &u->p)) <= 0) {
        if (rc < 0)
            reject(u, ERR_DATABASE, "cannot read product");
        else
            reject(u, ERR_NOT_FOUND, "no product %s", http_param(r, 0));
        ret = http_error(r, u->err, "%s", u->msg);
        free(u);
        return ret;
    }
    kind = http_query(r, "kind");
    if (kind && strcmp(kind, "image") && strcmp(kind, "swu") && strcmp(kind, "file"))
        reject(u, ERR_BAD_KIND, "kind must be image, swu or file");
    else if (kind && strcmp(kind, "image") ? imgcheck_other(r->upload_fd, r->upload_len, kind, &u->chk) != 0
                                       : imgcheck_file(r->upload_fd, r->upload_len, u->p.keys, u->p.nkeys,
                                                       u->p.pid, &u->chk) != 0)
        reject(u, u->chk.code, "%s", u->chk.message);
    else if (resolve_version(u, qv ? qv : add_to) == 0 && read_query(u) == 0) {
        if (u->p.espressif)
            json_object_set_new(u->chk.meta, "label",
                                json_pack("{s:s,s:I,s:b,s:s}", "type", u->label.type == 'v' ? "official" : "beta",
                                          "ptype", (json_int_t)u->label.ptype, "upgradable", u->label.fota != 'n',
                                          "fota", u->label.fota == 'o' ? "online" : u->label.fota == 'l' ? "local"
                                                  : u->label.fota == 'a' ? "all" : "none"));
        store_lock();
        rc = db_tx(upload_tx, u);
        if (rc != 0 && u->created_file)
            store_drop_unreferenced(r->sha256); /* rolled back: nothing refers to the file we added */
        store_unlock();
        if (rc != 0 && !u->failed)
            reject(u, ERR_DATABASE, "cannot commit the release");
    }
    if (u->failed) {
        ret = http_error(r, u->err, "%s", u->msg);
    } else {
        if (!u->same)
            log_msg(LOG_INFO, "artifact stored", "product=%s version=%s slot=%d format=%s size=%llu sha256=%s",
                    u->p.pid, u->version, u->slot, imgcheck_format_name(u->chk.format),
                    (unsigned long long)r->upload_len, r->sha256);
        rel = rel_json(db, u->p.pid, u->release_id);
        ret = rel ? http_json(r, u->same ? 200 : 201, rel) : http_error(r, ERR_DATABASE, "cannot read the release back");
    }
    imgcheck_free(&u->chk);
    free(u);
    return ret;
}
