/*
 * Resolving a container's environment (see kubelet_env.h).
 */
#include "cluster/kubelet_env.h"

#include <stdbool.h>
#include <string.h>

#include "api/meta.h"
#include "api/selector.h"
#include "util/strcopy.h"

#define ENV_NAME_MAX 256

/* The kubelet's rule for names taken from a ConfigMap: letters, digits,
 * '_', '-' and '.', not starting with a digit. */
static bool valid_env_name(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static int set_var(json_t *env, const char *name, const char *value, struct err *e)
{
    if (json_object_set_new(env, name, json_string(value ? value : "")) != 0)
        return err_set(e, -ENOMEM, "kubelet: out of memory");
    return 0;
}

/* Every key of one envFrom entry. */
static int from_source(const json_t *pod, const json_t *src, kubelet_env_configmap_fn get,
                       void *ctx, json_t *env, struct err *e)
{
    const json_t *cmref = json_object_get(src, "configMapRef");
    const json_t *secref = json_object_get(src, "secretRef");
    const json_t *ref = cmref ? cmref : secref;
    const char *name = str(ref, "name");
    if (!ref || !name)
        return 0;
    bool optional = json_is_true(json_object_get(ref, "optional"));
    json_t *cm = cmref ? get(ctx, meta_namespace(pod), name) : NULL;
    if (!cm)
        return optional ? 0 : err_set(e, -ENOENT, "%s \"%s\" not found",
                                      cmref ? "configmap" : "secret", name);
    const char *prefix = str(src, "prefix");
    const char *key;
    const json_t *v;
    int rc = 0;
    json_object_foreach(json_object_get(cm, "data"), key, v) {
        char var[ENV_NAME_MAX]; /* prefix and key, joined; too long is left out */
        size_t n = strcopy_cut(var, sizeof var, prefix ? prefix : "");
        if (n < sizeof var)
            n += strcopy_cut(var + n, sizeof var - n, key);
        if (n >= sizeof var || !valid_env_name(var) || !json_is_string(v))
            continue;
        if ((rc = set_var(env, var, json_string_value(v), e)) < 0)
            break;
    }
    json_decref(cm);
    return rc;
}

/* The value of one env entry; *value NULL means "leave the variable out"
 * (an optional reference that did not resolve). *owned holds what the
 * value borrows from, for the caller to release. */
static int entry_value(const json_t *pod, const json_t *entry, kubelet_env_configmap_fn get,
                       void *ctx, const char **value, json_t **owned, char buf[24],
                       struct err *e)
{
    const json_t *from = json_object_get(entry, "valueFrom");
    *value = NULL;
    *owned = NULL;
    if (!from) {
        *value = str(entry, "value") ? str(entry, "value") : "";
        return 0;
    }
    const json_t *cmref = json_object_get(from, "configMapKeyRef");
    const json_t *secref = json_object_get(from, "secretKeyRef");
    const json_t *field = json_object_get(from, "fieldRef");
    if (field) {
        const char *path = str(field, "fieldPath");
        const char *v = path ? selector_field_value(pod, path, buf) : NULL;
        *value = v ? v : "";
        return 0;
    }
    const json_t *ref = cmref ? cmref : secref;
    if (!ref)
        return 0; /* resourceFieldRef: not emulated */
    bool optional = json_is_true(json_object_get(ref, "optional"));
    const char *name = str(ref, "name"), *key = str(ref, "key");
    json_t *cm = cmref && name ? get(ctx, meta_namespace(pod), name) : NULL;
    if (!cm)
        return optional ? 0 : err_set(e, -ENOENT, "%s \"%s\" not found",
                                      cmref ? "configmap" : "secret", name ? name : "");
    const char *v = key ? str(json_object_get(cm, "data"), key) : NULL;
    if (!v) {
        json_decref(cm);
        const char *ns = meta_namespace(pod);
        return optional ? 0 : err_set(e, -ENOENT, "couldn't find key %s in ConfigMap %s/%s",
                                      key ? key : "", ns ? ns : "", name);
    }
    *value = v;
    *owned = cm;
    return 0;
}

int kubelet_env_resolve(const json_t *pod, const json_t *container,
                        kubelet_env_configmap_fn get, void *ctx, json_t **env, struct err *e)
{
    *env = json_object();
    if (!*env)
        return err_set(e, -ENOMEM, "kubelet: out of memory");
    int rc = 0;
    size_t i;
    const json_t *item;
    json_array_foreach(json_object_get(container, "envFrom"), i, item)
        if ((rc = from_source(pod, item, get, ctx, *env, e)) < 0)
            break;
    if (rc == 0) {
        json_array_foreach(json_object_get(container, "env"), i, item) {
            const char *name = str(item, "name"), *value = NULL;
            json_t *owned = NULL;
            char buf[24];
            if (!name)
                continue;
            rc = entry_value(pod, item, get, ctx, &value, &owned, buf, e);
            if (rc == 0 && value)
                rc = set_var(*env, name, value, e);
            json_decref(owned);
            if (rc < 0)
                break;
        }
    }
    if (rc < 0) {
        json_decref(*env);
        *env = NULL;
    }
    return rc;
}
