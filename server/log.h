/* Structured logs: one logfmt line per event on stderr ("ts=... level=info msg=... key=value"). */
#ifndef OTAKIT_SERVER_LOG_H
#define OTAKIT_SERVER_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the lowest level printed (default LOG_INFO). */
void log_set_level(enum log_level lvl);

/* Parses "debug", "info", "warn", "error". Returns 0 or -1. */
int log_parse_level(const char *s, enum log_level *out);

/* Logs msg with extra logfmt fields given as a printf format ("device=%s status=%d"), or NULL. */
void log_msg(enum log_level lvl, const char *msg, const char *fields_fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
