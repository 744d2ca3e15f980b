/*
 * Connection limits and timeouts (httpd_guard.h). The guard's records are
 * one list under one mutex: the lists are at most a few thousand long and
 * walked only on accept and by the reaper, which sleeps until the earliest
 * deadline. A record lives from libmicrohttpd's STARTED notification to its
 * CLOSED one, which comes before the socket is closed, so the reaper never
 * shuts down a descriptor that has been reused.
 */
#include "util/httpd_guard.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "util/alloc.h"
#include "util/clock.h"
#include "util/mutex.h"

/* An address as compared for the per-address cap: 4 bytes for IPv4 (an
 * IPv4-mapped IPv6 address included), 16 for IPv6. */
struct addr_key {
    unsigned char b[16];
    size_t len; /* 0: not an IP address, never capped */
};

struct guarded {
    struct httpd_guard *g;
    int fd;
    struct addr_key addr;
    bool trusted;
    int64_t deadline_ns; /* monotonic; 0: none armed */
    struct guarded *prev, *next;
};

struct httpd_guard {
    struct httpd_limits lim;
    struct mutex mu;          /* guards everything below */
    pthread_cond_t wake;      /* the reaper's: an earlier deadline, or stop */
    struct guarded *conns;
    int64_t wake_at;          /* when the reaper looks next; INT64_MAX: no deadline */
    bool stopping;
    pthread_t reaper;
};

struct httpd_limits httpd_limits_or(struct httpd_limits lim, struct httpd_limits defaults)
{
    if (!lim.max_connections)
        lim.max_connections = defaults.max_connections;
    if (!lim.max_per_address)
        lim.max_per_address = defaults.max_per_address;
    if (!lim.idle_timeout_s)
        lim.idle_timeout_s = defaults.idle_timeout_s;
    if (!lim.request_timeout_s)
        lim.request_timeout_s = defaults.request_timeout_s;
    return lim;
}

struct httpd_limits httpd_limits_fit(struct httpd_limits lim, unsigned long nofile)
{
    struct rlimit rl;
    if (!nofile)
        nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                     ? (unsigned long)rl.rlim_cur
                     : UINT32_MAX;
    unsigned long room = nofile > HTTPD_FD_RESERVE + 2 ? (nofile - HTTPD_FD_RESERVE) / 2 : 1;
    if (lim.max_connections > room)
        lim.max_connections = (unsigned)room;
    if (lim.max_per_address > lim.max_connections)
        lim.max_per_address = lim.max_connections;
    return lim;
}

