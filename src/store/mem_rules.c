/*
 * What the API server does per kind beyond the generic rules, where
 * gpuslice depends on it:
 *
 * - Pod: created Pending, with the PodScheduled=False/SchedulingGated
 *   condition while it has scheduling gates (a gated pod may not name a
 *   node); the spec is immutable after creation except container images,
 *   activeDeadlineSeconds, additions to tolerations, removal of scheduling
 *   gates and, while gated, additions to nodeSelector and to the required
 *   node affinity terms (the preferred terms may change freely).
 * - Namespace: labelled kubernetes.io/metadata.name, created Active with the
 *   "kubernetes" spec finalizer that the collector removes once it is empty
 *   (the API server's /finalize subresource is folded into updates that may
 *   only remove spec finalizers).
 * - CustomResourceDefinition: its versions are served as soon as it is
 *   created (status says NamesAccepted and Established), and it carries the
 *   customresourcecleanup finalizer so that its objects go first.
 * - Resources with a status subresource drop the status given on create,
 *   except Node (a kubelet registers a node with its status).
 * - ConfigMap, Node, Event and Lease objects must pass their api/ views'
 *   checks (config keys, taints and quantities, involvedObject, times).
 */
#include <stdio.h>
#include <string.h>

#include "api/configmap.h"
#include "api/event.h"
#include "api/lease.h"
#include "api/meta.h"
#include "api/node.h"
#include "api/pod.h"
#include "store/mem_internal.h"
#include "util/jdoc.h"

#define CRD_CLEANUP "customresourcecleanup.apiextensions.k8s.io"
#define NS_FINALIZER "kubernetes"

static bool is_core_kind(const struct api_resource *res, const char *kind)
{
    return res->group[0] == '\0' && strcmp(res->kind, kind) == 0;
}

static json_t *object_member(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_object(v)) {
        v = json_object();
        jdoc_set(obj, key, v);
    }
    return v;
}

static void default_member(json_t *obj, const char *key, json_t *value)
{
    if (!json_object_get(obj, key))
        jdoc_set(obj, key, value);
    else
        json_decref(value);
}

/* --- Pod ------------------------------------------------------------------ */

/* The pod's fields the API server validates (pod_read), and its grace
 * period: its deletion's deadline is now plus that, which must stay a time
 * (store.h, STORE_GRACE_MAX_S). */
static int pod_check(const json_t *pod, struct err *e)
{
    struct pod_view v;
    int rc = pod_read(pod, &v, e);
    const json_t *g = json_object_get(json_object_get(pod, "spec"),
                                      "terminationGracePeriodSeconds");
    if (rc == 0 && json_is_integer(g) && json_integer_value(g) > STORE_GRACE_MAX_S)
        rc = err_set(e, -EINVAL, "spec.terminationGracePeriodSeconds: Invalid value: %lld: "
                     "must be at most %lld", (long long)json_integer_value(g),
                     STORE_GRACE_MAX_S);
    return rc;
}

json_t *mem__pod_scheduled(struct mem_store *ms, bool scheduled)
{
    json_t *c = json_object();
    bool ok = jdoc_put(c, "type", mem__literal(ms, MEM_LIT_POD_SCHEDULED), true);
    ok = jdoc_put(c, "status", mem__literal(ms, scheduled ? MEM_LIT_TRUE : MEM_LIT_FALSE), ok);
    if (!scheduled) {
        ok = jdoc_put(c, "reason", mem__literal(ms, MEM_LIT_SCHEDULING_GATED), ok);
        ok = jdoc_put(c, "message", mem__literal(ms, MEM_LIT_GATED_MESSAGE), ok);
    }
    ok = jdoc_put(c, "lastProbeTime", json_null(), ok);
    ok = jdoc_put(c, "lastTransitionTime", mem__time_value(ms, mem__now(ms)), ok);
    return jdoc_built(c, ok);
}

static int pod_create(struct mem_store *ms, json_t *pod, struct err *e)
{
    json_t *spec = json_object_get(pod, "spec");
    if (pod_check(pod, e) != 0)
        return -EINVAL;
    default_member(spec, "restartPolicy", mem__literal(ms, MEM_LIT_ALWAYS));
    default_member(spec, "terminationGracePeriodSeconds", mem__literal(ms, MEM_LIT_GRACE_SECONDS));
    default_member(spec, "dnsPolicy", mem__literal(ms, MEM_LIT_CLUSTER_FIRST));
    default_member(spec, "schedulerName", mem__literal(ms, MEM_LIT_DEFAULT_SCHEDULER));
    json_t *status = json_object();
    jdoc_set(pod, "status", status);
    jdoc_set(status, "phase", mem__literal(ms, MEM_LIT_PENDING));
    if (json_array_size(json_object_get(spec, "schedulingGates")) > 0) {
        json_t *conds = json_array();
        jdoc_append(conds, mem__pod_scheduled(ms, false));
        jdoc_set(status, "conditions", conds);
    }
    return 0;
}

