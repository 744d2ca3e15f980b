/*
 * Wiring the cluster's parts (see components.h): the informers are shared,
 * and each informer's one handler fans a change out to the parts that care
 * about it, which enqueue keys in their own loops. A node's kubelet is
 * found by name in an index; in the virtual runtime a round steps only the
 * kubelets a change was fanned out to or whose keys are due (a wake set),
 * since with thousands of nodes stepping every kubelet's loop each round
 * cost more than the work. A ConfigMap change goes only to the kubelets
 * with a pod waiting to start (the only pods it can move on), which tell
 * when their first pod begins to wait: with thousands of nodes, telling
 * every kubelet of every slice's ConfigMap was most of a run.
 */
#include "cluster/components.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "api/pod_slices.h"
#include "cluster/collector.h"
#include "cluster/deployment.h"
#include "cluster/job.h"
#include "cluster/objstate.h"
#include "cluster/podgc.h"
#include "cluster/quota.h"
#include "cluster/replicaset.h"
#include "cluster/scheduler.h"
#include "cluster/statefulset.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/strmap.h"
#include "util/vec.h"
#include "util/wakeset.h"

#define SETTLE_ROUNDS_DEFAULT 10000

enum { INF_PODS, INF_NODES, INF_CONFIGMAPS, INF_DEPLOYMENTS, INF_REPLICASETS, INF_JOBS,
       INF_STATEFULSETS, INF_QUOTAS, INF_COUNT };

static const struct {
    const char *group, *plural;
} watched[INF_COUNT] = {
    [INF_PODS] = {"", "pods"},
    [INF_NODES] = {"", "nodes"},
    [INF_CONFIGMAPS] = {"", "configmaps"},
    [INF_DEPLOYMENTS] = {"apps", "deployments"},
    [INF_REPLICASETS] = {"apps", "replicasets"},
    [INF_JOBS] = {"batch", "jobs"},
    [INF_STATEFULSETS] = {"apps", "statefulsets"},
    [INF_QUOTAS] = {"", "resourcequotas"},
};

static const char *const default_ignored[] = {GPUSLICE_MIG_PREFIX, NULL};

struct cluster_parts {
    struct cluster_parts_config cfg;
    struct informer *inf[INF_COUNT];
    struct scheduler *scheduler;
    struct kubelet **kubelets;
    size_t kubelet_count;
    struct strmap kubelet_index;   /* node name -> size_t, its kubelet's index */
    struct wakeset *kubelets_woken; /* virtual runtime: the kubelets to step */
    /* The kubelets that may have pods waiting to start (any thread). */
    pthread_mutex_t waiting_mu;
    struct wakeset *kubelets_waiting;
    struct deployment_controller *deployments;
    struct replicaset_controller *replicasets;
    struct job_controller *jobs;
    struct statefulset_controller *statefulsets;
    struct quota_controller *quotas;
    struct podgc *podgc;
    bool started;
};

/* ---- fan-out ------------------------------------------------------------------ */

static struct kubelet *kubelet_of(struct cluster_parts *p, const char *node)
{
    const size_t *i = node ? strmap_get(&p->kubelet_index, node) : NULL;
    return i ? p->kubelets[*i] : NULL;
}

/* The node's kubelet, which a change was just fanned out to: in the
 * virtual runtime it is stepped next round (the threaded one runs it). */
static struct kubelet *kubelet_told(struct cluster_parts *p, const char *node)
{
    const size_t *i = node ? strmap_get(&p->kubelet_index, node) : NULL;
    if (!i)
        return NULL;
    if (!p->started)
        wakeset_mark(p->kubelets_woken, *i);
    return p->kubelets[*i];
}

struct kubelet *cluster_parts_kubelet(struct cluster_parts *p, const char *node)
{
    return kubelet_of(p, node);
}

static void pods_changed(void *ctx, enum informer_change change, const json_t *old,
                         const json_t *cur)
{
    struct cluster_parts *p = ctx;
    scheduler_pod_changed(p->scheduler, change, old, cur);
    struct kubelet *k = kubelet_told(p, objstate_node(cur));
    if (k)
        kubelet_pod_changed(k, change, old, cur);
    replicaset_pod_changed(p->replicasets, change, old, cur);
    deployment_pod_changed(p->deployments, change, old, cur);
    job_pod_changed(p->jobs, change, old, cur);
    statefulset_pod_changed(p->statefulsets, change, old, cur);
    quota_pod_changed(p->quotas, change, old, cur);
    podgc_pod_changed(p->podgc, change, old, cur);
}

