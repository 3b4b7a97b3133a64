/*
 * The update agent: the whole device side of the otakit protocol behind one call, so that a port
 * writes no protocol code. A main loop or an RTOS task calls ota_agent_step() and sleeps for as
 * long as it answers:
 *
 *   static ota_agent_t agent;                  4.3 KB (Cortex-M3): the check answer, its buffers
 *   ota_agent_cfg_t ac = {0};
 *   ac.server_url = "https://ota.example.com"; ac.device_id = "dev-42"; ac.hw_rev = "rev-b";
 *   ac.enroll_token = ENROLL;                  used once, to register (POST /api/v1/device/register)
 *   ac.ota = &ctx; ac.boot = &boot;            after ota_init() + ota_boot()
 *   ac.http = &http;                           the client for everything (its tcp/tls transports)
 *   ac.settings = &sf.settings;                device token + update in flight (otakit/settings.h)
 *   ac.platform = &platform;                   now_ms (rate limits), entropy (retry jitter)
 *   ac.port = &hooks;                          self_test, consent, reset, log, event (all optional
 *                                              but reset: without it a new image waits for a reboot)
 *   ota_agent_init(&agent, &ac);
 *   for (;;) sleep_ms(ota_agent_step(&agent));
 *
 * What one step does (at most one of these, each a few bounded HTTP exchanges):
 *   1. register with the enrollment token, once; the device token is saved in the settings;
 *   2. on a boot of a new image (state TESTING): self_test(), and a check that reaches the server
 *      (cfg.self_test_tries attempts); then ota_confirm(), or ota_rollback() and reset();
 *   3. settle the update in flight after a reset: the reports that a reset or a power cut kept from
 *      being sent (downloaded, installing, then installed + confirmed, or rolled_back), one a step;
 *   4. check (GET /api/v1/device/check) and remember its answer;
 *   5. one command of that answer: consent(cmd) decides; the ack (POST /api/v1/device/commands/{id},
 *      "done" or "declined") goes first; a reboot then reports installing for a downloaded update
 *      and calls reset(); an accepted upgrade's image comes with the same check's "update";
 *   6. an offered update: pre-check (product, hardware, counter from the image's TLVs), report
 *      downloading, pull (resumable; progress reports every cfg.progress_pct percent when a second
 *      HTTP client is given), report downloaded, then installing + reset() — or, when the offer says
 *      "reboot": "on_command" (seed 004), wait for the server's reboot command. Failures of the
 *      image (refused by the pre-check, hash, signature, product, a changed file, a 4xx) are
 *      reported as failed with the reason; a pre-check or download that the network broke off
 *      (OTA_ERR_NET, _TIMEOUT, _TLS, once the pull's own retries are spent) is not: it resumes
 *      after the next check, with backoff.
 * A check refused with 401 means the server no longer knows the device token (the device was deleted
 * there, or its token revoked): with an enrollment token the agent registers again, once until a
 * check passes (the new token is saved only when the server issued it; the device reappears on the
 * server as a new registration); without one, or when that registration is refused (401/403: the
 * enrollment token was revoked too; 409: the id is taken), it logs why, emits OTA_AGENT_EV_REFUSED
 * and checks again only every cfg.retry_max_ms (jittered), so a device restored on the server comes
 * back by itself and a deleted one does not keep a server busy. The same 401 during a self-test
 * does not roll the new image back (the token is in the settings, shared with the older image): it
 * registers again and the self-test goes on with the new token; without an enrollment token, or
 * when that registration is refused, the server's answer is the self-test's proof of reaching it:
 * the image is confirmed, then the device refuses as above.
 * It answers the milliseconds until it wants to run again: 0 while there is more to do, the server's
 * poll_interval after a check (capped by cfg.poll_max_ms), and after a failure an exponential
 * backoff with jitter (cfg.retry_min_ms doubling up to cfg.retry_max_ms; each wait is drawn in
 * [d/2, d] from a PRNG seeded by the platform's entropy, so a fleet does not come back in step).
 *
 * Persisted (through cfg.settings, each change saved before the step that depends on it): the device
 * token, the action in flight, its target version and which of its reports were answered by the
 * server. A report is sent before its bit is saved, so after a power cut it may be sent twice; the
 * server takes a repeated report (same status again, or 200 "duplicate" for a final one).
 * Commands are not persisted: the server delivers each once; a reset between delivery and ack
 * leaves it "delivered" on the server. Portable C99: no heap, no stdio.
 */
