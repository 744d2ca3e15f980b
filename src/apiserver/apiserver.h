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
 */
#ifndef GPUSLICE_APISERVER_APISERVER_H
#define GPUSLICE_APISERVER_APISERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"

#define APISERVER_URL_MAX 80

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
};

/* Starts serving. *out is stopped and freed with apiserver_stop. -EINVAL
 * for a bad address or missing store/clock, -EPERM for a non-loopback
 * address without TLS and a token, -EADDRINUSE (or another errno) when the
 * socket cannot be bound. */
int apiserver_start(const struct apiserver_config *cfg, struct apiserver **out, struct err *e);

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
