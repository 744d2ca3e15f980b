/*
 * What the cluster parts tests share: a mem store (collector not automatic)
 * and the parts on a virtual clock, objects written from JSON text with
 * single quotes, and a clock that only moves when the test moves it.
 *
 * h_run_until() settles the parts, then jumps the clock to the next time
 * something is due, up to a horizon, so a test reads like a timeline and
 * never waits in real time.
 */
#ifndef GPUSLICE_TESTS_CLUSTERPARTS_HARNESS_H
#define GPUSLICE_TESTS_CLUSTERPARTS_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../common/json_text.h"
#include "api/meta.h"
#include "cluster/components.h"
#include "store/mem.h"

#define NS "default"
#define SEC INT64_C(1000000000)
#define T0 (INT64_C(1790000000) * SEC)

struct harness {
    int64_t now;
    struct store *st;
    struct cluster_parts *parts;
    const struct api_resource *pods, *nodes, *cms, *deploys, *rss, *jobs, *events;
};

static inline int64_t h_now_ns(void *ctx)
{
    return ((struct harness *)ctx)->now;
}

static inline void h_ok(int rc, const struct err *e, const char *what)
{
    if (rc < 0)
        fail_msg("%s: %d %s", what, rc, e->msg);
}

/* The v1 resource group/plural of the harness's store; fails the test when
 * it is not served. */
static inline const struct api_resource *h_res(struct harness *h, const char *group,
                                                const char *plural)
{
    const struct api_resource *r =
        api_registry_find(store_registry(h->st), group, "v1", plural);
    assert_non_null(r);
    return r;
}

/* A store with namespace NS, and the parts with a kubelet per node,
 * keeping gc_threshold ended pods (0: the default), and their containers'
 * logs and environments when logs. */
/* A harness whose kubelets connect MPS shares to mps (NULL: none). */
static inline struct harness *h_new_mps(const struct kubelet_node *nodes, size_t n,
                                        size_t gc_threshold, bool logs,
                                        const struct kubelet_mps_ops *mps, void *mps_ctx)
{
    struct harness *h = calloc(1, sizeof *h);
    struct err e = {0};
    h->now = T0;
    struct mem_store_config mc = {.now_ns = h_now_ns, .clock_ctx = h, .seed = 11};
    h_ok(mem_store_new(&mc, &h->st, &e), &e, "mem_store_new");
    h->pods = h_res(h, "", "pods");
    h->nodes = h_res(h, "", "nodes");
    h->cms = h_res(h, "", "configmaps");
    h->events = h_res(h, "", "events");
    h->deploys = h_res(h, "apps", "deployments");
    h->rss = h_res(h, "apps", "replicasets");
    h->jobs = h_res(h, "batch", "jobs");
    json_t *ns = json_text("{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'%s'}}", NS);
    h_ok(store_create(h->st, h_res(h, "", "namespaces"), NULL, ns, NULL, NULL, &e), &e,
         "create namespace");
    json_decref(ns);
    struct cluster_parts_config pc = {.store = h->st, .now_ns = h_now_ns, .clock_ctx = h,
                                      .nodes = nodes, .node_count = n, .collect = true,
                                      .seed = 3, .terminated_pod_gc_threshold = gc_threshold,
                                      .keep_logs = logs, .mps = mps, .mps_ctx = mps_ctx};
    h_ok(cluster_parts_new(&pc, &h->parts, &e), &e, "cluster_parts_new");
    return h;
}

static inline struct harness *h_new_with(const struct kubelet_node *nodes, size_t n,
                                         size_t gc_threshold, bool logs)
{
    return h_new_mps(nodes, n, gc_threshold, logs, NULL, NULL);
}

/* The environment pod's containers were started with, as its node's
 * kubelet kept it (kubelet_observed_env); NULL when it was not started. */
static inline json_t *h_observed_env(struct harness *h, const json_t *pod)
{
    const char *node = json_string_value(json_object_get(json_object_get(pod, "spec"),
                                                         "nodeName"));
    struct kubelet *k = node ? cluster_parts_kubelet(h->parts, node) : NULL;
    json_t *env = NULL;
    if (k)
        kubelet_observed_env(k, pod, &env, NULL);
    return env;
}

static inline struct harness *h_new_gc(const struct kubelet_node *nodes, size_t n,
                                       size_t gc_threshold)
{
    return h_new_with(nodes, n, gc_threshold, false);
}

static inline struct harness *h_new(const struct kubelet_node *nodes, size_t n)
{
    return h_new_gc(nodes, n, 0);
}

static inline void h_free(struct harness *h)
{
    cluster_parts_free(h->parts);
    store_free(h->st);
    free(h);
}

static inline void h_settle(struct harness *h)
{
    struct err e = {0};
    h_ok(cluster_parts_settle(h->parts, 0, &e), &e, "cluster_parts_settle");
}

