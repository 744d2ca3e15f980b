/*
 * The embedded Kubernetes API server: an object store served over the
 * Kubernetes REST API with libmicrohttpd, so that kubectl, the kube store
 * backend and any other Kubernetes client can use it (docs/cluster.md).
 *
 * Each connection has its own thread; a watch is a chunked response that
 * the connection's thread feeds from its store watch. TLS connections to
 * admission webhooks are kept between creates (admission.h's pool, one
 * per server). Stopping the server
 * ends open watches, waits for every connection thread, and leaves the
 * store to its owner.
 *
 * Listening anywhere but loopback needs TLS and a bearer token, so that
 * the server is never an open port on a shared machine.
 *
 * Connections are limited as util/httpd_guard.h says (in all, per client
 * address until a request authenticates, idle and request-read timeouts),
 * and watches, which hold a connection and its thread for up to 30
 * minutes, by a cap of their own below the connection cap, so that short
 * requests always find a connection: a watch past it is answered 429
 * TooManyRequests with Retry-After, which clients back off on. A watch
 * with nothing to send sends a newline every third of the idle timeout.
 */
#ifndef GPUSLICE_APISERVER_APISERVER_H
#define GPUSLICE_APISERVER_APISERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apiserver/podlogs.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/httpd_guard.h"
#include "util/prom.h"

#define APISERVER_URL_MAX 80
/* The default limits (docs/cluster.md says why these): 1024 connections
 * (cut to fit RLIMIT_NOFILE), 64 not yet authenticated from one address
 * (the embedded system's 64 nodes, starting at once from 127.0.0.1, had up
 * to 31 connections waiting for their first request read), 60 s idle, 10 s
 * to send a request's headers. */
#define APISERVER_LIMITS_DEFAULT ((struct httpd_limits){1024, 64, 60, 10})

struct apiserver;

struct apiserver_config {
    struct store *store;          /* served; not owned, must outlive the server */
    const char *address;          /* IPv4 or IPv6 literal; NULL: 127.0.0.1 */
    uint16_t port;                /* 0: an ephemeral port (see apiserver_port) */
    const char *token;            /* bearer token clients must send; NULL: none */
    const char *tls_cert_pem;     /* PEM text of certificate chain and key: HTTPS */
    const char *tls_key_pem;      /* (both or neither) */
    size_t max_body;              /* request body limit; 0: 3 MiB, as the API server */
    clock_now_fn now_ns;          /* wall clock for Table ages; required */
    void *clock_ctx;
    const char *version;          /* gpuslice's version, shown by /version */
    struct httpd_limits limits;   /* zero fields: APISERVER_LIMITS_DEFAULT's */
    unsigned max_watches;         /* 0: three quarters of the connection cap */
    /* Where pods/log reads containers' logs (copied; its ctx must outlive
     * the server); open NULL: nowhere (podlogs.h). A followed log takes a
     * watch slot while it lasts. */
    struct podlogs_source logs;
    /* Where the server counts its requests
     * (gpuslice_apiserver_requests_total, docs/metrics.md); not owned,
     * must outlive the server; NULL: not counted. */
    struct prom *metrics;
};

/* Starts serving. *out is stopped and freed with apiserver_stop. -EINVAL
 * for a bad address or missing store/clock, -EPERM for a non-loopback
 * address without TLS and a token, -EADDRINUSE (or another errno) when the
 * socket cannot be bound. */
int apiserver_start(const struct apiserver_config *cfg, struct apiserver **out, struct err *e);

/* The limits in force: the connection cap as fitted to RLIMIT_NOFILE, and
 * the watch cap (*max_watches, may be NULL). */
const struct httpd_limits *apiserver_limits(const struct apiserver *srv, unsigned *max_watches);

/* The port listened on (the one chosen when cfg->port was 0). */
uint16_t apiserver_port(const struct apiserver *srv);

/* The server's base URL ("http://127.0.0.1:6443", "https://[::1]:6443"),
 * owned by srv; for a wildcard address (0.0.0.0, ::) the loopback one,
 * which is how this host reaches it. */
const char *apiserver_url(const struct apiserver *srv);

/* Whether address (an IP literal) is a loopback address; false for
 * anything that does not parse. */
bool apiserver_is_loopback(const char *address);

/* Ends open watches, closes every connection and frees srv (may be NULL). */
void apiserver_stop(struct apiserver *srv);

#endif
