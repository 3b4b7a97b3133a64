/*
 * POSIX sockets transport (see otakit/net_posix.h): the host port of otakit/net.h.
 *
 * Every send and receive is non-blocking (MSG_DONTWAIT, so also on a blocking socket a caller
 * accepted itself) and every wait is a poll() bounded by the operation's timeout, so a peer that
 * never answers, or a SYN that is never answered, ends in OTA_ERR_TIMEOUT rather than a hang.
 * Name resolution (getaddrinfo) is the one step that is not bounded by it. Timeouts are measured
 * on the host platform's clock (ota_host_clock_ms, CLOCK_MONOTONIC).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "otakit/net_posix.h"
#include "otakit/platform_posix.h"

static int64_t now_ms(void)
{
    return (int64_t)ota_host_clock_ms();
}

/* Waits until fd is ready for events or the deadline passes. Returns 0, OTA_ERR_TIMEOUT or OTA_ERR_NET. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd pfd;
    for (;;) {
        int64_t left = deadline - now_ms();
        int rc;
        if (left <= 0)
            return OTA_ERR_TIMEOUT;
        pfd.fd = fd;
        pfd.events = events;
        pfd.revents = 0;
        rc = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (rc > 0)
            return 0; /* ready, or an error the next call reports */
        if (rc == 0)
            return OTA_ERR_TIMEOUT;
        if (errno != EINTR)
            return OTA_ERR_NET;
    }
}

/* One address: a non-blocking connect finished within the deadline. Returns the fd or an error. */
static int connect_one(const struct addrinfo *ai, int64_t deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol), rc, err = 0,
        one = 1;
    socklen_t len = sizeof err;
    if (fd < 0)
        return OTA_ERR_NET;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS && errno != EINTR) {
            close(fd);
            return OTA_ERR_NET;
        }
        if ((rc = wait_fd(fd, POLLOUT, deadline)) != 0) {
            close(fd);
            return rc;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            close(fd);
            return OTA_ERR_NET;
        }
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int posix_connect(void *ctx, const char *host, uint16_t port, uint32_t timeout_ms)
{
    ota_net_posix_t *st = (ota_net_posix_t *)ctx;
    struct addrinfo hints, *res = NULL, *ai;
    int64_t deadline = now_ms() + timeout_ms;
    char service[8];
    int fd = OTA_ERR_NET;
    if (!host || !*host || !port)
        return OTA_ERR_ARG;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(service, sizeof service, "%u", (unsigned)port);
    if (getaddrinfo(host, service, &hints, &res) != 0)
        return OTA_ERR_NET;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = connect_one(ai, deadline);
        if (fd >= 0 || fd == OTA_ERR_TIMEOUT)
            break; /* connected, or out of time for the other addresses too */
    }
    freeaddrinfo(res);
    if (fd >= 0)
        st->connects++;
    return fd;
}

static int posix_send(void *ctx, int h, const void *buf, size_t len, uint32_t timeout_ms)
{
    ota_net_posix_t *st = (ota_net_posix_t *)ctx;
    int64_t deadline = now_ms() + timeout_ms;
    if (len > INT_MAX)
        len = INT_MAX;
    for (;;) {
        ssize_t n = send(h, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        int rc;
        if (n >= 0) {
            st->bytes_sent += (uint64_t)n;
            return (int)n;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return OTA_ERR_NET;
        if ((rc = wait_fd(h, POLLOUT, deadline)) != 0)
            return rc;
    }
}

static int posix_recv(void *ctx, int h, void *buf, size_t len, uint32_t timeout_ms)
{
    ota_net_posix_t *st = (ota_net_posix_t *)ctx;
    int64_t deadline = now_ms() + timeout_ms;
    if (len > INT_MAX)
        len = INT_MAX;
    for (;;) {
        ssize_t n = recv(h, buf, len, MSG_DONTWAIT);
        int rc;
        if (n >= 0) {
            st->bytes_received += (uint64_t)n;
            return (int)n;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return OTA_ERR_NET;
        if ((rc = wait_fd(h, POLLIN, deadline)) != 0)
            return rc;
    }
}

static void posix_close(void *ctx, int h)
{
    (void)ctx;
    if (h >= 0)
        close(h);
}

static const ota_net_ops_t posix_ops = {posix_connect, posix_send, posix_recv, posix_close};

void ota_net_posix_init(ota_net_posix_t *state, ota_net_t *net)
{
    memset(state, 0, sizeof *state);
    net->ops = &posix_ops;
    net->ctx = state;
}
