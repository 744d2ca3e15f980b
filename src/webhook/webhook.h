/*
 * The webhook's HTTPS server (`gpuslice webhook`): POST /mutate-pod answers
 * AdmissionReviews (mutate.h), GET /healthz and /readyz answer "ok", GET
 * /metrics the registry's text (metrics.h). libmicrohttpd serves it over TLS (GnuTLS) with a
 * pool of worker threads; connections are kept alive, as the API server
 * wants them.
 *
 * Certificate rotation without a restart. libmicrohttpd reads its
 * certificate once, when a daemon starts, so the server owns the listening
 * socket and hands it to each daemon (MHD_OPTION_LISTEN_SOCKET). When
 * webhook_reload finds the files changed (cert-manager rewrites the
 * Secret's volume), it starts a new daemon with the new pair on the same
 * socket, then quiesces the old one: from then on only the new daemon
 * accepts, no connection is refused in between, and the old daemon goes on
 * serving its open connections, answering each with "Connection: close" so
 * that clients reconnect (and meet the new certificate). An old daemon is
 * stopped once it has no connection left, or after the drain period at the
 * latest. A pair that does not load (a key that does not match, a file
 * caught half-written) is refused and the current one kept; the next
 * reload tries again.
 *
 * Limits (util/httpd_guard.h, one guard for every daemon): connections in
 * all and per client address (every connection counts, as the webhook
 * authenticates nobody: the API server's own concurrency, at most its
 * mutating-requests-in-flight limit of 200 by default, must fit in one
 * address's share), an idle timeout, and a request deadline covering the
 * TLS handshake, the headers and the body, since bodies are read from
 * anyone. It listens on 127.0.0.1 unless told where: in a cluster, on the
 * pod's IP (the address its Service's endpoints name; deploy/base passes
 * it from the downward API) or on 0.0.0.0 for every interface.
 *
 * Threads: webhook_start, webhook_reload and webhook_stop are called from
 * one thread (the command's main loop); requests run on libmicrohttpd's
 * threads.
 */
#ifndef GPUSLICE_WEBHOOK_WEBHOOK_H
#define GPUSLICE_WEBHOOK_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/httpd_guard.h"
#include "util/prom.h"

#define WEBHOOK_PATH_MUTATE "/mutate-pod"
#define WEBHOOK_ADDRESS_DEFAULT "127.0.0.1"
/* 1024 connections (cut to fit RLIMIT_NOFILE), 256 from one address, 30 s
 * idle, 10 s for a whole request (the API server gives up on a webhook
 * call after its timeoutSeconds, 10 by default, anyway). */
#define WEBHOOK_LIMITS_DEFAULT ((struct httpd_limits){1024, 256, 30, 10})
#define WEBHOOK_THREADS_DEFAULT 2
#define WEBHOOK_DRAIN_DEFAULT_S 60
#define WEBHOOK_PEM_MAX (1u << 20)

struct webhook_config {
    const char *address;   /* IPv4 or IPv6 literal to listen on; NULL: WEBHOOK_ADDRESS_DEFAULT */
    uint16_t port;         /* 0: a free port (webhook_port says which) */
    const char *cert_file; /* PEM certificate chain: tls.crt */
    const char *key_file;  /* PEM private key: tls.key */
    unsigned threads;      /* worker threads; 0: WEBHOOK_THREADS_DEFAULT */
    unsigned drain_s;      /* longest a replaced daemon serves on; 0: WEBHOOK_DRAIN_DEFAULT_S */
    struct httpd_limits limits; /* zero fields: WEBHOOK_LIMITS_DEFAULT's */
    struct prom *metrics;  /* where its metrics go (not owned; outlives the webhook);
                              NULL: a registry of its own */
};

struct webhook;

/* Reads the pair and starts serving. *out is the caller's, stopped with
 * webhook_stop. -EINVAL naming the file or address when they are unusable,
 * -ENOTSUP when libmicrohttpd has no TLS, -errno when the socket cannot be
 * bound. */
int webhook_start(const struct webhook_config *cfg, struct webhook **out, struct err *e);

/* The port listened on. */
uint16_t webhook_port(const struct webhook *w);

/* The limits in force (the connection cap as fitted to RLIMIT_NOFILE). */
const struct httpd_limits *webhook_limits(const struct webhook *w);

/* Re-reads the certificate and key files: 1 when they changed and new
 * connections now get them, 0 when they are unchanged, or a negative code
 * (the current pair kept) when they cannot be read or do not load. Also
 * stops replaced daemons whose drain is over. Call it periodically. */
int webhook_reload(struct webhook *w, struct err *e);

/* How many replaced daemons still serve connections opened before a
 * reload. */
size_t webhook_draining(const struct webhook *w);

/* Stops every daemon, closes the socket and frees w (may be NULL). */
void webhook_stop(struct webhook *w);

#endif
