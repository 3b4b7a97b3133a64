/* `otakit-server backup FILE`: a consistent copy of the database while the server runs. */
#ifndef OTAKIT_SERVER_BACKUP_H
#define OTAKIT_SERVER_BACKUP_H

/* Copies the database at db_path to out_path (which must not exist) with SQLite's online backup
 * API, page batches at a time so a running server keeps writing in between; checks the copy with
 * PRAGMA integrity_check. Returns 0, or 1 after printing why to stderr. */
int backup_run(const char *db_path, const char *out_path);

#endif
