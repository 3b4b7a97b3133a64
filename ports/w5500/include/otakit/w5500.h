/*
 * W5500 transport: otakit/net.h on a WIZnet W5500 hardware TCP/IP chip, driven register by register
 * over SPI. The MCU runs no TCP/IP stack: the chip does TCP; this driver opens a socket, CONNECTs,
 * copies requests into the socket's TX buffer and SENDs, copies responses out of its RX buffer,
 * advances Sn_RX_RD and issues RECV. Portable C99, no heap; docs/porting.md, "The W5500 route".
 *
 * The port provides the SPI bus (ota_w5500_spi_t): chip select, a full-duplex transfer and, when
 * several tasks share the bus, a lock. Every frame (chip select low, header, data, chip select
 * high) is one locked unit. Timeouts are measured on the platform clock (now_ms), which is needed.
 */
#ifndef OTAKIT_W5500_H
#define OTAKIT_W5500_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/net.h"
#include "otakit/port.h"

/* The SPI bus to one W5500 (SPI mode 0, MSB first). */
typedef struct {
    /* Drives chip select: on = 1 selects the chip (SCSn low), 0 releases it (high). */
    void (*select)(void *ctx, int on);
    /* Clocks len bytes: sends tx (NULL: zeros) and stores what arrives in rx (NULL: discard).
     * Returns when the last byte is in (a DMA transfer must have completed). */
    void (*transfer)(void *ctx, const uint8_t *tx, uint8_t *rx, size_t len);
    /* Optional (both or neither): take and release the bus for one frame, for an RTOS whose other
     * tasks also use this bus or this chip. */
    void (*lock)(void *ctx);
    void (*unlock)(void *ctx);
    /* Optional: called in every wait loop while the chip has nothing yet (yield to other tasks or
     * sleep a tick). NULL: the driver polls without pause. */
    void (*idle)(void *ctx);
    void *ctx;
} ota_w5500_spi_t;

/* Configuration, copied by ota_w5500_init(). */
typedef struct {
    const ota_w5500_spi_t *spi;          /* kept by pointer: static storage */
    const ota_platform_ops_t *platform;  /* now_ms required (timeouts); kept by pointer */
    uint8_t mac[6], ip[4], gateway[4], subnet[4];
    /* Sockets the transport may use at once (1..8, default 2) and the TX and RX buffer each one
     * gets in KB (1, 2, 4, 8 or 16, default 16 / sockets); sockets * buf_kb must be <= 16. The
     * sockets above these keep 0 KB and are left to the application. */
    uint8_t sockets, buf_kb;
    uint16_t local_port;                 /* first local port (default 49152); then increments */
    /* Optional: host name to IPv4 address (a DNS client on a UDP socket, a table...); returns 0
     * on success. NULL: connect accepts dotted-quad addresses only. */
    int (*resolve)(void *ctx, const char *host, uint8_t ip[4]);
    void *resolve_ctx;
    uint8_t no_delayed_ack;              /* 1: Sn_MR ND (ACK every segment at once) */
} ota_w5500_cfg_t;

/* Counters (for logs, tests and the bench). */
typedef struct {
    uint32_t connects, frames;
    uint64_t spi_bytes;                  /* every byte clocked, headers included */
    uint64_t bytes_sent, bytes_received; /* payload */
} ota_w5500_stats_t;

typedef struct {
    ota_w5500_cfg_t cfg;
    ota_net_t net;                       /* the transport: hand &net to ota_http_cfg_t.tcp */
    ota_w5500_stats_t stats;
    uint8_t in_use;                      /* bit n: socket n holds a connection */
    uint16_t next_port;
} ota_w5500_t;

/* Resets the chip (MR RST), checks VERSIONR, writes MAC, IP, gateway and subnet, the retry time
 * and count, and the socket buffer sizes; points w->net at the transport. Returns OTA_OK,
 * OTA_ERR_ARG (bad configuration) or OTA_ERR_NET (no W5500 answers on the bus). */
int ota_w5500_init(ota_w5500_t *w, const ota_w5500_cfg_t *cfg);

/* The PHY's link bit (PHYCFGR LNK). Returns 1 when the Ethernet link is up, 0 when down. */
int ota_w5500_link_up(ota_w5500_t *w);

/* A server socket for the push endpoints (otakit/push.h): opens a free socket of the transport
 * listening on port. Returns its handle (>= 0) or OTA_ERR_NET (no free socket, or the chip refused).
 * The W5500 serves one client per listening socket: ota_w5500_accept() waits for it, on the same
 * handle; after ota_push_serve(), close the handle with w->net.ops->close and listen again. */
int ota_w5500_listen(ota_w5500_t *w, uint16_t port);

/* Waits up to timeout_ms for a client on the listening handle h. Returns h, now connected (serve it,
 * then close it), OTA_ERR_TIMEOUT (still listening: call again from the main loop) or OTA_ERR_NET
 * (the socket closed: close h and listen again). */
int ota_w5500_accept(ota_w5500_t *w, int h, uint32_t timeout_ms);

/* One frame: reads len bytes at offset addr of block bsb (W5500_BSB_*, otakit/w5500_regs.h) into
 * buf, or writes them from buf. For applications that use the chip's other sockets. */
void ota_w5500_read(ota_w5500_t *w, uint8_t bsb, uint16_t addr, void *buf, size_t len);
void ota_w5500_write(ota_w5500_t *w, uint8_t bsb, uint16_t addr, const void *buf, size_t len);

#endif
