/*
 * SMSC LAN9118 Ethernet controller (the AN385's LAN9220, which QEMU models as a LAN9118:
 * hw/net/lan9118.c) as an lwIP network interface, polled (no interrupt): lan9118_poll() moves
 * every received frame into lwIP; linkoutput writes a frame into the TX FIFO.
 *
 * Register map and FIFO formats from the LAN9118 datasheet (SMSC, rev. 1.5), sections 5.3 (TX
 * command A/B words), 5.4 (RX status word), 5.5 (MAC CSR access), checked against QEMU's model.
 */
#include "lan9118.h"

#include <string.h>

#include "board.h"
#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"

#define ETH 0x40200000u
#define RX_DATA_FIFO (ETH + 0x00)
#define TX_DATA_FIFO (ETH + 0x20)
#define RX_STATUS_FIFO (ETH + 0x40)
#define TX_STATUS_FIFO (ETH + 0x48)
#define ID_REV (ETH + 0x50)
#define BYTE_TEST (ETH + 0x64)
#define TX_CFG (ETH + 0x70)
#define HW_CFG (ETH + 0x74)
#define RX_FIFO_INF (ETH + 0x7C)
#define TX_FIFO_INF (ETH + 0x80)
#define MAC_CSR_CMD (ETH + 0xA4)
#define MAC_CSR_DATA (ETH + 0xA8)

#define HW_CFG_SRST 1u
#define TX_CFG_TX_ON 2u
#define CSR_BUSY 0x80000000u
#define CSR_READ 0x40000000u
#define MAC_CR 1u
#define MAC_ADDRH 2u
#define MAC_ADDRL 3u
#define MAC_CR_TXEN (1u << 3)
#define MAC_CR_RXEN (1u << 2)
#define MAC_CR_FDPX (1u << 20)
#define TXA_FIRST (1u << 13)
#define TXA_LAST (1u << 12)
#define RXS_ERROR (1u << 15)

static uint32_t mac_read(uint32_t reg)
{
    REG32(MAC_CSR_CMD) = CSR_BUSY | CSR_READ | reg;
    while (REG32(MAC_CSR_CMD) & CSR_BUSY)
        ;
    return REG32(MAC_CSR_DATA);
}

static void mac_write(uint32_t reg, uint32_t val)
{
    REG32(MAC_CSR_DATA) = val;
    REG32(MAC_CSR_CMD) = CSR_BUSY | reg;
    while (REG32(MAC_CSR_CMD) & CSR_BUSY)
        ;
}

/* A frame into the TX FIFO: command A, command B, then the bytes in little-endian words. */
static err_t linkoutput(struct netif *nif, struct pbuf *p)
{
    uint8_t frame[1536];
    uint32_t len = p->tot_len, i, w;
    (void)nif;
    if (len > sizeof frame)
        return ERR_BUF;
    if (pbuf_copy_partial(p, frame, (u16_t)len, 0) != len)
        return ERR_BUF;
    while ((REG32(TX_FIFO_INF) & 0xffffu) < len + 8u) /* TDFREE */
        ;
    REG32(TX_DATA_FIFO) = TXA_FIRST | TXA_LAST | len;
    REG32(TX_DATA_FIFO) = (len << 16) | len; /* tag = length */
    for (i = 0; i < len; i += 4) {
        w = 0;
        memcpy(&w, frame + i, len - i < 4 ? len - i : 4);
        REG32(TX_DATA_FIFO) = w;
    }
    while (REG32(TX_FIFO_INF) & 0x00ff0000u) /* TSUSED: drop the statuses */
        (void)REG32(TX_STATUS_FIFO);
    return ERR_OK;
}

err_t lan9118_netif_init(struct netif *nif)
{
    uint32_t lo, hi;
    if (REG32(BYTE_TEST) != 0x87654321u)
        return ERR_IF;
    REG32(HW_CFG) |= HW_CFG_SRST;
    while (REG32(HW_CFG) & HW_CFG_SRST)
        ;
    lo = mac_read(MAC_ADDRL);
    hi = mac_read(MAC_ADDRH);
    nif->hwaddr[0] = (u8_t)lo, nif->hwaddr[1] = (u8_t)(lo >> 8), nif->hwaddr[2] = (u8_t)(lo >> 16);
    nif->hwaddr[3] = (u8_t)(lo >> 24), nif->hwaddr[4] = (u8_t)hi, nif->hwaddr[5] = (u8_t)(hi >> 8);
    nif->hwaddr_len = 6;
    nif->mtu = 1500;
    nif->name[0] = 'e', nif->name[1] = 'n';
    nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
    nif->output = etharp_output;
    nif->linkoutput = linkoutput;
    REG32(TX_CFG) = TX_CFG_TX_ON;
    mac_write(MAC_CR, mac_read(MAC_CR) | MAC_CR_TXEN | MAC_CR_RXEN | MAC_CR_FDPX);
    return ERR_OK;
}

void lan9118_poll(struct netif *nif)
{
    static uint32_t buf[1540 / 4 + 1];
    while (REG32(RX_FIFO_INF) & 0x00ff0000u) { /* RXSUSED */
        uint32_t st = REG32(RX_STATUS_FIFO), len = (st >> 16) & 0x3fffu, words = (len + 3u) / 4u, i;
        struct pbuf *p;
        for (i = 0; i < words; i++) {
            uint32_t w = REG32(RX_DATA_FIFO);
            if (i < sizeof buf / sizeof buf[0])
                buf[i] = w;
        }
        if ((st & RXS_ERROR) || len < 18u || words > sizeof buf / sizeof buf[0])
            continue;
        len -= 4u; /* the frame check sequence */
        if (!(p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL)))
            continue;
        (void)pbuf_take(p, buf, (u16_t)len);
        if (nif->input(p, nif) != ERR_OK)
            pbuf_free(p);
    }
}
