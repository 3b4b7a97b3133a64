/*
 * The pull: download an image over HTTP(S) into the streaming writer, with resume. See
 * otakit/agent.h for the contract; the rules that keep a wrong byte out of an accepted image:
 *
 *   - A download continues only with "Range: bytes=<off>-" and "If-Range: <entity tag>", and only
 *     from a 206 whose Content-Range starts at <off> and whose total is the image size. Without a
 *     strong entity tag there is no resume: the download starts over.
 *   - A 200 is the whole file from byte zero: the download starts over (ota_begin() resets the
 *     writer; the running image is never touched). With a pinned SHA-256, a 200 carrying another
 *     ETag or another length is not the offered image: OTA_ERR_CHANGED.
 *   - 416 (the file is shorter than our offset), or a 206 that does not continue our bytes: the
 *     next request asks for the whole file.
 *   - Every byte written is hashed in order (after a reset, the bytes already in flash are hashed
 *     again first), and the hash must equal the pinned SHA-256 before ota_end(); a mismatch after
 *     a resume starts over once from zero, a mismatch of a download made in one piece is
 *     OTA_ERR_HASH. ota_end() then verifies the signature from flash.
 *
 * And the rules that keep a slow or hostile server from holding the device for ever: a failed
 * attempt resets the retry count only when it got min_progress bytes past the furthest point ever
 * reached (one byte per connection is not progress), and the whole pull has a deadline, set on
 * the HTTP client so that it also cuts a body that trickles in within the read timeout.
 */
#include <string.h>

#include "otakit/agent.h"
#include "otakit/bytes.h"

#include "core/deadline.h"
#include "core/text.h"
#include "crypto/crypto.h"

#define DEFAULT_RETRIES 5u
#define DEFAULT_MIN_PROGRESS 1024u
#define DEFAULT_DEADLINE_MS 3600000u /* one hour */

typedef struct {
    ota_ctx_t *ctx;
    ota_http_t *http;
    const ota_pull_opts_t *o;
    ota_pull_stats_t *st;
    ota_sha256_t h;
    uint32_t off;        /* bytes of the image written so far */
    uint32_t total;      /* image size, 0 until known */
    uint32_t limit;      /* the current body must end at or before this offset */
    int limit_err;       /* error when a body runs past limit */
    int sink_err;        /* error returned by the sink (flash, limit): fatal */
    uint8_t started;     /* the writer is open at off (ota_begin or ota_resume done) */
    uint8_t resumed;     /* the bytes below off did not all come from one answer starting at zero */
    uint8_t from_zero;   /* the next request asks for the whole file */
    uint8_t fatal;       /* the last error is not worth a retry */
    uint8_t pinned;      /* opts->sha256 given */
    uint8_t want[32];    /* its value */
    char pinned_etag[OTA_HTTP_ETAG_MAX];
    char etag[OTA_HTTP_ETAG_MAX]; /* validator of the bytes written so far; "" when none */
} pull_t;

static int hex_decode(const char *s, uint8_t out[32])
{
    int i;
    for (i = 0; i < 64; i++) {
        int d = ota_hexval((unsigned char)s[i]);
        if (d < 0)
            return OTA_ERR_ARG;
        out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] | d : d << 4);
    }
    return s[64] ? OTA_ERR_ARG : OTA_OK;
}

/* The entity tag otakit servers give an artifact: "\"<sha256 in lowercase hex>\"". */
static void etag_of(const uint8_t sha[32], char out[OTA_HTTP_ETAG_MAX])
{
    out[0] = '"';
    ota_hex_encode(sha, 32, out + 1);
    out[65] = '"';
    out[66] = 0;
}

/* A strong entity tag: usable in If-Range ("W/..." weak tags are not). */
static int strong(const char *etag)
{
    return etag[0] == '"' && strlen(etag) >= 2;
}

static void report(pull_t *p)
{
    if (p->o->progress)
        p->o->progress(p->o->progress_arg, p->off, p->total);
}

/* Starts the image over from byte zero (p->total must be known). */
static int start_fresh(pull_t *p)
{
    int rc;
    if (p->started)
        p->st->restarts++;
    if ((rc = ota_begin(p->ctx, p->total)) != OTA_OK) {
        p->started = 0;
        return rc;
    }
    ota_sha256_start(&p->h);
    p->started = 1;
    p->resumed = 0;
    p->from_zero = 0;
    p->off = 0;
    report(p);
    return OTA_OK;
}

