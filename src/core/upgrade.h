/*
 * Upgrades: which larger profiles may stand in for one a pod asked for
 * when that one cannot be placed (the pod opted in with
 * gpuslice.dev/upgrade-after), and how much an upgraded slice wastes, for
 * choosing which upgraded pod to restore first.
 *
 * A profile name means different slices on different models (1g.10gb is
 * two memory slices on an A100-40GB, one on an H100), so sizes compare in
 * compute slices and in whole GiB (catalog_profile_gib), which mean the
 * same on every model; the asked profile's size is the smallest any model
 * gives that name. Pure functions over the catalogue and a cluster model.
 */
#ifndef GPUSLICE_CORE_UPGRADE_H
#define GPUSLICE_CORE_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/catalog.h"
#include "core/placement.h"
#include "util/err.h"

/* What a profile name asks for, whatever model gives it. */
struct upgrade_size {
    unsigned compute; /* compute slices */
    unsigned gib;     /* memory, whole GiB */
    bool media;       /* "+me": a media engine asked for */
};

/* The size of profile name (aliases and the "mig-" prefixes accepted):
 * the fewest compute slices and GiB of the models that have it. -EINVAL
 * naming it when no catalogued model does. */
int upgrade_asked_size(const char *name, struct upgrade_size *out, struct err *e);

/* The profiles that may replace name, smallest first: every profile of
 * every model with at least its compute slices and GiB, except name
 * itself on the models that have it (that is no upgrade); "+me" profiles
 * only when name is one (then also a whole GPU's profile, which holds
 * every engine). Ordered by compute slices, then GiB, then name, then the
 * catalogue's model order, so entries of one name on several models are
 * adjacent. Fills at most max of out; returns how many (0 for an unknown
 * name). */
size_t upgrade_candidates(const char *name, struct catalog_fit *out, size_t max);

/* Decides r, whose profile cannot be placed as asked, with the smallest
 * of upgrade_candidates(r->profile) that can (placement_decide_first;
 * models r names are not kept: an upgrade may cross models). r is not
 * changed. -ENOSPC when none can be placed. */
int upgrade_decide(const struct placement_cluster *c, const struct placement_request *r,
                   enum placement_policy policy, struct placement_decision *d);

/* upgrade_decide among the candidates of at most max_gib GiB (what a
 * namespace's quotas leave room for; UINT_MAX: no limit). -ENOSPC when
 * none of those can be placed. */
int upgrade_decide_within(const struct placement_cluster *c, const struct placement_request *r,
                          enum placement_policy policy, unsigned max_gib,
                          struct placement_decision *d);

/* How much larger given is than asked. */
struct upgrade_waste {
    unsigned gib, compute;
};

/* given's excess over asked (0 where it is not larger). */
struct upgrade_waste upgrade_waste_of(const struct mig_profile *given,
                                      const struct upgrade_size *asked);

/* Orders wastes, larger first: by GiB, then compute slices (< 0 when a
 * wastes more than b, 0 when equal). */
int upgrade_waste_cmp(const struct upgrade_waste *a, const struct upgrade_waste *b);

#endif
