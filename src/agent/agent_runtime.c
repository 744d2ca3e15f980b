/*
 * The agent's runtime glue (see agent_runtime.h): one agent, one loop, one
 * clock, and the choice between stepping them or running them on threads.
 */
#include "agent/agent_runtime.h"
#include "agent/agent_internal.h"
#include "util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reconcile/elector.h"
#include "util/clock.h"


struct agent_runtime {
    struct agent_runtime_config cfg;
    struct agent *agent;
    struct loop *loop;
    struct informer *informers[AGENT_INFORMERS];
    struct elector *elector;  /* fencing, while started; NULL: none */
    bool started;
    char name[80]; /* "agent <node>": what the log calls it */
    struct prom_family *leader;
};

/* Whether it holds its node's Lease (always, without fencing). */
static void export_leader(void *self)
{
    struct agent_runtime *rt = self;
    prom_set(rt->leader, agent_runtime_leading(rt) ? 1 : 0, rt->cfg.agent.node);
}

static void executed(void *self, const char *key, const struct action *act, int rc,
                     const json_t *result, const struct err *e)
{
    struct agent_runtime *rt = self;
    agent_executed(rt->agent, key, act, rc, result, e);
}

/* The agent's device and file operations in words, for the loop's log. */
static void describe(void *self, const struct action *act, char *buf, size_t size)
{
    (void)self;
    static const char *const ops[] = {
        [AGENT_OP_DISCOVER] = "discover the GPUs", [AGENT_OP_CREATE] = "create a slice",
        [AGENT_OP_DESTROY] = "destroy a slice", [AGENT_OP_WRITE_CDI] = "write a CDI spec",
        [AGENT_OP_REMOVE_CDI] = "remove a CDI spec",
    };
    if (act->op > 0 && act->op <= AGENT_OP_REMOVE_CDI)
        snprintf(buf, size, "%s", ops[act->op]);
    else
        action_describe(act, buf, size);
}

static int reconcile(void *self, const char *key, int64_t now_ns, struct action_list *out,
                     int64_t *requeue_at_ns, struct err *e)
{
    struct agent_runtime *rt = self;
    return agent_reconcile(rt->agent, key, now_ns, out, requeue_at_ns, e);
}

static int execute(void *self, const struct action *act, json_t **result, struct err *e)
{
    struct agent_runtime *rt = self;
    return agent_execute(rt->agent, act, result, e);
}

bool agent_runtime_leading(struct agent_runtime *rt)
{
    if (!rt->cfg.lease_namespace)
        return true;
    return rt->elector && elector_leading(rt->elector);
}

static bool may_act(void *self, int64_t now)
{
    (void)now;
    return agent_runtime_leading(self);
}

/* Taking the node over: everything is looked at again, GPUs included. */
static void leadership_changed(void *self, bool leading)
{
    struct agent_runtime *rt = self;
    if (!leading)
        return;
    agent_resync(rt->agent);
    loop_kick(rt->loop);
}

static int start_fencing(struct agent_runtime *rt, struct err *e)
{
    char name[sizeof AGENT_LEASE_PREFIX + 256];
    snprintf(name, sizeof name, AGENT_LEASE_PREFIX "%s", rt->cfg.agent.node);
    struct elector_config ec = {
        .store = rt->cfg.agent.store, .lease_namespace = rt->cfg.lease_namespace,
        .lease_name = name, .identity = rt->cfg.identity, .lease_ns = rt->cfg.lease_ns,
        .renew_deadline_ns = rt->cfg.renew_deadline_ns, .retry_ns = rt->cfg.retry_ns,
        .component = rt->name, .log = rt->cfg.log, .on_change = leadership_changed, .ctx = rt,
    };
    return elector_start(&ec, &rt->elector, e);
}

