/* rollouts routes (module in progress). */
#include "server.h"

const http_route_t rollouts_routes[] = {
    {NULL, NULL, NULL, 0, 0},
};
