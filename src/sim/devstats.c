/*
 * The counting device (see devstats.h). It calls the inner backend's
 * operations directly, not through device.h's wrappers, and its ops table
 * (one per instance) carries the inner backend's name, so errors read
 * exactly as they would without it ("emulated: create ...").
 */
#include "sim/devstats.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "util/alloc.h"

struct counters {
    _Atomic uint64_t creates, destroys, failed, busy_ns;
    _Atomic uint64_t made, made_by_failed, removed;
    _Atomic int64_t memory_slices;
};

struct devstats {
    struct device_ops ops; /* devstats_ops, named as the inner backend */
    struct device *inner;
    unsigned n_gpus;
    char uuids[DEVICE_MAX_GPUS][DEVICE_UUID_MAX];
    const struct gpu_model *models[DEVICE_MAX_GPUS]; /* NULL: not catalogued */
    struct counters gpus[DEVICE_MAX_GPUS];
    _Atomic int64_t *shared; /* devstats_share_memory's gauge, or NULL */
};

/* Memory slices of ref's profile on c's GPU (0 when unknown), added to the
 * GPU's gauge and the shared one, negated for a removal. */
static void hold(struct devstats *s, struct counters *c, const struct device_slice_ref *ref,
                 int sign)
{
    const struct gpu_model *m = s->models[c - s->gpus];
    const struct mig_profile *p = m ? catalog_find_profile(m, ref->profile) : NULL;
    int64_t n = p ? sign * (int64_t)p->memory_slices : 0;
    atomic_fetch_add(&c->memory_slices, n);
    if (s->shared)
        atomic_fetch_add(s->shared, n);
}

/* The counters of the GPU ref names, or NULL when it names none. */
static struct counters *counters_of(struct devstats *s, const struct device_slice_ref *ref)
{
    if (!ref->gpu_uuid)
        return ref->gpu_index < s->n_gpus ? &s->gpus[ref->gpu_index] : NULL;
    for (unsigned i = 0; i < s->n_gpus; i++)
        if (strcmp(s->uuids[i], ref->gpu_uuid) == 0)
            return &s->gpus[i];
    return NULL;
}

static void count(struct counters *c, _Atomic uint64_t *calls, int rc, uint64_t took_ns)
{
    if (!c)
        return;
    atomic_fetch_add(calls, 1);
    atomic_fetch_add(&c->busy_ns, took_ns);
    if (rc < 0)
        atomic_fetch_add(&c->failed, 1);
}

static int stats_discover(void *impl, struct device_inventory *inv, uint64_t *took_ns,
                          struct err *e)
{
    struct devstats *s = impl;
    return s->inner->ops->discover(s->inner->impl, inv, took_ns, e);
}

/* Whether a call that returned rc may have changed the GPU anyway: a
 * refusal (-ENOSPC, -ENODEV, -EINVAL, ...) changed nothing. */
static bool outcome_unknown(int rc)
{
    return rc == -EIO || rc == -ETIMEDOUT;
}

/* Whether the GPU c counts for holds a slice or GPU instance at start;
 * false when the device cannot be listed. */
static bool holds_at(struct devstats *s, const struct counters *c, unsigned start)
{
    struct device_slices *all = alloc_malloc(sizeof *all);
    uint64_t took = 0;
    bool found = false;
    const char *uuid = s->uuids[c - s->gpus];
    if (s->inner->ops->list(s->inner->impl, all, &took, NULL) == 0)
        for (unsigned i = 0; !found && i < all->n; i++)
            found = all->items[i].placement.start == start &&
                    strcmp(all->items[i].gpu_uuid, uuid) == 0;
    free(all);
    return found;
}

static int stats_create(void *impl, const struct device_slice_ref *ref, struct device_slice *out,
                        uint64_t *took_ns, struct err *e)
{
    struct devstats *s = impl;
    int rc = s->inner->ops->create(s->inner->impl, ref, out, took_ns, e);
    struct counters *c = counters_of(s, ref);
    count(c, c ? &c->creates : NULL, rc, *took_ns);
    bool made = c && (rc == 0 || (outcome_unknown(rc) && holds_at(s, c, ref->start)));
    if (made) {
        atomic_fetch_add(&c->made, 1);
        hold(s, c, ref, 1);
    }
    if (made && rc < 0)
        atomic_fetch_add(&c->made_by_failed, 1);
    return rc;
}

static int stats_destroy(void *impl, const struct device_slice_ref *ref, uint64_t *took_ns,
                         struct err *e)
{
    struct devstats *s = impl;
    int rc = s->inner->ops->destroy(s->inner->impl, ref, took_ns, e);
    struct counters *c = counters_of(s, ref);
    count(c, c ? &c->destroys : NULL, rc, *took_ns);
    if (c && (rc == 0 || (outcome_unknown(rc) && !holds_at(s, c, ref->start)))) {
        atomic_fetch_add(&c->removed, 1);
        hold(s, c, ref, -1);
    }
    return rc;
}

