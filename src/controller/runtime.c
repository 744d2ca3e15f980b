/*
 * The controller's runtimes (see runtime.h): one builder, then threads and
 * the election for the real runtime, or steps for the virtual one.
 */
#include "controller/runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "reconcile/leader.h"
#include "store/informer.h"
#include "util/alloc.h"
#include "util/clock.h"

struct controller_runtime {
    struct controller_runtime_config cfg;
    struct controller *ctl;
    struct loop *loop;
    struct informer *inf[CONTROLLER_INFORMERS];
    const struct api_resource *leases;
    char identity[LEADER_IDENTITY_MAX];
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t elector;
    bool electing, stopping;
    struct leader leader; /* under lock */
};

bool controller_runtime_leading(struct controller_runtime *rt)
{
    if (!rt->cfg.lease_namespace)
        return true;
    pthread_mutex_lock(&rt->lock);
    bool leading = leader_is_leading(&rt->leader, clock_monotonic_ns());
    pthread_mutex_unlock(&rt->lock);
    return leading;
}

static bool may_act(void *self, int64_t now)
{
    (void)now;
    return controller_runtime_leading(self);
}

/* One election round: read the Lease, decide, write. */
static void elect_once(struct controller_runtime *rt)
{
    json_t *lease = NULL, *write = NULL, *stored = NULL;
    const char *ns = rt->cfg.lease_namespace, *name = rt->cfg.lease_name;
    if (store_get(rt->cfg.store, rt->leases, ns, name, &lease, NULL) < 0)
        lease = NULL;
    pthread_mutex_lock(&rt->lock);
    bool was = leader_is_leading(&rt->leader, clock_monotonic_ns());
    leader_step(&rt->leader, lease, ns, name, clock_monotonic_ns(), clock_realtime_ns(), &write,
                NULL);
    pthread_mutex_unlock(&rt->lock);
    int rc = 0;
    if (write)
        rc = lease ? store_update(rt->cfg.store, rt->leases, ns, write,
                                  &(struct store_write_opts){0}, &stored, NULL)
                   : store_create(rt->cfg.store, rt->leases, ns, write,
                                  &(struct store_write_opts){0}, &stored, NULL);
    pthread_mutex_lock(&rt->lock);
    if (write)
        leader_written(&rt->leader, rc, stored, clock_monotonic_ns());
    bool now_leading = leader_is_leading(&rt->leader, clock_monotonic_ns());
    pthread_mutex_unlock(&rt->lock);
    if (now_leading && !was) {
        log_info(rt->cfg.log, "gpuslice-controller: %s is the leader", rt->identity);
        controller_resync(rt->ctl);
        loop_kick(rt->loop);
    } else if (was && !now_leading) {
        log_info(rt->cfg.log, "gpuslice-controller: %s stopped leading", rt->identity);
    }
    json_decref(lease);
    json_decref(write);
    json_decref(stored);
}

static void *elector_thread(void *arg)
{
    struct controller_runtime *rt = arg;
    pthread_mutex_lock(&rt->lock);
    while (!rt->stopping) {
        pthread_mutex_unlock(&rt->lock);
        elect_once(rt);
        pthread_mutex_lock(&rt->lock);
        struct timespec until = clock_deadline(CLOCK_MONOTONIC, rt->leader.cfg.retry_ns);
        if (!rt->stopping)
            pthread_cond_timedwait(&rt->wake, &rt->lock, &until);
    }
    pthread_mutex_unlock(&rt->lock);
    return NULL;
}

static int start_election(struct controller_runtime *rt, struct err *e)
{
    rt->leases = api_registry_find(store_registry(rt->cfg.store), "coordination.k8s.io", "v1",
                                   "leases");
    if (!rt->leases)
        return err_set(e, -ENOENT, "controller: the store does not serve leases");
    struct leader_config lc = {
        .identity = rt->identity,
        .lease_ns = rt->cfg.lease_ns ? rt->cfg.lease_ns : 15 * NS_PER_SEC,
        .renew_deadline_ns =
            rt->cfg.renew_deadline_ns ? rt->cfg.renew_deadline_ns : 10 * NS_PER_SEC,
        .retry_ns = rt->cfg.retry_ns ? rt->cfg.retry_ns : 2 * NS_PER_SEC,
    };
    int rc = leader_init(&rt->leader, &lc, e);
    if (rc < 0)
        return rc;
    rc = pthread_create(&rt->elector, NULL, elector_thread, rt);
    if (rc != 0)
        return err_set(e, -rc, "controller: cannot start the election thread");
    rt->electing = true;
    return 0;
}

