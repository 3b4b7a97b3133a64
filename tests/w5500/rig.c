/* The W5500 test rig (rig.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rig.h"

static uint32_t now_ms(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

const ota_platform_ops_t rig_platform = {.now_ms = now_ms};

uint8_t rig_pattern(uint32_t i)
{
    return (uint8_t)((i * 2654435761u) >> 13 ^ i);
}

/* ---- the pattern server ----------------------------------------------------------------------- */

static int lfd = -1;
static volatile int stopping;
static pthread_t server_thread;

static void serve(int c)
{
    char line[32];
    size_t k = 0;
    uint8_t buf[4096];
    while (k < sizeof line - 1) {
        ssize_t r = recv(c, line + k, 1, 0);
        if (r <= 0)
            return;
        if (line[k++] == '\n')
            break;
    }
    line[k] = 0;
    if (!strncmp(line, "echo", 4)) {
        ssize_t r;
        while ((r = recv(c, buf, sizeof buf, 0)) > 0)
            if (send(c, buf, (size_t)r, MSG_NOSIGNAL) != r)
                return;
        return;
    }
    {
        uint32_t n = (uint32_t)strtoul(line, NULL, 10), i = 0;
        while (i < n) {
            size_t m = n - i < sizeof buf ? n - i : sizeof buf, j;
            ssize_t s;
            for (j = 0; j < m; j++)
                buf[j] = rig_pattern(i + (uint32_t)j);
            if ((s = send(c, buf, m, MSG_NOSIGNAL)) <= 0)
                return;
            i += (uint32_t)s;
        }
    }
}

static void *server_main(void *arg)
{
    (void)arg;
    while (!stopping) {
        struct pollfd p = {lfd, POLLIN, 0};
        int c;
        if (poll(&p, 1, 50) <= 0)
            continue;
        if ((c = accept(lfd, NULL, NULL)) < 0)
            continue;
        serve(c);
        close(c);
    }
    return NULL;
}

uint16_t rig_server_start(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int one = 1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 8) ||
        getsockname(lfd, (struct sockaddr *)&sa, &len)) {
        perror("rig server");
        exit(1);
    }
    stopping = 0;
    pthread_create(&server_thread, NULL, server_main, NULL);
    return ntohs(sa.sin_port);
}

void rig_server_stop(void)
{
    stopping = 1;
    pthread_join(server_thread, NULL);
    close(lfd);
    lfd = -1;
}

uint16_t rig_port;

int rig_group_setup(void **state)
{
    (void)state;
    rig_port = rig_server_start();
    return 0;
}

int rig_group_teardown(void **state)
{
    (void)state;
    rig_server_stop();
    return 0;
}

/* ---- the driver on the emulator ---------------------------------------------------------------- */

static void bus_lock(void *ctx)
{
    pthread_mutex_lock(&((rig_t *)ctx)->bus);
}

static void bus_unlock(void *ctx)
{
    pthread_mutex_unlock(&((rig_t *)ctx)->bus);
}

static void r_select(void *ctx, int on)
{
    w5500_emu_select(((rig_t *)ctx)->emu, on);
}

static void r_transfer(void *ctx, const uint8_t *tx, uint8_t *rx, size_t len)
{
    w5500_emu_transfer(((rig_t *)ctx)->emu, tx, rx, len);
}

static void r_idle(void *ctx)
{
    w5500_emu_idle(((rig_t *)ctx)->emu);
}

int rig_open(rig_t *r, const w5500_emu_cfg_t *cfg, uint8_t sockets, int locked)
{
    static const uint8_t mac[6] = {0x02, 0x08, 0xdc, 0x00, 0x00, 0x01};
    ota_w5500_cfg_t c;
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->bus, NULL);
    r->emu = w5500_emu_new(cfg);
    r->spi.select = r_select;
    r->spi.transfer = r_transfer;
    r->spi.idle = r_idle;
    if (locked) {
        r->spi.lock = bus_lock;
        r->spi.unlock = bus_unlock;
    }
    r->spi.ctx = r;
    memset(&c, 0, sizeof c);
    c.spi = &r->spi;
    c.platform = &rig_platform;
    memcpy(c.mac, mac, 6);
    memcpy(c.ip, (const uint8_t[4]){192, 168, 1, 50}, 4);
    memcpy(c.gateway, (const uint8_t[4]){192, 168, 1, 1}, 4);
    memcpy(c.subnet, (const uint8_t[4]){255, 255, 255, 0}, 4);
    c.sockets = sockets;
    return ota_w5500_init(&r->w, &c);
}

void rig_close(rig_t *r)
{
    w5500_emu_free(r->emu);
    pthread_mutex_destroy(&r->bus);
}

long rig_fetch(rig_t *r, uint16_t port, uint32_t n, size_t max_read, unsigned rand_seed, int *err)
{
    const ota_net_ops_t *ops = r->w.net.ops;
    char req[24];
    static uint8_t buf[16384];
    uint32_t got = 0, seed = rand_seed * 747796405u + 1;
    long good = -1;
    int h, k, len = snprintf(req, sizeof req, "%u\n", (unsigned)n);
    *err = 0;
    if ((h = ops->connect(r->w.net.ctx, "127.0.0.1", port, 2000)) < 0) {
        *err = h;
        return h;
    }
    for (k = 0; k < len;) {
        int s = ops->send(r->w.net.ctx, h, req + k, (size_t)(len - k), 2000);
        if (s <= 0) {
            *err = s;
            goto out;
        }
        k += s;
    }
    for (;;) {
        size_t want = max_read > sizeof buf ? sizeof buf : max_read;
        int i;
        if (rand_seed) {
            seed = seed * 1103515245u + 12345u;
            want = 1 + (seed >> 8) % want;
        }
        k = ops->recv(r->w.net.ctx, h, buf, want, 3000);
        if (k <= 0) {
            *err = k;
            break;
        }
        for (i = 0; i < k; i++)
            if (good < 0 && buf[i] != rig_pattern(got + (uint32_t)i))
                good = (long)(got + (uint32_t)i);
        got += (uint32_t)k;
        if (got > n) {
            *err = OTA_ERR_OVERFLOW; /* more than was asked for: garbage */
            break;
        }
    }
out:
    ops->close(r->w.net.ctx, h);
    return good >= 0 ? good : (long)got;
}
