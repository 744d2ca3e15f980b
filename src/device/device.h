/*
 * The device backend: what the agent asks of the GPUs on its node.
 *
 * One interface, several backends: `emulated` (no GPU; the catalogue's
 * geometry, modelled latencies, injected faults, MPS daemons modelled) and
 * `nvml` (real MIG through libnvidia-ml, loaded with dlopen; MPS daemons
 * through NVIDIA's control program, device/mps.h). The agent never learns
 * which one it drives: the operations, the structs they fill and the error
 * codes mean the same thing for every backend. The shapes follow NVML (GPU
 * instance + compute instance, placements in memory slices, profile ids and
 * indexes) because NVML is the one real API behind them.
 *
 * A slice is one GPU instance (GI) with one compute instance (CI) spanning
 * it, which is what a pod gets as a MIG device. It is named by where it is:
 * (GPU, profile, placement start). Placements of the slices on one GPU never
 * overlap, so that triple is unique on a node, survives an agent restart and
 * is exactly what a GPUSlice records; GI and CI ids are the driver's numbers
 * and are only reported.
 *
 * Time. A backend never sleeps to model time. Every operation reports how
 * long it took in *took_ns (may be NULL). When the device's `modelled_time`
 * is true (emulated), that duration was not spent: the real runtime sleeps
 * it before acting on the result, and the virtual runtime completes the
 * action at now + took_ns on its virtual clock. When it is false (nvml),
 * the duration is the measured wall time of the calls, already spent. So
 * the same emulated backend serves the demo in real time and the simulator
 * in virtual time, and no backend needs a clock to model one call.
 *
 * One configuration change at a time per GPU. The driver takes one MIG
 * change (create, destroy) at a time on a GPU; on different GPUs they run
 * side by side. A backend that models time models that too once it is
 * given the runtime's clock (device_set_clock): a create or destroy on a GPU
 * still busy with an earlier one reports in *took_ns the wait as well, so
 * that the call ends when the GPU would have finished it, in real time or
 * virtual time alike, and no run can look faster than the hardware allows.
 * Without a clock every call is modelled alone. Queries never wait.
 *
 * Errors. Every operation returns 0 or one of these codes, filling the
 * caller's struct err with the backend, the call and the GPU concerned. The
 * nvml backend maps NVML's return codes with device_code_from_nvml (the
 * table below); the emulated backend produces its failures as NVML return
 * codes and maps them the same way, so the two cannot drift apart.
 *
 *   code        NVML return                        meaning for the agent
 *   -ENOSPC     INSUFFICIENT_RESOURCES             placement taken, no compute
 *                                                  slices or instances left
 *   -EBUSY      IN_USE                             a process holds the slice
 *   -EINVAL     INVALID_ARGUMENT                   bad profile, illegal start,
 *                                                  bad request
 *   -ENOTSUP    NOT_SUPPORTED                      MIG disabled, or the GPU has
 *                                                  no such feature
 *   -EPERM      NO_PERMISSION                      not root / no mig/config cap
 *   -ENODEV     GPU_IS_LOST, GPU_NOT_FOUND         no such GPU, or it fell off
 *   -ENOENT     NOT_FOUND                          no slice at that placement
 *   -ETIMEDOUT  TIMEOUT (and a hung call)          the call did not answer
 *   -EAGAIN     NOT_READY, INVALID_STATE           try again later
 *   -ENOMEM     MEMORY                             out of host memory
 *   -ENOSYS     UNINITIALIZED, DRIVER_NOT_LOADED,  no usable driver
 *               LIBRARY_NOT_FOUND,
 *               FUNCTION_NOT_FOUND, LIB_RM_VERSION_MISMATCH
 *   -E2BIG      INSUFFICIENT_SIZE                  more than the fixed arrays
 *                                                  here can hold
 *   -EIO        anything else (UNKNOWN, RESET_REQUIRED, ...)
 *
 * Threads. Every operation may be called from any thread at any time until
 * device_close; backends serialise what must be (at least the changes on
 * one GPU) and let calls on different GPUs run side by side where the
 * driver does.
 */
