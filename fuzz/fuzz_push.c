/*
 * libFuzzer target for the device's push server (device/net/push.c): each input is what a client
 * sends on one connection (see fuzz_net.h for the layout), served by ota_push_serve() on a device
 * with a RAM flash (the swap-256k preset) and a fresh boot state. The bearer token is "t0k3n" and
 * the Basic credentials "admin:s3cret", so inputs that carry them reach the handlers: the raw and
 * multipart uploads into ota_write(), commit, rollback, status. Besides ASan and UBSan, it checks
 * that a 401 never touched the flash and that the server stays within the transport's contract.
 *
 * Build and run as fuzz_verify.c's header says; the ctest smoke run is fuzz_push_smoke (seeds in
 * fuzz/corpus/push/: requests for every endpoint, with and without credentials).
 *   cd build-fuzz/fuzz && ./fuzz_push -max_len=4096 -max_total_time=600 corpus-push seed-corpus-push
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_net.h"
#include "otakit/ota.h"
#include "otakit/presets.h"
#include "otakit/push.h"

#define SECTOR 4096u
#define FLASH_SIZE (256u * 1024u)

static uint8_t mem[FLASH_SIZE];
static uint8_t dirty[FLASH_SIZE / SECTOR]; /* sectors changed by this input */
static unsigned changes;

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
    changes++;
    return 0;
}

static int f_erase(void *ctx, uint32_t addr)
{
    (void)ctx;
    FZ_CHECK(addr % SECTOR == 0 && addr < FLASH_SIZE);
    memset(mem + addr, 0xff, SECTOR);
    dirty[addr / SECTOR] = 1;
    changes++;
    return 0;
}

static const ota_flash_ops_t flash_ops = {f_read, f_write, f_erase};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t key_der[OTA_P256_SPKI_LEN] = {0x30}; /* trusts nothing: no image verifies */
    static ota_ctx_t ctx;
    static int ready;
    const ota_preset_t *p = ota_preset_find("swap-256k");
    ota_flash_t flash;
    ota_pubkey_t pk;
    ota_config_t cfg;
    ota_push_cfg_t pc;
    ota_push_result_t res;
    fz_net_t f;
    ota_net_t net;
    unsigned i;
    int rc;

    if (fz_net_init(&f, &net, data, size) < 0)
        return 0;
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
    flash.ops = &flash_ops;
    flash.ctx = NULL;
    flash.size = p->flash_size;
    flash.write_size = 8;
    flash.erased_val = 0xff;
    flash.n_runs = p->n_runs;
    flash.runs = p->runs;
    pk.der = key_der;
    pk.len = sizeof key_der;
    memset(&cfg, 0, sizeof cfg);
    cfg.flash = &flash;
    cfg.layout = &p->layout;
    cfg.keys = &pk;
    cfg.n_keys = 1;
    cfg.product = "acme";
    FZ_CHECK(ota_init(&ctx, &cfg) == OTA_OK);
    changes = 0;

    memset(&pc, 0, sizeof pc);
    pc.platform = &f.plat;
    pc.token = "t0k3n";
    pc.basic_b64 = "YWRtaW46czNjcmV0";
    f.open = 1; /* the connection the port accepted */
    rc = ota_push_serve(&ctx, &net, FZ_HANDLE, &pc, &res);
    FZ_CHECK(f.open && f.connects == 0); /* the caller's connection: not closed, none opened */
    FZ_CHECK(rc <= 0);
    if (rc == OTA_OK)
        FZ_CHECK(res.status >= 200 && res.status <= 599);
    if (res.status == 401)
        FZ_CHECK(changes == 0 && !res.reboot); /* unauthenticated: nothing changed */
    return 0;
}
