/*
 * The operator's dashboard, served from the files compiled into the binary (web_assets.h): plain
 * HTML, CSS and ES modules, no build step and nothing fetched from elsewhere at run time.
 *
 *   GET /            -> 302 /ui/
 *   GET /ui/         the single page (index.html)
 *   GET /ui/{file}   its modules and style sheet
 *
 * The pages are public; everything they show comes from the REST API with the token the operator
 * typed at login, which the page keeps in sessionStorage only (gone when the tab closes). The
 * Content-Security-Policy allows scripts, styles and requests to this origin only.
 */
#include <stdio.h>
#include <string.h>

#include "server.h"
#include "web_assets.h"

static const char *ctype_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return "application/octet-stream";
    if (!strcmp(dot, ".html"))
        return "text/html; charset=utf-8";
    if (!strcmp(dot, ".js"))
        return "text/javascript; charset=utf-8";
    if (!strcmp(dot, ".css"))
        return "text/css; charset=utf-8";
    if (!strcmp(dot, ".svg"))
        return "image/svg+xml";
    return "application/octet-stream";
}

static enum MHD_Result send_asset(http_req_t *r, const char *name)
{
    static const char *const headers[] = {
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        "X-Content-Type-Options", "nosniff", "Referrer-Policy", "no-referrer", "Cache-Control", "no-cache", NULL};
    const web_asset_t *a;
    for (a = web_assets; a->name; a++)
        if (!strcmp(a->name, name))
            return http_text(r, 200, ctype_of(name), (const char *)a->data, a->len, headers);
    return http_error(r, ERR_NOT_FOUND, "no such file in the dashboard");
}

static enum MHD_Result root(http_req_t *r)
{
    return http_text(r, 302, "text/plain", "/ui/\n", 5, (const char *const[]){"Location", "/ui/", NULL});
}

static enum MHD_Result index_page(http_req_t *r)
{
    return send_asset(r, "index.html");
}

static enum MHD_Result file(http_req_t *r)
{
    return send_asset(r, http_param(r, 0));
}

const http_route_t web_routes[] = {
    {"GET", "/", root, AUTH_NONE, BODY_NONE},
    {"GET", "/ui/", index_page, AUTH_NONE, BODY_NONE},
    {"GET", "/ui/{file}", file, AUTH_NONE, BODY_NONE},
    {NULL, NULL, NULL, 0, 0},
};
