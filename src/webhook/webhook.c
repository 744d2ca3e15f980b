/*
 * The webhook's libmicrohttpd glue and its certificate rotation
 * (webhook.h). A "generation" is one daemon with the pair it was started
 * with; the newest accepts, the older ones only finish their connections.
 */
#include "webhook/webhook.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "util/alloc.h"
#include "util/clock.h"
#include "util/httpd.h"
#include "util/random.h"
#include "webhook/certs.h"
#include "webhook/metrics.h"
#include "webhook/mutate.h"

#define LISTEN_BACKLOG 128
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct generation {
    struct webhook *w;
    struct MHD_Daemon *daemon;
    char *cert, *key;           /* the pair it serves; it reads them at start */
    atomic_bool draining;       /* quiesced: answer with Connection: close */
    int64_t quiesced_ns;
    struct generation *next;    /* older ones */
};

struct webhook {
    int fd;                     /* the listening socket, handed to each daemon */
    struct httpd_guard *guard;  /* every daemon's */
    uint16_t port;
    unsigned threads, drain_s;
    char *cert_file, *key_file;
    struct generation *gens;    /* newest first; only the first accepts */
    struct prom *registry;      /* the config's, or own_registry */
    struct prom *own_registry;  /* made when the config gave none */
    struct metrics metrics;
};

/* ---- requests ---- */

/* Queues body (malloc'd, taken; NULL answers 500) with status and type. */
static enum MHD_Result reply(struct generation *g, struct MHD_Connection *conn, unsigned status,
                             const char *type, char *body, size_t len)
{
    static const char oom[] = "out of memory\n";
    struct MHD_Response *r =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom,
                                               MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, body ? type : "text/plain");
    if (atomic_load(&g->draining))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result rc = MHD_queue_response(conn, body ? status : 500, r);
    MHD_destroy_response(r);
    return rc;
}

/* A line of text: msg and a newline. */
static enum MHD_Result reply_text(struct generation *g, struct MHD_Connection *conn,
                                  unsigned status, const char *msg)
{
    size_t len = strlen(msg);
    char *text = alloc_malloc(len + 2);
    memcpy(text, msg, len);
    memcpy(text + len, "\n", 2);
    return reply(g, conn, status, "text/plain; charset=utf-8", text, len + 1);
}

/* "gs-" and ten random characters of [a-z0-9]. */
static void random_prefix(char out[MUTATE_PREFIX_MAX])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char r[10];
    size_t got = random_fill(r, sizeof r);
    /* Without randomness, the time still tells pods apart. */
    for (uint64_t t = (uint64_t)clock_monotonic_ns(); got < sizeof r; t >>= 6)
        r[got++] = (unsigned char)t;
    memcpy(out, "gs-", 3);
    for (size_t i = 0; i < sizeof r; i++)
        out[3 + i] = alphabet[r[i] % (sizeof alphabet - 1)];
    out[3 + sizeof r] = '\0';
}

static enum MHD_Result serve_review(struct generation *g, struct MHD_Connection *conn,
                                    const struct httpd_body *u)
{
    int64_t start = clock_monotonic_ns();
    struct webhook *w = g->w;
    char prefix[MUTATE_PREFIX_MAX], *out;
    size_t len;
    enum mutate_outcome outcome;
    struct err e;
    random_prefix(prefix);
    int rc = u->too_large ? err_set(&e, -E2BIG, "the request body is larger than %u bytes",
                                    MUTATE_MAX_BODY)
                          : mutate_review(u->data ? u->data : "", u->len, prefix, &out, &len,
                                          &outcome, &e);
    static const enum metrics_result results[] = {
        [MUTATE_ALLOWED] = METRICS_ALLOWED,
        [MUTATE_PATCHED] = METRICS_PATCHED,
        [MUTATE_DENIED] = METRICS_DENIED,
    };
    enum MHD_Result ok;
    if (rc == 0)
        ok = reply(g, conn, MHD_HTTP_OK, "application/json", out, len);
    else
        ok = reply_text(g, conn, rc == -EBADMSG ? MHD_HTTP_BAD_REQUEST
                                 : rc == -E2BIG ? MHD_HTTP_CONTENT_TOO_LARGE
                                                : MHD_HTTP_INTERNAL_SERVER_ERROR,
                        e.msg);
    metrics_observe(&w->metrics, rc == 0 ? results[outcome] : METRICS_ERROR,
                    (uint64_t)(clock_monotonic_ns() - start));
    return ok;
}

