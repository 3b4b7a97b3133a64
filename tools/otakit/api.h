/* The otakit CLI as a client of otakit-server's management API (libcurl + jansson). */
#ifndef OTAKIT_CLI_API_H
#define OTAKIT_CLI_API_H

#include <jansson.h>

/* Server connection: --server/OTAKIT_SERVER_URL and --token/OTAKIT_TOKEN. */
typedef struct {
    const char *url;
    const char *token;
    int json;   /* print raw JSON responses */
} api_t;

/* Makes one request. body: JSON (not owned) or NULL; file: path of a raw body to upload or NULL.
 * On return *resp holds the parsed JSON response (NULL when none; caller decrefs). Returns the HTTP
 * status, or -1 when the server could not be reached (the reason is printed). */
long api_call(const api_t *a, const char *method, const char *path, json_t *body, const char *file, json_t **resp);

/* Prints the server's error ("code: message") for a failed call; returns EXIT_FAIL. */
int api_fail(const char *cmd, long status, json_t *resp);

/* Subcommands. */
int cmd_product(int argc, char **argv);
int cmd_release(int argc, char **argv);
int cmd_rollout(int argc, char **argv);
int cmd_device(int argc, char **argv);

#endif
