/*
 * Request counters for GET /metrics (api_ops.c): requests by route, method and status with their
 * total time, kept in memory since the start (Prometheus counters). Thread-safe.
 */
#ifndef OTAKIT_SERVER_METRICS_H
#define OTAKIT_SERVER_METRICS_H

#include <stdio.h>

/* Counts one answered request: route is the route's pattern ("unmatched" when none matched). */
void metrics_request(const char *route, const char *method, unsigned status, double seconds);

/* Writes the request counters in the Prometheus text format (0.0.4), HELP and TYPE lines included. */
void metrics_write_requests(FILE *out);

/* How many check-ins (device API and compat protocols) were answered 2xx/3xx since the start. */
unsigned long long metrics_checkins(void);
/* Counts one device check-in (device API) that wrote rows database rows (0: it changed nothing);
 * read_only: it was answered from a read transaction, without taking the write lock. */
void metrics_check_rows(long long rows, int read_only);
/* Writes the check-in write counters in the Prometheus text format. */
void metrics_write_checks(FILE *out);

#endif
