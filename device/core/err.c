/* Names and messages for otakit error codes (see otakit/err.h). */
#include "otakit/err.h"

struct err_entry {
    int code;
    const char *name;
    const char *msg;
};

/* Define OTA_NO_ERROR_MESSAGES on small parts to drop the messages (~2.5 KB of text):
 * ota_strerror() then returns the name. */
#ifdef OTA_NO_ERROR_MESSAGES
#define OTA_ERR_MSG(name, msg) #name
#else
#define OTA_ERR_MSG(name, msg) msg
#endif

static const struct err_entry err_table[] = {
#define OTA_X_ENTRY(name, value, msg) {value, #name, OTA_ERR_MSG(name, msg)},
    OTA_ERROR_LIST(OTA_X_ENTRY)
#undef OTA_X_ENTRY
};

static const struct err_entry *err_find(int err)
{
    unsigned i;
    for (i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
        if (err_table[i].code == err)
            return &err_table[i];
    return 0;
}

const char *ota_strerror(int err)
{
    const struct err_entry *e = err_find(err);
    return e ? e->msg : "unknown error";
}

const char *ota_errname(int err)
{
    const struct err_entry *e = err_find(err);
    return e ? e->name : "OTA_ERR_UNKNOWN";
}
