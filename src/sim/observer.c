/*
 * The pod observer (see observer.h). Two informers, pods and GPUSlices:
 * a pod's placement shows only in the GPUSlices the controller writes for
 * it (its finalizer comes with admission, and a pod placed at once gets no
 * condition). Handlers run on the informers' threads (or the stepping
 * caller's) and record times under the observer's lock. The index maps the
 * "ns/name" of each pod not yet deleted to its place in the array; a pod
 * deleted and made again under its name is a new entry.
 */
#include "sim/observer.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/gpuslice.h"
#include "api/meta.h"
#include "api/pod_slices.h"
#include "store/informer.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/objkey.h"
#include "util/strmap.h"
#include "util/strpool.h"
#include "util/vec.h"

struct observer {
    struct observer_config cfg;
    struct informer *inf[2]; /* pods first: a pod is seen before its slices */
    pthread_mutex_t lock;
    struct observed_pod *pods;
    size_t n, cap;
    struct strmap index; /* "ns/name" -> size_t, the pod's place in pods */
    struct strpool strings; /* what the records point to */
};

/* The pod's creation: its creationTimestamp's second, refined by the first
 * sighting (observer.h). */
static int64_t creation_of(const json_t *pod, int64_t seen)
{
    const char *ts = json_string_value(
        json_object_get(json_object_get(pod, "metadata"), "creationTimestamp"));
    int64_t at;
    if (!ts || meta_parse_time(ts, "creationTimestamp", &at, NULL) < 0)
        return seen;
    int64_t second_end = at + NS_PER_SEC - 1;
    return seen < second_end ? seen : second_end;
}

static struct observed_pod *find_or_add(struct observer *o, const char *key, const char *ns,
                                        const char *name, int64_t now)
{
    bool added = false;
    size_t *at = strmap_put(&o->index, key, &added);
    if (!added)
        return &o->pods[*at];
    *at = o->n;
    VEC_RESERVE(o->pods, o->cap, o->n + 1);
    struct observed_pod *p = &o->pods[o->n++];
    memset(p, 0, sizeof *p);
    p->ns = strpool_intern(&o->strings, ns);
    p->name = strpool_add(&o->strings, name);
    p->phase = p->node = p->profile = strpool_intern(&o->strings, "");
    p->seen_ns = now;
    return p;
}

/* What the pod asks for, read once when first seen: its memory in all and
 * its first profile. */
static void note_request(struct observer *o, struct observed_pod *p, const json_t *pod)
{
    struct pod_slices s;
    if (pod_slices_of(pod, &s, NULL) == 0 && s.n > 0)
        p->profile = strpool_intern(&o->strings, s.items[0].profile);
    const json_t *containers = json_object_get(json_object_get(pod, "spec"), "containers");
    size_t i;
    const json_t *c;
    json_array_foreach(containers, i, c) {
        const char *q = json_string_value(json_object_get(
            json_object_get(json_object_get(c, "resources"), "requests"),
            GPUSLICE_RESOURCE_MEMORY));
        p->memory_gib += q ? (unsigned)strtoul(q, NULL, 10) : 0;
    }
}

static enum observed_state state_of(const struct observed_pod *p)
{
    if (p->finished_ns)
        return OBSERVED_ENDED;
    if (p->running_ns)
        return OBSERVED_RUNNING;
    if (!p->gated)
        return OBSERVED_PENDING;
    return p->placed_ns ? OBSERVED_PLACED : OBSERVED_WAITING;
}

