/*
 * libmicrohttpd glue for the API server (apiserver.h): requests are
 * gathered here (target, headers, a bounded body) and answered by the
 * socket-free REST layer (rest.h); watch, list and followed-log streams
 * become chunked responses read by the connection's own thread.
 *
 * The raw request target (path and query exactly as sent) is taken from
 * MHD's URI log callback, so that the REST layer does its own decoding and
 * sees the same bytes the fuzz harness feeds it.
 */
#include "apiserver/apiserver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "api/status.h"
#include "apiserver/rest.h"
#include "util/alloc.h"
#include "util/httpd.h"
#include "util/vec.h"

/* How often a watch with nothing to send checks that its client is still
 * there. */
#define STREAM_POLL_MS 1000
#define STREAM_BLOCK_SIZE (64 * 1024)
/* How long a client refused a watch is asked to wait. */
#define WATCH_RETRY_AFTER_S 1
/* libmicrohttpd's memory per connection, where the request line and the
 * headers must fit: past it, it answers 414 or 431 with its own HTML page.
 * Twice REST_MAX_TARGET_BYTES, so that a target over that limit (up to
 * some 125 KB) still reaches rest.c and is answered with a Status. No
 * more: libmicrohttpd zeroes the whole of it after every request of a
 * kept-alive connection, and at four times it was 4% of the CPU of a pod
 * over HTTP (issue 12). */
#define CONNECTION_MEMORY_BYTES ((size_t)REST_MAX_TARGET_BYTES * 2)

/* A watch or a followed log: one of ws and log is set. */
struct stream_ctx {
    struct apiserver *srv;
    struct watchstream *ws;
    struct podlogs_stream *log;
    int fd;
    struct stream_ctx *prev, *next;
};

struct apiserver {
    struct rest_server rest;
    struct MHD_Daemon *daemon;
    uint16_t port;
    char url[APISERVER_URL_MAX];
    char *token, *cert, *key, *version;
    struct httpd_guard *guard;
    unsigned max_watches;
    struct podlogs_source logs;   /* cfg's, which rest points at */
    pthread_mutex_t mu;           /* guards what follows */
    struct stream_ctx *streams;   /* open watches and followed logs, to end them on stop */
    unsigned watches;             /* watch slots taken: open ones and those being opened */
    bool stopping;
};

/* One request being received. */
struct request_ctx {
    char *target;
    char *body;
    size_t len, cap;
    bool started, too_big;
};

bool apiserver_is_loopback(const char *address)
{
    return httpd_is_loopback(address);
}

/* ---- requests ---- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    struct request_ctx *rc = alloc_calloc(1, sizeof *rc);
    if (rc && !(rc->target = alloc_strdup(uri))) {
        free(rc);
        rc = NULL;
    }
    return rc;
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)toe;
    httpd_guard_answered(conn);
    struct request_ctx *rc = *con_cls;
    if (rc) {
        free(rc->target);
        free(rc->body);
        free(rc);
    }
    *con_cls = NULL;
}

/* Keeps the body up to max bytes; past that only notes it was too big. */
static void take_body(struct request_ctx *rc, const char *data, size_t n, size_t max)
{
    if (rc->too_big || rc->len + n > max) {
        rc->too_big = true;
        return;
    }
    VEC_RESERVE(rc->body, rc->cap, rc->len + n + 1);
    memcpy(rc->body + rc->len, data, n);
    rc->len += n;
    rc->body[rc->len] = '\0';
}

/* ---- watch streams ---- */

static void stream_cancel(struct stream_ctx *sc)
{
    if (sc->ws)
        watchstream_cancel(sc->ws);
    else
        podlogs_stream_cancel(sc->log);
}

/* One wait of up to STREAM_POLL_MS for the next bytes of sc's watch or
 * followed log (an httpd_stream's read). */
static ssize_t stream_wait(void *ctx, char *buf, size_t max)
{
    struct stream_ctx *sc = ctx;
    return sc->ws ? watchstream_read(sc->ws, buf, max, STREAM_POLL_MS)
                  : podlogs_stream_read(sc->log, buf, max, STREAM_POLL_MS);
}

/* A stream ends by its cancel (stream_cancel), not by a stop flag. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct stream_ctx *sc = cls;
    const struct httpd_stream s = {.read = stream_wait, .ctx = sc};
    return httpd_stream_next(&s, sc->fd, NULL, buf, max);
}

/* Takes one of the server's watch slots; false when none is left. */
static bool watch_slot_take(struct apiserver *srv)
{
    pthread_mutex_lock(&srv->mu);
    bool ok = srv->watches < srv->max_watches;
    srv->watches += ok;
    pthread_mutex_unlock(&srv->mu);
    return ok;
}

