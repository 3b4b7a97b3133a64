/* The MPS2 AN385 application's parts: app_main.c (start, self-test, confirm), app_net.c (LAN9118 +
 * lwIP, and the library's transport ops on lwIP's TCP) and app_agent.c (the update protocol). */
#ifndef OTAKIT_MPS2_APP_H
#define OTAKIT_MPS2_APP_H

#include "board.h"
#include "otakit/agent.h"
#include "otakit/http.h"
#include "otakit/ota.h"

typedef struct {
    ota_ctx_t *ota;
    ota_version_t running;  /* our version, from our image header */
    ota_net_t tcp;          /* lwIP TCP (app_net_start) */
    ota_http_t http;
    char server[64];        /* "server=" argument (default http://10.0.2.100) */
    char token[96];         /* "token=": the device token */
    uint8_t once;           /* "once=1": end the emulation after one check finds nothing to do */
    uint8_t confirmed;      /* the image is confirmed: the main loop kicks the watchdog */
} app_t;

/* Brings the network up: LAN9118, lwIP, DHCP (static 10.0.2.15/24 via 10.0.2.2 if no lease in
 * 10 s), and fills a->tcp with the transport ops. Returns OTA_OK or OTA_ERR_NET. */
int app_net_start(app_t *a);

/* Runs lwIP: received frames, timers; kicks the watchdog once the image is confirmed. */
void app_net_poll(void);

/* The self-test of a new image: the server answers a check. Returns OTA_OK or the error. */
int app_agent_selftest(app_t *a);

/* The agent: check, pull, reset into the new image; polls every few seconds. Returns only when
 * a->once and a check found nothing to do. */
void app_agent_run(app_t *a);

#endif
