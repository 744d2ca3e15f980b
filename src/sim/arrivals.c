/*
 * A scenario's workload on the virtual clock (see arrivals.h).
 */
#include "sim/arrivals.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/pod_slices.h"
#include "cluster/kubelet_pod.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/jdoc.h"

/* Where one item is. */
struct cursor {
    int64_t next_ns;    /* the next write; INT64_MAX when done */
    int64_t end_ns;     /* poisson: no arrival from here on */
    int64_t delete_ns;  /* Deployment, Job: when deleted; INT64_MAX: never */
    size_t made;        /* pods (or the one object) made so far */
    bool created;       /* Deployment, Job: the object exists */
    struct rng rng;
};

struct arrivals {
    const struct scenario *sc;
    struct store *st;
    const struct api_resource *pods, *deployments, *jobs;
    int64_t t0;
    struct cursor *cur;
};

static int64_t at_ns(const struct arrivals *a, double s)
{
    return a->t0 + (int64_t)llround(s * (double)NS_PER_SEC);
}

static void start_cursor(struct arrivals *a, size_t i, uint64_t seed)
{
    const struct scenario_item *it = &a->sc->items[i];
    struct cursor *c = &a->cur[i];
    c->rng = rng_seeded(rng_derive(seed, 'W', i));
    c->next_ns = at_ns(a, it->at_s);
    c->delete_ns = it->delete_at_s >= 0 ? at_ns(a, it->delete_at_s) : INT64_MAX;
    c->end_ns = INT64_MAX;
    if (it->kind == SCENARIO_POISSON) {
        c->end_ns = at_ns(a, it->at_s + it->duration_s);
        c->next_ns = it->rate_per_s > 0
                         ? at_ns(a, it->at_s + rng_exponential(&c->rng, it->rate_per_s))
                         : INT64_MAX;
        if (c->next_ns >= c->end_ns)
            c->next_ns = INT64_MAX;
    }
    if (it->kind == SCENARIO_BATCH && it->count == 0)
        c->next_ns = INT64_MAX;
}

int arrivals_new(const struct scenario *sc, struct store *st, int64_t t0, uint64_t seed,
                 struct arrivals **out, struct err *e)
{
    struct api_registry *reg = store_registry(st);
    struct arrivals *a = alloc_calloc(1, sizeof *a);
    a->sc = sc;
    a->st = st;
    a->t0 = t0;
    a->pods = api_registry_find(reg, "", "v1", "pods");
    a->deployments = api_registry_find(reg, "apps", "v1", "deployments");
    a->jobs = api_registry_find(reg, "batch", "v1", "jobs");
    if (!a->pods || !a->deployments || !a->jobs) {
        free(a);
        return err_set(e, -ENOENT, "arrivals: the store serves no pods, Deployments or Jobs");
    }
    a->cur = alloc_calloc(sc->n_items + 1, sizeof *a->cur);
    for (size_t i = 0; i < sc->n_items; i++)
        start_cursor(a, i, seed);
    *out = a;
    return 0;
}

void arrivals_free(struct arrivals *a)
{
    if (!a)
        return;
    free(a->cur);
    free(a);
}

/* The pod is built member by member (jdoc_put): json_pack's format scan
 * and key checks cost more than the rest of making it, once a pod. Every
 * value is a literal or from the parsed scenario (valid UTF-8); a NULL one
 * (json_string of a name that is not) makes the whole NULL, as json_pack's
 * result was. */

/* A container "main" asking for limits (taken). */
static json_t *container(json_t *limits)
{
    json_t *resources = json_object(), *c = json_object();
    bool ok = jdoc_put(resources, "limits", limits, true);
    ok = jdoc_put(c, "name", json_string("main"), ok);
    ok = jdoc_put(c, "image", json_string("sim"), ok);
    ok = jdoc_put(c, "resources", resources, ok);
    return jdoc_built(c, ok);
}

/* The pod annotations: the item's, plus the run time when run_s >= 0. */
static json_t *annotations(const struct scenario_item *it, double run_s)
{
    json_t *ann = it->annotations ? jdoc_copy(it->annotations) : json_object();
    if (run_s >= 0) {
        char buf[32];
        snprintf(buf, sizeof buf, "%.3f", run_s);
        jdoc_set(ann, KUBELET_ANNOTATION_RUN_SECONDS, json_string(buf));
    }
    return ann;
}

