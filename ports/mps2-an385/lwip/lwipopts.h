/* lwIP configuration of the MPS2 AN385 application: no OS (NO_SYS, raw API, polled from the main
 * loop), IPv4 with DHCP, TCP for the update client; all memory in lwIP's static pools (no heap). */
#ifndef OTAKIT_MPS2_LWIPOPTS_H
#define OTAKIT_MPS2_LWIPOPTS_H

#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_NETCONN 0
#define LWIP_SOCKET 0
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define LWIP_ICMP 1
#define LWIP_UDP 1
#define LWIP_TCP 1
#define LWIP_DHCP 1
#define LWIP_DNS 0
#define LWIP_IGMP 0
#define LWIP_STATS 0
#define LWIP_NETIF_HOSTNAME 0
#define LWIP_RANDOMIZE_INITIAL_LOCAL_PORTS 1

#define MEM_ALIGNMENT 4
#define MEM_SIZE (12 * 1024)          /* tcp_write copies (TCP_SND_BUF) and DHCP messages */
#define MEMP_NUM_PBUF 8
#define MEMP_NUM_TCP_PCB 4            /* the oldest TIME_WAIT one is reused when they run out */
#define MEMP_NUM_TCP_SEG 16
#define MEMP_NUM_UDP_PCB 2
#define PBUF_POOL_SIZE 12             /* received frames waiting for the update client */
#define TCP_MSS 1460
#define TCP_WND (4 * TCP_MSS)
#define TCP_SND_BUF (2 * TCP_MSS)
#define TCP_SND_QUEUELEN 8

#endif
