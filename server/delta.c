/* Delta offers and the patch cache (see delta.h). */
#include "delta.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "otakit/bytes.h"
#include "otakit/delta_make.h"
#include "otakit/fileio.h"
#include "otakit/keys.h"

#include "db.h"
#include "log.h"
#include "offer.h"
#include "server.h"
#include "sql.h"
#include "store.h"

static ota_key_t *g_key;
static char g_dir[600];
static pthread_mutex_t g_make = PTHREAD_MUTEX_INITIALIZER; /* one patch computed at a time */

int delta_init(const char *key_path)
{
    char sub[700];
    snprintf(g_dir, sizeof g_dir, "%s/deltas", g_server.data_dir); /* kept clean with or without a key */
    if (!key_path || !*key_path)
        return 0;
    if (ota_key_load(key_path, &g_key) != OTA_OK || !ota_key_is_private(g_key)) {
        log_msg(LOG_ERROR, "--delta-key must be a private P-256 key (PEM or DER)", "path=%s", key_path);
        return -1;
    }
    snprintf(sub, sizeof sub, "%s/by-pair", g_dir);
    if ((mkdir(g_dir, 0750) != 0 && errno != EEXIST) || (mkdir(sub, 0750) != 0 && errno != EEXIST)) {
        log_msg(LOG_ERROR, "cannot create the delta cache", "dir=%s error=\"%s\"", g_dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Writes len bytes to path through a temporary file and a rename. Returns 0 or -1. */
static int write_whole(const char *path, const void *buf, size_t len)
{
    char tmp[800];
    int fd, ok;
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)pthread_self() % 100000);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0)
        return -1;
    ok = write(fd, buf, len) == (ssize_t)len && fsync(fd) == 0;
    if (close(fd) != 0 || !ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int read_text(const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "re");
    size_t got;
    if (!f)
        return -1;
    got = fread(out, 1, n - 1, f);
    fclose(f);
    out[got] = 0;
    return 0;
}

static void hex_sha256(const uint8_t *p, size_t n, char out[65])
{
    uint8_t h[32];
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    (void)mbedtls_sha256(p, n, h, 0);
#else
    (void)mbedtls_sha256_ret(p, n, h, 0);
#endif
    ota_hex_encode(h, 32, out);
}

/* The patch from base to target (artifact names): its name and size from the cache, made now when
 * missing. Returns 0, 1 when no patch is worth it (not smaller than the image), -1 on error. */
static int patch_for(const char *base, const char *target, char name[65], long long *size)
{
    char pair[800], path[800], bp[700], tp[700], meta[140];
    uint8_t *b = NULL, *t = NULL, *patch = NULL;
    size_t bn = 0, tn = 0, pn = 0;
    ota_delta_params_t prm;
    struct stat st;
    int rc = -1;
    snprintf(pair, sizeof pair, "%s/by-pair/%s-%s", g_dir, base, target);
    pthread_mutex_lock(&g_make);
    if (read_text(pair, name, 65) == 0) {
        snprintf(path, sizeof path, "%s/%s", g_dir, name);
        if (!strcmp(name, "none")) {
            rc = 1;
            goto out;
        }
        if (store_name_valid(name) && stat(path, &st) == 0) {
            *size = (long long)st.st_size;
            rc = 0;
            goto out;
        }
    }
    if (store_path(base, bp, sizeof bp) != 0 || store_path(target, tp, sizeof tp) != 0 ||
        ota_file_read(bp, &b, &bn) != OTA_OK || ota_file_read(tp, &t, &tn) != OTA_OK) {
        log_msg(LOG_WARN, "delta: cannot read the images", "base=%s target=%s", base, target);
        goto out;
    }
    ota_delta_params_init(&prm);
    if (ota_delta_make(b, bn, t, tn, &prm, g_key, &patch, &pn, NULL) != OTA_OK) {
        log_msg(LOG_WARN, "delta: cannot make the patch", "base=%s target=%s", base, target);
        goto out;
    }
    if (pn >= tn) { /* nothing saved: remember, offer the image alone */
        rc = write_whole(pair, "none", 4) == 0 ? 1 : -1;
        goto out;
    }
    hex_sha256(patch, pn, name);
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    snprintf(meta, sizeof meta, "%s %s\n", base, target);
    snprintf(bp, sizeof bp, "%s/%s.pair", g_dir, name);
    if (write_whole(path, patch, pn) != 0 || write_whole(bp, meta, strlen(meta)) != 0 ||
        write_whole(pair, name, 64) != 0) {
        log_msg(LOG_WARN, "delta: cannot store the patch", "dir=%s error=\"%s\"", g_dir, strerror(errno));
        goto out;
    }
    log_msg(LOG_INFO, "delta patch made", "base=%s target=%s patch=%s size=%zu image=%zu", base, target, name, pn,
            tn);
    *size = (long long)pn;
    rc = 0;
out:
    pthread_mutex_unlock(&g_make);
    free(b);
    free(t);
    free(patch);
    return rc;
}

void delta_attach(int64_t device, const char *version, int slot, json_t *update)
{
    db_t *db;
    db_stmt_t *st;
    const char *target;
    char base[65] = "", name[65], url[400], ver[80] = "";
    int64_t product = 0, rel;
    long long size = 0;
    if (!g_key || !json_is_object(update) || !(target = json_string_value(json_object_get(update, "sha256"))) ||
        !store_name_valid(target) || !(db = db_get()))
        return;
    st = q_prep(db, "SELECT product, version, slot FROM devices WHERE id = ?", "i", device);
    if (st && db_step(st) == DB_ROW) {
        product = db_column_int64(st, 0);
        snprintf(ver, sizeof ver, "%s", version ? version : q_text(st, 1));
        if (slot < 0)
            slot = db_column_int(st, 2);
    }
    db_done(st);
    if (!product || !ver[0] || !(rel = offer_release_named(db, product, ver)))
        return; /* the device runs nothing the server has: the full image only */
    st = q_prep(db, "SELECT sha256 FROM artifacts WHERE release = ? AND (slot = -1 OR slot = ?) ORDER BY slot DESC "
                    "LIMIT 1",
                "ii", rel, (int64_t)(slot == 1));
    if (st && db_step(st) == DB_ROW)
        snprintf(base, sizeof base, "%s", q_text(st, 0));
    db_done(st);
    if (!store_name_valid(base) || !strcmp(base, target) || patch_for(base, target, name, &size) != 0)
        return;
    snprintf(url, sizeof url, "%s/api/v1/deltas/%s", g_server.public_url, name);
    json_object_set_new(update, "delta", json_pack("{s:s,s:I,s:s,s:s}", "url", url, "size", (json_int_t)size,
                                                   "sha256", name, "base_sha256", base));
}

/* Whether the pair's patch must go: one of its images is sha256, or (sha256 NULL) one of them is
 * no longer the image of any release. A database error keeps it. */
static int pair_gone(db_t *db, const char *base, const char *target, const char *sha256)
{
    const char *sql = "SELECT COUNT(*) FROM artifacts WHERE sha256 = ?";
    if (sha256)
        return !strcmp(base, sha256) || !strcmp(target, sha256);
    return db && (q_int(db, 1, sql, "s", base) == 0 || q_int(db, 1, sql, "s", target) == 0);
}

/* Removes the patch name (and its .pair) when it is a patch name. Returns 1 when a file went. */
static int unlink_patch(const char *name)
{
    char path[800];
    int gone = 0;
    if (!store_name_valid(name))
        return 0;
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    gone = unlink(path) == 0;
    snprintf(path, sizeof path, "%s/%s.pair", g_dir, name);
    unlink(path);
    return gone;
}

/* Removes the cached patches that pair_gone() names: by-pair entries ("none" ones included), then
 * patches known only by their .pair (a crash between the writes). Returns the patches removed. */
static int forget(const char *sha256)
{
    char path[800], name[65], meta[140], base[65], target[65];
    db_t *db = sha256 ? NULL : db_get();
    struct dirent *e;
    DIR *d;
    int removed = 0;
    if (!g_dir[0])
        return 0;
    pthread_mutex_lock(&g_make);
    snprintf(path, sizeof path, "%s/by-pair", g_dir);
    if ((d = opendir(path)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (strlen(e->d_name) != 129 || e->d_name[64] != '-')
                continue;
            snprintf(base, sizeof base, "%.64s", e->d_name);
            snprintf(target, sizeof target, "%s", e->d_name + 65);
            if (!pair_gone(db, base, target, sha256))
                continue;
            snprintf(path, sizeof path, "%s/by-pair/%s", g_dir, e->d_name);
            if (read_text(path, name, sizeof name) == 0)
                removed += unlink_patch(name);
            unlink(path);
        }
        closedir(d);
    }
    if ((d = opendir(g_dir)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (strlen(e->d_name) != 69 || strcmp(e->d_name + 64, ".pair"))
                continue;
            snprintf(path, sizeof path, "%s/%s", g_dir, e->d_name);
            snprintf(name, sizeof name, "%.64s", e->d_name);
            if (read_text(path, meta, sizeof meta) == 0 && sscanf(meta, "%64s %64s", base, target) == 2 &&
                pair_gone(db, base, target, sha256))
                removed += unlink_patch(name);
        }
        closedir(d);
    }
    pthread_mutex_unlock(&g_make);
    return removed;
}

int delta_forget(const char *sha256)
{
    int n = store_name_valid(sha256) ? forget(sha256) : 0;
    if (n)
        log_msg(LOG_INFO, "delta patches removed with their image", "sha256=%s patches=%d", sha256, n);
    return n;
}

int delta_sweep(void)
{
    int n = forget(NULL);
    if (n)
        log_msg(LOG_WARN, "removed delta patches of images no release has any more", "patches=%d", n);
    return n;
}

/* GET /api/v1/deltas/{patch}: a patch whose target image belongs to the caller's product. */
static enum MHD_Result download(http_req_t *r)
{
    const char *sha = http_param(r, 0);
    char path[800], meta[140] = "", target[65] = "";
    db_t *db = db_get();
    int64_t mine = 0, ok;
    if (!store_name_valid(sha))
        return http_error(r, ERR_BAD_SHA256, "a delta patch is named by 64 lowercase hex digits (its SHA-256)");
    snprintf(path, sizeof path, "%s/%s.pair", g_dir, sha);
    if (!g_key || read_text(path, meta, sizeof meta) != 0 || sscanf(meta, "%*64s %64s", target) != 1)
        return http_error(r, ERR_NOT_FOUND, "no delta patch %s", sha);
    if (!db)
        return http_error(r, ERR_DATABASE, "no database connection");
    if (r->auth_kind == AUTH_DEVICE)
        mine = q_int(db, 0, "SELECT product FROM devices WHERE id = ?", "i", r->auth_device);
    else if (r->auth_kind == AUTH_OWNER)
        mine = r->auth_product;
    ok = r->auth_kind == AUTH_ADMIN ||
         q_int(db, 0,
               "SELECT 1 FROM artifacts a JOIN releases rel ON rel.id = a.release WHERE a.sha256 = ? AND "
               "rel.product = ? LIMIT 1",
               "si", target, mine);
    if (!ok)
        return http_error(r, ERR_FORBIDDEN, "this patch belongs to another product");
    snprintf(path, sizeof path, "%s/%s", g_dir, sha);
    return http_file(r, path, sha, "application/octet-stream", NULL);
}

const http_route_t delta_routes[] = {
    {"GET", "/api/v1/deltas/{patch}", download, AUTH_OWNER | AUTH_DEVICE, BODY_NONE},
    {NULL, NULL, NULL, 0, 0},
};
