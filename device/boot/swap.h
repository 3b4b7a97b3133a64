/* Power-fail-safe exchange of slot 0 and slot 1 through the scratch area, decrypting and
 * re-encrypting encrypted images on the way, and the A/B layout's in-place decryption (internal). */
#ifndef OTAKIT_SWAP_H
#define OTAKIT_SWAP_H

#include "otakit/ota.h"

#define OTA_SWAP_INSTALL 1 /* bring the new image from slot 1 into slot 0; then TESTING */
#define OTA_SWAP_REVERT 2  /* put the previous image back into slot 0; then FAILED */
#define OTA_SWAP_RECOVER 3 /* slot 0 is unbootable, slot 1 valid: bring it in; then NONE */
#define OTA_SWAP_DECRYPT 4 /* A/B: decrypt the new image in its slot through the scratch; then TESTING */

/* Number of slot sectors the swap must exchange to move both images whole (OTA_SWAP_DECRYPT: the
 * sectors of the target slot's image). */
uint16_t ota_swap_chunks(ota_ctx_t *ctx);

/* Starts a swap of kind op (records it, then runs it). */
int ota_swap_start(ota_ctx_t *ctx, uint8_t op);

/* Whether the layout can decrypt an A/B image in place: a scratch area at least as large as the
 * target slot's largest sector. */
int ota_swap_can_decrypt(const ota_ctx_t *ctx);

/* Runs the swap recorded in the journal (ctx->rec.swap_op != 0) from where it stopped to the end,
 * saving progress after every step and the resulting state with the last one. */
int ota_swap_run(ota_ctx_t *ctx);

#endif
