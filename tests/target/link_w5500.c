/*
 * An update agent on an STM32F103 with a W5500 on SPI1 and no TCP/IP stack, as the target build
 * links it (cmake/target.cmake): the W5500 transport (ports/w5500) with register-level SPI1 ops
 * (polled, chip select on PA4), then ota_check_request and ota_pull_image over plain HTTP, against
 * libotakit_device.a and libotakit_port_w5500.a, no syscall stubs. Not run; scripts/cross-check.sh
 * prints its size beside the HTTPS agent's. docs/porting.md, "The W5500 route", explains the ops.
 */
#include <string.h>

#include "otakit/agent.h"
#include "otakit/http.h"
#include "otakit/ota.h"
#include "otakit/w5500.h"
#include "port_stub.h"

#define REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define SPI1_SR REG(0x40013008u)
#define SPI1_DR REG(0x4001300Cu)
#define GPIOA_BSRR REG(0x40010810u)
#define SR_RXNE 0x1u
#define SR_TXE 0x2u
#define PA4 (1u << 4)

static void spi_select(void *ctx, int on)
{
    (void)ctx;
    GPIOA_BSRR = on ? PA4 << 16 : PA4; /* reset bit: CS low; set bit: CS high */
}

static void spi_transfer(void *ctx, const uint8_t *tx, uint8_t *rx, size_t len)
{
    size_t i;
    (void)ctx;
    for (i = 0; i < len; i++) {
        while (!(SPI1_SR & SR_TXE))
            ;
        SPI1_DR = tx ? tx[i] : 0;
        while (!(SPI1_SR & SR_RXNE))
            ;
        if (rx)
            rx[i] = (uint8_t)SPI1_DR;
        else
            (void)SPI1_DR;
    }
}

static const ota_w5500_spi_t spi = {spi_select, spi_transfer, NULL, NULL, NULL, NULL};
static ota_w5500_t w5500;
static ota_ctx_t ctx;
static ota_http_t http;
static ota_check_t chk;
static char check_buf[2048];

int main(void)
{
    ota_flash_t flash;
    ota_w5500_cfg_t wcfg;
    ota_config_t cfg;
    ota_http_cfg_t hcfg;
    ota_pull_opts_t o;
    const char *token = "device-token";

    if (!link_config(&flash, &cfg))
        return 1;
    cfg.product = "demo";
    if (ota_init(&ctx, &cfg) != OTA_OK)
        return 2;
    memset(&wcfg, 0, sizeof wcfg);
    wcfg.spi = &spi;
    wcfg.platform = &stub_platform;
    memcpy(wcfg.mac, (const uint8_t[6]){0x02, 0x08, 0xdc, 0x01, 0x02, 0x03}, 6);
    memcpy(wcfg.ip, (const uint8_t[4]){192, 168, 1, 50}, 4);
    memcpy(wcfg.gateway, (const uint8_t[4]){192, 168, 1, 1}, 4);
    memcpy(wcfg.subnet, (const uint8_t[4]){255, 255, 255, 0}, 4);
    if (ota_w5500_init(&w5500, &wcfg) != OTA_OK || !ota_w5500_link_up(&w5500))
        return 3;
    memset(&hcfg, 0, sizeof hcfg);
    hcfg.tcp = &w5500.net;
    hcfg.platform = &stub_platform;
    if (ota_http_init(&http, &hcfg) != OTA_OK)
        return 4;
    if (ota_check_request(&http, "http://192.168.1.10:8080", token, "1.0.0", ota_running_slot(&ctx),
                          ctx.rec.security_counter, check_buf, sizeof check_buf, &chk) != OTA_OK ||
        !chk.has_update)
        return 5;
    memset(&o, 0, sizeof o);
    o.token = token;
    o.size = chk.size;
    o.sha256 = chk.sha256;
    return ota_pull_image(&ctx, &http, chk.url, &o, NULL) == OTA_OK ? 0 : 6; /* OK: reset */
}
