/*
 * GPUSlices that share a whole GPU (spec.sharing: mps, timeslice) and the
 * GPUs' MPS control daemons.
 *
 * A share is handed over without any slice on the device: its GPU must be
 * in the mode the share asks for (agent_mode.c applies modes), and for MPS
 * the GPU's one daemon must run; then the container's ConfigMap gets the
 * share's environment (mps: the GPU alone visible, the daemon's pipe and
 * log folders, CUDA_MPS_PINNED_DEVICE_MEM_LIMIT "0=<N>G" and
 * CUDA_MPS_ACTIVE_THREAD_PERCENTAGE; timeslice: the GPU alone visible),
 * and only then the status says Created with deviceUUID = the GPU's UUID.
 * A share that is released has nothing to destroy: its ConfigMap entry
 * goes and it ends (agent__slice_gone: its object, being deleted, loses
 * the agent's finalizer; one released by a Deleting status is Deleted).
 *
 * The daemon of a GPU is started by the first MPS client's decision
 * (AGENT_OP_MPS_ENSURE, before its ConfigMap and status are written), and
 * the node pass (agent__mps_pass) does the rest: it quits a daemon that
 * serves no MPS client any more, or whose GPU left mode mps; every
 * recovery period it asks each running daemon whether it answers, starting
 * one that died again and telling every client pod so with a Warning Event
 * (MPSDaemonRestarted); after an agent restart, when it knows nothing yet,
 * it keeps (or restarts) the daemons of GPUs with MPS clients and quits
 * those of GPUs without. Daemon calls run in agent_execute on the loop's
 * one thread, so one GPU's daemon calls never overlap (and a GPU with MIG
 * enabled, the only kind with MIG calls on the workers, never has a
 * daemon). A call that failed is retried after the work queue's backoff;
 * a first client whose daemon cannot be started fails (MPSDaemonFailed).
 */
#include "agent/agent_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/meta.h"
#include "api/pod_slices.h"
#include "util/alloc.h"
#include "util/backoff.h"

static enum gpunode_mode mode_for(enum pod_sharing s)
{
    return s == POD_SHARING_MPS ? GPUNODE_MODE_MPS : GPUNODE_MODE_TIMESLICE;
}

/* The inventory's GPU of share v when it is in the share's mode, or NULL
 * with why (may be NULL) saying what is wrong. */
static const struct device_gpu *gpu_in_mode(struct agent *a, const struct gpuslice_view *v,
                                            char *why, size_t size)
{
    const struct device_gpu *g = agent__gpu(a, v->spec.gpu_uuid);
    if (!g || g->index >= DEVICE_MAX_GPUS) {
        if (why)
            snprintf(why, size, "no GPU %s on node %s", v->spec.gpu_uuid, a->node);
        return NULL;
    }
    enum gpunode_mode want = mode_for(v->spec.sharing);
    if (a->modes_known && a->mode[g->index] == want)
        return g;
    if (why)
        snprintf(why, size, "GPU %s is in mode %s, not %s", g->uuid,
                 gpunode_mode_name(a->mode[g->index]), gpunode_mode_name(want));
    return NULL;
}

/* ---- the ConfigMap's env ---- */

static json_t *mps_env(struct agent *a, const struct gpuslice_view *v)
{
    struct mps_client_env env;
    if (device_mps_client_env(a->cfg.device, v->spec.gpu_uuid, v->spec.memory_gib,
                              v->spec.sm_percent, &env, NULL) < 0)
        return NULL;
    json_t *data = json_object();
    for (size_t i = 0; data && i < MPS_CLIENT_ENV_COUNT; i++)
        json_object_set_new(data, env.vars[i].name, json_string(env.vars[i].value));
    return data;
}

