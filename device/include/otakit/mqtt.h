/*
 * A small MQTT 3.1.1 client (OASIS mqtt-v3.1.1) on the same transport ops as the HTTP client
 * (otakit/net.h): one broker connection, fixed buffers in the caller's ota_mqtt_t, no heap, no stdio.
 *
 *   static ota_mqtt_t m;                        OTA_MQTT_RX_MAX + OTA_MQTT_TX_MAX + ~60 bytes
 *   ota_mqtt_cfg_t c = {0};  c.host = "broker"; c.port = 1883; c.client_id = "dev1";
 *   c.keepalive_s = 30; c.will_topic = "mg/dev1/tx"; c.will_msg = "{\"method\":\"bye\"}";
 *   ota_mqtt_connect(&m, &net, &c);             TCP connect, CONNECT (clean session, will), CONNACK
 *   ota_mqtt_subscribe(&m, "mg/dev1/rx", 1);     SUBSCRIBE, waits for its SUBACK
 *   for (;;) {
 *       rc = ota_mqtt_poll(&m, 100, &msg);        one packet: PUBLISH delivered (QoS 1 acked with
 *                                                 PUBACK), PUBACK/PINGRESP taken, PINGREQ sent when
 *                                                 the keepalive is due
 *       if (rc == 1) ... msg.topic, msg.payload ...;  ota_mqtt_publish(&m, "mg/dev1/tx", ans, n, 1, 0);
 *       if (rc < 0) { ota_mqtt_close(&m); reconnect later (clean session: subscribe again) }
 *   }
 *
 * QoS 1 publishes do not block: each gets the next packet id, which stays in m.unacked until the
 * broker's PUBACK for it arrives through ota_mqtt_poll(). Received PUBLISH packets larger than
 * OTA_MQTT_RX_MAX are read and dropped (QoS 1: still acknowledged, so the broker does not resend
 * them forever) and counted in m.dropped. QoS 2 is not supported (SUBSCRIBE asks for at most 1).
 */
#ifndef OTAKIT_MQTT_H
#define OTAKIT_MQTT_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/net.h"
#include "otakit/port.h"

#ifndef OTA_MQTT_RX_MAX
#define OTA_MQTT_RX_MAX 6144u /* largest PUBLISH received: a 4096-byte chunk as base64 in JSON-RPC */
#endif
#ifndef OTA_MQTT_TX_MAX
#define OTA_MQTT_TX_MAX 512u  /* largest packet sent (CONNECT with will, PUBLISH of an answer) */
#endif

typedef struct {
    const char *host;          /* broker name or address */
    uint16_t port;             /* 0 means 1883 */
    const char *client_id;     /* 1-23 characters are what every broker must accept */
    const char *username, *password;   /* NULL: none */
    uint16_t keepalive_s;      /* PINGREQ after this long without sending; 0: no keepalive */
    const char *will_topic;    /* the broker publishes will_msg there when the connection drops
                                  without DISCONNECT; NULL: no will */
    const char *will_msg;      /* NUL-terminated */
    uint8_t will_qos, will_retain;
    uint32_t timeout_ms;       /* connect, CONNACK, SUBACK and each send; 0 means 5000 */
    const ota_platform_ops_t *platform; /* now_ms for the keepalive; NULL: PINGREQ before every poll
                                           that finds nothing (a port without a clock) */
} ota_mqtt_cfg_t;

/* One received application message; points into the client's buffer, valid until the next call. */
typedef struct {
    const char *topic;
    size_t topic_len;
    const uint8_t *payload;
    size_t len;
    uint8_t qos, retain, dup;
} ota_mqtt_msg_t;

typedef struct {
    ota_mqtt_cfg_t cfg;
    const ota_net_t *net;
    int h;                     /* transport handle, -1 when not connected */
    uint16_t next_id;          /* packet id of the next SUBSCRIBE or QoS 1 PUBLISH */
    uint16_t unacked;          /* id of the last QoS 1 PUBLISH not yet acknowledged, 0: none */
    uint8_t ping_out;          /* a PINGREQ waits for its PINGRESP */
    uint32_t last_tx;          /* now_ms of the last packet sent */
    uint32_t dropped;          /* PUBLISH packets too large for rx */
    size_t rx_len;             /* bytes of the packet being assembled */
    uint32_t skip;             /* bytes of an oversized packet still to discard */
    uint8_t rx[OTA_MQTT_RX_MAX];
    uint8_t tx[OTA_MQTT_TX_MAX];
} ota_mqtt_t;

/* Connects to the broker: opens the transport, sends CONNECT (MQTT 3.1.1, clean session, will,
 * keepalive, credentials) and waits for CONNACK. m keeps a copy of cfg (its strings must
 * outlive m). Returns OTA_OK, OTA_ERR_MQTT (refused: m->rx[0] holds the CONNACK return code; or a
 * malformed answer), OTA_ERR_NO_SPACE (CONNECT larger than OTA_MQTT_TX_MAX) or transport errors. */
int ota_mqtt_connect(ota_mqtt_t *m, const ota_net_t *net, const ota_mqtt_cfg_t *cfg);

/* Subscribes to one topic filter at qos (0 or 1) and waits for the SUBACK. A PUBLISH arriving
 * before it is acknowledged (QoS 1) and dropped. Returns OTA_OK, OTA_ERR_MQTT (refused) or errors. */
int ota_mqtt_subscribe(ota_mqtt_t *m, const char *filter, uint8_t qos);

/* Publishes len bytes at qos 0 or 1 (retain 0/1). QoS 1: the packet id is kept in m->unacked
 * until its PUBACK comes through ota_mqtt_poll(). Returns OTA_OK, OTA_ERR_NO_SPACE (the packet
 * exceeds OTA_MQTT_TX_MAX), OTA_ERR_ARG or transport errors. */
int ota_mqtt_publish(ota_mqtt_t *m, const char *topic, const void *payload, size_t len, uint8_t qos,
                     uint8_t retain);

/* Waits up to timeout_ms for one packet and handles it; sends PINGREQ when the keepalive is due.
 * Returns 1 with *msg filled (an application message), 0 when nothing arrived or the packet was
 * for the client itself, or OTA_ERR_NET (the broker closed; no PINGRESP within a keepalive),
 * OTA_ERR_MQTT (a malformed packet) or transport errors: then close and reconnect. */
int ota_mqtt_poll(ota_mqtt_t *m, uint32_t timeout_ms, ota_mqtt_msg_t *msg);

/* Sends DISCONNECT (the will is then discarded) if connected, and closes the transport. */
void ota_mqtt_close(ota_mqtt_t *m);

/* The parser behind ota_mqtt_poll(), for tests and fuzzing: splits one whole packet (fixed
 * header included) of n bytes. Returns the packet type (1..14) with *msg filled for PUBLISH
 * (type 3) and *id the packet id of PUBLISH QoS 1 / PUBACK / SUBACK (0 otherwise), or OTA_ERR_MQTT. */
int ota_mqtt_parse(const uint8_t *pkt, size_t n, ota_mqtt_msg_t *msg, uint16_t *id);

#endif
