/* The W5500 emulator's state, shared by w5500_emu.c (SPI frames, registers, commands, checks) and
 * bridge.c (the host sockets behind the chip's sockets). Internal. */
#ifndef W5500_EMU_INT_H
#define W5500_EMU_INT_H

#include <pthread.h>

#include "otakit/w5500_regs.h"
#include "w5500_emu.h"

#define EMU_BUF_MAX (W5500_BUF_TOTAL_KB * 1024u)
#define EMU_LOG_MAX 8
#define EMU_FAULTS 8

typedef struct {
    uint8_t reg[W5500_SREG_SIZE];
    uint8_t tx[EMU_BUF_MAX], rx[EMU_BUF_MAX];
    int fd;                       /* bridged host socket, -1 */
    int lfd;                      /* host listening socket while in SOCK_LISTEN, -1 */
    uint16_t tx_rd, tx_sent_wr;   /* next byte to push to the host; Sn_TX_WR at the last SEND */
    uint16_t rx_wr, rx_acked_rd;  /* where the next byte from the host goes; Sn_RX_RD at the last RECV */
    uint8_t cr_pending;           /* command not yet taken (Sn_CR reads it) */
    unsigned cr_left;             /* frames until it is */
    int sending, connecting;
    uint64_t connect_at;          /* ms: a late CONNECT completes from then on */
    int rsr_glitch, fsr_glitch;   /* torn mode: the next read is off */
} emu_sock_t;

typedef struct {
    w5500_fault_kind_t kind;
    uint64_t at_rx;
    unsigned ms;
    int armed;
} emu_fault_t;

struct w5500_emu {
    pthread_mutex_t mu;
    w5500_emu_cfg_t cfg;
    uint8_t common[W5500_COMMON_SIZE];
    emu_sock_t s[W5500_SOCKETS];
    /* the frame on the bus */
    int cs;
    unsigned pos;                 /* bytes of the current frame so far */
    uint16_t addr;
    uint8_t ctrl;
    /* faults and time */
    emu_fault_t faults[EMU_FAULTS];
    unsigned late_connect_ms;
    uint64_t hold_until, link_down_until;
    uint32_t rng;
    /* accounting */
    unsigned violations[W5500_V_COUNT];
    char log[EMU_LOG_MAX][160];
    unsigned n_log;
    w5500_emu_stats_t st;
};

uint64_t emu_now_ms(void);
void emu_violation(w5500_emu_t *e, w5500_violation_t v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
uint16_t emu_buf_size(const emu_sock_t *s, int rx);
/* bridge.c */
void bridge_close(emu_sock_t *s, int abortive);
void bridge_connect(w5500_emu_t *e, unsigned n);
void bridge_listen(w5500_emu_t *e, unsigned n);   /* 127.0.0.1:Sn_PORT */
void bridge_unlisten(w5500_emu_t *e, unsigned n); /* before a listening socket closes */
void bridge_pump(w5500_emu_t *e);                 /* non-blocking: moves what is ready */
void bridge_wait(w5500_emu_t *e, int ms);         /* mutex not held: poll()s the bridged sockets */

#endif
