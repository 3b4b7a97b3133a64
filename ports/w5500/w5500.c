/*
 * W5500 transport (otakit/w5500.h): the net ops of otakit/net.h on the chip's TCP sockets.
 *
 * The rules followed, from the W5500 datasheet and WIZnet's ioLibrary_Driver (Ethernet/socket.c,
 * Ethernet/W5500/w5500.c), each in one place below:
 *   - a frame is chip select low, 3 header bytes, the data, chip select high; nothing else on the
 *     bus in between (frame(): one lock/unlock around the whole of it);
 *   - Sn_TX_FSR and Sn_RX_RSR are read until two reads agree (stable16()): the chip updates them
 *     while the MCU reads them;
 *   - every command is written to Sn_CR only when the previous one has been taken (Sn_CR reads 0),
 *     and the driver waits for that after each command (command());
 *   - the TX and RX pointers are 16-bit and wrap around; the chip maps them into the socket's
 *     buffer, so a copy that crosses the end of the buffer is still one frame;
 *   - received data is released by advancing Sn_RX_RD and issuing RECV (a skipped RECV stalls the
 *     download: the chip never sees the space and the TCP window stays shut);
 *   - data may still be buffered when the peer has closed (SOCK_CLOSE_WAIT): it is read first,
 *     and recv returns 0 only once Sn_RX_RSR is 0.
 */
#include <string.h>

#include "otakit/w5500.h"
#include "otakit/w5500_regs.h"

#define CMD_MS 500u      /* Sn_CR clears within microseconds; this is a dead-chip bound */
#define DISCON_MS 200u   /* how long close() lets the FIN exchange run before CLOSE */

static uint32_t now(const ota_w5500_t *w)
{
    return w->cfg.platform->now_ms(w->cfg.platform->ctx);
}

static int expired(const ota_w5500_t *w, uint32_t start, uint32_t ms)
{
    return (uint32_t)(now(w) - start) >= ms; /* modulo 2^32: clock wraps are harmless */
}

static void idle(const ota_w5500_t *w)
{
    if (w->cfg.spi->idle)
        w->cfg.spi->idle(w->cfg.spi->ctx);
}

/* One SPI frame: header and data under one chip select and one hold of the lock. */
static void frame(ota_w5500_t *w, uint8_t bsb, uint16_t addr, int write, const uint8_t *tx, uint8_t *rx,
                  size_t len)
{
    const ota_w5500_spi_t *s = w->cfg.spi;
    uint8_t hdr[3];
    hdr[0] = (uint8_t)(addr >> 8);
    hdr[1] = (uint8_t)addr;
    hdr[2] = (uint8_t)((bsb << 3) | (write ? W5500_CTRL_WRITE : 0u) | W5500_CTRL_VDM);
    if (s->lock)
        s->lock(s->ctx);
    s->select(s->ctx, 1);
    s->transfer(s->ctx, hdr, NULL, sizeof hdr);
    s->transfer(s->ctx, tx, rx, len);
    s->select(s->ctx, 0);
    if (s->unlock)
        s->unlock(s->ctx);
    w->stats.frames++;
    w->stats.spi_bytes += sizeof hdr + len;
}

void ota_w5500_read(ota_w5500_t *w, uint8_t bsb, uint16_t addr, void *buf, size_t len)
{
    frame(w, bsb, addr, 0, NULL, buf, len);
}

void ota_w5500_write(ota_w5500_t *w, uint8_t bsb, uint16_t addr, const void *buf, size_t len)
{
    frame(w, bsb, addr, 1, buf, NULL, len);
}

static uint8_t sr8(ota_w5500_t *w, unsigned n, uint16_t off)
{
    uint8_t v;
    frame(w, (uint8_t)W5500_BSB_SREG(n), off, 0, NULL, &v, 1);
    return v;
}

static void sw8(ota_w5500_t *w, unsigned n, uint16_t off, uint8_t v)
{
    frame(w, (uint8_t)W5500_BSB_SREG(n), off, 1, &v, NULL, 1);
}

