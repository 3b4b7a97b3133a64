/*
 * The signature algorithms of MCUboot images: which key DER form is which algorithm, which TLVs
 * and hash each uses, and the dispatch to the verifier the build selected (OTAKIT_SIG_*, see
 * crypto/crypto.h). Facts from MCUboot's own sources: boot/bootutil/src/image_validate.c (TLV per
 * algorithm, key hash with the image's hash), image_ecdsa.c, image_rsa.c (PSS, SHA-256, salt 32),
 * image_ed25519.c (SubjectPublicKeyInfo, 64-byte signature of the 32-byte digest), and imgtool's
 * scripts/imgtool/keys/ (ecdsa.py, rsa.py, ed25519.py) (get_public_bytes: SubjectPublicKeyInfo, PKCS#1 for RSA).
 */
#include <string.h>

#include "otakit/image.h"

#include "crypto/crypto.h"

/* DER SubjectPublicKeyInfo prefixes up to the key bytes: {id-ecPublicKey, secp384r1} + BIT STRING
 * (the 97-byte uncompressed point follows) and {id-Ed25519} + BIT STRING (32 bytes follow). The
 * P-256 one lives with its verifier (ota_p256_key_check). */
static const uint8_t p384_spki_prefix[23] = {0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86,
                                             0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b,
                                             0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00};
static const uint8_t ed25519_spki_prefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                                0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

int ota_key_alg(const uint8_t *der, uint32_t len)
{
    unsigned bits;
    if (!der)
        return OTA_ALG_NONE;
    if (ota_p256_key_check(der, len) == OTA_OK)
        return OTA_ALG_ECDSA_P256;
    if (len == OTA_P384_SPKI_LEN && memcmp(der, p384_spki_prefix, sizeof p384_spki_prefix) == 0 &&
        der[sizeof p384_spki_prefix] == 0x04)
        return OTA_ALG_ECDSA_P384;
    if (len == OTA_ED25519_SPKI_LEN && memcmp(der, ed25519_spki_prefix, sizeof ed25519_spki_prefix) == 0)
        return OTA_ALG_ED25519;
    bits = ota_rsa_key_bits(der, len);
    return bits == 2048 ? OTA_ALG_RSA2048 : bits == 3072 ? OTA_ALG_RSA3072 : OTA_ALG_NONE;
}

int ota_alg_enabled(int alg)
{
    switch (alg) {
    case OTA_ALG_ECDSA_P256:
        return OTAKIT_SIG_ECDSA_P256;
    case OTA_ALG_ECDSA_P384:
        return OTAKIT_SIG_ECDSA_P384;
    case OTA_ALG_RSA2048:
    case OTA_ALG_RSA3072:
        return OTAKIT_SIG_RSA;
    case OTA_ALG_ED25519:
        return OTAKIT_SIG_ED25519;
    default:
        return 0;
    }
}

const char *ota_alg_name(int alg)
{
    switch (alg) {
    case OTA_ALG_ECDSA_P256:
        return "ecdsa-p256";
    case OTA_ALG_ECDSA_P384:
        return "ecdsa-p384";
    case OTA_ALG_RSA2048:
        return "rsa-2048";
    case OTA_ALG_RSA3072:
        return "rsa-3072";
    case OTA_ALG_ED25519:
        return "ed25519";
    default:
        return "none";
    }
}

uint16_t ota_alg_sig_tlv(int alg)
{
    switch (alg) {
    case OTA_ALG_ECDSA_P256:
    case OTA_ALG_ECDSA_P384:
        return OTA_TLV_ECDSA_SIG;
    case OTA_ALG_RSA2048:
        return OTA_TLV_RSA2048_PSS;
    case OTA_ALG_RSA3072:
        return OTA_TLV_RSA3072_PSS;
    case OTA_ALG_ED25519:
        return OTA_TLV_ED25519;
    default:
        return 0;
    }
}

uint32_t ota_alg_hash_len(int alg)
{
    return alg == OTA_ALG_NONE ? 0 : alg == OTA_ALG_ECDSA_P384 ? 48u : 32u;
}

int ota_key_hash_len(const uint8_t *der, uint32_t len, uint32_t hash_len, uint8_t *out)
{
    ota_mem_src_t m;
    if (!der || !out)
        return OTA_ERR_ARG;
    m.p = der;
    m.len = len;
    return ota_image_hash_len(ota_mem_read, &m, len, hash_len, out);
}

int ota_image_hash_len(ota_read_fn read, void *ctx, uint32_t len, uint32_t hash_len, uint8_t *out)
{
#if OTAKIT_SIG_ECDSA_P384
    if (hash_len == 48) {
        uint8_t buf[64];
        ota_sha512_t h;
        uint32_t off = 0;
        int rc = OTA_OK;
        ota_sha512_start_alg(&h, 1);
        while (off < len && rc == OTA_OK) {
            uint32_t n = len - off < sizeof buf ? len - off : (uint32_t)sizeof buf;
            if (read(ctx, off, buf, n) != 0)
                rc = OTA_ERR_IO;
            else
                ota_sha512_update(&h, buf, n);
            off += n;
        }
        ota_sha512_finish(&h, out);
        return rc;
    }
#endif
    if (hash_len == 32)
        return ota_image_hash(read, ctx, len, out);
    return OTA_ERR_CRYPTO;
}

/* Checks sig (siglen bytes, read from the image's signature TLV) over the image digest with the
 * trusted key der of algorithm alg. */
int ota_sig_verify(int alg, const uint8_t *der, uint32_t len, const uint8_t *digest, const uint8_t *sig,
                   uint32_t siglen)
{
    switch (alg) {
#if OTAKIT_SIG_ECDSA_P256
    case OTA_ALG_ECDSA_P256:
        return ota_p256_verify(der, len, digest, sig, siglen);
#endif
#if OTAKIT_SIG_ECDSA_P384
    case OTA_ALG_ECDSA_P384:
        return ota_p384_verify(der, len, digest, sig, siglen);
#endif
#if OTAKIT_SIG_RSA
    case OTA_ALG_RSA2048:
    case OTA_ALG_RSA3072:
        return ota_rsa_pss_verify(der, len, digest, sig, siglen);
#endif
#if OTAKIT_SIG_ED25519
    case OTA_ALG_ED25519:
        return siglen == 64 ? ota_ed25519_verify(der, len, digest, 32, sig) : OTA_ERR_SIG_FORMAT;
#endif
    default:
        (void)der;
        (void)len;
        (void)digest;
        (void)sig;
        (void)siglen;
        return OTA_ERR_KEY_FORMAT;
    }
}
