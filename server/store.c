/* Content-addressed artifact store (see store.h). */
#define _GNU_SOURCE
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "server.h"

static pthread_mutex_t store_mu = PTHREAD_MUTEX_INITIALIZER;

int store_name_valid(const char *s)
{
    int i;
    if (!s)
        return 0;
    for (i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[64] == 0;
}

int store_path(const char *sha256, char *out, size_t n)
{
    if (!store_name_valid(sha256))
        return -1;
    return (size_t)snprintf(out, n, "%s/%s", g_server.artifacts_dir, sha256) < n ? 0 : -1;
}

void store_lock(void)
{
    pthread_mutex_lock(&store_mu);
    if (db_cluster_lock(1) != 0)
        log_msg(LOG_WARN, "cannot take the store lock shared with other servers", "error=\"%s\"",
                db_get() ? db_errmsg(db_get()) : "no connection");
}

void store_unlock(void)
{
    db_cluster_lock(0);
    pthread_mutex_unlock(&store_mu);
}

/* Makes a rename or unlink in the store directory durable. */
static int sync_dir(void)
{
    int fd = open(g_server.artifacts_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* A file system boundary between DATA/tmp and a shared artifact directory (--artifacts): copies
 * the upload next to its final name ("." names are not the store's: the sweep leaves them), syncs
 * it, renames it into place and removes the upload. */
static int copy_in(const char *from, const char *to)
{
    char tmp[760], buf[65536];
    int in, out, ok = 1;
    ssize_t n;
    snprintf(tmp, sizeof tmp, "%s/.in-%ld-%s", g_server.artifacts_dir, (long)getpid(), strrchr(to, '/') + 1);
    if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        close(in);
        return -1;
    }
    while (ok && (n = read(in, buf, sizeof buf)) != 0)
        ok = n > 0 && write(out, buf, (size_t)n) == n;
    ok = ok && fsync(out) == 0;
    close(in);
    if (close(out) != 0 || !ok || rename(tmp, to) != 0) {
        unlink(tmp);
        return -1;
    }
    unlink(from);
    return 0;
}

int store_commit(const char *tmp_path, const char *sha256, int *created)
{
    char path[700];
    struct stat have, up;
    *created = 0;
    if (store_path(sha256, path, sizeof path) != 0) {
        errno = EINVAL;
        return -1;
    }
    if (stat(tmp_path, &up) != 0)
        return -1;
    /* Same name means same bytes; a size mismatch means the stored copy is damaged: replace it. */
    if (stat(path, &have) == 0 && have.st_size == up.st_size)
        return 0;
    if (rename(tmp_path, path) != 0 && (errno != EXDEV || copy_in(tmp_path, path) != 0))
        return -1;
    *created = 1;
    if (sync_dir() != 0) {
        log_msg(LOG_WARN, "cannot sync the artifact directory", "error=\"%s\"", strerror(errno));
        return -1;
    }
    return 0;
}

int store_remove(const char *sha256)
{
    char path[700];
    if (store_path(sha256, path, sizeof path) != 0 || (unlink(path) != 0 && errno != ENOENT))
        return -1;
    return sync_dir();
}

int store_drop_unreferenced(const char *sha256)
{
    db_t *db = db_get();
    db_stmt_t *st;
    int refs = -1;
    if (!db || db_prepare_v2(db, "SELECT COUNT(*) FROM artifacts WHERE sha256 = ?", -1, &st, NULL) != DB_OK)
        return -1;
    db_bind_text(st, 1, sha256, -1, DB_STATIC);
    if (db_step(st) == DB_ROW)
        refs = db_column_int(st, 0);
    db_done(st);
    if (refs != 0)
        return refs > 0 ? 0 : -1;
    if (store_remove(sha256) != 0) {
        log_msg(LOG_WARN, "cannot remove an unreferenced artifact", "sha256=%s error=\"%s\"", sha256, strerror(errno));
        return -1;
    }
    return 1;
}

/* Written in the last ten minutes, on a store shared by several servers (PostgreSQL): another one
 * may be between storing the file and committing the row that refers to it. */
static int young(const char *name)
{
    char path[1200];
    struct stat sb;
    if (!db_postgres())
        return 0;
    snprintf(path, sizeof path, "%s/%s", g_server.artifacts_dir, name);
    return stat(path, &sb) == 0 && sb.st_mtime > time(NULL) - 600;
}

int store_sweep(void)
{
    DIR *d;
    struct dirent *e;
    db_t *db = db_get();
    db_stmt_t *st;
    char path[1200];
    int removed = 0, refs;
    if (!db || !(d = opendir(g_server.artifacts_dir)))
        return -1;
    if (db_prepare_v2(db, "SELECT 1 FROM artifacts WHERE sha256 = ? LIMIT 1", -1, &st, NULL) != DB_OK) {
        closedir(d);
        return -1;
    }
    store_lock();
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        refs = 0;
        if (e->d_name[0] == '.' || young(e->d_name))
            continue; /* another server's copy in progress, or a file whose row may not be committed yet */
        if (store_name_valid(e->d_name)) {
            db_reset(st);
            db_bind_text(st, 1, e->d_name, -1, DB_TRANSIENT);
            refs = db_step(st);
            if (refs != DB_ROW && refs != DB_DONE)
                continue; /* cannot tell: keep it */
            refs = refs == DB_ROW;
        }
        snprintf(path, sizeof path, "%s/%s", g_server.artifacts_dir, e->d_name);
        if (!refs && unlink(path) == 0) {
            log_msg(LOG_WARN, "removed an unreferenced file from the artifact store", "name=%s", e->d_name);
            removed++;
        }
    }
    store_unlock();
    db_done(st);
    closedir(d);
    if (removed)
        sync_dir();
    return removed;
}