static uint16_t sr16(ota_w5500_t *w, unsigned n, uint16_t off)
{
    uint8_t b[2];
    frame(w, (uint8_t)W5500_BSB_SREG(n), off, 0, NULL, b, 2);
    return (uint16_t)(b[0] << 8 | b[1]);
}

static void sw16(ota_w5500_t *w, unsigned n, uint16_t off, uint16_t v)
{
    uint8_t b[2];
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
    frame(w, (uint8_t)W5500_BSB_SREG(n), off, 1, b, NULL, 2);
}

/* Sn_TX_FSR or Sn_RX_RSR: read until two reads agree. Returns the value (0 after 64 disagreements,
 * which the caller treats as "nothing yet"). */
static uint16_t stable16(ota_w5500_t *w, unsigned n, uint16_t off)
{
    unsigned tries;
    for (tries = 0; tries < 64; tries++) {
        uint16_t a = sr16(w, n, off), b;
        if (a == 0)
            return 0;
        b = sr16(w, n, off);
        if (a == b)
            return a;
    }
    return 0;
}

/* Issues cmd on socket n and waits until the chip has taken it (Sn_CR back to 0). Returns OTA_OK
 * or OTA_ERR_NET (the chip never cleared it). */
static int command(ota_w5500_t *w, unsigned n, uint8_t cmd)
{
    uint32_t t0 = now(w);
    sw8(w, n, W5500_Sn_CR, cmd);
    while (sr8(w, n, W5500_Sn_CR) != 0) {
        if (expired(w, t0, CMD_MS)) /* one more look: the task may have been preempted, not the chip slow */
            return sr8(w, n, W5500_Sn_CR) == 0 ? OTA_OK : OTA_ERR_NET;
        idle(w);
    }
    return OTA_OK;
}

int ota_w5500_link_up(ota_w5500_t *w)
{
    uint8_t v;
    ota_w5500_read(w, W5500_BSB_COMMON, W5500_PHYCFGR, &v, 1);
    return (v & W5500_PHY_LNK) != 0;
}

static const ota_net_ops_t w5500_ops;

int ota_w5500_init(ota_w5500_t *w, const ota_w5500_cfg_t *cfg)
{
    uint8_t v, addr[18], sizes[2];
    uint32_t t0;
    unsigned n;
    if (!w || !cfg || !cfg->spi || !cfg->spi->select || !cfg->spi->transfer || !cfg->platform ||
        !cfg->platform->now_ms || !cfg->spi->lock != !cfg->spi->unlock)
        return OTA_ERR_ARG;
    memset(w, 0, sizeof *w);
    w->cfg = *cfg;
    if (!w->cfg.sockets)
        w->cfg.sockets = 2;
    if (!w->cfg.buf_kb && w->cfg.sockets <= W5500_SOCKETS)
        for (w->cfg.buf_kb = W5500_BUF_TOTAL_KB; w->cfg.buf_kb * w->cfg.sockets > W5500_BUF_TOTAL_KB;)
            w->cfg.buf_kb /= 2; /* 16 KB / sockets, rounded down to a size the chip has */
    if (w->cfg.sockets > W5500_SOCKETS || (w->cfg.buf_kb & (w->cfg.buf_kb - 1)) ||
        (unsigned)w->cfg.sockets * w->cfg.buf_kb > W5500_BUF_TOTAL_KB)
        return OTA_ERR_ARG;
    w->next_port = w->cfg.local_port ? w->cfg.local_port : 49152u;

    v = W5500_MR_RST;
    ota_w5500_write(w, W5500_BSB_COMMON, W5500_MR, &v, 1);
    t0 = now(w);
    do {
        ota_w5500_read(w, W5500_BSB_COMMON, W5500_MR, &v, 1);
        if ((v & W5500_MR_RST) && expired(w, t0, CMD_MS))
            return OTA_ERR_NET;
    } while (v & W5500_MR_RST);
    ota_w5500_read(w, W5500_BSB_COMMON, W5500_VERSIONR, &v, 1);
    if (v != W5500_VERSION)
        return OTA_ERR_NET;
    /* GAR, SUBR, SHAR, SIPR are contiguous (0x0001..0x0012): one frame. */
    memcpy(addr, cfg->gateway, 4);
    memcpy(addr + 4, cfg->subnet, 4);
    memcpy(addr + 8, cfg->mac, 6);
    memcpy(addr + 14, cfg->ip, 4);
    ota_w5500_write(w, W5500_BSB_COMMON, W5500_GAR, addr, sizeof addr);
    for (n = 0; n < W5500_SOCKETS; n++) {
        sizes[0] = sizes[1] = n < w->cfg.sockets ? w->cfg.buf_kb : 0; /* RXBUF_SIZE, TXBUF_SIZE */
        frame(w, (uint8_t)W5500_BSB_SREG(n), W5500_Sn_RXBUF_SIZE, 1, sizes, NULL, 2);
    }
    w->net.ops = &w5500_ops;
    w->net.ctx = w;
    return OTA_OK;
}

