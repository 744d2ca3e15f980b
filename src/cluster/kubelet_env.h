/*
 * The environment an emulated kubelet gives a container: what a real
 * kubelet builds from the container's envFrom and env before it starts it.
 *
 * envFrom entries come first, in order (every key of a ConfigMap, with the
 * entry's prefix; keys that are not valid variable names are skipped, as
 * the kubelet skips them), then env entries, which override them: literal
 * values, configMapKeyRef and fieldRef (a dotted path into the pod, such as
 * metadata.name or spec.nodeName). $(VAR) references are not expanded.
 *
 * A reference that cannot be resolved and is not optional is the error a
 * real kubelet reports as CreateContainerConfigError, in its words:
 * `configmap "x" not found`, `couldn't find key k in ConfigMap ns/x`. The
 * embedded cluster serves no Secrets, so a non-optional Secret reference
 * is always `secret "x" not found`.
 */
#ifndef GPUSLICE_CLUSTER_KUBELET_ENV_H
#define GPUSLICE_CLUSTER_KUBELET_ENV_H

#include <jansson.h>

#include "util/err.h"

/* Looks up ConfigMap ns/name: a reference the caller releases, or NULL when
 * there is none. */
typedef json_t *(*kubelet_env_configmap_fn)(void *ctx, const char *ns, const char *name);

/* Resolves container (an element of pod's containers or initContainers)
 * into *env, a new object {VAR: value} owned by the caller. -ENOENT with
 * the kubelet's message when a reference cannot be resolved (*env is then
 * NULL), -ENOMEM. */
int kubelet_env_resolve(const json_t *pod, const json_t *container,
                        kubelet_env_configmap_fn get, void *ctx, json_t **env, struct err *e);

#endif
