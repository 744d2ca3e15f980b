/*
 * The placement API (see placement.h): policy names, the cluster model's
 * life, decisions, and take/release. The work is in placement_states.c
 * (scores), placement_index.c (GPUs grouped by score), placement_filter.c
 * placement_fixed.c (mig-static GPUs) and placement_explain.c; this file
 * checks arguments and keeps the occupancy and the index changing together.
 */
#include "core/placement.h"

#include <stdlib.h>
#include <string.h>

#include "core/placement_explain.h"
#include "core/placement_fixed.h"
#include "core/placement_index.h"
#include "util/alloc.h"

static const char *const policy_names[PLACEMENT_POLICY_COUNT] = {
    [PLACEMENT_FIRST_FIT] = "first-fit",
    [PLACEMENT_BEST_FIT] = "best-fit",
    [PLACEMENT_FRAGMENTATION_AWARE] = "fragmentation-aware",
};

int placement_policy_parse(const char *name, enum placement_policy *policy, struct err *e)
{
    for (int i = 0; name && i < PLACEMENT_POLICY_COUNT; i++)
        if (strcmp(name, policy_names[i]) == 0) {
            *policy = (enum placement_policy)i;
            return 0;
        }
    return err_set(e, -EINVAL,
                   "unknown placement policy \"%s\" (known: first-fit, best-fit, "
                   "fragmentation-aware)",
                   name ? name : "(null)");
}

const char *placement_policy_name(enum placement_policy policy)
{
    if ((unsigned)policy >= PLACEMENT_POLICY_COUNT)
        return "?";
    return policy_names[policy];
}

static bool catalogued(const struct gpu_model *m)
{
    for (size_t i = 0; i < catalog_model_count(); i++)
        if (catalog_model(i) == m)
            return true;
    return false;
}

/* Whether o is what taking its slices one by one on an empty GPU gives: the
 * index keys a GPU by its slices alone, so a mask or compute count that
 * disagrees with them, or slices the rules refuse, must not get in. */
static int check_occupancy(const struct gpu_occupancy *o, struct err *e)
{
    if (o->n_slices > OCCUPANCY_MAX_SLICES)
        return err_set(e, -EINVAL, "%u slices (at most %d)", (unsigned)o->n_slices,
                       OCCUPANCY_MAX_SLICES);
    struct gpu_occupancy replay;
    occupancy_init(&replay, o->model);
    for (unsigned i = 0; i < o->n_slices; i++) {
        const struct occupied_slice *s = &o->slices[i];
        if (s->profile >= o->model->n_profiles)
            return err_set(e, -EINVAL, "slice %u: profile index %u of %u", i,
                           (unsigned)s->profile, (unsigned)o->model->n_profiles);
        int rc = occupancy_take(&replay, &o->model->profiles[s->profile], s->start, s->owner, e);
        if (rc < 0)
            return err_prefix(e, rc, "slice %u: ", i);
    }
    if (replay.memory_mask != o->memory_mask || replay.compute_used != o->compute_used)
        return err_set(e, -EINVAL, "memory mask 0x%02x and compute %u disagree with its slices "
                                   "(0x%02x and %u)",
                       (unsigned)o->memory_mask, (unsigned)o->compute_used,
                       (unsigned)replay.memory_mask, (unsigned)replay.compute_used);
    return 0;
}

/* What the index cannot check for itself: models, node references, the
 * order of GPUs by node, and occupancies. */
static int check_gpus(const struct placement_gpu *gpus, size_t n_gpus, size_t n_nodes,
                      struct err *e)
{
    for (size_t i = 0; i < n_gpus; i++) {
        const struct placement_gpu *g = &gpus[i];
        if (!catalogued(g->occ.model))
            return err_set(e, -EINVAL, "gpu %zu: %s", i,
                           g->occ.model ? "its model is not one of the catalogue's"
                                        : "it has no model");
        int rc = check_occupancy(&g->occ, e);
        if (rc < 0)
            return err_prefix(e, rc, "gpu %zu: ", i);
        if (g->node >= n_nodes)
            return err_set(e, -EINVAL, "gpu %zu: node %zu does not exist (%zu nodes)", i,
                           g->node, n_nodes);
        uint8_t layout = 0;
        for (unsigned k = 0; k < g->occ.n_slices; k++)
            layout |= (uint8_t)(1u << g->occ.slices[k].start);
        if (g->held & ~layout)
            return err_set(e, -EINVAL, "gpu %zu: holds slices its layout does not have "
                           "(held 0x%02x)", i, (unsigned)g->held);
        if (i > 0 && g->node < gpus[i - 1].node)
            return err_set(e, -EINVAL,
                           "gpu %zu: on node %zu after a GPU of node %zu; list GPUs node by node",
                           i, g->node, gpus[i - 1].node);
    }
    return 0;
}