static void nodes_changed(void *ctx, enum informer_change change, const json_t *old,
                          const json_t *cur)
{
    struct cluster_parts *p = ctx;
    scheduler_node_changed(p->scheduler, change, old, cur);
    struct kubelet *k = kubelet_told(p, meta_name(cur));
    if (k)
        kubelet_node_changed(k, change, old, cur);
}

static void kubelet_waits(void *ctx, const char *node)
{
    struct cluster_parts *p = ctx;
    const size_t *i = strmap_get(&p->kubelet_index, node);
    if (!i)
        return;
    pthread_mutex_lock(&p->waiting_mu);
    wakeset_mark(p->kubelets_waiting, *i);
    pthread_mutex_unlock(&p->waiting_mu);
}

/* The kubelets that may have waiting pods, taken off the set: the caller
 * puts back those that still have (kubelets_still_waiting). */
static size_t take_waiting(struct cluster_parts *p, size_t **out)
{
    size_t n = 0, cap = 0;
    *out = NULL;
    pthread_mutex_lock(&p->waiting_mu);
    for (size_t i = wakeset_take(p->kubelets_waiting, 0); i != SIZE_MAX;
         i = wakeset_take(p->kubelets_waiting, i + 1)) {
        VEC_RESERVE(*out, cap, n + 1);
        (*out)[n++] = i;
    }
    pthread_mutex_unlock(&p->waiting_mu);
    return n;
}

static void kubelets_still_waiting(struct cluster_parts *p, const size_t *which, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        if (!kubelet_has_waiting(p->kubelets[which[j]]))
            continue; /* its next waiting pod marks it again */
        pthread_mutex_lock(&p->waiting_mu);
        wakeset_mark(p->kubelets_waiting, which[j]);
        pthread_mutex_unlock(&p->waiting_mu);
    }
}

static void configmaps_changed(void *ctx, enum informer_change change, const json_t *old,
                               const json_t *cur)
{
    struct cluster_parts *p = ctx;
    size_t *which;
    size_t n = take_waiting(p, &which);
    for (size_t j = 0; j < n; j++) {
        kubelet_configmap_changed(p->kubelets[which[j]], change, old, cur);
        if (!p->started)
            wakeset_mark(p->kubelets_woken, which[j]);
    }
    kubelets_still_waiting(p, which, n);
    free(which);
}

static void deployments_changed(void *ctx, enum informer_change change, const json_t *old,
                                const json_t *cur)
{
    struct cluster_parts *p = ctx;
    deployment_changed(p->deployments, change, old, cur);
}

static void replicasets_changed(void *ctx, enum informer_change change, const json_t *old,
                                const json_t *cur)
{
    struct cluster_parts *p = ctx;
    replicaset_changed(p->replicasets, change, old, cur);
    deployment_rs_changed(p->deployments, change, old, cur);
}

static void jobs_changed(void *ctx, enum informer_change change, const json_t *old,
                         const json_t *cur)
{
    struct cluster_parts *p = ctx;
    job_changed(p->jobs, change, old, cur);
}

static void statefulsets_changed(void *ctx, enum informer_change change, const json_t *old,
                                 const json_t *cur)
{
    struct cluster_parts *p = ctx;
    statefulset_changed(p->statefulsets, change, old, cur);
}

static void quotas_changed(void *ctx, enum informer_change change, const json_t *old,
                           const json_t *cur)
{
    struct cluster_parts *p = ctx;
    quota_changed(p->quotas, change, old, cur);
}

static const informer_handler_fn handlers[INF_COUNT] = {
    [INF_PODS] = pods_changed,
    [INF_NODES] = nodes_changed,
    [INF_CONFIGMAPS] = configmaps_changed,
    [INF_DEPLOYMENTS] = deployments_changed,
    [INF_REPLICASETS] = replicasets_changed,
    [INF_JOBS] = jobs_changed,
    [INF_STATEFULSETS] = statefulsets_changed,
    [INF_QUOTAS] = quotas_changed,
};

