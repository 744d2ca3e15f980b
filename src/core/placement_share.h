/*
 * Placement of shares of whole GPUs (issue 15): where a pod's MPS client
 * or time-sliced container should go, among the GPUs whose mode shares
 * them. The MIG placement (core/placement.h) cuts GPUs into slices; here a
 * GPU is never cut, it is only filled:
 *
 *   mps        two dimensions: the GiB its clients may pin (the GPU's
 *              memory less what the MPS server itself takes, see
 *              placement_share_capacity_gib) and the percent of its SMs
 *              (at most 100 in all), and at most `slots` clients;
 *   timeslice  one dimension: at most `slots` pods (the admin's replicas).
 *
 * The same three policies as for MIG slices, with the score over two
 * dimensions (docs/controller.md, "Sharing GPUs"):
 *
 *   first-fit            the first GPU (node order, then GPU order) with room;
 *   best-fit             the tightest: the least room left after the
 *                        placement, memory and SM fractions added;
 *   fragmentation-aware  keep empty GPUs empty while a shared one has room;
 *                        among those, leave the memory and SM remainders
 *                        most balanced (a GPU whose memory is gone but SMs
 *                        are left, or the reverse, strands the rest: no
 *                        later client can use it), then the tightest.
 *
 * The caller owns the GPU array (the controller's model, the CLI's cluster
 * file) and keeps the counters with placement_share_take/release;
 * placement_share_decide scans the array (O(GPUs), no allocation: the
 * score of a share is a few integer operations) and asks the caller's node
 * filter of the winner only, passing over a node that fails it; after four
 * such nodes, one pass asks it of every GPU that would beat the best so
 * far, once per node. core/placement_share_index.h chooses the same while
 * visiting only GPUs with room (the controller's model keeps one).
 * No I/O; failures are explained in the caller's struct err.
 */
#ifndef GPUSLICE_CORE_PLACEMENT_SHARE_H
#define GPUSLICE_CORE_PLACEMENT_SHARE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/placement.h"
#include "util/err.h"

/* How a GPU is shared; the values are api/pod_slices.h's enum pod_sharing. */
enum share_mode {
    SHARE_MPS = 1,
    SHARE_TIMESLICE = 2,
};

/* The MPS server's own memory per GPU when the admin sets none, in MiB
 * (docs/sharing.md, "The MPS server's memory"). */
#define PLACEMENT_SHARE_MPS_OVERHEAD_MIB_DEFAULT 512u

/* The most clients one MPS server serves on a GPU (Volta and later). */
#define PLACEMENT_SHARE_MPS_CLIENTS_MAX 48u

/* One GPU in a sharing mode and what its clients hold. */
struct share_gpu {
    size_t node;            /* index into the nodes array */
    enum share_mode mode;
    unsigned capacity_gib;  /* mps: the GiB clients may pin in all */
    unsigned slots;         /* the most clients at once (timeslice: its replicas) */
    unsigned used_gib;      /* mps: what its clients pin */
    unsigned used_sm;       /* mps: the SM percent its clients hold */
    unsigned clients;
    bool held_back;         /* no new client goes there */
};

struct share_request {
    enum share_mode mode;
    unsigned memory_gib;   /* mps: >= 1 */
    unsigned sm_percent;   /* mps: 1..100, or 0 for proportional to memory */
    /* The node rules, as for a MIG slice: selector and the caller's filter
     * (its profile, models and near are not read). */
    struct placement_request where;
};

struct share_decision {
    size_t gpu;            /* index into the GPU array */
    size_t node;
    unsigned memory_gib;   /* mps: as asked */
    unsigned sm_percent;   /* mps: resolved (never 0) */
};

/* The GiB MPS clients may pin on a GPU of memory_mib MiB whose MPS server
 * takes overhead_mib: whole GiB of what is left (0 when nothing is). */
unsigned placement_share_capacity_gib(unsigned memory_mib, unsigned overhead_mib);

/* The SM percent of a client that pins gib GiB on g when it names none:
 * the same fraction of the SMs as of the memory clients may pin, rounded
 * down (so clients that fit in memory fit in SMs), at least 1. */
unsigned placement_share_proportional_sm(const struct share_gpu *g, unsigned gib);

/* Whether g can take one more client asking r (mode, room, held back). */
bool placement_share_fits(const struct share_gpu *g, const struct share_request *r);

/* Chooses a GPU for r among gpus[n] (nodes[] their nodes) under policy,
 * into *d. -ENOSPC when none passes every rule, with e->msg saying what
 * each rule rejected ("no GPU in mode mps with room: ..."); -EINVAL for a
 * malformed request. Changes nothing: apply it with placement_share_take. */
int placement_share_decide(const struct share_gpu *gpus, size_t n,
                           const struct placement_node *nodes, const struct share_request *r,
                           enum placement_policy policy, struct share_decision *d,
                           struct err *e);

/* Counts a client of gib GiB and sm percent on g (timeslice: both 0).
 * The counters may go past the GPU's room (a client the API shows that
 * no longer fits): placement_share_over says so. */
void placement_share_take(struct share_gpu *g, unsigned gib, unsigned sm);

/* Undoes placement_share_take with the same numbers. */
void placement_share_release(struct share_gpu *g, unsigned gib, unsigned sm);

/* Whether g's clients hold more than it has. */
bool placement_share_over(const struct share_gpu *g);

/* "mps" or "timeslice". */
const char *placement_share_mode_name(enum share_mode mode);

#endif
