/*
 * The application's update protocol, in one file so that another agent loop can replace it:
 * GET /api/v1/device/check on otakit-server (ota_check_request), then ota_pull_image (Range
 * resume across dropped connections and resets, SHA-256 of the bytes, signature from flash by
 * ota_end), then a reset into the bootloader, which swaps the new image in and boots it on trial.
 *
 * Reports (POST /api/v1/device/report) move the server's action forward. The device keeps no
 * state of its own for them: the server offers the in-flight action until it is final, and the
 * device tells what became of it from the journal and the slots. Offered the version it runs: the
 * update was installed and confirmed. Offered the version that lies in slot 1 while the journal
 * says FAILED: the bootloader rolled it back.
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

/* POST /api/v1/device/report {"action_id","status","version"}; the answer is read and dropped. */
static void report(app_t *a, uint32_t action, const char *status, const char *msg)
{
    char body[192], url[96], num[12], out[256], ver[24];
    ota_http_req_t rq;
    ota_http_resp_t rs;
    ota_url_t u;
    size_t n;
    int i = 11, rc;
    num[i] = 0;
    do {
        num[--i] = (char)('0' + action % 10u);
        action /= 10u;
    } while (action);
    (void)ota_version_format(&a->running, ver, sizeof ver);
    body[0] = url[0] = 0;
    strcat(strcat(strcat(strcat(strcat(body, "{\"action_id\":"), num + i), ",\"status\":\""), status), "\",\"version\":\"");
    strcat(strcat(strcat(strcat(body, ver), "\",\"message\":\""), msg), "\"}");
    strcat(strcat(url, a->server), "/api/v1/device/report");
    memset(&rq, 0, sizeof rq);
    rq.method = "POST";
    rq.token = a->token[0] ? a->token : NULL;
    rq.body = body;
    rq.body_len = (uint32_t)strlen(body);
    if ((rc = ota_url_parse(url, &u)) == OTA_OK && (rc = ota_http_request(&a->http, &u, &rq, &rs)) == OTA_OK)
        rc = ota_http_read_all(&a->http, out, sizeof out, &n);
    ota_http_close(&a->http);
    board_log("agent: report ", status, rc == OTA_OK && rs.status == 200 ? "" : " (not accepted)", NULL);
}

/* The version in the header of the image in slot (0 when empty). */
static void slot_version(app_t *a, unsigned slot, ota_version_t *v)
{
    uint8_t raw[OTA_IMAGE_HEADER_SIZE];
    ota_image_header_t h;
    memset(v, 0, sizeof *v);
    if (ota_flash_read(a->ota->cfg.flash, a->ota->cfg.layout->slot[slot].off, raw, sizeof raw) == OTA_OK &&
        ota_image_header_decode(raw, &h) == OTA_OK)
        *v = h.version;
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
        ota_version_t offered, failed;
        if ((rc = check(a)) == OTA_OK && chk.has_update && ota_version_parse(chk.version, &offered) == OTA_OK &&
            ota_version_cmp(&offered, &a->running) == 0) {
            /* We are the update the server has in flight: we booted and confirmed ourselves. One
             * report, from whatever status it had: "installing" or "installed" first would hide the
             * action from the next check if the power went off between them. */
            report(a, chk.action_id, "confirmed", "self-test passed");
            continue;
        }
        slot_version(a, 1, &failed);
        if (rc == OTA_OK && chk.has_update && a->ota->rec.state == OTA_STATE_FAILED &&
            ota_version_cmp(&offered, &failed) == 0) {
            board_log("agent: ", chk.version, " was rolled back here; not taking it again", NULL);
            report(a, chk.action_id, "downloaded", ""); /* if a power cut came before it did */
            report(a, chk.action_id, "rolled_back", "the bootloader rolled it back");
            continue;
        }
        if (rc == OTA_OK && chk.has_update) {
            report(a, chk.action_id, "downloading", "");
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
                report(a, chk.action_id, "downloaded", "");
                board_reset("installing the update");
            }
            board_log("agent: pull failed: ", ota_strerror(rc), NULL, NULL);
            if (rc != OTA_ERR_NET && rc != OTA_ERR_TIMEOUT)
                report(a, chk.action_id, "failed", ota_strerror(rc));
        } else if (rc == OTA_OK) {
            board_log("agent: up to date", NULL, NULL, NULL);
            if (a->once)
                return;
        }
        board_sleep_ms(POLL_MS);
    }
}
