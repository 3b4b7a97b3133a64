/*
 * The Espressif cloud FOTA device wire API (espcloud.c): the device's TCP line channel and the
 * HTTP routes (espcloud_routes, in server.h) of iot.espressif.cn, on the same devices and commands.
 */
#ifndef OTAKIT_SERVER_ESPCLOUD_H
#define OTAKIT_SERVER_ESPCLOUD_H

/* Listens on listen_addr ("127.0.0.1:8000"; port 0: any, the one taken is put in *port) for the
 * devices' connections, served by one thread. Returns 0 or -1 (logged). */
int espcloud_start(const char *listen_addr, unsigned *port);
/* Stops that thread and closes its connections (nothing when it was not started). */
void espcloud_stop(void);

#endif
