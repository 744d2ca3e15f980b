/*
 * The transport of kube_http.h: one HTTP request at a time per curl handle,
 * any number at once across threads.
 *
 * curl does not support sharing one connection cache between threads, so
 * reuse comes from the handles instead: a finished request's handle goes
 * back to a small pool with its connection still open, and the next request
 * takes it. What may be shared safely (DNS answers, TLS sessions, so a new
 * connection resumes rather than renegotiates) lives in a share handle with
 * one lock per kind of data.
 */
#include "store/kube_http.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/status.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/jsontext.h"
#include "util/vec.h"

/* Service-account tokens rotate; client-go re-reads the file every minute. */
#define KUBE_TOKEN_TTL_NS (60ll * 1000 * 1000 * 1000)
#define KUBE_TOKEN_MAX 16384
#define KUBE_IDLE_DEFAULT 8

struct kube_http {
    char *server;
    struct kube_store_opts o;
    bool insecure;
    struct curl_blob ca, cert, key; /* data owned here */
    char *token_file;
    pthread_mutex_t token_mu;       /* guards token and token_at */
    char *token;
    int64_t token_at;               /* CLOCK_MONOTONIC ns of the last read; 0: never */
    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
    pthread_mutex_t pool_mu;
    CURL **pool;                    /* idle handles, o.idle_connections at most */
    size_t idle;
};

/* ---- buffers and paths ----------------------------------------------------- */

void kube_buf_add(struct kube_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->max && b->len + n > b->max) {
        b->failed = -E2BIG;
        return;
    }
    VEC_RESERVE(b->p, b->cap, b->len + n + 1);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void kube_buf_adds(struct kube_buf *b, const char *s)
{
    kube_buf_add(b, s, strlen(s));
}

void kube_buf_free(struct kube_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* Percent-encodes everything but RFC 3986's unreserved characters. */
static void kube_buf_escape(struct kube_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
                     ch == '~';
        char enc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
        if (plain)
            kube_buf_add(b, (const char *)&ch, 1);
        else
            kube_buf_add(b, enc, 3);
    }
}

static void kube_buf_segment(struct kube_buf *b, const char *s)
{
    kube_buf_add(b, "/", 1);
    kube_buf_escape(b, s);
}

void kube_buf_path(struct kube_buf *b, const struct api_resource *res, const char *ns,
                   const char *name, const char *sub)
{
    if (*res->group) {
        kube_buf_adds(b, "/apis");
        kube_buf_segment(b, res->group);
    } else {
        kube_buf_adds(b, "/api");
    }
    kube_buf_segment(b, res->version);
    if (res->namespaced && ns && *ns) {
        kube_buf_adds(b, "/namespaces");
        kube_buf_segment(b, ns);
    }
    kube_buf_segment(b, res->plural);
    if (name)
        kube_buf_segment(b, name);
    if (sub)
        kube_buf_segment(b, sub);
}

void kube_buf_query(struct kube_buf *b, const char *key, const char *value)
{
    bool first = b->failed == 0 && !memchr(b->p ? b->p : "", '?', b->len);
    kube_buf_add(b, first ? "?" : "&", 1);
    kube_buf_adds(b, key);
    kube_buf_add(b, "=", 1);
    kube_buf_escape(b, value);
}

/* ---- the transport ----------------------------------------------------------- */

static void kube_share_lock(CURL *c, curl_lock_data data, curl_lock_access access, void *ctx)
{
    (void)c;
    (void)access;
    struct kube_http *h = ctx;
    pthread_mutex_lock(&h->share_mu[data]);
}

static void kube_share_unlock(CURL *c, curl_lock_data data, void *ctx)
{
    (void)c;
    struct kube_http *h = ctx;
    pthread_mutex_unlock(&h->share_mu[data]);
}

static int kube_blob_copy(struct curl_blob *dst, const unsigned char *src, size_t len)
{
    memset(dst, 0, sizeof *dst);
    if (!src)
        return 0;
    dst->data = alloc_malloc(len);
    memcpy(dst->data, src, len);
    dst->len = len;
    dst->flags = CURL_BLOB_NOCOPY;
    return 0;
}

static void kube_opts_fill(struct kube_store_opts *o, const struct kube_store_opts *given)
{
    if (given)
        *o = *given;
    else
        memset(o, 0, sizeof *o);
    if (o->timeout_ms <= 0)
        o->timeout_ms = KUBE_TIMEOUT_MS_DEFAULT;
    if (o->connect_timeout_ms <= 0)
        o->connect_timeout_ms = KUBE_CONNECT_TIMEOUT_MS_DEFAULT;
    if (!o->max_response)
        o->max_response = KUBE_MAX_RESPONSE_DEFAULT;
    if (!o->max_event)
        o->max_event = KUBE_MAX_EVENT_DEFAULT;
    if (!o->watch_queue)
        o->watch_queue = KUBE_WATCH_QUEUE_DEFAULT;
    if (!o->idle_connections)
        o->idle_connections = KUBE_IDLE_DEFAULT;
}

