/*
 * The dashboard's server and publisher (dashboard.h): requests checked
 * (method, Host, token) before anything is answered, the current document
 * kept as text under the dashboard's lock for /api/snapshot and each new
 * stream's first event, and a thread that rebuilds it when marked stale.
 */
#include "controller/dashboard.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/resource.h"
#include "controller/dashboard_snapshot.h"
#include "store/informer.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/mutex.h"

/* How long a stream's read waits before the server checks its client. */
#define STREAM_WAIT_MS 1000
/* What a browser told the stream cap waits before trying again. */
#define RETRY_AFTER_S "5"

struct dashboard {
    struct dashboard_config cfg;
    char *token;
    char address[HTTPD_HOST_MAX];
    struct sse_hub *hub;
    struct httpd *server;
    struct informer *events;
    struct controller *controller;
    pthread_t publisher;
    bool publishing;
    struct mutex building;      /* one rebuild at a time: versions follow contents */
    struct mutex lock;          /* what follows */
    pthread_cond_t wake;
    bool stale, stopping;
    char *doc;                  /* the document now (NUL-terminated), NULL before the first */
    char *doc_unversioned;      /* the same without its version: what a change compares */
    uint64_t version;
};

int dashboard_new(const struct dashboard_config *cfg, struct dashboard **out, struct err *e)
{
    const char *addr = cfg->address ? cfg->address : "127.0.0.1";
    if (!httpd_is_ip_literal(addr) || strlen(addr) >= HTTPD_HOST_MAX)
        return err_set(e, -EINVAL, "dashboard: \"%s\" is not an IP address", addr);
    if (cfg->token && !*cfg->token)
        return err_set(e, -EINVAL, "dashboard: the token is empty");
    if (!cfg->token && !httpd_is_loopback(addr))
        return err_set(e, -EPERM, "dashboard: listening on %s (not loopback) needs a token",
                       addr);
    if (!cfg->store)
        return err_set(e, -EINVAL, "dashboard: needs a store");
    struct dashboard *d = alloc_calloc(1, sizeof *d);
    int rc = sse_hub_new(&cfg->streams, &d->hub, e);
    if (rc != 0) {
        free(d);
        return err_prefix(e, rc, "dashboard: ");
    }
    d->cfg = *cfg;
    d->token = cfg->token ? alloc_strdup(cfg->token) : NULL;
    d->cfg.token = d->token;
    snprintf(d->address, sizeof d->address, "%s", addr);
    d->cfg.address = d->address;
    if (!d->cfg.coalesce_ns)
        d->cfg.coalesce_ns = DASHBOARD_COALESCE_DEFAULT_NS;
    mutex_init(&d->lock);
    mutex_init(&d->building);
    clock_cond_init(&d->wake);
    d->stale = true;
    *out = d;
    return 0;
}

void dashboard_changed(void *dashboard)
{
    struct dashboard *d = dashboard;
    mutex_lock(&d->lock);
    if (!d->stale) {
        d->stale = true;
        pthread_cond_signal(&d->wake);
    }
    mutex_unlock(&d->lock);
}

static void on_event(void *ctx, enum informer_change change, const json_t *old,
                     const json_t *cur)
{
    (void)change;
    (void)old;
    (void)cur;
    dashboard_changed(ctx);
}

/* ---- the document ---- */

static json_t *build(struct dashboard *d)
{
    json_t *events = informer_list(d->events, NULL);
    json_t *doc = dashboard_snapshot_of(d->controller, events);
    json_decref(events);
    return doc;
}

/* Rebuilds the document and publishes it when it differs from the last. */
static void refresh(struct dashboard *d)
{
    mutex_lock(&d->building);
    json_t *doc = build(d);
    char *plain = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    mutex_lock(&d->lock);
    bool same = !plain || (d->doc_unversioned && strcmp(plain, d->doc_unversioned) == 0);
    uint64_t version = same ? d->version : ++d->version;
    mutex_unlock(&d->lock);
    if (same) {
        free(plain);
        json_decref(doc);
        mutex_unlock(&d->building);
        return;
    }
    json_object_set_new(doc, "version", json_integer((json_int_t)version));
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    size_t len = 0;
    char *frame = text ? sse_frame("snapshot", version, text, &len) : NULL;
    mutex_lock(&d->lock);
    free(d->doc);
    free(d->doc_unversioned);
    d->doc = text;
    d->doc_unversioned = plain;
    if (frame)
        sse_hub_publish(d->hub, frame, len); /* under the lock: frames leave in order */
    mutex_unlock(&d->lock);
    mutex_unlock(&d->building);
    free(frame);
}

/* Waits until the document is stale (or the dashboard stops), then lets
 * the coalesce interval pass so a burst of changes makes one document.
 * Called with d->lock held; whether to go on. */
