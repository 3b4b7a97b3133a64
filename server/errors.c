/* The error table (see errors.h). */
#include "errors.h"

#include <jansson.h>

static const struct {
    const char *code;
    unsigned status;
    const char *message;
} table[ERR_COUNT] = {
#define ERR_ROW_(name, code, status, msg) [name] = {code, status, msg},
    ERRORS(ERR_ROW_)
#undef ERR_ROW_
};

const char *err_code(err_t e)
{
    return table[(unsigned)e < ERR_COUNT ? e : ERR_INTERNAL].code;
}

unsigned err_status(err_t e)
{
    return table[(unsigned)e < ERR_COUNT ? e : ERR_INTERNAL].status;
}

const char *err_message(err_t e)
{
    return table[(unsigned)e < ERR_COUNT ? e : ERR_INTERNAL].message;
}

char *err_json(err_t e, const char *msg)
{
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", err_code(e), "message", msg);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

void err_print_table(FILE *out)
{
    unsigned i;
    for (i = 0; i < ERR_COUNT; i++)
        fprintf(out, "%s %u %s\n", table[i].code, table[i].status, table[i].message);
}
