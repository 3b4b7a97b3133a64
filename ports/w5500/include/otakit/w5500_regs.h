/*
 * WIZnet W5500 register map and SPI frame format: the one place for the chip's facts, shared by the
 * driver (ports/w5500/w5500.c) and the test emulator (tools/w5500emu/).
 *
 * Source: the W5500 datasheet (v1.0.x), sections 2.2 (SPI frame), 3 (memory map), 4.1 (common
 * registers), 4.2 (socket registers); cross-checked against WIZnet's ioLibrary_Driver
 * (Ethernet/W5500/w5500.h, w5500.c and Ethernet/socket.c).
 *
 * SPI frame (variable length data mode, chip select low for the whole frame, SPI mode 0 or 3):
 *   byte 0-1  offset address, most significant byte first
 *   byte 2    control: BSB[4:0] << 3 | RWB << 2 | OM[1:0]   (OM 00: variable length)
 *   byte 3..  data; the offset increments after each byte (16-bit, wraps at 0xFFFF)
 * Block select (BSB): 0 common registers; for socket n: 4n+1 its registers, 4n+2 its TX buffer,
 * 4n+3 its RX buffer. In a buffer block the offset is a 16-bit pointer (Sn_TX_WR, Sn_RX_RD); the
 * chip maps it into the socket's buffer modulo the buffer's size.
 */
#ifndef OTAKIT_W5500_REGS_H
#define OTAKIT_W5500_REGS_H

#define W5500_CTRL_WRITE 0x04u
#define W5500_CTRL_VDM 0x00u
#define W5500_BSB_COMMON 0u
#define W5500_BSB_SREG(n) (4u * (n) + 1u)
#define W5500_BSB_STX(n) (4u * (n) + 2u)
#define W5500_BSB_SRX(n) (4u * (n) + 3u)
#define W5500_SOCKETS 8u
#define W5500_BUF_TOTAL_KB 16u   /* TX and RX memories: 16 KB each, shared by the 8 sockets */

/* Common registers (BSB 0). */
#define W5500_MR 0x0000u         /* mode: bit 7 RST (self-clearing software reset) */
#define W5500_MR_RST 0x80u
#define W5500_GAR 0x0001u        /* gateway, 4 bytes */
#define W5500_SUBR 0x0005u       /* subnet mask, 4 bytes */
#define W5500_SHAR 0x0009u       /* MAC, 6 bytes */
#define W5500_SIPR 0x000Fu       /* source IP, 4 bytes */
#define W5500_IR 0x0015u
#define W5500_SIR 0x0017u
#define W5500_RTR 0x0019u        /* retry time, 2 bytes, units of 100 us (reset 2000 = 200 ms) */
#define W5500_RCR 0x001Bu        /* retry count (reset 8) */
#define W5500_PHYCFGR 0x002Eu    /* bit 0 LNK (link up), bit 1 SPD, bit 2 DPX, bit 7 RST (active low) */
#define W5500_PHY_LNK 0x01u
#define W5500_VERSIONR 0x0039u   /* always 0x04 */
#define W5500_VERSION 0x04u
#define W5500_COMMON_SIZE 0x003Au

/* Socket registers (BSB 4n+1). */
#define W5500_Sn_MR 0x00u        /* protocol: 1 TCP (bit 5 ND: no delayed ACK) */
#define W5500_Sn_MR_TCP 0x01u
#define W5500_Sn_MR_ND 0x20u
#define W5500_Sn_CR 0x01u        /* command; reads 0 once the chip has taken it */
#define W5500_Sn_IR 0x02u        /* interrupt bits, cleared by writing 1 */
#define W5500_Sn_SR 0x03u        /* status */
#define W5500_Sn_PORT 0x04u      /* source port, 2 bytes */
#define W5500_Sn_DHAR 0x06u
#define W5500_Sn_DIPR 0x0Cu      /* destination IP, 4 bytes */
#define W5500_Sn_DPORT 0x10u     /* destination port, 2 bytes */
#define W5500_Sn_MSSR 0x12u
#define W5500_Sn_RXBUF_SIZE 0x1Eu /* KB: 0, 1, 2, 4, 8 or 16 (reset 2) */
#define W5500_Sn_TXBUF_SIZE 0x1Fu
#define W5500_Sn_TX_FSR 0x20u    /* free TX bytes, 2 bytes (read until two reads agree) */
#define W5500_Sn_TX_RD 0x22u
#define W5500_Sn_TX_WR 0x24u
#define W5500_Sn_RX_RSR 0x26u    /* received bytes, 2 bytes (read until two reads agree) */
#define W5500_Sn_RX_RD 0x28u
#define W5500_Sn_RX_WR 0x2Au
#define W5500_Sn_IMR 0x2Cu
#define W5500_Sn_KPALVTR 0x2Fu
#define W5500_SREG_SIZE 0x30u

/* Sn_CR commands. */
#define W5500_CR_OPEN 0x01u
#define W5500_CR_LISTEN 0x02u
#define W5500_CR_CONNECT 0x04u
#define W5500_CR_DISCON 0x08u
#define W5500_CR_CLOSE 0x10u
#define W5500_CR_SEND 0x20u
#define W5500_CR_RECV 0x40u

/* Sn_IR bits. */
#define W5500_IR_CON 0x01u
#define W5500_IR_DISCON 0x02u
#define W5500_IR_RECV 0x04u
#define W5500_IR_TIMEOUT 0x08u
#define W5500_IR_SENDOK 0x10u

/* Sn_SR values (TCP). */
#define W5500_SOCK_CLOSED 0x00u
#define W5500_SOCK_INIT 0x13u
#define W5500_SOCK_LISTEN 0x14u
#define W5500_SOCK_SYNSENT 0x15u
#define W5500_SOCK_SYNRECV 0x16u
#define W5500_SOCK_ESTABLISHED 0x17u
#define W5500_SOCK_FIN_WAIT 0x18u
#define W5500_SOCK_CLOSING 0x1Au
#define W5500_SOCK_TIME_WAIT 0x1Bu
#define W5500_SOCK_CLOSE_WAIT 0x1Cu
#define W5500_SOCK_LAST_ACK 0x1Du

#endif
