/*
 * The W5500 driver (ports/w5500) on the strict emulator (tools/w5500emu), both over real loopback
 * TCP to the rig's pattern server (rig.h):
 *   - downloads and echoes arrive byte-exact with no emulator violation, also with random RX
 *     arrival sizes, random read sizes, torn Sn_RX_RSR reads, slow commands, every buffer size and
 *     pointers that wrap past 0xFFFF (a property test over seeds);
 *   - each injected fault ends in the driver's clean error (reset, drop, refused, link down, a
 *     CONNECT past its timeout) or in a completed transfer (a late CONNECT, a closed window);
 *   - another task hammering the bus cannot corrupt a frame when the driver and it share the lock,
 *     and the emulator flags the interleaving when they do not.
 * test_w5500_strict.c shows the emulator catching each mistake a broken driver makes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "otakit/w5500_regs.h"
#include "rig.h"


static void assert_clean(rig_t *r)
{
    if (w5500_emu_violations(r->emu, NULL)) {
        w5500_emu_report(r->emu, stderr);
        fail_msg("the driver triggered emulator violations");
    }
}

static void download_is_exact_and_clean(void **state)
{
    rig_t r;
    w5500_emu_stats_t st;
    int err;
    (void)state;
    assert_int_equal(rig_open(&r, NULL, 2, 0), OTA_OK);
    assert_int_equal(ota_w5500_link_up(&r.w), 1);
    assert_int_equal(rig_fetch(&r, rig_port, 200000, 4096, 0, &err), 200000);
    assert_int_equal(err, 0); /* recv returned 0: the peer closed, every byte read */
    assert_clean(&r);
    w5500_emu_stats(r.emu, &st);
    assert_int_equal(st.rx_bytes, 200000);
    assert_true(st.close_wait_with_data >= 1); /* the FIN came with data still in the RX buffer */
    assert_int_equal(r.w.stats.bytes_received, 200000);
    assert_int_equal(r.w.stats.spi_bytes, st.spi_bytes); /* every byte the driver clocked, seen */
    rig_close(&r);
}

/* Property: any arrival sizes, read sizes, command latency, buffer size and pointer start give the
 * exact bytes and no violation (the torn first read of Sn_RX_RSR is caught by reading it twice). */
static void random_chunking_property(void **state)
{
    unsigned seed;
    (void)state;
    for (seed = 1; seed <= 16; seed++) {
        w5500_emu_cfg_t cfg = {.cr_latency = seed % 4, .ptr_start = (uint16_t)(0xffff - seed * 997),
                               .torn = 1, .rx_chunk_max = 1 + seed * 137 % 3000, .seed = seed};
        uint32_t n = 20000 + seed * 3001;
        rig_t r;
        int err;
        assert_int_equal(rig_open(&r, &cfg, (uint8_t)(1u << (seed % 4)), 0), OTA_OK);
        assert_int_equal(rig_fetch(&r, rig_port, n, 1 + seed * 331 % 5000, seed, &err), (long)n);
        assert_int_equal(err, 0);
        assert_clean(&r);
        rig_close(&r);
    }
}

/* The send path: 60000 bytes through the TX buffer (FSR-bounded writes, wrapping pointers) echoed. */
static void echo_is_exact(void **state)
{
    static uint8_t out[60000], in[60000];
    rig_t r;
    const ota_net_ops_t *ops;
    size_t i, k;
    int h, s;
    w5500_emu_cfg_t cfg = {.cr_latency = 2, .ptr_start = 0xfff0, .torn = 1};
    (void)state;
    for (i = 0; i < sizeof out; i++)
        out[i] = rig_pattern((uint32_t)i * 7u);
    assert_int_equal(rig_open(&r, &cfg, 8, 0), OTA_OK); /* 2 KB buffers */
    ops = r.w.net.ops;
    assert_true((h = ops->connect(r.w.net.ctx, "127.0.0.1", rig_port, 2000)) >= 0);
    assert_int_equal(ops->send(r.w.net.ctx, h, "echo\n", 5, 2000), 5);
    for (k = 0; k < sizeof out; k += (size_t)s) {
        s = ops->send(r.w.net.ctx, h, out + k, sizeof out - k, 2000);
        assert_true(s > 0 && s <= 2048);
    }
    for (k = 0; k < sizeof in; k += (size_t)s) {
        s = ops->recv(r.w.net.ctx, h, in + k, sizeof in - k, 2000);
        assert_true(s > 0);
    }
    assert_memory_equal(in, out, sizeof out);
    ops->close(r.w.net.ctx, h);
    assert_clean(&r);
    rig_close(&r);
}

static uint16_t closed_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static uint32_t ms(void)
{
    return rig_platform.now_ms(NULL);
}