#ifndef OTAKIT_AGENT_LOOP_H
#define OTAKIT_AGENT_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/agent.h"
#include "otakit/delta.h"
#include "otakit/port.h"
#include "otakit/settings.h"

#ifndef OTA_AGENT_TOKEN_MAX
#define OTA_AGENT_TOKEN_MAX 80u   /* device token, NUL included (otakit servers issue 64 hex digits) */
#endif
#ifndef OTA_AGENT_RESP_MAX
#define OTA_AGENT_RESP_MAX 2048u  /* a check answer (a manifest and a few commands) */
#endif
#ifndef OTA_AGENT_BODY_MAX
#define OTA_AGENT_BODY_MAX 384u   /* a request body (register, report, ack) */
#endif
#ifndef OTA_AGENT_MSG_MAX
#define OTA_AGENT_MSG_MAX 128u    /* a report's message (the reason of a failure) and a log line */
#endif

/* What happened, for the port's event() hook (logs carry the same as text). */
typedef enum {
    OTA_AGENT_EV_REGISTERED = 1,  /* the device token was issued and saved */
    OTA_AGENT_EV_REGISTER_FAILED, /* rc: the error (OTA_ERR_HTTP_STATUS: status in .status) */
    OTA_AGENT_EV_CONFIRMED,       /* the new image passed its self-test and was confirmed */
    OTA_AGENT_EV_SELF_TEST_FAILED,/* it did not: rolled back, reset() follows */
    OTA_AGENT_EV_CHECK_FAILED,    /* rc: the error; .delay_ms: the backoff before the next try */
    OTA_AGENT_EV_UP_TO_DATE,      /* a check offered nothing; .delay_ms until the next */
    OTA_AGENT_EV_REPORT,          /* a report was answered: .text is its status, .status the HTTP one,
                                     .progress its progress (-1: none) */
    OTA_AGENT_EV_COMMAND,         /* a command was acked: .text its type, .accepted */
    OTA_AGENT_EV_UPDATE,          /* an update starts: .version, .size, .action_id */
    OTA_AGENT_EV_PROGRESS,        /* .done of .size bytes written */
    OTA_AGENT_EV_DOWNLOADED,      /* the image is verified and pending */
    OTA_AGENT_EV_FAILED,          /* the update failed; .text the reason (as reported) */
    OTA_AGENT_EV_SETTLED,         /* the update in flight ended: .text "confirmed" or "rolled_back" */
    OTA_AGENT_EV_RESET,           /* reset() is about to be called */
    OTA_AGENT_EV_REFUSED          /* the server refuses the device token (401) and registering again
                                     is not possible or was refused: rc OTA_ERR_AUTH, .status the
                                     refusal's HTTP status, .delay_ms until the next check */
} ota_agent_ev_type_t;

typedef struct {
    ota_agent_ev_type_t type;
    int rc;                   /* an otakit error, or OTA_OK */
    int status;               /* HTTP status, or 0 */
    uint32_t action_id;
    const char *text;         /* a status, command type or reason; "" when none */
    const char *version;      /* the update's version; "" when none */
    uint32_t size, done;      /* bytes */
    int progress;             /* percent, -1 when none */
    uint8_t accepted;         /* commands: 1 done, 0 declined */
    uint32_t delay_ms;        /* until the next step */
} ota_agent_event_t;

