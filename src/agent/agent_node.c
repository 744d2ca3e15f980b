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
 * version, makes no status to compare (most recovery passes).
 */
#include "agent/agent_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/gpunode.h"
#include "api/meta.h"
#include "api/pod_slices.h"
#include "util/jdoc.h"
#include "util/vec.h"

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

static void fp_bytes(struct agent_report_memo *m, const void *p, size_t n)
{
    VEC_RESERVE(m->scratch, m->scratch_cap, m->scratch_len + n);
    memcpy(m->scratch + m->scratch_len, p, n);
    m->scratch_len += n;
}

static void fp_str(struct agent_report_memo *m, const char *s)
{
    if (s)
        fp_bytes(m, s, strlen(s) + 1);
    else
        fp_bytes(m, "\xff", 1); /* NULL, apart from "" */
}

static void fp_uint(struct agent_report_memo *m, unsigned long u)
{
    fp_bytes(m, &u, sizeof u);
}

/* A shared GPU's clients, as their JSON text (NULL apart from []). */
static void fp_clients(struct agent_report_memo *m, const json_t *clients)
{
    char *text = clients ? json_dumps(clients, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    fp_str(m, text);
    free(text);
}

/* Every field of v, as bytes, into m's scratch: equal bytes, equal status
 * (gpunode_status_new reads nothing else). */
static void fingerprint(struct agent_report_memo *m, const struct gpunode_view *v)
{
    m->scratch_len = 0;
    fp_str(m, v->name);
    fp_str(m, v->boot_id);
    fp_str(m, v->mode_pending);
    fp_str(m, v->mode_pending_since);
    fp_uint(m, v->n_gpus);
    for (size_t i = 0; i < v->n_gpus; i++) {
        const struct gpunode_gpu *g = &v->gpus[i];
        fp_uint(m, g->index);
        fp_str(m, g->uuid);
        fp_str(m, g->product);
        fp_str(m, g->model);
        fp_str(m, g->mig_mode);
        fp_uint(m, g->memory_mib);
        fp_uint(m, g->has_active ? 1u + (unsigned)g->active : 0);
        fp_clients(m, g->clients);
        fp_uint(m, g->n_slices);
        for (size_t k = 0; k < g->n_slices; k++) {
            const struct gpunode_slice *s = &g->slices[k];
            fp_str(m, s->profile);
            fp_uint(m, s->start);
            fp_uint(m, s->size);
            fp_uint(m, s->gi_id);
            fp_uint(m, s->ci_id);
            fp_str(m, s->device_uuid);
            fp_uint(m, s->managed);
        }
    }
}

/* Whether the view in m's scratch is the one last found written, over the
 * same version of the GPUNode. */
static bool report_unchanged(const struct agent_report_memo *m, const char *rv)
{
    return rv && m->bytes && m->len == m->scratch_len && strcmp(m->rv, rv) == 0 &&
           memcmp(m->bytes, m->scratch, m->len) == 0;
}

/* The view of n bytes was found written at version rv. */
static void report_written(struct agent_report_memo *m, const char *view, size_t n,
                           const char *rv)
{
    VEC_RESERVE(m->bytes, m->cap, n);
    memcpy(m->bytes, view, n);
    m->len = n;
    snprintf(m->rv, sizeof m->rv, "%s", rv ? rv : "");
}

/* The status made of the view in m's scratch goes out in a write. */
static void report_sent(struct agent_report_memo *m, json_t *status)
{
    VEC_RESERVE(m->sent, m->sent_cap, m->scratch_len);
    memcpy(m->sent, m->scratch, m->scratch_len);
    m->sent_len = m->scratch_len;
    json_decref(m->sent_status);
    m->sent_status = json_incref(status);
}

/* When the cached version's status is the very object last sent (a store
 * in this process keeps what it is given), that write landed: its view
 * counts as found written there, so the pass after one's own write builds
 * no status to compare. A reference is held on what was sent so that its
 * address cannot be reused meanwhile. */
static void report_landed(struct agent_report_memo *m, const json_t *cached, const char *rv)
{
    if (!m->sent_status || json_object_get(cached, "status") != m->sent_status || !rv ||
        strlen(rv) >= sizeof m->rv)
        return;
    report_written(m, m->sent, m->sent_len, rv);
    json_decref(m->sent_status);
    m->sent_status = NULL;
}

static int write_gpunode(struct agent *a, const struct agent_claims *claims,
                         struct action_list *out, struct err *e)
{
    int rc = 0;
    struct gpunode_view v;
    gpunode_view_of(a, claims, &v);
    fingerprint(&a->report, &v);
    json_t *cached = NULL;
    informer_get(a->gpunodes, NULL, a->node, &cached);
    const char *rv = cached ? meta_resource_version(cached) : NULL;
    report_landed(&a->report, cached, rv);
    if (report_unchanged(&a->report, rv)) {
        json_decref(cached);
        return 0;
    }
    json_t *status = gpunode_status_new(&v);
    if (!status) {
        json_decref(cached);
        return err_set(e, -ENOMEM, "agent: out of memory");
    }
    /* Over the version the last view was found written at, another view
     * is another status: only a version not seen needs comparing. */
    bool seen = rv && a->report.bytes && strcmp(a->report.rv, rv) == 0;
    if (cached && !seen && json_equal(json_object_get(cached, "status"), status)) {
        if (rv && strlen(rv) < sizeof a->report.rv)
            report_written(&a->report, a->report.scratch, a->report.scratch_len, rv);
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
    report_sent(&a->report, status);
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
    return rc;
}