/* After a reset mid-download: continue where the journal says, hashing what flash holds. */
static int resume_after_reset(pull_t *p)
{
    ota_ctx_t *ctx = p->ctx;
    uint32_t off = ctx->w_active ? ctx->w_written : OTA_RESUME_AUTO, size = 0, base, o, n;
    uint8_t *buf = p->http->buf; /* idle until the first request: no stack buffer needed */
    int rc;
    if (ota_resume(ctx, &off, &size) != OTA_OK || off == 0 || (p->total && size != p->total))
        return OTA_OK; /* nothing worth keeping: start over */
    base = ctx->cfg.layout->slot[ctx->w_slot].off;
    ota_http_close(p->http);
    ota_sha256_start(&p->h);
    for (o = 0; o < off; o += n) {
        n = off - o < sizeof p->http->buf ? off - o : (uint32_t)sizeof p->http->buf;
        if ((rc = ota_flash_read(ctx->cfg.flash, base + o, buf, n)) != OTA_OK)
            return rc;
        ota_sha256_update(&p->h, buf, n);
    }
    p->total = size;
    p->off = off;
    p->started = 1;
    p->resumed = 1;
    p->st->reset_offset = off;
    report(p);
    return OTA_OK;
}

static int sink(void *arg, const uint8_t *data, size_t len)
{
    pull_t *p = (pull_t *)arg;
    int rc;
    if (len > p->limit - p->off)
        return p->sink_err = p->limit_err;
    if ((rc = ota_write(p->ctx, data, (uint32_t)len)) != OTA_OK)
        return p->sink_err = rc;
    ota_sha256_update(&p->h, data, (uint32_t)len);
    p->off += (uint32_t)len;
    p->st->bytes += (uint32_t)len;
    report(p);
    return OTA_OK;
}

static int fatal(pull_t *p, int rc)
{
    p->fatal = 1;
    ota_http_close(p->http);
    return rc;
}

/* Streams the body of the current answer into the writer, up to p->limit. */
static int body(pull_t *p)
{
    int rc;
    p->sink_err = 0;
    rc = ota_http_body(p->http, sink, p);
    if (rc != OTA_OK && rc == p->sink_err)
        return fatal(p, rc);
    if (rc == OTA_OK && p->off < p->limit)
        return OTA_ERR_NET; /* the body ended early (framed by the end of the connection) */
    return rc;
}

/* 206: a continuation, if it starts exactly at p->off of the same file. */
static int on_partial(pull_t *p, const ota_http_req_t *req, const ota_http_resp_t *r)
{
    uint32_t span;
    if (!req->has_range)
        return fatal(p, OTA_ERR_HTTP); /* a partial answer nobody asked for */
    if (p->pinned && r->has_total && r->range_total != p->total)
        return fatal(p, OTA_ERR_CHANGED);
    if (!r->has_range || r->range_first != p->off || !r->has_total || r->range_total != p->total ||
        (r->etag[0] && strcmp(r->etag, p->etag) != 0)) {
        if (p->pinned && r->etag[0] && strcmp(r->etag, p->pinned_etag) != 0)
            return fatal(p, OTA_ERR_CHANGED);
        p->from_zero = 1; /* not a continuation of our bytes: ask for the whole file */
        ota_http_close(p->http);
        return OTA_ERR_HTTP;
    }
    span = r->range_last - r->range_first + 1;
    if (r->has_length && r->length != span) {
        ota_http_close(p->http);
        return OTA_ERR_HTTP;
    }
    p->st->resumes++;
    p->resumed = 1;
    p->limit = r->range_last + 1;
    p->limit_err = OTA_ERR_HTTP;
    return body(p);
}

/* 200: the whole file from byte zero. */
static int on_full(pull_t *p, const ota_http_resp_t *r)
{
    int rc;
    if (p->pinned && r->etag[0] && strcmp(r->etag, p->pinned_etag) != 0)
        return fatal(p, OTA_ERR_CHANGED);
    if (p->o->size && r->has_length && r->length != p->o->size)
        return fatal(p, OTA_ERR_CHANGED);
    if (r->has_length)
        p->total = r->length; /* unpinned: the file may have changed size */
    if (!p->total)
        return fatal(p, OTA_ERR_HTTP); /* no size from the manifest nor from the server */
    if (!p->pinned) {
        if (strong(r->etag))
            memcpy(p->etag, r->etag, strlen(r->etag) + 1);
        else
            p->etag[0] = 0;
    }
    if ((rc = start_fresh(p)) != OTA_OK)
        return fatal(p, rc);
    p->limit = p->total;
    p->limit_err = OTA_ERR_CHANGED; /* a longer body is another file */
    return body(p);
}

/* One request and its answer. Returns OTA_OK when the answer was used up (the image may still be
 * incomplete), else the error; p->fatal says whether it is worth retrying. */
static int attempt(pull_t *p, ota_url_t *url)
{
    ota_http_req_t req;
    ota_http_resp_t r;
    int rc;
    memset(&req, 0, sizeof req);
    req.token = p->o->token;
    if (p->started && p->off > 0 && !p->from_zero && strong(p->etag)) {
        req.has_range = 1;
        req.range_from = p->off;
        req.if_range = p->etag;
    }
    p->fatal = 0;
    p->st->requests++;
    rc = ota_http_request(p->http, url, &req, &r);
    if (rc != OTA_OK) {
        p->fatal = !(rc == OTA_ERR_NET || rc == OTA_ERR_TIMEOUT || rc == OTA_ERR_HTTP);
        return rc;
    }
    if (r.status == 206)
        return on_partial(p, &req, &r);
    if (r.status == 200)
        return on_full(p, &r);
    ota_http_close(p->http);
    if (r.status == 416) {
        /* Our offset is past the end of the file on the server: it is not the file we have. */
        if (p->pinned && r.has_total && r.range_total != p->total)
            return fatal(p, OTA_ERR_CHANGED);
        p->from_zero = 1;
        return OTA_ERR_HTTP_STATUS;
    }
    if (r.status >= 500 || r.status == 408 || r.status == 429)
        return OTA_ERR_HTTP_STATUS; /* the server may recover: retry */
    return fatal(p, OTA_ERR_HTTP_STATUS); /* 4xx: not found, not allowed... */
}

