/*
 * The mutating admission chain (admission.h): which webhooks match, the
 * AdmissionReview sent to each over libcurl, and what their answers do to
 * the object. A call holds a curl handle of its own while it runs (taken
 * from the pool, given back after), so requests on different connection
 * threads of the API server admit in parallel.
 *
 * The pool also keeps the MutatingWebhookConfigurations as last listed,
 * with a watch on them from that list's resourceVersion: a create lists
 * them again only when the watch shows a change (or ended), so the many
 * creates between two changes of the configurations (every pod, GPUSlice,
 * ConfigMap and Event) do not each list and parse them. The mem store
 * queues a write's event before the write returns, so a create after a
 * change always sees it.
 */
#include "apiserver/admission.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "api/meta.h"
#include "api/patch.h"
#include "api/selector.h"
#include "api/status.h"
#include "util/alloc.h"
#include "util/base64.h"
#include "util/jdoc.h"
#include "util/jsontext.h"
#include "util/mutex.h"
#include "util/random.h"
#include "util/vec.h"

#define REVIEW_API_VERSION "admission.k8s.io/v1"
#define ADMISSION_GROUP "admissionregistration.k8s.io"
#define TIMEOUT_DEFAULT_S 10
#define TIMEOUT_MAX_S 30
#define URL_MAX 1024
#define UID_LEN 37

/* One webhook of one configuration; strings borrowed from the listed
 * configurations. */
struct hook {
    const json_t *spec;   /* the entry in webhooks[] */
    const char *name;
    bool fail;            /* failurePolicy Fail (the default) */
    bool reinvoke;        /* reinvocationPolicy IfNeeded */
    bool dry_run_ok;      /* sideEffects None or NoneOnDryRun */
    long timeout_s;
};

struct admission_pool {
    struct mutex mu;                     /* guards idle, n_idle and the kept list */
    CURL *idle[ADMISSION_POOL_IDLE_MAX]; /* most recently used last */
    size_t n_idle;
    atomic_uint_fast64_t calls, connections, lists;
    /* The configurations as last listed from `listed_from` (read-only, shared
     * by the creates that use them) and the watch that says when they
     * changed; a create takes the watch out while it drains it, so no lock
     * is held across the store call (and a create meanwhile lists). */
    struct store *listed_from;
    json_t *configs;
    struct store_watch *changes;
};

/* What one admission needs across its webhooks. */
struct chain {
    struct admission_pool *pool; /* NULL: no connection outlives its call */
    struct store *st;
    const struct api_resource *res;
    const char *ns;
    bool dry_run;
    json_t *ns_labels;    /* the namespace's labels, read once; NULL until then */
    json_t *denial;       /* the Status a webhook's denial is answered with, or NULL */
};

/* Where and how to call a webhook. */
struct endpoint {
    char url[URL_MAX];
    char connect_to[URL_MAX]; /* "" unless a service reference */
    unsigned char *ca;        /* decoded caBundle (PEM) or NULL */
    size_t ca_len;
};

/* ---- the pool ---- */

struct admission_pool *admission_pool_new(void)
{
    struct admission_pool *pool = alloc_calloc(1, sizeof *pool);
    mutex_init(&pool->mu);
    return pool;
}

void admission_pool_free(struct admission_pool *pool)
{
    if (!pool)
        return;
    for (size_t i = 0; i < pool->n_idle; i++)
        curl_easy_cleanup(pool->idle[i]);
    json_decref(pool->configs);
    store_watch_close(pool->changes);
    mutex_destroy(&pool->mu);
    free(pool);
}

void admission_pool_stats(const struct admission_pool *pool, uint64_t *calls,
                          uint64_t *connections)
{
    *calls = atomic_load(&pool->calls);
    *connections = atomic_load(&pool->connections);
}

uint64_t admission_pool_lists(const struct admission_pool *pool)
{
    return atomic_load(&pool->lists);
}

/* A handle for one call: the warmest idle one (its options reset, its
 * connections kept), or a new one; NULL when curl cannot make one. */
