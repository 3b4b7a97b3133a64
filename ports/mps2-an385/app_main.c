/*
 * The application of the MPS2 AN385 port: firmware that runs from slot 0, reads its version from
 * its own image header, brings the network up and hands over to the library's update agent
 * (app_agent.c): on trial after an update (the journal says TESTING) the agent runs the self-test
 * and confirms the image (ota_confirm) or asks for a rollback; then it checks, pulls and resets
 * into each new image.
 *
 * Built in several behaviours from this one file (APP_BEHAVIOUR), like the host simulator's
 * firmware: healthy; crash (a real fault, once running: the HardFault handler resets, the
 * bootloader rolls back); hang (never confirms nor kicks the watchdog: the watchdog resets);
 * nonet (the self-test cannot reach the network: asks for a rollback).
 */
#include <string.h>

#include "app.h"
#include "mbedtls/memory_buffer_alloc.h"

#ifndef APP_BEHAVIOUR
#define APP_BEHAVIOUR "healthy"
#endif

static ota_ctx_t ctx;
static ota_flash_t flash;
static unsigned char crypto_heap[4096]; /* mbedTLS's bignums while ota_end() checks a signature */

static int is(const char *b)
{
    return strcmp(APP_BEHAVIOUR, b) == 0;
}

int app_self_test_fails(void)
{
    return is("nonet");
}

int main(void)
{
    const ota_preset_t *p;
    ota_config_t cfg;
    ota_image_header_t hdr;
    app_t app;
    ota_boot_result_t boot;
    char ver[24];
    int rc, testing;

    board_uart_init();
    board_clock_init();
    mbedtls_memory_buffer_alloc_init(crypto_heap, sizeof crypto_heap);
    if (!(p = board_flash_open(&flash)))
        board_exit(3);
    /* Our own image header, in front of our vector table in slot 0. */
    if (ota_image_header_decode((const uint8_t *)(uintptr_t)(BOARD_FLASH_BASE + p->layout.slot[0].off), &hdr) != OTA_OK)
        board_exit(3);
    (void)ota_version_format(&hdr.version, ver, sizeof ver);
    board_log("app: otakit firmware ", ver, " (" APP_BEHAVIOUR "), geometry ", p->name);

    board_ota_config(&cfg, &flash, p);
    if ((rc = ota_init(&ctx, &cfg)) != OTA_OK) {
        board_log("app: ota_init: ", ota_strerror(rc), NULL, NULL);
        board_exit(3);
    }
    testing = ctx.rec.state == OTA_STATE_TESTING;
    board_log("app: journal state ", ota_state_name(ctx.rec.state), NULL, NULL);

    if (is("crash")) {
        board_puts("app: crashing (a store to an unmapped address)\n");
        REG32(0xF0000000u) = 1u; /* BusFault -> HardFault: the handler resets */
    }
    if (is("hang")) {
        board_puts("app: hanging (no confirm, no watchdog kick)\n");
        for (;;)
            __asm__ volatile("wfi");
    }

    memset(&app, 0, sizeof app);
    app.ota = &ctx;
    app.running = hdr.version;
    if (board_arg("server", app.server, sizeof app.server) != 0)
        strcpy(app.server, "http://10.0.2.100");
    if (board_arg("enroll", app.enroll, sizeof app.enroll) != 0)
        app.enroll[0] = 0;
    if (board_arg("device", app.device_id, sizeof app.device_id) != 0)
        strcpy(app.device_id, "mps2-an385");
    {
        char once[4];
        app.once = board_arg("once", once, sizeof once) == 0 && once[0] == '1';
    }
    if ((rc = app_net_start(&app)) != OTA_OK) {
        if (testing) { /* the network is part of the self-test */
            board_log("app: self-test failed: ", ota_strerror(rc), "; asking for a rollback", NULL);
            (void)ota_rollback(&ctx);
            board_reset("self-test failed");
        }
        board_exit(6);
    }
    app.confirmed = !testing; /* once confirmed, the main loop kicks the watchdog (app_net_poll) */
    if (app.confirmed && board_watchdog_running())
        board_watchdog_kick();
    /* What the bootloader decided, as the agent needs it: slot 0 runs, in the journal's state. */
    memset(&boot, 0, sizeof boot);
    boot.slot = (uint8_t)ota_running_slot(&ctx);
    boot.state = ctx.rec.state;
    boot.version = hdr.version;
    boot.security_counter = ctx.rec.security_counter;
    app_agent_run(&app, &boot);
}
