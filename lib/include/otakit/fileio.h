/* Whole-file helpers for the host tools. */
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

#endif
