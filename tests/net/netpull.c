/*
 * netpull: a simulated device for the network tests. It runs the device library's HTTP client,
 * TLS transport, check parser and pull agent over real sockets (ports/host/net_posix.c) into a
 * simulated flash (ports/host/flash_sim.c with a preset layout), and prints what happened as
 * "key value" lines for the Python drivers (tests/net/test_*.py) to assert on.
 *
 *   netpull pull  --url U [--token T] [--size N] [--sha HEX] [flash/net options]
 *   netpull update --server S --token T --version V [--slot 0|1] [--counter C] [options]
 *   netpull check --server S --token T --version V [--slot 0|1] [--counter C] [net options]
 *   netpull parse FILE
 *   netpull get   --url U [--token T] [--range N] [--if-range E] [net options]
 *   netpull compat --mongoose META_URL --version V [flash/net options]
 *                  ota_mongoose_check() (META_URL has the query), then ota_pull_image() of the offer
 *   netpull compat --esp URL --mac M [--version V] [--sketch-md5 H] [--esp32] [--require-md5]
 *                  ota_esp_update(); prints "esp <result> flash_ops=N" (NO_UPDATE for a 304)
 *   netpull compat --catalog BASE --path P --mac M [--version V] [--esp32] [flash/net options]
 *                  ota_catalog_check() (AutoConnect catalog), then ota_esp_update() of the pick
 *
 * flash options: --flash FILE (file backed: it survives the process, i.e. a device reset),
 *   --layout NAME (default swap-256k), --ws N (write size, default 8), --key DER, --product P,
 *   --cut-op N (power cut at the Nth program/erase: the "device" dies there), --expect FILE
 *   (repeatable: every byte programmed into the update slot must match one of these images at its
 *   offset; "gens" reports, per download generation, which file it matched: A, B, ... or X for a
 *   mix), --dump FILE (the slot's first size bytes after the pull).
 * pre-check (pull/update): --precheck runs ota_pull_precheck() first and prints "precheck" with
 *   its result, the flash program/erase calls it caused and the bytes it received; the pull runs
 *   only when it returns OTA_OK. --hw-rev H (cfg.hw_rev), --floor N (the device's security counter
 *   floor, set in ctx.rec after ota_init), --running V (the running version).
 * W5500: --w5500 SPEC runs the network over the W5500 driver on the emulator (tools/w5500emu/w5500_spec.h) and
 *   prints the emulator's verdict ("w5500_violations N", "w5500_stats ...") at the end.
 * net options: --ca PEM, --servername N, --connect-timeout MS, --read-timeout MS, --retries N,
 *   --redirects N, --retry-delay MS (the pull's pause before a retry), --keep-alive, --deadline MS and
 *   --min-progress N (the pull's deadline_ms and min_progress).
 * Exit status: 0 when the operation returned OTA_OK, 1 when it returned an error, 2 on bad usage.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "otakit/agent.h"
#include "otakit/fileio.h"
#include "otakit/flash_sim.h"
#include "otakit/http.h"
#include "otakit/net_posix.h"
#include "otakit/platform_posix.h"
#include "otakit/ota.h"
#include "otakit/presets.h"
#include "otakit/tls.h"
#include "w5500_spec.h"

#define MAX_EXPECT 4

static struct {
    const char *url, *server, *token, *sha, *version, *flash, *layout, *key, *product, *ca, *servername;
    const char *dump, *if_range, *expect[MAX_EXPECT], *hw_rev, *running;
    const char *mongoose, *esp, *mac, *sketch_md5, *catalog, *path, *w5500;
    int esp32, require_md5;
    unsigned n_expect;
    uint32_t size, ws, counter, slot, connect_ms, read_ms, retries, retry_delay, redirects, range_from, deadline_ms, min_progress;
    uint64_t cut_op;
    int keep_alive, has_range, precheck, has_floor;
    uint32_t floor;
} opt = {.layout = "swap-256k", .ws = 8};

/* ---- the flash, watched ------------------------------------------------------------------ */

static ota_flash_t sim_flash;      /* the simulator as bound by flash_sim */
static ota_flash_t watched;        /* what the device library gets: sim_flash behind watch_ops */
static const ota_layout_t *layout;
static uint8_t *expect[MAX_EXPECT];
static size_t expect_len[MAX_EXPECT];
static char gens[256];             /* one letter per download generation */
static unsigned n_gens;
static unsigned gen_mask;          /* files every program of the current generation matched */
static int gen_wrote;

