/*
 * An emulated kubelet's MPS clients: which of its containers, given a
 * share of a GPU's MPS daemon (the agent's ConfigMap sets
 * CUDA_MPS_PINNED_DEVICE_MEM_LIMIT and NVIDIA_VISIBLE_DEVICES), are
 * connected to that daemon, as a CUDA process connects when it starts.
 *
 * The daemons are the embedding's (struct kubelet_mps_ops: the emulated
 * device's, device/emulated_mps.c): the kubelet connects a container when
 * it runs, disconnects it when it stops, and asks each pass whether the
 * daemon it connected to still serves it. A container whose daemon died
 * (or restarted: its clients go with the old one), or that could not
 * connect (no daemon, over the GPU's room), fails with a reason and message
 * a user reads in its status; its restart policy then decides, and a
 * restarted container connects anew.
 *
 * The book: {"ns/name": {"containers": {NAME: {"gpu": UUID, "limitMiB": N,
 * "client": C, "run": R, "retryAt": NS}}}} ("client" from connecting until
 * the container stops or a later run of it begins (its restart count above
 * "run", the count it connected at), so a client whose daemon died is
 * kept, and failed again, until the failure is written; "retryAt" after a
 * failure, before which it does not connect again; "unmodelled": true for
 * a container the embedding has no daemons for, which runs unconnected).
 * Thread-safe (one mutex): synced on the kubelet's loop, forgotten on
 * informer threads.
 */
#ifndef GPUSLICE_CLUSTER_KUBELET_MPS_H
#define GPUSLICE_CLUSTER_KUBELET_MPS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "util/err.h"

#define KUBELET_MPS_REASON_DIED "MPSDaemonDied"
#define KUBELET_MPS_REASON_REFUSED "MPSConnectFailed"

/* A node's MPS daemons as the embedding models them. client identifies a
 * connection to the other calls. */
struct kubelet_mps_ops {
    /* Connects a client pinning at most limit_mib to gpu_uuid's daemon:
     * -ENOENT no daemon runs, -ENOSPC over its room, -ENOSYS the node's
     * daemons are not modelled here (the container then runs unconnected). */
    int (*connect)(void *ctx, const char *node, const char *gpu_uuid, uint64_t limit_mib,
                   uint64_t *client, struct err *e);
    /* Ends client (nothing when its daemon is gone). */
    void (*disconnect)(void *ctx, const char *node, const char *gpu_uuid, uint64_t client);
    /* Whether client is still served by the daemon it connected to: false
     * once that daemon died, even if another runs there since. */
    bool (*connected)(void *ctx, const char *node, const char *gpu_uuid, uint64_t client);
};

struct kubelet_mps;

/* A book for node (copied) over ops (not owned; its ctx given back on each
 * call). Allocation failure aborts. The caller frees it
 * (kubelet_mps_free, which disconnects nothing: the daemons outlive it). */
struct kubelet_mps *kubelet_mps_new(const char *node, const struct kubelet_mps_ops *ops,
                                    void *ctx);
void kubelet_mps_free(struct kubelet_mps *b);

/* Records which containers of pod key ("ns/name") use an MPS daemon, from
 * their resolved environments ({"container": {"VAR": "value"}}): none
 * connected yet (what an earlier start of key recorded is disconnected).
 * A pod with no MPS share records nothing. */
void kubelet_mps_started(struct kubelet_mps *b, const char *key, const json_t *envs);

/* Brings pod's connections in line with copy (the pod being written, its
 * status moved on to now): a running container connects when it is not,
 * a connected one whose daemon no longer serves it and one that could not
 * connect fail (kubelet_pod_fail_container, which may restart them), a
 * container that stopped disconnects; a pod that ended disconnects all
 * and leaves the book. *recheck is set when the pod still has clients to
 * watch. -ENOMEM. */
int kubelet_mps_sync(struct kubelet_mps *b, const char *key, json_t *copy, int64_t now,
                     bool *recheck);

/* Disconnects pod key's clients and drops it (it was deleted, or ended). */
void kubelet_mps_forget(struct kubelet_mps *b, const char *key);

/* Whether the book records pod key (its start gave a container an MPS
 * share, and it has not ended): kubelet_mps_sync leaves a pod it does not
 * record alone. */
bool kubelet_mps_records(struct kubelet_mps *b, const char *key);

/* How many clients of pod key the book holds: connected, or failed with
 * their daemon and not yet replaced by a later run (for tests). */
unsigned kubelet_mps_clients(struct kubelet_mps *b, const char *key);

#endif