/* The times the pod's new state tells. */
static void note_times(struct observer *o, struct observed_pod *p, const json_t *cur,
                       enum informer_change change, int64_t now)
{
    const char *phase = json_string_value(json_object_get(json_object_get(cur, "status"), "phase"));
    const char *node = json_string_value(json_object_get(json_object_get(cur, "spec"), "nodeName"));
    bool gated = pod_gated(cur, GPUSLICE_GATE); /* a walk of the gates: once */
    if (!gated && !p->ungated_ns) {
        p->ungated_ns = now;
        /* Released, so placed: its slices' events may come later (real
         * time, where the two informers race). */
        if (p->was_gated && !p->placed_ns)
            p->placed_ns = now;
    }
    if (node && !p->bound_ns)
        p->bound_ns = now;
    p->gated = gated;
    p->phase = strpool_intern(&o->strings, phase ? phase : "Pending");
    p->node = strpool_intern(&o->strings, node);
    if (phase && strcmp(phase, "Running") == 0 && !p->running_ns)
        p->running_ns = now;
    bool ended = phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0);
    if ((ended || change == INFORMER_DELETED) && !p->finished_ns)
        p->finished_ns = now;
    p->deleted = change == INFORMER_DELETED;
}

/* The pod's state from its times, and the move, if any, told. */
static void note_state(struct observer *o, struct observed_pod *p)
{
    enum observed_state from = p->state;
    p->state = state_of(p);
    if (p->state != from && o->cfg.moved)
        o->cfg.moved(o->cfg.moved_ctx, p, from, p->state);
}

static void on_pod(void *ctx, enum informer_change change, const json_t *old, const json_t *cur)
{
    struct observer *o = ctx;
    (void)old;
    const char *ns = meta_namespace(cur), *name = meta_name(cur);
    if (!ns || !name)
        return;
    int64_t now = o->cfg.now_ns(o->cfg.clock_ctx);
    char key[64 + 254 + 1]; /* a namespace, '/', a name */
    objkey_join(key, sizeof key, ns, name);
    pthread_mutex_lock(&o->lock);
    struct observed_pod *p = find_or_add(o, key, ns, name, now);
    if (p) {
        if (p->seen_ns == now && p->state == OBSERVED_UNSEEN) {
            p->created_ns = creation_of(cur, now);
            const json_t *owner = meta_controller_ref(cur);
            const char *kind = json_string_value(json_object_get(owner, "kind"));
            p->was_gated = pod_gated(cur, GPUSLICE_GATE);
            p->serving = kind && strcmp(kind, "ReplicaSet") == 0;
            note_request(o, p, cur);
        }
        note_times(o, p, cur, change, now);
        note_state(o, p);
        if (p->deleted)
            strmap_del(&o->index, key);
    }
    pthread_mutex_unlock(&o->lock);
}

/* A GPUSlice of a gated pod: the controller has placed the pod. */
static void on_slice(void *ctx, enum informer_change change, const json_t *old, const json_t *cur)
{
    struct observer *o = ctx;
    (void)old;
    const char *ns = meta_namespace(cur);
    const char *pod = json_string_value(json_object_get(json_object_get(cur, "spec"), "podName"));
    if (change == INFORMER_DELETED || !ns || !pod)
        return;
    char key[64 + 254 + 1]; /* a namespace, '/', a name */
    objkey_join(key, sizeof key, ns, pod);
    pthread_mutex_lock(&o->lock);
    const size_t *at = strmap_get(&o->index, key);
    struct observed_pod *p = at ? &o->pods[*at] : NULL;
    if (p && p->gated && !p->placed_ns) {
        p->placed_ns = o->cfg.now_ns(o->cfg.clock_ctx);
        note_state(o, p);
    }
    pthread_mutex_unlock(&o->lock);
}

int observer_new(const struct observer_config *cfg, struct observer **out, struct err *e)
{
    struct api_registry *reg = store_registry(cfg->store);
    const struct api_resource *res[2] = {
        api_registry_find(reg, "", "v1", "pods"),
        api_registry_find(reg, GPUSLICE_API_GROUP, "v1alpha1", "gpuslices")};
    if (!res[0] || !res[1])
        return err_set(e, -ENOENT, "observer: the store serves no %s",
                       res[0] ? "gpuslices" : "pods");
    struct observer *o = alloc_calloc(1, sizeof *o);
    o->cfg = *cfg;
    if (!o->cfg.now_ns)
        o->cfg.now_ns = clock_realtime_now;
    pthread_mutex_init(&o->lock, NULL);
    strmap_init(&o->index, sizeof(size_t), NULL);
    strpool_init(&o->strings);
    const informer_handler_fn handlers[2] = {on_pod, on_slice};
    for (size_t i = 0; i < 2; i++) {
        struct informer_config ic = {.store = cfg->store, .res = res[i],
                                     .handler = handlers[i], .handler_ctx = o,
                                     .now_ns = o->cfg.now_ns, .clock_ctx = cfg->clock_ctx};
        int rc = informer_new(&ic, &o->inf[i], e);
        if (rc < 0) {
            observer_free(o);
            return rc;
        }
    }
    *out = o;
    return 0;
}

