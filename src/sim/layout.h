/*
 * An embedded cluster laid out from a description: what each node's kubelet,
 * emulated GPUs and GPUNode start with when the cluster is given node by
 * node rather than as "N nodes of M GPUs".
 *
 * The description is a decoded cluster file (sim/clusterfile.h), whose
 * placement model (struct placement_cluster: node
 * names and labels, GPUs by model with the admin's settings, held_back and
 * allowed, and the slices already on each GPU in its occupancy) is what
 * `gpuslice place` reads too. The slices already there are
 * put on the emulated GPUs as someone other than gpuslice would have made
 * them (an admin's leftovers): the agent reports them as not managed and
 * leaves them alone, and the controller places around them. On a fixed
 * GPU (mode mig-static) they are the admin's layout: the GPUNode's spec
 * says so, and gpuslice hands them out instead of making slices there.
 *
 * A GPU with MIG off (mode mps, timeslice or whole) is made with MIG off,
 * or as the product the file names when the catalogue lacks it, and its
 * GPUNode's spec gives its mode (and replicas), which the agent applies.
 *
 * A node's GPUs are the description's GPUs with that node index, numbered
 * from 0 in their order; the emulated device of the node has them in that
 * order, so the indexes agree.
 */
#ifndef GPUSLICE_SIM_LAYOUT_H
#define GPUSLICE_SIM_LAYOUT_H

#include <stddef.h>

#include <jansson.h>

#include "core/placement.h"
#include "sim/clusterfile.h"
#include "device/device.h"
#include "util/err.h"

/* Checks that c fits an embedded cluster: 1..max_nodes nodes, names shorter
 * than name_max characters, each node with 1..DEVICE_MAX_GPUS GPUs (an
 * emulated node has at least one). -EINVAL naming the node. */
int layout_check(const struct clusterfile *cf, size_t max_nodes, size_t name_max,
                 struct err *e);

/* node's GPUs as emulated-spec items, "model=A100-40GB,model=A100-80GB,mig=off,",
 * into buf[size]. -E2BIG when it does not fit. */
int layout_models(const struct clusterfile *cf, size_t node, char *buf, size_t size,
                  struct err *e);

/* node's labels as a kubelet takes them, "k=v,k2=v2": a new string the
 * caller frees, or NULL when the node has none. */
char *layout_labels(const struct placement_cluster *c, size_t node);

/* Makes node's existing slices on d, an emulated device opened with
 * layout_models' GPUs, as slices gpuslice did not make (emulated_add_slice).
 * Fails as that does, naming the node; the slices before the failure stay. */
int layout_add_slices(const struct clusterfile *cf, size_t node, struct device *d,
                      struct err *e);

/* The GPUNode named after the node that holds its admin settings in spec
 * (heldBack, allowedProfiles, mode) for d's GPUs, found by index: a new object in
 * *out, or NULL when no GPU of the node has a setting. Fails when d's
 * discovery does. */
int layout_gpunode(const struct clusterfile *cf, size_t node, struct device *d,
                   json_t **out, struct err *e);

#endif
