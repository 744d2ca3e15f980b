/*
 * The Pod view of pod.h: one pass over the fields gpuslice reads, checking
 * each as the API server's validation does.
 */
#include "api/pod.h"

#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"
#include "api/meta.h"
#include "api/quantity.h"

#define FIELD_MAX 192

static const char *string_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* An object, a list, or absent; anything else is an error naming field. */
static int expect(const json_t *v, bool list, const char *field, struct err *e)
{
    if (!v || json_is_null(v) || (list ? json_is_array(v) : json_is_object(v)))
        return 0;
    return err_set(e, -EINVAL, "%s: Invalid value: must be %s", field, list ? "a list" : "an object");
}

/* expect for the field at + suffix, spelled out only for an error: every
 * write and many readers read a pod, and a good one names no field. */
static int expect_at(const json_t *v, bool list, const char *at, const char *suffix,
                     struct err *e)
{
    if (!v || json_is_null(v) || (list ? json_is_array(v) : json_is_object(v)))
        return 0;
    char f[FIELD_MAX + 32];
    return expect(v, list, api__path(f, sizeof f, at, suffix), e);
}

/* Extended resources are named with a domain other than kubernetes.io
 * ("nvidia.com/mig-1g.10gb", "gpuslice.dev/accelerator-memory"). */
static bool is_extended(const char *resource)
{
    const char *slash = strchr(resource, '/');
    if (!slash)
        return false;
    size_t dl = (size_t)(slash - resource);
    static const char native[] = "kubernetes.io";
    size_t nl = sizeof native - 1;
    bool kube = dl >= nl && memcmp(resource + dl - nl, native, nl) == 0 &&
                (dl == nl || resource[dl - nl - 1] == '.');
    return !kube && strncmp(resource, "requests.", 9) != 0;
}

/* Whether one quantity of a resource map (name: q) is good: the checks of
 * quantity_error, asked without naming a field. */
static bool quantity_ok(const char *name, const json_t *q)
{
    int64_t milli;
    return meta_check_qualified_name(name, NULL, NULL) == 0 &&
           quantity_from_json(q, NULL, &milli, NULL) == 0 && milli >= 0 &&
           !(is_extended(name) && milli % 1000 != 0);
}

/* The error of a quantity that is not quantity_ok, naming its field (the
 * map's is at + suffix); 0 for a good one. */
static int quantity_error(const char *name, const json_t *q, const char *at, const char *suffix,
                          struct err *e)
{
    char field[FIELD_MAX + 32], f[FIELD_MAX + 320];
    api__path(field, sizeof field, at, suffix);
    api__path_key(f, sizeof f, field, name);
    if (meta_check_qualified_name(name, field, e) != 0)
        return -EINVAL;
    int64_t milli;
    int rc = quantity_from_json(q, f, &milli, e);
    if (rc != 0)
        return -EINVAL; /* out of range is invalid input, not a server fault */
    const char *text = json_is_string(q) ? json_string_value(q) : "";
    if (milli < 0)
        return err_set(e, -EINVAL, "%s: Invalid value: \"%s\": must be greater than or equal "
                       "to 0", f, text);
    if (is_extended(name) && milli % 1000 != 0)
        return err_set(e, -EINVAL, "%s: Invalid value: \"%s\": must be a whole number", f, text);
    return 0;
}

static int read_quantities(const json_t *map, const char *at, const char *suffix, struct err *e)
{
    if (expect_at(map, false, at, suffix, e))
        return -EINVAL;
    const char *name;
    json_t *q;
    json_object_foreach((json_t *)map, name, q)
        if (!quantity_ok(name, q) && quantity_error(name, q, at, suffix, e) != 0)
            return -EINVAL;
    return 0;
}

static int read_resources(const json_t *c, const char *at, struct pod_container *pc,
                          struct err *e)
{
    const json_t *res = json_object_get(c, "resources");
    if (expect_at(res, false, at, ".resources", e))
        return -EINVAL;
    pc->requests = json_object_get(res, "requests");
    pc->limits = json_object_get(res, "limits");
    if (read_quantities(pc->requests, at, ".resources.requests", e) ||
        read_quantities(pc->limits, at, ".resources.limits", e))
        return -EINVAL;
    /* extended resources cannot be overcommitted */
    const char *name;
    json_t *req;
    json_object_foreach((json_t *)pc->requests, name, req) {
        const json_t *lim = json_object_get(pc->limits, name);
        int64_t r, l;
        if (!is_extended(name) || !lim)
            continue;
        quantity_from_json(req, name, &r, NULL);
        quantity_from_json(lim, name, &l, NULL);
        if (r != l)
            return err_set(e, -EINVAL, "%s.resources.requests[%s]: Invalid value: must be equal "
                           "to %s limit", at, name, name);
    }
    return 0;
}

