/*
 * The check: GET /api/v1/device/check and its JSON answer (see server/api_devices.c), read with
 * the in-place JSON reader (json.h). See otakit/agent.h.
 */
#include <string.h>

#include "otakit/agent.h"

#include "api.h"
#include "json.h"
#include "core/buf.h"
#include "core/text.h"

#define KEY(lit) ota_json_key_is(k, kl, lit)

static int str_field(ota_json_t *j, char *out, size_t cap)
{
    int rc = ota_json_string(j, out, cap);
    return rc < 0 ? rc : 0;
}

/* A string or null (read as ""). */
static int opt_str_field(ota_json_t *j, char *out, size_t cap)
{
    if (ota_json_null(j)) {
        out[0] = 0;
        return 0;
    }
    return str_field(j, out, cap);
}

/* {"id","type","version","action_id","consent_required"} */
static int parse_command(ota_json_t *j, ota_command_t *c)
{
    const char *k;
    size_t kl;
    int n = 0, rc, has_id = 0, has_type = 0;
    memset(c, 0, sizeof *c);
    if (ota_json_enter(j, '{'))
        return OTA_ERR_JSON;
    while ((rc = ota_json_member(j, &n, &k, &kl)) == 1) {
        if (KEY("id")) {
            rc = ota_json_u32(j, &c->id);
            has_id = 1;
        } else if (KEY("type")) {
            rc = str_field(j, c->type, sizeof c->type);
            has_type = 1;
        } else if (KEY("action_id")) {
            rc = ota_json_null(j) ? 0 : ota_json_u32(j, &c->action_id);
        } else if (KEY("version")) {
            rc = opt_str_field(j, c->version, sizeof c->version);
        } else if (KEY("consent_required")) {
            rc = ota_json_bool(j, &c->consent_required);
        } else {
            rc = ota_json_skip(j);
        }
        if (rc)
            return rc;
    }
    if (rc < 0)
        return rc;
    return has_id && has_type ? OTA_OK : OTA_ERR_JSON;
}

/* "delta": {"url","size","sha256","base_sha256"}. */
static int parse_delta(ota_json_t *j, ota_check_t *o)
{
    const char *k;
    size_t kl;
    int n = 0, rc, have = 0;
    if (ota_json_null(j))
        return 0;
    if (ota_json_enter(j, '{'))
        return OTA_ERR_JSON;
    while ((rc = ota_json_member(j, &n, &k, &kl)) == 1) {
        if (KEY("url")) {
            rc = str_field(j, o->delta_url, sizeof o->delta_url);
            have |= 1;
        } else if (KEY("size")) {
            rc = ota_json_u32(j, &o->delta_size);
            have |= 2;
        } else if (KEY("sha256")) {
            rc = ota_json_sha256(j, o->delta_sha256);
            have |= 4;
        } else if (KEY("base_sha256")) {
            rc = ota_json_sha256(j, o->delta_base);
            have |= 8;
        } else {
            rc = ota_json_skip(j);
        }
        if (rc)
            return rc;
    }
    if (rc < 0 || have != 15)
        return OTA_ERR_JSON;
    o->has_delta = o->delta_size > 0;
    return 0;
}

/* The manifest: {"action_id","status","version","size","sha256","url","security_counter","slot",
 * "reboot", ...}. */
static int parse_update(ota_json_t *j, ota_check_t *o)
{
    enum { F_ACTION = 1, F_VERSION = 2, F_SIZE = 4, F_SHA = 8, F_URL = 16, F_ALL = 31 };
    const char *k;
    size_t kl;
    int n = 0, rc, have = 0;
    char reboot[16];
    if (ota_json_enter(j, '{'))
        return OTA_ERR_JSON;
    while ((rc = ota_json_member(j, &n, &k, &kl)) == 1) {
        uint32_t v;
        if (KEY("action_id")) {
            rc = ota_json_u32(j, &o->action_id);
            have |= F_ACTION;
        } else if (KEY("status")) {
            rc = str_field(j, o->status, sizeof o->status);
        } else if (KEY("version")) {
            rc = str_field(j, o->version, sizeof o->version);
            have |= F_VERSION;
        } else if (KEY("size")) {
            rc = ota_json_u32(j, &o->size);
            have |= F_SIZE;
        } else if (KEY("sha256")) {
            rc = ota_json_sha256(j, o->sha256);
            have |= F_SHA;
        } else if (KEY("url")) {
            rc = str_field(j, o->url, sizeof o->url);
            have |= F_URL;
        } else if (KEY("security_counter")) {
            rc = ota_json_u32(j, &o->security_counter);
        } else if (KEY("slot")) {
            if (ota_json_null(j)) {
                o->slot = -1;
                rc = 0;
            } else if ((rc = ota_json_u32(j, &v)) == 0) {
                if (v > 1)
                    return OTA_ERR_JSON;
                o->slot = (int8_t)v;
            }
        } else if (KEY("reboot")) {
            if ((rc = str_field(j, reboot, sizeof reboot)) == 0)
                o->reboot_on_command = strcmp(reboot, "on_command") == 0;
        } else if (KEY("delta")) {
            rc = parse_delta(j, o);
        } else {
            rc = ota_json_skip(j);
        }
        if (rc)
            return rc;
    }
    if (rc < 0)
        return rc;
    return have == F_ALL ? OTA_OK : OTA_ERR_JSON;
}

