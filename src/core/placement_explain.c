/*
 * The explanation of a failed placement, and the defragmentation test it
 * quotes (see placement_explain.h and placement_fits_after_repack).
 *
 * Each GPU is counted under the first filter that drops it, in the order the
 * decision applies them: model, held back, profile allowed, a free slice of
 * the layout (mig-static GPUs), node selector, the caller's filter, a free
 * placement. Node filters run once per node.
 */
#include "core/placement_explain.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/placement_filter.h"
#include "core/placement_fixed.h"

struct tally {
    size_t excluded_model; /* the request's model filter drops them */
    size_t no_profile;     /* their model has no such profile */
    size_t held_back;
    size_t not_allowed;
    size_t fixed_full;     /* mig-static, every slice of the profile held (or none) */
    size_t selector;
    size_t caller;
    size_t no_room;        /* passed every filter, no free placement */
    size_t after_defrag;   /* of no_room: would fit after defragmentation */
    const char *caller_node; /* the first node the caller's filter rejected */
    char caller_reason[128];
};

/* Lays the slices of items[k..] onto o; identical profiles are tried at
 * increasing starts only, so that swapping two of them is not tried again. */
static bool pack(const struct gpu_occupancy *o, const uint8_t *items, unsigned n, unsigned k,
                 unsigned min_start)
{
    if (k == n)
        return true;
    const struct mig_profile *p = &o->model->profiles[items[k]];
    uint8_t starts[MIG_MAX_PLACEMENTS];
    unsigned ns = occupancy_free_starts(o, p, starts);
    for (unsigned i = 0; i < ns; i++) {
        if (starts[i] < min_start)
            continue;
        struct gpu_occupancy t = *o;
        (void)occupancy_take(&t, p, starts[i], 0, NULL);
        bool same_next = k + 1 < n && items[k + 1] == items[k];
        if (pack(&t, items, n, k + 1, same_next ? starts[i] + 1u : 0))
            return true;
    }
    return false;
}

/* Orders profile indices biggest first (then by index, so that identical
 * profiles sit together): big slices have the fewest legal starts, so
 * placing them first prunes the search soonest. At most 9 items. */
static void sort_biggest_first(const struct gpu_model *m, uint8_t *items, unsigned n)
{
    for (unsigned i = 1; i < n; i++) {
        uint8_t x = items[i];
        unsigned j = i;
        while (j > 0 && (m->profiles[items[j - 1]].memory_slices < m->profiles[x].memory_slices ||
                         (m->profiles[items[j - 1]].memory_slices == m->profiles[x].memory_slices &&
                          items[j - 1] > x))) {
            items[j] = items[j - 1];
            j--;
        }
        items[j] = x;
    }
}

/* The fewest memory slices any placement of p covers. */
static unsigned narrowest(const struct mig_profile *p)
{
    unsigned least = UINT8_MAX;
    for (unsigned i = 0; i < p->n_placements && i < MIG_MAX_PLACEMENTS; i++)
        if (p->placements[i].size < least)
            least = p->placements[i].size;
    return least;
}

/* Whether o's slices and p together exceed the GPU's compute slices or (at
 * their narrowest) its memory slices: no packing can hold them, and on a
 * full cluster that is most GPUs, so pack's search is skipped for them. */
static bool too_much(const struct gpu_occupancy *o, const struct mig_profile *p)
{
    const struct gpu_model *m = o->model;
    if ((unsigned)o->compute_used + p->compute_slices > m->compute_slices)
        return true;
    unsigned memory = narrowest(p);
    for (unsigned i = 0; i < o->n_slices && memory <= m->memory_slices; i++)
        memory += narrowest(&m->profiles[o->slices[i].profile]);
    return memory > m->memory_slices;
}

bool placement_fits_after_repack(const struct gpu_occupancy *o, const struct mig_profile *p)
{
    if (!o || !o->model || !p || catalog_profile_index(o->model, p, NULL) < 0)
        return false;
    uint8_t starts[MIG_MAX_PLACEMENTS];
    if (occupancy_free_starts(o, p, starts) > 0)
        return true;
    if (too_much(o, p))
        return false;
    uint8_t items[OCCUPANCY_MAX_SLICES + 1];
    unsigned n = 0;
    for (unsigned i = 0; i < o->n_slices; i++)
        items[n++] = o->slices[i].profile;
    items[n++] = (uint8_t)(p - o->model->profiles);
    sort_biggest_first(o->model, items, n);
    struct gpu_occupancy empty;
    occupancy_init(&empty, o->model);
    return pack(&empty, items, n, 0, 0);
}

