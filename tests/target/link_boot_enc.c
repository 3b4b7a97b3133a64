/*
 * link_boot.c's bootloader with encrypted images enabled (otakit/enc.h: ota_config_t.enc and the
 * port's enc_private_key), so that scripts/cross-check.sh shows what MCUboot's ENC_EC256 costs on
 * a Cortex-M3: this program's size minus link_boot's. Not run.
 */
#include <string.h>

#include "mbedtls/memory_buffer_alloc.h"
#include "otakit/enc.h"
#include "otakit/ota.h"
#include "port_stub.h"

static ota_ctx_t ctx;
static unsigned char crypto_heap[4096]; /* ECDSA-P256 verify, or the ECDH of a key unwrap */

/* The device's decryption key, as a port reads it from its secure store (here: a fixed address). */
static int enc_key(void *c, uint8_t out[32])
{
    (void)c;
    memcpy(out, (const void *)0x0800ffe0u, 32);
    return 0;
}

int main(void)
{
    ota_flash_t flash;
    ota_platform_ops_t plat = stub_platform;
    ota_config_t cfg;
    ota_boot_result_t r;

    if (!link_config(&flash, &cfg))
        return 1;
    mbedtls_memory_buffer_alloc_init(crypto_heap, sizeof crypto_heap);
    plat.enc_private_key = enc_key;
    cfg.boot_check_signature = 1;
    cfg.platform = &plat;
    cfg.enc = &ota_enc_ecies_p256;
    if (ota_init(&ctx, &cfg) != OTA_OK || ota_boot(&ctx, &r) != OTA_OK)
        return 2;
    return (int)r.slot;
}
