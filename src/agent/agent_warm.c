/*
 * Warm slices on the node (controller/warm.c decides which; docs/agent.md).
 *
 * A Warm GPUSlice's pod has ended, and its namespace keeps the slice on the
 * GPU for its next pod asking the same profile. The agent keeps such a
 * slice as it is, but no container uses it: its CDI spec goes and its
 * container's ConfigMap no longer lists it. The next pod's GPUSlice names
 * the same placement (a GPUSlice like any other: on a mig GPU gpuslice made
 * the slice, and the taker's release destroys it as usual), takes the slice
 * over where the agent would otherwise make one, and the warm GPUSlice is
 * released (Deleting) without a destroy: its heir holds the slice.
 *
 * Who may take a slice over from whom is one rule, for warm and mig-static
 * slices alike (agent__holder): a warm GPUSlice, or one released after it
 * was warm (Deleting with status.warmUntil), yields to a GPUSlice of its
 * own namespace; nothing else yields. So a warm slice never goes to two
 * pods, nor to another namespace (whose pods get its memory only after it
 * is destroyed), and the slice of a running pod is never handed to anyone.
 */
#include "agent/agent_internal.h"

#include <stdio.h>
#include <string.h>

bool agent__yields(const struct gpuslice_view *v, enum slice_phase p, const char *ns)
{
    return ns && v->ns && strcmp(v->ns, ns) == 0 &&
           (p == SLICE_WARM || (p == SLICE_DELETING && v->status.warm_until));
}

/* A GPUSlice of d's namespace, for a pod, holding d's very slice. */
static bool heir(const struct agent_decision *d, const json_t *obj,
                 const struct gpuslice_view *v, enum slice_phase p, const struct agent_place *at)
{
    (void)obj;
    struct agent_place mine;
    return p != SLICE_DELETING && p != SLICE_WARM && strcmp(v->ns, d->v.ns) == 0 &&
           agent__place_of(d->a, &d->v, &mine, NULL) == 0 && at->profile_id == mine.profile_id;
}

bool agent__warm_heir(struct agent *a, const struct agent_decision *d,
                      const struct agent_place *at)
{
    return agent__yields(&d->v, d->phase, d->v.ns) && agent__other_at(a, d, at, heir, NULL, 0);
}

int agent__keep_warm(struct agent_decision *d, struct err *e)
{
    struct agent *a = d->a;
    struct agent_place at;
    if (agent__place_of(a, &d->v, &at, NULL) < 0)
        return agent__set_status(d, SLICE_DELETING,
                                 &(struct gpuslice_status){.reason = "GPUNotFound"}, 0, e);
    int64_t until = agent__pending_until(a, at.gpu, at.start, d->now);
    if (until) {
        agent__requeue(d, until);
        return 0;
    }
    const struct device_slice *s = agent__slice_at(a, at.gpu, at.start);
    if (!s || s->profile_id != at.profile_id) {
        /* Gone (a reboot): nothing is left to keep warm. */
        struct gpuslice_status st = {.reason = "SliceLost",
                                     .message = "the warm slice is no longer on the GPU"};
        return agent__set_status(d, SLICE_DELETING, &st, 0, e);
    }
    /* No container uses it any more; the heir, when there is one already,
     * has written its own spec at the same path. */
    const struct agent_note *n = agent__note(a, d->key, false);
    int rc = 0;
    if (a->cfg.cdi_dir && n && n->cdi_uuid[0] && !agent__warm_heir(a, d, &at))
        rc = agent__remove_cdi(d, e);
    return rc < 0 ? rc : agent__sync_config_map(d, true, e);
}
