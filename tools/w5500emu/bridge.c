/*
 * The W5500 emulator's network side: each chip socket in CONNECT or later is a non-blocking TCP
 * socket on the host. bridge_pump() moves bytes between them and the chip's buffers as a chip
 * would (as much as the RX buffer has room for; what SEND queued), updates Sn_SR and Sn_IR, and
 * fires the armed faults.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "emu_int.h"

void bridge_close(emu_sock_t *s, int abortive)
{
    if (s->lfd >= 0) {
        close(s->lfd);
        s->lfd = -1;
    }
    if (s->fd < 0)
        return;
    if (abortive) { /* an RST, not a FIN */
        struct linger lg = {1, 0};
        setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    } else { /* the chip closes with a FIN whatever the peer sent that nobody read: the host would
                answer unread data with an RST, which can destroy the answer the peer has not read yet */
        char scratch[4096];
        shutdown(s->fd, SHUT_WR);
        while (recv(s->fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0)
            ;
    }
    close(s->fd);
    s->fd = -1;
}

void bridge_connect(w5500_emu_t *e, unsigned n)
{
    emu_sock_t *s = &e->s[n];
    struct sockaddr_in sa;
    int one = 1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    memcpy(&sa.sin_addr, s->reg + W5500_Sn_DIPR, 4);
    sa.sin_port = htons((uint16_t)(s->reg[W5500_Sn_DPORT] << 8 | s->reg[W5500_Sn_DPORT + 1]));
    s->reg[W5500_Sn_SR] = W5500_SOCK_SYNSENT;
    s->connecting = 1;
    s->connect_at = emu_now_ms() + e->late_connect_ms;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        return; /* found failed by the pump */
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(s->fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS)
        bridge_close(s, 0);
}

static uint16_t sport(const emu_sock_t *s)
{
    return (uint16_t)(s->reg[W5500_Sn_PORT] << 8 | s->reg[W5500_Sn_PORT + 1]);
}

/* A chip socket other than not in SOCK_LISTEN on port with no host listener of its own, or NULL. */
static emu_sock_t *other_listener(w5500_emu_t *e, uint16_t port, const emu_sock_t *not)
{
    unsigned n;
    for (n = 0; n < W5500_SOCKETS; n++)
        if (&e->s[n] != not && e->s[n].reg[W5500_Sn_SR] == W5500_SOCK_LISTEN && sport(&e->s[n]) == port &&
            e->s[n].lfd < 0)
            return &e->s[n];
    return NULL;
}

/* Several chip sockets may listen on one port, as on the chip: they share one host listener, held
 * by one of them; each client goes to one listening chip socket, and once none listens the host
 * listener closes (a SYN to a port nobody listens on is refused). */
void bridge_listen(w5500_emu_t *e, unsigned n)
{
    emu_sock_t *s = &e->s[n];
    struct sockaddr_in sa;
    unsigned m;
    int one = 1;
    for (m = 0; m < W5500_SOCKETS; m++)
        if (e->s[m].lfd >= 0 && sport(&e->s[m]) == sport(s)) {
            s->reg[W5500_Sn_SR] = W5500_SOCK_LISTEN; /* the port's listener exists already */
            return;
        }
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(sport(s));
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->lfd >= 0)
        setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s->lfd, 8) != 0) {
        bridge_close(s, 0); /* the port is taken on the host: the socket stays closed */
        s->reg[W5500_Sn_SR] = W5500_SOCK_CLOSED;
        return;
    }
    s->reg[W5500_Sn_SR] = W5500_SOCK_LISTEN;
}

void bridge_unlisten(w5500_emu_t *e, unsigned n)
{
    emu_sock_t *s = &e->s[n], *o;
    if (s->lfd >= 0 && (o = other_listener(e, sport(s), s)) != NULL) {
        o->lfd = s->lfd; /* the port stays open for the others */
        s->lfd = -1;
    }
}

