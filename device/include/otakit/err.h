/*
 * otakit error codes.
 *
 * Every failure in otakit is one of these values: a stable number, a stable name
 * (OTA_ERR_HASH) and a one-line message for humans. Success is OTA_OK (0); every
 * error is negative, so `if (rc < 0)` is always the failure test.
 */
#ifndef OTAKIT_ERR_H
#define OTAKIT_ERR_H

/* X(name, value, message). Append new codes at the end: the numbers are part of the API. */
#define OTA_ERROR_LIST(X)                                                                       \
    X(OTA_OK, 0, "success")                                                                     \
    X(OTA_ERR_ARG, -1, "invalid argument")                                                      \
    X(OTA_ERR_IO, -2, "read from storage failed")                                               \
    X(OTA_ERR_TRUNCATED, -3, "image is truncated: it ends before its TLV area does")            \
    X(OTA_ERR_MAGIC, -4, "not an image: bad header magic (expected 0x96f3b83d)")                \
    X(OTA_ERR_HDR_SIZE, -5, "header size field is smaller than the 32-byte header")             \
    X(OTA_ERR_TOO_BIG, -6, "image size fields run past the end of the slot")                    \
    X(OTA_ERR_FLAGS, -7, "image uses a feature this build does not support (compressed)") \
    X(OTA_ERR_PROT_SIZE, -8, "protected TLV size in the header does not match the protected TLV area") \
    X(OTA_ERR_TLV_MAGIC, -9, "TLV area is missing or has a bad info magic (expected 0x6907)")   \
    X(OTA_ERR_TLV_BOUNDS, -10, "a TLV runs past the end of its area")                           \
    X(OTA_ERR_TLV_DUP, -11, "a TLV that may appear once appears twice")                         \
    X(OTA_ERR_TLV_LEN, -12, "a TLV has the wrong length for its type")                          \
    X(OTA_ERR_TLV_UNPROTECTED, -13, "a TLV that must be signed sits in the unprotected area")   \
    X(OTA_ERR_TLV_VALUE, -14, "a TLV holds a malformed value")                                  \
    X(OTA_ERR_NO_HASH, -15, "image has no SHA-256 (or SHA-384) hash TLV")                                         \
    X(OTA_ERR_HASH, -16, "image hash mismatch: the image was modified or corrupted")            \
    X(OTA_ERR_NO_SIGNATURE, -17, "image is not signed (no signature TLV of an algorithm this build verifies)")          \
    X(OTA_ERR_NO_KEYHASH, -18, "signature is not preceded by a key hash or public key TLV")     \
    X(OTA_ERR_KEY_UNKNOWN, -19, "image was signed with a key that is not trusted here")         \
    X(OTA_ERR_SIGNATURE, -20, "signature does not verify with the trusted key")                 \
    X(OTA_ERR_SIG_FORMAT, -21, "signature is malformed, or not of the trusted key's algorithm")            \
    X(OTA_ERR_KEY_FORMAT, -22, "public key is not an ECDSA P-256/P-384, RSA-2048/3072 or Ed25519 key this build verifies")      \
    X(OTA_ERR_CRYPTO, -23, "cryptographic library failure")                                     \
    X(OTA_ERR_VERSION, -24, "version is not of the form major.minor.revision+build")            \
    X(OTA_ERR_NO_SPACE, -25, "output buffer is too small")                                     \
    X(OTA_ERR_FILE, -26, "cannot read or write a file")                                         \
    X(OTA_ERR_KEY_PARSE, -27, "not an ECDSA P-256/P-384, RSA-2048/3072 or Ed25519 key in PEM or DER form")                     \
    X(OTA_ERR_KEY_PUBLIC, -28, "signing needs the private key, but this is a public key")      \
    X(OTA_ERR_SLOT_SIZE, -29, "image and slot trailer do not fit in the slot")                 \
    X(OTA_ERR_ALIGN, -30, "write alignment must be 1, 2, 4, 8, 16 or 32")                     \
    X(OTA_ERR_HDR_TOO_SMALL, -31, "header size must be at least 32 bytes")                     \
    X(OTA_ERR_PAYLOAD_SIZE, -32, "payload is too large for a 32-bit image size")               \
    X(OTA_ERR_IDENT, -33, "product and hardware ids are 1-32 (hardware list: 1-64) characters of A-Z a-z 0-9 . _ -") \
    X(OTA_ERR_NO_MEM, -34, "out of memory")                                                     \
    X(OTA_ERR_PRODUCT, -35, "image is for another product")                                    \
    X(OTA_ERR_HW_REV, -36, "image does not support this hardware revision")                    \
    X(OTA_ERR_DOWNGRADE, -37, "image security counter is lower than the device allows (rollback refused)") \
    X(OTA_ERR_FLASH_READ, -38, "flash read failed")                                            \
    X(OTA_ERR_FLASH_WRITE, -39, "flash program failed")                                        \
    X(OTA_ERR_FLASH_ERASE, -40, "flash erase failed")                                          \
    X(OTA_ERR_FLASH_RANGE, -41, "flash access outside the device or not aligned to the write size or sector") \
    X(OTA_ERR_LAYOUT, -42, "partition layout does not fit the flash (alignment, overlap or sizes)") \
    X(OTA_ERR_STATE, -43, "operation not allowed in the current update state")                 \
    X(OTA_ERR_NO_FIT, -44, "image is larger than the update slot")                             \
    X(OTA_ERR_OVERFLOW, -45, "more data written than announced to ota_begin()")                \
    X(OTA_ERR_INCOMPLETE, -46, "fewer bytes written than announced to ota_begin()")            \
    X(OTA_ERR_NO_IMAGE, -47, "no valid image to boot")                                         \
    X(OTA_ERR_JOURNAL, -48, "boot-state journal is full or unwritable")                        \
    X(OTA_ERR_NET, -49, "network error: cannot connect, or the connection failed or dropped")  \
    X(OTA_ERR_TIMEOUT, -50, "network operation timed out (connect or read)")                   \
    X(OTA_ERR_HTTP, -51, "malformed HTTP response")                                            \
    X(OTA_ERR_HTTP_STATUS, -52, "server answered with an HTTP status that is not a success")   \
    X(OTA_ERR_CHANGED, -53, "the file on the server changed (ETag or size differs from what was expected)") \
    X(OTA_ERR_TLS, -54, "TLS failed: server certificate not trusted, wrong host name, or handshake error") \
    X(OTA_ERR_URL, -55, "malformed or unsupported URL (http://host[:port]/path or https://...)") \
    X(OTA_ERR_RESPONSE_TOO_BIG, -56, "response body is larger than the buffer given for it")   \
    X(OTA_ERR_HEADERS_TOO_BIG, -57, "HTTP response header is longer than the configured limit") \
    X(OTA_ERR_REDIRECT, -58, "server redirected, and redirects are off (or too many, or to a weaker scheme)") \
    X(OTA_ERR_JSON, -59, "malformed JSON, or a check response without the expected fields")     \
    X(OTA_ERR_MQTT, -60, "malformed MQTT packet, or the broker refused the connection or subscription") \
    X(OTA_ERR_OFFSET, -61, "chunk offset or total does not continue the transfer (a gap, a replay or another image)") \
    X(OTA_ERR_DELTA, -70, "malformed delta patch") \
    X(OTA_ERR_DELTA_BASE, -71, "delta patch is for another base image than the running one") \
    X(OTA_ERR_DELTA_LIMITS, -72, "delta patch needs a larger window or block than this device holds") \
    X(OTA_ERR_ENC_KEY, -62, "encrypted image, and no valid decryption key to open it (give the device's private key)") \
    X(OTA_ERR_ENC_TLV, -63, "encrypted image whose ENC_EC256 key TLV is missing, malformed or made for another decryption key") \
    X(OTA_ERR_AUTH, -64, "the server refused the device's credentials (401): deleted there, or its token revoked")

typedef enum {
#define OTA_X_ENUM(name, value, msg) name = value,
    OTA_ERROR_LIST(OTA_X_ENUM)
#undef OTA_X_ENUM
} ota_err_t;

/* One-line human message for an otakit error code; never NULL (unknown codes get a generic text). */
const char *ota_strerror(int err);

/* The symbolic name of an error code ("OTA_ERR_HASH"); "OTA_ERR_UNKNOWN" for codes not in the list. */
const char *ota_errname(int err);

#endif
