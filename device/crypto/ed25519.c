/*
 * Ed25519 (RFC 8032) for MCUboot's ED25519 signature TLV: verification for the device, and
 * signing for the host tools (OTAKIT_ED25519_SIGN). mbedTLS has no Ed25519, so this file carries
 * its own arithmetic: portable C99, no heap, SHA-512 from crypto/sha512.c.
 *
 * Field elements mod p = 2^255 - 19 are 16 signed 64-bit limbs of 16 bits each (value =
 * sum l[i] * 2^(16 i)); products are folded with 2^256 = 38 (mod p). Points are extended twisted
 * Edwards coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, xy = T/Z, added with the unified formula
 * "add-2008-hwcd-3" (complete for a = -1 and a non-square d, so it also doubles). Scalar
 * multiplication is a ladder with constant-time swaps; scalars mod L are reduced bit by bit with a
 * constant-time conditional subtraction. Slow but small, which suits a bootloader that checks one
 * signature per boot.
 */
#include "crypto.h"

#if OTAKIT_SIG_ED25519

#include <string.h>

#include "otakit/bytes.h"
#include "otakit/err.h"
#include "otakit/image.h"

#include "core/le.h"

typedef int64_t fe[16];

typedef struct {
    fe x, y, z, t;
} point;

/* d = -121665/121666, 2d, sqrt(-1) and the base point B (x, y), all mod p. */
static const fe fe_d2 = {0xf159, 0x26b2, 0x9b94, 0xebd6, 0xb156, 0x8283, 0x149a, 0x00e0,
                         0xd130, 0xeef3, 0x80f2, 0x198e, 0xfce7, 0x56df, 0xd9dc, 0x2406};
static const fe fe_d = {0x78a3, 0x1359, 0x4dca, 0x75eb, 0xd8ab, 0x4141, 0x0a4d, 0x0070,
                        0xe898, 0x7779, 0x4079, 0x8cc7, 0xfe73, 0x2b6f, 0x6cee, 0x5203};
static const fe fe_sqrtm1 = {0xa0b0, 0x4a0e, 0x1b27, 0xc4ee, 0xe478, 0xad2f, 0x1806, 0x2f43,
                             0xd7a7, 0x3dfb, 0x0099, 0x2b4d, 0xdf0b, 0x4fc1, 0x2480, 0x2b83};
static const fe base_x = {0xd51a, 0x8f25, 0x2d60, 0xc956, 0xa7b2, 0x9525, 0xc760, 0x692c,
                          0xdc5c, 0xfdd6, 0xe231, 0xc0a4, 0x53fe, 0xcd6e, 0x36d3, 0x2169};
static const fe base_y = {0x6658, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666,
                          0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666};
/* The group order L = 2^252 + 27742317777372353535851937790883648493, 32-bit words, LSW first. */
static const uint32_t order_l[8] = {0x5cf5d3ed, 0x5812631a, 0xa2f79cd6, 0x14def9de, 0, 0, 0, 0x10000000};

/* ---- field arithmetic mod p -------------------------------------------------------------- */

static void fe_set(fe o, int64_t v)
{
    memset(o, 0, sizeof(fe));
    o[0] = v;
}

/* Brings each limb into [0, 2^16), the carry out of the top limb folded back times 38. Limbs may
 * be negative on entry; the shift is arithmetic (floor) on every compiler otakit supports. */
static void fe_carry(fe o)
{
    int i;
    for (i = 0; i < 16; i++) {
        int64_t c = o[i] >> 16;
        o[i] -= c * 65536;
        if (i < 15)
            o[i + 1] += c;
        else
            o[0] += 38 * c;
    }
}

static void fe_add(fe o, const fe a, const fe b)
{
    int i;
    for (i = 0; i < 16; i++)
        o[i] = a[i] + b[i];
}

static void fe_sub(fe o, const fe a, const fe b)
{
    int i;
    for (i = 0; i < 16; i++)
        o[i] = a[i] - b[i];
}

static void fe_mul(fe o, const fe a, const fe b)
{
    int64_t t[31];
    int i, j;
    memset(t, 0, sizeof t);
    for (i = 0; i < 16; i++)
        for (j = 0; j < 16; j++)
            t[i + j] += a[i] * b[j];
    for (i = 0; i < 15; i++)
        t[i] += 38 * t[i + 16];
    for (i = 0; i < 16; i++)
        o[i] = t[i];
    fe_carry(o);
    fe_carry(o);
}

static void fe_sq(fe o, const fe a)
{
    fe_mul(o, a, a);
}

