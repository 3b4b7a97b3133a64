/*
 * Flash abstraction: the only way the device library touches storage.
 *
 * A port provides three operations (read, program, erase one sector) and describes the chip:
 * size, write granularity, erased value and sector geometry (uniform or mixed sizes, as runs).
 * Addresses are byte offsets from the start of the flash device. Portable C99: no heap.
 */
#ifndef OTAKIT_FLASH_H
#define OTAKIT_FLASH_H

#include <stdint.h>

#include "otakit/err.h"

#define OTA_FLASH_MAX_WRITE_SIZE 32u /* largest write granularity supported */

typedef struct {
    /* Reads len bytes at addr. Returns 0 on success, nonzero on failure. */
    int (*read)(void *ctx, uint32_t addr, void *buf, uint32_t len);
    /* Programs len bytes at addr; addr and len are multiples of the write size and the bytes were
     * erased. Returns 0 on success, nonzero on failure (the bytes may then be partly programmed). */
    int (*write)(void *ctx, uint32_t addr, const void *buf, uint32_t len);
    /* Erases the whole sector starting at addr. Returns 0 on success, nonzero on failure (the
     * sector may then be partly erased). */
    int (*erase)(void *ctx, uint32_t addr);
} ota_flash_ops_t;

/* count sectors of size bytes each; a flash is described by consecutive runs. */
typedef struct {
    uint32_t count;
    uint32_t size;
} ota_sector_run_t;

typedef struct {
    const ota_flash_ops_t *ops;
    void *ctx;
    uint32_t size;       /* total bytes; must equal the sum of the runs */
    uint32_t write_size; /* program granularity: 1, 2, 4, 8, 16 or 32 */
    uint8_t erased_val;  /* 0xff (NOR) or 0x00 */
    uint8_t n_runs;
    const ota_sector_run_t *runs;
} ota_flash_t;

/* Checks a flash description (runs sum to size, write size valid, ops present).
 * Returns OTA_OK or OTA_ERR_ARG. */
int ota_flash_check(const ota_flash_t *f);

/* Finds the sector holding addr: its start and size. Returns OTA_OK or OTA_ERR_ARG (out of range). */
int ota_flash_sector(const ota_flash_t *f, uint32_t addr, uint32_t *start, uint32_t *size);

/* Read/program/erase with bounds checks, mapped to OTA_ERR_FLASH_* codes on failure. */
int ota_flash_read(const ota_flash_t *f, uint32_t addr, void *buf, uint32_t len);
int ota_flash_write(const ota_flash_t *f, uint32_t addr, const void *buf, uint32_t len);
int ota_flash_erase(const ota_flash_t *f, uint32_t addr);

/* Erases every sector overlapping [addr, addr+len); addr and addr+len must be sector boundaries. */
int ota_flash_erase_range(const ota_flash_t *f, uint32_t addr, uint32_t len);

/* Returns 1 when all len bytes at addr read as the erased value, 0 when not, <0 on read error. */
int ota_flash_is_erased(const ota_flash_t *f, uint32_t addr, uint32_t len);

/* A region of one flash device: a slot, the state area, the scratch area. */
typedef struct {
    uint32_t off;
    uint32_t size; /* 0: absent */
} ota_area_t;

/* Reads an area of a flash through an ota_read_fn-style callback (offsets from the area start):
 * pass ota_area_read with a pointer to one of these to ota_image_verify(). */
typedef struct {
    const ota_flash_t *flash;
    uint32_t off;
    uint32_t size;
} ota_area_reader_t;

/* ota_read_fn over an ota_area_reader_t: returns 0, or -1 outside the area or on a flash error. */
int ota_area_read(void *reader, uint32_t off, void *buf, uint32_t len);

/* How the bootloader runs a new image. */
typedef enum {
    OTA_STRATEGY_AB = 1,  /* both slots executable (slot-specific images, or a hardware bank swap) */
    OTA_STRATEGY_SWAP = 2 /* only slot 0 executes: the new image is swapped in, power-fail safe */
} ota_strategy_t;

/* Partition map of one device. */
typedef struct {
    const char *name;
    ota_strategy_t strategy;
    ota_area_t boot;     /* the bootloader itself (never written by otakit) */
    ota_area_t slot[2];  /* AB: slot 0 and 1 both run. SWAP: 0 runs, 1 receives downloads */
    ota_area_t state;    /* boot-state journal: at least two sectors */
    ota_area_t scratch;  /* SWAP only: one sector at least as large as the largest slot sector */
} ota_layout_t;

/* Checks that a layout fits a flash: areas sector-aligned, inside the flash, not overlapping; state
 * spans >= 2 sectors; AB slots the same size; SWAP slots with the same sector sizes and a big enough
 * scratch. Returns OTA_OK or OTA_ERR_LAYOUT. */
int ota_layout_check(const ota_layout_t *l, const ota_flash_t *f);

#endif