int observer_start(struct store *st, struct observer **out, struct err *e)
{
    struct observer *o = NULL;
    int rc = observer_new(&(struct observer_config){.store = st}, &o, e);
    for (size_t i = 0; rc == 0 && i < 2; i++)
        if ((rc = informer_start(o->inf[i], e)) < 0)
            observer_free(o);
    if (rc == 0)
        *out = o;
    return rc;
}

size_t observer_step(struct observer *o)
{
    return informer_step_ready(o->inf, 2);
}

void observer_free(struct observer *o)
{
    if (!o)
        return;
    informer_free(o->inf[0]);
    informer_free(o->inf[1]);
    pthread_mutex_destroy(&o->lock);
    strmap_free(&o->index);
    strpool_free(&o->strings);
    free(o->pods);
    free(o);
}

size_t observer_pods(struct observer *o, struct observed_pod *out, size_t max)
{
    pthread_mutex_lock(&o->lock);
    size_t n = o->n;
    memcpy(out, o->pods, (n < max ? n : max) * sizeof *out);
    pthread_mutex_unlock(&o->lock);
    return n;
}

size_t observer_pods_all(struct observer *o, struct observed_pod **pods, size_t *cap)
{
    pthread_mutex_lock(&o->lock);
    size_t n = o->n;
    VEC_RESERVE(*pods, *cap, n);
    if (n)
        memcpy(*pods, o->pods, n * sizeof **pods);
    pthread_mutex_unlock(&o->lock);
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double observer_percentile(double *values, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(values, n, sizeof *values, cmp_double);
    /* Nearest rank: the smallest value with at least p% of values at or
     * below it. */
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    return values[rank ? rank - 1 : 0];
}

void observer_summarize(struct observer *o, struct observer_summary *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&o->lock);
    double *ungate = alloc_calloc(o->n + 1, sizeof *ungate);
    double *run = alloc_calloc(o->n + 1, sizeof *run);
    size_t nu = 0, nr = 0;
    for (size_t i = 0; i < o->n; i++) {
        const struct observed_pod *p = &o->pods[i];
        out->pods++;
        out->succeeded += strcmp(p->phase, "Succeeded") == 0;
        bool succeeded = strcmp(p->phase, "Succeeded") == 0;
        out->stopped += p->deleted && !succeeded;
        out->failed += !p->deleted && strcmp(p->phase, "Failed") == 0;
        out->running_or_done += p->running_ns != 0;
        out->waiting += !p->running_ns && !p->finished_ns;
        if (p->was_gated && p->ungated_ns)
            ungate[nu++] = (double)(p->ungated_ns - p->created_ns) / 1e6;
        if (p->was_gated && p->running_ns)
            run[nr++] = (double)(p->running_ns - p->created_ns) / 1e6;
        if (!out->first_created_ns || p->created_ns < out->first_created_ns)
            out->first_created_ns = p->created_ns;
        if (p->finished_ns > out->last_ended_ns)
            out->last_ended_ns = p->finished_ns;
    }
    if (out->last_ended_ns)
        out->makespan_s = (double)(out->last_ended_ns - out->first_created_ns) / 1e9;
    pthread_mutex_unlock(&o->lock);
    out->ungate_p50_ms = observer_percentile(ungate, nu, 50);
    out->ungate_p99_ms = observer_percentile(ungate, nu, 99);
    out->run_p50_ms = observer_percentile(run, nr, 50);
    out->run_p99_ms = observer_percentile(run, nr, 99);
    free(ungate);
    free(run);
}
