/*
 * Settings: the few bytes the update agent keeps across resets (its device token and the update
 * in flight, otakit/agent_loop.h), saved so that a power cut at any moment leaves either the old or
 * the new value, never neither.
 *
 * Two ways to keep them:
 *   - a port callback pair (ota_settings_t: load/save), e.g. over the chip's NVS, EEPROM or a file;
 *   - the default, ota_settings_flash_t: two sectors of the flash, through its flash ops.
 *
 *   static ota_settings_flash_t sf;
 *   ota_settings_flash_init(&sf, &flash, 0x3e000, 0x2000);   two 4 KB sectors outside the layout
 *   agent_cfg.settings = &sf.settings;
 *
 * In flash, each sector holds at most one 256-byte record: u32 magic, u32 sequence number, u32
 * length, the bytes, and a CRC-32 (ota_crc32, the journal's) of all that. A save erases the sector
 * that does not hold the newest valid record and programs the new record there with the next
 * sequence number, then reads it back; the load takes the valid record with the higher sequence
 * number. A cut erase or a torn program fails the CRC, so the other sector (the old value) wins.
 * One erase per save: the agent saves a few times per update, far from a NOR sector's endurance.
 * Portable C99: no heap, no stdio.
 */
#ifndef OTAKIT_SETTINGS_H
#define OTAKIT_SETTINGS_H

#include <stdint.h>

#include "otakit/flash.h"

#define OTA_SETTINGS_MAX 240u    /* most bytes a save takes */
#define OTA_SETTINGS_RECORD 256u /* bytes of a record in flash (a multiple of every write size) */

typedef struct {
    /* Reads the last saved bytes into buf (cap >= OTA_SETTINGS_MAX). Returns their number, 0 when
     * nothing was ever saved, or a negative otakit error (the agent then starts unregistered). */
    int (*load)(void *ctx, void *buf, uint32_t cap);
    /* Saves len (<= OTA_SETTINGS_MAX) bytes so that, whatever happens meanwhile, the next load
     * returns either these or the previous ones. Returns OTA_OK or a negative otakit error. */
    int (*save)(void *ctx, const void *buf, uint32_t len);
    void *ctx;
} ota_settings_t;

/* The flash-backed default. */
typedef struct {
    ota_settings_t settings;  /* hand &this.settings to whoever saves (ctx points at this struct) */
    const ota_flash_t *flash;
    uint32_t sector[2];       /* start of each of the two sectors */
} ota_settings_flash_t;

/* Uses the first two sectors of [off, off + size) of flash (both sector-aligned, each sector at
 * least OTA_SETTINGS_RECORD bytes; keep it apart from the layout's areas). Nothing is written until
 * the first save. Returns OTA_OK, or OTA_ERR_ARG / OTA_ERR_LAYOUT when the area does not qualify. */
int ota_settings_flash_init(ota_settings_flash_t *s, const ota_flash_t *flash, uint32_t off, uint32_t size);

#endif
