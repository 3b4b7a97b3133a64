/*
 * MCUboot trailer mode: when the bootloader is MCUboot, not otakit's, the application hands an
 * update to it through MCUboot's image trailer at the end of each slot, exactly as MCUboot's own
 * application-side code does (mcu-tools/mcuboot boot/bootutil/src/bootutil_public.c:
 * boot_set_pending_multi(), boot_set_confirmed_multi(), boot_read_swap_state(),
 * boot_swap_type_multi()). The layout, from the end of a slot of size S, with M = max_align =
 * max(8, flash write size) (MCUboot's BOOT_MAX_ALIGN) and MA = align_up(16, M):
 *
 *   S - 16            magic (16 bytes; written as MA bytes from S - MA, erased-filled first)
 *   S - MA - M        image_ok   (0x01 = set; written as one write-size unit, erased-filled)
 *   S - MA - 2M       copy_done  (written by MCUboot)
 *   S - MA - 3M       swap_info  (image number << 4 | swap type)
 *   S - MA - 4M       swap_size  (written by MCUboot), swap status entries below it
 *
 * The writes the application makes are the same in MCUboot's swap-scratch, swap-move and
 * overwrite-only modes (bootutil_public.c is shared by all three); the modes differ only in what
 * MCUboot itself keeps below swap_size, which ota_mcuboot_trailer_size() accounts for.
 */
#ifndef OTAKIT_MCUBOOT_H
#define OTAKIT_MCUBOOT_H

#include <stdint.h>

#include "otakit/flash.h"

/* BOOT_SWAP_TYPE_* of bootutil_public.h. */
enum { OTA_MCUBOOT_NONE = 1, OTA_MCUBOOT_TEST = 2, OTA_MCUBOOT_PERM = 3, OTA_MCUBOOT_REVERT = 4 };
/* BOOT_MAGIC_* and BOOT_FLAG_* values as boot_read_swap_state() decodes a trailer. */
enum { OTA_MCUBOOT_GOOD = 1, OTA_MCUBOOT_BAD = 2, OTA_MCUBOOT_UNSET = 3 };
/* MCUboot's upgrade modes (its MCUBOOT_SWAP_USING_SCRATCH, _USING_MOVE, MCUBOOT_OVERWRITE_ONLY). */
typedef enum { OTA_MCUBOOT_SWAP_SCRATCH = 0, OTA_MCUBOOT_SWAP_MOVE = 1, OTA_MCUBOOT_OVERWRITE_ONLY = 2 } ota_mcuboot_mode_t;

/* A slot's trailer as boot_read_swap_state() reads it. */
typedef struct {
    uint8_t magic;     /* OTA_MCUBOOT_GOOD, _BAD or _UNSET */
    uint8_t swap_type; /* OTA_MCUBOOT_NONE.._REVERT (NONE when erased or out of range) */
    uint8_t image_num;
    uint8_t copy_done; /* OTA_MCUBOOT_GOOD (set), _BAD or _UNSET */
    uint8_t image_ok;  /* likewise */
} ota_mcuboot_state_t;

/* The 16 magic bytes for max_align (MCUboot's boot_img_magic: the classic magic when max_align is
 * 8, else max_align as 16-bit LE followed by the 14 bytes of its alternate magic). */
void ota_mcuboot_magic(uint32_t max_align, uint8_t out[16]);

/* max(8, write_size): MCUboot's BOOT_MAX_ALIGN for a flash of that write size. */
uint32_t ota_mcuboot_max_align(uint32_t write_size);

/* Bytes MCUboot reserves at the end of a slot (imgtool's formula): swap status entries for
 * max_sectors sectors (3 per sector for swap-scratch, 2 for swap-move, none for overwrite-only)
 * of write_size bytes each, the four flag/size fields and the magic. */
uint32_t ota_mcuboot_trailer_size(ota_mcuboot_mode_t mode, uint32_t write_size, uint32_t max_sectors);

/* Reads slot's trailer. Returns OTA_OK or OTA_ERR_FLASH_READ / OTA_ERR_ARG. */
int ota_mcuboot_read(const ota_flash_t *f, const ota_area_t *slot, ota_mcuboot_state_t *st);

/* bootutil's boot_swap_tables[]: what MCUboot does at the next boot given the primary and
 * secondary trailers. Returns OTA_MCUBOOT_TEST, _PERM, _REVERT or _NONE. */
int ota_mcuboot_swap_type(const ota_mcuboot_state_t *primary, const ota_mcuboot_state_t *secondary);

/* Requests the upgrade to the image in the secondary slot (boot_set_pending_multi(0, permanent)):
 * image_ok (permanent only), then the magic, then swap_info = TEST or PERM. The bytes are
 * bootutil's; image_ok goes before the magic so that a power cut at any point leaves either no
 * request (magic not complete) or the whole one. Already requested (magic good): OTA_OK. The
 * trailer fields must be erased (else OTA_ERR_STATE: erase the slot's last sector first).
 * Returns OTA_OK or an OTA_ERR_*. */
int ota_mcuboot_request_upgrade(const ota_flash_t *f, const ota_area_t *secondary, int permanent);

/* Confirms the running image as boot_set_confirmed_multi(0) does: writes image_ok in the primary
 * slot when its magic is good and image_ok unset; nothing when the magic is unset (a programmed,
 * never swapped image). Returns OTA_OK, OTA_ERR_STATE (bad magic) or a flash error. */
int ota_mcuboot_confirm(const ota_flash_t *f, const ota_area_t *primary);

/* Whether the running image (primary slot) is on trial: MCUboot swapped it in for a test and it
 * is not confirmed yet (magic good, image_ok erased: what boot_set_confirmed() would write): it reverts at the next reset unless
 * ota_mcuboot_confirm() runs. Returns 1, 0, or a negative OTA_ERR_*. */
int ota_mcuboot_on_trial(const ota_flash_t *f, const ota_area_t *primary);

#endif
