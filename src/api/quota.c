/*
 * ResourceQuota accounting (quota.h): usages as name -> thousandths, the
 * scopes, and kube-apiserver's check with its messages, word for word
 * (plugin/pkg/admission/resourcequota: "exceeded quota: ..." and "status
 * unknown for quota: ..."), since kubectl prints them as they come.
 */
#include "api/quota.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/pod.h"
#include "api/quantity.h"
#include "util/alloc.h"
#include "util/jdoc.h"

#define MESSAGE_MAX 1024

/* The core kinds Kubernetes also counts under their bare plural. */
static const char *const bare_counted[] = {"configmaps", "secrets", "services",
                                           "persistentvolumeclaims", "replicationcontrollers",
                                           "resourcequotas", NULL};

/* The bare names that alias requests.<name>. */
static const char *const bare_requests[] = {"cpu", "memory", "ephemeral-storage", NULL};

static bool in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static int64_t usage_get(const json_t *usage, const char *name)
{
    return json_integer_value(json_object_get(usage, name));
}

static void usage_set(json_t *usage, const char *name, int64_t milli)
{
    jdoc_set(usage, name, json_integer(milli));
}

/* ---- usage ---- */

static int64_t pod_limit_milli(const struct pod_view *v, const char *resource)
{
    int64_t sum = 0, init_max = 0;
    for (size_t i = 0; i < v->n_containers; i++) {
        int64_t milli = 0;
        const json_t *q = json_object_get(v->containers[i].limits, resource);
        if (q && quantity_from_json(q, resource, &milli, NULL) != 0)
            milli = 0;
        if (v->containers[i].init)
            init_max = milli > init_max ? milli : init_max;
        else
            sum = milli > INT64_MAX - sum ? INT64_MAX : sum + milli;
    }
    return sum > init_max ? sum : init_max;
}

/* Every resource name a container of v requests or limits, with how the
 * pod counts it. */
static void pod_compute_usage(const struct pod_view *v, json_t *usage)
{
    char key[300];
    for (size_t i = 0; i < v->n_containers; i++) {
        const struct pod_container *c = &v->containers[i];
        const char *name;
        const json_t *q;
        json_object_foreach((json_t *)c->requests, name, q) {
            snprintf(key, sizeof key, "requests.%s", name);
            usage_set(usage, key, pod_request_milli(v, name));
            if (in_list(bare_requests, name))
                usage_set(usage, name, pod_request_milli(v, name));
        }
        json_object_foreach((json_t *)c->limits, name, q) {
            /* a limit without a request requests the limit */
            snprintf(key, sizeof key, "requests.%s", name);
            usage_set(usage, key, pod_request_milli(v, name));
            if (in_list(bare_requests, name))
                usage_set(usage, name, pod_request_milli(v, name));
            snprintf(key, sizeof key, "limits.%s", name);
            usage_set(usage, key, pod_limit_milli(v, name));
        }
    }
}

static int pod_usage(const json_t *pod, json_t *usage, struct err *e)
{
    struct pod_view v;
    int rc = pod_read(pod, &v, e);
    if (rc != 0)
        return rc;
    usage_set(usage, "count/pods", 1000); /* every pod stored, ended or not */
    if (pod_is_terminal(&v))
        return 0;
    usage_set(usage, "pods", 1000);
    pod_compute_usage(&v, usage);
    return 0;
}

static bool is_pods(const struct api_resource *res)
{
    return !res->group[0] && strcmp(res->plural, "pods") == 0;
}

int quota_usage_of(const struct api_resource *res, const json_t *obj, json_t **out,
                   struct err *e)
{
    json_t *usage = json_object();
    int rc = 0;
    if (!usage)
        return err_set(e, -ENOMEM, "out of memory");
    if (is_pods(res)) {
        rc = pod_usage(obj, usage, e);
    } else {
        char key[300];
        snprintf(key, sizeof key, "count/%s%s%s", res->plural, res->group[0] ? "." : "",
                 res->group);
        usage_set(usage, key, 1000);
        if (!res->group[0] && in_list(bare_counted, res->plural))
            usage_set(usage, res->plural, 1000);
    }
    if (rc != 0) {
        json_decref(usage);
        return rc;
    }
    *out = usage;
    return 0;
}

/* ---- scopes ---- */

static bool pod_best_effort(const json_t *pod)
{
    struct pod_view v;
    if (pod_read(pod, &v, NULL) != 0)
        return false;
    for (size_t i = 0; i < v.n_containers; i++)
        for (size_t k = 0; k < 2; k++)
            if (json_object_get(v.containers[i].requests, bare_requests[k]) ||
                json_object_get(v.containers[i].limits, bare_requests[k]))
                return false;
    return true;
}

