/* The dashboard's files (server/web), compiled into the binary by cmake/embed.cmake. */
#ifndef OTAKIT_SERVER_WEB_ASSETS_H
#define OTAKIT_SERVER_WEB_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *name;           /* file name, e.g. "app.js"; NULL ends the table */
    const unsigned char *data;  /* its bytes (NUL-terminated, not counted in len) */
    size_t len;
} web_asset_t;

extern const web_asset_t web_assets[];

#endif
