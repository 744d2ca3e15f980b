/*
 * Placement policies: where in a cluster of nodes x GPUs a new MIG slice
 * should go.
 *
 * Written like the Kubernetes scheduler's plugins: filters drop GPUs that
 * cannot take the slice (model, held back, profile not allowed, node
 * selector, the caller's own predicate, no free legal placement), and a
 * policy scores the rest. Three policies:
 *
 *   first-fit            InstaSlice's behaviour and the baseline: first node,
 *                        first GPU, lowest legal start.
 *   best-fit             the tightest GPU: fewest free memory slices after
 *                        the placement; ties by GPU order, lowest start.
 *   fragmentation-aware  (the default) keep empty GPUs whole, and among the
 *                        rest lose the least weighted future capacity; see
 *                        placement_states.c for exactly how it scores.
 *
 * The cluster model is two flat arrays the caller allocates and owns (nodes,
 * GPUs), built once (the CLI from a YAML file, the controller from its
 * GPUNodes and GPUSlices), plus an index that placement_cluster_init
 * allocates and placement_cluster_free frees. The index keeps, for every
 * policy and profile, the GPUs grouped by score, so a decision walks score
 * groups instead of every GPU. Decisions never allocate and never write the
 * cluster model; the caller applies one with placement_take, which keeps the
 * index in sync. A cluster model is used by one thread at a time.
 *
 * No I/O here: failures are explained in the caller's struct err, and GPU
 * pictures are formatted into the caller's buffer.
 */
#ifndef GPUSLICE_CORE_PLACEMENT_H
#define GPUSLICE_CORE_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/catalog.h"
#include "core/occupancy.h"
#include "util/err.h"

enum placement_policy {
    PLACEMENT_FIRST_FIT,
    PLACEMENT_BEST_FIT,
    PLACEMENT_FRAGMENTATION_AWARE,
};
#define PLACEMENT_POLICY_COUNT 3
#define PLACEMENT_POLICY_DEFAULT PLACEMENT_FRAGMENTATION_AWARE

/* Every profile of the GPU's model allowed (placement_gpu.allowed). */
#define PLACEMENT_ALL_PROFILES ((uint16_t)0xffff)
_Static_assert(CATALOG_MAX_PROFILES <= 16, "placement_gpu.allowed has a bit per profile");

/* A node label, or a node-selector term (key = value). */
struct placement_label {
    const char *key;
    const char *value;
};

struct placement_node {
    const char *name;
    const struct placement_label *labels; /* caller-owned */
    size_t n_labels;
};

/* One GPU: its occupancy and the admin's settings for it.
 *
 * A fixed GPU (mode mig-static) keeps the admin's layout: occ holds the
 * slices that exist there, no slice is ever made or destroyed on it, and a
 * request is given one of its slices that no one holds (held, a bit per
 * start). placement_take and placement_release hold and let go of such a
 * slice instead of changing occ. */
struct placement_gpu {
    struct gpu_occupancy occ; /* after init, change only through placement_take/release */
    size_t node;              /* index into the nodes array; non-decreasing along gpus[] */
    uint16_t allowed;         /* bit i set: occ.model->profiles[i] may be placed here */
    bool held_back;           /* the admin keeps new slices off this GPU */
    bool fixed;               /* mig-static; read by placement_cluster_init only */
    uint8_t held;             /* fixed: bit s set: the slice starting at s is held */
};

struct placement_index; /* opaque, see placement_index.h */

/* The cluster model: the caller's arrays (borrowed; they must outlive it)
 * and the index over them (owned). */
struct placement_cluster {
    const struct placement_node *nodes;
    size_t n_nodes;
    struct placement_gpu *gpus;
    size_t n_gpus;
    struct placement_index *index;
    size_t *fixed;         /* the fixed GPUs' indexes, in order (owned) */
    size_t n_fixed;
};

/* The caller's own rule for a node (affinity, taints, CPU and memory, ...).
 * Returns true when the node may take the slice; when false it may write a
 * short reason into reason[reason_size] for the failure explanation
 * (reason_size is 0 and reason NULL when no reason is wanted). It may be
 * called more than once per node and decision. */
typedef bool placement_node_filter(void *ctx, size_t node, char *reason, size_t reason_size);

struct placement_request {
    const char *profile;                  /* "1g.10gb", resolved per GPU model
                                             with catalog_find_profile */
    const struct gpu_model *const *models; /* accepted models; NULL: any */
    size_t n_models;
    const struct placement_label *selector; /* every term must equal a node label */
    size_t n_selector;
    placement_node_filter *filter;        /* NULL: none */
    void *filter_ctx;
    /* A slice that exists already on a fixed GPU is taken over before a
     * new one is made; the fixed GPUs listed here are tried first (the
     * GPUs of the pod's other slices). */
    const size_t *near;
    size_t n_near;
};

struct placement_decision {
    size_t gpu;                        /* index into cluster->gpus */
    size_t node;                       /* index into cluster->nodes */
    size_t node_gpu;                   /* the GPU's position among its node's GPUs */
    const struct mig_profile *profile; /* the request's profile on that GPU's model */
    uint8_t start;                     /* first memory slice of the placement */
    bool existing;                     /* a slice of a fixed GPU, not one to make */
};

/* "first-fit", "best-fit", "fragmentation-aware" -> *policy; -EINVAL for any
 * other name, with a message listing the known ones. */
int placement_policy_parse(const char *name, enum placement_policy *policy, struct err *e);

/* The policy's name as placement_policy_parse accepts it; "?" when unknown. */
const char *placement_policy_name(enum placement_policy policy);

