/*
 * An application's update agent as the target build links it (cmake/target.cmake, with
 * OTAKIT_TARGET_TLS): ota_init, ota_tls_init, ota_http_init, then the whole protocol through
 * ota_agent_init + ota_agent_step (register, check, commands, reports, pre-check, pull, confirm)
 * with the settings in two flash sectors, against libotakit_device.a and the target's mbedTLS with
 * its TLS client, no syscall stubs. Not run; scripts/cross-check.sh and bench/target.sh print its size.
 */
#include <string.h>

#include "mbedtls/memory_buffer_alloc.h"
#include "otakit/agent_loop.h"
#include "otakit/http.h"
#include "otakit/ota.h"
#include "otakit/settings.h"
#include "otakit/tls.h"
#include "port_stub.h"

static const uint8_t ca_der[] = {0x30, 0x82}; /* the pinned CA */
static const ota_net_t tcp = {&stub_net_ops, NULL};
static ota_ctx_t ctx;
static ota_tls_t tls;
static ota_http_t http;
static ota_agent_t agent;
static ota_settings_flash_t settings;
static ota_boot_result_t boot;
/* The settings: two 16 KB sectors of a data flash apart from the program flash's layout. */
static const ota_sector_run_t data_runs[] = {{2, 16384}};
static const ota_flash_t data_flash = {&stub_flash_ops, NULL, 32768, 8, 0xff, 1, data_runs};
/* mbedTLS's heap for the handshake and records (16 KB incoming records, 2 KB outgoing). */
static unsigned char crypto_heap[32 * 1024];

int main(void)
{
    ota_flash_t flash;
    ota_config_t cfg;
    ota_tls_cfg_t tcfg;
    ota_http_cfg_t hcfg;
    ota_agent_cfg_t ac;

    if (!link_config(&flash, &cfg))
        return 1;
    mbedtls_memory_buffer_alloc_init(crypto_heap, sizeof crypto_heap);
    cfg.product = "demo";
    if (ota_init(&ctx, &cfg) != OTA_OK)
        return 2;
    /* What the bootloader booted: this firmware's own version, the slot and state from the journal. */
    boot.slot = (uint8_t)ota_running_slot(&ctx);
    boot.state = ctx.rec.state;
    boot.security_counter = ctx.rec.security_counter;
    boot.version.major = 1;

    memset(&tcfg, 0, sizeof tcfg);
    tcfg.lower = &tcp;
    tcfg.ca = ca_der;
    tcfg.ca_len = sizeof ca_der;
    tcfg.platform = &stub_platform;
    if (ota_tls_init(&tls, &tcfg) != OTA_OK)
        return 3;
    memset(&hcfg, 0, sizeof hcfg);
    hcfg.tcp = &tcp;
    hcfg.tls = &tls.net;
    hcfg.platform = &stub_platform;
    if (ota_http_init(&http, &hcfg) != OTA_OK)
        return 4;
    if (ota_settings_flash_init(&settings, &data_flash, 0, 32768) != OTA_OK)
        return 5;
    memset(&ac, 0, sizeof ac);
    ac.server_url = "https://ota.example.com";
    ac.device_id = "dev-1";
    ac.hw_rev = "rev-a";
    ac.enroll_token = "enrollment-token";
    ac.ota = &ctx;
    ac.boot = &boot;
    ac.http = &http;
    ac.settings = &settings.settings;
    ac.platform = &stub_platform;
    if (ota_agent_init(&agent, &ac) != OTA_OK)
        return 6;
    for (;;) {
        uint32_t ms = ota_agent_step(&agent);
        if (ms == OTA_AGENT_STOPPED)
            return 0; /* no reset hook here: the image installs at the next reset */
        stub_platform.sleep_ms(stub_platform.ctx, ms);
    }
}
