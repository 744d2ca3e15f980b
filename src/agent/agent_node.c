/*
 * The node key (AGENT_KEY_NODE): discovery, the node's reports, recovery.
 *
 * It discovers the GPUs when the agent has no inventory, when the boot id
 * changed (MIG modes change at a reboot), and every recovery period, which
 * is also when a slice that vanished or appeared is noticed. Then it writes
 * what changed of
 *   - the GPUNode's status: the boot id, every GPU, the mode the agent
 *     applies to it and whether a change waits (agent_mode.c), and the
 *     slices on it, each marked managed or not (agent_recovery.c says who
 *     made a slice; none on a mig-static GPU is gpuslice's);
 *   - the Node's status: the accelerator memory of its MIG-enabled GPUs
 *     and of those shared whole (mps, timeslice: their pods ask for it too) as
 *     the extended resource gpuslice.dev/accelerator-memory, in GiB, in
 *     capacity and allocatable (written once, not per allocation:
 *     docs/architecture.md);
 * and destroys the orphans whose grace is over. It comes back at the next
 * recovery period, or sooner when an orphan's grace ends. A change (a
 * device call done, a GPUSlice changing phase) brings it back within the
 * report period, or the shorter report delay while something waits on the
 * pass (agent__report_later), not at once: the changes of a burst share
 * one pass and one GPUNode write. A pass whose report is made of the
 * same view as the last one found already written, over the same GPUNode
 * version, makes no status to compare (most recovery passes), and a status
 * built shares the entries of the GPUs that did not change with the one
 * before (agent_report.h).
 *
 * A periodic pass that would repeat a quiet one is skipped: the pass is a
 * function of what it reads (counted by agent__node_inputs_changed: the
 * GPUSlices' claims, the GPUNode and the Node as cached, the slices and
 * GPUs as read, the device calls and their outcomes, the MPS daemons) and
 * of the time only through the orphans' grace and backoff and the MPS
 * daemons' checks, each of which asks for an earlier pass. So a pass that
 * asked for nothing, for no earlier pass and tracked no orphan, over the
 * same inputs, asks for nothing again. Most passes of an idle node are
 * such (17,953 of 22,539 on scale-xs: 3.7 % of its instructions).
 */
#include "agent/agent_internal.h"

#include <stdio.h>
#include <string.h>

#include "api/gpunode.h"
#include "api/meta.h"
#include "api/pod_slices.h"
#include "util/jdoc.h"

static const char *mig_mode_name(enum device_mig_mode m)
{
    return m == DEVICE_MIG_ENABLED ? "Enabled" : m == DEVICE_MIG_DISABLED ? "Disabled"
                                                                          : "Unsupported";
}

/* The view of what the device showed last, the GPUNode status's source. */
static void gpunode_view_of(struct agent *a, const struct agent_claims *claims,
                            struct gpunode_view *v)
{
    *v = (struct gpunode_view){.name = a->node, .boot_id = a->boot_id};
    if (a->mode_pending[0]) {
        v->mode_pending = a->mode_pending;
        v->mode_pending_since = a->mode_pending_since[0] ? a->mode_pending_since : NULL;
    }
    for (unsigned i = 0; i < a->inv->n_gpus && i < GPUNODE_MAX_GPUS; i++) {
        const struct device_gpu *g = &a->inv->gpus[i];
        struct gpunode_gpu *out = &v->gpus[v->n_gpus++];
        *out = (struct gpunode_gpu){
            .index = g->index, .uuid = g->uuid, .product = g->product,
            .model = g->model ? g->model->name : "", .mig_mode = mig_mode_name(g->mig_current),
            .memory_mib = (unsigned)g->memory_mib,
        };
        bool fixed = agent__static(a, g->index);
        if (a->modes_known && g->index < DEVICE_MAX_GPUS &&
            (g->mig_current == DEVICE_MIG_ENABLED || !gpunode_mode_mig(a->mode[g->index]))) {
            out->has_active = true;
            out->active = a->mode[g->index];
        }
        if (g->index < DEVICE_MAX_GPUS)
            out->clients = claims->clients[g->index];
        for (unsigned k = 0; k < a->dev->n && out->n_slices < GPUNODE_MAX_SLICES; k++) {
            const struct device_slice *s = &a->dev->items[k];
            if (s->gpu_index != g->index)
                continue;
            out->slices[out->n_slices++] = (struct gpunode_slice){
                .profile = s->profile, .start = s->placement.start, .size = s->placement.size,
                .gi_id = s->gi_id, .ci_id = s->ci_id, .device_uuid = s->uuid[0] ? s->uuid : NULL,
                .managed = !fixed && agent__managed(a, s, agent__claimed(claims, s)),
            };
        }
    }
}

