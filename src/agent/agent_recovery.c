/*
 * Recovery: what the agent does when the device and the GPUSlices disagree,
 * after a crash, a reboot or someone else's hand on the GPUs.
 *
 * Who made a slice. The device cannot label a slice, so the agent keeps the
 * answer in the GPUNode it writes: every slice it reports there carries
 * `managed`. A slice is gpuslice's when a GPUSlice of the node holds it,
 * when this process made it, or when the GPUNode written before reported it
 * managed; once managed, a slice stays managed in every later report. A
 * slice found on the device that the GPUNode does not list yet was made
 * while no report was written: a Creating GPUSlice at exactly its placement
 * takes it over (the agent made it, then restarted before writing the
 * status), but the orphan rule below never touches it.
 *
 * Orphans. A managed slice that no GPUSlice holds (none, or only Deleted or
 * Failed ones) is destroyed once it has been an orphan for the grace period,
 * measured from when this process first saw it so (a restart starts the
 * clock again: erring on the side of keeping), and its CDI spec removed. A
 * slice gpuslice did not make is left alone unless the agent is told to
 * reclaim those too; a slice of a mig-static GPU always (agent_mode.c).
 *
 * Lost slices. A Created or Ungated GPUSlice whose slice is not on the
 * device (the boot id changed, or someone destroyed it) is made again at
 * the same placement, and its status and ConfigMap get the new UUID. If
 * that fails, a Created slice is Failed with the device's reason; an Ungated
 * one cannot fail (its pod owns it; only Deleting leaves Ungated), so its
 * status loses the device UUID, says SliceLost and why, and the agent keeps
 * trying with backoff. Either way no status points at a slice that is gone.
 *
 * Slices on their way out. A GPUSlice being deleted (the controller's
 * release, or the collector's) holds its placement, as Deleting, until its
 * object is gone, and only the agent's finalizer removal lets it go, after
 * the destroy. A restart between the two finds the object still there and
 * its slice already off the device: it just loses the finalizer. A crash
 * before the destroy finds the slice there and destroys it. Either way no
 * device slice outlives its GPUSlice, and none is free to a second pod
 * before it is destroyed.
 *
 * Claims. Every node pass (each change's report, each recovery period)
 * needs the placements the node's GPUSlices hold. The slices' change
 * handler keeps each GPUSlice's latest version in a map by key, and what a
 * version says about them (not this node's, a share, or holding a
 * placement) is read once per version and memoised by the version's
 * address, a reference held so that it cannot be reused: reading every
 * slice of the node in every pass was most of a large simulation's time,
 * and listing the informer's cache and looking each version up in the
 * memo a tenth of it still. A placement memoised stays valid while the
 * GPU at its index has the same UUID and model, checked once per
 * inventory (a discovery that read the GPUs again); what depends on the
 * device (a Creating slice's take-over) is asked each pass.
 */
#include "agent/agent_internal.h"
#include "util/alloc.h"
#include "util/objkey.h"
#include "util/vec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/gpunode.h"

bool agent__phase_holds(enum slice_phase p)
{
    return p == SLICE_CREATING || p == SLICE_CREATED || p == SLICE_UNGATED ||
           p == SLICE_DELETING || p == SLICE_WARM;
}

/* How the GPUNode written before reports s: -1 not listed, else managed. */
static int reported(struct agent *a, const struct device_slice *s)
{
    json_t *obj = NULL;
    struct gpunode_view v;
    int found = -1;
    if (informer_get(a->gpunodes, NULL, a->node, &obj) < 0)
        return -1;
    if (gpunode_read(obj, &v, NULL) == 0) {
        for (size_t g = 0; g < v.n_gpus && found < 0; g++) {
            if (strcmp(v.gpus[g].uuid, s->gpu_uuid) != 0)
                continue;
            for (size_t i = 0; i < v.gpus[g].n_slices; i++) {
                const struct gpunode_slice *r = &v.gpus[g].slices[i];
                if (r->start == s->placement.start && strcmp(r->profile, s->profile) == 0)
                    found = r->managed;
            }
        }
    }
    json_decref(obj);
    return found;
}