static void connect_faults(void **state)
{
    rig_t r;
    const ota_net_ops_t *ops;
    uint32_t t0;
    int h, err;
    (void)state;
    assert_int_equal(rig_open(&r, NULL, 2, 0), OTA_OK);
    ops = r.w.net.ops;
    assert_int_equal(ops->connect(r.w.net.ctx, "127.0.0.1", closed_port(), 2000), OTA_ERR_NET); /* refused */
    assert_int_equal(ops->connect(r.w.net.ctx, "ota.example.com", rig_port, 2000), OTA_ERR_NET); /* no resolver */
    w5500_emu_late_connect(r.emu, 600);
    t0 = ms();
    assert_int_equal(ops->connect(r.w.net.ctx, "127.0.0.1", rig_port, 200), OTA_ERR_TIMEOUT);
    assert_true(ms() - t0 < 500);
    assert_true((h = ops->connect(r.w.net.ctx, "127.0.0.1", rig_port, 3000)) >= 0); /* late but in time */
    ops->close(r.w.net.ctx, h);
    w5500_emu_late_connect(r.emu, 0);
    assert_int_equal(w5500_emu_fault(r.emu, W5500_FAULT_LINK_DOWN, 0, 300), 0);
    w5500_emu_idle(r.emu);
    assert_int_equal(ota_w5500_link_up(&r.w), 0);
    assert_int_equal(ops->connect(r.w.net.ctx, "127.0.0.1", rig_port, 2000), OTA_ERR_NET);
    usleep(350 * 1000);
    assert_int_equal(rig_fetch(&r, rig_port, 5000, 4096, 0, &err), 5000); /* the link is back */
    assert_clean(&r);
    rig_close(&r);
}

static void transfer_faults(void **state)
{
    static const w5500_fault_kind_t lost[] = {W5500_FAULT_RESET, W5500_FAULT_DROP};
    unsigned i;
    rig_t r;
    int err;
    uint32_t t0;
    long got;
    (void)state;
    for (i = 0; i < 2; i++) { /* the connection dies mid-transfer: a clean error, no wrong byte */
        assert_int_equal(rig_open(&r, NULL, 2, 0), OTA_OK);
        assert_int_equal(w5500_emu_fault(r.emu, lost[i], 30000, 0), 0);
        got = rig_fetch(&r, rig_port, 100000, 4096, 0, &err);
        assert_int_equal(err, OTA_ERR_NET);
        assert_true(got >= 30000 && got < 100000);
        assert_clean(&r);
        rig_close(&r);
    }
    /* The chip stops taking data (the window shuts) for 1.2 s: the transfer waits, then completes. */
    assert_int_equal(rig_open(&r, NULL, 2, 0), OTA_OK);
    assert_int_equal(w5500_emu_fault(r.emu, W5500_FAULT_HOLD, 10000, 1200), 0);
    t0 = ms();
    assert_int_equal(rig_fetch(&r, rig_port, 60000, 4096, 0, &err), 60000);
    assert_int_equal(err, 0);
    assert_true(ms() - t0 >= 1100);
    assert_clean(&r);
    rig_close(&r);
}

/* ---- another task on the bus ------------------------------------------------------------------ */

static struct {
    rig_t *r;
    int locked;
    volatile int stop;
    unsigned frames, bad;
} hammer;

static void *hammer_main(void *arg)
{
    static const uint8_t hdr[3] = {0x00, W5500_VERSIONR, 0x00}; /* common block, read */
    (void)arg;
    while (!hammer.stop) {
        uint8_t v = 0;
        if (hammer.locked)
            pthread_mutex_lock(&hammer.r->bus);
        w5500_emu_select(hammer.r->emu, 1);
        usleep(50); /* chip select held low a while: any frame of another task now overlaps */
        w5500_emu_transfer(hammer.r->emu, hdr, NULL, 3);
        w5500_emu_transfer(hammer.r->emu, NULL, &v, 1);
        w5500_emu_select(hammer.r->emu, 0);
        if (hammer.locked)
            pthread_mutex_unlock(&hammer.r->bus);
        hammer.frames++;
        hammer.bad += v != W5500_VERSION;
    }
    return NULL;
}

static void run_with_hammer(int locked, long *got, unsigned *violations)
{
    rig_t r;
    pthread_t t;
    int err;
    assert_int_equal(rig_open(&r, NULL, 2, locked), OTA_OK);
    memset(&hammer, 0, sizeof hammer);
    hammer.r = &r;
    hammer.locked = locked;
    pthread_create(&t, NULL, hammer_main, NULL);
    *got = rig_fetch(&r, rig_port, 300000, 4096, 0, &err);
    while (!locked && !w5500_emu_violations(r.emu, NULL) && hammer.frames < 1000000)
        (void)rig_fetch(&r, rig_port, 300000, 4096, 0, &err); /* until the two tasks have met on the bus */
    hammer.stop = 1;
    pthread_join(t, NULL);
    *violations = w5500_emu_violations(r.emu, NULL);
    if (locked && *violations)
        w5500_emu_report(r.emu, stderr);
    rig_close(&r);
}

static void shared_bus_with_lock_is_safe(void **state)
{
    long got;
    unsigned v;
    (void)state;
    run_with_hammer(1, &got, &v);
    assert_int_equal(got, 300000);
    assert_int_equal(v, 0);
    assert_true(hammer.frames > 100);
    assert_int_equal(hammer.bad, 0);
}

static void shared_bus_without_lock_is_caught(void **state)
{
    long got;
    unsigned v;
    (void)state;
    run_with_hammer(0, &got, &v);
    assert_true(v > 0); /* interleaved frames: CS asserted inside a frame, bytes with CS released */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(download_is_exact_and_clean),
        cmocka_unit_test(random_chunking_property),
        cmocka_unit_test(echo_is_exact),
        cmocka_unit_test(connect_faults),
        cmocka_unit_test(transfer_faults),
        cmocka_unit_test(shared_bus_with_lock_is_safe),
        cmocka_unit_test(shared_bus_without_lock_is_caught),
    };
    return cmocka_run_group_tests(tests, rig_group_setup, rig_group_teardown);
}