static bool list_has(const json_t *list, const json_t *v)
{
    for (size_t i = 0; i < json_array_size(list); i++)
        if (json_equal(json_array_get(list, i), v))
            return true;
    return false;
}

/* Equal, where absent and empty count as the same. */
static bool same_or_absent(const json_t *a, const json_t *b)
{
    bool a_empty = !a || json_is_null(a) || (json_is_object(a) && json_object_size(a) == 0);
    bool b_empty = !b || json_is_null(b) || (json_is_object(b) && json_object_size(b) == 0);
    return (a_empty && b_empty) || (a && b && json_equal(a, b));
}

static int gates_only_removed(const json_t *old, const json_t *cur, struct err *e)
{
    const json_t *og = json_object_get(old, "schedulingGates");
    const json_t *ng = json_object_get(cur, "schedulingGates");
    for (size_t i = 0; i < json_array_size(ng); i++)
        if (!list_has(og, json_array_get(ng, i)))
            return err_set(e, -EINVAL, "spec.schedulingGates: Forbidden: only deletion is "
                           "allowed, but found new scheduling gate '%s'",
                           json_string_value(json_object_get(json_array_get(ng, i), "name")));
    return 0;
}

static int node_selector_only_added(const json_t *old, const json_t *cur, bool gated,
                                    struct err *e)
{
    const json_t *os = json_object_get(old, "nodeSelector");
    const json_t *ns = json_object_get(cur, "nodeSelector");
    if (!gated)
        return same_or_absent(os, ns) ? 0
                                      : err_set(e, -EINVAL, "spec.nodeSelector: Forbidden: may "
                                                "only be changed while the pod has scheduling "
                                                "gates");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)os, k, v) {
        if (!json_equal(v, json_object_get(ns, k)))
            return err_set(e, -EINVAL, "spec.nodeSelector: Invalid value: \"%s\": only "
                           "additions to spec.nodeSelector are allowed (no mutations or "
                           "deletions)", k);
    }
    return 0;
}

#define REQUIRED_TERMS "requiredDuringSchedulingIgnoredDuringExecution"

/* Each old term's requirements must all be kept in the same term. */
static bool terms_tightened(const json_t *old, const json_t *cur)
{
    const json_t *ot = json_object_get(old, "nodeSelectorTerms");
    const json_t *nt = json_object_get(cur, "nodeSelectorTerms");
    if (json_array_size(ot) == 0)
        return true;
    if (json_array_size(ot) != json_array_size(nt))
        return false;
    for (size_t i = 0; i < json_array_size(ot); i++) {
        static const char *const parts[] = {"matchExpressions", "matchFields"};
        for (size_t p = 0; p < 2; p++) {
            const json_t *oe = json_object_get(json_array_get(ot, i), parts[p]);
            const json_t *ne = json_object_get(json_array_get(nt, i), parts[p]);
            for (size_t j = 0; j < json_array_size(oe); j++)
                if (!list_has(ne, json_array_get(oe, j)))
                    return false;
        }
    }
    return true;
}

static int affinity_only_tightened(const json_t *old, const json_t *cur, bool gated,
                                   struct err *e)
{
    const json_t *oa = json_object_get(json_object_get(old, "affinity"), "nodeAffinity");
    const json_t *na = json_object_get(json_object_get(cur, "affinity"), "nodeAffinity");
    const json_t *oreq = json_object_get(oa, REQUIRED_TERMS);
    const json_t *nreq = json_object_get(na, REQUIRED_TERMS);
    if (!gated)
        return same_or_absent(oa, na) ? 0 : err_set(e, -EINVAL, "spec.affinity.nodeAffinity: Forbidden: may only "
                                  "be changed while the pod has scheduling gates");
    if (oreq && !terms_tightened(oreq, nreq ? nreq : json_object()))
        return err_set(e, -EINVAL, "spec.affinity.nodeAffinity." REQUIRED_TERMS ": Invalid "
                       "value: only additions of nodeSelectorRequirements to spec.affinity."
                       "nodeAffinity." REQUIRED_TERMS ".nodeSelectorTerms[*].matchExpressions "
                       "are allowed (no mutations or deletions)");
    return 0;
}