int kube_http_new(const struct kube_config *cfg, const struct kube_store_opts *o,
                  struct kube_http **out, struct err *e)
{
    *out = NULL;
    if (!cfg || !cfg->server || (strncmp(cfg->server, "https://", 8) != 0 &&
                                 strncmp(cfg->server, "http://", 7) != 0))
        return err_set(e, -EINVAL, "kube: the config has no http:// or https:// server");
    if (!cfg->cert != !cfg->key)
        return err_set(e, -EINVAL, "kube: a client certificate needs its key and vice versa");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return err_set(e, -EIO, "kube: curl_global_init failed");
    struct kube_http *h = alloc_calloc(1, sizeof *h);
    kube_opts_fill(&h->o, o);
    h->insecure = cfg->insecure;
    pthread_mutex_init(&h->token_mu, NULL);
    pthread_mutex_init(&h->pool_mu, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&h->share_mu[i], NULL);
    bool ok = (h->server = alloc_strdup(cfg->server)) &&
              (!cfg->token || (h->token = alloc_strdup(cfg->token))) &&
              (!cfg->token_file || (h->token_file = alloc_strdup(cfg->token_file))) &&
              kube_blob_copy(&h->ca, cfg->ca, cfg->ca_len) == 0 &&
              kube_blob_copy(&h->cert, cfg->cert, cfg->cert_len) == 0 &&
              kube_blob_copy(&h->key, cfg->key, cfg->key_len) == 0 &&
              (h->pool = alloc_calloc(h->o.idle_connections, sizeof *h->pool)) &&
              (h->share = curl_share_init());
    if (ok) {
        curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, kube_share_lock);
        curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, kube_share_unlock);
        curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
        ok = curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) == CURLSHE_OK &&
             curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) ==
                 CURLSHE_OK;
    }
    if (!ok) {
        kube_http_free(h);
        return err_set(e, -ENOMEM, "kube: out of memory setting up the transport");
    }
    *out = h;
    return 0;
}

void kube_http_free(struct kube_http *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->idle; i++)
        curl_easy_cleanup(h->pool[i]);
    free(h->pool);
    if (h->share)
        curl_share_cleanup(h->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&h->share_mu[i]);
    pthread_mutex_destroy(&h->pool_mu);
    pthread_mutex_destroy(&h->token_mu);
    free(h->server);
    free(h->token);
    free(h->token_file);
    free(h->ca.data);
    free(h->cert.data);
    free(h->key.data);
    free(h);
    curl_global_cleanup();
}

const struct kube_store_opts *kube_http_opts(const struct kube_http *h)
{
    return &h->o;
}

/* Re-reads the token file when the cached token is older than its TTL. A
 * failed read keeps the last good token, as client-go does. Called with
 * token_mu held. */
static void kube_token_refresh(struct kube_http *h)
{
    int64_t now = clock_monotonic_ns();
    if (h->token_at && now - h->token_at < KUBE_TOKEN_TTL_NS)
        return;
    FILE *f = fopen(h->token_file, "r");
    if (!f)
        return;
    char buf[KUBE_TOKEN_MAX];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    char *tok = buf[0] ? alloc_strdup(buf) : NULL;
    if (!tok)
        return;
    free(h->token);
    h->token = tok;
    h->token_at = now ? now : 1;
}

/* The Authorization header for the next request, or NULL with no token. */
static struct curl_slist *kube_auth_header(struct kube_http *h, struct curl_slist *list,
                                           bool *oom)
{
    pthread_mutex_lock(&h->token_mu);
    if (h->token_file)
        kube_token_refresh(h);
    struct curl_slist *more = list;
    if (h->token) {
        struct kube_buf b = {0};
        kube_buf_adds(&b, "Authorization: Bearer ");
        kube_buf_adds(&b, h->token);
        more = b.failed ? NULL : curl_slist_append(list, b.p);
        kube_buf_free(&b);
    }
    pthread_mutex_unlock(&h->token_mu);
    *oom = !more;
    return more ? more : list;
}

static struct curl_slist *kube_header(struct curl_slist *list, const char *line, bool *oom)
{
    struct curl_slist *more = *oom ? NULL : curl_slist_append(list, line);
    if (!more)
        *oom = true;
    return more ? more : list;
}

/* What every request sets: URL, TLS, credentials, headers. */
static int kube_setup(struct kube_http *h, CURL *c, const char *path, const char *ctype,
                      struct curl_slist **headers, struct err *e)
{
    struct kube_buf url = {0};
    kube_buf_adds(&url, h->server);
    kube_buf_adds(&url, path);
    bool oom = url.failed != 0;
    struct curl_slist *hl = kube_header(NULL, "Accept: application/json", &oom);
    /* No "Expect: 100-continue" round trip before a body. */
    hl = kube_header(hl, "Expect:", &oom);
    if (ctype) {
        char line[128];
        snprintf(line, sizeof line, "Content-Type: %s", ctype);
        hl = kube_header(hl, line, &oom);
    }
    if (!oom)
        hl = kube_auth_header(h, hl, &oom);
    *headers = hl;
    if (oom || curl_easy_setopt(c, CURLOPT_URL, url.p) != CURLE_OK) {
        kube_buf_free(&url);
        return err_set(e, -ENOMEM, "kube: out of memory building a request for %s", path);
    }
    kube_buf_free(&url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "gpuslice/0.1");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_SHARE, h->share);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->o.connect_timeout_ms);
    if (h->insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (h->ca.data) {
        /* The cluster's CA alone, not the system's bundle beside it. */
        curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
        curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
        curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &h->ca);
    }
    if (h->cert.data) {
        curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &h->cert);
        curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
        curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &h->key);
    }
    return 0;
}

