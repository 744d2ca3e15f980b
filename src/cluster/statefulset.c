/*
 * The StatefulSet controller's reconciler (see statefulset.h).
 */
#include "cluster/statefulset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "cluster/objstate.h"
#include "util/alloc.h"

#define ORDINALS_MAX 10000 /* replicas a StatefulSet may ask for here */

struct statefulset_controller {
    struct workloads_owner w;
};

/* The ordinal of pod in the set called name ("<name>-<ordinal>"), or -1. */
static long ordinal_of(const json_t *pod, const char *name)
{
    const char *p = meta_name(pod);
    size_t n = strlen(name);
    if (!p || strncmp(p, name, n) != 0 || p[n] != '-' || !p[n + 1])
        return -1;
    char *end;
    long i = strtol(p + n + 1, &end, 10);
    return *end || i < 0 || i >= ORDINALS_MAX ? -1 : i;
}

static bool being_deleted(const json_t *pod)
{
    return json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp") != NULL;
}

static bool ended(const json_t *pod)
{
    const char *phase = objstate_phase(pod);
    return strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0;
}

/* The pod with ordinal i for sts: its fixed name and labels. */
static int create_pod(struct workloads_owner *o, const json_t *sts, long i,
                      struct action_list *out, struct err *e)
{
    const json_t *spec = json_object_get(sts, "spec");
    const json_t *template = json_object_get(spec, "template");
    if (!json_is_object(json_object_get(template, "spec")))
        return action_event(out, sts, ACTION_EVENT_WARNING, "FailedCreate", e,
                            "create Pod failed: spec.template.spec: Required value");
    char name[OBJSTATE_NAME_MAX + 16], index[16];
    snprintf(name, sizeof name, "%s-%ld", meta_name(sts), i);
    snprintf(index, sizeof index, "%ld", i);
    json_t *extra = json_pack("{s:s, s:s}", STATEFULSET_POD_NAME_LABEL, name,
                              STATEFULSET_POD_INDEX_LABEL, index);
    json_t *pod = extra ? workloads_pod_from_template(sts, template, extra) : NULL;
    json_decref(extra);
    if (!pod)
        return err_set(e, -ENOMEM, "statefulset controller: out of memory");
    json_t *meta = json_object_get(pod, "metadata");
    json_object_del(meta, "generateName");
    json_t *pod_spec = json_object_get(pod, "spec");
    const char *service = json_string_value(json_object_get(spec, "serviceName"));
    if (json_object_set_new(meta, "name", json_string(name)) < 0 ||
        json_object_set_new(pod_spec, "hostname", json_string(name)) < 0 ||
        (service && *service &&
         json_object_set_new(pod_spec, "subdomain", json_string(service)) < 0)) {
        json_decref(pod);
        return err_set(e, -ENOMEM, "statefulset controller: out of memory");
    }
    int rc = action_create(out, o->pods_res, meta_namespace(sts), pod, e);
    return rc < 0 ? rc
                  : action_event(out, sts, ACTION_EVENT_NORMAL, "SuccessfulCreate", e,
                                 "create Pod %s in StatefulSet %s successful", name,
                                 meta_name(sts));
}

static int delete_pod(struct workloads_owner *o, const json_t *sts, const json_t *pod,
                      struct action_list *out, struct err *e)
{
    int rc = action_delete(out, o->pods_res, meta_namespace(pod), meta_name(pod),
                           meta_uid(pod), e);
    return rc < 0 ? rc
                  : action_event(out, sts, ACTION_EVENT_NORMAL, "SuccessfulDelete", e,
                                 "delete Pod %s in StatefulSet %s successful", meta_name(pod),
                                 meta_name(sts));
}

static int write_status(struct workloads_owner *o, const json_t *sts, size_t replicas,
                        size_t ready, struct action_list *out, struct err *e)
{
    return workloads_write_counts(
        o, sts,
        json_pack("{s:I, s:I, s:I, s:I}", "replicas", (json_int_t)replicas, "readyReplicas",
                  (json_int_t)ready, "currentReplicas", (json_int_t)replicas,
                  "availableReplicas", (json_int_t)ready),
        out, e);
}

