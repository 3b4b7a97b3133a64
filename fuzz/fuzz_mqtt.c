/*
 * libFuzzer target for the MQTT client (device/net/mqtt.c) and OTA over MQTT
 * (device/net/mqtt_ota.c). The fuzzer's bytes are what the broker sends (fuzz_net.h): the client
 * connects (CONNACK), subscribes (SUBACK), then polls until the stream fails; every application
 * message it delivers goes to ota_mqtt_ota_request() over a blank fake flash (fuzz_flash.h) that
 * trusts no key. Flags bit 1: the stream is instead one request given straight to
 * ota_mqtt_ota_request(), and also one packet given to ota_mqtt_parse().
 *
 * Checks besides ASan and UBSan: a delivered message's topic and payload lie inside the client's
 * receive buffer; the transport is closed exactly when the client says so; an answer is a JSON
 * object that fits its buffer and echoes no more than it should; no image is ever marked pending
 * (none verifies); a transfer never stands past its total. The fuzz build shrinks the receive
 * buffer (OTA_MQTT_RX_MAX, fuzz/CMakeLists.txt), so oversized packets are reached. Seeds:
 * fuzz/corpus/mqtt/ (tests/mqtt's packets).
 *   cd build-fuzz/fuzz && ./fuzz_mqtt -max_len=4096 -max_total_time=600 corpus-mqtt ../../fuzz/corpus/mqtt
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_flash.h"
#include "fuzz_net.h"
#include "otakit/mqtt.h"
#include "otakit/mqtt_ota.h"

static void request(ota_mqtt_ota_t *s, const uint8_t *req, size_t len)
{
    char ans[OTA_MQTT_ANSWER_MAX];
    size_t n = 99;
    uint8_t pending = 7;
    int rc = ota_mqtt_ota_request(s, req, len, ans, sizeof ans, &n, &pending);
    FZ_CHECK(rc <= 0 && pending == 0); /* nothing verifies with a key that trusts nothing */
    FZ_CHECK(n < sizeof ans && strlen(ans) == n);
    if (n)
        FZ_CHECK(ans[0] == '{' && ans[n - 1] == '}');
    FZ_CHECK(rc == OTA_OK || n == 0 || strstr(ans, "\"error\":{\"code\":") != NULL);
    FZ_CHECK(!s->active || s->next <= s->total);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ota_ctx_t ctx;
    static ota_mqtt_t m;
    ota_flash_t flash;
    ota_pubkey_t pk;
    ota_config_t cfg;
    ota_mqtt_cfg_t mc;
    ota_mqtt_ota_t s;
    ota_mqtt_msg_t msg;
    fz_net_t f;
    ota_net_t net;
    uint16_t id;
    int flags = fz_net_init(&f, &net, data, size), rc, turns;

    if (flags < 0)
        return 0;
    fz_flash_setup(&ctx, &flash, &cfg, &pk);
    ota_mqtt_ota_init(&s, &ctx);
    if (flags & 2) {
        request(&s, f.p, f.len);
        if (ota_mqtt_parse(f.p, f.len, &msg, &id) == 3) {
            FZ_CHECK(msg.topic >= (const char *)f.p && msg.topic + msg.topic_len <= (const char *)f.p + f.len);
            FZ_CHECK(msg.payload >= f.p && msg.payload + msg.len == f.p + f.len && msg.qos <= 1);
        }
        return 0;
    }
    memset(&mc, 0, sizeof mc);
    mc.host = "broker";
    mc.client_id = "fuzz";
    mc.keepalive_s = flags & 4 ? 1 : 0;
    mc.will_topic = "mg/fuzz/tx";
    mc.will_msg = "{\"method\":\"bye\"}";
    mc.will_qos = 1;
    mc.platform = flags & 8 ? &f.plat : NULL;
    rc = ota_mqtt_connect(&m, &net, &mc);
    FZ_CHECK(rc <= 0 && f.connects <= 1);
    if (rc != OTA_OK) {
        FZ_CHECK(!f.open && m.h < 0);
        return 0;
    }
    FZ_CHECK(f.open && m.h == FZ_HANDLE);
    if ((rc = ota_mqtt_subscribe(&m, "mg/fuzz/rx", 1)) != OTA_OK) {
        FZ_CHECK(rc < 0);
        ota_mqtt_close(&m);
        FZ_CHECK(!f.open);
        return 0;
    }
    for (turns = 0; turns < 10000; turns++) {
        rc = ota_mqtt_poll(&m, 100, &msg);
        if (rc < 0)
            break;
        if (rc == 1) {
            FZ_CHECK(msg.topic >= (const char *)m.rx && msg.topic + msg.topic_len <= (const char *)m.rx + sizeof m.rx);
            FZ_CHECK(msg.payload >= m.rx && msg.payload + msg.len <= m.rx + sizeof m.rx && msg.qos <= 1);
            request(&s, msg.payload, msg.len);
            FZ_CHECK(ota_mqtt_publish(&m, "mg/fuzz/tx", "{\"id\":1,\"result\":\"ok\"}", 22, 1, 0) == OTA_OK);
        } else if (f.at == f.len && rc == 0 && f.end_rc == OTA_ERR_TIMEOUT) {
            break; /* the broker went quiet */
        }
    }
    ota_mqtt_close(&m);
    FZ_CHECK(!f.open && m.h < 0);
    return 0;
}