/* Clients on the host listener held by owner: each becomes one listening chip socket's connection. */
static void take_clients(w5500_emu_t *e, emu_sock_t *owner)
{
    while (owner->lfd >= 0) {
        struct sockaddr_in sa;
        socklen_t len = sizeof sa;
        emu_sock_t *t = other_listener(e, sport(owner), owner);
        int fd = accept4(owner->lfd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
        if (fd < 0)
            return;
        if (!t) { /* the last listening socket takes it: the port closes */
            t = owner;
            close(owner->lfd);
            owner->lfd = -1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        t->fd = fd;
        memcpy(t->reg + W5500_Sn_DIPR, &sa.sin_addr, 4);
        memcpy(t->reg + W5500_Sn_DPORT, &sa.sin_port, 2);
        t->reg[W5500_Sn_SR] = W5500_SOCK_ESTABLISHED;
        t->reg[W5500_Sn_IR] |= W5500_IR_CON;
        e->st.connects++;
    }
}

/* The connection is gone: Sn_SR CLOSED with the given Sn_IR bit (DISCON: reset; TIMEOUT: no answer). */
static void lost(emu_sock_t *s, uint8_t ir, int abortive)
{
    bridge_close(s, abortive);
    s->connecting = s->sending = 0;
    s->reg[W5500_Sn_SR] = W5500_SOCK_CLOSED;
    s->reg[W5500_Sn_IR] |= ir;
}

static void fire_faults(w5500_emu_t *e)
{
    unsigned i, n;
    for (i = 0; i < EMU_FAULTS; i++) {
        emu_fault_t *f = &e->faults[i];
        if (!f->armed || e->st.rx_bytes < f->at_rx)
            continue;
        f->armed = 0;
        e->st.faults_fired++;
        switch (f->kind) {
        case W5500_FAULT_HOLD: e->hold_until = emu_now_ms() + f->ms; break;
        case W5500_FAULT_LINK_DOWN: e->link_down_until = emu_now_ms() + f->ms; break;
        case W5500_FAULT_RESET:
        case W5500_FAULT_DROP:
            for (n = 0; n < W5500_SOCKETS; n++) {
                uint8_t sr = e->s[n].reg[W5500_Sn_SR];
                if (sr == W5500_SOCK_ESTABLISHED || sr == W5500_SOCK_CLOSE_WAIT)
                    lost(&e->s[n], f->kind == W5500_FAULT_RESET ? W5500_IR_DISCON : W5500_IR_TIMEOUT,
                         f->kind == W5500_FAULT_RESET);
            }
            break;
        }
    }
}

static void finish_connect(w5500_emu_t *e, emu_sock_t *s, uint64_t now)
{
    struct pollfd p;
    int err = 0;
    socklen_t len = sizeof err;
    if (s->fd < 0) {
        lost(s, W5500_IR_TIMEOUT, 0);
        return;
    }
    if (now < s->connect_at || now < e->link_down_until)
        return;
    p.fd = s->fd;
    p.events = POLLOUT;
    if (poll(&p, 1, 0) <= 0)
        return;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err) {
        lost(s, W5500_IR_TIMEOUT, 0); /* refused: the chip reports it as a timeout of the SYN */
        return;
    }
    s->connecting = 0;
    s->reg[W5500_Sn_SR] = W5500_SOCK_ESTABLISHED;
    s->reg[W5500_Sn_IR] |= W5500_IR_CON;
    e->st.connects++;
}

static void push_tx(w5500_emu_t *e, emu_sock_t *s)
{
    uint16_t size = emu_buf_size(s, 0);
    while (s->fd >= 0 && s->tx_rd != s->tx_sent_wr && size) {
        uint16_t at = (uint16_t)(s->tx_rd & (size - 1)), pending = (uint16_t)(s->tx_sent_wr - s->tx_rd);
        size_t n = size - at < pending ? (size_t)(size - at) : pending;
        ssize_t k = send(s->fd, s->tx + at, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                lost(s, W5500_IR_DISCON, 0);
            return;
        }
        s->tx_rd = (uint16_t)(s->tx_rd + k);
        e->st.tx_bytes += (uint64_t)k;
        s->fsr_glitch = e->cfg.torn;
    }
    if (s->sending && s->tx_rd == s->tx_sent_wr) {
        s->sending = 0;
        s->reg[W5500_Sn_IR] |= W5500_IR_SENDOK;
    }
}

static void pull_rx(w5500_emu_t *e, emu_sock_t *s)
{
    uint16_t size = emu_buf_size(s, 1);
    int rounds;
    for (rounds = 0; rounds < 2 && s->fd >= 0 && size; rounds++) {
        uint16_t used = (uint16_t)(s->rx_wr - s->rx_acked_rd), at = (uint16_t)(s->rx_wr & (size - 1));
        size_t room = (size_t)(size - used), n = (size_t)(size - at) < room ? (size_t)(size - at) : room;
        ssize_t k;
        if (!n)
            return; /* buffer full: the window is shut until RECV */
        if (e->cfg.rx_chunk_max) {
            size_t max;
            e->rng ^= e->rng << 13;
            e->rng ^= e->rng >> 17;
            e->rng ^= e->rng << 5;
            max = 1 + e->rng % e->cfg.rx_chunk_max;
            if (n > max)
                n = max;
        }
        k = recv(s->fd, s->rx + at, n, MSG_DONTWAIT);
        if (k == 0) { /* the peer's FIN: what is buffered stays readable */
            bridge_close(s, 0);
            s->reg[W5500_Sn_SR] = W5500_SOCK_CLOSE_WAIT;
            s->reg[W5500_Sn_IR] |= W5500_IR_DISCON;
            if (used)
                e->st.close_wait_with_data++;
            return;
        }
        if (k < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                lost(s, W5500_IR_DISCON, 0); /* reset by the peer */
            return;
        }
        s->rx_wr = (uint16_t)(s->rx_wr + k);
        s->reg[W5500_Sn_IR] |= W5500_IR_RECV;
        s->rsr_glitch = e->cfg.torn;
        e->st.rx_bytes += (uint64_t)k;
        if (e->cfg.rx_chunk_max)
            return; /* one random-size arrival per pump */
    }
}

void bridge_pump(w5500_emu_t *e)
{
    uint64_t now = emu_now_ms();
    unsigned n;
    fire_faults(e);
    for (n = 0; n < W5500_SOCKETS; n++) {
        emu_sock_t *s = &e->s[n];
        if (s->connecting) {
            finish_connect(e, s, now);
            continue;
        }
        if (s->lfd >= 0 && now >= e->link_down_until)
            take_clients(e, s);
        if (s->fd < 0 || now < e->link_down_until)
            continue;
        push_tx(e, s);
        if (now >= e->hold_until && s->reg[W5500_Sn_SR] == W5500_SOCK_ESTABLISHED)
            pull_rx(e, s);
    }
}

void bridge_wait(w5500_emu_t *e, int ms)
{
    struct pollfd p[W5500_SOCKETS];
    unsigned n, k = 0;
    pthread_mutex_lock(&e->mu);
    for (n = 0; n < W5500_SOCKETS; n++) {
        emu_sock_t *s = &e->s[n];
        if (s->lfd >= 0) {
            p[k].fd = s->lfd;
            p[k].events = POLLIN;
            p[k++].revents = 0;
            continue;
        }
        if (s->fd < 0)
            continue;
        p[k].fd = s->fd;
        p[k].events = (short)(s->connecting || s->tx_rd != s->tx_sent_wr ? POLLOUT : 0);
        if (!s->connecting && (uint16_t)(s->rx_wr - s->rx_acked_rd) < emu_buf_size(s, 1))
            p[k].events |= POLLIN;
        p[k++].revents = 0;
    }
    pthread_mutex_unlock(&e->mu);
    (void)poll(p, k, ms); /* a socket closed meanwhile just reports POLLNVAL */
}
