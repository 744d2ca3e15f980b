/*
 * The scheduler's filters and score (see schedfit.h). Everything here reads
 * JSON it is given and writes into caller-owned fixed-size results: no
 * allocation, so the scheduler can run it for every node of every decision.
 */
#include "api/schedfit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/node.h"
#include "api/pod.h"
#include "api/quantity.h"

#define REASON_UNSCHEDULABLE "node(s) were unschedulable"
#define REASON_AFFINITY "node(s) didn't match Pod's node affinity/selector"
#define REASON_TOO_MANY_PODS "Too many pods"
#define REASON_UNREADABLE "node(s) or the pod could not be read"
#define TAINT_NOT_READY "node.kubernetes.io/not-ready"
#define TAINT_UNSCHEDULABLE "node.kubernetes.io/unschedulable"

/* ---- resource vectors ------------------------------------------------------ */

static int64_t *slot(struct schedfit_resources *r, const char *name, int *rc)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->items[i].name, name) == 0)
            return &r->items[i].milli;
    if (strlen(name) >= SCHEDFIT_NAME_MAX) {
        *rc = -ENAMETOOLONG;
        return NULL;
    }
    if (r->n == SCHEDFIT_RESOURCES_MAX) {
        *rc = -ENOSPC;
        return NULL;
    }
    strcpy(r->items[r->n].name, name);
    r->items[r->n].milli = 0;
    return &r->items[r->n++].milli;
}

int64_t schedfit_amount(const struct schedfit_resources *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->items[i].name, name) == 0)
            return r->items[i].milli;
    return 0;
}

int schedfit_add(struct schedfit_resources *r, const char *name, int64_t milli)
{
    int rc = 0;
    int64_t *v = slot(r, name, &rc);
    if (v)
        *v += milli;
    return rc;
}

/* Adds every resource name in map to out, at the pod's request for it. */
static int add_names(const struct pod_view *v, const json_t *map, struct schedfit_resources *out)
{
    const char *name;
    const json_t *q;
    json_object_foreach((json_t *)map, name, q) {
        int rc = 0;
        int64_t *slot_of = slot(out, name, &rc);
        if (!slot_of)
            return rc;
        *slot_of = pod_request_milli(v, name);
    }
    return 0;
}

int schedfit_pod_requests(const json_t *pod, struct schedfit_resources *out, struct err *e)
{
    struct pod_view v;
    int rc = pod_read(pod, &v, e);
    if (rc < 0) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    return schedfit_view_requests(pod, &v, out, e);
}