static enum MHD_Result serve(struct generation *g, struct MHD_Connection *conn, const char *url,
                             const char *method, const struct httpd_body *u)
{
    bool get = strcmp(method, "GET") == 0;
    if (strcmp(url, WEBHOOK_PATH_MUTATE) == 0)
        return strcmp(method, "POST") == 0
                   ? serve_review(g, conn, u)
                   : reply_text(g, conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                                WEBHOOK_PATH_MUTATE " takes POST");
    if ((strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0) && get)
        return reply_text(g, conn, MHD_HTTP_OK, "ok");
    if (strcmp(url, "/metrics") == 0 && get) {
        char *text;
        size_t len = 0;
        if (prom_render(g->w->registry, &text, &len, NULL) != 0)
            text = NULL;
        return reply(g, conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text,
                     len);
    }
    char msg[200];
    snprintf(msg, sizeof msg, "%.120s: not found (try " WEBHOOK_PATH_MUTATE ", /healthz, /readyz, /metrics)",
             url);
    return reply_text(g, conn, MHD_HTTP_NOT_FOUND, msg);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **state)
{
    (void)version;
    int more = httpd_body_feed(state, MUTATE_MAX_BODY, upload_data, upload_size);
    if (more != 0)
        return more > 0 ? MHD_YES : MHD_NO;
    httpd_guard_received(conn, false);
    return serve(cls, conn, url, method, *state);
}

static void on_done(void *cls, struct MHD_Connection *conn, void **state,
                    enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)why;
    httpd_guard_answered(conn);
    httpd_body_free(*state);
    *state = NULL;
}

/* ---- generations ---- */

