/*
 * An emulated kubelet: one per node of the embedded cluster, a reconciler
 * keyed by the pods bound to its node ("namespace/name") and by
 * KUBELET_NODE_KEY for its Node.
 *
 * The Node: registered with the labels a kubelet sets
 * (kubernetes.io/hostname, kubernetes.io/os, kubernetes.io/arch, and
 * nvidia.com/gpu.present=true on a node with GPUs, plus the configured
 * ones), the configured taints (at registration only, as
 * --register-with-taints), and a status with cpu, memory and pods in
 * capacity and allocatable and the Ready condition. Later it only puts
 * back what is its own: labels it set, its capacity entries and Ready;
 * other entries (the gpuslice agent's gpuslice.dev/accelerator-memory) and
 * other labels and taints are left as they are.
 *
 * Pods: a bound pod is started once every ConfigMap its containers read
 * exists (kubelet_env.h); until then it stays Pending, its container
 * waiting with CreateContainerConfigError and a Warning Event, and is
 * tried again when ConfigMaps change. A start is one status write; the
 * resolved environment of every container stays with the kubelet (when it
 * keeps logs: kubelet_observed_env, {"container": {"VAR": "value"}}, what
 * tests check the container would see, and the device listing its log
 * opens with). The containers then run their course (kubelet_pod.h). A pod being
 * deleted keeps running until its deletionTimestamp (its grace period),
 * then is stopped, given its terminal status, and deleted; the API server
 * removes a terminal pod at once (a pod finalizer still holds it).
 *
 * MPS (when the embedding models the daemons, mps): a container given a
 * share connects at its start and disconnects at its stop; one whose
 * daemon died, or that could not connect, fails with reason
 * MPSDaemonDied or MPSConnectFailed (kubelet_mps.h); its pod is looked at
 * again each second while it has such containers running.
 *
 * Logs (when kept, keep_logs): what each container printed, as
 * kubelet_logs.h says, written from the pods its informer shows and
 * dropped with the pod; kubelet_open_log reads them for pods/log.
 */
#ifndef GPUSLICE_CLUSTER_KUBELET_H
#define GPUSLICE_CLUSTER_KUBELET_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "cluster/kubelet_logs.h"
#include "cluster/kubelet_mps.h"
#include "reconcile/loop.h"
#include "store/informer.h"
#include "util/clock.h"
#include "util/err.h"

#define KUBELET_NODE_KEY "node" /* no '/', so never a pod's key */
#define KUBELET_LABEL_GPU "nvidia.com/gpu.present"

/* What a node is. Strings are copied by kubelet_new. */
struct kubelet_node {
    const char *name;     /* a DNS subdomain */
    const char *cpu;      /* capacity quantities; NULL: "8", "32Gi", "110" */
    const char *memory;
    const char *pods;
    bool gpus;            /* labelled KUBELET_LABEL_GPU=true */
    const char *labels;   /* more labels, "k=v,k2=v2"; NULL: none */
    const char *taints;   /* taints at registration, "k=v:NoSchedule,k2:NoExecute"; NULL: none */
};

struct kubelet_config {
    struct store *store;          /* not owned */
    struct informer *pods;        /* all pods, indexed OBJSTATE_INDEX_NODE; not owned */
    struct informer *nodes;       /* not owned */
    struct informer *configmaps;  /* not owned */
    clock_now_fn now_ns;          /* NULL: the real clock */
    void *clock_ctx;
    struct kubelet_node node;
    /* Container logs: kept in memory, each run's at most log_max_bytes
     * (0: KUBELET_LOGS_MAX_BYTES_DEFAULT), devices described by devices
     * (NULL: by UUID alone). Off: no memory spent on them (the
     * simulator). */
    bool keep_logs;
    size_t log_max_bytes;
    kubelet_device_fn devices;
    void *devices_ctx;
    /* The node's MPS daemons (kubelet_mps.h): a container given an MPS
     * share connects to its GPU's daemon while it runs and fails when that
     * daemon dies. NULL: not modelled (containers run unconnected). */
    const struct kubelet_mps_ops *mps;
    void *mps_ctx;
    /* Told (with node.name) when a pod begins to wait to start on a node
     * that had none waiting: only such a kubelet needs ConfigMap changes
     * (kubelet_has_waiting). NULL: nobody is told. */
    void (*on_waiting)(void *ctx, const char *node);
    void *on_waiting_ctx;
};

struct kubelet;

/* A kubelet and its loop, with its Node's registration queued. -EINVAL
 * naming the field for a bad name, quantity, label or taint. The caller
 * owns it (kubelet_free). */
int kubelet_new(const struct kubelet_config *cfg, struct kubelet **out, struct err *e);

void kubelet_free(struct kubelet *k);

/* The loop the runtime steps or starts (owned by the kubelet). */
struct loop *kubelet_loop(struct kubelet *k);

/* The node's name (owned by the kubelet). */
const char *kubelet_node_name(const struct kubelet *k);

/* kubelet_logs_open on this kubelet's logs (any thread); -EBUSY when it
 * keeps none. */
int kubelet_open_log(struct kubelet *k, const json_t *pod, const char *container, bool previous,
                     struct linelog **out, struct err *e);

/* The resolved environment pod's containers were started with on this node
 * ({"container": {"VAR": "value"}}; *out the caller's): -EBUSY when the
 * kubelet keeps no logs (it keeps no environments either), -ENOENT when it
 * did not start the pod (or it was deleted). */
int kubelet_observed_env(struct kubelet *k, const json_t *pod, json_t **out, struct err *e);

/* Informer handlers (informer_handler_fn shape, the kubelet as ctx): a pod
 * on this node, this node's Node, and any ConfigMap (which retries the
 * pods of its namespace still waiting to start that read it). */
void kubelet_pod_changed(void *k, enum informer_change change, const json_t *old,
                         const json_t *cur);
void kubelet_node_changed(void *k, enum informer_change change, const json_t *old,
                          const json_t *cur);
void kubelet_configmap_changed(void *k, enum informer_change change, const json_t *old,
                               const json_t *cur);

/* Whether a pod of this node waits to start: the only kind a ConfigMap
 * change can move on. */
bool kubelet_has_waiting(struct kubelet *k);

#endif
