/*
 * Placing shares of whole GPUs (see placement_share.h): passes over the
 * GPUs in order, each scored as a single integer key (smaller is better,
 * the first of equal keys wins), the node rules asked of the winner.
 */
#include "core/placement_share.h"

#include <stdint.h>
#include <stdio.h>

#include "core/placement_filter.h"
#include "core/placement_share_internal.h"

unsigned placement_share_capacity_gib(unsigned memory_mib, unsigned overhead_mib)
{
    return memory_mib > overhead_mib ? (memory_mib - overhead_mib) / 1024u : 0;
}

unsigned placement_share_proportional_sm(const struct share_gpu *g, unsigned gib)
{
    if (g->capacity_gib == 0)
        return 100;
    unsigned long long sm = 100ull * gib / g->capacity_gib;
    return sm < 1 ? 1 : sm > 100 ? 100 : (unsigned)sm;
}

const char *placement_share_mode_name(enum share_mode mode)
{
    return mode == SHARE_MPS ? "mps" : "timeslice";
}

unsigned placement_share__sm_of(const struct share_gpu *g, const struct share_request *r)
{
    return r->sm_percent ? r->sm_percent : placement_share_proportional_sm(g, r->memory_gib);
}

bool placement_share__has_room(const struct share_gpu *g, const struct share_request *r,
                               unsigned sm)
{
    if (g->clients >= g->slots)
        return false;
    return g->mode == SHARE_TIMESLICE ||
           (g->used_gib <= g->capacity_gib && r->memory_gib <= g->capacity_gib - g->used_gib &&
            g->used_sm + sm <= 100);
}

bool placement_share_fits(const struct share_gpu *g, const struct share_request *r)
{
    return !g->held_back && g->mode == r->mode &&
           placement_share__has_room(g, r, placement_share__sm_of(g, r));
}

void placement_share_take(struct share_gpu *g, unsigned gib, unsigned sm)
{
    g->used_gib += gib;
    g->used_sm += sm;
    g->clients++;
}

void placement_share_release(struct share_gpu *g, unsigned gib, unsigned sm)
{
    g->used_gib -= gib;
    g->used_sm -= sm;
    g->clients--;
}

bool placement_share_over(const struct share_gpu *g)
{
    return g->clients > g->slots ||
           (g->mode == SHARE_MPS && (g->used_gib > g->capacity_gib || g->used_sm > 100));
}

void placement_share__per_capacity(const struct share_gpu *g, const struct share_request *r,
                                   struct share_per_capacity *pc)
{
    unsigned capacity = g->mode == SHARE_MPS ? g->capacity_gib : g->slots;
    if (capacity == pc->capacity || capacity == 0)
        return;
    pc->capacity = capacity;
    pc->sm = r->mode == SHARE_MPS ? placement_share__sm_of(g, r) : 0;
    pc->per_mille = (1000ull << 32) / capacity + 1;
}

void placement_share__left_after(const struct share_gpu *g, const struct share_request *r,
                                 const struct share_per_capacity *pc, unsigned *mem, unsigned *sm)
{
    if (g->mode == SHARE_TIMESLICE) {
        *mem = *sm = (unsigned)(((g->slots - g->clients - 1) * pc->per_mille) >> 32);
        return;
    }
    *mem = (unsigned)(((g->capacity_gib - g->used_gib - r->memory_gib) * pc->per_mille) >> 32);
    *sm = 10u * (100 - g->used_sm - pc->sm);
}

uint64_t placement_share__score(const struct share_gpu *g, const struct share_request *r,
                                const struct share_per_capacity *pc, enum placement_policy policy)
{
    unsigned mem, sm;
    if (policy == PLACEMENT_FIRST_FIT)
        return 0;
    placement_share__left_after(g, r, pc, &mem, &sm);
    uint64_t leftover = mem + sm;
    if (policy == PLACEMENT_BEST_FIT)
        return leftover;
    uint64_t empty = g->clients == 0;
    uint64_t imbalance = mem > sm ? mem - sm : sm - mem;
    return empty << 40 | imbalance << 20 | leftover;
}

/* What each rule rejected, for the explanation. */
struct share_tally {
    size_t other_mode, held, full, selector, caller;
    char reason[128]; /* the caller filter's first reason */
};

static void explain(const struct share_request *r, const struct share_tally *t, struct err *e)
{
    const char *mode = placement_share_mode_name(r->mode);
    char what[64];
    if (r->mode == SHARE_MPS && r->sm_percent)
        snprintf(what, sizeof what, "%u GiB and %u%% of the SMs", r->memory_gib, r->sm_percent);
    else if (r->mode == SHARE_MPS)
        snprintf(what, sizeof what, "%u GiB", r->memory_gib);
    else
        snprintf(what, sizeof what, "a time slice");
    err_set(e, -ENOSPC, "no GPU in mode %s with room for %s: %zu in another mode, %zu held "
            "back, %zu without room, %zu on nodes the selector rules out, %zu on nodes "
            "refused%s%s", mode, what, t->other_mode, t->held, t->full, t->selector, t->caller,
            t->reason[0] ? ": " : "", t->reason);
}

/* Whether g's node passes r's node rules, asked once per node: *verdict_node
 * and *verdict remember the last node asked. */
