/*
 * Pulling from servers of other OTA protocols (shared/reference/protocols.md): the Mongoose pull
 * metadata JSON (section 2) and the ESP8266/ESP32 Arduino HTTP update protocol (section 4). Their
 * images still go through ota_end(), which verifies the otakit signature from flash: these
 * protocols only decide where the bytes come from. See otakit/agent.h.
 */
#include <string.h>

#include "otakit/agent.h"
#include "otakit/bytes.h"

#include "json.h"
#include "core/buf.h"
#include "core/text.h"
#include "crypto/crypto.h"

/* ---- Mongoose pull metadata --------------------------------------------------------------- */

int ota_mongoose_parse(const char *json, size_t len, const char *running_version, ota_mongoose_t *out)
{
    enum { F_VERSION = 1, F_URL = 2, F_SIZE = 4 };
    ota_json_t j;
    const char *k;
    size_t kl;
    int n = 0, rc, have = 0;
    if (!json || !out)
        return OTA_ERR_ARG;
    memset(out, 0, sizeof *out);
    ota_json_init(&j, json, len);
    if (ota_json_enter(&j, '{'))
        return OTA_ERR_JSON;
    while ((rc = ota_json_member(&j, &n, &k, &kl)) == 1) {
        if (ota_json_key_is(k, kl, "version")) {
            rc = ota_json_string(&j, out->version, sizeof out->version);
            have |= F_VERSION;
        } else if (ota_json_key_is(k, kl, "url")) {
            rc = ota_json_string(&j, out->url, sizeof out->url);
            have |= F_URL;
        } else if (ota_json_key_is(k, kl, "size")) {
            rc = ota_json_u32(&j, &out->size);
            have |= F_SIZE;
        } else {
            rc = ota_json_skip(&j);
        }
        if (rc < 0)
            return rc;
    }
    if (rc < 0 || ota_json_finish(&j) || (have & (F_VERSION | F_URL)) != (F_VERSION | F_URL))
        return OTA_ERR_JSON;
    if (!out->url[0])
        return OTA_OK; /* nothing offered */
    if (!(have & F_SIZE) || !out->size)
        return OTA_ERR_JSON; /* an offer must say how large the download is */
    out->has_update = (uint8_t)(!running_version || strcmp(out->version, running_version) != 0);
    return OTA_OK;
}

int ota_mongoose_check(ota_http_t *http, const char *meta_url, const char *running_version, char *buf, size_t cap,
                       ota_mongoose_t *out)
{
    ota_url_t url;
    size_t len;
    int rc;
    if (!http || !meta_url || !buf || !out)
        return OTA_ERR_ARG;
    if ((rc = ota_url_parse(meta_url, &url)) != OTA_OK)
        return rc;
    if ((rc = ota_http_get_all(http, &url, NULL, buf, cap, &len)) != OTA_OK)
        return rc;
    return ota_mongoose_parse(buf, len, running_version, out);
}

/* ---- ESP8266 / ESP32 HTTP update ---------------------------------------------------------- */

#define ESP_HEADERS_MAX 512u

/* "<prefix><name>: <value>\r\n" */
static void header(ota_buf_t *w, const char *prefix, const char *name, const char *value)
{
    ota_buf_put(w, prefix);
    ota_buf_put(w, name);
    ota_buf_put(w, ": ");
    ota_buf_put(w, value);
    ota_buf_put(w, "\r\n");
}

static void header_u32(ota_buf_t *w, const char *prefix, const char *name, uint32_t v)
{
    char t[11];
    header(w, prefix, name, ota_u32_str(t, v));
}

typedef struct {
    ota_ctx_t *ctx;
    const ota_esp_info_t *info;
    ota_md5_t md5;
    uint32_t bytes, total;
    int sink_err;
} esp_t;

static int esp_sink(void *arg, const uint8_t *data, size_t len)
{
    esp_t *e = (esp_t *)arg;
    int rc;
    if ((rc = ota_write(e->ctx, data, (uint32_t)len)) != OTA_OK)
        return e->sink_err = rc;
    ota_md5_update(&e->md5, data, (uint32_t)len);
    e->bytes += (uint32_t)len;
    if (e->info->progress)
        e->info->progress(e->info->progress_arg, e->bytes, e->total);
    return OTA_OK;
}

static int esp_fail(ota_pull_stats_t *st, int rc)
{
    st->failures++;
    st->last_error = rc;
    return rc;
}

