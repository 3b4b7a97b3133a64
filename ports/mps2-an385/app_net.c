/*
 * The application's network: lwIP (NO_SYS, raw API) on the LAN9118, and the library's transport
 * ops (otakit/net.h) on lwIP's TCP. Every wait polls the controller and lwIP's timers until its
 * condition or its timeout; received data stays in lwIP's pbufs until recv() copies it out (the
 * TCP window then reopens with tcp_recved), so nothing is buffered twice.
 */
#include <string.h>

#include "app.h"
#include "lan9118.h"
#include "lwip/dhcp.h"
#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

static struct netif nif;
static app_t *app;
static uint32_t rng;

u32_t sys_now(void);
u32_t sys_now(void)
{
    return board_now_ms();
}

uint32_t app_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

const uint8_t *app_net_mac(void)
{
    return nif.hwaddr;
}

void app_lwip_assert(const char *msg)
{
    board_log("lwip: assertion failed: ", msg, NULL, NULL);
    board_reset("lwip assertion");
}

void app_net_poll(void)
{
    lan9118_poll(&nif);
    sys_check_timeouts();
    if (app && app->confirmed)
        board_watchdog_kick();
}

/* ---- connections --------------------------------------------------------------------------- */

#define N_CONN 2

typedef struct {
    struct tcp_pcb *pcb;
    struct pbuf *rx;    /* received, not yet read */
    uint8_t used, connected, eof;
    err_t err;          /* ERR_OK, or what ended the connection */
} conn_t;

static conn_t conns[N_CONN];

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    conn_t *c = arg;
    (void)pcb;
    c->connected = err == ERR_OK;
    c->err = err;
    return ERR_OK;
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    conn_t *c = arg;
    (void)pcb;
    if (!p) {
        c->eof = 1;
        return ERR_OK;
    }
    if (err != ERR_OK) {
        pbuf_free(p);
        return err;
    }
    if (c->rx)
        pbuf_cat(c->rx, p);
    else
        c->rx = p;
    return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
    conn_t *c = arg;
    c->pcb = NULL; /* lwIP freed it */
    c->err = err == ERR_OK ? ERR_ABRT : err;
}

static int wait_until(const uint8_t *flag, const conn_t *c, uint32_t timeout_ms)
{
    uint32_t t0 = board_now_ms();
    while (!*flag) {
        if (c && (c->err != ERR_OK || !c->pcb))
            return OTA_ERR_NET;
        if (board_now_ms() - t0 >= timeout_ms)
            return OTA_ERR_TIMEOUT;
        app_net_poll();
    }
    return OTA_OK;
}

static void conn_free(conn_t *c)
{
    if (c->pcb) {
        tcp_arg(c->pcb, NULL);
        tcp_recv(c->pcb, NULL);
        tcp_err(c->pcb, NULL);
        if (tcp_close(c->pcb) != ERR_OK)
            tcp_abort(c->pcb);
    }
    if (c->rx)
        pbuf_free(c->rx);
    memset(c, 0, sizeof *c);
}

static int net_connect(void *ctx, const char *host, uint16_t port, uint32_t timeout_ms)
{
    ip4_addr_t ip;
    ip_addr_t dst;
    conn_t *c = NULL;
    int h, rc;
    (void)ctx;
    if (!ip4addr_aton(host, &ip))
        return OTA_ERR_NET; /* no DNS on this board: the server is given as an address */
    for (h = 0; h < N_CONN && !c; h++)
        if (!conns[h].used)
            c = &conns[h];
    if (!c)
        return OTA_ERR_NET;
    h = (int)(c - conns);
    memset(c, 0, sizeof *c);
    if (!(c->pcb = tcp_new()))
        return OTA_ERR_NET;
    c->used = 1;
    tcp_arg(c->pcb, c);
    tcp_recv(c->pcb, on_recv);
    tcp_err(c->pcb, on_err);
    ip_addr_copy_from_ip4(dst, ip);
    if (tcp_connect(c->pcb, &dst, port, on_connected) != ERR_OK) {
        conn_free(c);
        return OTA_ERR_NET;
    }
    if ((rc = wait_until(&c->connected, c, timeout_ms)) != OTA_OK) {
        conn_free(c);
        return rc;
    }
    return h;
}

