/*
 * otakit push --mqtt: sends a signed image to one device over an MQTT broker, as Mongoose's OTA
 * over MQTT does (cesanta/mongoose tutorials/mqtt/ota-over-mqtt/main.c; the updater page at
 * mongoose.ws/mqtt speaks the same): JSON-RPC "ota.update" requests with base64 chunks on the
 * device's request topic, one at a time, each answer awaited on its response topic.
 *
 * Before the first chunk (and after every lost broker connection) it asks "ota.status": an otakit
 * device answers where its transfer stands, so an interrupted push continues there; a Mongoose
 * device answers "not found" and the transfer starts at offset 0. The broker client is Debian's
 * libmosquitto.
 */
#include <jansson.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "otakit/fileio.h"

static const char push_help[] =
    "usage: otakit push --mqtt HOST[:PORT] --topic PREFIX [--rx TOPIC] [--tx TOPIC] [--chunk N]\n"
    "                   [--timeout S] [--retry S] [--qos 0|1] IMAGE\n\n"
    "Sends IMAGE (a signed image) to a device over an MQTT broker, Mongoose's OTA over MQTT:\n"
    "\"ota.update\" JSON-RPC requests on PREFIX/rx (or --rx), answers awaited on PREFIX/tx (or --tx),\n"
    "one chunk at a time, with a progress bar. A transfer the device already holds part of (after a\n"
    "lost connection, or a device reset: its will \"bye\" says so) continues at the offset the device\n"
    "reports (\"ota.status\").\n\n"
    "  --chunk N     image bytes per request (default 4096, as Mongoose's updater page)\n"
    "  --timeout S   longest wait for each answer (default 10)\n"
    "  --retry S     keep reconnecting to a lost broker this long (default 30)\n"
    "  --qos 0|1     QoS of the requests (default 1)\n\n"
    "Exit status: 0 the device verified the image and marked it for its next boot; 1 it answered\n"
    "an error (printed), 6 the broker or the device could not be reached, 2 bad command line.\n";

struct push {
    struct mosquitto *m;
    const char *rx, *tx;
    int qos, connected, subscribed, down, got;
    int gone;         /* the device's will came: it dropped off the broker (reset, power, network) */
    long want_id;     /* the id of the request awaiting its answer */
    json_t *answer;   /* its answer, once it came */
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void on_connect(struct mosquitto *m, void *arg, int rc)
{
    struct push *p = arg;
    (void)m;
    p->connected = rc == 0;
    if (rc)
        p->down = 1; /* refused */
}

static void on_disconnect(struct mosquitto *m, void *arg, int rc)
{
    struct push *p = arg;
    (void)m, (void)rc;
    p->connected = p->subscribed = 0;
    p->down = 1;
}

static void on_subscribe(struct mosquitto *m, void *arg, int mid, int n, const int *granted)
{
    struct push *p = arg;
    (void)m, (void)mid;
    p->subscribed = n > 0 && granted[0] <= 2;
}

static void on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
    struct push *p = arg;
    json_t *j, *id;
    (void)m;
    if (strcmp(msg->topic, p->tx) != 0 || p->answer)
        return;
    j = json_loadb(msg->payload, (size_t)msg->payloadlen, 0, NULL);
    if (!j)
        return;
    id = json_object_get(j, "id");
    if (json_is_integer(id) && json_integer_value(id) == p->want_id)
        p->answer = j, p->got = 1; /* other ids are not ours */
    else {
        const char *method = json_string_value(json_object_get(j, "method"));
        if (method && !strcmp(method, "bye"))
            p->gone = 1; /* the device's will (OTA_MQTT_OTA_WILL): no answer is coming */
        json_decref(j);
    }
}

/* Runs the client's loop (and so the callbacks) until *flag is set, the connection is lost, the
 * device's will comes or secs pass. Returns *flag. */
static int wait_for(struct push *p, const int *flag, double secs)
{
    double end = now_s() + secs;
    while (!*flag && !p->down && !p->gone && now_s() < end)
        if (mosquitto_loop(p->m, 50, 1) != MOSQ_ERR_SUCCESS)
            p->down = 1;
    return *flag;
}

/* (Re)connects and subscribes, trying for retry seconds. Returns 0 or -1. */
static int link_up(struct push *p, double retry)
{
    double end = now_s() + retry;
    do {
        p->connected = p->subscribed = p->down = 0;
        if (mosquitto_reconnect(p->m) == MOSQ_ERR_SUCCESS && wait_for(p, &p->connected, 5) &&
            mosquitto_subscribe(p->m, NULL, p->tx, 1) == MOSQ_ERR_SUCCESS && wait_for(p, &p->subscribed, 5))
            return 0;
        usleep(300000);
    } while (now_s() < end);
    return -1;
}

/* Sends one request and waits for its answer. Returns the answer (caller frees), or NULL when the
 * broker connection was lost or no answer came in timeout seconds. */
