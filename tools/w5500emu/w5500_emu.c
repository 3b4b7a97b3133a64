/*
 * W5500 emulator (w5500_emu.h): the SPI frame decoder, the register files, the buffer memories, the
 * command state machine and the checks. bridge.c moves the bytes between the chip's buffers and
 * real host sockets. The facts (addresses, bits, states) come from otakit/w5500_regs.h.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emu_int.h"

static const char *const vnames[W5500_V_COUNT] = {
    "cs_midframe", "cs_nested", "xfer_no_cs", "bad_control", "cr_busy", "bad_command",
    "rx_overread", "recv_no_advance", "recv_omitted", "rd_past_rsr", "tx_overwrite", "send_past_fsr"};

const char *w5500_emu_violation_name(w5500_violation_t v)
{
    return (unsigned)v < W5500_V_COUNT ? vnames[v] : "?";
}

uint64_t emu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void emu_violation(w5500_emu_t *e, w5500_violation_t v, const char *fmt, ...)
{
    va_list ap;
    e->violations[v]++;
    if (e->n_log < EMU_LOG_MAX) {
        int k = snprintf(e->log[e->n_log], sizeof e->log[0], "%s: ", vnames[v]);
        va_start(ap, fmt);
        vsnprintf(e->log[e->n_log] + k, sizeof e->log[0] - (size_t)k, fmt, ap);
        va_end(ap);
        e->n_log++;
    }
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

uint16_t emu_buf_size(const emu_sock_t *s, int rx)
{
    unsigned kb = s->reg[rx ? W5500_Sn_RXBUF_SIZE : W5500_Sn_TXBUF_SIZE];
    return (uint16_t)(kb <= 16 && !(kb & (kb - 1)) ? kb * 1024u : 0); /* 16 KB: 0x4000 */
}

static uint16_t rsr(const emu_sock_t *s)
{
    return (uint16_t)(s->rx_wr - s->rx_acked_rd);
}

static uint16_t fsr(const emu_sock_t *s)
{
    return (uint16_t)(emu_buf_size(s, 0) - (uint16_t)(s->tx_sent_wr - s->tx_rd));
}

static void sock_reset(emu_sock_t *s)
{
    bridge_close(s, 0);
    memset(s->reg, 0, sizeof s->reg);
    s->reg[W5500_Sn_RXBUF_SIZE] = s->reg[W5500_Sn_TXBUF_SIZE] = 2; /* 2 KB each after reset */
    s->reg[W5500_Sn_MSSR] = 0xff;
    s->reg[W5500_Sn_MSSR + 1] = 0xff;
    s->cr_pending = 0;
    s->sending = s->connecting = 0;
}

static void chip_reset(w5500_emu_t *e)
{
    unsigned n;
    memset(e->common, 0, sizeof e->common);
    put16(e->common + W5500_RTR, 2000);
    e->common[W5500_RCR] = 8;
    e->common[W5500_VERSIONR] = W5500_VERSION;
    for (n = 0; n < W5500_SOCKETS; n++)
        sock_reset(&e->s[n]);
}

w5500_emu_t *w5500_emu_new(const w5500_emu_cfg_t *cfg)
{
    w5500_emu_t *e = calloc(1, sizeof *e);
    unsigned n;
    if (!e)
        return NULL;
    pthread_mutex_init(&e->mu, NULL);
    if (cfg)
        e->cfg = *cfg;
    else
        e->cfg.cr_latency = 1;
    if (!cfg || !cfg->ptr_start)
        e->cfg.ptr_start = 0xff00;
    e->rng = e->cfg.seed * 2654435761u + 1;
    for (n = 0; n < W5500_SOCKETS; n++)
        e->s[n].fd = e->s[n].lfd = -1;
    chip_reset(e);
    return e;
}