static void gen_close(void)
{
    unsigned i;
    char ch = '-';
    if (!opt.n_expect || !gen_wrote || n_gens + 1 >= sizeof gens)
        goto reset;
    ch = 'X';
    for (i = 0; i < opt.n_expect; i++)
        if (gen_mask & (1u << i)) {
            ch = (char)('A' + i);
            break;
        }
    gens[n_gens++] = ch;
reset:
    gen_mask = (1u << opt.n_expect) - 1;
    gen_wrote = 0;
}

static int w_read(void *ctx, uint32_t addr, void *buf, uint32_t len)
{
    (void)ctx;
    return sim_flash.ops->read(sim_flash.ctx, addr, buf, len);
}

static int w_erase(void *ctx, uint32_t addr)
{
    (void)ctx;
    return sim_flash.ops->erase(sim_flash.ctx, addr);
}

static int w_write(void *ctx, uint32_t addr, const void *buf, uint32_t len)
{
    const uint8_t *d = buf;
    unsigned i, slot;
    (void)ctx;
    for (slot = 0; slot < 2 && opt.n_expect; slot++) {
        const ota_area_t *s = &layout->slot[slot];
        uint32_t off = addr - s->off, k;
        if (addr < s->off || addr >= s->off + s->size)
            continue;
        gen_wrote = 1;
        for (i = 0; i < opt.n_expect; i++)
            for (k = 0; k < len && (gen_mask & (1u << i)); k++) {
                uint8_t want = off + k < expect_len[i] ? expect[i][off + k] : sim_flash.erased_val;
                if (d[k] != want)
                    gen_mask &= ~(1u << i);
            }
    }
    return sim_flash.ops->write(sim_flash.ctx, addr, buf, len);
}

static const ota_flash_ops_t watch_ops = {w_read, w_write, w_erase};

static void on_progress(void *arg, uint32_t done, uint32_t total)
{
    (void)arg;
    (void)total;
    if (done == 0)
        gen_close(); /* the download started (over) from byte zero */
}

/* ---- setup -------------------------------------------------------------------------------- */

static ota_net_posix_t posix_state;
static ota_platform_ops_t host_platform;
static ota_net_t tcp;
static ota_tls_t tls;
static ota_http_t http;
static uint8_t *ca_buf;

static int net_setup(void)
{
    ota_http_cfg_t hc;
    int rc;
    ota_net_posix_init(&posix_state, &tcp);
    if (opt.w5500 && w5500_setup(opt.w5500, &tcp) != 0)
        return 2;
    ota_host_platform_init(&host_platform, NULL);
    memset(&hc, 0, sizeof hc);
    hc.tcp = &tcp;
    hc.platform = &host_platform;
    if (opt.ca) {
        ota_tls_cfg_t tc;
        size_t n;
        if (ota_file_read(opt.ca, &ca_buf, &n) != OTA_OK) {
            fprintf(stderr, "netpull: cannot read %s\n", opt.ca);
            return 2;
        }
        memset(&tc, 0, sizeof tc);
        tc.lower = &tcp;
        tc.ca = ca_buf;
        tc.ca_len = n + 1; /* ota_file_read adds a NUL */
        tc.server_name = opt.servername;
        tc.platform = &host_platform;
        if ((rc = ota_tls_init(&tls, &tc)) != OTA_OK) {
            printf("result %s\n", ota_errname(rc));
            return 1;
        }
        hc.tls = &tls.net;
    }
    hc.connect_timeout_ms = opt.connect_ms;
    hc.read_timeout_ms = opt.read_ms;
    hc.max_redirects = (uint8_t)opt.redirects;
    hc.keep_alive = (uint8_t)opt.keep_alive;
    return ota_http_init(&http, &hc) == OTA_OK ? 0 : 2;
}

static ota_flash_sim_t *sim;
static ota_ctx_t ctx;
static uint8_t *key_der;
static ota_pubkey_t key;

