/*
 * libmicrohttpd's own error answers, made JSON like every other error of the server.
 *
 * libmicrohttpd 0.9.75 (Debian 12) refuses some requests itself, before the access handler ever
 * sees them, with built-in HTML pages, and has no option to replace those pages: a malformed or
 * overflowing Content-Length (400/413), a request head or request line too large for the
 * connection's memory (431/414), a malformed request line (400), an HTTP version it does not
 * serve (505), a malformed chunked body (400). It queues each with MHD_queue_response(), which
 * the shared library calls through its PLT; this module defines MHD_queue_response in the server
 * itself, so that those calls come here and are answered with the error table's JSON instead
 * (errors.h), while the server's own answers go straight to libmicrohttpd's (mhd_queue).
 *
 * A refusal of the Content-Length header needs one more step: 0.9.75 sends the head of that answer
 * twice (it queues it while parsing the headers, then builds the head again; fixed in 0.9.76), so
 * a client would read the second head as the body. Over plain HTTP that answer is written to the
 * socket here, whole, and the connection closed; over HTTPS it is queued (and comes with the
 * duplicated head).
 *
 * What cannot be answered at all stays as libmicrohttpd handles it: a header line without a colon
 * and a connection whose memory is exhausted even for the answer are closed without one.
 */
#ifndef OTAKIT_SERVER_MHD_ERRORS_H
#define OTAKIT_SERVER_MHD_ERRORS_H

#include <microhttpd.h>

/* Finds libmicrohttpd's own MHD_queue_response; tls: the daemon serves HTTPS. Call once before
 * the daemon starts. Returns 0, or -1 when it cannot be found (nothing could be answered then). */
int mhd_errors_init(int tls);

/* Queues resp with status on c (libmicrohttpd's MHD_queue_response, unchanged): what the
 * server's own answers use. The caller still destroys resp. */
enum MHD_Result mhd_queue(struct MHD_Connection *c, unsigned int status, struct MHD_Response *resp);

#endif