/* ---- building ------------------------------------------------------------------ */

static int new_informer(struct cluster_parts *p, int which, struct err *e)
{
    const struct api_resource *res = api_registry_find(store_registry(p->cfg.store),
                                                       watched[which].group, "v1",
                                                       watched[which].plural);
    if (!res)
        return err_set(e, -ENOENT, "cluster parts: the store serves no %s", watched[which].plural);
    struct informer_config ic = {
        .store = p->cfg.store,
        .res = res,
        .handler = handlers[which],
        .handler_ctx = p,
        .now_ns = p->cfg.now_ns,
        .clock_ctx = p->cfg.clock_ctx,
        .seed = p->cfg.seed + (uint64_t)which,
    };
    if (which == INF_PODS) {
        ic.indexes[ic.index_count++] =
            (struct informer_index){.name = OBJSTATE_INDEX_NODE, .keys = informer_keys_node};
        ic.indexes[ic.index_count++] =
            (struct informer_index){.name = OBJSTATE_INDEX_OWNER, .keys = informer_keys_owner};
    } else if (which == INF_NODES) {
        ic.indexes[ic.index_count++] = (struct informer_index){
            .name = SCHEDULER_INDEX_HOSTNAME, .keys = scheduler_keys_hostname};
    } else if (which == INF_REPLICASETS) {
        ic.indexes[ic.index_count++] =
            (struct informer_index){.name = OBJSTATE_INDEX_OWNER, .keys = informer_keys_owner};
    }
    return informer_new(&ic, &p->inf[which], e);
}

static int new_kubelets(struct cluster_parts *p, struct err *e)
{
    p->kubelets = alloc_calloc(p->cfg.node_count ? p->cfg.node_count : 1, sizeof *p->kubelets);
    for (size_t i = 0; i < p->cfg.node_count; i++) {
        if (kubelet_of(p, p->cfg.nodes[i].name))
            return err_set(e, -EINVAL, "cluster parts: node %s given twice",
                           p->cfg.nodes[i].name);
        struct kubelet_config kc = {
            .store = p->cfg.store,
            .pods = p->inf[INF_PODS],
            .nodes = p->inf[INF_NODES],
            .configmaps = p->inf[INF_CONFIGMAPS],
            .now_ns = p->cfg.now_ns,
            .clock_ctx = p->cfg.clock_ctx,
            .node = p->cfg.nodes[i],
            .keep_logs = p->cfg.keep_logs,
            .devices = p->cfg.devices,
            .devices_ctx = p->cfg.devices_ctx,
            .mps = p->cfg.mps,
            .mps_ctx = p->cfg.mps_ctx,
            .on_waiting = kubelet_waits,
            .on_waiting_ctx = p,
        };
        int rc = kubelet_new(&kc, &p->kubelets[i], e);
        if (rc < 0)
            return rc;
        strmap_set(&p->kubelet_index, p->cfg.nodes[i].name, &i);
        p->kubelet_count++;
    }
    p->kubelets_woken = wakeset_new(p->kubelet_count);
    p->kubelets_waiting = wakeset_new(p->kubelet_count);
    return 0;
}