static struct agent_place place_of_slice(const struct device_slice *s)
{
    return (struct agent_place){.gpu = s->gpu_index, .start = s->placement.start,
                                .profile_id = s->profile_id};
}

bool agent__adoptable(struct agent *a, const struct device_slice *s)
{
    struct agent_place p = place_of_slice(s);
    return agent__static(a, s->gpu_index) || agent__made(a, &p) || reported(a, s) != 0;
}

bool agent__managed(struct agent *a, const struct device_slice *s, bool claimed)
{
    struct agent_place p = place_of_slice(s);
    return claimed || agent__made(a, &p) || reported(a, s) == 1;
}

bool agent__holding(struct agent *a, const json_t *obj, struct gpuslice_view *v,
                    enum slice_phase *phase, struct agent_place *at)
{
    return agent__slice_view(a, obj, v, NULL) == 0 && strcmp(v->spec.node, a->node) == 0 &&
           lifecycle_phase_parse(v->status.phase, phase, NULL) == 0 &&
           agent__phase_holds(*phase = lifecycle_seen(*phase, v->deleting)) &&
           agent__place_of(a, v, at, NULL) == 0;
}

bool agent__other_at(struct agent *a, const struct agent_decision *d,
                     const struct agent_place *at, agent__pick_fn *pick, char *found,
                     size_t size)
{
    /* Only the GPUSlices of at's GPU can sit at it: the GPU index spares
     * reading every slice of the node, which made this scan the agent's
     * largest cost in a burst of pods. */
    json_t *all = agent__slices_on(a, at->gpu);
    if (!all)
        return false;
    bool any = false;
    size_t i;
    const json_t *obj;
    json_array_foreach(all, i, obj) {
        struct gpuslice_view v;
        enum slice_phase p;
        struct agent_place other;
        /* Most of them sit at other memory slices: spec.start says so
         * before a full read. (One without a start, a share of a whole
         * GPU, is read: it holds no slice.) */
        const json_t *start = json_object_get(json_object_get(obj, "spec"), "start");
        if (start &&
            (!json_is_integer(start) || json_integer_value(start) != (json_int_t)at->start))
            continue;
        if (!agent__holding(a, obj, &v, &p, &other) ||
            (strcmp(v.name, d->v.name) == 0 && strcmp(v.ns, d->v.ns) == 0) ||
            other.gpu != at->gpu || other.start != at->start || !pick(d, obj, &v, p, &other))
            continue;
        if (found)
            objkey_join(found, size, v.ns, v.name);
        any = true;
        break;
    }
    json_decref(all);
    return any;
}

void agent__claim_memo_drop(void *memo)
{
    struct agent_claim_memo *m = memo;
    json_decref(m->obj);
    json_decref(m->cur);
}

void agent__claim_note(struct agent *a, const char *key, const json_t *cur, bool gone)
{
    agent__node_inputs_changed(a);
    if (gone) {
        strmap_del(&a->claim_memo, key);
        return;
    }
    struct agent_claim_memo *m = strmap_put(&a->claim_memo, key, NULL);
    if (m->cur != cur) {
        json_decref(m->cur);
        m->cur = json_incref((json_t *)cur);
    }
}

/* Reads what m's current version says about claims into m; false when that
 * depends on the inventory in a way the memo cannot check (no GPU or
 * profile found yet). */
static bool claim_read(struct agent *a, struct agent_claim_memo *m)
{
    struct gpuslice_view v;
    m->kind = AGENT_CLAIM_NONE;
    if (agent__slice_view(a, m->cur, &v, NULL) != 0 || strcmp(v.spec.node, a->node) != 0 ||
        lifecycle_phase_parse(v.status.phase, &m->phase, NULL) != 0 ||
        !agent__phase_holds(m->phase = lifecycle_seen(m->phase, v.deleting)))
        return true;
    if (v.spec.sharing != POD_SHARING_NONE) {
        m->kind = AGENT_CLAIM_SHARE;
        return true;
    }
    if (agent__place_of(a, &v, &m->at, NULL) != 0)
        return false;
    m->kind = AGENT_CLAIM_HOLDS;
    m->gpu_uuid = v.spec.gpu_uuid;
    m->model = agent__gpu_at(a, m->at.gpu)->model;
    m->inv_gen = a->inv_gen;
    return true;
}

