/*
 * Operations: what a load balancer and a monitoring system ask the server.
 *
 *   GET /healthz   (no token) 200 {"status":"ok","database":"ok","disk_free_bytes":N,"version":V}
 *                  when the database answers a query and the artifact store's file system has at
 *                  least HEALTH_MIN_FREE bytes free; else 503 unhealthy, the message saying which.
 *   GET /metrics   (admin token) the Prometheus text format: requests by route and status
 *                  (metrics.h), check-ins, device reports by status, devices by state, rollouts by
 *                  state, the latency of a database query made for this scrape, open connections.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "db.h"
#include "metrics.h"
#include "server.h"
#include "sql.h"

#define HEALTH_MIN_FREE (64ull << 20)

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Free bytes for an unprivileged writer on the artifacts' file system, or -1. */
static long long disk_free(void)
{
    struct statvfs v;
    if (statvfs(g_server.artifacts_dir, &v) != 0)
        return -1;
    return (long long)v.f_bavail * (long long)v.f_frsize;
}

static enum MHD_Result healthz(http_req_t *r)
{
    db_t *db = db_get();
    long long free_b = disk_free();
    int db_ok = db && q_int(db, -1, "SELECT COUNT(*) FROM products", "") >= 0;
    if (!db_ok)
        return http_error(r, ERR_UNHEALTHY, "the database does not answer");
    if (free_b < 0)
        return http_error(r, ERR_UNHEALTHY, "cannot read the free space of %s", g_server.artifacts_dir);
    if ((unsigned long long)free_b < HEALTH_MIN_FREE)
        return http_error(r, ERR_UNHEALTHY, "%lld bytes free for artifacts (less than %llu)", free_b,
                          HEALTH_MIN_FREE);
    return http_json(r, 200, json_pack("{s:s,s:s,s:I,s:s}", "status", "ok", "database", "ok", "disk_free_bytes",
                                       (json_int_t)free_b, "version", OTAKIT_VERSION));
}

/* One gauge family from a "SELECT label, COUNT(*) ... GROUP BY label" query. */
static void gauge_by(FILE *out, db_t *db, const char *name, const char *help, const char *label, const char *sql)
{
    db_stmt_t *st = q_prep(db, sql, "");
    fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    while (st && db_step(st) == DB_ROW)
        fprintf(out, "%s{%s=\"%s\"} %lld\n", name, label, q_text(st, 0), (long long)db_column_int64(st, 1));
    db_done(st);
}

static enum MHD_Result metrics(http_req_t *r)
{
    db_t *db = db_get();
    char *buf = NULL;
    size_t len = 0;
    FILE *out;
    double t0, lat;
    enum MHD_Result ret;
    if (!db)
        return http_error(r, ERR_DATABASE, "no connection");
    if (!(out = open_memstream(&buf, &len)))
        return http_error(r, ERR_INTERNAL, "out of memory");
    fprintf(out, "# HELP otakit_build_info The server's version.\n# TYPE otakit_build_info gauge\n"
                 "otakit_build_info{version=\"%s\"} 1\n", OTAKIT_VERSION);
    metrics_write_requests(out);
    metrics_write_checks(out);
    fprintf(out, "# HELP otakit_checkins_total Device check-ins answered (device API and compat protocols).\n"
                 "# TYPE otakit_checkins_total counter\notakit_checkins_total %llu\n", metrics_checkins());
    t0 = mono_s();
    gauge_by(out, db, "otakit_device_reports", "Device reports recorded, by status (from the device histories).",
             "status",
             "SELECT kind, COUNT(*) FROM events WHERE kind IN ('downloading','downloaded','installing','installed',"
             "'confirmed','failed','rolled_back','declined') GROUP BY kind ORDER BY kind");
    lat = mono_s() - t0;
    gauge_by(out, db, "otakit_devices", "Devices, by state.", "state",
             "SELECT state, COUNT(*) FROM devices GROUP BY state ORDER BY state");
    gauge_by(out, db, "otakit_rollouts", "Rollouts, by state.", "state",
             "SELECT state, COUNT(*) FROM rollouts GROUP BY state ORDER BY state");
    fprintf(out, "# HELP otakit_db_query_seconds Time of this scrape's device-report query.\n"
                 "# TYPE otakit_db_query_seconds gauge\notakit_db_query_seconds %.6f\n", lat);
    fprintf(out, "# HELP otakit_connections_open Connections open now (held check-ins and downloads included).\n"
                 "# TYPE otakit_connections_open gauge\notakit_connections_open %u\n", http_conns_live());
    if (fclose(out) != 0) {
        free(buf);
        return http_error(r, ERR_INTERNAL, "out of memory");
    }
    ret = http_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", buf, len, NULL);
    free(buf);
    return ret;
}

const http_route_t ops_routes[] = {
    {"GET", "/healthz", healthz, AUTH_NONE, BODY_NONE},
    {"GET", "/metrics", metrics, AUTH_ADMIN, BODY_NONE},
    {NULL, NULL, NULL, 0, 0},
};
