/* ArduinoOTA push on the device (see otakit/arduino_ota.h). */
#include "otakit/arduino_ota.h"

#include <string.h>

#include "otakit/bytes.h"

#include "core/buf.h"
#include "core/text.h"
#include "crypto/crypto.h"

enum { IDLE = 0, WAITAUTH = 1, STARTED = 2 };
#define CMD_FLASH 0
#define CMD_FS 100
#define CMD_AUTH 200
#define CHUNK 512u

void ota_aota_init(ota_aota_t *s, const char *password)
{
    memset(s, 0, sizeof *s);
    s->password = password;
}

/* A reader over one datagram, as ArduinoOTA's parseInt()/readStringUntil() read it. */
struct dg {
    const char *p, *end;
};

/* Spaces, then decimal digits (at most 15); -1 when there are none. */
static long dg_int(struct dg *d)
{
    long v = 0;
    int n = 0;
    while (d->p < d->end && *d->p == ' ')
        d->p++;
    while (d->p < d->end && *d->p >= '0' && *d->p <= '9' && n < 15) {
        v = v * 10 + (*d->p++ - '0');
        n++;
    }
    return n ? v : -1;
}

/* The text up to end (or NUL, or the datagram's end) into out; returns its length, or -1 when it
 * does not fit cap. */
static int dg_until(struct dg *d, char end, char *out, size_t cap)
{
    size_t n = 0;
    while (d->p < d->end && *d->p != end && *d->p != 0) {
        if (n + 1 >= cap)
            return -1;
        out[n++] = *d->p++;
    }
    if (d->p < d->end && *d->p == end)
        d->p++;
    out[n] = 0;
    return (int)n;
}

static void md5_hex(const char *a, const char *b, const char *c, const char *d, const char *e, char out[33])
{
    const char *parts[5];
    ota_md5_t h;
    uint8_t dig[16];
    int i;
    parts[0] = a;
    parts[1] = b;
    parts[2] = c;
    parts[3] = d;
    parts[4] = e;
    ota_md5_start(&h);
    for (i = 0; i < 5; i++)
        if (parts[i])
            ota_md5_update(&h, (const uint8_t *)parts[i], (uint32_t)strlen(parts[i]));
    ota_md5_finish(&h, dig);
    ota_hex_encode(dig, 16, out);
}

/* "ERROR[n]: <message>\n" (the Updater's printError() form; n is the otakit error's number). */
static void error_text(ota_buf_t *w, int err, const char *msg)
{
    ota_buf_put(w, "ERROR[");
    ota_buf_put_u32(w, (uint32_t)(err < 0 ? -err : err));
    ota_buf_put(w, "]: ");
    ota_buf_put(w, msg ? msg : ota_strerror(err));
    ota_buf_put(w, "\n");
}

static void reply_set(char *reply, size_t cap, size_t *len, const char *text)
{
    size_t n = strlen(text);
    if (n >= cap)
        n = cap - 1;
    memcpy(reply, text, n);
    reply[n] = 0;
    *len = n;
}

/* Begins the writer: "OK" and OTA_AOTA_START, or "ERR: ERROR[n]: ..." and idle. */
static int start(ota_ctx_t *ctx, ota_aota_t *s, char *reply, size_t cap, size_t *len)
{
    ota_buf_t w;
    int rc = s->cmd == CMD_FS ? OTA_ERR_ARG : ota_begin(ctx, s->size);
    if (rc != OTA_OK) {
        reply[0] = 0;
        ota_buf_text(&w, reply, cap);
        ota_buf_put(&w, "ERR: ");
        error_text(&w, rc, s->cmd == CMD_FS ? "filesystem images are not supported" : NULL);
        *len = strlen(reply);
        s->state = IDLE;
        return 0;
    }
    reply_set(reply, cap, len, "OK");
    s->state = STARTED;
    return OTA_AOTA_START;
}

