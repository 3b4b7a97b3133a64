/* A stand-in port for the link checks of the target build (cmake/target.cmake): the ops of
 * otakit/port.h with the bodies a real port fills in, a Cortex-M vector table and the reset
 * handler. Nothing here runs; it gives the linker what a port gives it. */
#ifndef OTAKIT_PORT_STUB_H
#define OTAKIT_PORT_STUB_H

#include "otakit/flash.h"
#include "otakit/image.h"
#include "otakit/net.h"
#include "otakit/ota.h"
#include "otakit/port.h"
#include "otakit/presets.h"

extern const ota_flash_ops_t stub_flash_ops; /* memory-mapped flash at 0x08000000; programming stubbed */
extern const ota_net_ops_t stub_net_ops;     /* no network */
extern const ota_platform_ops_t stub_platform; /* clock and entropy stubs */
extern const ota_pubkey_t stub_keys[1];      /* a trusted key, as `otakit getpub` prints it */

/* Reads through the flash ops at the slot offset *(const uint32_t *)ctx (an ota_read_fn). */
int stub_slot_read(void *ctx, uint32_t off, void *buf, uint32_t len);

/* The program flash every link check updates: the stm32f4-1m preset's sectors through stub_flash_ops
 * into *flash, and *cfg zeroed but for that flash, the preset's layout, stub_keys and stub_platform.
 * Returns the preset (NULL if it is missing). */
const ota_preset_t *link_config(ota_flash_t *flash, ota_config_t *cfg);

#endif