static void watch_slot_give(struct apiserver *srv)
{
    pthread_mutex_lock(&srv->mu);
    srv->watches--;
    pthread_mutex_unlock(&srv->mu);
}

static void stream_done(void *cls)
{
    struct stream_ctx *sc = cls;
    pthread_mutex_lock(&sc->srv->mu);
    if (sc->prev)
        sc->prev->next = sc->next;
    else
        sc->srv->streams = sc->next;
    if (sc->next)
        sc->next->prev = sc->prev;
    sc->srv->watches--;
    pthread_mutex_unlock(&sc->srv->mu);
    watchstream_free(sc->ws);
    podlogs_stream_free(sc->log);
    free(sc);
}

/* A chunked response fed by resp's watch or followed log, which it takes. */
static struct MHD_Response *stream_response(struct apiserver *srv, struct MHD_Connection *conn,
                                            struct rest_response *resp)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct stream_ctx *sc = ci ? alloc_calloc(1, sizeof *sc) : NULL;
    struct MHD_Response *r = sc ? MHD_create_response_from_callback(
                                      MHD_SIZE_UNKNOWN, STREAM_BLOCK_SIZE, stream_read, sc,
                                      stream_done)
                                : NULL;
    if (!r) {
        free(sc);
        return NULL;
    }
    sc->srv = srv;
    sc->fd = ci->connect_fd;
    sc->ws = resp->stream;
    sc->log = resp->log;
    resp->stream = NULL;
    resp->log = NULL;
    pthread_mutex_lock(&srv->mu);
    sc->next = srv->streams;
    if (sc->next)
        sc->next->prev = sc;
    srv->streams = sc;
    if (srv->stopping)
        stream_cancel(sc);
    pthread_mutex_unlock(&srv->mu);
    return r;
}

/* ---- list streams ---- */

static ssize_t list_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    ssize_t n = liststream_read(cls, buf, max);
    if (n > 0)
        return n;
    /* A failed page cuts the body short: the client sees it incomplete. */
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void list_done(void *cls)
{
    liststream_free(cls);
}

/* A chunked response fed by resp's list stream, which it takes. */
static struct MHD_Response *list_response(struct rest_response *resp)
{
    struct MHD_Response *r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, STREAM_BLOCK_SIZE, list_read, resp->list, list_done);
    if (r)
        resp->list = NULL;
    return r;
}

/* ---- responses ---- */

/* resp's watch, refused: 429 with a Status, as kube-apiserver answers a
 * request over its limits. */
static void too_many_watches(struct apiserver *srv, struct rest_response *resp)
{
    struct err e;
    err_set(&e, -EAGAIN, "too many watches (this server allows %u at once); try again later",
            srv->max_watches);
    rest_response_release(resp);
    json_t *st = status_from_err(&e, NULL, NULL, NULL);
    json_object_set_new(st, "details", json_pack("{s:i}", "retryAfterSeconds",
                                                 WATCH_RETRY_AFTER_S));
    rest_reply_json(resp, 429, st);
    resp->retry_after_s = WATCH_RETRY_AFTER_S;
}

/* The response resp says; a watch or followed log past the watch cap
 * becomes the 429. */
static struct MHD_Response *response_of(struct apiserver *srv, struct MHD_Connection *conn,
                                        struct rest_response *resp)
{
    if (resp->stream || resp->log) {
        if (watch_slot_take(srv)) {
            struct MHD_Response *r = stream_response(srv, conn, resp);
            if (!r)
                watch_slot_give(srv);
            return r;
        }
        too_many_watches(srv, resp);
    }
    if (resp->list)
        return list_response(resp);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_MUST_FREE);
    if (r)
        resp->body = NULL;
    return r;
}

