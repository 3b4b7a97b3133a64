/*
 * An application's update agent as the target build links it (cmake/target.cmake, with
 * OTAKIT_TARGET_TLS): ota_init, then an HTTPS check and pull (ota_tls_init, ota_http_init,
 * ota_check_request, ota_pull_image) and ota_confirm, against libotakit_device.a and the target's
 * mbedTLS with its TLS client, no syscall stubs. Not run; scripts/cross-check.sh prints its size.
 */
#include <string.h>

#include "mbedtls/memory_buffer_alloc.h"
#include "otakit/agent.h"
#include "otakit/http.h"
#include "otakit/ota.h"
#include "otakit/presets.h"
#include "otakit/tls.h"
#include "port_stub.h"

static const uint8_t ca_der[] = {0x30, 0x82}; /* the pinned CA */
static const ota_net_t tcp = {&stub_net_ops, NULL};
static ota_ctx_t ctx;
static ota_tls_t tls;
static ota_http_t http;
static ota_check_t chk;
static char check_buf[2048];
/* mbedTLS's heap for the handshake and records (16 KB incoming records, 2 KB outgoing). */
static unsigned char crypto_heap[32 * 1024];

int main(void)
{
    const ota_preset_t *p = ota_preset_find("stm32f4-1m");
    ota_flash_t flash = {&stub_flash_ops, NULL, 0, 8, 0xff, 0, NULL};
    ota_config_t cfg;
    ota_tls_cfg_t tcfg;
    ota_http_cfg_t hcfg;
    ota_pull_opts_t o;
    const char *token = "device-token";

    if (!p)
        return 1;
    mbedtls_memory_buffer_alloc_init(crypto_heap, sizeof crypto_heap);
    flash.size = p->flash_size;
    flash.n_runs = p->n_runs;
    flash.runs = p->runs;
    memset(&cfg, 0, sizeof cfg);
    cfg.flash = &flash;
    cfg.layout = &p->layout;
    cfg.keys = stub_keys;
    cfg.n_keys = 1;
    cfg.product = "demo";
    cfg.platform = &stub_platform;
    if (ota_init(&ctx, &cfg) != OTA_OK)
        return 2;
    if (ctx.rec.state == OTA_STATE_TESTING)
        (void)ota_confirm(&ctx); /* after the firmware's self-test */

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
    if (ota_check_request(&http, "https://ota.example.com", token, "1.0.0", ota_running_slot(&ctx),
                          ctx.rec.security_counter, check_buf, sizeof check_buf, &chk) != OTA_OK ||
        !chk.has_update)
        return 5;
    memset(&o, 0, sizeof o);
    o.token = token;
    o.size = chk.size;
    o.sha256 = chk.sha256;
    return ota_pull_image(&ctx, &http, chk.url, &o, NULL) == OTA_OK ? 0 : 6; /* OK: reset */
}