static int stats_list(void *impl, struct device_slices *out, uint64_t *took_ns, struct err *e)
{
    struct devstats *s = impl;
    return s->inner->ops->list(s->inner->impl, out, took_ns, e);
}

static int stats_boot_id(void *impl, char out[DEVICE_BOOT_ID_MAX], struct err *e)
{
    struct devstats *s = impl;
    return s->inner->ops->boot_id(s->inner->impl, out, e);
}

/* The clock goes to the inner backend, which models each GPU's queue: the
 * counting layer must not hide it, or every call would start at once. */
static void stats_set_clock(void *impl, clock_now_fn now_ns, void *clock_ctx)
{
    struct devstats *s = impl;
    device_set_clock(s->inner, now_ns, clock_ctx);
}

/* The inner backend's count: the calls counted here go through to it. */
static int stats_changes(void *impl, uint64_t *out)
{
    struct devstats *s = impl;
    return s->inner->ops->changes(s->inner->impl, out);
}

/* The MPS daemons are the inner backend's (an emulated one models them):
 * nothing to count, but hiding them would make the device run the control
 * program instead (device.h). */
static int stats_mps_alive(void *impl, const char *gpu_uuid, bool *alive, struct err *e)
{
    struct devstats *s = impl;
    return s->inner->ops->mps_alive(s->inner->impl, gpu_uuid, alive, e);
}

static int stats_mps_start(void *impl, const char *gpu_uuid, struct err *e)
{
    struct devstats *s = impl;
    return s->inner->ops->mps_start(s->inner->impl, gpu_uuid, e);
}

static int stats_mps_stop(void *impl, const char *gpu_uuid, struct err *e)
{
    struct devstats *s = impl;
    return s->inner->ops->mps_stop(s->inner->impl, gpu_uuid, e);
}

static void stats_close(void *impl)
{
    struct devstats *s = impl;
    device_close(s->inner);
    free(s);
}

static const struct device_ops devstats_ops = {
    .name = "devstats",
    .discover = stats_discover,
    .create = stats_create,
    .destroy = stats_destroy,
    .list = stats_list,
    .boot_id = stats_boot_id,
    .close = stats_close,
    .set_clock = stats_set_clock,
    .changes = stats_changes,
    .mps_alive = stats_mps_alive,
    .mps_start = stats_mps_start,
    .mps_stop = stats_mps_stop,
};

int devstats_wrap(struct device *inner, struct device **out, struct err *e)
{
    *out = NULL;
    struct device_inventory *inv = alloc_malloc(sizeof *inv);
    int rc = device_discover(inner, inv, NULL, e);
    if (rc < 0) {
        free(inv);
        device_close(inner);
        return rc;
    }
    struct devstats *s = alloc_calloc(1, sizeof *s);
    s->ops = devstats_ops;
    s->ops.name = inner->ops->name;
    if (!inner->ops->mps_start || !inner->ops->mps_alive || !inner->ops->mps_stop)
        s->ops.mps_alive = NULL, s->ops.mps_start = NULL, s->ops.mps_stop = NULL;
    if (!inner->ops->changes)
        s->ops.changes = NULL;
    s->inner = inner;
    s->n_gpus = inv->n_gpus;
    for (unsigned i = 0; i < inv->n_gpus; i++) {
        memcpy(s->uuids[i], inv->gpus[i].uuid, DEVICE_UUID_MAX);
        s->models[i] = inv->gpus[i].model;
    }
    free(inv);
    struct device *d = alloc_calloc(1, sizeof *d);
    *d = (struct device){.ops = &s->ops, .impl = s, .modelled_time = inner->modelled_time};
    *out = d;
    return 0;
}

int devstats_get(struct device *d, unsigned gpu, struct devstats_gpu *out, struct err *e)
{
    if (!d || d->ops->create != stats_create)
        return err_set(e, -EINVAL, "devstats: not a counting device");
    struct devstats *s = d->impl;
    if (gpu >= s->n_gpus)
        return err_set(e, -ENODEV, "devstats: no GPU %u (the device has %u)", gpu, s->n_gpus);
    struct counters *c = &s->gpus[gpu];
    *out = (struct devstats_gpu){
        .creates = atomic_load(&c->creates),
        .destroys = atomic_load(&c->destroys),
        .failed = atomic_load(&c->failed),
        .busy_ns = atomic_load(&c->busy_ns),
        .made = atomic_load(&c->made),
        .made_by_failed = atomic_load(&c->made_by_failed),
        .removed = atomic_load(&c->removed),
        .memory_slices = atomic_load(&c->memory_slices),
    };
    return 0;
}

int devstats_share_memory(struct device *d, _Atomic int64_t *gauge, struct err *e)
{
    if (!d || d->ops->create != stats_create)
        return err_set(e, -EINVAL, "devstats: not a counting device");
    ((struct devstats *)d->impl)->shared = gauge;
    return 0;
}
