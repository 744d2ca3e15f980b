/*
 * The inputs of `gpuslice place`: a cluster file (YAML) decoded into the
 * placement cluster model, and slice requests written on the command line.
 *
 * A cluster file describes nodes, their GPUs and the slices already on them
 * (docs/cli.md has the format):
 *
 *     nodes:
 *       - name: node-a
 *         count: 4                        # node-a-0 .. node-a-3, alike
 *         labels: {zone: a}
 *         gpus:
 *           - model: H100-80GB            # catalogue or NVML product name
 *             heldBack: false             # keep new slices off this GPU
 *             allowedProfiles: [1g.10gb]  # absent: every profile
 *             mode: mig                   # or mig-static: the slices below
 *                                         # are the admin's layout, handed
 *                                         # out, never made or destroyed
 *             slices:                     # slices that already exist
 *               - {profile: 3g.40gb, start: 4}
 *           - model: NVIDIA L4            # any product when shared:
 *             mode: mps                   # mps, timeslice (MIG off) or whole
 *             memoryMiB: 23034            # needed unless catalogued
 *             replicas: 4                 # timeslice: pods at once
 *
 * Decoding is strict (unknown fields, wrong types, unknown models and
 * profiles, illegal or overlapping slices are errors) and every error names
 * FILE:LINE:COL. This is a file format only (`gpuslice place`, `demo -f`
 * and the simulator's scenarios, which hold one inline); the controller
 * builds the same cluster model from GPUNode objects.
 */
#ifndef GPUSLICE_SIM_CLUSTERFILE_H
#define GPUSLICE_SIM_CLUSTERFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/catalog.h"
#include "core/placement.h"
#include "api/gpunode.h"
#include "core/placement_share.h"
#include "util/err.h"
#include "util/strpool.h"
#include "util/yaml.h"

/* A GPU with MIG off: where it is, what it is and how it is shared. */
struct clusterfile_plain {
    size_t node, pos;       /* node index, position among its GPUs in the file */
    const char *model;      /* the catalogue's name, or the product's (into doc) */
    bool catalogued;
    unsigned memory_mib;    /* memoryMiB, 0 when the file gave none */
    enum gpunode_mode mode; /* mps, timeslice or whole */
    unsigned replicas;      /* timeslice: pods at once */
    bool held_back;
};

/* A decoded cluster file. Names and labels point into doc, which it owns
 * (NULL when decoded from a node of another document). */
struct clusterfile {
    struct yaml_doc *doc;
    struct placement_node *nodes;
    size_t n_nodes;
    struct placement_gpu *gpus;     /* grouped by node, in file order */
    size_t n_gpus;
    /* The GPUs in mode mps or timeslice (a GPU in mode whole is in
     * neither array), and for every GPU of either kind its position among
     * its node's GPUs in the file and its model's name. */
    struct share_gpu *shares;
    size_t n_shares;
    size_t *gpu_pos, *share_pos;
    const char **share_model;
    size_t n_whole;                 /* GPUs in mode whole */
    /* Every GPU with MIG off (mps, timeslice, whole), as the emulated
     * clusters lay it out. */
    struct clusterfile_plain *plain;
    size_t n_plain;
    struct placement_label *labels; /* every node's labels, one array */
    struct strpool names;           /* the names of nodes an entry's count made */
    struct placement_cluster cluster;
};

/* The most nodes one entry's `count` may stand for. */
#define CLUSTERFILE_COUNT_MAX 100000

/* Decodes the single document of doc into *cf, taking doc (freed on
 * failure too). -EINVAL with "FILE:LINE:COL: what" for a bad file, -ENOMEM.
 * On success free *cf with clusterfile_free; on failure it holds nothing. */
int clusterfile_decode(struct clusterfile *cf, struct yaml_doc *doc, struct err *e);

/* Decodes the cluster file whose root mapping is root, a node of doc (a
 * scenario's `cluster:`), which cf does not take: doc must outlive cf.
 * Errors as clusterfile_decode. */
int clusterfile_decode_at(struct clusterfile *cf, const struct yaml_doc *doc,
                          const json_t *root, struct err *e);

/* yaml_doc_load + clusterfile_decode. */
int clusterfile_load(struct clusterfile *cf, const char *path, struct err *e);

/* Frees what cf holds; cf is then empty. NULL is fine. */
void clusterfile_free(struct clusterfile *cf);

/* The catalogue's model names, ", "-separated, into buf[size] (cut when
 * too long), for messages that list what is known. */
void clusterfile_model_names(char *buf, size_t size);

/*
 * A slice request as written on the command line:
 *
 *     PROFILE[@MODEL[/MODEL...]][,KEY=VALUE...]
 *
 * e.g. "3g.40gb", "3g.40gb@H100-80GB", "1g.10gb@A100-80GB/H100-80GB,zone=a":
 * the profile (resolved on each GPU's model), the models that may take it
 * (catalogue or product names; none: any model) and a node selector (every
 * KEY=VALUE must be a label of the node).
 */
#define CLUSTERFILE_REQUEST_MAX      128 /* characters */
#define CLUSTERFILE_REQUEST_MODELS   8
#define CLUSTERFILE_REQUEST_SELECTOR 8

struct clusterfile_request {
    struct placement_request req; /* points into this struct: do not copy it */
    /* "mps:GIB[:SM]" or "timeslice" (then selector terms): a share, whose
     * where.selector is req's; share.mode 0 for a MIG request. */
    struct share_request share;
    const struct gpu_model *models[CLUSTERFILE_REQUEST_MODELS];
    struct placement_label selector[CLUSTERFILE_REQUEST_SELECTOR];
    char text[CLUSTERFILE_REQUEST_MAX + 1]; /* arg, cut into the fields */
};

/* Parses arg into *r. -EINVAL naming what is wrong: empty parts, a model
 * not in the catalogue, a profile no accepted model has, a selector term
 * without '=', too many models or terms, arg too long. */
int clusterfile_parse_request(const char *arg, struct clusterfile_request *r, struct err *e);

#endif
