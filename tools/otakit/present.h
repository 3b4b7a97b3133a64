/* How the management commands print for people: tables sized to their content with relative
 * times, and a rollout as a readable summary (--json prints the server's JSON instead). */
#ifndef OTAKIT_CLI_PRESENT_H
#define OTAKIT_CLI_PRESENT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

/* "just now", "42 s ago", "3 min ago", "5 h ago", "2 d ago", "never" (ts 0) into buf. */
const char *present_ago(int64_t ts, int64_t now, char *buf, size_t n);

/* Prints the objects of arr as a table of fields, each column as wide as its widest cell; fields
 * named *_at or last_seen print as relative times. Text is made terminal-safe. */
void present_table(FILE *out, json_t *arr, const char *const *fields);

/* Prints a rollout (GET .../rollouts/{id}) as a summary: state, reason, a bar and counts per stage. */
void present_rollout(FILE *out, json_t *ro);

#endif
