/*
 * Making delta patches (host side: heap, used by otakit-server and the benchmarks). The format and
 * the device's applier are otakit/delta.h's. The difference is bsdiff's scheme (a suffix array of
 * the base from libdivsufsort; each stretch of the new image is an approximate match in the base,
 * stored as bytewise differences, plus the bytes that match nothing), written as one instruction
 * stream and cut into blocks that each compress on their own (LZSS with a small window), chained
 * by hashes and headed by a signed header.
 */
#ifndef OTAKIT_DELTA_MAKE_H
#define OTAKIT_DELTA_MAKE_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/keys.h"

typedef struct {
    unsigned window_bits;    /* LZ window 2^bits bytes (the device's RAM for it); 4..15 */
    unsigned lookahead_bits; /* longest LZ match 2^bits + 2 bytes; 2..8 */
    unsigned block_max;      /* largest compressed block (the device's block buffer); 64..65535 */
} ota_delta_params_t;

/* What a patch holds, for benchmarks and logs. */
typedef struct {
    size_t ops;              /* instructions */
    size_t diff_bytes;       /* bytes taken from the base (with a difference, often zero) */
    size_t extra_bytes;      /* bytes that match nothing in the base */
    size_t stream_bytes;     /* the instruction stream before compression */
    size_t blocks;
} ota_delta_stats_t;

/* Defaults: a 1 KB window (10 bits), matches up to 258 bytes (8 bits: the long zero runs of a
 * difference), 1 KB blocks. */
void ota_delta_params_init(ota_delta_params_t *p);

/* Makes the patch that turns base into target, signed with key (a private P-256 key), into a new
 * heap buffer (*out, *out_len; caller frees). stats may be NULL. Returns OTA_OK, OTA_ERR_ARG (bad
 * parameters, an empty or over-4-GB image), OTA_ERR_NO_MEM, OTA_ERR_KEY_PUBLIC or OTA_ERR_CRYPTO. */
int ota_delta_make(const uint8_t *base, size_t base_len, const uint8_t *target, size_t target_len,
                   const ota_delta_params_t *p, const ota_key_t *key, uint8_t **out, size_t *out_len,
                   ota_delta_stats_t *stats);

#endif
