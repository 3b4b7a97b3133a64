/* The board's console, clock, watchdog, reset and semihosting (see board.h). */
#include "board.h"

#include <string.h>

/* ---- CMSDK APB UART0 -------------------------------------------------------------------- */
#define UART0 0x40004000u
#define UART_DATA (UART0 + 0x00)
#define UART_STATE (UART0 + 0x04) /* bit 0: TX buffer full */
#define UART_CTRL (UART0 + 0x08)  /* bit 0: TX enable */
#define UART_BAUDDIV (UART0 + 0x10)

void board_uart_init(void)
{
    REG32(UART_BAUDDIV) = BOARD_SYSCLK_HZ / 115200u;
    REG32(UART_CTRL) = 1u;
}

static void uart_putc(char c)
{
    while (REG32(UART_STATE) & 1u)
        ;
    REG32(UART_DATA) = (uint8_t)c;
}

void board_puts(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            uart_putc('\r');
        uart_putc(*s);
    }
}

void board_put_u32(uint32_t v)
{
    char b[11];
    int i = 10;
    b[i] = 0;
    do {
        b[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    board_puts(b + i);
}

void board_put_hex(uint32_t v)
{
    char b[11];
    int i;
    b[0] = '0', b[1] = 'x', b[10] = 0;
    for (i = 0; i < 8; i++)
        b[9 - i] = "0123456789abcdef"[(v >> (4 * i)) & 15u];
    board_puts(b);
}

void board_log(const char *a, const char *b, const char *c, const char *d)
{
    const char *s[4] = {a, b, c, d};
    int i;
    for (i = 0; i < 4 && s[i]; i++)
        board_puts(s[i]);
    board_puts("\n");
}

/* ---- SysTick: 1 ms ticks on the 25 MHz processor clock -------------------------------- */
#define SYST_CSR 0xE000E010u
#define SYST_RVR 0xE000E014u
#define SYST_CVR 0xE000E018u

static volatile uint32_t ticks;
void (*board_idle_hook)(void);

void board_systick_handler(void);
void board_systick_handler(void)
{
    ticks++;
}

void board_clock_init(void)
{
    REG32(SYST_RVR) = BOARD_SYSCLK_HZ / 1000u - 1u;
    REG32(SYST_CVR) = 0;
    REG32(SYST_CSR) = 7u; /* processor clock, interrupt, enable */
}

uint32_t board_now_ms(void)
{
    return ticks;
}

void board_sleep_ms(uint32_t ms)
{
    uint32_t t0 = ticks;
    while (ticks - t0 < ms) {
        if (board_idle_hook)
            board_idle_hook();
        else
            __asm__ volatile("wfi");
    }
}

/* ---- CMSDK APB watchdog ----------------------------------------------------------------- */
#define WDOG 0x40008000u
#define WDOG_LOAD (WDOG + 0x000)
#define WDOG_CONTROL (WDOG + 0x008) /* bit 0 INTEN, bit 1 RESEN */
#define WDOG_INTCLR (WDOG + 0x00C)  /* clears the interrupt and reloads the counter */
#define WDOG_LOCK (WDOG + 0xC00)
#define WDOG_UNLOCK_KEY 0x1ACCE551u

int board_watchdog_start(uint32_t timeout_ms)
{
    uint32_t max_ms = 0xffffffffu / (BOARD_SYSCLK_HZ / 1000u);
    if (timeout_ms == 0 || timeout_ms > max_ms)
        timeout_ms = max_ms;
    REG32(WDOG_LOCK) = WDOG_UNLOCK_KEY;
    REG32(WDOG_LOAD) = timeout_ms * (BOARD_SYSCLK_HZ / 1000u);
    REG32(WDOG_CONTROL) = 3u;
    REG32(WDOG_LOCK) = 0;
    return 0;
}

void board_watchdog_kick(void)
{
    REG32(WDOG_LOCK) = WDOG_UNLOCK_KEY;
    REG32(WDOG_INTCLR) = 1u;
    REG32(WDOG_LOCK) = 0;
}

int board_watchdog_running(void)
{
    return (REG32(WDOG_CONTROL) & 1u) != 0;
}

/* ---- reset ------------------------------------------------------------------------------ */
#define SCB_AIRCR 0xE000ED0Cu

void board_reset(const char *why)
{
    board_flash_report();
    board_puts("stack: ");
    board_put_u32(board_stack_used());
    board_puts(" B used\n");
    board_log("reset: ", why, NULL, NULL);
    __asm__ volatile("dsb" ::: "memory");
    REG32(SCB_AIRCR) = 0x05FA0004u; /* VECTKEY | SYSRESETREQ */
    __asm__ volatile("dsb" ::: "memory");
    for (;;)
        ;
}

/* ---- semihosting ------------------------------------------------------------------------ */
#define SYS_OPEN 0x01
#define SYS_WRITE 0x05
#define SYS_SEEK 0x0A
#define SYS_TIME 0x11
#define SYS_GET_CMDLINE 0x15
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static int sh_call(int op, void *arg)
{
    register int r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

int board_sh_open(const char *path, int mode)
{
    uint32_t blk[3] = {(uint32_t)(uintptr_t)path, (uint32_t)mode, (uint32_t)strlen(path)};
    return sh_call(SYS_OPEN, blk);
}

int board_sh_seek(int fd, uint32_t pos)
{
    uint32_t blk[2] = {(uint32_t)fd, pos};
    return sh_call(SYS_SEEK, blk) == 0 ? 0 : -1;
}

int board_sh_write(int fd, const void *buf, uint32_t len)
{
    uint32_t blk[3] = {(uint32_t)fd, (uint32_t)(uintptr_t)buf, len};
    return sh_call(SYS_WRITE, blk) == 0 ? 0 : -1; /* returns the bytes NOT written */
}

uint32_t board_seed(void)
{
    uint32_t s = (uint32_t)sh_call(SYS_TIME, NULL) * 2654435761u ^ REG32(SYST_CVR) ^ ticks << 16;
    return s ? s : 1u;
}

void board_exit(int status)
{
    uint32_t blk[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
    board_flash_report();
    board_puts("stack: ");
    board_put_u32(board_stack_used());
    board_puts(" B used\n");
    (void)sh_call(SYS_EXIT_EXTENDED, blk);
    board_reset("semihosting exit failed");
}

int board_arg(const char *key, char *out, size_t cap)
{
    static char cmdline[512];
    static int loaded;
    size_t klen = strlen(key);
    const char *p;
    if (!loaded) {
        uint32_t blk[2] = {(uint32_t)(uintptr_t)cmdline, sizeof cmdline - 1};
        if (sh_call(SYS_GET_CMDLINE, blk) != 0)
            cmdline[0] = 0;
        cmdline[sizeof cmdline - 1] = 0;
        loaded = 1;
    }
    for (p = cmdline; *p;) {
        size_t n;
        while (*p == ' ')
            p++;
        n = strcspn(p, " ");
        if (n > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
            if (n - klen - 1 >= cap)
                return -1;
            memcpy(out, p + klen + 1, n - klen - 1);
            out[n - klen - 1] = 0;
            return 0;
        }
        p += n;
    }
    return -1;
}

/* ---- platform ops ----------------------------------------------------------------------- */
static uint32_t plat_now(void *ctx)
{
    (void)ctx;
    return board_now_ms();
}

static void plat_sleep(void *ctx, uint32_t ms)
{
    (void)ctx;
    board_sleep_ms(ms);
}

static int plat_wdog_start(void *ctx, uint32_t ms)
{
    (void)ctx;
    return board_watchdog_start(ms);
}

static void plat_wdog_kick(void *ctx)
{
    (void)ctx;
    board_watchdog_kick();
}

/* No hardware RNG on the AN385: no entropy op, so no TLS (the demo pulls over plain HTTP on
 * QEMU's isolated user network; signatures protect the image). No image-decryption key: the demo's
 * images are not encrypted. */
const ota_platform_ops_t board_platform = {plat_now, plat_sleep, plat_wdog_start, plat_wdog_kick, NULL, NULL,
                                           NULL, NULL};
