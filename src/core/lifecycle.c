/*
 * The slice lifecycle's one transition table.
 *
 *   from \ to   Creating Created Ungated Deleting Deleted Failed Warm
 *   Creating       .       yes      .      yes       .      yes    .
 *   Created        .        .      yes     yes       .      yes    .
 *   Ungated        .        .       .      yes       .       .    yes
 *   Deleting       .        .       .       .       yes      .     .
 *   Deleted        .        .       .       .        .       .     .
 *   Failed         .        .       .       .        .       .     .
 *   Warm           .        .       .      yes       .       .     .
 *
 * Why each move exists:
 *   Creating -> Created   the agent made the slice on the GPU
 *   Creating -> Failed    the agent could not make it (reason in status)
 *   Creating -> Deleting  the pod was deleted while its slice was being made:
 *                         the agent must still undo a half-made slice
 *   Created  -> Ungated   the controller pinned the pod and removed its gate
 *   Created  -> Failed    handing the slice over failed (ConfigMap, CDI)
 *   Created  -> Deleting  the pod was deleted before it was released
 *   Ungated  -> Deleting  the pod ended or was deleted
 *   Deleting -> Deleted   the agent destroyed the slice (or, when the slice
 *                         was warm and another GPUSlice of its namespace
 *                         has taken it over, let go of it on the GPU)
 *   Ungated  -> Warm      the pod ended and its namespace keeps released
 *                         slices warm (gpuslice.dev/keep-warm): the slice
 *                         stays on the GPU, held by the namespace
 *   Warm     -> Deleting  its time ran out, another pod needs its memory,
 *                         the cap on warm memory was reached, or a pod of
 *                         the namespace took it over (controller/warm.c)
 * An Ungated slice does not fail: its pod owns it, and what happens to the
 * pod is the pod's status, not the slice's. Deleted and Failed are final;
 * garbage collection removes the object with its pod.
 *
 * A slice's way out is usually no status write at all: the controller
 * deletes the GPUSlice, and a Creating, Created, Ungated or Warm slice
 * whose object carries a deletionTimestamp is Deleting (lifecycle_seen);
 * the agent destroys the device slice and removes its finalizer, and the
 * object's going is its "Deleted". The Deleting and Deleted statuses stay
 * for what still writes them: a warm slice let go (its reason said in the
 * status), a destroy that fails (its reason too), and objects written by
 * an older version.
 */
#include "core/lifecycle.h"

#include <string.h>

static const char *const phase_names[SLICE_PHASE_COUNT] = {
    [SLICE_CREATING] = "Creating", [SLICE_CREATED] = "Created", [SLICE_UNGATED] = "Ungated",
    [SLICE_DELETING] = "Deleting", [SLICE_DELETED] = "Deleted", [SLICE_FAILED] = "Failed",
    [SLICE_WARM] = "Warm",
};

#define TO(p) (1u << (p))

/* legal[from]: a bit per phase it may go to. */
static const unsigned legal[SLICE_PHASE_COUNT] = {
    [SLICE_CREATING] = TO(SLICE_CREATED) | TO(SLICE_DELETING) | TO(SLICE_FAILED),
    [SLICE_CREATED] = TO(SLICE_UNGATED) | TO(SLICE_DELETING) | TO(SLICE_FAILED),
    [SLICE_UNGATED] = TO(SLICE_DELETING) | TO(SLICE_WARM),
    [SLICE_DELETING] = TO(SLICE_DELETED),
    [SLICE_DELETED] = 0,
    [SLICE_FAILED] = 0,
    [SLICE_WARM] = TO(SLICE_DELETING),
};

static bool is_phase(enum slice_phase p)
{
    return (unsigned)p < SLICE_PHASE_COUNT;
}

const char *lifecycle_phase_name(enum slice_phase p)
{
    return is_phase(p) ? phase_names[p] : NULL;
}

int lifecycle_phase_parse(const char *s, enum slice_phase *out, struct err *e)
{
    if (!s)
        return err_set(e, -EINVAL, "no slice phase given");
    for (unsigned i = 0; i < SLICE_PHASE_COUNT; i++) {
        if (strcmp(s, phase_names[i]) == 0) {
            *out = (enum slice_phase)i;
            return 0;
        }
    }
    return err_set(e, -EINVAL,
                   "unknown slice phase \"%.64s\" (expected Creating, Created, Ungated, "
                   "Deleting, Deleted, Failed or Warm)",
                   s);
}

int lifecycle_transition(enum slice_phase from, enum slice_phase to, struct err *e)
{
    if (!is_phase(from))
        return err_set(e, -EINVAL, "slice phase %d is not a phase", (int)from);
    if (!is_phase(to))
        return err_set(e, -EINVAL, "slice phase %s cannot go to %d: not a phase",
                       phase_names[from], (int)to);
    if (!(legal[from] & TO(to)))
        return err_set(e, -EINVAL, "slice phase %s cannot go to %s", phase_names[from],
                       phase_names[to]);
    return 0;
}

bool lifecycle_is_terminal(enum slice_phase p)
{
    return is_phase(p) && legal[p] == 0;
}

enum slice_phase lifecycle_seen(enum slice_phase p, bool deleting)
{
    return deleting && is_phase(p) && !lifecycle_is_terminal(p) ? SLICE_DELETING : p;
}

const char *lifecycle_seen_name(const char *phase, bool deleting)
{
    enum slice_phase p;
    if (lifecycle_phase_parse(phase ? phase : phase_names[SLICE_CREATING], &p, NULL) < 0)
        return phase;
    return phase_names[lifecycle_seen(p, deleting)];
}
