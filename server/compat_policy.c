/* Per-product compat switches, compat device namespaces, first-contact limits (see compat_policy.h). */
#include "compat_policy.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "ratelimit.h"
#include "server.h"
#include "sql.h"

static const char *const keys[] = {"esp", "mongoose", "confirm_by_version"};

static int *field(compat_policy_t *p, int i)
{
    return i == 0 ? &p->esp : i == 1 ? &p->mongoose : &p->confirm_by_version;
}

void compat_policy_from_row(db_stmt_t *st, int col, compat_policy_t *p)
{
    int i;
    for (i = 0; i < 3; i++)
        *field(p, i) = db_column_int(st, col + i) != 0;
}

int compat_policy_load(db_t *db, int64_t product, compat_policy_t *p)
{
    db_stmt_t *st = q_prep(db, "SELECT " COMPAT_POLICY_COLS " FROM products WHERE id = ?", "i", product);
    memset(p, 0, sizeof *p);
    if (!st)
        return -1;
    if (db_step(st) == DB_ROW)
        compat_policy_from_row(st, 0, p);
    db_done(st);
    return 0;
}

json_t *compat_policy_json(const compat_policy_t *p)
{
    return json_pack("{s:b,s:b,s:b}", keys[0], p->esp, keys[1], p->mongoose, keys[2], p->confirm_by_version);
}

const char *compat_policy_apply(json_t *in, compat_policy_t *p)
{
    const char *k;
    json_t *v;
    int i;
    if (!json_is_object(in))
        return "compat must be an object of booleans: esp, mongoose, confirm_by_version";
    json_object_foreach(in, k, v) {
        for (i = 0; i < 3 && strcmp(k, keys[i]) != 0; i++)
            ;
        if (i == 3 || !json_is_boolean(v))
            return "compat takes only the booleans esp, mongoose and confirm_by_version";
        *field(p, i) = json_is_true(v);
    }
    return NULL;
}

int compat_reserved_id(const char *device_id)
{
    return !strncmp(device_id, COMPAT_ESP_PREFIX, sizeof COMPAT_ESP_PREFIX - 1) ||
           !strncmp(device_id, COMPAT_MONGOOSE_PREFIX, sizeof COMPAT_MONGOOSE_PREFIX - 1);
}

unsigned compat_first_contact_wait(const char *addr, int64_t product)
{
    char key[64];
    unsigned w;
    snprintf(key, sizeof key, "ip %s", addr);
    if ((w = rl_take(key, g_server.first_contacts_per_ip)) != 0)
        return w;
    snprintf(key, sizeof key, "product %lld", (long long)product);
    return rl_take(key, g_server.first_contacts_per_product);
}
