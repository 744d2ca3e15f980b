/*
 * The Kubernetes REST API over a store, without sockets: one request in
 * (method, target, a few headers, body), one response out. The HTTP server
 * (apiserver.c) and the fuzz harness both drive this, so everything a
 * client can send is handled here and nowhere else.
 *
 * Every failure is answered with a Status object (api/status.h) and the
 * matching HTTP code; nothing a client sends makes the server crash or
 * leak. A watch is answered with a stream (watchstream.h), and a list
 * longer than a page with one too (liststream.h), that the caller drains
 * into a chunked response.
 */
#ifndef GPUSLICE_APISERVER_REST_H
#define GPUSLICE_APISERVER_REST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "apiserver/admission.h"
#include "apiserver/liststream.h"
#include "apiserver/podlogs.h"
#include "apiserver/watchstream.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/prom.h"

/* The API server's own limit on request bodies. */
#define REST_MAX_BODY_DEFAULT (3u << 20)
/* The longest request target (path and query) served; a longer one is
 * answered 414 before anything else. Far above what clients send (names
 * are at most 253 characters, selectors a few KiB). */
#define REST_MAX_TARGET_BYTES (64u << 10)
/* How long a watch lasts when the client gives no timeoutSeconds (the API
 * server picks between 30 and 60 minutes). */
#define REST_WATCH_TIMEOUT_DEFAULT_S 1800

struct rest_server {
    struct store *store;          /* not owned */
    clock_now_fn now_ns;          /* wall clock: Table ages */
    void *clock_ctx;
    const char *token;            /* bearer token required, or NULL for none */
    size_t max_body;              /* 0: REST_MAX_BODY_DEFAULT */
    const char *version;          /* gpuslice's, for /version */
    /* Webhook connections kept between creates (not owned); NULL: a new
     * connection per webhook call. */
    struct admission_pool *webhooks;
    /* A watch with nothing to send sends a newline after this long (JSON
     * whitespace, which watch clients skip), so that connections idle
     * timeouts would close stay busy; 0: never. */
    int64_t watch_keepalive_ms;
    /* Where pods/log reads containers' logs (not owned); NULL: nowhere,
     * and a bound pod's log is answered 503. */
    const struct podlogs_source *logs;
    /* Requests answered, by verb, resource, subresource and code (a
     * counter family of apiserver_config's registry); NULL: not counted. */
    struct prom_family *requests;
};

struct rest_request {
    const char *method;        /* "GET", "POST", ... */
    const char *target;        /* the request target as sent: path, then ?query */
    const char *content_type;  /* header values; NULL when absent */
    const char *accept;
    const char *authorization;
    const char *body;          /* may be NULL when body_len is 0 */
    size_t body_len;
};

struct rest_response {
    int status;                 /* HTTP status */
    const char *content_type;   /* static */
    char *body;                 /* owned; NULL for a stream */
    size_t len;
    struct watchstream *stream; /* owned; non-NULL: the body is streamed from it */
    struct liststream *list;    /* owned; non-NULL: the body is streamed from it */
    struct podlogs_stream *log; /* owned; non-NULL: a followed log streamed from it */
    unsigned retry_after_s;     /* > 0: a Retry-After header with it */
};

/* Whether req carries the server's bearer token (true when the server has
 * none). Constant-time in the token's bytes. */
bool rest_authenticated(const struct rest_server *srv, const struct rest_request *req);

/* Whether req may go on to have its body read and be served: false, with
 * resp filled (a 414 Status for a target over REST_MAX_TARGET_BYTES, 401
 * Unauthorized without the server's bearer token on a route that needs
 * it: every route but GET or HEAD of health and version), when it may not. Needs only the method, target and headers, so the
 * HTTP layer asks it before it reads a byte of the body: an unauthenticated
 * client cannot make the server buffer anything. resp is overwritten; when
 * true it is left empty. */
bool rest_admits(const struct rest_server *srv, const struct rest_request *req,
                 struct rest_response *resp);

/* Answers req (rest_admits first) and counts it in srv->requests. resp is
 * overwritten; release it with rest_response_release. */
void rest_handle(const struct rest_server *srv, const struct rest_request *req,
                 struct rest_response *resp);

/* Counts in srv->requests a request refused before rest_handle (resp its
 * answer): by rest_admits, asked before the body is read, or for a body
 * over the limit. */
void rest_count_refused(const struct rest_server *srv, const struct rest_request *req,
                        const struct rest_response *resp);

/* Frees what resp owns (its body or a stream) and empties it. */
void rest_response_release(struct rest_response *resp);

/* Answers with obj as JSON (the reference is taken; NULL is answered as out
 * of memory). For the files that serve requests. */
void rest_reply_json(struct rest_response *resp, int status, json_t *obj);

/* Answers with the Status for e (its code decides the HTTP status), with
 * details naming the resource (group, plural) and object when given. */
void rest_reply_error(struct rest_response *resp, const struct err *e, const char *group,
                      const char *plural, const char *name);

#endif