static int write_gpunode(struct agent *a, const struct agent_claims *claims,
                         struct action_list *out, struct err *e)
{
    int rc = 0;
    struct gpunode_view v;
    gpunode_view_of(a, claims, &v);
    agent_report_view(&a->report, &v);
    json_t *cached = NULL;
    informer_get(a->gpunodes, NULL, a->node, &cached);
    const char *rv = cached ? meta_resource_version(cached) : NULL;
    agent_report_landed(&a->report, cached, rv);
    if (agent_report_unchanged(&a->report, rv)) {
        json_decref(cached);
        return 0;
    }
    json_t *status = agent_report_status(&a->report, &v);
    if (!status) {
        json_decref(cached);
        return err_set(e, -ENOMEM, "agent: out of memory");
    }
    /* Over the version the last view was found written at, another view
     * is another status: only a version not seen needs comparing. */
    if (cached && !agent_report_seen(&a->report, rv) &&
        json_equal(json_object_get(cached, "status"), status)) {
        agent_report_written(&a->report, rv);
        json_decref(status);
        json_decref(cached);
        return 0;
    }
    json_t *obj;
    if (cached) {
        /* nothing of the cached one is copied: the status is replaced */
        obj = meta_copy_for_write(cached, NULL);
        json_decref(cached);
    } else {
        /* A custom resource's status is not written on create: create it,
         * then write the status without a version precondition (the agent
         * is its status's only writer). */
        json_t *fresh = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{}}", "apiVersion",
                                  GPUSLICE_API_VERSION, "kind", GPUNODE_KIND, "metadata", "name",
                                  a->node, "labels", AGENT_LABEL_NODE, a->node, "spec");
        rc = fresh ? action_create(out, a->res_gpunodes, NULL, fresh, e)
                   : err_set(e, -ENOMEM, "agent: out of memory");
        obj = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", GPUSLICE_API_VERSION, "kind",
                        GPUNODE_KIND, "metadata", "name", a->node);
    }
    if (rc < 0 || !obj) {
        json_decref(obj);
        json_decref(status);
        return rc < 0 ? rc : err_set(e, -ENOMEM, "agent: out of memory");
    }
    jdoc_set(obj, "status", status);
    agent_report_sent(&a->report, status);
    return action_update_status(out, a->res_gpunodes, obj, e);
}

/* The Node's capacity and allocatable of accelerator memory, when the Node
 * exists (the agent never creates it). */
