/* Rollout notices over MQTT (see mqtt_notify.h). */
#include "mqtt_notify.h"

#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "server.h"
#include "sql.h"

static struct mosquitto *g_mosq;

int mqtt_notify_enabled(void)
{
    return g_mosq != NULL;
}

static void on_connect(struct mosquitto *m, void *arg, int rc)
{
    (void)m, (void)arg;
    if (rc == 0)
        log_msg(LOG_INFO, "mqtt: connected to the broker", NULL);
    else
        log_msg(LOG_WARN, "mqtt: the broker refused the connection", "reason=\"%s\"", mosquitto_connack_string(rc));
}

int mqtt_notify_start(const char *url)
{
    char host[256], cid[64];
    const char *colon;
    unsigned long port = 1883;
    int rc;
    if (!strncmp(url, "mqtt://", 7))
        url += 7;
    snprintf(host, sizeof host, "%s", url);
    if ((colon = strrchr(host, ':')) != NULL) {
        char *end;
        port = strtoul(colon + 1, &end, 10);
        if (*end || port == 0 || port > 65535 || colon == host) {
            log_msg(LOG_ERROR, "--mqtt must be mqtt://host[:port]", "mqtt=%s", url);
            return -1;
        }
        host[colon - host] = 0;
    }
    mosquitto_lib_init();
    snprintf(cid, sizeof cid, "otakit-server-%ld", (long)getpid());
    if (!(g_mosq = mosquitto_new(cid, true, NULL))) {
        log_msg(LOG_ERROR, "mqtt: out of memory", NULL);
        return -1;
    }
    mosquitto_connect_callback_set(g_mosq, on_connect);
    mosquitto_reconnect_delay_set(g_mosq, 1, 10, false);
    /* The client thread first, then connect_async: a broker that is down now is retried in the
     * background (libmosquitto's loop_forever reconnects once a connection was requested). */
    if ((rc = mosquitto_loop_start(g_mosq)) != MOSQ_ERR_SUCCESS) {
        log_msg(LOG_ERROR, "mqtt: cannot start the client thread", "error=\"%s\"", mosquitto_strerror(rc));
        mosquitto_destroy(g_mosq);
        g_mosq = NULL;
        return -1;
    }
    if ((rc = mosquitto_connect_async(g_mosq, host, (int)port, 30)) != MOSQ_ERR_SUCCESS)
        log_msg(LOG_WARN, "mqtt: broker not reachable yet, retrying", "broker=%s:%lu error=\"%s\"", host, port,
                mosquitto_strerror(rc));
    log_msg(LOG_INFO, "mqtt: rollout notices on", "broker=%s:%lu topic=otakit/<product>/update", host, port);
    return 0;
}

json_t *mqtt_notice_build(db_t *db, const char *product, int64_t rollout, int64_t rel)
{
    db_stmt_t *st;
    json_t *n;
    char check[400];
    if (!g_mosq)
        return NULL;
    st = q_prep(db,
                "SELECT r.version, a.size, a.sha256 FROM releases r JOIN artifacts a ON a.release = r.id "
                "WHERE r.id = ? ORDER BY a.slot LIMIT 1",
                "i", rel);
    if (!st || db_step(st) != DB_ROW) {
        db_done(st);
        return NULL;
    }
    snprintf(check, sizeof check, "%s/api/v1/device/check", g_server.public_url);
    n = json_pack("{s:s,s:s,s:I,s:s,s:I,s:s,s:s}", "event", "rollout", "product", product, "rollout",
                  (json_int_t)rollout, "version", q_text(st, 0), "size", (json_int_t)db_column_int64(st, 1),
                  "sha256", q_text(st, 2), "check", check);
    db_done(st);
    return n;
}

void mqtt_notify_send(json_t *notice)
{
    char topic[200], *text;
    int rc;
    if (!notice)
        return;
    snprintf(topic, sizeof topic, "otakit/%s/update", json_string_value(json_object_get(notice, "product")));
    text = json_dumps(notice, JSON_COMPACT);
    if (text && g_mosq) {
        rc = mosquitto_publish(g_mosq, NULL, topic, (int)strlen(text), text, 1, false);
        log_msg(rc == MOSQ_ERR_SUCCESS ? LOG_INFO : LOG_WARN, "mqtt: rollout notice", "topic=%s rollout=%lld%s%s",
                topic, (long long)json_integer_value(json_object_get(notice, "rollout")),
                rc == MOSQ_ERR_SUCCESS ? "" : " error=", rc == MOSQ_ERR_SUCCESS ? "" : mosquitto_strerror(rc));
    }
    free(text);
    json_decref(notice);
}

void mqtt_notify_stop(void)
{
    if (!g_mosq)
        return;
    mosquitto_disconnect(g_mosq);
    mosquitto_loop_stop(g_mosq, false);
    mosquitto_destroy(g_mosq);
    mosquitto_lib_cleanup();
    g_mosq = NULL;
}