static CURL *pool_take(struct admission_pool *pool)
{
    CURL *c = NULL;
    if (pool) {
        mutex_lock(&pool->mu);
        if (pool->n_idle)
            c = pool->idle[--pool->n_idle];
        mutex_unlock(&pool->mu);
    }
    if (!c)
        return curl_easy_init();
    curl_easy_reset(c);
    return c;
}

/* Gives c back after a call, counting the connections it opened; closes it
 * when there is no pool or the pool is full. */
static void pool_give(struct admission_pool *pool, CURL *c)
{
    long opened = 0;
    if (!c)
        return;
    if (pool) {
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &opened);
        atomic_fetch_add(&pool->calls, 1);
        atomic_fetch_add(&pool->connections, (uint_fast64_t)(opened > 0 ? opened : 0));
        mutex_lock(&pool->mu);
        if (pool->n_idle < ADMISSION_POOL_IDLE_MAX) {
            pool->idle[pool->n_idle++] = c;
            c = NULL;
        }
        mutex_unlock(&pool->mu);
    }
    curl_easy_cleanup(c);
}

/* ---- small helpers ---- */

/* A version 4 UUID; the uid only has to come back in the answer, so a
 * short read of randomness leaves zeros rather than failing the request. */
static void random_uid(char out[UID_LEN])
{
    unsigned char r[16] = {0};
    random_fill(r, sizeof r);
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(out, UID_LEN,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
             r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
             r[15]);
}

/* Whether list (strings) holds v or "*". */
static bool list_has(const json_t *list, const char *v)
{
    size_t i;
    const json_t *s;
    json_array_foreach(list, i, s) {
        const char *x = json_string_value(s);
        if (x && (strcmp(x, "*") == 0 || strcmp(x, v) == 0))
            return true;
    }
    return false;
}

/* ---- matching ---- */

static bool rule_matches(const json_t *rule, const struct api_resource *res)
{
    const char *scope = json_string_value(json_object_get(rule, "scope"));
    bool scope_ok = !scope || strcmp(scope, "*") == 0 ||
                    strcmp(scope, res->namespaced ? "Namespaced" : "Cluster") == 0;
    const json_t *resources = json_object_get(rule, "resources");
    size_t i;
    const json_t *s;
    bool resource_ok = false;
    json_array_foreach(resources, i, s) {
        const char *r = json_string_value(s);
        resource_ok = resource_ok || (r && (strcmp(r, "*/*") == 0 || strcmp(r, "*") == 0 ||
                                            strcmp(r, res->plural) == 0));
    }
    return scope_ok && resource_ok && list_has(json_object_get(rule, "operations"), "CREATE") &&
           list_has(json_object_get(rule, "apiGroups"), res->group) &&
           list_has(json_object_get(rule, "apiVersions"), res->version);
}

/* The labels namespaceSelector is matched against (borrowed from cx or
 * obj); NULL for a cluster-scoped object other than a Namespace. */
static int selector_labels(struct chain *cx, const json_t *obj, const json_t **out,
                           struct err *e)
{
    *out = NULL;
    if (!cx->res->namespaced && strcmp(cx->res->kind, "Namespace") != 0)
        return 0;
    if (!cx->ns_labels) {
        const struct api_resource *nsres =
            api_registry_find(store_registry(cx->st), "", "v1", "namespaces");
        json_t *nsobj = NULL;
        const char *name = cx->res->namespaced ? cx->ns : meta_name(obj);
        int rc = cx->res->namespaced && nsres
                     ? store_get_shared(cx->st, nsres, NULL, cx->ns, &nsobj, e) /* read only */
                     : 0;
        if (rc != 0)
            return rc;
        const json_t *labels = json_object_get(
            json_object_get(cx->res->namespaced ? nsobj : obj, "metadata"), "labels");
        cx->ns_labels = json_is_object(labels) ? jdoc_copy(labels) : json_object();
        if (cx->ns_labels && name)
            jdoc_set(cx->ns_labels, "kubernetes.io/metadata.name", json_string(name));
        json_decref(nsobj);
        if (!cx->ns_labels)
            return err_set(e, -ENOMEM, "admission: out of memory");
    }
    *out = cx->ns_labels;
    return 0;
}

