/*
 * OTA over MQTT: Mongoose's "ota.update" JSON-RPC method with contiguous offsets (see
 * otakit/mqtt_ota.h). The request is read in place (agent/json.h); the chunk's base64 is checked
 * whole before a byte of it is written, then decoded in small pieces straight into ota_write().
 */
#include "otakit/mqtt_ota.h"

#include <string.h>

#include "agent/json.h"
#include "core/buf.h"

#define ID_MAX 32u      /* longest id echoed, as written */
#define PIECE 192u      /* decoded bytes handed to ota_write() at a time (stack) */
#define CODE_FAILED 1   /* Mongoose's rpc_ota_update() answers every failure with code 1 */
#define CODE_NOT_FOUND -32601
#define CODE_INVALID -32700

struct req {
    const char *id;     /* raw JSON text of "id", NULL: none */
    size_t id_len;
    char method[32];
    uint32_t offset, total;
    uint8_t has_offset, has_total;
    const char *chunk;  /* raw string contents (between the quotes), NULL: none */
    size_t chunk_len;
};

void ota_mqtt_ota_init(ota_mqtt_ota_t *s, ota_ctx_t *ota)
{
    memset(s, 0, sizeof *s);
    s->ota = ota;
}

/* ---- base64 (RFC 4648, padded; "\/" as JSON may escape the slash) ---------------------------- */

static int b64_val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Walks the base64 text: with out NULL only checks it and counts the decoded bytes into *n; else
 * hands them to ota_write() PIECE at a time. Returns OTA_OK, OTA_ERR_JSON (not base64) or the
 * writer's error. */
static int b64_walk(const char *s, size_t len, ota_ctx_t *out, uint32_t *n)
{
    uint8_t piece[PIECE];
    size_t i, used = 0;
    uint32_t acc = 0, count = 0;
    unsigned q = 0, pad = 0;
    int rc;
    for (i = 0; i < len; i++) {
        int c = (unsigned char)s[i], v;
        if (c == '\\' && i + 1 < len && s[i + 1] == '/')
            continue;
        if (c == '=') {
            pad++;
            v = 0;
        } else {
            if (pad || (v = b64_val(c)) < 0)
                return OTA_ERR_JSON; /* data after padding, or not base64 */
        }
        acc = acc << 6 | (uint32_t)v;
        if (++q < 4)
            continue;
        if (pad > 2)
            return OTA_ERR_JSON;
        piece[used++] = (uint8_t)(acc >> 16);
        if (pad < 2)
            piece[used++] = (uint8_t)(acc >> 8);
        if (pad < 1)
            piece[used++] = (uint8_t)acc;
        count += 3 - pad;
        q = 0;
        acc = 0;
        if (used > PIECE - 3 || pad) {
            if (out && (rc = ota_write(out, piece, (uint32_t)used)) != OTA_OK)
                return rc;
            used = 0;
        }
    }
    if (q)
        return OTA_ERR_JSON; /* not a whole number of quads */
    if (out && used && (rc = ota_write(out, piece, (uint32_t)used)) != OTA_OK)
        return rc;
    *n = count;
    return OTA_OK;
}

/* ---- reading the request --------------------------------------------------------------------- */

static int parse_params(ota_json_t *j, struct req *r)
{
    const char *key;
    size_t kl;
    int n = 0, rc;
    if (ota_json_peek(j) != '{')
        return ota_json_skip(j); /* not an object: no params */
    if (ota_json_enter(j, '{') < 0)
        return OTA_ERR_JSON;
    while ((rc = ota_json_member(j, &n, &key, &kl)) == 1) {
        if (ota_json_key_is(key, kl, "offset") && ota_json_peek(j) >= '0' && ota_json_peek(j) <= '9') {
            if (ota_json_u32(j, &r->offset) < 0)
                return OTA_ERR_JSON;
            r->has_offset = 1;
        } else if (ota_json_key_is(key, kl, "total") && ota_json_peek(j) >= '0' && ota_json_peek(j) <= '9') {
            if (ota_json_u32(j, &r->total) < 0)
                return OTA_ERR_JSON;
            r->has_total = 1;
        } else if (ota_json_key_is(key, kl, "chunk") && ota_json_peek(j) == '"') {
            const char *start = j->p;
            if (ota_json_skip(j) < 0)
                return OTA_ERR_JSON;
            r->chunk = start + 1;
            r->chunk_len = (size_t)(j->p - start) - 2;
        } else if (ota_json_skip(j) < 0) {
            return OTA_ERR_JSON;
        }
    }
    return rc;
}

