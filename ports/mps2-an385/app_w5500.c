/*
 * The application's network in the W5500 build (otakit_mps2_app_w5500): no TCP/IP stack at all.
 * The library's transport ops are the W5500 driver (ports/w5500, otakit/w5500.h); its SPI bus is
 * carried over the board's second CMSDK UART (UART1, QEMU's second -serial) to the W5500 emulator
 * on the host (tools/w5500emu, w5500-uart-bridge), which bridges the chip's sockets to real TCP on
 * the host's loopback. On a real board the same driver gets a real SPI peripheral instead
 * (docs/porting.md, "The W5500 route"); nothing else here changes.
 *
 * The UART framing (w5500-uart-bridge.c has the other side), every length big-endian 16 bits:
 *   'S'             chip select asserted (SCSn low)         'U'   chip select released
 *   'W' n tx[n]     n bytes clocked, MISO discarded        'R' n  n zeros clocked; answer: rx[n]
 *   'X' n tx[n]     n bytes clocked; answer: rx[n]          'I'   idle (the host moves socket data
 *                                                                 for up to 1 ms); answer: one byte
 */
#include <string.h>

#include "app.h"
#include "otakit/w5500.h"

#define UART1 0x40005000u
#define U1_DATA (UART1 + 0x00)
#define U1_STATE (UART1 + 0x04) /* bit 0: TX buffer full; bit 1: RX buffer full */
#define U1_CTRL (UART1 + 0x08)  /* bit 0: TX enable; bit 1: RX enable; bit 3: RX interrupt enable */
#define U1_INTCLEAR (UART1 + 0x0C)
#define U1_BAUDDIV (UART1 + 0x10)
#define U1_RX_IRQ 2u            /* the AN385's UART1 receive interrupt */
#define NVIC_ISER0 0xE000E100u
#define NVIC_ICPR0 0xE000E280u
#define NVIC_IPR 0xE000E400u
#define REG8(a) (*(volatile uint8_t *)(uintptr_t)(a))

#define BRIDGE_SILENT_MS 5000u /* no answer from the host for this long: the bus is dead */

static app_t *app;
static ota_w5500_t chip;

static void u1_put(uint8_t c)
{
    while (REG32(U1_STATE) & 1u)
        ;
    REG32(U1_DATA) = c;
}

/* The receive interrupt only wakes the core from WFI: enabled in the NVIC at the lowest priority,
 * which BASEPRI masks, so it is never taken (SysTick, priority 0, still is). The wait sleeps instead
 * of polling the UART's registers: under QEMU every poll takes the lock the character device's own
 * thread needs to deliver the next byte. (QEMU wakes WFI on a pending interrupt whatever BASEPRI
 * says; a real core would sleep until the next tick, which is still correct.) */
static void u1_rx_clear(void)
{
    REG32(U1_INTCLEAR) = 2u;
    REG32(NVIC_ICPR0) = 1u << U1_RX_IRQ;
}

static uint8_t u1_get(void)
{
    uint32_t t0 = board_now_ms();
    while (!(REG32(U1_STATE) & 2u)) {
        __asm__ volatile("wfi" ::: "memory");
        u1_rx_clear();
        if (board_now_ms() - t0 > BRIDGE_SILENT_MS)
            board_reset("the W5500 bus (UART1) does not answer");
    }
    return (uint8_t)REG32(U1_DATA);
}

static void spi_select(void *ctx, int on)
{
    (void)ctx;
    u1_put(on ? 'S' : 'U');
}

static void spi_transfer(void *ctx, const uint8_t *tx, uint8_t *rx, size_t len)
{
    (void)ctx;
    while (len) {
        size_t n = len > 0xFFFFu ? 0xFFFFu : len, i;
        u1_put(tx && rx ? 'X' : tx ? 'W' : 'R');
        u1_put((uint8_t)(n >> 8));
        u1_put((uint8_t)n);
        if (tx)
            for (i = 0; i < n; i++)
                u1_put(tx[i]);
        if (rx)
            for (i = 0; i < n; i++)
                rx[i] = u1_get();
        else if (!tx)
            for (i = 0; i < n; i++)
                (void)u1_get();
        tx = tx ? tx + n : NULL;
        rx = rx ? rx + n : NULL;
        len -= n;
    }
}

/* The driver waits on the chip: the host moves data meanwhile; a confirmed image kicks the watchdog. */
static void spi_idle(void *ctx)
{
    (void)ctx;
    u1_put('I');
    (void)u1_get();
    if (app && app->confirmed)
        board_watchdog_kick();
}

static const ota_w5500_spi_t spi = {spi_select, spi_transfer, NULL, NULL, spi_idle, NULL};

const uint8_t *app_net_mac(void)
{
    return chip.cfg.mac;
}

void app_net_poll(void)
{
    if (app && app->confirmed)
        board_watchdog_kick();
    __asm__ volatile("wfi"); /* the chip works alone: nothing to run until the next tick */
}

int app_net_start(app_t *a)
{
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56}, ip[4] = {10, 0, 2, 15},
                         gw[4] = {10, 0, 2, 2}, mask[4] = {255, 255, 255, 0};
    ota_w5500_cfg_t cfg;
    int rc;
    app = a;
    REG32(U1_BAUDDIV) = 16u; /* the fastest divider the CMSDK UART takes */
    REG32(U1_CTRL) = 1u | 2u | 8u;
    REG8(NVIC_IPR + U1_RX_IRQ) = 0xFFu;
    __asm__ volatile("msr basepri, %0" ::"r"(0x80u) : "memory");
    u1_rx_clear();
    REG32(NVIC_ISER0) = 1u << U1_RX_IRQ;
    memset(&cfg, 0, sizeof cfg);
    cfg.spi = &spi;
    cfg.platform = &board_platform;
    memcpy(cfg.mac, mac, sizeof mac);
    memcpy(cfg.ip, ip, sizeof ip);
    memcpy(cfg.gateway, gw, sizeof gw);
    memcpy(cfg.subnet, mask, sizeof mask);
    cfg.sockets = 2;
    if ((rc = ota_w5500_init(&chip, &cfg)) != OTA_OK) {
        board_log("net: no W5500 on the bus: ", ota_strerror(rc), NULL, NULL);
        return OTA_ERR_NET;
    }
    if (!ota_w5500_link_up(&chip)) {
        board_puts("net: W5500 link down\n");
        return OTA_ERR_NET;
    }
    board_puts("net: W5500 static 10.0.2.15 (no TCP/IP stack; SPI over UART1)\n");
    a->tcp = chip.net;
    return OTA_OK;
}
