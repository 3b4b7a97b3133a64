/* Boot-state journal (internal): power-fail-safe persistence of ota_record_t. */
#ifndef OTAKIT_JOURNAL_H
#define OTAKIT_JOURNAL_H

#include "otakit/ota.h"

#define OTA_JOURNAL_ENTRY 32u

/* Scans the state area and loads the newest valid entry into ctx->rec (defaults when none). */
int ota_journal_load(ota_ctx_t *ctx);

/* Appends r as the newest entry (seq = current + 1). On success ctx->rec = *r. A power cut at any
 * point leaves either the previous or the new record as the newest valid one. */
int ota_journal_save(ota_ctx_t *ctx, const ota_record_t *r);

#endif
