/*
 * The emulated device backend: a node's GPUs without a GPU.
 *
 * Any catalogued model, any number of them, with the real profile and
 * placement rules (core/occupancy.h decides every placement, so the emulated
 * GPUs and the controller's model of them cannot disagree), NVML's errors,
 * modelled latencies and injected faults. It serves the demo, the simulator
 * and the agent's tests, so everything in it is deterministic from a seed:
 * the UUIDs, the boot ids and the random fault draws. It never sleeps; each
 * call reports its modelled duration (device.h, "Time"), and, once given a
 * clock (device_set_clock), each GPU takes one create or destroy at a time:
 * a change on a busy GPU reports the wait in its duration too.
 *
 * The spec string, as in `--device emulated:SPEC`, is a comma-separated list
 * of key=value items, read left to right:
 *
 *   model=NAME       add a GPU of a catalogued model ("H100-80GB", or a
 *                    product name such as "NVIDIA H100 80GB HBM3"), MIG on
 *   other=NAME       add a GPU the catalogue does not know (no MIG), e.g.
 *                    "other=NVIDIA L4"; it is reported, never usable for MIG
 *   count=N          the last model=/other= stands for N GPUs (1..16 in all)
 *   mig=on|off|pending  MIG mode of the last model= GPUs; pending: off now,
 *                    on after the next reboot
 *   memory-mib=N     memory of the last other= GPUs (default 16384)
 *   seed=N           seeds UUIDs, boot ids and fault draws (default 1)
 *   boot-id=TEXT     the boot id until the first emulated reboot
 *   create-ms=X, destroy-ms=X   a whole create (GI + CI) / destroy (CI + GI)
 *   query-ms=X       a list, or a call refused before changing anything
 *   discover-ms=X    discovery, per GPU
 *   hang-ms=X        how long a hung call runs before it reports a timeout
 *   latency=none     all of the above 0 (benchmarks); latency=default
 *   fail-create=N[:gi|:ci]   the Nth create fails at that step (default gi);
 *                    at ci the GI was made and is destroyed again (rollback)
 *   hang-create=N[:gi|:ci|:done]  the Nth create hangs at that step and
 *                    reports a timeout; at ci the GI is left without a CI,
 *                    at done the slice was made all the same
 *   fail-destroy=N[:ci|:gi]  the Nth destroy fails at that step (default ci,
 *                    nothing destroyed); at gi the CI is gone, the GI stays
 *   hang-destroy=N[:ci|:gi|:done]  likewise, reporting a timeout
 *   fail-p=P         every other create and destroy fails with probability P
 *                    (0..1): a create at the GI or the CI step (drawn), a
 *                    destroy at the CI step
 *   state=PATH       keep the node's state in PATH (below), read at open
 *   reboot=yes       the node rebooted before this open: the state read
 *                    from PATH is cleared as a reboot clears real slices
 *   mps-overhead-mib=N  the memory an MPS server keeps on its GPU (default
 *                    EMULATED_MPS_OVERHEAD_MIB_DEFAULT)
 *
 * "The Nth create" counts the creates (destroys) that passed validation,
 * from 1: a create refused for a taken placement is not counted, so
 * "fail-create=3" means the third slice that would have been made.
 * Failures are NVML_ERROR_UNKNOWN (-EIO), hangs NVML_ERROR_TIMEOUT
 * (-ETIMEDOUT). With no model=/other= the node has one H100-80GB, MIG on.
 * Fault rules count the calls of one open device: an agent restarted over
 * the same state file counts from 1 again.
 *
 * The state file. A real GPU keeps its slices when the agent dies; with
 * state=PATH the emulated one does too. PATH holds, as JSON, each GPU's
 * MIG mode and slices (placement, GI and CI ids, MIG UUID, whether a
 * process holds it), the boot id, the reboot count and how many MIG
 * devices were made (so UUIDs are never given twice). It is replaced
 * atomically (util/atomicfile) at every change, before the call returns,
 * so a process killed at any moment leaves the state of its last finished
 * step: a hang at the CI step leaves the GI without a CI in the file, as
 * on a real GPU. Opening reads it (no file: a fresh node, whose file is
 * written at once); a file that is malformed, has fields it should not,
 * or was written for other GPUs (another seed or model list) is refused
 * naming FILE:LINE:COL and the field. A reboot (emulated_reboot, or
 * reboot=yes at open) clears the slices in the file too. Without state=
 * the node lives and dies with its process.
 */
