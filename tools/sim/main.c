/*
 * otakit-device: one simulated device (or a fleet of them) against an otakit server.
 *
 *   otakit-device mkfw --version V --behaviour healthy|crash|hang|nonet [--size N] OUT.bin
 *   otakit-device --server URL --enroll TOKEN --id NAME --dir DIR --key PUB.pem [--product P]
 *                 [--layout swap-256k] [--factory IMG] [--once] [--poll S] [--commit-window MS]
 *                 [--slow] [--fleet N] [--ca PEM [--servername NAME]] [--consent yes|no]
 *                 [--retry-min MS] [--retry-max MS] [--progress PCT] [--cut-after-report STATUS]
 *                 [--listen ADDR] [--push PORT (--push-token T | --push-basic B64)]
 *                 [--arduino-ota PORT [--arduino-ota-password PW]] [--w5500 SPEC]
 *                 [--mqtt HOST:PORT [--mqtt-topic PREFIX] [--mqtt-notice TOPIC]]
 *                 [--catalog URL|otakit]
 *                 [--no-delta] [--long-poll S]
 *
 * Exit codes (--once, or on errors): 0 settled (updated and confirmed, or up to date),
 * 4 the update was rolled back, 1 failure (no bootable image, network, a failed download, a
 * confirmed image that crashes/hangs), 2 usage. --fleet N: 0 when no device failed.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "device.h"

static const char usage_text[] =
    "usage: otakit-device mkfw --version V --behaviour healthy|crash|hang|nonet [--size N] OUT.bin\n"
    "       otakit-device --server URL --enroll TOKEN --id NAME --dir DIR --key PUB.pem\n"
    "                     [--product P] [--layout swap-256k] [--factory IMG] [--once] [--poll S]\n"
    "                     [--commit-window MS] [--slow] [--fleet N] [--ca PEM [--servername NAME]]\n"
    "                     [--consent yes|no] [--retry-min MS] [--retry-max MS] [--progress PCT]\n"
    "                     [--cut-after-report STATUS] [--listen ADDR]\n"
    "                     [--push PORT (--push-token T | --push-basic B64)]\n"
    "                     [--arduino-ota PORT [--arduino-ota-password PW]] [--w5500 SPEC]\n"
    "                     [--mqtt HOST:PORT [--mqtt-topic PREFIX] [--mqtt-notice TOPIC]]\n"
    "                     [--catalog URL|otakit] [--no-delta] [--long-poll S]\n";

static int usage(void)
{
    fputs(usage_text, stderr);
    return 2;
}

static int help(void)
{
    fputs(usage_text, stdout);
    fputs("\nOne simulated device (or --fleet N of them): the real bootloader over DIR/flash.bin, then\n"
          "the firmware in the booted slot: the library's update agent (otakit/agent_loop.h), which\n"
          "registers, checks in, carries out commands, downloads updates reporting progress, reboots\n"
          "into them and confirms them, or gets rolled back (docs/device-sim.md).\n\n"
          "  --server URL          otakit-server base URL (http:// or https://)\n"
          "  --ca PEM              https: the CA the server's certificate must chain to (pinned)\n"
          "  --servername NAME     https: the name the certificate must carry (default: the URL's host)\n"
          "  --enroll TOKEN        the product's enrollment token (first start registers the device)\n"
          "  --id NAME --dir DIR   the device's name and state directory (flash.bin, settings.bin)\n"
          "  --key PUB.pem         the product's signing public key (trusted by the bootloader)\n"
          "  --factory IMG         image programmed into slot 0 on first start\n"
          "  --once                exit when one update has settled (confirmed or rolled back)\n"
          "  --poll S              longest wait between check-ins (default 10; the server's\n"
          "                        poll_interval when shorter)\n"
          "  --consent yes|no      what the user answers to upgrade and reboot commands (default yes)\n"
          "  --retry-min MS        first wait after a failure, doubled per failure (default 1000,\n"
          "                        300 with --once), with jitter\n"
          "  --retry-max MS        longest wait after failures (default 60000)\n"
          "  --progress PCT        a progress report every PCT percent of a download (default 10)\n"
          "  --cut-after-report S  cut the power right after the report S was answered (tests)\n"
          "  --commit-window MS    watchdog window for an image on trial (default 5000)\n"
          "  --slow                real flash timings (erase/program delays)\n"
          "  --no-delta            full images only (the agent does not ask for delta patches)\n"
          "  --long-poll S         each check waits at the server up to S seconds (1..300) for news\n"
          "                        (a rollout, a command), so the device reacts at once\n"
          "  --fleet N             N devices NAME-000.. in DIR/NAME-000.., one thread each\n"
          "  --push PORT           between check-ins, serve the push endpoints (Mongoose, ESP8266HTTP-\n"
          "                        UpdateServer) on this TCP port; needs --push-token or --push-basic\n"
          "  --arduino-ota PORT    between check-ins, answer ArduinoOTA (espota.py) on this UDP port\n"
          "  --arduino-ota-password PW   the password espota.py must prove (-a PW)\n"
          "  --listen ADDR         address those bind (default 127.0.0.1)\n"
          "  --w5500 SPEC          the agent's network is the W5500 driver (ports/w5500) on the W5500\n"
          "                        emulator (tools/w5500emu/w5500_spec.h: \"on\", or faults and options),\n"
          "                        a fresh chip each power-on; its verdict is printed at each reset\n"
          "                        (\"w5500_violations N\"). Not with --fleet, --push, --mqtt or\n"
          "                        --arduino-ota\n\n"
          "  --mqtt HOST:PORT      between check-ins, keep a broker connection: Mongoose's OTA over MQTT\n"
          "                        (ota.update on PREFIX/rx, answers on PREFIX/tx) and rollout notices\n"
          "                        (check at once)\n"
          "  --mqtt-topic PREFIX   request/response topic prefix (default mg/NAME)\n"
          "  --mqtt-notice TOPIC   rollout notices (default otakit/PRODUCT/update with --product)\n"
          "  --catalog URL         with --push: the update page /_ac/update lists this AutoConnect\n"
          "                        catalog (http://host:port/path) and pulls the chosen binary;\n"
          "                        --catalog otakit: the otakit images of this device's product from\n"
          "                        --server (its catalog for this device, with the device token)\n\n"
          "Exit status: 0 settled (confirmed or up to date), 4 rolled back, 1 failure, 2 usage.\n",
          stdout);
    return 0;
}

static int mkfw(int argc, char **argv)
{
    static const struct option lo[] = {{"version", 1, 0, 'v'}, {"behaviour", 1, 0, 'b'}, {"behavior", 1, 0, 'b'},
                                       {"size", 1, 0, 's'},    {0, 0, 0, 0}};
    const char *v = NULL, *b = "healthy";
    long size = 16384;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'v': v = optarg; break;
        case 'b': b = optarg; break;
        case 's': size = atol(optarg); break;
        default: return usage();
        }
    }
    if (!v || optind != argc - 1 || size < 64 ||
        (strcmp(b, "healthy") && strcmp(b, "crash") && strcmp(b, "hang") && strcmp(b, "nonet")))
        return usage();
    if (dev_mkfw(argv[optind], v, b, size) != 0) {
        perror(argv[optind]);
        return 1;
    }
    return 0;
}

typedef struct {
    dev_opts_t o;
    char id[128], dir[1024];
    int rc;
} member_t;

static void *member_main(void *arg)
{
    member_t *m = arg;
    m->rc = dev_run(&m->o);
    return NULL;
}

/* N devices, one thread each, NAME-000.. in DIR/NAME-000..; prints a summary. */
static int fleet(const dev_opts_t *base, int n)
{
    member_t *m = calloc((size_t)n, sizeof *m);
    pthread_t *t = calloc((size_t)n, sizeof *t);
    int i, count[4] = {0, 0, 0, 0};
    if (!m || !t)
        return 1;
    mkdir(base->dir, 0755);
    for (i = 0; i < n; i++) {
        m[i].o = *base;
        m[i].o.fleet = 1;
        snprintf(m[i].id, sizeof m[i].id, "%s-%03d", base->id, i);
        snprintf(m[i].dir, sizeof m[i].dir, "%s/%s", base->dir, m[i].id);
        mkdir(m[i].dir, 0755);
        m[i].o.id = m[i].id;
        m[i].o.dir = m[i].dir;
        if (pthread_create(&t[i], NULL, member_main, &m[i]) != 0) {
            m[i].rc = DEV_FAILED;
            t[i] = 0;
        }
    }
    for (i = 0; i < n; i++)
        if (t[i])
            pthread_join(t[i], NULL);
    for (i = 0; i < n; i++)
        count[m[i].rc >= 0 && m[i].rc <= 3 ? m[i].rc : DEV_FAILED]++;
    printf("fleet: %d devices: %d updated, %d rolled back, %d failed, %d unchanged\n", n,
           count[DEV_SETTLED_CONFIRMED], count[DEV_SETTLED_ROLLED_BACK], count[DEV_FAILED], count[DEV_SETTLED_NONE]);
    free(m);
    free(t);
    return count[DEV_FAILED] ? 1 : 0;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"server", 1, 0, 's'}, {"enroll", 1, 0, 'e'}, {"id", 1, 0, 'i'},   {"dir", 1, 0, 'd'},
        {"key", 1, 0, 'k'},    {"product", 1, 0, 'p'}, {"layout", 1, 0, 'l'}, {"factory", 1, 0, 'f'},
        {"once", 0, 0, 'o'},   {"poll", 1, 0, 'P'},   {"commit-window", 1, 0, 'w'}, {"slow", 0, 0, 'S'},
        {"fleet", 1, 0, 'F'},  {"ca", 1, 0, 'C'},     {"servername", 1, 0, 'N'}, {"consent", 1, 0, 'c'},
        {"retry-min", 1, 0, 'r'}, {"retry-max", 1, 0, 'R'}, {"progress", 1, 0, 'g'},
        {"cut-after-report", 1, 0, 'x'}, {"push", 1, 0, 'u'},   {"push-token", 1, 0, 't'},
        {"push-basic", 1, 0, 'b'}, {"arduino-ota", 1, 0, 'a'}, {"arduino-ota-password", 1, 0, 'A'},
        {"listen", 1, 0, 'L'}, {"w5500", 1, 0, 'W'}, {"mqtt", 1, 0, 'M'}, {"mqtt-topic", 1, 0, 'T'},
        {"mqtt-notice", 1, 0, 'n'}, {"catalog", 1, 0, 'K'}, {"no-delta", 0, 0, 'D'}, {"long-poll", 1, 0, 'J'},
        {0, 0, 0, 0}};
    dev_opts_t o;
    int c, n = 0, rc;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "mkfw") == 0)
        return mkfw(argc - 1, argv + 1);
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
        return help();
    memset(&o, 0, sizeof o);
    o.layout = "swap-256k";
    o.poll = 10;
    o.commit_ms = 5000;
    o.argv = argv;
    o.push_port = o.aota_port = -1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 's': o.server = optarg; break;
        case 'e': o.enroll = optarg; break;
        case 'i': o.id = optarg; break;
        case 'd': o.dir = optarg; break;
        case 'k': o.key = optarg; break;
        case 'p': o.product = optarg; break;
        case 'l': o.layout = optarg; break;
        case 'f': o.factory = optarg; break;
        case 'o': o.once = 1; break;
        case 'P': o.poll = atoi(optarg); break;
        case 'w': o.commit_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'S': o.slow = 1; break;
        case 'F': n = atoi(optarg); break;
        case 'C': o.ca = optarg; break;
        case 'N': o.servername = optarg; break;
        case 'c':
            if (strcmp(optarg, "yes") && strcmp(optarg, "no"))
                return usage();
            o.decline = !strcmp(optarg, "no");
            break;
        case 'r': o.retry_min_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'R': o.retry_max_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'g': o.progress_pct = (unsigned)atoi(optarg); break;
        case 'x': o.cut_after = optarg; break;
        case 'D': o.no_delta = 1; break;
        case 'J': o.long_poll = atoi(optarg); break;
        case 'u': o.push_port = atoi(optarg); break;
        case 't': o.push_token = optarg; break;
        case 'b': o.push_basic = optarg; break;
        case 'a': o.aota_port = atoi(optarg); break;
        case 'A': o.aota_password = optarg; break;
        case 'L': o.listen = optarg; break;
        case 'W': o.w5500 = optarg; break;
        case 'M': o.mqtt = optarg; break;
        case 'T': o.mqtt_topic = optarg; break;
        case 'n': o.mqtt_notice = optarg; break;
        case 'K': o.catalog = optarg; break;
        default: return usage();
        }
    }
    if (!o.server || !o.id || !o.dir || !o.key || optind != argc || o.poll < 1 || n < 0 || o.progress_pct > 100 ||
        o.long_poll < 0 || o.long_poll > 300)
        return usage();
    /* Listening devices are one per port, and the W5500 emulator is one per process: not in a
     * fleet; the push server takes credentials. */
    if ((o.push_port >= 0 || o.aota_port >= 0 || o.w5500 || o.mqtt) && n > 0)
        return usage();
    if (o.w5500 && (o.push_port >= 0 || o.aota_port >= 0 || o.mqtt)) /* the listeners are host sockets */
        return usage();
    if (o.push_port >= 0 && !o.push_token && !o.push_basic)
        return usage();
    if (o.catalog && (o.push_port < 0 || (strncmp(o.catalog, "http", 4) && strcmp(o.catalog, "otakit"))))
        return usage();
    if (o.push_port > 65535 || o.aota_port > 65535)
        return usage();
    if (n > 0)
        return fleet(&o, n);
    mkdir(o.dir, 0755);
    rc = dev_run(&o);
    return rc == DEV_SETTLED_ROLLED_BACK ? 4 : rc == DEV_FAILED ? 1 : 0;
}
