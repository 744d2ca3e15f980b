/*
 * The placement index (see placement_index.h): building it, keeping it in
 * step with take/release, and walking it for a decision.
 *
 * Bit sets have two levels, a word per 64 GPUs and a summary bit per word,
 * so finding the next GPU of a sparse group skips empty words 64 at a time:
 * on 8,000 GPUs a search touches at most 2 summary words and 2 words.
 */
#include "core/placement_index.h"

#include <stdlib.h>
#include <string.h>

#include "core/placement_filter.h"
#include "util/alloc.h"

#define NO_GPU ((size_t)-1)

static void group_add(struct placement_group *g, size_t i)
{
    size_t w = i / 64;
    if (!g->words[w])
        g->summary[w / 64] |= 1ull << (w % 64);
    g->words[w] |= 1ull << (i % 64);
    g->count++;
}

static void group_remove(struct placement_group *g, size_t i)
{
    size_t w = i / 64;
    g->words[w] &= ~(1ull << (i % 64));
    if (!g->words[w])
        g->summary[w / 64] &= ~(1ull << (w % 64));
    g->count--;
}

/* The first GPU of g at index from or above, or NO_GPU. */
static size_t group_next(const struct placement_index *ix, const struct placement_group *g,
                         size_t from)
{
    size_t w = from / 64;
    if (w >= ix->n_words)
        return NO_GPU;
    uint64_t here = g->words[w] & (~0ull << (from % 64));
    if (here)
        return w * 64 + (size_t)__builtin_ctzll(here);
    size_t next = w + 1; /* first word still to look at */
    for (size_t s = next / 64; s < ix->n_summary; s++) {
        uint64_t m = g->summary[s];
        if (s == next / 64)
            m &= ~0ull << (next % 64);
        if (m) {
            size_t nw = s * 64 + (size_t)__builtin_ctzll(m);
            return nw * 64 + (size_t)__builtin_ctzll(g->words[nw]);
        }
    }
    return NO_GPU;
}

/* Adds (add) or removes GPU gpu to or from the groups its entry names. */
static void place_in_groups(struct placement_index *ix, size_t gpu, bool add)
{
    const struct placement_gpu_entry *en = &ix->gpus[gpu];
    struct placement_model_index *mi = &ix->models[en->model];
    for (int pol = 0; pol < PLACEMENT_POLICY_COUNT; pol++)
        for (unsigned p = 0; p < mi->states.model->n_profiles; p++) {
            if (!(en->members & (1u << p)))
                continue;
            const struct placement_choice *ch =
                placement_states_choice(&mi->states, (enum placement_policy)pol, en->state, p);
            if (ch->group == PLACEMENT_NO_GROUP)
                continue;
            struct placement_group *g = &mi->groups[pol][p][ch->group];
            if (add)
                group_add(g, gpu);
            else
                group_remove(g, gpu);
        }
}

int placement_index_update(struct placement_cluster *c, size_t gpu, struct err *e)
{
    struct placement_index *ix = c->index;
    struct placement_gpu_entry *en = &ix->gpus[gpu];
    const struct placement_gpu *g = &c->gpus[gpu];
    place_in_groups(ix, gpu, false);
    /* Every occupancy the rules accept is a state; only one changed behind
     * the cluster model's back can be missing. */
    long state = placement_states_find(&ix->models[en->model].states, &g->occ);
    if (state < 0) {
        en->members = 0;
        return err_set(e, -EINVAL, "gpu %zu: its %s slices break the occupancy rules", gpu,
                       g->occ.model->name);
    }
    en->state = (uint16_t)state;
    en->members = placement_filter_admin(g);
    place_in_groups(ix, gpu, true);
    return 0;
}

