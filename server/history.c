/* A device's event history and the state it implies (see history.h). */
#include "history.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "server.h"
#include "sql.h"

int history_event(db_t *db, int64_t device, int64_t action, const char *kind, json_t *detail)
{
    char *d = NULL;
    int rc;
    if (detail && json_object_size(detail) > 0)
        d = json_dumps(detail, JSON_COMPACT);
    json_decref(detail);
    if (action)
        rc = q_exec(db, "INSERT INTO events(device, action, kind, detail, at) VALUES (?, ?, ?, ?, ?)", "iissi",
                    device, action, kind, d ? d : "", now_s());
    else
        rc = q_exec(db, "INSERT INTO events(device, action, kind, detail, at) VALUES (?, NULL, ?, ?, ?)", "issi",
                    device, kind, d ? d : "", now_s());
    free(d);
    return rc < 0 ? -1 : 0;
}

/* The state devices.state should hold (a static string), or NULL on a database error; *now: the
 * recorded one equals it. */
static const char *state_due(db_t *db, int64_t device, int *now)
{
    db_stmt_t *st = q_prep(db,
                              "SELECT (SELECT status FROM actions WHERE device = ?1 ORDER BY id DESC LIMIT 1), "
                              "last_seen, state FROM devices WHERE id = ?1",
                              "i", device);
    const char *state = "registered";
    if (!st)
        return NULL;
    *now = 1;
    if (db_step(st) == DB_ROW) {
        const char *a = (const char *)db_column_text(st, 0);
        if (!a)
            state = db_column_int64(st, 1) > 0 ? "idle" : "registered";
        else if (!strcmp(a, "failed") || !strcmp(a, "rolled_back"))
            state = "failed";
        else if (!strcmp(a, "confirmed") || !strcmp(a, "cancelled"))
            state = "idle";
        else
            state = "updating";
        *now = !strcmp(q_text(st, 2), state);
    }
    db_done(st);
    return state;
}

int history_device_state(db_t *db, int64_t device)
{
    int now;
    const char *state = state_due(db, device, &now);
    if (!state)
        return -1;
    return now || q_exec(db, "UPDATE devices SET state = ? WHERE id = ?", "si", state, device) >= 0 ? 0 : -1;
}

int history_device_state_due(db_t *db, int64_t device)
{
    int now;
    return !state_due(db, device, &now) ? -1 : !now;
}
