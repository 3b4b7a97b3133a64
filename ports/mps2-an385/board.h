/*
 * The ARM MPS2 board with the AN385 FPGA image (Cortex-M3), as QEMU's `mps2-an385` machine models
 * it (hw/arm/mps2.c): 4 MB SSRAM1 at 0x00000000 (our flash: code runs from it), 4 MB SSRAM2/3 at
 * 0x20000000 (RAM), CMSDK UART0 at 0x40004000, CMSDK watchdog at 0x40008000 (its interrupt is the
 * NMI), LAN9118 Ethernet at 0x40200000 (IRQ 13), SysTick on the 25 MHz system clock.
 *
 * The board API below is what the bootloader and the application share: console, clock, watchdog,
 * reset, semihosting (the host file that holds the flash, the command line) and the flash ops.
 */
#ifndef OTAKIT_MPS2_BOARD_H
#define OTAKIT_MPS2_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/ota.h"
#include "otakit/port.h"
#include "otakit/presets.h"

#define BOARD_SYSCLK_HZ 25000000u
#define BOARD_FLASH_BASE 0x00000000u /* SSRAM1: the emulated flash, loaded from the host file */
#define BOARD_FLASH_MAX 0x00400000u

#define REG32(a) (*(volatile uint32_t *)(uintptr_t)(a))

/* ---- console: CMSDK APB UART0 ----------------------------------------------------------- */
/* Starts UART0 (transmitter only). */
void board_uart_init(void);
/* Writes s (CR before each LF) and waits until it is sent. */
void board_puts(const char *s);
/* Writes s and a decimal / hexadecimal number. */
void board_put_u32(uint32_t v);
void board_put_hex(uint32_t v);
/* board_puts of several strings then a newline (NULL ends the list). */
void board_log(const char *a, const char *b, const char *c, const char *d);

/* ---- clock: SysTick at 1 kHz ------------------------------------------------------------ */
void board_clock_init(void);
uint32_t board_now_ms(void);
void board_sleep_ms(uint32_t ms);
/* Called from the wait loops (the application polls its network here); NULL: none. */
extern void (*board_idle_hook)(void);

/* ---- watchdog: CMSDK APB watchdog ------------------------------------------------------- */
/* Arms it to reset the board after timeout_ms without a kick (its interrupt, the NMI, requests
 * the reset; QEMU's model would also reset on the second expiry). Returns 0. */
int board_watchdog_start(uint32_t timeout_ms);
void board_watchdog_kick(void);
/* 1 while the watchdog runs. */
int board_watchdog_running(void);

/* ---- reset ------------------------------------------------------------------------------ */
/* Requests a system reset (AIRCR.SYSRESETREQ). Under QEMU with -no-reboot the emulator exits:
 * a power cycle, restarted on the same flash file. Never returns. */
void board_reset(const char *why) __attribute__((noreturn));

/* ---- semihosting (ARM semihosting through BKPT 0xAB; QEMU -semihosting-config) --------- */
int board_sh_open(const char *path, int mode); /* mode: 0 "r" .. 3 "r+b"; returns handle or -1 */
int board_sh_seek(int fd, uint32_t pos);      /* 0 on success */
int board_sh_write(int fd, const void *buf, uint32_t len); /* 0 when all written */
/* The value of "key=" in QEMU's semihosting arguments (-semihosting-config arg=key=value), copied
 * into out (cap bytes). Returns 0, or -1 when the key is absent or too long. */
int board_arg(const char *key, char *out, size_t cap);
/* A seed for the network stack's random numbers: the host's clock (SYS_TIME) mixed with SysTick. */
uint32_t board_seed(void);
/* Ends the emulation with an exit status (SYS_EXIT_EXTENDED). Never returns. */
void board_exit(int status) __attribute__((noreturn));

/* Bytes of stack ever used (the painted stack's high-water mark; startup.c). */
uint32_t board_stack_used(void);

/* ---- the platform ops (otakit/port.h): clock, sleep, watchdog, entropy ------------------ */
extern const ota_platform_ops_t board_platform;

/* ---- flash: the host file (flash_file.c) ------------------------------------------------ */
/* Opens the flash file named by the "flash=" argument, with the geometry named by "geometry="
 * (a preset of otakit/presets.h; default stm32f4-1m). Fills *f (ops, size, runs, write size,
 * erased value) and returns the preset, or NULL (message printed). */
const ota_preset_t *board_flash_open(ota_flash_t *f);
/* The configuration the bootloader and the application share: this flash, the preset's layout,
 * the trusted keys and product id (keys.h), the board's platform ops; the rest zero. */
void board_ota_config(ota_config_t *cfg, const ota_flash_t *f, const ota_preset_t *p);
/* Prints what the flash did since power-on: "flash: erased 2x131072, programmed 262848 B" (nothing
 * when it did nothing). board_reset() and board_exit() call it. */
void board_flash_report(void);

#endif
