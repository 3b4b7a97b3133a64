/* Batched last_seen (see seen.h): a growing array of notes under a mutex, swapped out by the
 * flusher thread (started on the first note). */
#include "seen.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "sql.h"

struct note {
    int64_t device, at;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t flush_mu = PTHREAD_MUTEX_INITIALIZER; /* one flush at a time */
static struct note *notes; /* under mu */
static size_t n, cap;
static pthread_once_t once = PTHREAD_ONCE_INIT;

struct batch {
    struct note *v;
    size_t from, n;
};

static int write_tx(db_t *db, void *arg)
{
    struct batch *b = arg;
    size_t i;
    for (i = b->from; i < b->n && i < b->from + SEEN_BATCH; i++)
        if (q_exec(db, "UPDATE devices SET last_seen = ?1 WHERE id = ?2 AND last_seen < ?1", "ii", b->v[i].at,
                   b->v[i].device) < 0)
            return -1;
    return 0;
}

int seen_flush(void)
{
    struct batch b;
    int rc = 0;
    pthread_mutex_lock(&flush_mu);
    pthread_mutex_lock(&mu);
    b.v = notes;
    b.n = n;
    notes = NULL;
    n = cap = 0;
    pthread_mutex_unlock(&mu);
    for (b.from = 0; b.from < b.n; b.from += SEEN_BATCH)
        if (db_tx(write_tx, &b) != 0) {
            rc = -1;
            log_msg(LOG_WARN, "cannot record last_seen (kept for the next flush)", "devices=%zu", b.n - b.from);
            for (; b.from < b.n; b.from++)
                seen_note(b.v[b.from].device, b.v[b.from].at);
            break;
        }
    free(b.v);
    pthread_mutex_unlock(&flush_mu);
    return rc;
}

static void *flusher(void *arg)
{
    struct timespec t = {SEEN_FLUSH_MS / 1000, (SEEN_FLUSH_MS % 1000) * 1000000L};
    (void)arg;
    for (;;) {
        nanosleep(&t, NULL);
        seen_flush();
    }
    return NULL;
}

static void start(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, flusher, NULL) == 0)
        pthread_detach(t);
    else
        log_msg(LOG_ERROR, "cannot start the last_seen flusher: times are written at stop", NULL);
}

void seen_note(int64_t device, int64_t at)
{
    pthread_once(&once, start);
    pthread_mutex_lock(&mu);
    if (n == cap) {
        size_t c = cap ? cap * 2 : 1024;
        struct note *p = realloc(notes, c * sizeof *p);
        if (!p) {
            pthread_mutex_unlock(&mu);
            return; /* the next check notes it again */
        }
        notes = p;
        cap = c;
    }
    notes[n].device = device;
    notes[n].at = at;
    n++;
    pthread_mutex_unlock(&mu);
}