static int tolerations_only_added(const json_t *old, const json_t *cur, struct err *e)
{
    const json_t *ot = json_object_get(old, "tolerations");
    const json_t *nt = json_object_get(cur, "tolerations");
    for (size_t i = 0; i < json_array_size(ot); i++)
        if (!list_has(nt, json_array_get(ot, i)))
            return err_set(e, -EINVAL, "spec.tolerations: Forbidden: existing toleration can not "
                           "be modified except its tolerationSeconds");
    return 0;
}

/* The spec's affinity as far as it may not change (nodeAffinity may):
 * NULL when nothing else is there. */
static const json_t *fixed_affinity(const json_t *spec)
{
    const json_t *aff = json_object_get(spec, "affinity");
    if (json_is_object(aff) &&
        json_object_size(aff) == (json_object_get(aff, "nodeAffinity") ? 1u : 0u))
        return NULL;
    return aff;
}

/* Containers equal but for their images. */
static bool same_but_images(const json_t *a, const json_t *b)
{
    static const char *const image[] = {"image", NULL};
    if (a == b) /* both absent, say */
        return true;
    if (!json_is_array(a) || !json_is_array(b))
        return json_equal(a, b);
    if (json_array_size(a) != json_array_size(b))
        return false;
    for (size_t i = 0; i < json_array_size(a); i++)
        if (!mem__equal_except(json_array_get(a, i), json_array_get(b, i), image))
            return false;
    return true;
}

/* Whether two pod specs differ only where an update may change them, read
 * in place (the spec of every pod update is checked). */
static bool spec_same_but_mutable(const json_t *a, const json_t *b)
{
    static const char *const mutable[] = {"activeDeadlineSeconds", "tolerations",
                                          "schedulingGates", "nodeSelector", "affinity",
                                          "containers", "initContainers", NULL};
    static const char *const node_affinity[] = {"nodeAffinity", NULL};
    if (!json_is_object(a) || !json_is_object(b))
        return false;
    const json_t *fa = fixed_affinity(a), *fb = fixed_affinity(b);
    return mem__equal_except(a, b, mutable) &&
           (fa && fb ? mem__equal_except(fa, fb, node_affinity) : fa == fb) &&
           same_but_images(json_object_get(a, "containers"), json_object_get(b, "containers")) &&
           same_but_images(json_object_get(a, "initContainers"),
                           json_object_get(b, "initContainers"));
}

static int pod_update(const json_t *old_pod, const json_t *pod, struct err *e)
{
    const json_t *old = json_object_get(old_pod, "spec");
    const json_t *cur = json_object_get(pod, "spec");
    if (!json_is_object(cur))
        return err_set(e, -EINVAL, "spec: Required value");
    bool gated = json_array_size(json_object_get(old, "schedulingGates")) > 0;
    if (gates_only_removed(old, cur, e) || node_selector_only_added(old, cur, gated, e) ||
        affinity_only_tightened(old, cur, gated, e) || tolerations_only_added(old, cur, e) ||
        pod_check(pod, e))
        return -EINVAL;
    if (!spec_same_but_mutable(old, cur))
        return err_set(e, -EINVAL, "spec: Forbidden: pod updates may not change fields other than "
                       "`spec.containers[*].image`, `spec.initContainers[*].image`, "
                       "`spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to "
                       "existing tolerations), `spec.schedulingGates` (only removals), and while "
                       "gated `spec.nodeSelector` and `spec.affinity.nodeAffinity` (only "
                       "additions)");
    return 0;
}

/* --- Namespace ---------------------------------------------------------------- */

/* The labels object is replaced, not changed: an update's metadata may
 * share it with the stored version (a merge patch, a write's copy). */
static void namespace_label(json_t *ns)
{
    json_t *md = meta_of(ns);
    const json_t *had = json_object_get(md, "labels");
    json_t *labels = json_is_object(had) ? jdoc_shallow(had) : json_object();
    jdoc_set(labels, "kubernetes.io/metadata.name",
             json_string(meta_name(ns) ? meta_name(ns) : ""));
    jdoc_set(md, "labels", labels);
}

static void namespace_create(json_t *ns)
{
    namespace_label(ns);
    json_t *spec = object_member(ns, "spec");
    default_member(spec, "finalizers", json_pack("[s]", NS_FINALIZER));
    jdoc_set(ns, "status", json_pack("{s:s}", "phase", "Active"));
}