/* o = a^(2^255 - 21) = 1/a: the exponent's bits are all ones but bits 4 and 2. */
static void fe_invert(fe o, const fe a)
{
    fe c;
    int i;
    memcpy(c, a, sizeof c);
    for (i = 253; i >= 0; i--) {
        fe_sq(c, c);
        if (i != 4 && i != 2)
            fe_mul(c, c, a);
    }
    memcpy(o, c, sizeof c);
}

/* o = a^((p - 5) / 8) = a^(2^252 - 3): all ones but bit 1. */
static void fe_pow2523(fe o, const fe a)
{
    fe c;
    int i;
    memcpy(c, a, sizeof c);
    for (i = 250; i >= 0; i--) {
        fe_sq(c, c);
        if (i != 1)
            fe_mul(c, c, a);
    }
    memcpy(o, c, sizeof c);
}

/* Swaps p and q when bit is 1, in constant time. */
static void fe_cswap(fe p, fe q, int bit)
{
    int64_t mask = -(int64_t)bit;
    int i;
    for (i = 0; i < 16; i++) {
        int64_t t = mask & (p[i] ^ q[i]);
        p[i] ^= t;
        q[i] ^= t;
    }
}

/* The canonical 32-byte little-endian encoding (value reduced below p). */
static void fe_pack(uint8_t out[32], const fe a)
{
    fe t, m;
    int i, pass;
    memcpy(t, a, sizeof t);
    fe_carry(t);
    fe_carry(t);
    fe_carry(t);
    for (pass = 0; pass < 2; pass++) { /* t < 2p here: subtract p at most twice, keeping t >= 0 */
        int64_t borrow;
        m[0] = t[0] - 0xffed;
        for (i = 1; i < 15; i++) {
            m[i] = t[i] - 0xffff - ((m[i - 1] >> 16) & 1);
            m[i - 1] &= 0xffff;
        }
        m[15] = t[15] - 0x7fff - ((m[14] >> 16) & 1);
        m[14] &= 0xffff;
        borrow = (m[15] >> 16) & 1;
        fe_cswap(t, m, (int)(1 - borrow));
    }
    for (i = 0; i < 16; i++) {
        out[2 * i] = (uint8_t)(t[i] & 0xff);
        out[2 * i + 1] = (uint8_t)((t[i] >> 8) & 0xff);
    }
}

/* Reads 255 bits (the top bit of in[31] is ignored). */
static void fe_unpack(fe o, const uint8_t in[32])
{
    int i;
    for (i = 0; i < 16; i++)
        o[i] = (int64_t)in[2 * i] | (int64_t)in[2 * i + 1] << 8;
    o[15] &= 0x7fff;
}

static int fe_equal(const fe a, const fe b)
{
    uint8_t x[32], y[32];
    fe_pack(x, a);
    fe_pack(y, b);
    return ota_ct_equal(x, y, 32);
}

static int fe_parity(const fe a)
{
    uint8_t x[32];
    fe_pack(x, a);
    return x[0] & 1;
}

/* ---- points ------------------------------------------------------------------------------- */

/* p = p + q (also when p and q are the same point). */
static void point_add(point *p, const point *q)
{
    fe a, b, c, d, e, f, g, h;
    fe_sub(a, p->y, p->x);
    fe_sub(h, q->y, q->x);
    fe_mul(a, a, h);
    fe_add(b, p->x, p->y);
    fe_add(h, q->x, q->y);
    fe_mul(b, b, h);
    fe_mul(c, p->t, q->t);
    fe_mul(c, c, fe_d2);
    fe_mul(d, p->z, q->z);
    fe_add(d, d, d);
    fe_sub(e, b, a);
    fe_sub(f, d, c);
    fe_add(g, d, c);
    fe_add(h, b, a);
    fe_mul(p->x, e, f);
    fe_mul(p->y, h, g);
    fe_mul(p->z, g, f);
    fe_mul(p->t, e, h);
}

static void point_cswap(point *p, point *q, int bit)
{
    fe_cswap(p->x, q->x, bit);
    fe_cswap(p->y, q->y, bit);
    fe_cswap(p->z, q->z, bit);
    fe_cswap(p->t, q->t, bit);
}

/* r = s * q for a 256-bit little-endian scalar s (q is consumed). */
static void point_mul(point *r, point *q, const uint8_t s[32])
{
    int i;
    fe_set(r->x, 0);
    fe_set(r->y, 1);
    fe_set(r->z, 1);
    fe_set(r->t, 0);
    for (i = 255; i >= 0; i--) {
        int bit = (s[i / 8] >> (i & 7)) & 1;
        point_cswap(r, q, bit);
        point_add(q, r);
        point_add(r, r);
        point_cswap(r, q, bit);
    }
}

