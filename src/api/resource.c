/*
 * The resource registry of resource.h: a built-in table, plus resources
 * defined by CustomResourceDefinitions at run time.
 *
 * Entries are only ever appended (a changed or deleted CRD version is marked
 * unserved), so pointers handed out stay valid and immutable without any
 * reference counting; a mutex guards the array and the served flags.
 */
#include "api/resource.h"
#include "util/alloc.h"
#include "util/vec.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct api_entry {
    struct api_resource r;
    bool served;
    char *crd_name; /* "plural.group" for CRD entries, else NULL */
    char *strings;  /* one allocation holding r's strings (CRD entries) */
};

struct api_registry {
    pthread_mutex_t mu;
    struct api_entry **v;
    size_t n, cap;
};

#define POD_FIELDS                                                                        \
    {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", \
     "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName", NULL}
#define EVENT_FIELDS                                                                      \
    {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",              \
     "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",   \
     "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type", NULL}

/* gpuslice's own resources are pre-registered as if their CRDs (deploy/crds)
 * had been applied, so a store works without loading them; applying the
 * same CRDs later finds them unchanged. */
static const struct api_resource api_builtins[] = {
    {"", "v1", "v1", "pods", "pod", "Pod", "PodList", {"po", NULL}, {"all", NULL}, POD_FIELDS,
     true, true, false, true},
    {"", "v1", "v1", "nodes", "node", "Node", "NodeList", {"no", NULL}, {NULL},
     {"spec.unschedulable", NULL}, false, true, false, true},
    {"", "v1", "v1", "namespaces", "namespace", "Namespace", "NamespaceList", {"ns", NULL},
     {NULL}, {"status.phase", NULL}, false, true, true, true},
    {"", "v1", "v1", "events", "event", "Event", "EventList", {"ev", NULL}, {NULL},
     EVENT_FIELDS, true, false, false, true},
    {"", "v1", "v1", "configmaps", "configmap", "ConfigMap", "ConfigMapList", {"cm", NULL},
     {NULL}, {NULL}, true, false, false, true},
    {"", "v1", "v1", "resourcequotas", "resourcequota", "ResourceQuota", "ResourceQuotaList",
     {"quota", NULL}, {NULL}, {NULL}, true, true, false, true},
    {"", "v1", "v1", "services", "service", "Service", "ServiceList", {"svc", NULL},
     {"all", NULL}, {NULL}, true, true, false, true},
    {"", "v1", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount",
     "ServiceAccountList", {"sa", NULL}, {NULL}, {NULL}, true, false, false, true},
    {"apps", "v1", "apps/v1", "deployments", "deployment", "Deployment", "DeploymentList",
     {"deploy", NULL}, {"all", NULL}, {NULL}, true, true, false, true},
    {"apps", "v1", "apps/v1", "replicasets", "replicaset", "ReplicaSet", "ReplicaSetList",
     {"rs", NULL}, {"all", NULL}, {NULL}, true, true, false, true},
    {"apps", "v1", "apps/v1", "statefulsets", "statefulset", "StatefulSet", "StatefulSetList",
     {"sts", NULL}, {"all", NULL}, {NULL}, true, true, false, true},
    {"apps", "v1", "apps/v1", "daemonsets", "daemonset", "DaemonSet", "DaemonSetList",
     {"ds", NULL}, {"all", NULL}, {NULL}, true, true, false, true},
    {"batch", "v1", "batch/v1", "jobs", "job", "Job", "JobList", {NULL}, {"all", NULL},
     {NULL}, true, true, false, true},
    {"policy", "v1", "policy/v1", "poddisruptionbudgets", "poddisruptionbudget",
     "PodDisruptionBudget", "PodDisruptionBudgetList", {"pdb", NULL}, {NULL}, {NULL}, true,
     true, false, true},
    {"rbac.authorization.k8s.io", "v1", "rbac.authorization.k8s.io/v1", "clusterroles",
     "clusterrole", "ClusterRole", "ClusterRoleList", {NULL}, {NULL}, {NULL}, false, false,
     false, true},
    {"rbac.authorization.k8s.io", "v1", "rbac.authorization.k8s.io/v1", "clusterrolebindings",
     "clusterrolebinding", "ClusterRoleBinding", "ClusterRoleBindingList", {NULL}, {NULL},
     {NULL}, false, false, false, true},
    {"rbac.authorization.k8s.io", "v1", "rbac.authorization.k8s.io/v1", "roles", "role",
     "Role", "RoleList", {NULL}, {NULL}, {NULL}, true, false, false, true},
    {"rbac.authorization.k8s.io", "v1", "rbac.authorization.k8s.io/v1", "rolebindings",
     "rolebinding", "RoleBinding", "RoleBindingList", {NULL}, {NULL}, {NULL}, true, false,
     false, true},
    {"coordination.k8s.io", "v1", "coordination.k8s.io/v1", "leases", "lease", "Lease",
     "LeaseList", {NULL}, {NULL}, {NULL}, true, false, false, true},
    {"admissionregistration.k8s.io", "v1", "admissionregistration.k8s.io/v1",
     "mutatingwebhookconfigurations", "mutatingwebhookconfiguration",
     "MutatingWebhookConfiguration", "MutatingWebhookConfigurationList", {NULL}, {NULL},
     {NULL}, false, false, false, true},
    {"apiextensions.k8s.io", "v1", "apiextensions.k8s.io/v1", "customresourcedefinitions",
     "customresourcedefinition", "CustomResourceDefinition", "CustomResourceDefinitionList",
     {"crd", "crds", NULL}, {NULL}, {NULL}, false, true, false, true},
    {"gpuslice.dev", "v1alpha1", "gpuslice.dev/v1alpha1", "gpunodes", "gpunode", "GPUNode",
     "GPUNodeList", {"gpun", NULL}, {NULL}, {NULL}, false, true, false, false},
    {"gpuslice.dev", "v1alpha1", "gpuslice.dev/v1alpha1", "gpuslices", "gpuslice", "GPUSlice",
     "GPUSliceList", {"gsl", NULL}, {NULL}, {"spec.nodeName", "status.phase", NULL}, true, true,
     false, false},
};

#define API_BUILTINS (sizeof api_builtins / sizeof api_builtins[0])

static int registry_append(struct api_registry *reg, struct api_entry *ent)
{
    VEC_RESERVE(reg->v, reg->cap, reg->n + 1);
    reg->v[reg->n++] = ent;
    return 0;
}

struct api_registry *api_registry_new(void)
{
    struct api_registry *reg = alloc_calloc(1, sizeof *reg);
    pthread_mutex_init(&reg->mu, NULL);
    for (size_t i = 0; i < API_BUILTINS; i++) {
        struct api_entry *ent = alloc_calloc(1, sizeof *ent);
        if (registry_append(reg, ent) != 0) {
            free(ent);
            api_registry_free(reg);
            return NULL;
        }
        ent->r = api_builtins[i];
        ent->served = true;
        if (!ent->r.builtin) {
            ent->crd_name = alloc_malloc(strlen(ent->r.plural) + strlen(ent->r.group) + 2);
            strcpy(ent->crd_name, ent->r.plural);
            strcat(ent->crd_name, ".");
            strcat(ent->crd_name, ent->r.group);
        }
    }
    return reg;
}

void api_registry_free(struct api_registry *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n; i++) {
        free(reg->v[i]->crd_name);
        free(reg->v[i]->strings);
        free(reg->v[i]);
    }
    free(reg->v);
    pthread_mutex_destroy(&reg->mu);
    free(reg);
}

const struct api_resource *api_registry_find(struct api_registry *reg, const char *group,
                                             const char *version, const char *plural)
{
    if (!group)
        group = "";
    const struct api_resource *found = NULL;
    pthread_mutex_lock(&reg->mu);
    for (size_t i = 0; i < reg->n && !found; i++) {
        const struct api_entry *ent = reg->v[i];
        if (ent->served && strcmp(ent->r.group, group) == 0 &&
            strcmp(ent->r.version, version) == 0 && strcmp(ent->r.plural, plural) == 0)
            found = &ent->r;
    }
    pthread_mutex_unlock(&reg->mu);
    return found;
}

const struct api_resource *api_registry_by_kind(struct api_registry *reg,
                                                const char *api_version, const char *kind)
{
    const struct api_resource *found = NULL;
    pthread_mutex_lock(&reg->mu);
    for (size_t i = 0; i < reg->n && !found; i++) {
        const struct api_entry *ent = reg->v[i];
        if (ent->served && strcmp(ent->r.api_version, api_version) == 0 &&
            strcmp(ent->r.kind, kind) == 0)
            found = &ent->r;
    }
    pthread_mutex_unlock(&reg->mu);
    return found;
}

static bool resource_has_name(const struct api_resource *r, const char *name, size_t len)
{
    const char *names[3 + API_SHORT_NAMES_MAX] = {r->plural, r->singular, r->kind};
    for (size_t i = 0; r->short_names[i]; i++)
        names[3 + i] = r->short_names[i];
    for (size_t i = 0; i < sizeof names / sizeof names[0] && names[i]; i++)
        if (strlen(names[i]) == len && strncasecmp(names[i], name, len) == 0)
            return true;
    return false;
}

/* "res", "res.group" or "res.version.group": does r answer to it? */
static bool resource_answers(const struct api_resource *r, const char *name)
{
    const char *dot = strchr(name, '.');
    if (!dot)
        return resource_has_name(r, name, strlen(name));
    if (!resource_has_name(r, name, (size_t)(dot - name)))
        return false;
    const char *rest = dot + 1;
    if (strcmp(rest, r->group) == 0)
        return true;
    size_t vlen = strlen(r->version);
    return strncmp(rest, r->version, vlen) == 0 && rest[vlen] == '.' &&
           strcmp(rest + vlen + 1, r->group) == 0;
}

const struct api_resource *api_registry_resolve(struct api_registry *reg, const char *name)
{
    const struct api_resource *found = NULL;
    pthread_mutex_lock(&reg->mu);
    for (size_t i = 0; i < reg->n; i++) {
        const struct api_entry *ent = reg->v[i];
        if (!ent->served || !resource_answers(&ent->r, name))
            continue;
        if (!found || (ent->r.group[0] == '\0' && found->group[0] != '\0'))
            found = &ent->r;
    }
    pthread_mutex_unlock(&reg->mu);
    return found;
}

size_t api_registry_list(struct api_registry *reg, const struct api_resource **out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&reg->mu);
    for (size_t i = 0; i < reg->n; i++) {
        if (!reg->v[i]->served)
            continue;
        if (n < max)
            out[n] = &reg->v[i]->r;
        n++;
    }
    pthread_mutex_unlock(&reg->mu);
    return n;
}

