/*
 * Pods that ask to share a whole GPU (MPS or time-slicing, issue 15)
 * before any GPU shares: the webhook records such requests, but placement
 * knows MIG slices only and no GPU mode shares yet. Such a pod must not be
 * placed as if it asked for MIG slices; it stays gated and says why, in
 * the words an admin acts on: which sharing it wants, which modes the
 * cluster's GPUs have, and which mode to set.
 */
#include <stdio.h>
#include <string.h>

#include "api/pod_slices.h"
#include "controller/controller_internal.h"

/* "MPS", "time-slicing" or both, and the modes that would serve them. */
static void wanted_sharing(const struct pod_slices *ps, char *how, size_t how_size, char *modes,
                           size_t modes_size)
{
    bool mps = pod_slices_sharing(ps, POD_SHARING_MPS);
    bool ts = pod_slices_sharing(ps, POD_SHARING_TIMESLICE);
    snprintf(how, how_size, "%s%s%s", mps ? "MPS" : "", mps && ts ? " or " : "",
             ts ? "time-slicing" : "");
    snprintf(modes, modes_size, "%s%s%s", mps ? "mps" : "", mps && ts ? " or " : "",
             ts ? "timeslice" : "");
}

/* The modes of the GPUs in the model, comma-separated ("none known"). */
static void cluster_modes(const struct model *m, char *out, size_t size)
{
    bool mig = false, fixed = false;
    for (size_t g = 0; g < m->n_gpus; g++) {
        fixed |= m->gpus[g].fixed;
        mig |= !m->gpus[g].fixed;
    }
    snprintf(out, size, "%s%s%s", mig ? "mig" : "", mig && fixed ? ", " : "",
             fixed ? "mig-static" : "");
    if (!mig && !fixed)
        snprintf(out, size, "none known");
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
    char how[32], modes[32], have[64], msg[256];
    wanted_sharing(ps, how, sizeof how, modes, sizeof modes);
    cluster_modes(&c->model, have, sizeof have);
    snprintf(msg, sizeof msg, "no GPU in the cluster shares by %s (GPU modes: %s); set a GPU's "
             "mode to %s", how, have, modes);
    rc = controller__set_placed(c, pod, false, "NoSharingGPU", msg, now, false, out, e);
    if (rc == 0)
        rc = controller__say(c, out, pod, ACTION_EVENT_WARNING, "NoSharingGPU", "%s", msg);
    return rc < 0 ? rc : 1;
}
