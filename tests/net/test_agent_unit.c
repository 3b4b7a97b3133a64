/*
 * Unit tests of the agent's pieces that need no server (cmocka): the JSON writer (escaping, the
 * bounded buffer, what the reader makes of its output), the flash settings (save/load, both
 * sectors, refused areas), and the agent's retry schedule against a network that is down:
 * exponential, jittered within [d/2, d], capped, and started over after a success.
 * The agent against a real otakit-server is tests/sim/test_agent.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "jsonw.h"
#include "otakit/agent_loop.h"
#include "otakit/flash_sim.h"
#include "otakit/settings.h"

static void test_writer(void **state)
{
    char buf[128], out[64];
    ota_jw_t w;
    ota_json_t j;
    const char *k;
    size_t kl;
    int n = 0, len;
    uint32_t v;
    (void)state;
    ota_jw_begin(&w, buf, sizeof buf);
    ota_jw_str(&w, "status", "fai\"l\\ed\n\x01");
    ota_jw_u32(&w, "action_id", 4294967295u);
    ota_jw_bool(&w, "ok", 1);
    ota_jw_str(&w, "absent", NULL);
    len = ota_jw_end(&w);
    assert_string_equal(buf, "{\"status\":\"fai\\\"l\\\\ed\\n\\u0001\",\"action_id\":4294967295,\"ok\":true}");
    assert_int_equal(len, (int)strlen(buf));
    /* the reader gets back what was written */
    ota_json_init(&j, buf, strlen(buf));
    assert_int_equal(ota_json_enter(&j, '{'), 0);
    assert_int_equal(ota_json_member(&j, &n, &k, &kl), 1);
    assert_int_equal(ota_json_string(&j, out, sizeof out), 10);
    assert_memory_equal(out, "fai\"l\\ed\n\x01", 11);
    assert_int_equal(ota_json_member(&j, &n, &k, &kl), 1);
    assert_int_equal(ota_json_u32(&j, &v), 0);
    assert_int_equal(v, 4294967295u);
    assert_int_equal(ota_json_member(&j, &n, &k, &kl), 1);
    assert_int_equal(ota_json_skip(&j), 0);
    assert_int_equal(ota_json_member(&j, &n, &k, &kl), 0);
    assert_int_equal(ota_json_finish(&j), 0);
}

static void test_writer_bounds(void **state)
{
    char buf[32];
    ota_jw_t w;
    size_t cap;
    (void)state;
    /* every capacity: either the whole object or OTA_ERR_NO_SPACE, never a byte past cap */
    for (cap = 1; cap <= sizeof buf; cap++) {
        int rc;
        memset(buf, 'X', sizeof buf);
        ota_jw_begin(&w, buf, cap);
        ota_jw_str(&w, "a", "b\"c");
        ota_jw_u32(&w, "n", 12345);
        rc = ota_jw_end(&w);
        if (cap > 22) {
            assert_int_equal(rc, 22);
            assert_string_equal(buf, "{\"a\":\"b\\\"c\",\"n\":12345}");
        } else {
            assert_int_equal(rc, OTA_ERR_NO_SPACE);
        }
        if (cap < sizeof buf)
            assert_int_equal(buf[cap], 'X');
    }
    ota_jw_begin(&w, NULL, 0);
    ota_jw_u32(&w, "n", 1);
    assert_int_equal(ota_jw_end(&w), OTA_ERR_NO_SPACE);
}

static void test_settings_flash(void **state)
{
    static const ota_sector_run_t runs[] = {{4, 4096}};
    ota_flash_sim_cfg_t c;
    ota_flash_sim_t *sim;
    ota_flash_t f;
    ota_settings_flash_t sf;
    uint8_t big[OTA_SETTINGS_MAX + 1], got[OTA_SETTINGS_MAX];
    int i;
    (void)state;
    memset(&c, 0, sizeof c);
    c.size = 16384;
    c.n_runs = 1;
    c.runs = runs;
    c.write_size = 8;
    c.erased_val = 0xff;
    assert_int_equal(ota_flash_sim_open(&c, &sim), OTA_OK);
    ota_flash_sim_bind(sim, &f);
    assert_int_equal(ota_settings_flash_init(&sf, &f, 100, 8192), OTA_ERR_LAYOUT); /* not a sector start */
    assert_int_equal(ota_settings_flash_init(&sf, &f, 0, 4096), OTA_ERR_LAYOUT);   /* one sector only */
    assert_int_equal(ota_settings_flash_init(&sf, &f, 12288, 8192), OTA_ERR_LAYOUT); /* past the end */
    assert_int_equal(ota_settings_flash_init(&sf, &f, 4096, 8192), OTA_OK);
    assert_int_equal(sf.settings.load(sf.settings.ctx, got, sizeof got), 0); /* nothing saved yet */
    memset(big, 0x5a, sizeof big);
    assert_int_equal(sf.settings.save(sf.settings.ctx, big, sizeof big), OTA_ERR_ARG);
    for (i = 0; i < 5; i++) { /* alternates between the sectors, the newest always wins */
        big[0] = (uint8_t)i;
        assert_int_equal(sf.settings.save(sf.settings.ctx, big, 10u + (uint32_t)i), OTA_OK);
        assert_int_equal(sf.settings.load(sf.settings.ctx, got, sizeof got), 10 + i);
        assert_int_equal(got[0], i);
    }
    assert_int_equal(sf.settings.load(sf.settings.ctx, got, 5), OTA_ERR_NO_SPACE);
    /* outside its two sectors nothing was touched */
    assert_int_equal(ota_flash_is_erased(&f, 0, 4096), 1);
    assert_int_equal(ota_flash_is_erased(&f, 12288, 4096), 1);
    /* a corrupted newest record: the previous one comes back */
    ota_flash_sim_data(sim)[4096 + 20] ^= 1; /* save 4 (length 14) went to the first sector */
    assert_int_equal(sf.settings.load(sf.settings.ctx, got, sizeof got), 13);
    assert_int_equal(got[0], 3);
    ota_flash_sim_close(sim);
}

