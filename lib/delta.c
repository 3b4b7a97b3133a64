/*
 * Delta patches, host side (otakit/delta_make.h): bsdiff's difference (Percival's scheme, over a
 * suffix array built by libdivsufsort), the instruction stream otakit/delta.h describes, LZSS
 * blocks with a hash chain, and the signed header.
 */
#include "otakit/delta_make.h"

#include <divsufsort.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <stdlib.h>
#include <string.h>

#include "otakit/delta.h"

#define MIN_MATCH 3u
#define CHAIN_DEPTH 256u
#define HASH_BITS 14u

void ota_delta_params_init(ota_delta_params_t *p)
{
    p->window_bits = 10;
    p->lookahead_bits = 8;
    p->block_max = 1024;
}

/* ---- a growing byte buffer ----------------------------------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
    int oom;
} vec_t;

static void put(vec_t *v, const void *src, size_t n)
{
    if (v->oom)
        return;
    if (v->n + n > v->cap) {
        size_t cap = v->cap ? v->cap : 4096;
        uint8_t *q;
        while (cap < v->n + n)
            cap *= 2;
        if (!(q = realloc(v->p, cap))) {
            v->oom = 1;
            return;
        }
        v->p = q;
        v->cap = cap;
    }
    memcpy(v->p + v->n, src, n);
    v->n += n;
}

static void put_varint(vec_t *v, uint32_t x)
{
    uint8_t b[5];
    size_t n = 0;
    while (x >= 0x80) {
        b[n++] = (uint8_t)(x | 0x80);
        x >>= 7;
    }
    b[n++] = (uint8_t)x;
    put(v, b, n);
}

/* ---- the difference (bsdiff's scheme) ---------------------------------------------------- */

static size_t match_len(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t i, n = an < bn ? an : bn;
    for (i = 0; i < n && a[i] == b[i]; i++)
        ;
    return i;
}

/* The longest match of nw[0..nn) among the base's suffixes: its length, and its position in *pos. */
static size_t search(const saidx_t *sa, const uint8_t *old, size_t on, const uint8_t *nw, size_t nn, size_t *pos)
{
    size_t st = 0, en = on - 1;
    while (en - st >= 2) {
        size_t x = st + (en - st) / 2, l = on - (size_t)sa[x];
        if (memcmp(old + sa[x], nw, l < nn ? l : nn) < 0)
            st = x;
        else
            en = x;
    }
    {
        size_t a = match_len(old + sa[st], on - (size_t)sa[st], nw, nn);
        size_t b = match_len(old + sa[en], on - (size_t)sa[en], nw, nn);
        *pos = (size_t)(a > b ? sa[st] : sa[en]);
        return a > b ? a : b;
    }
}

static void add_op(vec_t *s, ota_delta_stats_t *stt, const uint8_t *old, const uint8_t *nw, size_t lastscan,
                   size_t lastpos, size_t lenf, size_t extra_from, size_t extra_len, long long seek)
{
    size_t i;
    uint32_t z = seek < 0 ? (uint32_t)((-seek - 1) * 2 + 1) : (uint32_t)(seek * 2);
    put_varint(s, (uint32_t)lenf);
    put_varint(s, (uint32_t)extra_len);
    put_varint(s, z);
    for (i = 0; i < lenf; i++) {
        uint8_t d = (uint8_t)(nw[lastscan + i] - old[lastpos + i]);
        put(s, &d, 1);
    }
    put(s, nw + extra_from, extra_len);
    stt->ops++;
    stt->diff_bytes += lenf;
    stt->extra_bytes += extra_len;
}