/* The index of m among ix's models, adding it (and its tables) if new. */
static int model_slot(struct placement_index *ix, const struct gpu_model *m, struct err *e)
{
    for (size_t i = 0; i < ix->n_models; i++)
        if (ix->models[i].states.model == m)
            return (int)i;
    if (ix->n_models == PLACEMENT_MAX_MODELS)
        return err_set(e, -E2BIG, "more than %d GPU models in one cluster", PLACEMENT_MAX_MODELS);
    int rc = placement_states_build(&ix->models[ix->n_models].states, m, e);
    if (rc < 0)
        return rc;
    return (int)ix->n_models++;
}

/* One allocation for every group's bit set, carved up in model, policy,
 * profile order. */
static void allocate_groups(struct placement_index *ix)
{
    for (size_t i = 0; i < ix->n_models; i++)
        for (int pol = 0; pol < PLACEMENT_POLICY_COUNT; pol++)
            for (unsigned p = 0; p < ix->models[i].states.model->n_profiles; p++)
                ix->n_groups += ix->models[i].states.n_groups[pol][p];
    size_t per_group = ix->n_words + ix->n_summary;
    size_t n_bits = ix->n_groups * per_group;
    ix->all_groups = alloc_calloc(ix->n_groups + 1, sizeof *ix->all_groups);
    ix->bits = alloc_calloc(n_bits + 1, sizeof *ix->bits);
    size_t next = 0;
    for (size_t i = 0; i < ix->n_models; i++)
        for (int pol = 0; pol < PLACEMENT_POLICY_COUNT; pol++)
            for (unsigned p = 0; p < ix->models[i].states.model->n_profiles; p++) {
                ix->models[i].groups[pol][p] = &ix->all_groups[next];
                for (size_t k = 0; k < ix->models[i].states.n_groups[pol][p]; k++, next++) {
                    ix->all_groups[next].words = &ix->bits[next * per_group];
                    ix->all_groups[next].summary = &ix->bits[next * per_group + ix->n_words];
                }
            }
}

static void index_nodes(struct placement_index *ix, const struct placement_cluster *c)
{
    ix->node_first = alloc_malloc((c->n_nodes + 1) * sizeof *ix->node_first);
    size_t gpu = 0;
    for (size_t n = 0; n <= c->n_nodes; n++) {
        while (gpu < c->n_gpus && c->gpus[gpu].node < n)
            gpu++;
        ix->node_first[n] = gpu;
    }
}

static int build(struct placement_index *ix, struct placement_cluster *c, struct err *e)
{
    ix->n_gpus = c->n_gpus;
    ix->n_nodes = c->n_nodes;
    ix->n_words = (c->n_gpus + 63) / 64;
    ix->n_summary = (ix->n_words + 63) / 64;
    ix->gpus = alloc_calloc(c->n_gpus + 1, sizeof *ix->gpus);
    index_nodes(ix, c);
    for (size_t i = 0; i < c->n_gpus; i++) {
        int slot = model_slot(ix, c->gpus[i].occ.model, e);
        if (slot < 0)
            return slot;
        ix->gpus[i].model = (uint8_t)slot;
    }
    allocate_groups(ix);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < c->n_gpus; i++)
        rc = placement_index_update(c, i, e);
    return rc;
}

int placement_index_build(struct placement_cluster *c, struct err *e)
{
    struct placement_index *ix = alloc_calloc(1, sizeof *ix);
    c->index = ix;
    int rc = build(ix, c, e);
    if (rc < 0) {
        placement_index_free(ix);
        c->index = NULL;
    }
    return rc;
}

void placement_index_free(struct placement_index *ix)
{
    if (!ix)
        return;
    for (size_t i = 0; i < ix->n_models; i++)
        placement_states_free(&ix->models[i].states);
    free(ix->gpus);
    free(ix->node_first);
    free(ix->all_groups);
    free(ix->bits);
    free(ix);
}

size_t placement_index_bytes(const struct placement_index *ix)
{
    size_t bytes = sizeof *ix + ix->n_gpus * sizeof *ix->gpus +
                   (ix->n_nodes + 1) * sizeof *ix->node_first +
                   ix->n_groups * (sizeof *ix->all_groups +
                                   (ix->n_words + ix->n_summary) * sizeof *ix->bits);
    for (size_t i = 0; i < ix->n_models; i++)
        bytes += placement_states_bytes(&ix->models[i].states);
    return bytes;
}

