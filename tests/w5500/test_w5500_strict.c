/*
 * The emulator is strict: each mistake the seed names (and the datasheet forbids) made on purpose
 * by a broken "driver" written here frame by frame (ota_w5500_read/ota_w5500_write: one correct
 * frame each) is counted as its violation, and the stall it causes is observable. The real driver
 * triggers none of them (test_w5500_driver.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "otakit/w5500_regs.h"
#include "rig.h"


static unsigned count(rig_t *r, w5500_violation_t v)
{
    unsigned c[W5500_V_COUNT];
    w5500_emu_violations(r->emu, c);
    return c[v];
}

static uint16_t rd16(rig_t *r, unsigned n, uint16_t off)
{
    uint8_t b[2];
    ota_w5500_read(&r->w, (uint8_t)W5500_BSB_SREG(n), off, b, 2);
    return (uint16_t)(b[0] << 8 | b[1]);
}

static void wr16(rig_t *r, unsigned n, uint16_t off, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    ota_w5500_write(&r->w, (uint8_t)W5500_BSB_SREG(n), off, b, 2);
}

/* A command, waited for as the datasheet says (the mistakes below are elsewhere). */
static void cmd(rig_t *r, unsigned n, uint8_t c)
{
    uint8_t v = c;
    ota_w5500_write(&r->w, (uint8_t)W5500_BSB_SREG(n), W5500_Sn_CR, &v, 1);
    do
        ota_w5500_read(&r->w, (uint8_t)W5500_BSB_SREG(n), W5500_Sn_CR, &v, 1);
    while (v);
}

/* The driver connects and asks the pattern server for n bytes; returns the socket once data waits. */
static int ask(rig_t *r, uint32_t n)
{
    const ota_net_ops_t *ops = r->w.net.ops;
    char req[16];
    int h = ops->connect(r->w.net.ctx, "127.0.0.1", rig_port, 2000), len = snprintf(req, sizeof req, "%u\n", (unsigned)n);
    assert_true(h >= 0);
    assert_int_equal(ops->send(r->w.net.ctx, h, req, (size_t)len, 2000), len);
    while (rd16(r, (unsigned)h, W5500_Sn_RX_RSR) == 0)
        w5500_emu_idle(r->emu);
    return h;
}

static void bus_mistakes(void **state)
{
    static const uint8_t hdr[3] = {0x00, W5500_VERSIONR, 0x00}, fdm[3] = {0x00, W5500_VERSIONR, 0x01};
    uint8_t v;
    rig_t r;
    (void)state;
    assert_int_equal(rig_open(&r, NULL, 2, 0), OTA_OK);
    assert_int_equal(w5500_emu_violations(r.emu, NULL), 0);
    /* chip select released between the header and the data (a HAL that pulses NSS per call) */
    w5500_emu_select(r.emu, 1);
    w5500_emu_transfer(r.emu, hdr, NULL, 3);
    w5500_emu_select(r.emu, 0);
    w5500_emu_select(r.emu, 1);
    w5500_emu_transfer(r.emu, NULL, &v, 1);
    w5500_emu_select(r.emu, 0);
    assert_int_equal(count(&r, W5500_V_CS_MIDFRAME), 2);
    /* bytes clocked with chip select high, a second select inside a frame, fixed-length mode */
    w5500_emu_transfer(r.emu, hdr, NULL, 3);
    assert_int_equal(count(&r, W5500_V_XFER_NO_CS), 1);
    w5500_emu_select(r.emu, 1);
    w5500_emu_select(r.emu, 1);
    w5500_emu_transfer(r.emu, hdr, &v, 1);
    w5500_emu_select(r.emu, 0);
    assert_int_equal(count(&r, W5500_V_CS_NESTED), 1);
    w5500_emu_select(r.emu, 1);
    w5500_emu_transfer(r.emu, fdm, NULL, 3);
    w5500_emu_transfer(r.emu, NULL, &v, 1);
    w5500_emu_select(r.emu, 0);
    assert_int_equal(count(&r, W5500_V_BAD_CONTROL), 1);
    /* a command written before the chip took the previous one (Sn_CR not polled back to 0) */
    v = W5500_Sn_MR_TCP;
    ota_w5500_write(&r.w, (uint8_t)W5500_BSB_SREG(7), W5500_Sn_MR, &v, 1);
    v = W5500_CR_CLOSE;
    ota_w5500_write(&r.w, (uint8_t)W5500_BSB_SREG(1), W5500_Sn_CR, &v, 1);
    ota_w5500_write(&r.w, (uint8_t)W5500_BSB_SREG(1), W5500_Sn_CR, &v, 1);
    assert_int_equal(count(&r, W5500_V_CR_BUSY), 1);
    rig_close(&r);
}