static int new_controllers(struct cluster_parts *p, struct err *e)
{
    struct scheduler_config sc = {
        .store = p->cfg.store,
        .pods = p->inf[INF_PODS],
        .nodes = p->inf[INF_NODES],
        .now_ns = p->cfg.now_ns,
        .clock_ctx = p->cfg.clock_ctx,
        .ignored_resources = p->cfg.ignored_resources ? p->cfg.ignored_resources
                                                      : default_ignored,
    };
    struct workloads_config wc = {
        .store = p->cfg.store,
        .pods = p->inf[INF_PODS],
        .replicasets = p->inf[INF_REPLICASETS],
        .deployments = p->inf[INF_DEPLOYMENTS],
        .jobs = p->inf[INF_JOBS],
        .statefulsets = p->inf[INF_STATEFULSETS],
        .now_ns = p->cfg.now_ns,
        .clock_ctx = p->cfg.clock_ctx,
    };
    int rc = scheduler_new(&sc, &p->scheduler, e);
    if (rc == 0)
        rc = deployment_controller_new(&wc, &p->deployments, e);
    if (rc == 0)
        rc = replicaset_controller_new(&wc, &p->replicasets, e);
    if (rc == 0)
        rc = job_controller_new(&wc, &p->jobs, e);
    if (rc == 0)
        rc = statefulset_controller_new(&wc, &p->statefulsets, e);
    struct quota_controller_config qc = {
        .store = p->cfg.store, .pods = p->inf[INF_PODS], .quotas = p->inf[INF_QUOTAS],
        .now_ns = p->cfg.now_ns, .clock_ctx = p->cfg.clock_ctx,
    };
    if (rc == 0)
        rc = quota_controller_new(&qc, &p->quotas, e);
    struct podgc_config gc = {.store = p->cfg.store,
                              .threshold = p->cfg.terminated_pod_gc_threshold,
                              .now_ns = p->cfg.now_ns, .clock_ctx = p->cfg.clock_ctx};
    if (rc == 0)
        rc = podgc_new(&gc, &p->podgc, e);
    return rc;
}

