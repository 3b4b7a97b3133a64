/*
 * Reset, vector table and fault handlers of every program on this board (bootloader and
 * application): copy .data, zero .bss, paint the stack (for the high-water mark), call main().
 * A fault resets the board (after saying so on the console); the watchdog's interrupt (NMI)
 * resets it too.
 */
#include <string.h>

#include "board.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _stack_bottom, _stack_top;
int main(void);
void reset_handler(void);
void board_systick_handler(void);

#define STACK_PAINT 0x5afe57acu

void reset_handler(void)
{
    uint32_t *p, sp;
    memcpy(&_sdata, &_sidata, (size_t)((char *)&_edata - (char *)&_sdata));
    memset(&_sbss, 0, (size_t)((char *)&_ebss - (char *)&_sbss));
    /* Paint the stack below the current frame (a few words of margin). */
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (p = &_stack_bottom; (uintptr_t)p < sp - 64u; p++)
        *p = STACK_PAINT;
    (void)main();
    board_reset("main returned");
}

uint32_t board_stack_used(void)
{
    const uint32_t *p = &_stack_bottom;
    while (p < &_stack_top && *p == STACK_PAINT)
        p++;
    return (uint32_t)((const char *)&_stack_top - (const char *)p);
}

static void fault(const char *name)
{
    uint32_t cfsr = REG32(0xE000ED28), hfsr = REG32(0xE000ED2C);
    board_puts("fault: ");
    board_puts(name);
    board_puts(" CFSR=");
    board_put_hex(cfsr);
    board_puts(" HFSR=");
    board_put_hex(hfsr);
    board_puts("\n");
    board_reset("fault");
}

static void hardfault_handler(void) { fault("HardFault"); }
static void memmanage_handler(void) { fault("MemManage"); }
static void busfault_handler(void) { fault("BusFault"); }
static void usagefault_handler(void) { fault("UsageFault"); }
static void unexpected_handler(void) { fault("unexpected interrupt"); }

/* The watchdog's interrupt: the commit window ran out (or the image hung). */
static void nmi_handler(void)
{
    board_reset("watchdog expired");
}

typedef void (*vector_t)(void);
/* 16 system exceptions + the AN385's 32 interrupts; 256-byte aligned for VTOR. */
__attribute__((section(".isr_vector"), used, aligned(256))) const vector_t board_vectors[48] = {
    (vector_t)(uintptr_t)&_stack_top,
    reset_handler,
    nmi_handler,
    hardfault_handler,
    memmanage_handler,
    busfault_handler,
    usagefault_handler,
    unexpected_handler, unexpected_handler, unexpected_handler, unexpected_handler, /* reserved */
    unexpected_handler, /* SVCall */
    unexpected_handler, /* debug monitor */
    unexpected_handler, /* reserved */
    unexpected_handler, /* PendSV */
    board_systick_handler,
    /* IRQ 0..31: none enabled (the Ethernet controller and the UART are polled) */
    unexpected_handler, unexpected_handler, unexpected_handler, unexpected_handler,
    unexpected_handler, unexpected_handler, unexpected_handler, unexpected_handler,
    unexpected_handler, unexpected_handler, unexpected_handler, unexpected_handler,
    unexpected_handler, unexpected_handler, unexpected_handler, unexpected_handler,
    unexpected_handler, unexpected_handler, unexpected_handler, unexpected_handler,
    unexpected_handler, unexpected_handler, unexpected_handler, unexpected_handler,
    unexpected_handler, unexpected_handler, unexpected_handler, unexpected_handler,
    unexpected_handler, unexpected_handler, unexpected_handler, unexpected_handler,
};