static void point_base(point *b)
{
    memcpy(b->x, base_x, sizeof(fe));
    memcpy(b->y, base_y, sizeof(fe));
    fe_set(b->z, 1);
    fe_mul(b->t, base_x, base_y);
}

/* The 32-byte encoding: y with the parity of x in the top bit. */
static void point_pack(uint8_t out[32], const point *p)
{
    fe zi, x, y;
    fe_invert(zi, p->z);
    fe_mul(x, p->x, zi);
    fe_mul(y, p->y, zi);
    fe_pack(out, y);
    out[31] ^= (uint8_t)(fe_parity(x) << 7);
}

/* Decodes an encoded point into -P (RFC 8032 5.1.3, then negated for the verification equation).
 * Refuses a y that is not below p, a point off the curve, and x = 0 with the sign bit set.
 * Returns 0 or -1. */
static int point_unpack_neg(point *r, const uint8_t in[32])
{
    fe num, den, den2, den4, t, chk;
    uint8_t canon[32], nz;
    int i;
    fe_set(r->z, 1);
    fe_unpack(r->y, in);
    fe_pack(canon, r->y);
    canon[31] |= (uint8_t)(in[31] & 0x80);
    if (!ota_ct_equal(canon, in, 32))
        return -1;
    fe_sq(num, r->y);
    fe_mul(den, num, fe_d);
    fe_sub(num, num, r->z);  /* y^2 - 1 */
    fe_add(den, den, r->z);  /* d y^2 + 1 */
    fe_sq(den2, den);
    fe_sq(den4, den2);
    fe_mul(t, den4, den2);
    fe_mul(t, t, num);
    fe_mul(t, t, den);       /* num den^7 */
    fe_pow2523(t, t);
    fe_mul(t, t, num);
    fe_mul(t, t, den);
    fe_mul(t, t, den);
    fe_mul(r->x, t, den);    /* candidate x = num den^3 (num den^7)^((p-5)/8) */
    fe_sq(chk, r->x);
    fe_mul(chk, chk, den);
    if (!fe_equal(chk, num))
        fe_mul(r->x, r->x, fe_sqrtm1);
    fe_sq(chk, r->x);
    fe_mul(chk, chk, den);
    if (!fe_equal(chk, num))
        return -1;
    fe_pack(canon, r->x);
    for (i = 0, nz = 0; i < 32; i++)
        nz |= canon[i];
    if ((in[31] >> 7) && nz == 0)
        return -1; /* x = 0 has no negative */
    if (fe_parity(r->x) == (in[31] >> 7)) {
        fe zero;
        fe_set(zero, 0);
        fe_sub(r->x, zero, r->x);
    }
    fe_mul(r->t, r->x, r->y);
    return 0;
}

/* ---- scalars mod L ------------------------------------------------------------------------ */

/* r = the n-byte little-endian number x mod L, one bit at a time with a constant-time subtract. */
static void sc_reduce(uint8_t out[32], const uint8_t *x, unsigned n)
{
    uint32_t r[8], t[8];
    int bit, i;
    memset(r, 0, sizeof r);
    for (bit = (int)(8 * n) - 1; bit >= 0; bit--) {
        uint32_t in = (x[bit / 8] >> (bit & 7)) & 1, mask;
        uint64_t borrow = 0;
        for (i = 7; i > 0; i--) /* r < L < 2^253: 2r + 1 fits */
            r[i] = r[i] << 1 | r[i - 1] >> 31;
        r[0] = r[0] << 1 | in;
        for (i = 0; i < 8; i++) {
            uint64_t d = (uint64_t)r[i] - order_l[i] - borrow;
            t[i] = (uint32_t)d;
            borrow = (d >> 32) & 1;
        }
        mask = (uint32_t)borrow - 1; /* all ones when r >= L */
        for (i = 0; i < 8; i++)
            r[i] = (t[i] & mask) | (r[i] & ~mask);
    }
    for (i = 0; i < 32; i++)
        out[i] = (uint8_t)(r[i / 4] >> (8 * (i % 4)));
}

/* 1 when the 32-byte little-endian s is below L (the canonical S of a signature). */
static int sc_canonical(const uint8_t s[32])
{
    int i;
    for (i = 31; i >= 0; i--) {
        uint8_t l = (uint8_t)(order_l[i / 4] >> (8 * (i % 4)));
        if (s[i] != l)
            return s[i] < l;
    }
    return 0;
}