void w5500_emu_free(w5500_emu_t *e)
{
    unsigned n;
    if (!e)
        return;
    for (n = 0; n < W5500_SOCKETS; n++)
        bridge_close(&e->s[n], 0);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

/* ---- commands ------------------------------------------------------------------------------ */

static void cmd_run(w5500_emu_t *e, unsigned n, uint8_t cmd)
{
    emu_sock_t *s = &e->s[n];
    uint8_t *sr = &s->reg[W5500_Sn_SR];
    int connected = *sr == W5500_SOCK_ESTABLISHED || *sr == W5500_SOCK_CLOSE_WAIT;
    uint16_t adv;
    switch (cmd) {
    case W5500_CR_OPEN:
        if ((s->reg[W5500_Sn_MR] & 0x0f) != W5500_Sn_MR_TCP || *sr != W5500_SOCK_CLOSED) {
            emu_violation(e, W5500_V_BAD_COMMAND, "socket %u: OPEN with Sn_MR 0x%02x in state 0x%02x", n,
                          s->reg[W5500_Sn_MR], *sr);
            return;
        }
        s->tx_rd = s->tx_sent_wr = s->rx_wr = s->rx_acked_rd = e->cfg.ptr_start;
        put16(s->reg + W5500_Sn_TX_WR, e->cfg.ptr_start);
        put16(s->reg + W5500_Sn_RX_RD, e->cfg.ptr_start);
        *sr = W5500_SOCK_INIT;
        return;
    case W5500_CR_CONNECT:
        if (*sr != W5500_SOCK_INIT) {
            emu_violation(e, W5500_V_BAD_COMMAND, "socket %u: CONNECT in state 0x%02x", n, *sr);
            return;
        }
        bridge_connect(e, n);
        return;
    case W5500_CR_LISTEN:
        if (*sr != W5500_SOCK_INIT) {
            emu_violation(e, W5500_V_BAD_COMMAND, "socket %u: LISTEN in state 0x%02x", n, *sr);
            return;
        }
        bridge_listen(e, n);
        return;
    case W5500_CR_SEND: {
        uint16_t wr = get16(s->reg + W5500_Sn_TX_WR), len = (uint16_t)(wr - s->tx_sent_wr);
        if (!connected) {
            emu_violation(e, W5500_V_BAD_COMMAND, "socket %u: SEND in state 0x%02x", n, *sr);
            return;
        }
        if (len > fsr(s))
            emu_violation(e, W5500_V_SEND_PAST_FSR, "socket %u: SEND of %u bytes with %u free", n, len, fsr(s));
        s->tx_sent_wr = wr;
        s->sending = 1;
        return;
    }
    case W5500_CR_RECV:
        adv = (uint16_t)(get16(s->reg + W5500_Sn_RX_RD) - s->rx_acked_rd);
        if (adv > rsr(s))
            emu_violation(e, W5500_V_RD_PAST_RSR, "socket %u: Sn_RX_RD advanced %u with %u received", n, adv, rsr(s));
        else if (adv == 0 && rsr(s))
            emu_violation(e, W5500_V_RECV_NO_ADVANCE, "socket %u: RECV with Sn_RX_RD not advanced (%u waiting)", n,
                          rsr(s));
        s->rx_acked_rd = get16(s->reg + W5500_Sn_RX_RD);
        return;
    case W5500_CR_DISCON:
        if (!connected) {
            emu_violation(e, W5500_V_BAD_COMMAND, "socket %u: DISCON in state 0x%02x", n, *sr);
            return;
        }
        bridge_close(s, 0);
        *sr = W5500_SOCK_CLOSED;
        s->reg[W5500_Sn_IR] |= W5500_IR_DISCON;
        return;
    case W5500_CR_CLOSE:
        bridge_unlisten(e, n);
        bridge_close(s, 0);
        s->connecting = s->sending = 0;
        *sr = W5500_SOCK_CLOSED;
        return;
    default:
        emu_violation(e, W5500_V_BAD_COMMAND, "socket %u: command 0x%02x not emulated", n, cmd);
    }
}

/* A frame ended: commands age by one frame; those due run; then the sockets move data. */
static void frame_end(w5500_emu_t *e)
{
    unsigned n;
    e->st.frames++;
    for (n = 0; n < W5500_SOCKETS; n++) {
        emu_sock_t *s = &e->s[n];
        if (s->cr_pending && s->cr_left-- == 0) {
            uint8_t cmd = s->cr_pending;
            s->cr_pending = 0;
            cmd_run(e, n, cmd);
        }
    }
    bridge_pump(e);
}

/* ---- registers and memories ---------------------------------------------------------------- */

static uint8_t sreg_read(w5500_emu_t *e, unsigned n, uint16_t a)
{
    emu_sock_t *s = &e->s[n];
    uint8_t v[2];
    if (a >= W5500_SREG_SIZE)
        return 0;
    switch (a & ~1u) {
    case W5500_Sn_TX_FSR:
        put16(v, (uint16_t)(fsr(s) - (s->fsr_glitch ? 0x100 : 0)));
        if (a & 1)
            s->fsr_glitch = 0;
        return v[a & 1];
    case W5500_Sn_TX_RD: put16(v, s->tx_rd); return v[a & 1];
    case W5500_Sn_RX_RSR:
        if (get16(s->reg + W5500_Sn_RX_RD) != s->rx_acked_rd && !(a & 1))
            emu_violation(e, W5500_V_RECV_OMITTED, "socket %u: Sn_RX_RSR read after Sn_RX_RD moved without RECV", n);
        put16(v, (uint16_t)(rsr(s) + (s->rsr_glitch ? 0x100 : 0)));
        if (a & 1)
            s->rsr_glitch = 0;
        return v[a & 1];
    case W5500_Sn_RX_WR: put16(v, s->rx_wr); return v[a & 1];
    default: break;
    }
    if (a == W5500_Sn_CR)
        return s->cr_pending;
    return s->reg[a];
}

static void sreg_write(w5500_emu_t *e, unsigned n, uint16_t a, uint8_t v)
{
    emu_sock_t *s = &e->s[n];
    if (a >= W5500_SREG_SIZE)
        return;
    switch (a) {
    case W5500_Sn_CR:
        if (s->cr_pending) {
            emu_violation(e, W5500_V_CR_BUSY, "socket %u: command 0x%02x written while 0x%02x pending", n, v,
                          s->cr_pending);
            return;
        }
        s->cr_pending = v;
        s->cr_left = e->cfg.cr_latency;
        return;
    case W5500_Sn_IR: s->reg[a] &= (uint8_t)~v; return;
    case W5500_Sn_SR: case W5500_Sn_TX_FSR: case W5500_Sn_TX_FSR + 1: case W5500_Sn_TX_RD: case W5500_Sn_TX_RD + 1:
    case W5500_Sn_RX_RSR: case W5500_Sn_RX_RSR + 1: case W5500_Sn_RX_WR: case W5500_Sn_RX_WR + 1:
        return; /* read only */
    default: s->reg[a] = v;
    }
}

static uint8_t common_access(w5500_emu_t *e, uint16_t a, int write, uint8_t v)
{
    if (a >= W5500_COMMON_SIZE)
        return 0;
    if (a == W5500_PHYCFGR) /* link up, 100 Mbit/s, full duplex, unless a fault holds it down */
        return (uint8_t)(0xb8 | (emu_now_ms() < e->link_down_until ? 0 : 0x07));
    if (!write)
        return e->common[a];
    if (a == W5500_MR && (v & W5500_MR_RST)) {
        chip_reset(e); /* MR reads 0 again when the next frame starts */
        return 0;
    }
    if (a != W5500_VERSIONR)
        e->common[a] = v;
    return 0;
}

/* One data byte of the current frame at e->addr; returns what the chip shifts out. */
static uint8_t data_byte(w5500_emu_t *e, uint8_t in)
{
    unsigned bsb = e->ctrl >> 3, n = (bsb - 1) / 4, kind = (bsb - 1) % 4;
    int write = (e->ctrl & W5500_CTRL_WRITE) != 0;
    uint16_t a = e->addr++;
    emu_sock_t *s;
    uint16_t size, off;
    if (bsb == W5500_BSB_COMMON)
        return common_access(e, a, write, in);
    s = &e->s[n];
    if (kind == 0) {
        if (write)
            sreg_write(e, n, a, in);
        return write ? 0 : sreg_read(e, n, a);
    }
    size = emu_buf_size(s, kind == 2);
    if (!size) {
        emu_violation(e, W5500_V_BAD_CONTROL, "socket %u: %s buffer access with a 0 KB buffer", n, kind == 1 ? "TX" : "RX");
        return 0;
    }
    if (kind == 1) { /* TX memory */
        off = (uint16_t)(a - s->tx_sent_wr);
        if (write && off >= fsr(s))
            emu_violation(e, W5500_V_TX_OVERWRITE, "socket %u: TX write at 0x%04x outside the free 0x%04x+%u", n, a,
                          s->tx_sent_wr, fsr(s));
        if (write)
            s->tx[a & (size - 1)] = in;
        return write ? 0 : s->tx[a & (size - 1)];
    }
    off = (uint16_t)(a - s->rx_acked_rd); /* RX memory */
    if (!write && off >= rsr(s))
        emu_violation(e, W5500_V_RX_OVERREAD, "socket %u: RX read at 0x%04x beyond RSR (rd 0x%04x, %u received)", n,
                      a, s->rx_acked_rd, rsr(s));
    if (write)
        s->rx[a & (size - 1)] = in;
    return write ? 0 : s->rx[a & (size - 1)];
}

/* The control byte is in: check the mode and the block; flag an RX read after Sn_RX_RD moved without RECV. */
static void header_done(w5500_emu_t *e)
{
    unsigned bsb = e->ctrl >> 3;
    if ((e->ctrl & 3u) != W5500_CTRL_VDM || (bsb && (bsb - 1) % 4 == 3u) || bsb > W5500_BSB_SRX(7)) {
        emu_violation(e, W5500_V_BAD_CONTROL, "control byte 0x%02x (fixed-length mode or reserved block)", e->ctrl);
        e->ctrl = 0xff; /* the rest of the frame is ignored */
        return;
    }
    if (bsb && (bsb - 1) % 4 == 2u && !(e->ctrl & W5500_CTRL_WRITE)) {
        emu_sock_t *s = &e->s[(bsb - 1) / 4];
        if (get16(s->reg + W5500_Sn_RX_RD) != s->rx_acked_rd && e->addr == get16(s->reg + W5500_Sn_RX_RD))
            emu_violation(e, W5500_V_RECV_OMITTED, "socket %u: RX read at the new Sn_RX_RD without RECV", (bsb - 1) / 4);
    }
}

void w5500_emu_select(void *emu, int on)
{
    w5500_emu_t *e = emu;
    pthread_mutex_lock(&e->mu);
    if (on) {
        if (e->cs)
            emu_violation(e, W5500_V_CS_NESTED, "chip select asserted inside a frame (after %u bytes)", e->pos);
        else
            e->pos = 0; /* an interleaved select does not restart the frame: the bus has one CS line */
        e->cs = 1;
    } else if (e->cs) {
        e->cs = 0;
        if (e->pos < 4)
            emu_violation(e, W5500_V_CS_MIDFRAME, "chip select released after %u bytes", e->pos);
        frame_end(e);
    }
    pthread_mutex_unlock(&e->mu);
}

void w5500_emu_transfer(void *emu, const uint8_t *tx, uint8_t *rx, size_t len)
{
    w5500_emu_t *e = emu;
    size_t i;
    pthread_mutex_lock(&e->mu);
    if (!e->cs && len) {
        emu_violation(e, W5500_V_XFER_NO_CS, "%zu bytes clocked with chip select released", len);
        if (rx)
            memset(rx, 0xff, len); /* nothing drives MISO */
        pthread_mutex_unlock(&e->mu);
        return;
    }
    for (i = 0; i < len; i++) {
        uint8_t in = tx ? tx[i] : 0, out = 0;
        if (e->pos == 0)
            e->addr = (uint16_t)(in << 8);
        else if (e->pos == 1)
            e->addr |= in;
        else if (e->pos == 2) {
            e->ctrl = in;
            header_done(e);
        } else if (e->ctrl != 0xff)
            out = data_byte(e, in);
        if (rx)
            rx[i] = out;
        e->pos++;
    }
    e->st.spi_bytes += len;
    pthread_mutex_unlock(&e->mu);
}

void w5500_emu_idle(void *emu)
{
    w5500_emu_t *e = emu;
    bridge_wait(e, 1);
    pthread_mutex_lock(&e->mu);
    bridge_pump(e);
    pthread_mutex_unlock(&e->mu);
}

/* ---- faults and reports -------------------------------------------------------------------- */

int w5500_emu_fault(w5500_emu_t *e, w5500_fault_kind_t kind, uint64_t at_rx, unsigned ms)
{
    unsigned i;
    int rc = -1;
    pthread_mutex_lock(&e->mu);
    for (i = 0; i < EMU_FAULTS; i++)
        if (!e->faults[i].armed) {
            e->faults[i] = (emu_fault_t){kind, at_rx, ms, 1};
            rc = 0;
            break;
        }
    pthread_mutex_unlock(&e->mu);
    return rc;
}

void w5500_emu_late_connect(w5500_emu_t *e, unsigned ms)
{
    pthread_mutex_lock(&e->mu);
    e->late_connect_ms = ms;
    pthread_mutex_unlock(&e->mu);
}

unsigned w5500_emu_violations(w5500_emu_t *e, unsigned *counts)
{
    unsigned i, total = 0;
    pthread_mutex_lock(&e->mu);
    for (i = 0; i < W5500_V_COUNT; i++) {
        total += e->violations[i];
        if (counts)
            counts[i] = e->violations[i];
    }
    pthread_mutex_unlock(&e->mu);
    return total;
}

void w5500_emu_stats(w5500_emu_t *e, w5500_emu_stats_t *st)
{
    pthread_mutex_lock(&e->mu);
    *st = e->st;
    pthread_mutex_unlock(&e->mu);
}

void w5500_emu_report(w5500_emu_t *e, FILE *f)
{
    unsigned i, total = 0;
    pthread_mutex_lock(&e->mu);
    for (i = 0; i < W5500_V_COUNT; i++)
        total += e->violations[i];
    fprintf(f, "w5500 violations=%u", total);
    for (i = 0; i < W5500_V_COUNT; i++)
        if (e->violations[i])
            fprintf(f, " %s=%u", vnames[i], e->violations[i]);
    fprintf(f, "\nw5500 frames=%llu spi_bytes=%llu rx_bytes=%llu tx_bytes=%llu connects=%u close_wait_with_data=%u "
               "faults_fired=%u\n",
            (unsigned long long)e->st.frames, (unsigned long long)e->st.spi_bytes, (unsigned long long)e->st.rx_bytes,
            (unsigned long long)e->st.tx_bytes, e->st.connects, e->st.close_wait_with_data, e->st.faults_fired);
    for (i = 0; i < e->n_log; i++)
        fprintf(f, "w5500 violation %s\n", e->log[i]);
    pthread_mutex_unlock(&e->mu);
}
