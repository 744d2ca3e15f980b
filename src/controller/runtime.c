/*
 * The controller's runtimes (see runtime.h): one builder, then threads and
 * the election for the real runtime, or steps for the virtual one.
 */
#include "controller/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/elector.h"
#include "store/informer.h"
#include "util/alloc.h"
#include "util/clock.h"

struct controller_runtime {
    struct controller_runtime_config cfg;
    struct controller *ctl;
    struct loop *loop;
    struct informer *inf[CONTROLLER_INFORMERS];
    struct elector *elector; /* NULL: no election, always act */
    struct prom_family *leader;
};

bool controller_runtime_leading(struct controller_runtime *rt)
{
    return !rt->elector || elector_leading(rt->elector);
}

static void export_leader(void *self)
{
    struct controller_runtime *rt = self;
    prom_set(rt->leader, controller_runtime_leading(rt) ? 1 : 0, "controller");
}

static bool may_act(void *self, int64_t now)
{
    (void)now;
    return controller_runtime_leading(self);
}

/* A new leader continues from the API state: every pod it has business
 * with is queued again. */
static void leadership_changed(void *self, bool leading)
{
    struct controller_runtime *rt = self;
    if (!leading)
        return;
    controller_resync(rt->ctl);
    loop_kick(rt->loop);
}

static int start_election(struct controller_runtime *rt, struct err *e)
{
    struct elector_config ec = {
        .store = rt->cfg.store, .lease_namespace = rt->cfg.lease_namespace,
        .lease_name = rt->cfg.lease_name, .identity = rt->cfg.identity,
        .lease_ns = rt->cfg.lease_ns, .renew_deadline_ns = rt->cfg.renew_deadline_ns,
        .retry_ns = rt->cfg.retry_ns, .component = "gpuslice-controller", .log = rt->cfg.log,
        .on_change = leadership_changed, .ctx = rt,
    };
    return elector_start(&ec, &rt->elector, e);
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
    struct controller_config cc = {.store = cfg->store, .policy = cfg->policy,
                                   .warm_max_percent = cfg->warm_max_percent,
                                   .mps_overhead_mib = cfg->mps_overhead_mib,
                                   .changed = cfg->changed, .changed_ctx = cfg->changed_ctx,
                                   .now_ns = cfg->now_ns, .clock_ctx = cfg->clock_ctx,
                                   .metrics = cfg->metrics};
    int rc = controller_new(&cc, &rt->ctl, e);
    struct loop_config lc = {.store = cfg->store,
                             .reconciler = rc == 0 ? controller_reconciler(rt->ctl)
                                                   : (struct reconciler){0},
                             .component = "gpuslice-controller",
                             .now_ns = cfg->now_ns, .clock_ctx = cfg->clock_ctx,
                             .may_act = may_act, .may_act_ctx = rt, .log = cfg->log,
                             .metrics = cfg->metrics};
    if (rc == 0)
        rc = loop_new(&lc, &rt->loop, e);
    if (rc == 0) {
        controller_attach(rt->ctl, rt->loop);
        controller_informers(rt->ctl, rt->inf);
        rt->leader = prom_gauge(cfg->metrics, "gpuslice_leader",
                                "1 while this replica leads (acts), 0 while it stands by.",
                                "component");
        prom_on_scrape(cfg->metrics, export_leader, rt);
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
    prom_remove_hook(rt->cfg.metrics, export_leader, rt);
    /* The loop asks the elector before each key: it stops first. */
    if (rt->loop)
        loop_stop(rt->loop);
    elector_stop(rt->elector);
    for (size_t i = 0; rt->ctl && i < CONTROLLER_INFORMERS; i++)
        if (rt->inf[i])
            informer_stop(rt->inf[i]);
    loop_free(rt->loop);
    controller_free(rt->ctl);
    free(rt);
}