static json_t *call(struct push *p, json_t *req, long id, double timeout)
{
    char *text;
    int rc;
    json_object_set_new(req, "id", json_integer(id));
    text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!text)
        return NULL;
    p->want_id = id;
    p->answer = NULL;
    p->got = 0;
    rc = mosquitto_publish(p->m, NULL, p->rx, (int)strlen(text), text, p->qos, false);
    free(text);
    if (rc != MOSQ_ERR_SUCCESS) {
        /* Without a network thread libmosquitto writes the request at once: a broker that died
         * since the last loop call shows up here (EPIPE, a reset), not in mosquitto_loop(). */
        if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO)
            p->down = 1;
        return NULL;
    }
    wait_for(p, &p->got, timeout);
    return p->answer;
}

static char *b64(const uint8_t *d, size_t n)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = malloc(4 * ((n + 2) / 3) + 1), *q = o;
    size_t i;
    if (!o)
        return NULL;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
        *q++ = al[v >> 18], *q++ = al[v >> 12 & 63], *q++ = al[v >> 6 & 63], *q++ = al[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0);
        *q++ = al[v >> 18], *q++ = al[v >> 12 & 63];
        *q++ = i + 1 < n ? al[v >> 6 & 63] : '=';
        *q++ = '=';
    }
    *q = 0;
    return o;
}

static void progress(size_t done, size_t total, int tty, int *last)
{
    int pct = total ? (int)(done * 100 / total) : 100, i;
    if (tty) {
        char bar[41];
        for (i = 0; i < 40; i++)
            bar[i] = i < pct * 40 / 100 ? '#' : '.';
        bar[40] = 0;
        fprintf(stderr, "\r[%s] %3d%% %zu/%zu bytes%s", bar, pct, done, total, done >= total ? "\n" : "");
    } else if (pct / 10 != *last) {
        fprintf(stderr, "otakit push: %3d%% %zu/%zu bytes\n", pct, done, total);
    }
    *last = pct / 10;
}

/* The device's answer as text for the operator: "ok" or its error message. Returns 1 for ok. */
static int answer_ok(json_t *a, const char **msg)
{
    json_t *e = json_object_get(a, "error");
    *msg = "ok";
    if (!e)
        return 1;
    *msg = json_string_value(json_object_get(e, "message"));
    if (!*msg)
        *msg = "(an error without a message)";
    return 0;
}

/* ota.status: where the device's transfer stands, asked once a second for up to wait seconds (a
 * device that just reconnected may not have subscribed yet). Returns the offset to continue at
 * (0: start; also for a Mongoose device, which answers "not found"), or -1 when no answer came. */
static long resume_point(struct push *p, long *id, size_t total, double wait)
{
    double end = now_s() + wait;
    json_t *a = NULL, *r;
    long at = 0;
    p->gone = 0; /* a will from before this question is history */
    while (!a && !p->down && now_s() < end)
        a = call(p, json_pack("{s:s}", "method", "ota.status"), ++*id, 1.0);
    if (!a)
        return -1;
    r = json_object_get(a, "result");
    if (json_is_object(r) && json_integer_value(json_object_get(r, "total")) == (json_int_t)total)
        at = (long)json_integer_value(json_object_get(r, "offset"));
    json_decref(a);
    return at >= 0 && (size_t)at < total ? at : 0;
}

