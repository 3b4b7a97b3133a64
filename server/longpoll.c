/* Long-polling device checks (see longpoll.h): a list of parked checks under one mutex, woken by
 * news once its transaction commits, or by a timer thread at their deadline. */
#include "longpoll.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"

struct waiter {
    struct waiter *prev, *next;
    http_req_t *r;
    int64_t device, product;
    struct timespec deadline; /* CLOCK_MONOTONIC */
    int listed;
    int stop_woken; /* woken by longpoll_stop(): counted in draining until answered */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tick, drained;
static int draining; /* checks woken by longpoll_stop() not yet answered (under mu) */
static struct waiter *head; /* parked checks (under mu) */
static uint64_t seq;        /* news told so far (under mu) */
static int stopping;
static pthread_once_t timer_once = PTHREAD_ONCE_INIT;

/* News recorded by the calling thread's open transaction: a few ids, or "everyone" past that. */
#define PENDING_MAX 16
static __thread struct {
    int64_t device[PENDING_MAX], product[PENDING_MAX];
    int ndevice, nproduct, all;
} pending;

static int before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

/* Takes w off the list and lets MHD run its check again (under mu). */
static void wake(struct waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    w->listed = 0;
    MHD_resume_connection(w->r->conn);
}

/* Wakes the checks whose deadline passed, every 100 ms. */
static void *timer_main(void *arg)
{
    struct timespec now, until;
    struct waiter *w, *next;
    (void)arg;
    pthread_mutex_lock(&mu);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        for (w = head; w; w = next) {
            next = w->next;
            if (before(&w->deadline, &now))
                wake(w);
        }
        until = now;
        until.tv_nsec += 100 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&tick, &mu, &until);
    }
    return NULL;
}

static void timer_start(void)
{
    pthread_condattr_t a;
    pthread_t t;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&tick, &a);
    pthread_cond_init(&drained, &a);
    pthread_condattr_destroy(&a);
    if (pthread_create(&t, NULL, timer_main, NULL) != 0)
        log_msg(LOG_ERROR, "cannot start the long-poll timer: waiting checks answer at once", NULL);
    else
        pthread_detach(t);
}

uint64_t longpoll_seq(void)
{
    uint64_t s;
    pthread_mutex_lock(&mu);
    s = seq;
    pthread_mutex_unlock(&mu);
    return s;
}

int longpoll_park(http_req_t *r, int64_t device, int64_t product, unsigned wait_s, uint64_t seq0)
{
    struct waiter *w = r->lp;
    struct timespec now;
    pthread_once(&timer_once, timer_start);
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!w) {
        if (!(w = r->lp = calloc(1, sizeof *w)))
            return -1;
        w->r = r;
        w->deadline = now;
        w->deadline.tv_sec += wait_s;
        /* the connection may stay quiet for the whole wait */
        MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT, wait_s + 60);
    }
    w->device = device;
    w->product = product;
    pthread_mutex_lock(&mu);
    if (stopping || before(&w->deadline, &now)) {
        if (w->stop_woken && !--draining)
            pthread_cond_broadcast(&drained);
        w->stop_woken = 0;
        pthread_mutex_unlock(&mu);
        return -1;
    }
    if (seq != seq0) { /* news while the check ran: it may concern this device */
        pthread_mutex_unlock(&mu);
        return 1;
    }
    MHD_suspend_connection(r->conn);
    w->next = head;
    if (head)
        head->prev = w;
    head = w;
    w->listed = 1;
    pthread_mutex_unlock(&mu);
    return 0;
}

void longpoll_news_device(int64_t device)
{
    if (pending.ndevice < PENDING_MAX)
        pending.device[pending.ndevice++] = device;
    else
        pending.all = 1;
}

void longpoll_news_product(int64_t product)
{
    if (pending.nproduct < PENDING_MAX)
        pending.product[pending.nproduct++] = product;
    else
        pending.all = 1;
}

void longpoll_tx_end(int committed)
{
    struct waiter *w, *next;
    int i, hit;
    if (committed && (pending.ndevice || pending.nproduct || pending.all)) {
        pthread_mutex_lock(&mu);
        seq++;
        for (w = head; w; w = next) {
            next = w->next;
            hit = pending.all;
            for (i = 0; !hit && i < pending.ndevice; i++)
                hit = pending.device[i] == w->device;
            for (i = 0; !hit && i < pending.nproduct; i++)
                hit = pending.product[i] == w->product;
            if (hit)
                wake(w);
        }
        pthread_mutex_unlock(&mu);
    }
    pending.ndevice = pending.nproduct = pending.all = 0;
}

void longpoll_stop(void)
{
    struct timespec until, grace = {0, 100 * 1000000L};
    pthread_once(&timer_once, timer_start);
    pthread_mutex_lock(&mu);
    stopping = 1;
    while (head) {
        head->stop_woken = 1;
        draining++;
        wake(head);
    }
    /* each woken check runs once more and is answered before the HTTP server closes its
     * connection (up to 2 s; the answer itself is then given 100 ms to leave) */
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 2;
    while (draining > 0 && pthread_cond_timedwait(&drained, &mu, &until) == 0)
        ;
    pthread_mutex_unlock(&mu);
    nanosleep(&grace, NULL);
}
