/*
 * A strict W5500 emulator for host tests: speaks the chip's SPI frame protocol byte by byte
 * (otakit/w5500_regs.h), implements the common and socket registers, the TX and RX buffer memories
 * with their 16-bit pointers, the Sn_CR command / Sn_SR status machine, and bridges each TCP socket
 * to a real socket on the host (CONNECT: to Sn_DIPR:Sn_DPORT as given, e.g. 127.0.0.1; LISTEN: on
 * 127.0.0.1:Sn_PORT, shared by every chip socket listening on that port).
 *
 * Strict: what a real chip would silently get wrong is counted as a violation (w5500_violation_t)
 * and the first ones are logged with their details, so a test can assert that a driver triggers
 * none and that a broken one is caught. Faults can be injected: the peer resets the connection,
 * the connection drops (retransmission timeout), the link goes down, CONNECT completes late, the
 * chip stops taking data for a while (the RX window closes), RX data arrives in random sizes.
 *
 * Thread safety: every call takes the emulator's own mutex, per call (as the SPI lines are shared
 * per clock, not per frame): two tasks that interleave frames without a lock of their own are
 * seen as the bus sees them, and flagged. Host C (POSIX sockets, heap).
 */
#ifndef W5500_EMU_H
#define W5500_EMU_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    W5500_V_CS_MIDFRAME,     /* chip select released before the first data byte */
    W5500_V_CS_NESTED,       /* chip select asserted while a frame was open (interleaved frame) */
    W5500_V_XFER_NO_CS,      /* bytes clocked with chip select released */
    W5500_V_BAD_CONTROL,     /* fixed-length mode, a reserved block, or a 0 KB socket buffer */
    W5500_V_CR_BUSY,         /* Sn_CR written before the chip had taken the previous command */
    W5500_V_BAD_COMMAND,     /* a command the socket's state does not allow, or an unknown one */
    W5500_V_RX_OVERREAD,     /* RX memory read beyond the received data (Sn_RX_RSR) */
    W5500_V_RECV_NO_ADVANCE, /* RECV with Sn_RX_RD not advanced while data waited */
    W5500_V_RECV_OMITTED,    /* Sn_RX_RD advanced, then RSR or RX memory read without RECV */
    W5500_V_RD_PAST_RSR,     /* Sn_RX_RD advanced past the received data */
    W5500_V_TX_OVERWRITE,    /* TX memory written outside the free space (Sn_TX_FSR) */
    W5500_V_SEND_PAST_FSR,   /* SEND of more bytes than were free */
    W5500_V_COUNT
} w5500_violation_t;

typedef struct {
    unsigned cr_latency;    /* frames a command stays in Sn_CR before it is taken (default 1) */
    uint16_t ptr_start;     /* TX/RX pointers after OPEN (default 0xFF00: they wrap early) */
    int torn;               /* the first Sn_RX_RSR / Sn_TX_FSR read after a change is off by 256
                               (the non-atomic update the two-reads rule guards against) */
    uint32_t rx_chunk_max;  /* RX arrives in random sizes 1..rx_chunk_max (0: as much as fits) */
    unsigned seed;          /* for the random sizes */
} w5500_emu_cfg_t;

typedef enum {
    W5500_FAULT_RESET,      /* the peer resets: Sn_SR CLOSED, Sn_IR DISCON, the host socket sends RST */
    W5500_FAULT_DROP,       /* the connection dies (retransmissions time out): CLOSED, Sn_IR TIMEOUT */
    W5500_FAULT_HOLD,       /* the chip takes no data from the peer for ms (the window closes) */
    W5500_FAULT_LINK_DOWN   /* the PHY link goes down for ms: no data moves, CONNECT cannot finish */
} w5500_fault_kind_t;

typedef struct {
    uint64_t frames, spi_bytes;          /* every frame and byte on the bus */
    uint64_t rx_bytes, tx_bytes;         /* payload from and to the peers */
    uint32_t connects, close_wait_with_data, faults_fired;
} w5500_emu_stats_t;

typedef struct w5500_emu w5500_emu_t;

/* A new chip in its reset state (cfg NULL: defaults). Returns NULL when out of memory. */
w5500_emu_t *w5500_emu_new(const w5500_emu_cfg_t *cfg);
/* Closes every bridged socket and frees the emulator. */
void w5500_emu_free(w5500_emu_t *e);

/* The SPI bus, in the shape of ota_w5500_spi_t's members (ctx = the emulator): chip select
 * (on = 1: selected), a full-duplex transfer (tx NULL: zeros; rx NULL: discarded), and idle: waits
 * up to 1 ms for the bridged sockets, then moves data. */
void w5500_emu_select(void *emu, int on);
void w5500_emu_transfer(void *emu, const uint8_t *tx, uint8_t *rx, size_t len);
void w5500_emu_idle(void *emu);

/* Arms a fault that fires once the chip has received at_rx payload bytes in total (0: at the next
 * frame); ms is the length of HOLD and LINK_DOWN. Up to 8 faults. Returns 0, -1 when full. */
int w5500_emu_fault(w5500_emu_t *e, w5500_fault_kind_t kind, uint64_t at_rx, unsigned ms);
/* CONNECTs complete ms later than the host's connect does (0: at once). */
void w5500_emu_late_connect(w5500_emu_t *e, unsigned ms);

/* Violations so far: the total, and per kind into counts (W5500_V_COUNT entries; may be NULL). */
unsigned w5500_emu_violations(w5500_emu_t *e, unsigned *counts);
const char *w5500_emu_violation_name(w5500_violation_t v);
void w5500_emu_stats(w5500_emu_t *e, w5500_emu_stats_t *st);
/* Prints the violation counts and the first logged ones ("w5500 ..." lines) to f. */
void w5500_emu_report(w5500_emu_t *e, FILE *f);

#endif