static int flash_setup(void)
{
    const ota_preset_t *p = ota_preset_find(opt.layout);
    ota_flash_sim_cfg_t sc;
    ota_config_t cfg;
    size_t n;
    unsigned i;
    int rc;
    if (!p) {
        fprintf(stderr, "netpull: unknown layout %s\n", opt.layout);
        return 2;
    }
    layout = &p->layout;
    memset(&sc, 0, sizeof sc);
    sc.path = opt.flash;
    sc.size = p->flash_size;
    sc.n_runs = p->n_runs;
    sc.runs = p->runs;
    sc.write_size = opt.ws;
    sc.erased_val = 0xff;
    if (ota_flash_sim_open(&sc, &sim) != OTA_OK) {
        fprintf(stderr, "netpull: cannot open the flash\n");
        return 2;
    }
    ota_flash_sim_bind(sim, &sim_flash);
    watched = sim_flash;
    watched.ops = &watch_ops;
    for (i = 0; i < opt.n_expect; i++)
        if (ota_file_read(opt.expect[i], &expect[i], &expect_len[i]) != OTA_OK) {
            fprintf(stderr, "netpull: cannot read %s\n", opt.expect[i]);
            return 2;
        }
    gen_close();
    memset(&cfg, 0, sizeof cfg);
    cfg.flash = &watched;
    cfg.layout = layout;
    if (opt.key) {
        if (ota_file_read(opt.key, &key_der, &n) != OTA_OK)
            return 2;
        key.der = key_der;
        key.len = (uint32_t)n;
        cfg.keys = &key;
        cfg.n_keys = 1;
    }
    cfg.product = opt.product;
    cfg.hw_rev = opt.hw_rev;
    if ((rc = ota_init(&ctx, &cfg)) != OTA_OK) {
        printf("result %s\n", ota_errname(rc));
        return 1;
    }
    if (opt.has_floor)
        ctx.rec.security_counter = opt.floor;
    printf("state_before %s\n", ota_state_name(ctx.rec.state));
    if (opt.cut_op)
        ota_flash_sim_cut_at(sim, opt.cut_op, OTA_SIM_CUT_TORN, 7);
    return 0;
}

/* ---- commands ----------------------------------------------------------------------------- */

static void print_check(const ota_check_t *c)
{
    unsigned i;
    printf("has_update %u\n", c->has_update);
    if (c->has_update)
        printf("action_id %" PRIu32 "\nstatus %s\nversion %s\nsize %" PRIu32 "\nsha256 %s\nurl %s\n"
               "security_counter %" PRIu32 "\nslot %d\nreboot_on_command %u\n",
               c->action_id, c->status, c->version, c->size, c->sha256, c->url, c->security_counter, c->slot,
               c->reboot_on_command);
    printf("poll_interval %" PRIu32 "\nn_commands %u\n", c->poll_interval, c->n_commands);
    for (i = 0; i < c->n_commands; i++)
        printf("command %" PRIu32 " %s %" PRIu32 " %s %u\n", c->commands[i].id, c->commands[i].type,
               c->commands[i].action_id, c->commands[i].version[0] ? c->commands[i].version : "-",
               c->commands[i].consent_required);
}

static int do_precheck(const char *url, uint32_t size)
{
    ota_precheck_t pc;
    ota_flash_sim_stats_t a, b;
    ota_version_t running;
    uint64_t before = posix_state.bytes_received;
    int rc;
    if (opt.running && ota_version_parse(opt.running, &running) != OTA_OK)
        return OTA_ERR_ARG;
    ota_flash_sim_stats(sim, &a);
    rc = ota_pull_precheck(&ctx, &http, url, opt.token, size, opt.running ? &running : NULL, &pc);
    ota_flash_sim_stats(sim, &b);
    printf("precheck %s checked=%u requests=%" PRIu32 " bytes=%" PRIu32 " wire=%" PRIu64 " flash_ops=%" PRIu64
           " product=%s hw_rev=%s security_counter=%" PRIu32 "\n",
           ota_errname(rc), pc.checked, pc.requests, pc.bytes, posix_state.bytes_received - before, b.ops - a.ops,
           pc.info.product[0] ? pc.info.product : "-", pc.info.hw_rev[0] ? pc.info.hw_rev : "-",
           pc.info.security_counter);
    return rc;
}