int placement_cluster_init(struct placement_cluster *c, const struct placement_node *nodes,
                           size_t n_nodes, struct placement_gpu *gpus, size_t n_gpus,
                           struct err *e)
{
    if (!c)
        return err_set(e, -EINVAL, "no cluster model to initialise");
    memset(c, 0, sizeof *c);
    if ((!nodes && n_nodes) || (!gpus && n_gpus))
        return err_set(e, -EINVAL, "%zu nodes and %zu GPUs given without their arrays",
                       n_nodes, n_gpus);
    int rc = check_gpus(gpus, n_gpus, n_nodes, e);
    if (rc < 0)
        return rc;
    *c = (struct placement_cluster){
        .nodes = nodes, .n_nodes = n_nodes, .gpus = gpus, .n_gpus = n_gpus};
    rc = placement_index_build(c, e);
    if (rc < 0) {
        memset(c, 0, sizeof *c);
        return rc;
    }
    c->fixed = alloc_calloc(n_gpus + 1, sizeof *c->fixed);
    for (size_t i = 0; i < n_gpus; i++)
        if (gpus[i].fixed)
            c->fixed[c->n_fixed++] = i;
    return 0;
}

void placement_cluster_free(struct placement_cluster *c)
{
    if (!c)
        return;
    placement_index_free(c->index);
    free(c->fixed);
    memset(c, 0, sizeof *c);
}

size_t placement_cluster_bytes(const struct placement_cluster *c)
{
    if (!c || !c->index)
        return 0;
    return sizeof *c + c->n_nodes * sizeof *c->nodes + c->n_gpus * sizeof *c->gpus +
           c->n_fixed * sizeof *c->fixed + placement_index_bytes(c->index);
}

int placement_decide(const struct placement_cluster *c, const struct placement_request *r,
                     enum placement_policy policy, struct placement_decision *d,
                     struct err *e)
{
    if (!c || !c->index || !r || !r->profile || !d)
        return err_set(e, -EINVAL, "placement_decide needs a built cluster model, a request "
                                   "with a profile and a decision to fill");
    if ((unsigned)policy >= PLACEMENT_POLICY_COUNT)
        return err_set(e, -EINVAL, "unknown placement policy %d", (int)policy);
    if ((!r->models && r->n_models) || (!r->selector && r->n_selector))
        return err_set(e, -EINVAL, "request for %s: %zu models and %zu selector terms given "
                                   "without their arrays",
                       r->profile, r->n_models, r->n_selector);
    if (placement_fixed_best(c, r, d) || placement_index_best(c, r, policy, d))
        return 0;
    return placement_explain(c, r, e);
}

static int check_gpu_index(const struct placement_cluster *c, size_t gpu, struct err *e)
{
    if (!c || !c->index)
        return err_set(e, -EINVAL, "no built cluster model");
    if (gpu >= c->n_gpus)
        return err_set(e, -EINVAL, "gpu %zu does not exist (%zu GPUs)", gpu, c->n_gpus);
    return 0;
}

int placement_take(struct placement_cluster *c, size_t gpu, const struct mig_profile *p,
                   unsigned start, uint32_t owner, struct err *e)
{
    int rc = check_gpu_index(c, gpu, e);
    if (rc == 0 && c->gpus[gpu].fixed)
        return placement_fixed_take(&c->gpus[gpu], p, start, owner, e);
    if (rc == 0)
        rc = occupancy_take(&c->gpus[gpu].occ, p, start, owner, e);
    if (rc < 0)
        return rc;
    return placement_index_update(c, gpu, e);
}

int placement_release(struct placement_cluster *c, size_t gpu, unsigned start, struct err *e)
{
    int rc = check_gpu_index(c, gpu, e);
    if (rc == 0 && c->gpus[gpu].fixed)
        return placement_fixed_release(&c->gpus[gpu], start, e);
    if (rc == 0)
        rc = occupancy_release(&c->gpus[gpu].occ, start, e);
    if (rc < 0)
        return rc;
    return placement_index_update(c, gpu, e);
}

int placement_gpu_changed(struct placement_cluster *c, size_t gpu, struct err *e)
{
    int rc = check_gpu_index(c, gpu, e);
    if (rc < 0)
        return rc;
    rc = check_occupancy(&c->gpus[gpu].occ, e);
    if (rc < 0)
        return err_prefix(e, rc, "gpu %zu: ", gpu);
    return placement_index_update(c, gpu, e);
}
