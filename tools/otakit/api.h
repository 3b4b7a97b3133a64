/* The otakit CLI as a client of otakit-server's management API (libcurl + jansson). */
#ifndef OTAKIT_CLI_API_H
#define OTAKIT_CLI_API_H

#include <jansson.h>

/* Server connection: --server/OTAKIT_SERVER_URL and --token/OTAKIT_TOKEN. */
typedef struct {
    const char *url;
    const char *token;
    int json;   /* print raw JSON responses */
    const char *cacert; /* --cacert/OTAKIT_CACERT: PEM file of the CA(s) to trust instead of the system's */
} api_t;

/* Makes one request. body: JSON (not owned) or NULL; file: path of a raw body to upload or NULL.
 * On return *resp holds the parsed JSON response (NULL when none; caller decrefs). Returns the HTTP
 * status, or -1 when the server could not be reached (the reason is printed). */
long api_call(const api_t *a, const char *method, const char *path, json_t *body, const char *file, json_t **resp);

/* Prints the server's error ("code: message") for a failed call on stderr (and, with a->json, as
 * {"status":N,"error":{"code","message"}} on stdout); returns the exit code of status: EXIT_AUTH
 * (401/403), EXIT_NOT_FOUND (404), EXIT_CONFLICT (409), EXIT_NETWORK (unreachable), else EXIT_FAIL. */
int api_fail(const api_t *a, const char *cmd, long status, json_t *resp);

/* Appends s to path URL-escaped (a path parameter: "/" and "?" cannot cut the path). */
void api_path_append(char *path, size_t n, const char *s);

/* Subcommands. */
int cmd_product(int argc, char **argv);
int cmd_release(int argc, char **argv);
int cmd_rollout(int argc, char **argv);
int cmd_device(int argc, char **argv);
int cmd_publish(int argc, char **argv);

#endif