int ota_esp_update(ota_ctx_t *ctx, ota_http_t *http, const char *url, const ota_esp_info_t *info,
                   ota_pull_stats_t *stats)
{
    char hdrs[ESP_HEADERS_MAX], got_hex[33];
    const char *prefix, *ua_saved;
    ota_pull_stats_t local, *st = stats ? stats : &local;
    ota_http_req_t req;
    ota_http_resp_t r;
    ota_url_t u;
    uint32_t slot_size;
    uint8_t got[16];
    ota_buf_t w;
    esp_t e;
    int rc;

    memset(st, 0, sizeof *st);
    if (!ctx || !http || !url || !info || !info->sta_mac || !ota_printable(info->sta_mac, 17) ||
        (info->ap_mac && !ota_printable(info->ap_mac, 17)) || (info->version && !ota_printable(info->version, 64)) ||
        (info->sketch_md5 && !ota_printable(info->sketch_md5, 32)) ||
        (info->sdk_version && !ota_printable(info->sdk_version, 32)))
        return OTA_ERR_ARG;
    if ((rc = ota_url_parse(url, &u)) != OTA_OK)
        return rc;
    slot_size = ctx->cfg.layout->slot[ota_running_slot(ctx) ? 0 : 1].size;
    prefix = info->esp32 ? "x-ESP32-" : "x-ESP8266-";
    hdrs[0] = 0;
    ota_buf_text(&w, hdrs, sizeof hdrs);
    if (info->esp32)
        ota_buf_put(&w, "Cache-Control: no-cache\r\n");
    else
        header_u32(&w, prefix, "Chip-ID", info->chip_id);
    header(&w, prefix, "STA-MAC", info->sta_mac);
    header(&w, prefix, "AP-MAC", info->ap_mac ? info->ap_mac : info->sta_mac);
    header_u32(&w, prefix, "free-space", info->free_space ? info->free_space : slot_size);
    header_u32(&w, prefix, "sketch-size", info->sketch_size);
    header(&w, prefix, "sketch-md5", info->sketch_md5 ? info->sketch_md5 : "00000000000000000000000000000000");
    header_u32(&w, prefix, "chip-size", info->chip_size ? info->chip_size : 2u * slot_size);
    header(&w, prefix, "sdk-version", info->sdk_version ? info->sdk_version : "otakit");
    header(&w, prefix, "mode", "sketch");
    if (info->version)
        header(&w, prefix, "version", info->version);
    if (w.full)
        return OTA_ERR_NO_SPACE;

    memset(&req, 0, sizeof req);
    req.extra_headers = hdrs;
    ua_saved = http->cfg.user_agent;
    http->cfg.user_agent = info->esp32 ? "ESP32-http-Update" : "ESP8266-http-Update";
    st->requests++;
    rc = ota_http_request(http, &u, &req, &r);
    http->cfg.user_agent = ua_saved;
    if (rc != OTA_OK)
        return esp_fail(st, rc);
    if (r.status == 304) {
        ota_http_close(http);
        return OTA_ESP_NO_UPDATE;
    }
    if (r.status != 200) {
        ota_http_close(http);
        return esp_fail(st, OTA_ERR_HTTP_STATUS);
    }
    /* Whole image in one answer: a known length, no chunking (the protocol's own client rule), and
     * an x-MD5 that is exactly 32 hex digits when present. */
    if (r.chunked || !r.has_length || r.length == 0 || (r.has_md5 && !r.md5[0]) ||
        (info->require_md5 && !r.has_md5)) {
        ota_http_close(http);
        return esp_fail(st, OTA_ERR_HTTP);
    }
    if ((rc = ota_begin(ctx, r.length)) != OTA_OK) {
        ota_http_close(http);
        return esp_fail(st, rc);
    }
    memset(&e, 0, sizeof e);
    e.ctx = ctx;
    e.info = info;
    e.total = r.length;
    ota_md5_start(&e.md5);
    rc = ota_http_body(http, esp_sink, &e);
    ota_md5_finish(&e.md5, got);
    st->bytes = e.bytes;
    if (rc == OTA_OK && e.bytes != r.length)
        rc = OTA_ERR_NET; /* cannot happen with Content-Length framing; kept as a guard */
    if (rc == OTA_OK && r.has_md5 && memcmp(ota_hex_encode(got, 16, got_hex), r.md5, 32) != 0)
        rc = OTA_ERR_HASH;
    if (rc == OTA_OK)
        rc = ota_end(ctx);
    if (rc != OTA_OK) {
        ota_http_close(http);
        ota_abort(ctx); /* no resume in this protocol: the next attempt starts over */
        return esp_fail(st, rc);
    }
    return OTA_OK;
}
