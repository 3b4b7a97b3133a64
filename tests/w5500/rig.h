/*
 * The W5500 test rig: the driver (ports/w5500) on the emulator (tools/w5500emu), a clock, and a
 * loopback "pattern" server: a real TCP server that reads a request line "<n>\n" and answers with
 * n bytes of rig_pattern() then closes (or, for "echo\n", echoes until the client closes).
 */
#ifndef W5500_RIG_H
#define W5500_RIG_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "otakit/w5500.h"
#include "w5500_emu.h"

typedef struct {
    w5500_emu_t *emu;
    ota_w5500_spi_t spi;
    ota_w5500_t w;
    pthread_mutex_t bus;     /* the lock handed to the driver when locked */
} rig_t;

extern const ota_platform_ops_t rig_platform;

/* The n-th byte every pattern answer has at offset i. */
uint8_t rig_pattern(uint32_t i);

/* Starts the pattern server on 127.0.0.1; returns its port. rig_server_stop() ends it. */
uint16_t rig_server_start(void);
void rig_server_stop(void);

/* cmocka group setup and teardown: the pattern server for the whole group, on port rig_port. */
extern uint16_t rig_port;
int rig_group_setup(void **state);
int rig_group_teardown(void **state);

/* A new emulator with cfg (NULL: defaults) and the driver initialised on it (sockets, locked: the
 * driver gets lock/unlock on r->bus). Returns the driver's ota_w5500_init() result. */
int rig_open(rig_t *r, const w5500_emu_cfg_t *cfg, uint8_t sockets, int locked);
void rig_close(rig_t *r);

/* Connects, asks the pattern server for n bytes, reads them all with reads of 1..max_read bytes
 * (random per read when rand_seed != 0) until the server closes, and compares. Returns the number
 * of bytes that matched the pattern before the first mismatch or error, or a negative otakit
 * error when the transfer failed; *got gets the bytes read. */
long rig_fetch(rig_t *r, uint16_t port, uint32_t n, size_t max_read, unsigned rand_seed, int *err);

#endif