#ifndef GPUSLICE_DEVICE_EMULATED_H
#define GPUSLICE_DEVICE_EMULATED_H

#include <stdbool.h>
#include <stdint.h>

#include "core/occupancy.h"
#include "device/device.h"
#include "util/err.h"
#include "util/rng.h"

#define EMULATED_MAX_FAULTS 16
#define EMULATED_SPEC_MAX   4096 /* longer specs are refused */
#define EMULATED_PATH_MAX   240  /* a state=PATH item fits in one spec item */
#define EMULATED_MPS_CLIENTS 48  /* an MPS server's clients on Volta and later */
/* What an emulated MPS server keeps of its GPU's memory for itself (the
 * server's context and its clients' bookkeeping); mps-overhead-mib=N. */
#define EMULATED_MPS_OVERHEAD_MIB_DEFAULT 512

enum emulated_op {
    EMULATED_CREATE,
    EMULATED_DESTROY,
};

enum emulated_action {
    EMULATED_FAIL, /* NVML_ERROR_UNKNOWN */
    EMULATED_HANG, /* the call reports NVML_ERROR_TIMEOUT after hang_ns */
};

/* Where in the two-step call the fault strikes. A create runs GI then CI,
 * a destroy CI then GI. */
enum emulated_step {
    EMULATED_AT_GI,
    EMULATED_AT_CI,
    EMULATED_AT_DONE, /* hangs only: both steps done, then no answer */
};

struct emulated_fault {
    enum emulated_op op;
    enum emulated_action action;
    enum emulated_step step;
    unsigned nth; /* 1-based, among the op's calls that passed validation */
};

struct emulated_gpu_config {
    const struct gpu_model *model; /* NULL for an other= GPU */
    char product[DEVICE_NAME_MAX];
    uint64_t memory_mib;
    enum device_mig_mode mig_current;
    enum device_mig_mode mig_pending;
};

/* Modelled durations. Defaults (emulated_config_default, values and sources
 * in emulated.c) stand for one A100/H100 driven through NVML. */
struct emulated_latency {
    uint64_t create_ns;
    uint64_t destroy_ns;
    uint64_t query_ns;
    uint64_t discover_ns; /* per GPU */
    uint64_t hang_ns;
    /* Not RNG_CONSTANT: each create (destroy) that succeeds takes a draw
     * from this, in milliseconds, instead of create_ns (destroy_ns); the
     * draws are a stream of their own from the seed, so they do not move
     * the fault draws. The simulator's scenarios set them. */
    struct rng_dist create_ms, destroy_ms;
};

struct emulated_config {
    unsigned n_gpus;
    struct emulated_gpu_config gpus[DEVICE_MAX_GPUS];
    uint64_t seed;
    char boot_id[DEVICE_BOOT_ID_MAX]; /* empty: derived from the seed */
    struct emulated_latency latency;
    double fail_p;
    unsigned n_faults;
    struct emulated_fault faults[EMULATED_MAX_FAULTS];
    char state_path[EMULATED_PATH_MAX]; /* empty: no state file */
    uint64_t mps_overhead_mib;
    bool reboot_at_open;
};

/* The defaults: no GPUs yet, seed 1, the default latencies, no faults. */
void emulated_config_default(struct emulated_config *cfg);

/* Fills cfg from a spec (NULL or "" is the defaults plus one H100-80GB).
 * -EINVAL naming the bad item and why; cfg is then unspecified. */
int emulated_config_parse(const char *spec, struct emulated_config *cfg, struct err *e);

/* Opens an emulated node as cfg describes: every GPU empty, or as its state
 * file says (above). The caller frees *out with device_close. -EINVAL for a
 * config with no GPUs or too many, or a state file refused; -errno naming
 * the file when it cannot be read or written. */
