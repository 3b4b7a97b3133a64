/* Actions and commands of a device, shared by the device and owner APIs (see device_actions.h). */
#include "device_actions.h"

#include <stdio.h>

#include "db.h"
#include "history.h"
#include "longpoll.h"
#include "rollout_eval.h"
#include "server.h"
#include "sql.h"

json_t *command_json(db_stmt_t *st)
{
    json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:o,s:s,s:I,s:o,s:o}", "id", (json_int_t)db_column_int64(st, 0),
                          "type", q_text(st, 1), "status", q_text(st, 2), "consent", q_text(st, 4), "action_id",
                          q_json_int(st, 5), "message", q_text(st, 6), "created_at",
                          (json_int_t)db_column_int64(st, 7), "delivered_at", q_json_int(st, 8), "acked_at",
                          q_json_int(st, 9));
    if (o && db_column_type(st, 3) != DB_NULL)
        json_object_set_new(o, "release", json_string(q_text(st, 3)));
    return o;
}

json_t *command_by_id(db_t *db, int64_t id)
{
    db_stmt_t *st = q_prep(db, "SELECT " COMMAND_COLS " WHERE c.id = ?", "i", id);
    json_t *o = NULL;
    if (st && db_step(st) == DB_ROW)
        o = command_json(st);
    db_done(st);
    return o;
}

/* Cancels a device's offers that have not reached installing (their events say why). */
int action_cancel_offers(db_t *db, int64_t device, const char *where, int64_t arg, const char *why)
{
    char sql[400];
    int64_t ids[64];
    int i, n;
    snprintf(sql, sizeof sql,
             "SELECT id FROM actions WHERE device = ?1 AND status IN ('offered','downloading','downloaded') %s", where);
    if ((n = q_ids(db, ids, 64, sql, *where ? "ii" : "i", device, arg)) < 0)
        return -1;
    for (i = 0; i < n; i++)
        if (q_exec(db, "UPDATE actions SET status = 'cancelled', message = ?, updated_at = ? WHERE id = ?", "sii",
                   why, now_s(), ids[i]) < 0 ||
            history_event(db, device, ids[i], "cancelled", json_pack("{s:s}", "reason", why)) != 0)
            return -1;
    /* A rollout may have been waiting for this device. */
    return n ? rollout_eval_device(db, device) : 0;
}

/* Queues the reboot command (sys_reboot) that lets a downloaded update take effect. */
int command_queue_reboot(db_t *db, int64_t device, int64_t action)
{
    int64_t id;
    if (q_int(db, 0,
              "SELECT id FROM commands WHERE device = ? AND action = ? AND type = 'reboot' "
              "AND status IN ('queued','delivered')",
              "ii", device, action))
        return 0;
    if (q_exec(db,
               "INSERT INTO commands(device, type, payload, status, created_at, action) "
               "VALUES (?, 'reboot', '{}', 'queued', ?, ?)",
               "iii", device, now_s(), action) < 0)
        return -1;
    id = db_last_insert_rowid(db);
    longpoll_news_device(device);
    return history_event(db, device, action, "command_queued", json_pack("{s:I,s:s}", "command", (json_int_t)id, "type",
                                                                       "reboot"));
}