static bool pod_terminating(const json_t *pod)
{
    const json_t *d = json_object_get(json_object_get(pod, "spec"), "activeDeadlineSeconds");
    return json_is_integer(d) && json_integer_value(d) >= 0;
}

/* Whether the pod is in scope; false for a scope not known. */
static bool scope_holds(const char *scope, const json_t *pod)
{
    if (!scope)
        return false;
    if (strcmp(scope, "Terminating") == 0)
        return pod_terminating(pod);
    if (strcmp(scope, "NotTerminating") == 0)
        return !pod_terminating(pod);
    if (strcmp(scope, "BestEffort") == 0)
        return pod_best_effort(pod);
    if (strcmp(scope, "NotBestEffort") == 0)
        return !pod_best_effort(pod);
    return false;
}

static bool selector_holds(const json_t *expr, const json_t *pod)
{
    const char *scope = json_string_value(json_object_get(expr, "scopeName"));
    const char *op = json_string_value(json_object_get(expr, "operator"));
    if (op && strcmp(op, "Exists") == 0)
        return scope_holds(scope, pod);
    if (op && strcmp(op, "DoesNotExist") == 0)
        return scope && scope_holds(scope, pod) == false &&
               (strcmp(scope, "Terminating") == 0 || strcmp(scope, "NotTerminating") == 0 ||
                strcmp(scope, "BestEffort") == 0 || strcmp(scope, "NotBestEffort") == 0);
    return false; /* In/NotIn name PriorityClass values: not known */
}

bool quota_covers(const json_t *quota, const struct api_resource *res, const json_t *obj)
{
    const json_t *spec = json_object_get(quota, "spec");
    const json_t *scopes = json_object_get(spec, "scopes");
    const json_t *exprs = json_object_get(json_object_get(spec, "scopeSelector"),
                                          "matchExpressions");
    if (json_array_size(scopes) == 0 && json_array_size(exprs) == 0)
        return true;
    if (!is_pods(res))
        return false;
    size_t i;
    const json_t *s;
    json_array_foreach(scopes, i, s) {
        if (!scope_holds(json_string_value(s), obj))
            return false;
    }
    json_array_foreach(exprs, i, s) {
        if (!selector_holds(s, obj))
            return false;
    }
    return true;
}

/* ---- quantities ---- */

int quota_read(const json_t *quantities, const char *field, json_t **out, struct err *e)
{
    json_t *usage = json_object();
    const char *name;
    const json_t *q;
    if (!usage)
        return err_set(e, -ENOMEM, "out of memory");
    json_object_foreach((json_t *)quantities, name, q) {
        int64_t milli;
        char where[300];
        snprintf(where, sizeof where, "%s[%s]", field, name);
        int rc = quantity_from_json(q, where, &milli, e);
        if (rc != 0) {
            json_decref(usage);
            return rc;
        }
        usage_set(usage, name, milli);
    }
    *out = usage;
    return 0;
}

static bool memory_like(const char *name)
{
    static const char *const names[] = {"memory", "storage", "ephemeral-storage", NULL};
    const char *dot = strchr(name, '.');
    if (dot && (strncmp(name, "requests.", 9) == 0 || strncmp(name, "limits.", 7) == 0))
        name = dot + 1;
    return in_list(names, name) || strncmp(name, "hugepages-", 10) == 0;
}

void quota_format(const char *name, int64_t milli, char out[32])
{
    static const char *const suffixes[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    if (milli % 1000 != 0) {
        snprintf(out, 32, "%lldm", (long long)milli);
        return;
    }
    int64_t v = milli / 1000;
    int k = 0;
    while (memory_like(name) && v != 0 && v % 1024 == 0 && k < 6) {
        v /= 1024;
        k++;
    }
    snprintf(out, 32, "%lld%s", (long long)v, k ? suffixes[k - 1] : "");
}

json_t *quota_write(const json_t *usage)
{
    json_t *out = json_object();
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)usage, name, v) {
        char text[32];
        quota_format(name, json_integer_value(v), text);
        jdoc_set(out, name, json_string(text));
    }
    return out;
}

/* ---- the check ---- */

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names of usage, sorted (borrowed; caller frees the array). */
static const char **sorted_names(const json_t *usage, size_t *n)
{
    const char **names = alloc_calloc(json_object_size(usage) + 1, sizeof *names);
    const char *name;
    const json_t *v;
    *n = 0;
    json_object_foreach((json_t *)usage, name, v) {
        names[(*n)++] = name;
    }
    qsort(names, *n, sizeof *names, by_name);
    return names;
}