/* The port's hooks; every member is optional, ctx is passed to each. */
typedef struct {
    /* Checks the running image before it is confirmed (peripherals, sensors...). Returns 0 when it
     * passes; anything else rolls it back. NULL: reaching the server is the test. */
    int (*self_test)(void *ctx);
    /* Asks whether to carry out a command ("upgrade" or "reboot"; the user may be asked). Returns 1
     * to accept, 0 to decline. NULL: cfg.decline_commands decides. */
    int (*consent)(void *ctx, const ota_command_t *cmd);
    /* Restarts the chip so the bootloader installs a pending image (NVIC_SystemReset, esp_restart).
     * Should not return; if it does, every later step returns OTA_AGENT_STOPPED. NULL: the agent
     * stops there and the image installs at the next reset, whatever causes it; reboot commands
     * are then acked "failed". */
    void (*reset)(void *ctx);
    /* One line of text (no newline) for humans: level 0 error, 1 info, 2 debug. */
    void (*log)(void *ctx, int level, const char *line);
    /* What happened, as data. */
    void (*event)(void *ctx, const ota_agent_event_t *ev);
    void *ctx;
} ota_agent_port_t;

typedef struct {
    const char *server_url;          /* "https://host[:port][/prefix]" */
    const char *device_id;           /* 1-64 of A-Z a-z 0-9 . _ : - */
    const char *hw_rev;              /* the board's revision, as the server knows it */
    const char *enroll_token;        /* the product's enrollment token (until registered) */
    ota_ctx_t *ota;                  /* initialised and booted (ota_init, ota_boot) */
    const ota_boot_result_t *boot;   /* what ota_boot() answered; an application started by a separate
                                        bootloader fills slot (ota_running_slot), state and
                                        security_counter (ota->rec) and version (its own) */
    ota_http_t *http;                /* the HTTP(S) client for every exchange */
    ota_http_t *report_http;         /* a second client, for progress reports while http pulls;
                                        NULL: only downloading (0%) and downloaded are reported */
    const ota_settings_t *settings;  /* required: where the token and the update in flight live */
    const ota_platform_ops_t *platform; /* now_ms (progress rate), entropy (seeds the jitter); may be NULL */
    const ota_agent_port_t *port;    /* hooks, NULL: none */
    uint32_t poll_ms;                /* when the server names no poll_interval; 0 means 60000 */
    uint32_t poll_max_ms;            /* cap on the server's poll_interval; 0: none */
    uint16_t long_poll_s;            /* 1..300: each check waits at otakit-server up to this long for
                                        news (a rollout, a command: ?wait=N), so a device learns of it
                                        at once; the HTTP read timeout is raised by as much for the
                                        check, and a check that was held for the wait is followed by
                                        the next one at once. 0: plain polling */
    uint32_t retry_min_ms;           /* first backoff after a failure; 0 means 1000 */
    uint32_t retry_max_ms;           /* backoff cap; 0 means 300000 */
    uint8_t progress_pct;            /* progress report every this many percent; 0 means 10 */
    uint32_t progress_min_ms;        /* and at most one per this many ms (platform clock); 0: no limit */
    uint8_t self_test_tries;         /* checks a new image gets to reach the server; 0 means 3 */
    uint8_t decline_commands;        /* without a consent hook: 1 declines commands, 0 accepts */
    uint8_t no_precheck;             /* 1: skip ota_pull_precheck() before downloading */
    uint32_t pull_deadline_ms;       /* ota_pull_opts_t.deadline_ms (0: its default) */
    uint32_t pull_retry_delay_ms;    /* ota_pull_opts_t.retry_delay_ms */
    ota_delta_t *delta;              /* RAM for delta patches (otakit/delta.h, about 2.4 KB): the check
                                        asks for them (delta=1), an offered patch is applied against the
                                        running image, the full image taken when it cannot be (another
                                        base, a refused patch). NULL: full images only */
} ota_agent_cfg_t;

#define OTA_AGENT_STOPPED 0xffffffffu /* ota_agent_step(): reset() returned; call no more */