/* All bytes are in: check the hash, then let ota_end() verify the image from flash. Returns
 * OTA_OK, 1 to start over from zero, or an error (the download is then abandoned). */
static int finish(pull_t *p)
{
    uint8_t got[32];
    ota_sha256_finish(&p->h, got);
    if (p->pinned && memcmp(got, p->want, sizeof got) != 0) {
        if (!p->resumed)
            return OTA_ERR_HASH; /* the server's bytes do not match its own manifest */
        p->st->restarts++;
        p->started = 0; /* a resumed prefix was not this file: start over */
        p->from_zero = 1;
        return 1;
    }
    return ota_end(p->ctx);
}

static int pull(ota_ctx_t *ctx, ota_http_t *http, const char *url, const ota_pull_opts_t *opts,
                ota_pull_stats_t *stats)
{
    const ota_platform_ops_t *plat = http->cfg.platform;
    ota_pull_stats_t local;
    unsigned fails = 0, max = opts->max_retries ? opts->max_retries : DEFAULT_RETRIES;
    uint32_t best, step = opts->min_progress ? opts->min_progress : DEFAULT_MIN_PROGRESS, delay;
    ota_url_t u;
    pull_t p;
    int rc;
    if ((rc = ota_url_parse(url, &u)) != OTA_OK)
        return rc;
    memset(&p, 0, sizeof p);
    p.ctx = ctx;
    p.http = http;
    p.o = opts;
    p.st = stats ? stats : &local;
    memset(p.st, 0, sizeof *p.st);
    p.total = opts->size;
    if (opts->sha256) {
        if (hex_decode(opts->sha256, p.want) != OTA_OK)
            return OTA_ERR_ARG;
        p.pinned = 1;
        etag_of(p.want, p.pinned_etag);
        memcpy(p.etag, p.pinned_etag, sizeof p.etag);
        /* Only a pinned download can continue after a reset: its entity tag is known. */
        if ((ctx->w_active || ctx->rec.state == OTA_STATE_DOWNLOADING) && (rc = resume_after_reset(&p)) != OTA_OK)
            return rc;
    }
    best = p.off;
    for (;;) {
        if (p.started && p.off == p.total) {
            rc = finish(&p);
            if (rc == OTA_OK || rc < 0)
                break;
            rc = OTA_ERR_HASH; /* start over: counted as a failed attempt */
        } else {
            /* Every attempt starts at the URL given, not where a redirect led: the token goes
             * to that origin only (ota_http_request drops it on the way to another), and an
             * expiring redirect target is asked for afresh. */
            if ((rc = ota_url_parse(url, &u)) != OTA_OK)
                break;
            rc = attempt(&p, &u);
            if (rc == OTA_OK)
                continue;
            if (p.fatal)
                break;
        }
        p.st->failures++;
        p.st->last_error = rc;
        if (p.off > best && p.off - best >= step) { /* well past the furthest point: progress */
            best = p.off;
            fails = 0;
        } else if (++fails > max) {
            ota_http_close(http);
            return rc; /* give up for now; the partial download stays resumable */
        }
        delay = plat && plat->sleep_ms ? opts->retry_delay_ms << (fails > 5 ? 5 : fails ? fails - 1 : 0) : 0;
        if (!ota_deadline_wait(&http->deadline, delay ? delay : 1u)) {
            ota_http_close(http);
            return p.st->last_error = OTA_ERR_TIMEOUT; /* out of time; resumable as above */
        }
        if (delay)
            plat->sleep_ms(plat->ctx, ota_deadline_wait(&http->deadline, delay));
    }
    ota_http_close(http);
    if (rc != OTA_OK) {
        p.st->last_error = rc;
        if (p.started || ctx->w_active)
            ota_abort(ctx);
    }
    return rc;
}

int ota_pull_image(ota_ctx_t *ctx, ota_http_t *http, const char *url, const ota_pull_opts_t *opts,
                   ota_pull_stats_t *stats)
{
    int rc;
    if (!ctx || !http || !url || !opts)
        return OTA_ERR_ARG;
    ota_http_set_deadline(http, opts->deadline_ms ? opts->deadline_ms : DEFAULT_DEADLINE_MS);
    rc = pull(ctx, http, url, opts, stats);
    ota_http_set_deadline(http, 0);
    return rc;
}
