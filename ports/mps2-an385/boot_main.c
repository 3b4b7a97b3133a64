/*
 * The bootloader of the MPS2 AN385 port, at the flash base: ota_boot() (resume an interrupted
 * swap, test or roll back a new image, check the image's hash and ECDSA-P256 signature with
 * mbedTLS, arm the commit-window watchdog), then relocate the vector table to the image in slot 0
 * (behind its header), load its stack pointer and jump to its reset handler.
 */
#include <string.h>

#include "board.h"
#include "mbedtls/memory_buffer_alloc.h"
#include "otakit/ota.h"

#define SCB_VTOR 0xE000ED08u
#define SYST_CSR 0xE000E010u

static ota_ctx_t ctx;
static ota_flash_t flash;
static unsigned char crypto_heap[4096]; /* mbedTLS's bignums during an ECDSA-P256 verify */

static uint32_t arg_u32(const char *key, uint32_t dflt)
{
    char b[12];
    uint32_t v = 0;
    const char *p;
    if (board_arg(key, b, sizeof b) != 0 || !b[0])
        return dflt;
    for (p = b; *p >= '0' && *p <= '9'; p++)
        v = v * 10u + (uint32_t)(*p - '0');
    return *p ? dflt : v;
}

static void jump(uint32_t vectors) __attribute__((noreturn));
static void jump(uint32_t vectors)
{
    const volatile uint32_t *vt = (const volatile uint32_t *)(uintptr_t)vectors;
    uint32_t sp = vt[0], pc = vt[1];
    __asm__ volatile("cpsid i" ::: "memory");
    REG32(SYST_CSR) = 0; /* the application starts its own clock */
    REG32(SCB_VTOR) = vectors;
    __asm__ volatile("dsb\n isb\n msr msp, %0\n cpsie i\n bx %1" : : "r"(sp), "r"(pc) : "memory");
    for (;;)
        ;
}

int main(void)
{
    const ota_preset_t *p;
    ota_config_t cfg;
    ota_boot_result_t r;
    char ver[24];
    uint8_t raw[OTA_IMAGE_HEADER_SIZE];
    ota_image_header_t hdr;
    uint32_t base, t0;
    int rc;

    board_uart_init();
    board_clock_init();
    board_puts("boot: otakit bootloader, mps2-an385 (Cortex-M3)\n");
    mbedtls_memory_buffer_alloc_init(crypto_heap, sizeof crypto_heap);
    if (!(p = board_flash_open(&flash)))
        board_exit(3);
    board_ota_config(&cfg, &flash, p);
    cfg.boot_check_signature = 1;
    cfg.commit_window_ms = arg_u32("window", 30000u);
    /* Three boots to confirm itself: a power cut during a new image's first trial boot is not the
     * image's failure (an image that crashes or hangs is still rolled back, on its third reset). */
    cfg.max_test_boots = 3;
    t0 = board_now_ms();
    if ((rc = ota_init(&ctx, &cfg)) != OTA_OK || (rc = ota_boot(&ctx, &r)) != OTA_OK) {
        board_log("boot: no bootable image: ", ota_strerror(rc), NULL, NULL);
        board_exit(4);
    }
    (void)ota_version_format(&r.version, ver, sizeof ver);
    board_puts("boot: slot ");
    board_put_u32(r.slot);
    board_puts(" version ");
    board_puts(ver);
    board_puts(" state ");
    board_puts(ota_state_name(r.state));
    board_puts(" (ota_boot ");
    board_put_u32(board_now_ms() - t0);
    board_puts(" ms)\n");
    if (r.swapped)
        board_puts("boot: swapped the slots\n");
    if (r.rolled_back)
        board_puts("boot: rolled back\n");
    if (r.watchdog_armed) {
        board_puts("boot: commit window armed, ms ");
        board_put_u32(cfg.commit_window_ms);
        board_puts("\n");
    }
    if (ota_flash_read(&flash, p->layout.slot[r.slot].off, raw, sizeof raw) != OTA_OK ||
        ota_image_header_decode(raw, &hdr) != OTA_OK)
        board_exit(5);
    base = BOARD_FLASH_BASE + p->layout.slot[r.slot].off + hdr.hdr_size;
    board_flash_report();
    board_puts("boot: stack used ");
    board_put_u32(board_stack_used());
    board_puts(" B; jumping to ");
    board_put_hex(base);
    board_puts("\n");
    jump(base);
}