int ota_aota_datagram(ota_ctx_t *ctx, ota_aota_t *s, const char *in, size_t len, const uint8_t *nonce16,
                      char *reply, size_t cap, size_t *reply_len)
{
    struct dg d;
    long cmd, port, size;
    char md5[40], cnonce[40], resp[40], expect[33], pass[33];

    *reply_len = 0;
    if (!ctx || !s || !in || !reply || cap < OTA_AOTA_REPLY_MAX)
        return 0;
    reply[0] = 0;
    d.p = in;
    d.end = in + len;
    if (s->state == STARTED)
        return 0; /* a transfer is running: one at a time */
    if (s->state == IDLE) {
        cmd = dg_int(&d);
        if (cmd != CMD_FLASH && cmd != CMD_FS)
            return 0;
        port = dg_int(&d);
        size = dg_int(&d);
        if (d.p < d.end)
            d.p++;
        if (port <= 0 || port > 65535 || size <= 0 || size > 0x7fffffffL || dg_until(&d, '\n', md5, sizeof md5) < 0)
            return 0;
        /* ArduinoOTA trims the MD5 and wants 32 characters. */
        while (md5[0] == ' ')
            memmove(md5, md5 + 1, strlen(md5));
        while (md5[0] && (md5[strlen(md5) - 1] == ' ' || md5[strlen(md5) - 1] == '\r'))
            md5[strlen(md5) - 1] = 0;
        if (strlen(md5) != 32)
            return 0;
        s->cmd = (uint8_t)cmd;
        s->host_port = (uint16_t)port;
        s->size = (uint32_t)size;
        memcpy(s->md5, md5, 33);
        if (s->password && s->password[0]) {
            ota_buf_t w;
            if (!nonce16)
                return 0;
            ota_hex_encode(nonce16, 16, s->nonce);
            reply[0] = 0;
            ota_buf_text(&w, reply, cap);
            ota_buf_put(&w, "AUTH ");
            ota_buf_put(&w, s->nonce);
            *reply_len = strlen(reply);
            s->state = WAITAUTH;
            return 0;
        }
        return start(ctx, s, reply, cap, reply_len);
    }
    /* WAITAUTH: "200 <cnonce> <response>\n"; anything else drops the invitation. */
    cmd = dg_int(&d);
    if (cmd != CMD_AUTH) {
        s->state = IDLE;
        return 0;
    }
    if (d.p < d.end)
        d.p++;
    if (dg_until(&d, ' ', cnonce, sizeof cnonce) != 32 || dg_until(&d, '\n', resp, sizeof resp) != 32) {
        s->state = IDLE;
        return 0;
    }
    md5_hex(s->password, NULL, NULL, NULL, NULL, pass);
    md5_hex(pass, ":", s->nonce, ":", cnonce, expect);
    if (!ota_ct_equal(expect, resp, 32)) {
        reply_set(reply, cap, reply_len, "Authentication Failed");
        s->state = IDLE;
        return 0;
    }
    return start(ctx, s, reply, cap, reply_len);
}

static int send_text(const ota_net_t *net, int h, const char *t, uint32_t timeout_ms)
{
    size_t len = strlen(t);
    while (len) {
        int n = net->ops->send(net->ctx, h, t, len, timeout_ms);
        if (n <= 0)
            return n < 0 ? n : OTA_ERR_NET;
        t += n;
        len -= (size_t)n;
    }
    return OTA_OK;
}

int ota_aota_receive(ota_ctx_t *ctx, ota_aota_t *s, const ota_net_t *net, const char *host, uint32_t timeout_ms)
{
    uint8_t buf[CHUNK], dig[16];
    char ack[12], hex[33], fin[OTA_AOTA_REPLY_MAX];
    uint32_t got = 0;
    ota_md5_t md5;
    ota_buf_t w;
    int h, rc = OTA_OK, n;

    if (!ctx || !s || !net || !host || s->state != STARTED)
        return OTA_ERR_ARG;
    s->state = IDLE;
    if ((h = net->ops->connect(net->ctx, host, s->host_port, timeout_ms)) < 0) {
        ota_abort(ctx);
        return h;
    }
    ota_md5_start(&md5);
    while (got < s->size) {
        uint32_t want = s->size - got < sizeof buf ? s->size - got : (uint32_t)sizeof buf;
        int sent;
        if ((n = net->ops->recv(net->ctx, h, buf, want, timeout_ms)) <= 0) {
            rc = n < 0 ? n : OTA_ERR_INCOMPLETE;
            break;
        }
        /* After a write error the rest is read and dropped, still acknowledged: espota.py only
         * looks for the result once it has sent everything (and waits forever otherwise). */
        if (rc == OTA_OK && (rc = ota_write(ctx, buf, (uint32_t)n)) == OTA_OK)
            ota_md5_update(&md5, buf, (uint32_t)n);
        got += (uint32_t)n;
        /* ArduinoOTA: client.print(written, DEC) after every write. */
        if ((sent = send_text(net, h, ota_u32_str(ack, (uint32_t)n), timeout_ms)) != OTA_OK) {
            rc = rc == OTA_OK ? sent : rc;
            break;
        }
    }
    if (rc == OTA_OK) {
        ota_md5_finish(&md5, dig);
        ota_hex_encode(dig, 16, hex);
        if (!ota_ct_equal(hex, s->md5, 32)) {
            size_t i;
            char lower[33];
            for (i = 0; i < 33; i++)
                lower[i] = (char)ota_lower((unsigned char)s->md5[i]);
            if (!ota_ct_equal(hex, lower, 32))
                rc = OTA_ERR_HASH;
        }
    }
    if (rc == OTA_OK)
        rc = ota_end(ctx);
    if (rc != OTA_OK)
        ota_abort(ctx);
    /* espota.py waits for "OK" or a text with an 'E' after the last chunk: always send one. */
    fin[0] = 0;
    ota_buf_text(&w, fin, sizeof fin);
    if (rc == OTA_OK)
        ota_buf_put(&w, "OK");
    else
        error_text(&w, rc, rc == OTA_ERR_HASH ? "MD5 verification failed" : NULL);
    (void)send_text(net, h, fin, timeout_ms);
    net->ops->close(net->ctx, h);
    return rc;
}