/* The pods by ordinal (NULL: none), and which are live, ready. */
struct members {
    const json_t **at; /* ORDINALS_MAX entries */
    long highest;      /* the highest ordinal with a pod, or -1 */
    size_t live, ready;
};

static void gather(const json_t *pods, const char *name, struct members *m)
{
    m->highest = -1;
    size_t k;
    const json_t *pod;
    json_array_foreach(pods, k, pod) {
        long i = ordinal_of(pod, name);
        if (i < 0)
            continue;
        m->at[i] = pod;
        if (i > m->highest)
            m->highest = i;
        if (objstate_active(pod)) {
            m->live++;
            m->ready += objstate_ready(pod);
        }
    }
}

/* One step towards replicas pods, OrderedReady: the first ordinal that
 * is not Running and Ready is made (or, ended, deleted to be made again)
 * and nothing after it; then the highest ordinal past replicas goes. */
static int step(struct workloads_owner *o, const json_t *sts, const struct members *m,
                long replicas, struct action_list *out, struct err *e)
{
    for (long i = 0; i < replicas; i++) {
        const json_t *pod = m->at[i];
        if (!pod)
            return create_pod(o, sts, i, out, e);
        if (being_deleted(pod))
            return 0; /* made again under its name once it is gone */
        if (ended(pod))
            return delete_pod(o, sts, pod, out, e);
        if (!objstate_ready(pod))
            return 0;
    }
    for (long i = m->highest; i >= replicas; i--) {
        const json_t *pod = m->at[i];
        if (!pod)
            continue;
        return being_deleted(pod) ? 0 : delete_pod(o, sts, pod, out, e);
    }
    return 0;
}

static int decide(struct workloads_owner *o, const char *key, const json_t *sts, int64_t now,
                  struct action_list *out, struct err *e)
{
    (void)now;
    bool expecting;
    json_t *pods = workloads_owner_pods(o, key, sts, &expecting);
    if (!pods)
        return err_set(e, -ENOMEM, "statefulset controller: out of memory");
    struct members m = {.at = alloc_calloc(ORDINALS_MAX, sizeof *m.at)};
    gather(pods, meta_name(sts), &m);
    long replicas = (long)objstate_int(sts, "spec.replicas", 1);
    if (replicas > ORDINALS_MAX)
        replicas = ORDINALS_MAX;
    int rc = 0;
    if (!expecting)
        rc = step(o, sts, &m, replicas, out, e);
    if (rc == 0)
        rc = write_status(o, sts, m.live, m.ready, out, e);
    free(m.at);
    json_decref(pods);
    return rc;
}

static const struct workloads_owner_def statefulset_def = {
    .loop_name = "statefulset-controller",
    .what = "statefulset controller",
    .group = "apps",
    .plural = "statefulsets",
    .decide = decide,
};

/* ---- handlers and life ----------------------------------------------------------- */

void statefulset_changed(void *ctx, enum informer_change change, const json_t *old,
                         const json_t *cur)
{
    struct statefulset_controller *c = ctx;
    (void)change;
    (void)old;
    workloads_enqueue(c->w.loop, cur);
}

void statefulset_pod_changed(void *ctx, enum informer_change change, const json_t *old,
                             const json_t *cur)
{
    struct statefulset_controller *c = ctx;
    (void)change;
    (void)old;
    workloads_enqueue_controller(c->w.loop, cur, "apps", "StatefulSet");
}

int statefulset_controller_new(const struct workloads_config *cfg,
                               struct statefulset_controller **out, struct err *e)
{
    struct statefulset_controller *c = alloc_calloc(1, sizeof *c);
    int rc = workloads_owner_init(&c->w, cfg, cfg->statefulsets, &statefulset_def, e);
    if (rc < 0) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void statefulset_controller_free(struct statefulset_controller *c)
{
    if (!c)
        return;
    workloads_owner_fini(&c->w);
    free(c);
}

struct loop *statefulset_controller_loop(struct statefulset_controller *c)
{
    return c->w.loop;
}
