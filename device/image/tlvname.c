/* TLV names for tools that print them (see otakit/tlv.h); apart so devices need not link them. */
#include "otakit/tlv.h"

#include <stddef.h>

#define OTA_TLV_X_NAME(name, type, kind, flags, max) {(type), #name},

static const struct {
    uint16_t type;
    const char *name;
} names[] = {OTA_TLV_TABLE(OTA_TLV_X_NAME)};

const char *ota_tlv_name(uint16_t type)
{
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].type == type)
            return names[i].name;
    return NULL;
}