/* ---- the net ops ------------------------------------------------------------------------- */

static int parse_ip(const char *s, uint8_t ip[4])
{
    unsigned i, v, digits;
    for (i = 0; i < 4; i++) {
        for (v = 0, digits = 0; *s >= '0' && *s <= '9' && digits < 4; s++, digits++)
            v = v * 10 + (unsigned)(*s - '0');
        if (!digits || v > 255 || *s != (i < 3 ? '.' : '\0'))
            return -1;
        ip[i] = (uint8_t)v;
        if (i < 3)
            s++;
    }
    return 0;
}

/* Ends whatever socket n was doing: CLOSE (SOCK_CLOSED at once) and every Sn_IR bit cleared. */
static void sock_reset(ota_w5500_t *w, unsigned n)
{
    (void)command(w, n, W5500_CR_CLOSE);
    sw8(w, n, W5500_Sn_IR, 0xff);
}

/* A free socket of the transport opened for TCP (SOCK_INIT) on port (0: the next local port).
 * Returns its number or OTA_ERR_NET. */
static int sock_open(ota_w5500_t *w, uint16_t port)
{
    unsigned n;
    for (n = 0; n < w->cfg.sockets && (w->in_use & (1u << n)); n++)
        ;
    if (n == w->cfg.sockets)
        return OTA_ERR_NET; /* every socket of the transport holds a connection */
    sock_reset(w, n);
    sw8(w, n, W5500_Sn_MR, (uint8_t)(W5500_Sn_MR_TCP | (w->cfg.no_delayed_ack ? W5500_Sn_MR_ND : 0u)));
    if (!port) {
        port = w->next_port;
        w->next_port = (uint16_t)(w->next_port == 0xffffu ? (w->cfg.local_port ? w->cfg.local_port : 49152u)
                                                          : w->next_port + 1u);
    }
    sw16(w, n, W5500_Sn_PORT, port);
    if (command(w, n, W5500_CR_OPEN) != OTA_OK || sr8(w, n, W5500_Sn_SR) != W5500_SOCK_INIT) {
        sock_reset(w, n);
        return OTA_ERR_NET;
    }
    return (int)n;
}