/* Builds the index over the caller's arrays. Checks that every GPU has a
 * catalogued model, names an existing node, comes after the GPUs of earlier
 * nodes, and holds an occupancy the rules accept (its mask and compute
 * count agreeing with its slices); -EINVAL naming the GPU otherwise (or
 * occupancy_take's code for a slice the rules refuse), -ENOMEM when the
 * index cannot be allocated. On failure *c owns nothing.
 * Takes a few milliseconds per distinct model (placement_states.h). Free
 * with placement_cluster_free. */
int placement_cluster_init(struct placement_cluster *c, const struct placement_node *nodes,
                           size_t n_nodes, struct placement_gpu *gpus, size_t n_gpus,
                           struct err *e);

/* Frees the index (not the caller's arrays); *c is then empty. NULL is fine. */
void placement_cluster_free(struct placement_cluster *c);

/* Bytes the cluster model takes: the caller's node and GPU arrays plus the
 * index (labels and names excluded). */
size_t placement_cluster_bytes(const struct placement_cluster *c);

/* Chooses where r goes under policy, into *d: a free slice of a fixed GPU
 * that passes the filters when there is one (r->near first, then in GPU
 * order: fragmentation does not apply to a layout that never changes),
 * else a new slice where the policy scores best. -ENOSPC when no GPU passes
 * every filter, with e->msg explaining what each filter rejected and how
 * many full GPUs could take the slice after defragmentation; -EINVAL when
 * r names no profile any catalogued model knows, or bad arguments. With e
 * NULL the explanation's count of every GPU is skipped (the codes are the
 * same). Changes nothing: apply the decision with placement_take. */
int placement_decide(const struct placement_cluster *c, const struct placement_request *r,
                     enum placement_policy policy, struct placement_decision *d,
                     struct err *e);

/* Decides r with the first of fits (n entries, smallest first) that can be
 * placed: adjacent entries of one profile name form a group decided
 * together as one request for those models (so the policy chooses among
 * them). r->profile is left naming the profile decided (or the last one
 * tried); r->models is reset to NULL. -ENOSPC when none can be placed,
 * with the first group's explanation in *first (may be NULL); another
 * failure of placement_decide stops the walk and is returned. */
int placement_decide_first(const struct placement_cluster *c, struct placement_request *r,
                           enum placement_policy policy, const struct catalog_fit *fits,
                           size_t n, struct placement_decision *d, struct err *first);

/* Places profile p at start on GPU gpu for owner, keeping the index in sync.
 * It is the mechanism, not a policy: admin settings are not checked, so that
 * slices that already exist can be recorded. Fails as occupancy_take does,
 * or -EINVAL for a GPU index out of range. On a fixed GPU it holds the
 * slice p at start of the layout: -ENOENT when the layout has none there,
 * -EBUSY when it is held already. */
int placement_take(struct placement_cluster *c, size_t gpu, const struct mig_profile *p,
                   unsigned start, uint32_t owner, struct err *e);

/* Frees the slice starting at start on GPU gpu (on a fixed GPU: lets go of
 * it, -ENOENT when it is not held); fails as occupancy_release does, or
 * -EINVAL for a GPU index out of range. */
int placement_release(struct placement_cluster *c, size_t gpu, unsigned start, struct err *e);

/* Re-reads GPU gpu's admin settings (held_back, allowed) after the caller
 * changed them in place. -EINVAL for a GPU index out of range; like
 * placement_cluster_init, an error naming what is wrong when its occupancy
 * breaks the rules (the index then leaves
 * the GPU out until a valid occupancy is reported the same way). */
int placement_gpu_changed(struct placement_cluster *c, size_t gpu, struct err *e);

/* Whether p would fit on the GPU after defragmentation: there is a way to
 * re-create the GPU's current slices (the same profiles, at legal starts of
 * their own, possibly moved) together with one more p, all accepted by the
 * occupancy rules. True when p fits now. Used to say "N GPUs could fit it
 * after defragmentation"; the search is exponential in the slice count
 * (at most 8), so it is for explanations, not for the decision path. */
bool placement_fits_after_repack(const struct gpu_occupancy *o, const struct mig_profile *p);

/* Longest picture placement_picture writes, NUL included. */
#define PLACEMENT_PICTURE_MAX 64

/* Draws the GPU's memory slices on one line, snprintf-style, into
 * buf[size]: each memory slice is a 6-character cell, a slice spans the
 * cells of its memory slices and shows its profile and owner tag (owner 0
 * is untagged), a free cell shows "..". A 3g.40gb of owner 12, a 1g.10gb
 * of owner 3 and an untagged 1g.10gb+me on an H100:
 *     [3g.40gb #12                |1g #3 |1g+me |..    |..    ]
 * What does not fit is shortened: the name cut to its compute part
 * ("1g.10gb+me" -> "1g+me"), then the tag dropped. A NULL occupancy draws "[]".
 * Returns the length of the whole picture (without the NUL), even when it
 * was cut to fit buf. */
size_t placement_picture(const struct gpu_occupancy *o, char *buf, size_t size);

/* What a mark before a slice's label says (placement_picture_marked). */
#define PLACEMENT_MARK_WARM    '~' /* Warm: kept for its namespace's next pod */
#define PLACEMENT_MARK_STATIC  '=' /* a slice of a mig-static GPU's fixed layout */
#define PLACEMENT_MARK_FOREIGN '!' /* not gpuslice's: someone else made it */

/* placement_picture with a mark before the label of each slice whose
 * marks[start] is not NUL (marks may be NULL: none), inside the slice's
 * cells, so marked pictures line up with unmarked ones. A warm 1g.10gb of
 * owner 4 beside a static 3g.40gb:
 *     [~1g #4|..    |..    |..    |=3g.40gb                   ]  */
size_t placement_picture_marked(const struct gpu_occupancy *o,
                                const char marks[MIG_MAX_MEMORY_SLICES], char *buf, size_t size);

#endif
