/*
 * AutoConnect update server catalog (Hieromon/AutoConnect src/AutoConnectUpdate.cpp, _onCatalog()
 * and update(); its server src/updateserver/python3/updateserver.py; otakit-server serves the same
 * list): list the binaries, pick the newest one this device can take, and build its download URL
 * the way AutoConnect does, for ota_esp_update(); and otakit-server's catalog for a device of otakit
 * images, whose entries name the artifact to pull with ota_pull_image(). See otakit/agent.h.
 */
#include <string.h>

#include "otakit/agent.h"

#include "api.h"
#include "json.h"
#include "core/buf.h"
#include "core/text.h"

/* The version in an entry's name: the first run of [0-9.+] after an optional 'v' that
 * ota_version_parse() takes ("2.1.0.bin", "v2.1.0-user2.bin", "fw-1.4.2+7.bin"). Returns 0 or -1. */
static int name_version(const char *stem, size_t n, ota_version_t *v, char *text, size_t cap)
{
    size_t i;
    for (i = 0; i < n; i++) {
        size_t k = 0;
        if (stem[i] < '0' || stem[i] > '9' || (i > 0 && ((stem[i - 1] >= '0' && stem[i - 1] <= '9') ||
                                                         stem[i - 1] == '.' || stem[i - 1] == '+')))
            continue;
        while (i + k < n && k + 1 < cap &&
               ((stem[i + k] >= '0' && stem[i + k] <= '9') || stem[i + k] == '.' || stem[i + k] == '+'))
            k++;
        while (k && (stem[i + k - 1] == '.' || stem[i + k - 1] == '+'))
            k--;
        memcpy(text, stem + i, k);
        text[k] = 0;
        if (ota_version_parse(text, v) == OTA_OK)
            return 0;
    }
    return -1;
}

/* Whether name ends with suffix, ignoring case. */
static int ends_with(const char *name, size_t n, const char *suffix)
{
    size_t s = strlen(suffix), i;
    if (n < s)
        return 0;
    for (i = 0; i < s; i++)
        if (ota_lower((unsigned char)name[n - s + i]) != suffix[i])
            return 0;
    return 1;
}

/* Whether s is lit (lowercase), ignoring case. */
static int ieq(const char *s, const char *lit)
{
    return strlen(s) == strlen(lit) && ota_istarts(s, lit);
}

size_t ota_catalog_dir(const char *path, const char **start)
{
    size_t n;
    for (;;) {
        if (*path == '/')
            path++;
        else if (path[0] == '.' && (path[1] == '/' || !path[1]))
            path++;
        else
            break;
    }
    n = strlen(path);
    while (n && path[n - 1] == '/')
        n--;
    *start = path;
    return n;
}

/* Appends "/" and the directory the catalog path names (nothing for the root). */
static void put_path(ota_buf_t *w, const char *path)
{
    size_t n = ota_catalog_dir(path, &path);
    if (n) {
        ota_buf_put(w, "/");
        ota_buf_put_n(w, path, n);
    }
}

/* The catalog path: printable, no characters that would end or split the query or the path. */
static int path_ok(const char *path)
{
    const char *p;
    if (!ota_printable(path, 128))
        return 0;
    for (p = path; *p; p++)
        if (*p == ' ' || *p == '&' || *p == '#' || *p == '?' || *p == '%' || (*p == '.' && p[1] == '.'))
            return 0;
    return 1;
}

