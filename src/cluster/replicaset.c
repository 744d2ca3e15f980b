/*
 * The ReplicaSet controller's reconciler (see replicaset.h).
 */
#include "cluster/replicaset.h"

#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "cluster/objstate.h"
#include "util/alloc.h"
#include "util/jdoc.h"

struct replicaset_controller {
    struct workloads_owner w;
};

/* ---- which pods go first ------------------------------------------------------ */

/* Lower goes first: unscheduled, pending, not ready, ready. */
static int rank(const json_t *pod)
{
    if (!objstate_node(pod))
        return 0;
    if (strcmp(objstate_phase(pod), "Running") != 0)
        return 1;
    return objstate_ready(pod) ? 3 : 2;
}

static int deletion_order(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    int rx = rank(x), ry = rank(y);
    if (rx != ry)
        return rx < ry ? -1 : 1;
    int64_t cx = objstate_created_ns(x), cy = objstate_created_ns(y);
    if (cx != cy)
        return cx > cy ? -1 : 1; /* newest first */
    return -strcmp(meta_name(x) ? meta_name(x) : "", meta_name(y) ? meta_name(y) : "");
}

/* ---- the decision ------------------------------------------------------------- */

static int create_pods(struct workloads_owner *o, const json_t *rs, int64_t n,
                       struct action_list *out, struct err *e)
{
    const json_t *template = json_object_get(json_object_get(rs, "spec"), "template");
    if (!json_is_object(json_object_get(template, "spec")))
        return action_event(out, rs, ACTION_EVENT_WARNING, "FailedCreate", e,
                            "Error creating: spec.template.spec: Required value");
    for (int64_t i = 0; i < n && i < WORKLOADS_BURST; i++) {
        json_t *pod = workloads_pod_from_template(rs, template, NULL);
        if (!pod)
            return err_set(e, -ENOMEM, "replicaset controller: out of memory");
        int rc = action_create(out, o->pods_res, meta_namespace(rs), pod, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int delete_pods(struct workloads_owner *o, const json_t *rs, const json_t **active,
                       size_t n_active, int64_t n, struct action_list *out, struct err *e)
{
    qsort(active, n_active, sizeof *active, deletion_order);
    for (int64_t i = 0; i < n && i < WORKLOADS_BURST && (size_t)i < n_active; i++) {
        const json_t *pod = active[i];
        int rc = action_delete(out, o->pods_res, meta_namespace(pod), meta_name(pod),
                               meta_uid(pod), e);
        if (rc == 0)
            rc = action_event(out, rs, ACTION_EVENT_NORMAL, "SuccessfulDelete", e,
                              "Deleted pod: %s", meta_name(pod));
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int write_status(struct workloads_owner *o, const json_t *rs, size_t replicas,
                        size_t ready, struct action_list *out, struct err *e)
{
    return workloads_write_counts(
        o, rs,
        json_pack("{s:I, s:I, s:I, s:I}", "replicas", (json_int_t)replicas,
                  "fullyLabeledReplicas", (json_int_t)replicas, "readyReplicas",
                  (json_int_t)ready, "availableReplicas", (json_int_t)ready),
        out, e);
}

static int decide(struct workloads_owner *o, const char *key, const json_t *rs, int64_t now,
                  struct action_list *out, struct err *e)
{
    (void)now;
    bool expecting;
    json_t *pods = workloads_owner_pods(o, key, rs, &expecting);
    const json_t **active = alloc_calloc(json_array_size(pods) + 1, sizeof *active);
    if (!pods) {
        json_decref(pods);
        free(active);
        return err_set(e, -ENOMEM, "replicaset controller: out of memory");
    }
    size_t n = 0, ready = 0, i;
    json_t *pod;
    json_array_foreach(pods, i, pod) {
        if (objstate_active(pod)) {
            active[n++] = pod;
            ready += objstate_ready(pod);
        }
    }
    int64_t diff = objstate_int(rs, "spec.replicas", 1) - (int64_t)n;
    int rc = 0;
    if (diff != 0 && !expecting)
        rc = diff > 0 ? create_pods(o, rs, diff, out, e)
                      : delete_pods(o, rs, active, n, -diff, out, e);
    if (rc == 0)
        rc = write_status(o, rs, n, ready, out, e);
    free(active);
    json_decref(pods);
    return rc;
}

static const struct workloads_owner_def replicaset_def = {
    .loop_name = "replicaset-controller",
    .what = "replicaset controller",
    .group = "apps",
    .plural = "replicasets",
    .decide = decide,
};

/* ---- handlers and life ----------------------------------------------------------- */

void replicaset_changed(void *ctx, enum informer_change change, const json_t *old,
                        const json_t *cur)
{
    struct replicaset_controller *c = ctx;
    (void)change;
    (void)old;
    workloads_enqueue(c->w.loop, cur);
}

void replicaset_pod_changed(void *ctx, enum informer_change change, const json_t *old,
                            const json_t *cur)
{
    struct replicaset_controller *c = ctx;
    (void)change;
    (void)old;
    workloads_enqueue_controller(c->w.loop, cur, "apps", "ReplicaSet");
}

int replicaset_controller_new(const struct workloads_config *cfg,
                              struct replicaset_controller **out, struct err *e)
{
    struct replicaset_controller *c = alloc_calloc(1, sizeof *c);
    int rc = workloads_owner_init(&c->w, cfg, cfg->replicasets, &replicaset_def, e);
    if (rc < 0) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void replicaset_controller_free(struct replicaset_controller *c)
{
    if (!c)
        return;
    workloads_owner_fini(&c->w);
    free(c);
}

struct loop *replicaset_controller_loop(struct replicaset_controller *c)
{
    return c->w.loop;
}