static int selector_matches(const json_t *ls, const char *field, const json_t *labels,
                            bool *out, struct err *e)
{
    struct selector *sel;
    int rc = selector_from_json(ls, field, &sel, e);
    if (rc == 0)
        *out = selector_match_labels(sel, labels);
    selector_free(sel);
    return rc;
}

/* Whether h sees the creation of obj; a malformed selector is a failure of
 * the webhook (its failurePolicy decides). */
static int hook_matches(struct chain *cx, const struct hook *h, const json_t *obj, bool *out,
                        struct err *e)
{
    size_t i;
    const json_t *rule;
    *out = false;
    json_array_foreach(json_object_get(h->spec, "rules"), i, rule) {
        *out = *out || rule_matches(rule, cx->res);
    }
    if (!*out)
        return 0;
    const json_t *labels;
    int rc = selector_labels(cx, obj, &labels, e);
    if (rc == 0 && labels)
        rc = selector_matches(json_object_get(h->spec, "namespaceSelector"),
                              "namespaceSelector", labels, out, e);
    if (rc == 0 && *out)
        rc = selector_matches(json_object_get(h->spec, "objectSelector"), "objectSelector",
                              json_object_get(json_object_get(obj, "metadata"), "labels"), out,
                              e);
    return rc;
}

/* ---- the call ---- */

/* A Service reference: the Service's clusterIP and the targetPort of the
 * port asked for, the TLS name <name>.<namespace>.svc. */
static int resolve_service(struct chain *cx, const json_t *svc, struct endpoint *ep,
                           struct err *e)
{
    const char *ns = json_string_value(json_object_get(svc, "namespace"));
    const char *name = json_string_value(json_object_get(svc, "name"));
    const char *path = json_string_value(json_object_get(svc, "path"));
    const json_t *pv = json_object_get(svc, "port");
    json_int_t port = pv ? json_integer_value(pv) : 443, target = 0;
    const struct api_resource *svcres =
        api_registry_find(store_registry(cx->st), "", "v1", "services");
    json_t *obj = NULL;
    if (!ns || !name || port < 1 || port > 65535)
        return err_set(e, -EINVAL, "clientConfig.service: namespace, name and a port from 1 "
                       "to 65535 are required");
    if (!svcres || store_get(cx->st, svcres, ns, name, &obj, e) != 0)
        return err_set(e, -ENOENT, "service \"%s/%s\" not found", ns, name);
    const json_t *spec = json_object_get(obj, "spec"), *p;
    const char *ip = json_string_value(json_object_get(spec, "clusterIP"));
    size_t i;
    json_array_foreach(json_object_get(spec, "ports"), i, p) {
        if (json_integer_value(json_object_get(p, "port")) != port)
            continue;
        const json_t *tp = json_object_get(p, "targetPort");
        target = tp ? json_integer_value(tp) : port;
    }
    int rc = 0;
    if (!ip || !*ip || strcmp(ip, "None") == 0)
        rc = err_set(e, -EINVAL, "service \"%s/%s\" has no spec.clusterIP", ns, name);
    else if (target < 1 || target > 65535)
        rc = err_set(e, -EINVAL, "service \"%s/%s\" has no port %lld with a numeric "
                     "targetPort", ns, name, (long long)port);
    else {
        bool v6 = strchr(ip, ':') != NULL;
        snprintf(ep->url, sizeof ep->url, "https://%s.%s.svc:%lld%s%s", name, ns,
                 (long long)port, path && *path == '/' ? "" : "/", path ? path : "");
        snprintf(ep->connect_to, sizeof ep->connect_to, "%s.%s.svc:%lld:%s%s%s:%lld", name, ns,
                 (long long)port, v6 ? "[" : "", ip, v6 ? "]" : "", (long long)target);
    }
    json_decref(obj);
    return rc;
}

