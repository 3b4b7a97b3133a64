/*
 * Content-addressed artifact store: every artifact is one file g_server.artifacts_dir/<sha256>,
 * named by the SHA-256 of its bytes. Uploads stream into g_server.tmp_dir and are committed by
 * rename(2) into the store, then the directory is fsync'ed, so a crash leaves either no file or
 * the whole file, never half an artifact. Identical content is stored once.
 *
 * Database rows (artifacts.sha256) refer to store files. Callers that add or drop such rows
 * together with a store change hold store_lock() across both, so a file that a new row is about
 * to use is never removed by a concurrent delete.
 */
#ifndef OTAKIT_SERVER_STORE_H
#define OTAKIT_SERVER_STORE_H

#include <stddef.h>

/* Returns 1 when s is exactly 64 lowercase hex digits (a store name), else 0. */
int store_name_valid(const char *s);

/* Writes the path of the artifact named sha256 into out. Returns 0, or -1 when sha256 is not a
 * valid store name or the path does not fit (no path is ever built from anything else). */
int store_path(const char *sha256, char *out, size_t n);

/* Serializes store changes with the database rows that refer to them (process-wide mutex). */
void store_lock(void);
void store_unlock(void);

/* Moves the complete, fsync'ed upload at tmp_path into the store as sha256 (the caller computed
 * it while receiving the bytes). When the store already holds that content the upload is left
 * where it is (the caller's cleanup removes it) and *created is 0; otherwise *created is 1.
 * Returns 0, or -1 with errno set. */
int store_commit(const char *tmp_path, const char *sha256, int *created);

/* Removes the artifact sha256 when no artifacts row refers to it any more. Call with the lock
 * held, after the transaction that dropped the rows has committed. Returns 1 when the file was
 * removed, 0 when it is still referenced or absent, -1 on error. */
int store_drop_unreferenced(const char *sha256);

/* Removes store files that no artifacts row refers to: what a crash between the rename into the
 * store and the database commit leaves behind (a whole file, never a partial one), and anything
 * else that is not a store name. Call at startup after db_init(), before serving. Returns how
 * many files were removed, or -1 when the directory or the database cannot be read. */
int store_sweep(void);

/* Removes the artifact sha256 unconditionally (undoing a store_commit() whose rows were rolled
 * back). Returns 0 or -1. */
int store_remove(const char *sha256);

#endif
