/* The MPS2 AN385 application's parts: app_main.c (start, self-test, confirm), the network with a
 * weak entropy source: app_net.c (LAN9118 + lwIP, the library's transport ops on lwIP's TCP) or, in
 * the W5500 build, app_w5500.c (the W5500 driver, its SPI over UART1; no TCP/IP stack), and
 * app_agent.c (the library's update agent, otakit/agent_loop.h, with the board's settings region
 * and hooks). */
#ifndef OTAKIT_MPS2_APP_H
#define OTAKIT_MPS2_APP_H

#include "board.h"
#include "otakit/agent.h"
#include "otakit/agent_loop.h"
#include "otakit/http.h"
#include "otakit/ota.h"

typedef struct {
    ota_ctx_t *ota;
    ota_version_t running;  /* our version, from our image header */
    ota_net_t tcp;          /* lwIP TCP or the W5500 (app_net_start) */
    ota_http_t http;
    char server[64];        /* "server=" argument (default http://10.0.2.100) */
    char enroll[96];        /* "enroll=": the product's enrollment token (the agent registers) */
    char device_id[40];     /* "device=": the id it registers under (default mps2-an385) */
    uint8_t once;           /* "once=1": end the emulation after one check finds nothing to do */
    uint8_t confirmed;      /* the image is confirmed: the main loop kicks the watchdog */
} app_t;

/* Brings the network up: LAN9118, lwIP, DHCP (static 10.0.2.15/24 via 10.0.2.2 if no lease in
 * 10 s); or the W5500 (static 10.0.2.15/24, link up); and fills a->tcp with the transport ops.
 * Returns OTA_OK or OTA_ERR_NET. */
int app_net_start(app_t *a);

/* Runs lwIP (received frames, timers; the W5500 needs nothing); kicks the watchdog once the image
 * is confirmed. */
void app_net_poll(void);

/* The network's 6-byte MAC address (the LAN9118's, or the one the W5500 build gives its chip). */
const uint8_t *app_net_mac(void);

/* Fills out with len bytes from a weak seed: the host clock and SysTick's phase at the call (board_seed)
 * mixed with the MAC address, stretched by xorshift. NOT cryptographic (QEMU's AN385 has no RNG):
 * good only to keep a fleet's retry jitter apart; TLS is not used on this board. Returns 0. */
int app_entropy(void *ctx, unsigned char *out, size_t len);

/* The port's part of a new image's self-test (the agent then checks in with the server): 0 passes;
 * the "nonet" build fails it, as if its network never came up. */
int app_self_test_fails(void);

/* The agent (otakit/agent_loop.h): registers, settles, checks, pulls, resets into the new image,
 * polling every 2 s. Never returns: board_exit(0) when a->once and a check found nothing to do. */
void app_agent_run(app_t *a, const ota_boot_result_t *boot) __attribute__((noreturn));

#endif
