/*
 * The libmicrohttpd glue of httpd.h: a per-connection body buffer grown as
 * upload data arrives, one handler call when the body is complete, and the
 * handler's malloc'd body handed to libmicrohttpd, which frees it, or its
 * stream read by the connection's thread until it ends, the client goes or
 * the server stops.
 */
#include "util/alloc.h"
#include "util/httpd.h"
#include "util/vec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_BLOCK_SIZE (16 * 1024)

struct httpd {
    struct MHD_Daemon *daemon;
    struct httpd_guard *guard;     /* httpd_serve's; NULL for httpd_start's */
    httpd_handler handler;
    void *ctx;
    bool (*trusted)(void *ctx, const struct httpd_request *req);
    uint16_t port;
    char url[HTTPD_HOST_MAX + 16];
    atomic_bool stopping;          /* streams end at their next wait */
};

/* A stream response being read, with what it needs to know when to end. */
struct stream_ctx {
    struct httpd *h;
    struct httpd_stream stream;
    int fd;
};

static enum MHD_Result reply(struct MHD_Connection *conn, int status, const char *type, char *body, size_t len)
{
    struct MHD_Response *resp =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Whether the client of connection fd hung up. */
static bool peer_gone(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

ssize_t httpd_stream_next(const struct httpd_stream *s, int fd, const atomic_bool *stop,
                          char *buf, size_t max)
{
    for (;;) {
        if (stop && atomic_load(stop))
            return MHD_CONTENT_READER_END_OF_STREAM;
        ssize_t n = s->read(s->ctx, buf, max);
        if (n > 0)
            return n;
        if (n < 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (peer_gone(fd))
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct stream_ctx *sc = cls;
    return httpd_stream_next(&sc->stream, sc->fd, &sc->h->stopping, buf, max);
}

static void stream_done(void *cls)
{
    struct stream_ctx *sc = cls;
    if (sc->stream.done)
        sc->stream.done(sc->stream.ctx);
    free(sc);
}

/* The libmicrohttpd response of the handler's answer, which it takes. */
static struct MHD_Response *response_of(struct httpd *h, struct MHD_Connection *conn,
                                        struct httpd_response *r)
{
    if (!r->stream.read)
        return r->body ? MHD_create_response_from_buffer(r->body_len, r->body,
                                                         MHD_RESPMEM_MUST_FREE)
                       : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    const union MHD_ConnectionInfo *ci =
        h->guard ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD) : NULL;
    struct stream_ctx *sc = ci ? alloc_calloc(1, sizeof *sc) : NULL;
    if (!sc)
        return NULL; /* a stream needs a thread of its own: httpd_serve */
    *sc = (struct stream_ctx){.h = h, .stream = r->stream, .fd = ci->connect_fd};
    struct MHD_Response *resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, STREAM_BLOCK_SIZE, stream_read, sc, stream_done);
    if (!resp)
        free(sc);
    return resp;
}

/* Frees what the handler's answer holds that libmicrohttpd did not take. */
static void response_release(struct httpd_response *r, bool taken)
{
    if (!taken) {
        free(r->body);
        if (r->stream.read && r->stream.done)
            r->stream.done(r->stream.ctx);
    }
    for (size_t i = 0; i < r->n_headers; i++)
        free(r->header_values[i]);
}

static enum MHD_Result reply_handled(struct httpd *h, struct MHD_Connection *conn,
                                     struct httpd_response *r)
{
    struct MHD_Response *resp = response_of(h, conn, r);
    enum MHD_Result rc = MHD_NO;
    if (resp) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
        for (size_t i = 0; i < r->n_headers; i++)
            MHD_add_response_header(resp, r->header_names[i], r->header_values[i]);
        rc = MHD_queue_response(conn, (unsigned)r->status, resp);
        MHD_destroy_response(resp);
    }
    response_release(r, resp != NULL);
    return rc;
}

int httpd_response_header(struct httpd_response *resp, const char *name, const char *value)
{
    if (resp->n_headers >= HTTPD_RESPONSE_HEADERS)
        return -E2BIG;
    resp->header_names[resp->n_headers] = name;
    resp->header_values[resp->n_headers++] = alloc_strdup(value);
    return 0;
}

const char *httpd_header(const struct httpd_request *req, const char *name)
{
    return req->conn ? MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name) : NULL;
}

