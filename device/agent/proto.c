/*
 * The device API's requests besides the check (see otakit/agent_loop.h and server/api_device.c):
 * register, report, command ack. Bodies are built with the JSON writer, answers read with the
 * JSON reader (json.h); nothing is formatted with printf.
 */
#include <string.h>

#include "otakit/agent_loop.h"

#include "api.h"
#include "json.h"
#include "jsonw.h"

int ota_api_url(const char *server_url, ota_url_t *url, ota_buf_t *w)
{
    size_t i;
    if (!server_url || ota_url_parse(server_url, url) != OTA_OK)
        return OTA_ERR_URL;
    for (i = 0; url->path[i]; i++)
        if (url->path[i] == '?')
            return OTA_ERR_URL;
    ota_buf_text(w, url->path, sizeof url->path);
    while (w->n && url->path[w->n - 1] == '/') /* "https://host/" and "https://host/prefix/" */
        url->path[--w->n] = 0;
    return OTA_OK;
}

static int discard(void *arg, const uint8_t *data, size_t len)
{
    (void)arg, (void)data, (void)len;
    return 0;
}

/* POSTs body (len bytes) to {server}{path}{id}; the answer goes to out (cap bytes, NUL added) or,
 * out NULL, is read and dropped. Returns OTA_OK on 2xx, else OTA_ERR_HTTP_STATUS or the client's
 * errors; *status gets the HTTP status (0 when none came). The connection is closed after. */
static int post(ota_http_t *http, const char *server, const char *path, uint32_t id, const char *token,
                const char *body, int len, char *out, size_t cap, size_t *out_len, int *status)
{
    ota_url_t url;
    ota_buf_t w;
    ota_http_req_t rq;
    ota_http_resp_t rs;
    int rc;
    *status = 0;
    if (len < 0)
        return len;
    if ((rc = ota_api_url(server, &url, &w)) != OTA_OK)
        return rc;
    ota_buf_put(&w, path);
    if (id)
        ota_buf_put_u32(&w, id);
    if (w.full)
        return OTA_ERR_URL;
    memset(&rq, 0, sizeof rq);
    rq.method = "POST";
    rq.token = token;
    rq.body = body;
    rq.body_len = (uint32_t)len;
    if ((rc = ota_http_request(http, &url, &rq, &rs)) == OTA_OK) {
        *status = rs.status;
        rc = out ? ota_http_read_all(http, out, cap, out_len) : ota_http_body(http, discard, NULL);
        if (rc == OTA_OK && (rs.status < 200 || rs.status > 299))
            rc = OTA_ERR_HTTP_STATUS;
    }
    ota_http_close(http);
    return rc;
}

/* The device token of a register answer {"device_id","device_token","poll_interval"}. */
static int parse_token(const char *json, size_t len, char *token, size_t cap)
{
    ota_json_t j;
    const char *k;
    size_t kl;
    int n = 0, rc, found = 0;
    ota_json_init(&j, json, len);
    if (ota_json_enter(&j, '{'))
        return OTA_ERR_JSON;
    while ((rc = ota_json_member(&j, &n, &k, &kl)) == 1) {
        if (ota_json_key_is(k, kl, "device_token")) {
            if ((rc = ota_json_string(&j, token, cap)) < 0)
                return rc;
            found = rc > 0;
        } else if (ota_json_skip(&j)) {
            return OTA_ERR_JSON;
        }
    }
    if (rc < 0 || ota_json_finish(&j) || !found)
        return OTA_ERR_JSON;
    return OTA_OK;
}

int ota_agent_register(ota_http_t *http, const char *server_url, const char *enroll_token, const char *device_id,
                       const char *hw_rev, const char *version, unsigned slot, uint32_t security_counter,
                       char *token, size_t cap, char *buf, size_t buf_cap, int *status)
{
    size_t len = 0;
    ota_jw_t w;
    int rc, st;
    if (!http || !enroll_token || !device_id || !hw_rev || !version || !token || !cap || !buf || slot > 1)
        return OTA_ERR_ARG;
    ota_jw_begin(&w, buf, buf_cap);
    ota_jw_str(&w, "device_id", device_id);
    ota_jw_str(&w, "hw_rev", hw_rev);
    ota_jw_str(&w, "version", version);
    ota_jw_u32(&w, "slot", slot);
    ota_jw_u32(&w, "security_counter", security_counter);
    /* the answer overwrites the body: the request is sent whole before it is read */
    rc = post(http, server_url, "/api/v1/device/register", 0, enroll_token, buf, ota_jw_end(&w), buf, buf_cap, &len,
              &st);
    if (status)
        *status = st;
    if (rc == OTA_OK && st != 201)
        rc = OTA_ERR_HTTP_STATUS;
    return rc == OTA_OK ? parse_token(buf, len, token, cap) : rc;
}

int ota_agent_report(ota_http_t *http, const char *server_url, const char *token, uint32_t action_id,
                     const char *status_text, const char *version, int progress, const char *message, char *body,
                     size_t body_cap, int *status)
{
    ota_jw_t w;
    int st, rc;
    if (!http || !token || !action_id || !status_text || !body)
        return OTA_ERR_ARG;
    ota_jw_begin(&w, body, body_cap);
    ota_jw_u32(&w, "action_id", action_id);
    ota_jw_str(&w, "status", status_text);
    ota_jw_str(&w, "version", version && *version ? version : NULL);
    if (progress >= 0)
        ota_jw_u32(&w, "progress", (uint32_t)(progress > 100 ? 100 : progress));
    ota_jw_str(&w, "message", message && *message ? message : NULL);
    rc = post(http, server_url, "/api/v1/device/report", 0, token, body, ota_jw_end(&w), NULL, 0, NULL, &st);
    if (status)
        *status = st;
    return rc;
}

int ota_agent_ack(ota_http_t *http, const char *server_url, const char *token, uint32_t command_id,
                  const char *status_text, const char *message, char *body, size_t body_cap, int *status)
{
    ota_jw_t w;
    int st, rc;
    if (!http || !token || !command_id || !status_text || !body)
        return OTA_ERR_ARG;
    ota_jw_begin(&w, body, body_cap);
    ota_jw_str(&w, "status", status_text);
    ota_jw_str(&w, "message", message && *message ? message : NULL);
    rc = post(http, server_url, "/api/v1/device/commands/", command_id, token, body, ota_jw_end(&w), NULL, 0, NULL,
              &st);
    if (status)
        *status = st;
    return rc;
}
