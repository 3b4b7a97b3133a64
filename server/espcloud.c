/*
 * Espressif cloud FOTA, the device wire API of iot.espressif.cn (seed 004 "ESP8266 FOTA
 * Introduction" v1.5, section 4.4; the device side followed is the SDK's IoT_Demo
 * user/user_esp_platform.c), mapped onto the same devices, commands, rollouts and consent as the
 * native API (the sys_upgrade / sys_reboot flow of api_devices.c).
 *
 * The device keeps a TCP connection to the cloud (port 8000) and writes one JSON object per line:
 *   {"nonce": N,"path": "/v1/device/activate/", "method": "POST", "body": {"encrypt_method":
 *    "PLAIN", "token": T, "bssid": MAC,"rom_version":V}, "meta": {"Authorization": "token KEY"}}
 *       -> {"status": 200, "activate_status": 1, "nonce": N}   (0 and a message when refused)
 *   {"nonce": N, "path": "/v1/device/identify", "method": "GET","meta": {...}}   (later connects)
 *   {"path": "/v1/ping/", "method": "POST","meta": {...}}         -> {"status": 200, "message": "ping success"}
 *   {"path": "/v1/messages/", "method": "POST", "meta": {...},"get":{"action":
 *    "device_upgrade_success"|"device_upgrade_failed"},"body":{"pre_rom_version":P,"rom_version":V}}
 *       -> {"status": 200, "message": "send message success"}   (the download finished, or failed)
 * and the server pushes, as the cloud does, the RPC packets of seed 004 section 4.4:
 *   {"body": {}, "nonce": N, "get": {"action": "sys_upgrade", "version": V, "deliver_to_device":
 *    "true"}, "path": "/v1/device/rpc/", "post": {}, "method": "GET", "deliver_to_device": true}
 *   (and "sys_reboot"), which the device answers {"status": 200, "nonce": N, "deliver_to_device": true}.
 * The device parses these with strstr at fixed offsets ("\"action\": \"sys_upgrade\"", the version
 * 12 bytes after "\"version\":", "\"activate_status\": " + 19), so the answers are written with
 * jansson's default separators (", " and ": ") that the cloud used. The connection listens on
 * --espcloud-listen (off by default).
 *
 * Over HTTP (the main port):
 *   GET  /v1/device/rom/?action=download_rom&version=V&filename=user1.bin|user2.bin
 *        Authorization: token KEY   the image (the device asks for the one of its inactive slot)
 *   POST /v1/messages/?action=device_upgrade_success|device_upgrade_failed   token KEY, the body above
 *   GET  /v1/device/rpc/?deliver_to_device=true&action=sys_upgrade&version=V&device=ID  (or sys_reboot)
 *        Authorization: token OWNER   the PC's request: queues the upgrade (or reboot) command of
 *        device ID (the cloud's owner key is per device; here it is the product's owner token, so
 *        the device is named). Answers 201 with the command, as POST .../commands does.
 *
 * KEY, the device's master device key: a device registered with the native API uses its device
 * token. A key the server does not know is accepted only by activation, on a product whose owner
 * switched the ESP protocols on (compat.esp): the activation's "token" names the product, the
 * device is "esp:<bssid>" (the namespace of ESP HTTP update, the same device), and the key becomes
 * its credential from then on (it replaces the one a previous activation of that MAC bound).
 * Download finished (device_upgrade_success) reports the action "downloaded" (queuing sys_reboot
 * unless the command waits for consent); the device coming back (identify) after a delivered
 * sys_reboot confirms it: the protocol has no other word for a completed install.
 */
#include "espcloud.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "compat_lookup.h"
#include "db.h"
#include "device_check.h"
#include "log.h"
#include "lookup.h"
#include "server.h"
#include "sql.h"
#include "store.h"
#include "tx.h"

#define EC_CONNS 256
#define EC_LINE 2048
#define EC_PUSHED 8
#define EC_GAP_MS 300     /* between an answer and a push */
#define EC_CHECK_MS 1000  /* how often a connected device is checked */

typedef struct {
    int fd;
    size_t len;
    char buf[EC_LINE];
    char addr[64];
    int64_t device;              /* bound by activation or identify */
    int64_t due_ms;              /* when its next check runs (0: none due) */
    char version[80];            /* the version it told at activation, for that check ("": none) */
    int64_t pushed_action;       /* the last action offered by sys_upgrade (not pushed twice) */
    int64_t pushed[EC_PUSHED];   /* upgrade commands pushed, whose RPC answer acks them */
    unsigned npushed;
} ec_conn_t;

