/* File helpers for the host tools: whole files, and files read by offset. */
#ifndef OTAKIT_FILEIO_H
#define OTAKIT_FILEIO_H

#include <stddef.h>
#include <stdint.h>

/* Reads a whole file ("-" is stdin) into a new heap buffer with a NUL after the data.
 * Returns OTA_OK, OTA_ERR_FILE (errno kept) or OTA_ERR_NO_MEM. */
int ota_file_read(const char *path, uint8_t **buf, size_t *len);

/* Writes buf to path atomically (temp file in the same directory, fsync, rename) with the given
 * mode; "-" writes to stdout. Returns OTA_OK or OTA_ERR_FILE (errno kept). */
int ota_file_write(const char *path, const uint8_t *buf, size_t len, unsigned mode);

/* A file read by offset, as the image verifier reads storage: pread() through a 64 KiB window on a
 * regular file, so memory stays small whatever the file's size; stdin ("-") or a pipe, which
 * cannot be read by offset, is read whole into memory. */
typedef struct {
    int fd;        /* -1 when the whole file is in mem */
    uint8_t *mem;  /* whole file (stdin/pipe), else NULL */
    uint64_t size; /* file size in bytes */
    uint8_t *win;  /* read-ahead window: win_len bytes from win_off */
    uint64_t win_off;
    uint32_t win_len;
} ota_file_src_t;

/* Opens path ("-" is stdin) for ota_file_src_read(). Returns OTA_OK, OTA_ERR_FILE (errno kept)
 * or OTA_ERR_NO_MEM; on success the caller calls ota_file_src_close(). */
int ota_file_src_open(const char *path, ota_file_src_t *src);

/* ota_read_fn over an ota_file_src_t (ctx): len bytes at off into buf. Returns 0, or -1 on a read
 * error or a range past the end of the file. */
int ota_file_src_read(void *ctx, uint32_t off, void *buf, uint32_t len);

/* Closes the file and frees what ota_file_src_open() allocated. */
void ota_file_src_close(ota_file_src_t *src);

#endif