static bool node_passes(const struct placement_node *nodes, const struct share_request *r,
                        size_t node, long *asked, enum placement_node_verdict *verdict,
                        struct share_tally *t)
{
    if (*asked != (long)node) {
        struct placement_cluster view = {.nodes = nodes};
        char reason[sizeof t->reason] = "";
        *verdict = placement_filter_node(&view, &r->where, node, reason, sizeof reason);
        *asked = (long)node;
        if (*verdict == PLACEMENT_NODE_CALLER && !t->reason[0])
            snprintf(t->reason, sizeof t->reason, "%s", reason);
    }
    t->selector += *verdict == PLACEMENT_NODE_SELECTOR;
    t->caller += *verdict == PLACEMENT_NODE_CALLER;
    return *verdict == PLACEMENT_NODE_OK;
}

/* The best GPU for r in one pass, or -1. With a tally, the node rules are
 * asked of each GPU that would beat the best so far (once per node) and
 * what each rule rejects is counted; without one, no node rule is asked
 * and the nodes in skip[n_skip] are passed over. */
static long best_gpu(const struct share_gpu *gpus, size_t n, const struct placement_node *nodes,
                     const struct share_request *r, enum placement_policy policy,
                     const size_t *skip, size_t n_skip, struct share_tally *t)
{
    struct share_tally ignored;
    struct share_tally *count = t ? t : &ignored;
    long best = -1, asked = -1;
    uint64_t best_key = UINT64_MAX;
    enum placement_node_verdict verdict = PLACEMENT_NODE_OK;
    struct share_per_capacity pc = {0};
    for (size_t i = 0; i < n && !(best >= 0 && policy == PLACEMENT_FIRST_FIT); i++) {
        const struct share_gpu *g = &gpus[i];
        count->other_mode += g->mode != r->mode;
        count->held += g->mode == r->mode && g->held_back;
        if (g->mode != r->mode || g->held_back)
            continue;
        placement_share__per_capacity(g, r, &pc);
        if (!placement_share__has_room(g, r, pc.sm)) {
            count->full++;
            continue;
        }
        /* Fragmentation-aware: an empty GPU never beats a shared one. */
        if (policy == PLACEMENT_FRAGMENTATION_AWARE && g->clients == 0 &&
            best_key < (uint64_t)1 << 40)
            continue;
        uint64_t key = placement_share__score(g, r, &pc, policy);
        bool skipped = false;
        for (size_t k = 0; k < n_skip; k++)
            skipped |= skip[k] == g->node;
        if (key >= best_key || skipped ||
            (t && !node_passes(nodes, r, g->node, &asked, &verdict, t)))
            continue;
        best = (long)i;
        best_key = key;
    }
    return best;
}

/* How many nodes the quick passes rule out before one careful pass. */
#define SKIP_MAX 4

int placement_share__check_request(const struct share_request *r, struct err *e)
{
    if ((r->mode != SHARE_MPS && r->mode != SHARE_TIMESLICE) || r->sm_percent > 100 ||
        (r->mode == SHARE_MPS && r->memory_gib == 0))
        return err_set(e, -EINVAL, "placement: a share needs mode mps (with memory, SM percent "
                       "0..100) or timeslice");
    return 0;
}

int placement_share__conclude(const struct share_gpu *gpus, size_t n,
                              const struct placement_node *nodes, const struct share_request *r,
                              enum placement_policy policy, long best, struct share_decision *d,
                              struct err *e)
{
    struct share_tally t = {0};
    if (best < 0)
        best = best_gpu(gpus, n, nodes, r, policy, NULL, 0, &t);
    if (best < 0) {
        explain(r, &t, e);
        return -ENOSPC;
    }
    const struct share_gpu *g = &gpus[best];
    *d = (struct share_decision){.gpu = (size_t)best, .node = g->node};
    if (r->mode == SHARE_MPS) {
        d->memory_gib = r->memory_gib;
        d->sm_percent = placement_share__sm_of(g, r);
    }
    return 0;
}

int placement_share_decide(const struct share_gpu *gpus, size_t n,
                           const struct placement_node *nodes, const struct share_request *r,
                           enum placement_policy policy, struct share_decision *d,
                           struct err *e)
{
    int rc = placement_share__check_request(r, e);
    if (rc < 0)
        return rc;
    /* Quick passes ask the node rules of the winner only (one call where
     * nodes pass, the common case); a node that fails is passed over
     * next time. Past a few such nodes (a pod held to one node), one pass
     * that asks every contender, which also explains a failure. */
    size_t skip[SKIP_MAX], n_skip = 0;
    long best = -1;
    while (best < 0 && n_skip < SKIP_MAX) {
        long g = best_gpu(gpus, n, nodes, r, policy, skip, n_skip, NULL);
        if (g < 0)
            break;
        struct placement_cluster view = {.nodes = nodes};
        if (placement_filter_node(&view, &r->where, gpus[g].node, NULL, 0) == PLACEMENT_NODE_OK)
            best = g;
        else
            skip[n_skip++] = gpus[g].node;
    }
    return placement_share__conclude(gpus, n, nodes, r, policy, best, d, e);
}
