/*
 * Encrypted images on the device, as a user relies on them, on the host flash simulator:
 *   - imgtool's encrypted vectors open with the device code (ENC_EC256 unwrap, AES-CTR) and
 *     decrypt to imgtool's payload;
 *   - a swap layout keeps the download encrypted in the update slot, verifies it decrypting on the
 *     fly, decrypts it into slot 0 during the swap and re-encrypts the image that leaves slot 0;
 *     a revert puts both back (the failed image as its original ciphertext);
 *   - an A/B layout verifies the ciphertext, then decrypts the image in its own slot through the
 *     scratch (a slot that executes in place cannot run ciphertext), and refuses encrypted images
 *     when it has no scratch;
 *   - the private key comes only from the port's enc_private_key callback: none, or another
 *     device's, and the update is refused with nothing marked; so is any encrypted image when the
 *     build does not enable them (ota_config_t.enc NULL).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "otakit/enc.h"
#include "otakit/encrypt.h"
#include "otakit/fileio.h"
#include "otakit/flash_sim.h"
#include "otakit/keys.h"
#include "otakit/ota.h"
#include "otakit/presets.h"
#include "otakit/sign.h"

#ifndef OTAKIT_ENC_VECTORS
#define OTAKIT_ENC_VECTORS "tests/vectors/imgtool-enc"
#endif

static ota_key_t *sign_key, *dev_key, *other_key;
static uint8_t sign_der[OTA_P256_SPKI_LEN], dev_priv[32], other_priv[32];
static ota_pubkey_t sign_pub;

/* The port's key callback: ctx points to the 32-byte scalar it hands over. */
static int give_key(void *ctx, uint8_t out[32])
{
    memcpy(out, ctx, 32);
    return 0;
}

static ota_platform_ops_t plat_dev, plat_other, plat_none;

static uint8_t *payload(size_t n, uint32_t seed)
{
    uint8_t *p = malloc(n ? n : 1);
    size_t i;
    for (i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (uint8_t)(seed >> 24);
    }
    return p;
}

/* An image signed by sign_key; encrypted for dev_key with key_len 16/32, or plain (0). */
static void make(uint8_t major, size_t n, unsigned key_len, uint8_t **out, size_t *out_len)
{
    ota_sign_opts_t o;
    uint8_t *pl = payload(n, major * 7919u);
    ota_sign_opts_init(&o);
    o.version.major = major;
    o.has_security_counter = 1;
    o.security_counter = major;
    o.product = "acme";
    if (key_len)
        assert_int_equal(ota_sign_image_encrypted(&o, sign_key, dev_key, key_len, pl, n, out, out_len), OTA_OK);
    else
        assert_int_equal(ota_sign_image(&o, sign_key, pl, n, out, out_len), OTA_OK);
    free(pl);
}

/* The plaintext twin of an encrypted image (what slot 0 must hold once it is installed). */
static uint8_t *decrypted(const uint8_t *img, size_t len)
{
    ota_mem_src_t m = {img, (uint32_t)len};
    ota_enc_key_t k;
    uint8_t *p = malloc(len);
    memcpy(p, img, len);
    assert_int_equal(ota_enc_load(ota_mem_read, &m, (uint32_t)len, dev_priv, &k), OTA_OK);
    assert_int_equal(ota_enc_apply(&k, 0, p, (uint32_t)len), OTA_OK);
    return p;
}

static int group_setup(void **state)
{
    (void)state;
    if (ota_key_generate(&sign_key) || ota_key_generate(&dev_key) || ota_key_generate(&other_key) ||
        ota_key_public_der(sign_key, sign_der) || ota_key_private_scalar(dev_key, dev_priv) ||
        ota_key_private_scalar(other_key, other_priv))
        return -1;
    sign_pub.der = sign_der;
    sign_pub.len = sizeof sign_der;
    plat_dev.enc_private_key = give_key;
    plat_dev.ctx = dev_priv;
    plat_other.enc_private_key = give_key;
    plat_other.ctx = other_priv;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ota_key_free(sign_key);
    ota_key_free(dev_key);
    ota_key_free(other_key);
    return 0;
}

/* ---- imgtool's vectors through the device code --------------------------------------------- */

