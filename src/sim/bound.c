/*
 * The makespan's lower bound (see bound.h).
 */
#include "sim/bound.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/catalog.h"
#include "core/occupancy.h"
#include "util/duration.h"

unsigned bound_placements(const struct placement_cluster *c, size_t g, const char *profile)
{
    const struct placement_gpu *gpu = &c->gpus[g];
    const struct mig_profile *p = catalog_find_profile(gpu->occ.model, profile);
    if (!p || gpu->held_back)
        return 0;
    int index = catalog_profile_index(gpu->occ.model, p, NULL);
    if (index < 0 || !(gpu->allowed & (1u << index)))
        return 0;
    struct gpu_occupancy occ = gpu->occ;
    unsigned n = 0;
    for (unsigned i = 0; i < p->n_placements; i++)
        n += occupancy_take(&occ, p, p->placements[i].start, 0, NULL) == 0;
    return n;
}

/* Whether every item is a batch of one profile at one instant. */
static bool identical(const struct scenario *sc)
{
    if (sc->n_items == 0)
        return false;
    const struct scenario_item *a = &sc->items[0];
    for (size_t i = 0; i < sc->n_items; i++) {
        const struct scenario_item *it = &sc->items[i];
        if (it->kind != SCENARIO_BATCH || strcmp(it->profile, a->profile) != 0 ||
            it->at_s != a->at_s || rng_dist_min(&it->run_s) != rng_dist_min(&a->run_s))
            return false;
    }
    return true;
}

/* Whether a namespace of the scenario keeps released slices warm
 * (gpuslice.dev/keep-warm, a duration above 0) and the controller may:
 * a pod may then take a slice over without a destroy or a create. */
static bool keeps_warm(const struct scenario *sc)
{
    for (size_t i = 0; sc->warm_max_percent >= 0 && i < sc->n_namespaces; i++) {
        const json_t *v = json_object_get(sc->namespaces[i].annotations, "gpuslice.dev/keep-warm");
        int64_t ns;
        if (json_is_string(v) && duration_parse(json_string_value(v), &ns, NULL) == 0 && ns > 0)
            return true;
    }
    return false;
}

/* With warm slices a placement's later pods may find their slice made:
 * each placement still serves k pods one after another, and the first
 * needs its create. */
static void identical_warm_bound(const struct scenario *sc, double c, struct bound *out)
{
    const struct placement_cluster *cl = sc->cluster;
    double r = rng_dist_min(&sc->items[0].run_s);
    size_t n = 0, total = 0;
    for (size_t i = 0; i < sc->n_items; i++)
        n += sc->items[i].count;
    for (size_t g = 0; g < cl->n_gpus; g++)
        total += bound_placements(cl, g, sc->items[0].profile);
    if (n == 0 || total == 0) {
        snprintf(out->formula, sizeof out->formula, "no pod can run: 0 s");
        return;
    }
    double k = ceil((double)n / (double)total);
    out->seconds = c + k * r;
    snprintf(out->formula, sizeof out->formula,
             "warm slices (keep-warm): c + k r, k = ceil(%zu pods / %zu placements) = %.0f: "
             "%.3f + %.0f x %.3f = %.3f s", n, total, k, c, k, r, out->seconds);
}

static void identical_bound(const struct scenario *sc, double c, double d, struct bound *out)
{
    const struct placement_cluster *cl = sc->cluster;
    const char *profile = sc->items[0].profile;
    double r = rng_dist_min(&sc->items[0].run_s);
    size_t n = 0, total = 0, gpus = 0, most = 0;
    for (size_t i = 0; i < sc->n_items; i++)
        n += sc->items[i].count;
    for (size_t g = 0; g < cl->n_gpus; g++) {
        unsigned p = bound_placements(cl, g, profile);
        total += p;
        gpus += p > 0;
        most = p > most ? p : most;
    }
    if (n == 0 || total == 0) {
        snprintf(out->formula, sizeof out->formula, "no pod can run: 0 s");
        return;
    }
    double k = ceil((double)n / (double)total), m = ceil((double)n / (double)gpus);
    double slots = k * (c + r) + (k - 1) * d;
    double extra = m > (double)most ? m - (double)most : 0;
    double device = m * c + extra * d + r;
    out->seconds = slots > device ? slots : device;
    snprintf(out->formula, sizeof out->formula,
             "max(slots: k (c + r) + (k - 1) d, k = ceil(%zu pods / %zu placements) = %.0f: "
             "%.0f (%.3f + %.3f) + %.0f x %.3f = %.3f s; device: m c + max(0, m - Pg) d + r, "
             "m = ceil(%zu pods / %zu GPUs) = %.0f, Pg = %zu: %.0f x %.3f + %.0f x %.3f + %.3f "
             "= %.3f s) = %.3f s",
             n, total, k, k, c, r, k - 1, d, slots, n, gpus, m, most, m, c, extra, d, r, device,
             out->seconds);
}