/* Settles, then moves the clock from one due time to the next up to t. */
static inline void h_run_until(struct harness *h, int64_t t)
{
    for (;;) {
        h_settle(h);
        int64_t due = cluster_parts_next_due(h->parts);
        if (due > t)
            break;
        if (due > h->now)
            h->now = due;
    }
    h->now = t;
    h_settle(h);
}

static inline void h_advance_ms(struct harness *h, int64_t ms)
{
    h_run_until(h, h->now + ms * 1000000);
}

/* Creates an object from JSON text (' for "); returns nothing, fails the
 * test on error. */
static inline void h_create(struct harness *h, const struct api_resource *res, const char *fmt,
                            ...)
{
    char text[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_t *obj = json_text("%s", text);
    struct err e = {0};
    h_ok(store_create(h->st, res, NULL, obj, NULL, NULL, &e), &e, "store_create");
    json_decref(obj);
}

/* The stored object (the caller's), or NULL. */
static inline json_t *h_get(struct harness *h, const struct api_resource *res, const char *ns,
                            const char *name)
{
    json_t *obj = NULL;
    if (store_get(h->st, res, ns, name, &obj, NULL) != 0)
        return NULL;
    return obj;
}

/* The items of a list (the caller's array). */
static inline json_t *h_list(struct harness *h, const struct api_resource *res,
                             const char *selector)
{
    json_t *list = NULL;
    struct err e = {0};
    struct store_list_opts o = {.label_selector = selector};
    h_ok(store_list(h->st, res, res->namespaced ? NS : NULL, &o, &list, &e), &e, "store_list");
    json_t *items = json_incref(json_object_get(list, "items"));
    json_decref(list);
    return items;
}

static inline size_t h_count(struct harness *h, const struct api_resource *res,
                             const char *selector)
{
    json_t *items = h_list(h, res, selector);
    size_t n = json_array_size(items);
    json_decref(items);
    return n;
}

/* A string at a dotted path (selector_field_value's), copied into buf; ""
 * when absent. */
static inline const char *h_str(const json_t *obj, const char *path)
{
    static char buf[4096];
    const json_t *v = obj;
    char part[128];
    while (v && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        snprintf(part, sizeof part, "%.*s", (int)n, path);
        v = json_is_array(v) ? json_array_get(v, (size_t)atoi(part)) : json_object_get(v, part);
        path += n + (dot != NULL);
    }
    if (json_is_string(v))
        snprintf(buf, sizeof buf, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, sizeof buf, "%s", json_is_true(v) ? "true" : "false");
    else
        buf[0] = '\0';
    return buf;
}

/* The field of a stored object ("" when the object or field is absent). */
static inline const char *h_field(struct harness *h, const struct api_resource *res,
                                  const char *name, const char *path)
{
    json_t *obj = h_get(h, res, res == h->nodes ? NULL : NS, name);
    const char *v = h_str(obj, path);
    json_decref(obj);
    return v;
}

/* The condition of type on a stored object: "status/reason/message". */
static inline const char *h_condition(struct harness *h, const struct api_resource *res,
                                      const char *name, const char *type)
{
    static char buf[2048];
    json_t *obj = h_get(h, res, res == h->nodes ? NULL : NS, name);
    const json_t *conds = json_object_get(json_object_get(obj, "status"), "conditions");
    size_t i;
    const json_t *c;
    buf[0] = '\0';
    json_array_foreach(conds, i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && strcmp(t, type) == 0) {
            const char *s = json_string_value(json_object_get(c, "status"));
            const char *r = json_string_value(json_object_get(c, "reason"));
            const char *m = json_string_value(json_object_get(c, "message"));
            snprintf(buf, sizeof buf, "%s/%s/%s", s ? s : "", r ? r : "", m ? m : "");
        }
    }
    json_decref(obj);
    return buf;
}

/* How many Events in NS have this reason and involve name (NULL: any), and
 * the message of the last one into msg (may be NULL). */
static inline size_t h_events(struct harness *h, const char *reason, const char *name,
                              char *msg, size_t len)
{
    json_t *items = h_list(h, h->events, NULL);
    size_t i, n = 0;
    const json_t *ev;
    json_array_foreach(items, i, ev) {
        const char *r = json_string_value(json_object_get(ev, "reason"));
        const char *inv = json_string_value(
            json_object_get(json_object_get(ev, "involvedObject"), "name"));
        if (!r || strcmp(r, reason) != 0 || (name && (!inv || strcmp(inv, name) != 0)))
            continue;
        n++;
        if (msg)
            snprintf(msg, len, "%s", json_string_value(json_object_get(ev, "message")));
    }
    json_decref(items);
    return n;
}

/* A pod in NS: containers from text, with more spec and metadata text
 * spliced in (each "" or ",'key':value..."). */
static inline void h_pod(struct harness *h, const char *name, const char *meta,
                         const char *spec)
{
    h_create(h, h->pods,
             "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'%s','namespace':'%s'%s},"
             "'spec':{'containers':[{'name':'main','image':'busybox'}]%s}}",
             name, NS, meta, spec);
}

#endif
