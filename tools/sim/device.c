/*
 * One simulated device: the bootloader over a file-backed flash, then the "firmware" in the
 * booted slot, whose payload header says what it does (healthy, crash, hang, nonet).
 * A reset is a re-exec of this program (single device) or a new loop turn (fleet thread).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "otakit/agent.h"
#include "otakit/fileio.h"
#include "otakit/flash_sim.h"
#include "otakit/keys.h"
#include "otakit/net_posix.h"
#include "otakit/ota.h"
#include "otakit/platform_posix.h"
#include "otakit/presets.h"

#include "listen.h"

#define RESET (-100) /* power_on() result: reset the device */

typedef struct {
    const dev_opts_t *o;
    const ota_preset_t *p;
    ota_flash_sim_t *sim;
    ota_flash_t flash;
    ota_config_t cfg;
    ota_ctx_t ctx;
    ota_boot_result_t boot;
    ota_pubkey_t pk;
    uint8_t der[OTA_P256_SPKI_LEN];
    ota_net_posix_t ns;
    ota_net_t net;
    ota_platform_ops_t plat;     /* the host platform: clock, sleep, watchdog */
    int nonet;                   /* the firmware lost its network */
    ota_http_t http;
    char version[OTA_VERSION_STR_MAX];
    char behaviour[16];
    /* device.json */
    char token[160];
    uint32_t action;             /* in-flight action, 0: none */
    char target[OTA_CHECK_TEXT_MAX];
    int installing;              /* "downloaded" and "installing" were reported */
    int tty;
    unsigned last_step;
    sim_listen_t lis;            /* push server and ArduinoOTA, when asked for */
} simdev_t;

__attribute__((format(printf, 2, 3))) static void dlog(const simdev_t *d, const char *fmt, ...)
{
    va_list ap;
    char line[512];
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    printf("[%s] %s\n", d->o->id, line);
    fflush(stdout);
}

/* ---- persisted state ----------------------------------------------------------------------- */

static void path_in(const simdev_t *d, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", d->o->dir, name);
}

static int state_save(const simdev_t *d)
{
    char path[1024], tmp[1100];
    FILE *f;
    path_in(d, "device.json", path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!(f = fopen(tmp, "w")))
        return -1;
    fprintf(f, "{\"device_id\":\"%s\",\"token\":\"%s\",\"action_id\":%u,\"target\":\"%s\",\"installing\":%d}\n",
            d->o->id, d->token, (unsigned)d->action, d->target, d->installing);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fclose(f);
        return -1;
    }
    fclose(f);
    return rename(tmp, path);
}

/* Copies the string value of "key" in json into out (no escapes: tokens and versions have none). */
static int json_str(const char *json, const char *key, char *out, size_t n)
{
    char pat[64];
    const char *s, *e;
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    if (!(s = strstr(json, pat)))
        return -1;
    s += strlen(pat);
    if (!(e = strchr(s, '"')) || (size_t)(e - s) >= n)
        return -1;
    memcpy(out, s, (size_t)(e - s));
    out[e - s] = 0;
    return 0;
}

static void state_load(simdev_t *d)
{
    char path[1024], buf[1024];
    const char *a;
    size_t n;
    FILE *f;
    path_in(d, "device.json", path, sizeof path);
    if (!(f = fopen(path, "r")))
        return;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    json_str(buf, "token", d->token, sizeof d->token);
    json_str(buf, "target", d->target, sizeof d->target);
    if ((a = strstr(buf, "\"action_id\":")))
        d->action = (uint32_t)strtoul(a + 12, NULL, 10);
    if ((a = strstr(buf, "\"installing\":")))
        d->installing = atoi(a + 13);
}

/* ---- network ------------------------------------------------------------------------------- */

static int dead_connect(void *c, const char *h, uint16_t p, uint32_t t)
{
    (void)c, (void)h, (void)p, (void)t;
    return OTA_ERR_NET;
}

static const ota_net_ops_t dead_ops = {dead_connect, NULL, NULL, NULL};
static const ota_net_t dead_net = {&dead_ops, NULL};

static void http_setup(simdev_t *d)
{
    ota_http_cfg_t hc;
    memset(&hc, 0, sizeof hc);
    hc.tcp = d->nonet ? &dead_net : &d->net;
    hc.connect_timeout_ms = 3000;
    hc.read_timeout_ms = 10000;
    hc.user_agent = "otakit-device";
    hc.platform = &d->plat;
    ota_http_init(&d->http, &hc);
}