static int parse(const uint8_t *req, size_t len, struct req *r)
{
    ota_json_t j;
    const char *key;
    size_t kl;
    int n = 0, rc;
    memset(r, 0, sizeof *r);
    ota_json_init(&j, (const char *)req, len);
    if (ota_json_peek(&j) != '{' || ota_json_enter(&j, '{') < 0)
        return OTA_ERR_JSON;
    while ((rc = ota_json_member(&j, &n, &key, &kl)) == 1) {
        if (ota_json_key_is(key, kl, "id")) {
            const char *start;
            ota_json_peek(&j);
            start = j.p;
            if (ota_json_skip(&j) < 0)
                return OTA_ERR_JSON;
            r->id = start;
            r->id_len = (size_t)(j.p - start);
            if (r->id_len > ID_MAX)
                r->id = NULL; /* too long to echo: answered as a request without id */
        } else if (ota_json_key_is(key, kl, "method") && ota_json_peek(&j) == '"') {
            if (ota_json_string(&j, r->method, sizeof r->method) < 0)
                return OTA_ERR_JSON;
        } else if (ota_json_key_is(key, kl, "params")) {
            if (parse_params(&j, r) < 0)
                return OTA_ERR_JSON;
        } else if (ota_json_skip(&j) < 0) {
            return OTA_ERR_JSON;
        }
    }
    if (rc < 0 || ota_json_finish(&j) < 0)
        return OTA_ERR_JSON;
    return r->method[0] ? OTA_OK : OTA_ERR_JSON;
}

/* ---- answers, in src/rpc.c's shape ------------------------------------------------------------ */

static void put_escaped(ota_buf_t *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            ota_buf_put_n(b, "\\", 1);
        if ((unsigned char)*s >= 0x20)
            ota_buf_put_n(b, s, 1);
    }
}

static size_t answer_ok(const struct req *r, ota_buf_t *b, const ota_mqtt_ota_t *s, int status)
{
    if (!r->id)
        return 0; /* mg_rpc_vok(): no id, no answer */
    ota_buf_put(b, "{\"id\":");
    ota_buf_put_n(b, r->id, r->id_len);
    if (status) {
        ota_buf_put(b, ",\"result\":{\"offset\":");
        ota_buf_put_u32(b, s->active ? s->next : 0);
        ota_buf_put(b, ",\"total\":");
        ota_buf_put_u32(b, s->active ? s->total : 0);
        ota_buf_put(b, "}}");
    } else {
        ota_buf_put(b, ",\"result\":\"ok\"}");
    }
    return b->full ? 0 : b->n;
}

/* {"id":..,"error":{"code":c,"message":"<what><detail>"}} (no id: without it, as mg_rpc_verr). */
static size_t answer_err(const struct req *r, ota_buf_t *b, int code, const char *what, const char *detail)
{
    char num[12], *p = num + sizeof num - 1;
    unsigned v = code < 0 ? (unsigned)-code : (unsigned)code;
    *p = 0;
    do
        *--p = (char)('0' + v % 10);
    while (v /= 10);
    if (code < 0)
        *--p = '-';
    ota_buf_put(b, "{");
    if (r && r->id) {
        ota_buf_put(b, "\"id\":");
        ota_buf_put_n(b, r->id, r->id_len);
        ota_buf_put(b, ",");
    }
    ota_buf_put(b, "\"error\":{\"code\":");
    ota_buf_put(b, p);
    ota_buf_put(b, ",\"message\":\"");
    put_escaped(b, what);
    put_escaped(b, detail);
    ota_buf_put(b, "\"}}");
    return b->full ? 0 : b->n;
}

/* ---- ota.update -------------------------------------------------------------------------------- */

static void stop(ota_mqtt_ota_t *s)
{
    if (s->active)
        ota_abort(s->ota);
    s->active = 0;
    s->next = s->total = 0;
}

/* The transfer in flight, as flash holds it. A transfer the writer no longer runs as we left it
 * (ota_end, ota_abort, or another transport's ota_begin or writes) is not ours any more. After a
 * reset (nothing in flight here, the journal still DOWNLOADING) the download is taken up at the
 * journal's checkpoint by ota_resume(): the start of the last sector the writer entered, written
 * to the journal only after every byte below it was programmed, so the offset reported never
 * claims a byte that a power cut could have lost. ota_end() still verifies the whole image from
 * flash. */