#ifndef GPUSLICE_DEVICE_DEVICE_H
#define GPUSLICE_DEVICE_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/catalog.h"
#include "core/occupancy.h"
#include "device/mps.h"
#include "util/clock.h"
#include "util/err.h"

#define DEVICE_MAX_GPUS         16 /* a node; HGX boards have 8 */
#define DEVICE_MAX_PROFILES     24 /* NVML has 18 profile indexes and adds more */
#define DEVICE_MAX_SLICES       (DEVICE_MAX_GPUS * OCCUPANCY_MAX_SLICES)
#define DEVICE_UUID_MAX         96 /* NVML_DEVICE_UUID_V2_BUFFER_SIZE */
#define DEVICE_NAME_MAX         96 /* NVML_DEVICE_NAME_V2_BUFFER_SIZE */
#define DEVICE_PCI_BUS_ID_MAX   32 /* NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE */
#define DEVICE_PROFILE_NAME_MAX 32 /* "1g.10gb+me"; the driver's "MIG " dropped */
#define DEVICE_BOOT_ID_MAX      40 /* /proc/sys/kernel/random/boot_id: 36 + NUL */
#define DEVICE_NO_CI            UINT32_MAX /* a GI found without its CI */

enum device_mig_mode {
    DEVICE_MIG_UNSUPPORTED, /* the GPU has no MIG (nvmlDeviceGetMigMode: NOT_SUPPORTED) */
    DEVICE_MIG_DISABLED,
    DEVICE_MIG_ENABLED,
};

/* One GPU-instance profile as the device reports it. */
struct device_profile {
    char name[DEVICE_PROFILE_NAME_MAX]; /* the device's own name: "1g.10gb" */
    uint32_t nvml_id;                   /* what create/list calls take */
    uint32_t nvml_index;                /* NVML_GPU_INSTANCE_PROFILE_* */
    uint8_t compute_slices;
    uint8_t memory_slices;
    uint8_t max_instances;              /* instanceCount */
    uint16_t sm_count;
    uint32_t memory_mib;
    uint8_t n_placements;
    struct mig_placement placements[MIG_MAX_PLACEMENTS];
    const struct mig_profile *catalog;  /* the catalogue's entry, NULL when none matches */
};

/* One GPU of the node. */
struct device_gpu {
    unsigned index;                     /* NVML's device index */
    char uuid[DEVICE_UUID_MAX];         /* "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */
    char product[DEVICE_NAME_MAX];      /* as nvmlDeviceGetName reports it */
    char pci_bus_id[DEVICE_PCI_BUS_ID_MAX]; /* "00000000:18:00.0" */
    uint64_t memory_mib;
    enum device_mig_mode mig_current;
    enum device_mig_mode mig_pending;   /* takes effect at the next GPU reset/reboot */
    const struct gpu_model *model;      /* catalog_find_model(product); NULL: not catalogued */
    unsigned n_profiles;                /* 0 when the GPU has no MIG */
    struct device_profile profiles[DEVICE_MAX_PROFILES];
};

/* Everything discover reports. Large (tens of KiB): allocate it, do not put
 * it on a small stack. */
struct device_inventory {
    unsigned n_gpus;
    struct device_gpu gpus[DEVICE_MAX_GPUS];
};

/* Which slice an operation is about: the GPU (by UUID, or by index when
 * gpu_uuid is NULL), the profile and the placement start. The profile is
 * resolved on that GPU: its own name, or a catalogue name or alias of it
 * ("3g.39gb" finds "3g.40gb"; "mig-1g.10gb" finds "1g.10gb"). */
struct device_slice_ref {
    const char *gpu_uuid;
    unsigned gpu_index;
    const char *profile;
    unsigned start; /* first memory slice */
};

