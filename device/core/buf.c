/* Bounded append buffer (see core/buf.h). */
#include <string.h>

#include "core/buf.h"
#include "core/text.h"

void ota_buf_bytes(ota_buf_t *b, void *p, size_t size)
{
    b->p = (char *)p;
    b->n = 0;
    b->cap = size;
    b->full = 0;
    b->text = 0;
}

void ota_buf_text(ota_buf_t *b, char *p, size_t size)
{
    b->p = p;
    b->n = strlen(p);
    b->cap = size - 1;
    b->full = 0;
    b->text = 1;
}

void ota_buf_put_n(ota_buf_t *b, const char *s, size_t l)
{
    if (b->full || l > b->cap - b->n) {
        b->full = 1;
        return;
    }
    memcpy(b->p + b->n, s, l);
    b->n += l;
    if (b->text)
        b->p[b->n] = 0;
}

void ota_buf_put(ota_buf_t *b, const char *s)
{
    ota_buf_put_n(b, s, strlen(s));
}

void ota_buf_put_u32(ota_buf_t *b, uint32_t v)
{
    char t[11];
    ota_buf_put(b, ota_u32_str(t, v));
}
