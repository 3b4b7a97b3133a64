/*
 * A simulated device serving the push endpoints (device/net/push.c) on a loopback TCP port:
 * file-backed flash, the bootloader run at start and after every pushed update or rollback.
 *   push_host --flash FILE --factory IMG --key PUB.pem --port P [--token T] [--basic B64]
 *             [--aota-port U [--aota-password PW]] [--w5500 SPEC]
 * With --w5500 SPEC (tools/w5500emu/w5500_spec.h; --port needed) the device's network is the W5500
 * driver on the emulator: two chip sockets listen on the port (ota_w5500_listen), so one takes the
 * next client while the other serves, and each listens again once its client is closed.
 * Prints "listening <port>" (and "aota <udp port>" with --aota-port: ArduinoOTA invitations,
 * device/net/arduino_ota.c, 0 for any free port) and one "boot slot=S version=V state=X" line per
 * boot; "aota result=X" after each ArduinoOTA transfer. One request
 * at a time: a client that sends nothing is dropped after the 3 s head deadline. The accept loop
 * wakes every second (it never blocks for good, like a device's main loop).
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "otakit/arduino_ota.h"
#include "otakit/fileio.h"
#include "otakit/flash_sim.h"
#include "otakit/keys.h"
#include "otakit/net_posix.h"
#include "otakit/ota.h"
#include "otakit/platform_posix.h"
#include "otakit/presets.h"
#include "otakit/push.h"
#include "w5500_spec.h"

static int boot(ota_ctx_t *ctx, const ota_config_t *cfg)
{
    ota_boot_result_t r;
    char v[OTA_VERSION_STR_MAX];
    int rc;
    if ((rc = ota_init(ctx, cfg)) != OTA_OK || (rc = ota_boot(ctx, &r)) != OTA_OK) {
        printf("boot failed: %s\n", ota_strerror(rc));
        return rc;
    }
    ota_version_format(&r.version, v, sizeof v);
    printf("boot slot=%u version=%s state=%s\n", r.slot, v, ota_state_name(r.state));
    fflush(stdout);
    return OTA_OK;
}

/* The accept loop on the W5500: two listening chip sockets, each served in turn. */
static int serve_w5500(ota_ctx_t *ctx, const ota_config_t *cfg, const ota_net_t *net, const ota_push_cfg_t *pc,
                       uint16_t port)
{
    ota_w5500_t *w = w5500_driver();
    int h[2], i, rc;
    for (i = 0; i < 2; i++)
        if ((h[i] = ota_w5500_listen(w, port)) < 0) {
            printf("listen failed: %s\n", ota_errname(h[i]));
            return 1;
        }
    printf("listening %u\n", port);
    fflush(stdout);
    for (i = 0;; i ^= 1) {
        ota_push_result_t res;
        if ((rc = ota_w5500_accept(w, h[i], 100)) == OTA_ERR_TIMEOUT)
            continue; /* nothing yet: a device would run the rest of its loop here */
        if (rc >= 0) {
            ota_push_serve(ctx, net, h[i], pc, &res);
            (void)w5500_check(); /* any violation: reported on stderr, which the tests read */
            printf("served status=%d result=%s\n", res.status, ota_errname(res.result));
            fflush(stdout);
        }
        net->ops->close(net->ctx, h[i]);
        if ((h[i] = ota_w5500_listen(w, port)) < 0)
            return 1;
        if (rc >= 0 && res.reboot && boot(ctx, cfg) != OTA_OK)
            return 1;
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"flash", 1, 0, 'f'}, {"factory", 1, 0, 'F'}, {"key", 1, 0, 'k'},
                                         {"port", 1, 0, 'p'},  {"token", 1, 0, 't'},   {"basic", 1, 0, 'b'},
                                         {"aota-port", 1, 0, 'u'}, {"aota-password", 1, 0, 'P'},
                                         {"w5500", 1, 0, 'w'}, {0, 0, 0, 0}};
    const char *aota_password = NULL;
    int aota_port = -1, ufd = -1;
    ota_aota_t aota;
    const char *flash_path = NULL, *factory = NULL, *keypath = NULL, *w5500 = NULL;
    const ota_preset_t *p = ota_preset_find("swap-256k");
    ota_push_cfg_t pc;
    ota_flash_sim_cfg_t sc;
    ota_flash_sim_t *sim;
    ota_flash_t flash;
    ota_config_t cfg;
    ota_ctx_t ctx;
    ota_pubkey_t pk;
    uint8_t der[OTA_P256_SPKI_LEN];
    ota_key_t *key;
    ota_net_posix_t ns;
    ota_platform_ops_t plat;
    ota_net_t net;
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    int c, port = 0, lfd, one = 1, fresh;

    memset(&pc, 0, sizeof pc);
    pc.timeout_ms = 5000;
    pc.head_timeout_ms = 3000;
    pc.conn_timeout_ms = 60000;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'f': flash_path = optarg; break;
        case 'F': factory = optarg; break;
        case 'k': keypath = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 't': pc.token = optarg; break;
        case 'b': pc.basic_b64 = optarg; break;
        case 'u': aota_port = atoi(optarg); break;
        case 'P': aota_password = optarg; break;
        case 'w': w5500 = optarg; break;
        default: return 2;
        }
    }
    if (!flash_path || !keypath || ota_key_load(keypath, &key) != OTA_OK || ota_key_public_der(key, der) != OTA_OK)
        return 2;
    ota_key_free(key);
    fresh = access(flash_path, F_OK) != 0;
    ota_flash_sim_cfg_preset(&sc, p, 8, 0xff);
    sc.path = flash_path;
    if (ota_flash_sim_open(&sc, &sim) != OTA_OK)
        return 1;
    ota_flash_sim_bind(sim, &flash);
    if (fresh && factory) {
        uint8_t *img;
        size_t len;
        if (ota_file_read(factory, &img, &len) != OTA_OK || len > p->layout.slot[0].size)
            return 1;
        memcpy(ota_flash_sim_data(sim) + p->layout.slot[0].off, img, len);
        free(img);
    }
    pk.der = der;
    pk.len = sizeof der;
    memset(&cfg, 0, sizeof cfg);
    cfg.flash = &flash;
    cfg.layout = &p->layout;
    cfg.keys = &pk;
    cfg.n_keys = 1;
    cfg.product = "acme";
    if (boot(&ctx, &cfg) != OTA_OK)
        return 1;

    ota_net_posix_init(&ns, &net);
    ota_host_platform_init(&plat, NULL);
    pc.platform = &plat;
    if (w5500)
        return port > 0 && w5500_setup(w5500, &net) == 0 ? serve_w5500(&ctx, &cfg, &net, &pc, (uint16_t)port) : 2;
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 8) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0)
        return 1;
    printf("listening %u\n", ntohs(sa.sin_port));
    if (aota_port >= 0) {
        struct sockaddr_in ua;
        socklen_t ul = sizeof ua;
        ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        memset(&ua, 0, sizeof ua);
        ua.sin_family = AF_INET;
        ua.sin_port = htons((uint16_t)aota_port);
        ua.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (ufd < 0 || bind(ufd, (struct sockaddr *)&ua, sizeof ua) != 0 ||
            getsockname(ufd, (struct sockaddr *)&ua, &ul) != 0)
            return 1;
        ota_aota_init(&aota, aota_password);
        printf("aota %u\n", ntohs(ua.sin_port));
    }
    fflush(stdout);
    for (;;) {
        ota_push_result_t res;
        struct pollfd pfd[2] = {{lfd, POLLIN, 0}, {ufd, POLLIN, 0}};
        int h;
        if (poll(pfd, ufd >= 0 ? 2 : 1, 1000) <= 0)
            continue; /* nothing yet: a device would run the rest of its loop here */
        if (ufd >= 0 && (pfd[1].revents & POLLIN)) {
            char in[256], reply[OTA_AOTA_REPLY_MAX], host[INET_ADDRSTRLEN];
            uint8_t nonce[16];
            struct sockaddr_in from;
            socklen_t fl = sizeof from;
            size_t rl;
            ssize_t n = recvfrom(ufd, in, sizeof in, 0, (struct sockaddr *)&from, &fl);
            FILE *r = fopen("/dev/urandom", "rb");
            int go;
            if (!r || fread(nonce, 1, sizeof nonce, r) != sizeof nonce)
                return 1;
            fclose(r);
            if (n <= 0)
                continue;
            go = ota_aota_datagram(&ctx, &aota, in, (size_t)n, nonce, reply, sizeof reply, &rl);
            if (rl)
                sendto(ufd, reply, rl, 0, (struct sockaddr *)&from, fl);
            if (go == OTA_AOTA_START) {
                int rc;
                inet_ntop(AF_INET, &from.sin_addr, host, sizeof host);
                rc = ota_aota_receive(&ctx, &aota, &net, host, 10000);
                printf("aota result=%s\n", ota_errname(rc));
                fflush(stdout);
                if (rc == OTA_OK && boot(&ctx, &cfg) != OTA_OK)
                    return 1;
            }
            continue;
        }
        if ((h = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0)
            continue;
        ota_push_serve(&ctx, &net, h, &pc, &res);
        close(h);
        printf("served status=%d result=%s\n", res.status, ota_errname(res.result));
        fflush(stdout);
        if (res.reboot && boot(&ctx, &cfg) != OTA_OK) /* a pending image or a rollback: reset */
            return 1;
    }
}
