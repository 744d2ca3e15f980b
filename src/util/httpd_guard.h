/*
 * Connection limits and timeouts for a libmicrohttpd server that faces
 * clients it does not trust (the API server, the admission webhook), so
 * that nobody can take every connection before authenticating.
 *
 * A guard keeps a record of each connection its daemon accepted and
 * enforces, on top of the daemon's own idle timeout:
 *   - a cap on connections in all (MHD's own limit), cut to fit the
 *     process's file descriptors (httpd_limits_fit);
 *   - a cap on the connections from one address that are not trusted yet
 *     (refused at accept: the client sees the connection closed). A
 *     connection becomes trusted when a request on it authenticated
 *     (httpd_guard_received), and then counts only against the total, so
 *     that the many long-lived connections of a host's own authenticated
 *     clients (every component of the embedded system talks from
 *     127.0.0.1) leave its address's allowance to new ones;
 *   - a request deadline: what the server needs of a request (its headers,
 *     or the whole body where the server reads untrusted bodies) must
 *     arrive within request_timeout_s of the connection's start, and
 *     within idle + request timeout of the previous answer on a kept-alive
 *     connection; a client that trickles bytes (slowloris), which resets
 *     libmicrohttpd's idle timer with each one, is cut off there.
 * A thread of the guard's own shuts the socket of a connection past its
 * deadline down, which makes libmicrohttpd's next read fail and close it.
 *
 * Usage: httpd_guard_new, then pass httpd_guard_accept (with the guard) as
 * MHD_start_daemon's accept policy and httpd_guard_options as an
 * MHD_OPTION_ARRAY; call httpd_guard_received when a request's headers (or
 * body) are in and httpd_guard_answered when it is complete
 * (MHD_OPTION_NOTIFY_COMPLETED). One guard may serve several daemons on one
 * listening socket (the webhook's generations). Free it after every daemon
 * it serves has stopped. All functions are safe from any thread.
 */
#ifndef GPUSLICE_UTIL_HTTPD_GUARD_H
#define GPUSLICE_UTIL_HTTPD_GUARD_H

#include <stdbool.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "util/err.h"

/* Descriptors left to the rest of the process when the connection cap is
 * fitted to RLIMIT_NOFILE: listening sockets, files, pipes, curl's. */
#define HTTPD_FD_RESERVE 64u
/* Items httpd_guard_options fills, the terminating MHD_OPTION_END included. */
#define HTTPD_GUARD_OPTIONS 4

struct httpd_limits {
    unsigned max_connections;   /* in all */
    unsigned max_per_address;   /* not yet trusted, from one client address */
    unsigned idle_timeout_s;    /* a connection with no traffic for this long is closed */
    unsigned request_timeout_s; /* see the request deadline above */
};

/* lim with its zero fields taken from defaults. */
struct httpd_limits httpd_limits_or(struct httpd_limits lim, struct httpd_limits defaults);

/* lim with max_connections cut to fit nofile descriptors (the soft
 * RLIMIT_NOFILE; 0: read it): half of what the reserve leaves, since a
 * process whose clients are in it (gpuslice demo) spends a descriptor on
 * each end of a connection; at least 1. max_per_address is cut to the
 * total. */
struct httpd_limits httpd_limits_fit(struct httpd_limits lim, unsigned long nofile);

struct httpd_guard;

/* A guard enforcing httpd_limits_fit(*lim, 0) (every field must be > 0,
 * else -EINVAL). *out is the caller's, freed with httpd_guard_free. */
int httpd_guard_new(const struct httpd_limits *lim, struct httpd_guard **out, struct err *e);

/* The limits enforced (after fitting). */
const struct httpd_limits *httpd_guard_limits(const struct httpd_guard *g);

/* MHD_start_daemon's accept policy; cls is the guard. */
enum MHD_Result httpd_guard_accept(void *cls, const struct sockaddr *addr, socklen_t len);

/* The daemon options of g's limits: the connection cap, the idle timeout
 * and the connection notifier, ended by MHD_OPTION_END. */
void httpd_guard_options(struct httpd_guard *g, struct MHD_OptionItem out[HTTPD_GUARD_OPTIONS]);

/* The server has what it needs of the connection's current request: its
 * deadline is lifted, and trusted (the request authenticated) makes the
 * connection trusted for the rest of its life. */
void httpd_guard_received(struct MHD_Connection *conn, bool trusted);

/* The connection's request is answered: the next one must come within
 * idle + request timeout. */
void httpd_guard_answered(struct MHD_Connection *conn);

/* Stops the guard's thread and frees g (may be NULL); its daemons must
 * have stopped. */
void httpd_guard_free(struct httpd_guard *g);

#endif
