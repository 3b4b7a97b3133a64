/*
 * Deadlines over many network operations (ota_deadline_t, otakit/port.h), measured with the
 * platform's clock (ota_platform_ops_t.now_ms).
 * Internal header: not part of the public API. Without a clock a deadline never passes and each
 * wait is the operation's own timeout.
 */
#ifndef OTAKIT_CORE_DEADLINE_H
#define OTAKIT_CORE_DEADLINE_H

#include <stdint.h>

#include "otakit/port.h"

/* Starts a deadline span_ms from now on the platform's clock; span_ms 0 or no clock: none. */
static inline void ota_deadline_start(ota_deadline_t *d, const ota_platform_ops_t *p, uint32_t span_ms)
{
    d->clock = span_ms && p && p->now_ms ? p : 0;
    d->span = span_ms;
    d->start = d->clock ? d->clock->now_ms(d->clock->ctx) : 0;
}

/* How long one operation may wait: op_ms, cut to what is left of d. Returns 0 once d has passed
 * (the caller fails with OTA_ERR_TIMEOUT). */
static inline uint32_t ota_deadline_wait(const ota_deadline_t *d, uint32_t op_ms)
{
    uint32_t used;
    if (!d->clock)
        return op_ms;
    used = d->clock->now_ms(d->clock->ctx) - d->start; /* modulo 2^32: wraps are harmless */
    if (used >= d->span)
        return 0;
    return d->span - used < op_ms ? d->span - used : op_ms;
}

#endif
