/*
 * OTA over MQTT, as Mongoose's tutorial and its updater page speak it (cesanta/mongoose
 * tutorials/mqtt/ota-over-mqtt/main.c, src/rpc.c): JSON-RPC requests on the device's request
 * topic, answers on its response topic.
 *
 *   {"id":1,"method":"ota.update","params":{"offset":0,"total":N,"chunk":"<base64>"}}
 *        -> {"id":1,"result":"ok"}  or  {"id":1,"error":{"code":1,"message":"..."}}
 *   offset 0 begins a transfer of total bytes (abandoning one in flight), each further chunk
 *   continues it, an empty chunk at offset == total ends it: ota_end() verifies the image like
 *   any other (hash, signature, product, security counter) before it is marked pending.
 *   {"id":2,"method":"ota.status"} -> {"id":2,"result":{"offset":K,"total":N}}   (otakit's own:
 *   where an interrupted transfer resumes; 0/0 when none is in flight). After a reset mid-transfer
 *   the offset is the writer's journal checkpoint (ota_resume(), OTA_RESUME_AUTO: the start of the
 *   last flash sector entered, persisted only once every byte below it was programmed), so an
 *   updater continues a transfer that a reset or a power cut interrupted
 *   any other method -> {"id":3,"error":{"code":-32601,"message":"<method> not found"}}
 *
 * What Mongoose does not check and this does: a chunk must start exactly where the transfer
 * stands and carry the same total (a gap, a replayed chunk or another image's chunk gets an error
 * and changes nothing, so the updater can continue at the right offset), and a chunk may not run
 * past total. Like Mongoose, a request without "id" gets no "ok" answer (errors are still sent),
 * and the id is echoed exactly as it was written. Portable C99: no heap, no stdio.
 */
#ifndef OTAKIT_MQTT_OTA_H
#define OTAKIT_MQTT_OTA_H

#include <stddef.h>
#include <stdint.h>

#include "otakit/ota.h"

/* The will to give ota_mqtt_connect() on the response topic, as Mongoose's tutorial does: the
 * updater sees it when the device drops off the broker. */
#define OTA_MQTT_OTA_WILL "{\"method\":\"bye\"}"

#ifndef OTA_MQTT_ANSWER_MAX
#define OTA_MQTT_ANSWER_MAX 320u /* an answer: id (up to 32 bytes as written), code, message */
#endif

typedef struct {
    ota_ctx_t *ota;     /* initialised (ota_init) */
    uint32_t total;     /* size of the transfer in flight */
    uint32_t next;      /* offset the next chunk must start at */
    uint8_t active;     /* a transfer is in flight */
} ota_mqtt_ota_t;

/* Starts with no transfer in flight; ota must outlive s. */
void ota_mqtt_ota_init(ota_mqtt_ota_t *s, ota_ctx_t *ota);

/* Handles one request (len bytes of JSON). The answer goes to ans (cap bytes, NUL-terminated;
 * OTA_MQTT_ANSWER_MAX suffices), *ans_len 0 when none is due. *pending is set to 1 when an image
 * was verified and marked pending (reset to install it). Returns OTA_OK when the request
 * succeeded, else the error the answer reports (OTA_ERR_JSON for a request that is not JSON-RPC,
 * OTA_ERR_OFFSET for a gap, replay or other total, the writer's and the verifier's errors). */
int ota_mqtt_ota_request(ota_mqtt_ota_t *s, const uint8_t *req, size_t len, char *ans, size_t cap,
                         size_t *ans_len, uint8_t *pending);

#endif