static int diff(const uint8_t *old, size_t on, const uint8_t *nw, size_t nn, vec_t *s, ota_delta_stats_t *stt)
{
    saidx_t *sa = malloc(on * sizeof *sa);
    size_t scan = 0, len = 0, pos = 0, lastscan = 0, lastpos = 0;
    long long lastoffset = 0;
    if (!sa || divsufsort(old, sa, (saidx_t)on) != 0) {
        free(sa);
        return OTA_ERR_NO_MEM;
    }
    while (scan < nn) {
        size_t oldscore = 0, scsc;
        for (scsc = scan += len; scan < nn; scan++) {
            len = search(sa, old, on, nw + scan, nn - scan, &pos);
            for (; scsc < scan + len; scsc++)
                if ((long long)scsc + lastoffset >= 0 && (long long)scsc + lastoffset < (long long)on &&
                    old[scsc + lastoffset] == nw[scsc])
                    oldscore++;
            if ((len == oldscore && len != 0) || len > oldscore + 8)
                break;
            if ((long long)scan + lastoffset >= 0 && (long long)scan + lastoffset < (long long)on &&
                old[scan + lastoffset] == nw[scan])
                oldscore--;
        }
        if (len != oldscore || scan == nn) {
            long long sc = 0, best = 0;
            size_t lenf = 0, lenb = 0, i;
            for (i = 0; lastscan + i < scan && lastpos + i < on;) {
                if (old[lastpos + i] == nw[lastscan + i])
                    sc++;
                i++;
                if (sc * 2 - (long long)i > best * 2 - (long long)lenf) {
                    best = sc;
                    lenf = i;
                }
            }
            if (scan < nn) {
                sc = best = 0;
                for (i = 1; scan >= lastscan + i && pos >= i; i++) {
                    if (old[pos - i] == nw[scan - i])
                        sc++;
                    if (sc * 2 - (long long)i > best * 2 - (long long)lenb) {
                        best = sc;
                        lenb = i;
                    }
                }
            }
            if (lastscan + lenf > scan - lenb) {
                size_t overlap = (lastscan + lenf) - (scan - lenb), lens = 0;
                sc = best = 0;
                for (i = 0; i < overlap; i++) {
                    if (nw[lastscan + lenf - overlap + i] == old[lastpos + lenf - overlap + i])
                        sc++;
                    if (nw[scan - lenb + i] == old[pos - lenb + i])
                        sc--;
                    if (sc > best) {
                        best = sc;
                        lens = i + 1;
                    }
                }
                lenf += lens - overlap;
                lenb -= lens;
            }
            add_op(s, stt, old, nw, lastscan, lastpos, lenf, lastscan + lenf, (scan - lenb) - (lastscan + lenf),
                   scan < nn ? (long long)(pos - lenb) - (long long)(lastpos + lenf) : 0);
            lastscan = scan - lenb;
            lastpos = pos - lenb;
            lastoffset = (long long)pos - (long long)scan;
        }
    }
    free(sa);
    return s->oom ? OTA_ERR_NO_MEM : OTA_OK;
}

/* ---- LZSS blocks ---------------------------------------------------------------------------- */

typedef struct {
    vec_t out;
    uint32_t acc;
    unsigned nacc;
    size_t bits;
} bits_t;

static void put_bits(bits_t *b, uint32_t v, unsigned n)
{
    while (n--) {
        b->acc = (b->acc << 1) | ((v >> n) & 1u);
        b->bits++;
        if (++b->nacc == 8) {
            uint8_t c = (uint8_t)b->acc;
            put(&b->out, &c, 1);
            b->acc = 0;
            b->nacc = 0;
        }
    }
}

static void flush_bits(bits_t *b)
{
    if (b->nacc)
        put_bits(b, 0, 8 - b->nacc);
}

static uint32_t hash3(const uint8_t *p)
{
    return ((uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]) * 2654435761u >> (32 - HASH_BITS);
}

/* Compresses s[start..) until the block is full or s ends; returns where the block ended. */
static size_t lz_block(const uint8_t *s, size_t n, size_t start, const ota_delta_params_t *p, long *head,
                       long *prev, bits_t *b)
{
    size_t i = start, cap = (size_t)p->block_max * 8, wmax = (size_t)1 << p->window_bits;
    size_t lmax = ((size_t)1 << p->lookahead_bits) + MIN_MATCH - 1;
    unsigned bref = 1 + p->window_bits + p->lookahead_bits;
    memset(head, 0xff, sizeof(long) << HASH_BITS);
    while (i < n) {
        size_t best = 0, bdist = 0, k, depth = 0;
        if (i + MIN_MATCH <= n) {
            long j = head[hash3(s + i)];
            while (j >= (long)start && i - (size_t)j <= wmax && depth++ < CHAIN_DEPTH) {
                size_t m = match_len(s + j, n - (size_t)j, s + i, n - i);
                if (m > lmax)
                    m = lmax;
                if (m > best) {
                    best = m;
                    bdist = i - (size_t)j;
                    if (m == lmax)
                        break;
                }
                j = prev[j];
            }
        }
        if (best >= MIN_MATCH) {
            if (b->bits + bref > cap)
                break;
            put_bits(b, 0, 1);
            put_bits(b, (uint32_t)(bdist - 1), p->window_bits);
            put_bits(b, (uint32_t)(best - MIN_MATCH), p->lookahead_bits);
        } else {
            if (b->bits + 9 > cap)
                break;
            best = 1;
            put_bits(b, 1, 1);
            put_bits(b, s[i], 8);
        }
        for (k = 0; k < best; k++, i++) {
            if (i + MIN_MATCH <= n) {
                uint32_t h = hash3(s + i);
                prev[i] = head[h];
                head[h] = (long)i;
            }
        }
    }
    flush_bits(b);
    return i;
}

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    (void)mbedtls_sha256(p, n, out, 0);
#else
    (void)mbedtls_sha256_ret(p, n, out, 0);