int schedfit_view_requests(const json_t *pod, const struct pod_view *v,
                           struct schedfit_resources *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < v->n_containers; i++) {
        int rc = add_names(v, v->containers[i].requests, out);
        if (rc == 0)
            rc = add_names(v, v->containers[i].limits, out);
        if (rc < 0)
            return err_set(e, rc, "spec: more than %d resources in the pod, or a name of %d "
                                  "characters or more", SCHEDFIT_RESOURCES_MAX, SCHEDFIT_NAME_MAX);
    }
    const char *name;
    const json_t *q;
    json_object_foreach(json_object_get(json_object_get(pod, "spec"), "overhead"), name, q) {
        char field[SCHEDFIT_REASON_MAX];
        snprintf(field, sizeof field, "spec.overhead[%s]", name);
        int64_t milli = 0;
        int r = quantity_from_json(q, field, &milli, e);
        if (r == 0 && (r = schedfit_add(out, name, milli)) < 0)
            err_set(e, r, "%s: more than %d resources in the pod", field, SCHEDFIT_RESOURCES_MAX);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- taints and tolerations ------------------------------------------------ */

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

/* Whether tolerations tolerate one taint: node_tolerated over a node that
 * has only that taint, so the rule stays in one place (api/node.c). */
static bool tolerated(const json_t *tolerations, const json_t *taint)
{
    json_t *one = json_array();
    if (!one || json_array_append(one, (json_t *)taint) != 0) {
        json_decref(one);
        return false;
    }
    struct node_view v = {.taints = one};
    bool ok = node_tolerated(&v, tolerations);
    json_decref(one);
    return ok;
}

/* A taint the node does not carry but behaves as if it did. */
static bool tolerated_implied(const json_t *tolerations, const char *key)
{
    json_t *taint = json_pack("{s:s, s:s}", "key", key, "effect", "NoSchedule");
    bool ok = taint && tolerated(tolerations, taint);
    json_decref(taint);
    return ok;
}

static void add_reason(struct schedfit_result *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_reason(struct schedfit_result *out, const char *fmt, ...)
{
    if (out->n < sizeof out->reasons / sizeof out->reasons[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(out->reasons[out->n++], SCHEDFIT_REASON_MAX, fmt, ap);
        va_end(ap);
    }
    out->fits = false;
}

/* The first NoSchedule or NoExecute taint pod does not tolerate. */
static bool check_taints(const json_t *tolerations, const struct node_view *node,
                         struct schedfit_result *out)
{
    if (!node->ready && !tolerated_implied(tolerations, TAINT_NOT_READY)) {
        add_reason(out, "node(s) had untolerated taint {%s: }", TAINT_NOT_READY);
        return false;
    }
    size_t i;
    const json_t *t;
    json_array_foreach(node->taints, i, t) {
        if (!tolerated(tolerations, t)) {
            add_reason(out, "node(s) had untolerated taint {%s: %s}", str(t, "key"),
                       str(t, "value"));
            return false;
        }
    }
    return true;
}

/* ---- node selector and affinity -------------------------------------------- */

static bool in_values(const json_t *values, const char *v)
{
    size_t i;
    const json_t *x;
    json_array_foreach(values, i, x)
        if (json_is_string(x) && strcmp(json_string_value(x), v) == 0)
            return true;
    return false;
}

static bool parse_int(const char *s, long long *out)
{
    char *end;
    if (!s || !*s)
        return false;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return errno == 0 && *end == '\0';
}

/* One NodeSelectorRequirement against a value (NULL: the label is absent). */
static bool requirement_matches(const json_t *req, const char *value)
{
    const char *op = str(req, "operator");
    const json_t *values = json_object_get(req, "values");
    if (strcmp(op, "In") == 0)
        return value && in_values(values, value);
    if (strcmp(op, "NotIn") == 0)
        return !value || !in_values(values, value);
    if (strcmp(op, "Exists") == 0)
        return value != NULL;
    if (strcmp(op, "DoesNotExist") == 0)
        return value == NULL;
    long long have, want;
    if (json_array_size(values) != 1 || !parse_int(value, &have) ||
        !parse_int(json_string_value(json_array_get(values, 0)), &want))
        return false;
    if (strcmp(op, "Gt") == 0)
        return have > want;
    if (strcmp(op, "Lt") == 0)
        return have < want;
    return false;
}

static bool term_matches(const json_t *term, const struct node_view *node)
{
    const json_t *exprs = json_object_get(term, "matchExpressions");
    const json_t *fields = json_object_get(term, "matchFields");
    if (json_array_size(exprs) == 0 && json_array_size(fields) == 0)
        return false; /* an empty term matches no objects */
    size_t i;
    const json_t *r;
    json_array_foreach(exprs, i, r) {
        const char *v = json_string_value(json_object_get(node->labels, str(r, "key")));
        if (!requirement_matches(r, v))
            return false;
    }
    json_array_foreach(fields, i, r) {
        const char *v = strcmp(str(r, "key"), "metadata.name") == 0 ? node->name : NULL;
        if (!requirement_matches(r, v))
            return false;
    }
    return true;
}

static bool affinity_matches(const struct pod_view *pod, const struct node_view *node)
{
    const char *key;
    const json_t *want;
    json_object_foreach((json_t *)pod->node_selector, key, want) {
        const char *have = json_string_value(json_object_get(node->labels, key));
        if (!have || !json_is_string(want) || strcmp(have, json_string_value(want)) != 0)
            return false;
    }
    if (!pod->required_terms)
        return true;
    size_t i;
    const json_t *term;
    json_array_foreach(pod->required_terms, i, term)
        if (term_matches(term, node))
            return true;
    return false;
}

/* ---- resources ------------------------------------------------------------- */

static bool ignored(const struct schedfit_options *opt, const char *name)
{
    for (const char *const *p = opt && opt->ignored ? opt->ignored : NULL; p && *p; p++)
        if (strncmp(name, *p, strlen(*p)) == 0)
            return true;
    return false;
}

static void check_one(const char *name, const struct schedfit_resources *req,
                      const struct node_view *node, const struct schedfit_resources *used,
                      struct schedfit_result *out)
{
    int64_t want = schedfit_amount(req, name);
    if (want > 0 && schedfit_amount(used, name) + want > node_allocatable_milli(node, name))
        add_reason(out, "Insufficient %s", name);
}

static void check_resources(const struct schedfit_resources *req, const struct node_view *node,
                            const struct schedfit_resources *used, size_t pods_on_node,
                            const struct schedfit_options *opt, struct schedfit_result *out)
{
    if ((int64_t)(pods_on_node + 1) * 1000 > node_allocatable_milli(node, "pods"))
        add_reason(out, REASON_TOO_MANY_PODS);
    /* cpu and memory first, then the rest as the pod lists them. */
    check_one("cpu", req, node, used, out);
    check_one("memory", req, node, used, out);
    for (size_t i = 0; i < req->n; i++) {
        const char *name = req->items[i].name;
        if (strcmp(name, "cpu") && strcmp(name, "memory") && strcmp(name, "pods") &&
            !ignored(opt, name))
            check_one(name, req, node, used, out);
    }
}

void schedfit_check_view(const struct pod_view *pv, const struct schedfit_resources *req,
                         const json_t *node, const struct schedfit_resources *used,
                         size_t pods_on_node, const struct schedfit_options *opt,
                         struct schedfit_result *out)
{
    struct node_view nv;
    memset(out, 0, sizeof *out);
    out->fits = true;
    if (!pv || node_read(node, &nv, NULL) != 0) {
        add_reason(out, REASON_UNREADABLE);
        return;
    }
    if (nv.unschedulable && !tolerated_implied(pv->tolerations, TAINT_UNSCHEDULABLE)) {
        add_reason(out, REASON_UNSCHEDULABLE);
        return;
    }
    if (!check_taints(pv->tolerations, &nv, out))
        return;
    if (!affinity_matches(pv, &nv)) {
        add_reason(out, REASON_AFFINITY);
        return;
    }
    check_resources(req, &nv, used, pods_on_node, opt, out);
}

void schedfit_check(const json_t *pod, const struct schedfit_resources *req, const json_t *node,
                    const struct schedfit_resources *used, size_t pods_on_node,
                    const struct schedfit_options *opt, struct schedfit_result *out)
{
    struct pod_view pv;
    bool readable = pod_read(pod, &pv, NULL) == 0;
    schedfit_check_view(readable ? &pv : NULL, req, node, used, pods_on_node, opt, out);
}

/* ---- score ----------------------------------------------------------------- */

static int free_share(const char *name, const struct node_view *node,
                      const struct schedfit_resources *used, const struct schedfit_resources *req)
{
    int64_t a = node_allocatable_milli(node, name);
    if (a <= 0)
        return 0;
    int64_t left = a - schedfit_amount(used, name) - schedfit_amount(req, name);
    if (left <= 0)
        return 0;
    /* left <= a, so the product stays below a * 100: divide first when a is
     * large enough to overflow. */
    return a > INT64_MAX / 100 ? (int)(left / (a / 100)) : (int)(left * 100 / a);
}

int schedfit_score(const json_t *node, const struct schedfit_resources *used,
                   const struct schedfit_resources *req)
{
    struct node_view nv;
    if (node_read(node, &nv, NULL) != 0)
        return 0;
    return (free_share("cpu", &nv, used, req) + free_share("memory", &nv, used, req)) / 2;
}

/* ---- summary --------------------------------------------------------------- */

void schedfit_summary_init(struct schedfit_summary *s)
{
    memset(s, 0, sizeof *s);
}

void schedfit_summary_add(struct schedfit_summary *s, const struct schedfit_result *r)
{
    s->nodes++;
    for (size_t i = 0; i < r->n; i++) {
        size_t k = 0;
        while (k < s->n && strcmp(s->items[k].reason, r->reasons[i]) != 0)
            k++;
        if (k == s->n) {
            if (s->n == SCHEDFIT_REASONS_MAX)
                continue;
            snprintf(s->items[s->n++].reason, SCHEDFIT_REASON_MAX, "%s", r->reasons[i]);
        }
        s->items[k].count++;
    }
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(a, b);
}

void schedfit_summary_format(const struct schedfit_summary *s, char *buf, size_t len)
{
    if (s->nodes == 0) {
        snprintf(buf, len, "no nodes available to schedule pods");
        return;
    }
    char parts[SCHEDFIT_REASONS_MAX][SCHEDFIT_REASON_MAX + 24];
    for (size_t i = 0; i < s->n; i++)
        snprintf(parts[i], sizeof parts[i], "%zu %s", s->items[i].count, s->items[i].reason);
    /* The default scheduler sorts the counted reasons as strings. */
    qsort(parts, s->n, sizeof parts[0], compare_strings);
    size_t used = (size_t)snprintf(buf, len, "0/%zu nodes are available: ", s->nodes);
    for (size_t i = 0; i < s->n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", parts[i]);
    if (used < len)
        snprintf(buf + used, len - used, ".");
}