static enum MHD_Result queue(struct apiserver *srv, struct MHD_Connection *conn,
                             struct rest_response *resp)
{
    struct MHD_Response *r = response_of(srv, conn, resp);
    if (!r) {
        rest_response_release(resp);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache, private");
    if (resp->retry_after_s) {
        char secs[16];
        snprintf(secs, sizeof secs, "%u", resp->retry_after_s);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    }
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    rest_response_release(resp);
    return ok;
}

static enum MHD_Result reply_too_large(struct apiserver *srv, struct MHD_Connection *conn,
                                       const struct rest_request *head)
{
    struct rest_response resp = {0};
    struct err e;
    err_set(&e, -E2BIG, "the request body is too large (limit %zu bytes)",
            srv->rest.max_body);
    rest_reply_error(&resp, &e, NULL, NULL, NULL);
    rest_count_refused(&srv->rest, head, &resp);
    return queue(srv, conn, &resp);
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    (void)url;
    (void)version;
    struct apiserver *srv = cls;
    struct request_ctx *rc = *con_cls;
    if (!rc)
        return MHD_NO; /* out of memory in on_uri */
    if (!rc->started) {
        rc->started = true;
        /* Refused before a byte of the body is read (issue 19: 150
         * unauthenticated connections each sending 3 MiB took 435 MB). */
        struct rest_request head = {
            .method = method,
            .target = rc->target,
            .authorization = header(conn, MHD_HTTP_HEADER_AUTHORIZATION),
        };
        struct rest_response refused;
        bool admitted = rest_admits(&srv->rest, &head, &refused);
        httpd_guard_received(conn, admitted && rest_authenticated(&srv->rest, &head));
        if (!admitted) {
            rest_count_refused(&srv->rest, &head, &refused);
            return queue(srv, conn, &refused);
        }
        const char *cl = header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > srv->rest.max_body)
            return reply_too_large(srv, conn, &head);
        return MHD_YES;
    }
    if (*upload_size) {
        take_body(rc, upload, *upload_size, srv->rest.max_body);
        *upload_size = 0;
        return MHD_YES;
    }
    if (rc->too_big)
        return reply_too_large(srv, conn, &(struct rest_request){.method = method,
                                                                 .target = rc->target});
    struct rest_request req = {
        .method = method,
        .target = rc->target,
        .content_type = header(conn, MHD_HTTP_HEADER_CONTENT_TYPE),
        .accept = header(conn, MHD_HTTP_HEADER_ACCEPT),
        .authorization = header(conn, MHD_HTTP_HEADER_AUTHORIZATION),
        .body = rc->body,
        .body_len = rc->len,
    };
    struct rest_response resp;
    rest_handle(&srv->rest, &req, &resp);
    return queue(srv, conn, &resp);
}

/* ---- lifecycle ---- */

static int copy_config(struct apiserver *srv, const struct apiserver_config *cfg)
{
    srv->rest.store = cfg->store;
    srv->rest.now_ns = cfg->now_ns;
    srv->rest.clock_ctx = cfg->clock_ctx;
    srv->rest.max_body = cfg->max_body ? cfg->max_body : REST_MAX_BODY_DEFAULT;
    if ((cfg->token && !(srv->token = alloc_strdup(cfg->token))) ||
        (cfg->tls_cert_pem && !(srv->cert = alloc_strdup(cfg->tls_cert_pem))) ||
        (cfg->tls_key_pem && !(srv->key = alloc_strdup(cfg->tls_key_pem))) ||
        !(srv->version = alloc_strdup(cfg->version ? cfg->version : "dev")))
        return -ENOMEM;
    srv->rest.token = srv->token;
    srv->rest.version = srv->version;
    srv->rest.webhooks = admission_pool_new();
    srv->rest.requests = prom_counter(
        cfg->metrics, "gpuslice_apiserver_requests_total",
        "Requests answered, by verb (LIST and WATCH for reads of a collection), resource, "
        "subresource and HTTP code.", "verb,resource,subresource,code");
    srv->logs = cfg->logs;
    srv->rest.logs = srv->logs.open ? &srv->logs : NULL;
    return 0;
}

/* The guard of cfg's limits, and the watch cap under its connection cap. */
static int start_guard(struct apiserver *srv, const struct apiserver_config *cfg, struct err *e)
{
    struct httpd_limits lim = httpd_limits_or(cfg->limits, APISERVER_LIMITS_DEFAULT);
    int rc = httpd_guard_new(&lim, &srv->guard, e);
    if (rc != 0)
        return err_prefix(e, rc, "apiserver: ");
    const struct httpd_limits *fit = httpd_guard_limits(srv->guard);
    unsigned most = fit->max_connections * 3 / 4;
    srv->max_watches = cfg->max_watches ? cfg->max_watches : most ? most : 1;
    if (srv->max_watches > fit->max_connections)
        srv->max_watches = fit->max_connections;
    /* A third of the idle timeout: a keepalive is never late for it. */
    srv->rest.watch_keepalive_ms = fit->idle_timeout_s * 1000 / 3;
    return 0;
}

