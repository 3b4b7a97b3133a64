/* A hash map from 64-bit ids (devices.id...) to positive values, for O(1) membership in long lists. */
#ifndef OTAKIT_SERVER_IDMAP_H
#define OTAKIT_SERVER_IDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t *keys;
    size_t *vals; /* 0: free slot */
    size_t cap, n;
} idmap_t;

/* The value stored for id, or 0 when absent. */
size_t idmap_get(const idmap_t *m, int64_t id);
/* Stores value (> 0) for id, replacing any. Returns 0, or -1 when out of memory. */
int idmap_put(idmap_t *m, int64_t id, size_t value);
/* Frees the map's memory (it is then empty and usable again). */
void idmap_free(idmap_t *m);

#endif