static int do_pull(const char *url, uint32_t size, const char *sha)
{
    ota_pull_opts_t o;
    ota_pull_stats_t st;
    int rc;
    if (opt.precheck && (rc = do_precheck(url, size)) != OTA_OK) {
        printf("state_after %s\nresult %s\n", ota_state_name(ctx.rec.state), ota_errname(rc));
        return 1;
    }
    memset(&o, 0, sizeof o);
    o.token = opt.token;
    o.size = size;
    o.sha256 = sha;
    o.max_retries = (uint8_t)opt.retries;
    o.retry_delay_ms = opt.retry_delay;
    o.deadline_ms = opt.deadline_ms;
    o.min_progress = opt.min_progress;
    o.progress = on_progress;
    rc = ota_pull_image(&ctx, &http, url, &o, &st);
    gen_close();
    gens[n_gens] = 0;
    printf("stats requests=%" PRIu32 " resumes=%" PRIu32 " restarts=%" PRIu32 " failures=%" PRIu32
           " bytes=%" PRIu32 " reset_offset=%" PRIu32 " last_error=%s\n",
           st.requests, st.resumes, st.restarts, st.failures, st.bytes, st.reset_offset, ota_errname(st.last_error));
    if (opt.n_expect)
        printf("gens %s\n", n_gens ? gens : "none");
    printf("connects %" PRIu32 "\n", posix_state.connects);
    printf("dead %d\n", ota_flash_sim_is_dead(sim));
    if (!ota_flash_sim_is_dead(sim)) {
        ota_config_t cfg = ctx.cfg;
        ota_init(&ctx, &cfg); /* what the journal says now, as after a reset */
        printf("state_after %s\n", ota_state_name(ctx.rec.state));
    }
    if (rc == OTA_OK && opt.dump) {
        FILE *f = fopen(opt.dump, "wb");
        uint32_t n = ctx.rec.size;
        if (!f || fwrite(ota_flash_sim_data(sim) + layout->slot[ctx.rec.target].off, 1, n, f) != n)
            return 2;
        fclose(f);
    }
    printf("result %s\n", ota_errname(rc));
    return rc == OTA_OK ? 0 : 1;
}

static int do_check(int then_pull)
{
    static char buf[4096];
    ota_check_t c;
    int rc = ota_check_request(&http, opt.server, opt.token, opt.version, opt.slot, opt.counter, buf, sizeof buf, &c);
    if (rc != OTA_OK) {
        printf("result %s\n", ota_errname(rc));
        return 1;
    }
    print_check(&c);
    if (!then_pull || !c.has_update) {
        printf("result %s\n", ota_errname(rc));
        return 0;
    }
    return do_pull(c.url, c.size, c.sha256);
}

static int do_parse(const char *path)
{
    uint8_t *buf;
    size_t n;
    ota_check_t c;
    int rc;
    if (ota_file_read(path, &buf, &n) != OTA_OK)
        return 2;
    rc = ota_check_parse((const char *)buf, n, &c);
    if (rc == OTA_OK)
        print_check(&c);
    printf("result %s\n", ota_errname(rc));
    free(buf);
    return rc == OTA_OK ? 0 : 1;
}

static int sink_sha(void *arg, const uint8_t *d, size_t n)
{
    mbedtls_sha256_update_ret(arg, d, n);
    return 0;
}

static int do_get(void)
{
    ota_http_req_t req;
    ota_http_resp_t r;
    ota_url_t u;
    mbedtls_sha256_context h;
    uint8_t dig[32];
    int rc, i;
    uint64_t before;
    if ((rc = ota_url_parse(opt.url, &u)) != OTA_OK) {
        printf("result %s\n", ota_errname(rc));
        return 1;
    }
    memset(&req, 0, sizeof req);
    req.token = opt.token;
    req.has_range = (uint8_t)opt.has_range;
    req.range_from = opt.range_from;
    req.if_range = opt.if_range;
    if ((rc = ota_http_request(&http, &u, &req, &r)) == OTA_OK) {
        printf("status %d\netag %s\nchunked %u\nlength %s%" PRIu32 "\nfinal_url %s://%s:%u%s\n", r.status,
               r.etag[0] ? r.etag : "-", r.chunked, r.has_length ? "" : "none ", r.length, u.https ? "https" : "http",
               u.host, u.port, u.path);
        if (r.has_range || r.has_total)
            printf("content_range %" PRIu32 "-%" PRIu32 "/%" PRIu32 "\n", r.range_first, r.range_last, r.range_total);
        mbedtls_sha256_init(&h);
        mbedtls_sha256_starts_ret(&h, 0);
        before = posix_state.bytes_received;
        rc = ota_http_body(&http, sink_sha, &h);
        mbedtls_sha256_finish_ret(&h, dig);
        printf("body_sha256 ");
        for (i = 0; i < 32; i++)
            printf("%02x", dig[i]);
        printf("\nwire_bytes %" PRIu64 "\n", posix_state.bytes_received - before);
    }
    printf("connects %" PRIu32 "\nresult %s\n", posix_state.connects, ota_errname(rc));
    return rc == OTA_OK ? 0 : 1;
}

