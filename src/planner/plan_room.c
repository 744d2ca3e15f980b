/*
 * The capacity a solver spends (solve.h, struct plan_room): units used per
 * type, and whether they fit. A plain type fits while its units are within
 * its count. A GPU pool (whole GPUs of a catalogued model and the slice
 * types cut from them) fits when the GPUs used whole are within the count
 * and the slices can be placed on the GPUs left: first fit, largest
 * profile first (core/occupancy.h has the rules), each at its highest free
 * start, which leaves the low slices whole for the smaller profiles that
 * come after (a 3g.40gb at 4 leaves room for four 1g.10gb at 0-3, at 0 for
 * three). A packing found is a packing that exists, so a plan never asks
 * for more than the GPUs hold; first fit may miss a packing that exists,
 * and then the room is judged full early (the MILP's cuts are exact).
 */
#include "planner/solve.h"

#include <stdlib.h>
#include <string.h>

#include "core/occupancy.h"
#include "util/alloc.h"
#include "util/vec.h"

static long count_of(const struct plan_type *t)
{
    return t->count > 0 ? t->count : 0;
}

/* The larger profile first (memory, then compute), then input order. */
static bool slice_before(const struct plan_system *sys, int a, int b)
{
    const struct mig_profile *x = sys->types[a].profile, *y = sys->types[b].profile;
    if (x->memory_slices != y->memory_slices)
        return x->memory_slices > y->memory_slices;
    if (x->compute_slices != y->compute_slices)
        return x->compute_slices > y->compute_slices;
    return a < b;
}

void plan_room_init(struct plan_room *r, const struct plan_system *sys)
{
    size_t n = sys->n_types ? sys->n_types : 1;
    *r = (struct plan_room){.sys = sys, .used = alloc_calloc(n, sizeof *r->used),
                            .pool = alloc_calloc(n, sizeof *r->pool), .slices = alloc_calloc(n, sizeof *r->slices)};
    for (size_t t = 0; t < sys->n_types; t++)
        r->pool[t] = (int)t;
    for (size_t t = 0; t < sys->n_types; t++) {
        int gpus = plan_type_gpus(sys, (int)t);
        if (gpus < 0)
            continue;
        r->pool[t] = gpus;
        size_t i = r->n_slices++; /* insertion in order: there are few types */
        for (; i > 0 && slice_before(sys, (int)t, r->slices[i - 1]); i--)
            r->slices[i] = r->slices[i - 1];
        r->slices[i] = (int)t;
    }
}

void plan_room_free(struct plan_room *r)
{
    free(r->used);
    free(r->pool);
    free(r->slices);
    free(r->gpu);
    memset(r, 0, sizeof *r);
}

void plan_room_clear(struct plan_room *r)
{
    memset(r->used, 0, r->sys->n_types * sizeof *r->used);
}

void plan_room_copy(struct plan_room *dst, const struct plan_room *src)
{
    memcpy(dst->used, src->used, src->sys->n_types * sizeof *dst->used);
}

void plan_room_take(struct plan_room *r, int type, long units)
{
    r->used[type] += units;
}

/* Whether the pool of GPU type g has any slice type. */
static bool has_slices(const struct plan_room *r, int g)
{
    for (size_t i = 0; i < r->n_slices; i++)
        if (r->pool[r->slices[i]] == g)
            return true;
    return false;
}

long plan_room_sliced_gpus(struct plan_room *r, int g, long most)
{
    const struct plan_system *sys = r->sys;
    size_t opened = 0;
    for (size_t i = 0; i < r->n_slices; i++) {
        int s = r->slices[i];
        const struct mig_profile *p = sys->types[s].profile;
        if (r->pool[s] != g)
            continue;
        size_t at = 0;
        uint8_t starts[MIG_MAX_PLACEMENTS];
        for (long k = 0; k < r->used[s]; k++) {
            unsigned n = 0;
            while (at < opened && (n = occupancy_free_starts(&r->gpu[at], p, starts)) == 0)
                at++;
            if (at == opened) {
                if ((long)opened >= most)
                    return -1;
                VEC_RESERVE(r->gpu, r->gpu_cap, opened + 1);
                occupancy_init(&r->gpu[opened++], sys->types[g].gpu);
                if ((n = occupancy_free_starts(&r->gpu[at], p, starts)) == 0)
                    return -1; /* not a profile of this GPU: the loader keeps this from happening */
            }
            occupancy_take(&r->gpu[at], p, starts[n - 1], 0, NULL);
        }
    }
    return (long)opened;
}

/* Whether what the pool of g uses fits it. */
static bool pool_holds(struct plan_room *r, int g)
{
    const struct plan_system *sys = r->sys;
    long whole = r->used[g], gpus = count_of(&sys->types[g]);
    if (whole > gpus)
        return false;
    for (size_t i = 0; i < r->n_slices; i++) {
        int s = r->slices[i];
        if (r->pool[s] == g && sys->types[s].count >= 0 && r->used[s] > sys->types[s].count)
            return false;
    }
    return plan_room_sliced_gpus(r, g, gpus - whole) >= 0;
}

static bool holds(struct plan_room *r, int type)
{
    int g = r->pool[type];
    if (g != type || has_slices(r, g))
        return pool_holds(r, g);
    return r->used[type] <= count_of(&r->sys->types[type]);
}

bool plan_room_fits(struct plan_room *r, int type, long units)
{
    r->used[type] += units;
    bool ok = holds(r, type);
    r->used[type] -= units;
    return ok;
}

bool plan_room_holds_all(struct plan_room *r)
{
    for (size_t t = 0; t < r->sys->n_types; t++)
        if (!holds(r, (int)t))
            return false;
    return true;
}

long plan_room_fit_count(struct plan_room *r, int type, long per, long most)
{
    long lo = 0, hi = most; /* fits(lo * per) holds; find the largest */
    while (lo < hi) {
        long mid = lo + (hi - lo + 1) / 2;
        if (plan_room_fits(r, type, mid * per))
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

double plan_room_weight(const struct plan_room *r, int type)
{
    const struct plan_type *t = &r->sys->types[type];
    if (r->pool[type] == type || !t->profile)
        return 1.0;
    return (double)t->profile->memory_slices / (double)t->gpu->memory_slices;
}

int plan_room_type(const struct plan_system *sys, const struct plan_candidate *c)
{
    return sys->accelerators[c->acc].type;
}
