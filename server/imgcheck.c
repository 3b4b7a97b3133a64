/* Upload checks and version rules (see imgcheck.h). */
#define _GNU_SOURCE
#include "imgcheck.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#define ESP_IMAGE_MAGIC 0xE9u
#define ESP8266_V2_MAGIC 0xEAu
#define ESP_APP_DESC_MAGIC 0xABCD5432UL
#define ESP_APP_DESC_OFF 0x20u
#define ESP_APP_DESC_END 0xD0u /* app_elf_sha256 ends here */
#define ESP_MAX_SEGMENTS 16u

/* ---- small helpers ------------------------------------------------------------------------ */

static int fail(imgcheck_t *o, err_t code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(imgcheck_t *o, err_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->message, sizeof o->message, fmt, ap);
    va_end(ap);
    o->code = code;
    return -1;
}

struct fd_src {
    int fd;
};

/* ota_read_fn over a file descriptor. */
static int fd_read(void *ctx, uint32_t off, void *buf, uint32_t len)
{
    const struct fd_src *s = ctx;
    uint8_t *p = buf;
    while (len) {
        ssize_t n = pread(s->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        off += (uint32_t)n;
        len -= (uint32_t)n;
    }
    return 0;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

/* Copies a fixed-size, NUL-padded string field as printable ASCII (others become '?'). */
static void field_str(const uint8_t *p, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n && p[i]; i++)
        out[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
    out[i] = 0;
}

/* ---- otakit / MCUboot --------------------------------------------------------------------- */

static int check_otakit(int fd, uint64_t size, const ota_pubkey_t *keys, unsigned nkeys, const char *product_id,
                        imgcheck_t *o)
{
    /* An encrypted release stays encrypted on the server: its signature is checked over the
     * plaintext hash it states (the devices check that hash once they decrypt it). */
    ota_verify_cfg_t cfg = {keys, nkeys, OTA_VERIFY_ENC_STATED_HASH};
    ota_image_info_t info;
    struct fd_src src = {fd};
    char hashhex[2 * OTA_HASH_MAX + 1], khex[2 * OTA_HASH_MAX + 1];
    json_t *hw;
    int rc;

    if (size > UINT32_MAX)
        return fail(o, ERR_BAD_IMAGE, "image is larger than 4 GiB");
    if (!nkeys)
        return fail(o, ERR_WRONG_KEY, "product %s has no signing key: it takes only ESP images (ESP-IDF, ESP8266)",
                    product_id);
    rc = ota_image_verify(fd_read, &src, (uint32_t)size, &cfg, &info);
    switch (rc) {
    case OTA_OK:
        break;
    case OTA_ERR_NO_SIGNATURE:
        return fail(o, ERR_UNSIGNED, "%s; sign it with the product's key", ota_strerror(rc));
    case OTA_ERR_KEY_UNKNOWN:
        return fail(o, ERR_WRONG_KEY, "image was signed with a key that is not an active key of product %s",
                    product_id);
    case OTA_ERR_NO_KEYHASH:
    case OTA_ERR_SIGNATURE:
    case OTA_ERR_SIG_FORMAT:
    case OTA_ERR_KEY_FORMAT:
        return fail(o, ERR_BAD_SIGNATURE, "%s", ota_strerror(rc));
    default:
        return fail(o, ERR_BAD_IMAGE, "%s", ota_strerror(rc));
    }
    if (!info.signature_checked)
        return fail(o, ERR_UNSIGNED, "image signature was not checked");
    if (info.product[0] && strcmp(info.product, product_id) != 0)
        return fail(o, ERR_WRONG_PRODUCT, "image is for product %s, not %s", info.product, product_id);

    o->format = IMG_OTAKIT;
    o->semver = info.hdr.version;
    o->has_semver = 1;
    ota_version_format(&info.hdr.version, o->version, sizeof o->version);
    o->security_counter = info.security_counter;
    hex(info.hash, info.hash_len, hashhex);
    hex(info.key_hash, info.hash_len, khex);
    o->meta = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:s}", "format", "otakit", "signature",
                        ota_alg_name(info.sig_alg), "version", o->version,
                        "security_counter", (json_int_t)info.security_counter, "load_addr",
                        (json_int_t)info.hdr.load_addr, "hdr_size", (json_int_t)info.hdr.hdr_size, "img_size",
                        (json_int_t)info.hdr.img_size, "flags", (json_int_t)info.hdr.flags, "image_hash", hashhex);
    if (o->meta && (info.hdr.flags & OTA_IMAGE_F_ENCRYPTED))
        json_object_set_new(o->meta, "encrypted", json_true());
    if (!o->meta)
        return fail(o, ERR_INTERNAL, "out of memory");
    if (info.has_key_hash)
        json_object_set_new(o->meta, "key_hash", json_string(khex));
    if (info.product[0])
        json_object_set_new(o->meta, "product", json_string(info.product));
    hw = json_array();
    if (info.hw_rev[0]) {
        char list[OTA_HW_REV_MAX + 1], *save = NULL, *tok;
        memcpy(list, info.hw_rev, sizeof list);
        for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            json_array_append_new(hw, json_string(tok));
    }
    json_object_set_new(o->meta, "hw_rev", hw);
    return 0;
}

