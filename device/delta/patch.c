/*
 * The delta patch's header and checkpoint encodings (otakit/delta.h): what is parsed before any
 * byte of a patch is used, and what a reset keeps.
 */
#include <string.h>

#include "otakit/delta.h"

#include "core/le.h"
#include "crypto/crypto.h"

int ota_delta_hdr_parse(const uint8_t *buf, uint32_t len, ota_delta_hdr_t *h)
{
    if (!buf || !h || len < OTA_DELTA_HDR_SIZE || memcmp(buf, OTA_DELTA_MAGIC, 4) != 0 ||
        buf[4] != OTA_DELTA_FORMAT || buf[7] != 0)
        return OTA_ERR_DELTA;
    memset(h, 0, sizeof *h);
    h->window_bits = buf[5];
    h->lookahead_bits = buf[6];
    h->block_max = ota_get_le32(buf + 8);
    h->base_size = ota_get_le32(buf + 12);
    h->target_size = ota_get_le32(buf + 16);
    h->body_size = ota_get_le32(buf + 20);
    memcpy(h->base_sha, buf + 24, 32);
    memcpy(h->target_sha, buf + 56, 32);
    memcpy(h->first_hash, buf + 88, 32);
    if (h->window_bits < 4 || h->window_bits > 15 || h->lookahead_bits < 2 || h->lookahead_bits > 8 ||
        h->block_max == 0 || h->block_max > 0xffffu || h->base_size == 0 || h->target_size == 0 ||
        h->body_size < 2u + 1u + 32u || h->body_size > 0xffffffffu - OTA_DELTA_HDR_SIZE)
        return OTA_ERR_DELTA;
    if (h->window_bits > OTA_DELTA_WINDOW_BITS || h->block_max > OTA_DELTA_BLOCK_MAX)
        return OTA_ERR_DELTA_LIMITS;
    return OTA_OK;
}

int ota_delta_hdr_verify(const uint8_t buf[OTA_DELTA_HDR_SIZE], const ota_pubkey_t *keys, unsigned n_keys)
{
    uint32_t siglen = ota_get_le16(buf + OTA_DELTA_SIGNED), i;
    const uint8_t *sig = buf + OTA_DELTA_SIGNED + 2;
    uint8_t hash[32];
    ota_sha256_t h;
    unsigned k;
    if (siglen < 8 || siglen > OTA_DELTA_HDR_SIZE - OTA_DELTA_SIGNED - 2)
        return OTA_ERR_DELTA;
    for (i = OTA_DELTA_SIGNED + 2 + siglen; i < OTA_DELTA_HDR_SIZE; i++)
        if (buf[i])
            return OTA_ERR_DELTA; /* the padding is part of the format: nothing hides there */
    ota_sha256_start(&h);
    ota_sha256_update(&h, buf, OTA_DELTA_SIGNED);
    ota_sha256_finish(&h, hash);
    for (k = 0; k < n_keys; k++)
        if (ota_p256_verify(keys[k].der, keys[k].len, hash, sig, siglen) == OTA_OK)
            return OTA_OK;
    return OTA_ERR_SIGNATURE;
}

void ota_delta_ckpt_put(const ota_delta_ckpt_t *c, uint8_t out[OTA_DELTA_CKPT_SIZE])
{
    memcpy(out, c->id, 8);
    ota_put_le32(out + 8, c->patch_off);
    ota_put_le32(out + 12, c->out_off);
    ota_put_le32(out + 16, c->old_pos);
    ota_put_le32(out + 20, c->remaining);
    ota_put_le32(out + 24, c->extra_len);
    ota_put_le32(out + 28, c->seek);
    ota_put_le32(out + 32, c->acc);
    out[36] = c->phase;
    out[37] = c->shift;
    out[38] = out[39] = 0;
    memcpy(out + 40, c->hash, 32);
}

int ota_delta_ckpt_get(const uint8_t in[OTA_DELTA_CKPT_SIZE], ota_delta_ckpt_t *c)
{
    memcpy(c->id, in, 8);
    c->patch_off = ota_get_le32(in + 8);
    c->out_off = ota_get_le32(in + 12);
    c->old_pos = ota_get_le32(in + 16);
    c->remaining = ota_get_le32(in + 20);
    c->extra_len = ota_get_le32(in + 24);
    c->seek = ota_get_le32(in + 28);
    c->acc = ota_get_le32(in + 32);
    c->phase = in[36];
    c->shift = in[37];
    memcpy(c->hash, in + 40, 32);
    if (c->phase > 4 || c->shift > 28 || c->shift % 7 || in[38] || in[39] || c->patch_off < OTA_DELTA_HDR_SIZE)
        return OTA_ERR_DELTA;
    return OTA_OK;
}