static bool wait_stale(struct dashboard *d)
{
    while (!d->stale && !d->stopping)
        mutex_cond_wait(&d->lock, &d->wake, NULL);
    struct timespec until = clock_deadline(CLOCK_MONOTONIC, d->cfg.coalesce_ns);
    while (!d->stopping && mutex_cond_wait(&d->lock, &d->wake, &until) == 0)
        ;
    d->stale = false;
    return !d->stopping;
}

static void *publish_loop(void *arg)
{
    struct dashboard *d = arg;
    mutex_lock(&d->lock);
    while (wait_stale(d)) {
        mutex_unlock(&d->lock);
        refresh(d);
        mutex_lock(&d->lock);
    }
    mutex_unlock(&d->lock);
    return NULL;
}

/* The document now, built if none was published yet (a new string). */
static char *current(struct dashboard *d)
{
    mutex_lock(&d->lock);
    char *text = d->doc ? alloc_strdup(d->doc) : NULL;
    mutex_unlock(&d->lock);
    if (!text) {
        refresh(d);
        mutex_lock(&d->lock);
        text = alloc_strdup(d->doc ? d->doc : "{}");
        mutex_unlock(&d->lock);
    }
    return text;
}

/* ---- access ---- */

/* Whether the Host header names an IP address or localhost (any port). */
static bool host_is_literal(const char *host)
{
    if (!host)
        return false;
    char name[HTTPD_HOST_MAX];
    const char *end = host[0] == '[' ? strchr(host, ']') : strchr(host, ':');
    size_t len = end ? (size_t)(end - host) : strlen(host);
    if (host[0] == '[')
        host++, len = len ? len - 1 : 0;
    if (len == 0 || len >= sizeof name)
        return false;
    snprintf(name, sizeof name, "%.*s", (int)len, host);
    return strcmp(name, "localhost") == 0 || httpd_is_ip_literal(name);
}

/* The value of cookie name in a Cookie header, copied into out. */
static bool cookie_value(const char *header, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    for (const char *p = header; p && *p;) {
        p += strspn(p, " ");
        size_t len = strcspn(p, ";");
        if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
            snprintf(out, size, "%.*s", (int)(len - n - 1), p + n + 1);
            return true;
        }
        p += len + (p[len] == ';');
    }
    return false;
}

static bool has_token(const struct dashboard *d, const struct httpd_request *req)
{
    static const char bearer[] = "Bearer ";
    const char *auth = httpd_header(req, "Authorization");
    if (auth && strncmp(auth, bearer, sizeof bearer - 1) == 0)
        return httpd_same_secret(auth + sizeof bearer - 1, d->token);
    char cookie[512];
    return cookie_value(httpd_header(req, "Cookie"), DASHBOARD_COOKIE, cookie, sizeof cookie) &&
           httpd_same_secret(cookie, d->token);
}

static bool authorized(void *ctx, const struct httpd_request *req)
{
    struct dashboard *d = ctx;
    return d->token ? has_token(d, req) : host_is_literal(httpd_header(req, "Host"));
}

/* ---- answers ---- */

static void reply(struct httpd_response *resp, int status, const char *type, char *body)
{
    resp->status = status;
    resp->content_type = type;
    resp->body = body;
    resp->body_len = body ? strlen(body) : 0;
}

static void common_headers(struct httpd_response *resp)
{
    httpd_response_header(resp, "Cache-Control", "no-store");
    httpd_response_header(resp, "X-Content-Type-Options", "nosniff");
    httpd_response_header(resp, "Referrer-Policy", "no-referrer");
    httpd_response_header(resp, "X-Frame-Options", "DENY");
    httpd_response_header(resp, "Content-Security-Policy",
                          "default-src 'none'; script-src 'self'; style-src 'self'; "
                          "connect-src 'self'; img-src 'self'; base-uri 'none'; "
                          "form-action 'none'; frame-ancestors 'none'");
}

/* /?token=T: the token as a cookie, and the page again without it in the
 * address bar or the history. */
static void take_token(struct dashboard *d, const char *token, struct httpd_response *resp)
{
    if (!d->token || !httpd_same_secret(token, d->token)) {
        reply(resp, 401, "text/plain", alloc_strdup("wrong token\n"));
        return;
    }
    char cookie[600];
    snprintf(cookie, sizeof cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict",
             DASHBOARD_COOKIE, token);
    httpd_response_header(resp, "Set-Cookie", cookie);
    httpd_response_header(resp, "Location", "/");
    reply(resp, 303, "text/plain", alloc_strdup("see /\n"));
}

static ssize_t stream_read(void *ctx, char *buf, size_t max)
{
    return sse_client_read(ctx, buf, max, STREAM_WAIT_MS);
}

static void stream_done(void *ctx)
{
    sse_client_leave(ctx);
}

