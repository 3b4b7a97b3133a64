/* otakit-device: the device's broker connection (see mqtt_link.h). */
#define _GNU_SOURCE
#include "mqtt_link.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_MS 500u

int sim_mqtt_init(sim_mqtt_t *l, const char *broker, const char *prefix, const char *notice, const char *id,
                  const ota_net_t *net, const ota_platform_ops_t *plat, ota_ctx_t *ota)
{
    const char *colon = strrchr(broker, ':');
    long port = colon ? strtol(colon + 1, NULL, 10) : 1883;
    size_t hl = colon ? (size_t)(colon - broker) : strlen(broker);
    memset(l, 0, sizeof *l);
    l->m.h = -1;
    if (!strncmp(broker, "mqtt://", 7)) {
        broker += 7;
        hl -= 7;
    }
    if (!hl || hl >= sizeof l->host || port < 1 || port > 65535)
        return -1;
    memcpy(l->host, broker, hl);
    l->port = (uint16_t)port;
    snprintf(l->rx, sizeof l->rx, "%s/rx", prefix);
    snprintf(l->tx, sizeof l->tx, "%s/tx", prefix);
    snprintf(l->notice, sizeof l->notice, "%s", notice ? notice : "");
    snprintf(l->client_id, sizeof l->client_id, "otakit-%.50s", id);
    l->net = net;
    l->plat = plat;
    ota_mqtt_ota_init(&l->ota, ota);
    return 0;
}

static uint32_t now(const sim_mqtt_t *l)
{
    return l->plat->now_ms(l->plat->ctx);
}

__attribute__((format(printf, 3, 4))) static void say(void (*log)(void *, const char *), void *arg,
                                                       const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log(arg, line);
}

static int link_up(sim_mqtt_t *l, void (*log)(void *, const char *), void *arg)
{
    ota_mqtt_cfg_t c;
    int rc;
    memset(&c, 0, sizeof c);
    c.host = l->host;
    c.port = l->port;
    c.client_id = l->client_id;
    c.keepalive_s = 5; /* as Mongoose's tutorial */
    c.will_topic = l->tx;
    c.will_msg = OTA_MQTT_OTA_WILL;
    c.will_qos = 1;
    c.timeout_ms = 3000;
    c.platform = l->plat;
    if ((rc = ota_mqtt_connect(&l->m, l->net, &c)) != OTA_OK ||
        (rc = ota_mqtt_subscribe(&l->m, l->rx, 1)) != OTA_OK ||
        (l->notice[0] && (rc = ota_mqtt_subscribe(&l->m, l->notice, 1)) != OTA_OK)) {
        if (!l->next_try || l->up) /* say it once per outage */
            say(log, arg, "mqtt: cannot reach the broker %s: %s", l->host, ota_strerror(rc));
        ota_mqtt_close(&l->m);
        l->up = 0;
        l->next_try = now(l) + RETRY_MS;
        return -1;
    }
    l->up = 1;
    say(log, arg, "mqtt: connected to %s:%u%s%s", l->host, (unsigned)l->port, l->notice[0] ? ", notices on " : "",
        l->notice);
    return 0;
}

static int on_message(sim_mqtt_t *l, const ota_mqtt_msg_t *msg, void (*log)(void *, const char *), void *arg)
{
    char ans[OTA_MQTT_ANSWER_MAX], line[400];
    size_t n;
    uint8_t pending;
    int rc;
    if (l->notice[0] && msg->topic_len == strlen(l->notice) && !memcmp(msg->topic, l->notice, msg->topic_len)) {
        snprintf(line, sizeof line, "mqtt: rollout notice %.*s: checking now", (int)(msg->len > 300 ? 300 : msg->len),
                 (const char *)msg->payload);
        log(arg, line);
        return SIM_MQTT_NOTICE;
    }
    if (msg->retain)
        return 0; /* a stale request kept by the broker: not for this connection */
    rc = ota_mqtt_ota_request(&l->ota, msg->payload, msg->len, ans, sizeof ans, &n, &pending);
    if (rc != OTA_OK || l->ota.next == 0 || pending) {
        snprintf(line, sizeof line, "mqtt: request answered %s", n ? ans : "(no answer: no id)");
        log(arg, line);
    }
    if (n && (rc = ota_mqtt_publish(&l->m, l->tx, ans, n, 1, 0)) != OTA_OK) {
        say(log, arg, "mqtt: cannot answer: %s", ota_strerror(rc));
        return -1;
    }
    return pending ? SIM_MQTT_RESET : 0;
}

int sim_mqtt_serve(sim_mqtt_t *l, unsigned ms, void (*log)(void *arg, const char *line), void *arg)
{
    uint32_t end = now(l) + ms;
    for (;;) {
        ota_mqtt_msg_t msg;
        int32_t left = (int32_t)(end - now(l));
        int rc;
        if (left <= 0)
            return 0;
        if (!l->up) {
            if ((int32_t)(l->next_try - now(l)) > 0 || link_up(l, log, arg) != 0) {
                int32_t w = (int32_t)(l->next_try - now(l));
                l->plat->sleep_ms(l->plat->ctx, (uint32_t)(w < left ? (w > 0 ? w : 1) : left));
                continue;
            }
        }
        rc = ota_mqtt_poll(&l->m, (uint32_t)left, &msg);
        if (rc == 1 && (rc = on_message(l, &msg, log, arg)) > 0)
            return rc;
        if (rc < 0) {
            say(log, arg, "mqtt: connection lost: %s; reconnecting", ota_strerror(rc));
            l->m.net->ops->close(l->m.net->ctx, l->m.h); /* no DISCONNECT: the broker sends the will */
            l->m.h = -1;
            l->up = 0;
            l->next_try = now(l) + RETRY_MS;
        }
    }
}

void sim_mqtt_close(sim_mqtt_t *l)
{
    ota_mqtt_close(&l->m);
    l->up = 0;
}
