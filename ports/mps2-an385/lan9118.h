/* The LAN9118 Ethernet controller of the MPS2 AN385 as an lwIP netif (lan9118.c). */
#ifndef OTAKIT_MPS2_LAN9118_H
#define OTAKIT_MPS2_LAN9118_H

#include "lwip/netif.h"

/* netif_add()'s init function: resets the controller, reads its MAC address, enables TX and RX.
 * Returns ERR_OK, or ERR_IF when no LAN9118 answers. */
err_t lan9118_netif_init(struct netif *nif);

/* Hands every frame waiting in the RX FIFO to nif->input (call it from the main loop). */
void lan9118_poll(struct netif *nif);

#endif
