/* Open addressing with linear probing; the table doubles at half full (see idmap.h). */
#include "idmap.h"

#include <stdlib.h>

static size_t find(const idmap_t *m, int64_t id)
{
    size_t mask = m->cap - 1, i = (size_t)(((uint64_t)id * 0x9E3779B97F4A7C15ull) >> 20) & mask;
    while (m->vals[i] && m->keys[i] != id)
        i = (i + 1) & mask;
    return i;
}

size_t idmap_get(const idmap_t *m, int64_t id)
{
    return m->cap ? m->vals[find(m, id)] : 0;
}

int idmap_put(idmap_t *m, int64_t id, size_t value)
{
    size_t i;
    if (2 * (m->n + 1) > m->cap) {
        idmap_t b = {NULL, NULL, m->cap ? m->cap * 2 : 256, 0};
        b.keys = malloc(b.cap * sizeof *b.keys);
        b.vals = calloc(b.cap, sizeof *b.vals);
        if (!b.keys || !b.vals) {
            idmap_free(&b);
            return -1;
        }
        for (i = 0; i < m->cap; i++)
            if (m->vals[i]) {
                size_t j = find(&b, m->keys[i]);
                b.keys[j] = m->keys[i];
                b.vals[j] = m->vals[i];
                b.n++;
            }
        idmap_free(m);
        *m = b;
    }
    i = find(m, id);
    m->n += m->vals[i] == 0;
    m->keys[i] = id;
    m->vals[i] = value;
    return 0;
}

void idmap_free(idmap_t *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->n = 0;
}
