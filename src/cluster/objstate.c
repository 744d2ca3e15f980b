/*
 * The shared questions about objects (see objstate.h).
 */
#include "cluster/objstate.h"

#include <string.h>

#include "api/meta.h"
#include "util/jdoc.h"
#include "util/objkey.h"

int objstate_key(const json_t *obj, char *buf, size_t len)
{
    const char *name = meta_name(obj), *ns = meta_namespace(obj);
    if (!name || !*name)
        return -EINVAL;
    return objkey_join(buf, len, ns, name) >= len ? -ENAMETOOLONG : 0;
}

int objstate_split_key(const char *key, char ns[OBJSTATE_NAME_MAX],
                       char name[OBJSTATE_NAME_MAX], struct err *e)
{
    const char *n;
    if (objkey_split(key, ns, OBJSTATE_NAME_MAX, &n) < 0 || strlen(n) >= OBJSTATE_NAME_MAX)
        return err_set(e, -EINVAL, "key \"%s\": want namespace/name or name", key);
    strcpy(name, n);
    return 0;
}

const char *objstate_phase(const json_t *pod)
{
    const char *p = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
    return p ? p : "";
}

const char *objstate_node(const json_t *pod)
{
    const char *n = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
    return n && *n ? n : NULL;
}

bool objstate_terminal(const json_t *pod)
{
    const char *p = objstate_phase(pod);
    return strcmp(p, "Succeeded") == 0 || strcmp(p, "Failed") == 0;
}

bool objstate_deleting(const json_t *obj)
{
    return json_object_get(json_object_get(obj, "metadata"), "deletionTimestamp") != NULL;
}

bool objstate_active(const json_t *pod)
{
    return !objstate_terminal(pod) && !objstate_deleting(pod);
}

const json_t *objstate_condition(const json_t *obj, const char *type)
{
    const json_t *conds = json_object_get(json_object_get(obj, "status"), "conditions");
    size_t i;
    const json_t *c;
    json_array_foreach(conds, i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && strcmp(t, type) == 0)
            return c;
    }
    return NULL;
}

bool objstate_condition_true(const json_t *obj, const char *type)
{
    const char *s = json_string_value(json_object_get(objstate_condition(obj, type), "status"));
    return s && strcmp(s, "True") == 0;
}

bool objstate_ready(const json_t *pod)
{
    return objstate_condition_true(pod, "Ready");
}

/* Sets key to s (absent when s is NULL); true when that changed it. */
static bool set_string(json_t *obj, const char *key, const char *s, bool *oom)
{
    const char *old = json_string_value(json_object_get(obj, key));
    if (!s) {
        if (!json_object_get(obj, key))
            return false;
        json_object_del(obj, key);
        return true;
    }
    if (old && strcmp(old, s) == 0)
        return false;
    if (json_object_set_new(obj, key, json_string(s)) != 0)
        *oom = true;
    return true;
}

static json_t *member_object(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_object(v) && json_object_set_new(obj, key, v = json_object()) != 0)
        return NULL;
    return v;
}

json_t *objstate_status(json_t *obj)
{
    return member_object(obj, "status");
}

int objstate_write_status(struct action_list *out, const struct api_resource *res,
                          const json_t *orig, json_t *copy, struct err *e)
{
    if (json_equal(json_object_get(copy, "status"), json_object_get(orig, "status"))) {
        json_decref(copy);
        return 0;
    }
    return action_update_status(out, res, copy, e);
}

int objstate_set_condition(json_t *obj, const char *type, const char *status,
                           const char *reason, const char *message, int64_t now_ns)
{
    json_t *st = objstate_status(obj);
    if (!st)
        return -ENOMEM;
    json_t *conds = json_object_get(st, "conditions");
    if (!json_is_array(conds) && json_object_set_new(st, "conditions", conds = json_array()) != 0)
        return -ENOMEM;
    json_t *c = (json_t *)objstate_condition(obj, type);
    bool oom = false, changed = false;
    if (!c) {
        c = json_object(); /* jdoc_put: json_pack would scan a format for one member */
        c = jdoc_built(c, jdoc_put(c, "type", json_string(type), true));
        if (!c || json_array_append_new(conds, c) != 0)
            return -ENOMEM;
        changed = true;
    }
    if (set_string(c, "status", status, &oom) || changed) {
        char t[META_TIME_LEN];
        meta_format_time(now_ns, t);
        set_string(c, "lastTransitionTime", t, &oom);
        changed = true;
    }
    changed |= set_string(c, "reason", reason, &oom);
    changed |= set_string(c, "message", message, &oom);
    return oom ? -ENOMEM : changed;
}

int64_t objstate_created_ns(const json_t *obj)
{
    const char *t = json_string_value(
        json_object_get(json_object_get(obj, "metadata"), "creationTimestamp"));
    int64_t ns = 0;
    if (!t || meta_parse_time(t, "metadata.creationTimestamp", &ns, NULL) != 0)
        return 0;
    return ns;
}

int64_t objstate_int(const json_t *obj, const char *path, int64_t dflt)
{
    char part[64];
    const json_t *v = obj;
    while (v && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof part)
            return dflt;
        memcpy(part, path, n);
        part[n] = '\0';
        v = json_object_get(v, part);
        path += n + (dot != NULL);
    }
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}
