/*
 * Server-Sent Events of a rollout for the dashboard (sse.c; its route is sse_routes, in server.h).
 */
#ifndef OTAKIT_SERVER_SSE_H
#define OTAKIT_SERVER_SSE_H

#include "http.h"

extern const http_route_t sse_routes[];

/* Before the HTTP daemon stops: no stream waits suspended any more, the resumer thread ends. */
void sse_stop(void);

#endif
