/*
 * The Node view of node.h, and the taint/toleration rule the scheduler
 * applies.
 */
#include "api/node.h"

#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"
#include "api/meta.h"
#include "api/quantity.h"

static const char *string_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int read_quantities(const json_t *map, const char *field, struct err *e)
{
    if (map && !json_is_object(map))
        return err_set(e, -EINVAL, "%s: Invalid value: must be an object", field);
    const char *name;
    json_t *q;
    json_object_foreach((json_t *)map, name, q) {
        char f[320];
        api__path_key(f, sizeof f, field, name);
        int64_t milli;
        if (quantity_from_json(q, f, &milli, e) != 0)
            return -EINVAL;
        if (milli < 0)
            return err_set(e, -EINVAL, "%s: Invalid value: must be greater than or equal to 0", f);
    }
    return 0;
}

static bool is_effect(const char *s)
{
    return s && (!strcmp(s, "NoSchedule") || !strcmp(s, "PreferNoSchedule") ||
                 !strcmp(s, "NoExecute"));
}

static int read_taints(const json_t *taints, struct err *e)
{
    if (taints && !json_is_array(taints))
        return err_set(e, -EINVAL, "spec.taints: Invalid value: must be a list");
    for (size_t i = 0; i < json_array_size(taints); i++) {
        const json_t *t = json_array_get(taints, i);
        const char *key = string_of(t, "key");
        const char *effect = string_of(t, "effect");
        char f[64];
        snprintf(f, sizeof f, "spec.taints[%zu].key", i);
        if (!key)
            return err_set(e, -EINVAL, "%s: Required value", f);
        if (meta_check_qualified_name(key, f, e) != 0)
            return -EINVAL;
        if (!is_effect(effect))
            return err_set(e, -EINVAL, "spec.taints[%zu].effect: Unsupported value: \"%s\": "
                           "supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
                           i, effect ? effect : "");
    }
    return 0;
}

int node_read(const json_t *node, struct node_view *v, struct err *e)
{
    memset(v, 0, sizeof *v);
    const json_t *md = json_object_get(node, "metadata");
    const json_t *spec = json_object_get(node, "spec");
    const json_t *status = json_object_get(node, "status");
    v->name = meta_name(node);
    v->labels = json_object_get(md, "labels");
    if (!v->name)
        return err_set(e, -EINVAL, "metadata.name: Required value");
    if (meta_check_labels(v->labels, "metadata.labels", e))
        return -EINVAL;
    const json_t *unsched = json_object_get(spec, "unschedulable");
    if (unsched && !json_is_boolean(unsched))
        return err_set(e, -EINVAL, "spec.unschedulable: Invalid value: must be true or false");
    v->unschedulable = json_is_true(unsched);
    v->taints = json_object_get(spec, "taints");
    v->capacity = json_object_get(status, "capacity");
    v->allocatable = json_object_get(status, "allocatable");
    if (read_taints(v->taints, e) || read_quantities(v->capacity, "status.capacity", e) ||
        read_quantities(v->allocatable, "status.allocatable", e))
        return -EINVAL;
    const json_t *conds = json_object_get(status, "conditions");
    for (size_t i = 0; i < json_array_size(conds); i++) {
        const json_t *c = json_array_get(conds, i);
        const char *type = string_of(c, "type"), *st = string_of(c, "status");
        if (type && st && !strcmp(type, "Ready"))
            v->ready = !strcmp(st, "True");
    }
    return 0;
}

int64_t node_allocatable_milli(const struct node_view *v, const char *resource)
{
    const json_t *q = json_object_get(v->allocatable, resource);
    if (!q)
        q = json_object_get(v->capacity, resource);
    int64_t milli = 0;
    if (q && quantity_from_json(q, resource, &milli, NULL) != 0)
        milli = 0;
    return milli;
}

/* The toleration rule: an empty key with Exists matches every taint; else
 * keys match and, for Equal (the default), values too; an empty effect
 * matches every effect. */
static bool tolerates(const json_t *tol, const json_t *taint)
{
    const char *tk = string_of(tol, "key"), *op = string_of(tol, "operator");
    const char *te = string_of(tol, "effect"), *tv = string_of(tol, "value");
    const char *key = string_of(taint, "key"), *effect = string_of(taint, "effect");
    const char *value = string_of(taint, "value");
    if (te && *te && strcmp(te, effect) != 0)
        return false;
    bool exists = op && !strcmp(op, "Exists");
    if (!tk || !*tk)
        return exists;
    if (strcmp(tk, key) != 0)
        return false;
    return exists || !strcmp(tv ? tv : "", value ? value : "");
}

bool node_tolerated(const struct node_view *v, const json_t *tolerations)
{
    for (size_t i = 0; i < json_array_size(v->taints); i++) {
        const json_t *taint = json_array_get(v->taints, i);
        if (!strcmp(string_of(taint, "effect"), "PreferNoSchedule"))
            continue;
        bool ok = false;
        for (size_t j = 0; j < json_array_size(tolerations) && !ok; j++)
            ok = tolerates(json_array_get(tolerations, j), taint);
        if (!ok)
            return false;
    }
    return true;
}