/* ---- Espressif ---------------------------------------------------------------------------- */

/* Walks the segment table of an ESP image whose header is hdr_len bytes: each segment is
 * {u32 load_addr, u32 len, data}. Returns the end offset of the last segment, or 0 when the
 * table is implausible or runs past size. */
static uint64_t esp_segments_end(int fd, uint64_t size, unsigned count, uint64_t hdr_len)
{
    struct fd_src src = {fd};
    uint64_t off = hdr_len;
    uint8_t seg[8];
    unsigned i;
    if (count == 0 || count > ESP_MAX_SEGMENTS)
        return 0;
    for (i = 0; i < count; i++) {
        if (off + 8 > size || fd_read(&src, (uint32_t)off, seg, 8) != 0)
            return 0;
        off += 8 + (uint64_t)le32(seg + 4);
        if (off > size)
            return 0;
    }
    return off;
}

/* The SHA-256 an ESP-IDF image appends when its header's hash_appended byte is 1, checked as the
 * bootloader does (esp-idf components/bootloader_support/src/esp_image_format.c): after the
 * segments, padding and the checksum byte end on a 16-byte boundary; the 32 bytes after that are
 * SHA-256 over everything before them. Returns 0, or -1 with o's error set. */
static int esp_idf_hash_check(int fd, uint64_t size, uint64_t segments_end, imgcheck_t *o)
{
    uint64_t len = (segments_end + 1 + 15) & ~(uint64_t)15, off;
    uint8_t buf[4096], want[32], got[32];
    struct fd_src src = {fd};
    mbedtls_sha256_context c;
    if (len + 32 > size || len > UINT32_MAX || fd_read(&src, (uint32_t)len, want, 32) != 0)
        return fail(o, ERR_BAD_IMAGE, "ESP-IDF image says its SHA-256 is appended, but it ends before the hash "
                                      "(%llu bytes, the hash would end at %llu)",
                    (unsigned long long)size, (unsigned long long)(len + 32));
    mbedtls_sha256_init(&c);
    mbedtls_sha256_starts_ret(&c, 0);
    for (off = 0; off < len; off += sizeof buf) {
        uint32_t n = len - off < sizeof buf ? (uint32_t)(len - off) : (uint32_t)sizeof buf;
        if (fd_read(&src, (uint32_t)off, buf, n) != 0) {
            mbedtls_sha256_free(&c);
            return fail(o, ERR_INTERNAL, "cannot read the upload");
        }
        mbedtls_sha256_update_ret(&c, buf, n);
    }
    mbedtls_sha256_finish_ret(&c, got);
    mbedtls_sha256_free(&c);
    if (memcmp(got, want, 32) != 0)
        return fail(o, ERR_BAD_IMAGE, "ESP-IDF image's appended SHA-256 does not match its contents: it is corrupt, "
                                      "and the device's bootloader would refuse it");
    return 0;
}

static int check_esp_idf(int fd, uint64_t size, const uint8_t *head, imgcheck_t *o)
{
    char version[33], project[33], time_s[17], date_s[17], idf[33], elf[65];
    uint64_t end;
    const uint8_t *d = head + ESP_APP_DESC_OFF;

    if (size < ESP_APP_DESC_END)
        return fail(o, ERR_BAD_IMAGE, "ESP-IDF image is truncated: its app description ends at byte %u", ESP_APP_DESC_END);
    if (!(end = esp_segments_end(fd, size, head[1], 24)))
        return fail(o, ERR_BAD_IMAGE, "ESP-IDF image is truncated or corrupt: its %u segments do not fit in %llu bytes",
                    head[1], (unsigned long long)size);
    if (head[23] == 1 && esp_idf_hash_check(fd, size, end, o) != 0)
        return -1;
    field_str(d + 0x10, 32, version);
    field_str(d + 0x30, 32, project);
    field_str(d + 0x50, 16, time_s);
    field_str(d + 0x60, 16, date_s);
    field_str(d + 0x70, 32, idf);
    hex(d + 0x90, 32, elf);

    o->format = IMG_ESP_IDF;
    snprintf(o->version, sizeof o->version, "%s", version);
    o->has_semver = semver_parse_loose(version, &o->semver) == 0;
    o->security_counter = le32(d + 4);
    o->meta = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:I,s:b}", "format", "esp-idf", "version", version,
                        "project_name", project, "secure_version", (json_int_t)o->security_counter, "idf_ver", idf,
                        "date", date_s, "time", time_s, "app_elf_sha256", elf, "chip_id",
                        (json_int_t)(head[12] | head[13] << 8), "hash_appended", head[23] == 1);
    return o->meta ? 0 : fail(o, ERR_INTERNAL, "out of memory");
}

