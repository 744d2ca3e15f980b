/*
 * The rules for putting GPU instances on one GPU (see occupancy.h).
 *
 * fit() is the only place the rules are written; check, take, the free
 * starts and the headroom all go through it, so they cannot disagree. Checks
 * run cheapest first and a message is formatted only when the caller asked
 * for one, because placement policies call this for every GPU they score.
 */
#include "core/occupancy.h"

#include <stdio.h>
#include <string.h>

void occupancy_init(struct gpu_occupancy *o, const struct gpu_model *m)
{
    memset(o, 0, sizeof *o);
    o->model = m;
}

static const struct mig_profile *slice_profile(const struct gpu_occupancy *o,
                                               const struct occupied_slice *s)
{
    return &o->model->profiles[s->profile];
}

/* The legal placement of p that starts at start, or NULL. */
static const struct mig_placement *placement_at(const struct mig_profile *p, unsigned start)
{
    for (unsigned i = 0; i < p->n_placements; i++)
        if (p->placements[i].start == start)
            return &p->placements[i];
    return NULL;
}

/* "0,2,4" into buf: the legal starts, for messages. */
static void format_starts(const struct mig_profile *p, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < p->n_placements && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%u", i ? "," : "",
                         (unsigned)p->placements[i].start);
        if (n < 0)
            return;
        used += (size_t)n;
    }
}

static int illegal_start(const struct gpu_occupancy *o, const struct mig_profile *p,
                         unsigned start, struct err *e)
{
    char starts[3 * MIG_MAX_PLACEMENTS + 1] = "";
    if (e)
        format_starts(p, starts, sizeof starts);
    return err_set(e, -EINVAL, "%s cannot start at memory slice %u on %s (legal starts: %s)",
                   p->name, start, o->model->name, starts);
}

static int overlap(const struct gpu_occupancy *o, const struct mig_profile *p, unsigned start,
                   uint8_t taken, struct err *e)
{
    unsigned first = (unsigned)__builtin_ctz(taken);
    const struct occupied_slice *s = occupancy_slice_at(o, first);
    return err_set(e, -EEXIST, "%s at start %u overlaps %s at memory slice %u (owner %u)",
                   p->name, start, slice_profile(o, s)->name, first, (unsigned)s->owner);
}

/* The instance-count rules: p's own count, and one media-extended slice
 * per GPU whatever its profile. */
static int instance_limits(const struct gpu_occupancy *o, const struct mig_profile *p,
                           int idx, unsigned start, struct err *e)
{
    unsigned same = 0;
    const struct occupied_slice *media = NULL;
    for (unsigned i = 0; i < o->n_slices; i++) {
        const struct occupied_slice *s = &o->slices[i];
        same += s->profile == idx;
        if (slice_profile(o, s)->media_extended)
            media = s;
    }
    if (same >= p->max_instances)
        return err_set(e, -ENOSPC, "%s at start %u: %s allows %u instance%s of %s and all are taken",
                       p->name, start, o->model->name, (unsigned)p->max_instances,
                       p->max_instances == 1 ? "" : "s", p->name);
    if (p->media_extended && media)
        return err_set(e, -ENOSPC,
                       "%s at start %u: %s allows one media-extended slice and %s at start %u "
                       "(owner %u) holds it",
                       p->name, start, o->model->name, slice_profile(o, media)->name,
                       (unsigned)media->start, (unsigned)media->owner);
    return 0;
}

/* The rules, in one place. Returns p's index in the model (and its
 * placement at start in *pl) when p fits at start, else a negative code. */
static int fit(const struct gpu_occupancy *o, const struct mig_profile *p, unsigned start,
               const struct mig_placement **pl, struct err *e)
{
    if (!o || !o->model)
        return err_set(e, -EINVAL, "no GPU to place %s on", p && p->name ? p->name : "a slice");
    int idx = catalog_profile_index(o->model, p, e);
    if (idx < 0)
        return idx;
    *pl = placement_at(p, start);
    if (!*pl)
        return illegal_start(o, p, start, e);
    uint8_t taken = mig_placement_mask(**pl) & o->memory_mask;
    if (taken)
        return overlap(o, p, start, taken, e);
    int rc = instance_limits(o, p, idx, start, e);
    if (rc < 0)
        return rc;
    unsigned free_compute = (unsigned)o->model->compute_slices - o->compute_used;
    if (p->compute_slices > free_compute)
        return err_set(e, -ENOSPC,
                       "%s at start %u needs %u compute slices but %u of %u are free on %s",
                       p->name, start, (unsigned)p->compute_slices, free_compute,
                       (unsigned)o->model->compute_slices, o->model->name);
    return idx;
}

