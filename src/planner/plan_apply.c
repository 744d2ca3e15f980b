/*
 * The patches of plan_apply.h. Every change is one JSON Patch operation
 * addressed by JSON Pointer into the Deployment as it was read, so the patch
 * applies only to that version of it (a test op is not added: kubectl
 * patch is the dry run's consumer, and the live actuator pins the patch to
 * the version read with plan_apply_pin instead).
 */
#include "planner/plan_apply.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATCH_PATH_MAX 512

struct patch {
    json_t *ops;                 /* the JSON Patch */
    json_t *changes;             /* one line per change, for people */
    int failed;                  /* ENOMEM seen */
};

static void op(struct patch *p, const char *kind, const char *path, json_t *value)
{
    json_t *o = value ? json_pack("{s:s, s:s, s:o}", "op", kind, "path", path, "value", value)
                      : json_pack("{s:s, s:s}", "op", kind, "path", path);
    if (!o || json_array_append_new(p->ops, o) != 0)
        p->failed = 1;
}

static void change(struct patch *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void change(struct patch *p, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (json_array_append_new(p->changes, json_string(line)) != 0)
        p->failed = 1;
}

/* Appends a key to a JSON Pointer, escaping "~" and "/" (RFC 6901). */
static void pointer(char *out, const char *base, const char *key)
{
    size_t n = (size_t)snprintf(out, PATCH_PATH_MAX, "%s/", base);
    for (const char *k = key; *k && n + 3 < PATCH_PATH_MAX; k++) {
        if (*k == '~' || *k == '/') {
            out[n++] = '~';
            out[n++] = *k == '~' ? '0' : '1';
        } else {
            out[n++] = *k;
        }
    }
    out[n] = '\0';
}

static bool is_gpu_resource(const char *name)
{
    return strcmp(name, "nvidia.com/gpu") == 0 || strncmp(name, "nvidia.com/mig-", 15) == 0;
}

static const char *annotation(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"), key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool asks_for_gpu(const json_t *container)
{
    const json_t *res = json_object_get(container, "resources");
    const char *section[] = {"limits", "requests"};
    for (size_t i = 0; i < 2; i++) {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(res, section[i]), k, v)
            if (is_gpu_resource(k))
                return true;
    }
    return false;
}

/* The serving container's index, or -1 with e set. */
static int serving_container(const json_t *dep, const json_t *containers, const char *what, struct err *e)
{
    const char *named = annotation(dep, PLAN_APPLY_CONTAINER_ANNOTATION);
    size_t i;
    json_t *c;
    json_array_foreach(containers, i, c) {
        const json_t *name = json_object_get(c, "name");
        if (named && json_is_string(name) && strcmp(json_string_value(name), named) == 0)
            return (int)i;
        if (!named && asks_for_gpu(c))
            return (int)i;
    }
    if (named)
        return err_set(e, -EINVAL, "%s: no container \"%s\" (annotation %s)", what, named,
                       PLAN_APPLY_CONTAINER_ANNOTATION);
    return 0;
}

/* Makes one resource section ask for exactly `want` of the GPU kinds. */
static void patch_section(struct patch *p, const json_t *section, const char *base, const char *want,
                          const char *quantity)
{
    char path[PATCH_PATH_MAX];
    const char *k;
    json_t *v;
    bool present = false;
    json_object_foreach((json_t *)section, k, v) {
        if (!is_gpu_resource(k))
            continue;
        pointer(path, base, k);
        if (strcmp(k, want) != 0) {
            op(p, "remove", path, NULL);
            change(p, "%s: removed", k);
        } else {
            present = true;
            if (!json_is_string(v) || strcmp(json_string_value(v), quantity) != 0) {
                op(p, "replace", path, json_string(quantity));
                change(p, "%s: %s", k, quantity);
            }
        }
    }
    if (!present) {
        pointer(path, base, want);
        op(p, "add", path, json_string(quantity));
        change(p, "%s: %s", want, quantity);
    }
}

static void patch_resources(struct patch *p, const json_t *container, const char *base, const char *want,
                            const char *quantity)
{
    char path[PATCH_PATH_MAX];
    const json_t *res = json_object_get(container, "resources");
    pointer(path, base, "resources");
    if (!json_is_object(res)) {
        op(p, "add", path, json_pack("{s:{s:s}}", "limits", want, quantity));
        change(p, "%s: %s", want, quantity);
        return;
    }
    char limits_path[PATCH_PATH_MAX];
    pointer(limits_path, path, "limits");
    const json_t *limits = json_object_get(res, "limits");
    if (!json_is_object(limits)) {
        op(p, "add", limits_path, json_pack("{s:s}", want, quantity));
        change(p, "%s: %s", want, quantity);
    } else {
        patch_section(p, limits, limits_path, want, quantity);
    }
    const json_t *requests = json_object_get(res, "requests");
    bool has_gpu = false;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)requests, k, v)
        has_gpu = has_gpu || is_gpu_resource(k);
    if (has_gpu) {
        /* Extended resources: a request must equal its limit. */
        char requests_path[PATCH_PATH_MAX];
        pointer(requests_path, path, "requests");
        size_t before = json_array_size(p->changes);
        patch_section(p, requests, requests_path, want, quantity);
        while (json_array_size(p->changes) > before) /* the limits lines say it already */
            json_array_remove(p->changes, before);
    }
}

