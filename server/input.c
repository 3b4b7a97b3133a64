/* Checks of request text (see input.h). */
#include "input.h"

#include <string.h>

int input_ident_ok(const char *s)
{
    size_t n;
    if (!s)
        return 0;
    n = strlen(s);
    if (n < 1 || n > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
              *s == '_' || *s == ':' || *s == '-'))
            return 0;
    return 1;
}

int input_text_ok(const char *s, size_t max, int spaces)
{
    size_t n;
    if (!s)
        return 0;
    n = strlen(s);
    if (n < 1 || n > max)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < (spaces ? 0x20 : 0x21) || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

int64_t input_parse_id(const char *s)
{
    int64_t v = 0;
    if (!s || !*s || strlen(s) > 18)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        v = v * 10 + (*s - '0');
    }
    return v;
}