int ota_check_parse(const char *json, size_t len, ota_check_t *out)
{
    ota_json_t j;
    const char *k;
    size_t kl;
    int n = 0, rc, have_update = 0;
    if (!json || !out)
        return OTA_ERR_ARG;
    memset(out, 0, sizeof *out);
    out->slot = -1;
    ota_json_init(&j, json, len);
    if (ota_json_enter(&j, '{'))
        return OTA_ERR_JSON;
    while ((rc = ota_json_member(&j, &n, &k, &kl)) == 1) {
        if (KEY("update")) {
            have_update = 1;
            if (ota_json_null(&j)) {
                out->has_update = 0;
                rc = 0;
            } else {
                rc = parse_update(&j, out);
                out->has_update = rc == OTA_OK;
            }
        } else if (KEY("commands")) {
            int m = 0;
            out->n_commands = 0;
            if (ota_json_enter(&j, '['))
                return OTA_ERR_JSON;
            while ((rc = ota_json_element(&j, &m)) == 1) {
                if (out->n_commands >= OTA_CHECK_MAX_COMMANDS)
                    return OTA_ERR_NO_SPACE;
                if ((rc = parse_command(&j, &out->commands[out->n_commands])) != OTA_OK)
                    return rc;
                out->n_commands++;
            }
        } else if (KEY("poll_interval")) {
            rc = ota_json_u32(&j, &out->poll_interval);
        } else {
            rc = ota_json_skip(&j);
        }
        if (rc)
            return rc;
    }
    if (rc < 0 || ota_json_finish(&j))
        return OTA_ERR_JSON;
    return have_update ? OTA_OK : OTA_ERR_JSON;
}

/* ---- the request -------------------------------------------------------------------------- */

/* Appends s percent-encoded as a query value (RFC 3986: unreserved characters stay as they are). */
static void add_encoded(ota_buf_t *w, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[3];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
            ch == '.' || ch == '_' || ch == '~') {
            ota_buf_put_n(w, (const char *)s, 1);
        } else {
            esc[0] = '%';
            esc[1] = hex[ch >> 4];
            esc[2] = hex[ch & 15];
            ota_buf_put_n(w, esc, 3);
        }
    }
}

static int check_request(ota_http_t *http, const char *server_url, const char *token, const char *version,
                         unsigned slot, uint32_t security_counter, char *buf, size_t cap, ota_check_t *out, int delta,
                         unsigned wait_s)
{
    ota_url_t url;
    ota_buf_t w;
    size_t len;
    int rc;
    if (!http || !version || !buf || !out || slot > 1)
        return OTA_ERR_ARG;
    if ((rc = ota_api_url(server_url, &url, &w)) != OTA_OK)
        return rc;
    ota_buf_put(&w, "/api/v1/device/check?version=");
    add_encoded(&w, version);
    ota_buf_put(&w, "&slot=");
    ota_buf_put_u32(&w, slot);
    ota_buf_put(&w, "&security_counter=");
    ota_buf_put_u32(&w, security_counter);
    if (delta)
        ota_buf_put(&w, "&delta=1");
    if (wait_s) {
        ota_buf_put(&w, "&wait=");
        ota_buf_put_u32(&w, wait_s);
    }
    if (w.full)
        return OTA_ERR_URL;
    if ((rc = ota_http_get_all(http, &url, token, buf, cap, &len)) != OTA_OK)
        return rc;
    return ota_check_parse(buf, len, out);
}

int ota_check_request(ota_http_t *http, const char *server_url, const char *token, const char *version,
                      unsigned slot, uint32_t security_counter, char *buf, size_t cap, ota_check_t *out)
{
    return check_request(http, server_url, token, version, slot, security_counter, buf, cap, out, 0, 0);
}

int ota_check_request_delta(ota_http_t *http, const char *server_url, const char *token, const char *version,
                            unsigned slot, uint32_t security_counter, char *buf, size_t cap, ota_check_t *out)
{
    return check_request(http, server_url, token, version, slot, security_counter, buf, cap, out, 1, 0);
}

int ota_check_request_opts(ota_http_t *http, const char *server_url, const char *token, const char *version,
                           unsigned slot, uint32_t security_counter, char *buf, size_t cap, ota_check_t *out,
                           int delta, unsigned wait_s)
{
    if (wait_s > 300)
        return OTA_ERR_ARG;
    return check_request(http, server_url, token, version, slot, security_counter, buf, cap, out, delta, wait_s);
}
