/*
 * MQTT 3.1.1 client (see otakit/mqtt.h), following the OASIS standard mqtt-v3.1.1 section 2 (fixed
 * header, remaining length) and section 3 (CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK,
 * PINGREQ, PINGRESP, DISCONNECT). Packets are read exactly (header byte by byte, then the rest in
 * one piece), so nothing past the current packet is ever buffered.
 */
#include "otakit/mqtt.h"

#include <string.h>

#include "core/deadline.h"

enum { CONNECT = 1, CONNACK = 2, PUBLISH = 3, PUBACK = 4, SUBSCRIBE = 8, SUBACK = 9, PINGREQ = 12,
       PINGRESP = 13, DISCONNECT = 14 };

#define DEFAULT_TIMEOUT_MS 5000u

static uint32_t tmo(const ota_mqtt_t *m)
{
    return m->cfg.timeout_ms ? m->cfg.timeout_ms : DEFAULT_TIMEOUT_MS;
}

static uint32_t now(const ota_mqtt_t *m)
{
    const ota_platform_ops_t *p = m->cfg.platform;
    return p && p->now_ms ? p->now_ms(p->ctx) : 0;
}

/* ---- building packets in m->tx -------------------------------------------------------------- */

struct out {
    uint8_t *b;
    size_t len, cap;
    int over;
};

static void put(struct out *o, const void *p, size_t n)
{
    if (o->over || n > o->cap - o->len) {
        o->over = 1;
        return;
    }
    memcpy(o->b + o->len, p, n);
    o->len += n;
}

static void put_u8(struct out *o, unsigned v)
{
    uint8_t b = (uint8_t)v;
    put(o, &b, 1);
}

static void put_u16(struct out *o, unsigned v)
{
    put_u8(o, v >> 8);
    put_u8(o, v & 0xff);
}

/* A UTF-8 string: 2-byte length, then the bytes. */
static void put_str(struct out *o, const char *s, size_t n)
{
    if (n > 0xffff) {
        o->over = 1;
        return;
    }
    put_u16(o, (unsigned)n);
    put(o, s, n);
}

/* Starts a packet: leaves 5 bytes for the fixed header, which finish() moves into place. */
static void begin(struct out *o, ota_mqtt_t *m)
{
    o->b = m->tx;
    o->cap = sizeof m->tx;
    o->len = 5;
    o->over = 0;
}

/* Writes the fixed header (type/flags byte and remaining length) in front of the body. Returns the
 * offset of the packet's first byte in m->tx, or OTA_ERR_NO_SPACE. */
static int finish(struct out *o, unsigned first)
{
    size_t rem = o->len - 5, n = 0;
    uint8_t len[4];
    int at;
    if (o->over)
        return OTA_ERR_NO_SPACE;
    do {
        len[n] = (uint8_t)(rem & 0x7f);
        rem >>= 7;
        if (rem)
            len[n] |= 0x80;
        n++;
    } while (rem);
    at = (int)(5 - 1 - n);
    o->b[at] = (uint8_t)first;
    memcpy(o->b + at + 1, len, n);
    return at;
}

static int send_all(ota_mqtt_t *m, const uint8_t *p, size_t n)
{
    while (n) {
        int rc = m->net->ops->send(m->net->ctx, m->h, p, n, tmo(m));
        if (rc < 0)
            return rc;
        if (rc == 0)
            return OTA_ERR_NET;
        p += rc;
        n -= (size_t)rc;
    }
    m->last_tx = now(m);
    return OTA_OK;
}

static int send_packet(ota_mqtt_t *m, struct out *o, unsigned first)
{
    int at = finish(o, first);
    if (at < 0)
        return at;
    return send_all(m, o->b + at, o->len - (size_t)at);
}

static uint16_t next_id(ota_mqtt_t *m)
{
    if (++m->next_id == 0)
        m->next_id = 1;
    return m->next_id;
}

/* ---- reading packets ------------------------------------------------------------------------ */