/* "a=1,b=2Gi" of the names in `names` as usage has them (kube's
 * prettyPrint). */
static void pretty(const char **names, size_t n, const json_t *usage, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++) {
        char text[32];
        quota_format(names[i], usage_get(usage, names[i]), text);
        used += (size_t)snprintf(out + used, size - used, "%s%s=%s", i ? "," : "", names[i],
                                 text);
    }
}

/* Refuses with kube's message when one of names (in request) exceeds. */
static int check_limits(const char *quota, const char **names, size_t n, const json_t *request,
                        const json_t *used, const json_t *hard, struct err *e)
{
    const char **over = alloc_calloc(n + 1, sizeof *over);
    size_t n_over = 0;
    for (size_t i = 0; i < n; i++)
        if (usage_get(used, names[i]) + usage_get(request, names[i]) > usage_get(hard, names[i]))
            over[n_over++] = names[i];
    int rc = 0;
    if (n_over) {
        char r[MESSAGE_MAX / 4], u[MESSAGE_MAX / 4], h[MESSAGE_MAX / 4];
        pretty(over, n_over, request, r, sizeof r);
        pretty(over, n_over, used, u, sizeof u);
        pretty(over, n_over, hard, h, sizeof h);
        rc = err_set(e, -EPERM, "exceeded quota: %s, requested: %s, used: %s, limited: %s", quota,
                     r, u, h);
    }
    free(over);
    return rc;
}

/* Refuses when status.used lacks one of names. */
static int check_known(const char *quota, const char **names, size_t n, const json_t *used,
                       struct err *e)
{
    char missing[MESSAGE_MAX / 2];
    size_t len = 0;
    missing[0] = '\0';
    for (size_t i = 0; i < n && len < sizeof missing; i++)
        if (!json_object_get(used, names[i]))
            len += (size_t)snprintf(missing + len, sizeof missing - len, "%s%s", len ? "," : "",
                                    names[i]);
    return len ? err_set(e, -EPERM, "status unknown for quota: %s, resources: %s", quota,
                         missing)
               : 0;
}

int quota_charge(const json_t *quota, const json_t *request, json_t **used_out, bool *charged,
                 struct err *e)
{
    const json_t *status = json_object_get(quota, "status");
    const char *qname = json_string_value(
        json_object_get(json_object_get(quota, "metadata"), "name"));
    json_t *hard = NULL, *used = NULL, *masked = json_object();
    /* status.hard is the controller's copy of spec.hard; before its first
     * count, spec.hard limits (and used, unknown, refuses) */
    const json_t *limits = json_object_get(status, "hard");
    if (!json_is_object(limits))
        limits = json_object_get(json_object_get(quota, "spec"), "hard");
    int rc = quota_read(limits, "status.hard", &hard, e);
    if (rc == 0)
        rc = quota_read(json_object_get(status, "used"), "status.used", &used, e);
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)request, name, v) {
        if (rc == 0 && json_object_get(hard, name))
            jdoc_set(masked, name, json_incref((json_t *)v));
    }
    size_t n = 0;
    const char **names = rc == 0 ? sorted_names(masked, &n) : NULL;
    if (rc == 0)
        rc = check_known(qname ? qname : "", names, n, used, e);
    if (rc == 0)
        rc = check_limits(qname ? qname : "", names, n, masked, used, hard, e);
    for (size_t i = 0; rc == 0 && i < n; i++)
        usage_set(used, names[i], usage_get(used, names[i]) + usage_get(masked, names[i]));
    if (rc == 0 && charged)
        *charged = n > 0;
    if (rc == 0 && used_out)
        *used_out = quota_write(used);
    free(names);
    json_decref(hard);
    json_decref(used);
    json_decref(masked);
    return rc;
}

json_t *quota_release(const json_t *quota, const json_t *usage)
{
    json_t *used = NULL;
    if (quota_read(json_object_get(json_object_get(quota, "status"), "used"), "status.used",
                   &used, NULL) != 0)
        return json_object();
    const char *name;
    json_t *v;
    json_object_foreach(used, name, v) {
        int64_t left = json_integer_value(v) - usage_get(usage, name);
        usage_set(used, name, left > 0 ? left : 0);
    }
    json_t *out = quota_write(used);
    json_decref(used);
    return out;
}

json_t *quota_growth(const json_t *old, const json_t *cur)
{
    json_t *grown = json_object();
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)cur, name, v) {
        int64_t d = json_integer_value(v) - usage_get(old, name);
        if (d > 0)
            usage_set(grown, name, d);
    }
    return grown;
}