static int do_mongoose(void)
{
    static char buf[1024];
    ota_mongoose_t m;
    int rc = ota_mongoose_check(&http, opt.mongoose, opt.version, buf, sizeof buf, &m);
    if (rc != OTA_OK) {
        printf("result %s\n", ota_errname(rc));
        return 1;
    }
    printf("mg_has_update %u\nmg_version %s\nmg_url %s\nmg_size %" PRIu32 "\n", m.has_update,
           m.version[0] ? m.version : "-", m.url[0] ? m.url : "-", m.size);
    if (!m.has_update) {
        printf("result OTA_OK\n");
        return 0;
    }
    return do_pull(m.url, m.size, NULL);
}

static int do_esp(void)
{
    ota_esp_info_t info;
    ota_pull_stats_t st;
    ota_flash_sim_stats_t a, b;
    int rc;
    memset(&info, 0, sizeof info);
    info.sta_mac = opt.mac;
    info.version = opt.version;
    info.sketch_md5 = opt.sketch_md5;
    info.sketch_size = 4096;
    info.esp32 = (uint8_t)opt.esp32;
    info.require_md5 = (uint8_t)opt.require_md5;
    ota_flash_sim_stats(sim, &a);
    rc = ota_esp_update(&ctx, &http, opt.esp, &info, &st);
    ota_flash_sim_stats(sim, &b);
    printf("esp %s flash_ops=%" PRIu64 "\n", rc == OTA_ESP_NO_UPDATE ? "NO_UPDATE" : ota_errname(rc), b.ops - a.ops);
    printf("stats requests=%" PRIu32 " resumes=0 restarts=0 failures=%" PRIu32 " bytes=%" PRIu32
           " reset_offset=0 last_error=%s\n", st.requests, st.failures, st.bytes, ota_errname(st.last_error));
    {
        ota_config_t cfg = ctx.cfg;
        ota_init(&ctx, &cfg);
        printf("state_after %s\n", ota_state_name(ctx.rec.state));
    }
    if (rc == OTA_OK && opt.dump) {
        FILE *f = fopen(opt.dump, "wb");
        uint32_t n = ctx.rec.size;
        if (!f || fwrite(ota_flash_sim_data(sim) + layout->slot[ctx.rec.target].off, 1, n, f) != n)
            return 2;
        fclose(f);
    }
    printf("result %s\n", rc == OTA_ESP_NO_UPDATE ? "OTA_OK" : ota_errname(rc));
    return rc == OTA_OK || rc == OTA_ESP_NO_UPDATE ? 0 : 1;
}