static struct {
    int lfd;
    int stop_pipe[2];
    pthread_t th;
    ec_conn_t c[EC_CONNS];
} g_ec = {.lfd = -1, .stop_pipe = {-1, -1}};

/* ---- shared by both transports -------------------------------------------------------------- */

/* The key of "token KEY" (the scheme is case-insensitive: the SDK's timer frame says "Token"). */
static const char *key_of(const char *auth)
{
    if (!auth || strncasecmp(auth, "token ", 6) != 0)
        return NULL;
    auth += 6;
    while (*auth == ' ')
        auth++;
    return *auth && strlen(auth) <= 128 ? auth : NULL;
}

static int64_t device_by_key(db_t *db, const char *key)
{
    char hash[65];
    if (!key)
        return 0;
    http_token_hash(key, hash);
    return q_int(db, 0, "SELECT id FROM devices WHERE token_hash = ?", "s", hash);
}

/* First column of the first row as text into buf ("" when there is none). */
static const char *text_of(db_t *db, char *buf, size_t n, const char *sql, int64_t id)
{
    db_stmt_t *st = q_prep(db, sql, "i", id);
    buf[0] = 0;
    if (st && db_step(st) == DB_ROW)
        snprintf(buf, n, "%s", q_text(st, 0));
    db_done(st);
    return buf;
}

static int report(int64_t dev, int64_t action, const char *status, const char *message)
{
    device_report_t p;
    memset(&p, 0, sizeof p);
    p.device = dev;
    p.action = action;
    p.status = status;
    p.message = message;
    p.progress = -1;
    if (db_tx(device_report_tx, &p) != 0) {
        log_msg(LOG_WARN, "espcloud report refused", "device=%lld action=%lld status=%s error=\"%s\"",
                (long long)dev, (long long)action, status, p.res.msg);
        json_decref(p.res.out);
        return -1;
    }
    json_decref(p.res.out);
    return 0;
}

/* device_upgrade_success / device_upgrade_failed: the device's in-flight action for rom_version
 * is downloaded (or failed). Returns 0, or -1 when the device has no such action. */
static int upgrade_message(int64_t dev, const char *action, const char *rom_version)
{
    db_t *db = db_get();
    int64_t a;
    if (!db || !action || !rom_version)
        return -1;
    a = q_int(db, 0,
              "SELECT a.id FROM actions a JOIN releases r ON r.id = a.release WHERE a.device = ? "
              "AND a.status IN ('offered', 'downloading') AND r.version = ? ORDER BY a.id DESC LIMIT 1",
              "is", dev, rom_version);
    if (!a)
        return -1;
    if (!strcmp(action, "device_upgrade_success"))
        return report(dev, a, "downloaded", NULL);
    if (!strcmp(action, "device_upgrade_failed"))
        return report(dev, a, "failed", "device_upgrade_failed");
    return -1;
}

/* The device is back after a delivered sys_reboot: the reboot is done, the update installed and
 * confirmed (what the device runs is its release). */
static void settle_reboot(int64_t dev)
{
    db_t *db = db_get();
    int64_t cmd = 0, action = 0;
    db_stmt_t *st;
    if (!db)
        return;
    st = q_prep(db,
                "SELECT c.id, c.action FROM commands c JOIN actions a ON a.id = c.action WHERE c.device = ? "
                "AND c.type = 'reboot' AND c.status = 'delivered' AND a.status = 'downloaded' "
                "ORDER BY c.id DESC LIMIT 1",
                "i", dev);
    if (st && db_step(st) == DB_ROW) {
        cmd = db_column_int64(st, 0);
        action = db_column_int64(st, 1);
    }
    db_done(st);
    if (!cmd)
        return;
    device_command_ack(dev, cmd, "done", "the device came back after sys_reboot");
    if (report(dev, action, "installed", NULL) == 0)
        report(dev, action, "confirmed", NULL);
}

/* ---- the device connection ---------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void send_json(ec_conn_t *c, json_t *o)
{
    char *s = json_dumps(o, JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        return;
    size_t n = strlen(s);
    s[n] = '\n'; /* json_dumps leaves room for its NUL, which the line end replaces */
    if (send(c->fd, s, n + 1, MSG_NOSIGNAL) != (ssize_t)(n + 1))
        log_msg(LOG_DEBUG, "espcloud send failed", "addr=%s", c->addr);
    free(s);
}

