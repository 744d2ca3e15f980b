/*
 * Upgrade candidates and waste (see upgrade.h). The catalogue has a few
 * dozen profiles in all, so a candidate list is built and sorted per call.
 */
#include "core/upgrade.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

int upgrade_asked_size(const char *name, struct upgrade_size *out, struct err *e)
{
    bool found = false;
    for (size_t i = 0; i < catalog_model_count(); i++) {
        const struct mig_profile *p = catalog_find_profile(catalog_model(i), name);
        if (!p)
            continue;
        unsigned gib = catalog_profile_gib(p);
        if (!found || p->compute_slices < out->compute)
            out->compute = p->compute_slices;
        if (!found || gib < out->gib)
            out->gib = gib;
        out->media = p->media_extended;
        found = true;
    }
    return found ? 0 : err_set(e, -EINVAL, "no GPU model has the profile %s", name);
}

/* Whether p on m may stand in for a request of size asked named name. */
static bool may_replace(const struct gpu_model *m, const struct mig_profile *p,
                        const char *name, const struct upgrade_size *asked)
{
    bool whole_gpu = p->compute_slices == m->compute_slices;
    if (p->compute_slices < asked->compute || catalog_profile_gib(p) < asked->gib)
        return false;
    if (asked->media ? !(p->media_extended || whole_gpu) : p->media_extended)
        return false;
    return catalog_find_profile(m, name) != p;
}

struct ranked {
    struct catalog_fit fit;
    size_t model; /* catalogue order, the last tie-break */
};

static int ranked_cmp(const void *pa, const void *pb)
{
    const struct ranked *a = pa, *b = pb;
    const struct mig_profile *x = a->fit.profile, *y = b->fit.profile;
    unsigned gx = catalog_profile_gib(x), gy = catalog_profile_gib(y);
    if (x->compute_slices != y->compute_slices)
        return x->compute_slices < y->compute_slices ? -1 : 1;
    if (gx != gy)
        return gx < gy ? -1 : 1;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : (a->model < b->model ? -1 : a->model > b->model);
}

size_t upgrade_candidates(const char *name, struct catalog_fit *out, size_t max)
{
    struct upgrade_size asked;
    if (upgrade_asked_size(name, &asked, NULL) < 0)
        return 0;
    struct ranked all[CATALOG_FITS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < catalog_model_count(); i++) {
        const struct gpu_model *m = catalog_model(i);
        for (size_t k = 0; k < m->n_profiles && n < CATALOG_FITS_MAX; k++)
            if (may_replace(m, &m->profiles[k], name, &asked))
                all[n++] = (struct ranked){{m, &m->profiles[k]}, i};
    }
    qsort(all, n, sizeof all[0], ranked_cmp);
    if (n > max)
        n = max;
    for (size_t i = 0; i < n; i++)
        out[i] = all[i].fit;
    return n;
}

int upgrade_decide(const struct placement_cluster *c, const struct placement_request *r,
                   enum placement_policy policy, struct placement_decision *d)
{
    return upgrade_decide_within(c, r, policy, UINT_MAX, d);
}

int upgrade_decide_within(const struct placement_cluster *c, const struct placement_request *r,
                          enum placement_policy policy, unsigned max_gib,
                          struct placement_decision *d)
{
    struct catalog_fit fits[CATALOG_FITS_MAX];
    size_t n = upgrade_candidates(r->profile, fits, CATALOG_FITS_MAX), kept = 0;
    for (size_t i = 0; i < n; i++)
        if (catalog_profile_gib(fits[i].profile) <= max_gib)
            fits[kept++] = fits[i];
    struct placement_request larger = *r;
    return kept ? placement_decide_first(c, &larger, policy, fits, kept, d, NULL) : -ENOSPC;
}

struct upgrade_waste upgrade_waste_of(const struct mig_profile *given,
                                      const struct upgrade_size *asked)
{
    unsigned gib = catalog_profile_gib(given);
    return (struct upgrade_waste){
        .gib = gib > asked->gib ? gib - asked->gib : 0,
        .compute = given->compute_slices > asked->compute
                       ? given->compute_slices - asked->compute
                       : 0,
    };
}

int upgrade_waste_cmp(const struct upgrade_waste *a, const struct upgrade_waste *b)
{
    if (a->gib != b->gib)
        return a->gib > b->gib ? -1 : 1;
    if (a->compute != b->compute)
        return a->compute > b->compute ? -1 : 1;
    return 0;
}