/* The parts of a CRD one served version needs, borrowed from the JSON. */
struct crd_version {
    const char *group, *version, *plural, *singular, *kind, *list_kind;
    const char *short_names[API_SHORT_NAMES_MAX + 1];
    const char *categories[API_CATEGORIES_MAX + 1];
    const char *selectable[API_SELECTABLE_MAX + 1]; /* without the leading '.' */
    bool namespaced, has_status;
};

static int crd_string(const json_t *obj, const char *key, const char *field, bool required,
                      const char **out, struct err *e)
{
    const json_t *v = json_object_get(obj, key);
    if (!v && !required) {
        *out = NULL;
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0)
        return err_set(e, -EINVAL, "%s: %s", field,
                       v ? "must be a non-empty string" : "Required value");
    *out = json_string_value(v);
    return 0;
}

static int crd_string_list(const json_t *arr, const char *field, const char **out, size_t max,
                           struct err *e)
{
    if (!arr)
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) > max)
        return err_set(e, -EINVAL, "%s: must be a list of at most %zu strings", field, max);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        out[i] = json_string_value(json_array_get(arr, i));
        if (!out[i] || !*out[i])
            return err_set(e, -EINVAL, "%s[%zu]: must be a non-empty string", field, i);
    }
    return 0;
}

static bool dns_label_like(const char *s)
{
    if (!*s || strlen(s) > 63)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    return s[0] != '-' && s[strlen(s) - 1] != '-';
}

