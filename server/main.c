/*
 * otakit-server: the update service a fleet talks to.
 *
 *   otakit-server [--listen IP:PORT] [--data DIR] [--threads N] [--public-url URL]
 *                 [--tls-cert PEM --tls-key PEM] [--admin-token-file FILE] [--max-upload BYTES]
 *                 [--log-level debug|info|warn|error] [limits: see usage]
 *   otakit-server --print-routes | --version
 *   otakit-server [--data DIR] backup FILE
 *
 * Every flag has an environment variable (OTAKIT_LISTEN, OTAKIT_DATA, ...); flags win.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mqtt_notify.h"
#include "auth.h"
#include "backup.h"
#include "espcloud.h"
#include "sse.h"
#include "db.h"
#include "delta.h"
#include "log.h"
#include "seen.h"
#include "longpoll.h"
#include "server.h"
#include "store.h"

struct server_config g_server;

int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static const char usage[] =
    "usage: otakit-server [options]\n\n"
    "The otakit update server: fleet, releases, rollouts, device and management APIs.\n\n"
    "  --listen IP:PORT       address to listen on (OTAKIT_LISTEN; default 127.0.0.1:8080)\n"
    "  --data DIR             database and artifacts (OTAKIT_DATA; default ./otakit-data)\n"
    "  --db URI               the store: PostgreSQL (postgres://...) instead of SQLite's DATA/otakit.db\n"
    "                         (OTAKIT_DB); several servers may share one PostgreSQL database\n"
    "  --artifacts DIR        release files (OTAKIT_ARTIFACTS; default DATA/artifacts): with several\n"
    "                         servers, one directory they all mount\n"
    "  --threads N            worker threads (OTAKIT_THREADS; default 4)\n"
    "  --public-url URL       base URL put in download links (OTAKIT_PUBLIC_URL; default http://LISTEN)\n"
    "  --tls-cert FILE        serve HTTPS with this PEM certificate (OTAKIT_TLS_CERT)\n"
    "  --tls-key FILE         and this PEM key (OTAKIT_TLS_KEY)\n"
    "  --admin-token-file F   read the admin bearer token from file F (OTAKIT_ADMIN_TOKEN_FILE;\n"
    "                         default DATA/admin.token, created with a random token on first start)\n"
    "                         or set OTAKIT_ADMIN_TOKEN in the environment\n"
    "  --admin-token TOKEN    the token itself: avoid it, any local user sees it in ps (a warning\n"
    "                         is logged); use the file or the environment\n"
    "  --max-upload BYTES     largest artifact accepted (OTAKIT_MAX_UPLOAD; default 67108864)\n"
    "  --idle-timeout S       idle seconds allowed once a request carried a valid token\n"
    "                         (OTAKIT_IDLE_TIMEOUT; default 120)\n"
    "  --unauth-timeout S     idle seconds allowed before that (OTAKIT_UNAUTH_TIMEOUT; default 10)\n"
    "  --max-connections N    connections served at once, more are answered 503 with Retry-After\n"
    "                         (OTAKIT_MAX_CONNECTIONS; default: what the open-files limit, raised to\n"
    "                         its hard limit at start, leaves room for: (hard - 64) / 2 * 8 / 9)\n"
    "  --max-connections-per-ip N  the same from one address (OTAKIT_MAX_CONNECTIONS_PER_IP; default 256)\n"
    "  --first-contacts-per-ip N   compat devices registered per minute from one address, more get 429\n"
    "                         (OTAKIT_FIRST_CONTACTS_PER_IP; default 30; 0: no limit)\n"
    "  --first-contacts-per-product N  the same per product (OTAKIT_FIRST_CONTACTS_PER_PRODUCT;\n"
    "                         default 600; 0: no limit)\n"
    "  --ddi-poll-sleep S     polling sleep told to hawkBit DDI controllers (OTAKIT_DDI_POLL_SLEEP;\n"
    "                         default 0: 30 s with an action in flight, else 300 s)\n"
    "  --mqtt URL             publish rollout notices on otakit/<product>/update at this broker\n"
    "                         (mqtt://host[:port]; OTAKIT_MQTT; default off)\n"
    "  --espcloud-listen ADDR:PORT  serve the Espressif cloud FOTA device channel (JSON lines over\n"
    "                         TCP, the cloud's port 8000) there (OTAKIT_ESPCLOUD_LISTEN; default off)\n"
    "  --delta-key FILE       sign delta patches with this private P-256 key and offer them to devices\n"
    "                         that ask (OTAKIT_DELTA_KEY; default: no delta offers)\n"
    "  --log-level LEVEL      debug, info, warn or error (OTAKIT_LOG_LEVEL; default info)\n"
    "  --access-log on|off    one logfmt line per request, no tokens (OTAKIT_ACCESS_LOG; default on)\n"
    "  --print-routes         print every route (METHOD PATTERN AUTH BODY) and exit\n"
    "  --version              print the version and exit\n"
    "  -h, --help             this text\n\n"
    "  otakit-server [--data DIR] backup FILE\n"
    "                         copy the database to FILE (new) while the server runs, with SQLite's\n"
    "                         online backup API; restore: stop the server, put FILE at DIR/otakit.db\n"
    "                         (with --db postgres://... it tells to use pg_dump instead)\n\n"
    "The dashboard is at the server's URL (/ui/); GET /healthz and GET /metrics (admin token) are\n"
    "for load balancers and Prometheus.\n";

static const char *opt_or_env(const char *opt, const char *env, const char *def)
{
    const char *e = getenv(env);
    return opt ? opt : (e && *e) ? e : def;
}

static int mkdir_p(const char *path)
{
    char buf[600];
    char *p;
    snprintf(buf, sizeof buf, "%s", path);
    for (p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Parses a decimal flag value in [lo, hi] into *out; prints the error and returns -1 otherwise. */