int occupancy_check(const struct gpu_occupancy *o, const struct mig_profile *p, unsigned start,
                    struct err *e)
{
    const struct mig_placement *pl;
    int rc = fit(o, p, start, &pl, e);
    return rc < 0 ? rc : 0;
}

unsigned occupancy_free_starts(const struct gpu_occupancy *o, const struct mig_profile *p,
                               uint8_t starts[MIG_MAX_PLACEMENTS])
{
    unsigned n = 0;
    if (!o || !p)
        return 0;
    for (unsigned i = 0; i < p->n_placements && i < MIG_MAX_PLACEMENTS; i++)
        if (occupancy_check(o, p, p->placements[i].start, NULL) == 0)
            starts[n++] = p->placements[i].start;
    return n;
}

int occupancy_take(struct gpu_occupancy *o, const struct mig_profile *p, unsigned start,
                   uint32_t owner, struct err *e)
{
    const struct mig_placement *pl = NULL;
    int idx = fit(o, p, start, &pl, e);
    if (idx < 0)
        return idx;
    /* Only a model whose profile takes no memory slice could get here. */
    if (o->n_slices == OCCUPANCY_MAX_SLICES)
        return err_set(e, -ENOSPC, "%s already holds %d slices", o->model->name,
                       OCCUPANCY_MAX_SLICES);
    unsigned at = 0;
    while (at < o->n_slices && o->slices[at].start < start)
        at++;
    memmove(&o->slices[at + 1], &o->slices[at], (o->n_slices - at) * sizeof o->slices[0]);
    o->slices[at] = (struct occupied_slice){
        .profile = (uint8_t)idx,
        .start = pl->start,
        .owner = owner,
    };
    o->n_slices++;
    o->memory_mask |= mig_placement_mask(*pl);
    o->compute_used += p->compute_slices;
    return 0;
}

int occupancy_release(struct gpu_occupancy *o, unsigned start, struct err *e)
{
    if (!o || !o->model)
        return err_set(e, -EINVAL, "no GPU to release memory slice %u on", start);
    unsigned at = 0;
    while (at < o->n_slices && o->slices[at].start != start)
        at++;
    if (at == o->n_slices) {
        const struct occupied_slice *inside = occupancy_slice_at(o, start);
        if (inside)
            return err_set(e, -ENOENT, "no slice starts at memory slice %u: it is inside %s at start %u",
                           start, slice_profile(o, inside)->name, (unsigned)inside->start);
        return err_set(e, -ENOENT, "no slice starts at memory slice %u: it is free", start);
    }
    const struct mig_profile *p = slice_profile(o, &o->slices[at]);
    o->memory_mask &= (uint8_t)~mig_placement_mask(*placement_at(p, start));
    o->compute_used -= p->compute_slices;
    o->n_slices--;
    memmove(&o->slices[at], &o->slices[at + 1], (o->n_slices - at) * sizeof o->slices[0]);
    return 0;
}

const struct occupied_slice *occupancy_slice_at(const struct gpu_occupancy *o, unsigned i)
{
    if (!o || !o->model)
        return NULL;
    for (unsigned k = 0; k < o->n_slices; k++) {
        const struct occupied_slice *s = &o->slices[k];
        if (i >= s->start && i < (unsigned)s->start + slice_profile(o, s)->memory_slices)
            return s;
    }
    return NULL;
}

/*
 * Taking the lowest free start again and again finds the most instances:
 * all placements of one profile have the same size, so lowest start is
 * earliest end, which is optimal for packing intervals on a line, and the
 * other limits are counts that do not depend on where a slice sits.
 */
void occupancy_headroom(const struct gpu_occupancy *o, uint8_t more[CATALOG_MAX_PROFILES])
{
    memset(more, 0, CATALOG_MAX_PROFILES);
    if (!o || !o->model)
        return;
    for (unsigned i = 0; i < o->model->n_profiles && i < CATALOG_MAX_PROFILES; i++) {
        const struct mig_profile *p = &o->model->profiles[i];
        struct gpu_occupancy trial = *o;
        uint8_t starts[MIG_MAX_PLACEMENTS];
        while (occupancy_free_starts(&trial, p, starts) > 0 &&
               occupancy_take(&trial, p, starts[0], 0, NULL) == 0)
            more[i]++;
    }
}