static conn_t *get(int h)
{
    return h >= 0 && h < N_CONN && conns[h].used ? &conns[h] : NULL;
}

static int net_send(void *ctx, int h, const void *buf, size_t len, uint32_t timeout_ms)
{
    conn_t *c = get(h);
    uint32_t t0 = board_now_ms();
    u16_t n;
    (void)ctx;
    if (!c)
        return OTA_ERR_NET;
    for (;;) {
        if (!c->pcb || c->err != ERR_OK)
            return OTA_ERR_NET;
        if ((n = tcp_sndbuf(c->pcb)) > 0 && tcp_sndqueuelen(c->pcb) < TCP_SND_QUEUELEN)
            break;
        if (board_now_ms() - t0 >= timeout_ms)
            return OTA_ERR_TIMEOUT;
        app_net_poll();
    }
    if (n > len)
        n = (u16_t)len;
    if (tcp_write(c->pcb, buf, n, TCP_WRITE_FLAG_COPY) != ERR_OK || tcp_output(c->pcb) != ERR_OK)
        return OTA_ERR_NET;
    return n;
}

static int net_recv(void *ctx, int h, void *buf, size_t len, uint32_t timeout_ms)
{
    conn_t *c = get(h);
    uint32_t t0 = board_now_ms();
    u16_t n;
    (void)ctx;
    if (!c)
        return OTA_ERR_NET;
    while (!c->rx) {
        if (c->eof)
            return 0;
        if (!c->pcb || c->err != ERR_OK)
            return OTA_ERR_NET;
        if (board_now_ms() - t0 >= timeout_ms)
            return OTA_ERR_TIMEOUT;
        app_net_poll();
    }
    n = c->rx->tot_len < len ? c->rx->tot_len : (u16_t)len;
    n = pbuf_copy_partial(c->rx, buf, n, 0);
    c->rx = pbuf_free_header(c->rx, n);
    if (c->pcb)
        tcp_recved(c->pcb, n);
    return n;
}

static void net_close(void *ctx, int h)
{
    conn_t *c = get(h);
    (void)ctx;
    if (c)
        conn_free(c);
}

static const ota_net_ops_t tcp_ops = {net_connect, net_send, net_recv, net_close};

/* ---- bring-up ------------------------------------------------------------------------------ */

int app_net_start(app_t *a)
{
    ip4_addr_t ip, mask, gw;
    uint32_t t0;
    char s[16];
    app = a;
    rng = board_seed();
    lwip_init();
    if (!netif_add(&nif, IP4_ADDR_ANY4, IP4_ADDR_ANY4, IP4_ADDR_ANY4, NULL, lan9118_netif_init, ethernet_input)) {
        board_puts("net: no LAN9118\n");
        return OTA_ERR_NET;
    }
    rng ^= (uint32_t)nif.hwaddr[5] << 8 | nif.hwaddr[4];
    netif_set_default(&nif);
    netif_set_up(&nif);
    if (dhcp_start(&nif) != ERR_OK)
        return OTA_ERR_NET;
    for (t0 = board_now_ms(); !dhcp_supplied_address(&nif) && board_now_ms() - t0 < 10000u;)
        app_net_poll();
    if (!dhcp_supplied_address(&nif)) {
        dhcp_stop(&nif);
        IP4_ADDR(&ip, 10, 0, 2, 15);
        IP4_ADDR(&mask, 255, 255, 255, 0);
        IP4_ADDR(&gw, 10, 0, 2, 2);
        netif_set_addr(&nif, &ip, &mask, &gw);
        board_puts("net: no DHCP lease; static ");
    } else {
        board_puts("net: DHCP lease ");
    }
    board_log(ip4addr_ntoa_r(netif_ip4_addr(&nif), s, sizeof s), " (lwIP " LWIP_VERSION_STRING ", LAN9118)", NULL, NULL);
    a->tcp.ops = &tcp_ops;
    a->tcp.ctx = NULL;
    return OTA_OK;
}