static int namespace_update(const json_t *old, json_t *ns, struct err *e)
{
    namespace_label(ns);
    const json_t *of = json_object_get(json_object_get(old, "spec"), "finalizers");
    const json_t *nf = json_object_get(json_object_get(ns, "spec"), "finalizers");
    for (size_t i = 0; i < json_array_size(nf); i++)
        if (!list_has(of, json_array_get(nf, i)))
            return err_set(e, -EINVAL, "spec.finalizers: Forbidden: spec finalizers may only be "
                           "removed");
    return 0;
}

/* --- CustomResourceDefinition ------------------------------------------------- */

static int crd_register(struct mem_store *ms, const json_t *crd, struct err *e)
{
    struct err inner;
    int rc = api_registry_add_crd(ms->base.registry, crd, &inner);
    if (rc == -EINVAL)
        return err_set(e, -EINVAL, "%s", inner.msg);
    if (rc != 0)
        return err_set(e, rc, "%s", inner.msg);
    return 0;
}

static int crd_create(struct mem_store *ms, json_t *crd, struct err *e)
{
    if (crd_register(ms, crd, e) != 0)
        return -EINVAL;
    meta_add_finalizer(crd, CRD_CLEANUP);
    const json_t *spec = json_object_get(crd, "spec");
    json_t *stored = json_array();
    const json_t *versions = json_object_get(spec, "versions");
    for (size_t i = 0; i < json_array_size(versions); i++)
        if (json_is_true(json_object_get(json_array_get(versions, i), "storage")) &&
            json_is_string(json_object_get(json_array_get(versions, i), "name")))
            jdoc_append(stored, jdoc_copy(json_object_get(json_array_get(versions, i), "name")));
    char t[META_TIME_LEN];
    meta_format_time(mem__now(ms), t);
    json_t *status = json_pack(
        "{s:O, s:[{s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}], s:o}", "acceptedNames",
        json_object_get(spec, "names"), "conditions", "type", "NamesAccepted", "status", "True",
        "reason", "NoConflicts", "message", "no conflicts found", "lastTransitionTime", t, "type",
        "Established", "status", "True", "reason", "InitialNamesAccepted", "message",
        "the initial names have been accepted", "lastTransitionTime", t, "storedVersions",
        stored);
    if (status)
        jdoc_set(crd, "status", status);
    return 0;
}

/* --- kinds checked through their views ---------------------------------------- */

/* ConfigMap, Node, Event and Lease are refused when their views are. */
static int view_check(const struct api_resource *res, const json_t *obj, struct err *e)
{
    if (res->group[0] == '\0' && !strcmp(res->kind, "ConfigMap")) {
        struct configmap_view v;
        return configmap_read(obj, &v, e);
    }
    if (is_core_kind(res, "Node")) {
        struct node_view v;
        return node_read(obj, &v, e);
    }
    if (is_core_kind(res, "Event")) {
        struct event_view v;
        return event_read(obj, &v, e);
    }
    if (!strcmp(res->group, "coordination.k8s.io") && !strcmp(res->kind, "Lease")) {
        struct lease_view v;
        return lease_read(obj, &v, e);
    }
    return 0;
}

/* --- dispatch ---------------------------------------------------------------- */

int mem__rules_create(struct mem_store *ms, const struct api_resource *res, json_t *obj,
                      struct err *e)
{
    if (res->has_status && !is_core_kind(res, "Node"))
        json_object_del(obj, "status");
    if (view_check(res, obj, e) != 0)
        return -EINVAL;
    if (res == ms->pods)
        return pod_create(ms, obj, e);
    if (res == ms->namespaces)
        namespace_create(obj);
    if (res == ms->crds)
        return crd_create(ms, obj, e);
    return 0;
}

int mem__rules_update(struct mem_store *ms, const struct api_resource *res, const json_t *old,
                      json_t *obj, enum store_subresource sub, struct err *e)
{
    if (view_check(res, obj, e) != 0)
        return -EINVAL;
    if (sub == STORE_STATUS)
        return 0;
    if (res == ms->pods)
        return pod_update(old, obj, e);
    if (res == ms->namespaces)
        return namespace_update(old, obj, e);
    if (res == ms->crds && !json_object_get(json_object_get(obj, "metadata"), "deletionTimestamp"))
        return crd_register(ms, obj, e);
    return 0;
}

bool mem__rules_may_remove(const struct api_resource *res, const json_t *obj)
{
    const json_t *md = json_object_get(obj, "metadata");
    if (json_array_size(json_object_get(md, "finalizers")) > 0)
        return false;
    if (json_integer_value(json_object_get(md, "deletionGracePeriodSeconds")) > 0)
        return false;
    if (is_core_kind(res, "Namespace") &&
        json_array_size(json_object_get(json_object_get(obj, "spec"), "finalizers")) > 0)
        return false;
    return true;
}