static void patch_replicas(struct patch *p, const json_t *spec, json_int_t want)
{
    const json_t *have = json_object_get(spec, "replicas");
    if (!json_is_integer(have)) {
        op(p, "add", "/spec/replicas", json_integer(want));
        change(p, "replicas %lld", (long long)want);
    } else if (json_integer_value(have) != want) {
        op(p, "replace", "/spec/replicas", json_integer(want));
        change(p, "replicas %lld -> %lld", (long long)json_integer_value(have), (long long)want);
    }
}

/* Reads the plan's allocation fields for one server. */
static int allocation_of(const json_t *alloc, const char *server, json_int_t *replicas, const char **resource,
                         json_int_t *per_replica, struct err *e)
{
    if (json_unpack((json_t *)alloc, "{s:I, s:s, s:I}", "numReplicas", replicas, "resource", resource,
                    "resourcesPerReplica", per_replica) != 0 ||
        *replicas < 0 || *per_replica < 1)
        return err_set(e, -EINVAL,
                       "plan: allocations.%s needs numReplicas >= 0, resource and resourcesPerReplica >= 1",
                       server);
    return 0;
}

static json_t *skipped(const char *ns, const char *name, const char *server, const char *why)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "namespace", ns, "name", name, "server", server, "skipped", why);
}

static int patch_deployment(const json_t *plan, const json_t *dep, size_t index, json_t *out, struct err *e)
{
    char what[96];
    snprintf(what, sizeof what, "objects[%zu]", index);
    const char *name = NULL, *ns = "default";
    if (json_unpack((json_t *)dep, "{s:{s:s, s?:s}}", "metadata", "name", &name, "namespace", &ns) != 0)
        return err_set(e, -EINVAL, "%s: metadata.name is missing", what);
    const char *server = annotation(dep, PLAN_APPLY_SERVER_ANNOTATION);
    server = server ? server : name;
    const json_t *spec = json_object_get(dep, "spec");
    const json_t *containers = json_object_get(json_object_get(json_object_get(spec, "template"), "spec"),
                                               "containers");
    if (!json_is_array(containers) || json_array_size(containers) == 0)
        return err_set(e, -EINVAL, "%s (%s): spec.template.spec.containers is missing or empty", what, name);
    const json_t *alloc = json_object_get(json_object_get(plan, "allocations"), server);
    const json_t *left_out = json_object_get(json_object_get(plan, "unallocated"), server);
    json_t *item;
    if (!alloc) {
        char why[256];
        const char *reason = json_string_value(json_object_get(left_out, "reason"));
        snprintf(why, sizeof why, "%s", left_out ? (reason ? reason : "left out by the plan")
                                                 : "the plan has no such server");
        item = skipped(ns, name, server, why);
    } else {
        json_int_t replicas, per;
        const char *resource;
        int rc = allocation_of(alloc, server, &replicas, &resource, &per, e);
        if (rc)
            return rc;
        int c = serving_container(dep, containers, what, e);
        if (c < 0)
            return c;
        struct patch p = {.ops = json_array(), .changes = json_array()};
        char base[PATCH_PATH_MAX], quantity[32];
        snprintf(base, sizeof base, "/spec/template/spec/containers/%d", c);
        snprintf(quantity, sizeof quantity, "%lld", (long long)per);
        if (p.ops && p.changes) {
            patch_replicas(&p, spec, replicas);
            patch_resources(&p, json_array_get(containers, (size_t)c), base, resource, quantity);
        }
        item = p.failed || !p.ops || !p.changes
                   ? NULL
                   : json_pack("{s:s, s:s, s:s, s:O, s:O}", "namespace", ns, "name", name, "server", server,
                               "patch", p.ops, "changes", p.changes);
        json_decref(p.ops);
        json_decref(p.changes);
    }
    if (!item || json_array_append_new(out, item) != 0)
        return err_set(e, -ENOMEM, "out of memory");
    return 0;
}

