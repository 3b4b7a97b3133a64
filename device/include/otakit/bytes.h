/*
 * Small byte helpers shared by the device library, the host library and the tools: one hex
 * encoder and one constant-time compare for the whole tree. Portable C99, no heap, no stdio.
 */
#ifndef OTAKIT_BYTES_H
#define OTAKIT_BYTES_H

#include <stddef.h>
#include <stdint.h>

/* Writes the lowercase hex of the n bytes at p and a NUL into out, which holds 2n+1 bytes.
 * Returns out. */
char *ota_hex_encode(const uint8_t *p, size_t n, char *out);

/* Compares n bytes of a and b in a time that depends on n only, not on where they differ.
 * Returns 1 when they are equal, 0 otherwise. */
int ota_ct_equal(const void *a, const void *b, size_t n);

/* Compares two NUL-terminated strings (tokens, passwords) with ota_ct_equal(): the time depends on
 * their lengths, never on their contents. Returns 1 when they are equal, 0 otherwise. */
int ota_ct_streq(const char *a, const char *b);

/* Zeroes n bytes at p through a volatile pointer, so the compiler keeps it even when p is about
 * to go out of scope (keys, secrets). */
void ota_wipe(void *p, size_t n);

#endif
