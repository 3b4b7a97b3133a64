/*
 * A firmware project's host tool as a user would write it against an installed otakit: loads a
 * public key and a signed image with otakit::host, verifies the image with otakit::device, and
 * touches the host port (otakit::port_host) and the W5500 transport (otakit::port_w5500) so all
 * four libraries must link.
 *   consumer <pubkey.pem> <image.bin>   prints "verified <version> signature=1 port=linked", exits 0
 */
#include <stdio.h>
#include <stdlib.h>

#include "otakit/err.h"
#include "otakit/fileio.h"
#include "otakit/image.h"
#include "otakit/keys.h"
#include "otakit/platform_posix.h"
#include "otakit/w5500.h"

int main(int argc, char **argv)
{
    ota_key_t *key = NULL;
    uint8_t der[OTA_P256_SPKI_LEN];
    uint8_t *img = NULL;
    size_t len = 0;
    ota_image_info_t info;
    int rc;
    if (argc != 3) {
        fprintf(stderr, "usage: consumer <pubkey.pem> <image.bin>\n");
        return 2;
    }
    if ((rc = ota_key_load(argv[1], &key)) != OTA_OK || (rc = ota_key_public_der(key, der)) != OTA_OK ||
        (rc = ota_file_read(argv[2], &img, &len)) != OTA_OK) {
        fprintf(stderr, "consumer: %s\n", ota_strerror(rc));
        return 1;
    }
    (void)ota_host_clock_ms(); /* from otakit::port_host */
    if (ota_w5500_init(NULL, NULL) != OTA_ERR_ARG) { /* from otakit::port_w5500: no configuration */
        fprintf(stderr, "consumer: ota_w5500_init accepted no configuration\n");
        return 1;
    }
    ota_pubkey_t pub = {der, sizeof der};
    ota_verify_cfg_t cfg = {&pub, 1, 0};
    rc = ota_image_verify_buf(img, (uint32_t)len, &cfg, &info);
    free(img);
    ota_key_free(key);
    if (rc != OTA_OK) {
        fprintf(stderr, "consumer: %s\n", ota_strerror(rc));
        return 1;
    }
    printf("verified %u.%u.%u+%lu signature=%u port=linked\n", info.hdr.version.major, info.hdr.version.minor,
           info.hdr.version.revision, (unsigned long)info.hdr.version.build, info.signature_checked);
    return 0;
}