uint32_t esp8266_fota_slot_max(uint32_t flash_size)
{
    return flash_size >= 1024u * 1024u ? 492u * 1024u : flash_size == 512u * 1024u ? 236u * 1024u : 0;
}

/* The flash size code in the high nibble of header byte 3 (EspClass::magicFlashChipSize). */
static uint32_t esp8266_flash_size(uint8_t b3)
{
    static const uint32_t kb[16] = {512, 256, 1024, 2048, 4096, 2048, 4096, 0, 8192, 16384};
    return kb[b3 >> 4] * 1024u;
}

static int check_esp8266(int fd, uint64_t size, const uint8_t *head, size_t have, imgcheck_t *o)
{
    o->format = IMG_ESP8266;
    if (head[0] != 0x1F && have >= 4)
        o->esp_flash_size = esp8266_flash_size(head[3]);
    if (head[0] == 0x1F) {
        if (have < 2 || head[1] != 0x8B)
            return fail(o, ERR_BAD_IMAGE, "not a gzip file (0x1f without 0x8b)");
        o->meta = json_pack("{s:s,s:s}", "format", "esp8266", "compression", "gzip");
    } else if (head[0] == ESP8266_V2_MAGIC) {
        /* boot_v1.2+ image: 0xEA header, one irom segment, then a v1 (0xE9) image. */
        if (size < 16 || !esp_segments_end(fd, size, 1, 8))
            return fail(o, ERR_BAD_IMAGE, "ESP8266 image is truncated: its irom segment does not fit");
        o->meta = json_pack("{s:s,s:i,s:I,s:I}", "format", "esp8266", "image_version", 2, "entry",
                            (json_int_t)le32(head + 4), "flash_size", (json_int_t)o->esp_flash_size);
    } else {
        if (size < 8 || !esp_segments_end(fd, size, head[1], 8))
            return fail(o, ERR_BAD_IMAGE, "ESP8266 image is truncated or corrupt: its %u segments do not fit in %llu bytes",
                        head[1], (unsigned long long)size);
        o->meta = json_pack("{s:s,s:i,s:i,s:i,s:I,s:I}", "format", "esp8266", "image_version", 1, "segments",
                            head[1], "flash_mode", head[2], "entry", (json_int_t)le32(head + 4), "flash_size",
                            (json_int_t)o->esp_flash_size);
    }
    return o->meta ? 0 : fail(o, ERR_INTERNAL, "out of memory");
}

/* ---- dispatch ----------------------------------------------------------------------------- */

int imgcheck_file(int fd, uint64_t size, const ota_pubkey_t *keys, unsigned nkeys, const char *product_id,
                  imgcheck_t *o)
{
    uint8_t head[ESP_APP_DESC_END];
    struct fd_src src = {fd};
    size_t have = size < sizeof head ? (size_t)size : sizeof head;

    memset(o, 0, sizeof *o);
    if (size == 0)
        return fail(o, ERR_EMPTY, "the request body is empty: send the image bytes");
    if (fd_read(&src, 0, head, (uint32_t)have) != 0)
        return fail(o, ERR_INTERNAL, "cannot read the upload");
    if (have >= 4 && le32(head) == OTA_IMAGE_MAGIC)
        return check_otakit(fd, size, keys, nkeys, product_id, o);
    if (head[0] == ESP_IMAGE_MAGIC && have >= ESP_APP_DESC_OFF + 4 && le32(head + ESP_APP_DESC_OFF) == ESP_APP_DESC_MAGIC)
        return check_esp_idf(fd, size, head, o);
    if (head[0] == ESP_IMAGE_MAGIC || head[0] == ESP8266_V2_MAGIC || head[0] == 0x1F)
        return check_esp8266(fd, size, head, have, o);
    return fail(o, ERR_BAD_IMAGE,
                "not a firmware image: expected an otakit/MCUboot image (magic 0x96f3b83d), an ESP-IDF app or an "
                "ESP8266 image (first byte 0xe9), got first byte 0x%02x",
                head[0]);
}

