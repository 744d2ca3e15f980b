/*
 * The scheduler's reconciler (see scheduler.h). A decision reads the pod and
 * every node from the informers and runs schedfit over the nodes in name
 * order, against what each node's pods request.
 *
 * What nodes run is kept up to date from the pod informer's changes rather
 * than summed per decision (a burst of 1,000 pods would otherwise cost a
 * million request reads): each counted pod is remembered with its node and
 * requests, added when the cache shows it bound or when this scheduler's
 * binding succeeds (whichever comes first: the default scheduler's
 * "assumed" pods, so decisions made before the cache catches up never fill
 * the same room twice), and taken away when it ends or goes. That and the
 * set of pods found unschedulable (retried together when room may have
 * appeared) are under one mutex, because informer handlers (any thread)
 * and the loop both touch them.
 *
 * A pod gpuslice placed names its node's kubernetes.io/hostname label in
 * its nodeSelector, which every other node fails: with the nodes indexed
 * by that label, such a pod is checked against the labelled nodes only, so
 * a decision costs one node instead of all of them (10,000 in the
 * simulator's scale run). When none of them fits, all nodes are checked
 * after all, for the message that counts each node's reason.
 */
#include "cluster/scheduler.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "api/pod.h"
#include "cluster/objstate.h"
#include "api/schedfit.h"
#include "util/alloc.h"
#include "util/jdoc.h"
#include "util/strmap.h"

#define MESSAGE_MAX 1024
#define HOSTNAME_LABEL "kubernetes.io/hostname"

/* What one node's counted pods request. */
struct node_usage {
    size_t pods;
    struct schedfit_resources used;
};

struct scheduler {
    struct scheduler_config cfg;
    struct loop *loop;
    const struct api_resource *pods_res;
    pthread_mutex_t lock;
    json_t *counted;       /* pod key -> {"node": name, "requests": {resource: milli}} */
    struct strmap usage;   /* node name -> struct node_usage */
    json_t *unschedulable; /* pod key -> true */
};

/* ---- which pods are the scheduler's ---------------------------------------- */

static bool wants_scheduling(const json_t *pod)
{
    const json_t *spec = json_object_get(pod, "spec");
    const char *sched = json_string_value(json_object_get(spec, "schedulerName"));
    return pod && !objstate_node(pod) && !objstate_deleting(pod) && !objstate_terminal(pod) &&
           json_array_size(json_object_get(spec, "schedulingGates")) == 0 &&
           (!sched || !*sched || strcmp(sched, SCHEDULER_NAME) == 0);
}

/* ---- what nodes run (lock held) ------------------------------------------------- */

/* Valid until the next usage_of that creates. */
static struct node_usage *usage_of(struct scheduler *s, const char *node, bool create)
{
    return create ? strmap_put(&s->usage, node, NULL) : strmap_get(&s->usage, node);
}

/* Adds pod (key) to node's usage unless it is counted already. */
static void count(struct scheduler *s, const char *key, const char *node, const json_t *pod)
{
    if (json_object_get(s->counted, key))
        return;
    struct schedfit_resources req;
    schedfit_pod_requests(pod, &req, NULL); /* what parses counts: the pod was admitted so */
    struct node_usage *u = usage_of(s, node, true);
    json_t *requests = json_object();
    json_t *entry = json_pack("{s:s, s:o}", "node", node, "requests", requests);
    if (!u || !entry || json_object_set_new(s->counted, key, entry) != 0)
        return; /* out of memory: the node looks emptier than it is until it changes */
    for (size_t i = 0; i < req.n; i++) {
        schedfit_add(&u->used, req.items[i].name, req.items[i].milli);
        jdoc_set(requests, req.items[i].name, json_integer(req.items[i].milli));
    }
    u->pods++;
}