static void push_rpc(ec_conn_t *c, const char *action, const char *version, int64_t nonce)
{
    json_t *get = json_pack("{s:s}", "action", action);
    if (version)
        json_object_set_new(get, "version", json_string(version));
    json_object_set_new(get, "deliver_to_device", json_string("true"));
    send_json(c, json_pack("{s:{},s:I,s:o,s:s,s:{},s:s,s:b}", "body", "nonce", (json_int_t)nonce, "get", get, "path",
                           "/v1/device/rpc/", "post", "method", "GET", "deliver_to_device", 1));
    log_msg(LOG_INFO, "espcloud rpc pushed", "device=%lld action=%s version=%s", (long long)c->device, action,
            version ? version : "");
}

/* Runs the device's check (version: what it says it runs, or NULL) and pushes what it delivers:
 * upgrade commands and rollout offers as sys_upgrade, reboot commands as sys_reboot. */
static void poll_device(ec_conn_t *c, const char *version)
{
    tx_res_t res;
    json_t *cmds, *cmd, *upd;
    size_t i;
    memset(&res, 0, sizeof res);
    if (device_check_run(c->device, version, -1, -1, &res) != 0) {
        json_decref(res.out);
        return;
    }
    cmds = json_object_get(res.out, "commands");
    json_array_foreach(cmds, i, cmd) {
        const char *type = json_string_value(json_object_get(cmd, "type"));
        int64_t id = json_integer_value(json_object_get(cmd, "id"));
        if (type && !strcmp(type, "upgrade")) {
            c->pushed[c->npushed++ % EC_PUSHED] = id;
            c->pushed_action = json_integer_value(json_object_get(cmd, "action_id"));
            push_rpc(c, "sys_upgrade", json_string_value(json_object_get(cmd, "version")), id);
        } else if (type && !strcmp(type, "reboot")) {
            push_rpc(c, "sys_reboot", NULL, id);
        }
    }
    upd = json_object_get(res.out, "update");
    if (json_is_object(upd)) {
        int64_t a = json_integer_value(json_object_get(upd, "action_id"));
        if (a && a != c->pushed_action) {
            c->pushed_action = a;
            push_rpc(c, "sys_upgrade", json_string_value(json_object_get(upd, "version")), a);
        }
    }
    json_decref(res.out);
}

/* Activation: a known key binds its device; an unknown one registers "esp:<bssid>" in the product
 * the activation token names, when that product lets the ESP protocols in. Returns devices.id or 0
 * (why in *why). */
static int64_t activate(ec_conn_t *c, const char *key, json_t *body, const char **why)
{
    db_t *db = db_get();
    const char *product = json_string_value(json_object_get(body, "token"));
    const char *bssid = json_string_value(json_object_get(body, "bssid"));
    const char *version = json_string_value(json_object_get(body, "rom_version"));
    char mac[18], id[32], hash[65];
    compat_lookup_t l;
    int64_t dev;
    size_t i;
    if (!db || !key) {
        *why = "Authorization: token KEY is required";
        return 0;
    }
    if ((dev = device_by_key(db, key)) != 0)
        return dev;
    if (!product || !bssid || strlen(bssid) != 17) {
        *why = "unknown device key; activation needs the product in \"token\" and the \"bssid\"";
        return 0;
    }
    for (i = 0; i < 17; i++) {
        char ch = bssid[i];
        if (i % 3 == 2 ? ch != ':' : !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F'))) {
            *why = "bssid is not a MAC address";
            return 0;
        }
        mac[i] = (char)(ch >= 'a' && ch <= 'f' ? ch - 32 : ch);
    }
    mac[17] = 0;
    snprintf(id, sizeof id, COMPAT_ESP_PREFIX "%s", mac);
    memset(&l, 0, sizeof l);
    l.product_id = product;
    l.mac = mac;
    l.device_id = id;
    l.version = version;
    l.via = "esp";
    l.addr = c->addr;
    l.boot = COMPAT_BOOT_NONE;
    if (compat_lookup(&l) != 0) {
        *why = "no product of that name lets ESP devices in (compat.esp), or too many first contacts";
        return 0;
    }
    http_token_hash(key, hash);
    if (q_exec(db, "UPDATE devices SET token_hash = ? WHERE id = ? AND via = 'esp'", "si", hash, l.device) != 1) {
        *why = "that key belongs to another device";
        return 0;
    }
    log_msg(LOG_INFO, "espcloud device activated", "device=%s addr=%s", id, c->addr);
    return l.device;
}

