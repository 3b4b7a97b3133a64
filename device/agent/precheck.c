/*
 * The pre-download check (see agent.h, "the pre-check"): two small Range requests fetch the image
 * header and the start of the TLV areas that follow the payload, and the protected TLVs (product,
 * hardware revisions, security counter) are checked against the device before ota_begin() ever
 * touches the flash. The facts are unsigned at this point: this only avoids a wasted download;
 * ota_end() still verifies the signature and checks them all again from flash.
 * Portable C99: no heap, no stdio.
 */
#include <string.h>

#include "otakit/agent.h"
#include "otakit/image.h"

/* The fetched pieces of the image: its header and tlv_len bytes from tlv_off. */
typedef struct {
    uint8_t hdr[OTA_IMAGE_HEADER_SIZE];
    uint8_t tlv[OTA_PRECHECK_TLV_MAX];
    uint32_t tlv_off;
    uint32_t tlv_len;
} pieces_t;

static int pieces_read(void *arg, uint32_t off, void *buf, uint32_t len)
{
    const pieces_t *p = arg;
    if (off <= OTA_IMAGE_HEADER_SIZE && len <= OTA_IMAGE_HEADER_SIZE - off) {
        memcpy(buf, p->hdr + off, len);
        return 0;
    }
    if (off >= p->tlv_off && off - p->tlv_off <= p->tlv_len && len <= p->tlv_len - (off - p->tlv_off)) {
        memcpy(buf, p->tlv + (off - p->tlv_off), len);
        return 0;
    }
    return -1; /* not fetched */
}

/* Reads up to cap body bytes into buf; *n gets how many. *ended is 1 when the body ended. */
static int read_some(ota_http_t *http, uint8_t *buf, uint32_t cap, uint32_t *n, int *ended)
{
    int rc;
    *n = 0;
    *ended = 0;
    while (*n < cap) {
        if ((rc = ota_http_read(http, buf + *n, cap - *n)) < 0)
            return rc;
        if (rc == 0) {
            *ended = 1;
            break;
        }
        *n += (uint32_t)rc;
    }
    return OTA_OK;
}

/* GET url with "Range: bytes=from-"; on a 206 starting at from, reads up to cap bytes into buf and
 * closes the connection unless the body ended. *partial is 0 when the server did not answer with
 * such a 206 (then nothing was read and the connection is closed). */
static int fetch(ota_http_t *http, ota_url_t *u, const char *token, const char *if_range, uint32_t from,
                 uint8_t *buf, uint32_t cap, ota_http_resp_t *r, uint32_t *n, int *partial, ota_precheck_t *out)
{
    ota_http_req_t req;
    int rc, ended;
    memset(&req, 0, sizeof req);
    req.token = token;
    req.has_range = 1;
    req.range_from = from;
    req.if_range = if_range;
    *n = 0;
    *partial = 0;
    out->requests++;
    if ((rc = ota_http_request(http, u, &req, r)) != OTA_OK)
        return rc;
    if (r->status != 206 || !r->has_range || r->range_first != from) {
        ota_http_close(http); /* don't take a whole image we did not ask for */
        if (r->status >= 400 && r->status != 416)
            return OTA_ERR_HTTP_STATUS;
        return OTA_OK;
    }
    *partial = 1;
    rc = read_some(http, buf, cap, n, &ended);
    out->bytes += *n;
    if (rc != OTA_OK || !ended)
        ota_http_close(http); /* the rest of the range is not wanted */
    return rc;
}

int ota_pull_precheck(ota_ctx_t *ctx, ota_http_t *http, const char *url, const char *token, uint32_t size,
                      const ota_version_t *running, ota_precheck_t *out)
{
    pieces_t pc;
    ota_url_t u;
    ota_http_resp_t r;
    char etag[OTA_HTTP_ETAG_MAX];
    ota_image_info_t *info;
    uint32_t n, want;
    int rc, partial;

    if (!ctx || !http || !url || !out)
        return OTA_ERR_ARG;
    memset(out, 0, sizeof *out);
    info = &out->info;
    if ((rc = ota_url_parse(url, &u)) != OTA_OK)
        return rc;

    /* 1. the header: bytes from 0, of which only the first 32 are read */
    if ((rc = fetch(http, &u, token, NULL, 0, pc.hdr, OTA_IMAGE_HEADER_SIZE, &r, &n, &partial, out)) != OTA_OK)
        return rc;
    if (!partial)
        return OTA_OK; /* Range ignored: unchecked, the full verify in ota_end() still protects */
    if (r.has_total) {
        if (size && size != r.range_total)
            return OTA_ERR_CHANGED; /* not the file the manifest describes */
        size = r.range_total;
    }
    if (n < OTA_IMAGE_HEADER_SIZE || !size)
        return OTA_ERR_TRUNCATED;
    memcpy(etag, r.etag, sizeof etag);
    if ((rc = ota_image_header_decode(pc.hdr, &info->hdr)) != OTA_OK)
        return rc;

    /* 2. the TLV areas, right after the payload */
    pc.tlv_off = (uint32_t)info->hdr.hdr_size + info->hdr.img_size;
    if (pc.tlv_off < info->hdr.img_size || pc.tlv_off >= size)
        return OTA_ERR_TRUNCATED;
    want = size - pc.tlv_off < OTA_PRECHECK_TLV_MAX ? size - pc.tlv_off : OTA_PRECHECK_TLV_MAX;
    /* From the URL given again, not where a redirect led: the token goes to its origin only. */
    if ((rc = ota_url_parse(url, &u)) != OTA_OK)
        return rc;
    if ((rc = fetch(http, &u, token, etag[0] ? etag : NULL, pc.tlv_off, pc.tlv, want, &r, &n, &partial, out)) !=
        OTA_OK)
        return rc;
    if (!partial)
        return OTA_OK; /* changed under us (If-Range) or no ranges after all: unchecked */
    pc.tlv_len = n;
    if ((rc = ota_image_layout(pieces_read, &pc, size, &info->hdr, &info->layout)) != OTA_OK)
        return rc == OTA_ERR_IO ? OTA_OK : rc; /* IO: areas larger than fetched, leave it to ota_end */

    /* 3. the protected TLVs, by the verifier's own rules (only those are honoured, as in ota_end) */
    if ((rc = ota_image_read_protected(pieces_read, &pc, &info->layout, info)) != OTA_OK)
        return rc == OTA_ERR_IO ? OTA_OK : rc; /* IO: the protected area is larger than fetched */
    out->checked = 1;

    if (ctx->cfg.product && strcmp(info->product, ctx->cfg.product) != 0)
        return OTA_ERR_PRODUCT;
    if (ctx->cfg.hw_rev && !ota_image_hw_compatible(info, ctx->cfg.hw_rev))
        return OTA_ERR_HW_REV;
    if (info->security_counter < ctx->rec.security_counter)
        return OTA_ERR_DOWNGRADE;
    if (running && ota_version_cmp(&info->hdr.version, running) <= 0)
        return OTA_ERR_DOWNGRADE;
    return OTA_OK;
}
