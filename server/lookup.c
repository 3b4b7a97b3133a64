/* Rows named by request parameters (see lookup.h). */
#include "lookup.h"

#include "sql.h"

int64_t lookup_product_id(db_t *db, const char *product_id)
{
    return product_id ? q_int(db, 0, "SELECT id FROM products WHERE product_id = ?", "s", product_id) : 0;
}

int64_t lookup_device_id(db_t *db, int64_t product, const char *device_id)
{
    return device_id ? q_int(db, 0, "SELECT id FROM devices WHERE product = ? AND device_id = ?", "is", product,
                             device_id)
                     : 0;
}