static int check_config(const struct apiserver_config *cfg, const char *addr, struct err *e)
{
    /* Before the loopback rule: "localhost" is not refused for where it
     * points but because no name is looked up. */
    if (!httpd_is_ip_literal(addr))
        return err_set(e, -EINVAL, "apiserver: \"%s\" is not an IP address; write 127.0.0.1 "
                       "(or ::1) for this host only, 0.0.0.0 (or ::) for every interface",
                       addr);
    if (!cfg->store || !cfg->now_ns)
        return err_set(e, -EINVAL, "apiserver: a store and a clock are required");
    if (!cfg->tls_cert_pem != !cfg->tls_key_pem)
        return err_set(e, -EINVAL, "apiserver: TLS needs both a certificate and a key");
    if (cfg->token && !*cfg->token)
        return err_set(e, -EINVAL, "apiserver: the token is empty");
    if (!apiserver_is_loopback(addr) && (!cfg->tls_cert_pem || !cfg->token))
        return err_set(e, -EPERM, "apiserver: listening on %s (not loopback) needs TLS (a "
                       "certificate and key) and a bearer token", addr);
    return 0;
}

int apiserver_start(const struct apiserver_config *cfg, struct apiserver **out, struct err *e)
{
    const char *addr = cfg->address ? cfg->address : "127.0.0.1";
    *out = NULL;
    int rc = check_config(cfg, addr, e);
    if (rc != 0)
        return rc;
    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons(cfg->port)};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons(cfg->port)};
    bool is_v6 = inet_pton(AF_INET, addr, &v4.sin_addr) != 1;
    if (is_v6)
        inet_pton(AF_INET6, addr, &v6.sin6_addr); /* an IP literal: check_config */
    struct apiserver *srv = alloc_calloc(1, sizeof *srv);
    if (srv)
        pthread_mutex_init(&srv->mu, NULL);
    if (copy_config(srv, cfg) != 0) {
        apiserver_stop(srv);
        return err_set(e, -ENOMEM, "apiserver: out of memory");
    }
    if ((rc = start_guard(srv, cfg, e)) != 0) {
        apiserver_stop(srv);
        return rc;
    }
    struct MHD_OptionItem limits[HTTPD_GUARD_OPTIONS];
    httpd_guard_options(srv->guard, limits);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | (is_v6 ? MHD_USE_IPv6 : 0) | (srv->cert ? MHD_USE_TLS : 0);
    /* Without TLS the first item ends the array. */
    struct MHD_OptionItem tls[] = {
        {srv->cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, srv->cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, srv->key},
        {MHD_OPTION_END, 0, NULL},
    };
    errno = 0;
    srv->daemon = MHD_start_daemon(
        flags, cfg->port, httpd_guard_accept, srv->guard, on_request, srv, MHD_OPTION_SOCK_ADDR,
        is_v6 ? (struct sockaddr *)&v6 : (struct sockaddr *)&v4, MHD_OPTION_URI_LOG_CALLBACK,
        on_uri, srv, MHD_OPTION_NOTIFY_COMPLETED, on_done, srv,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY_BYTES, MHD_OPTION_ARRAY, limits,
        MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    if (!srv->daemon) {
        int code = errno ? -errno : -EIO;
        apiserver_stop(srv);
        return err_set(e, code, "apiserver: cannot listen on %s port %u%s", addr,
                       (unsigned)cfg->port, code == -EADDRINUSE ? ": address in use" : "");
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : cfg->port;
    /* A wildcard address is reached through loopback from this host. */
    const char *host = is_v6 ? (IN6_IS_ADDR_UNSPECIFIED(&v6.sin6_addr) ? "::1" : addr)
                             : (v4.sin_addr.s_addr == htonl(INADDR_ANY) ? "127.0.0.1" : addr);
    snprintf(srv->url, sizeof srv->url, "%s://%s%s%s:%u", srv->cert ? "https" : "http",
             is_v6 ? "[" : "", host, is_v6 ? "]" : "", (unsigned)srv->port);
    *out = srv;
    return 0;
}

const struct httpd_limits *apiserver_limits(const struct apiserver *srv, unsigned *max_watches)
{
    if (max_watches)
        *max_watches = srv->max_watches;
    return httpd_guard_limits(srv->guard);
}

uint16_t apiserver_port(const struct apiserver *srv)
{
    return srv->port;
}

const char *apiserver_url(const struct apiserver *srv)
{
    return srv->url;
}

void apiserver_stop(struct apiserver *srv)
{
    if (!srv)
        return;
    if (srv->daemon) {
        pthread_mutex_lock(&srv->mu);
        srv->stopping = true;
        for (struct stream_ctx *sc = srv->streams; sc; sc = sc->next)
            stream_cancel(sc);
        pthread_mutex_unlock(&srv->mu);
        MHD_stop_daemon(srv->daemon);
    }
    httpd_guard_free(srv->guard);
    admission_pool_free(srv->rest.webhooks);
    pthread_mutex_destroy(&srv->mu);
    free(srv->token);
    free(srv->cert);
    free(srv->key);
    free(srv->version);
    free(srv);
}