json_t *agent__share_env(struct agent *a, const json_t *obj)
{
    struct gpuslice_view v;
    enum slice_phase p;
    if (agent__slice_view(a, obj, &v, NULL) < 0 || v.spec.sharing == POD_SHARING_NONE ||
        lifecycle_phase_parse(v.status.phase, &p, NULL) < 0 ||
        ((p = lifecycle_seen(p, v.deleting)) != SLICE_CREATING && p != SLICE_CREATED &&
         p != SLICE_UNGATED))
        return NULL;
    const struct device_gpu *g = gpu_in_mode(a, &v, NULL, 0);
    if (!g)
        return NULL;
    if (v.spec.sharing == POD_SHARING_TIMESLICE)
        return json_pack("{s:s, s:s}", "NVIDIA_VISIBLE_DEVICES", g->uuid,
                         "CUDA_VISIBLE_DEVICES", g->uuid);
    return agent__mps(a, g->index)->state == AGENT_MPS_UP ? mps_env(a, &v) : NULL;
}

/* ---- the decisions ---- */

static int mps_op(struct action_list *out, enum agent_op op, const char *gpu_uuid,
                  const char *key, struct err *e)
{
    json_t *params = key ? json_pack("{s:s, s:s}", "gpuUUID", gpu_uuid, "key", key)
                         : json_pack("{s:s}", "gpuUUID", gpu_uuid);
    return agent__external(out, op, params, e);
}

int agent__keep_share(struct agent_decision *d, struct err *e)
{
    struct agent *a = d->a;
    char why[ERR_MSG_MAX];
    if (!a->modes_known) { /* the first node pass says which modes apply */
        agent__requeue(d, d->now + a->cfg.report_delay_ns);
        return 0;
    }
    const struct device_gpu *g = gpu_in_mode(a, &d->v, why, sizeof why);
    if (!g)
        return agent__give_up(d, agent__gpu(a, d->v.spec.gpu_uuid) ? "WrongMode" : "GPUNotFound",
                              why, e);
    const struct agent_mps *m = agent__mps(a, g->index);
    if (d->v.spec.sharing == POD_SHARING_MPS && m->state != AGENT_MPS_UP) {
        if (m->retry_at > d->now) { /* its last call failed */
            if (d->phase == SLICE_CREATING)
                return agent__give_up(d, "MPSDaemonFailed", agent__failure_msg(&m->failure), e);
            agent__requeue(d, m->retry_at);
            return 0;
        }
        agent__requeue(d, d->now);
        return mps_op(d->out, AGENT_OP_MPS_ENSURE, g->uuid, d->key, e);
    }
    int rc = agent__sync_config_map(d, false, e);
    struct gpuslice_status st = {.device_uuid = g->uuid, .boot_id = a->boot_id};
    if (rc == 0)
        rc = agent__set_status(d, d->phase == SLICE_CREATING ? SLICE_CREATED : d->phase, &st,
                               AGENT_CLEAR_WHY | AGENT_CLEAR_DEVICE, e);
    return rc;
}

int agent__remove_share(struct agent_decision *d, struct err *e)
{
    int rc = agent__sync_config_map(d, false, e);
    if (rc == 0)
        rc = agent__slice_gone(d, e);
    agent__report_soon(d->a); /* the daemon may serve nobody now */
    return rc;
}

/* ---- the node pass ---- */

int agent__claim_share(struct agent *a, struct agent_claims *c, const struct gpuslice_view *v,
                       enum slice_phase p)
{
    (void)p;
    const struct device_gpu *g = agent__gpu(a, v->spec.gpu_uuid);
    if (!g || g->index >= DEVICE_MAX_GPUS)
        return 0;
    unsigned i = g->index;
    c->shares[i]++;
    c->mps_clients[i] += v->spec.sharing == POD_SHARING_MPS;
    if (!c->clients[i] && !(c->clients[i] = json_array()))
        return -ENOMEM;
    json_t *client = json_pack("{s:s, s:s, s:s*, s:s, s:s}", "namespace", v->ns, "pod",
                               v->spec.pod_name ? v->spec.pod_name : "", "podUID",
                               v->spec.pod_uid, "container",
                               v->spec.container ? v->spec.container : "", "sharing",
                               pod_sharing_name(v->spec.sharing));
    if (client && v->spec.sharing == POD_SHARING_MPS) {
        json_object_set_new(client, "memoryGiB", json_integer(v->spec.memory_gib));
        json_object_set_new(client, "smPercent", json_integer(v->spec.sm_percent));
    }
    return client && json_array_append_new(c->clients[i], client) == 0 ? 0 : -ENOMEM;
}