static void uncount(struct scheduler *s, const char *key)
{
    json_t *entry = json_object_get(s->counted, key);
    struct node_usage *u =
        entry ? usage_of(s, json_string_value(json_object_get(entry, "node")), false) : NULL;
    if (u) {
        const char *name;
        json_t *v;
        json_object_foreach(json_object_get(entry, "requests"), name, v)
            schedfit_add(&u->used, name, -(int64_t)json_integer_value(v));
        u->pods--;
    }
    json_object_del(s->counted, key);
}

static bool is_counted(struct scheduler *s, const char *key)
{
    pthread_mutex_lock(&s->lock);
    bool yes = json_object_get(s->counted, key) != NULL;
    pthread_mutex_unlock(&s->lock);
    return yes;
}

/* ---- handlers ------------------------------------------------------------------ */

/* Every pod found unschedulable goes back in the queue. */
static void retry_unschedulable(struct scheduler *s)
{
    pthread_mutex_lock(&s->lock);
    json_t *keys = jdoc_copy(s->unschedulable);
    pthread_mutex_unlock(&s->lock);
    const char *key;
    json_t *v;
    json_object_foreach(keys, key, v)
        loop_enqueue(s->loop, key);
    json_decref(keys);
}

void scheduler_pod_changed(void *ctx, enum informer_change change, const json_t *old,
                           const json_t *cur)
{
    struct scheduler *s = ctx;
    char key[OBJSTATE_KEY_MAX];
    (void)old;
    if (objstate_key(cur, key, sizeof key) != 0)
        return;
    bool gone = change == INFORMER_DELETED || objstate_terminal(cur);
    const char *node = objstate_node(cur);
    pthread_mutex_lock(&s->lock);
    bool freed = gone && json_object_get(s->counted, key) != NULL;
    if (gone) {
        uncount(s, key);
        json_object_del(s->unschedulable, key);
    } else if (node) {
        count(s, key, node, cur);
        json_object_del(s->unschedulable, key);
    }
    pthread_mutex_unlock(&s->lock);
    if (!gone && wants_scheduling(cur))
        loop_enqueue(s->loop, key);
    if (freed)
        retry_unschedulable(s);
}

void scheduler_node_changed(void *ctx, enum informer_change change, const json_t *old,
                            const json_t *cur)
{
    (void)change;
    (void)old;
    (void)cur;
    retry_unschedulable(ctx);
}

/* ---- the nodes a decision sees ------------------------------------------------- */

struct node_view {
    const json_t *node;
    const char *name;
    struct schedfit_resources used;
    size_t pods;
};

static int by_name(const void *a, const void *b)
{
    const struct node_view *x = a, *y = b;
    return strcmp(x->name, y->name);
}

size_t scheduler_keys_hostname(const json_t *node, const char **keys, size_t max, void *ctx)
{
    (void)ctx;
    const char *v = json_string_value(
        json_object_get(json_object_get(json_object_get(node, "metadata"), "labels"),
                        HOSTNAME_LABEL));
    if (!v)
        return 0;
    if (max > 0)
        keys[0] = v;
    return 1;
}

/* The nodes pod can go to when its nodeSelector names a hostname (a new
 * array the caller releases); NULL when it names none, or the nodes are
 * not indexed by it. */
static json_t *pinned_nodes(struct scheduler *s, const json_t *pod)
{
    const char *host = json_string_value(json_object_get(
        json_object_get(json_object_get(pod, "spec"), "nodeSelector"), HOSTNAME_LABEL));
    json_t *nodes = NULL;
    if (!host || informer_by_index(s->cfg.nodes, SCHEDULER_INDEX_HOSTNAME, host, &nodes) != 0)
        return NULL;
    return nodes;
}

/* The nodes in name order with what they run, borrowing from nodes: in
 * *one when there is at most one (a pinned pod's, so no allocation and no
 * sort per decision), else in an array the caller frees. */
