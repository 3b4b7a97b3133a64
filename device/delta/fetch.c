/*
 * Fetching a delta patch over HTTP(S) and applying it as it arrives (otakit/delta.h,
 * ota_delta_pull). The stream position of every answer is known (0 for a 200, the Content-Range
 * start for a 206), so one rule covers fresh starts, resumes and servers that ignore Range: bytes
 * below the offset wanted are skipped, the header is collected, the rest is fed block by block.
 * A continuation is asked for with Range and If-Range (the pinned entity tag "\"<sha256>\"").
 */
#include <string.h>

#include "otakit/bytes.h"
#include "otakit/delta.h"

#include "core/text.h"

#define SKIP_MAX 4096u /* a resume point further than this into a 200: ask again with Range */

typedef struct {
    ota_delta_t *d;
    ota_ctx_t *ota;
    const ota_delta_pull_opts_t *o;
    ota_pull_stats_t *st;
    uint32_t pos;     /* patch offset of the next byte of the current answer */
    uint32_t want;    /* patch offset wanted next (bytes below it are skipped) */
    uint8_t started;  /* header verified, ota_delta_start() done */
    uint8_t stop;     /* the sink stopped the answer to re-request with Range */
    int err;          /* a fatal error of the sink */
    char etag[OTA_HTTP_ETAG_MAX];
} dpull_t;

static int header_done(dpull_t *p)
{
    ota_delta_hdr_t h;
    uint32_t next;
    int rc;
    if ((rc = ota_delta_hdr_parse(p->d->blk, OTA_DELTA_HDR_SIZE, &h)) != OTA_OK)
        return rc;
    if ((rc = ota_delta_hdr_verify(p->d->blk, p->ota->cfg.keys, p->ota->cfg.n_keys)) != OTA_OK)
        return rc;
    if (OTA_DELTA_HDR_SIZE + h.body_size != p->o->size || h.target_size != p->o->target_size ||
        (p->o->target_sha && memcmp(h.target_sha, p->o->target_sha, 32) != 0))
        return OTA_ERR_CHANGED; /* signed, but not the patch of the offered image */
    if ((rc = ota_delta_start(p->d, p->ota, &h, p->o->resume, &next)) != OTA_OK)
        return rc;
    p->started = 1;
    p->want = next;
    if (next > OTA_DELTA_HDR_SIZE)
        p->st->reset_offset = next;
    return OTA_OK;
}

static int sink(void *arg, const uint8_t *data, size_t len)
{
    dpull_t *p = (dpull_t *)arg;
    int rc;
    while (len) {
        uint32_t n;
        if (!p->started) {
            n = OTA_DELTA_HDR_SIZE - p->pos < len ? OTA_DELTA_HDR_SIZE - p->pos : (uint32_t)len;
            memcpy(p->d->blk + p->pos, data, n);
            p->pos += n;
            data += n;
            len -= n;
            if (p->pos == OTA_DELTA_HDR_SIZE && (rc = header_done(p)) != OTA_OK)
                return p->err = rc;
            if (p->started && p->want > p->pos + SKIP_MAX) {
                p->stop = 1; /* resuming far in: a ranged request is cheaper than skipping */
                return OTA_ERR_DELTA;
            }
            continue;
        }
        if (p->pos < p->want) {
            n = p->want - p->pos < len ? p->want - p->pos : (uint32_t)len;
        } else {
            n = (uint32_t)len;
            if ((rc = ota_delta_feed(p->d, data, n)) != OTA_OK)
                return p->err = rc;
            p->want += n;
            p->st->bytes += n;
        }
        p->pos += n;
        data += n;
        len -= n;
    }
    return OTA_OK;
}

/* One request and its answer. Returns OTA_OK when the answer was used up, else the error;
 * *fatal says whether a retry is pointless. */