/* A slice that exists on a GPU. */
struct device_slice {
    unsigned gpu_index;
    char gpu_uuid[DEVICE_UUID_MAX];
    char profile[DEVICE_PROFILE_NAME_MAX]; /* the device's name of the GI profile */
    uint32_t profile_id;                   /* its nvml_id */
    struct mig_placement placement;
    uint32_t gi_id;
    uint32_t ci_id;                        /* DEVICE_NO_CI for a GI without CI */
    char uuid[DEVICE_UUID_MAX];            /* "MIG-..."; empty without CI */
};

/* Every slice on the node, GPUs in index order, slices by start. Large
 * (tens of KB): a thread's stack holds one (agent_exec.c's exec_slice keeps
 * one there): threads have the default 8 MB stack, and no thread in src/
 * sets a smaller one. */
struct device_slices {
    unsigned n;
    struct device_slice items[DEVICE_MAX_SLICES];
};

/*
 * What a backend implements. `impl` is the backend's own state. Operations
 * fill *took_ns (never NULL here: the wrappers below pass a local) and e;
 * they may assume their pointer arguments are valid (the wrappers check).
 *
 * create: the GI at exactly ref's placement, then the CI spanning it, then
 *   the MIG device's UUID. If any step after the GI fails, the GI is
 *   destroyed again and the error of the failed step is returned (a failure
 *   of the rollback itself is added to the message, not swapped in).
 * destroy: the CI(s) first, then the GI. -EBUSY while a process holds the
 *   slice, and nothing is destroyed; -ENOENT when no slice of that profile
 *   starts there (the caller decides whether that is success).
 * list: every slice on GPUs with MIG enabled, including GIs left without a
 *   CI, so that recovery sees everything.
 * boot_id: the node's boot id; it changes exactly when the node reboots,
 *   which wipes every slice.
 * close: frees impl. Nothing is destroyed on the GPUs.
 * set_clock: optional (backends with modelled_time): see "One configuration
 *   change at a time per GPU" above.
 * changes: optional, a backend that sees every change to its node (the
 *   emulated one); see device_changes below.
 * mps_alive, mps_start, mps_stop: optional, a backend that models the MPS
 *   control daemons itself (emulated); see "MPS control daemons" below.
 */
struct device_ops {
    const char *name; /* "emulated", "nvml": prefixes every error message */
    int (*discover)(void *impl, struct device_inventory *inv, uint64_t *took_ns, struct err *e);
    int (*create)(void *impl, const struct device_slice_ref *ref, struct device_slice *out,
                  uint64_t *took_ns, struct err *e);
    int (*destroy)(void *impl, const struct device_slice_ref *ref, uint64_t *took_ns,
                   struct err *e);
    int (*list)(void *impl, struct device_slices *out, uint64_t *took_ns, struct err *e);
    int (*boot_id)(void *impl, char out[DEVICE_BOOT_ID_MAX], struct err *e);
    void (*close)(void *impl);
    void (*set_clock)(void *impl, clock_now_fn now_ns, void *clock_ctx);
    int (*changes)(void *impl, uint64_t *out);
    int (*mps_alive)(void *impl, const char *gpu_uuid, bool *alive, struct err *e);
    int (*mps_start)(void *impl, const char *gpu_uuid, struct err *e);
    int (*mps_stop)(void *impl, const char *gpu_uuid, struct err *e);
};

/* Where a device's MPS daemons live and what runs them (device_set_mps). */
struct device_mps {
    bool program;               /* run the control program even where the backend
                                   models the daemons */
    char control[MPS_PATH_MAX]; /* "": MPS_CONTROL_DEFAULT, on PATH */
    char root[MPS_PATH_MAX];    /* "": MPS_ROOT_DEFAULT */
    struct mps_config cfg;      /* points into the two above */
};

/* An open backend. Made by a backend's open function, freed by device_close. */
struct device {
    const struct device_ops *ops;
    void *impl;
    bool modelled_time; /* took_ns is modelled, not spent (see "Time" above) */
    struct device_mps mps;
};

/*
 * Opens a backend from the agent's --device argument: "emulated" or
 * "emulated:SPEC" (SPEC as in emulated.h), "nvml" or "nvml:SPEC" (SPEC as
 * in nvml.h). The caller frees *out with device_close. -EINVAL naming the
 * backend when it is unknown.
 */
