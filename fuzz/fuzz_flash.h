/*
 * A fake NOR flash for the fuzz targets that write images (fuzz_push.c, fuzz_mqtt.c): 256 KB in RAM
 * with the swap-256k preset's geometry, programming only clears bits, and every sector an input
 * changed is blank again for the next input (fz_flash_setup). abort()s on an access outside the
 * chip or an unaligned erase. fz_changes counts programs and erases since the setup.
 */
#ifndef OTAKIT_FUZZ_FLASH_H
#define OTAKIT_FUZZ_FLASH_H

#include <stdint.h>
#include <string.h>

#include "fuzz_net.h"
#include "otakit/ota.h"
#include "otakit/presets.h"

#define SECTOR 4096u
#define FLASH_SIZE (256u * 1024u)

static uint8_t mem[FLASH_SIZE];
static uint8_t dirty[FLASH_SIZE / SECTOR]; /* sectors changed by this input */
static unsigned fz_changes;

static int f_read(void *ctx, uint32_t addr, void *buf, uint32_t len)
{
    (void)ctx;
    FZ_CHECK(addr <= FLASH_SIZE && len <= FLASH_SIZE - addr);
    memcpy(buf, mem + addr, len);
    return 0;
}

static int f_write(void *ctx, uint32_t addr, const void *buf, uint32_t len)
{
    const uint8_t *b = buf;
    uint32_t i;
    (void)ctx;
    FZ_CHECK(addr <= FLASH_SIZE && len <= FLASH_SIZE - addr);
    for (i = 0; i < len; i++) {
        mem[addr + i] &= b[i]; /* NOR: programming only clears bits */
        dirty[(addr + i) / SECTOR] = 1;
    }
    fz_changes++;
    return 0;
}

static int f_erase(void *ctx, uint32_t addr)
{
    (void)ctx;
    FZ_CHECK(addr % SECTOR == 0 && addr < FLASH_SIZE);
    memset(mem + addr, 0xff, SECTOR);
    dirty[addr / SECTOR] = 1;
    fz_changes++;
    return 0;
}

static const ota_flash_ops_t flash_ops = {f_read, f_write, f_erase};

/* A blank device on the swap-256k preset, trusting no key (no image verifies): fills flash and
 * cfg (product "acme") and initialises ctx. */
static void fz_flash_setup(ota_ctx_t *ctx, ota_flash_t *flash, ota_config_t *cfg, ota_pubkey_t *pk)
{
    static const uint8_t key_der[OTA_P256_SPKI_LEN] = {0x30}; /* trusts nothing */
    static int ready;
    const ota_preset_t *p = ota_preset_find("swap-256k");
    unsigned i;
    if (!ready) {
        memset(mem, 0xff, sizeof mem);
        ready = 1;
    }
    for (i = 0; i < sizeof dirty; i++)
        if (dirty[i]) {
            memset(mem + i * SECTOR, 0xff, SECTOR); /* a blank device for every input */
            dirty[i] = 0;
        }
    FZ_CHECK(p && p->flash_size == FLASH_SIZE);
    flash->ops = &flash_ops;
    flash->ctx = NULL;
    flash->size = p->flash_size;
    flash->write_size = 8;
    flash->erased_val = 0xff;
    flash->n_runs = p->n_runs;
    flash->runs = p->runs;
    pk->der = key_der;
    pk->len = sizeof key_der;
    memset(cfg, 0, sizeof *cfg);
    cfg->flash = flash;
    cfg->layout = &p->layout;
    cfg->keys = pk;
    cfg->n_keys = 1;
    cfg->product = "acme";
    FZ_CHECK(ota_init(ctx, cfg) == OTA_OK);
    fz_changes = 0;
}

#endif