/* Whether m still says what its version says: the GPU it was placed on is
 * the one at its index, which only a new inventory can change (checked
 * once per inventory, not per pass: a pass of a node of many slices
 * compared a GPU UUID per slice). */
static bool claim_valid(struct agent *a, struct agent_claim_memo *m)
{
    if (m->obj != m->cur)
        return false;
    if (m->kind != AGENT_CLAIM_HOLDS || m->inv_gen == a->inv_gen)
        return true;
    const struct device_gpu *g = agent__gpu_at(a, m->at.gpu);
    if (!g || g->model != m->model || strcmp(g->uuid, m->gpu_uuid) != 0)
        return false;
    m->inv_gen = a->inv_gen;
    return true;
}

/* What m's current version says about claims, read when it was not read
 * before (or what it read depends on a GPU that changed). */
static void claim_of(struct agent *a, struct agent_claim_memo *m)
{
    if (claim_valid(a, m))
        return;
    json_decref(m->obj);
    m->obj = claim_read(a, m) ? json_incref(m->cur) : NULL;
}

/* A share's claim needs its view. */
static int claim_share(struct agent *a, struct agent_claims *out, const json_t *obj,
                       enum slice_phase phase)
{
    struct gpuslice_view v;
    if (agent__slice_view(a, obj, &v, NULL) != 0)
        return 0;
    return agent__claim_share(a, out, &v, phase);
}

static int by_key(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The shares' claims in the order of their keys: the GPUNode lists each
 * GPU's clients in it, and the map's order moves as keys come and go. */
static int claim_shares(struct agent *a, struct agent_claims *out, const char **keys, size_t n)
{
    qsort(keys, n, sizeof *keys, by_key);
    for (size_t i = 0; i < n; i++) {
        const struct agent_claim_memo *m = strmap_get(&a->claim_memo, keys[i]);
        if (claim_share(a, out, m->cur, m->phase) < 0)
            return -ENOMEM;
    }
    return 0;
}

int agent__claims_load(struct agent *a, struct agent_claims *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    size_t n = strmap_size(&a->claim_memo), n_shares = 0, pos = 0;
    out->items = alloc_calloc(n + 1, sizeof *out->items);
    const char **shares = alloc_calloc(n + 1, sizeof *shares);
    const char *key;
    void *value;
    while (strmap_next(&a->claim_memo, &pos, &key, &value)) {
        struct agent_claim_memo *m = value;
        claim_of(a, m);
        if (m->kind == AGENT_CLAIM_SHARE)
            shares[n_shares++] = key;
        if (m->kind != AGENT_CLAIM_HOLDS)
            continue;
        /* A Creating slice holds only what it may take over. */
        const struct device_slice *s = agent__slice_at(a, m->at.gpu, m->at.start);
        if (m->phase == SLICE_CREATING && s && s->profile_id == m->at.profile_id &&
            !agent__adoptable(a, s))
            continue;
        out->items[out->n++] = m->at;
    }
    int rc = claim_shares(a, out, shares, n_shares);
    free(shares);
    if (rc < 0) {
        agent__claims_free(out);
        return err_set(e, -ENOMEM, "agent: out of memory");
    }
    return 0;
}

void agent__claims_free(struct agent_claims *c)
{
    free(c->items);
    for (size_t i = 0; i < DEVICE_MAX_GPUS; i++)
        json_decref(c->clients[i]);
    memset(c, 0, sizeof *c);
}

bool agent__claimed(const struct agent_claims *c, const struct device_slice *s)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->items[i].gpu == s->gpu_index && c->items[i].start == s->placement.start &&
            c->items[i].profile_id == s->profile_id)
            return true;
    return false;
}

