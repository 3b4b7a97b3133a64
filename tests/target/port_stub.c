/* See port_stub.h. */
#include "port_stub.h"

#include <string.h>

#define FLASH_BASE 0x08000000u
#define SRAM_TOP 0x20005000u /* 20 KB of SRAM, an STM32F103C8 */

static int chip_read(void *ctx, uint32_t addr, void *buf, uint32_t len)
{
    (void)ctx;
    memcpy(buf, (const void *)(uintptr_t)(FLASH_BASE + addr), len);
    return 0;
}

static int chip_write(void *ctx, uint32_t addr, const void *buf, uint32_t len)
{
    (void)ctx, (void)addr, (void)buf, (void)len;
    return -1; /* a real port programs the flash controller here */
}

static int chip_erase(void *ctx, uint32_t addr)
{
    (void)ctx, (void)addr;
    return -1;
}

const ota_flash_ops_t stub_flash_ops = {chip_read, chip_write, chip_erase};

int stub_slot_read(void *ctx, uint32_t off, void *buf, uint32_t len)
{
    return chip_read(NULL, *(const uint32_t *)ctx + off, buf, len);
}

static int net_connect(void *ctx, const char *host, uint16_t port, uint32_t timeout_ms)
{
    (void)ctx, (void)host, (void)port, (void)timeout_ms;
    return OTA_ERR_NET;
}

static int net_send(void *ctx, int h, const void *buf, size_t len, uint32_t timeout_ms)
{
    (void)ctx, (void)h, (void)buf, (void)len, (void)timeout_ms;
    return OTA_ERR_NET;
}

static int net_recv(void *ctx, int h, void *buf, size_t len, uint32_t timeout_ms)
{
    (void)ctx, (void)h, (void)buf, (void)len, (void)timeout_ms;
    return OTA_ERR_NET;
}

static void net_close(void *ctx, int h)
{
    (void)ctx, (void)h;
}

const ota_net_ops_t stub_net_ops = {net_connect, net_send, net_recv, net_close};

static uint32_t now_ms(void *ctx)
{
    (void)ctx;
    return 0; /* SysTick */
}

static int entropy(void *ctx, unsigned char *out, size_t len)
{
    (void)ctx;
    memset(out, 0, len); /* the chip's TRNG */
    return -1;
}

static void sleep_ms(void *ctx, uint32_t ms)
{
    (void)ctx, (void)ms; /* WFI until SysTick has counted ms */
}

const ota_platform_ops_t stub_platform = {.now_ms = now_ms, .sleep_ms = sleep_ms, .entropy = entropy};

static const uint8_t key_der[91] = {0x30, 0x59};
const ota_pubkey_t stub_keys[1] = {{key_der, sizeof key_der}};

const ota_preset_t *link_config(ota_flash_t *flash, ota_config_t *cfg)
{
    const ota_preset_t *p = ota_preset_find("stm32f4-1m");
    const ota_flash_t f = {&stub_flash_ops, NULL, 0, 8, 0xff, 0, NULL};
    memset(cfg, 0, sizeof *cfg);
    *flash = f;
    if (!p)
        return NULL;
    flash->size = p->flash_size;
    flash->n_runs = p->n_runs;
    flash->runs = p->runs;
    cfg->flash = flash;
    cfg->layout = &p->layout;
    cfg->keys = stub_keys;
    cfg->n_keys = 1;
    cfg->platform = &stub_platform;
    return p;
}

int main(void);
void reset_handler(void);

void reset_handler(void)
{
    (void)main();
    for (;;)
        ;
}

/* Initial stack pointer and reset handler. Kept by the link (-u stub_vectors); a real port
 * places its table at the image start with its linker script. */
void (*const stub_vectors[2])(void);
__attribute__((section(".vectors"))) void (*const stub_vectors[2])(void) = {
    (void (*)(void))(uintptr_t)SRAM_TOP, reset_handler};
