/*
 * The whole of gpuslice and the cluster it needs, in one process, in real
 * time: the mem store served by the embedded API server on 127.0.0.1, the
 * cluster's own parts (scheduler, kubelets, workload controllers), the
 * admission webhook over TLS (registered with a MutatingWebhookConfiguration
 * for namespaces labelled gpuslice.dev/enabled=true, as in a real cluster),
 * one gpuslice agent per node over emulated GPUs, and the controller.
 * `gpuslice demo` and the end-to-end tests run on it.
 *
 * The agents, the controller and whoever applies manifests talk to the API
 * server over HTTP through the kube backend, exactly as in a real cluster
 * (so admission, the REST semantics and the client all take part), unless
 * told to use the store directly; so do the cluster's own parts, so that
 * the pods the Job and ReplicaSet controllers make pass admission too.
 *
 * `gpuslice cluster` runs the same assembly with less of it (mode): the
 * API server alone, or the cluster's parts without gpuslice's daemons, so
 * that `gpuslice controller` and `gpuslice agent` run as processes of
 * their own against it, exactly as on a real cluster.
 */
#ifndef GPUSLICE_SIM_EMBEDDED_H
#define GPUSLICE_SIM_EMBEDDED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/placement.h"
#include "device/device.h"
#include "sim/clusterfile.h"
#include "sim/devstats.h"
#include "store/store.h"
#include "util/err.h"
#include "util/prom.h"
#include "util/fileset.h"
#include "util/httpd_guard.h"
#include "util/log.h"

#define EMBEDDED_MAX_NODES 64
#define EMBEDDED_MAX_MODELS 8
#define EMBEDDED_MAX_CONTROLLERS 3

/* How much of the system runs in the process. */
enum embedded_mode {
    EMBEDDED_ALL,     /* everything (the demo, the end-to-end tests) */
    EMBEDDED_CLUSTER, /* the API server and the cluster's parts (each node's
                         kubelet and its GPUNode's admin settings, the
                         scheduler, workload controllers, collection): the
                         controller and the agents run elsewhere */
    EMBEDDED_SERVER,  /* the API server alone */
};

struct embedded_config {
    enum embedded_mode mode;
    /* gpuslice's admission webhook over TLS, registered with a
     * MutatingWebhookConfiguration; always on in EMBEDDED_ALL. */
    bool webhook;
    size_t nodes;                /* 0: 2 */
    size_t gpus_per_node;        /* 0: 2 */
    /* GPU models given to each node's GPUs in turn; none: A100-40GB and
     * H100-80GB. */
    const char *models[EMBEDDED_MAX_MODELS];
    size_t n_models;
    /* The cluster node by node instead (sim/layout.h): names, labels, GPUs
     * by model, the admin's settings and the slices already there, which
     * the GPUs start with as slices gpuslice did not make. When set, nodes,
     * gpus_per_node and models are not used. Read by embedded_start only. */
    const struct clusterfile *layout;
    /* More emulated-device items for every node (latencies, faults):
     * "create-ms=200,fail-create=3:ci". NULL: the defaults. */
    const char *device_spec;
    enum placement_policy policy;
    int warm_max_percent;        /* the controller's (controller.h; 0: its default) */
    const char *crds_dir;        /* NULL: the built-in CRDs (sim/builtin.h) */
    const char *address;         /* the API server's IP literal; NULL: 127.0.0.1 */
    uint16_t port;               /* 0: an ephemeral port */
    /* The API server's bearer token and TLS pair (PEM; the certificate is
     * also what the cluster's own clients trust); NULL: none, plain HTTP. */
    const char *token;
    const char *tls_cert_pem, *tls_key_pem;
    const char *version;         /* what /version says; NULL: "embedded" */
    struct httpd_limits limits;  /* the API server's; zero fields: its defaults */
    unsigned max_watches;        /* 0: the API server's default */
    uint64_t store_seed;         /* the mem store's uids and names; 0: 1 */
    /* The controller and the agents use the store directly instead of the
     * API over HTTP (the path the simulator takes; for measuring gpuslice
     * without the HTTP stack). Manifests still go through the API. */
    bool direct;
    /* Controller replicas (0: 1). With more than one they elect a leader
     * through a Lease in kube-system (lease 4 s, renew deadline 3 s, retry
     * 0.5 s, short so tests see a new leader soon). */
    size_t controllers;
    struct log *log;             /* components' failures; not owned; NULL: none */
    /* The first controller replica's web dashboard (controller/dashboard.h),
     * on dashboard_address (an IP literal; NULL: 127.0.0.1) and
     * dashboard_port (0: a free one), with the API server's token. */
    bool dashboard;
    const char *dashboard_address;
    uint16_t dashboard_port;
    /* The metrics of the API server, of the first controller replica, of
     * every agent and of the webhook (docs/metrics.md); not owned, must
     * outlive the cluster; NULL: none. */
    struct prom *metrics;
};

