/*
 * ArduinoOTA push (the protocol of the Arduino IDE's network upload: tools/espota.py of the
 * ESP8266 core, answered there by libraries/ArduinoOTA/ArduinoOTA.cpp), on the device:
 *
 *   host -> device, UDP (port OTA_AOTA_PORT by default):  "<cmd> <host tcp port> <size> <md5>\n"
 *       cmd 0 = flash (100 = filesystem: refused here); anything else, or an MD5 that is not
 *       32 characters, is dropped without an answer.
 *   with a password: device -> host "AUTH <nonce>", host -> device "200 <cnonce> <response>\n"
 *       with response = md5hex(md5hex(password) ":" nonce ":" cnonce); the device answers "OK", or
 *       "Authentication Failed" and waits for a new invitation.
 *   device -> host, UDP: "OK" (the writer has begun) or "ERR: ERROR[n]: <message>\n".
 *   device connects by TCP to the host's port; the host sends the image in 1460-byte chunks and
 *   after each waits for the device, which answers every read with the number of bytes it took
 *   (decimal ASCII, no delimiter); at the end the device sends "OK" (MD5 right, ota_end() verified
 *   the image: it is pending, reset to install) or "ERROR[n]: <message>\n", then closes. espota.py
 *   waits for one of them, so one is always sent.
 *
 * The port owns the sockets' UDP side: it hands each datagram to ota_aota_datagram() and sends
 * the reply back to the sender; the TCP side goes through an ota_net_t (ota_aota_receive()).
 * Portable C99: no heap, no stdio. Buffers: the state below and ~0.7 KB of stack.
 */
#ifndef OTAKIT_ARDUINO_OTA_H
#define OTAKIT_ARDUINO_OTA_H

#include "otakit/net.h"
#include "otakit/ota.h"

#define OTA_AOTA_PORT 8266u      /* ESP8266's default (the ESP32 core uses 3232) */
#define OTA_AOTA_REPLY_MAX 96u   /* a reply datagram, NUL included */
#define OTA_AOTA_START 1         /* ota_aota_datagram(): connect back and receive */

typedef struct {
    const char *password;        /* NULL or "": no authentication */
    uint8_t state;               /* internal: idle, waiting for the answer to AUTH, started */
    uint8_t cmd;
    uint16_t host_port;          /* the host's TCP port from the invitation */
    uint32_t size;               /* the image size from the invitation */
    char md5[33];                /* its MD5, as sent */
    char nonce[33];              /* the challenge sent with AUTH */
} ota_aota_t;

/* Starts the engine idle, with the password the host must prove (NULL or "": none; the string
 * must outlive s). */
void ota_aota_init(ota_aota_t *s, const char *password);

/* Takes one datagram (len bytes) from the host. nonce16 is 16 fresh random bytes (needed only
 * when a password is set: the challenge). Writes the datagram to send back to the sender into
 * reply (cap >= OTA_AOTA_REPLY_MAX bytes) with its length in *reply_len (0: send nothing).
 * Returns OTA_AOTA_START when the transfer is on (ota_begin() done, reply "OK"): connect back with
 * ota_aota_receive() at once; else 0. */
int ota_aota_datagram(ota_ctx_t *ctx, ota_aota_t *s, const char *in, size_t len, const uint8_t *nonce16,
                      char *reply, size_t cap, size_t *reply_len);

/* After OTA_AOTA_START: connects to host (the datagram's sender) at s->host_port over net, reads
 * s->size bytes into ota_write() acknowledging each read, checks the MD5 and ota_end(), sends the
 * final "OK" or "ERROR[n]: ..." and closes. Every wait is bounded by timeout_ms. Returns OTA_OK
 * (image pending: reset to install it), OTA_ERR_HASH (MD5), the transport's or the writer's
 * errors. The engine is idle again either way. */
int ota_aota_receive(ota_ctx_t *ctx, ota_aota_t *s, const ota_net_t *net, const char *host, uint32_t timeout_ms);

#endif
