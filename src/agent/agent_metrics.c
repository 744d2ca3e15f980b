/*
 * The agent's metrics (docs/metrics.md): every device operation counted
 * with its latency, by kind (create, destroy, discover, and the MPS
 * daemons' mps-ensure, mps-stop) and result; the running counts of
 * agent_stats read when scraped, the MPS daemons' among them.
 */
#include "agent/agent_internal.h"

#include <stdlib.h>

#include "util/alloc.h"

struct agent_metrics {
    struct prom_family *ops, *op_seconds, *orphans, *recreated;
    struct prom_family *mps_running, *mps_starts, *mps_restarts;
};

static void export_stats(void *self)
{
    struct agent *a = self;
    struct agent_stats st;
    agent_get_stats(a, &st);
    prom_set(a->metrics->orphans, (double)st.orphans_destroyed, a->node);
    prom_set(a->metrics->recreated, (double)st.recreated, a->node);
    prom_set(a->metrics->mps_running, (double)st.mps_running, a->node);
    prom_set(a->metrics->mps_starts, (double)st.mps_starts, a->node);
    prom_set(a->metrics->mps_restarts, (double)st.mps_restarts, a->node);
}

void agent__metrics_init(struct agent *a)
{
    struct prom *p = a->cfg.metrics;
    if (!p)
        return;
    struct agent_metrics *m = alloc_calloc(1, sizeof *m);
    m->ops = prom_counter(p, "gpuslice_agent_device_operations_total",
                          "MIG device operations, by kind (create, destroy, discover) and result "
                          "(success, failure).", "node,kind,result");
    m->op_seconds = prom_histogram(
        p, "gpuslice_agent_device_operation_duration_seconds",
        "Time a MIG device operation took, as the device reports it (measured for nvml, "
        "modelled for an emulated device), by kind and result.", "node,kind,result",
        PROM_LATENCY_BUCKETS_N, prom_latency_buckets);
    m->orphans = prom_counter(p, "gpuslice_agent_orphans_destroyed_total",
                              "Slices on the node's GPUs that no GPUSlice held, destroyed after "
                              "the grace period.", "node");
    m->recreated = prom_counter(p, "gpuslice_agent_slices_recreated_total",
                                "Slices made again after they vanished from the GPU.", "node");
    m->mps_running = prom_gauge(p, "gpuslice_agent_mps_daemons_running",
                                "MPS control daemons the agent runs on the node's GPUs.", "node");
    m->mps_starts = prom_counter(p, "gpuslice_agent_mps_daemon_starts_total",
                                 "MPS control daemons started, restarts included.", "node");
    m->mps_restarts = prom_counter(p, "gpuslice_agent_mps_daemon_restarts_total",
                                   "MPS control daemons found dead with clients and started "
                                   "again (each client pod gets an MPSDaemonRestarted Event).",
                                   "node");
    a->metrics = m;
    prom_on_scrape(p, export_stats, a);
}

void agent__metrics_free(struct agent *a)
{
    prom_remove_hook(a->cfg.metrics, export_stats, a);
    free(a->metrics);
}

void agent__metrics_device(struct agent *a, const char *kind, int rc, uint64_t took_ns)
{
    if (!a->metrics)
        return;
    const char *result = rc < 0 ? "failure" : "success";
    prom_add(a->metrics->ops, 1, a->node, kind, result);
    prom_observe(a->metrics->op_seconds, (double)took_ns / 1e9, a->node, kind, result);
}
