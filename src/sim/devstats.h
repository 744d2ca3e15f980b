/*
 * A device that counts what each of its GPUs is asked to do: a wrapper
 * around any backend that forwards every operation unchanged and records,
 * per GPU, the creates and destroys it saw, how many failed, and the device
 * time they took (the durations the backend reported: modelled for the
 * emulated backend, measured for nvml). The embedded cluster hands it to
 * each agent so the demo can say how busy each GPU was, which is what
 * bounds a workload of short pods.
 *
 * It also counts what the calls did to the GPU, which a call's result does
 * not always say: a create that failed or hung after its GPU instance (or
 * after the whole slice) left it there, and a destroy that hung may have
 * destroyed the slice all the same. After such a failure (-EIO or
 * -ETIMEDOUT: a refusal, -ENOSPC and the like, changed nothing) it lists
 * the GPU to see (issue 19: the demo said "14 created, 16 destroyed").
 *
 * Threads: as any device, callable from any thread; counters are atomics.
 */
#ifndef GPUSLICE_SIM_DEVSTATS_H
#define GPUSLICE_SIM_DEVSTATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "device/device.h"
#include "util/err.h"

struct devstats_gpu {
    uint64_t creates, destroys; /* calls, failed ones included */
    uint64_t failed;            /* of them, those that returned an error */
    uint64_t busy_ns;           /* the durations they reported, summed */
    uint64_t made;              /* slices or GPU instances the creates left on the GPU */
    uint64_t made_by_failed;    /* of them, those left by a create that failed */
    uint64_t removed;           /* slices the destroys took off, failed calls included */
    int64_t memory_slices;      /* memory slices the slices made and not yet removed hold */
};

/* A counting device over inner, which it takes (closing it closes inner,
 * on failure too). Discovers inner once to learn its GPUs' UUIDs, since
 * operations may name a GPU by UUID. */
int devstats_wrap(struct device *inner, struct device **out, struct err *e);

/* What GPU gpu of d has been asked so far. -EINVAL when d is not a
 * counting device, -ENODEV past its GPUs. */
int devstats_get(struct device *d, unsigned gpu, struct devstats_gpu *out, struct err *e);

/* Also keeps *gauge (not owned; it must outlive d) up to date with the
 * memory slices held on d's GPUs, as devstats_gpu.memory_slices: several
 * devices may share one gauge, so a simulator reads its cluster's
 * occupancy in one load. -EINVAL when d is not a counting device. */
int devstats_share_memory(struct device *d, _Atomic int64_t *gauge, struct err *e);

#endif
