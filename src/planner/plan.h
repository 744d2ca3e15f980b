/*
 * The planning problem and its solution.
 *
 * A plan decides, for every inference server (one model serving one class
 * of service), which accelerator it runs on, how many replicas and which
 * batch size, so that every server meets its class's latency targets at the
 * least cost. An accelerator is a whole GPU type ("A100", "4xA100") or a MIG
 * slice profile of a catalogued GPU ("H100-80GB" + "3g.40gb"); either way it
 * belongs to a capacity type, whose count says how many units the cluster
 * has (for slices: the free placements of that profile).
 *
 * The struct plan_system is what plan_load.c reads from the
 * inference-optimizer's JSON files; plan_solve() turns it into a struct
 * plan_result. Strings and arrays of a plan_system belong to it and are
 * released by plan_system_free(); the same for plan_result.
 */
#ifndef GPUSLICE_PLANNER_PLAN_H
#define GPUSLICE_PLANNER_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/catalog.h"
#include "planner/perfmodel.h"
#include "util/err.h"

/* A server never gets more replicas than this; a candidate that needs more
 * is reported infeasible, and inputs asking for more are refused. */
#define PLAN_MAX_REPLICAS 100000

/* What to do with the servers that do not fit once every server that fits
 * has its full allocation. */
enum plan_saturation {
    PLAN_SAT_NONE,                 /* leave them without replicas */
    PLAN_SAT_PRIORITY_EXHAUSTIVE,  /* in priority order, each takes all it can use */
    PLAN_SAT_PRIORITY_ROUND_ROBIN, /* one replica at a time, round-robin in each priority group */
    PLAN_SAT_ROUND_ROBIN,          /* one replica at a time, round-robin across all servers */
};

/* How a replica's latency and capacity are judged (docs/planner.md). */
enum plan_queue_model {
    PLAN_MODEL_COMPATIBLE,       /* the inference optimizer's own model (compat.h): its answers */
    PLAN_MODEL_GPUSLICE,         /* gpuslice's (batchqueue.h, sizing.h): batch from in + out tokens */
};

struct plan_options {
    enum plan_queue_model model;       /* default: compatible */
    bool unlimited;              /* ignore capacity: the cheapest candidate per server */
    bool milp;                   /* exact MILP (GLPK) instead of the greedy */
    enum plan_saturation saturation;
    double transition_penalty;   /* changing a server's accelerator costs this share of the old
                                  * and new costs on top; 0 = off */
};

struct plan_accelerator {
    char *name;                  /* "A100", "H100-3g.40gb" */
    int type;                    /* index into plan_system.types */
    int multiplicity;            /* units of its type one accelerator takes */
    double mem_gb;
    double cost;                 /* per accelerator, per hour */
    const struct gpu_model *gpu;           /* for a MIG slice, else NULL */
    const struct mig_profile *profile;     /* the slice's profile, else NULL */
};

/* A capacity type. Whole GPUs of a catalogued model (a type named as the
 * model, "H100-80GB") and the slice types of that model ("gpuModel":
 * "H100-80GB") are one pool: slices are cut from the GPUs not used whole,
 * and must fit their MIG geometry (plan_room in solve.h). A slice type with
 * no such whole type is a pool of its own, whose count is the free
 * placements of its profile. */
struct plan_type {
    char *name;                  /* "A100", "H100-80GB", "H100-80GB/3g.40gb" */
    long count;                  /* units available; -1 when not given (a slice type of a
                                  * GPU pool: no limit of its own, the GPUs limit it) */
    const struct gpu_model *gpu; /* the catalogued model of its GPUs or slices, else NULL */
    const struct mig_profile *profile; /* for a slice type, else NULL */
};

/* A model's performance on one accelerator. */
struct plan_perf {
    int model;                   /* index into plan_system.models */
    int acc;                     /* index into plan_system.accelerators */
    int acc_count;               /* accelerators one replica takes */
    struct perf_params params;
};

struct plan_model {
    char *name;
};

struct plan_target {
    int model;
    double itl_ms;               /* 0 = no target */
    double ttft_ms;
    double tps;                  /* output tokens per second the server must deliver */
};