static int read_env_from(const json_t *c, const char *at, struct pod_container *pc,
                         struct err *e)
{
    pc->env_from = json_object_get(c, "envFrom");
    if (expect_at(pc->env_from, true, at, ".envFrom", e))
        return -EINVAL;
    if (json_array_size(pc->env_from) == 0)
        return 0;
    char f[FIELD_MAX + 32];
    api__path(f, sizeof f, at, ".envFrom");
    for (size_t i = 0; i < json_array_size(pc->env_from); i++) {
        const json_t *src = json_array_get(pc->env_from, i);
        const json_t *cm = json_object_get(src, "configMapRef");
        const json_t *sec = json_object_get(src, "secretRef");
        const json_t *ref = cm ? cm : sec;
        if (!ref || (cm && sec))
            return err_set(e, -EINVAL, "%s[%zu]: Invalid value: must specify one of: "
                           "`configMapRef` or `secretRef`", f, i);
        const char *name = string_of(ref, "name");
        if (!name || !*name)
            return err_set(e, -EINVAL, "%s[%zu].%s.name: Required value", f, i,
                           cm ? "configMapRef" : "secretRef");
    }
    return 0;
}

/* Whether a container read before is named name. */
static bool name_taken(const struct pod_view *v, const char *name)
{
    for (size_t j = 0; j < v->n_containers; j++)
        if (strcmp(v->containers[j].name, name) == 0)
            return true;
    return false;
}

static int read_container_list(const json_t *spec, const char *list, bool init,
                               struct pod_view *v, struct err *e)
{
    const json_t *cs = json_object_get(spec, list);
    char f[FIELD_MAX + 32], field[FIELD_MAX];
    api__path(field, sizeof field, "spec.", list);
    if (expect(cs, true, field, e))
        return -EINVAL;
    for (size_t i = 0; i < json_array_size(cs); i++) {
        const json_t *c = json_array_get(cs, i);
        char at[FIELD_MAX];
        api__path_index(at, sizeof at, field, i);
        if (!json_is_object(c))
            return err_set(e, -EINVAL, "%s: Invalid value: must be an object", at);
        if (v->n_containers == POD_MAX_CONTAINERS)
            return err_set(e, -EINVAL, "%s: Too many: more than %d containers", at,
                           POD_MAX_CONTAINERS);
        struct pod_container *pc = &v->containers[v->n_containers];
        memset(pc, 0, sizeof *pc);
        pc->init = init;
        pc->name = string_of(c, "name");
        pc->image = string_of(c, "image");
        if (!pc->name || meta_check_label_name(pc->name, NULL, NULL) != 0 ||
            name_taken(v, pc->name)) {
            api__path(f, sizeof f, at, ".name"); /* named for the error only */
            if (!pc->name)
                return err_set(e, -EINVAL, "%s: Required value", f);
            if (meta_check_label_name(pc->name, f, e) != 0)
                return -EINVAL;
            return err_set(e, -EINVAL, "%s: Duplicate value: \"%s\"", f, pc->name);
        }
        if (!pc->image || !*pc->image)
            return err_set(e, -EINVAL, "%s.image: Required value", at);
        if (read_resources(c, at, pc, e) || read_env_from(c, at, pc, e))
            return -EINVAL;
        v->n_containers++;
    }
    return 0;
}

static bool one_of(const char *s, const char *const *options)
{
    for (; s && *options; options++)
        if (strcmp(s, *options) == 0)
            return true;
    return false;
}

static int read_requirement(const json_t *r, const char *at, struct err *e)
{
    /* at may be up to FIELD_MAX + 32 long */
    static const char *const ops[] = {"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", NULL};
    const char *key = string_of(r, "key");
    const char *op = string_of(r, "operator");
    const json_t *values = json_object_get(r, "values");
    char f[FIELD_MAX + 48];
    snprintf(f, sizeof f, "%s.key", at);
    if (!key)
        return err_set(e, -EINVAL, "%s: Required value", f);
    if (meta_check_qualified_name(key, f, e) != 0)
        return -EINVAL;
    if (!one_of(op, ops))
        return err_set(e, -EINVAL, "%s.operator: Unsupported value: \"%s\": supported values: "
                       "\"In\", \"NotIn\", \"Exists\", \"DoesNotExist\", \"Gt\", \"Lt\"", at,
                       op ? op : "");
    size_t n = json_array_size(values);
    bool set = !strcmp(op, "In") || !strcmp(op, "NotIn");
    bool one = !strcmp(op, "Gt") || !strcmp(op, "Lt");
    if ((set && n == 0) || (one && n != 1) || (!set && !one && n != 0))
        return err_set(e, -EINVAL, "%s.values: %s", at,
                       set ? "Required value: must be specified when `operator` is 'In' or 'NotIn'"
                       : one ? "Required value: must be specified single value when `operator` is "
                               "'Lt' or 'Gt'"
                             : "Forbidden: may not be specified when `operator` is 'Exists' or "
                               "'DoesNotExist'");
    for (size_t i = 0; i < n; i++)
        if (!json_is_string(json_array_get(values, i)))
            return err_set(e, -EINVAL, "%s.values[%zu]: Invalid value: must be a string", at, i);
    return 0;
}