static int read_pem(const char *path, char **out, struct err *e)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    char *buf = alloc_malloc(WEBHOOK_PEM_MAX + 1);
    size_t len = 0;
    ssize_t n = 0;
    while (len < WEBHOOK_PEM_MAX && (n = read(fd, buf + len, WEBHOOK_PEM_MAX - len)) > 0)
        len += (size_t)n;
    int saved = errno;
    close(fd);
    if (n < 0 || len == WEBHOOK_PEM_MAX) {
        free(buf);
        return err_set(e, n < 0 ? -saved : -EFBIG, "%s: %s", path,
                       n < 0 ? strerror(saved) : "larger than 1 MiB");
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

static void generation_free(struct generation *g)
{
    if (!g)
        return;
    if (g->daemon)
        MHD_stop_daemon(g->daemon);
    free(g->cert);
    free(g->key);
    free(g);
}

/* A daemon serving cert and key (taken) on w's socket. */
static int generation_start(struct webhook *w, char *cert, char *key, struct generation **out,
                            struct err *e)
{
    struct generation *g = alloc_calloc(1, sizeof *g);
    g->w = w;
    g->cert = cert;
    g->key = key;
    atomic_init(&g->draining, false);
    int rc = certs_check_pair(cert, key, e);
    if (rc < 0) {
        generation_free(g);
        return err_prefix(e, rc, "webhook: %s, %s: ", w->cert_file, w->key_file);
    }
    /* With one thread the pool option is left out (the first item ends the
     * array). */
    struct MHD_OptionItem pool[] = {
        {w->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, w->threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_OptionItem limits[HTTPD_GUARD_OPTIONS];
    httpd_guard_options(w->guard, limits);
    /* poll, never epoll: a rotation quiesces a daemon whose threads are
     * serving, and libmicrohttpd's epoll loop and MHD_quiesce_daemon both
     * take the listening socket out of the epoll set, unlocked; the loser
     * aborts the process. Poll has no such set, and the webhook holds few
     * connections (the API servers' kept-alive pools). */
    g->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC | MHD_USE_TLS, 0,
        httpd_guard_accept, w->guard, on_request, g, MHD_OPTION_LISTEN_SOCKET, w->fd,
        MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
        MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
        MHD_OPTION_ARRAY, limits, MHD_OPTION_ARRAY, pool, MHD_OPTION_END);
    if (!g->daemon) {
        generation_free(g);
        return err_set(e, -EINVAL, "webhook: libmicrohttpd refused the certificate %s and key %s",
                       w->cert_file, w->key_file);
    }
    *out = g;
    return 0;
}

/* Stops replaced daemons with no connection left or whose drain is over. */
static void prune(struct webhook *w, int64_t now)
{
    struct generation **link = &w->gens->next;
    while (*link) {
        struct generation *g = *link;
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(g->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        bool idle = info && info->num_connections == 0;
        if (idle || now - g->quiesced_ns >= w->drain_s * NS_PER_SEC) {
            *link = g->next;
            generation_free(g);
        } else {
            link = &g->next;
        }
    }
}

int webhook_reload(struct webhook *w, struct err *e)
{
    prune(w, clock_monotonic_ns());
    char *cert, *key = NULL;
    int rc = read_pem(w->cert_file, &cert, e);
    if (rc == 0)
        rc = read_pem(w->key_file, &key, e);
    struct generation *cur = w->gens, *g;
    if (rc < 0) {
        free(cert);
        metrics_reload(&w->metrics, 0);
        return err_prefix(e, rc, "webhook: ");
    }
    if (strcmp(cert, cur->cert) == 0 && strcmp(key, cur->key) == 0) {
        free(cert);
        free(key);
        return 0;
    }
    rc = generation_start(w, cert, key, &g, e);
    metrics_reload(&w->metrics, rc == 0);
    if (rc < 0)
        return rc;
    MHD_quiesce_daemon(cur->daemon); /* the socket stays w's */
    atomic_store(&cur->draining, true);
    cur->quiesced_ns = clock_monotonic_ns();
    g->next = cur;
    w->gens = g;
    return 1;
}

/* ---- lifecycle ---- */

static int listen_socket(const char *address, uint16_t port, int *fd, struct err *e)
{
    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    bool is_v6 = inet_pton(AF_INET, address, &v4.sin_addr) != 1;
    if (is_v6 && inet_pton(AF_INET6, address, &v6.sin6_addr) != 1)
        return err_set(e, -EINVAL, "webhook: \"%s\" is not an IP address", address);
    *fd = socket(is_v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (*fd < 0 || setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(*fd, is_v6 ? (struct sockaddr *)&v6 : (struct sockaddr *)&v4,
             is_v6 ? sizeof v6 : sizeof v4) != 0 ||
        listen(*fd, LISTEN_BACKLOG) != 0) {
        int code = -errno;
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return err_set(e, code, "webhook: cannot listen on %s port %u: %s", address,
                       (unsigned)port, strerror(-code));
    }
    return 0;
}

static uint16_t bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
}

int webhook_start(const struct webhook_config *cfg, struct webhook **out, struct err *e)
{
    *out = NULL;
    if (!cfg->cert_file || !cfg->key_file)
        return err_set(e, -EINVAL, "webhook: a certificate file and a key file are required");
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return err_set(e, -ENOTSUP, "webhook: libmicrohttpd was built without TLS");
    struct webhook *w = alloc_calloc(1, sizeof *w);
    w->fd = -1;
    w->threads = cfg->threads ? cfg->threads : WEBHOOK_THREADS_DEFAULT;
    w->drain_s = cfg->drain_s ? cfg->drain_s : WEBHOOK_DRAIN_DEFAULT_S;
    w->registry = cfg->metrics;
    if (!w->registry)
        w->registry = w->own_registry = prom_new();
    metrics_init(&w->metrics, w->registry);
    w->cert_file = alloc_strdup(cfg->cert_file);
    w->key_file = alloc_strdup(cfg->key_file);
    char *cert = NULL, *key = NULL;
    int rc;
    if ((rc = read_pem(w->cert_file, &cert, e)) < 0 || (rc = read_pem(w->key_file, &key, e)) < 0)
        rc = err_prefix(e, rc, "webhook: ");
    struct httpd_limits lim = httpd_limits_or(cfg->limits, WEBHOOK_LIMITS_DEFAULT);
    if (rc == 0 && (rc = httpd_guard_new(&lim, &w->guard, e)) != 0)
        rc = err_prefix(e, rc, "webhook: ");
    if (rc == 0)
        rc = listen_socket(cfg->address ? cfg->address : WEBHOOK_ADDRESS_DEFAULT, cfg->port,
                           &w->fd, e);
    if (rc == 0) {
        rc = generation_start(w, cert, key, &w->gens, e);
        cert = key = NULL;
    }
    free(cert);
    free(key);
    if (rc < 0) {
        webhook_stop(w);
        return rc;
    }
    w->port = bound_port(w->fd);
    *out = w;
    return 0;
}

uint16_t webhook_port(const struct webhook *w)
{
    return w->port;
}

const struct httpd_limits *webhook_limits(const struct webhook *w)
{
    return httpd_guard_limits(w->guard);
}

size_t webhook_draining(const struct webhook *w)
{
    size_t n = 0;
    for (const struct generation *g = w->gens; g; g = g->next)
        n += g != w->gens;
    return n;
}

void webhook_stop(struct webhook *w)
{
    if (!w)
        return;
    /* Quiesced first, the daemon leaves the socket to us to close. */
    if (w->gens)
        MHD_quiesce_daemon(w->gens->daemon);
    while (w->gens) {
        struct generation *g = w->gens;
        w->gens = g->next;
        generation_free(g);
    }
    if (w->fd >= 0)
        close(w->fd);
    httpd_guard_free(w->guard);
    prom_free(w->own_registry);
    free(w->cert_file);
    free(w->key_file);
    free(w);
}
