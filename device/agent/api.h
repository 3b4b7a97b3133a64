/*
 * The otakit device API's URLs (internal to device/agent): check.c and proto.c build
 * {server}/api/v1/device/... here.
 */
#ifndef OTAKIT_AGENT_API_H
#define OTAKIT_AGENT_API_H

#include "otakit/http.h"

#include "core/buf.h"

/* Parses server_url ("https://host[:port][/prefix]", no query) into *url and starts *w on its
 * path with trailing slashes removed, ready for "/api/v1/device/...". Returns OTA_OK or
 * OTA_ERR_URL. */
int ota_api_url(const char *server_url, ota_url_t *url, ota_buf_t *w);

#endif