static int w_connect(void *ctx, const char *host, uint16_t port, uint32_t timeout_ms)
{
    ota_w5500_t *w = ctx;
    uint8_t ip[4], dst[6], sr, ir;
    unsigned n;
    int rc;
    uint32_t t0 = now(w);
    if (!host || !port)
        return OTA_ERR_ARG;
    if (parse_ip(host, ip) != 0 && (!w->cfg.resolve || w->cfg.resolve(w->cfg.resolve_ctx, host, ip) != 0))
        return OTA_ERR_NET; /* name unknown */
    if (!ota_w5500_link_up(w))
        return OTA_ERR_NET; /* no cable: nothing to wait for */
    if ((rc = sock_open(w, 0)) < 0)
        return rc;
    n = (unsigned)rc;
    memcpy(dst, ip, 4); /* Sn_DIPR and Sn_DPORT are contiguous: one frame */
    dst[4] = (uint8_t)(port >> 8);
    dst[5] = (uint8_t)port;
    frame(w, (uint8_t)W5500_BSB_SREG(n), W5500_Sn_DIPR, 1, dst, NULL, sizeof dst);
    if (command(w, n, W5500_CR_CONNECT) != OTA_OK)
        goto fail;
    for (;;) {
        sr = sr8(w, n, W5500_Sn_SR);
        if (sr == W5500_SOCK_ESTABLISHED || sr == W5500_SOCK_CLOSE_WAIT)
            break;
        ir = sr8(w, n, W5500_Sn_IR);
        if ((ir & W5500_IR_TIMEOUT) || sr == W5500_SOCK_CLOSED)
            goto fail; /* refused (RST) or no answer after the chip's retries */
        if (expired(w, t0, timeout_ms)) {
            sock_reset(w, n);
            return OTA_ERR_TIMEOUT;
        }
        idle(w);
    }
    sw8(w, n, W5500_Sn_IR, W5500_IR_CON);
    w->in_use |= (uint8_t)(1u << n);
    w->stats.connects++;
    return (int)n;
fail:
    sock_reset(w, n);
    return OTA_ERR_NET;
}

static int handle_ok(const ota_w5500_t *w, int h)
{
    return h >= 0 && (unsigned)h < w->cfg.sockets && (w->in_use & (1u << h));
}

static int w_send(void *ctx, int h, const void *buf, size_t len, uint32_t timeout_ms)
{
    ota_w5500_t *w = ctx;
    unsigned n = (unsigned)h;
    uint32_t t0 = now(w);
    uint16_t fsr, wr;
    uint8_t sr, ir;
    if (!handle_ok(w, h) || !buf || !len)
        return OTA_ERR_ARG;
    for (;;) {
        sr = sr8(w, n, W5500_Sn_SR);
        if (sr != W5500_SOCK_ESTABLISHED && sr != W5500_SOCK_CLOSE_WAIT)
            return OTA_ERR_NET;
        if ((fsr = stable16(w, n, W5500_Sn_TX_FSR)) != 0)
            break;
        if (expired(w, t0, timeout_ms))
            return OTA_ERR_TIMEOUT;
        idle(w);
    }
    if (len > fsr)
        len = fsr; /* never write past the free space: the rest goes in the caller's next call */
    wr = sr16(w, n, W5500_Sn_TX_WR);
    frame(w, (uint8_t)W5500_BSB_STX(n), wr, 1, buf, NULL, len);
    sw16(w, n, W5500_Sn_TX_WR, (uint16_t)(wr + len));
    if (command(w, n, W5500_CR_SEND) != OTA_OK)
        return OTA_ERR_NET;
    for (;;) { /* the next SEND may be issued only after this one's SENDOK */
        ir = sr8(w, n, W5500_Sn_IR);
        if (ir & W5500_IR_SENDOK)
            break;
        if ((ir & W5500_IR_TIMEOUT) || sr8(w, n, W5500_Sn_SR) == W5500_SOCK_CLOSED)
            return OTA_ERR_NET;
        if (expired(w, t0, timeout_ms))
            return OTA_ERR_TIMEOUT;
        idle(w);
    }
    sw8(w, n, W5500_Sn_IR, W5500_IR_SENDOK);
    w->stats.bytes_sent += len;
    return (int)len;
}

