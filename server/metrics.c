/* Request counters (see metrics.h): a small fixed table under one mutex. */
#include "metrics.h"

#include <pthread.h>
#include <string.h>

#define MAX_SERIES 512

struct series {
    const char *route;  /* a route pattern (static) or "unmatched" */
    char method[8];
    unsigned status;
    unsigned long long count;
    double seconds;
};

static struct series tab[MAX_SERIES];
static unsigned nser;
static unsigned long long dropped; /* past MAX_SERIES: counted under route "other" */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long checks, checks_read_only, checks_writing, check_rows; /* under mu */

/* The routes a device checks in on: otakit's own and the compat protocols'. */
static int is_checkin(const char *route)
{
    return !strcmp(route, "/api/v1/device/check") || !strcmp(route, "/api/v1/esp/{product}/update") ||
           !strcmp(route, "/api/v1/mongoose/{product}/ota.json");
}

void metrics_request(const char *route, const char *method, unsigned status, double seconds)
{
    unsigned i;
    pthread_mutex_lock(&mu);
    for (i = 0; i < nser; i++)
        if (tab[i].route == route && tab[i].status == status && !strncmp(tab[i].method, method, 7))
            break;
    if (i == nser) {
        if (nser == MAX_SERIES) {
            dropped++;
            pthread_mutex_unlock(&mu);
            return;
        }
        tab[i].route = route;
        strncpy(tab[i].method, method, sizeof tab[i].method - 1);
        tab[i].status = status;
        nser++;
    }
    tab[i].count++;
    tab[i].seconds += seconds;
    pthread_mutex_unlock(&mu);
}

unsigned long long metrics_checkins(void)
{
    unsigned long long n = 0;
    unsigned i;
    pthread_mutex_lock(&mu);
    for (i = 0; i < nser; i++)
        if (tab[i].status < 400 && is_checkin(tab[i].route))
            n += tab[i].count;
    pthread_mutex_unlock(&mu);
    return n;
}

void metrics_write_requests(FILE *out)
{
    unsigned i;
    pthread_mutex_lock(&mu);
    fputs("# HELP otakit_http_requests_total Requests answered, by route pattern, method and status.\n"
          "# TYPE otakit_http_requests_total counter\n",
          out);
    for (i = 0; i < nser; i++)
        fprintf(out, "otakit_http_requests_total{route=\"%s\",method=\"%s\",status=\"%u\"} %llu\n", tab[i].route,
                tab[i].method, tab[i].status, tab[i].count);
    if (dropped)
        fprintf(out, "otakit_http_requests_total{route=\"other\",method=\"\",status=\"\"} %llu\n", dropped);
    fputs("# HELP otakit_http_request_seconds_total Time spent answering, by route pattern, method and status.\n"
          "# TYPE otakit_http_request_seconds_total counter\n",
          out);
    for (i = 0; i < nser; i++)
        fprintf(out, "otakit_http_request_seconds_total{route=\"%s\",method=\"%s\",status=\"%u\"} %.6f\n",
                tab[i].route, tab[i].method, tab[i].status, tab[i].seconds);
    pthread_mutex_unlock(&mu);
}

void metrics_check_rows(long long rows, int read_only)
{
    pthread_mutex_lock(&mu);
    checks++;
    checks_read_only += read_only != 0;
    if (rows > 0) {
        checks_writing++;
        check_rows += (unsigned long long)rows;
    }
    pthread_mutex_unlock(&mu);
}

void metrics_write_checks(FILE *out)
{
    unsigned long long n, w, r, ro;
    pthread_mutex_lock(&mu);
    n = checks;
    ro = checks_read_only;
    w = checks_writing;
    r = check_rows;
    pthread_mutex_unlock(&mu);
    fprintf(out,
            "# HELP otakit_checks_total Device API check-ins run against the database.\n"
            "# TYPE otakit_checks_total counter\notakit_checks_total %llu\n"
            "# HELP otakit_checks_read_only_total Of those, the ones answered from a read transaction (no write lock).\n"
            "# TYPE otakit_checks_read_only_total counter\notakit_checks_read_only_total %llu\n"
            "# HELP otakit_checks_writing_total Of those, the ones that wrote at least one row.\n"
            "# TYPE otakit_checks_writing_total counter\notakit_checks_writing_total %llu\n"
            "# HELP otakit_check_rows_written_total Database rows the check-ins wrote (triggers included).\n"
            "# TYPE otakit_check_rows_written_total counter\notakit_check_rows_written_total %llu\n",
            n, ro, w, r);
}
