/*
 * The application's update agent: the library's ota_agent_init() + ota_agent_step()
 * (otakit/agent_loop.h), which speaks the whole otakit protocol (registration with the enrollment
 * token, check, pull with progress reports, the reports a reset or a power cut kept from being sent,
 * the self-test of a new image, confirm or rollback). This file supplies only what the board has:
 * the settings region, the hooks (self-test, reset = system reset, log to the UART), the main
 * loop that sleeps while the network (lwIP, or the W5500) runs, and a weak entropy source.
 *
 * Settings (the device token and the update in flight; otakit/settings.h): two sectors that hold
 * neither the bootloader, the journal, a slot nor the scratch area:
 *   uniform4k-1m: the 4 KB sectors at 64 KB and 68 KB of the chip's map (44 KB..128 KB is free);
 *   stm32f4-1m:   its map has one free sector only (sector 4, the 64 KB one at 64 KB), and the
 *                 settings need two; they take two 4 KB sectors at 1 MB instead, past the part's
 *                 1 MB, in the board's SSRAM1 (4 MB, the emulated flash): like a small external
 *                 NOR next to the MCU. The flash file then holds 1 MB + 8 KB (tests/qemu/mps2.py).
 */
#include <string.h>

#include "app.h"

#define KB 1024u

static ota_agent_t agent;
static ota_http_t report_http; /* progress reports while a->http pulls (both networks give two connections) */
static ota_settings_flash_t settings;
static ota_flash_t settings_flash;
static const ota_sector_run_t f4_plus_settings[] = {{4, 16 * KB}, {1, 64 * KB}, {7, 128 * KB}, {2, 4 * KB}};
static const char *reset_why = "installing the update";
static uint32_t pull_t0, pull_size; /* the update's start and size, for the console's figures */

static int settings_open(app_t *a)
{
    settings_flash = *a->ota->cfg.flash;
    settings_flash.ctx = &settings_flash; /* flash_file.c: the map that bounds the ops */
    if (strcmp(a->ota->cfg.layout->name, "stm32f4-1m") == 0) {
        settings_flash.runs = f4_plus_settings;
        settings_flash.n_runs = sizeof f4_plus_settings / sizeof f4_plus_settings[0];
        settings_flash.size += 8 * KB;
        return ota_settings_flash_init(&settings, &settings_flash, 1024 * KB, 8 * KB);
    }
    return ota_settings_flash_init(&settings, &settings_flash, 64 * KB, 8 * KB);
}

static int hook_self_test(void *ctx)
{
    (void)ctx;
    return app_self_test_fails(); /* the "nonet" build fails it; then reaching the server is the test */
}

static void hook_reset(void *ctx)
{
    (void)ctx;
    board_reset(reset_why);
}

static void hook_log(void *ctx, int level, const char *line)
{
    (void)ctx;
    board_log(level == 0 ? "agent: error: " : "agent: ", line, NULL, NULL);
}

static void hook_event(void *ctx, const ota_agent_event_t *ev)
{
    app_t *a = ctx;
    switch (ev->type) {
    case OTA_AGENT_EV_CONFIRMED:
        a->confirmed = 1; /* the commit window is over: the main loop kicks the watchdog */
        break;
    case OTA_AGENT_EV_SELF_TEST_FAILED:
        board_log("app: self-test failed: ", ota_strerror(ev->rc), "; asking for a rollback", NULL);
        reset_why = "self-test failed";
        break;
    case OTA_AGENT_EV_UPDATE:
        pull_t0 = board_now_ms();
        pull_size = ev->size;
        break;
    case OTA_AGENT_EV_DOWNLOADED: /* bench/qemu.sh reads this line */
        board_puts("agent: image verified and pending: ");
        board_put_u32(pull_size);
        board_puts(" bytes in ");
        board_put_u32(board_now_ms() - pull_t0);
        board_puts(" ms\n");
        break;
    case OTA_AGENT_EV_FAILED:
        board_log("agent: pull failed: ", ev->text, NULL, NULL);
        break;
    case OTA_AGENT_EV_CHECK_FAILED:
        board_log("agent: check failed: ", ota_strerror(ev->rc), NULL, NULL);
        break;
    case OTA_AGENT_EV_UP_TO_DATE: /* the agent logged it */
        if (a->once)
            board_exit(0);
        break;
    default:
        break;
    }
}

int app_entropy(void *ctx, unsigned char *out, size_t len)
{
    const uint8_t *mac = app_net_mac();
    uint32_t x = board_seed(), i;
    (void)ctx;
    for (i = 0; i < 6; i++)
        x = (x ^ mac[i]) * 16777619u;
    x = x ? x : 1u;
    for (i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out[i] = (unsigned char)(x >> 24);
    }
    return 0;
}

void app_agent_run(app_t *a, const ota_boot_result_t *boot)
{
    static ota_agent_port_t hooks = {hook_self_test, NULL, hook_reset, hook_log, hook_event, NULL};
    static ota_platform_ops_t plat;
    ota_agent_cfg_t ac;
    ota_http_cfg_t hc;
    uint32_t ms;
    int rc;

    board_idle_hook = app_net_poll;
    plat = board_platform;
    plat.entropy = app_entropy; /* weak, not cryptographic (app.h): only the backoff jitter uses it */
    memset(&hc, 0, sizeof hc);
    hc.tcp = &a->tcp;
    hc.platform = &board_platform;
    if ((rc = ota_http_init(&a->http, &hc)) != OTA_OK || (rc = ota_http_init(&report_http, &hc)) != OTA_OK ||
        (rc = settings_open(a)) != OTA_OK) {
        board_log("agent: ", ota_strerror(rc), NULL, NULL);
        board_exit(6);
    }
    hooks.ctx = a;
    memset(&ac, 0, sizeof ac);
    ac.server_url = a->server;
    ac.device_id = a->device_id;
    ac.hw_rev = "an385";
    ac.enroll_token = a->enroll;
    ac.ota = a->ota;
    ac.boot = boot;
    ac.http = &a->http;
    ac.report_http = &report_http;
    ac.settings = &settings.settings;
    ac.platform = &plat;
    ac.port = &hooks;
    ac.poll_max_ms = 2000;   /* the tests' pace: a new release is seen within 2 s */
    ac.retry_min_ms = 500;
    ac.retry_max_ms = 8000;
    ac.progress_pct = 25;
    ac.pull_retry_delay_ms = 500;
    if ((rc = ota_agent_init(&agent, &ac)) != OTA_OK) {
        board_log("agent: ota_agent_init: ", ota_strerror(rc), NULL, NULL);
        board_exit(6);
    }
    for (;;) {
        ms = ota_agent_step(&agent);
        if (ms == OTA_AGENT_STOPPED)
            board_exit(6);
        if (ms)
            board_sleep_ms(ms);
    }
}
