/* The rows that the public ids of requests name: products by product_id, devices by device_id. */
#ifndef OTAKIT_SERVER_LOOKUP_H
#define OTAKIT_SERVER_LOOKUP_H

#include <sqlite3.h>
#include <stdint.h>

/* products.id of product_id (a {product} path parameter; NULL is fine): 0 when unknown. */
int64_t lookup_product_id(sqlite3 *db, const char *product_id);
/* devices.id of device_id in product (NULL is fine): 0 when unknown. */
int64_t lookup_device_id(sqlite3 *db, int64_t product, const char *device_id);

#endif
