/* Ready-made geometries and partition maps (see otakit/presets.h). */
#include "otakit/presets.h"

#include <string.h>

#define KB 1024u

static const ota_sector_run_t uniform4k_512k[] = {{128, 4 * KB}};
static const ota_sector_run_t uniform4k_1m[] = {{256, 4 * KB}};
static const ota_sector_run_t pages2k_1m[] = {{512, 2 * KB}};
static const ota_sector_run_t stm32f4_1m[] = {{4, 16 * KB}, {1, 64 * KB}, {7, 128 * KB}};
static const ota_sector_run_t uniform4k_256k[] = {{64, 4 * KB}};

static const ota_preset_t presets[] = {
    {"esp8266-512k",
     "ESP8266 512 KB SPI flash (Espressif FOTA map): boot 4K, user1 236K @0x1000, user params 16K, "
     "reserved 4K, user2 236K @0x41000, system params 16K (boot state)",
     512 * KB, 1, uniform4k_512k,
     {"esp8266-512k", OTA_STRATEGY_AB, {0, 4 * KB}, {{4 * KB, 236 * KB}, {260 * KB, 236 * KB}},
      {496 * KB, 16 * KB}, {0, 0}}},
    {"esp8266-1m",
     "ESP8266 1 MB SPI flash (Espressif FOTA map): boot 4K, user1 492K @0x1000, user params 16K, "
     "reserved 4K, user2 492K @0x81000, system params 16K (boot state)",
     1024 * KB, 1, uniform4k_1m,
     {"esp8266-1m", OTA_STRATEGY_AB, {0, 4 * KB}, {{4 * KB, 492 * KB}, {516 * KB, 492 * KB}},
      {1008 * KB, 16 * KB}, {0, 0}}},
    {"dualbank-1m",
     "Dual-bank MCU, 1 MB in two 512K banks of 2K pages: boot 32K, slot A 464K in bank 1, boot state "
     "16K, slot B 464K at the same bank offset in bank 2 (hardware bank swap or A/B execution)",
     1024 * KB, 1, pages2k_1m,
     {"dualbank-1m", OTA_STRATEGY_AB, {0, 32 * KB}, {{32 * KB, 464 * KB}, {544 * KB, 464 * KB}},
      {496 * KB, 16 * KB}, {0, 0}}},
    {"stm32f4-1m",
     "Single-bank MCU with mixed sectors like an STM32F4 (4x16K, 64K, 7x128K): boot 32K, boot state "
     "2x16K, slot 0 (executes) 384K, slot 1 384K, scratch 128K; swap with scratch",
     1024 * KB, 3, stm32f4_1m,
     {"stm32f4-1m", OTA_STRATEGY_SWAP, {0, 32 * KB}, {{128 * KB, 384 * KB}, {512 * KB, 384 * KB}},
      {32 * KB, 32 * KB}, {896 * KB, 128 * KB}}},
    {"uniform4k-1m",
     "1 MB of uniform 4K sectors (a SPI NOR or a small-sector MCU) with stm32f4-1m's slot addresses, so "
     "one application build runs on both: boot 32K, boot state 8K, scratch 4K, slot 0 (executes) 384K "
     "@128K, slot 1 384K @512K; swap with scratch",
     1024 * KB, 1, uniform4k_1m,
     {"uniform4k-1m", OTA_STRATEGY_SWAP, {0, 32 * KB}, {{128 * KB, 384 * KB}, {512 * KB, 384 * KB}},
      {32 * KB, 8 * KB}, {40 * KB, 4 * KB}}},
    {"swap-256k",
     "Small single-bank MCU with uniform 4K sectors: boot 16K, slot 0 (executes) 112K, slot 1 112K, "
     "scratch 4K, boot state 8K; swap with scratch",
     256 * KB, 1, uniform4k_256k,
     {"swap-256k", OTA_STRATEGY_SWAP, {0, 16 * KB}, {{16 * KB, 112 * KB}, {128 * KB, 112 * KB}},
      {244 * KB, 8 * KB}, {240 * KB, 4 * KB}}},
};

const ota_preset_t *ota_presets(unsigned *n)
{
    *n = sizeof presets / sizeof presets[0];
    return presets;
}

const ota_preset_t *ota_preset_find(const char *name)
{
    unsigned i;
    for (i = 0; name && i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].name, name) == 0)
            return &presets[i];
    return 0;
}
