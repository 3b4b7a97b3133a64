/*
 * A tiny JSON reader: a cursor that walks a document in place, with no token array and no
 * allocation. The caller asks for what it expects ("an object", "the next member", "a string into
 * this buffer", "a u32") and skips everything else; skipped values are still fully validated, so a
 * document that is not strict JSON (RFC 8259) is always refused. Nesting is limited to
 * OTA_JSON_MAX_DEPTH. Internal header of device/agent: not part of the public API.
 *
 * Why not jsmn: jsmn needs a token array sized for the worst document (~16 bytes a token on the
 * stack or in RAM), does not decode strings or numbers, and accepts some invalid JSON in its default
 * mode. This reader costs no RAM beyond the response buffer and decodes as it goes.
 */
#ifndef OTAKIT_AGENT_JSON_H
#define OTAKIT_AGENT_JSON_H

#include <stddef.h>
#include <stdint.h>

#ifndef OTA_JSON_MAX_DEPTH
#define OTA_JSON_MAX_DEPTH 16
#endif

typedef struct {
    const char *p;   /* next unread byte */
    const char *end; /* one past the document */
} ota_json_t;

/* Starts reading the len bytes at s (which need not be NUL-terminated). */
void ota_json_init(ota_json_t *j, const char *s, size_t len);

/* Skips whitespace and returns the next byte without consuming it, or 0 at the end. */
int ota_json_peek(ota_json_t *j);

/* Consumes the opening '{' or '[' (open) of a container. Returns 0 or OTA_ERR_JSON. */
int ota_json_enter(ota_json_t *j, int open);

/* Moves to the next member of the object just entered: *n counts members read so far (start at
 * 0). Returns 1 with the raw key (*key, *klen: not unescaped) and the cursor on its value, 0 when
 * the closing '}' was consumed, or OTA_ERR_JSON. */
int ota_json_member(ota_json_t *j, int *n, const char **key, size_t *klen);

/* Moves to the next element of the array just entered (same *n rule). Returns 1 with the cursor
 * on the element, 0 when the closing ']' was consumed, or OTA_ERR_JSON. */
int ota_json_element(ota_json_t *j, int *n);

/* Reads a string value, unescaped (\uXXXX to UTF-8), into out with a NUL. Returns its length,
 * OTA_ERR_NO_SPACE when it needs more than cap - 1 bytes, or OTA_ERR_JSON. */
int ota_json_string(ota_json_t *j, char *out, size_t cap);

/* Reads a number that is a whole value in 0..4294967295 (no sign, fraction or exponent).
 * Returns 0 or OTA_ERR_JSON. */
int ota_json_u32(ota_json_t *j, uint32_t *out);

/* Reads true or false. Returns 0 or OTA_ERR_JSON. */
int ota_json_bool(ota_json_t *j, uint8_t *out);

/* Consumes null if it comes next. Returns 1 if it did, 0 if the value is something else. */
int ota_json_null(ota_json_t *j);

/* Skips one value of any type, validating it. Returns 0 or OTA_ERR_JSON. */
int ota_json_skip(ota_json_t *j);

/* Checks that only whitespace is left. Returns 0 or OTA_ERR_JSON. */
int ota_json_finish(ota_json_t *j);

/* Reads a SHA-256 string value: 64 hex digits, stored lowercase with a NUL. Returns 0 or
 * OTA_ERR_JSON. */
int ota_json_sha256(ota_json_t *j, char out[65]);

/* 1 when the raw key equals the literal lit. */
int ota_json_key_is(const char *key, size_t klen, const char *lit);

#endif