/* One JSON request; returns the HTTP status or a negative otakit error. */
static int http_json(simdev_t *d, const char *method, const char *path, const char *token, const char *body,
                     char *out, size_t cap)
{
    char u[512];
    ota_url_t url;
    ota_http_req_t rq;
    ota_http_resp_t rs;
    size_t len;
    int rc;
    snprintf(u, sizeof u, "%s%s", d->o->server, path);
    if ((rc = ota_url_parse(u, &url)) != OTA_OK)
        return rc;
    memset(&rq, 0, sizeof rq);
    rq.method = method;
    rq.token = token;
    rq.body = body;
    rq.body_len = body ? (uint32_t)strlen(body) : 0;
    if ((rc = ota_http_request(&d->http, &url, &rq, &rs)) == OTA_OK)
        rc = ota_http_read_all(&d->http, out, cap, &len);
    ota_http_close(&d->http);
    return rc == OTA_OK ? rs.status : rc;
}

static int dev_register(simdev_t *d)
{
    char body[512], out[1024];
    int st;
    snprintf(body, sizeof body,
             "{\"device_id\":\"%s\",\"hw_rev\":\"sim\",\"version\":\"%s\",\"slot\":%u,\"security_counter\":%u}",
             d->o->id, d->version, d->boot.slot, (unsigned)d->boot.security_counter);
    st = http_json(d, "POST", "/api/v1/device/register", d->o->enroll, body, out, sizeof out);
    if (st != 201 || json_str(out, "device_token", d->token, sizeof d->token) != 0) {
        dlog(d, "register failed: %d %s", st, st < 0 ? ota_strerror(st) : out);
        return -1;
    }
    dlog(d, "registered");
    return state_save(d);
}

static int report(simdev_t *d, const char *status, const char *msg)
{
    char body[512], out[1024];
    int st;
    snprintf(body, sizeof body, "{\"action_id\":%u,\"status\":\"%s\",\"version\":\"%s\",\"message\":\"%s\"}",
             (unsigned)d->action, status, d->version, msg ? msg : "");
    st = http_json(d, "POST", "/api/v1/device/report", d->token, body, out, sizeof out);
    dlog(d, "report %s action=%u -> %d", status, (unsigned)d->action, st);
    return st;
}

static int check(simdev_t *d, ota_check_t *chk)
{
    char buf[4096];
    return ota_check_request(&d->http, d->o->server, d->token, d->version, d->boot.slot,
                             d->boot.security_counter, buf, sizeof buf, chk);
}

/* ---- boot ---------------------------------------------------------------------------------- */

static char *const *g_argv; /* single-device mode: what a reset re-executes */

/* The host watchdog's reset (ports/host/platform_posix.c, from its SIGALRM handler): re-exec. */
static void watchdog_reset(void)
{
    static const char m[] = "watchdog: commit window expired, reset\n";
    if (write(1, m, sizeof m - 1) < 0) { /* nothing to do */
    }
    execv("/proc/self/exe", g_argv);
}

/* A fleet thread cannot re-exec: its "hang" sleeps out the window itself. */
static int fleet_watchdog_start(void *ctx, uint32_t ms)
{
    (void)ctx, (void)ms;
    return 0;
}

static int flash_open(simdev_t *d)
{
    char path[1024], tmp[1100];
    ota_flash_sim_cfg_t sc;
    memset(&sc, 0, sizeof sc);
    sc.size = d->p->flash_size;
    sc.n_runs = d->p->n_runs;
    sc.runs = d->p->runs;
    sc.write_size = 8;
    sc.erased_val = 0xff;
    if (d->o->slow) {
        sc.erase_us_per_4k = 30000;
        sc.program_us_per_256 = 1000;
        sc.realtime = 1;
    }
    path_in(d, "flash.bin", path, sizeof path);
    if (access(path, F_OK) != 0) { /* first start: provision the factory image, atomically */
        uint8_t *img;
        size_t len;
        ota_flash_sim_t *s;
        if (!d->o->factory || ota_file_read(d->o->factory, &img, &len) != OTA_OK) {
            dlog(d, "no flash yet and no readable --factory image");
            return -1;
        }
        if (len > d->p->layout.slot[0].size) {
            dlog(d, "factory image of %zu bytes does not fit slot 0 (%u bytes)", len,
                 (unsigned)d->p->layout.slot[0].size);
            free(img);
            return -1;
        }
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        unlink(tmp);
        sc.path = tmp;
        if (ota_flash_sim_open(&sc, &s) != OTA_OK) {
            free(img);
            return -1;
        }
        memcpy(ota_flash_sim_data(s) + d->p->layout.slot[0].off, img, len);
        free(img);
        ota_flash_sim_close(s);
        if (rename(tmp, path) != 0)
            return -1;
        dlog(d, "provisioned factory image %s", d->o->factory);
    }
    sc.path = path;
    if (ota_flash_sim_open(&sc, &d->sim) != OTA_OK) {
        dlog(d, "cannot open %s", path);
        return -1;
    }
    ota_flash_sim_bind(d->sim, &d->flash);
    return 0;
}