static void test_imgtool_vectors_decrypt(void **state)
{
    static const char *const names[] = {"fw-65537.enc-ec256.bin", "fw-65537.enc-ec256-aes256.bin"};
    static const unsigned key_lens[] = {16, 32};
    char path[512];
    uint8_t *img, *fw, *pem, priv[32];
    size_t len, fw_len, pem_len, i;
    ota_key_t *k;
    (void)state;
    snprintf(path, sizeof path, "%s/enc-ec256-key.pem", OTAKIT_ENC_VECTORS);
    assert_int_equal(ota_file_read(path, &pem, &pem_len), OTA_OK);
    assert_int_equal(ota_key_load_mem(pem, pem_len + 1, &k), OTA_OK);
    assert_int_equal(ota_key_private_scalar(k, priv), OTA_OK);
    ota_key_free(k);
    free(pem);
    snprintf(path, sizeof path, "%s/fw-65537.bin", OTAKIT_ENC_VECTORS);
    assert_int_equal(ota_file_read(path, &fw, &fw_len), OTA_OK);
    for (i = 0; i < 2; i++) {
        ota_mem_src_t m;
        ota_enc_key_t key;
        ota_enc_reader_t dec;
        ota_image_info_t info;
        ota_verify_cfg_t hash_only = {NULL, 0, OTA_VERIFY_HASH_ONLY};
        uint8_t zeros[16] = {0};
        snprintf(path, sizeof path, "%s/%s", OTAKIT_ENC_VECTORS, names[i]);
        assert_int_equal(ota_file_read(path, &img, &len), OTA_OK);
        m.p = img;
        m.len = (uint32_t)len;
        assert_int_equal(ota_enc_load(ota_mem_read, &m, m.len, priv, &key), OTA_OK);
        assert_int_equal(key.key_len, key_lens[i]);
        assert_int_equal(key.start, 0x200);
        assert_int_equal(key.end - key.start, 0x10010); /* imgtool rounds up to whole AES blocks */
        /* Read as it lies, the hash fails; decrypted on the fly it holds. */
        assert_int_equal(ota_image_verify(ota_mem_read, &m, m.len, &hash_only, &info), OTA_ERR_HASH);
        dec.read = ota_mem_read;
        dec.ctx = &m;
        dec.key = &key;
        assert_int_equal(ota_image_verify(ota_enc_read, &dec, m.len, &hash_only, &info), OTA_OK);
        /* The plaintext is imgtool's payload plus 15 zero bytes. */
        assert_int_equal(ota_enc_apply(&key, 0, img, (uint32_t)len), OTA_OK);
        assert_memory_equal(img + 0x200, fw, fw_len);
        assert_memory_equal(img + 0x200 + fw_len, zeros, 0x10010 - fw_len);
        /* Another device's key does not open it; a changed tag neither. */
        assert_int_equal(ota_enc_load(ota_mem_read, &m, m.len, other_priv, &key), OTA_ERR_ENC_TLV);
        free(img);
    }
    free(fw);
}

/* ---- devices ------------------------------------------------------------------------------- */

struct dev {
    ota_flash_sim_t *sim;
    ota_flash_t flash;
    ota_layout_t layout;
    ota_config_t cfg;
    ota_ctx_t ctx;
    uint8_t *mem;
};

static void dev_open(struct dev *d, const char *preset, const ota_platform_ops_t *plat, const uint8_t *factory,
                     size_t factory_len)
{
    const ota_preset_t *p = ota_preset_find(preset);
    ota_flash_sim_cfg_t sc;
    assert_non_null(p);
    memset(d, 0, sizeof *d);
    ota_flash_sim_cfg_preset(&sc, p, 8, 0xff);
    assert_int_equal(ota_flash_sim_open(&sc, &d->sim), OTA_OK);
    ota_flash_sim_bind(d->sim, &d->flash);
    d->mem = ota_flash_sim_data(d->sim);
    d->layout = p->layout;
    memcpy(d->mem + d->layout.slot[0].off, factory, factory_len);
    d->cfg.flash = &d->flash;
    d->cfg.layout = &d->layout;
    d->cfg.keys = &sign_pub;
    d->cfg.n_keys = 1;
    d->cfg.product = "acme";
    d->cfg.platform = plat;
    d->cfg.enc = &ota_enc_ecies_p256;
}

