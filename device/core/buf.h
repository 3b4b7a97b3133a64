/*
 * Bounded append buffer (internal): builds a request line, a header block or a URL into a fixed
 * array without ever writing past it. An append that does not fit sets `full` and writes nothing;
 * every later append is then ignored, so a builder makes all its appends and checks `full` once.
 */
#ifndef OTAKIT_CORE_BUF_H
#define OTAKIT_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *p;
    size_t n;        /* bytes appended so far */
    size_t cap;      /* most bytes p may hold, not counting the NUL of a text buffer */
    uint8_t full;    /* 1 once an append did not fit */
    uint8_t text;    /* 1: p[n] is kept a NUL */
} ota_buf_t;

/* Raw bytes: up to size bytes at p, no terminator (an HTTP request head). */
void ota_buf_bytes(ota_buf_t *b, void *p, size_t size);

/* A string: continues the NUL-terminated string already at p (size bytes in all, NUL included;
 * set p[0] = 0 to start empty). The string stays terminated after every append. */
void ota_buf_text(ota_buf_t *b, char *p, size_t size);

/* Appends the l bytes at s, or marks b full (and appends nothing) when they do not fit. */
void ota_buf_put_n(ota_buf_t *b, const char *s, size_t l);

/* Appends the string s (without its NUL). */
void ota_buf_put(ota_buf_t *b, const char *s);

/* Appends the decimal text of v. */
void ota_buf_put_u32(ota_buf_t *b, uint32_t v);

#endif