/* h = SHA-512(R || A || M) mod L. */
static void challenge(uint8_t h[32], const uint8_t r[32], const uint8_t a[32], const uint8_t *msg,
                      uint32_t len)
{
    ota_sha512_t s;
    uint8_t d[64];
    ota_sha512_start(&s);
    ota_sha512_update(&s, r, 32);
    ota_sha512_update(&s, a, 32);
    ota_sha512_update(&s, msg, len);
    ota_sha512_finish(&s, d);
    sc_reduce(h, d, sizeof d);
}

int ota_ed25519_verify(const uint8_t *der, uint32_t len, const uint8_t *msg, uint32_t msglen,
                       const uint8_t sig[64])
{
    const uint8_t *pub = der + OTA_ED25519_SPKI_LEN - 32;
    point a, p, b;
    uint8_t h[32], rcheck[32];

    if (ota_key_alg(der, len) != OTA_ALG_ED25519)
        return OTA_ERR_KEY_FORMAT;
    if (!sc_canonical(sig + 32))
        return OTA_ERR_SIG_FORMAT;
    if (point_unpack_neg(&a, pub) != 0)
        return OTA_ERR_KEY_FORMAT;
    challenge(h, sig, pub, msg, msglen);
    /* [S]B - [h]A must encode to R. */
    point_mul(&p, &a, h);
    point_base(&b);
    point_mul(&a, &b, sig + 32);
    point_add(&p, &a);
    point_pack(rcheck, &p);
    return ota_ct_equal(rcheck, sig, 32) ? OTA_OK : OTA_ERR_SIGNATURE;
}

#if OTAKIT_ED25519_SIGN
/* The secret scalar (clamped first half of SHA-512(seed)) and the nonce prefix (second half). */
static void expand(const uint8_t seed[32], uint8_t az[64])
{
    ota_sha512_t s;
    ota_sha512_start(&s);
    ota_sha512_update(&s, seed, 32);
    ota_sha512_finish(&s, az);
    az[0] &= 248;
    az[31] &= 127;
    az[31] |= 64;
}

void ota_ed25519_public(const uint8_t seed[32], uint8_t pub[32])
{
    uint8_t az[64];
    point b, a;
    expand(seed, az);
    point_base(&b);
    point_mul(&a, &b, az);
    point_pack(pub, &a);
    memset(az, 0, sizeof az);
}

void ota_ed25519_sign(const uint8_t seed[32], const uint8_t *msg, uint32_t len, uint8_t sig[64])
{
    uint8_t az[64], pub[32], nonce[64], r[32], h[32], prod[64];
    uint32_t acc[16];
    uint64_t carry;
    ota_sha512_t s;
    point b, p;
    int i, j;

    ota_ed25519_public(seed, pub);
    expand(seed, az);
    ota_sha512_start(&s);
    ota_sha512_update(&s, az + 32, 32);
    ota_sha512_update(&s, msg, len);
    ota_sha512_finish(&s, nonce);
    sc_reduce(r, nonce, sizeof nonce);
    point_base(&b);
    point_mul(&p, &b, r);
    point_pack(sig, &p);
    challenge(h, sig, pub, msg, len);
    /* S = (r + h a) mod L: the 512-bit h a + r in 32-bit words, then reduced. */
    memset(acc, 0, sizeof acc);
    for (i = 0; i < 8; i++) {
        uint32_t hi = ota_get_le32(h + 4 * i);
        carry = 0;
        for (j = 0; j < 8; j++) {
            uint32_t aj = ota_get_le32(az + 4 * j);
            uint64_t v = (uint64_t)hi * aj + acc[i + j] + carry;
            acc[i + j] = (uint32_t)v;
            carry = v >> 32;
        }
        acc[i + 8] = (uint32_t)carry;
    }
    carry = 0;
    for (i = 0; i < 16; i++) {
        uint64_t v = (uint64_t)acc[i] + carry;
        if (i < 8)
            v += ota_get_le32(r + 4 * i);
        acc[i] = (uint32_t)v;
        carry = v >> 32;
    }
    for (i = 0; i < 64; i++)
        prod[i] = (uint8_t)(acc[i / 4] >> (8 * (i % 4)));
    sc_reduce(sig + 32, prod, sizeof prod);
    memset(az, 0, sizeof az);
    memset(nonce, 0, sizeof nonce);
    memset(r, 0, sizeof r);
}
#endif

#endif /* OTAKIT_SIG_ED25519 */