int agent_runtime_new(const struct agent_runtime_config *cfg, struct agent_runtime **out,
                      struct err *e)
{
    struct agent_runtime *rt = alloc_calloc(1, sizeof *rt);
    rt->cfg = *cfg;
    snprintf(rt->name, sizeof rt->name, "agent %.60s", cfg->agent.node ? cfg->agent.node : "?");
    if (!rt->cfg.agent.now_ns)
        rt->cfg.agent.now_ns = clock_realtime_now;
    if (!rt->cfg.agent.log)
        rt->cfg.agent.log = cfg->log;
    int rc = agent_new(&rt->cfg.agent, &rt->agent, e);
    if (rc == 0) {
        struct loop_config lc = {
            .store = rt->cfg.agent.store,
            .reconciler = {.name = rt->name, .self = rt, .reconcile = reconcile,
                           .executed = executed, .execute_external = execute,
                           .describe_external = describe},
            .component = "gpuslice-agent",
            .host = rt->cfg.agent.node,
            .now_ns = rt->cfg.agent.now_ns,
            .clock_ctx = rt->cfg.agent.clock_ctx,
            .may_act = may_act,
            .may_act_ctx = rt,
            .log = rt->cfg.log,
            .metrics = rt->cfg.agent.metrics,
        };
        rc = loop_new(&lc, &rt->loop, e);
    }
    rt->leader = prom_gauge(rt->cfg.agent.metrics, "gpuslice_agent_node_lease_held",
                            "1 while this agent holds its node's Lease and acts, 0 while "
                            "another agent of the node does.", "node");
    prom_on_scrape(rt->cfg.agent.metrics, export_leader, rt);
    if (rc < 0) {
        agent_runtime_free(rt);
        return rc;
    }
    agent_informers(rt->agent, rt->informers);
    agent_attach(rt->agent, rt->loop);
    agent_resync(rt->agent);
    *out = rt;
    return 0;
}

void agent_runtime_free(struct agent_runtime *rt)
{
    if (!rt)
        return;
    agent_stop(rt);
    prom_remove_hook(rt->cfg.agent.metrics, export_leader, rt);
    loop_free(rt->loop);
    agent_free(rt->agent);
    free(rt);
}

struct agent *agent_runtime_agent(struct agent_runtime *rt)
{
    return rt->agent;
}

struct loop *agent_runtime_loop(struct agent_runtime *rt)
{
    return rt->loop;
}

size_t agent_runtime_step(struct agent_runtime *rt)
{
    size_t work = informer_step_ready(rt->informers, AGENT_INFORMERS);
    return work + loop_run_ready(rt->loop, 0);
}

int64_t agent_runtime_next_due(struct agent_runtime *rt)
{
    return loop_next_due(rt->loop);
}

bool agent_runtime_watching(struct agent_runtime *rt)
{
    for (size_t i = 0; i < AGENT_INFORMERS; i++)
        if (!informer_watching(rt->informers[i]))
            return false;
    return true;
}

int agent_start(struct agent_runtime *rt, struct err *e)
{
    if (rt->started)
        return err_set(e, -EBUSY, "agent %s: already started", rt->cfg.agent.node);
    int rc = 0;
    size_t i = 0;
    if (!rt->cfg.agent.virtual_time)
        agent__workers_start(rt->agent);
    for (; rc == 0 && i < AGENT_INFORMERS; i++)
        rc = informer_start(rt->informers[i], e);
    if (rc == 0 && rt->cfg.lease_namespace)
        rc = start_fencing(rt, e);
    if (rc == 0)
        rc = loop_start(rt->loop, e);
    if (rc < 0) {
        elector_stop(rt->elector);
        rt->elector = NULL;
        while (i-- > 0)
            informer_stop(rt->informers[i]);
        agent__workers_stop(rt->agent);
        return rc;
    }
    rt->started = true;
    return 0;
}

void agent_stop(struct agent_runtime *rt)
{
    if (!rt->started)
        return;
    loop_stop(rt->loop);
    elector_stop(rt->elector);
    rt->elector = NULL;
    agent__workers_stop(rt->agent);
    for (size_t i = 0; i < AGENT_INFORMERS; i++)
        informer_stop(rt->informers[i]);
    rt->started = false;
}