static int resolve(struct chain *cx, const struct hook *h, struct endpoint *ep, struct err *e)
{
    memset(ep, 0, sizeof *ep);
    const json_t *cc = json_object_get(h->spec, "clientConfig");
    const char *url = json_string_value(json_object_get(cc, "url"));
    const char *ca = json_string_value(json_object_get(cc, "caBundle"));
    const json_t *svc = json_object_get(cc, "service");
    int rc = 0;
    if (url && svc)
        rc = err_set(e, -EINVAL, "clientConfig: url and service are exclusive");
    else if (url && strncmp(url, "https://", 8) != 0)
        rc = err_set(e, -EINVAL, "clientConfig.url: \"%.200s\" is not https", url);
    else if (url && strlen(url) >= sizeof ep->url)
        rc = err_set(e, -EINVAL, "clientConfig.url: too long");
    else if (url)
        snprintf(ep->url, sizeof ep->url, "%s", url);
    else if (svc)
        rc = resolve_service(cx, svc, ep, e);
    else
        rc = err_set(e, -EINVAL, "clientConfig: a url or a service is required");
    if (rc == 0 && ca && *ca && base64_decode(ca, &ep->ca, &ep->ca_len) != 0)
        rc = err_set(e, -EINVAL, "clientConfig.caBundle: not base64");
    return rc;
}

struct sink {
    char *data;
    size_t len, cap;
    bool too_big;
};

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
    struct sink *s = ctx;
    size_t len = size * n;
    if (s->too_big || len > ADMISSION_MAX_RESPONSE - s->len) {
        s->too_big = true;
        return 0; /* ends the transfer */
    }
    VEC_RESERVE(s->data, s->cap, s->len + len + 1);
    memcpy(s->data + s->len, data, len);
    s->len += len;
    s->data[s->len] = '\0';
    return len;
}

static void set_options(CURL *c, const struct hook *h, const struct endpoint *ep,
                        const char *body, struct curl_slist *headers, struct curl_slist *to,
                        struct sink *s, char *errbuf)
{
    curl_easy_setopt(c, CURLOPT_URL, ep->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_s * 1000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    if (to)
        curl_easy_setopt(c, CURLOPT_CONNECT_TO, to);
    if (ep->ca) {
        /* The caBundle alone, not the system's directory of roots too. */
        struct curl_blob blob = {.data = ep->ca, .len = ep->ca_len, .flags = CURL_BLOB_COPY};
        curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
        curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
    }
}

/* POSTs body to the webhook; *answer is the parsed answer (caller's). A
 * failure here is the webhook's (failurePolicy decides). */
static int post(struct admission_pool *pool, const struct hook *h, const struct endpoint *ep,
                const char *body, json_t **answer, struct err *e)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct sink s = {0};
    CURL *c = pool_take(pool);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *to = ep->connect_to[0] ? curl_slist_append(NULL, ep->connect_to) : NULL;
    headers = headers ? curl_slist_append(headers, "Accept: application/json") : NULL;
    int rc = 0;
    long status = 0;
    if (!c || !headers || (ep->connect_to[0] && !to)) {
        rc = err_set(e, -ENOMEM, "out of memory");
    } else {
        set_options(c, h, ep, body, headers, to, &s, errbuf);
        CURLcode cc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (cc != CURLE_OK)
            rc = err_set(e, -EIO, "Post \"%s\": %s", ep->url,
                         s.too_big ? "the answer is too large" : errbuf[0] ? errbuf
                                                                           : curl_easy_strerror(cc));
        else if (status != 200)
            rc = err_set(e, -EIO, "Post \"%s\": the webhook answered HTTP %ld: %.200s", ep->url,
                         status, s.data ? s.data : "");
    }
    json_error_t je;
    if (rc == 0 && !(*answer = jsontext_load(s.data ? s.data : "", s.len, 0, &je)))
        rc = err_set(e, -EIO, "the answer is not JSON: %s", je.text);
    curl_slist_free_all(headers);
    curl_slist_free_all(to);
    pool_give(pool, c);
    free(s.data);
    return rc;
}

/* ---- the review and its answer ---- */