/* The agent: the configuration, what is persisted, the last check's answer and its buffers. */
typedef struct {
    ota_agent_cfg_t cfg;
    /* persisted (the settings) */
    char token[OTA_AGENT_TOKEN_MAX];
    uint32_t action_id;              /* update in flight, 0: none */
    char target[OTA_CHECK_TEXT_MAX]; /* its version */
    uint16_t sent;                   /* bit (1 << status) per report the server answered */
    uint8_t has_delta_ck;            /* a delta patch is being applied: where a reset resumes it */
    ota_delta_ckpt_t delta_ck;
    /* this boot */
    uint8_t phase;                   /* internal: what the next step does */
    uint8_t self_test_tries;         /* checks tried in self-test */
    uint8_t cmd_next;                /* next command of chk to carry out */
    uint8_t failures;                /* failures in a row (backoff exponent) */
    uint32_t declined_action;        /* action of an upgrade command declined on this device */
    uint32_t rng;                    /* jitter PRNG state */
    uint32_t poll_ms;                /* the server's poll interval, as capped */
    uint8_t held;                    /* the last check was held for the long-poll wait */
    uint8_t reregistered;            /* registered again after a 401, no check has passed since */
    uint8_t on_trial;                /* a new image on trial, not confirmed yet */
    int last_error;                  /* the last failure (OTA_OK: none) */
    uint8_t last_pct;                /* progress last reported */
    uint32_t last_progress_ms;
    ota_check_t chk;                 /* the last check's answer */
    char version[OTA_VERSION_STR_MAX];/* the running version as text */
    char buf[OTA_AGENT_RESP_MAX];    /* check answer */
    char body[OTA_AGENT_BODY_MAX];   /* request body */
    char msg[OTA_AGENT_MSG_MAX];     /* a report's message, a log line */
} ota_agent_t;

/* Copies cfg (its pointers must outlive a), loads the settings and seeds the jitter. Returns
 * OTA_OK, or OTA_ERR_ARG (a required member missing). Unreadable settings start unregistered. */
int ota_agent_init(ota_agent_t *a, const ota_agent_cfg_t *cfg);

/* Does the next bounded piece of work (file comment) and returns the milliseconds until it wants
 * to be called again, or OTA_AGENT_STOPPED. a->last_error holds the last failure. */
uint32_t ota_agent_step(ota_agent_t *a);

/* ---- the protocol's requests, one exchange each (ota_agent_step() is built on these) --------- */

/* POST {server}/api/v1/device/register with the enrollment token; the device token goes to token
 * (cap bytes). buf (buf_cap bytes; OTA_AGENT_BODY_MAX suffices) holds the body, then the answer.
 * Returns OTA_OK, OTA_ERR_HTTP_STATUS (*status: e.g. 409, already registered; 401, bad enrollment
 * token), OTA_ERR_JSON, OTA_ERR_NO_SPACE or the HTTP client's errors. */
int ota_agent_register(ota_http_t *http, const char *server_url, const char *enroll_token, const char *device_id,
                       const char *hw_rev, const char *version, unsigned slot, uint32_t security_counter,
                       char *token, size_t cap, char *buf, size_t buf_cap, int *status);

/* POST {server}/api/v1/device/report {"action_id","status","version"?,"progress"? (progress >= 0),
 * "message"? (non-empty)}. body is the scratch for the request (OTA_AGENT_BODY_MAX suffices).
 * Returns OTA_OK (2xx), OTA_ERR_HTTP_STATUS (*status), or the HTTP client's errors. */
int ota_agent_report(ota_http_t *http, const char *server_url, const char *token, uint32_t action_id,
                     const char *status_text, const char *version, int progress, const char *message, char *body,
                     size_t body_cap, int *status);

/* POST {server}/api/v1/device/commands/{id} {"status": "done"|"failed"|"declined","message"?}.
 * Same returns as ota_agent_report(). */
int ota_agent_ack(ota_http_t *http, const char *server_url, const char *token, uint32_t command_id,
                  const char *status_text, const char *message, char *body, size_t body_cap, int *status);

#endif