/* Where one model stands in a decision: the request's profile on it, and
 * the next group to look at. */
struct cursor {
    const struct placement_model_index *mi;
    unsigned profile;
    size_t group;
};

/* The first GPU of g below limit whose node passes r's node filters, or
 * NO_GPU. A node that fails is skipped whole. */
static size_t first_accepted(const struct placement_cluster *c, const struct placement_request *r,
                             const struct placement_group *g, size_t limit)
{
    const struct placement_index *ix = c->index;
    size_t i = group_next(ix, g, 0);
    while (i < limit) {
        size_t node = c->gpus[i].node;
        if (placement_filter_node(c, r, node, NULL, 0) == PLACEMENT_NODE_OK)
            return i;
        i = group_next(ix, g, ix->node_first[node + 1]);
    }
    return NO_GPU;
}

/* The score of the cursor's next non-empty group, moving past empty ones;
 * false when it has none left. */
static bool cursor_score(struct cursor *cu, enum placement_policy policy, uint32_t *score)
{
    const struct placement_states *s = &cu->mi->states;
    size_t n = s->n_groups[policy][cu->profile];
    while (cu->group < n && cu->mi->groups[policy][cu->profile][cu->group].count == 0)
        cu->group++;
    if (cu->group == n)
        return false;
    *score = s->scores[policy][cu->profile][cu->group];
    return true;
}

static size_t open_cursors(const struct placement_index *ix, const struct placement_request *r,
                           struct cursor cur[PLACEMENT_MAX_MODELS])
{
    size_t n = 0;
    for (size_t i = 0; i < ix->n_models; i++) {
        const struct gpu_model *m = ix->models[i].states.model;
        const struct mig_profile *p = catalog_find_profile(m, r->profile);
        if (p && placement_filter_model(r, m))
            cur[n++] = (struct cursor){.mi = &ix->models[i],
                                       .profile = (unsigned)(p - m->profiles)};
    }
    return n;
}

static void fill_decision(const struct placement_cluster *c, const struct cursor *cu,
                          enum placement_policy policy, size_t gpu, struct placement_decision *d)
{
    const struct placement_index *ix = c->index;
    const struct placement_choice *ch =
        placement_states_choice(&cu->mi->states, policy, ix->gpus[gpu].state, cu->profile);
    size_t node = c->gpus[gpu].node;
    *d = (struct placement_decision){
        .gpu = gpu,
        .node = node,
        .node_gpu = gpu - ix->node_first[node],
        .profile = &cu->mi->states.model->profiles[cu->profile],
        .start = ch->start,
    };
}

/*
 * Models are merged by score: each step takes the best next group over all
 * models, and within groups of equal score the lowest GPU index that passes
 * the node filters. A group none of whose GPUs pass is passed over.
 */
bool placement_index_best(const struct placement_cluster *c, const struct placement_request *r,
                          enum placement_policy policy, struct placement_decision *d)
{
    struct cursor cur[PLACEMENT_MAX_MODELS];
    size_t n = open_cursors(c->index, r, cur);
    for (;;) {
        bool any = false;
        uint32_t best = 0, score;
        for (size_t k = 0; k < n; k++)
            if (cursor_score(&cur[k], policy, &score) && (!any || score > best)) {
                best = score;
                any = true;
            }
        if (!any)
            return false;
        size_t pick = NO_GPU, pick_k = 0;
        for (size_t k = 0; k < n; k++) {
            if (!cursor_score(&cur[k], policy, &score) || score != best)
                continue;
            size_t gpu = first_accepted(
                c, r, &cur[k].mi->groups[policy][cur[k].profile][cur[k].group], pick);
            if (gpu < pick) {
                pick = gpu;
                pick_k = k;
            }
            cur[k].group++;
        }
        if (pick != NO_GPU) {
            fill_decision(c, &cur[pick_k], policy, pick, d);
            return true;
        }
    }
}
