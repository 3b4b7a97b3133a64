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
#include "otakit/agent_loop.h"
#include "otakit/fileio.h"
#include "otakit/flash_sim.h"
#include "otakit/keys.h"
#include "otakit/net_posix.h"
#include "w5500_spec.h"
#include "otakit/ota.h"
#include "otakit/platform_posix.h"
#include "otakit/presets.h"
#include "otakit/settings.h"
#include "otakit/tls.h"

#include "listen.h"
#include "mqtt_link.h"

#define RESET (-100) /* power_on() result: reset the device */

typedef struct {
    const dev_opts_t *o;
    const ota_preset_t *p;
    ota_flash_sim_t *sim;
    ota_flash_t flash;
    ota_flash_sim_t *ssim;       /* settings.bin: two 4 KB sectors apart from the chip's map */
    ota_flash_t sflash;
    ota_settings_flash_t settings;
    ota_config_t cfg;
    ota_ctx_t ctx;
    ota_boot_result_t boot;
    ota_pubkey_t pk;
    uint8_t der[OTA_P256_SPKI_LEN];
    ota_net_posix_t ns;
    ota_net_t net;
    ota_platform_ops_t plat;     /* the host platform: clock, sleep, watchdog, entropy */
    int nonet;                   /* the firmware lost its network */
    uint8_t *ca;                 /* --ca: the pinned CA (PEM), NUL-terminated */
    size_t ca_len;
    ota_tls_t tls[2];            /* https: one per HTTP client */
    int tls_up;
    ota_http_t http;             /* the agent's client */
    ota_http_t rhttp;            /* its second one: progress reports during the download */
    ota_agent_t agent;
    ota_delta_t delta;           /* the agent's RAM for delta patches */
    char version[OTA_VERSION_STR_MAX];
    char behaviour[16];
    int outcome;                 /* DEV_* once the agent said how the run ends, else -1 */
    int check_failures;          /* in a row */
    int reset;                   /* the agent asked for a reset */
    int tty;
    unsigned last_step;
    sim_listen_t lis;            /* push server and ArduinoOTA, when asked for */
    sim_mqtt_t mq;               /* the broker connection (--mqtt) */
    int mq_on;
    ota_push_page_t page;        /* the update page (--catalog) */
    char page_buf[4096];
    ota_page_progress_t pp;      /* where its pull stands */
    char page_name[96];
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

static void path_in(const simdev_t *d, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", d->o->dir, name);
}

/* ---- network ------------------------------------------------------------------------------- */

static int dead_connect(void *c, const char *h, uint16_t p, uint32_t t)
{
    (void)c, (void)h, (void)p, (void)t;
    return OTA_ERR_NET;
}

static const ota_net_ops_t dead_ops = {dead_connect, NULL, NULL, NULL};
static const ota_net_t dead_net = {&dead_ops, NULL};

/* The two HTTP clients of this power-on, over TLS when --ca was given ("nonet": nothing connects). */
static int http_setup(simdev_t *d)
{
    ota_http_cfg_t hc;
    ota_http_t *h[2] = {&d->http, &d->rhttp};
    int i, rc;
    memset(&hc, 0, sizeof hc);
    hc.tcp = d->nonet ? &dead_net : &d->net;
    hc.connect_timeout_ms = 3000;
    hc.read_timeout_ms = 10000;
    hc.user_agent = "otakit-device";
    hc.platform = &d->plat;
    for (i = 0; i < 2; i++) {
        if (d->ca) {
            ota_tls_cfg_t tc;
            memset(&tc, 0, sizeof tc);
            tc.lower = hc.tcp;
            tc.ca = d->ca;
            tc.ca_len = d->ca_len + 1; /* ota_file_read adds a NUL */
            tc.server_name = d->o->servername;
            tc.platform = &d->plat;
            if ((rc = ota_tls_init(&d->tls[i], &tc)) != OTA_OK) {
                dlog(d, "TLS setup failed: %s", ota_strerror(rc));
                while (i--)
                    ota_tls_free(&d->tls[i]);
                return -1;
            }
            hc.tls = &d->tls[i].net;
        }
        ota_http_init(h[i], &hc);
    }
    d->tls_up = d->ca != NULL;
    return 0;
}

static void http_teardown(simdev_t *d)
{
    ota_http_close(&d->http);
    ota_http_close(&d->rhttp);
    if (d->tls_up) {
        ota_tls_free(&d->tls[0]);
        ota_tls_free(&d->tls[1]);
        d->tls_up = 0;
    }
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
    /* The agent's settings (device token, update in flight): two sectors of their own, like the
     * data flash or a reserved pair of sectors of an MCU. */
    {
        static const ota_sector_run_t two4k[] = {{2, 4096}};
        memset(&sc, 0, sizeof sc);
        path_in(d, "settings.bin", path, sizeof path);
        sc.path = path;
        sc.size = 8192;
        sc.n_runs = 1;
        sc.runs = two4k;
        sc.write_size = 8;
        sc.erased_val = 0xff;
        if (ota_flash_sim_open(&sc, &d->ssim) != OTA_OK) {
            dlog(d, "cannot open %s", path);
            return -1;
        }
        ota_flash_sim_bind(d->ssim, &d->sflash);
        if (ota_settings_flash_init(&d->settings, &d->sflash, 0, 8192) != OTA_OK)
            return -1;
    }
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

/* ---- the firmware: the library's agent and the port's hooks -------------------------------- */

static void snooze(simdev_t *d, unsigned ms)
{
    d->plat.sleep_ms(d->plat.ctx, ms);
}

static void progress_bar(simdev_t *d, uint32_t done, uint32_t total)
{
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

static void hook_log(void *ctx, int level, const char *line)
{
    (void)level;
    dlog(ctx, "%s", line);
}

static void hook_event(void *ctx, const ota_agent_event_t *ev)
{
    simdev_t *d = ctx;
    switch (ev->type) {
    case OTA_AGENT_EV_PROGRESS:
        progress_bar(d, ev->done, ev->size);
        break;
    case OTA_AGENT_EV_UPDATE:
        d->last_step = 99;
        break;
    case OTA_AGENT_EV_CONFIRMED:
        if (!d->o->fleet)
            ota_host_watchdog_stop(); /* the commit window is over (fleet: no watchdog) */
        break;
    case OTA_AGENT_EV_REPORT:
        if (d->o->cut_after && !strcmp(d->o->cut_after, ev->text)) {
            dlog(d, "power cut after the %s report", ev->text);
            _exit(9); /* like kill -9: the mmap'ed flash keeps what was written */
        }
        break;
    case OTA_AGENT_EV_CHECK_FAILED:
        d->check_failures++;
        break;
    case OTA_AGENT_EV_UP_TO_DATE:
        d->check_failures = 0;
        d->outcome = DEV_SETTLED_NONE;
        break;
    case OTA_AGENT_EV_SETTLED:
        d->outcome = !strcmp(ev->text, "confirmed") ? DEV_SETTLED_CONFIRMED : DEV_SETTLED_ROLLED_BACK;
        break;
    case OTA_AGENT_EV_FAILED:
    case OTA_AGENT_EV_REGISTER_FAILED:
    case OTA_AGENT_EV_REFUSED:
        d->outcome = DEV_FAILED;
        break;
    default:
        break;
    }
}

static int hook_consent(void *ctx, const ota_command_t *cmd)
{
    simdev_t *d = ctx;
    dlog(d, "consent to %s command %u: %s", cmd->type, (unsigned)cmd->id, d->o->decline ? "no" : "yes");
    return !d->o->decline;
}

static void hook_reset(void *ctx)
{
    ((simdev_t *)ctx)->reset = 1; /* power_on() returns RESET: re-exec or the next loop turn */
}

static void listen_log(void *arg, const char *line)
{
    dlog((const simdev_t *)arg, "%s", line);
}

/* ---- the update page (--catalog BASE/PATH): AutoConnect's UPDATE menu --------------------- */

/* --catalog http://host:port/path -> base "http://host:port", path "/path". */
static void catalog_split(const simdev_t *d, char *base, size_t bn, const char **path)
{
    const char *c = d->o->catalog, *s = strstr(c, "://");
    const char *slash = strchr(s ? s + 3 : c, '/');
    *path = slash ? slash : "/";
    snprintf(base, bn, "%.*s", (int)(slash ? (size_t)(slash - c) : strlen(c)), c);
}

/* --catalog otakit: the otakit images of this device's product, from its own server. */
static int page_otakit(const simdev_t *d)
{
    return !strcmp(d->o->catalog, "otakit");
}

static int page_catalog(void *ctx, char *buf, size_t cap)
{
    simdev_t *d = ctx;
    char base[256], q[512];
    const char *path;
    ota_url_t u;
    size_t len;
    int rc;
    if (page_otakit(d))
        return (rc = ota_catalog_device_list(&d->http, d->o->server, d->agent.token, buf, cap, &len)) != OTA_OK
                   ? rc
                   : (int)len;
    catalog_split(d, base, sizeof base, &path);
    snprintf(q, sizeof q, "%s/_catalog?op=list&path=%s", base, path);
    if ((rc = ota_url_parse(q, &u)) != OTA_OK || (rc = ota_http_get_all(&d->http, &u, NULL, buf, cap - 1, &len)))
        return rc;
    buf[len] = 0;
    return (int)len;
}

static int page_start(void *ctx, const char *name)
{
    simdev_t *d = ctx;
    if (d->pp.state == OTA_PAGE_PULLING || d->lis.pull_wanted)
        return OTA_ERR_STATE;
    snprintf(d->page_name, sizeof d->page_name, "%s", name);
    d->lis.pull_wanted = 1; /* the loop pulls once this answer is sent */
    return OTA_OK;
}

static void page_progress(void *ctx, ota_page_progress_t *p)
{
    simdev_t *d = ctx;
    *p = d->pp;
    p->running = d->version;
    p->name = d->page_name;
}

static void listen_log(void *arg, const char *line);

static void page_pull_progress(void *arg, uint32_t done, uint32_t total)
{
    simdev_t *d = arg;
    d->pp.done = done;
    d->pp.total = total;
    sim_listen_pending(&d->lis, &d->ctx, &d->net, listen_log, d); /* the page's progress requests */
}

/* Pulls the binary the page chose, answering the page meanwhile: as AutoConnect does (GET
 * BASE/PATH/NAME with the ESP updater's headers), or with --catalog otakit the artifact the
 * server's device catalog names, pinned to its SHA-256 (ota_catalog_device_pull). Returns 1 when
 * the image is pending (reset), else 0. */
static int page_pull(simdev_t *d)
{
    char base[256], url[512], list[4096];
    const char *path;
    ota_esp_info_t info;
    ota_pull_opts_t po;
    ota_pull_stats_t st;
    int rc;
    d->lis.pull_wanted = 0;
    memset(&d->pp, 0, sizeof d->pp);
    d->pp.state = OTA_PAGE_PULLING;
    d->lis.push.busy = 1;
    if (page_otakit(d)) {
        memset(&po, 0, sizeof po);
        po.progress = page_pull_progress;
        po.progress_arg = d;
        po.retry_delay_ms = 200;
        dlog(d, "update page: pulling %s from the server's device catalog", d->page_name);
        rc = ota_catalog_device_pull(&d->ctx, &d->http, d->o->server, d->agent.token, d->page_name, list,
                                     sizeof list, &po, &st);
    } else {
        catalog_split(d, base, sizeof base, &path);
        snprintf(url, sizeof url, "%s%s%s%s", base, path, path[strlen(path) - 1] == '/' ? "" : "/", d->page_name);
        memset(&info, 0, sizeof info);
        info.sta_mac = "02:00:5E:00:53:01";
        info.version = d->version;
        info.progress = page_pull_progress;
        info.progress_arg = d;
        dlog(d, "update page: pulling %s", url);
        rc = ota_esp_update(&d->ctx, &d->http, url, &info, &st);
    }
    d->lis.push.busy = 0;
    if (rc != OTA_OK) {
        d->pp.state = OTA_PAGE_FAILED;
        d->pp.error = rc == OTA_ESP_NO_UPDATE ? OTA_ERR_STATE : rc;
        dlog(d, "update page: pull failed: %s", rc == OTA_ESP_NO_UPDATE ? "no update (304)" : ota_strerror(rc));
        return 0;
    }
    d->pp.state = OTA_PAGE_DONE;
    dlog(d, "update page: %s verified, resetting", d->page_name);
    sim_listen_wait(&d->lis, &d->ctx, &d->net, 1000, listen_log, d); /* the page sees "done" */
    return 1;
}

/* The firmware's idle time between check-ins: pushed updates and ArduinoOTA are served then.
 * Returns 1 when one left an image pending (or asked for a rollback): reset. */
static int idle(simdev_t *d, unsigned ms)
{
    int listening = d->lis.tcp >= 0 || d->lis.udp >= 0, rc;
    if (d->mq_on) { /* the broker connection, and the listeners in between */
        uint32_t end = d->plat.now_ms(d->plat.ctx) + ms;
        int32_t left;
        while ((left = (int32_t)(end - d->plat.now_ms(d->plat.ctx))) > 0) {
            unsigned slice = listening && left > 50 ? 50u : (unsigned)left;
            rc = sim_mqtt_serve(&d->mq, slice, listen_log, d);
            if (rc == SIM_MQTT_RESET)
                return 1;
            if (rc == SIM_MQTT_NOTICE)
                return 0; /* the agent's next step checks at once */
            if (listening && (rc = sim_listen_wait(&d->lis, &d->ctx, &d->net, 10, listen_log, d)) != 0)
                return rc == SIM_LISTEN_PULL ? page_pull(d) : 1;
        }
        return 0;
    }
    if (!listening) {
        snooze(d, ms);
        return 0;
    }
    if ((rc = sim_listen_wait(&d->lis, &d->ctx, &d->net, ms, listen_log, d)) == SIM_LISTEN_PULL)
        return page_pull(d);
    return rc;
}

/* Opens the push server and ArduinoOTA when the options ask for them. Returns 0 or -1. */
static int listen_open(simdev_t *d)
{
    const dev_opts_t *o = d->o;
    if (o->mqtt) {
        char prefix[160], notice[160];
        snprintf(prefix, sizeof prefix, "%s", o->mqtt_topic ? o->mqtt_topic : "");
        if (!o->mqtt_topic)
            snprintf(prefix, sizeof prefix, "mg/%s", o->id);
        snprintf(notice, sizeof notice, "%s", o->mqtt_notice ? o->mqtt_notice : "");
        if (!o->mqtt_notice && o->product)
            snprintf(notice, sizeof notice, "otakit/%s/update", o->product);
        if (sim_mqtt_init(&d->mq, o->mqtt, prefix, notice[0] ? notice : NULL, o->id, &d->net, &d->plat,
                          &d->ctx) != 0) {
            dlog(d, "bad --mqtt broker %s (host:port)", o->mqtt);
            return -1;
        }
        d->mq_on = 1;
        dlog(d, "mqtt: broker %s:%u, OTA requests on %s, answers on %s", d->mq.host, (unsigned)d->mq.port, d->mq.rx,
             d->mq.tx);
    }
    if (o->push_port < 0 && o->aota_port < 0)
        return 0;
    memset(&d->lis.push, 0, sizeof d->lis.push);
    d->lis.push.token = o->push_token;
    d->lis.push.basic_b64 = o->push_basic;
    d->lis.push.platform = &d->plat;
    d->lis.pull_wanted = 0;
    if (o->catalog) { /* the update page, behind the same credentials */
        d->page.catalog = page_catalog;
        d->page.start = page_start;
        d->page.progress = page_progress;
        d->page.ctx = d;
        d->page.buf = d->page_buf;
        d->page.cap = sizeof d->page_buf;
        d->lis.push.page = &d->page;
    }
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

/* The firmware's main loop: the agent's steps, sleeping as long as each one says. Returns RESET or
 * (--once) a DEV_* outcome. */
static int firmware(simdev_t *d)
{
    static const ota_agent_port_t hooks_tmpl = {NULL, hook_consent, hook_reset, hook_log, hook_event, NULL};
    ota_agent_port_t hooks = hooks_tmpl;
    ota_agent_cfg_t ac;
    uint32_t ms;
    int rc, listening;
    hooks.ctx = d;
    memset(&ac, 0, sizeof ac);
    ac.server_url = d->o->server;
    ac.device_id = d->o->id;
    ac.hw_rev = "sim";
    ac.enroll_token = d->o->enroll;
    ac.ota = &d->ctx;
    ac.boot = &d->boot;
    ac.http = &d->http;
    ac.report_http = &d->rhttp;
    ac.settings = &d->settings.settings;
    ac.platform = &d->plat;
    ac.port = &hooks;
    ac.poll_max_ms = d->o->once ? 500u : (uint32_t)d->o->poll * 1000u;
    ac.long_poll_s = (uint16_t)d->o->long_poll;
    ac.retry_min_ms = d->o->retry_min_ms ? d->o->retry_min_ms : d->o->once ? 300u : 1000u;
    ac.retry_max_ms = d->o->retry_max_ms ? d->o->retry_max_ms : 60000u;
    ac.progress_pct = (uint8_t)d->o->progress_pct;
    ac.pull_retry_delay_ms = 200;
    ac.delta = d->o->no_delta ? NULL : &d->delta;
    if ((rc = ota_agent_init(&d->agent, &ac)) != OTA_OK) {
        dlog(d, "agent: %s", ota_strerror(rc));
        return DEV_FAILED;
    }
    d->outcome = -1;
    d->check_failures = 0;
    d->reset = 0;
    for (listening = 0;;) {
        ms = ota_agent_step(&d->agent);
        if (ms == OTA_AGENT_STOPPED)
            return d->reset ? RESET : DEV_FAILED;
        if (d->o->once && d->outcome >= 0)
            return d->outcome;
        if (d->o->once && d->check_failures >= 5)
            return DEV_FAILED;
        if (!listening && d->ctx.rec.state != OTA_STATE_TESTING) { /* pushes once off trial */
            if (listen_open(d) != 0)
                return DEV_FAILED;
            listening = 1;
        }
        if (ms && idle(d, ms)) /* a pushed image is pending (or a rollback was asked for) */
            return RESET;
    }
}

/* One power-on: bootloader, then the firmware. Returns RESET or a DEV_* outcome (--once). */
static int power_on(simdev_t *d)
{
    int rc, testing;
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
    if (http_setup(d) != 0)
        return DEV_FAILED;
    rc = firmware(d);
    http_teardown(d);
    return rc;
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
    if (o->w5500) { /* every connection of the agent through the W5500 */
        if (w5500_setup(o->w5500, &d->net) != 0) {
            free(d);
            return DEV_FAILED;
        }
    } else {
        ota_net_posix_init(&d->ns, &d->net);
    }
    if (o->ca && ota_file_read(o->ca, &d->ca, &d->ca_len) != OTA_OK) {
        dlog(d, "cannot read the CA %s", o->ca);
        free(d);
        return DEV_FAILED;
    }
    for (;;) {
        rc = power_on(d);
        sim_listen_close(&d->lis);
        if (d->mq_on)
            sim_mqtt_close(&d->mq);
        d->mq_on = 0;
        ota_flash_sim_close(d->sim); /* msync: what a reset keeps */
        ota_flash_sim_close(d->ssim);
        d->sim = d->ssim = NULL;
        if (o->w5500) /* the chip loses power too: its verdict, before the next power-on */
            w5500_finish();
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
    free(d->ca);
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
