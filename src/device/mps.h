/*
 * The MPS control daemon of one GPU, driven through NVIDIA's control
 * program (`nvidia-cuda-mps-control`), and what its clients are given.
 *
 * One daemon per GPU in `mps` mode, each with that GPU alone visible
 * (CUDA_VISIBLE_DEVICES=<GPU UUID>) and its own pipe and log directories,
 * ROOT/<GPU UUID>/pipe and ROOT/<GPU UUID>/log, which the client containers
 * mount: the pipe directory is how a client finds its daemon, so two GPUs'
 * daemons never meet. Started with `-d` (the program daemonises), asked
 * whether it answers with `get_server_list` on the program's stdin (the
 * control program in client mode exits non-zero when no daemon listens on
 * the pipe directory), stopped with `quit`. Clients get their limits in
 * their environment (mps_client_env): the daemon itself needs none, so
 * one daemon serves clients with different memory limits and SM shares.
 *
 * Every call runs the control program once (util/subproc) and waits for
 * it, at most the configured timeout: call these from the agent's device
 * workers, never from a reconcile. Thread-safe: calls share nothing; two
 * calls for one GPU at once are the caller's to avoid (the agent
 * serialises a GPU's device work).
 */
#ifndef GPUSLICE_DEVICE_MPS_H
#define GPUSLICE_DEVICE_MPS_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

#define MPS_CONTROL_DEFAULT "nvidia-cuda-mps-control"
#define MPS_ROOT_DEFAULT "/run/gpuslice/mps"
#define MPS_PATH_MAX 512
#define MPS_UUID_MAX 96

struct mps_config {
    const char *control;  /* the control program; NULL: MPS_CONTROL_DEFAULT, on PATH */
    const char *root;     /* NULL: MPS_ROOT_DEFAULT (the agent's --mps-root) */
    int64_t timeout_ns;   /* for one call of the program; 0: 10 s */
};

/* Where one GPU's daemon keeps its pipes and logs. */
struct mps_paths {
    char pipe[MPS_PATH_MAX];
    char log[MPS_PATH_MAX];
};

/* The directories for gpu_uuid. -EINVAL when the UUID is empty, longer
 * than MPS_UUID_MAX or holds anything but letters, digits and '-' (it
 * becomes a path), or the paths would not fit. */
int mps_paths_of(const struct mps_config *cfg, const char *gpu_uuid, struct mps_paths *out,
                 struct err *e);

/* Whether gpu_uuid's daemon answers. -ENOENT when the control program is
 * missing, -ETIMEDOUT when it hung. */
int mps_daemon_alive(const struct mps_config *cfg, const char *gpu_uuid, bool *alive,
                     struct err *e);

/* Starts gpu_uuid's daemon unless it answers already; *started (may be
 * NULL) says whether it had to be (for a daemon that died: the caller
 * tells its clients). Makes the directories (mode 0755: clients read the
 * pipe directory). -EIO with the program's own words when it refused or
 * the daemon it started does not answer. */
int mps_daemon_ensure(const struct mps_config *cfg, const char *gpu_uuid, bool *started,
                      struct err *e);

/* Stops gpu_uuid's daemon (`quit`); 0 when none was running. */
int mps_daemon_stop(const struct mps_config *cfg, const char *gpu_uuid, struct err *e);

/* What one client container is given: its GPU, its daemon and its limits. */
enum { MPS_CLIENT_ENV_COUNT = 6 };
struct mps_client_env {
    struct {
        const char *name;
        char value[MPS_PATH_MAX];
    } vars[MPS_CLIENT_ENV_COUNT];
};

/* The environment of a client of gpu_uuid's daemon that may pin mem_gib
 * GiB (CUDA_MPS_PINNED_DEVICE_MEM_LIMIT, "0=<N>G": the one device it sees)
 * and use sm_percent of the SMs (CUDA_MPS_ACTIVE_THREAD_PERCENTAGE), with
 * the pipe and log directories and NVIDIA_/CUDA_VISIBLE_DEVICES. -EINVAL
 * for a bad UUID, mem_gib 0, or sm_percent outside 1..100. */
int mps_client_env(const struct mps_config *cfg, const char *gpu_uuid, unsigned mem_gib,
                   unsigned sm_percent, struct mps_client_env *out, struct err *e);

#endif