int device_open(const char *what, struct device **out, struct err *e);

/* Fills inv with the node's GPUs; inv is cleared first. */
int device_discover(struct device *d, struct device_inventory *inv, uint64_t *took_ns,
                    struct err *e);

/* Creates the slice ref names and fills out (may be NULL) with it. */
int device_create_slice(struct device *d, const struct device_slice_ref *ref,
                        struct device_slice *out, uint64_t *took_ns, struct err *e);

/* Destroys the slice ref names. */
int device_destroy_slice(struct device *d, const struct device_slice_ref *ref,
                         uint64_t *took_ns, struct err *e);

/* Fills out with every slice on the node; out is cleared first. */
int device_list_slices(struct device *d, struct device_slices *out, uint64_t *took_ns,
                       struct err *e);

/* Copies the node's boot id into out. */
int device_boot_id(struct device *d, char out[DEVICE_BOOT_ID_MAX], struct err *e);

/* A count of the node's changes into *out: it grows with every change that
 * can move what discover, list or boot_id report, so that a caller who read
 * it before a discovery knows, when it reads the same count again, that a
 * discovery now would report the same. Only a backend that sees every
 * change to its node has one: -ENOTSUP for the others (nvml: anyone with
 * nvidia-smi changes a real GPU), whose callers discover again. */
int device_changes(struct device *d, uint64_t *out, struct err *e);

/* Gives a backend that models time the clock of the runtime that spends
 * its durations (any scale, real or virtual), from then on used to model
 * each GPU's one change at a time (see above); now_ns NULL takes it away.
 * A no-op for backends that do not model time. Call it before the device
 * is used from several threads. */
void device_set_clock(struct device *d, clock_now_fn now_ns, void *clock_ctx);

/*
 * MPS control daemons. A GPU in mode mps has one daemon (device/mps.h),
 * which the agent starts, checks and stops through these calls, whatever
 * the backend: one that models the daemons (emulated) keeps them in its
 * own state, every other one (nvml) runs NVIDIA's control program through
 * device/mps.c, and so does any backend once device_set_mps names a
 * control program (the fake in tests/, or the real one next to emulated
 * GPUs). The codes are the table's: -ENODEV (no such GPU), -ENOTSUP (the
 * GPU has MIG enabled: gpuslice shares such a GPU by slices only), -ENOENT
 * (no control program), -ETIMEDOUT (it hung), -EIO (it refused, or the
 * daemon it started does not answer). Call them from one thread per GPU:
 * two calls about one GPU's daemon at once are the caller's to avoid.
 */

/* Where the daemons keep their pipes and logs (root: NULL is
 * MPS_ROOT_DEFAULT) and, when control is not NULL, the control program to
 * run for every backend. Both copied; -EINVAL when one is too long. Call
 * it before the device is used from several threads. */
int device_set_mps(struct device *d, const char *root, const char *control, struct err *e);

/* Whether gpu_uuid's daemon answers. */
int device_mps_alive(struct device *d, const char *gpu_uuid, bool *alive, struct err *e);

/* Starts gpu_uuid's daemon unless it answers already; *started (may be
 * NULL) says whether it had to be: for a daemon that was running before,
 * that it died and its clients lost it. */
int device_mps_ensure(struct device *d, const char *gpu_uuid, bool *started, struct err *e);

/* Stops gpu_uuid's daemon (`quit`); 0 when none runs. */
int device_mps_stop(struct device *d, const char *gpu_uuid, struct err *e);

/* The environment of a client of gpu_uuid's daemon (mps_client_env, with
 * d's root). */
int device_mps_client_env(const struct device *d, const char *gpu_uuid, unsigned mem_gib,
                          unsigned sm_percent, struct mps_client_env *out, struct err *e);

/* Closes d (NULL is fine). Slices on the GPUs stay. */
void device_close(struct device *d);

