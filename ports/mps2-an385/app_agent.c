/*
 * The application's update protocol, in one file so that another agent loop can replace it:
 * GET /api/v1/device/check on otakit-server (ota_check_request), then ota_pull_image (Range
 * resume across dropped connections and resets, SHA-256 of the bytes, signature from flash by
 * ota_end), then a reset into the bootloader, which swaps the new image in and boots it on trial.
 */
#include <string.h>

#include "app.h"

#define POLL_MS 2000u

static char check_buf[2048];
static ota_check_t chk;

static void http_start(app_t *a)
{
    static uint8_t ready;
    ota_http_cfg_t cfg;
    if (ready)
        return;
    if (board_arg("server", a->server, sizeof a->server) != 0)
        strcpy(a->server, "http://10.0.2.100");
    if (board_arg("token", a->token, sizeof a->token) != 0)
        a->token[0] = 0;
    {
        char once[4];
        a->once = board_arg("once", once, sizeof once) == 0 && once[0] == '1';
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.tcp = &a->tcp;
    cfg.platform = &board_platform;
    (void)ota_http_init(&a->http, &cfg);
    ready = 1;
}

static int check(app_t *a)
{
    char ver[24];
    int rc;
    http_start(a);
    (void)ota_version_format(&a->running, ver, sizeof ver);
    rc = ota_check_request(&a->http, a->server, a->token[0] ? a->token : NULL, ver, ota_running_slot(a->ota),
                           a->ota->rec.security_counter, check_buf, sizeof check_buf, &chk);
    if (rc != OTA_OK)
        board_log("agent: check failed: ", ota_strerror(rc), NULL, NULL);
    return rc;
}

int app_agent_selftest(app_t *a)
{
    return check(a);
}

static void progress(void *arg, uint32_t done, uint32_t total)
{
    uint32_t *next = arg;
    if (done == 0)
        *next = 0;
    if (total && done * 4u >= *next * total) { /* every quarter */
        board_puts("agent: downloaded ");
        board_put_u32(done);
        board_puts(" of ");
        board_put_u32(total);
        board_puts("\n");
        while (*next * total <= done * 4u)
            (*next)++;
    }
}

void app_agent_run(app_t *a)
{
    ota_pull_opts_t o;
    ota_pull_stats_t st;
    uint32_t next = 0, t0;
    int rc;

    board_idle_hook = app_net_poll;
    for (;;) {
        if ((rc = check(a)) == OTA_OK && chk.has_update) {
            board_puts("agent: update ");
            board_puts(chk.version);
            board_puts(" offered, ");
            board_put_u32(chk.size);
            board_log(" bytes from ", chk.url, NULL, NULL);
            memset(&o, 0, sizeof o);
            o.token = a->token[0] ? a->token : NULL;
            o.size = chk.size;
            o.sha256 = chk.sha256;
            o.retry_delay_ms = 500;
            o.progress = progress;
            o.progress_arg = &next;
            t0 = board_now_ms();
            rc = ota_pull_image(a->ota, &a->http, chk.url, &o, &st);
            if (rc == OTA_OK) {
                board_puts("agent: image verified and pending: ");
                board_put_u32(st.bytes);
                board_puts(" bytes in ");
                board_put_u32(board_now_ms() - t0);
                board_puts(" ms");
                if (st.reset_offset) {
                    board_puts(", resumed at ");
                    board_put_u32(st.reset_offset);
                }
                board_puts("\n");
                board_reset("installing the update");
            }
            board_log("agent: pull failed: ", ota_strerror(rc), NULL, NULL);
        } else if (rc == OTA_OK) {
            board_log("agent: up to date", NULL, NULL, NULL);
            if (a->once)
                return;
        }
        board_sleep_ms(POLL_MS);
    }
}