/* Reads "OTAKIT-SIM\nversion=V\nbehaviour=B\n" at the start of the booted slot's payload. */
static void read_payload(simdev_t *d)
{
    const uint8_t *img = ota_flash_sim_data(d->sim) + d->p->layout.slot[d->boot.slot].off;
    unsigned hdr = img[8] | (unsigned)img[9] << 8;
    char text[128], *b;
    memcpy(text, img + hdr, sizeof text - 1);
    text[sizeof text - 1] = 0;
    strcpy(d->behaviour, "healthy");
    if (strncmp(text, "OTAKIT-SIM\n", 11) != 0 || !(b = strstr(text, "\nbehaviour=")))
        return;
    b += 11;
    b[strcspn(b, "\n")] = 0;
    snprintf(d->behaviour, sizeof d->behaviour, "%s", b);
}

/* ---- the firmware -------------------------------------------------------------------------- */

static void on_progress(void *arg, uint32_t done, uint32_t total)
{
    simdev_t *d = arg;
    unsigned pct = total ? (unsigned)((uint64_t)done * 100 / total) : 0, i;
    if (d->tty) {
        char bar[41];
        if (pct == d->last_step && done < total && done > 0)
            return;
        d->last_step = pct;
        for (i = 0; i < 40; i++)
            bar[i] = i < pct * 40 / 100 ? '#' : '.';
        bar[40] = 0;
        printf("\r[%s] %3u%% %u/%u bytes", bar, pct, (unsigned)done, (unsigned)total);
        if (done >= total)
            printf("\n");
        fflush(stdout);
    } else if (pct / 25 != d->last_step || done == 0) {
        d->last_step = pct / 25;
        dlog(d, "download %u%% (%u/%u)", pct, (unsigned)done, (unsigned)total);
    }
}

/* After a boot with an action in flight: report how it ended. Returns a DEV_SETTLED_* or NONE. */
static int settle(simdev_t *d)
{
    ota_version_t tv;
    int at_target;
    if (!d->action)
        return DEV_SETTLED_NONE;
    at_target = ota_version_parse(d->target, &tv) == OTA_OK && ota_version_cmp(&tv, &d->boot.version) == 0;
    if (!at_target && !d->boot.rolled_back && d->boot.state != OTA_STATE_FAILED)
        return DEV_SETTLED_NONE; /* the download never finished: the check offers it again */
    if (!d->installing) {        /* killed between ota_end() and these reports */
        report(d, "downloaded", NULL);
        report(d, "installing", NULL);
    }
    if (at_target) {
        report(d, "installed", NULL);
        report(d, "confirmed", "self-test passed");
        d->action = 0;
        d->installing = 0;
        state_save(d);
        return DEV_SETTLED_CONFIRMED;
    }
    {
        char msg[128];
        snprintf(msg, sizeof msg, "rolled back to %s", d->version);
        report(d, "rolled_back", msg);
    }
    d->action = 0;
    d->installing = 0;
    state_save(d);
    return DEV_SETTLED_ROLLED_BACK;
}

/* Ends the update in flight as failed: logs msg, reports it to the server, forgets the action. */
static int update_failed(simdev_t *d, const char *msg)
{
    dlog(d, "%s", msg);
    report(d, "failed", msg);
    d->action = 0;
    state_save(d);
    return DEV_FAILED;
}

