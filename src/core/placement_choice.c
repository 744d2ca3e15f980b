/*
 * Deciding among several profiles (see placement_decide_first): requests
 * by memory and upgrades name a list of (model, profile) pairs, smallest
 * first, and take the first that can be placed. Entries of one profile
 * name on several models are decided together, so the policy's score
 * chooses among those models rather than the catalogue's order.
 */
#include "core/placement.h"

#include <string.h>

/* Whether a and b are one profile name of one size (on two models). */
static bool same_group(const struct catalog_fit *a, const struct catalog_fit *b)
{
    return a->profile->compute_slices == b->profile->compute_slices &&
           catalog_profile_gib(a->profile) == catalog_profile_gib(b->profile) &&
           strcmp(a->profile->name, b->profile->name) == 0;
}

int placement_decide_first(const struct placement_cluster *c, struct placement_request *r,
                           enum placement_policy policy, const struct catalog_fit *fits,
                           size_t n, struct placement_decision *d, struct err *first)
{
    const struct gpu_model *models[CATALOG_FITS_MAX];
    for (size_t i = 0, j; i < n; i = j) {
        size_t k = 0;
        for (j = i; j < n && same_group(&fits[j], &fits[i]) && k < CATALOG_FITS_MAX; j++)
            models[k++] = fits[j].model;
        r->profile = fits[i].profile->name;
        r->models = models;
        r->n_models = k;
        /* Only the first group's explanation is kept: the others are not
         * worked out, unless one fails otherwise than for room. */
        struct err why = {0};
        bool keep = first && i == 0;
        int rc = placement_decide(c, r, policy, d, keep ? &why : NULL);
        if (rc < 0 && rc != -ENOSPC && first && !keep)
            rc = placement_decide(c, r, policy, d, &why);
        r->models = NULL; /* models is this call's */
        r->n_models = 0;
        if (rc != -ENOSPC) {
            if (rc < 0 && first)
                *first = why;
            return rc;
        }
        if (i == 0 && first)
            *first = why;
    }
    return -ENOSPC;
}
