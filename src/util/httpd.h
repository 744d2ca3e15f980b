/*
 * A small HTTP server over libmicrohttpd, for the parts of gpuslice that
 * answer HTTP of their own (the planner's endpoint, the controller's
 * dashboard, health and metrics probes).
 *
 * It reads each request's body into memory (up to HTTPD_MAX_BODY; larger
 * bodies get 413 without reaching the handler) and then calls one handler
 * with method, path and body; the handler fills a status, a content type,
 * a few headers and a body, or a stream the server reads until it ends.
 *
 * httpd_start listens on 127.0.0.1 and serves one request at a time on one
 * internal thread, so its handler needs no locking of its own, but must not
 * block for long (and must not answer with a stream). httpd_serve listens
 * on any address, with a thread per connection behind a connection guard
 * (util/httpd_guard.h): its handler runs on several threads at once, and
 * its streams may block (server-sent events).
 */
#ifndef GPUSLICE_UTIL_HTTPD_H
#define GPUSLICE_UTIL_HTTPD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

#include "util/err.h"
#include "util/httpd_guard.h"

#define HTTPD_MAX_BODY (8u << 20)

struct httpd;

struct httpd_request {
    const char *method;          /* "GET", "POST", ... */
    const char *path;            /* "/plan", without the query */
    const char *body;            /* NUL-terminated; "" when there is none */
    size_t body_len;
    void *conn;                  /* the server's; for httpd_header and httpd_query */
};

/* A response read piece by piece while the connection lasts (its own
 * thread: httpd_serve only). read fills up to max bytes and returns how
 * many, 0 when it has nothing yet (it waited a while: the server then
 * checks the client is still there and calls again), or -1 to end the
 * response. done (may be NULL) frees ctx once the connection is over. */
struct httpd_stream {
    ssize_t (*read)(void *ctx, char *buf, size_t max);
    void (*done)(void *ctx);
    void *ctx;
};

#define HTTPD_RESPONSE_HEADERS 8

struct httpd_response {
    int status;                  /* 200 unless the handler says otherwise */
    const char *content_type;    /* a static string; "text/plain" unless set */
    char *body;                  /* malloc'd by the handler, freed by the server; may stay NULL */
    size_t body_len;
    struct httpd_stream stream;  /* read set: the body is this stream instead */
    /* More headers (httpd_response_header); values are freed by the server. */
    const char *header_names[HTTPD_RESPONSE_HEADERS];
    char *header_values[HTTPD_RESPONSE_HEADERS];
    size_t n_headers;
};

typedef void (*httpd_handler)(void *ctx, const struct httpd_request *req, struct httpd_response *resp);

/* The request header name (case-insensitive), or NULL. */
const char *httpd_header(const struct httpd_request *req, const char *name);

/* The query parameter name, decoded, or NULL. */
const char *httpd_query(const struct httpd_request *req, const char *name);

/* Adds a header to the response (name a static string; the value is
 * copied). Past HTTPD_RESPONSE_HEADERS it is dropped and -E2BIG returned. */
int httpd_response_header(struct httpd_response *resp, const char *name, const char *value);

/* Whether address (an IP literal) is a loopback address: 127.0.0.0/8, ::1. */
bool httpd_is_loopback(const char *address);

/* Whether address is an IPv4 or IPv6 literal (no name is ever looked up). */
bool httpd_is_ip_literal(const char *address);

/* Compares two secrets in time independent of where they differ. */
bool httpd_same_secret(const char *a, const char *b);

/* "HOST:PORT" ("127.0.0.1:8080", "[::1]:8080", ":8080" for 127.0.0.1) into
 * host (an IP literal, at most HTTPD_HOST_MAX bytes with its NUL) and port
 * (0 picks one). -EINVAL naming what is wrong. */
#define HTTPD_HOST_MAX 48
int httpd_parse_address(const char *text, char host[HTTPD_HOST_MAX], uint16_t *port,
                        struct err *e);

/* What httpd_serve needs. */
struct httpd_config {
    const char *address;          /* an IP literal; NULL: 127.0.0.1 */
    uint16_t port;                /* 0: a free one (httpd_port) */
    struct httpd_limits limits;   /* zero fields: HTTPD_LIMITS_DEFAULT's */
    httpd_handler handler;
    void *ctx;
    /* Whether the request authenticated (its headers are in), which makes
     * its connection trusted by the guard; NULL: no connection is. */
    bool (*trusted)(void *ctx, const struct httpd_request *req);
};

#define HTTPD_LIMITS_DEFAULT ((struct httpd_limits){.max_connections = 64, \
    .max_per_address = 16, .idle_timeout_s = 60, .request_timeout_s = 10})

/* Starts serving cfg's address and port with a thread per connection and a
 * connection guard. -EINVAL for an address that is not an IP literal,
 * -EADDRINUSE or -EIO when it cannot be had. *out is the caller's
 * (httpd_stop). */
int httpd_serve(const struct httpd_config *cfg, struct httpd **out, struct err *e);

/* A libmicrohttpd content reader's answer for stream s on the connection
 * whose socket is fd (this server's streams, and the API server's watches
 * and followed logs): s's next bytes, read again while it has none and the
 * client is still there (a stream with nothing to send would otherwise hold
 * its thread after the client hung up); MHD_CONTENT_READER_END_OF_STREAM
 * when s ends or *stop (stop may be NULL) is set, and
 * MHD_CONTENT_READER_END_WITH_ERROR when the client is gone. */
ssize_t httpd_stream_next(const struct httpd_stream *s, int fd, const atomic_bool *stop,
                          char *buf, size_t max);

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

/* The URL of the server's root, "http://127.0.0.1:PORT/" ("[::1]" for
 * IPv6): a static-length string owned by h. */
const char *httpd_url(const struct httpd *h);

/* Stops serving, waits for the requests in progress (a stream's read
 * returns within its wait), and frees h (may be NULL). */
void httpd_stop(struct httpd *h);

#endif