/* Downloads and installs one offered update. Returns RESET to boot it, or a DEV_* outcome. */
static int update(simdev_t *d, const ota_check_t *chk)
{
    ota_pull_opts_t po;
    ota_pull_stats_t ps;
    char msg[160];
    int rc;
    d->action = chk->action_id;
    d->installing = 0;
    snprintf(d->target, sizeof d->target, "%s", chk->version);
    state_save(d);
    dlog(d, "update %s -> %s (%u bytes, action %u)", d->version, chk->version, (unsigned)chk->size,
         (unsigned)chk->action_id);
    {
        /* Product, hardware and security counter from the image's TLVs before a byte is written;
         * ota_end() checks them again, signed, from flash. */
        ota_precheck_t pc;
        rc = ota_pull_precheck(&d->ctx, &d->http, chk->url, d->token, chk->size, NULL, &pc);
        ota_http_close(&d->http);
        if (rc != OTA_OK) {
            snprintf(msg, sizeof msg, "refused before download: %s", ota_strerror(rc));
            return update_failed(d, msg);
        }
    }
    report(d, "downloading", NULL);
    memset(&po, 0, sizeof po);
    po.token = d->token;
    po.size = chk->size;
    po.sha256 = chk->sha256;
    po.progress = on_progress;
    po.progress_arg = d;
    d->last_step = 99;
    rc = ota_pull_image(&d->ctx, &d->http, chk->url, &po, &ps);
    ota_http_close(&d->http);
    if (rc != OTA_OK) {
        snprintf(msg, sizeof msg, "download failed: %s", ota_errname(rc));
        return update_failed(d, msg);
    }
    dlog(d, "downloaded and verified (%u requests, %u resumes)", (unsigned)ps.requests, (unsigned)ps.resumes);
    report(d, "downloaded", NULL);
    report(d, "installing", NULL);
    d->installing = 1;
    state_save(d);
    dlog(d, "rebooting into %s", chk->version);
    return RESET;
}

static void snooze(simdev_t *d, unsigned ms)
{
    d->plat.sleep_ms(d->plat.ctx, ms);
}

static void listen_log(void *arg, const char *line)
{
    dlog((const simdev_t *)arg, "%s", line);
}

/* The firmware's idle time between check-ins: pushed updates and ArduinoOTA are served then.
 * Returns 1 when one left an image pending (or asked for a rollback): reset. */
static int idle(simdev_t *d, unsigned ms)
{
    if (d->lis.tcp < 0 && d->lis.udp < 0) {
        snooze(d, ms);
        return 0;
    }
    return sim_listen_wait(&d->lis, &d->ctx, &d->net, ms, listen_log, d);
}

/* Opens the push server and ArduinoOTA when the options ask for them. Returns 0 or -1. */
static int listen_open(simdev_t *d)
{
    const dev_opts_t *o = d->o;
    if (o->push_port < 0 && o->aota_port < 0)
        return 0;
    memset(&d->lis.push, 0, sizeof d->lis.push);
    d->lis.push.token = o->push_token;
    d->lis.push.basic_b64 = o->push_basic;
    d->lis.push.platform = &d->plat;
    ota_aota_init(&d->lis.aota, o->aota_password);
    if (sim_listen_open(&d->lis, o->listen ? o->listen : "127.0.0.1", o->push_port, o->aota_port) != 0) {
        dlog(d, "cannot listen on %s (push %d, arduino-ota %d): %s", o->listen ? o->listen : "127.0.0.1",
             o->push_port, o->aota_port, strerror(errno));
        return -1;
    }
    if (o->push_port >= 0)
        dlog(d, "push endpoints on tcp port %d", o->push_port);
    if (o->aota_port >= 0)
        dlog(d, "arduino-ota on udp port %d%s", o->aota_port, o->aota_password ? " (password)" : "");
    return 0;
}

