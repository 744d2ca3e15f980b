/*
 * A small HTTP server on the loopback interface, over libmicrohttpd, for the
 * parts of gpuslice that answer local HTTP (the planner's endpoint, health
 * and metrics probes).
 *
 * The server listens on 127.0.0.1 only. It reads each request's body into
 * memory (up to HTTPD_MAX_BODY; larger bodies get 413 without reaching the
 * handler) and then calls one handler with method, path and body; the
 * handler fills a status, a content type and a body. Requests are served by
 * one internal thread, one at a time, so a handler needs no locking of its
 * own, but must not block for long.
 */
#ifndef GPUSLICE_UTIL_HTTPD_H
#define GPUSLICE_UTIL_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define HTTPD_MAX_BODY (8u << 20)

struct httpd;

struct httpd_request {
    const char *method;          /* "GET", "POST", ... */
    const char *path;            /* "/plan", without the query */
    const char *body;            /* NUL-terminated; "" when there is none */
    size_t body_len;
};

struct httpd_response {
    int status;                  /* 200 unless the handler says otherwise */
    const char *content_type;    /* a static string; "text/plain" unless set */
    char *body;                  /* malloc'd by the handler, freed by the server; may stay NULL */
    size_t body_len;
};

typedef void (*httpd_handler)(void *ctx, const struct httpd_request *req, struct httpd_response *resp);

/* Starts serving on 127.0.0.1:port (0 picks a free port; httpd_port() says
 * which). On success the caller owns *out and stops it with httpd_stop().
 * -EADDRINUSE or -EIO with a message when the port cannot be had. */
int httpd_start(uint16_t port, httpd_handler handler, void *ctx, struct httpd **out, struct err *e);

/* One request's body as libmicrohttpd hands it over in chunks (this
 * server's reader, and the webhook's HTTPS server's). */
struct httpd_body {
    char *data;      /* NUL-terminated; NULL until a byte came */
    size_t len, cap;
    bool too_large;  /* over the limit: data is partial */
};

/* Takes one libmicrohttpd access-handler call of a request: *state (NULL
 * on the first call; the caller frees it with httpd_body_free() when the
 * request ends) becomes its body, and a chunk of *size bytes at data is
 * appended up to max bytes in all (*size then reads 0). 1: the call
 * brought the request's start or a chunk (answer MHD_YES); 0: the body
 * is complete, answer now. */
int httpd_body_feed(void **state, size_t max, const char *data, size_t *size);

/* Frees a body from httpd_body_feed() (may be NULL). */
void httpd_body_free(struct httpd_body *b);

/* The port the server listens on. */
uint16_t httpd_port(const struct httpd *h);

/* Stops serving, waits for the request in progress, and frees h (may be NULL). */
void httpd_stop(struct httpd *h);

#endif