const char *httpd_query(const struct httpd_request *req, const char *name)
{
    return req->conn ? MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name)
                     : NULL;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, int status, const char *text)
{
    char *body = alloc_strdup(text);
    return reply(conn, status, "text/plain", body, strlen(body));
}

/* Appends a chunk, keeping one byte for the terminating NUL. */
static void body_add(struct httpd_body *b, size_t max, const char *data, size_t len)
{
    if (b->too_large || len > max - b->len) {
        b->too_large = true;
        return;
    }
    VEC_RESERVE(b->data, b->cap, b->len + len + 1);
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

int httpd_body_feed(void **state, size_t max, const char *data, size_t *size)
{
    if (!*state) {
        *state = alloc_calloc(1, sizeof(struct httpd_body));
        return 1;
    }
    if (*size > 0) {
        body_add(*state, max, data, *size);
        *size = 0;
        return 1;
    }
    return 0;
}

void httpd_body_free(struct httpd_body *b)
{
    if (b) {
        free(b->data);
        free(b);
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size,
                                  void **state)
{
    (void)version;
    struct httpd *h = cls;
    bool first = !*state;
    int more = httpd_body_feed(state, HTTPD_MAX_BODY, upload_data, upload_size);
    struct httpd_request req = {.method = method, .path = url, .body = "", .conn = conn};
    if (first && h->guard)
        httpd_guard_received(conn, h->trusted && h->trusted(h->ctx, &req));
    if (more != 0)
        return more > 0 ? MHD_YES : MHD_NO;
    const struct httpd_body *u = *state;
    if (u->too_large)
        return reply_text(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large\n");
    req.body = u->data ? u->data : "";
    req.body_len = u->len;
    struct httpd_response resp = {.status = MHD_HTTP_OK, .content_type = "text/plain"};
    h->handler(h->ctx, &req, &resp);
    return reply_handled(h, conn, &resp);
}

static void on_done(void *cls, struct MHD_Connection *conn, void **state, enum MHD_RequestTerminationCode why)
{
    struct httpd *h = cls;
    (void)why;
    if (h->guard)
        httpd_guard_answered(conn);
    httpd_body_free(*state);
    *state = NULL;
}

/* Notes the port the daemon listens on and the URL of its root. */
static void bound(struct httpd *h, const char *addr)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : h->port;
    bool v6 = strchr(addr, ':') != NULL;
    snprintf(h->url, sizeof h->url, "http://%s%s%s:%u/", v6 ? "[" : "", addr, v6 ? "]" : "",
             (unsigned)h->port);
}

int httpd_start(uint16_t port, httpd_handler handler, void *ctx, struct httpd **out, struct err *e)
{
    struct httpd *h = alloc_calloc(1, sizeof *h);
    h->handler = handler;
    h->ctx = ctx;
    h->port = port;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    h->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, port, NULL, NULL, on_request, h,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_done, h,
                                 MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!h->daemon) {
        free(h);
        return err_set(e, -EADDRINUSE, "cannot listen on 127.0.0.1:%u (port in use or not allowed)",
                       (unsigned)port);
    }
    bound(h, "127.0.0.1");
    *out = h;
    return 0;
}

bool httpd_is_loopback(const char *address)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, address, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, address, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

bool httpd_is_ip_literal(const char *address)
{
    struct in6_addr any;
    return inet_pton(AF_INET, address, &any) == 1 || inet_pton(AF_INET6, address, &any) == 1;
}

bool httpd_same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

int httpd_parse_address(const char *text, char host[HTTPD_HOST_MAX], uint16_t *port,
                        struct err *e)
{
    const char *colon = text ? strrchr(text, ':') : NULL;
    char *end = NULL;
    unsigned long p = colon ? strtoul(colon + 1, &end, 10) : 0;
    if (!colon || !colon[1] || *end || p > 65535)
        return err_set(e, -EINVAL, "\"%.64s\": want HOST:PORT (127.0.0.1:8080, [::1]:8080, "
                       ":8080 for 127.0.0.1; port 0 picks one)", text ? text : "");
    size_t len = (size_t)(colon - text);
    bool bracketed = len >= 2 && text[0] == '[' && text[len - 1] == ']';
    if (bracketed)
        text++, len -= 2;
    if (len >= HTTPD_HOST_MAX)
        return err_set(e, -EINVAL, "\"%.64s\": the host is too long", text);
    if (len)
        snprintf(host, HTTPD_HOST_MAX, "%.*s", (int)len, text);
    else
        snprintf(host, HTTPD_HOST_MAX, "127.0.0.1");
    if (!httpd_is_ip_literal(host) || (strchr(host, ':') && !bracketed))
        return err_set(e, -EINVAL, "\"%s\" is not an IP address; write 127.0.0.1 (or [::1]) "
                       "for this host only, 0.0.0.0 (or [::]) for every interface", host);
    *port = (uint16_t)p;
    return 0;
}

/* The options of h's guard, the address and the callbacks, then the end. */
static struct MHD_Daemon *start_guarded(struct httpd *h, unsigned flags, uint16_t port,
                                        const struct sockaddr *addr)
{
    struct MHD_OptionItem limits[HTTPD_GUARD_OPTIONS];
    httpd_guard_options(h->guard, limits);
    return MHD_start_daemon(flags, port, httpd_guard_accept, h->guard, on_request, h,
                            MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_NOTIFY_COMPLETED, on_done, h,
                            MHD_OPTION_ARRAY, limits, MHD_OPTION_END);
}

int httpd_serve(const struct httpd_config *cfg, struct httpd **out, struct err *e)
{
    const char *addr = cfg->address ? cfg->address : "127.0.0.1";
    if (!httpd_is_ip_literal(addr))
        return err_set(e, -EINVAL, "\"%s\" is not an IP address", addr);
    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons(cfg->port)};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons(cfg->port)};
    bool is_v6 = inet_pton(AF_INET, addr, &v4.sin_addr) != 1;
    if (is_v6)
        inet_pton(AF_INET6, addr, &v6.sin6_addr);
    struct httpd *h = alloc_calloc(1, sizeof *h);
    *h = (struct httpd){.handler = cfg->handler, .ctx = cfg->ctx, .trusted = cfg->trusted,
                        .port = cfg->port};
    struct httpd_limits lim = httpd_limits_or(cfg->limits, HTTPD_LIMITS_DEFAULT);
    int rc = httpd_guard_new(&lim, &h->guard, e);
    if (rc != 0) {
        free(h);
        return rc;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | (is_v6 ? MHD_USE_IPv6 : 0);
    h->daemon = start_guarded(h, flags, cfg->port,
                              is_v6 ? (struct sockaddr *)&v6 : (struct sockaddr *)&v4);
    if (!h->daemon) {
        httpd_guard_free(h->guard);
        free(h);
        return err_set(e, -EADDRINUSE, "cannot listen on %s port %u (in use or not allowed)",
                       addr, (unsigned)cfg->port);
    }
    bound(h, addr);
    *out = h;
    return 0;
}

uint16_t httpd_port(const struct httpd *h)
{
    return h->port;
}

const char *httpd_url(const struct httpd *h)
{
    return h->url;
}

void httpd_stop(struct httpd *h)
{
    if (!h)
        return;
    atomic_store(&h->stopping, true);
    MHD_stop_daemon(h->daemon);
    httpd_guard_free(h->guard);
    free(h);
}