static int download(struct dev *d, const uint8_t *img, size_t len)
{
    uint32_t off = 0;
    int rc;
    assert_int_equal(ota_init(&d->ctx, &d->cfg), OTA_OK);
    if ((rc = ota_begin(&d->ctx, (uint32_t)len)) != OTA_OK)
        return rc;
    while (off < len) {
        uint32_t n = len - off < 1000 ? (uint32_t)(len - off) : 1000;
        assert_int_equal(ota_write(&d->ctx, img + off, n), OTA_OK);
        off += n;
    }
    return ota_end(&d->ctx);
}

static void boot(struct dev *d, ota_boot_result_t *r)
{
    assert_int_equal(ota_init(&d->ctx, &d->cfg), OTA_OK);
    assert_int_equal(ota_boot(&d->ctx, r), OTA_OK);
    assert_int_equal(ota_init(&d->ctx, &d->cfg), OTA_OK); /* the firmware's own */
}

/* A test's images: v[i] signed as version i and downloaded as it is, p[i] its plaintext (NULL when
 * v[i] is plain), from a zeroed struct imgs; done() closes the device and frees them. */
struct imgs {
    uint8_t *v[4], *p[4];
    size_t n[4];
};

static void add(struct imgs *s, uint8_t major, size_t n, unsigned key_len)
{
    make(major, n, key_len, &s->v[major], &s->n[major]);
    s->p[major] = key_len ? decrypted(s->v[major], s->n[major]) : NULL;
}

static void done(struct dev *d, struct imgs *s)
{
    size_t i;
    ota_flash_sim_close(d->sim);
    for (i = 0; i < 4; i++) {
        free(s->v[i]);
        free(s->p[i]);
    }
}

static void test_swap_install_and_revert(void **state)
{
    unsigned key_len;
    (void)state;
    for (key_len = 16; key_len <= 32; key_len += 16) {
        struct imgs s = {0};
        struct dev d;
        ota_boot_result_t r;
        add(&s, 1, 9000, key_len); /* factory: encrypted image, programmed decrypted (imgtool --clear) */
        add(&s, 2, 13001, key_len);
        dev_open(&d, "swap-256k", &plat_dev, s.p[1], s.n[1]);

        assert_int_equal(download(&d, s.v[2], s.n[2]), OTA_OK);
        /* At rest in the update slot: the ciphertext, as downloaded. */
        assert_memory_equal(d.mem + d.layout.slot[1].off, s.v[2], s.n[2]);
        assert_memory_not_equal(d.mem + d.layout.slot[1].off, s.p[2], s.n[2]);
        boot(&d, &r);
        assert_int_equal(r.slot, 0);
        assert_int_equal(r.swapped, 1);
        assert_int_equal(r.state, OTA_STATE_TESTING);
        assert_int_equal(r.version.major, 2);
        /* Decrypted into the executable slot; the old image left re-encrypted with its own key. */
        assert_memory_equal(d.mem + d.layout.slot[0].off, s.p[2], s.n[2]);
        assert_memory_equal(d.mem + d.layout.slot[1].off, s.v[1], s.n[1]);
        {   /* The scratch holds what left slot 0 last (v1's plaintext, there anyway), never v2's. */
            uint8_t want[4096];
            size_t last = (s.n[2] - 1) / 4096 * 4096;
            memset(want, 0xff, sizeof want);
            if (s.n[1] > last)
                memcpy(want, s.p[1] + last, s.n[1] - last < 4096 ? s.n[1] - last : 4096);
            assert_memory_equal(d.mem + d.layout.scratch.off, want, sizeof want);
        }

        /* Not confirmed: the next boot reverts. */
        boot(&d, &r);
        assert_int_equal(r.rolled_back, 1);
        assert_int_equal(r.version.major, 1);
        assert_int_equal(r.state, OTA_STATE_FAILED);
        assert_memory_equal(d.mem + d.layout.slot[0].off, s.p[1], s.n[1]);
        assert_memory_equal(d.mem + d.layout.slot[1].off, s.v[2], s.n[2]); /* its ciphertext again */

        /* Again, and this time it confirms. */
        assert_int_equal(download(&d, s.v[2], s.n[2]), OTA_OK);
        boot(&d, &r);
        assert_int_equal(r.version.major, 2);
        assert_int_equal(ota_confirm(&d.ctx), OTA_OK);
        boot(&d, &r);
        assert_int_equal(r.state, OTA_STATE_CONFIRMED);
        assert_memory_equal(d.mem + d.layout.slot[0].off, s.p[2], s.n[2]);
        done(&d, &s);
    }
}

