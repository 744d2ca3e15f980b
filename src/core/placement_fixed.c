/*
 * Handing out the slices of fixed (mig-static) GPUs (see placement_fixed.h).
 */
#include "core/placement_fixed.h"

#include "core/placement_filter.h"

/* The layout's slice at start, or NULL. */
static struct occupied_slice *slice_at(struct placement_gpu *g, unsigned start)
{
    for (unsigned i = 0; i < g->occ.n_slices; i++)
        if (g->occ.slices[i].start == start)
            return &g->occ.slices[i];
    return NULL;
}

uint8_t placement_fixed_free(const struct placement_gpu *g, const struct mig_profile *p)
{
    uint8_t free = 0;
    for (unsigned i = 0; i < g->occ.n_slices; i++) {
        const struct occupied_slice *s = &g->occ.slices[i];
        if (&g->occ.model->profiles[s->profile] == p && !(g->held & (1u << s->start)))
            free |= (uint8_t)(1u << s->start);
    }
    return free;
}

bool placement_fixed_accepts(const struct placement_request *r, const struct placement_gpu *g,
                             const struct mig_profile **p)
{
    const struct gpu_model *m = g->occ.model;
    *p = catalog_find_profile(m, r->profile);
    return placement_filter_model(r, m) && *p && !g->held_back &&
           (g->allowed & (1u << (*p - m->profiles)));
}

/* GPU gpu's lowest free slice for r into *d, when it has one and its node
 * passes. */
static bool try_gpu(const struct placement_cluster *c, const struct placement_request *r,
                    size_t gpu, struct placement_decision *d)
{
    const struct placement_gpu *g = &c->gpus[gpu];
    const struct mig_profile *p;
    if (!g->fixed || !placement_fixed_accepts(r, g, &p))
        return false;
    uint8_t free = placement_fixed_free(g, p);
    if (!free || placement_filter_node(c, r, g->node, NULL, 0) != PLACEMENT_NODE_OK)
        return false;
    size_t first = gpu;
    while (first > 0 && c->gpus[first - 1].node == g->node)
        first--;
    *d = (struct placement_decision){.gpu = gpu, .node = g->node, .node_gpu = gpu - first,
                                     .profile = p, .start = (uint8_t)__builtin_ctz(free),
                                     .existing = true};
    return true;
}

bool placement_fixed_best(const struct placement_cluster *c, const struct placement_request *r,
                          struct placement_decision *d)
{
    for (size_t i = 0; i < r->n_near; i++)
        if (r->near[i] < c->n_gpus && try_gpu(c, r, r->near[i], d))
            return true;
    for (size_t i = 0; i < c->n_fixed; i++)
        if (try_gpu(c, r, c->fixed[i], d))
            return true;
    return false;
}

int placement_fixed_take(struct placement_gpu *g, const struct mig_profile *p, unsigned start,
                         uint32_t owner, struct err *e)
{
    struct occupied_slice *s = start < 8 ? slice_at(g, start) : NULL;
    if (!s || &g->occ.model->profiles[s->profile] != p)
        return err_set(e, -ENOENT, "the mig-static layout has no %s at memory slice %u",
                       p ? p->name : "slice", start);
    if (g->held & (1u << start))
        return err_set(e, -EBUSY, "the %s at memory slice %u is held already", p->name, start);
    g->held |= (uint8_t)(1u << start);
    s->owner = owner;
    return 0;
}

int placement_fixed_release(struct placement_gpu *g, unsigned start, struct err *e)
{
    if (start >= 8 || !(g->held & (1u << start)))
        return err_set(e, -ENOENT, "no held slice at memory slice %u", start);
    g->held &= (uint8_t)~(1u << start);
    slice_at(g, start)->owner = 0;
    return 0;
}