/* The memory slices of the smallest slice of profile any GPU of the
 * cluster has (0: none). */
static unsigned smallest(const struct placement_cluster *cl, const char *profile)
{
    unsigned best = 0;
    for (size_t g = 0; g < cl->n_gpus; g++) {
        const struct mig_profile *p = catalog_find_profile(cl->gpus[g].occ.model, profile);
        if (p && (best == 0 || p->memory_slices < best))
            best = p->memory_slices;
    }
    return best;
}

/* The memory slices gpuslice may use: every GPU not held back, less the
 * slices already there. */
static double usable(const struct placement_cluster *cl)
{
    double n = 0;
    for (size_t g = 0; g < cl->n_gpus; g++) {
        const struct gpu_occupancy *o = &cl->gpus[g].occ;
        if (cl->gpus[g].held_back)
            continue;
        n += o->model->memory_slices;
        for (unsigned s = 0; s < o->n_slices; s++)
            n -= o->model->profiles[o->slices[s].profile].memory_slices;
    }
    return n;
}

static double first_arrival(const struct scenario *sc)
{
    double first = INFINITY;
    for (size_t i = 0; i < sc->n_items; i++)
        first = sc->items[i].at_s < first ? sc->items[i].at_s : first;
    return first;
}

/* The longest a single item's pods take, from the first arrival. */
static double longest_of(const struct scenario_item *it, double first, double c)
{
    double offset = it->at_s - first, r = rng_dist_min(&it->run_s);
    switch (it->kind) {
    case SCENARIO_BATCH:
        return it->count ? offset + c + r : 0;
    case SCENARIO_JOB: {
        double waves = ceil((double)it->count / (double)(it->parallelism ? it->parallelism : 1));
        return offset + waves * (c + r);
    }
    case SCENARIO_DEPLOYMENT:
        return it->delete_at_s >= 0 && it->count ? it->delete_at_s - first : 0;
    default:
        return 0;
    }
}

static void mixed_bound(const struct scenario *sc, double c, struct bound *out)
{
    double first = first_arrival(sc), longest = 0, slice_s = 0, cap = usable(sc->cluster);
    for (size_t i = 0; i < sc->n_items; i++) {
        const struct scenario_item *it = &sc->items[i];
        double l = longest_of(it, first, c);
        longest = l > longest ? l : longest;
        if (it->kind == SCENARIO_BATCH)
            slice_s += (double)it->count * smallest(sc->cluster, it->profile) *
                       (c + rng_dist_min(&it->run_s));
    }
    double capacity = cap > 0 ? slice_s / cap : 0;
    out->seconds = longest > capacity ? longest : capacity;
    snprintf(out->formula, sizeof out->formula,
             "max(longest pod or chain: %.3f s; capacity: %.1f memory slice-seconds / %.0f "
             "memory slices = %.3f s) = %.3f s (Poisson items add nothing)",
             longest, slice_s, cap, capacity, out->seconds);
}

void bound_compute(const struct scenario *sc, struct bound *out)
{
    *out = (struct bound){0};
    double c = rng_dist_min(&sc->create_ms) / 1000.0, d = rng_dist_min(&sc->destroy_ms) / 1000.0;
    bool warm = keeps_warm(sc);
    if (identical(sc) && warm)
        identical_warm_bound(sc, c, out);
    else if (identical(sc))
        identical_bound(sc, c, d, out);
    else if (sc->n_items)
        mixed_bound(sc, warm ? 0 : c, out); /* a warm slice needs no create */
    else
        snprintf(out->formula, sizeof out->formula, "no workload: 0 s");
}
