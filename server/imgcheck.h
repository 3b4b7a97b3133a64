/*
 * Upload checks: what kind of firmware image a file is, whether the server may accept it, and
 * what it says about itself (version, security counter, product, ...).
 *
 *   otakit / MCUboot   magic 0x96f3b83d: verified with ota_image_verify() against the product's
 *                      key (must be signed by it); version, security counter, product, hw_rev
 *                      come from the signed header and protected TLVs.
 *   ESP-IDF app        first byte 0xE9 and esp_app_desc_t (magic 0xABCD5432) at 0x20: version,
 *                      project_name, secure_version, idf_ver, date, time are read; segments must
 *                      fit in the file.
 *   ESP8266            first byte 0xE9 without an app description (segments must fit), 0xEA
 *                      (boot_v1.2+ user1.bin/user2.bin) or 0x1F 0x8B (gzip): nothing inside names
 *                      a version, so the uploader has to give one.
 *
 * Also the version rules: semver-like versions (otakit) and Espressif version labels
 * "[v|b]N1.N2.N3t<ptype>(o|l|a|n)" (seed 004, section 6), their values and uniqueness rule.
 */
#ifndef OTAKIT_SERVER_IMGCHECK_H
#define OTAKIT_SERVER_IMGCHECK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "otakit/image.h"

/* IMG_SWU and IMG_FILE are artifacts for Linux targets (DDI clients such as SWUpdate): stored and
 * hashed, never parsed as MCU images; the uploader names them with ?kind= and gives the version. */
typedef enum { IMG_OTAKIT = 0, IMG_ESP_IDF = 1, IMG_ESP8266 = 2, IMG_SWU = 3, IMG_FILE = 4 } img_format_t;

/* What imgcheck_file() found. On failure code/message say why (code is an API error: ERR_EMPTY,
 * ERR_BAD_IMAGE, ERR_UNSIGNED, ERR_WRONG_KEY, ERR_BAD_SIGNATURE, ERR_WRONG_PRODUCT or ERR_INTERNAL). */
typedef struct {
    img_format_t format;
    char version[64];          /* version the image names ("" when it names none) */
    int has_semver;            /* semver: the version as a triple (otakit always; ESP-IDF if it parses) */
    ota_version_t semver;
    uint32_t security_counter; /* otakit SEC_CNT, ESP-IDF secure_version, else 0 */
    json_t *meta;              /* owned: everything read, for releases.meta / artifacts.meta */
    uint32_t esp_flash_size;   /* ESP8266: the flash size its header declares (bytes); 0: none */
    err_t code;                /* set when imgcheck_file() failed */
    char message[256];
} imgcheck_t;

/* Checks the size bytes readable from fd (pread; the offset is not used) as an upload for the
 * product product_id whose active signing keys are keys[0..nkeys) (an otakit image must be signed
 * by one of them). Returns 0 when the image is acceptable, -1 with out->code/message set otherwise.
 * Free with imgcheck_free(). */
int imgcheck_file(int fd, uint64_t size, const ota_pubkey_t *keys, unsigned nkeys, const char *product_id,
                  imgcheck_t *out);

/* Checks an upload of kind "swu" (an SWUpdate bundle: a cpio "newc"/"crc" archive whose first
 * member is sw-description, as SWUpdate requires; its CMS signature is the device's to verify) or
 * "file" (any non-empty file). Fills out like imgcheck_file() (no version: the uploader gives it).
 * Returns 0, or -1 with out->code/message set (ERR_EMPTY, ERR_BAD_IMAGE, ERR_INTERNAL). */
int imgcheck_other(int fd, uint64_t size, const char *kind, imgcheck_t *out);

/* The most bytes a user1.bin / user2.bin may have in the FOTA layout of an ESP8266 with
 * flash_size bytes of flash (seed 004, section 2): 236 KB on 512 KB, 492 KB on 1 MB and larger;
 * 0 when there is no such layout (256 KB). */
uint32_t esp8266_fota_slot_max(uint32_t flash_size);

/* Releases out->meta. */
void imgcheck_free(imgcheck_t *out);

/* "otakit", "esp-idf", "esp8266", "swu" or "file" (the artifacts.format values). */
const char *imgcheck_format_name(img_format_t f);

/* ---- semver-like versions (version_rule = semver) --------------------------------------- */

/* Parses a version as written by firmware builds: an optional leading 'v', then
 * major[.minor[.revision[+build]]] (ota_version_parse), ignoring a suffix from the first '-'
 * ("v1.4.2-dirty" is 1.4.2+0). Returns 0 or -1. */
int semver_parse_loose(const char *s, ota_version_t *out);

/* Ordering value that fits a positive int64: major<<55 | minor<<47 | revision<<31 | build, with
 * build saturated at 2^31-1 (exact for every build below that). Compare versions for equality
 * with ota_version_cmp(), not with this value. */
int64_t semver_value(const ota_version_t *v);

/* ---- Espressif version labels (version_rule = espressif) -------------------------------- */

typedef struct {
    char type;       /* 'v' official, 'b' beta */
    unsigned n[3];   /* N1.N2.N3, each 0..999 */
    uint32_t ptype;  /* product type number */
    char fota;       /* 'o' online, 'l' local, 'a' all, 'n' no upgrade */
} esp_label_t;

/* Parses "[v|b]N1.N2.N3t<ptype>(o|l|a|n)" (the seed's prototype also allows a '.' before 't').
 * Numbers are decimal without leading zeros; N in 0..999, ptype in 0..999999999.
 * Returns 0 or -1. */
int esp_label_parse(const char *s, esp_label_t *out);

/* Canonical text of a label ("v1.0.2t45772(a)"). buf: at least 32 bytes. */
void esp_label_format(const esp_label_t *l, char *buf, size_t n);

/* Value of the version number: N1*1000000 + N2*1000 + N3. */
int64_t esp_label_value(const esp_label_t *l);

/* The seed's uniqueness rule: may label l be added while label e exists (same product)? Returns
 * NULL when both may exist, else a sentence saying which rule forbids it. Labels of different
 * ptype or value never conflict; for the same ptype and value: one version number is either
 * official or beta, never both; at most one upgradable (o/l/a) label; at most one 'n' label. */
const char *esp_label_conflict(const esp_label_t *e, const esp_label_t *l);

#endif
