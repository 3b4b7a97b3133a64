/*
 * Abuse limits of otakit-server, shared by every thread: token buckets keyed by a string (first
 * contacts per source address and per product) and live connection counts per source address.
 * Memory is fixed: keys hash into a bounded table, and two keys that collide share a limit (which
 * only ever makes a limit stricter).
 */
#ifndef OTAKIT_SERVER_RATELIMIT_H
#define OTAKIT_SERVER_RATELIMIT_H

/* Takes one token from the bucket of key, which refills at per_minute tokens a minute up to a
 * burst of per_minute. Returns 0 when allowed, else the seconds to wait before one is free (>= 1).
 * per_minute 0 means unlimited. */
unsigned rl_take(const char *key, unsigned per_minute);

/* Counts a connection from addr in (delta +1) or out (-1); returns the count after the change. */
unsigned rl_conn_count(const char *addr, int delta);

#endif
