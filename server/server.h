/* otakit-server: process-wide configuration and the route tables of each API module. */
#ifndef OTAKIT_SERVER_H
#define OTAKIT_SERVER_H

#include <stdint.h>

#include "http.h"

struct server_config {
    char data_dir[512];
    char artifacts_dir[600]; /* content-addressed: <sha256> files */
    char tmp_dir[600];       /* uploads in progress */
    char public_url[256];    /* base URL devices are given for downloads */
    unsigned first_contacts_per_ip;      /* compat devices registered a minute per address (0: any) */
    unsigned first_contacts_per_product; /* ... per product */
    unsigned ddi_sleep;                  /* DDI polling sleep given to controllers (s); 0: the check's advice */
};
extern struct server_config g_server;

/* Seconds since the epoch (one place, so tests can reason about it). */
int64_t now_s(void);

/* Route tables, one per module (api_*.c, compat_*.c). */
extern const http_route_t products_routes[];
extern const http_route_t releases_routes[];
extern const http_route_t device_routes[];
extern const http_route_t devices_routes[];
extern const http_route_t rollouts_routes[];
extern const http_route_t compat_routes[];
extern const http_route_t mongoose_routes[];
extern const http_route_t web_routes[];
extern const http_route_t ops_routes[];
extern const http_route_t stats_routes[];
extern const http_route_t ddi_routes[];
extern const http_route_t espcloud_routes[];
extern const http_route_t keys_routes[];

/* POST /api/v1/products/{product}/devices/{device}/commands (api_devices.c), which the Espressif
 * cloud's RPC request (espcloud.c) also makes. */
enum MHD_Result devices_command_create(http_req_t *r);

#endif