static json_t *mig_request(const char *profile)
{
    char key[96];
    snprintf(key, sizeof key, "%s%s", GPUSLICE_MIG_PREFIX, profile);
    return json_pack("{s:i}", key, 1);
}

/* Creates obj (consumed); handed_over when no part of it is the
 * scenario's (store_write_opts.handed_over), so the store keeps it as it
 * is instead of copying it. */
static int create(struct arrivals *a, size_t i, const struct api_resource *res, json_t *obj,
                  bool handed_over, struct err *e)
{
    const struct scenario_item *it = &a->sc->items[i];
    int rc = store_create(a->st, res, it->ns, obj,
                          &(struct store_write_opts){.handed_over = handed_over}, NULL, e);
    json_decref(obj);
    return rc < 0 ? err_prefix(e, rc, "workload %s: ", it->name) : 1;
}

/* One pod of a batch or Poisson item. */
static int create_pod(struct arrivals *a, size_t i, const char *profile, double run_s,
                      struct err *e)
{
    const struct scenario_item *it = &a->sc->items[i];
    char name[128];
    snprintf(name, sizeof name, "%s-%zu", it->name, a->cur[i].made++);
    json_t *meta = json_object(), *spec = json_object(), *containers = json_array();
    bool ok = jdoc_put(meta, "name", json_string(name), true);
    ok = jdoc_put(meta, "namespace", json_string(it->ns), ok);
    ok = jdoc_put(meta, "annotations", annotations(it, run_s), ok);
    ok = json_array_append_new(containers, container(mig_request(profile))) == 0 && ok;
    ok = jdoc_put(spec, "restartPolicy", json_string("Never"), ok);
    ok = jdoc_put(spec, "containers", containers, ok);
    json_t *pod = json_object();
    ok = jdoc_put(pod, "apiVersion", json_string("v1"), ok);
    ok = jdoc_put(pod, "kind", json_string("Pod"), ok);
    ok = jdoc_put(pod, "metadata", meta, ok);
    ok = jdoc_put(pod, "spec", spec, ok);
    pod = jdoc_built(pod, ok);
    /* Every container in it is new; its strings are shared, and no one
     * changes a string in place (util/jdoc.h). */
    return create(a, i, a->pods, pod, true, e);
}

static const struct scenario_mix *pick(const struct scenario_item *it, struct rng *r)
{
    double total = 0;
    for (size_t k = 0; k < it->n_mix; k++)
        total += it->mix[k].weight;
    double x = rng_unit(r) * total;
    for (size_t k = 0; k + 1 < it->n_mix; k++) {
        if (x < it->mix[k].weight)
            return &it->mix[k];
        x -= it->mix[k].weight;
    }
    return &it->mix[it->n_mix - 1];
}

static int step_batch(struct arrivals *a, size_t i, struct err *e)
{
    const struct scenario_item *it = &a->sc->items[i];
    struct cursor *c = &a->cur[i];
    int done = 0;
    while (c->made < it->count) {
        int rc = create_pod(a, i, it->profile, rng_dist_draw(&it->run_s, &c->rng), e);
        if (rc < 0)
            return rc;
        done++;
    }
    c->next_ns = INT64_MAX;
    return done;
}

static int step_poisson(struct arrivals *a, size_t i, int64_t now, struct err *e)
{
    const struct scenario_item *it = &a->sc->items[i];
    struct cursor *c = &a->cur[i];
    int done = 0;
    while (c->next_ns <= now) {
        const struct scenario_mix *m = pick(it, &c->rng);
        int rc = create_pod(a, i, m->profile, rng_dist_draw(&m->run_s, &c->rng), e);
        if (rc < 0)
            return rc;
        done++;
        c->next_ns += (int64_t)llround(rng_exponential(&c->rng, it->rate_per_s) * NS_PER_SEC);
        if (c->next_ns >= c->end_ns)
            c->next_ns = INT64_MAX;
    }
    return done;
}