static bool profile_catalogued(const char *name)
{
    for (size_t i = 0; i < catalog_model_count(); i++)
        if (catalog_find_profile(catalog_model(i), name))
            return true;
    return false;
}

/* Counts g under the first GPU-level filter that drops it; false when none
 * does. */
static bool gpu_dropped(const struct placement_request *r, const struct placement_gpu *g,
                        const struct mig_profile **p, struct tally *t)
{
    const struct gpu_model *m = g->occ.model;
    *p = catalog_find_profile(m, r->profile);
    if (!placement_filter_model(r, m))
        t->excluded_model++;
    else if (!*p)
        t->no_profile++;
    else if (g->held_back)
        t->held_back++;
    else if (!(g->allowed & (1u << (*p - m->profiles))))
        t->not_allowed++;
    else if (g->fixed && !placement_fixed_free(g, *p))
        t->fixed_full++;
    else
        return false;
    return true;
}

static void count(const struct placement_cluster *c, const struct placement_request *r,
                  struct tally *t)
{
    size_t node = (size_t)-1;
    enum placement_node_verdict v = PLACEMENT_NODE_OK;
    for (size_t i = 0; i < c->n_gpus; i++) {
        const struct placement_gpu *g = &c->gpus[i];
        const struct mig_profile *p;
        if (gpu_dropped(r, g, &p, t))
            continue;
        if (g->node != node) {
            char reason[sizeof t->caller_reason] = "";
            node = g->node;
            v = placement_filter_node(c, r, node, reason, sizeof reason);
            if (v == PLACEMENT_NODE_CALLER && !t->caller_node) {
                t->caller_node = c->nodes[node].name;
                memcpy(t->caller_reason, reason, sizeof reason);
            }
        }
        if (v == PLACEMENT_NODE_SELECTOR)
            t->selector++;
        else if (v == PLACEMENT_NODE_CALLER)
            t->caller++;
        else {
            /* Passing every filter yet not chosen means no free placement. */
            t->no_room++;
            t->after_defrag += !g->fixed && placement_fits_after_repack(&g->occ, p);
        }
    }
}

struct text {
    char buf[ERR_MSG_MAX];
    size_t len;
    const char *sep;
};

static void add(struct text *x, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends the separator and the formatted part when n (the count it
 * reports) is not 0. The text is as long as an error message: the end of a
 * long one is cut, as err_set would cut it. */
static void add(struct text *x, size_t n, const char *fmt, ...)
{
    if (n == 0)
        return;
    char part[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(part, sizeof part, fmt, ap);
    va_end(ap);
    size_t room = sizeof x->buf - x->len;
    int w = snprintf(x->buf + x->len, room, "%s%s", x->sep, part);
    x->len += w > 0 && (size_t)w < room ? (size_t)w : room - 1;
    x->sep = ", ";
}

int placement_explain(const struct placement_cluster *c, const struct placement_request *r,
                      struct err *e)
{
    if (!profile_catalogued(r->profile))
        return err_set(e, -EINVAL, "unknown profile \"%s\": no catalogued GPU model has it",
                       r->profile);
    if (c->n_gpus == 0)
        return err_set(e, -ENOSPC, "no GPU can take %s: the cluster has no GPUs", r->profile);
    /* Counting reads every GPU: a caller that keeps no message (a trial
     * placement, a later try of a gang) does not pay for one. */
    if (!e)
        return -ENOSPC;
    struct tally t = {0};
    count(c, r, &t);
    struct text x = {.sep = ""};
    add(&x, t.no_room, "%zu with no free placement for it (%zu could fit it after "
        "defragmentation)", t.no_room, t.after_defrag);
    add(&x, t.held_back, "%zu held back", t.held_back);
    add(&x, t.not_allowed, "%zu not allowing it", t.not_allowed);
    add(&x, t.fixed_full, "%zu mig-static with no free %s", t.fixed_full, r->profile);
    add(&x, t.selector, "%zu on nodes not matching the selector", t.selector);
    add(&x, t.caller, "%zu on nodes the caller's filter rejected (%s: %s)", t.caller,
        t.caller_node, t.caller_reason[0] ? t.caller_reason : "no reason given");
    add(&x, t.excluded_model, "%zu of models the request excludes", t.excluded_model);
    add(&x, t.no_profile, "%zu of models without it", t.no_profile);
    return err_set(e, -ENOSPC, "no GPU can take %s: of %zu GPUs, %s", r->profile, c->n_gpus,
                   x.buf);
}