static json_t *review(const struct chain *cx, const char *uid, const json_t *obj)
{
    json_t *kind = json_pack("{s:s, s:s, s:s}", "group", cx->res->group, "version",
                             cx->res->version, "kind", cx->res->kind);
    json_t *resource = json_pack("{s:s, s:s, s:s}", "group", cx->res->group, "version",
                                 cx->res->version, "resource", cx->res->plural);
    const char *name = meta_name(obj);
    json_t *req = json_pack(
        "{s:s, s:O, s:O, s:O, s:O, s:s, s:s, s:{s:s, s:[s, s]}, s:O, s:n, s:b, s:{s:s, s:s}}",
        "uid", uid, "kind", kind, "resource", resource, "requestKind", kind, "requestResource",
        resource, "name", name ? name : "", "operation", "CREATE", "userInfo", "username",
        "system:admin", "groups", "system:masters", "system:authenticated", "object", obj,
        "oldObject", "dryRun", cx->dry_run, "options", "apiVersion", "meta.k8s.io/v1", "kind",
        "CreateOptions");
    json_decref(kind);
    json_decref(resource);
    if (req && cx->ns && json_object_set_new(req, "namespace", json_string(cx->ns)) < 0) {
        json_decref(req);
        req = NULL;
    }
    return req ? json_pack("{s:s, s:s, s:o}", "apiVersion", REVIEW_API_VERSION, "kind",
                           "AdmissionReview", "request", req)
               : NULL;
}

/* The webhook's refusal as kube-apiserver reports it (its webhook
 * errors.ToStatusErr): the webhook's own Status passed through, reason and
 * details included, with a code of at least 400, status Failure, and the
 * message saying which webhook denied. Sets cx->denial and e. */
static int denied(struct chain *cx, const struct hook *h, const json_t *status, struct err *e)
{
    json_t *st = json_is_object(status) ? jdoc_copy(status) : json_object();
    if (!st)
        return err_set(e, -ENOMEM, "admission: out of memory");
    json_int_t code = json_integer_value(json_object_get(st, "code"));
    const char *outcome = json_string_value(json_object_get(st, "status"));
    const char *msg = json_string_value(json_object_get(st, "message"));
    const char *reason = json_string_value(json_object_get(st, "reason"));
    char text[ERR_MSG_MAX];
    if (msg && *msg)
        snprintf(text, sizeof text, "admission webhook \"%s\" denied the request: %s", h->name,
                 msg);
    else if (reason && *reason)
        snprintf(text, sizeof text, "admission webhook \"%s\" denied the request: %s", h->name,
                 reason);
    else
        snprintf(text, sizeof text, "admission webhook \"%s\" denied the request without "
                 "explanation", h->name);
    jdoc_set(st, "kind", json_string("Status"));
    jdoc_set(st, "apiVersion", json_string("v1"));
    if (!json_is_object(json_object_get(st, "metadata")))
        jdoc_set(st, "metadata", json_object());
    if (!outcome || !*outcome || strcmp(outcome, "Success") == 0)
        jdoc_set(st, "status", json_string("Failure"));
    if (code < 400 || code > 599) /* a denial is a failure; HTTP has nothing past 599 */
        jdoc_set(st, "code", json_integer(code = 400));
    jdoc_set(st, "message", json_string(text));
    int rc = status_to_err(st, (int)code, e);
    json_decref(cx->denial);
    cx->denial = st;
    return rc;
}

/* The JSON patch of an allowed answer, or NULL when there is none. */
static int answer_patch(const json_t *resp, json_t **ops, struct err *e)
{
    const char *patch = json_string_value(json_object_get(resp, "patch"));
    const char *type = json_string_value(json_object_get(resp, "patchType"));
    *ops = NULL;
    if (!patch)
        return 0;
    if (!type || strcmp(type, "JSONPatch") != 0)
        return err_set(e, -EIO, "patchType: must be JSONPatch, got \"%.40s\"", type ? type : "");
    unsigned char *raw;
    size_t len;
    if (base64_decode(patch, &raw, &len) != 0)
        return err_set(e, -EIO, "patch: not base64");
    *ops = jsontext_load((const char *)raw, len, 0, NULL);
    free(raw);
    if (!json_is_array(*ops)) {
        json_decref(*ops);
        *ops = NULL;
        return err_set(e, -EIO, "patch: not a JSON list of operations");
    }
    return 0;
}