static int start_informers(struct controller_runtime *rt, struct err *e)
{
    for (size_t i = 0; i < CONTROLLER_INFORMERS; i++) {
        int rc = informer_start(rt->inf[i], e);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < CONTROLLER_INFORMERS; i++)
        if (informer_wait_synced(rt->inf[i], 30000) < 0)
            return err_set(e, -ETIMEDOUT, "controller: informers did not sync in 30 s");
    return 0;
}

/* The controller, its loop and its informers, wired, nothing started. */
static int build(const struct controller_runtime_config *cfg, struct controller_runtime **out,
                 struct err *e)
{
    struct controller_runtime *rt = alloc_calloc(1, sizeof *rt);
    rt->cfg = *cfg;
    if (!rt->cfg.lease_name)
        rt->cfg.lease_name = "gpuslice-controller";
    if (cfg->identity) {
        snprintf(rt->identity, sizeof rt->identity, "%s", cfg->identity);
    } else {
        char host[64] = "controller";
        gethostname(host, sizeof host - 1);
        snprintf(rt->identity, sizeof rt->identity, "%s-%d", host, (int)getpid());
    }
    pthread_mutex_init(&rt->lock, NULL);
    clock_cond_init(&rt->wake);
    struct controller_config cc = {.store = cfg->store, .policy = cfg->policy,
                                   .now_ns = cfg->now_ns, .clock_ctx = cfg->clock_ctx};
    int rc = controller_new(&cc, &rt->ctl, e);
    struct loop_config lc = {.store = cfg->store,
                             .reconciler = rc == 0 ? controller_reconciler(rt->ctl)
                                                   : (struct reconciler){0},
                             .component = "gpuslice-controller",
                             .now_ns = cfg->now_ns, .clock_ctx = cfg->clock_ctx,
                             .may_act = may_act, .may_act_ctx = rt, .log = cfg->log};
    if (rc == 0)
        rc = loop_new(&lc, &rt->loop, e);
    if (rc == 0) {
        controller_attach(rt->ctl, rt->loop);
        controller_informers(rt->ctl, rt->inf);
    }
    *out = rt;
    return rc;
}

int controller_runtime_start(const struct controller_runtime_config *cfg,
                             struct controller_runtime **out, struct err *e)
{
    struct controller_runtime *rt;
    int rc = build(cfg, &rt, e);
    if (rc == 0)
        rc = start_informers(rt, e);
    if (rc == 0 && cfg->lease_namespace)
        rc = start_election(rt, e);
    if (rc == 0)
        rc = loop_start(rt->loop, e);
    if (rc == 0 && !cfg->lease_namespace)
        controller_resync(rt->ctl);
    if (rc < 0) {
        controller_runtime_stop(rt);
        return rc;
    }
    *out = rt;
    return 0;
}

int controller_runtime_new(const struct controller_runtime_config *cfg,
                           struct controller_runtime **out, struct err *e)
{
    if (cfg->lease_namespace)
        return err_set(e, -EINVAL, "controller: a stepped runtime does not elect a leader");
    struct controller_runtime *rt;
    int rc = build(cfg, &rt, e);
    if (rc < 0) {
        controller_runtime_stop(rt);
        return rc;
    }
    *out = rt;
    return 0;
}

size_t controller_runtime_step(struct controller_runtime *rt)
{
    size_t work = informer_step_ready(rt->inf, CONTROLLER_INFORMERS);
    return work + loop_run_ready(rt->loop, 0);
}

int64_t controller_runtime_next_due(struct controller_runtime *rt)
{
    int64_t next = loop_next_due(rt->loop);
    for (size_t i = 0; i < CONTROLLER_INFORMERS; i++) {
        int64_t wake = informer_wake_at(rt->inf[i]);
        if (wake > 0 && wake < next)
            next = wake;
    }
    return next;
}

struct controller *controller_runtime_controller(struct controller_runtime *rt)
{
    return rt->ctl;
}

struct loop *controller_runtime_loop(struct controller_runtime *rt)
{
    return rt->loop;
}

void controller_runtime_stop(struct controller_runtime *rt)
{
    if (!rt)
        return;
    pthread_mutex_lock(&rt->lock);
    rt->stopping = true;
    pthread_cond_signal(&rt->wake);
    pthread_mutex_unlock(&rt->lock);
    if (rt->electing)
        pthread_join(rt->elector, NULL);
    if (rt->loop)
        loop_stop(rt->loop);
    for (size_t i = 0; rt->ctl && i < CONTROLLER_INFORMERS; i++)
        if (rt->inf[i])
            informer_stop(rt->inf[i]);
    loop_free(rt->loop);
    controller_free(rt->ctl);
    pthread_cond_destroy(&rt->wake);
    pthread_mutex_destroy(&rt->lock);
    free(rt);
}
