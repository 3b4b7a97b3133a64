/*
 * otakit device core: the streaming update writer, the power-fail-safe boot-state journal, and
 * the bootloader that selects, validates, swaps and rolls back images.
 *
 *   Application (running firmware)           Bootloader (every reset)
 *   ota_init(ctx, cfg)                        ota_init(ctx, cfg)
 *   ota_begin(ctx, size)                      ota_boot(ctx, &result) -> jump to result.slot
 *   ota_write(ctx, buf, len)   (any chunks)
 *   ota_end(ctx)   verify from flash, mark pending
 *   ...reset...    the bootloader tests the new image
 *   ota_confirm(ctx)  or  ota_rollback(ctx)
 *
 * Portable C99: no heap, no stdio, no POSIX. All state lives in the caller's ota_ctx_t and in
 * the flash journal; nothing is trusted across a reset that is not re-read from flash.
 */
#ifndef OTAKIT_OTA_H
#define OTAKIT_OTA_H

#include <stdint.h>

#include "otakit/flash.h"
#include "otakit/image.h"
#include "otakit/port.h"

/* Update states, as persisted in the journal and reported to servers. */
typedef enum {
    OTA_STATE_NONE = 0,        /* running a confirmed image; nothing pending */
    OTA_STATE_DOWNLOADING = 1, /* an image is being written to the update slot */
    OTA_STATE_NEW = 2,         /* a verified image waits in the update slot; tested on next boot */
    OTA_STATE_TESTING = 3,     /* the new image runs and must call ota_confirm() (commit window) */
    OTA_STATE_CONFIRMED = 4,   /* the new image confirmed itself; it is now the image */
    OTA_STATE_FAILED = 5,      /* the new image failed (bad, or never confirmed): rolled back */
    OTA_STATE_ROLLBACK = 6     /* the new image asked to be rolled back; done at the next boot */
} ota_state_t;

/* Short lowercase name of a state ("testing"), for logs and reports. */
const char *ota_state_name(int state);

typedef struct {
    const ota_flash_t *flash;
    const ota_layout_t *layout;
    const ota_pubkey_t *keys;  /* trusted signing keys */
    unsigned n_keys;
    const char *product;       /* this device's product id: images must name it (NULL: no check) */
    const char *hw_rev;        /* this board's hardware revision (NULL: no check) */
    uint8_t boot_check_signature; /* 1: the bootloader checks signatures on every boot, not only the hash */
    uint8_t max_test_boots;    /* boots a new image gets to confirm itself (0 means 1) */
    /* The platform (otakit/port.h), optional: ota_boot() arms its watchdog_start for
     * commit_window_ms when the image it boots is on trial (TESTING), so a new image that hangs
     * is reset and then rolled back, and calls its select_bank (hardware bank swap, AB strategy)
     * with the slot to run. NULL: neither. */
    const ota_platform_ops_t *platform;
    uint32_t commit_window_ms; /* 0 means 60000 */
    /* MCUboot trailer mode (otakit/mcuboot.h): the bootloader is MCUboot, the layout's slot 0 and
     * slot 1 are its primary and secondary slots. OTA_MCUBOOT_TEST or OTA_MCUBOOT_PERM: ota_end()
     * also requests MCUboot's upgrade of that type, ota_confirm() also writes MCUboot's image_ok
     * (boot_set_confirmed()). 0: otakit's own bootloader (ota_boot) only. */
    uint8_t mcuboot_request;
    /* Encrypted images (otakit/enc.h): &ota_enc_ecies_p256 to accept MCUboot's ENC_EC256 images,
     * with the platform's enc_private_key giving the device's key; NULL (the default) leaves
     * their code out of the link and refuses them (OTA_ERR_FLAGS). */
    const struct ota_enc_ops *enc;
} ota_config_t;

/* The persisted boot state (one journal entry). */
typedef struct {
    uint32_t seq;
    uint8_t state;            /* ota_state_t */
    uint8_t active;           /* slot of the confirmed image (AB); 0 for SWAP */
    uint8_t target;           /* slot holding the new image (AB: the other slot; SWAP: 1, then 0) */
    uint8_t boot_count;       /* boots of the new image while TESTING */
    uint32_t security_counter;/* anti-rollback floor: images below it are refused */
    uint32_t size;            /* DOWNLOADING: announced image size */
    uint32_t progress;        /* DOWNLOADING: bytes known to be programmed (sector checkpoints) */
    uint16_t swap_chunks;     /* SWAP: sectors being exchanged */
    uint16_t swap_chunk;      /* SWAP: next sector index to exchange */
    uint8_t swap_step;        /* SWAP: steps done within swap_chunk (0..2) */
    uint8_t swap_op;          /* SWAP: 0 none, 1 installing the new image, 2 reverting */
} ota_record_t;