static struct node_view *view_nodes(struct scheduler *s, const json_t *nodes,
                                    struct node_view *one, size_t *n)
{
    size_t count_nodes = json_array_size(nodes);
    struct node_view *views = one;
    if (count_nodes > 1)
        views = alloc_calloc(count_nodes, sizeof *views);
    else
        memset(one, 0, sizeof *one);
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < count_nodes; i++) {
        views[i].node = json_array_get(nodes, i);
        views[i].name = meta_name(views[i].node) ? meta_name(views[i].node) : "";
        const struct node_usage *u = usage_of(s, views[i].name, false);
        if (u) {
            views[i].used = u->used;
            views[i].pods = u->pods;
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (count_nodes > 1)
        qsort(views, count_nodes, sizeof *views, by_name);
    *n = count_nodes;
    return views;
}

static void free_views(struct node_view *views, const struct node_view *one)
{
    if (views != one)
        free(views);
}

/* ---- the decision ------------------------------------------------------------ */

/* The best node for pod, or NULL with the summary of why none fits. */
static const char *choose(struct scheduler *s, const struct pod_view *pv,
                          const struct schedfit_resources *req, const struct node_view *views,
                          size_t n, struct schedfit_summary *sum)
{
    struct schedfit_options opt = {.ignored = s->cfg.ignored_resources};
    const char *best = NULL;
    int best_score = -1;
    schedfit_summary_init(sum);
    for (size_t i = 0; i < n; i++) {
        struct schedfit_result r;
        schedfit_check_view(pv, req, views[i].node, &views[i].used,
                            views[i].pods, &opt, &r);
        schedfit_summary_add(sum, &r);
        if (!r.fits)
            continue;
        int score = schedfit_score(views[i].node, &views[i].used, req);
        if (score > best_score) { /* strictly: ties keep the earlier name */
            best = views[i].name;
            best_score = score;
        }
    }
    return best;
}

static void mark_unschedulable(struct scheduler *s, const char *key, bool yes)
{
    pthread_mutex_lock(&s->lock);
    if (yes)
        jdoc_set(s->unschedulable, key, json_true());
    else
        json_object_del(s->unschedulable, key);
    pthread_mutex_unlock(&s->lock);
}

/* PodScheduled=False/Unschedulable with message, and the Event, when the
 * condition says something new (so a pod retried on every node change does
 * not rewrite itself each time). */
static int refuse(struct scheduler *s, const json_t *pod, const char *message, int64_t now,
                  struct action_list *out, struct err *e)
{
    json_t *copy = meta_copy_for_write(pod, "status");
    int changed = copy ? objstate_set_condition(copy, "PodScheduled", "False", "Unschedulable",
                                                message, now)
                       : -ENOMEM;
    if (changed <= 0) {
        json_decref(copy);
        return changed < 0 ? err_set(e, -ENOMEM, "scheduler: out of memory") : 0;
    }
    int rc = action_update_status(out, s->pods_res, copy, e);
    if (rc == 0)
        rc = action_event(out, pod, ACTION_EVENT_WARNING, "FailedScheduling", e, "%s", message);
    return rc;
}

static int decide(struct scheduler *s, const char *key, const json_t *pod, int64_t now,
                  struct action_list *out, struct err *e)
{
    char message[MESSAGE_MAX];
    struct schedfit_resources req;
    struct err bad = {0};
    const char *ns = meta_namespace(pod), *name = meta_name(pod);
    struct pod_view pv; /* read once, for the requests and every node tried */
    if (pod_read(pod, &pv, &bad) < 0 || schedfit_view_requests(pod, &pv, &req, &bad) < 0) {
        mark_unschedulable(s, key, true);
        snprintf(message, sizeof message, "%s", bad.msg);
        return refuse(s, pod, message, now, out, e);
    }
    struct node_view one, *views = &one;
    size_t n = 0;
    struct schedfit_summary sum;
    const char *node = NULL;
    json_t *nodes = pinned_nodes(s, pod);
    if (nodes) {
        views = view_nodes(s, nodes, &one, &n);
        node = choose(s, &pv, &req, views, n, &sum);
    }
    if (!node) { /* not pinned, or it fits none: the message counts every node */
        free_views(views, &one);
        json_decref(nodes);
        if (!(nodes = informer_list(s->cfg.nodes, NULL)))
            return err_set(e, -ENOMEM, "scheduler: out of memory");
        views = view_nodes(s, nodes, &one, &n);
        node = choose(s, &pv, &req, views, n, &sum);
    }
    int rc;
    if (node) {
        mark_unschedulable(s, key, false);
        rc = action_bind(out, ns, name, node, e);
        if (rc == 0)
            rc = action_event(out, pod, ACTION_EVENT_NORMAL, "Scheduled", e,
                              "Successfully assigned %s/%s to %s", ns ? ns : "", name, node);
    } else {
        mark_unschedulable(s, key, true);
        schedfit_summary_format(&sum, message, sizeof message);
        rc = refuse(s, pod, message, now, out, e);
    }
    free_views(views, &one);
    json_decref(nodes);
    return rc;
}

static int scheduler_reconcile(void *self, const char *key, int64_t now,
                               struct action_list *out, int64_t *requeue_at, struct err *e)
{
    struct scheduler *s = self;
    char ns[OBJSTATE_NAME_MAX], name[OBJSTATE_NAME_MAX];
    json_t *pod = NULL;
    (void)requeue_at;
    int rc = objstate_split_key(key, ns, name, e);
    if (rc < 0)
        return rc;
    if (informer_get(s->cfg.pods, ns, name, &pod) != 0 || !wants_scheduling(pod) ||
        is_counted(s, key)) {
        if (!pod || !wants_scheduling(pod))
            mark_unschedulable(s, key, false);
        json_decref(pod);
        return 0;
    }
    rc = decide(s, key, pod, now, out, e);
    json_decref(pod);
    return rc;
}

/* A binding that went through: the pod counts on its node from now, before
 * the cache shows it there. */
static void scheduler_executed(void *self, const char *key, const struct action *a, int rc,
                               const json_t *result, const struct err *e)
{
    struct scheduler *s = self;
    char ns[OBJSTATE_NAME_MAX], name[OBJSTATE_NAME_MAX];
    json_t *pod = NULL;
    (void)result;
    (void)e;
    if (a->kind != ACTION_BIND || rc != 0 || objstate_split_key(key, ns, name, NULL) != 0 ||
        informer_get(s->cfg.pods, ns, name, &pod) != 0)
        return;
    pthread_mutex_lock(&s->lock);
    count(s, key, a->node, pod);
    pthread_mutex_unlock(&s->lock);
    json_decref(pod);
}

int scheduler_new(const struct scheduler_config *cfg, struct scheduler **out, struct err *e)
{
    if (!cfg->store || !cfg->pods || !cfg->nodes)
        return err_set(e, -EINVAL, "scheduler: needs a store and the pods and nodes informers");
    const struct api_resource *pods =
        api_registry_find(store_registry(cfg->store), "", "v1", "pods");
    if (!pods)
        return err_set(e, -ENOENT, "scheduler: the store serves no pods");
    struct scheduler *s = alloc_calloc(1, sizeof *s);
    s->cfg = *cfg;
    s->pods_res = pods;
    s->counted = json_object();
    s->unschedulable = json_object();
    strmap_init(&s->usage, sizeof(struct node_usage), NULL);
    pthread_mutex_init(&s->lock, NULL);
    struct loop_config lc = {
        .store = cfg->store,
        .reconciler = {.name = "scheduler", .self = s, .reconcile = scheduler_reconcile,
                       .executed = scheduler_executed},
        .component = SCHEDULER_NAME,
        .now_ns = cfg->now_ns,
        .clock_ctx = cfg->clock_ctx,
    };
    int rc = s->counted && s->unschedulable ? loop_new(&lc, &s->loop, e)
                                            : err_set(e, -ENOMEM, "scheduler: out of memory");
    if (rc < 0) {
        scheduler_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void scheduler_free(struct scheduler *s)
{
    if (!s)
        return;
    loop_free(s->loop);
    json_decref(s->counted);
    json_decref(s->unschedulable);
    strmap_free(&s->usage);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

struct loop *scheduler_loop(struct scheduler *s)
{
    return s->loop;
}
