/*
 * An emulated kubelet's container logs: what each container of its node's
 * pods printed, kept in memory as a kubelet keeps them on disk, and what
 * `kubectl logs` reads through the API server's pods/log.
 *
 * An emulated container prints what a CUDA sample's device listing would
 * (nvidia-smi -L) about the devices it was given, read from the resolved
 * environment the kubelet recorded here when it started the pod
 * (kubelet_logs_started: NVIDIA_VISIBLE_DEVICES from the agent's
 * ConfigMap, MPS limits), the node's driver named
 * by an optional callback giving each device's GPU and profile:
 *
 *   GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-...)
 *     MIG 1g.5gb Device 0: (UUID: MIG-...)
 *
 * GPUs and MIG devices numbered from 0 as the container sees them, then
 * how long it runs, and when it ends, its exit. Lines carry the times of
 * the container's status (startedAt, finishedAt), so a run in virtual time
 * logs virtual times.
 *
 * The log is written from the pod's status as the kubelet's informer sees
 * it (kubelet_logs_observe), never from a decision, so a decision retried
 * writes nothing twice. Kept: the current run of each container and the
 * one before it (`kubectl logs --previous`), each at most max_bytes (the
 * oldest lines dropped past it, as the kubelet rotates at
 * containerLogMaxSize); a pod's logs go when the pod is deleted
 * (kubelet_logs_forget) and all of them with the book, the recorded
 * environments with them.
 *
 * Thread-safe (one mutex): observed on informer threads, opened on the API
 * server's connection threads. An opened log is a reference the reader
 * holds (util/linelog.h), which outlives the book, closed when the book
 * drops it so a follower ends.
 */
#ifndef GPUSLICE_CLUSTER_KUBELET_LOGS_H
#define GPUSLICE_CLUSTER_KUBELET_LOGS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/err.h"
#include "util/linelog.h"

#define KUBELET_LOGS_MAX_BYTES_DEFAULT (64u << 10)
#define KUBELET_DEVICE_TEXT_MAX 96

/* What the node's driver says about one visible device. */
struct kubelet_device {
    char gpu_uuid[KUBELET_DEVICE_TEXT_MAX];    /* "GPU-..." */
    char gpu_product[KUBELET_DEVICE_TEXT_MAX]; /* "NVIDIA A100-SXM4-40GB" */
    char profile[KUBELET_DEVICE_TEXT_MAX];     /* "1g.5gb"; "" for a whole GPU */
};

/* Fills *out for the device uuid (a MIG or GPU UUID) of node; -ENOENT when
 * the driver knows none. Called on informer threads. */
typedef int (*kubelet_device_fn)(void *ctx, const char *node, const char *uuid,
                                 struct kubelet_device *out);

struct kubelet_logs;

/* An empty book for node (copied), each log holding at most max_bytes
 * (0: KUBELET_LOGS_MAX_BYTES_DEFAULT); devices may be NULL (then devices
 * are listed by UUID alone). The caller owns it (kubelet_logs_free).
 * Allocation failure aborts. */
struct kubelet_logs *kubelet_logs_new(const char *node, size_t max_bytes,
                                      kubelet_device_fn devices, void *devices_ctx);

/* Closes every log (ending followers) and frees the book; NULL is fine. */
void kubelet_logs_free(struct kubelet_logs *b);

/* Writes what pod's container statuses say happened since last seen: a
 * run's start (its device listing), its end, a restart (the run before
 * kept as the previous one). */
void kubelet_logs_observe(struct kubelet_logs *b, const json_t *pod);

/* Records the resolved environment of pod's containers as the kubelet
 * started it ({"container": {"VAR": "value"}}; taken), for its runs' device
 * listings and for kubelet_logs_env; a later start replaces it. */
void kubelet_logs_started(struct kubelet_logs *b, const json_t *pod, json_t *envs);

/* What kubelet_logs_started recorded for pod (a reference the caller
 * releases), or NULL when it was not started here. */
json_t *kubelet_logs_env(struct kubelet_logs *b, const json_t *pod);

/* Drops pod's logs and its recorded environment (it was deleted). */
void kubelet_logs_forget(struct kubelet_logs *b, const json_t *pod);

/* The log of container (a name in pod's spec) as pod's status has it, for
 * pods/log: the current run, or the one before it with previous. -EBADMSG
 * with the kubelet's words when there is none: `container "c" in pod "p"
 * is waiting to start: REASON`, `previous terminated container "c" in pod
 * "p" not found`, `container "c" in pod "p" is not available`. A run this
 * book never saw (a restarted process) reads as an empty, closed log. *out
 * is a reference the caller gives back (linelog_unref). */
int kubelet_logs_open(struct kubelet_logs *b, const json_t *pod, const char *container,
                      bool previous, struct linelog **out, struct err *e);

#endif
