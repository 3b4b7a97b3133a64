/*
 * Everything a port provides: the one header a porter reads (docs/porting.md is its checklist).
 *
 *   storage    ota_flash_ops_t + ota_flash_t     otakit/flash.h   read, program, erase one sector
 *   network    ota_net_ops_t + ota_net_t         otakit/net.h     connect, send, recv, close
 *   platform   ota_platform_ops_t                below            clock, sleep, watchdog, bank
 *                                                                 select, entropy
 *
 * The library calls nothing else outside itself (no heap, no stdio, no POSIX): whatever it needs
 * from the chip arrives through these three. ports/host/ is the reference port: flash_sim.c
 * (storage), net_posix.c (network), platform_posix.c (platform).
 *
 * Where each is handed over: the flash in ota_config_t.flash (otakit/ota.h); a transport in
 * ota_http_cfg_t.tcp (otakit/http.h), ota_tls_cfg_t.lower (otakit/tls.h) or ota_push_serve()
 * (otakit/push.h); the platform in ota_config_t.platform (bootloader: watchdog, bank select),
 * ota_http_cfg_t.platform and ota_push_cfg_t.platform (clock; the pull's retry pauses) and
 * ota_tls_cfg_t.platform (entropy). One ota_platform_ops_t serves them all.
 */
#ifndef OTAKIT_PORT_H
#define OTAKIT_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/flash.h"
#include "otakit/net.h"

/* The platform: every member is optional (NULL) unless a feature below needs it; ctx is passed
 * to each operation. Keep it in static storage: the library holds the pointer. */
typedef struct ota_platform_ops {
    /* A monotonic clock in milliseconds from any starting point; may wrap around 2^32. The
     * library's only clock: the deadlines that span many network operations (a push request's
     * head and connection, the pull's overall time) are measured on it. NULL: only each
     * operation's own timeout bounds a wait. Returns the current time. */
    uint32_t (*now_ms)(void *ctx);
    /* Pauses for ms milliseconds (the pull's pause between retries; NULL: no pause). */
    void (*sleep_ms)(void *ctx, uint32_t ms);
    /* Arms the watchdog to reset the chip after timeout_ms unless kicked. ota_boot() calls it
     * when the image it boots is on trial (the commit window), so a new image that hangs is reset
     * and then rolled back. Returns 0 on success. NULL: no commit-window watchdog. */
    int (*watchdog_start)(void *ctx, uint32_t timeout_ms);
    /* Restarts the watchdog's countdown. The library never calls it, so that a hanging image is
     * reset: the firmware does, once it has confirmed itself (or stops the watchdog, if the chip
     * can). NULL when the application has its own. */
    void (*watchdog_kick)(void *ctx);
    /* MCUs with a hardware bank swap (A/B strategy): ota_boot() calls it with the slot to run
     * before it returns. Returns 0 on success. NULL: no bank remapping. */
    int (*select_bank)(void *ctx, unsigned slot);
    /* True random bytes (a hardware RNG) to seed the TLS transport's DRBG: fills len bytes at out.
     * Returns 0, or nonzero on failure. Needed by ota_tls_init() only. */
    int (*entropy)(void *ctx, unsigned char *out, size_t len);
    void *ctx;
    /* The device's image-decryption key (encrypted images, otakit/enc.h: MCUboot's ENC_EC256,
     * ECIES-P256): writes its 32-byte big-endian private scalar to out (from a secure store, OTP,
     * or the bootloader's own flash). Called by ota_end() and ota_boot() only for an image whose
     * header says it is encrypted; the library wipes its copy after use. Returns 0, or nonzero.
     * NULL: encrypted images are refused (OTA_ERR_ENC_KEY). Last, so positional initializers of
     * the members above stay valid. */
    int (*enc_private_key)(void *ctx, uint8_t out[32]);
} ota_platform_ops_t;

/* A deadline on the platform clock (the library's structs hold one; device/core/deadline.h works
 * with it). clock NULL: no deadline. */
typedef struct {
    const ota_platform_ops_t *clock;
    uint32_t start, span;    /* ms on clock's now_ms */
} ota_deadline_t;

#endif