/* /api/events: the current document first, then every new one. */
static void open_stream(struct dashboard *d, struct httpd_response *resp)
{
    char *doc = current(d);
    mutex_lock(&d->lock);
    uint64_t version = d->version;
    size_t len = 0;
    char *frame = sse_frame("snapshot", version, doc, &len);
    char *first = NULL;
    int n = asprintf(&first, "retry: 3000\n\n%s", frame);
    struct sse_client *c = NULL;
    struct err e = {0};
    /* Joined under the lock: no document is published between the one it
     * starts with and its joining. */
    int rc = n < 0 ? -ENOMEM : sse_hub_join(d->hub, first, (size_t)n, &c, &e);
    mutex_unlock(&d->lock);
    free(doc);
    free(frame);
    free(first);
    if (rc != 0) {
        httpd_response_header(resp, "Retry-After", RETRY_AFTER_S);
        char *msg = NULL;
        if (asprintf(&msg, "%s\n", e.msg[0] ? e.msg : "out of memory") < 0)
            msg = NULL;
        reply(resp, rc == -EBUSY ? 429 : 503, "text/plain", msg);
        return;
    }
    resp->content_type = "text/event-stream";
    resp->stream = (struct httpd_stream){stream_read, stream_done, c};
}

static void serve(void *ctx, const struct httpd_request *req, struct httpd_response *resp)
{
    struct dashboard *d = ctx;
    common_headers(resp);
    const char *type = NULL, *asset = dashboard_asset(req->path, &type);
    const char *token = httpd_query(req, "token");
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        httpd_response_header(resp, "Allow", "GET, HEAD");
        reply(resp, 405, "text/plain", alloc_strdup("the dashboard is read-only\n"));
    } else if (token && strcmp(req->path, "/") == 0) {
        take_token(d, token, resp);
    } else if (!authorized(d, req)) {
        if (d->token)
            httpd_response_header(resp, "WWW-Authenticate", "Bearer");
        reply(resp, d->token ? 401 : 403, "text/plain",
              alloc_strdup(d->token ? "a token is needed: open /?token=TOKEN once, or send "
                                      "Authorization: Bearer TOKEN\n"
                                    : "the Host header must name an IP address or localhost\n"));
    } else if (asset) {
        reply(resp, 200, type, alloc_strdup(asset));
    } else if (strcmp(req->path, "/api/snapshot") == 0) {
        reply(resp, 200, "application/json", current(d));
    } else if (strcmp(req->path, "/api/events") == 0) {
        open_stream(d, resp);
    } else {
        reply(resp, 404, "text/plain", alloc_strdup("not found\n"));
    }
}

/* ---- life ---- */

static int start_events(struct dashboard *d, struct err *e)
{
    const struct api_resource *res =
        api_registry_find(store_registry(d->cfg.store), "", "v1", "events");
    if (!res)
        return err_set(e, -ENOENT, "dashboard: the store does not serve v1/events");
    struct informer_config ic = {.store = d->cfg.store, .res = res, .handler = on_event,
                                 .handler_ctx = d, .seed = 1};
    int rc = informer_new(&ic, &d->events, e);
    return rc == 0 ? informer_start(d->events, e) : rc;
}

int dashboard_start(struct dashboard *d, struct controller *c, struct err *e)
{
    d->controller = c;
    int rc = start_events(d, e);
    if (rc == 0) {
        rc = -pthread_create(&d->publisher, NULL, publish_loop, d);
        d->publishing = rc == 0;
        if (rc != 0)
            err_set(e, rc, "dashboard: cannot start the publisher thread");
    }
    struct httpd_config hc = {.address = d->address, .port = d->cfg.port,
                              .limits = d->cfg.limits, .handler = serve, .ctx = d,
                              .trusted = authorized};
    if (rc == 0 && (rc = httpd_serve(&hc, &d->server, e)) != 0)
        err_prefix(e, rc, "dashboard: ");
    if (rc != 0)
        dashboard_stop(d);
    else
        log_info(d->cfg.log, "dashboard: serving %s", httpd_url(d->server));
    return rc;
}

const char *dashboard_url(const struct dashboard *d)
{
    return d && d->server ? httpd_url(d->server) : NULL;
}

void dashboard_stream_stats(struct dashboard *d, struct sse_stats *out)
{
    sse_hub_stats(d->hub, out);
}

void dashboard_stop(struct dashboard *d)
{
    if (!d)
        return;
    sse_hub_close(d->hub);
    httpd_stop(d->server);
    d->server = NULL;
    if (d->publishing) {
        mutex_lock(&d->lock);
        d->stopping = true;
        pthread_cond_signal(&d->wake);
        mutex_unlock(&d->lock);
        pthread_join(d->publisher, NULL);
        d->publishing = false;
    }
    informer_free(d->events);
    d->events = NULL;
}

void dashboard_free(struct dashboard *d)
{
    if (!d)
        return;
    dashboard_stop(d);
    sse_hub_free(d->hub);
    pthread_cond_destroy(&d->wake);
    mutex_destroy(&d->lock);
    mutex_destroy(&d->building);
    free(d->doc);
    free(d->doc_unversioned);
    free(d->token);
    free(d);
}