int cluster_parts_new(const struct cluster_parts_config *cfg, struct cluster_parts **out,
                      struct err *e)
{
    if (!cfg->store || (cfg->node_count && !cfg->nodes))
        return err_set(e, -EINVAL, "cluster parts: needs a store (and nodes when a count is "
                                   "given)");
    if (cfg->collect && !collector_applies(cfg->store))
        return err_set(e, -EINVAL, "cluster parts: the %s store collects by itself",
                       cfg->store->ops->name);
    struct cluster_parts *p = alloc_calloc(1, sizeof *p);
    p->cfg = *cfg;
    strmap_init(&p->kubelet_index, sizeof(size_t), NULL);
    pthread_mutex_init(&p->waiting_mu, NULL);
    p->cfg.nodes = NULL; /* copied by each kubelet */
    int rc = 0;
    for (int i = 0; i < INF_COUNT && rc == 0; i++)
        rc = new_informer(p, i, e);
    if (rc == 0) {
        p->cfg.nodes = cfg->nodes;
        rc = new_kubelets(p, e);
        p->cfg.nodes = NULL;
    }
    if (rc == 0)
        rc = new_controllers(p, e);
    if (rc < 0) {
        cluster_parts_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void cluster_parts_free(struct cluster_parts *p)
{
    if (!p)
        return;
    cluster_parts_stop(p);
    scheduler_free(p->scheduler);
    for (size_t i = 0; i < p->kubelet_count; i++)
        kubelet_free(p->kubelets[i]);
    free(p->kubelets);
    strmap_free(&p->kubelet_index);
    wakeset_free(p->kubelets_woken);
    wakeset_free(p->kubelets_waiting);
    pthread_mutex_destroy(&p->waiting_mu);
    deployment_controller_free(p->deployments);
    replicaset_controller_free(p->replicasets);
    job_controller_free(p->jobs);
    statefulset_controller_free(p->statefulsets);
    quota_controller_free(p->quotas);
    podgc_free(p->podgc);
    for (int i = 0; i < INF_COUNT; i++)
        informer_free(p->inf[i]);
    free(p);
}

/* ---- the loops, in their fixed order ------------------------------------------------ */

#define FIXED_LOOPS 7 /* before the kubelets' */

static size_t loop_count(const struct cluster_parts *p)
{
    return FIXED_LOOPS + p->kubelet_count;
}

static struct loop *loop_at(struct cluster_parts *p, size_t i)
{
    switch (i) {
    case 0:
        return scheduler_loop(p->scheduler);
    case 1:
        return deployment_controller_loop(p->deployments);
    case 2:
        return replicaset_controller_loop(p->replicasets);
    case 3:
        return job_controller_loop(p->jobs);
    case 4:
        return statefulset_controller_loop(p->statefulsets);
    case 5:
        return quota_controller_loop(p->quotas);
    case 6:
        return podgc_loop(p->podgc);
    default:
        return kubelet_loop(p->kubelets[i - FIXED_LOOPS]);
    }
}

/* ---- virtual runtime ----------------------------------------------------------------- */

/* The kubelets told of a change or due, in node order: any other would
 * find nothing ready. One that worked is looked at again next round, as
 * every kubelet was. */
static size_t step_kubelets(struct cluster_parts *p)
{
    size_t work = 0;
    int64_t now = p->cfg.now_ns ? p->cfg.now_ns(p->cfg.clock_ctx) : clock_realtime_now(NULL);
    wakeset_mark_due(p->kubelets_woken, now);
    for (size_t i = wakeset_take(p->kubelets_woken, 0); i != SIZE_MAX;
         i = wakeset_take(p->kubelets_woken, i + 1)) {
        struct loop *l = kubelet_loop(p->kubelets[i]);
        size_t did = loop_run_ready(l, 0);
        work += did;
        if (did)
            wakeset_mark(p->kubelets_woken, i);
        wakeset_set_due(p->kubelets_woken, i, loop_next_due(l));
    }
    return work;
}

int cluster_parts_step(struct cluster_parts *p, struct err *e)
{
    int work = 0;
    for (size_t did = 1; did;) {
        did = informer_step_ready(p->inf, INF_COUNT);
        work += (int)did;
    }
    if (p->cfg.collect) {
        int n = collector_step(p->cfg.store, 0, e);
        if (n < 0)
            return n;
        work += n;
    }
    for (size_t i = 0; i < FIXED_LOOPS; i++)
        work += (int)loop_run_ready(loop_at(p, i), 0);
    return work + (int)step_kubelets(p);
}

int cluster_parts_settle(struct cluster_parts *p, size_t max_rounds, struct err *e)
{
    if (max_rounds == 0)
        max_rounds = SETTLE_ROUNDS_DEFAULT;
    for (size_t round = 0; round < max_rounds; round++) {
        int n = cluster_parts_step(p, e);
        if (n <= 0)
            return n < 0 ? n : (int)round;
    }
    return err_set(e, -ELOOP, "cluster parts: still busy after %zu rounds", max_rounds);
}

int64_t cluster_parts_next_due(struct cluster_parts *p)
{
    int64_t due = INT64_MAX;
    for (size_t i = 0; i <= FIXED_LOOPS; i++) {
        int64_t d = i < FIXED_LOOPS ? loop_next_due(loop_at(p, i))
                                    : wakeset_next_due(p->kubelets_woken);
        if (d == 0 && p->cfg.now_ns)
            d = p->cfg.now_ns(p->cfg.clock_ctx);
        if (d < due)
            due = d;
    }
    for (int i = 0; i < INF_COUNT && p->cfg.now_ns; i++) {
        int64_t wake = informer_wake_at(p->inf[i]);
        if (wake > 0 && wake < due)
            due = wake;
    }
    return due;
}

/* ---- real runtime --------------------------------------------------------------------- */

int cluster_parts_start(struct cluster_parts *p, struct err *e)
{
    if (p->started)
        return err_set(e, -EBUSY, "cluster parts: already started");
    if (p->cfg.collect)
        return err_set(e, -EINVAL, "cluster parts: the collector step is for the virtual "
                                   "runtime; give the threaded runtime a store that collects "
                                   "by itself (auto_collect)");
    p->started = true;
    int rc = 0;
    for (int i = 0; i < INF_COUNT && rc == 0; i++)
        rc = informer_start(p->inf[i], e);
    for (size_t i = 0; i < loop_count(p) && rc == 0; i++)
        rc = loop_start(loop_at(p, i), e);
    if (rc < 0)
        cluster_parts_stop(p);
    return rc;
}

int cluster_parts_wait_synced(struct cluster_parts *p, int timeout_ms)
{
    for (int i = 0; i < INF_COUNT; i++) {
        int rc = informer_wait_synced(p->inf[i], timeout_ms);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void cluster_parts_stop(struct cluster_parts *p)
{
    if (!p->started)
        return;
    /* Loops first: they read the informers' caches. */
    for (size_t i = 0; i < loop_count(p); i++)
        loop_stop(loop_at(p, i));
    for (int i = 0; i < INF_COUNT; i++)
        informer_stop(p->inf[i]);
    p->started = false;
}