/* The pod template of a Deployment or Job item. */
static json_t *template_of(const struct scenario_item *it, double run_s, const char *restart)
{
    return json_pack("{s:{s:{s:s}, s:o}, s:{s:s, s:[o]}}", "metadata", "labels",
                     "gpuslice.dev/workload", it->name, "annotations", annotations(it, run_s),
                     "spec", "restartPolicy", restart, "containers",
                     container(json_incref((json_t *)it->request)));
}

static int create_owner(struct arrivals *a, size_t i, struct err *e)
{
    const struct scenario_item *it = &a->sc->items[i];
    struct cursor *c = &a->cur[i];
    c->created = true;
    c->made = 1;
    if (it->kind == SCENARIO_DEPLOYMENT)
        return create(a, i, a->deployments,
                      json_pack("{s:s, s:s, s:{s:s}, s:{s:I, s:{s:{s:s}}, s:o}}", "apiVersion",
                                "apps/v1", "kind", "Deployment", "metadata", "name", it->name,
                                "spec", "replicas", (json_int_t)it->count, "selector",
                                "matchLabels", "gpuslice.dev/workload", it->name, "template",
                                template_of(it, -1, "Always")),
                      false, e);
    return create(a, i, a->jobs,
                  json_pack("{s:s, s:s, s:{s:s}, s:{s:I, s:I, s:o}}", "apiVersion", "batch/v1",
                            "kind", "Job", "metadata", "name", it->name, "spec", "completions",
                            (json_int_t)it->count, "parallelism",
                            (json_int_t)(it->parallelism ? it->parallelism : 1), "template",
                            template_of(it, rng_dist_draw(&it->run_s, &c->rng), "Never")),
                  false, e);
}

static int delete_owner(struct arrivals *a, size_t i, struct err *e)
{
    const struct scenario_item *it = &a->sc->items[i];
    a->cur[i].delete_ns = INT64_MAX;
    const struct api_resource *res = it->kind == SCENARIO_DEPLOYMENT ? a->deployments : a->jobs;
    struct store_delete_opts o = {.propagation = STORE_PROPAGATE_BACKGROUND};
    int rc = store_delete(a->st, res, it->ns, it->name, &o, NULL, e);
    return rc < 0 && rc != -ENOENT ? err_prefix(e, rc, "workload %s: ", it->name) : 1;
}

static int step_owner(struct arrivals *a, size_t i, int64_t now, struct err *e)
{
    struct cursor *c = &a->cur[i];
    int done = 0, rc = 0;
    if (c->next_ns <= now) {
        c->next_ns = INT64_MAX;
        rc = create_owner(a, i, e);
        done += rc > 0;
    }
    if (rc >= 0 && c->created && c->delete_ns <= now) {
        rc = delete_owner(a, i, e);
        done += rc > 0;
    }
    return rc < 0 ? rc : done;
}

int arrivals_step(struct arrivals *a, int64_t now, struct err *e)
{
    int done = 0;
    for (size_t i = 0; i < a->sc->n_items; i++) {
        const struct scenario_item *it = &a->sc->items[i];
        struct cursor *c = &a->cur[i];
        if (c->next_ns > now && !(c->created && c->delete_ns <= now))
            continue;
        int rc = it->kind == SCENARIO_BATCH     ? step_batch(a, i, e)
                 : it->kind == SCENARIO_POISSON ? step_poisson(a, i, now, e)
                                                : step_owner(a, i, now, e);
        if (rc < 0)
            return rc;
        done += rc;
    }
    return done;
}

int64_t arrivals_next_due(const struct arrivals *a)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < a->sc->n_items; i++) {
        const struct cursor *c = &a->cur[i];
        if (c->next_ns < next)
            next = c->next_ns;
        if (c->delete_ns < next)
            next = c->delete_ns;
    }
    return next;
}

size_t arrivals_item_of(const struct arrivals *a, const char *ns, const char *name)
{
    size_t best = SIZE_MAX, best_len = 0;
    for (size_t i = 0; i < a->sc->n_items; i++) {
        const struct scenario_item *it = &a->sc->items[i];
        size_t len = strlen(it->name);
        if (strcmp(it->ns, ns) == 0 && strncmp(name, it->name, len) == 0 && name[len] == '-' &&
            len > best_len) {
            best = i;
            best_len = len;
        }
    }
    return best;
}
