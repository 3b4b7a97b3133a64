/* Token buckets and connection counts in fixed tables (see ratelimit.h). */
#include "ratelimit.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define RL_BUCKETS 4096  /* first-contact buckets (source addresses and products) */
#define RL_CONNS 65536   /* per-address connection counters */

struct bucket {
    char key[48];
    double tokens;
    double at; /* monotonic seconds of the last refill */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct bucket buckets[RL_BUCKETS];
static unsigned conns[RL_CONNS];

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

unsigned rl_take(const char *key, unsigned per_minute)
{
    struct bucket *b;
    double now = mono_now(), rate = per_minute / 60.0, wait;
    if (per_minute == 0)
        return 0;
    pthread_mutex_lock(&lock);
    b = &buckets[hash(key) % RL_BUCKETS];
    if (b->key[0] == 0 || (strncmp(b->key, key, sizeof b->key - 1) != 0 &&
                           b->tokens + (now - b->at) * rate >= per_minute)) {
        /* A free slot, or another key's bucket that is full again: this key takes it over. */
        snprintf(b->key, sizeof b->key, "%s", key);
        b->tokens = per_minute;
        b->at = now;
    }
    b->tokens += (now - b->at) * rate;
    if (b->tokens > per_minute)
        b->tokens = per_minute;
    b->at = now;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        pthread_mutex_unlock(&lock);
        return 0;
    }
    wait = (1.0 - b->tokens) / rate;
    pthread_mutex_unlock(&lock);
    return wait < 1.0 ? 1 : (unsigned)(wait + 0.999);
}

unsigned rl_conn_count(const char *addr, int delta)
{
    unsigned *c = &conns[hash(addr) % RL_CONNS], v;
    pthread_mutex_lock(&lock);
    if (delta > 0)
        (*c)++;
    else if (delta < 0 && *c > 0)
        (*c)--;
    v = *c;
    pthread_mutex_unlock(&lock);
    return v;
}
