/*
 * fleet_load: the simulated fleet of bench/fleet.sh. A few threads, each with one keep-alive
 * HTTP/1.1 connection, speak the device API for many devices (a device is a token, not a
 * process), and print what they measured as "key=value" lines.
 *
 *   fleet_load register HOST PORT ENROLL PREFIX FROM COUNT CONNS TOKENS VERSION
 *       registers devices PREFIX-FROM..PREFIX-(FROM+COUNT-1) running VERSION, appends their tokens
 *   fleet_load check HOST PORT TOKENS N SECONDS CONNS PATH
 *       GET PATH for SECONDS, each request with the next of the first N tokens
 *   fleet_load rollout HOST PORT TOKENS N CONNS FROM TO TIMEOUT
 *       the first N devices (running FROM) check in until offered TO, report it installed and
 *       confirmed (the staged rollout moves on by itself), until all N run TO or TIMEOUT seconds
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *host;
static int port;
static char **tokens;
static size_t ntokens;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- one keep-alive connection ----------------------------------------------------------------- */

typedef struct {
    int fd;
    char buf[65536];
    size_t have;
    char body[16384];
    int status;
} conn_t;

static int conn_open(conn_t *c)
{
    struct sockaddr_in sa;
    int one = 1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &sa.sin_addr);
    c->have = 0;
    if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

