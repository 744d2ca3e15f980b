/*
 * The admission webhook's decision, without sockets: one AdmissionReview
 * (admission.k8s.io/v1) in, its answer out.
 *
 * A pod CREATE that asks for `nvidia.com/mig-<profile>` in any container
 * (init containers included) is rewritten with a JSON patch so that
 * gpuslice owns it:
 *
 *  - the MIG requests and limits are removed (no device plugin serves them)
 *    and each such container gets gpuslice.dev/accelerator-memory requests
 *    and limits equal to its slices' memory in GiB (catalog_name_gib);
 *  - the annotation gpuslice.dev/slices records what every container asked
 *    for (api/pod_slices.h), the label gpuslice.dev/managed=true lets the
 *    controller select the pod, the scheduling gate gpuslice.dev/slice
 *    holds it back until its slices exist, and the finalizer
 *    gpuslice.dev/release-slices keeps it until its slices are released
 *    (the controller adds it itself to a pod gated without the webhook);
 *  - the annotation gpuslice.dev/configmap-prefix holds a prefix chosen at
 *    admission (a pod made from generateName has no name yet), and every
 *    container that asked for slices reads the ConfigMap
 *    "<prefix>-<container>" with envFrom (optional: false), which the agent
 *    fills with the devices once they exist.
 *
 * A container that asks to share a whole GPU (nvidia.com/gpu-<N>gb: 1 or
 * accelerator memory with gpuslice.dev/sharing: mps for MPS,
 * nvidia.com/gpu.shared: 1 for time-slicing; api/pod_slices.h) is
 * rewritten alike: an MPS share is charged its N GiB, a time-sliced GPU
 * no memory (it pins none; docs/webhook.md says why).
 *
 * Reinvocation gives the same pod: a mutated pod asks for no MIG resource
 * any more, so a second review allows it untouched. When a webhook called
 * after this one added MIG requests, the second review rewrites the new
 * requests only, adding them to those recorded and keeping the prefix
 * already chosen. Pods of the system
 * namespaces, other operations and other resources are allowed untouched
 * (the namespaceSelector opts namespaces in; this is the second guard).
 *
 * A request the webhook cannot honour is denied (allowed: false) with a
 * status naming what and where: an unknown profile, a limit different from
 * the request, a count that is not a whole number from 1 to 8, MIG and a
 * shared GPU or two shared GPUs in one container, a shared GPU counted
 * other than 1, an MPS share of 0 GiB or more than the largest catalogued
 * GPU has, an SM share that is not a whole number from 1 to 100 (422
 * Invalid), a pod whose parts have the wrong JSON types or that names its
 * node (400 BadRequest). A body that is not an AdmissionReview is not
 * answered with a review at all: the caller answers HTTP 400.
 */
#ifndef GPUSLICE_WEBHOOK_MUTATE_H
#define GPUSLICE_WEBHOOK_MUTATE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/err.h"

/* The largest AdmissionReview read: the API server's 3 MiB object limit,
 * twice (object and oldObject), and room for the envelope. */
#define MUTATE_MAX_BODY (7u << 20)
/* "gs-" and a random suffix; the caller chooses it (mutate_prefix_valid). */
#define MUTATE_PREFIX_MAX 32

/* What one review came to (the webhook counts them). */
enum mutate_outcome {
    MUTATE_ALLOWED = 0, /* nothing of ours: allowed untouched */
    MUTATE_PATCHED,     /* allowed with a patch */
    MUTATE_DENIED,      /* allowed: false */
};

/* Whether ns is a namespace the webhook never mutates (kube-system,
 * kube-public, kube-node-lease, gpuslice-system). */
bool mutate_excluded_namespace(const char *ns);

/* Whether prefix can start ConfigMap names: 1 to MUTATE_PREFIX_MAX - 1
 * characters of [a-z0-9-], starting with a letter, not ending with '-'. */
bool mutate_prefix_valid(const char *prefix);

/* The JSON patch (RFC 6902 operations, a new reference in *ops, owned by
 * the caller) that makes gpuslice own pod, with prefix for its ConfigMaps;
 * *ops is NULL when the pod asks for no MIG resource. -EINVAL (an invalid
 * request) or -EBADMSG (a pod of the wrong shape) naming the field, or
 * -ENOMEM. */
int mutate_pod(const json_t *pod, const char *prefix, json_t **ops, struct err *e);

/* Answers the AdmissionReview in body: *out (malloc'd, owned by the caller,
 * *out_len bytes, NUL-terminated) is the AdmissionReview with the response,
 * *outcome what it says. prefix is used when the pod is rewritten.
 * -EBADMSG naming the field when body is not an admission.k8s.io/v1
 * AdmissionReview with a request, -E2BIG past MUTATE_MAX_BODY, -ENOMEM;
 * *out is NULL then. */
int mutate_review(const char *body, size_t len, const char *prefix, char **out, size_t *out_len,
                  enum mutate_outcome *outcome, struct err *e);

#endif
