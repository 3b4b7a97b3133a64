/*
 * Ready-made flash geometries and partition maps for common devices. A port for one of these
 * chips can use a preset as is; others copy one and adapt it (docs/porting.md).
 */
#ifndef OTAKIT_PRESETS_H
#define OTAKIT_PRESETS_H

#include "otakit/flash.h"

typedef struct {
    const char *name;
    const char *description;
    uint32_t flash_size;
    uint8_t n_runs;
    const ota_sector_run_t *runs; /* sector geometry of the whole chip */
    ota_layout_t layout;
} ota_preset_t;

/* All presets; *n receives their number. */
const ota_preset_t *ota_presets(unsigned *n);

/* The preset with this name, or NULL. */
const ota_preset_t *ota_preset_find(const char *name);

#endif