/* Reads an answer: 0 with *ops (or NULL) when the webhook allowed, the
 * request's failure with *denial set when it denied, or -EIO for an answer
 * that is not a matching AdmissionReview (a failure of the webhook). */
static int read_answer(struct chain *cx, const struct hook *h, const char *uid,
                       const json_t *answer, json_t **ops, bool *denial, struct err *e)
{
    const json_t *resp = json_object_get(answer, "response");
    const char *av = json_string_value(json_object_get(answer, "apiVersion"));
    const char *kind = json_string_value(json_object_get(answer, "kind"));
    const char *got = json_string_value(json_object_get(resp, "uid"));
    const json_t *allowed = json_object_get(resp, "allowed");
    *ops = NULL;
    *denial = false;
    if (!av || strcmp(av, REVIEW_API_VERSION) != 0 || !kind ||
        strcmp(kind, "AdmissionReview") != 0 || !json_is_object(resp))
        return err_set(e, -EIO, "the answer is not an %s AdmissionReview with a response",
                       REVIEW_API_VERSION);
    if (!got || strcmp(got, uid) != 0)
        return err_set(e, -EIO, "expected response.uid=\"%s\", got \"%.64s\"", uid,
                       got ? got : "");
    if (!json_is_boolean(allowed))
        return err_set(e, -EIO, "response.allowed: must be a boolean");
    if (json_is_false(allowed)) {
        *denial = true;
        return denied(cx, h, json_object_get(resp, "status"), e);
    }
    return answer_patch(resp, ops, e);
}

/* Calls h about *obj and applies its patch. *final says the failure
 * returned is the request's whatever the failurePolicy (a denial, a patch
 * that does not apply); any other is a failure to call the webhook. */
static int call_hook(struct chain *cx, const struct hook *h, json_t **obj, bool *changed,
                     bool *final, struct err *e)
{
    char uid[UID_LEN];
    struct endpoint ep = {0};
    struct err pe;
    json_t *answer = NULL, *ops = NULL, *out = NULL;
    random_uid(uid);
    json_t *doc = review(cx, uid, *obj);
    char *body = doc ? jsontext_dumps(doc) : NULL;
    int rc = body ? resolve(cx, h, &ep, e) : err_set(e, -ENOMEM, "out of memory");
    *final = false;
    *changed = false;
    if (rc == 0)
        rc = post(cx->pool, h, &ep, body, &answer, e);
    if (rc == 0)
        rc = read_answer(cx, h, uid, answer, &ops, final, e);
    if (rc == 0 && ops && patch_json(*obj, ops, &out, &pe) != 0) {
        *final = true;
        rc = err_set(e, -EIO, "admission webhook \"%s\" returned a patch that does not "
                     "apply: %s", h->name, pe.msg);
    }
    if (out) {
        *changed = !json_equal(out, *obj);
        json_decref(*obj);
        *obj = out;
    }
    free(ep.ca);
    free(body);
    json_decref(doc);
    json_decref(answer);
    json_decref(ops);
    return rc;
}

/* ---- the chain ---- */

static void hook_read(const json_t *spec, struct hook *h)
{
    const char *policy = json_string_value(json_object_get(spec, "failurePolicy"));
    const char *reinvoke = json_string_value(json_object_get(spec, "reinvocationPolicy"));
    const char *effects = json_string_value(json_object_get(spec, "sideEffects"));
    const json_t *timeout = json_object_get(spec, "timeoutSeconds");
    h->spec = spec;
    h->name = json_string_value(json_object_get(spec, "name"));
    if (!h->name)
        h->name = "";
    h->fail = !policy || strcmp(policy, "Ignore") != 0;
    h->reinvoke = reinvoke && strcmp(reinvoke, "IfNeeded") == 0;
    h->dry_run_ok = effects && (strcmp(effects, "None") == 0 ||
                                strcmp(effects, "NoneOnDryRun") == 0);
    h->timeout_s = timeout ? (long)json_integer_value(timeout) : TIMEOUT_DEFAULT_S;
    if (h->timeout_s < 1 || h->timeout_s > TIMEOUT_MAX_S)
        h->timeout_s = TIMEOUT_DEFAULT_S;
}

