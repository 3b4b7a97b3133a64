/*
 * Live rollout updates for the dashboard, as Server-Sent Events:
 *
 *   GET /api/v1/products/{product}/rollouts/{rollout}/stream     (owner or admin token; a browser's
 *       EventSource, which cannot send headers, gives it as ?access_token=)
 *       -> text/event-stream: "event: rollout" with the rollout's JSON (as GET .../rollouts/{id})
 *          at once and on every change; ": keep-alive" comments every 15 s; the stream ends
 *          after the event that says finished or cancelled.
 *
 * libmicrohttpd's threads serve every connection (a small pool, epoll), so a stream must never
 * block one: its content reader answers what is ready, and when nothing changed it suspends the
 * connection (off the event loop, no thread held) and returns 0. One thread resumes the
 * suspended streams every SSE_TICK_MS; each then looks at its rollout again (one read). A stream
 * holds a connection: it counts against --max-connections and --max-connections-per-ip, and
 * SSE_MAX streams at most are open (more are answered 503 overloaded: the page then polls).
 */
#include "sse.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "lookup.h"
#include "rollouts.h"
#include "server.h"

#define SSE_TICK_MS 1000
#define SSE_KEEPALIVE_MS 15000
#define SSE_MAX 256

typedef struct stream {
    struct MHD_Connection *conn;
    int64_t product, rollout;
    char *last;          /* the rollout JSON last sent */
    char *out;           /* what is still to be written */
    size_t len, off;
    int64_t sent_ms;     /* when something was last written */
    int done;            /* the final event is out: end after it */
    int suspended;
    struct stream *next; /* every open stream (g_sse.list) */
} stream_t;

static struct {
    pthread_mutex_t mu;
    pthread_t th;
    int started, stop;
    unsigned n;
    stream_t *list;
} g_sse = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, NULL};

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void *resumer(void *arg)
{
    struct timespec tick = {SSE_TICK_MS / 1000, (SSE_TICK_MS % 1000) * 1000000L};
    (void)arg;
    for (;;) {
        stream_t *s;
        nanosleep(&tick, NULL);
        pthread_mutex_lock(&g_sse.mu);
        if (g_sse.stop) {
            pthread_mutex_unlock(&g_sse.mu);
            return NULL;
        }
        for (s = g_sse.list; s; s = s->next)
            if (s->suspended) {
                s->suspended = 0;
                MHD_resume_connection(s->conn);
            }
        pthread_mutex_unlock(&g_sse.mu);
    }
}

/* Queues text (owned) for writing. */
static void put(stream_t *s, char *text)
{
    free(s->out);
    s->out = text;
    s->len = strlen(text);
    s->off = 0;
    s->sent_ms = now_ms();
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream_t *s = cls;
    db_t *db;
    (void)pos;
    if (s->off >= s->len) {
        json_t *ro;
        char *txt, *ev;
        const char *state;
        if (s->done)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (!(db = db_get()) || !(ro = rollout_json(db, s->product, s->rollout)))
            return MHD_CONTENT_READER_END_OF_STREAM; /* deleted with its product, or no database */
        state = json_string_value(json_object_get(ro, "state"));
        s->done = state && (!strcmp(state, "finished") || !strcmp(state, "cancelled"));
        txt = json_dumps(ro, JSON_COMPACT | JSON_REAL_PRECISION(15));
        json_decref(ro);
        if (!txt)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (!s->last || strcmp(txt, s->last) != 0) {
            size_t n = strlen(txt) + 64;
            if (!(ev = malloc(n))) {
                free(txt);
                return MHD_CONTENT_READER_END_WITH_ERROR;
            }
            snprintf(ev, n, "%sevent: rollout\ndata: %s\n\n", s->last ? "" : "retry: 2000\n", txt);
            free(s->last);
            s->last = txt;
            put(s, ev);
        } else {
            free(txt);
            if (now_ms() - s->sent_ms < SSE_KEEPALIVE_MS) {
                /* Nothing new: off the event loop until the resumer's next tick. */
                pthread_mutex_lock(&g_sse.mu);
                if (g_sse.stop) { /* shutting down: end, never wait suspended */
                    pthread_mutex_unlock(&g_sse.mu);
                    return MHD_CONTENT_READER_END_OF_STREAM;
                }
                s->suspended = 1;
                MHD_suspend_connection(s->conn);
                pthread_mutex_unlock(&g_sse.mu);
                return 0;
            }
            put(s, strdup(": keep-alive\n\n"));
            if (!s->out)
                return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
    if (max > s->len - s->off)
        max = s->len - s->off;
    memcpy(buf, s->out + s->off, max);
    s->off += max;
    return (ssize_t)max;
}

static void stream_free(void *cls)
{
    stream_t *s = cls, **p;
    pthread_mutex_lock(&g_sse.mu);
    for (p = &g_sse.list; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            g_sse.n--;
            break;
        }
    pthread_mutex_unlock(&g_sse.mu);
    free(s->last);
    free(s->out);
    free(s);
}

static enum MHD_Result rollout_stream(http_req_t *r)
{
    db_t *db = db_get();
    int64_t product = db ? lookup_product_id(db, http_param(r, 0)) : 0, id = atoll(http_param(r, 1));
    stream_t *s;
    json_t *ro;
    if (!product || id <= 0 || !(ro = rollout_json(db, product, id)))
        return http_error(r, ERR_NOT_FOUND, "no rollout %s in product %s", http_param(r, 1), http_param(r, 0));
    json_decref(ro);
    if (!(s = calloc(1, sizeof *s)))
        return http_error(r, ERR_INTERNAL, "out of memory");
    s->conn = r->conn;
    s->product = product;
    s->rollout = id;
    pthread_mutex_lock(&g_sse.mu);
    if (g_sse.n >= SSE_MAX || g_sse.stop) {
        pthread_mutex_unlock(&g_sse.mu);
        free(s);
        return http_error(r, ERR_OVERLOADED, "too many event streams open: poll GET .../rollouts/%s instead",
                          http_param(r, 1));
    }
    if (!g_sse.started && pthread_create(&g_sse.th, NULL, resumer, NULL) == 0)
        g_sse.started = 1;
    s->next = g_sse.list;
    g_sse.list = s;
    g_sse.n++;
    pthread_mutex_unlock(&g_sse.mu);
    return http_stream(r, "text/event-stream", reader, s, stream_free);
}

void sse_stop(void)
{
    stream_t *s;
    pthread_mutex_lock(&g_sse.mu);
    g_sse.stop = 1;
    for (s = g_sse.list; s; s = s->next) /* resumed, so the daemon's stop can close them */
        if (s->suspended) {
            s->suspended = 0;
            MHD_resume_connection(s->conn);
        }
    pthread_mutex_unlock(&g_sse.mu);
    if (g_sse.started)
        pthread_join(g_sse.th, NULL);
}

const http_route_t sse_routes[] = {
    {"GET", "/api/v1/products/{product}/rollouts/{rollout}/stream", rollout_stream, AUTH_OWNER, BODY_NONE},
    {NULL, NULL, NULL, 0, 0},
};
