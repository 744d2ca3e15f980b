/*
 * The GPUs' modes (GPUNode spec.gpus[].mode): which one the agent applies,
 * when a change waits, and who gets a slice of a mig-static GPU.
 *
 * The mode applied is the agent's to decide, because it is the agent that
 * creates and destroys: it follows spec as soon as gpuslice holds nothing
 * on the GPU (no GPUSlice of the node claims a slice there and, in mode
 * mig, no slice gpuslice made is left on it), and until then keeps the
 * mode it had, says so in the GPUNode's status (mode per GPU, and the
 * condition ModeChangePending) and with an Event on the GPUNode. The
 * controller reads both and puts no new slice on a GPU whose change
 * waits, so a busy GPU empties. The mode applied is kept in memory for
 * the slice decisions and written to status (the system of record, read
 * back after a restart).
 *
 * Sharing a whole GPU (mps, timeslice) and whole need MIG off: on a GPU
 * with MIG enabled they are refused, the GPU keeps its MIG mode, and the
 * refusal is said in the same condition's message (ModeChangePending:
 * the change waits for MIG to be disabled, which is the admin's, never
 * the agent's) and in a Warning Event ModeRefused. On a GPU without MIG
 * enabled the agent applies mps, timeslice and whole, and a change waits
 * until none of gpuslice's shares is left there (agent_share.c quits an
 * MPS daemon that serves nobody); mig and mig-static mean nothing there
 * and are not reported.
 *
 * On a mig-static GPU every slice is the admin's: reported managed false,
 * never destroyed, handed to a GPUSlice that names it. Two GPUSlices may
 * name one slice (two controllers, a controller behind its cache): the
 * agent, the one writer of its node's slice statuses, gives it to one,
 * the holder: a GPUSlice already past Creating, else the oldest Creating
 * one (creation time, then namespace/name); the others fail with
 * SliceTaken and their pods are placed again.
 */
#include "agent/agent_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/gpunode.h"
#include "api/meta.h"

/* The GPUNode's view of the inventory's GPU gpu, or NULL. */
static const struct gpunode_gpu *reported_gpu(const struct gpunode_view *v, const char *uuid)
{
    for (size_t i = 0; v && i < v->n_gpus; i++)
        if (strcmp(v->gpus[i].uuid, uuid) == 0)
            return &v->gpus[i];
    return NULL;
}

bool agent__static(struct agent *a, unsigned gpu)
{
    if (gpu >= DEVICE_MAX_GPUS)
        return false;
    if (a->modes_known)
        return a->mode[gpu] == GPUNODE_MODE_MIG_STATIC;
    /* Before the first node pass: what status says was applied. */
    const struct device_gpu *g = agent__gpu_at(a, gpu);
    json_t *obj = NULL;
    struct gpunode_view v;
    bool fixed = false;
    if (g && informer_get(a->gpunodes, NULL, a->node, &obj) == 0 &&
        gpunode_read(obj, &v, NULL) == 0) {
        const struct gpunode_gpu *r = reported_gpu(&v, g->uuid);
        fixed = r && r->has_active && r->active == GPUNODE_MODE_MIG_STATIC;
    }
    json_decref(obj);
    return fixed;
}

/* How many of gpuslice's slices are on g now, in the mode applied. */
static unsigned held_on(struct agent *a, const struct agent_claims *claims,
                        const struct device_gpu *g, enum gpunode_mode applied)
{
    unsigned n = g->index < DEVICE_MAX_GPUS ? claims->shares[g->index] : 0;
    for (size_t i = 0; i < claims->n; i++)
        n += claims->items[i].gpu == g->index;
    for (unsigned k = 0; applied == GPUNODE_MODE_MIG && k < a->dev->n; k++) {
        const struct device_slice *s = &a->dev->items[k];
        n += s->gpu_index == g->index && !agent__claimed(claims, s) &&
             agent__managed(a, s, false);
    }
    return n;
}

