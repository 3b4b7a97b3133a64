/* The W5500 network of the --w5500 SPEC option (netpull, push_host, otakit-device): the W5500 driver
 * (ports/w5500) on the strict emulator (tools/w5500emu) instead of POSIX sockets. SPEC is a comma
 * list (may be "on"):
 *   torn, chunk=N (random RX arrivals of 1..N bytes), seed=N, latency=N (Sn_CR frames),
 *   sockets=N, ptr=N (pointer start), late=MS (CONNECT completes late),
 *   reset@BYTES, drop@BYTES (the connection dies once the chip received BYTES in total),
 *   hold@BYTES:MS, linkdown@BYTES:MS, hammer (another task reads VERSIONR on the bus in a loop),
 *   nolock (driver and hammer share no lock; default: they do). */
#ifndef W5500_SPEC_H
#define W5500_SPEC_H

#include "otakit/net.h"
#include "otakit/w5500.h"

/* Builds the emulator and the driver and points *tcp at the driver. Returns 0, or 2 on bad SPEC. */
int w5500_setup(const char *spec, ota_net_t *tcp);
/* The driver w5500_setup() built (for ota_w5500_listen / ota_w5500_accept). */
ota_w5500_t *w5500_driver(void);
/* The emulator's violations so far; when there are any, its report goes to stderr. */
unsigned w5500_check(void);
/* Stops the hammer and prints "w5500_violations N", "w5500_stats k=v ..." (and the emulator's
 * log on stderr). */
void w5500_finish(void);

#endif
