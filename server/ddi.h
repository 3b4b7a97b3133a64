/*
 * hawkBit DDI (see ddi.c for the routes and the mapping onto otakit's actions): what the route
 * handlers of ddi.c and ddi_device.c share.
 */
#ifndef OTAKIT_SERVER_DDI_H
#define OTAKIT_SERVER_DDI_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

/* Authenticates a DDI request for the controller {controller} of the product {tenant} (path
 * parameters 0 and 1; a tenant matches a product id in any case, and the parameter becomes the
 * product's own spelling): a TargetToken must be that device's token, a GatewayToken the product's.
 * With may_register, a GatewayToken request from an unknown controller registers it when the
 * product allows it. Returns 1 with *device set, or 0 after queuing the refusal (401, 404). */
int ddi_auth(http_req_t *r, int may_register, int64_t *device);

/* public_url + "/{tenant}/controller/v1/{controller}" of the request, into out (n bytes). */
void ddi_base_url(http_req_t *r, char *out, size_t n);

/* Handlers of ddi_device.c (routes in ddi.c's table). */
enum MHD_Result ddi_feedback(http_req_t *r);
enum MHD_Result ddi_config_data(http_req_t *r);
enum MHD_Result ddi_cancel(http_req_t *r);
enum MHD_Result ddi_cancel_feedback(http_req_t *r);
enum MHD_Result ddi_settings_get(http_req_t *r);
enum MHD_Result ddi_settings_put(http_req_t *r);

#endif
