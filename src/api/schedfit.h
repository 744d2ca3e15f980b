/*
 * Whether a pod fits a node, and why not: the scheduler's filters and
 * score as pure functions of the pod, the node and what the node already
 * runs.
 *
 * The filters are the default scheduler's, in its order, stopping at the
 * first that fails as it does: the node is not marked unschedulable; every
 * NoSchedule and NoExecute taint is tolerated (a node that is not Ready
 * counts as tainted node.kubernetes.io/not-ready:NoSchedule, which is what
 * the node lifecycle controller would add); the nodeSelector and the
 * required node affinity match (matchExpressions In, NotIn, Exists,
 * DoesNotExist, Gt, Lt; matchFields metadata.name); and the requests fit in
 * what the node can allocate beyond its pods' requests (every resource the
 * pod asks for, extended ones included, and the pod count). The reasons
 * read as the default scheduler's do, so "0/2 nodes are available: 1
 * Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector."
 * means what users already know it to mean.
 *
 * Requests follow the API's rules: a container's limit stands in for a
 * request it does not give; a pod asks for the larger of its containers'
 * sum and each init container's request, plus its overhead.
 */
#ifndef GPUSLICE_API_SCHEDFIT_H
#define GPUSLICE_API_SCHEDFIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/err.h"

struct pod_view;

#define SCHEDFIT_RESOURCES_MAX 16
#define SCHEDFIT_NAME_MAX 128
#define SCHEDFIT_REASON_MAX 320
#define SCHEDFIT_REASONS_MAX 24 /* distinct reasons kept in a summary */

/* Amounts of named resources, in thousandths (api/quantity.h). */
struct schedfit_resources {
    size_t n;
    struct {
        char name[SCHEDFIT_NAME_MAX];
        int64_t milli;
    } items[SCHEDFIT_RESOURCES_MAX];
};

/* What the filters are told beyond the pod and the node. */
struct schedfit_options {
    /* Resource name prefixes the fit check leaves alone (the default
     * scheduler's ignoredResourceGroups, by prefix); NULL-terminated, may be
     * NULL. */
    const char *const *ignored;
};

/* The first filter a node failed. */
struct schedfit_result {
    bool fits;
    /* Why not, as the scheduler words it; several for resources
     * ("Insufficient cpu", "Insufficient memory"). */
    size_t n;
    char reasons[SCHEDFIT_RESOURCES_MAX + 1][SCHEDFIT_REASON_MAX];
};

/* The reasons over all nodes, counted. */
struct schedfit_summary {
    size_t nodes;
    size_t n;
    struct {
        char reason[SCHEDFIT_REASON_MAX];
        size_t count;
    } items[SCHEDFIT_REASONS_MAX];
};

/* The amount of name in r (0 when absent). */
int64_t schedfit_amount(const struct schedfit_resources *r, const char *name);

/* Adds amount to name in r. -ENOSPC when r holds SCHEDFIT_RESOURCES_MAX
 * other names, -ENAMETOOLONG for a name of SCHEDFIT_NAME_MAX or more. */
int schedfit_add(struct schedfit_resources *r, const char *name, int64_t milli);

/* What pod asks for (see above). On bad input it fills what it could and
 * returns the first error, naming the field: -EINVAL or -ERANGE for a
 * malformed quantity, -ENOSPC for more than SCHEDFIT_RESOURCES_MAX
 * resources. */
int schedfit_pod_requests(const json_t *pod, struct schedfit_resources *out, struct err *e);

/* The same for a pod read already (v, by pod_read of pod), so that a
 * caller that needs the view as well reads the pod once. */
int schedfit_view_requests(const json_t *pod, const struct pod_view *v,
                           struct schedfit_resources *out, struct err *e);

/* Runs the filters for pod (asking for req) on node, which runs pods_on_node
 * pods that request used in all. */
void schedfit_check(const json_t *pod, const struct schedfit_resources *req, const json_t *node,
                    const struct schedfit_resources *used, size_t pods_on_node,
                    const struct schedfit_options *opt, struct schedfit_result *out);

/* The same for a pod read already (pod_read; NULL: unreadable), so that
 * one tried on many nodes is read once, not once per node. */
void schedfit_check_view(const struct pod_view *pv, const struct schedfit_resources *req,
                         const json_t *node, const struct schedfit_resources *used,
                         size_t pods_on_node, const struct schedfit_options *opt,
                         struct schedfit_result *out);

/* Least allocated: the share of CPU and memory left free after placing req,
 * 0..100, higher is better. */
int schedfit_score(const json_t *node, const struct schedfit_resources *used,
                   const struct schedfit_resources *req);

void schedfit_summary_init(struct schedfit_summary *s);

/* Counts one node's result (a node that fits counts only as a node). */
void schedfit_summary_add(struct schedfit_summary *s, const struct schedfit_result *r);

/* "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match
 * Pod's node affinity/selector." ("no nodes available to schedule pods"
 * when there are none), truncated to len. */
void schedfit_summary_format(const struct schedfit_summary *s, char *buf, size_t len);

#endif
