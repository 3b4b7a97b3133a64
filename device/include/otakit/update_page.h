/*
 * The device's own update page, as AutoConnect's UPDATE menu (Hieromon/AutoConnect
 * AutoConnectUpdate.cpp: the catalog of an update server listed with a radio button per binary,
 * UPDATE, a progress bar while it flashes, then the reset): served by the push server
 * (otakit/push.h, cfg.page) behind its credentials.
 *
 *   GET  /_ac/update            the page (HTML and its script; no other origin)
 *   (AutoConnect's own URIs, src/AutoConnectDefs.h f21f57d: /_ac/update, /_ac/update_act,
 *   /_ac/update_progress; the catalog route is this page's)
 *   GET  /_ac/update_catalog    the update server's catalog as the port fetched it (JSON array:
 *                               AutoConnect's /_catalog, or otakit-server's device catalog)
 *   POST /_ac/update_act      body "name=<binary>" (form encoding): the port pulls it -> 200 "started"
 *   GET  /_ac/update_progress   {"state":"idle|pulling|done|failed","done":N,"total":N,
 *                                "running":"1.0.0+0","name":"...","error":"..."}
 *
 * The page polls the progress until the device has reset into the new image and says which
 * version runs. Portable C99: no heap, no stdio; the answers are built in cfg.page->buf.
 */
#ifndef OTAKIT_UPDATE_PAGE_H
#define OTAKIT_UPDATE_PAGE_H

#include <stddef.h>

#include "otakit/push.h"

/* Answers one request under /_ac/update (method, path without the query, body of a POST).
 * Returns the HTTP status with *ctype and *text (static or in pg->buf) set. */
int ota_update_page_answer(const ota_push_page_t *pg, const char *method, const char *path, const char *body,
                           size_t blen, const char **ctype, const char **text);

#endif