static int read_affinity(const json_t *spec, struct pod_view *v, struct err *e)
{
    const json_t *aff = json_object_get(spec, "affinity");
    const json_t *na = json_object_get(aff, "nodeAffinity");
    const json_t *req = json_object_get(na, "requiredDuringSchedulingIgnoredDuringExecution");
    if (expect(aff, false, "spec.affinity", e) ||
        expect(na, false, "spec.affinity.nodeAffinity", e))
        return -EINVAL;
    if (!req || json_is_null(req))
        return 0;
    static const char base[] =
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution";
    const json_t *terms = json_object_get(req, "nodeSelectorTerms");
    if (!json_is_array(terms) || json_array_size(terms) == 0)
        return err_set(e, -EINVAL, "%s.nodeSelectorTerms: Required value: must have at least one "
                       "node selector term", base);
    for (size_t i = 0; i < json_array_size(terms); i++) {
        static const char *const parts[] = {"matchExpressions", "matchFields"};
        for (size_t p = 0; p < 2; p++) {
            const json_t *rs = json_object_get(json_array_get(terms, i), parts[p]);
            char at[FIELD_MAX];
            snprintf(at, sizeof at, "%s.nodeSelectorTerms[%zu].%s", base, i, parts[p]);
            if (expect(rs, true, at, e))
                return -EINVAL;
            for (size_t j = 0; j < json_array_size(rs); j++) {
                char ra[FIELD_MAX + 32];
                snprintf(ra, sizeof ra, "%s[%zu]", at, j);
                if (read_requirement(json_array_get(rs, j), ra, e))
                    return -EINVAL;
            }
        }
    }
    v->required_terms = terms;
    return 0;
}