/* Sends one request and reads its answer into c->status / c->body. 0 or -1 (reconnects next time). */
static int conn_req(conn_t *c, const char *method, const char *path, const char *token, const char *json)
{
    char req[2048];
    int n, tries;
    for (tries = 0; tries < 2; tries++) {
        size_t off = 0, hlen, clen;
        char *end, *cl;
        if (c->fd < 0 && conn_open(c) != 0)
            return -1;
        n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n%s%s%.0d%s\r\n%s", method, path,
                     host, token, json ? "Content-Type: application/json\r\n" : "",
                     json ? "Content-Length: " : "", json ? (int)strlen(json) : 0, json ? "\r\n" : "",
                     json ? json : "");
        while (off < (size_t)n) {
            ssize_t w = write(c->fd, req + off, (size_t)n - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        if (off < (size_t)n)
            goto again;
        c->have = 0;
        for (;;) { /* headers */
            ssize_t r;
            c->buf[c->have] = 0;
            if ((end = strstr(c->buf, "\r\n\r\n")) != NULL)
                break;
            if (c->have + 1 >= sizeof c->buf || (r = read(c->fd, c->buf + c->have, sizeof c->buf - 1 - c->have)) <= 0)
                goto again;
            c->have += (size_t)r;
        }
        hlen = (size_t)(end + 4 - c->buf);
        c->status = atoi(c->buf + 9);
        cl = strcasestr(c->buf, "\r\nContent-Length:");
        clen = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
        while (c->have < hlen + clen) {
            ssize_t r;
            if (c->have + 1 >= sizeof c->buf || (r = read(c->fd, c->buf + c->have, sizeof c->buf - 1 - c->have)) <= 0)
                goto again;
            c->have += (size_t)r;
        }
        n = (int)(clen < sizeof c->body - 1 ? clen : sizeof c->body - 1);
        memcpy(c->body, c->buf + hlen, (size_t)n);
        c->body[n] = 0;
        if (strcasestr(c->buf, "\r\nConnection: close") && strcasestr(c->buf, "\r\nConnection: close") < end) {
            close(c->fd);
            c->fd = -1;
        }
        return 0;
    again:
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
    }
    return -1;
}

/* ---- latency samples ----------------------------------------------------------------------------- */

typedef struct {
    double *v;
    size_t n, cap;
    pthread_mutex_t mu;
} samples_t;

static void sample(samples_t *s, double secs)
{
    pthread_mutex_lock(&s->mu);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
    }
    if (s->v)
        s->v[s->n++] = secs;
    pthread_mutex_unlock(&s->mu);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void print_pct(const char *what, samples_t *s)
{
    if (!s->n) {
        printf("%s_n=0\n", what);
        return;
    }
    qsort(s->v, s->n, sizeof *s->v, cmp);
    printf("%s_n=%zu\n%s_p50_ms=%.3f\n%s_p99_ms=%.3f\n", what, s->n, what, s->v[s->n / 2] * 1e3, what,
           s->v[(size_t)((double)s->n * 0.99)] * 1e3);
}

/* ---- the modes -------------------------------------------------------------------------------- */

static struct {
    const char *enroll, *prefix, *path, *from, *to, *version;
    long first, count;
    double until;
    atomic_long next, done, errors;
    unsigned char *state; /* rollout: 0 pending, 1 runs TO */
    samples_t lat, report_lat;
    FILE *out;
    pthread_mutex_t out_mu;
} job;

static void *register_main(void *arg)
{
    conn_t *c = arg;
    char body[256], tok[80];
    long i;
    while ((i = atomic_fetch_add(&job.next, 1)) < job.count) {
        char *t;
        snprintf(body, sizeof body, "{\"device_id\":\"%s-%06ld\",\"hw_rev\":\"a\",\"version\":\"%s\",\"slot\":0}",
                 job.prefix, job.first + i, job.version);
        if (conn_req(c, "POST", "/api/v1/device/register", job.enroll, body) != 0 || c->status != 201 ||
            !(t = strstr(c->body, "\"device_token\":\""))) {
            atomic_fetch_add(&job.errors, 1);
            continue;
        }
        snprintf(tok, sizeof tok, "%.64s", t + 16);
        pthread_mutex_lock(&job.out_mu);
        fprintf(job.out, "%s\n", tok);
        pthread_mutex_unlock(&job.out_mu);
    }
    return NULL;
}

static void *check_main(void *arg)
{
    conn_t *c = arg;
    while (now() < job.until) {
        long i = atomic_fetch_add(&job.next, 1);
        double t0 = now();
        if (conn_req(c, "GET", job.path, tokens[(size_t)i % (size_t)job.count], NULL) != 0 || c->status != 200)
            atomic_fetch_add(&job.errors, 1);
        else
            sample(&job.lat, now() - t0);
        atomic_fetch_add(&job.done, 1);
    }
    return NULL;
}

/* One device of the rollout: check; when offered TO, report installed then confirmed. */
static void device_step(conn_t *c, long i)
{
    char path[200], body[200], *a;
    double t0;
    long action;
    snprintf(path, sizeof path, "/api/v1/device/check?version=%s&slot=0", job.from);
    if (conn_req(c, "GET", path, tokens[i], NULL) != 0 || c->status != 200) {
        atomic_fetch_add(&job.errors, 1);
        return;
    }
    if (!(a = strstr(c->body, "\"action_id\":")) || !strstr(c->body, job.to))
        return; /* not offered yet: its stage has not started */
    action = strtol(a + 12, NULL, 10);
    snprintf(body, sizeof body, "{\"action_id\":%ld,\"status\":\"installed\"}", action);
    t0 = now();
    if (conn_req(c, "POST", "/api/v1/device/report", tokens[i], body) != 0 || c->status != 200) {
        atomic_fetch_add(&job.errors, 1);
        return;
    }
    sample(&job.report_lat, now() - t0);
    snprintf(body, sizeof body, "{\"action_id\":%ld,\"status\":\"confirmed\",\"version\":\"%s\"}", action, job.to);
    t0 = now();
    if (conn_req(c, "POST", "/api/v1/device/report", tokens[i], body) != 0 || c->status != 200) {
        atomic_fetch_add(&job.errors, 1);
        return;
    }
    sample(&job.report_lat, now() - t0);
    job.state[i] = 1;
    atomic_fetch_add(&job.done, 1);
}

static void *rollout_main(void *arg)
{
    conn_t *c = arg;
    long i;
    while ((i = atomic_fetch_add(&job.next, 1)) < job.count)
        if (!job.state[i])
            device_step(c, i);
    return NULL;
}

static void run(void *(*fn)(void *), int nconn)
{
    pthread_t th[256];
    conn_t *c = calloc((size_t)nconn, sizeof *c);
    int i;
    for (i = 0; i < nconn; i++) {
        c[i].fd = -1;
        pthread_create(&th[i], NULL, fn, &c[i]);
    }
    for (i = 0; i < nconn; i++) {
        pthread_join(th[i], NULL);
        if (c[i].fd >= 0)
            close(c[i].fd);
    }
    free(c);
}

static int load_tokens(const char *path, long want)
{
    FILE *f = fopen(path, "r");
    char line[128];
    if (!f)
        return -1;
    tokens = calloc((size_t)want, sizeof *tokens);
    while (tokens && ntokens < (size_t)want && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        tokens[ntokens++] = strdup(line);
    }
    fclose(f);
    return ntokens == (size_t)want ? 0 : -1;
}

int main(int argc, char **argv)
{
    int nconn;
    double t0;
    pthread_mutex_init(&job.lat.mu, NULL);
    pthread_mutex_init(&job.report_lat.mu, NULL);
    pthread_mutex_init(&job.out_mu, NULL);
    if (argc == 11 && !strcmp(argv[1], "register")) {
        job.version = argv[10];
        host = argv[2];
        port = atoi(argv[3]);
        job.enroll = argv[4];
        job.prefix = argv[5];
        job.first = atol(argv[6]);
        job.count = atol(argv[7]);
        nconn = atoi(argv[8]);
        if (!(job.out = fopen(argv[9], "a")))
            return 1;
        t0 = now();
        run(register_main, nconn > 0 && nconn <= 256 ? nconn : 8);
        fclose(job.out);
        printf("registered=%ld\nregister_errors=%ld\nregister_s=%.3f\n", job.count - atomic_load(&job.errors),
               atomic_load(&job.errors), now() - t0);
        return atomic_load(&job.errors) ? 1 : 0;
    }
    if (argc == 9 && !strcmp(argv[1], "check")) {
        host = argv[2];
        port = atoi(argv[3]);
        job.count = atol(argv[5]);
        if (load_tokens(argv[4], job.count) != 0)
            return fprintf(stderr, "fleet_load: cannot read %ld tokens from %s\n", job.count, argv[4]), 1;
        job.path = argv[8];
        t0 = now();
        job.until = t0 + atof(argv[6]);
        nconn = atoi(argv[7]);
        run(check_main, nconn > 0 && nconn <= 256 ? nconn : 8);
        printf("requests=%ld\nerrors=%ld\nper_s=%.0f\n", atomic_load(&job.done), atomic_load(&job.errors),
               (double)atomic_load(&job.done) / (now() - t0));
        print_pct("latency", &job.lat);
        return 0;
    }
    if (argc == 10 && !strcmp(argv[1], "rollout")) {
        double deadline;
        long pass = 0;
        host = argv[2];
        port = atoi(argv[3]);
        job.count = atol(argv[5]);
        if (load_tokens(argv[4], job.count) != 0)
            return fprintf(stderr, "fleet_load: cannot read %ld tokens from %s\n", job.count, argv[4]), 1;
        nconn = atoi(argv[6]);
        job.from = argv[7];
        job.to = argv[8];
        job.state = calloc((size_t)job.count, 1);
        t0 = now();
        deadline = t0 + atof(argv[9]);
        while (atomic_load(&job.done) < job.count && now() < deadline) {
            long before = atomic_load(&job.done);
            atomic_store(&job.next, 0);
            run(rollout_main, nconn > 0 && nconn <= 256 ? nconn : 8);
            pass++;
            if (atomic_load(&job.done) == before)
                usleep(200000); /* nobody was offered: the next stage has not started yet */
        }
        printf("updated=%ld\nrollout_errors=%ld\npasses=%ld\nrollout_s=%.3f\n", atomic_load(&job.done),
               atomic_load(&job.errors), pass, now() - t0);
        print_pct("report", &job.report_lat);
        return atomic_load(&job.done) == job.count ? 0 : 1;
    }
    fprintf(stderr, "usage: see the header of bench/fleet_load.c\n");
    return 2;
}
