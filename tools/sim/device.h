/* otakit-device: one simulated device (see docs/device-sim.md). */
#ifndef OTAKIT_DEVICE_SIM_H
#define OTAKIT_DEVICE_SIM_H
#include <stdint.h>

typedef struct {
    const char *server;      /* http://host:port or https://host:port */
    const char *ca;          /* https: the pinned CA (PEM file) */
    const char *servername;  /* https: the name the certificate must carry (NULL: the URL's host) */
    const char *enroll;      /* enrollment token (first start) */
    const char *id;          /* device id */
    const char *dir;         /* state directory: flash.bin, settings.bin */
    const char *key;         /* trusted public key (PEM) */
    const char *product;     /* product id images must name (NULL: any) */
    const char *layout;      /* preset name */
    const char *factory;     /* signed image provisioned into slot 0 on first start */
    int once;                /* exit once an update cycle settles */
    int poll;                /* seconds between checks */
    uint32_t commit_ms;      /* commit window (watchdog) */
    int slow;                /* realistic flash timing (erase/program sleep) */
    int decline;             /* the user says no to commands (the agent's consent hook) */
    int no_delta;            /* full images only: the agent gets no delta RAM (ota_agent_cfg_t.delta) */
    const char *cut_after;   /* power cut right after this report was answered (tests) */
    uint32_t retry_min_ms, retry_max_ms; /* backoff after failures (0: defaults) */
    unsigned progress_pct;   /* progress report step (0: the agent's default, 10) */
    int fleet;               /* 1: in a fleet thread (no exec, no alarm, no progress bar) */
    char **argv;             /* for re-exec */
    const char *listen;      /* address the push server and ArduinoOTA bind (default 127.0.0.1) */
    int push_port;           /* push endpoints on this TCP port (device/net/push.c); -1: off */
    const char *push_token;  /* their bearer token (and Mongoose access_token) */
    const char *push_basic;  /* their Basic credentials, base64 of user:password */
    int aota_port;           /* ArduinoOTA invitations on this UDP port; -1: off */
    const char *aota_password; /* its MD5-challenge password (NULL: none) */
    const char *w5500;       /* the agent's network on the W5500 driver + emulator (w5500_spec.h) */
    const char *mqtt;        /* broker host:port: OTA over MQTT and rollout notices; NULL: off */
    const char *mqtt_topic;  /* request/response topic prefix (default mg/<id>: <prefix>/rx, /tx) */
    const char *mqtt_notice; /* rollout notice topic (default otakit/<product>/update) */
    int long_poll;           /* --long-poll S: each check waits at the server up to S s for news; 0: off */
    const char *catalog;     /* the update page's catalog: http://host:port/path (with --push) */
} dev_opts_t;

/* What a finished run of one device came to. */
enum { DEV_SETTLED_NONE = 0, DEV_SETTLED_CONFIRMED = 1, DEV_SETTLED_ROLLED_BACK = 2, DEV_FAILED = 3 };

/* Runs the device: boots, runs its firmware, updates; returns only with --once (or on errors)
 * a DEV_* outcome. Single-device mode resets by re-exec; fleet mode loops in the thread. */
int dev_run(const dev_opts_t *o);

/* Writes a simulated firmware payload. Returns 0 or -1. */
int dev_mkfw(const char *path, const char *version, const char *behaviour, long size);
#endif