/* Reads what all versions share: group, names, scope. */
static int crd_parse_common(const json_t *crd, struct crd_version *cv, const char **name,
                            struct err *e)
{
    memset(cv, 0, sizeof *cv);
    const json_t *spec = json_object_get(crd, "spec");
    const json_t *names = json_object_get(spec, "names");
    const char *scope = NULL;
    if (crd_string(json_object_get(crd, "metadata"), "name", "metadata.name", true, name, e) ||
        crd_string(spec, "group", "spec.group", true, &cv->group, e) ||
        crd_string(names, "plural", "spec.names.plural", true, &cv->plural, e) ||
        crd_string(names, "kind", "spec.names.kind", true, &cv->kind, e) ||
        crd_string(names, "singular", "spec.names.singular", false, &cv->singular, e) ||
        crd_string(names, "listKind", "spec.names.listKind", false, &cv->list_kind, e) ||
        crd_string(spec, "scope", "spec.scope", true, &scope, e) ||
        crd_string_list(json_object_get(names, "shortNames"), "spec.names.shortNames",
                        cv->short_names, API_SHORT_NAMES_MAX, e) ||
        crd_string_list(json_object_get(names, "categories"), "spec.names.categories",
                        cv->categories, API_CATEGORIES_MAX, e))
        return -EINVAL;
    if (!dns_label_like(cv->plural))
        return err_set(e, -EINVAL, "spec.names.plural: \"%s\" must be a lowercase DNS-1123 label",
                       cv->plural);
    if (!strchr(cv->group, '.'))
        return err_set(e, -EINVAL, "spec.group: \"%s\" should be a domain with at least one dot",
                       cv->group);
    size_t pl = strlen(cv->plural);
    if (strncmp(*name, cv->plural, pl) != 0 || (*name)[pl] != '.' ||
        strcmp(*name + pl + 1, cv->group) != 0)
        return err_set(e, -EINVAL, "metadata.name: \"%s\" must be spec.names.plural+\".\"+spec.group",
                       *name);
    if (strcmp(scope, "Namespaced") != 0 && strcmp(scope, "Cluster") != 0)
        return err_set(e, -EINVAL, "spec.scope: Unsupported value: \"%s\": supported values: "
                       "\"Cluster\", \"Namespaced\"", scope);
    cv->namespaced = strcmp(scope, "Namespaced") == 0;
    return 0;
}