static int w_recv(void *ctx, int h, void *buf, size_t len, uint32_t timeout_ms)
{
    ota_w5500_t *w = ctx;
    unsigned n = (unsigned)h;
    uint32_t t0 = now(w);
    uint16_t rsr, rd;
    uint8_t sr;
    if (!handle_ok(w, h) || !buf || !len)
        return OTA_ERR_ARG;
    for (;;) {
        sr = sr8(w, n, W5500_Sn_SR); /* before Sn_RX_RSR: data that came before the FIN is seen */
        if ((rsr = stable16(w, n, W5500_Sn_RX_RSR)) != 0)
            break;
        if (sr == W5500_SOCK_CLOSE_WAIT)
            return 0; /* the peer closed and every byte it sent has been read */
        if (sr != W5500_SOCK_ESTABLISHED)
            return OTA_ERR_NET; /* reset, timed out, or closed under us */
        if (expired(w, t0, timeout_ms))
            return OTA_ERR_TIMEOUT;
        idle(w);
    }
    if (len > rsr)
        len = rsr;
    rd = sr16(w, n, W5500_Sn_RX_RD);
    frame(w, (uint8_t)W5500_BSB_SRX(n), rd, 0, NULL, buf, len);
    sw16(w, n, W5500_Sn_RX_RD, (uint16_t)(rd + len));
    if (command(w, n, W5500_CR_RECV) != OTA_OK)
        return OTA_ERR_NET;
    sw8(w, n, W5500_Sn_IR, W5500_IR_RECV);
    w->stats.bytes_received += len;
    return (int)len;
}

static void w_close(void *ctx, int h)
{
    ota_w5500_t *w = ctx;
    unsigned n = (unsigned)h;
    uint32_t t0;
    uint8_t sr;
    if (!handle_ok(w, h))
        return;
    sr = sr8(w, n, W5500_Sn_SR);
    if ((sr == W5500_SOCK_ESTABLISHED || sr == W5500_SOCK_CLOSE_WAIT) && command(w, n, W5500_CR_DISCON) == OTA_OK)
        for (t0 = now(w); sr8(w, n, W5500_Sn_SR) != W5500_SOCK_CLOSED && !expired(w, t0, DISCON_MS);)
            idle(w); /* FIN sent; the peer's FIN or the chip's timeout ends it */
    sock_reset(w, n);
    w->in_use &= (uint8_t)~(1u << n);
}

static const ota_net_ops_t w5500_ops = {w_connect, w_send, w_recv, w_close};

int ota_w5500_listen(ota_w5500_t *w, uint16_t port)
{
    int n;
    uint8_t sr;
    if (!port)
        return OTA_ERR_ARG;
    if ((n = sock_open(w, port)) < 0)
        return n;
    /* A client may connect as soon as the chip listens, before Sn_SR is read: SYNRECV, ESTABLISHED
     * or (it sent its request and closed) CLOSE_WAIT is a listening socket that already has its
     * client, for ota_w5500_accept(), not a failure to listen. */
    if (command(w, (unsigned)n, W5500_CR_LISTEN) != OTA_OK ||
        ((sr = sr8(w, (unsigned)n, W5500_Sn_SR)) != W5500_SOCK_LISTEN && sr != W5500_SOCK_SYNRECV &&
         sr != W5500_SOCK_ESTABLISHED && sr != W5500_SOCK_CLOSE_WAIT)) {
        sock_reset(w, (unsigned)n);
        return OTA_ERR_NET;
    }
    w->in_use |= (uint8_t)(1u << n);
    return n;
}

int ota_w5500_accept(ota_w5500_t *w, int h, uint32_t timeout_ms)
{
    uint32_t t0 = now(w);
    uint8_t sr;
    if (!handle_ok(w, h))
        return OTA_ERR_ARG;
    for (;;) {
        sr = sr8(w, (unsigned)h, W5500_Sn_SR);
        if (sr == W5500_SOCK_ESTABLISHED || sr == W5500_SOCK_CLOSE_WAIT) {
            sw8(w, (unsigned)h, W5500_Sn_IR, W5500_IR_CON);
            w->stats.connects++;
            return h;
        }
        if (sr != W5500_SOCK_LISTEN && sr != W5500_SOCK_SYNRECV)
            return OTA_ERR_NET;
        if (expired(w, t0, timeout_ms))
            return OTA_ERR_TIMEOUT;
        idle(w);
    }
}