static void on_frame(ec_conn_t *c, json_t *f)
{
    const char *path = json_string_value(json_object_get(f, "path"));
    json_t *nonce = json_object_get(f, "nonce"), *ans;
    const char *key = key_of(json_string_value(json_object_get(json_object_get(f, "meta"), "Authorization")));
    const char *version = NULL, *why = NULL;
    db_t *db = db_get();
    int64_t dev;
    unsigned i;
    char name[80];
    if (!db)
        return;
    if (!path) { /* the device's answer to a pushed RPC: an upgrade it took is acked */
        int64_t n = json_integer_value(nonce);
        for (i = 0; c->device && n > 0 && i < EC_PUSHED; i++)
            if (c->pushed[i] == n) {
                c->pushed[i] = 0;
                device_command_ack(c->device, n, "done", NULL);
            }
        return;
    }
    if (!strcmp(path, "/v1/device/activate/")) {
        json_t *body = json_object_get(f, "body");
        dev = activate(c, key, body, &why);
        ans = json_pack("{s:i,s:i}", "status", dev ? 200 : 403, "activate_status", dev ? 1 : 0);
        if (dev)
            version = json_string_value(json_object_get(body, "rom_version"));
    } else if (!(dev = device_by_key(db, key))) {
        ans = json_pack("{s:i,s:s}", "status", 403, "message", "unknown device key");
    } else if (!strcmp(path, "/v1/device/identify")) {
        settle_reboot(dev);
        ans = json_pack("{s:i,s:{s:s}}", "status", 200, "device", "device_id",
                        text_of(db, name, sizeof name, "SELECT device_id FROM devices WHERE id = ?", dev));
    } else if (!strcmp(path, "/v1/ping/")) {
        ans = json_pack("{s:i,s:s}", "status", 200, "message", "ping success");
    } else if (!strcmp(path, "/v1/messages/")) {
        const char *act = json_string_value(json_object_get(json_object_get(f, "get"), "action"));
        json_t *body = json_object_get(f, "body");
        int rc = upgrade_message(dev, act, json_string_value(json_object_get(body, "rom_version")));
        ans = rc == 0 ? json_pack("{s:i,s:s}", "status", 200, "message", "send message success")
                      : json_pack("{s:i,s:s}", "status", 404, "message", "no upgrade in flight for that rom_version");
    } else {
        ans = json_pack("{s:i,s:s}", "status", 404, "message", "no such path");
    }
    if (why)
        json_object_set_new(ans, "message", json_string(why));
    if (nonce)
        json_object_set(ans, "nonce", nonce);
    send_json(c, ans);
    /* The check that may push an RPC runs a moment later: the SDK's receive callback acts on one
     * message per segment (an if/else chain over the whole buffer), so a push must not share a
     * segment with this answer. */
    if (dev) {
        if (c->device != dev)
            c->pushed_action = 0;
        c->device = dev;
        c->due_ms = now_ms() + EC_GAP_MS;
        if (version)
            snprintf(c->version, sizeof c->version, "%s", version);
    }
}

static void conn_close(ec_conn_t *c)
{
    close(c->fd);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

/* Reads what arrived; handles each complete line. Returns -1 when the connection is to be closed. */
static int conn_read(ec_conn_t *c)
{
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len, 0);
    char *nl;
    if (n <= 0)
        return n < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    c->len += (size_t)n;
    c->buf[c->len] = 0;
    while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
        json_error_t e;
        size_t used = (size_t)(nl - c->buf) + 1;
        json_t *f;
        *nl = 0;
        if ((f = json_loads(c->buf, 0, &e)) != NULL && json_is_object(f))
            on_frame(c, f);
        else if (c->buf[0] && c->buf[0] != '\r')
            log_msg(LOG_DEBUG, "espcloud: not a JSON object", "addr=%s", c->addr);
        json_decref(f);
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
    }
    return c->len >= sizeof c->buf - 1 ? -1 : 0; /* a line longer than any frame of the protocol */
}