/* All state of the device core; the caller allocates it (statically on an MCU). */
typedef struct {
    ota_config_t cfg;
    ota_record_t rec;
    uint32_t journal_next;    /* flash address where the next journal entry goes */
    uint32_t journal_last;    /* flash address of the newest valid entry */
    uint8_t journal_valid;    /* 0 until the first entry exists */
    /* streaming writer */
    uint8_t w_active;
    uint8_t w_slot;
    uint8_t w_tail_len;
    uint32_t w_size;          /* announced size, or the upper bound (w_size_is_max) */
    uint8_t w_size_is_max;    /* ota_begin_max(): the image may end before w_size */
    uint32_t w_written;       /* bytes accepted so far (programmed + tail) */
    uint32_t w_erased_end;    /* slot offset up to which sectors are erased for this download */
    uint8_t w_tail[OTA_FLASH_MAX_WRITE_SIZE];
} ota_ctx_t;

/* What ota_boot() decided. */
typedef struct {
    uint8_t slot;             /* slot to execute */
    uint8_t state;            /* state after this boot (e.g. OTA_STATE_TESTING, OTA_STATE_FAILED) */
    uint8_t rolled_back;      /* 1 when this boot rolled back an unconfirmed or bad image */
    uint8_t swapped;          /* 1 when this boot exchanged slot contents (SWAP) */
    uint8_t watchdog_armed;   /* 1 when the commit-window watchdog was started */
    ota_version_t version;    /* version of the image in slot */
    uint32_t security_counter;
} ota_boot_result_t;

/* Checks cfg (flash, layout), loads the journal. ctx keeps a copy of cfg (not of the pointed-to
 * flash, layout or keys, which must outlive ctx). Returns OTA_OK, OTA_ERR_LAYOUT or a flash error. */
int ota_init(ota_ctx_t *ctx, const ota_config_t *cfg);

/* Bootloader: resumes an interrupted swap, tests a pending image, rolls back one that never
 * confirmed or asked to, validates the image to run (hash; signature if configured; security
 * counter), falls back to the other image if it is bad, and calls the platform's select_bank. Returns OTA_OK
 * with *res filled, or OTA_ERR_NO_IMAGE when no slot holds a valid image. */
int ota_boot(ota_ctx_t *ctx, ota_boot_result_t *res);

/* Slot the running firmware executes from, per the journal. */
unsigned ota_running_slot(const ota_ctx_t *ctx);

/* Starts writing a new image of size bytes to the update slot. Refuses while TESTING (confirm or
 * roll back first) and images that do not fit. Returns OTA_OK, OTA_ERR_STATE, OTA_ERR_NO_FIT... */
int ota_begin(ota_ctx_t *ctx, uint32_t size);

/* Like ota_begin() for a transfer whose exact size is unknown until it ends (a multipart form
 * upload): at most max_size bytes; ota_end() takes the bytes written so far as the image. */
int ota_begin_max(ota_ctx_t *ctx, uint32_t max_size);

/* Writes the next len bytes of the image, any chunk size: erases each sector as the write pointer
 * enters it and keeps a sub-write-size tail in ctx. Returns OTA_OK, OTA_ERR_OVERFLOW or a flash error. */
int ota_write(ota_ctx_t *ctx, const void *buf, uint32_t len);

/* Finishes the download: pads and programs the tail, verifies the image from flash (structure,
 * hash, signature by a trusted key), checks product, hardware and security counter, and only then
 * records it as pending (OTA_STATE_NEW). On any failure nothing is marked and the running image is
 * untouched. Returns OTA_OK or the specific error. */
int ota_end(ota_ctx_t *ctx);

/* Abandons a download. The running image is untouched. Returns OTA_OK. */
int ota_abort(ota_ctx_t *ctx);

/* After a reset during a download (journal state DOWNLOADING), continues it. *offset holds the byte
 * count the caller believes was written, or OTA_RESUME_AUTO to use the journal's checkpoint (the
 * start of the last sector the download entered: everything below it was programmed). The offset is
 * only ever lowered: to that checkpoint if it lies beyond the last sector entered, and to its
 * sector's start unless the rest of the sector is erased and the write unit below it is programmed
 * (the sector is then re-erased on the next write). Nothing below it is trusted either: ota_end()
 * verifies the whole image from flash. Returns OTA_OK, OTA_ERR_STATE (no download to resume) or a
 * flash error; *offset gets the resume point and *size_out the announced size if not NULL. */
#define OTA_RESUME_AUTO 0xffffffffUL
int ota_resume(ota_ctx_t *ctx, uint32_t *offset, uint32_t *size_out);

/* The running new image declares itself good: ends the commit window, makes it the image and
 * raises the anti-rollback floor to its security counter. In MCUboot trailer mode it confirms the
 * image in MCUboot's trailer (whatever the journal says: MCUboot, not ota_boot, ran it).
 * Returns OTA_OK or OTA_ERR_STATE. */
int ota_confirm(ota_ctx_t *ctx);

/* The running new image declares itself bad: the next boot restores the previous image.
 * Returns OTA_OK or OTA_ERR_STATE (nothing to roll back to). */
int ota_rollback(ota_ctx_t *ctx);

/* Verifies the image in a slot as the bootloader does (hash, signature if sig, security floor). */
int ota_slot_verify(ota_ctx_t *ctx, unsigned slot, int sig, ota_image_info_t *info);

/* CRC-32 (IEEE 802.3, as zlib) of len bytes, continuing from crc (start with 0). */
uint32_t ota_crc32(uint32_t crc, const void *data, uint32_t len);

#endif