struct plan_class {
    char *name;
    int priority;                /* lower is more important */
    struct plan_target *targets;
    size_t n_targets;
};

/* An allocation: what a server has (currentAlloc) or is given. */
struct plan_alloc {
    int acc;                     /* index into accelerators; -1 = none */
    int replicas;
    int max_batch;
    double cost;
    double itl_ms, ttft_ms;
};

struct plan_server {
    char *name;
    int cls;                     /* index into classes */
    int model;
    const struct plan_target *target;      /* the class's target for the model */
    int min_replicas;
    int max_batch;               /* overrides the performance data; 0 = none */
    bool keep_accelerator;       /* only the current accelerator is a candidate */
    double rate_per_min;         /* arrival rate, requests per minute */
    struct perf_request req;
    struct plan_alloc current;
};

struct plan_system {
    struct plan_accelerator *accelerators;
    size_t n_accelerators;
    struct plan_type *types;
    size_t n_types;
    struct plan_model *models;
    size_t n_models;
    struct plan_perf *perfs;
    size_t n_perfs;
    struct plan_class *classes;
    size_t n_classes;
    struct plan_server *servers;
    size_t n_servers;
    struct plan_options options;
};

enum plan_status {
    PLAN_OK,           /* full allocation: the targets are met */
    PLAN_SATURATED,    /* fewer replicas than needed (saturation policy): targets missed */
    PLAN_UNALLOCATED,  /* a candidate exists, but not the capacity */
    PLAN_INFEASIBLE,   /* no accelerator meets the targets */
};

/* One way to serve a server: an accelerator and what it takes. */
struct plan_candidate {
    int perf;                    /* index into perfs */
    int acc;
    int max_batch;
    double rate_per_replica;     /* largest sustainable arrival rate, requests/ms */
    int replicas;                /* to carry the load */
    long units;                  /* units of the accelerator's type, all replicas */
    double cost;                 /* all replicas, per hour */
    double value;                /* cost + transition penalty: what the solvers minimise */
};

struct plan_server_result {
    enum plan_status status;
    struct plan_alloc alloc;     /* acc = -1 unless OK or SATURATED */
    int perf;                    /* the performance entry used; -1 with no allocation */
    int needed_replicas;         /* for SATURATED: what the targets need */
    double utilisation;          /* of each replica, 0..1 */
    double unserved_per_min;     /* load (requests/min) its replicas cannot carry within the
                                  * targets: all of it without replicas, some when SATURATED */
    char reason[320];            /* why not OK (room for a candidates reason) */
};

struct plan_result {
    struct plan_server_result *servers; /* one per plan_system.servers, same order */
    size_t n_servers;
    long *used;                  /* units used per type */
    size_t n_types;
    double total_cost;
    double served_per_min;       /* load carried within the targets, all servers */
    double unserved_per_min;     /* the rest */
    const char *solver;          /* "unlimited", "greedy" or "milp" */
    bool optimal;                /* milp: proven optimal (false when it hit the time limit) */
};

/* Releases everything a loaded system holds; sys may be zeroed. */
void plan_system_free(struct plan_system *sys);

/* Releases a result; r may be zeroed. */
void plan_result_free(struct plan_result *r);

/* The saturation policy's name as the JSON spells it ("PriorityExhaustive"). */
const char *plan_saturation_name(enum plan_saturation s);

/* Parses a policy name case-insensitively; -EINVAL naming the choices. */
int plan_saturation_parse(const char *name, enum plan_saturation *out, struct err *e);

const char *plan_status_name(enum plan_status s);

/* "compatible" or "gpuslice". */
const char *plan_queue_model_name(enum plan_queue_model m);

/* Parses a model name case-insensitively; -EINVAL naming the choices. */
int plan_queue_model_parse(const char *name, enum plan_queue_model *out, struct err *e);

/* For a slice type of a GPU pool, the type of the whole GPUs it is cut
 * from; else -1. */
int plan_type_gpus(const struct plan_system *sys, int type);

/* The resource a replica requests on the accelerator: "nvidia.com/gpu" or
 * "nvidia.com/mig-3g.40gb"; written into buf (size len). */
void plan_accelerator_resource(const struct plan_accelerator *a, char *buf, size_t len);

#endif