#endif
}

int ota_delta_make(const uint8_t *base, size_t base_len, const uint8_t *target, size_t target_len,
                   const ota_delta_params_t *p, const ota_key_t *key, uint8_t **out, size_t *out_len,
                   ota_delta_stats_t *stats)
{
    vec_t s = {0}, body = {0};
    ota_delta_stats_t local;
    size_t *starts = NULL, nb = 0, capb = 0, pos = 0, i, siglen = 0;
    long *head = NULL, *prev = NULL;
    uint8_t next[32] = {0}, hdr[OTA_DELTA_HDR_SIZE], h[32];
    int rc;
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof *stats);
    if (!base || !target || !p || !key || !out || !out_len || !base_len || !target_len ||
        base_len > 0x7fffffffu || target_len > 0xffffffffu || p->window_bits < 4 || p->window_bits > 15 ||
        p->lookahead_bits < 2 || p->lookahead_bits > 8 || p->block_max < 64 || p->block_max > 0xffff)
        return OTA_ERR_ARG;
    if (!ota_key_is_private(key))
        return OTA_ERR_KEY_PUBLIC;
    if ((rc = diff(base, base_len, target, target_len, &s, stats)) != OTA_OK)
        goto out;
    stats->stream_bytes = s.n;
    rc = OTA_ERR_NO_MEM;
    head = malloc(sizeof(long) << HASH_BITS);
    prev = malloc((s.n + 1) * sizeof *prev);
    if (!head || !prev)
        goto out;
    /* Blocks front to back; each one's payload, then its length, go in body; hashes come after. */
    while (pos < s.n) {
        bits_t b = {{0}, 0, 0, 0};
        size_t end = lz_block(s.p, s.n, pos, p, head, prev, &b);
        uint8_t len[2];
        if (nb == capb) {
            size_t *q = realloc(starts, (capb = capb ? capb * 2 : 64) * sizeof *q);
            if (!q) {
                free(b.out.p);
                goto out;
            }
            starts = q;
        }
        starts[nb++] = body.n;
        len[0] = (uint8_t)b.out.n;
        len[1] = (uint8_t)(b.out.n >> 8);
        put(&body, len, 2);
        put(&body, b.out.p, b.out.n);
        put(&body, next, 32); /* the next block's hash, filled in below */
        free(b.out.p);
        pos = end;
    }
    if (body.oom)
        goto out;
    /* The hash chain, back to front: each block names the hash of the one after it. */
    for (i = nb; i-- > 0;) {
        size_t n = (size_t)body.p[starts[i]] | (size_t)body.p[starts[i] + 1] << 8;
        memcpy(body.p + starts[i] + 2 + n, next, 32);
        sha256(body.p + starts[i], 2 + n + 32, next);
    }
    stats->blocks = nb;
    memset(hdr, 0, sizeof hdr);
    memcpy(hdr, OTA_DELTA_MAGIC, 4);
    hdr[4] = OTA_DELTA_FORMAT;
    hdr[5] = (uint8_t)p->window_bits;
    hdr[6] = (uint8_t)p->lookahead_bits;
#define LE32(o, v) (hdr[o] = (uint8_t)(v), hdr[o + 1] = (uint8_t)((v) >> 8), hdr[o + 2] = (uint8_t)((v) >> 16), \
                    hdr[o + 3] = (uint8_t)((v) >> 24))
    LE32(8, p->block_max);
    LE32(12, (uint32_t)base_len);
    LE32(16, (uint32_t)target_len);
    LE32(20, (uint32_t)body.n);
#undef LE32
    sha256(base, base_len, hdr + 24);
    sha256(target, target_len, hdr + 56);
    memcpy(hdr + 88, next, 32);
    sha256(hdr, OTA_DELTA_SIGNED, h);
    if ((rc = ota_key_sign_hash(key, h, hdr + OTA_DELTA_SIGNED + 2, &siglen)) != OTA_OK)
        goto out;
    if (siglen > OTA_DELTA_HDR_SIZE - OTA_DELTA_SIGNED - 2) {
        rc = OTA_ERR_CRYPTO;
        goto out;
    }
    hdr[OTA_DELTA_SIGNED] = (uint8_t)siglen;
    hdr[OTA_DELTA_SIGNED + 1] = 0;
    rc = OTA_ERR_NO_MEM;
    if (!(*out = malloc(sizeof hdr + body.n)))
        goto out;
    memcpy(*out, hdr, sizeof hdr);
    memcpy(*out + sizeof hdr, body.p, body.n);
    *out_len = sizeof hdr + body.n;
    rc = OTA_OK;
out:
    free(s.p);
    free(body.p);
    free(starts);
    free(head);
    free(prev);
    return rc;
}