/* NVML's return values (nvmlReturn_t), for the mapping below; the emulated
 * backend produces its failures as these. */
enum device_nvml_return {
    DEVICE_NVML_SUCCESS = 0,
    DEVICE_NVML_UNINITIALIZED = 1,
    DEVICE_NVML_INVALID_ARGUMENT = 2,
    DEVICE_NVML_NOT_SUPPORTED = 3,
    DEVICE_NVML_NO_PERMISSION = 4,
    DEVICE_NVML_ALREADY_INITIALIZED = 5,
    DEVICE_NVML_NOT_FOUND = 6,
    DEVICE_NVML_INSUFFICIENT_SIZE = 7,
    DEVICE_NVML_INSUFFICIENT_POWER = 8,
    DEVICE_NVML_DRIVER_NOT_LOADED = 9,
    DEVICE_NVML_TIMEOUT = 10,
    DEVICE_NVML_IRQ_ISSUE = 11,
    DEVICE_NVML_LIBRARY_NOT_FOUND = 12,
    DEVICE_NVML_FUNCTION_NOT_FOUND = 13,
    DEVICE_NVML_CORRUPTED_INFOROM = 14,
    DEVICE_NVML_GPU_IS_LOST = 15,
    DEVICE_NVML_RESET_REQUIRED = 16,
    DEVICE_NVML_OPERATING_SYSTEM = 17,
    DEVICE_NVML_LIB_RM_VERSION_MISMATCH = 18,
    DEVICE_NVML_IN_USE = 19,
    DEVICE_NVML_MEMORY = 20,
    DEVICE_NVML_NO_DATA = 21,
    DEVICE_NVML_VGPU_ECC_NOT_SUPPORTED = 22,
    DEVICE_NVML_INSUFFICIENT_RESOURCES = 23,
    DEVICE_NVML_FREQ_NOT_SUPPORTED = 24,
    DEVICE_NVML_ARGUMENT_VERSION_MISMATCH = 25,
    DEVICE_NVML_DEPRECATED = 26,
    DEVICE_NVML_NOT_READY = 27,
    DEVICE_NVML_GPU_NOT_FOUND = 28,
    DEVICE_NVML_INVALID_STATE = 29,
    DEVICE_NVML_RESET_TYPE_NOT_SUPPORTED = 30,
    DEVICE_NVML_UNKNOWN = 999,
};

/* The code for an NVML return value (0 for NVML_SUCCESS), per the table above. */
int device_code_from_nvml(unsigned nvml_return);

/* Sets e to the code for NVML return value ret (the table above) with the
 * message "NVML_ERROR_X: <fmt ...>", and returns the code: how every
 * backend reports a failure it has as an NVML return value. */
int device_nvml_fail(struct err *e, unsigned ret, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Puts "<call> <profile> at <start> on <GPU>: " in front of e's message
 * when rc < 0, so that a failed create or destroy names the slice it was
 * about; returns rc. */
int device_slice_failed(int rc, const char *call, const struct device_slice_ref *ref,
                        struct err *e);

/*
 * How GPU g's profiles, as its backend reported them, differ from the
 * catalogue: one line per difference into buf ('\n'-separated, NUL-
 * terminated, truncated to size), and the number of differences (0: the
 * driver and the catalogue agree). Differences are a GPU the catalogue does
 * not know, a profile it does not know, a profile the driver names
 * otherwise ("3g.39gb" for the catalogue's "3g.40gb"), numbers that differ
 * (memory, SMs, slices, instances, placements) and catalogued profiles the
 * driver does not offer. Drivers rename profiles between versions; the
 * agent logs these lines rather than fail, since the driver's own numbers
 * are what creation uses. buf may be NULL when size is 0.
 */
unsigned device_catalog_report(const struct device_gpu *g, char *buf, size_t size);

/* NVML's symbolic name for a return value ("NVML_ERROR_IN_USE"), for messages;
 * "NVML_ERROR_UNKNOWN_CODE" for a value NVML does not define. */
const char *device_nvml_return_name(unsigned nvml_return);

#endif