int cmd_push(int argc, char **argv)
{
    const char *broker = NULL, *topic = NULL, *rx = NULL, *tx = NULL, *file = NULL, *msg;
    char rxb[256], txb[256], host[256], cid[64];
    uint32_t chunk = 4096, timeout = 10, retry = 30, qos = 1, port = 1883;
    uint8_t *img = NULL;
    size_t len = 0, off;
    long id = 0, at;
    int i, tty = isatty(2), last = -1, rc = EXIT_FAIL, ok;
    struct push p;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint32_t *num = !strcmp(a, "--chunk") ? &chunk : !strcmp(a, "--timeout") ? &timeout
                      : !strcmp(a, "--retry") ? &retry : !strcmp(a, "--qos") ? &qos : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(push_help, stdout);
            return EXIT_OK;
        }
        if (num && v) {
            if (parse_uint(v, num == &chunk ? 65536 : num == &qos ? 1 : 3600, num) != 0 || (num == &chunk && !*num))
                return usage_error("push", "bad value for %s: %s", a, v);
            i++;
        } else if (!strcmp(a, "--mqtt") && v) {
            broker = argv[++i];
        } else if (!strcmp(a, "--topic") && v) {
            topic = argv[++i];
        } else if (!strcmp(a, "--rx") && v) {
            rx = argv[++i];
        } else if (!strcmp(a, "--tx") && v) {
            tx = argv[++i];
        } else if (a[0] != '-' && !file) {
            file = a;
        } else {
            return usage_error("push", "unexpected argument %s (see --help)", a);
        }
    }
    if (!broker || !file || (!topic && (!rx || !tx)))
        return usage_error("push", "needs --mqtt BROKER, --topic PREFIX (or --rx and --tx) and IMAGE");
    if (!strncmp(broker, "mqtt://", 7))
        broker += 7;
    snprintf(host, sizeof host, "%s", broker);
    if (strrchr(host, ':')) {
        if (parse_uint(strrchr(host, ':') + 1, 65535, &port) != 0 || !port)
            return usage_error("push", "bad broker port in %s", broker);
        *strrchr(host, ':') = 0;
    }
    snprintf(rxb, sizeof rxb, "%s/rx", topic ? topic : "");
    snprintf(txb, sizeof txb, "%s/tx", topic ? topic : "");
    if ((i = ota_file_read(file, &img, &len)) != OTA_OK)
        return op_error("push", file, i);
    memset(&p, 0, sizeof p);
    p.rx = rx ? rx : rxb;
    p.tx = tx ? tx : txb;
    p.qos = (int)qos;
    mosquitto_lib_init();
    snprintf(cid, sizeof cid, "otakit-push-%ld", (long)getpid());
    if (!(p.m = mosquitto_new(cid, true, &p))) {
        rc = op_error("push", "mosquitto_new", OTA_ERR_NO_MEM);
        goto out;
    }
    mosquitto_connect_callback_set(p.m, on_connect);
    mosquitto_disconnect_callback_set(p.m, on_disconnect);
    mosquitto_subscribe_callback_set(p.m, on_subscribe);
    mosquitto_message_callback_set(p.m, on_message);
    if (mosquitto_connect(p.m, host, (int)port, 10) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "otakit push: cannot connect to the broker %s:%u\n", host, (unsigned)port);
        rc = EXIT_NETWORK;
        goto out;
    }
    if (!wait_for(&p, &p.connected, 5) || mosquitto_subscribe(p.m, NULL, p.tx, 1) != MOSQ_ERR_SUCCESS ||
        !wait_for(&p, &p.subscribed, 5)) {
        fprintf(stderr, "otakit push: the broker %s:%u did not accept the connection\n", host, (unsigned)port);
        rc = EXIT_NETWORK;
        goto out;
    }
    if ((at = resume_point(&p, &id, len, timeout)) < 0) {
        fprintf(stderr, "otakit push: no answer from the device on %s within %u s\n", p.tx, (unsigned)timeout);
        rc = EXIT_NETWORK;
        goto out;
    }
    if ((off = (size_t)at) > 0)
        fprintf(stderr, "otakit push: the device holds %zu of %zu bytes: continuing there\n", off, len);
    for (;;) {
        size_t n = off < len ? (len - off < chunk ? len - off : chunk) : 0;
        char *enc = b64(img + off, n);
        json_t *a, *req = json_pack("{s:s,s:{s:I,s:I,s:s}}", "method", "ota.update", "params", "offset",
                                    (json_int_t)off, "total", (json_int_t)len, "chunk", enc ? enc : "");
        free(enc);
        progress(off, len, tty, &last);
        if (!(a = call(&p, req, ++id, timeout))) {
            if (p.gone && !p.down) { /* the device reset or lost its link: it resumes from flash */
                fprintf(stderr, "\notakit push: the device dropped off the broker at offset %zu: waiting for it\n",
                        off);
            } else if (!p.down) {
                fprintf(stderr, "\notakit push: no answer from the device on %s within %u s\n", p.tx,
                        (unsigned)timeout);
                rc = EXIT_NETWORK;
                goto out;
            } else {
                fprintf(stderr, "\notakit push: lost the broker at offset %zu: reconnecting\n", off);
                if (link_up(&p, retry) != 0) {
                    fprintf(stderr, "otakit push: the broker %s:%u did not come back within %u s\n", host,
                            (unsigned)port, (unsigned)retry);
                    rc = EXIT_NETWORK;
                    goto out;
                }
            }
            /* either way the device says how much it holds, and the push continues there */
            if ((at = resume_point(&p, &id, len, retry)) < 0) {
                fprintf(stderr, "otakit push: the device did not come back within %u s\n", (unsigned)retry);
                rc = EXIT_NETWORK;
                goto out;
            }
            off = (size_t)at;
            fprintf(stderr, "otakit push: the device holds %zu bytes: continuing there\n", off);
            continue;
        }
        ok = answer_ok(a, &msg);
        if (!ok) {
            char *safe = term_safe(msg, 0);
            fprintf(stderr, "%sotakit push: the device refused the chunk at offset %zu: %s\n", tty ? "\n" : "",
                    off, safe ? safe : "?");
            free(safe);
            json_decref(a);
            goto out;
        }
        json_decref(a);
        if (!n)
            break;
        off += n;
    }
    progress(len, len, tty, &last);
    printf("otakit push: the device verified the image (%zu bytes) and installs it at its next boot\n", len);
    rc = EXIT_OK;
out:
    if (p.m) {
        mosquitto_disconnect(p.m);
        mosquitto_destroy(p.m);
    }
    mosquitto_lib_cleanup();
    free(img);
    return rc;
}