static void test_plain_to_encrypted_and_back(void **state)
{
    struct imgs s = {0};
    struct dev d;
    ota_boot_result_t r;
    (void)state;
    add(&s, 1, 5000, 0); /* a plain factory image */
    add(&s, 2, 20000, 16);
    add(&s, 3, 7000, 0); /* a plain update after an encrypted one */
    dev_open(&d, "stm32f4-1m", &plat_dev, s.v[1], s.n[1]);
    assert_int_equal(download(&d, s.v[2], s.n[2]), OTA_OK);
    boot(&d, &r);
    assert_int_equal(r.version.major, 2);
    assert_memory_equal(d.mem + d.layout.slot[0].off, s.p[2], s.n[2]);
    assert_memory_equal(d.mem + d.layout.slot[1].off, s.v[1], s.n[1]); /* plain stays plain */
    assert_int_equal(ota_confirm(&d.ctx), OTA_OK);
    assert_int_equal(download(&d, s.v[3], s.n[3]), OTA_OK);
    boot(&d, &r);
    assert_int_equal(r.version.major, 3);
    assert_memory_equal(d.mem + d.layout.slot[0].off, s.v[3], s.n[3]);
    assert_memory_equal(d.mem + d.layout.slot[1].off, s.v[2], s.n[2]); /* v2 leaves re-encrypted */
    done(&d, &s);
}

static void test_key_only_from_the_port(void **state)
{
    struct imgs s = {0};
    struct dev d;
    ota_boot_result_t r;
    (void)state;
    add(&s, 1, 4000, 16);
    add(&s, 2, 6000, 16);
    dev_open(&d, "swap-256k", &plat_none, s.p[1], s.n[1]);
    assert_int_equal(download(&d, s.v[2], s.n[2]), OTA_ERR_ENC_KEY);
    assert_int_not_equal(d.ctx.rec.state, OTA_STATE_NEW);
    d.cfg.platform = NULL;
    assert_int_equal(download(&d, s.v[2], s.n[2]), OTA_ERR_ENC_KEY);
    d.cfg.platform = &plat_other; /* another device's key: the TLV does not open */
    assert_int_equal(download(&d, s.v[2], s.n[2]), OTA_ERR_ENC_TLV);
    assert_int_not_equal(d.ctx.rec.state, OTA_STATE_NEW);
    d.cfg.platform = &plat_dev; /* a build that does not enable encrypted images refuses them */
    d.cfg.enc = NULL;
    assert_int_equal(download(&d, s.v[2], s.n[2]), OTA_ERR_FLAGS);
    assert_int_not_equal(d.ctx.rec.state, OTA_STATE_NEW);
    d.cfg.enc = &ota_enc_ecies_p256;
    boot(&d, &r);
    assert_int_equal(r.version.major, 1);
    assert_int_equal(r.swapped, 0);
    assert_memory_equal(d.mem + d.layout.slot[0].off, s.p[1], s.n[1]);
    /* A modified ciphertext byte fails the plaintext's hash. */
    d.cfg.platform = &plat_dev;
    s.v[2][600] ^= 1;
    assert_int_equal(download(&d, s.v[2], s.n[2]), OTA_ERR_HASH);
    done(&d, &s);
}

