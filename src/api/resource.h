/*
 * The resources an API server serves: for each, its group, version, plural,
 * kind, short names, scope, and whether it has a status subresource.
 *
 * A registry starts with the built-in kinds gpuslice and its embedded cluster
 * use (core v1 Pod, Node, Namespace, Event, ConfigMap, ResourceQuota,
 * Service, ServiceAccount; apps/v1 Deployment, ReplicaSet, DaemonSet;
 * batch/v1 Job; policy/v1 PodDisruptionBudget; rbac.authorization.k8s.io/v1
 * ClusterRole, ClusterRoleBinding, Role, RoleBinding (stored, not enforced:
 * so that deploy/ applies); coordination.k8s.io/v1 Lease;
 * admissionregistration.k8s.io/v1 MutatingWebhookConfiguration;
 * apiextensions.k8s.io/v1 CustomResourceDefinition) and gpuslice's own
 * gpuslice.dev/v1alpha1 GPUNode (cluster-scoped) and GPUSlice (namespaced).
 * A CustomResourceDefinition added at run time adds one resource per served
 * version; deleting the CRD stops serving them.
 *
 * Resources are never freed before the registry, so a `const struct
 * api_resource *` stays valid (and comparable by pointer) for the registry's
 * whole life; one that stopped being served is only skipped by lookups.
 * Every function is thread-safe.
 */
#ifndef GPUSLICE_API_RESOURCE_H
#define GPUSLICE_API_RESOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/err.h"

#define API_SHORT_NAMES_MAX 4
#define API_CATEGORIES_MAX 2
#define API_SELECTABLE_MAX 12

struct api_resource {
    const char *group;       /* "" for the core group */
    const char *version;     /* "v1" */
    const char *api_version; /* "v1" or "apps/v1": what objects carry */
    const char *plural;      /* "pods": the path segment */
    const char *singular;    /* "pod" */
    const char *kind;        /* "Pod" */
    const char *list_kind;   /* "PodList" */
    const char *short_names[API_SHORT_NAMES_MAX + 1]; /* NULL-terminated */
    const char *categories[API_CATEGORIES_MAX + 1];   /* NULL-terminated ("all") */
    /* Field selectors accepted beyond metadata.name and metadata.namespace
     * (dotted paths: "spec.nodeName", "involvedObject.uid"); NULL-terminated. */
    const char *selectable_fields[API_SELECTABLE_MAX + 1];
    bool namespaced;
    bool has_status;       /* a status subresource splits spec and status writes */
    bool name_is_label;    /* names are DNS-1123 labels (Namespace), else subdomains */
    bool builtin;          /* false: defined by a CustomResourceDefinition */
};

struct api_registry;

/* A registry holding the built-in resources; caller frees it with
 * api_registry_free. NULL only when out of memory. */
struct api_registry *api_registry_new(void);

void api_registry_free(struct api_registry *reg);

/* The served resource with this group ("" for core), version and plural, or
 * NULL. */
const struct api_resource *api_registry_find(struct api_registry *reg, const char *group,
                                             const char *version, const char *plural);

/* The served resource whose objects carry this apiVersion ("v1",
 * "apps/v1") and kind, or NULL. */
const struct api_resource *api_registry_by_kind(struct api_registry *reg,
                                                const char *api_version, const char *kind);

/* Resolves a name the way kubectl does: plural, singular, short name or kind
 * (case-insensitive), optionally qualified by group ("gpuslices.gpuslice.dev",
 * "deploy.apps"). Prefers the core group, then the first group registered.
 * NULL when nothing matches. */
const struct api_resource *api_registry_resolve(struct api_registry *reg, const char *name);

/* Copies up to max served resources into out (registration order) and returns
 * how many are served in all. */
size_t api_registry_list(struct api_registry *reg, const struct api_resource **out, size_t max);

/* Serves the versions of a CustomResourceDefinition (apiextensions.k8s.io/v1
 * JSON) marked served. Adding a CRD again (an update) re-serves versions that
 * did not change and registers a new resource for a version whose names,
 * scope or subresources changed (a registered resource is never modified);
 * versions no longer served stop being served. -EINVAL naming the field when
 * the CRD is malformed; -EEXIST when it would redefine a built-in resource. */
int api_registry_add_crd(struct api_registry *reg, const json_t *crd, struct err *e);

/* Stops serving the resources of the CRD named name ("plural.group"); no-op
 * when there is none. */
void api_registry_remove_crd(struct api_registry *reg, const char *name);

#endif