static int crd_parse_version(const json_t *ver, size_t i, struct crd_version *cv, struct err *e)
{
    char field[64];
    snprintf(field, sizeof field, "spec.versions[%zu].name", i);
    if (crd_string(ver, "name", field, true, &cv->version, e))
        return -EINVAL;
    cv->has_status = json_is_object(json_object_get(json_object_get(ver, "subresources"), "status"));
    memset(cv->selectable, 0, sizeof cv->selectable);
    const json_t *sel = json_object_get(ver, "selectableFields");
    if (sel && (!json_is_array(sel) || json_array_size(sel) > API_SELECTABLE_MAX))
        return err_set(e, -EINVAL, "spec.versions[%zu].selectableFields: must be a list of at "
                       "most %d entries", i, API_SELECTABLE_MAX);
    for (size_t k = 0; k < json_array_size(sel); k++) {
        const char *path = json_string_value(json_object_get(json_array_get(sel, k), "jsonPath"));
        if (!path || path[0] != '.' || !path[1])
            return err_set(e, -EINVAL, "spec.versions[%zu].selectableFields[%zu].jsonPath: "
                           "must be a path starting with '.'", i, k);
        cv->selectable[k] = path + 1;
    }
    return 0;
}

/* Copies the strings of cv into one allocation owned by ent. */
static int entry_fill(struct api_entry *ent, const struct crd_version *cv, const char *crd_name)
{
    const char *const *lists[] = {cv->short_names, cv->categories, cv->selectable};
    size_t kind = strlen(cv->kind);
    size_t need = 2 * (strlen(cv->group) + 1) + 2 * (strlen(cv->version) + 1) +
                  strlen(cv->plural) + 1 + kind + 1 +
                  (cv->singular ? strlen(cv->singular) : kind) + 1 +
                  (cv->list_kind ? strlen(cv->list_kind) : kind + 4) + 1;
    for (size_t l = 0; l < 3; l++)
        for (size_t i = 0; lists[l][i]; i++)
            need += strlen(lists[l][i]) + 1;
    char *p = ent->strings = alloc_malloc(need);
    ent->crd_name = alloc_strdup(crd_name);
    if (!p)
        return -ENOMEM;
#define PUT(dst, ...)                                                                     \
    do {                                                                                   \
        (dst) = p;                                                                         \
        p += sprintf(p, __VA_ARGS__) + 1;                                                  \
    } while (0)
    PUT(ent->r.group, "%s", cv->group);
    PUT(ent->r.version, "%s", cv->version);
    PUT(ent->r.api_version, "%s/%s", cv->group, cv->version);
    PUT(ent->r.plural, "%s", cv->plural);
    PUT(ent->r.kind, "%s", cv->kind);
    if (cv->singular)
        PUT(ent->r.singular, "%s", cv->singular);
    else {
        PUT(ent->r.singular, "%s", cv->kind);
        for (char *c = (char *)ent->r.singular; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    }
    if (cv->list_kind)
        PUT(ent->r.list_kind, "%s", cv->list_kind);
    else
        PUT(ent->r.list_kind, "%sList", cv->kind);
    for (size_t i = 0; cv->short_names[i]; i++)
        PUT(ent->r.short_names[i], "%s", cv->short_names[i]);
    for (size_t i = 0; cv->categories[i]; i++)
        PUT(ent->r.categories[i], "%s", cv->categories[i]);
    for (size_t i = 0; cv->selectable[i]; i++)
        PUT(ent->r.selectable_fields[i], "%s", cv->selectable[i]);
#undef PUT
    ent->r.namespaced = cv->namespaced;
    ent->r.has_status = cv->has_status;
    return 0;
}

static bool lists_equal(const char *const *a, const char *const *b)
{
    for (; *a && *b; a++, b++)
        if (strcmp(*a, *b) != 0)
            return false;
    return !*a && !*b;
}

static bool entry_matches(const struct api_entry *ent, const struct crd_version *cv)
{
    const struct api_resource *r = &ent->r;
    size_t kl = strlen(cv->kind);
    return strcmp(r->version, cv->version) == 0 && strcmp(r->kind, cv->kind) == 0 &&
           (cv->singular ? strcmp(r->singular, cv->singular) == 0
                         : strncasecmp(r->singular, cv->kind, kl) == 0 && !r->singular[kl]) &&
           (cv->list_kind ? strcmp(r->list_kind, cv->list_kind) == 0
                          : strncmp(r->list_kind, cv->kind, kl) == 0 &&
                                strcmp(r->list_kind + kl, "List") == 0) &&
           r->namespaced == cv->namespaced && r->has_status == cv->has_status &&
           lists_equal(r->short_names, cv->short_names) &&
           lists_equal(r->categories, cv->categories) &&
           lists_equal(r->selectable_fields, cv->selectable);
}

/* Serves one version: an unchanged known entry again, or a new entry. */
static int registry_serve(struct api_registry *reg, const struct crd_version *cv,
                          const char *crd_name)
{
    for (size_t i = 0; i < reg->n; i++) {
        struct api_entry *ent = reg->v[i];
        if (!ent->crd_name || strcmp(ent->crd_name, crd_name) != 0 ||
            strcmp(ent->r.version, cv->version) != 0)
            continue;
        if (entry_matches(ent, cv)) {
            ent->served = true;
            return 0;
        }
        ent->served = false;
    }
    struct api_entry *ent = alloc_calloc(1, sizeof *ent);
    int rc = entry_fill(ent, cv, crd_name);
    if (rc == 0)
        rc = registry_append(reg, ent);
    if (rc != 0) {
        free(ent->strings);
        free(ent->crd_name);
        free(ent);
        return rc;
    }
    ent->served = true;
    return 0;
}

static bool registry_is_builtin(const struct api_registry *reg, const char *group,
                                const char *plural)
{
    for (size_t i = 0; i < reg->n; i++)
        if (reg->v[i]->r.builtin && strcmp(reg->v[i]->r.group, group) == 0 &&
            strcmp(reg->v[i]->r.plural, plural) == 0)
            return true;
    return false;
}

int api_registry_add_crd(struct api_registry *reg, const json_t *crd, struct err *e)
{
    struct crd_version cv;
    const char *name = NULL;
    if (crd_parse_common(crd, &cv, &name, e) != 0)
        return -EINVAL;
    const json_t *versions = json_object_get(json_object_get(crd, "spec"), "versions");
    if (!json_is_array(versions) || json_array_size(versions) == 0)
        return err_set(e, -EINVAL, "spec.versions: Required value: must have exactly one "
                       "version marked as storage version");
    bool served[64] = {false};
    if (json_array_size(versions) > 64)
        return err_set(e, -EINVAL, "spec.versions: at most 64 versions");
    for (size_t i = 0; i < json_array_size(versions); i++) {
        if (crd_parse_version(json_array_get(versions, i), i, &cv, e) != 0)
            return -EINVAL;
        served[i] = json_is_true(json_object_get(json_array_get(versions, i), "served"));
    }
    pthread_mutex_lock(&reg->mu);
    int rc = 0;
    if (registry_is_builtin(reg, cv.group, cv.plural))
        rc = err_set(e, -EEXIST, "customresourcedefinitions \"%s\": %s.%s is a built-in resource",
                     name, cv.plural, cv.group);
    for (size_t i = 0; rc == 0 && i < reg->n; i++)
        if (reg->v[i]->crd_name && strcmp(reg->v[i]->crd_name, name) == 0)
            reg->v[i]->served = false;
    for (size_t i = 0; rc == 0 && i < json_array_size(versions); i++) {
        if (!served[i])
            continue;
        crd_parse_version(json_array_get(versions, i), i, &cv, NULL);
        rc = registry_serve(reg, &cv, name);
        if (rc != 0)
            err_set(e, rc, "customresourcedefinitions \"%s\": out of memory", name);
    }
    pthread_mutex_unlock(&reg->mu);
    return rc;
}

void api_registry_remove_crd(struct api_registry *reg, const char *name)
{
    pthread_mutex_lock(&reg->mu);
    for (size_t i = 0; i < reg->n; i++)
        if (reg->v[i]->crd_name && strcmp(reg->v[i]->crd_name, name) == 0)
            reg->v[i]->served = false;
    pthread_mutex_unlock(&reg->mu);
}