/* ---- lost slices ---- */

int agent__recreate(struct agent_decision *d, const struct agent_place *at, struct err *e)
{
    return agent__device_op(d, AGENT_OP_CREATE, at, d->v.spec.profile, true, e);
}

int agent__recreate_failed(struct agent_decision *d, struct agent_note *n,
                           const struct agent_place *at, struct err *e)
{
    if (d->phase != SLICE_UNGATED)
        return agent__give_up(d, agent__reason_of(n->create.code),
                              agent__failure_msg(&n->create), e);
    /* Said once: a status rewritten on every retry would retry at once. */
    int rc = 0;
    if (!d->v.status.reason || strcmp(d->v.status.reason, "SliceLost") != 0) {
        char msg[ERR_MSG_MAX + 64];
        snprintf(msg, sizeof msg, "the slice is gone and making it again failed: %s",
                 agent__failure_msg(&n->create));
        rc = agent__give_up(d, "SliceLost", msg, e);
    }
    n->create.code = 0; /* try again; a failure backs the key off */
    return rc < 0 ? rc : agent__recreate(d, at, e);
}

/* ---- orphans ---- */

static struct agent_orphan *orphan_entry(struct agent *a, const struct device_slice *s,
                                         int64_t now)
{
    struct agent_place p = place_of_slice(s);
    for (size_t i = 0; i < a->n_orphans; i++) {
        struct agent_orphan *o = &a->orphans[i];
        if (o->at.gpu == p.gpu && o->at.start == p.start && o->at.profile_id == p.profile_id)
            return o;
    }
    VEC_RESERVE(a->orphans, a->cap_orphans, a->n_orphans + 1);
    a->orphans[a->n_orphans] = (struct agent_orphan){.at = p, .since = now};
    return &a->orphans[a->n_orphans++];
}

/* Forgets the orphans that were not seen in this pass. */
static void orphans_sweep(struct agent *a)
{
    size_t kept = 0;
    for (size_t i = 0; i < a->n_orphans; i++)
        if (a->orphans[i].seen) {
            a->orphans[i].seen = false;
            a->orphans[kept++] = a->orphans[i];
        }
    a->n_orphans = kept;
}

int agent__recover_orphans(struct agent *a, const struct agent_claims *claims, int64_t now,
                           struct action_list *out, int64_t *requeue_at, struct err *e)
{
    int rc = 0;
    for (unsigned i = 0; rc == 0 && i < a->dev->n; i++) {
        const struct device_slice *s = &a->dev->items[i];
        if (agent__claimed(claims, s) || agent__static(a, s->gpu_index) ||
            (!agent__managed(a, s, false) && !a->cfg.reclaim_unmanaged))
            continue;
        struct agent_orphan *o = orphan_entry(a, s, now);
        if (!o) {
            rc = err_set(e, -ENOMEM, "agent: out of memory");
            break;
        }
        o->seen = true;
        int64_t due = o->since + a->cfg.orphan_grace_ns;
        if (o->retry_at > due)
            due = o->retry_at;
        int64_t running = agent__pending_until(a, s->gpu_index, s->placement.start, now);
        if (due > now || running) { /* a running call queues the node key when done */
            if (running != AGENT_RUNNING)
                loop_requeue_by(requeue_at, running ? running : due);
            continue;
        }
        loop_requeue_by(requeue_at, now);
        rc = agent__external(out, AGENT_OP_DESTROY,
                             json_pack("{s:s, s:s, s:i}", "gpuUUID", s->gpu_uuid, "profile",
                                       s->profile, "start", (int)s->placement.start),
                            e);
        if (rc == 0 && a->cfg.cdi_dir) { /* its GPUSlice went without Deleting */
            char path[AGENT_PATH_MAX];
            agent__cdi_path(a, s->gpu_uuid, s->placement.start, path, sizeof path);
            rc = agent__external(out, AGENT_OP_REMOVE_CDI, json_pack("{s:s}", "path", path), e);
        }
    }
    orphans_sweep(a);
    return rc;
}
