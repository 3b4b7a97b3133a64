/* logfmt logging to stderr, one write per line so threads never interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static const char *const names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level lvl)
{
    min_level = lvl;
}

int log_parse_level(const char *s, enum log_level *out)
{
    int i;
    for (i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *out = (enum log_level)i;
            return 0;
        }
    return -1;
}

void log_msg(enum log_level lvl, const char *msg, const char *fields_fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    size_t n;
    va_list ap;
    if (lvl < min_level)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = (size_t)snprintf(line, sizeof line, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=\"%s\"",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                         ts.tv_nsec / 1000000, names[lvl], msg);
    if (fields_fmt && n < sizeof line - 2) {
        line[n++] = ' ';
        va_start(ap, fields_fmt);
        n += (size_t)vsnprintf(line + n, sizeof line - n, fields_fmt, ap);
        va_end(ap);
    }
    if (n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    if (write(2, line, n) < 0) {
        /* nowhere left to report it */
    }
}
