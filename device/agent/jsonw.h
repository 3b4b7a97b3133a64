/*
 * The JSON writer of device/agent (jsonw.c): one flat object of string, integer and boolean
 * members, for the request bodies. Internal header of device/agent: not part of the public API.
 */
#ifndef OTAKIT_AGENT_JSONW_H
#define OTAKIT_AGENT_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"


/* Builds {"k":"v","n":1,...} into a caller's buffer with the bounded appender of core/buf.h: an
 * append that does not fit marks the writer full and everything after it is dropped, so a builder
 * makes all its calls and checks the result once, in ota_jw_end(). Strings are escaped as RFC 8259
 * requires (quote, backslash, control characters as \u00XX); other bytes (UTF-8) pass as they are. */
typedef struct {
    ota_buf_t b;
    uint8_t members; /* members written so far (a comma goes before the next) */
} ota_jw_t;

/* Starts an object in buf (cap bytes, the NUL included). */
void ota_jw_begin(ota_jw_t *w, char *buf, size_t cap);

/* Appends "key":"val" (val NULL: nothing is appended). */
void ota_jw_str(ota_jw_t *w, const char *key, const char *val);

/* Appends "key":v. */
void ota_jw_u32(ota_jw_t *w, const char *key, uint32_t v);

/* Appends "key":true or "key":false. */
void ota_jw_bool(ota_jw_t *w, const char *key, int v);

/* Closes the object. Returns its length (the NUL not counted) or OTA_ERR_NO_SPACE. */
int ota_jw_end(ota_jw_t *w);

#endif