static int write_node(struct agent *a, struct action_list *out, struct err *e)
{
    json_t *cached = NULL;
    if (informer_get(a->nodes, NULL, a->node, &cached) < 0)
        return 0;
    uint64_t mib = 0;
    for (unsigned i = 0; i < a->inv->n_gpus; i++) {
        const struct device_gpu *g = &a->inv->gpus[i];
        bool shared = a->modes_known && g->index < DEVICE_MAX_GPUS &&
                      (a->mode[g->index] == GPUNODE_MODE_MPS ||
                       a->mode[g->index] == GPUNODE_MODE_TIMESLICE);
        if (g->mig_current == DEVICE_MIG_ENABLED || shared)
            mib += g->memory_mib;
    }
    char gib[24];
    snprintf(gib, sizeof gib, "%llu", (unsigned long long)(mib / 1024));
    const json_t *st = json_object_get(cached, "status");
    const char *cap = json_string_value(
        json_object_get(json_object_get(st, "capacity"), GPUSLICE_RESOURCE_MEMORY));
    const char *alloc = json_string_value(
        json_object_get(json_object_get(st, "allocatable"), GPUSLICE_RESOURCE_MEMORY));
    if (cap && alloc && strcmp(cap, gib) == 0 && strcmp(alloc, gib) == 0) {
        json_decref(cached);
        return 0;
    }
    json_t *obj = meta_copy_for_write(cached, "status");
    json_decref(cached);
    json_t *status = obj ? json_object_get(obj, "status") : NULL;
    if (obj && !json_is_object(status)) {
        status = json_object();
        jdoc_set(obj, "status", status);
    }
    int rc = obj && status ? 0 : -ENOMEM;
    static const char *const lists[] = {"capacity", "allocatable"};
    for (size_t i = 0; rc == 0 && i < 2; i++) {
        json_t *list = json_object_get(status, lists[i]);
        if (!json_is_object(list)) {
            list = json_object();
            if (json_object_set_new(status, lists[i], list) < 0)
                rc = -ENOMEM;
        }
        if (rc == 0 && json_object_set_new(list, GPUSLICE_RESOURCE_MEMORY, json_string(gib)) < 0)
            rc = -ENOMEM;
    }
    if (rc < 0) {
        json_decref(obj);
        return err_set(e, rc, "agent: out of memory");
    }
    return action_update_status(out, a->res_nodes, obj, e);
}

void agent__node_inputs_changed(struct agent *a)
{
    a->node_inputs++;
}

/* The pass that ran (rc, adding to out from n_out on, asking for requeue_at)
 * found nothing to do, nor anything to come back for before the next
 * recovery period; with the modes known before it began, the next pass over
 * the same inputs is the same pass. */
static void note_quiet(struct agent *a, bool modes_known, int rc, const struct action_list *out,
                       size_t n_out, int64_t requeue_at)
{
    bool quiet = modes_known && rc == 0 && out->n == n_out && a->n_orphans == 0 &&
                 requeue_at == a->next_discovery && !agent__mps_watched(a);
    a->node_quiet_at = quiet ? a->node_inputs + 1 : 0;
}

int agent__reconcile_node(struct agent *a, int64_t now, struct action_list *out,
                          int64_t *requeue_at, struct err *e)
{
    if (a->node_busy_until > now) {
        *requeue_at = a->node_busy_until;
        return 0;
    }
    if (!a->have_inventory || a->need_discovery || now >= a->next_discovery) {
        *requeue_at = now;
        return agent__external(out, AGENT_OP_DISCOVER, json_object(), e);
    }
    *requeue_at = a->next_discovery;
    if (a->node_quiet_at == a->node_inputs + 1) { /* the last pass again: nothing to do */
        agent__count(&a->stats.node_passes_repeated, 1);
        return 0;
    }
    bool modes_known = a->modes_known;
    size_t n_out = out->n;
    /* Loaded once: the report and the recovery pass read the same claims. */
    struct agent_claims claims;
    int rc = agent__claims_load(a, &claims, e);
    if (rc == 0)
        rc = agent__apply_modes(a, &claims, now, out, e);
    if (rc == 0)
        rc = write_gpunode(a, &claims, out, e);
    if (rc == 0)
        rc = write_node(a, out, e);
    if (rc == 0)
        rc = agent__recover_orphans(a, &claims, now, out, requeue_at, e);
    if (rc == 0)
        rc = agent__mps_pass(a, &claims, now, out, requeue_at, e);
    agent__claims_free(&claims);
    note_quiet(a, modes_known, rc, out, n_out, *requeue_at);
    return rc;
}
