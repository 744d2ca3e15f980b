/*
 * What the two files of the emulated backend share: the node's state
 * (emulated.c changes it under the node's lock) and the state file that
 * keeps it across processes (emulated_state.c reads and writes it), so a
 * killed and restarted agent finds its emulated GPUs as a real agent finds
 * real ones.
 */
#ifndef GPUSLICE_DEVICE_EMULATED_INTERNAL_H
#define GPUSLICE_DEVICE_EMULATED_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "device/emulated.h"

/* What a driver knows about a slice beyond its place: by start. */
struct slot {
    uint32_t gi_id;
    uint32_t ci_id; /* DEVICE_NO_CI while the GI has none */
    bool in_use;
    char uuid[DEVICE_UUID_MAX];
};

/* The clients of a GPU's MPS daemon, by slot. */
struct emu_mps_clients {
    uint64_t limit_mib[EMULATED_MPS_CLIENTS]; /* 0: no client in that slot */
    uint64_t pinned_mib[EMULATED_MPS_CLIENTS];
};

/* The GPU's MPS control daemon as emulated_mps.c models it. */
struct emu_mps {
    bool running;
    unsigned starts;                 /* how often it was started */
    /* Made at its first start (a running daemon has them): most GPUs of a
     * simulation are never shared, and these are 768 bytes per GPU. */
    struct emu_mps_clients *clients;
};

struct emu_gpu {
    struct emulated_gpu_config cfg;
    char uuid[DEVICE_UUID_MAX];
    struct gpu_occupancy occ; /* owner: the GI id */
    struct slot slots[MIG_MAX_MEMORY_SLICES];
    struct emu_mps mps;
};

struct emulated {
    pthread_mutex_t lock;
    struct emulated_config cfg;
    char boot_id[DEVICE_BOOT_ID_MAX];
    uint64_t reboots;
    uint64_t mig_serial; /* MIG devices made so far: each gets a new UUID */
    struct rng rng;
    struct rng latency_rng; /* the latency draws (emulated_latency) */
    unsigned calls[2];   /* validated creates, destroys: for fail-create=N */
    uint64_t changes;    /* calls that may have changed the node (device_changes) */
    clock_now_fn now_ns; /* NULL: every call modelled alone */
    void *clock_ctx;
    int64_t busy_until[DEVICE_MAX_GPUS]; /* on that clock */
    /* cfg.n_gpus of them, not the device maximum: a simulation opens one
     * node per agent, ten thousand of them (2 KB per GPU). */
    struct emu_gpu gpus[];
};

/* The emulated node behind d, or NULL (e says so) when d is not one. */
struct emulated *emulated__of(struct device *d, struct err *e);

/* The device ops of the MPS daemons (emulated_mps.c); each takes em's lock. */
int emulated__mps_alive(void *impl, const char *gpu_uuid, bool *alive, struct err *e);
int emulated__mps_start(void *impl, const char *gpu_uuid, struct err *e);
int emulated__mps_stop(void *impl, const char *gpu_uuid, struct err *e);
/* Frees what the daemons of em's GPUs hold (emulated_close). */
void emulated__mps_free(struct emulated *em);

/* Writes em's slices, GI/CI ids, MIG modes, boot id, reboot count and MIG
 * serial to em->cfg.state_path, atomically (util/atomicfile). Called with
 * em->lock held, after every change. -errno with e naming the file; the
 * file then still holds the state before the change. */
int emulated__state_save(const struct emulated *em, struct err *e);

/* Reads em->cfg.state_path into em, whose GPUs are freshly made from its
 * config: -ENOENT (e says so) when there is no file, and em is unchanged;
 * -EINVAL naming FILE:LINE:COL and the field when the file is malformed or
 * was written for other GPUs (another seed or model list), em then
 * unspecified. */
int emulated__state_load(struct emulated *em, struct err *e);

#endif
