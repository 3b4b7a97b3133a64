/* The online backup (see backup.h). */
#include "backup.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(sqlite3 *a, sqlite3 *b, const char *what, const char *why)
{
    fprintf(stderr, "otakit-server backup: %s: %s\n", what, why);
    sqlite3_close(a);
    sqlite3_close(b);
    return 1;
}

int backup_run(const char *db_path, const char *out_path)
{
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_backup *b;
    sqlite3_stmt *st;
    struct stat sb;
    int rc, ok;
    if (stat(db_path, &sb) != 0)
        return fail(NULL, NULL, db_path, strerror(errno));
    if (access(out_path, F_OK) == 0)
        return fail(NULL, NULL, out_path, "exists already (the backup never overwrites a file)");
    if (sqlite3_open_v2(db_path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return fail(src, NULL, db_path, sqlite3_errmsg(src));
    sqlite3_busy_timeout(src, 5000);
    if (sqlite3_open_v2(out_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
        return fail(src, dst, out_path, sqlite3_errmsg(dst));
    if (!(b = sqlite3_backup_init(dst, "main", src, "main")))
        return fail(src, dst, out_path, sqlite3_errmsg(dst));
    do {
        rc = sqlite3_backup_step(b, 256);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            sqlite3_sleep(20);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        fail(src, dst, out_path, sqlite3_errstr(rc));
        unlink(out_path);
        return 1;
    }
    ok = sqlite3_prepare_v2(dst, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
         sqlite3_step(st) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    if (!ok) {
        fail(src, dst, out_path, "the copy fails PRAGMA integrity_check");
        unlink(out_path);
        return 1;
    }
    sqlite3_close(src);
    sqlite3_close(dst);
    if (stat(out_path, &sb) != 0)
        return fail(NULL, NULL, out_path, strerror(errno));
    printf("backed up %s to %s (%lld bytes)\n", db_path, out_path, (long long)sb.st_size);
    return 0;
}