static int uint_opt(const char *name, const char *text, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(text, &end, 10);
    if (!*text || *end || v < lo || v > hi) {
        fprintf(stderr, "otakit-server: --%s must be %u..%u\n", name, lo, hi);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

/* Raises the open-files limit to its hard limit (each connection holds a socket, each download a
 * file too) and returns how many connections that leaves room for. */
static unsigned raise_nofile(void)
{
    struct rlimit rl;
    rlim_t n = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        n = rl.rlim_cur;
        if (rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 1048576 : rl.rlim_max;
            if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
                n = rl.rlim_cur;
            else
                log_msg(LOG_WARN, "cannot raise the open-files limit", "error=\"%s\"", strerror(errno));
        }
    }
    return n > 192 ? (unsigned)((n - 64) / 2 > 1000000 ? 1000000 : (n - 64) / 2) : 64;
}

/* Reads a token from path (first line); 0 or -1 (reason printed). */
static int token_from_file(const char *path, char tok[65])
{
    FILE *f = fopen(path, "r");
    if (!f || !fgets(tok, 65, f)) {
        fprintf(stderr, "otakit-server: cannot read the admin token file %s: %s\n", path,
                f ? "empty" : strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    tok[strcspn(tok, "\r\n ")] = 0;
    return 0;
}

/* Reads DATA/admin.token, creating it (mode 0600) with a random token the first time. */
static int admin_token_file(const char *dir, char tok[65], int *created)
{
    char path[600];
    int fd;
    ssize_t n;
    snprintf(path, sizeof path, "%s/admin.token", dir);
    *created = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = read(fd, tok, 64);
        close(fd);
        if (n < 16)
            return -1;
        tok[n] = 0;
        tok[strcspn(tok, "\r\n ")] = 0;
        return 0;
    }
    if (http_new_token(tok) != 0)
        return -1;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, tok, 64) != 64 || write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    *created = 1;
    return 0;
}

/* Removes uploads left by a crash: they were never renamed into the store, so nothing refers to them. */
static void clean_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1200];
    if (!d)
        return;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"listen", 1, 0, 'l'},      {"data", 1, 0, 'd'},     {"threads", 1, 0, 't'},
                                         {"public-url", 1, 0, 'u'},  {"tls-cert", 1, 0, 'c'}, {"tls-key", 1, 0, 'k'},
                                         {"admin-token", 1, 0, 'a'}, {"max-upload", 1, 0, 'm'},
                                         {"log-level", 1, 0, 'L'},   {"help", 0, 0, 'h'},     {"print-routes", 0, 0, 'R'},
                                         {"admin-token-file", 1, 0, 'A'}, {"idle-timeout", 1, 0, 'I'},
                                         {"unauth-timeout", 1, 0, 'U'},   {"max-connections", 1, 0, 'C'},
                                         {"max-connections-per-ip", 1, 0, 'P'},
                                         {"first-contacts-per-ip", 1, 0, 'F'},
                                         {"first-contacts-per-product", 1, 0, 'G'},
                                         {"print-errors", 0, 0, 'E'}, {"version", 0, 0, 'V'},
                                         {"access-log", 1, 0, 'S'}, {"ddi-poll-sleep", 1, 0, 'D'},
                                         {"mqtt", 1, 0, 'Q'}, {"espcloud-listen", 1, 0, 'e'},
                                         {"delta-key", 1, 0, 'K'}, {"db", 1, 0, 'B'},
                                         {"artifacts", 1, 0, 'T'}, {0, 0, 0, 0}};
    const char *o_listen = NULL, *o_data = NULL, *o_threads = NULL, *o_url = NULL, *o_cert = NULL, *o_key = NULL,
               *o_admin = NULL, *o_max = NULL, *o_level = NULL, *o_admin_file = NULL, *o_idle = NULL,
               *o_unauth = NULL, *o_conns = NULL, *o_conns_ip = NULL, *o_fc_ip = NULL, *o_fc_product = NULL,
               *o_access = NULL, *o_ddi_sleep = NULL, *o_mqtt = NULL, *o_espcloud = NULL,
               *o_delta_key = NULL, *o_db = NULL, *o_artifacts = NULL;
    static const http_route_t *const tables[] = {products_routes, releases_routes, device_routes, devices_routes,
                                                 rollouts_routes, stats_routes, ops_routes, web_routes,
                                                 mongoose_routes, compat_routes, ddi_routes, espcloud_routes,
                                                 keys_routes, sse_routes, delta_routes, NULL};
    http_config_t hc;
    struct MHD_Daemon *d;
    enum log_level lvl;
    char tok[65], dbpath[700], *end;
    int c, created = 0, sig, admin_flag = 0;
    unsigned fd_conns;
    sigset_t set;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': o_listen = optarg; break;
        case 'd': o_data = optarg; break;
        case 't': o_threads = optarg; break;
        case 'u': o_url = optarg; break;
        case 'c': o_cert = optarg; break;
        case 'k': o_key = optarg; break;
        case 'a': o_admin = optarg; break;
        case 'm': o_max = optarg; break;
        case 'L': o_level = optarg; break;
        case 'A': o_admin_file = optarg; break;
        case 'I': o_idle = optarg; break;
        case 'U': o_unauth = optarg; break;
        case 'C': o_conns = optarg; break;
        case 'P': o_conns_ip = optarg; break;
        case 'F': o_fc_ip = optarg; break;
        case 'G': o_fc_product = optarg; break;
        case 'K': o_delta_key = optarg; break;
        case 'D': o_ddi_sleep = optarg; break;
        case 'Q': o_mqtt = optarg; break;
        case 'e': o_espcloud = optarg; break;
        case 'B': o_db = optarg; break;
        case 'T': o_artifacts = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        case 'V': printf("otakit-server %s\n", OTAKIT_VERSION); return 0;
        case 'S': o_access = optarg; break;
        case 'R': http_print_routes(tables, stdout); return fflush(stdout) == 0 ? 0 : 1;
        case 'E': err_print_table(stdout); return fflush(stdout) == 0 ? 0 : 1; /* hidden: for the tests */
        default: fputs(usage, stderr); return 2;
        }
    }
    o_db = opt_or_env(o_db, "OTAKIT_DB", NULL);
    if (optind + 2 == argc && !strcmp(argv[optind], "backup")) {
        if (db_is_postgres(o_db)) {
            fprintf(stderr, "otakit-server backup: the store is PostgreSQL: back it up with pg_dump (pg_dump -Fc -f FILE "
                            "'URI'; restore with pg_restore into an empty database), and the artifact directory "
                            "with your file backup\n");
            return 2;
        }
        snprintf(dbpath, sizeof dbpath, "%s/otakit.db", opt_or_env(o_data, "OTAKIT_DATA", "./otakit-data"));
        return backup_run(dbpath, argv[optind + 1]);
    }
    if (optind != argc) {
        fprintf(stderr, "otakit-server: unexpected argument '%s'\n%s", argv[optind], usage);
        return 2;
    }
    memset(&hc, 0, sizeof hc);
    hc.listen = opt_or_env(o_listen, "OTAKIT_LISTEN", "127.0.0.1:8080");
    hc.threads = (unsigned)strtoul(opt_or_env(o_threads, "OTAKIT_THREADS", "4"), &end, 10);
    if (*end || hc.threads == 0 || hc.threads > 256) {
        fprintf(stderr, "otakit-server: --threads must be 1..256\n");
        return 2;
    }
    hc.max_upload = strtoull(opt_or_env(o_max, "OTAKIT_MAX_UPLOAD", "67108864"), &end, 10);
    if (*end || hc.max_upload == 0) {
        fprintf(stderr, "otakit-server: --max-upload must be a positive byte count\n");
        return 2;
    }
    hc.max_json = 1 << 20;
    o_access = opt_or_env(o_access, "OTAKIT_ACCESS_LOG", "on");
    if (strcmp(o_access, "on") && strcmp(o_access, "off")) {
        fprintf(stderr, "otakit-server: --access-log must be on or off\n");
        return 2;
    }
    hc.access_log = !strcmp(o_access, "on");
    fd_conns = raise_nofile();
    if (uint_opt("idle-timeout", opt_or_env(o_idle, "OTAKIT_IDLE_TIMEOUT", "120"), 1, 86400, &hc.idle_timeout) ||
        uint_opt("unauth-timeout", opt_or_env(o_unauth, "OTAKIT_UNAUTH_TIMEOUT", "10"), 1, 86400,
                 &hc.unauth_timeout) ||
        uint_opt("max-connections", opt_or_env(o_conns, "OTAKIT_MAX_CONNECTIONS", "1000000"), 1, 1000000,
                 &hc.max_conns) ||
        uint_opt("max-connections-per-ip", opt_or_env(o_conns_ip, "OTAKIT_MAX_CONNECTIONS_PER_IP", "256"), 1,
                 1000000, &hc.max_conns_per_ip) ||
        uint_opt("first-contacts-per-ip", opt_or_env(o_fc_ip, "OTAKIT_FIRST_CONTACTS_PER_IP", "30"), 0, 1000000,
                 &g_server.first_contacts_per_ip) ||
        uint_opt("first-contacts-per-product",
                 opt_or_env(o_fc_product, "OTAKIT_FIRST_CONTACTS_PER_PRODUCT", "600"), 0, 1000000,
                 &g_server.first_contacts_per_product) ||
        uint_opt("ddi-poll-sleep", opt_or_env(o_ddi_sleep, "OTAKIT_DDI_POLL_SLEEP", "0"), 0, 86400,
                 &g_server.ddi_sleep))
        return 2;
    if (hc.max_conns > fd_conns * 8 / 9) { /* what the open-files limit leaves room for, with a margin */
        if (opt_or_env(o_conns, "OTAKIT_MAX_CONNECTIONS", NULL))
            log_msg(LOG_WARN, "--max-connections lowered to fit the open-files limit", "max_connections=%u",
                    fd_conns * 8 / 9);
        hc.max_conns = fd_conns * 8 / 9 ? fd_conns * 8 / 9 : 1;
    }
    hc.tls_cert = opt_or_env(o_cert, "OTAKIT_TLS_CERT", NULL);
    hc.tls_key = opt_or_env(o_key, "OTAKIT_TLS_KEY", NULL);
    if (log_parse_level(opt_or_env(o_level, "OTAKIT_LOG_LEVEL", "info"), &lvl) != 0) {
        fprintf(stderr, "otakit-server: --log-level must be debug, info, warn or error\n");
        return 2;
    }
    log_set_level(lvl);

    admin_flag = o_admin != NULL;
    if (admin_flag)
        log_msg(LOG_WARN, "--admin-token puts the token in the process list (ps) for every local user: "
                          "use --admin-token-file, OTAKIT_ADMIN_TOKEN or DATA/admin.token",
                NULL);
    o_admin_file = opt_or_env(o_admin_file, "OTAKIT_ADMIN_TOKEN_FILE", NULL);
    o_admin = opt_or_env(o_admin, "OTAKIT_ADMIN_TOKEN", NULL);
    if (!admin_flag && o_admin_file) {
        if (token_from_file(o_admin_file, tok) != 0)
            return 2;
        o_admin = tok;
    }
    if (o_admin && strlen(o_admin) < 16) { /* checked before anything is created on disk */
        fprintf(stderr, "otakit-server: the admin token must be at least 16 characters\n");
        return 2;
    }
    snprintf(g_server.data_dir, sizeof g_server.data_dir, "%s", opt_or_env(o_data, "OTAKIT_DATA", "./otakit-data"));
    if ((o_artifacts = opt_or_env(o_artifacts, "OTAKIT_ARTIFACTS", NULL)) != NULL)
        snprintf(g_server.artifacts_dir, sizeof g_server.artifacts_dir, "%s", o_artifacts);
    else
        snprintf(g_server.artifacts_dir, sizeof g_server.artifacts_dir, "%s/artifacts", g_server.data_dir);
    snprintf(g_server.tmp_dir, sizeof g_server.tmp_dir, "%s/tmp", g_server.data_dir);
    if (mkdir_p(g_server.artifacts_dir) != 0 || mkdir_p(g_server.tmp_dir) != 0) {
        log_msg(LOG_ERROR, "cannot create the data directory", "data=%s error=\"%s\"", g_server.data_dir, strerror(errno));
        return 1;
    }
    clean_tmp(g_server.tmp_dir);
    if (delta_init(opt_or_env(o_delta_key, "OTAKIT_DELTA_KEY", NULL)) != 0)
        return 1;
    hc.tmp_dir = g_server.tmp_dir;
    hc.authorize = auth_check;

    if (o_admin) {
        auth_set_admin_token(o_admin);
    } else if (admin_token_file(g_server.data_dir, tok, &created) == 0) {
        auth_set_admin_token(tok);
    } else {
        log_msg(LOG_ERROR, "cannot read or create the admin token file", "data=%s", g_server.data_dir);
        return 1;
    }

    if (o_db && !db_is_postgres(o_db)) {
        log_msg(LOG_ERROR, "--db takes a PostgreSQL URI (postgres://...); SQLite's file is DATA/otakit.db", "db=%s", o_db);
        return 2;
    }
    snprintf(dbpath, sizeof dbpath, "%s/otakit.db", g_server.data_dir);
    if (db_init(o_db ? o_db : dbpath) != 0)
        return 1;
    store_sweep(); /* files a crash left unreferenced in the store */
    delta_sweep(); /* patches of images no release has any more */

    /* Signals are taken synchronously by the main thread; workers never see them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN); /* past a file-size limit a write fails with EFBIG: answered 507 */

    if (!(d = http_start(&hc, tables)))
        return 1;
    o_espcloud = opt_or_env(o_espcloud, "OTAKIT_ESPCLOUD_LISTEN", NULL);
    if (o_espcloud && *o_espcloud) {
        unsigned ec_port = 0;
        if (espcloud_start(o_espcloud, &ec_port) != 0) {
            MHD_stop_daemon(d);
            return 1;
        }
        log_msg(LOG_INFO, "espcloud listening", "listen=%s port=%u", o_espcloud, ec_port);
    }
    if (o_url)
        snprintf(g_server.public_url, sizeof g_server.public_url, "%s", o_url);
    else if (getenv("OTAKIT_PUBLIC_URL") && *getenv("OTAKIT_PUBLIC_URL"))
        snprintf(g_server.public_url, sizeof g_server.public_url, "%s", getenv("OTAKIT_PUBLIC_URL"));
    else {
        char host[64];
        const char *colon = strrchr(hc.listen, ':');
        snprintf(host, sizeof host, "%.*s", (int)(colon - hc.listen), hc.listen);
        snprintf(g_server.public_url, sizeof g_server.public_url, "%s://%s:%u", hc.tls_cert ? "https" : "http",
                 (!host[0] || !strcmp(host, "0.0.0.0")) ? "127.0.0.1" : host, http_port(d));
    }
    o_mqtt = opt_or_env(o_mqtt, "OTAKIT_MQTT", NULL);
    if (o_mqtt && *o_mqtt && mqtt_notify_start(o_mqtt) != 0) {
        MHD_stop_daemon(d);
        return 2;
    }
    log_msg(LOG_INFO, "otakit-server started",
            "url=%s port=%u data=%s store=%s artifacts=%s threads=%u admin_token=%s max_connections=%u per_ip=%u",
            g_server.public_url, http_port(d), g_server.data_dir, o_db ? "postgresql" : "sqlite", g_server.artifacts_dir,
            hc.threads,
            admin_flag ? "(flag)" : o_admin_file && o_admin == tok ? "(file)" : o_admin ? "(env)"
            : created ? "(new, in admin.token)" : "(admin.token)",
            hc.max_conns, hc.max_conns_per_ip);
    sigwait(&set, &sig);
    log_msg(LOG_INFO, "shutting down", "signal=%s", sig == SIGTERM ? "TERM" : "INT");
    espcloud_stop();
    sse_stop();
    longpoll_stop(); /* waiting checks are answered, none stays suspended */
    MHD_stop_daemon(d);
    mqtt_notify_stop();
    seen_flush(); /* the check-in times still batched */
    db_close_thread();
    log_msg(LOG_INFO, "stopped", NULL);
    return 0;
}
