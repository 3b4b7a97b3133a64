/*
 * Flash on the MPS2: the board has no flash controller, only RAM, so the flash is SSRAM1 at
 * address 0 (code executes in place from it) backed by a host file. QEMU loads the file at 0 when
 * it starts (-device loader,force-raw=on); every program and erase changes the RAM copy and is
 * written through to the file with semihosting (SYS_SEEK + SYS_WRITE) before it returns, so a
 * power cycle (QEMU exits, -no-reboot, and is started again on the file) keeps it.
 *
 * NOR rules, as ports/host/flash_sim.c enforces them: erase sets a whole sector of the preset's
 * geometry to 0xff; program needs aligned offsets and lengths and only erased bytes (programming a
 * byte twice is refused before anything changes).
 *
 * Each ota_flash_t's ctx is the ota_flash_t itself: its size and sector map bound the ops, so a
 * copy with a wider map (the application's settings past the part's 1 MB, app_agent.c) can reach
 * more of SSRAM1 than the one the bootloader and the slots use.
 */
#include <string.h>

#include "board.h"
#include "keys.h"

#define WRITE_SIZE 8u /* program unit (an STM32F4 double word; the library pads the tail) */

static int fd = -1;
static ota_flash_t *self;
/* Since power-on: sectors erased by size, bytes programmed (bench/qemu.sh models the part's time). */
static struct {
    uint32_t size, count;
} erased[4];
static uint32_t programmed;

static int ff_read(void *ctx, uint32_t addr, void *buf, uint32_t len)
{
    (void)ctx;
    memcpy(buf, (const void *)(uintptr_t)(BOARD_FLASH_BASE + addr), len);
    return 0;
}

static int through(uint32_t addr, uint32_t len)
{
    if (board_sh_seek(fd, addr) != 0 || board_sh_write(fd, (const void *)(uintptr_t)(BOARD_FLASH_BASE + addr), len) != 0) {
        board_puts("flash: write-through to the host file failed\n");
        return -1;
    }
    return 0;
}

static int ff_write(void *ctx, uint32_t addr, const void *buf, uint32_t len)
{
    uint8_t *dst = (uint8_t *)(uintptr_t)(BOARD_FLASH_BASE + addr);
    const ota_flash_t *f = ctx;
    uint32_t i;
    if (addr % WRITE_SIZE || len % WRITE_SIZE || addr > f->size || len > f->size - addr)
        return -1;
    for (i = 0; i < len; i++)
        if (dst[i] != 0xff)
            return -1; /* programming twice: refused as a whole */
    memcpy(dst, buf, len);
    programmed += len;
    return through(addr, len);
}

static int ff_erase(void *ctx, uint32_t addr)
{
    uint32_t start, size;
    unsigned i;
    if (ota_flash_sector(ctx, addr, &start, &size) != OTA_OK || start != addr)
        return -1;
    memset((void *)(uintptr_t)(BOARD_FLASH_BASE + addr), 0xff, size);
    for (i = 0; i < 4 && erased[i].size && erased[i].size != size; i++)
        ;
    if (i < 4)
        erased[i].size = size, erased[i].count++;
    return through(addr, size);
}

void board_flash_report(void)
{
    unsigned i;
    if (!self || (!programmed && !erased[0].count))
        return;
    board_puts("flash: erased");
    for (i = 0; i < 4 && erased[i].size; i++) {
        board_puts(" ");
        board_put_u32(erased[i].count);
        board_puts("x");
        board_put_u32(erased[i].size);
    }
    board_puts(i ? ", programmed " : " nothing, programmed ");
    board_put_u32(programmed);
    board_puts(" B\n");
}

static const ota_flash_ops_t ops = {ff_read, ff_write, ff_erase};

const ota_preset_t *board_flash_open(ota_flash_t *f)
{
    static char path[256];
    char geometry[32] = "stm32f4-1m";
    const ota_preset_t *p;
    (void)board_arg("geometry", geometry, sizeof geometry);
    if (!(p = ota_preset_find(geometry)) || p->flash_size > BOARD_FLASH_MAX) {
        board_log("flash: unknown geometry ", geometry, NULL, NULL);
        return NULL;
    }
    if (board_arg("flash", path, sizeof path) != 0 || (fd = board_sh_open(path, 3 /* "r+b" */)) < 0) {
        board_puts("flash: no flash file (semihosting argument flash=PATH)\n");
        return NULL;
    }
    memset(f, 0, sizeof *f);
    f->ops = &ops;
    f->ctx = f;
    f->size = p->flash_size;
    f->write_size = WRITE_SIZE;
    f->erased_val = 0xff;
    f->n_runs = p->n_runs;
    f->runs = p->runs;
    self = f;
    return p;
}

void board_ota_config(ota_config_t *cfg, const ota_flash_t *f, const ota_preset_t *p)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->flash = f;
    cfg->layout = &p->layout;
    cfg->keys = board_keys;
    cfg->n_keys = board_n_keys;
    cfg->product = BOARD_PRODUCT;
    cfg->platform = &board_platform;
}
