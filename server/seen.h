/*
 * Batched last_seen: a device check whose only news is the time (devices.last_seen older than
 * CHECK_SEEN_STEP) notes it here instead of taking the write transaction; a flusher thread writes
 * the noted times every SEEN_FLUSH_MS in one write transaction (SEEN_BATCH rows at most each), and
 * the server flushes once more when it stops. A crash loses at most the last interval's times.
 */
#ifndef OTAKIT_SERVER_SEEN_H
#define OTAKIT_SERVER_SEEN_H

#include <stdint.h>

#define SEEN_FLUSH_MS 2000
#define SEEN_BATCH 5000

/* Notes that device checked in at time at (seconds); written by the next flush. */
void seen_note(int64_t device, int64_t at);

/* Writes every noted time now (also at stop). Returns 0 or -1 (the notes are kept for the next). */
int seen_flush(void);

#endif