static int read_tolerations(const json_t *spec, struct pod_view *v, struct err *e)
{
    static const char *const ops[] = {"Exists", "Equal", NULL};
    static const char *const effects[] = {"NoSchedule", "PreferNoSchedule", "NoExecute", NULL};
    v->tolerations = json_object_get(spec, "tolerations");
    if (expect(v->tolerations, true, "spec.tolerations", e))
        return -EINVAL;
    for (size_t i = 0; i < json_array_size(v->tolerations); i++) {
        const json_t *t = json_array_get(v->tolerations, i);
        const char *key = string_of(t, "key");
        const char *op = string_of(t, "operator");
        const char *effect = string_of(t, "effect");
        const char *value = string_of(t, "value");
        char at[FIELD_MAX];
        snprintf(at, sizeof at, "spec.tolerations[%zu]", i);
        if (op && !one_of(op, ops))
            return err_set(e, -EINVAL, "%s.operator: Unsupported value: \"%s\": supported values: "
                           "\"Equal\", \"Exists\"", at, op);
        if (effect && *effect && !one_of(effect, effects))
            return err_set(e, -EINVAL, "%s.effect: Unsupported value: \"%s\": supported values: "
                           "\"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"", at, effect);
        if (op && !strcmp(op, "Exists") && value && *value)
            return err_set(e, -EINVAL, "%s.operator: Invalid value: \"%s\": value must be empty "
                           "when `operator` is 'Exists'", at, value);
        if ((!key || !*key) && !(op && !strcmp(op, "Exists")))
            return err_set(e, -EINVAL, "%s.operator: Invalid value: \"%s\": operator must be "
                           "Exists when `key` is empty, which means \"match all values and all "
                           "keys\"", at, op ? op : "Equal");
        char kf[FIELD_MAX + 8];
        snprintf(kf, sizeof kf, "%s.key", at);
        if (key && *key && meta_check_qualified_name(key, kf, e) != 0)
            return -EINVAL;
    }
    return 0;
}

static int read_gates(const json_t *spec, struct pod_view *v, struct err *e)
{
    const json_t *gates = json_object_get(spec, "schedulingGates");
    if (expect(gates, true, "spec.schedulingGates", e))
        return -EINVAL;
    for (size_t i = 0; i < json_array_size(gates); i++) {
        const char *name = string_of(json_array_get(gates, i), "name");
        if (!name || meta_check_qualified_name(name, NULL, NULL) != 0 ||
            pod_has_gate(v, name)) {
            char f[FIELD_MAX]; /* named for the error only */
            snprintf(f, sizeof f, "spec.schedulingGates[%zu].name", i);
            if (!name)
                return err_set(e, -EINVAL, "%s: Required value", f);
            if (meta_check_qualified_name(name, f, e) != 0)
                return -EINVAL;
            return err_set(e, -EINVAL, "%s: Duplicate value: \"%s\"", f, name);
        }
        if (v->n_gates == POD_MAX_GATES)
            return err_set(e, -EINVAL, "spec.schedulingGates: Too many: more than %d gates",
                           POD_MAX_GATES);
        v->gates[v->n_gates++] = name;
    }
    if (v->n_gates > 0 && *v->node_name)
        return err_set(e, -EINVAL, "spec.nodeName: Forbidden: cannot be set until all "
                       "schedulingGates have been cleared");
    return 0;
}

int pod_read(const json_t *pod, struct pod_view *v, struct err *e)
{
    memset(v, 0, sizeof *v);
    const json_t *md = json_object_get(pod, "metadata");
    const json_t *spec = json_object_get(pod, "spec");
    const json_t *status = json_object_get(pod, "status");
    v->name = string_of(md, "name"); /* meta_name and the rest, from md found once */
    v->ns = string_of(md, "namespace");
    v->uid = string_of(md, "uid");
    v->resource_version = string_of(md, "resourceVersion");
    v->deleting = json_object_get(md, "deletionTimestamp") != NULL;
    if (!json_is_object(spec))
        return err_set(e, -EINVAL, "spec: Required value");
    const json_t *node = json_object_get(spec, "nodeName");
    if (node && !json_is_string(node))
        return err_set(e, -EINVAL, "spec.nodeName: Invalid value: must be a string");
    v->node_name = node ? json_string_value(node) : "";
    if (*v->node_name && meta_check_subdomain(v->node_name, "spec.nodeName", e) != 0)
        return -EINVAL;
    if (read_container_list(spec, "initContainers", true, v, e) ||
        read_container_list(spec, "containers", false, v, e))
        return -EINVAL;
    size_t n_init = 0;
    while (n_init < v->n_containers && v->containers[n_init].init)
        n_init++;
    if (n_init == v->n_containers)
        return err_set(e, -EINVAL, "spec.containers: Required value");
    v->node_selector = json_object_get(spec, "nodeSelector");
    if (meta_check_labels(v->node_selector, "spec.nodeSelector", e) ||
        read_affinity(spec, v, e) || read_tolerations(spec, v, e) || read_gates(spec, v, e))
        return -EINVAL;
    if (expect(status, false, "status", e))
        return -EINVAL;
    const json_t *phase = json_object_get(status, "phase");
    if (phase && !json_is_string(phase))
        return err_set(e, -EINVAL, "status.phase: Invalid value: must be a string");
    v->phase = phase ? json_string_value(phase) : "Pending";
    v->conditions = json_object_get(status, "conditions");
    if (expect(v->conditions, true, "status.conditions", e))
        return -EINVAL;
    return 0;
}

bool pod_has_gate(const struct pod_view *v, const char *gate)
{
    for (size_t i = 0; i < v->n_gates; i++)
        if (strcmp(v->gates[i], gate) == 0)
            return true;
    return false;
}

const json_t *pod_condition(const struct pod_view *v, const char *type)
{
    for (size_t i = 0; i < json_array_size(v->conditions); i++) {
        const json_t *c = json_array_get(v->conditions, i);
        const char *t = string_of(c, "type");
        if (t && strcmp(t, type) == 0)
            return c;
    }
    return NULL;
}

bool pod_is_terminal(const struct pod_view *v)
{
    return !strcmp(v->phase, "Succeeded") || !strcmp(v->phase, "Failed");
}

/* A container's request for resource: its request, else its limit. */
static int64_t container_request(const struct pod_container *c, const char *resource)
{
    const json_t *q = json_object_get(c->requests, resource);
    if (!q)
        q = json_object_get(c->limits, resource);
    int64_t milli = 0;
    if (q && quantity_from_json(q, resource, &milli, NULL) != 0)
        milli = 0;
    return milli;
}

int64_t pod_request_milli(const struct pod_view *v, const char *resource)
{
    int64_t sum = 0, init_max = 0;
    for (size_t i = 0; i < v->n_containers; i++) {
        int64_t r = container_request(&v->containers[i], resource);
        if (v->containers[i].init)
            init_max = r > init_max ? r : init_max;
        else if (r > INT64_MAX - sum)
            sum = INT64_MAX;
        else
            sum += r;
    }
    return sum > init_max ? sum : init_max;
}