struct embedded;

/* Starts everything and waits until the components have synced. *out is
 * the caller's (embedded_stop). */
int embedded_start(const struct embedded_config *cfg, struct embedded **out, struct err *e);

/* Stops every component, the server, and frees it all; NULL is fine. */
void embedded_stop(struct embedded *emb);

/* The API server's limits in force, and its watch cap (may be NULL). */
const struct httpd_limits *embedded_limits(const struct embedded *emb, unsigned *max_watches);

/* How many CustomResourceDefinitions were loaded at the start. */
size_t embedded_crds_loaded(const struct embedded *emb);

/* The webhook's URL, or NULL when it does not run. */
const char *embedded_webhook_url(const struct embedded *emb);

/* The --device argument of node i's agent, "emulated:model=...,seed=N":
 * the GPUs the cluster laid the node out with, so that GPU indexes and
 * UUIDs agree with its GPUNode's settings. -E2BIG when it does not fit,
 * -ENODEV past the nodes. */
int embedded_agent_device(const struct embedded *emb, size_t i, char *buf, size_t size,
                          struct err *e);

/* The API server's URL, and a client store talking to it over HTTP (owned
 * by emb), for applying manifests and watching as a user would. */
const char *embedded_url(struct embedded *emb);
uint16_t embedded_port(const struct embedded *emb);
struct store *embedded_client(struct embedded *emb);

/* The environment pod's containers were started with, as its node's
 * kubelet resolved it (kubelet_observed_env; *out the caller's): what a
 * test checks the container saw. -ENOENT when no kubelet here started it. */
int embedded_observed_env(struct embedded *emb, const json_t *pod, json_t **out, struct err *e);

/* The store itself (owned by emb), for checks that must not go through
 * the API. */
struct store *embedded_store(struct embedded *emb);

size_t embedded_node_count(const struct embedded *emb);
const char *embedded_node_name(const struct embedded *emb, size_t i);
struct device *embedded_device(struct embedded *emb, size_t i);

/* The device operations GPU gpu of node has been asked for so far (the
 * agent's device is counted: sim/devstats.h). -ENODEV past the nodes or
 * the node's GPUs. */
int embedded_gpu_stats(struct embedded *emb, size_t node, unsigned gpu,
                       struct devstats_gpu *out);

/* The dashboard's URL ("http://127.0.0.1:PORT/"), or NULL when it does
 * not run. */
const char *embedded_dashboard_url(const struct embedded *emb);

/* The controller replica that leads now, or -1 (none, or between leaders). */
int embedded_leader(struct embedded *emb);

/* Stops controller replica i as a crash would (its Lease is not released):
 * another replica takes over once the lease expires. */
void embedded_stop_controller(struct embedded *emb, size_t i);

/* Every GPU's counts (sim/devstats.h) summed over the nodes: out->made and
 * out->removed are the slices made and destroyed on the GPUs, those left
 * by failed or hung calls included. */
void embedded_slice_counts(struct embedded *emb, struct devstats_gpu *out);

/* Creates every object of a (multi-document) YAML or JSON manifest file
 * through the client, in order; *created (may be NULL) counts them.
 * Errors name the file and the document. */
int embedded_apply_file(struct embedded *emb, const char *path, size_t *created,
                        struct err *e);

/* embedded_apply_file on every file of set, in order; stops at the first
 * failure (the objects before it stay). */
int embedded_apply_files(struct embedded *emb, const struct fileset *set, size_t *created,
                         struct err *e);

/* Writes a kubeconfig for the API server at path. */
int embedded_write_kubeconfig(struct embedded *emb, const char *path, struct err *e);

/* Checks, on every node, that the slices on the GPUs are exactly the
 * GPUSlices not Deleted or Failed (agent_invariant_check). 0 when they
 * agree; -EPROTO naming the differences. */
int embedded_check_slices(struct embedded *emb, unsigned *leaked, unsigned *missing,
                          struct err *e);

#endif