int emulated_open(const struct emulated_config *cfg, struct device **out, struct err *e);

/* A reboot of the node: every slice is gone, MIG modes take their pending
 * values, in-use marks are dropped and the boot id changes: to boot_id, or
 * when that is NULL or the current one, to one derived from the seed and the
 * reboot count. The state file, if any, is written (-errno naming it when
 * it cannot be; the node in memory has rebooted all the same). */
int emulated_reboot(struct device *d, const char *boot_id, struct err *e);

/* Marks the slice that starts at start on GPU gpu_index as held (or no
 * longer held) by a process, as a running container would; destroying a
 * held slice gives -EBUSY. -ENOENT when no slice starts there. */
int emulated_set_in_use(struct device *d, unsigned gpu_index, unsigned start, bool in_use,
                        struct err *e);

/* Makes the slice ref names as someone other than gpuslice would (an
 * admin's nvidia-smi before the agent started): at once, counted as no
 * create call, never struck by an injected fault. Fails as a create that
 * passed no fault would (-ENODEV, -ENOTSUP, -EINVAL, -ENOSPC), changing
 * nothing. out (may be NULL) gets the slice. */
int emulated_add_slice(struct device *d, const struct device_slice_ref *ref,
                       struct device_slice *out, struct err *e);

/* Copies GPU gpu_index's occupancy (owner = the GI id of each slice), for
 * comparing what is on the GPUs with what the cluster believes. An other=
 * GPU's occupancy has no model and no slices. -ENODEV for a bad index. */
int emulated_occupancy(struct device *d, unsigned gpu_index, struct gpu_occupancy *out,
                       struct err *e);

/*
 * MPS, modelled (the device_mps_* calls, unless device_set_mps named a
 * control program). Each GPU without MIG enabled may run one daemon:
 * started, alive or not, stopped; a daemon that dies (emulated_mps_kill)
 * loses its clients. A client connects with its pinned memory limit
 * (CUDA_MPS_PINNED_DEVICE_MEM_LIMIT): the limits of a daemon's clients
 * together cannot exceed the GPU's memory less the server's overhead
 * (-ENOSPC), and a client that pins more than its own limit fails
 * (-ENOMEM), as a CUDA allocation over the limit does. The daemons are not
 * kept in the state file: a restarted process finds none, as after a
 * reboot (a real agent that restarts finds the real ones).
 */

/* The daemon of GPU gpu_uuid dies (a fault): its clients are gone.
 * -ENODEV for no such GPU, -ENOENT when none runs. */
int emulated_mps_kill(struct device *d, const char *gpu_uuid, struct err *e);

/* How often gpu_uuid's daemon was started (0 for no such GPU). */
unsigned emulated_mps_starts(struct device *d, const char *gpu_uuid);

/* A client of gpu_uuid's daemon that may pin limit_mib (> 0): its handle
 * into *client. A handle names the daemon's run as well as its slot, so
 * one a dead daemon gave never addresses the client a restarted daemon
 * gave the same slot (its calls are -ENOENT), and a caller needs no
 * separate look at the start count, which a restart between the look and
 * the connect would make wrong. -ENOENT when no daemon runs there,
 * -ENOSPC when the limits would exceed the memory less the overhead,
 * -E2BIG when the daemon has EMULATED_MPS_CLIENTS clients. */
int emulated_mps_connect(struct device *d, const char *gpu_uuid, uint64_t limit_mib,
                         uint64_t *client, struct err *e);

/* Whether client is connected: its daemon runs, in the same run, and has
 * not let it go. */
bool emulated_mps_connected(struct device *d, const char *gpu_uuid, uint64_t client);

/* The client pins mib more (an allocation): -ENOMEM over its limit,
 * nothing pinned then; -ENOENT when it is not connected (any more). */
int emulated_mps_pin(struct device *d, const char *gpu_uuid, uint64_t client, uint64_t mib,
                     struct err *e);

/* The client ends; its memory is free again. -ENOENT when not connected. */
int emulated_mps_disconnect(struct device *d, const char *gpu_uuid, uint64_t client,
                            struct err *e);

#endif
