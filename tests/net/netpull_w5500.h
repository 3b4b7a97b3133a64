/* netpull --w5500 SPEC: the device's network is the W5500 driver (ports/w5500) on the strict
 * emulator (tools/w5500emu) instead of POSIX sockets. SPEC is a comma list (may be "on"):
 *   torn, chunk=N (random RX arrivals of 1..N bytes), seed=N, latency=N (Sn_CR frames),
 *   sockets=N, ptr=N (pointer start), late=MS (CONNECT completes late),
 *   reset@BYTES, drop@BYTES (the connection dies once the chip received BYTES in total),
 *   hold@BYTES:MS, linkdown@BYTES:MS, hammer (another task reads VERSIONR on the bus in a loop),
 *   nolock (driver and hammer share no lock; default: they do). */
#ifndef NETPULL_W5500_H
#define NETPULL_W5500_H

#include "otakit/net.h"

/* Builds the emulator and the driver and points *tcp at the driver. Returns 0, or 2 on bad SPEC. */
int w5500_setup(const char *spec, ota_net_t *tcp);
/* Stops the hammer and prints "w5500_violations N", "w5500_stats k=v ..." (and the emulator's
 * log on stderr). */
void w5500_finish(void);

#endif
