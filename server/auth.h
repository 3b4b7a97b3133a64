/* Bearer-token authorization of otakit-server routes (see http.h AUTH_*). The HTTP layer calls
 * auth_check through http_config_t.authorize, so it does not depend on this module. */
#ifndef OTAKIT_SERVER_AUTH_H
#define OTAKIT_SERVER_AUTH_H

#include "http.h"

/* Sets the admin token (copied). */
void auth_set_admin_token(const char *token);

/* Checks the request's "Authorization: Bearer <token>" against the route's auth kinds and fills
 * r->auth_*. Owner tokens only reach routes whose first path parameter is their product id.
 * Returns 1 when allowed, 0 after queuing a 401 (no or unknown token) or 403 (wrong scope). */
int auth_check(http_req_t *r);

#endif
