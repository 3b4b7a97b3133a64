/*
 * End-to-end update time of the device agent (bench/agent.sh drives it): a simulated device
 * checks a real otakit-server (ota_check_request), pulls the image over HTTP on loopback
 * (ota_pull_image: ota_begin/write/end, signature verified) into the host flash simulator with a
 * timing model, then runs the bootloader's install step (ota_boot). Flash time is accounted, not
 * slept (realtime = 0): total modelled time = measured wall time (network + CPU) + modelled flash
 * busy time. No preset holds a 1 MiB image, so the geometry is defined here: 4 MiB of 4 KiB
 * sectors, 64 KiB boot, two 1.5 MiB slots, 16 KiB state (+ 4 KiB scratch for the swap layout).
 *
 * With --w5500 KB the network is the W5500 route instead of POSIX sockets: the driver (ports/w5500)
 * with KB-KB socket buffers on the emulator (tools/w5500emu), which counts every SPI byte; the SPI
 * time at 20 MHz (8 clocks a byte, no gap between frames) is then added to the model.
 *
 *   agent_bench --server URL --token DEVICE_TOKEN --key PUB.der --product P [--version 1.0.0] [--w5500 KB]
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otakit/agent.h"
#include "otakit/fileio.h"
#include "otakit/flash_sim.h"
#include "otakit/http.h"
#include "otakit/net_posix.h"
#include "otakit/platform_posix.h"
#include "otakit/ota.h"
#include "otakit/w5500.h"
#include "w5500_emu.h"

#define KB 1024u
#define ERASE_US_4K 45000u
#define PROG_US_256 700u
#define SPI_HZ 20000000.0

static const ota_sector_run_t runs[] = {{1024, 4 * KB}};
static const ota_layout_t layouts[] = {
    {"ab-4m", OTA_STRATEGY_AB, {0, 64 * KB}, {{64 * KB, 1536 * KB}, {1600 * KB, 1536 * KB}}, {3136 * KB, 16 * KB},
     {0, 0}},
    {"swap-4m", OTA_STRATEGY_SWAP, {0, 64 * KB}, {{64 * KB, 1536 * KB}, {1600 * KB, 1536 * KB}},
     {3140 * KB, 16 * KB}, {3136 * KB, 4 * KB}},
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double sim_s(ota_flash_sim_t *s)
{
    ota_flash_sim_stats_t st;
    ota_flash_sim_stats(s, &st);
    return (double)st.sim_time_us / 1e6;
}

static void line(const char *what, double wall, double flash, double pure)
{
    printf("  %-34s wall(net+CPU) %7.3f s + flash %7.3f s = %7.3f s", what, wall, flash, wall + flash);
    if (pure > 0)
        printf("   ratio to pure flash %.3f", (wall + flash) / pure);
    printf("\n");
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {{"server", 1, 0, 's'}, {"token", 1, 0, 't'},   {"key", 1, 0, 'k'},
                                       {"product", 1, 0, 'p'}, {"version", 1, 0, 'v'}, {"w5500", 1, 0, 'w'},
                                       {0, 0, 0, 0}};
    const char *server = 0, *token = 0, *keypath = 0, *product = 0, *version = "1.0.0";
    static ota_net_posix_t posix_state;
    static ota_platform_ops_t host_platform;
    static ota_net_t tcp;
    static ota_http_t http;
    static char buf[4096];
    static ota_w5500_t w5500;
    static ota_w5500_spi_t spi;
    w5500_emu_t *emu = NULL;
    unsigned w5500_kb = 0;
    ota_http_cfg_t hc;
    ota_pubkey_t key;
    uint8_t *der;
    size_t derlen;
    unsigned li;
    int ch;

    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1)
        switch (ch) {
        case 's': server = optarg; break;
        case 't': token = optarg; break;
        case 'k': keypath = optarg; break;
        case 'p': product = optarg; break;
        case 'v': version = optarg; break;
        case 'w': w5500_kb = (unsigned)atoi(optarg); break;
        default: return 2;
        }
    if (!server || !token || !keypath || ota_file_read(keypath, &der, &derlen) != OTA_OK) {
        fprintf(stderr, "usage: agent_bench --server URL --token T --key PUB.der --product P [--version V]\n");
        return 2;
    }
    key.der = der;
    key.len = (uint32_t)derlen;
    ota_net_posix_init(&posix_state, &tcp);
    ota_host_platform_init(&host_platform, NULL);
    if (w5500_kb) {
        ota_w5500_cfg_t wc;
        memset(&wc, 0, sizeof wc);
        if (!(emu = w5500_emu_new(NULL)))
            return 1;
        spi.select = w5500_emu_select;
        spi.transfer = w5500_emu_transfer;
        spi.idle = w5500_emu_idle;
        spi.ctx = emu;
        wc.spi = &spi;
        wc.platform = &host_platform;
        wc.sockets = (uint8_t)(16 / w5500_kb);
        wc.buf_kb = (uint8_t)w5500_kb;
        memcpy(wc.ip, (const uint8_t[4]){192, 168, 1, 50}, 4);
        memcpy(wc.subnet, (const uint8_t[4]){255, 255, 255, 0}, 4);
        if (ota_w5500_init(&w5500, &wc) != OTA_OK) {
            fprintf(stderr, "agent_bench: ota_w5500_init failed (--w5500 1, 2, 4, 8 or 16)\n");
            return 2;
        }
        tcp = w5500.net;
        printf("Network: the W5500 route, %u KiB socket buffers (ports/w5500 on tools/w5500emu)\n", w5500_kb);
    }
    memset(&hc, 0, sizeof hc);
    hc.tcp = &tcp;
    hc.platform = &host_platform;
    hc.keep_alive = 1;
    if (ota_http_init(&http, &hc) != OTA_OK)
        return 1;

    printf("Timing model: 4 KiB erase %.0f ms, 256 B program %.1f ms (accounted, not slept);\n"
           "flash 4 MiB of 4 KiB sectors, slots 1.5 MiB; wall = measured on this host, loopback HTTP.\n",
           ERASE_US_4K / 1e3, PROG_US_256 / 1e3);
    for (li = 0; li < sizeof layouts / sizeof layouts[0]; li++) {
        const ota_layout_t *l = &layouts[li];
        ota_flash_sim_cfg_t sc;
        ota_flash_sim_t *sim;
        ota_flash_t flash;
        ota_config_t cfg;
        static ota_ctx_t ctx;
        static ota_check_t chk;
        ota_pull_opts_t o;
        ota_pull_stats_t st;
        ota_boot_result_t br;
        ota_w5500_stats_t w0, w1;
        double t0, t1, t2, f0, f1, f2, pure, pure_e, pure_p, t3, f3;
        uint32_t sectors;
        int rc;

        memset(&sc, 0, sizeof sc);
        sc.size = 4096 * KB;
        sc.n_runs = 1;
        sc.runs = runs;
        sc.write_size = 8;
        sc.erased_val = 0xff;
        sc.erase_us_per_4k = ERASE_US_4K;
        sc.program_us_per_256 = PROG_US_256;
        sc.realtime = 0;
        if (ota_flash_sim_open(&sc, &sim) != OTA_OK)
            return 1;
        ota_flash_sim_bind(sim, &flash);
        memset(&cfg, 0, sizeof cfg);
        cfg.flash = &flash;
        cfg.layout = l;
        cfg.keys = &key;
        cfg.n_keys = 1;
        cfg.product = product;
        if ((rc = ota_init(&ctx, &cfg)) != OTA_OK) {
            fprintf(stderr, "agent_bench: ota_init: %s\n", ota_errname(rc));
            return 1;
        }
        ota_flash_sim_reset_counters(sim);

        t0 = now_s();
        f0 = sim_s(sim);
        rc = ota_check_request(&http, server, token, version, ota_running_slot(&ctx), 0, buf, sizeof buf, &chk);
        if (rc != OTA_OK || !chk.has_update) {
            fprintf(stderr, "agent_bench: check: %s has_update %u\n", ota_errname(rc), chk.has_update);
            return 1;
        }
        t1 = now_s();
        f1 = sim_s(sim);
        w0 = w5500.stats;
        memset(&o, 0, sizeof o);
        o.token = token;
        o.size = chk.size;
        o.sha256 = chk.sha256;
        rc = ota_pull_image(&ctx, &http, chk.url, &o, &st);
        t2 = now_s();
        f2 = sim_s(sim);
        w1 = w5500.stats;
        if (rc != OTA_OK) {
            fprintf(stderr, "agent_bench: pull: %s\n", ota_errname(rc));
            return 1;
        }
        /* pure flash: erase the sectors the image covers and program its bytes, nothing else */
        sectors = (chk.size + 4 * KB - 1) / (4 * KB);
        pure_e = sectors * (double)ERASE_US_4K / 1e6;
        pure_p = ((chk.size + 255) / 256) * (double)PROG_US_256 / 1e6;
        pure = pure_e + pure_p;

        printf("\n== layout %s (%s): image %" PRIu32 " B (%.3f MiB), %" PRIu32 " request(s), %" PRIu32
               " byte(s) written\n",
               l->name, l->strategy == OTA_STRATEGY_AB ? "A/B" : "swap with 4 KiB scratch", chk.size,
               chk.size / 1048576.0, st.requests, st.bytes);
        printf("  pure flash time of the image         erase %u x 4 KiB %.3f s + program %.3f s = %.3f s\n",
               (unsigned)sectors, pure_e, pure_p, pure);
        line("check (GET /device/check)", t1 - t0, f1 - f0, 0);
        line("pull (download+write+verify)", t2 - t1, f2 - f1, pure);
        line("check + pull (agent, end to end)", t2 - t0, f2 - f0, pure);
        if (emu) {
            uint64_t spi_b = w1.spi_bytes - w0.spi_bytes, pay = w1.bytes_received - w0.bytes_received;
            double spi_s = (double)spi_b * 8 / SPI_HZ;
            printf("  W5500 pull: %" PRIu64 " SPI bytes for %" PRIu64 " payload bytes = %.4f SPI bytes per payload "
                   "byte, %" PRIu64 " frames\n", spi_b, pay, (double)spi_b / (double)pay, (uint64_t)(w1.frames - w0.frames));
            printf("  pull at 20 MHz SPI (modelled)        SPI %7.3f s + flash %7.3f s = %7.3f s   ratio to pure flash "
                   "%.3f\n", spi_s, f2 - f1, spi_s + f2 - f1, (spi_s + f2 - f1) / pure);
        }

        /* bootloader install step: the next boot tests the new image */
        if ((rc = ota_init(&ctx, &cfg)) != OTA_OK)
            return 1;
        t3 = now_s();
        f3 = sim_s(sim);
        rc = ota_boot(&ctx, &br);
        if (rc != OTA_OK) {
            fprintf(stderr, "agent_bench: boot: %s\n", ota_errname(rc));
            return 1;
        }
        printf("  boot: slot %u state %s swapped %u\n", br.slot, ota_state_name(br.state), br.swapped);
        line(l->strategy == OTA_STRATEGY_AB ? "install (ota_boot: verify only)" : "install (ota_boot: swap+verify)",
             now_s() - t3, sim_s(sim) - f3, 0);
        line("update total (check+pull+install)", now_s() - t0, sim_s(sim) - f0, pure);
        {
            ota_flash_sim_stats_t fs;
            ota_flash_sim_stats(sim, &fs);
            printf("  flash ops: %" PRIu64 " erases, %" PRIu64 " programs, %" PRIu64 " KiB programmed\n", fs.erases,
                   fs.writes, fs.bytes_programmed / 1024);
        }
        ota_flash_sim_close(sim);
    }
    ota_http_close(&http);
    if (emu) {
        if (w5500_emu_violations(emu, NULL))
            w5500_emu_report(emu, stderr);
        printf("W5500 emulator violations: %u\n", w5500_emu_violations(emu, NULL));
        w5500_emu_free(emu);
    }
    free(der);
    return 0;
}