static bool is_deployment(const json_t *obj)
{
    const json_t *kind = json_object_get(obj, "kind");
    return json_is_string(kind) && strcmp(json_string_value(kind), "Deployment") == 0;
}

int plan_apply_patches(const json_t *plan, const json_t *objects, json_t **out, struct err *e)
{
    if (!json_is_object(json_object_get(plan, "allocations")))
        return err_set(e, -EINVAL, "plan: \"allocations\" is missing or not an object");
    const json_t *items = json_is_array(objects) ? objects : json_object_get(objects, "items");
    bool single = !items;
    if (single && !is_deployment(objects))
        return err_set(e, -EINVAL, "objects: not a Deployment, a List or an array of objects");
    json_t *result = json_array();
    if (!result)
        return err_set(e, -ENOMEM, "out of memory");
    size_t n = single ? 1 : json_array_size(items);
    for (size_t i = 0; i < n; i++) {
        const json_t *obj = single ? objects : json_array_get(items, i);
        if (!is_deployment(obj))
            continue;
        int rc = patch_deployment(plan, obj, i, result, e);
        if (rc) {
            json_decref(result);
            return rc;
        }
    }
    *out = result;
    return 0;
}

static bool has_server(const json_t *patches, const char *server)
{
    size_t i;
    json_t *item;
    json_array_foreach(patches, i, item) {
        const char *s = json_string_value(json_object_get(item, "server"));
        if (s && strcmp(s, server) == 0)
            return true;
    }
    return false;
}

int plan_apply_check_coverage(const json_t *plan, const json_t *patches, struct err *e)
{
    const json_t *allocs = json_object_get(plan, "allocations");
    if (!json_is_object(allocs))
        return err_set(e, -EINVAL, "plan: \"allocations\" is missing or not an object");
    const char *server;
    json_t *v;
    json_object_foreach((json_t *)allocs, server, v)
        if (!has_server(patches, server))
            return err_set(e, -ENOENT,
                           "plan: server \"%s\" has no Deployment (none is named %s or annotated %s=%s)",
                           server, server, PLAN_APPLY_SERVER_ANNOTATION, server);
    return 0;
}

int plan_apply_pin(json_t *patch, const json_t *deployment, struct err *e)
{
    const json_t *rv = json_object_get(json_object_get(deployment, "metadata"), "resourceVersion");
    if (!json_is_string(rv) || !*json_string_value(rv))
        return err_set(e, -EINVAL, "deployment: metadata.resourceVersion is missing");
    json_t *o = json_pack("{s:s, s:s, s:O}", "op", "replace", "path", "/metadata/resourceVersion", "value", rv);
    if (!o || json_array_insert_new(patch, 0, o) != 0)
        return err_set(e, -ENOMEM, "out of memory");
    return 0;
}
