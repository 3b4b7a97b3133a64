/*
 * Checks of the text that devices and operators send before it is stored or used: ids, names,
 * versions and numeric path parameters (docs/server.md, "Trust model": checked input).
 */
#ifndef OTAKIT_SERVER_INPUT_H
#define OTAKIT_SERVER_INPUT_H

#include <stddef.h>
#include <stdint.h>

/* Device ids and group names: 1-64 characters of A-Z a-z 0-9 . _ : -  Returns 1 or 0 (NULL: 0). */
int input_ident_ok(const char *s);
/* Text that ends up in views (versions, hardware revisions): 1..max bytes of printable ASCII,
 * spaces only when allowed (so always valid UTF-8). Returns 1 or 0 (NULL: 0). */
int input_text_ok(const char *s, size_t max, int spaces);
/* Parses a decimal id path parameter (> 0); 0 when malformed. */
int64_t input_parse_id(const char *s);

#endif
