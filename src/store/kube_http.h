/*
 * The kube backend's transport, shared by its request calls (kube.c) and its
 * watches (kube_watch.c); not part of the store API.
 *
 * A struct kube_http holds what every request needs: the server, the TLS
 * material and the credentials of a kube_config, the limits, a pool of idle
 * curl handles (each keeps its connection alive for the next request) and a
 * curl share handle for DNS answers and TLS sessions. It is thread-safe.
 */
#ifndef GPUSLICE_STORE_KUBE_HTTP_H
#define GPUSLICE_STORE_KUBE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>
#include <jansson.h>

#include "api/resource.h"
#include "store/kube.h"
#include "util/err.h"

/* A growing byte buffer, always NUL-terminated once anything was added. A
 * failed allocation or a passed limit sets failed and later adds do
 * nothing, so builders check once at the end. */
struct kube_buf {
    char *p;
    size_t len, cap;
    size_t max;    /* 0: no bound */
    int failed;    /* 0, -ENOMEM or -E2BIG */
};

void kube_buf_add(struct kube_buf *b, const char *s, size_t n);
void kube_buf_adds(struct kube_buf *b, const char *s);
void kube_buf_free(struct kube_buf *b);

/* Appends the path of res (+ ns for a namespaced resource when ns is not
 * empty, + name and sub when not NULL), segments percent-encoded. */
void kube_buf_path(struct kube_buf *b, const struct api_resource *res, const char *ns,
                   const char *name, const char *sub);

/* Appends "?key=value" or "&key=value", value percent-encoded. */
void kube_buf_query(struct kube_buf *b, const char *key, const char *value);

struct kube_http;

/* A transport for cfg with limits o (zero fields: the defaults); cfg is
 * copied. *out is the caller's (kube_http_free). */
int kube_http_new(const struct kube_config *cfg, const struct kube_store_opts *o,
                  struct kube_http **out, struct err *e);
void kube_http_free(struct kube_http *h);

/* The limits in force (defaults filled in). */
const struct kube_store_opts *kube_http_opts(const struct kube_http *h);

struct kube_request {
    const char *method;       /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *path;         /* from the server root, query included */
    const char *content_type; /* of body; NULL when there is none */
    const char *body;
    size_t body_len;
};

/* Sends rq and waits for the answer. A 2xx answer gives 0 and *out the JSON
 * body (new reference; NULL for an empty body); with out NULL the body is
 * not parsed at all (a caller that reads no answer pays for none). Any other answer gives the
 * code its Status maps to (api/status.h), with the server's message in e.
 * Transport failures: -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, -EPROTO
 * (TLS or a malformed answer), -E2BIG (answer over max_response), -EIO. */
int kube_http_call(struct kube_http *h, const struct kube_request *rq, json_t **out,
                   struct err *e);

/* Configures a fresh curl handle for a GET of path that streams: the URL,
 * TLS, credentials and connect timeout, but no overall timeout. *headers is
 * the list to free with curl_slist_free_all after the transfer. */
int kube_http_setup_stream(struct kube_http *h, CURL *c, const char *path,
                           struct curl_slist **headers, struct err *e);

/* The code and message for a failed transfer of method path. */
int kube_http_curl_err(CURLcode cc, const char *detail, const char *method, const char *path,
                       struct err *e);

#endif