/* Whether the configurations changed since the watch began (or the watch
 * ended, so no one can tell): drains what it has, never waits. */
static bool configs_changed(struct store_watch *w)
{
    bool changed = false;
    struct store_event ev;
    int rc;
    while ((rc = store_watch_next(w, 0, &ev, NULL)) == 0) {
        changed = changed || ev.type != STORE_BOOKMARK;
        store_event_release(&ev);
    }
    return changed || rc != -EAGAIN;
}

/* Lists the configurations, and keeps them in pool with a watch from the
 * list's resourceVersion when one can be opened. */
static int configs_list(struct admission_pool *pool, struct store *st,
                        const struct api_resource *mwc, json_t **out, struct err *e)
{
    int rc = store_list(st, mwc, NULL, &(struct store_list_opts){0}, out, e);
    if (rc != 0 || !pool)
        return rc;
    atomic_fetch_add(&pool->lists, 1);
    const char *rv = meta_resource_version(*out);
    struct store_watch *w = NULL;
    if (!rv || store_watch_open(st, mwc, NULL, &(struct store_watch_opts){.resource_version = rv},
                                &w, NULL) != 0)
        return 0;
    mutex_lock(&pool->mu);
    if (pool->changes) { /* another create kept its list meanwhile */
        mutex_unlock(&pool->mu);
        store_watch_close(w);
        return 0;
    }
    json_decref(pool->configs);
    pool->configs = json_incref(*out);
    pool->changes = w;
    pool->listed_from = st;
    mutex_unlock(&pool->mu);
    return 0;
}

/* The configurations (a reference no one may modify): those pool keeps
 * when its watch shows no change since, else listed anew. */
static int configs_current(struct admission_pool *pool, struct store *st,
                           const struct api_resource *mwc, json_t **out, struct err *e)
{
    struct store_watch *w = NULL;
    json_t *kept = NULL;
    if (pool) {
        mutex_lock(&pool->mu);
        if (pool->changes && pool->listed_from == st) {
            w = pool->changes;
            kept = json_incref(pool->configs);
            pool->changes = NULL;
        }
        mutex_unlock(&pool->mu);
    }
    if (w && !configs_changed(w)) {
        mutex_lock(&pool->mu);
        bool put_back = !pool->changes;
        if (put_back)
            pool->changes = w;
        mutex_unlock(&pool->mu);
        if (!put_back)
            store_watch_close(w);
        *out = kept;
        return 0;
    }
    store_watch_close(w);
    json_decref(kept);
    return configs_list(pool, st, mwc, out, e);
}

/* Every webhook of every configuration, in the order they run; *configs
 * keeps the strings alive (caller releases both; read-only). */
static int hooks_list(struct admission_pool *pool, struct store *st, json_t **configs,
                      struct hook **out, size_t *n, struct err *e)
{
    const struct api_resource *mwc = api_registry_find(
        store_registry(st), ADMISSION_GROUP, "v1", "mutatingwebhookconfigurations");
    *configs = NULL;
    *out = NULL;
    *n = 0;
    if (!mwc)
        return 0;
    int rc = configs_current(pool, st, mwc, configs, e);
    size_t i, j, total = 0;
    const json_t *cfg, *w;
    json_array_foreach(json_object_get(*configs, "items"), i, cfg) {
        total += json_array_size(json_object_get(cfg, "webhooks"));
    }
    if (rc != 0 || total == 0)
        return rc;
    *out = alloc_calloc(total, sizeof **out);
    json_array_foreach(json_object_get(*configs, "items"), i, cfg) {
        json_array_foreach(json_object_get(cfg, "webhooks"), j, w) {
            hook_read(w, &(*out)[(*n)++]);
        }
    }
    return 0;
}

