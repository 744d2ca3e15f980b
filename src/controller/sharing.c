/*
 * Pods that share a whole GPU (MPS or time-slicing, issue 15): what the
 * controller does for them beside the MIG placement of place.c. A share
 * is decided by core/placement_share over the model's shared GPUs, under
 * the same node rules as a MIG slice (a pod's slices and shares all go to
 * one node), and claimed in the model as a GPUSlice with spec.sharing.
 *
 * A pod that needs a mode no GPU has stays gated and says so, in the words
 * an admin acts on: which sharing it wants, which modes the cluster's GPUs
 * have, and which mode to set. When GPUs in the mode exist but none has
 * room, the pod waits for room like any other (NoPlacement, place.c).
 */
#include <stdio.h>
#include <string.h>

#include "api/meta.h"
#include "api/pod_slices.h"
#include "controller/controller_internal.h"
#include "util/objkey.h"

_Static_assert((int)SHARE_MPS == (int)POD_SHARING_MPS &&
                   (int)SHARE_TIMESLICE == (int)POD_SHARING_TIMESLICE,
               "core/placement_share's modes are api/pod_slices' sharings");

/* Whether the model has a GPU shared in mode. */
static bool has_share_mode(const struct model *m, enum share_mode mode)
{
    for (size_t g = 0; g < m->n_shares; g++)
        if (m->shares[g].mode == mode)
            return true;
    return false;
}

/* The modes of the GPUs in the model, comma-separated ("none known"). */
static void cluster_modes(const struct model *m, char *out, size_t size)
{
    bool mig = false, fixed = false;
    for (size_t g = 0; g < m->n_gpus; g++) {
        fixed |= m->gpus[g].fixed;
        mig |= !m->gpus[g].fixed;
    }
    const char *names[4];
    size_t n = 0;
    if (mig)
        names[n++] = "mig";
    if (fixed)
        names[n++] = "mig-static";
    if (has_share_mode(m, SHARE_MPS))
        names[n++] = "mps";
    if (has_share_mode(m, SHARE_TIMESLICE))
        names[n++] = "timeslice";
    size_t used = (size_t)snprintf(out, size, "%s", n ? "" : "none known");
    for (size_t i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? ", " : "", names[i]);
}

/* The modes the pod needs that no GPU has ("mps", "timeslice", both). */
static void missing_modes(const struct model *m, const struct pod_slices *ps, char *out,
                          size_t size)
{
    bool mps = pod_slices_sharing(ps, POD_SHARING_MPS) && !has_share_mode(m, SHARE_MPS);
    bool ts = pod_slices_sharing(ps, POD_SHARING_TIMESLICE) && !has_share_mode(m, SHARE_TIMESLICE);
    snprintf(out, size, "%s%s%s", mps ? "mps" : "", mps && ts ? " or " : "",
             ts ? "timeslice" : "");
}

int controller__sharing_unplaced(struct controller *c, const json_t *pod,
                                 const struct pod_slices *ps, int64_t now,
                                 struct action_list *out, struct err *e)
{
    if (!pod_slices_sharing(ps, POD_SHARING_MPS) && !pod_slices_sharing(ps, POD_SHARING_TIMESLICE))
        return 0;
    int rc = model_sync(&c->model, e);
    if (rc < 0)
        return rc;
    char missing[32], have[64], msg[256];
    missing_modes(&c->model, ps, missing, sizeof missing);
    if (!missing[0])
        return 0;
    cluster_modes(&c->model, have, sizeof have);
    snprintf(msg, sizeof msg, "no GPU in mode %s (MIG disabled) in the cluster (GPU modes: %s); "
             "set a GPU's mode to %s", missing, have, missing);
    /* Waits as for room: a GPUNode whose mode becomes active (the agent
     * applies a spec's mode after the pod came) wakes it. */
    char key[CONTROLLER_KEY_MAX];
    objkey_join(key, sizeof key, meta_namespace(pod), meta_name(pod));
    controller__wait(c, key, pod, false);
    rc = controller__set_placed(c, pod, false, "NoSharingGPU", msg, now, false, out, e);
    if (rc == 0)
        rc = controller__say(c, out, pod, ACTION_EVENT_WARNING, "NoSharingGPU", "%s", msg);
    return rc < 0 ? rc : 1;
}

int controller__share_decide(struct controller *c, const struct pod_slice_request *want,
                             const struct placement_request *where, struct share_decision *d,
                             struct err *e)
{
    struct share_request r = {.mode = (enum share_mode)want->sharing,
                              .memory_gib = want->memory_gib,
                              .sm_percent = want->sm_percent, .where = *where};
    int rc = model_share_decide(&c->model, &r, c->cfg.policy, d, e);
    if (rc == 0)
        model_share_take(&c->model, d->gpu, d->memory_gib, d->sm_percent);
    return rc;
}

void controller__claim_slice(struct controller *c, const char *key,
                             const struct gpuslice_spec *spec)
{
    if (spec->sharing != POD_SHARING_NONE)
        model_claim_share(&c->model, key, spec->gpu_uuid, (enum share_mode)spec->sharing,
                          spec->memory_gib, spec->sm_percent);
    else
        model_claim(&c->model, key, spec->gpu_uuid, spec->profile, spec->start);
}

void controller__describe_slice(const struct gpuslice_spec *spec, char *out, size_t size)
{
    if (spec->sharing == POD_SHARING_MPS)
        snprintf(out, size, "an MPS share (%u GiB, %u%% of the SMs) of GPU %u", spec->memory_gib,
                 spec->sm_percent, spec->gpu_index);
    else if (spec->sharing == POD_SHARING_TIMESLICE)
        snprintf(out, size, "a time slice of GPU %u", spec->gpu_index);
    else
        snprintf(out, size, "%s at memory slice %u of GPU %u", spec->profile, spec->start,
                 spec->gpu_index);
}