int imgcheck_other(int fd, uint64_t size, const char *kind, imgcheck_t *o)
{
    uint8_t head[110 + 15];
    struct fd_src src = {fd};
    int swu = !strcmp(kind, "swu");
    memset(o, 0, sizeof *o);
    o->format = swu ? IMG_SWU : IMG_FILE;
    if (size == 0)
        return fail(o, ERR_EMPTY, "the request body is empty: send the file's bytes");
    if (swu) {
        /* cpio newc header: "070701" (or "070702" with CRC), 13 fields of 8 hex digits, then the
         * name; SWUpdate reads sw-description first and refuses a bundle that does not start so. */
        if (size < sizeof head || fd_read(&src, 0, head, sizeof head) != 0)
            return fail(o, ERR_BAD_IMAGE, "not an SWUpdate bundle: shorter than a cpio header");
        if (memcmp(head, "070701", 6) != 0 && memcmp(head, "070702", 6) != 0)
            return fail(o, ERR_BAD_IMAGE, "not an SWUpdate bundle: a .swu is a cpio archive in newc format");
        if (memcmp(head + 110, "sw-description", 15) != 0)
            return fail(o, ERR_BAD_IMAGE, "not an SWUpdate bundle: its first member must be sw-description");
    }
    o->meta = json_pack("{s:s}", "format", imgcheck_format_name(o->format));
    return o->meta ? 0 : fail(o, ERR_INTERNAL, "out of memory");
}

void imgcheck_free(imgcheck_t *o)
{
    json_decref(o->meta);
    o->meta = NULL;
}

const char *imgcheck_format_name(img_format_t f)
{
    return f == IMG_OTAKIT ? "otakit" : f == IMG_ESP_IDF ? "esp-idf" : f == IMG_ESP8266 ? "esp8266"
           : f == IMG_SWU ? "swu" : "file";
}

/* ---- versions ----------------------------------------------------------------------------- */

int semver_parse_loose(const char *s, ota_version_t *out)
{
    char buf[64];
    size_t n;
    if (!s)
        return -1;
    if (*s == 'v' || *s == 'V')
        s++;
    n = strcspn(s, "-");
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    return ota_version_parse(buf, out) == OTA_OK ? 0 : -1;
}

int64_t semver_value(const ota_version_t *v)
{
    uint64_t build = v->build > 0x7fffffffu ? 0x7fffffffu : v->build;
    return (int64_t)((uint64_t)v->major << 55 | (uint64_t)v->minor << 47 | (uint64_t)v->revision << 31 | build);
}

/* Parses a decimal number without leading zeros, at most max_digits digits. */
static int dec(const char **s, unsigned max_digits, uint32_t *out)
{
    const char *p = *s;
    uint32_t v = 0;
    unsigned n = 0;
    if (*p == '0' && p[1] >= '0' && p[1] <= '9')
        return -1;
    while (*p >= '0' && *p <= '9' && n < max_digits) {
        v = v * 10 + (uint32_t)(*p++ - '0');
        n++;
    }
    if (n == 0 || (*p >= '0' && *p <= '9'))
        return -1;
    *s = p;
    *out = v;
    return 0;
}

int esp_label_parse(const char *s, esp_label_t *out)
{
    uint32_t n;
    int i;
    if (!s || (*s != 'v' && *s != 'b'))
        return -1;
    out->type = *s++;
    for (i = 0; i < 3; i++) {
        if (dec(&s, 3, &n) != 0)
            return -1;
        out->n[i] = n;
        if (i < 2 && *s++ != '.')
            return -1;
    }
    if (*s == '.')
        s++; /* "Num3.tPTYPE" in the seed's prototype */
    if (*s++ != 't' || dec(&s, 9, &out->ptype) != 0)
        return -1;
    if (s[0] != '(' || !s[1] || !strchr("olan", s[1]) || s[2] != ')' || s[3])
        return -1;
    out->fota = s[1];
    return 0;
}

void esp_label_format(const esp_label_t *l, char *buf, size_t n)
{
    snprintf(buf, n, "%c%u.%u.%ut%u(%c)", l->type, l->n[0], l->n[1], l->n[2], (unsigned)l->ptype, l->fota);
}

int64_t esp_label_value(const esp_label_t *l)
{
    return (int64_t)l->n[0] * 1000000 + (int64_t)l->n[1] * 1000 + (int64_t)l->n[2];
}

const char *esp_label_conflict(const esp_label_t *e, const esp_label_t *l)
{
    if (e->ptype != l->ptype || esp_label_value(e) != esp_label_value(l))
        return NULL; /* rule 4: other ptypes (and other versions) are independent */
    if (e->type != l->type)
        return "the same version number cannot be both an official (v) and a beta (b) version";
    if (e->fota == 'n' && l->fota == 'n')
        return "a version value may have only one non-upgrade (n) label per ptype";
    if (e->fota != 'n' && l->fota != 'n')
        return "a version value may have only one upgradable (o/l/a) label per ptype";
    return NULL;
}
