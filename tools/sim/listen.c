/* otakit-device: push endpoints and ArduinoOTA between check-ins (see listen.h). */
#define _GNU_SOURCE
#include "listen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int open_sock(int type, const char *addr, int port)
{
    struct sockaddr_in sa;
    int one = 1, fd = socket(AF_INET, type | SOCK_CLOEXEC | (type == SOCK_STREAM ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        (type == SOCK_STREAM && listen(fd, 8) != 0)) {
        close(fd);
        return -1;
    }
    return fd;
}

int sim_listen_open(sim_listen_t *l, const char *addr, int push_port, int aota_port)
{
    l->tcp = l->udp = -1;
    if (push_port >= 0 && (l->tcp = open_sock(SOCK_STREAM, addr, push_port)) < 0)
        return -1;
    if (aota_port >= 0 && (l->udp = open_sock(SOCK_DGRAM, addr, aota_port)) < 0) {
        sim_listen_close(l);
        return -1;
    }
    return 0;
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int serve_push(sim_listen_t *l, ota_ctx_t *ctx, const ota_net_t *net,
                      void (*log)(void *, const char *), void *arg)
{
    ota_push_result_t res;
    char line[160];
    int h = accept4(l->tcp, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (h < 0)
        return 0;
    ota_push_serve(ctx, net, h, &l->push, &res);
    close(h);
    snprintf(line, sizeof line, "push: answered %d (%s)%s", res.status, ota_errname(res.result),
             res.reboot ? ": reset" : "");
    log(arg, line);
    return res.reboot;
}

static int serve_aota(sim_listen_t *l, ota_ctx_t *ctx, const ota_net_t *net,
                      void (*log)(void *, const char *), void *arg)
{
    char in[256], reply[OTA_AOTA_REPLY_MAX], host[INET_ADDRSTRLEN], line[200];
    uint8_t nonce[16];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    size_t rl;
    ssize_t n = recvfrom(l->udp, in, sizeof in, 0, (struct sockaddr *)&from, &fl);
    FILE *r;
    int rc;
    if (n <= 0)
        return 0;
    if (!(r = fopen("/dev/urandom", "rb")) || fread(nonce, 1, sizeof nonce, r) != sizeof nonce) {
        if (r)
            fclose(r);
        return 0;
    }
    fclose(r);
    rc = ota_aota_datagram(ctx, &l->aota, in, (size_t)n, nonce, reply, sizeof reply, &rl);
    if (rl)
        sendto(l->udp, reply, rl, 0, (struct sockaddr *)&from, fl);
    inet_ntop(AF_INET, &from.sin_addr, host, sizeof host);
    snprintf(line, sizeof line, "arduino-ota: invitation from %s: %.*s", host, (int)rl, rl ? reply : "(no answer)");
    log(arg, line);
    if (rc != OTA_AOTA_START)
        return 0;
    rc = ota_aota_receive(ctx, &l->aota, net, host, 10000);
    snprintf(line, sizeof line, "arduino-ota: %u bytes from %s:%u: %s", (unsigned)l->aota.size, host,
             (unsigned)l->aota.host_port, ota_errname(rc));
    log(arg, line);
    return rc == OTA_OK;
}

int sim_listen_wait(sim_listen_t *l, ota_ctx_t *ctx, const ota_net_t *net, unsigned ms,
                    void (*log)(void *arg, const char *line), void *arg)
{
    long long end = now_ms() + ms;
    for (;;) {
        struct pollfd p[2];
        long long left = end - now_ms();
        int n = 0, ti = -1, ui = -1;
        if (left <= 0)
            return 0;
        if (l->tcp >= 0) {
            p[n].fd = l->tcp;
            p[n].events = POLLIN;
            ti = n++;
        }
        if (l->udp >= 0) {
            p[n].fd = l->udp;
            p[n].events = POLLIN;
            ui = n++;
        }
        if (!n) {
            usleep((useconds_t)(left > 1000 ? 1000000 : left * 1000));
            continue;
        }
        if (poll(p, (nfds_t)n, (int)(left > 1000 ? 1000 : left)) <= 0)
            continue;
        if (ti >= 0 && (p[ti].revents & POLLIN) && serve_push(l, ctx, net, log, arg))
            return 1;
        if (l->pull_wanted)
            return SIM_LISTEN_PULL;
        if (ui >= 0 && (p[ui].revents & POLLIN) && serve_aota(l, ctx, net, log, arg))
            return 1;
    }
}

void sim_listen_pending(sim_listen_t *l, ota_ctx_t *ctx, const ota_net_t *net,
                        void (*log)(void *arg, const char *line), void *arg)
{
    struct pollfd p;
    p.fd = l->tcp;
    p.events = POLLIN;
    while (l->tcp >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLIN))
        serve_push(l, ctx, net, log, arg);
}

void sim_listen_close(sim_listen_t *l)
{
    if (l->tcp >= 0)
        close(l->tcp);
    if (l->udp >= 0)
        close(l->udp);
    l->tcp = l->udp = -1;
}