/* Runs h if it matches: 0 when it ran (or was skipped), or the request's
 * failure. A webhook that cannot be called fails the request as an
 * internal error (500) unless its failurePolicy is Ignore. */
static int run_hook(struct chain *cx, const struct hook *h, json_t **obj, bool *ran,
                    bool *changed, struct err *e)
{
    bool match, final = false;
    struct err ce;
    *ran = *changed = false;
    int rc = hook_matches(cx, h, *obj, &match, &ce);
    if (rc == 0 && !match)
        return 0;
    if (rc == 0 && cx->dry_run && !h->dry_run_ok)
        return err_set(e, -EBADMSG, "admission webhook \"%s\" does not support dry run",
                       h->name);
    if (rc == 0) {
        *ran = true;
        rc = call_hook(cx, h, obj, changed, &final, &ce);
    }
    if (rc == 0 || (rc < 0 && !final && !h->fail))
        return 0;
    if (final)
        return err_set(e, rc, "%s", ce.msg);
    return err_set(e, -EIO, "Internal error occurred: failed calling webhook \"%s\": %s",
                   h->name, ce.msg);
}

int admission_create(struct admission_pool *pool, struct store *st,
                     const struct api_resource *res, const char *ns, bool dry_run, json_t **obj,
                     json_t **denial, struct err *e)
{
    *denial = NULL;
    if (strcmp(res->group, ADMISSION_GROUP) == 0)
        return 0;
    struct chain cx = {.pool = pool, .st = st, .res = res, .ns = ns, .dry_run = dry_run};
    json_t *configs, *cur = NULL;
    struct hook *hooks;
    size_t n;
    int rc = hooks_list(pool, st, &configs, &hooks, &n, e);
    if (rc != 0 || n == 0) {
        json_decref(configs);
        return rc;
    }
    bool *ran = alloc_calloc(n, sizeof *ran);
    /* Webhooks see the namespace in the object, as the API server sets it:
     * written into a copy, so that a refused create leaves the caller's
     * object as it came. Nothing here changes the object otherwise (a
     * webhook's patch makes a new one), so without that it is shared: a
     * copy of every object created was 0.6 % of a pod's CPU over HTTP,
     * though most creates (Events, ConfigMaps, GPUSlices) match no hook. */
    const json_t *md = json_object_get(*obj, "metadata");
    bool add_ns = res->namespaced && ns && json_is_object(*obj) &&
                  (!md || (json_is_object(md) && !json_object_get(md, "namespace")));
    json_t *nsj = NULL;
    cur = add_ns ? jdoc_copy(*obj) : json_incref(*obj);
    if (!cur)
        rc = err_set(e, -ENOMEM, "admission: out of memory");
    else if (add_ns && (nsj = jdoc_string(ns, "the namespace in the URL", e)) == NULL)
        rc = -EBADMSG; /* the URL is the client's: an error, never an abort */
    else if (nsj)
        jdoc_set(meta_of(cur), "namespace", nsj);
    size_t last_change = 0; /* 1 + the index of the last webhook that changed cur */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        bool changed;
        rc = run_hook(&cx, &hooks[i], &cur, &ran[i], &changed, e);
        last_change = changed ? i + 1 : last_change;
    }
    /* IfNeeded: once more for those that ran before a later change. */
    for (size_t i = 0; rc == 0 && i + 1 < last_change; i++) {
        bool again, changed;
        if (ran[i] && hooks[i].reinvoke)
            rc = run_hook(&cx, &hooks[i], &cur, &again, &changed, e);
    }
    if (rc == 0) {
        json_decref(*obj);
        *obj = cur;
    } else {
        json_decref(cur);
        *denial = json_incref(cx.denial);
    }
    json_decref(cx.denial);
    free(ran);
    free(hooks);
    json_decref(configs);
    json_decref(cx.ns_labels);
    return rc;
}