static int do_catalog(void)
{
    static char buf[4096];
    ota_catalog_t c;
    int rc = ota_catalog_check(&http, opt.catalog, opt.path ? opt.path : ".", opt.version,
                               ota_running_slot(&ctx) ? 0u : 1u, buf, sizeof buf, &c);
    if (rc != OTA_OK) {
        printf("result %s\n", ota_errname(rc));
        return 1;
    }
    printf("cat_has_update %u\ncat_entries %" PRIu32 "\ncat_name %s\ncat_version %s\ncat_url %s\n", c.has_update,
           c.entries, c.name[0] ? c.name : "-", c.version[0] ? c.version : "-", c.url[0] ? c.url : "-");
    if (!c.has_update) {
        printf("result OTA_OK\n");
        return 0;
    }
    opt.esp = c.url;
    return do_esp();
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"url", 1, 0, 'u'},         {"server", 1, 0, 'S'},      {"token", 1, 0, 't'},       {"size", 1, 0, 'n'},
        {"sha", 1, 0, 'h'},         {"version", 1, 0, 'v'},     {"slot", 1, 0, 's'},        {"counter", 1, 0, 'c'},
        {"flash", 1, 0, 'f'},       {"layout", 1, 0, 'l'},      {"ws", 1, 0, 'w'},          {"key", 1, 0, 'k'},
        {"product", 1, 0, 'p'},     {"cut-op", 1, 0, 'x'},      {"expect", 1, 0, 'e'},      {"dump", 1, 0, 'd'},
        {"ca", 1, 0, 'a'},          {"servername", 1, 0, 'N'},  {"connect-timeout", 1, 0, 'C'},
        {"read-timeout", 1, 0, 'R'}, {"retries", 1, 0, 'r'},    {"redirects", 1, 0, 'D'},   {"keep-alive", 0, 0, 'K'},
        {"range", 1, 0, 'g'},       {"if-range", 1, 0, 'i'},    {"precheck", 0, 0, 'P'},
        {"hw-rev", 1, 0, 'H'},      {"floor", 1, 0, 'F'},       {"running", 1, 0, 'V'},
        {"mongoose", 1, 0, 'M'},    {"esp", 1, 0, 'E'},         {"mac", 1, 0, 'm'},         {"sketch-md5", 1, 0, '5'},
        {"esp32", 0, 0, '3'},       {"require-md5", 0, 0, 'q'}, {"deadline", 1, 0, 'L'},   {"min-progress", 1, 0, 'G'},
        {"catalog", 1, 0, 'B'},     {"path", 1, 0, 'Q'},
        {"w5500", 1, 0, 'W'},       {"retry-delay", 1, 0, 'Y'},
        {0, 0, 0, 0}};
    const char *cmd;
    int ch, rc;
    if (argc < 2)
        return 2;
    cmd = argv[1];
    optind = 2;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'u': opt.url = optarg; break;
        case 'S': opt.server = optarg; break;
        case 't': opt.token = optarg; break;
        case 'n': opt.size = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'h': opt.sha = optarg; break;
        case 'v': opt.version = optarg; break;
        case 's': opt.slot = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'c': opt.counter = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'f': opt.flash = optarg; break;
        case 'l': opt.layout = optarg; break;
        case 'w': opt.ws = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'k': opt.key = optarg; break;
        case 'p': opt.product = optarg; break;
        case 'x': opt.cut_op = strtoull(optarg, NULL, 0); break;
        case 'e': if (opt.n_expect < MAX_EXPECT) opt.expect[opt.n_expect++] = optarg; break;
        case 'd': opt.dump = optarg; break;
        case 'a': opt.ca = optarg; break;
        case 'N': opt.servername = optarg; break;
        case 'C': opt.connect_ms = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'R': opt.read_ms = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'r': opt.retries = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'D': opt.redirects = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'K': opt.keep_alive = 1; break;
        case 'g': opt.has_range = 1; opt.range_from = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'i': opt.if_range = optarg; break;
        case 'P': opt.precheck = 1; break;
        case 'H': opt.hw_rev = optarg; break;
        case 'F': opt.has_floor = 1; opt.floor = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'V': opt.running = optarg; break;
        case 'M': opt.mongoose = optarg; break;
        case 'E': opt.esp = optarg; break;
        case 'B': opt.catalog = optarg; break;
        case 'Q': opt.path = optarg; break;
        case 'm': opt.mac = optarg; break;
        case '5': opt.sketch_md5 = optarg; break;
        case '3': opt.esp32 = 1; break;
        case 'q': opt.require_md5 = 1; break;
        case 'L': opt.deadline_ms = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'W': opt.w5500 = optarg; break;
        case 'Y': opt.retry_delay = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'G': opt.min_progress = (uint32_t)strtoul(optarg, NULL, 0); break;
        default: return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(cmd, "parse"))
        return optind < argc ? do_parse(argv[optind]) : 2;
    if ((rc = net_setup()) != 0)
        return rc;
    if (!strcmp(cmd, "get"))
        rc = opt.url ? do_get() : 2;
    else if (!strcmp(cmd, "check"))
        rc = opt.server && opt.version ? do_check(0) : 2;
    else if (!strcmp(cmd, "pull"))
        rc = opt.url ? ((rc = flash_setup()) != 0 ? rc : do_pull(opt.url, opt.size, opt.sha)) : 2;
    else if (!strcmp(cmd, "compat") && opt.mongoose)
        rc = opt.version ? ((rc = flash_setup()) != 0 ? rc : do_mongoose()) : 2;
    else if (!strcmp(cmd, "compat") && opt.catalog)
        rc = opt.mac ? ((rc = flash_setup()) != 0 ? rc : do_catalog()) : 2;
    else if (!strcmp(cmd, "compat") && opt.esp)
        rc = opt.mac ? ((rc = flash_setup()) != 0 ? rc : do_esp()) : 2;
    else if (!strcmp(cmd, "update"))
        rc = opt.server && opt.version ? ((rc = flash_setup()) != 0 ? rc : do_check(1)) : 2;
    else
        rc = 2;
    ota_http_close(&http);
    w5500_finish();
    if (opt.ca)
        ota_tls_free(&tls);
    if (sim)
        ota_flash_sim_close(sim);
    return rc;
}
