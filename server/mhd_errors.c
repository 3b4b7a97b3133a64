/* libmicrohttpd's own error answers as JSON (see mhd_errors.h). */
#define _GNU_SOURCE
#include "mhd_errors.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "errors.h"
#include "log.h"

typedef enum MHD_Result (*queue_fn)(struct MHD_Connection *, unsigned int, struct MHD_Response *);

static queue_fn real_queue; /* libmicrohttpd's MHD_queue_response */
static int serving_tls;

int mhd_errors_init(int tls)
{
    serving_tls = tls;
    queue_fn ours = MHD_queue_response;
    real_queue = (queue_fn)dlsym(RTLD_NEXT, "MHD_queue_response");
    if (real_queue == ours)
        real_queue = NULL;
    if (!real_queue)
        log_msg(LOG_ERROR, "cannot find libmicrohttpd's MHD_queue_response", "error=\"%s\"", dlerror());
    return real_queue ? 0 : -1;
}

enum MHD_Result mhd_queue(struct MHD_Connection *c, unsigned int status, struct MHD_Response *resp)
{
    return real_queue ? real_queue(c, status, resp) : MHD_NO;
}

/* Which error of the table libmicrohttpd's refusal with status is; 0 for a status it is not known
 * to refuse with (then its answer is passed on unchanged). */
static int error_of(struct MHD_Connection *c, unsigned status, err_t *e)
{
    const char *cl;
    switch (status) {
    case 400: /* the Content-Length header is parsed by now when it is the reason */
        cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        *e = cl && (!*cl || strspn(cl, "0123456789") != strlen(cl)) ? ERR_BAD_CONTENT_LENGTH : ERR_BAD_REQUEST;
        return 1;
    case 413: *e = ERR_TOO_LARGE; return 1; /* Content-Length or a chunk size beyond 2^64 */
    case 414: *e = ERR_URI_TOO_LONG; return 1;
    case 431: *e = ERR_HEAD_TOO_LARGE; return 1;
    case 500: *e = ERR_INTERNAL; return 1;
    case 505: *e = ERR_HTTP_VERSION; return 1;
    default: return 0;
    }
}

/* Whether a refusal is of the Content-Length header (made while the headers are parsed, where
 * 0.9.75 would send its head twice). */
static int content_length_refusal(struct MHD_Connection *c, err_t e)
{
    return e == ERR_BAD_CONTENT_LENGTH ||
           (e == ERR_TOO_LARGE && !MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) &&
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH));
}

/* Writes the whole answer to c's socket (plain HTTP only). Returns 1 when it was written, 0 when
 * nothing was (then it can still be queued), -1 when only part of it was. */
static int write_answer(struct MHD_Connection *c, err_t e, const char *body)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    char buf[1024];
    int n;
    ssize_t w;
    if (serving_tls || !ci)
        return 0;
    n = snprintf(buf, sizeof buf,
                 "HTTP/1.1 %u %s\r\nConnection: close\r\nContent-Type: application/json\r\nServer: otakit\r\n"
                 "Content-Length: %zu\r\n\r\n%s",
                 err_status(e), MHD_get_reason_phrase_for(err_status(e)), strlen(body), body);
    if (n <= 0 || (size_t)n >= sizeof buf)
        return 0;
    w = send(ci->connect_fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    return w == n ? 1 : w > 0 ? -1 : 0;
}

/* Only libmicrohttpd itself reaches this: the server queues its answers with mhd_queue(). */
enum MHD_Result MHD_queue_response(struct MHD_Connection *c, unsigned int status, struct MHD_Response *resp)
{
    struct MHD_Response *json;
    enum MHD_Result ret;
    char *body;
    err_t e;

    if (!real_queue)
        return MHD_NO;
    if (!error_of(c, status, &e) || !(body = err_json(e, err_message(e))))
        return real_queue(c, status, resp);
    if (content_length_refusal(c, e)) {
        int written = write_answer(c, e, body);
        if (written) { /* answered (or cut short): libmicrohttpd closes the connection */
            free(body);
            return MHD_NO;
        }
    }
    if (!(json = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE))) {
        free(body);
        return real_queue(c, status, resp);
    }
    MHD_add_response_header(json, "Content-Type", "application/json");
    MHD_add_response_header(json, "Server", "otakit");
    ret = real_queue(c, status, json);
    MHD_destroy_response(json); /* libmicrohttpd holds its own reference; resp is the caller's */
    return ret;
}