static void test_ab_decrypts_in_place(void **state)
{
    struct imgs s = {0};
    struct dev d;
    ota_boot_result_t r;
    (void)state;
    add(&s, 1, 8000, 0);
    add(&s, 2, 30001, 32);

    /* esp8266-512k has no scratch: an encrypted image cannot be made runnable in place. */
    dev_open(&d, "esp8266-512k", &plat_dev, s.v[1], s.n[1]);
    assert_int_equal(download(&d, s.v[2], s.n[2]), OTA_ERR_LAYOUT);
    boot(&d, &r);
    assert_int_equal(r.version.major, 1);
    /* With the 4K reserved sector between the slots as scratch, it is. */
    d.layout.scratch.off = 256 * 1024;
    d.layout.scratch.size = 4096;
    assert_int_equal(download(&d, s.v[2], s.n[2]), OTA_OK);
    assert_memory_equal(d.mem + d.layout.slot[1].off, s.v[2], s.n[2]); /* encrypted at rest */
    boot(&d, &r);
    assert_int_equal(r.slot, 1);
    assert_int_equal(r.state, OTA_STATE_TESTING);
    assert_int_equal(r.version.major, 2);
    assert_memory_equal(d.mem + d.layout.slot[1].off, s.p[2], s.n[2]); /* runs in place: plaintext */
    assert_memory_equal(d.mem + d.layout.slot[0].off, s.v[1], s.n[1]);
    assert_int_equal(ota_confirm(&d.ctx), OTA_OK);
    boot(&d, &r);
    assert_int_equal(r.slot, 1);
    assert_int_equal(r.state, OTA_STATE_CONFIRMED);
    done(&d, &s);
}

/* imgtool's encrypted image, downloaded and installed by the device like any other. */
static void test_imgtool_image_installs(void **state)
{
    static const char *const names[] = {"fw-65537.enc-ec256.bin", "fw-65537.enc-ec256-aes256.bin"};
    char path[512];
    uint8_t *fw, *factory, *img, priv[32], der[OTA_P256_SPKI_LEN];
    size_t fw_len, factory_len, len, i;
    ota_key_t *k;
    ota_pubkey_t pub;
    ota_platform_ops_t plat;
    (void)state;
    snprintf(path, sizeof path, "%s/enc-ec256-key.pem", OTAKIT_ENC_VECTORS);
    assert_int_equal(ota_key_load(path, &k), OTA_OK);
    assert_int_equal(ota_key_private_scalar(k, priv), OTA_OK);
    ota_key_free(k);
    snprintf(path, sizeof path, "%s/ec256-pub.pem", OTAKIT_VECTORS);
    assert_int_equal(ota_key_load(path, &k), OTA_OK);
    assert_int_equal(ota_key_public_der(k, der), OTA_OK);
    ota_key_free(k);
    pub.der = der;
    pub.len = sizeof der;
    memset(&plat, 0, sizeof plat);
    plat.enc_private_key = give_key;
    plat.ctx = priv;
    snprintf(path, sizeof path, "%s/fw-65537.bin", OTAKIT_ENC_VECTORS);
    assert_int_equal(ota_file_read(path, &fw, &fw_len), OTA_OK);
    snprintf(path, sizeof path, "%s/fw-1000.signed.bin", OTAKIT_VECTORS);
    assert_int_equal(ota_file_read(path, &factory, &factory_len), OTA_OK);
    for (i = 0; i < 2; i++) {
        struct dev d;
        ota_boot_result_t r;
        snprintf(path, sizeof path, "%s/%s", OTAKIT_ENC_VECTORS, names[i]);
        assert_int_equal(ota_file_read(path, &img, &len), OTA_OK);
        dev_open(&d, "swap-256k", &plat, factory, factory_len);
        d.cfg.keys = &pub;
        d.cfg.product = NULL;
        assert_int_equal(download(&d, img, len), OTA_OK);
        boot(&d, &r);
        assert_int_equal(r.swapped, 1);
        assert_int_equal(r.version.major, 1);
        assert_int_equal(r.version.minor, 2);
        assert_int_equal(r.state, OTA_STATE_TESTING);
        assert_memory_equal(d.mem + d.layout.slot[0].off + 0x200, fw, fw_len);
        assert_memory_equal(d.mem + d.layout.slot[1].off, factory, factory_len);
        ota_flash_sim_close(d.sim);
        free(img);
    }
    free(fw);
    free(factory);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_imgtool_vectors_decrypt),
        cmocka_unit_test(test_imgtool_image_installs),
        cmocka_unit_test(test_swap_install_and_revert),
        cmocka_unit_test(test_plain_to_encrypted_and_back),
        cmocka_unit_test(test_key_only_from_the_port),
        cmocka_unit_test(test_ab_decrypts_in_place),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