/* ---- the retry schedule ------------------------------------------------------------------------ */

struct ram {
    uint8_t data[OTA_SETTINGS_MAX];
    int len;
};

static int ram_load(void *ctx, void *buf, uint32_t cap)
{
    struct ram *r = ctx;
    if ((uint32_t)r->len > cap)
        return OTA_ERR_NO_SPACE;
    memcpy(buf, r->data, (size_t)r->len);
    return r->len;
}

static int ram_save(void *ctx, const void *buf, uint32_t len)
{
    struct ram *r = ctx;
    memcpy(r->data, buf, len);
    r->len = (int)len;
    return OTA_OK;
}

static int down(void *c, const char *h, uint16_t p, uint32_t t)
{
    (void)c, (void)h, (void)p, (void)t;
    return OTA_ERR_NET;
}

static int fixed_entropy(void *ctx, unsigned char *out, size_t len)
{
    memset(out, *(int *)ctx, len);
    return 0;
}

static void test_backoff(void **state)
{
    static const ota_net_ops_t ops = {down, NULL, NULL, NULL};
    static ota_agent_t a;
    ota_net_t net = {&ops, NULL};
    ota_http_cfg_t hc;
    ota_http_t http;
    ota_ctx_t ctx;
    ota_boot_result_t boot;
    struct ram ram;
    ota_settings_t st = {ram_load, ram_save, &ram};
    int seed = 7;
    ota_platform_ops_t plat;
    ota_agent_cfg_t ac;
    uint32_t w, d, seen[2][12];
    int run, k, differ = 0;
    (void)state;
    memset(&hc, 0, sizeof hc);
    hc.tcp = &net;
    ota_http_init(&http, &hc);
    memset(&ctx, 0, sizeof ctx);
    memset(&boot, 0, sizeof boot);
    boot.version.major = 1;
    memset(&plat, 0, sizeof plat);
    plat.entropy = fixed_entropy;
    plat.ctx = &seed;
    memset(&ac, 0, sizeof ac);
    ac.platform = &plat; /* a device whose network is down: every register attempt fails */
    ac.ota = &ctx;
    ac.boot = &boot;
    ac.settings = &st;
    ac.http = &http;
    ac.server_url = "http://127.0.0.1:1";
    ac.device_id = "unit";
    ac.enroll_token = "enroll";
    ac.hw_rev = "a";
    ac.retry_min_ms = 100;
    ac.retry_max_ms = 1000;
    assert_int_equal(ota_agent_init(NULL, &ac), OTA_ERR_ARG);
    ac.settings = NULL;
    assert_int_equal(ota_agent_init(&a, &ac), OTA_ERR_ARG);
    ac.settings = &st;
    for (run = 0; run < 2; run++) {
        ram.len = 0;
        seed = 7 + run; /* another device, another jitter */
        assert_int_equal(ota_agent_init(&a, &ac), OTA_OK);
        for (k = 0; k < 12; k++) {
            w = ota_agent_step(&a); /* register fails: the network is down */
            d = 100u << (k < 4 ? k : 4);
            if (d > 1000)
                d = 1000;
            assert_true(w >= d / 2 && w <= d);
            assert_int_equal(a.last_error, OTA_ERR_NET);
            seen[run][k] = w;
        }
        assert_int_equal(a.token[0], 0);
        assert_int_equal(ram.len, 0); /* nothing saved without a token */
    }
    for (k = 0; k < 12; k++)
        differ += seen[0][k] != seen[1][k];
    assert_true(differ >= 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer),
        cmocka_unit_test(test_writer_bounds),
        cmocka_unit_test(test_settings_flash),
        cmocka_unit_test(test_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
