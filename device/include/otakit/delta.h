/*
 * Delta updates: rebuild a new image from the running one and a signed patch, streaming, with no
 * heap and a bounded window, writing through ota_write() so that ota_end() verifies the result
 * from flash exactly like a full download.
 *
 * The patch (docs/image-format.md, "Delta patches"; lib/delta.c makes them):
 *
 *   header (OTA_DELTA_HDR_SIZE bytes)
 *     "OTKD", format 1, window bits, lookahead bits, 0, block_max, base_size, target_size,
 *     body_size, SHA-256 of the base image, SHA-256 of the target image, SHA-256 of block 0
 *     (OTA_DELTA_SIGNED bytes, covered by) u16 signature length, ECDSA-P256 signature (DER), zeros
 *   blocks, body_size bytes in all; block i is
 *     u16 n (1..block_max), n bytes compressed, SHA-256 of block i+1 (zeros after the last)
 *
 * The signature makes the hash of block 0 authentic, and each block carries the hash of the next:
 * every block is checked before a bit of it is decoded (a hash chain), so a patch is authenticated
 * block by block before use, and a resume needs only the hash of the block it restarts at.
 * Each block decompresses on its own (LZSS, window 2^window_bits: the decompressor restarts at every
 * block) into a bsdiff-style instruction stream: varint diff_len, varint extra_len, zigzag varint
 * seek, diff_len bytes added to the base bytes at the base pointer, extra_len new bytes, then the
 * base pointer moves by seek. An instruction may span blocks; its state is the checkpoint's.
 *
 * RAM: ota_delta_t (about 2.4 KB with the defaults: the block, the window, a base and an output
 * buffer), the caller's (statically on an MCU). Portable C99: no heap, no stdio, no POSIX.
 */
#ifndef OTAKIT_DELTA_H
#define OTAKIT_DELTA_H

#include <stdint.h>

#include "otakit/agent.h"

#define OTA_DELTA_MAGIC "OTKD"
#define OTA_DELTA_FORMAT 1u
#define OTA_DELTA_SIGNED 120u   /* header bytes the signature covers */
#define OTA_DELTA_HDR_SIZE 196u /* the whole header: signed part, u16 length, 72 bytes of signature, pad */

#ifndef OTA_DELTA_BLOCK_MAX
#define OTA_DELTA_BLOCK_MAX 1024u   /* largest compressed block this device takes */
#endif
#ifndef OTA_DELTA_WINDOW_BITS
#define OTA_DELTA_WINDOW_BITS 10u   /* largest LZ window this device takes: 2^bits bytes of RAM */
#endif
#ifndef OTA_DELTA_IO_BUF
#define OTA_DELTA_IO_BUF 128u       /* base bytes read ahead, output bytes gathered for ota_write */
#endif
#define OTA_DELTA_CKPT_SIZE 72u     /* ota_delta_ckpt_put() bytes */

/* The header, decoded. */
typedef struct {
    uint8_t window_bits, lookahead_bits;
    uint32_t block_max, base_size, target_size, body_size;
    uint8_t base_sha[32], target_sha[32], first_hash[32];
} ota_delta_hdr_t;

/* Decodes and checks the header's structure (not its signature): magic, format, parameters within
 * this device's limits (OTA_DELTA_BLOCK_MAX, OTA_DELTA_WINDOW_BITS). Returns OTA_OK, OTA_ERR_DELTA
 * (not a patch, or malformed) or OTA_ERR_DELTA_LIMITS (a window or block this device cannot hold). */
int ota_delta_hdr_parse(const uint8_t *buf, uint32_t len, ota_delta_hdr_t *h);

/* Verifies the header's signature with one of the trusted keys. Returns OTA_OK, OTA_ERR_DELTA
 * (length or padding wrong) or OTA_ERR_SIGNATURE (no key verifies it). */
int ota_delta_hdr_verify(const uint8_t buf[OTA_DELTA_HDR_SIZE], const ota_pubkey_t *keys, unsigned n_keys);

/* Where application of a patch stands at a block boundary: what a resume needs. */
typedef struct {
    uint8_t id[8];          /* first bytes of the patch's block-0 hash: which patch this is */
    uint32_t patch_off;     /* patch offset of the next block */
    uint32_t out_off;       /* image bytes produced before it */
    uint32_t old_pos;       /* base pointer */
    uint32_t remaining;     /* bytes left of the current diff (phase 3) or extra (4) run */
    uint32_t extra_len;     /* the instruction's extra length (during its diff run) */
    uint32_t seek;          /* its seek, zigzag-coded */
    uint32_t acc;           /* varint being read */
    uint8_t phase;          /* 0..2 reading diff_len, extra_len, seek; 3 diff; 4 extra */
    uint8_t shift;          /* varint bits read */
    uint8_t hash[32];       /* SHA-256 the next block must have */
} ota_delta_ckpt_t;

/* Serializes a checkpoint (OTA_DELTA_CKPT_SIZE bytes) and reads one back (OTA_OK or OTA_ERR_DELTA). */
void ota_delta_ckpt_put(const ota_delta_ckpt_t *c, uint8_t out[OTA_DELTA_CKPT_SIZE]);
int ota_delta_ckpt_get(const uint8_t in[OTA_DELTA_CKPT_SIZE], ota_delta_ckpt_t *c);