int ota_catalog_pick(const char *json, size_t len, const char *base_url, const char *path,
                     const char *running_version, unsigned inactive_slot, ota_catalog_t *out)
{
    ota_json_t j;
    ota_version_t best, run, v;
    int n = 0, rc, have_best = 0, have_run;
    char name[OTA_CHECK_TEXT_MAX], type[16], vtext[OTA_CHECK_TEXT_MAX];
    char slot_suffix[12] = "-userN.bin";
    ota_buf_t w;

    if (!json || !base_url || !path || !out || inactive_slot > 1 || !path_ok(path))
        return OTA_ERR_ARG;
    memset(out, 0, sizeof *out);
    slot_suffix[5] = (char)('1' + inactive_slot);
    have_run = running_version && ota_version_parse(running_version, &run) == OTA_OK;
    ota_json_init(&j, json, len);
    if (ota_json_enter(&j, '['))
        return OTA_ERR_JSON;
    while ((rc = ota_json_element(&j, &n)) == 1) {
        const char *k;
        size_t kl, nl;
        uint32_t size = 0;
        int m = 0;
        name[0] = type[0] = 0;
        if (ota_json_peek(&j) != '{') {
            if ((rc = ota_json_skip(&j)) < 0)
                return rc;
            continue;
        }
        if (ota_json_enter(&j, '{'))
            return OTA_ERR_JSON;
        while ((rc = ota_json_member(&j, &m, &k, &kl)) == 1) {
            if (ota_json_key_is(k, kl, "name"))
                rc = ota_json_string(&j, name, sizeof name);
            else if (ota_json_key_is(k, kl, "type"))
                rc = ota_json_string(&j, type, sizeof type);
            else if (ota_json_key_is(k, kl, "size"))
                rc = ota_json_u32(&j, &size);
            else
                rc = ota_json_skip(&j);
            if (rc == OTA_ERR_NO_SPACE) { /* a name too long for us: not an entry we can take */
                name[0] = 0;
                rc = 0;
            }
            if (rc < 0)
                return rc;
        }
        if (rc < 0)
            return rc;
        /* AutoConnect offers type "bin" (any case): updateserver.py's name for a .bin whose first
         * byte is 0xE9, an ESP image. An otakit image starts with the MCUboot magic, so the same
         * server lists it as a "file": a .bin file is a binary for this agent too (ota_end()
         * verifies whatever comes). */
        nl = strlen(name);
        if (!name[0] || !(ieq(type, "bin") || (ieq(type, "file") && ends_with(name, nl, ".bin"))))
            continue;
        out->entries++;
        /* A slot-linked image (ESP8266 user1.bin/user2.bin) only for the slot it will run from. */
        if ((ends_with(name, nl, "-user1.bin") || ends_with(name, nl, "-user2.bin")) &&
            !ends_with(name, nl, slot_suffix))
            continue;
        if (name_version(name, nl, &v, vtext, sizeof vtext) != 0)
            continue; /* no version in its name: nothing to compare */
        if (have_best && ota_version_cmp(&v, &best) <= 0)
            continue;
        best = v;
        have_best = 1;
        memcpy(out->name, name, nl + 1);
        memcpy(out->version, vtext, strlen(vtext) + 1);
        out->size = size;
    }
    if (rc < 0 || ota_json_finish(&j))
        return OTA_ERR_JSON;
    if (!have_best)
        return OTA_OK;
    /* AutoConnectUpdateAct::update(): uri + "/" + name, under the server's root. */
    ota_buf_text(&w, out->url, sizeof out->url);
    ota_buf_put(&w, base_url);
    put_path(&w, path);
    ota_buf_put(&w, "/");
    ota_buf_put(&w, out->name);
    if (w.full)
        return OTA_ERR_NO_SPACE;
    out->has_update = (uint8_t)(!have_run || ota_version_cmp(&best, &run) > 0);
    return OTA_OK;
}

int ota_catalog_check(ota_http_t *http, const char *base_url, const char *path, const char *running_version,
                      unsigned inactive_slot, char *buf, size_t cap, ota_catalog_t *out)
{
    char q[OTA_CHECK_URL_MAX];
    ota_url_t url;
    ota_buf_t w;
    size_t len;
    int rc;
    if (!http || !base_url || !path || !buf || !out || !path_ok(path))
        return OTA_ERR_ARG;
    q[0] = 0;
    ota_buf_text(&w, q, sizeof q);
    ota_buf_put(&w, base_url);
    ota_buf_put(&w, "/_catalog?op=list&path=");
    ota_buf_put(&w, path);
    if (w.full)
        return OTA_ERR_NO_SPACE;
    if ((rc = ota_url_parse(q, &url)) != OTA_OK)
        return rc;
    if ((rc = ota_http_get_all(http, &url, NULL, buf, cap, &len)) != OTA_OK)
        return rc;
    return ota_catalog_pick(buf, len, base_url, path, running_version, inactive_slot, out);
}

/* ---- otakit-server's catalog for a device (GET /api/v1/device/catalog) ------------------------ */