/* Appends "; " and the formatted text to buf[size]. */
static void say_more(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say_more(char *buf, size_t size, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used && used + 2 < size) {
        strcpy(buf + used, "; ");
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    if (used < size)
        vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

/* The mode to apply to g, given the wish of gpunode's spec (none: mig) and what is
 * applied. */
static enum gpunode_mode decide(struct agent *a, const struct agent_claims *claims,
                                const struct device_gpu *g, const json_t *gpunode,
                                const struct gpunode_gpu *r, char *pending, size_t size,
                                char *changed, size_t csize, char *refused, size_t rsize)
{
    enum gpunode_mode wish = gpunode_wanted_mode(gpunode, g->uuid);
    enum gpunode_mode applied = a->mode[g->index];
    bool mig = g->mig_current == DEVICE_MIG_ENABLED;
    bool refuse = mig && !gpunode_mode_mig(wish);
    if (refuse) {
        say_more(refused, rsize, "GPU %u (%s): mode %s refused while MIG is enabled on it "
                 "(an admin disables MIG: nvidia-smi -i %u -mig 0, then a GPU reset)", g->index,
                 g->uuid, gpunode_mode_name(wish), g->index);
        wish = GPUNODE_MODE_MIG;
    }
    if (!a->modes_known) /* status says what was applied; never reported: nothing held */
        applied = r && r->has_active ? r->active
                  : mig && held_on(a, claims, g, GPUNODE_MODE_MIG) ? GPUNODE_MODE_MIG
                                                                   : wish;
    if (refuse && gpunode_mode_mig(applied)) /* a mig-static GPU stays one */
        wish = applied;
    if (wish == applied)
        return applied;
    unsigned held = held_on(a, claims, g, applied);
    if (held == 0) {
        say_more(changed, csize, "GPU %u (%s): mode %s applied", g->index, g->uuid,
                 gpunode_mode_name(wish));
        return wish;
    }
    say_more(pending, size, "GPU %u (%s): mode %s waits until gpuslice's %u slice%s there "
             "%s gone (no new slices go there meanwhile)", g->index, g->uuid,
             gpunode_mode_name(wish), held, held == 1 ? "" : "s", held == 1 ? "is" : "are");
    return applied;
}

/* Whether obj, the GPUNode, reads; into *v only while the modes are not
 * known, the one time the view is used (what status says was applied).
 * After that a read that succeeded is remembered as long as spec is the
 * same object (a store in this process shares what a status write leaves
 * alone), since the status is the agent's own: reading the whole GPUNode
 * on every node pass, and then at each of its own writes, was a tenth of a
 * large simulation. A failed read is not remembered: it may have failed on
 * a status someone else wrote, which the agent's next report replaces
 * under the same spec, and remembering it would ignore that spec's wishes
 * until spec changed. */
static bool gpunode_readable(struct agent *a, const json_t *obj, struct gpunode_view *v)
{
    json_t *spec = json_object_get(obj, "spec");
    if (a->modes_known && spec && spec == a->gpunode_seen.spec)
        return true;
    bool ok = gpunode_read(obj, v, NULL) == 0;
    json_decref(a->gpunode_seen.spec);
    a->gpunode_seen.spec = ok ? json_incref(spec) : NULL;
    return ok;
}

int agent__apply_modes(struct agent *a, const struct agent_claims *claims, int64_t now,
                       struct action_list *out, struct err *e)
{
    json_t *obj = NULL;
    struct gpunode_view v;
    bool have = informer_get(a->gpunodes, NULL, a->node, &obj) == 0 &&
                gpunode_readable(a, obj, &v);
    bool viewed = have && !a->modes_known; /* v was read */
    char pending[sizeof a->mode_pending] = "", changed[ERR_MSG_MAX] = "";
    char refused[sizeof a->mode_refused] = "";
    /* A GPUNode whose spec lists no GPU (most) wants mig of each: asked
     * once per pass, not with two lookups per GPU (a tenth of the node
     * pass's cost at every recovery period). */
    const json_t *wishes =
        have && json_array_size(json_object_get(json_object_get(obj, "spec"), "gpus")) ? obj
                                                                                      : NULL;
    for (unsigned i = 0; i < a->inv->n_gpus; i++) {
        const struct device_gpu *g = &a->inv->gpus[i];
        if (g->index >= DEVICE_MAX_GPUS)
            continue;
        const struct gpunode_gpu *r = viewed ? reported_gpu(&v, g->uuid) : NULL;
        a->mode[g->index] = decide(a, claims, g, wishes, r, pending, sizeof pending,
                                   changed, sizeof changed, refused, sizeof refused);
    }
    if (refused[0])
        say_more(pending, sizeof pending, "%s", refused);
    if (viewed && v.mode_pending && strcmp(v.mode_pending, pending) == 0) {
        /* A restart: the condition and its Event are already there. */
        snprintf(a->mode_pending, sizeof a->mode_pending, "%s", pending);
        snprintf(a->mode_pending_since, sizeof a->mode_pending_since, "%s",
                 v.mode_pending_since ? v.mode_pending_since : "");
    }
    a->modes_known = true;
    int rc = 0;
    if (changed[0] && obj)
        rc = action_event(out, obj, ACTION_EVENT_NORMAL, "ModeChanged", NULL, "%s", changed);
    if (rc == 0 && refused[0] && obj && strcmp(refused, a->mode_refused) != 0)
        rc = action_event(out, obj, ACTION_EVENT_WARNING, "ModeRefused", NULL, "%s", refused);
    snprintf(a->mode_refused, sizeof a->mode_refused, "%s", refused);
    if (strcmp(pending, a->mode_pending) != 0) {
        if (!a->mode_pending[0] || !pending[0])
            meta_format_time(now, a->mode_pending_since);
        snprintf(a->mode_pending, sizeof a->mode_pending, "%s", pending);
        if (rc == 0 && pending[0] && obj)
            rc = action_event(out, obj, ACTION_EVENT_NORMAL, "ModeChangePending", NULL, "%s",
                              pending);
    }
    json_decref(obj);
    return rc < 0 ? err_prefix(e, rc, "agent: ") : 0;
}

/* ---- who holds a slice that exists already (mig-static, warm) ---- */

static const char *created_at(const json_t *obj)
{
    const char *t = json_string_value(
        json_object_get(json_object_get(obj, "metadata"), "creationTimestamp"));
    return t ? t : "";
}

/* Whether GPUSlice x comes before y for one slice: past Creating first,
 * then the older, then by namespace/name. */
static bool before(const json_t *x, enum slice_phase px, const json_t *y, enum slice_phase py)
{
    if ((px != SLICE_CREATING) != (py != SLICE_CREATING))
        return px != SLICE_CREATING;
    int c = strcmp(created_at(x), created_at(y));
    if (c != 0)
        return c < 0;
    const char *nx = meta_namespace(x), *ny = meta_namespace(y);
    c = strcmp(nx ? nx : "", ny ? ny : "");
    return c != 0 ? c < 0 : strcmp(meta_name(x), meta_name(y)) < 0;
}

/* A GPUSlice that keeps the slice from d's: it does not yield to d's
 * namespace and comes first. */
static bool keeps_it(const struct agent_decision *d, const json_t *obj,
                     const struct gpuslice_view *v, enum slice_phase p,
                     const struct agent_place *at)
{
    (void)at;
    return !agent__yields(v, p, d->v.ns) && before(obj, p, d->obj, d->phase);
}

bool agent__holder(struct agent *a, const struct agent_decision *d, const struct agent_place *at,
                   char *holder, size_t size)
{
    return !agent__other_at(a, d, at, keeps_it, holder, size);
}