static int attempt(dpull_t *p, ota_http_t *http, const char *url, int *fatal)
{
    ota_http_req_t req;
    ota_http_resp_t r;
    ota_url_t u;
    int rc;
    *fatal = 1;
    if ((rc = ota_url_parse(url, &u)) != OTA_OK)
        return rc;
    memset(&req, 0, sizeof req);
    req.token = p->o->token;
    if (p->started && p->want > 0) {
        req.has_range = 1;
        req.range_from = p->want;
        req.if_range = p->etag;
    }
    p->st->requests++;
    *fatal = 0;
    if ((rc = ota_http_request(http, &u, &req, &r)) != OTA_OK) {
        *fatal = !(rc == OTA_ERR_NET || rc == OTA_ERR_TIMEOUT || rc == OTA_ERR_HTTP);
        return rc;
    }
    if (r.status == 200 || r.status == 206) {
        if (r.etag[0] && strcmp(r.etag, p->etag) != 0) {
            *fatal = 1;
            return OTA_ERR_CHANGED;
        }
        if (r.status == 206) {
            if (!req.has_range || !r.has_range || r.range_first != req.range_from ||
                (r.has_total && r.range_total != p->o->size)) {
                ota_http_close(http);
                return OTA_ERR_HTTP;
            }
            p->pos = r.range_first;
            p->st->resumes++;
        } else {
            if (r.has_length && r.length != p->o->size) {
                *fatal = 1;
                return OTA_ERR_CHANGED;
            }
            p->pos = 0;
            if (!p->started)
                p->want = 0;
        }
        p->stop = 0;
        p->err = 0;
        rc = ota_http_body(http, sink, p);
        if (p->err) {
            *fatal = 1;
            return p->err;
        }
        if (p->stop) {
            ota_http_close(http);
            return OTA_OK;
        }
        if (rc == OTA_OK && !p->d->done)
            rc = OTA_ERR_NET; /* the body ended before the patch did */
        return rc;
    }
    ota_http_close(http);
    if (r.status >= 500 || r.status == 408 || r.status == 429)
        return OTA_ERR_HTTP_STATUS;
    *fatal = 1;
    return r.status == 416 ? OTA_ERR_CHANGED : OTA_ERR_HTTP_STATUS;
}

static int run(dpull_t *p, ota_http_t *http, const char *url)
{
    unsigned fails = 0, max = p->o->max_retries ? p->o->max_retries : 5u;
    uint32_t best = 0;
    int rc, fatal;
    for (;;) {
        rc = attempt(p, http, url, &fatal);
        if (rc == OTA_OK && p->started && p->d->done)
            return ota_delta_finish(p->d);
        if (rc == OTA_OK)
            continue;
        p->st->failures++;
        p->st->last_error = rc;
        if (fatal)
            return rc;
        if (p->started) {
            p->want = ota_delta_rewind(p->d); /* the block it broke in comes again */
            if (p->want > best) {
                best = p->want;
                fails = 0;
                continue;
            }
        }
        if (++fails > max)
            return rc;
    }
}

int ota_delta_pull(ota_delta_t *d, ota_ctx_t *ota, ota_http_t *http, const char *url,
                   const ota_delta_pull_opts_t *o, ota_pull_stats_t *stats)
{
    ota_pull_stats_t local;
    uint8_t sha[32];
    dpull_t p;
    int i, rc;
    if (!d || !ota || !http || !url || !o || !o->sha256 || !o->size)
        return OTA_ERR_ARG;
    memset(&p, 0, sizeof p);
    p.d = d;
    p.ota = ota;
    p.o = o;
    p.st = stats ? stats : &local;
    memset(p.st, 0, sizeof *p.st);
    for (i = 0; i < 64; i++) {
        int v = ota_hexval((unsigned char)o->sha256[i]);
        if (v < 0)
            return OTA_ERR_ARG;
        sha[i / 2] = (uint8_t)(i % 2 ? sha[i / 2] | v : v << 4);
    }
    p.etag[0] = '"';
    ota_hex_encode(sha, 32, p.etag + 1);
    p.etag[65] = '"';
    p.etag[66] = 0;
    d->hdr_ok = 0;
    ota_http_set_deadline(http, o->deadline_ms ? o->deadline_ms : 3600000u);
    rc = run(&p, http, url);
    ota_http_set_deadline(http, 0);
    ota_http_close(http);
    p.st->last_error = rc;
    if (rc != OTA_OK && rc != OTA_ERR_NET && rc != OTA_ERR_TIMEOUT && rc != OTA_ERR_HTTP &&
        rc != OTA_ERR_HTTP_STATUS && p.started)
        ota_abort(ota); /* a patch that failed its checks: nothing of it is kept */
    return rc;
}
