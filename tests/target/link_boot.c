/*
 * A bootloader as the target build links it (cmake/target.cmake): ota_init + ota_boot with the
 * signature checked on every boot, then ota_image_verify of the chosen slot, against
 * libotakit_device.a and the target's mbedTLS, with newlib-nano and no syscall stubs, so any
 * symbol that nobody provides fails the link. Not run; scripts/cross-check.sh prints its size.
 */

#include "mbedtls/memory_buffer_alloc.h"
#include "otakit/ota.h"
#include "port_stub.h"

static ota_ctx_t ctx;
static unsigned char crypto_heap[4096]; /* mbedTLS's bignums during an ECDSA-P256 verify */

int main(void)
{
    const ota_preset_t *p;
    ota_flash_t flash;
    ota_config_t cfg;
    ota_boot_result_t r;
    ota_verify_cfg_t vcfg = {stub_keys, 1, 0};
    ota_image_info_t info;
    uint32_t off;

    if (!(p = link_config(&flash, &cfg)))
        return 1;
    mbedtls_memory_buffer_alloc_init(crypto_heap, sizeof crypto_heap);
    cfg.boot_check_signature = 1;
    if (ota_init(&ctx, &cfg) != OTA_OK || ota_boot(&ctx, &r) != OTA_OK)
        return 2;
    /* What a recovery loader does before it accepts an image: check it where it lies. */
    off = p->layout.slot[r.slot].off;
    if (ota_image_verify(stub_slot_read, &off, p->layout.slot[r.slot].size, &vcfg, &info) != OTA_OK)
        return 3;
    return (int)r.slot; /* a real bootloader jumps to the image's vector table here */
}
