/* Shared pieces of the otakit command-line tool. */
#ifndef OTAKIT_CLI_H
#define OTAKIT_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/bytes.h"
#include "otakit/image.h"
#include "otakit/keys.h"

/* Exit codes: the contract scripts rely on. */
#define EXIT_OK 0
#define EXIT_FAIL 1  /* the operation ran and failed: verification failure, unreadable file... */
#define EXIT_USAGE 2 /* bad command line */
/* The server commands (product, release, rollout, device) tell these apart for scripts: */
#define EXIT_AUTH 3      /* the server refused the token (401) or its scope (403) */
#define EXIT_NOT_FOUND 4 /* no such product, release, rollout, device... (404) */
#define EXIT_CONFLICT 5  /* the request conflicts with the state (409): exists, rollout_overlap... */
#define EXIT_NETWORK 6   /* the server could not be reached (connection, TLS, timeout) */

/* Subcommands: each gets argv starting at its own name and returns an exit code. */
int cmd_keygen(int argc, char **argv);
int cmd_getpub(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_push(int argc, char **argv);

/* Prints "otakit <cmd>: <formatted message>" to stderr and returns EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "otakit <cmd>: <what>: <ota_strerror(rc)>" (plus strerror(errno) for file errors) to
 * stderr and returns EXIT_FAIL. */
int op_error(const char *cmd, const char *what, int rc);

/* Parses a decimal or 0x-hex unsigned number no larger than max. Returns 0 or -1. */
int parse_uint(const char *s, uint32_t max, uint32_t *out);

/* Loads the keys named by paths (private or public) into DER SubjectPublicKeyInfo buffers
 * (n * 91 bytes, caller frees) and fills keys[]. Prints the error itself; returns EXIT_OK or EXIT_FAIL. */
int load_trusted_keys(const char *cmd, char **paths, unsigned n, uint8_t **der_out, ota_pubkey_t *keys);

/* Copies s with every terminal control character escaped, so text from a server (or a device
 * behind it) cannot clear the screen, move the cursor or retitle the operator's terminal: C0
 * controls (but newline when keep_nl), DEL and C1 controls (U+0080..U+009F) become \u00XX, bytes
 * that are not UTF-8 \xNN. Inside JSON strings the result is still valid JSON. The one escaper
 * of every print path of server data. Returns a new string (caller frees) or NULL (no memory). */
char *term_safe(const char *s, int keep_nl);

/* Writes s as a JSON string literal (with quotes) to stdout. */
void print_json_string(const char *s);

#endif