static void *ec_thread(void *arg)
{
    struct pollfd p[EC_CONNS + 2];
    int map[EC_CONNS + 2];
    unsigned i, n;
    (void)arg;
    for (;;) {
        n = 0;
        p[n].fd = g_ec.stop_pipe[0], p[n].events = POLLIN, map[n++] = -1;
        p[n].fd = g_ec.lfd, p[n].events = POLLIN, map[n++] = -1;
        for (i = 0; i < EC_CONNS; i++)
            if (g_ec.c[i].fd > 0)
                p[n].fd = g_ec.c[i].fd, p[n].events = POLLIN, map[n++] = (int)i;
        int rc = poll(p, n, EC_GAP_MS / 3);
        if (rc < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            break;
        if (rc > 0 && (p[1].revents & POLLIN)) {
            struct sockaddr_storage sa;
            socklen_t sl = sizeof sa;
            int fd = accept(g_ec.lfd, (struct sockaddr *)&sa, &sl);
            for (i = 0; fd >= 0 && i < EC_CONNS && g_ec.c[i].fd > 0; i++)
                ;
            if (fd >= 0 && i == EC_CONNS) {
                close(fd);
            } else if (fd >= 0) {
                memset(&g_ec.c[i], 0, sizeof g_ec.c[i]);
                g_ec.c[i].fd = fd;
                getnameinfo((struct sockaddr *)&sa, sl, g_ec.c[i].addr, sizeof g_ec.c[i].addr, NULL, 0, NI_NUMERICHOST);
            }
        }
        for (i = 2; rc > 0 && i < n; i++)
            if (p[i].revents && conn_read(&g_ec.c[map[i]]) != 0)
                conn_close(&g_ec.c[map[i]]);
        /* What the cloud pushes: each bound device is checked for commands and offers every
         * EC_CHECK_MS (and EC_GAP_MS after it spoke). */
        for (i = 0; i < EC_CONNS; i++) {
            ec_conn_t *c = &g_ec.c[i];
            int64_t t = now_ms();
            if (c->fd <= 0 || !c->device || c->due_ms > t)
                continue;
            poll_device(c, c->version[0] ? c->version : NULL);
            c->version[0] = 0;
            c->due_ms = t + EC_CHECK_MS;
        }
    }
    for (i = 0; i < EC_CONNS; i++)
        if (g_ec.c[i].fd > 0)
            conn_close(&g_ec.c[i]);
    db_close_thread();
    return NULL;
}

int espcloud_start(const char *listen_addr, unsigned *port)
{
    char host[128];
    const char *colon = strrchr(listen_addr, ':');
    struct addrinfo hints, *ai = NULL;
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    int one = 1, i;
    if (!colon || colon - listen_addr >= (int)sizeof host)
        return -1;
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen_addr), listen_addr);
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    if (getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai) != 0)
        return -1;
    g_ec.lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (g_ec.lfd < 0 || setsockopt(g_ec.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(g_ec.lfd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(g_ec.lfd, 64) != 0 ||
        getsockname(g_ec.lfd, (struct sockaddr *)&sa, &sl) != 0 || pipe(g_ec.stop_pipe) != 0) {
        log_msg(LOG_ERROR, "espcloud: cannot listen", "listen=%s error=\"%s\"", listen_addr, strerror(errno));
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    *port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                           : ((struct sockaddr_in *)&sa)->sin_port);
    for (i = 0; i < EC_CONNS; i++)
        g_ec.c[i].fd = -1;
    return pthread_create(&g_ec.th, NULL, ec_thread, NULL) == 0 ? 0 : -1;
}

void espcloud_stop(void)
{
    if (g_ec.lfd < 0)
        return;
    if (write(g_ec.stop_pipe[1], "x", 1) == 1)
        pthread_join(g_ec.th, NULL);
    close(g_ec.lfd);
    g_ec.lfd = -1;
}

/* ---- HTTP ------------------------------------------------------------------------------------ */

static enum MHD_Result rom_download(http_req_t *r)
{
    db_t *db = db_get();
    const char *file = http_query(r, "filename"), *version = http_query(r, "version");
    int64_t dev = db ? device_by_key(db, key_of(http_header(r, "Authorization"))) : 0;
    int slot = file && !strcmp(file, "user1.bin") ? 0 : file && !strcmp(file, "user2.bin") ? 1 : -1;
    char sha[65] = "", md5[33] = "", path[700];
    db_stmt_t *st;
    if (!dev)
        return http_error(r, ERR_UNAUTHORIZED, "Authorization: token KEY names no device");
    if (!version || strcmp(http_query(r, "action") ? http_query(r, "action") : "", "download_rom") != 0)
        return http_error(r, ERR_BAD_REQUEST, "action=download_rom&version=V&filename=user1.bin|user2.bin");
    st = q_prep(db,
                "SELECT a.sha256, a.md5 FROM artifacts a JOIN releases r ON r.id = a.release JOIN devices d "
                "ON d.product = r.product WHERE d.id = ? AND r.version = ? AND a.slot IN (?, -1) ORDER BY a.slot DESC",
                "isi", dev, version, (int64_t)slot);
    if (st && db_step(st) == DB_ROW) {
        snprintf(sha, sizeof sha, "%s", q_text(st, 0));
        snprintf(md5, sizeof md5, "%s", q_text(st, 1));
    }
    db_done(st);
    if (!sha[0])
        return http_error(r, ERR_NO_ARTIFACT, "no %s of %s", file ? file : "image", version);
    /* user2.bin is for a device running user1.bin (slot 0), and the other way round. */
    if (slot >= 0)
        q_exec(db, "UPDATE devices SET slot = ? WHERE id = ?", "ii", (int64_t)(1 - slot), dev);
    if (store_path(sha, path, sizeof path) != 0)
        return http_error(r, ERR_STORAGE, "bad artifact name");
    return http_file(r, path, sha, "application/octet-stream", (const char *const[]){"x-MD5", md5, NULL});
}

static enum MHD_Result messages(http_req_t *r)
{
    db_t *db = db_get();
    int64_t dev = db ? device_by_key(db, key_of(http_header(r, "Authorization"))) : 0;
    if (!dev)
        return http_error(r, ERR_UNAUTHORIZED, "Authorization: token KEY names no device");
    if (upgrade_message(dev, http_query(r, "action"),
                        json_string_value(json_object_get(json_object_get(r->json, "body") ? json_object_get(r->json, "body")
                                                                                           : r->json,
                                                          "rom_version"))) != 0)
        return http_error(r, ERR_NOT_FOUND, "no upgrade in flight for that rom_version (action "
                                            "device_upgrade_success or device_upgrade_failed)");
    return http_json(r, 200, json_pack("{s:i,s:s}", "status", 200, "message", "send message success"));
}

static enum MHD_Result rpc(http_req_t *r)
{
    db_t *db = db_get();
    const char *key = key_of(http_header(r, "Authorization")), *action = http_query(r, "action"),
               *device = http_query(r, "device");
    char hash[65], pid[65] = "";
    int64_t product;
    if (!db || !key)
        return http_error(r, ERR_UNAUTHORIZED, "this route needs Authorization: token OWNER_KEY");
    http_token_hash(key, hash);
    if (!(product = q_int(db, 0, "SELECT id FROM products WHERE owner_token_hash = ?", "s", hash)))
        return http_error(r, ERR_UNAUTHORIZED, "the key is no product's owner token");
    text_of(db, pid, sizeof pid, "SELECT product_id FROM products WHERE id = ?", product);
    if (!device)
        return http_error(r, ERR_BAD_DEVICE_ID, "name the device: &device=ID");
    if (!action || (strcmp(action, "sys_upgrade") && strcmp(action, "sys_reboot")))
        return http_error(r, ERR_BAD_TYPE, "action must be sys_upgrade or sys_reboot");
    json_decref(r->json);
    r->json = !strcmp(action, "sys_reboot") ? json_pack("{s:s}", "type", "reboot")
              : json_pack("{s:s,s:s}", "type", "upgrade", "release", http_query(r, "version") ? http_query(r, "version") : "");
    while (r->nparams > 0)
        free(r->params[--r->nparams]);
    r->params[0] = strdup(pid);
    r->params[1] = strdup(device);
    r->nparams = 2;
    r->auth_kind = AUTH_OWNER;
    r->auth_product = product;
    return devices_command_create(r);
}

const http_route_t espcloud_routes[] = {
    {"GET", "/v1/device/rom/", rom_download, AUTH_NONE, BODY_NONE},
    {"POST", "/v1/messages/", messages, AUTH_NONE, BODY_JSON},
    {"GET", "/v1/device/rpc/", rpc, AUTH_NONE, BODY_NONE},
    {NULL, NULL, NULL, 0, 0},
};
