/* compat routes (module in progress). */
#include "server.h"

const http_route_t compat_routes[] = {
    {NULL, NULL, NULL, 0, 0},
};
