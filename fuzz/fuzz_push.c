/*
 * libFuzzer target for the device's push server (device/net/push.c): each input is what a client
 * sends on one connection (see fuzz_net.h for the layout), served by ota_push_serve() on a device
 * with a RAM flash (the swap-256k preset) and a fresh boot state. The bearer token is "t0k3n" and
 * the Basic credentials "admin:s3cret", so inputs that carry them reach the handlers: the raw and
 * multipart uploads into ota_write(), commit, rollback, status. Besides ASan and UBSan, it checks
 * that a 401 never touched the flash and that the server stays within the transport's contract.
 *
 * Build and run as fuzz_verify.c's header says; the ctest smoke run is fuzz_push_smoke (seeds in
 * fuzz/corpus/push/: requests for every endpoint, with and without credentials).
 *   cd build-fuzz/fuzz && ./fuzz_push -max_len=4096 -max_total_time=600 corpus-push seed-corpus-push
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_flash.h"
#include "fuzz_net.h"
#include "otakit/ota.h"
#include "otakit/presets.h"
#include "otakit/push.h"

/* The update page's hooks (otakit/update_page.h): a fixed catalog, a start that takes any name the
 * page decoded (which must be one printable path segment), a progress with text to escape. */
static int page_catalog(void *ctx, char *buf, size_t cap)
{
    static const char list[] = "[{\"name\":\"fw-2.0.0.bin\",\"type\":\"file\"}]";
    (void)ctx;
    FZ_CHECK(cap > sizeof list);
    memcpy(buf, list, sizeof list);
    return (int)sizeof list - 1;
}

static int page_start(void *ctx, const char *name)
{
    const char *p;
    (void)ctx;
    FZ_CHECK(*name);
    for (p = name; *p; p++)
        FZ_CHECK((unsigned char)*p > 0x20 && *p != 0x7f && *p != '/' && *p != '\\' && *p != '"');
    return name[0] == 'x' ? OTA_ERR_STATE : OTA_OK;
}

static void page_progress(void *ctx, ota_page_progress_t *p)
{
    (void)ctx;
    p->state = OTA_PAGE_FAILED;
    p->error = OTA_ERR_HASH;
    p->running = "1.0.0+0";
    p->name = "a \"quoted\\ name";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char page_buf[256];
    static const ota_push_page_t page = {page_catalog, page_start, page_progress, NULL, page_buf, sizeof page_buf};
    static ota_ctx_t ctx;
    ota_flash_t flash;
    ota_pubkey_t pk;
    ota_config_t cfg;
    ota_push_cfg_t pc;
    ota_push_result_t res;
    fz_net_t f;
    ota_net_t net;
    int rc;

    if (fz_net_init(&f, &net, data, size) < 0)
        return 0;
    fz_flash_setup(&ctx, &flash, &cfg, &pk);

    memset(&pc, 0, sizeof pc);
    pc.platform = &f.plat;
    pc.token = "t0k3n";
    pc.basic_b64 = "YWRtaW46czNjcmV0";
    pc.page = &page;
    f.open = 1; /* the connection the port accepted */
    rc = ota_push_serve(&ctx, &net, FZ_HANDLE, &pc, &res);
    FZ_CHECK(f.open && f.connects == 0); /* the caller's connection: not closed, none opened */
    FZ_CHECK(rc <= 0);
    if (rc == OTA_OK)
        FZ_CHECK(res.status >= 200 && res.status <= 599);
    if (res.status == 401)
        FZ_CHECK(fz_changes == 0 && !res.reboot); /* unauthenticated: nothing changed */
    return 0;
}