static struct addr_key key_of(const struct sockaddr *sa)
{
    struct addr_key k = {0};
    if (sa && sa->sa_family == AF_INET) {
        memcpy(k.b, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        k.len = 4;
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        bool mapped = IN6_IS_ADDR_V4MAPPED(a);
        k.len = mapped ? 4 : 16;
        memcpy(k.b, a->s6_addr + (mapped ? 12 : 0), k.len);
    }
    return k;
}

static bool same_addr(const struct addr_key *a, const struct addr_key *b)
{
    return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

/* Sets c's deadline after ns from now, waking the reaper when it is the
 * earliest. Called with the guard's mutex held. */
static void arm(struct guarded *c, int64_t after_ns)
{
    struct httpd_guard *g = c->g;
    c->deadline_ns = clock_monotonic_ns() + after_ns;
    if (c->deadline_ns < g->wake_at) {
        g->wake_at = c->deadline_ns;
        pthread_cond_signal(&g->wake);
    }
}

/* Shuts down the sockets past their deadline; returns the earliest
 * deadline left (INT64_MAX: none). Called with the mutex held. */
static int64_t cut_late(struct httpd_guard *g, int64_t now)
{
    int64_t next = INT64_MAX;
    for (struct guarded *c = g->conns; c; c = c->next) {
        if (!c->deadline_ns)
            continue;
        if (c->deadline_ns <= now) {
            shutdown(c->fd, SHUT_RDWR);
            c->deadline_ns = 0;
        } else if (c->deadline_ns < next) {
            next = c->deadline_ns;
        }
    }
    return next;
}

static void *reap(void *arg)
{
    struct httpd_guard *g = arg;
    mutex_lock(&g->mu);
    while (!g->stopping) {
        int64_t now = clock_monotonic_ns();
        g->wake_at = cut_late(g, now);
        struct timespec until;
        if (g->wake_at != INT64_MAX)
            until = clock_deadline(CLOCK_MONOTONIC, g->wake_at - now);
        mutex_cond_wait(&g->mu, &g->wake, g->wake_at == INT64_MAX ? NULL : &until);
    }
    mutex_unlock(&g->mu);
    return NULL;
}

enum MHD_Result httpd_guard_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    (void)len;
    struct httpd_guard *g = cls;
    struct addr_key k = key_of(addr);
    if (!k.len)
        return MHD_YES;
    unsigned from_addr = 0;
    mutex_lock(&g->mu);
    for (const struct guarded *c = g->conns; c; c = c->next)
        from_addr += !c->trusted && same_addr(&c->addr, &k);
    mutex_unlock(&g->mu);
    return from_addr < g->lim.max_per_address ? MHD_YES : MHD_NO;
}

static void on_started(struct httpd_guard *g, struct MHD_Connection *conn, void **ctx)
{
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *addr =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    struct guarded *c = alloc_calloc(1, sizeof *c);
    c->g = g;
    c->fd = fd ? fd->connect_fd : -1;
    c->addr = key_of(addr ? addr->client_addr : NULL);
    mutex_lock(&g->mu);
    c->next = g->conns;
    if (c->next)
        c->next->prev = c;
    g->conns = c;
    if (c->fd >= 0)
        arm(c, g->lim.request_timeout_s * NS_PER_SEC);
    mutex_unlock(&g->mu);
    *ctx = c;
}

static void on_closed(struct httpd_guard *g, void **ctx)
{
    struct guarded *c = *ctx;
    if (!c)
        return;
    mutex_lock(&g->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        g->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    mutex_unlock(&g->mu);
    free(c);
    *ctx = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **ctx,
                          enum MHD_ConnectionNotificationCode what)
{
    if (what == MHD_CONNECTION_NOTIFY_STARTED)
        on_started(cls, conn, ctx);
    else
        on_closed(cls, ctx);
}

void httpd_guard_options(struct httpd_guard *g, struct MHD_OptionItem out[HTTPD_GUARD_OPTIONS])
{
    out[0] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, g->lim.max_connections, NULL};
    out[1] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, g->lim.idle_timeout_s, NULL};
    /* A two-pointer option: the function in value, its argument in ptr_value. */
    out[2] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, g};
    out[3] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

static struct guarded *guarded_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

void httpd_guard_received(struct MHD_Connection *conn, bool trusted)
{
    struct guarded *c = guarded_of(conn);
    if (!c)
        return;
    mutex_lock(&c->g->mu);
    c->deadline_ns = 0;
    c->trusted = c->trusted || trusted;
    mutex_unlock(&c->g->mu);
}

void httpd_guard_answered(struct MHD_Connection *conn)
{
    struct guarded *c = guarded_of(conn);
    if (!c || c->fd < 0)
        return;
    struct httpd_guard *g = c->g;
    mutex_lock(&g->mu);
    arm(c, (int64_t)(g->lim.idle_timeout_s + g->lim.request_timeout_s) * NS_PER_SEC);
    mutex_unlock(&g->mu);
}

const struct httpd_limits *httpd_guard_limits(const struct httpd_guard *g)
{
    return &g->lim;
}

int httpd_guard_new(const struct httpd_limits *lim, struct httpd_guard **out, struct err *e)
{
    *out = NULL;
    if (!lim->max_connections || !lim->max_per_address || !lim->idle_timeout_s ||
        !lim->request_timeout_s)
        return err_set(e, -EINVAL, "connection limits and timeouts must be at least 1");
    struct httpd_guard *g = alloc_calloc(1, sizeof *g);
    g->lim = httpd_limits_fit(*lim, 0);
    g->wake_at = INT64_MAX;
    mutex_init(&g->mu);
    clock_cond_init(&g->wake);
    int rc = pthread_create(&g->reaper, NULL, reap, g);
    if (rc != 0) {
        pthread_cond_destroy(&g->wake);
        mutex_destroy(&g->mu);
        free(g);
        return err_set(e, -rc, "cannot start the connection guard's thread");
    }
    *out = g;
    return 0;
}

void httpd_guard_free(struct httpd_guard *g)
{
    if (!g)
        return;
    mutex_lock(&g->mu);
    g->stopping = true;
    pthread_cond_signal(&g->wake);
    mutex_unlock(&g->mu);
    pthread_join(g->reaper, NULL);
    pthread_cond_destroy(&g->wake);
    mutex_destroy(&g->mu);
    free(g);
}
