/*
 * Every error the server answers, in one table: the stable code clients see, the HTTP status it
 * always comes with, and a default message. Handlers name an error by its enum (ERR_NOT_FOUND...)
 * and add a message with the details; `otakit-server --print-errors` prints the table, and
 * tests/server/test_openapi.py checks it against docs/openapi.yaml.
 *
 * Errors are answered as {"error":{"code":CODE,"message":MESSAGE}} (http.h), libmicrohttpd's own
 * refusals of malformed requests included (see docs/server.md, "Errors").
 */
#ifndef OTAKIT_SERVER_ERRORS_H
#define OTAKIT_SERVER_ERRORS_H

#include <stdio.h>

/* X(NAME, code, HTTP status, default message), by status. */
#define ERRORS(X)                                                                                           \
    X(ERR_BAD_REQUEST, "bad_request", 400, "the request is malformed")                                     \
    X(ERR_BAD_CONTENT_LENGTH, "bad_content_length", 400, "Content-Length must be a decimal byte count")    \
    X(ERR_BAD_PATH, "bad_path", 400, "path traversal is not allowed")                                      \
    X(ERR_BAD_JSON, "bad_json", 400, "the body must be a JSON object")                                     \
    X(ERR_BAD_ACTION_ID, "bad_action_id", 400, "action_id must be the positive integer from the offer")    \
    X(ERR_BAD_CHANNEL, "bad_channel", 400, "channel must be official or beta")                             \
    X(ERR_BAD_COMMAND, "bad_command", 400, "a reboot takes no release and no consent")                     \
    X(ERR_BAD_COMPAT, "bad_compat", 400, "compat must be an object of booleans")                           \
    X(ERR_BAD_CONSENT, "bad_consent", 400, "consent must be true or false")                                \
    X(ERR_BAD_CONFIG_DATA, "bad_config_data", 400, "configData is {\"mode\"?,\"data\":{name:string}}")  \
    X(ERR_BAD_DDI, "bad_ddi", 400, "DDI settings are {\"register\"?:bool,\"gateway_token\"?:\"new\"|\"none\"}") \
    X(ERR_BAD_DEVICE_ID, "bad_device_id", 400, "device_id must be 1-64 characters of A-Z a-z 0-9 . _ : -") \
    X(ERR_BAD_FEEDBACK, "bad_feedback", 400, "feedback needs status.execution")                          \
    X(ERR_BAD_FIELD, "bad_field", 400, "this field cannot be changed")                                     \
    X(ERR_BAD_FILENAME, "bad_filename", 400, "filename must be 1-128 characters of A-Z a-z 0-9 . _ + - ( )") \
    X(ERR_BAD_GRANTED, "bad_granted", 400, "granted must be true or false")                                \
    X(ERR_BAD_GROUP, "bad_group", 400, "group names are 1-64 characters of A-Z a-z 0-9 . _ : -")           \
    X(ERR_BAD_GROUPS, "bad_groups", 400, "groups must be an array of up to 32 group names")                \
    X(ERR_BAD_HW_REV, "bad_hw_rev", 400, "hw_rev must be 1-64 printable characters")                      \
    X(ERR_BAD_ID, "bad_id", 400, "the device id is malformed")                                             \
    X(ERR_BAD_IMAGE, "bad_image", 400, "the upload is not a firmware image the server accepts")            \
    X(ERR_BAD_KIND, "bad_kind", 400, "kind must be image, swu or file")                                    \
    X(ERR_BAD_LIMIT, "bad_limit", 400, "limit must be 1..10000")                                           \
    X(ERR_BAD_MAC, "bad_mac", 400, "mac must be up to 32 hex digits, ':' or '-'")                          \
    X(ERR_BAD_MESSAGE, "bad_message", 400, "message must be a string of at most 512 bytes")                \
    X(ERR_BAD_NAME, "bad_name", 400, "the name is empty or too long")                                      \
    X(ERR_BAD_NOTES, "bad_notes", 400, "notes must be UTF-8 text of at most 4096 bytes")                   \
    X(ERR_BAD_OFFSET, "bad_offset", 400, "offset must be a non-negative integer")                          \
    X(ERR_BAD_OP, "bad_op", 400, "op must be list")                                                        \
    X(ERR_BAD_PRODUCT_ID, "bad_product_id", 400, "product_id must be 1-32 characters of A-Z a-z 0-9 . _ -") \
    X(ERR_BAD_PROGRESS, "bad_progress", 400, "progress must be an integer 0..100")                         \
    X(ERR_BAD_PUBLIC_KEY, "bad_public_key", 400, "public_key must be a PEM public key: ECDSA P-256 or P-384, RSA-2048 or RSA-3072, or Ed25519")    \
    X(ERR_BAD_RELEASE, "bad_release", 400, "release must name a release version")                          \
    X(ERR_BAD_SECURITY_COUNTER, "bad_security_counter", 400, "security_counter must be 0..4294967295")     \
    X(ERR_BAD_SHA256, "bad_sha256", 400, "an artifact is named by the 64 lowercase hex digits of its SHA-256") \
    X(ERR_BAD_SIGNATURE, "bad_signature", 400, "the image's signature does not verify")                    \
    X(ERR_BAD_SLOT, "bad_slot", 400, "slot must be 0 or 1")                                                \
    X(ERR_BAD_DELTA, "bad_delta", 400, "delta must be 0 or 1")                                             \
    X(ERR_BAD_STAGE, "bad_stage", 400, "stage must be a stage index")                                      \
    X(ERR_BAD_STAGES, "bad_stages", 400, "the stages are malformed")                                       \
    X(ERR_BAD_STATUS, "bad_status", 400, "the status is not one this route takes")                         \
    X(ERR_BAD_WAIT, "bad_wait", 400, "wait must be 0..300 seconds")                                        \
    X(ERR_BAD_TARGET, "bad_target", 400, "the rollout target is malformed")                                \
    X(ERR_BAD_THRESHOLD, "bad_threshold", 400, "thresholds are numbers between 0 and 1")                   \
    X(ERR_BAD_TYPE, "bad_type", 400, "type must be \"upgrade\" or \"reboot\"")                             \
    X(ERR_BAD_VERSION, "bad_version", 400, "the version is malformed")                                     \
    X(ERR_BAD_VERSION_RULE, "bad_version_rule", 400, "version_rule must be \"semver\" or \"espressif\"")   \
    X(ERR_CHANNEL_MISMATCH, "channel_mismatch", 400, "the channel contradicts the version label")          \
    X(ERR_EMPTY, "empty", 400, "the request body is empty: send the image bytes")                          \
    X(ERR_FORMAT_MISMATCH, "format_mismatch", 400, "the other slot's image has another format")            \
    X(ERR_SECURITY_COUNTER_MISMATCH, "security_counter_mismatch", 400,                                     \
      "the other slot's image has another security counter")                                               \
    X(ERR_UNKNOWN_DEVICE, "unknown_device", 400, "the target names a device the product does not have")    \
    X(ERR_UNSIGNED, "unsigned", 400, "the image is not signed")                                            \
    X(ERR_VERSION_MISMATCH, "version_mismatch", 400, "the versions of the image and the request differ")   \
    X(ERR_VERSION_REQUIRED, "version_required", 400, "the image names no usable version: pass ?version=")  \
    X(ERR_WRONG_KEY, "wrong_key", 400, "the image is signed with another key than the product's")          \
    X(ERR_WRONG_PRODUCT, "wrong_product", 400, "the image is for another product")                         \
    X(ERR_UNAUTHORIZED, "unauthorized", 401, "this route needs Authorization: Bearer <token>")             \
    X(ERR_FORBIDDEN, "forbidden", 403, "this token may not use this route")                                \
    X(ERR_NOT_FOUND, "not_found", 404, "not found")                                                        \
    X(ERR_RELEASE_NOT_FOUND, "release_not_found", 404, "no such release")                                  \
    X(ERR_METHOD_NOT_ALLOWED, "method_not_allowed", 405, "the path exists with another method")            \
    X(ERR_ALREADY_ACKED, "already_acked", 409, "the command was already acknowledged")                     \
    X(ERR_ALREADY_RUNNING, "already_running", 409, "the device already runs this release")                 \
    X(ERR_DOWNGRADE, "downgrade", 409, "the release is older than what the device runs")                   \
    X(ERR_BAD_TRANSITION, "bad_transition", 409, "the action cannot move to that status")                  \
    X(ERR_COMMAND_CANCELLED, "command_cancelled", 409, "the command was cancelled")                        \
    X(ERR_COMMAND_CLOSED, "command_closed", 409, "the command is closed")                                  \
    X(ERR_CONSENT_DECIDED, "consent_decided", 409, "consent was already decided")                          \
    X(ERR_CONSENT_NOT_REQUIRED, "consent_not_required", 409, "the command does not wait for consent")      \
    X(ERR_EXISTS, "exists", 409, "it already exists")                                                      \
    X(ERR_IN_USE, "in_use", 409, "the release is in a running or paused rollout")                          \
    X(ERR_NO_ARTIFACT, "no_artifact", 409, "the release has no image the device can take")                 \
    X(ERR_NO_ELIGIBLE_DEVICES, "no_eligible_devices", 409, "none of the targeted devices can take the release") \
    X(ERR_NOT_DELIVERED, "not_delivered", 409, "the command was not delivered yet")                        \
    X(ERR_NOT_UPGRADABLE, "not_upgradable", 409, "the release cannot be sent over the air")                \
    X(ERR_ROLLOUT_CLOSED, "rollout_closed", 409, "the rollout is finished or cancelled")                   \
    X(ERR_ROLLOUT_OVERLAP, "rollout_overlap", 409, "targeted devices are in another open rollout")          \
    X(ERR_SECURITY_COUNTER, "security_counter", 409, "the release's security counter is below the device's") \
    X(ERR_UPDATE_IN_PROGRESS, "update_in_progress", 409, "the device is installing another update")        \
    X(ERR_VERSION_CONFLICT, "version_conflict", 409, "the version label conflicts with another release")   \
    X(ERR_ACTION_GONE, "action_gone", 410, "the action is no longer active")                               \
    X(ERR_TOO_LARGE, "too_large", 413, "the request body is too large")                                    \
    X(ERR_BODY_NOT_ALLOWED, "body_not_allowed", 413, "this route takes no request body")                   \
    X(ERR_URI_TOO_LONG, "uri_too_long", 414, "the request line is too long")                               \
    X(ERR_RANGE_NOT_SATISFIABLE, "range_not_satisfiable", 416, "range outside the file")                   \
    X(ERR_TOO_MANY_REQUESTS, "too_many_requests", 429, "too many requests: retry later")                   \
    X(ERR_HEAD_TOO_LARGE, "head_too_large", 431, "the request head is too large")                          \
    X(ERR_DATABASE, "database", 500, "the database failed")                                                \
    X(ERR_INTERNAL, "internal", 500, "internal error")                                                     \
    X(ERR_STORAGE, "storage", 500, "the artifact store failed")                                            \
    X(ERR_OVERLOADED, "overloaded", 503, "too many connections: retry later")                              \
    X(ERR_UNHEALTHY, "unhealthy", 503, "the database or the artifact store is not usable")                  \
    X(ERR_HTTP_VERSION, "http_version_not_supported", 505, "only HTTP/1.0 and HTTP/1.1 are served")       \
    X(ERR_INSUFFICIENT_STORAGE, "insufficient_storage", 507, "the disk is full")

#define ERR_ENUM_(name, code, status, msg) name,
typedef enum { ERRORS(ERR_ENUM_) ERR_COUNT } err_t;
#undef ERR_ENUM_

/* The stable code of e ("not_found"), its HTTP status and its default message (static strings). */
const char *err_code(err_t e);
unsigned err_status(err_t e);
const char *err_message(err_t e);

/* The answer body of e: {"error":{"code":CODE,"message":msg}} (msg must be valid UTF-8).
 * Returns a string to free(), or NULL when out of memory. */
char *err_json(err_t e, const char *msg);

/* Prints the table, one error a line: "CODE STATUS MESSAGE" (--print-errors). */
void err_print_table(FILE *out);

#endif