/* One power-on: bootloader, then the firmware. Returns RESET or a DEV_* outcome (--once). */
static int power_on(simdev_t *d)
{
    ota_check_t chk;
    int rc, testing, outcome, tries;
    if (flash_open(d) != 0)
        return DEV_FAILED;
    if ((rc = ota_init(&d->ctx, &d->cfg)) != OTA_OK || (rc = ota_boot(&d->ctx, &d->boot)) != OTA_OK) {
        dlog(d, "BRICK: bootloader found no bootable image: %s", ota_strerror(rc));
        return DEV_FAILED;
    }
    ota_version_format(&d->boot.version, d->version, sizeof d->version);
    read_payload(d);
    testing = d->boot.state == OTA_STATE_TESTING;
    dlog(d, "boot slot=%u version=%s state=%s behaviour=%s%s", d->boot.slot, d->version,
         ota_state_name(d->boot.state), d->behaviour, d->boot.rolled_back ? " (rolled back)" : "");
    d->nonet = strcmp(d->behaviour, "nonet") == 0;
    http_setup(d);
    if (strcmp(d->behaviour, "crash") == 0) {
        dlog(d, "firmware crashed at boot");
        return testing ? RESET : DEV_FAILED;
    }
    if (strcmp(d->behaviour, "hang") == 0) {
        dlog(d, "firmware hangs");
        if (!testing)
            return DEV_FAILED;
        if (!d->o->fleet)
            for (;;)
                pause(); /* the watchdog re-execs */
        snooze(d, d->cfg.commit_window_ms);
        dlog(d, "watchdog: commit window expired, reset");
        return RESET;
    }
    if (!d->token[0] && dev_register(d) != 0)
        return DEV_FAILED;
    if (testing) { /* self-test: can we still reach the server? */
        for (tries = 0; tries < 3 && (rc = check(d, &chk)) != OTA_OK; tries++)
            snooze(d, 300);
        if (rc != OTA_OK) {
            dlog(d, "self-test failed (%s): rolling back", ota_errname(rc));
            ota_rollback(&d->ctx);
            return RESET;
        }
        if ((rc = ota_confirm(&d->ctx)) != OTA_OK) {
            dlog(d, "confirm failed: %s", ota_strerror(rc));
            return RESET;
        }
        if (!d->o->fleet)
            ota_host_watchdog_stop();
        dlog(d, "self-test passed: confirmed %s", d->version);
    }
    if (d->nonet) {
        dlog(d, "no network");
        return DEV_FAILED;
    }
    outcome = settle(d);
    if (outcome != DEV_SETTLED_NONE && d->o->once)
        return outcome;
    if (listen_open(d) != 0)
        return DEV_FAILED;
    for (tries = 0;;) {
        if ((rc = check(d, &chk)) != OTA_OK) {
            dlog(d, "check failed: %s", ota_errname(rc));
            if (d->o->once && ++tries >= 5)
                return DEV_FAILED;
        } else if (chk.has_update) {
            if ((rc = update(d, &chk)) == RESET || d->o->once)
                return rc;
        } else if (d->o->once) {
            dlog(d, "up to date (%s)", d->version);
            return DEV_SETTLED_NONE;
        }
        if (idle(d, d->o->once ? 500u : (unsigned)d->o->poll * 1000u))
            return RESET;
    }
}

int dev_run(const dev_opts_t *o)
{
    simdev_t *d = calloc(1, sizeof *d);
    ota_key_t *key;
    int rc;
    if (!d)
        return DEV_FAILED;
    d->o = o;
    d->lis.tcp = d->lis.udp = -1;
    d->tty = !o->fleet && isatty(1);
    if (!(d->p = ota_preset_find(o->layout))) {
        dlog(d, "unknown layout %s", o->layout);
        free(d);
        return DEV_FAILED;
    }
    if (ota_key_load(o->key, &key) != OTA_OK || ota_key_public_der(key, d->der) != OTA_OK) {
        dlog(d, "cannot load key %s", o->key);
        free(d);
        return DEV_FAILED;
    }
    ota_key_free(key);
    if (!o->fleet) {
        sigset_t ss; /* a watchdog reset re-execs from the handler, where SIGALRM is blocked */
        sigemptyset(&ss);
        sigaddset(&ss, SIGALRM);
        sigprocmask(SIG_UNBLOCK, &ss, NULL);
        g_argv = o->argv;
    }
    d->pk.der = d->der;
    d->pk.len = sizeof d->der;
    d->cfg.flash = &d->flash;
    d->cfg.layout = &d->p->layout;
    d->cfg.keys = &d->pk;
    d->cfg.n_keys = 1;
    d->cfg.product = o->product;
    d->cfg.max_test_boots = 1;
    d->cfg.commit_window_ms = o->commit_ms;
    ota_host_platform_init(&d->plat, watchdog_reset);
    if (o->fleet)
        d->plat.watchdog_start = fleet_watchdog_start;
    d->cfg.platform = &d->plat;
    ota_net_posix_init(&d->ns, &d->net);
    state_load(d);
    for (;;) {
        rc = power_on(d);
        sim_listen_close(&d->lis);
        ota_flash_sim_close(d->sim); /* msync: what a reset keeps */
        d->sim = NULL;
        if (rc != RESET)
            break;
        if (!o->fleet) {
            ota_host_watchdog_stop();
            execv("/proc/self/exe", o->argv);
            dlog(d, "re-exec failed: %s", strerror(errno));
            rc = DEV_FAILED;
            break;
        }
    }
    free(d);
    return rc;
}

int dev_mkfw(const char *path, const char *version, const char *behaviour, long size)
{
    FILE *f = fopen(path, "wb");
    long n;
    if (!f)
        return -1;
    n = fprintf(f, "OTAKIT-SIM\nversion=%s\nbehaviour=%s\n", version, behaviour);
    for (; n < size; n++)
        fputc((int)((n * 2654435761u) >> 13) & 0xff, f);
    return fclose(f) == 0 ? 0 : -1;
}
