/* The rows that the public ids of requests name: products by product_id, devices by device_id. */
#ifndef OTAKIT_SERVER_LOOKUP_H
#define OTAKIT_SERVER_LOOKUP_H

#include "db.h"
#include <stdint.h>

/* products.id of product_id (a {product} path parameter; NULL is fine): 0 when unknown. */
int64_t lookup_product_id(db_t *db, const char *product_id);
/* devices.id of device_id in product (NULL is fine): 0 when unknown. */
int64_t lookup_device_id(db_t *db, int64_t product, const char *device_id);

#endif