static void adopt(ota_mqtt_ota_t *s)
{
    uint32_t off = OTA_RESUME_AUTO, size = 0;
    if (s->active && (!s->ota->w_active || s->ota->w_written != s->next || s->ota->w_size != s->total))
        s->active = 0, s->next = s->total = 0;
    if (s->active || s->ota->rec.state != OTA_STATE_DOWNLOADING)
        return;
    if (ota_resume(s->ota, &off, &size) != OTA_OK || off == 0)
        return;
    s->active = 1;
    s->next = off;
    s->total = size;
}

/* Carries out one ota.update request. Returns OTA_OK or the error; *what names the failed step. */
static int update(ota_mqtt_ota_t *s, const struct req *r, const char **what, uint8_t *pending)
{
    uint32_t n;
    int rc;
    *what = "";
    if (!r->chunk)
        return *what = "Chunk decoding error: ", OTA_ERR_JSON;
    if (!r->has_offset || !r->has_total)
        return *what = "offset and total not set: ", OTA_ERR_JSON;
    if ((rc = b64_walk(r->chunk, r->chunk_len, NULL, &n)) != OTA_OK)
        return *what = "Chunk decoding error: ", rc;
    adopt(s);
    if (r->offset == 0) { /* a new transfer, abandoning any in flight (as Mongoose does) */
        stop(s);
        if ((rc = ota_begin(s->ota, r->total)) != OTA_OK)
            return *what = "ota_begin() failed: ", rc;
        s->active = 1;
        s->total = r->total;
    } else if (!s->active) {
        return *what = "no transfer in flight (offset 0 begins one): ", OTA_ERR_OFFSET;
    } else if (r->total != s->total) {
        return *what = "total differs from the transfer's: ", OTA_ERR_OFFSET;
    } else if (r->offset != s->next) {
        return *what = r->offset < s->next ? "chunk replayed: " : "gap before the chunk: ", OTA_ERR_OFFSET;
    }
    if (n > s->total - s->next)
        return *what = "chunk runs past total: ", OTA_ERR_OVERFLOW;
    if (n) {
        if ((rc = b64_walk(r->chunk, r->chunk_len, s->ota, &n)) != OTA_OK) {
            stop(s); /* the writer may hold part of it: start over */
            return *what = "ota_write() failed: ", rc;
        }
        s->next += n;
        return OTA_OK;
    }
    if (s->next != s->total)
        return *what = "end before total: ", OTA_ERR_INCOMPLETE;
    rc = ota_end(s->ota);
    s->active = 0; /* verified and marked, or refused: either way this transfer is over */
    s->next = s->total = 0;
    if (rc != OTA_OK) {
        ota_abort(s->ota);
        return *what = "ota_end() failed: ", rc;
    }
    *pending = 1;
    return OTA_OK;
}

int ota_mqtt_ota_request(ota_mqtt_ota_t *s, const uint8_t *req, size_t len, char *ans, size_t cap,
                         size_t *ans_len, uint8_t *pending)
{
    struct req r;
    ota_buf_t b;
    const char *what = "";
    int rc;
    *ans_len = 0;
    *pending = 0;
    if (!cap)
        return OTA_ERR_ARG;
    ans[0] = 0;
    ota_buf_text(&b, ans, cap);
    if ((rc = parse(req, len, &r)) != OTA_OK) {
        *ans_len = answer_err(NULL, &b, CODE_INVALID, "not a JSON-RPC request", "");
        return rc;
    }
    if (!strcmp(r.method, "ota.status")) {
        adopt(s);
        *ans_len = answer_ok(&r, &b, s, 1);
        return OTA_OK;
    }
    if (strcmp(r.method, "ota.update") != 0) {
        *ans_len = answer_err(&r, &b, CODE_NOT_FOUND, r.method, " not found");
        return OTA_ERR_ARG;
    }
    if ((rc = update(s, &r, &what, pending)) != OTA_OK) {
        char at[160];
        ota_buf_t d;
        at[0] = 0;
        ota_buf_text(&d, at, sizeof at);
        ota_buf_put(&d, ota_strerror(rc));
        if (rc == OTA_ERR_OFFSET) { /* where the updater should continue */
            ota_buf_put(&d, "; expected offset ");
            ota_buf_put_u32(&d, s->active ? s->next : 0);
        }
        *ans_len = answer_err(&r, &b, CODE_FAILED, what, d.full ? ota_strerror(rc) : at);
        return rc;
    }
    *ans_len = answer_ok(&r, &b, s, 0);
    return OTA_OK;
}