/* Warning Events on the pods of GPU g's clients: their daemon died. Each
 * names its pod's uid, as an Event made from the pod itself does: kubectl
 * describe pod lists the Events whose involvedObject.uid is the pod's. */
static int tell_clients(struct agent *a, const struct device_gpu *g, const json_t *clients,
                        struct action_list *out, struct err *e)
{
    size_t i;
    const json_t *c;
    json_array_foreach(clients, i, c) {
        const char *sharing = json_string_value(json_object_get(c, "sharing"));
        if (!sharing || strcmp(sharing, "mps") != 0)
            continue;
        json_t *pod = json_pack("{s:s, s:s, s:{s:O, s:O, s:O*}}", "apiVersion", "v1", "kind",
                                "Pod", "metadata", "namespace", json_object_get(c, "namespace"),
                                "name", json_object_get(c, "pod"), "uid",
                                json_object_get(c, "podUID"));
        int rc = pod ? action_event(out, pod, ACTION_EVENT_WARNING, "MPSDaemonRestarted", e,
                                    "the MPS control daemon of GPU %s on node %s died and was "
                                    "started again: CUDA contexts made before are lost; "
                                    "restart the container's work", g->uuid, a->node)
                     : err_set(e, -ENOMEM, "agent: out of memory");
        json_decref(pod);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* What GPU g's daemon needs now: an op, or none (0). */
static enum agent_op mps_wanted(struct agent *a, const struct device_gpu *g,
                                const struct agent_claims *claims, int64_t now)
{
    const struct agent_mps *m = agent__mps(a, g->index);
    bool serves = a->mode[g->index] == GPUNODE_MODE_MPS && claims->mps_clients[g->index] > 0;
    if (g->mig_current == DEVICE_MIG_ENABLED || m->retry_at > now)
        return 0;
    if (!serves)
        return m->state == AGENT_MPS_DOWN ? 0 : AGENT_OP_MPS_STOP;
    return m->state != AGENT_MPS_UP || now >= m->next_check ? AGENT_OP_MPS_ENSURE : 0;
}

int agent__mps_pass(struct agent *a, const struct agent_claims *claims, int64_t now,
                    struct action_list *out, int64_t *requeue_at, struct err *e)
{
    int rc = 0;
    for (unsigned i = 0; rc == 0 && i < a->inv->n_gpus; i++) {
        const struct device_gpu *g = &a->inv->gpus[i];
        if (g->index >= DEVICE_MAX_GPUS)
            continue;
        const struct agent_mps *m = agent__mps(a, g->index);
        if (m->restarted) { /* a daemon was called: a->mps is there */
            a->mps[g->index].restarted = false;
            rc = tell_clients(a, g, claims->clients[g->index], out, e);
        }
        enum agent_op op = mps_wanted(a, g, claims, now);
        if (rc == 0 && op)
            rc = mps_op(out, op, g->uuid, NULL, e);
        int64_t next = m->retry_at > now ? m->retry_at
                       : m->state == AGENT_MPS_UP ? m->next_check : 0;
        if (next > now)
            loop_requeue_by(requeue_at, next);
    }
    return rc;
}

const struct agent_mps *agent__mps(const struct agent *a, unsigned gpu)
{
    static const struct agent_mps unknown = {.state = AGENT_MPS_UNKNOWN};
    return a->mps ? &a->mps[gpu] : &unknown;
}

bool agent__mps_up(const struct agent *a)
{
    for (unsigned i = 0; a->mps && i < DEVICE_MAX_GPUS; i++)
        if (a->mps[i].state == AGENT_MPS_UP)
            return true;
    return false;
}

bool agent__mps_watched(const struct agent *a)
{
    for (unsigned i = 0; a->mps && i < DEVICE_MAX_GPUS; i++)
        if (a->mps[i].retry_at || a->mps[i].restarted)
            return true;
    return agent__mps_up(a);
}

/* ---- the calls ---- */

static void set_state(struct agent *a, struct agent_mps *m, enum agent_mps_state to)
{
    if ((m->state == AGENT_MPS_UP) != (to == AGENT_MPS_UP))
        agent__count(&a->stats.mps_running, to == AGENT_MPS_UP ? 1 : (uint64_t)-1);
    m->state = to;
}

/* A call's outcome in m; lock held. */
static void note_call(struct agent *a, struct agent_mps *m, bool ensure, int rc, bool started,
                      const struct err *why, int64_t now)
{
    if (rc < 0 && !(rc == -ENOENT && !ensure)) { /* no program: no daemon of its to quit */
        agent__failure_set(&m->failure, rc, why->msg);
        const struct backoff b = AGENT_RETRY_BACKOFF;
        m->retry_at = now + backoff_delay(&b, ++m->failures);
        log_warning(a->cfg.log, "agent %s: %s; tried again after a backoff", a->node, why->msg);
        return;
    }
    agent__failure_free(&m->failure);
    m->failures = 0;
    m->retry_at = 0;
    if (!ensure) {
        agent__count(&a->stats.mps_stops, m->state != AGENT_MPS_DOWN);
        set_state(a, m, AGENT_MPS_DOWN);
        return;
    }
    if (started && m->state != AGENT_MPS_DOWN) {
        m->restarted = true; /* it was up (or may have been) and had clients */
        agent__count(&a->stats.mps_restarts, 1);
    }
    agent__count(&a->stats.mps_starts, started);
    set_state(a, m, AGENT_MPS_UP);
    m->next_check = now + a->cfg.recovery_period_ns;
}

int agent__exec_mps(struct agent *a, const json_t *params, bool ensure, struct err *e)
{
    const char *gpu_uuid = json_string_value(json_object_get(params, "gpuUUID"));
    if (!gpu_uuid)
        return err_set(e, -EINVAL, "agent: an MPS call needs gpuUUID");
    mutex_lock(&a->lock);
    const struct device_gpu *g = agent__gpu(a, gpu_uuid);
    unsigned index = g ? g->index : DEVICE_MAX_GPUS;
    mutex_unlock(&a->lock);
    if (index >= DEVICE_MAX_GPUS)
        return err_set(e, -ENODEV, "agent: no GPU %s on node %s", gpu_uuid, a->node);
    struct err why;
    err_clear(&why);
    bool started = false;
    int64_t t0 = a->cfg.now_ns(a->cfg.clock_ctx);
    int rc = ensure ? device_mps_ensure(a->cfg.device, gpu_uuid, &started, &why)
                    : device_mps_stop(a->cfg.device, gpu_uuid, &why);
    int64_t now = a->cfg.now_ns(a->cfg.clock_ctx);
    agent__metrics_device(a, ensure ? "mps-ensure" : "mps-stop", rc,
                          (uint64_t)(now > t0 ? now - t0 : 0));
    mutex_lock(&a->lock);
    agent__node_inputs_changed(a);
    if (!a->mps)
        a->mps = alloc_calloc(DEVICE_MAX_GPUS, sizeof *a->mps);
    note_call(a, &a->mps[index], ensure, rc, started, &why, now);
    mutex_unlock(&a->lock);
    if (rc < 0)
        agent__count(&a->stats.device_failures, 1);
    agent__enqueue_all(a); /* the GPU's clients and the node key look again */
    return 0;
}
