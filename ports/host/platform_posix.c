/*
 * Host platform ops (see otakit/platform_posix.h): clock, sleep, entropy and a SIGALRM watchdog.
 * The watchdog is a one-shot ITIMER_REAL timer; kicking it re-arms it with the last timeout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "otakit/platform_posix.h"

static void (*wd_reset)(void);  /* what an expiry does (the process's one SIGALRM) */
static uint32_t wd_timeout_ms;  /* the last timeout armed, for a kick */

uint64_t ota_host_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t host_now(void *ctx)
{
    (void)ctx;
    return (uint32_t)ota_host_clock_ms();
}

static void host_sleep(void *ctx, uint32_t ms)
{
    struct timespec ts;
    (void)ctx;
    ts.tv_sec = ms / 1000u;
    ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int wd_arm(uint32_t ms)
{
    struct itimerval it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = ms / 1000u;
    it.it_value.tv_usec = (suseconds_t)(ms % 1000u) * 1000;
    return setitimer(ITIMER_REAL, &it, NULL);
}

void ota_host_watchdog_stop(void)
{
    (void)wd_arm(0);
}

static void on_expiry(int sig)
{
    (void)sig;
    ota_host_watchdog_stop();
    if (wd_reset)
        wd_reset();
    _exit(1);
}

static int host_watchdog_start(void *ctx, uint32_t timeout_ms)
{
    (void)ctx;
    wd_timeout_ms = timeout_ms;
    signal(SIGALRM, on_expiry);
    return wd_arm(timeout_ms);
}

static void host_watchdog_kick(void *ctx)
{
    (void)ctx;
    if (wd_timeout_ms)
        (void)wd_arm(wd_timeout_ms);
}

int ota_host_entropy(void *ctx, unsigned char *out, size_t len)
{
    (void)ctx;
    while (len) {
        ssize_t n = getrandom(out, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        out += n;
        len -= (size_t)n;
    }
    return 0;
}

void ota_host_platform_init(ota_platform_ops_t *p, void (*reset)(void))
{
    memset(p, 0, sizeof *p);
    p->now_ms = host_now;
    p->sleep_ms = host_sleep;
    p->watchdog_start = host_watchdog_start;
    p->watchdog_kick = host_watchdog_kick;
    p->entropy = ota_host_entropy;
    wd_reset = reset;
}