int ota_catalog_device_list(ota_http_t *http, const char *server_url, const char *token, char *buf, size_t cap,
                            size_t *len)
{
    ota_url_t url;
    ota_buf_t w;
    int rc;
    if (!http || !token || !buf || cap < 2 || !len)
        return OTA_ERR_ARG;
    if ((rc = ota_api_url(server_url, &url, &w)) != OTA_OK)
        return rc;
    ota_buf_put(&w, "/api/v1/device/catalog");
    if (w.full)
        return OTA_ERR_URL;
    if ((rc = ota_http_get_all(http, &url, token, buf, cap - 1, len)) != OTA_OK)
        return rc;
    buf[*len] = 0;
    return OTA_OK;
}

/* Reads one entry object into *out (name, version, url, size, sha256). Returns 0 or an error. */
static int device_entry(ota_json_t *j, ota_catalog_t *out, uint8_t *have)
{
    const char *k;
    size_t kl;
    int m = 0, rc;
    *have = 0;
    if (ota_json_enter(j, '{'))
        return OTA_ERR_JSON;
    while ((rc = ota_json_member(j, &m, &k, &kl)) == 1) {
        if (ota_json_key_is(k, kl, "name"))
            rc = ota_json_string(j, out->name, sizeof out->name);
        else if (ota_json_key_is(k, kl, "version"))
            rc = ota_json_string(j, out->version, sizeof out->version);
        else if (ota_json_key_is(k, kl, "url"))
            rc = ota_json_string(j, out->url, sizeof out->url);
        else if (ota_json_key_is(k, kl, "size"))
            *have |= (rc = ota_json_u32(j, &out->size)) == 0 ? 1 : 0;
        else if (ota_json_key_is(k, kl, "sha256"))
            *have |= (rc = ota_json_sha256(j, out->sha256)) == 0 ? 2 : 0;
        else
            rc = ota_json_skip(j);
        if (rc == OTA_ERR_NO_SPACE) { /* a string longer than this device takes: not an entry for it */
            *have |= 4;
            rc = 0;
        }
        if (rc < 0)
            return rc;
    }
    return rc < 0 ? rc : OTA_OK;
}

int ota_catalog_device_find(const char *json, size_t len, const char *name, ota_catalog_t *out)
{
    ota_json_t j;
    ota_catalog_t e;
    int n = 0, rc, found = 0;
    uint32_t count = 0;
    uint8_t have;
    if (!json || !name || !out)
        return OTA_ERR_ARG;
    memset(out, 0, sizeof *out);
    ota_json_init(&j, json, len);
    if (ota_json_enter(&j, '['))
        return OTA_ERR_JSON;
    while ((rc = ota_json_element(&j, &n)) == 1) {
        if (ota_json_peek(&j) != '{') {
            if ((rc = ota_json_skip(&j)) < 0)
                return rc;
            continue;
        }
        memset(&e, 0, sizeof e);
        if ((rc = device_entry(&j, &e, &have)) < 0)
            return rc;
        count++;
        /* The first entry of that name with everything a pinned pull needs. */
        if (!found && have == 3 && e.url[0] && e.size && !strcmp(e.name, name)) {
            *out = e;
            found = 1;
        }
    }
    if (rc < 0 || ota_json_finish(&j))
        return OTA_ERR_JSON;
    out->entries = count;
    return found ? OTA_OK : OTA_ERR_ARG;
}

int ota_catalog_device_pull(ota_ctx_t *ctx, ota_http_t *http, const char *server_url, const char *token,
                            const char *name, char *buf, size_t cap, const ota_pull_opts_t *opts,
                            ota_pull_stats_t *stats)
{
    ota_pull_opts_t o;
    ota_catalog_t e;
    size_t len;
    int rc;
    if (!ctx || !name)
        return OTA_ERR_ARG;
    if ((rc = ota_catalog_device_list(http, server_url, token, buf, cap, &len)) != OTA_OK ||
        (rc = ota_catalog_device_find(buf, len, name, &e)) != OTA_OK)
        return rc;
    if (opts)
        o = *opts;
    else
        memset(&o, 0, sizeof o);
    o.token = token;
    o.size = e.size;
    o.sha256 = e.sha256;
    return ota_pull_image(ctx, http, e.url, &o, stats);
}