/* The applier: all RAM that patching takes. */
typedef struct {
    ota_ctx_t *ota;
    ota_delta_hdr_t hdr;
    ota_delta_ckpt_t at;       /* state at the start of the block being received */
    ota_delta_ckpt_t cur;      /* live decoder state */
    uint32_t base_addr;        /* flash address of the base image (the running slot) */
    uint32_t skip_to;          /* image bytes below this are in flash already (a resume) */
    uint32_t progress_seen;    /* the writer's journal checkpoint last seen */
    uint32_t blk_have;         /* bytes of the current block received */
    uint32_t old_at, old_n;    /* base bytes held in old[] */
    uint32_t out_n;            /* bytes gathered in out[] */
    uint8_t hdr_ok;            /* the header was verified and the writer opened */
    uint8_t done;              /* the last block was applied */
    /* Called with a checkpoint a reset can resume from (persist it); NULL: none. */
    void (*checkpoint)(void *arg, const ota_delta_ckpt_t *c);
    void *checkpoint_arg;
    union {                    /* SHA-256 of the image produced (crypto/crypto.h's context) */
        uint8_t b[160];
        uint64_t align;
    } hash_ctx;
    uint8_t blk[2 + OTA_DELTA_BLOCK_MAX + 32];
    uint8_t win[1u << OTA_DELTA_WINDOW_BITS];
    uint8_t old[OTA_DELTA_IO_BUF];
    uint8_t out[OTA_DELTA_IO_BUF];
} ota_delta_t;

/* Hashes the image in the running slot ([0, size) of it) into sha. Returns OTA_OK or a flash error. */
int ota_delta_base_sha(ota_ctx_t *ota, uint32_t size, uint8_t sha[32]);

/* Starts applying the patch whose verified header is hdr (ota_delta_hdr_parse + _verify): checks
 * that the running slot holds its base (OTA_ERR_DELTA_BASE otherwise: take the full image) and
 * opens the writer with ota_begin(target_size). With resume not NULL (a checkpoint of this patch,
 * saved before a reset), continues instead: ota_resume() gives the point flash is good up to, the
 * image below it is hashed from flash, and decoding restarts at the checkpoint's block, writing
 * only what lies past that point. The bytes to feed next start at patch offset *next_off.
 * Returns OTA_OK, OTA_ERR_DELTA_BASE, OTA_ERR_STATE, the writer's or the flash's errors. */
int ota_delta_start(ota_delta_t *d, ota_ctx_t *ota, const ota_delta_hdr_t *hdr, const ota_delta_ckpt_t *resume,
                    uint32_t *next_off);

/* Feeds the next len bytes of the patch body (any chunks, in order from *next_off of start). Each
 * block is checked against the hash chain before it is decoded. Returns OTA_OK (more wanted, or
 * done), OTA_ERR_HASH (a block is not the signed one: tampered or another patch), OTA_ERR_DELTA
 * (a verified block that does not decode, or data past the end), or the writer's errors. */
int ota_delta_feed(ota_delta_t *d, const uint8_t *p, uint32_t len);

/* After a dropped transfer: forgets the part of the block being received and answers the patch
 * offset to fetch from next (that block's start: a dropped connection loses less than a block). */
uint32_t ota_delta_rewind(ota_delta_t *d);

/* After the whole body: checks the image's SHA-256 against the signed header's, then ota_end()
 * (structure, hash, signature, product, hardware from flash; only then marked pending). Returns
 * OTA_OK, OTA_ERR_INCOMPLETE, OTA_ERR_HASH or ota_end()'s errors. */
int ota_delta_finish(ota_delta_t *d);

/* ---- fetching a patch over HTTP(S) -------------------------------------------------------- */

typedef struct {
    const char *token;        /* device token; NULL: none */
    uint32_t size;            /* the patch's size (the offer's) */
    const char *sha256;       /* the patch's SHA-256 (64 hex digits): its entity tag, pinned */
    const uint8_t *target_sha;/* the offered image's SHA-256 (32 bytes): the header must name it */
    uint32_t target_size;     /* and its size */
    const ota_delta_ckpt_t *resume; /* a checkpoint saved before a reset, or NULL */
    uint8_t max_retries;      /* failed attempts in a row without a new block; 0 means 5 */
    uint32_t deadline_ms;     /* the whole fetch; 0 means one hour */
} ota_delta_pull_opts_t;

/* Downloads the patch at url and applies it: the header first (signature by a trusted key of
 * ota's configuration, target and parameters), then ota_delta_start() (base check, ota_begin or
 * the resume), then the blocks as they arrive; a dropped connection continues with Range/If-Range
 * from the block it broke in. Ends with ota_delta_finish(). d->checkpoint gets the resume points.
 * Returns OTA_OK (image verified and pending), OTA_ERR_DELTA_BASE / OTA_ERR_DELTA_LIMITS (take the
 * full image: nothing was written), OTA_ERR_SIGNATURE / OTA_ERR_CHANGED (the header is not the
 * signed patch of the offered image: nothing was written), OTA_ERR_HASH / OTA_ERR_DELTA (a block
 * failed its hash or did not decode: the download is abandoned, ota_abort), the network's errors
 * once the retries are spent (resumable), or the writer's. stats may be NULL. */
int ota_delta_pull(ota_delta_t *d, ota_ctx_t *ota, ota_http_t *http, const char *url,
                   const ota_delta_pull_opts_t *o, ota_pull_stats_t *stats);


#endif