int kube_http_setup_stream(struct kube_http *h, CURL *c, const char *path,
                           struct curl_slist **headers, struct err *e)
{
    return kube_setup(h, c, path, NULL, headers, e);
}

int kube_http_curl_err(CURLcode cc, const char *detail, const char *method, const char *path,
                       struct err *e)
{
    int code;
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        code = -ETIMEDOUT;
        break;
    case CURLE_COULDNT_CONNECT:
        code = -ECONNREFUSED;
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        code = -EHOSTUNREACH;
        break;
    case CURLE_OUT_OF_MEMORY:
        code = -ENOMEM;
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
        code = -EPROTO;
        break;
    default:
        code = -EIO;
        break;
    }
    return err_set(e, code, "%s %s: %s", method, path,
                   detail && *detail ? detail : curl_easy_strerror(cc));
}

static CURL *kube_pool_take(struct kube_http *h)
{
    CURL *c = NULL;
    pthread_mutex_lock(&h->pool_mu);
    if (h->idle)
        c = h->pool[--h->idle];
    pthread_mutex_unlock(&h->pool_mu);
    if (c)
        curl_easy_reset(c); /* options go; the open connection stays */
    return c ? c : curl_easy_init();
}

static void kube_pool_give(struct kube_http *h, CURL *c)
{
    pthread_mutex_lock(&h->pool_mu);
    if (h->idle < h->o.idle_connections) {
        h->pool[h->idle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&h->pool_mu);
    if (c)
        curl_easy_cleanup(c);
}

static size_t kube_collect(char *data, size_t size, size_t n, void *ctx)
{
    struct kube_buf *b = ctx;
    kube_buf_add(b, data, size * n);
    return b->failed ? 0 : size * n;
}

/* The method and body of rq on c. */
static void kube_set_method(CURL *c, const struct kube_request *rq)
{
    if (rq->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
    }
    if (strcmp(rq->method, "GET") == 0)
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    else if (strcmp(rq->method, "POST") != 0 || !rq->body)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
}

/* Turns the answer (http, body) into 0 + *out or the mapped error. */
static int kube_answer(long http, const struct kube_buf *body, const struct kube_request *rq,
                       json_t **out, struct err *e)
{
    json_t *doc = NULL;
    json_error_t je;
    bool ok = http >= 200 && http < 300;
    if (ok && !out)
        return 0;
    if (body->len)
        doc = jsontext_load(body->p, body->len, 0, &je);
    if (ok) {
        if (body->len && !doc)
            return err_set(e, -EPROTO, "%s %s: the answer is not JSON: %s", rq->method,
                           rq->path, je.text);
        *out = doc;
        return 0;
    }
    int rc = status_to_err(doc, (int)http, e);
    json_decref(doc);
    /* A Status that claims success on an error code is still an error. */
    return rc ? rc : err_set(e, -EIO, "%s %s: HTTP %ld", rq->method, rq->path, http);
}

int kube_http_call(struct kube_http *h, const struct kube_request *rq, json_t **out,
                   struct err *e)
{
    if (out)
        *out = NULL;
    CURL *c = kube_pool_take(h);
    if (!c)
        return err_set(e, -ENOMEM, "kube: out of memory (curl handle)");
    struct curl_slist *hl = NULL;
    int rc = kube_setup(h, c, rq->path, rq->content_type, &hl, e);
    struct kube_buf body = {.max = h->o.max_response};
    char detail[CURL_ERROR_SIZE] = "";
    if (rc == 0) {
        kube_set_method(c, rq);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->o.timeout_ms);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, kube_collect);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
        CURLcode cc = curl_easy_perform(c);
        long http = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
        if (body.failed == -E2BIG)
            rc = err_set(e, -E2BIG, "%s %s: the answer is larger than %zu bytes", rq->method,
                         rq->path, h->o.max_response);
        else if (body.failed)
            rc = err_set(e, body.failed, "%s %s: out of memory reading the answer",
                         rq->method, rq->path);
        else if (cc != CURLE_OK)
            rc = kube_http_curl_err(cc, detail, rq->method, rq->path, e);
        else
            rc = kube_answer(http, &body, rq, out, e);
    }
    curl_slist_free_all(hl);
    kube_buf_free(&body);
    /* A handle whose transfer failed may hold a broken connection; curl
     * notices that on reuse, so the handle is pooled all the same. */
    kube_pool_give(h, c);
    return rc;
}
