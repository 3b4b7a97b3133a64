/*
 * w5500-uart-bridge: the W5500 emulator (w5500_emu.h) behind a serial line, for a board under QEMU
 * whose SPI bus to the W5500 is carried over a UART (ports/mps2-an385/app_w5500.c, which documents
 * the framing). It listens on a Unix socket; QEMU connects to it as the board's second serial port
 * (-serial unix:PATH). Each connection is one power-on of the board: a chip in its reset state,
 * freed (its bridged TCP sockets closed) when QEMU exits. The chip's sockets are real TCP on the
 * host's loopback, as in every W5500 test.
 *
 *   w5500-uart-bridge PATH     (prints "ready" once listening; after each power-on, the emulator's
 *                               verdict: "w5500 violations=N ..." and "w5500 frames=... " lines)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "w5500_emu.h"

/* Buffered reads from the board's TX line. */
typedef struct {
    int fd;
    uint8_t buf[4096];
    size_t pos, len;
} line_t;

static int get(line_t *l, uint8_t *c)
{
    if (l->pos == l->len) {
        ssize_t n;
        do
            n = read(l->fd, l->buf, sizeof l->buf);
        while (n < 0 && errno == EINTR);
        if (n <= 0)
            return -1;
        l->pos = 0;
        l->len = (size_t)n;
    }
    *c = l->buf[l->pos++];
    return 0;
}

static int get_n(line_t *l, uint8_t *out, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (get(l, &out[i]) != 0)
            return -1;
    return 0;
}

static int put_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* One power-on: frames until the board's side closes. Returns 0 at a clean end, -1 on a framing
 * error (reported). */
static int serve(int fd, w5500_emu_t *e)
{
    static uint8_t tx[65535], rx[65535];
    line_t l = {fd, {0}, 0, 0};
    uint8_t c, len[2];
    for (;;) {
        size_t n;
        if (get(&l, &c) != 0)
            return 0;
        switch (c) {
        case 'S':
        case 'U':
            w5500_emu_select(e, c == 'S');
            continue;
        case 'I':
            w5500_emu_idle(e);
            if (put_all(fd, (const uint8_t *)"i", 1) != 0)
                return 0;
            continue;
        case 'W':
        case 'R':
        case 'X':
            break;
        default:
            fprintf(stderr, "w5500-uart-bridge: bad command byte 0x%02x\n", c);
            return -1;
        }
        if (get_n(&l, len, 2) != 0)
            return 0;
        n = (size_t)len[0] << 8 | len[1];
        if (c != 'R' && get_n(&l, tx, n) != 0)
            return 0;
        w5500_emu_transfer(e, c == 'R' ? NULL : tx, c == 'W' ? NULL : rx, n);
        if (c != 'W' && put_all(fd, rx, n) != 0)
            return 0;
    }
}

int main(int argc, char **argv)
{
    struct sockaddr_un sa;
    int lfd, boots = 0;
    if (argc != 2 || strlen(argv[1]) >= sizeof sa.sun_path) {
        fprintf(stderr, "usage: w5500-uart-bridge SOCKET_PATH\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, argv[1]);
    unlink(argv[1]);
    if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(lfd, 1) != 0) {
        perror("w5500-uart-bridge: listen");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        w5500_emu_t *e;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), rc;
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            perror("w5500-uart-bridge: accept");
            return 1;
        }
        if (!(e = w5500_emu_new(NULL))) {
            close(fd);
            return 1;
        }
        rc = serve(fd, e);
        close(fd);
        printf("w5500 power-on %d ended%s\n", ++boots, rc ? " (framing error)" : "");
        w5500_emu_report(e, stdout);
        fflush(stdout);
        w5500_emu_free(e);
    }
}