static int recv_exact(ota_mqtt_t *m, uint8_t *p, size_t n, uint32_t first_ms)
{
    uint32_t w = first_ms;
    while (n) {
        int rc = m->net->ops->recv(m->net->ctx, m->h, p, n, w);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return OTA_ERR_NET; /* the broker closed */
        p += rc;
        n -= (size_t)rc;
        w = tmo(m);
    }
    return OTA_OK;
}

/* Reads one packet into m->rx (at most OTA_MQTT_RX_MAX bytes of it kept, the rest discarded).
 * Returns OTA_OK with *total the packet's whole size, OTA_ERR_TIMEOUT when nothing came within
 * wait_ms, or errors. */
static int read_packet(ota_mqtt_t *m, uint32_t wait_ms, size_t *total)
{
    uint32_t rem = 0, mul = 1;
    size_t hl = 1, keep;
    int rc = recv_exact(m, m->rx, 1, wait_ms);
    if (rc < 0)
        return rc;
    for (;;) {
        if (hl > 4)
            return OTA_ERR_MQTT; /* remaining length over 4 bytes */
        if ((rc = recv_exact(m, m->rx + hl, 1, tmo(m))) < 0)
            return rc;
        rem += (uint32_t)(m->rx[hl] & 0x7f) * mul;
        mul <<= 7;
        if (!(m->rx[hl++] & 0x80))
            break;
    }
    keep = rem <= sizeof m->rx - hl ? rem : sizeof m->rx - hl;
    if ((rc = recv_exact(m, m->rx + hl, keep, tmo(m))) < 0)
        return rc;
    m->rx_len = hl + keep;
    for (m->skip = (uint32_t)(rem - keep); m->skip;) { /* oversized: discard the rest */
        uint8_t sink[64];
        size_t n = m->skip < sizeof sink ? m->skip : sizeof sink;
        if ((rc = recv_exact(m, sink, n, tmo(m))) < 0)
            return rc;
        m->skip -= (uint32_t)n;
    }
    *total = hl + rem;
    return OTA_OK;
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

int ota_mqtt_parse(const uint8_t *pkt, size_t n, ota_mqtt_msg_t *msg, uint16_t *id)
{
    uint32_t rem = 0, mul = 1;
    size_t hl = 1, tl;
    int type, qos;
    *id = 0;
    if (n < 2)
        return OTA_ERR_MQTT;
    for (;;) {
        if (hl > 4 || hl >= n)
            return OTA_ERR_MQTT;
        rem += (uint32_t)(pkt[hl] & 0x7f) * mul;
        mul <<= 7;
        if (!(pkt[hl++] & 0x80))
            break;
    }
    if (rem != n - hl)
        return OTA_ERR_MQTT;
    type = pkt[0] >> 4;
    pkt += hl;
    switch (type) {
    case CONNACK:
        return rem == 2 ? type : OTA_ERR_MQTT;
    case PUBACK:
    case SUBACK:
        if (rem < (type == SUBACK ? 3u : 2u) || (type == PUBACK && rem != 2))
            return OTA_ERR_MQTT;
        *id = be16(pkt);
        return type;
    case PINGRESP:
        return rem == 0 ? type : OTA_ERR_MQTT;
    case PUBLISH:
        qos = (pkt[-(int)hl] >> 1) & 3;
        if (qos > 1 || rem < 2 || (tl = be16(pkt)) > rem - 2 || (qos && rem - 2 - tl < 2))
            return OTA_ERR_MQTT;
        memset(msg, 0, sizeof *msg);
        msg->topic = (const char *)pkt + 2;
        msg->topic_len = tl;
        msg->qos = (uint8_t)qos;
        msg->retain = pkt[-(int)hl] & 1;
        msg->dup = (pkt[-(int)hl] >> 3) & 1;
        pkt += 2 + tl;
        rem -= (uint32_t)(2 + tl);
        if (qos) {
            *id = be16(pkt);
            if (!*id)
                return OTA_ERR_MQTT; /* packet id 0 is not allowed */
            pkt += 2;
            rem -= 2;
        }
        msg->payload = pkt;
        msg->len = rem;
        return type;
    default:
        return OTA_ERR_MQTT; /* nothing else is sent to a client */
    }
}

static int send_puback(ota_mqtt_t *m, uint16_t id)
{
    struct out o;
    begin(&o, m);
    put_u16(&o, id);
    return send_packet(m, &o, PUBACK << 4);
}

/* Reads and handles one packet. Returns its type (PUBLISH: *msg filled, *id its packet id, already
 * acknowledged), 0 when nothing came within wait_ms, or errors. */
static int take(ota_mqtt_t *m, uint32_t wait_ms, ota_mqtt_msg_t *msg, uint16_t *id)
{
    size_t total;
    int type, rc = read_packet(m, wait_ms, &total);
    if (rc == OTA_ERR_TIMEOUT)
        return 0;
    if (rc < 0)
        return rc;
    if (total > m->rx_len) {
        /* Oversized: only a PUBLISH may be that large; acknowledge it (QoS 1) and drop it. */
        size_t hl = 2;
        while (hl < 5 && (m->rx[hl - 1] & 0x80))
            hl++;
        if ((m->rx[0] >> 4) != PUBLISH)
            return OTA_ERR_MQTT;
        m->dropped++;
        if ((m->rx[0] >> 1 & 3) == 1) {
            size_t tl = be16(m->rx + hl);
            if (hl + 2 + tl + 2 > m->rx_len)
                return OTA_ERR_MQTT;
            return (rc = send_puback(m, be16(m->rx + hl + 2 + tl))) < 0 ? rc : 0;
        }
        return 0;
    }
    type = ota_mqtt_parse(m->rx, m->rx_len, msg, id);
    if (type < 0)
        return type;
    if (type == PUBLISH && msg->qos == 1 && (rc = send_puback(m, *id)) < 0)
        return rc;
    if (type == PUBACK && *id == m->unacked)
        m->unacked = 0;
    if (type == PINGRESP)
        m->ping_out = 0;
    return type;
}

/* ---- the client ----------------------------------------------------------------------------- */

int ota_mqtt_connect(ota_mqtt_t *m, const ota_net_t *net, const ota_mqtt_cfg_t *cfg)
{
    struct out o;
    ota_mqtt_msg_t msg;
    uint16_t id;
    unsigned flags = 0x02; /* clean session */
    int rc;
    if (!net || !net->ops || !cfg || !cfg->host || !cfg->client_id || cfg->will_qos > 1)
        return OTA_ERR_ARG;
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->net = net;
    m->h = -1;
    begin(&o, m);
    put_str(&o, "MQTT", 4);
    put_u8(&o, 4); /* protocol level: 3.1.1 */
    if (cfg->will_topic)
        flags |= 0x04 | (unsigned)cfg->will_qos << 3 | (cfg->will_retain ? 0x20u : 0u);
    if (cfg->username)
        flags |= 0x80;
    if (cfg->password)
        flags |= 0x40;
    put_u8(&o, flags);
    put_u16(&o, cfg->keepalive_s);
    put_str(&o, cfg->client_id, strlen(cfg->client_id));
    if (cfg->will_topic) {
        put_str(&o, cfg->will_topic, strlen(cfg->will_topic));
        put_str(&o, cfg->will_msg ? cfg->will_msg : "", cfg->will_msg ? strlen(cfg->will_msg) : 0);
    }
    if (cfg->username)
        put_str(&o, cfg->username, strlen(cfg->username));
    if (cfg->password)
        put_str(&o, cfg->password, strlen(cfg->password));
    if (o.over)
        return OTA_ERR_NO_SPACE;
    rc = net->ops->connect(net->ctx, cfg->host, cfg->port ? cfg->port : 1883, tmo(m));
    if (rc < 0)
        return rc;
    m->h = rc;
    if ((rc = send_packet(m, &o, CONNECT << 4)) < 0 || (rc = take(m, tmo(m), &msg, &id)) < 0)
        goto fail;
    if (rc != CONNACK || m->rx[3] != 0) { /* return code 0: accepted */
        uint8_t code = rc == CONNACK ? m->rx[3] : 0xff;
        rc = OTA_ERR_MQTT;
        net->ops->close(net->ctx, m->h);
        m->h = -1;
        m->rx[0] = code;
        return rc;
    }
    return OTA_OK;
fail:
    if (rc == 0)
        rc = OTA_ERR_TIMEOUT;
    net->ops->close(net->ctx, m->h);
    m->h = -1;
    return rc;
}

int ota_mqtt_subscribe(ota_mqtt_t *m, const char *filter, uint8_t qos)
{
    struct out o;
    ota_mqtt_msg_t msg;
    uint16_t want, id;
    uint32_t t0 = now(m);
    int rc;
    if (m->h < 0 || !filter || qos > 1)
        return OTA_ERR_ARG;
    begin(&o, m);
    put_u16(&o, want = next_id(m));
    put_str(&o, filter, strlen(filter));
    put_u8(&o, qos);
    if ((rc = send_packet(m, &o, SUBSCRIBE << 4 | 0x2)) < 0)
        return rc;
    for (;;) {
        if ((rc = take(m, tmo(m), &msg, &id)) < 0)
            return rc;
        if (rc == 0)
            return OTA_ERR_TIMEOUT;
        if (rc == SUBACK && id == want)
            return m->rx[4] <= 1 ? OTA_OK : OTA_ERR_MQTT; /* 0x80: refused */
        if (m->cfg.platform && now(m) - t0 > tmo(m))
            return OTA_ERR_TIMEOUT;
    }
}

int ota_mqtt_publish(ota_mqtt_t *m, const char *topic, const void *payload, size_t len, uint8_t qos,
                     uint8_t retain)
{
    struct out o;
    uint16_t id = 0;
    int rc;
    if (m->h < 0 || !topic || qos > 1 || (len && !payload))
        return OTA_ERR_ARG;
    begin(&o, m);
    put_str(&o, topic, strlen(topic));
    if (qos)
        put_u16(&o, id = next_id(m));
    put(&o, payload, len);
    if ((rc = send_packet(m, &o, PUBLISH << 4 | (unsigned)qos << 1 | (retain ? 1u : 0u))) < 0)
        return rc;
    if (qos)
        m->unacked = id;
    return OTA_OK;
}

int ota_mqtt_poll(ota_mqtt_t *m, uint32_t timeout_ms, ota_mqtt_msg_t *msg)
{
    uint32_t ka = (uint32_t)m->cfg.keepalive_s * 1000u, wait = timeout_ms, since;
    uint16_t id;
    int rc;
    if (m->h < 0)
        return OTA_ERR_ARG;
    if (ka && m->cfg.platform) {
        since = now(m) - m->last_tx;
        if (m->ping_out && since >= ka)
            return OTA_ERR_NET; /* no PINGRESP for a whole keepalive: the broker is gone */
        if (!m->ping_out && since >= ka / 2) {
            struct out o;
            begin(&o, m);
            if ((rc = send_packet(m, &o, PINGREQ << 4)) < 0)
                return rc;
            m->ping_out = 1;
            since = 0;
        }
        if (!m->ping_out && wait > ka / 2 - since)
            wait = ka / 2 - since; /* wake up in time for the next PINGREQ */
    }
    rc = take(m, wait, msg, &id);
    if (rc == 0 && ka && !m->cfg.platform && !m->ping_out) {
        struct out o;
        begin(&o, m);
        if ((rc = send_packet(m, &o, PINGREQ << 4)) < 0)
            return rc;
        m->ping_out = 1;
        return 0;
    }
    if (rc < 0)
        return rc;
    return rc == PUBLISH ? 1 : 0;
}

void ota_mqtt_close(ota_mqtt_t *m)
{
    if (m->h < 0)
        return;
    {
        struct out o;
        begin(&o, m);
        (void)send_packet(m, &o, DISCONNECT << 4);
    }
    m->net->ops->close(m->net->ctx, m->h);
    m->h = -1;
}
