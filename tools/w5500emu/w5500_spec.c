/* The --w5500 SPEC network of netpull, push_host and otakit-device (w5500_spec.h). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "w5500_spec.h"
#include "otakit/w5500.h"
#include "otakit/w5500_regs.h"
#include "w5500_emu.h"

static w5500_emu_t *emu;
static ota_w5500_t drv;
static ota_w5500_spi_t spi;
static pthread_mutex_t bus = PTHREAD_MUTEX_INITIALIZER;
static pthread_t hammer_thread;
static int hammering, locked = 1;
static volatile int stop;
static unsigned long hammer_frames, hammer_bad;

static uint32_t now_ms(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

static const ota_platform_ops_t clock_ops = {.now_ms = now_ms};

static void lock(void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&bus);
}

static void unlock(void *ctx)
{
    (void)ctx;
    pthread_mutex_unlock(&bus);
}

/* Another task on the same bus: reads VERSIONR, one frame at a time, as fast as it can. */
static void *hammer(void *arg)
{
    static const uint8_t hdr[3] = {0x00, W5500_VERSIONR, 0x00};
    (void)arg;
    while (!stop) {
        uint8_t v = 0;
        if (locked)
            lock(NULL);
        w5500_emu_select(emu, 1);
        usleep(50); /* chip select held low a while: any frame of another task now overlaps */
        w5500_emu_transfer(emu, hdr, NULL, 3);
        w5500_emu_transfer(emu, NULL, &v, 1);
        w5500_emu_select(emu, 0);
        if (locked)
            unlock(NULL);
        hammer_frames++;
        hammer_bad += v != W5500_VERSION;
    }
    return NULL;
}

int w5500_setup(const char *spec, ota_net_t *tcp)
{
    w5500_emu_cfg_t ec = {.cr_latency = 1};
    ota_w5500_cfg_t c;
    char buf[256], *tok, *save = NULL;
    unsigned sockets = 2;
    struct { w5500_fault_kind_t kind; unsigned long long at; unsigned ms; } f[8];
    unsigned nf = 0, late = 0, i;
    snprintf(buf, sizeof buf, "%s", spec);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        unsigned long long at;
        unsigned v;
        if (!strcmp(tok, "on"))
            continue;
        else if (!strcmp(tok, "torn"))
            ec.torn = 1;
        else if (!strcmp(tok, "hammer"))
            hammering = 1;
        else if (!strcmp(tok, "nolock"))
            locked = 0;
        else if (sscanf(tok, "chunk=%u", &v) == 1)
            ec.rx_chunk_max = v;
        else if (sscanf(tok, "seed=%u", &v) == 1)
            ec.seed = v;
        else if (sscanf(tok, "latency=%u", &v) == 1)
            ec.cr_latency = v;
        else if (sscanf(tok, "sockets=%u", &v) == 1)
            sockets = v;
        else if (sscanf(tok, "ptr=%u", &v) == 1)
            ec.ptr_start = (uint16_t)v;
        else if (sscanf(tok, "late=%u", &v) == 1)
            late = v;
        else if (nf < 8 && sscanf(tok, "reset@%llu", &at) == 1)
            f[nf].kind = W5500_FAULT_RESET, f[nf].at = at, f[nf++].ms = 0;
        else if (nf < 8 && sscanf(tok, "drop@%llu", &at) == 1)
            f[nf].kind = W5500_FAULT_DROP, f[nf].at = at, f[nf++].ms = 0;
        else if (nf < 8 && sscanf(tok, "hold@%llu:%u", &at, &v) == 2)
            f[nf].kind = W5500_FAULT_HOLD, f[nf].at = at, f[nf++].ms = v;
        else if (nf < 8 && sscanf(tok, "linkdown@%llu:%u", &at, &v) == 2)
            f[nf].kind = W5500_FAULT_LINK_DOWN, f[nf].at = at, f[nf++].ms = v;
        else {
            fprintf(stderr, "w5500: bad --w5500 item %s\n", tok);
            return 2;
        }
    }
    if (!(emu = w5500_emu_new(&ec)))
        return 2;
    for (i = 0; i < nf; i++)
        w5500_emu_fault(emu, f[i].kind, f[i].at, f[i].ms);
    w5500_emu_late_connect(emu, late);
    spi.select = w5500_emu_select;
    spi.transfer = w5500_emu_transfer;
    spi.idle = w5500_emu_idle;
    if (locked) {
        spi.lock = lock;
        spi.unlock = unlock;
    }
    spi.ctx = emu;
    memset(&c, 0, sizeof c);
    c.spi = &spi;
    c.platform = &clock_ops;
    memcpy(c.mac, (const uint8_t[6]){0x02, 0x08, 0xdc, 0, 0, 1}, 6);
    memcpy(c.ip, (const uint8_t[4]){192, 168, 1, 50}, 4);
    memcpy(c.subnet, (const uint8_t[4]){255, 255, 255, 0}, 4);
    memcpy(c.gateway, (const uint8_t[4]){192, 168, 1, 1}, 4);
    c.sockets = (uint8_t)sockets;
    if (ota_w5500_init(&drv, &c) != OTA_OK) {
        fprintf(stderr, "w5500: ota_w5500_init failed\n");
        return 2;
    }
    *tcp = drv.net;
    if (hammering)
        pthread_create(&hammer_thread, NULL, hammer, NULL);
    return 0;
}

ota_w5500_t *w5500_driver(void)
{
    return &drv;
}

unsigned w5500_check(void)
{
    unsigned v = emu ? w5500_emu_violations(emu, NULL) : 0;
    if (v)
        w5500_emu_report(emu, stderr);
    return v;
}

void w5500_finish(void)
{
    w5500_emu_stats_t st;
    if (!emu)
        return;
    if (hammering) {
        stop = 1;
        pthread_join(hammer_thread, NULL);
        printf("w5500_hammer frames=%lu bad=%lu\n", hammer_frames, hammer_bad);
    }
    w5500_emu_stats(emu, &st);
    printf("w5500_violations %u\n", w5500_emu_violations(emu, NULL));
    printf("w5500_stats frames=%llu spi_bytes=%llu rx_bytes=%llu connects=%u close_wait_with_data=%u "
           "faults_fired=%u payload=%llu\n",
           (unsigned long long)st.frames, (unsigned long long)st.spi_bytes, (unsigned long long)st.rx_bytes,
           st.connects, st.close_wait_with_data, st.faults_fired, (unsigned long long)drv.stats.bytes_received);
    w5500_emu_report(emu, stderr);
    w5500_emu_free(emu);
    emu = NULL;
}