static void rx_mistakes(void **state)
{
    static uint8_t buf[20000];
    rig_t r;
    int h;
    uint16_t rsr, rd;
    (void)state;
    assert_int_equal(rig_open(&r, NULL, 2, 0), OTA_OK);
    h = ask(&r, 100000);
    rsr = rd16(&r, (unsigned)h, W5500_Sn_RX_RSR);
    rd = rd16(&r, (unsigned)h, W5500_Sn_RX_RD);
    /* reading more than Sn_RX_RSR says is there */
    ota_w5500_read(&r.w, (uint8_t)W5500_BSB_SRX(h), rd, buf, (size_t)rsr + 16);
    assert_int_equal(count(&r, W5500_V_RX_OVERREAD), 16);
    /* RECV with Sn_RX_RD where it was */
    cmd(&r, (unsigned)h, W5500_CR_RECV);
    assert_int_equal(count(&r, W5500_V_RECV_NO_ADVANCE), 1);
    /* Sn_RX_RD advanced, RECV omitted, then the next poll of Sn_RX_RSR */
    wr16(&r, (unsigned)h, W5500_Sn_RX_RD, (uint16_t)(rd + 10));
    (void)rd16(&r, (unsigned)h, W5500_Sn_RX_RSR);
    assert_int_equal(count(&r, W5500_V_RECV_OMITTED), 1);
    cmd(&r, (unsigned)h, W5500_CR_RECV);
    /* Sn_RX_RD advanced past the received data */
    rsr = rd16(&r, (unsigned)h, W5500_Sn_RX_RSR);
    wr16(&r, (unsigned)h, W5500_Sn_RX_RD, (uint16_t)(rd + 10 + rsr + 100));
    cmd(&r, (unsigned)h, W5500_CR_RECV);
    assert_int_equal(count(&r, W5500_V_RD_PAST_RSR), 1);
    r.w.net.ops->close(r.w.net.ctx, h);
    rig_close(&r);
}

static void tx_mistakes(void **state)
{
    static uint8_t buf[20000];
    rig_t r;
    int h;
    uint16_t fsr, wr;
    (void)state;
    assert_int_equal(rig_open(&r, NULL, 2, 0), OTA_OK);
    h = r.w.net.ops->connect(r.w.net.ctx, "127.0.0.1", rig_port, 2000);
    assert_true(h >= 0);
    fsr = rd16(&r, (unsigned)h, W5500_Sn_TX_FSR);
    assert_int_equal(fsr, 8192);
    wr = rd16(&r, (unsigned)h, W5500_Sn_TX_WR);
    memset(buf, 'x', sizeof buf);
    ota_w5500_write(&r.w, (uint8_t)W5500_BSB_STX(h), wr, buf, (size_t)fsr + 5);
    assert_int_equal(count(&r, W5500_V_TX_OVERWRITE), 5);
    wr16(&r, (unsigned)h, W5500_Sn_TX_WR, (uint16_t)(wr + fsr + 5));
    cmd(&r, (unsigned)h, W5500_CR_SEND);
    assert_int_equal(count(&r, W5500_V_SEND_PAST_FSR), 1);
    r.w.net.ops->close(r.w.net.ctx, h);
    rig_close(&r);
}

/* RECV omitted for good (the seed's "download stalls midway"): the RX buffer fills, Sn_RX_RSR
 * sticks at the buffer's size and no byte more is taken from the peer. */
static void omitted_recv_stalls(void **state)
{
    rig_t r;
    w5500_emu_stats_t a, b;
    int h, i;
    (void)state;
    assert_int_equal(rig_open(&r, NULL, 2, 0), OTA_OK);
    h = ask(&r, 100000);
    for (i = 0; i < 200; i++)
        w5500_emu_idle(r.emu);
    w5500_emu_stats(r.emu, &a);
    usleep(200 * 1000);
    for (i = 0; i < 100; i++)
        w5500_emu_idle(r.emu);
    w5500_emu_stats(r.emu, &b);
    assert_int_equal(rd16(&r, (unsigned)h, W5500_Sn_RX_RSR), 8192);
    assert_int_equal(a.rx_bytes, 8192);
    assert_int_equal(b.rx_bytes, 8192);
    r.w.net.ops->close(r.w.net.ctx, h);
    rig_close(&r);
}

/* Trusting one read of Sn_RX_RSR while the chip updates it (torn mode) reads past the data: the
 * reason for the two-reads rule, which the real driver follows (no violation in its tests). */
static void single_rsr_read_overreads(void **state)
{
    static uint8_t buf[20000];
    w5500_emu_cfg_t cfg = {.cr_latency = 1, .torn = 1};
    rig_t r;
    int h, tries;
    (void)state;
    assert_int_equal(rig_open(&r, &cfg, 2, 0), OTA_OK);
    h = ask(&r, 100000);
    for (tries = 0; tries < 2000 && !count(&r, W5500_V_RX_OVERREAD); tries++) {
        uint16_t rsr = rd16(&r, (unsigned)h, W5500_Sn_RX_RSR), rd; /* one read, trusted */
        if (rsr) {
            rd = rd16(&r, (unsigned)h, W5500_Sn_RX_RD);
            ota_w5500_read(&r.w, (uint8_t)W5500_BSB_SRX(h), rd, buf, rsr);
            wr16(&r, (unsigned)h, W5500_Sn_RX_RD, (uint16_t)(rd + rsr));
            cmd(&r, (unsigned)h, W5500_CR_RECV);
        }
        w5500_emu_idle(r.emu);
    }
    assert_true(count(&r, W5500_V_RX_OVERREAD) > 0);
    r.w.net.ops->close(r.w.net.ctx, h);
    rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bus_mistakes),
        cmocka_unit_test(rx_mistakes),
        cmocka_unit_test(tx_mistakes),
        cmocka_unit_test(omitted_recv_stalls),
        cmocka_unit_test(single_rsr_read_overreads),
    };
    return cmocka_run_group_tests(tests, rig_group_setup, rig_group_teardown);
}
