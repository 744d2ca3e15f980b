/*
 * Reading and writing what a pod asks for (see pod_slices.h). Everything a
 * user wrote is checked here, so the controller and the agent can trust a
 * struct pod_slices.
 */
#include "api/pod_slices.h"
#include "util/jdoc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void slices_clear(struct pod_slices *out)
{
    memset(out, 0, sizeof *out);
}

/* One entry: profile and count, or (profile NULL) memory_gib. */
static int add_request(struct pod_slices *out, const char *container, bool init,
                       const char *profile, unsigned memory_gib, unsigned count,
                       const char *field, struct err *e)
{
    if (out->n == POD_SLICES_MAX)
        return err_set(e, -EINVAL, "%s: more than %d slice requests in one pod", field,
                       POD_SLICES_MAX);
    if (!container || !*container || strlen(container) >= POD_CONTAINER_MAX)
        return err_set(e, -EINVAL, "%s: container name must be 1 to %d characters", field,
                       POD_CONTAINER_MAX - 1);
    if (profile && (!*profile || strlen(profile) >= POD_PROFILE_MAX))
        return err_set(e, -EINVAL, "%s: profile name must be 1 to %d characters", field,
                       POD_PROFILE_MAX - 1);
    if (!profile && (memory_gib < 1 || memory_gib > POD_MEMORY_GIB_MAX || count != 1))
        return err_set(e, -EINVAL, "%s: memoryGiB must be from 1 to %u, with count 1", field,
                       POD_MEMORY_GIB_MAX);
    if (count < 1 || count > POD_SLICE_COUNT_MAX)
        return err_set(e, -EINVAL, "%s: count must be from 1 to %d, got %u", field,
                       POD_SLICE_COUNT_MAX, count);
    struct pod_slice_request *r = &out->items[out->n++];
    snprintf(r->container, sizeof r->container, "%s", container);
    snprintf(r->profile, sizeof r->profile, "%s", profile ? profile : "");
    r->memory_gib = profile ? 0 : memory_gib;
    r->init = init;
    r->count = count;
    return 0;
}

/* A whole number from 1 to max: a JSON integer or a string of digits (a
 * quantity with no fraction, exponent or suffix). -EINVAL naming field
 * otherwise. */
static int parse_whole(const json_t *v, const char *field, unsigned max, unsigned *out,
                       struct err *e)
{
    long long n = -1;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = strlen(s);
        if (len > 0 && len <= 9 && strspn(s, "0123456789") == len)
            n = atoll(s);
    }
    if (n < 1 || n > (long long)max)
        return err_set(e, -EINVAL, "%s: must be a whole number from 1 to %u", field, max);
    *out = (unsigned)n;
    return 0;
}

static int parse_count(const json_t *v, const char *field, unsigned *out, struct err *e)
{
    return parse_whole(v, field, POD_SLICE_COUNT_MAX, out, e);
}

/* A container's gpuslice.dev/accelerator-memory as a request by memory,
 * when it asks for no nvidia.com/mig-* (then the memory is the webhook's
 * accounting of those). */
static int memory_request(const json_t *c, const char *path, bool init, bool asked_mig,
                          struct pod_slices *out, struct err *e)
{
    const json_t *res = json_object_get(c, "resources");
    const json_t *rv = json_object_get(json_object_get(res, "requests"), GPUSLICE_RESOURCE_MEMORY);
    const json_t *lv = json_object_get(json_object_get(res, "limits"), GPUSLICE_RESOURCE_MEMORY);
    if (asked_mig || (!rv && !lv))
        return 0;
    char field[192];
    unsigned request = 0, limit = 0;
    snprintf(field, sizeof field, "%s.resources.%s[%s]", path, lv ? "limits" : "requests",
             GPUSLICE_RESOURCE_MEMORY);
    int rc = parse_whole(lv ? lv : rv, field, POD_MEMORY_GIB_MAX, &limit, e);
    if (rc == 0 && lv && rv) {
        snprintf(field, sizeof field, "%s.resources.requests[%s]", path,
                 GPUSLICE_RESOURCE_MEMORY);
        rc = parse_whole(rv, field, POD_MEMORY_GIB_MAX, &request, e);
        if (rc == 0 && request != limit)
            rc = err_set(e, -EINVAL, "%s.resources.limits[%s]: must equal the request (%u), "
                         "got %u", path, GPUSLICE_RESOURCE_MEMORY, request, limit);
    }
    if (rc == 0)
        rc = add_request(out, json_string_value(json_object_get(c, "name")), init, NULL, limit,
                         1, path, e);
    return rc;
}

static bool is_mig_resource(const char *key)
{
    return strncmp(key, GPUSLICE_MIG_PREFIX, strlen(GPUSLICE_MIG_PREFIX)) == 0;
}

/* The requests of one container: each nvidia.com/mig-* in requests or
 * limits (a limit alone implies the request, as in Kubernetes), or else
 * its accelerator memory. */
static int container_requests(const json_t *c, const char *path, bool init,
                              struct pod_slices *out, struct err *e)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    const json_t *res = json_object_get(c, "resources");
    const json_t *req = json_object_get(res, "requests"), *lim = json_object_get(res, "limits");
    size_t before = out->n;
    char field[192];
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)lim, key, v) {
        if (!is_mig_resource(key))
            continue;
        unsigned limit, request;
        snprintf(field, sizeof field, "%s.resources.limits[%s]", path, key);
        int rc = parse_count(v, field, &limit, e);
        if (rc < 0)
            return rc;
        const json_t *rv = json_object_get(req, key);
        if (rv) {
            snprintf(field, sizeof field, "%s.resources.requests[%s]", path, key);
            if ((rc = parse_count(rv, field, &request, e)) < 0)
                return rc;
            if (request != limit)
                return err_set(e, -EINVAL, "%s.resources.limits[%s]: must equal the request "
                               "(%u), got %u", path, key, request, limit);
        }
        if ((rc = add_request(out, name, init, key + strlen(GPUSLICE_MIG_PREFIX), 0, limit,
                              path, e)) < 0)
            return rc;
    }
    json_object_foreach((json_t *)req, key, v) {
        if (!is_mig_resource(key) || json_object_get(lim, key))
            continue;
        unsigned request;
        snprintf(field, sizeof field, "%s.resources.requests[%s]", path, key);
        int rc = parse_count(v, field, &request, e);
        if (rc == 0)
            rc = add_request(out, name, init, key + strlen(GPUSLICE_MIG_PREFIX), 0, request,
                             path, e);
        if (rc < 0)
            return rc;
    }
    return memory_request(c, path, init, out->n > before, out, e);
}

int pod_slices_from_resources(const json_t *pod, struct pod_slices *out, struct err *e)
{
    slices_clear(out);
    const json_t *spec = json_object_get(pod, "spec");
    static const struct {
        const char *key;
        bool init;
    } lists[] = {{"initContainers", true}, {"containers", false}};
    for (size_t l = 0; l < 2; l++) {
        const json_t *cs = json_object_get(spec, lists[l].key);
        size_t i;
        const json_t *c;
        json_array_foreach(cs, i, c) {
            char path[64];
            snprintf(path, sizeof path, "spec.%s[%zu]", lists[l].key, i);
            int rc = container_requests(c, path, lists[l].init, out, e);
            if (rc < 0) {
                slices_clear(out);
                return rc;
            }
        }
    }
    return 0;
}

int pod_container_memory_gib(const json_t *pod, const char *container, bool init,
                             unsigned *gib, struct err *e)
{
    const char *list = init ? "initContainers" : "containers";
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(json_object_get(pod, "spec"), list), i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        if (!name || strcmp(name, container) != 0)
            continue;
        const json_t *res = json_object_get(c, "resources");
        const json_t *v = json_object_get(json_object_get(res, "limits"), GPUSLICE_RESOURCE_MEMORY);
        const char *where = v ? "limits" : "requests";
        if (!v)
            v = json_object_get(json_object_get(res, "requests"), GPUSLICE_RESOURCE_MEMORY);
        *gib = 0;
        char field[192];
        snprintf(field, sizeof field, "spec.%s[%zu].resources.%s[%s]", list, i, where,
                 GPUSLICE_RESOURCE_MEMORY);
        return v ? parse_whole(v, field, POD_MEMORY_GIB_MAX, gib, e) : 0;
    }
    return err_set(e, -ENOENT, "the pod has no %s \"%s\"", init ? "init container" : "container",
                   container);
}

int pod_slices_from_annotation(const json_t *pod, struct pod_slices *out, struct err *e)
{
    slices_clear(out);
    const char *text = json_string_value(
        json_object_get(json_object_get(json_object_get(pod, "metadata"), "annotations"),
                        GPUSLICE_ANNOTATION_SLICES));
    if (!text)
        return err_set(e, -ENOENT, "pod has no %s annotation", GPUSLICE_ANNOTATION_SLICES);
    json_error_t jerr;
    json_t *list = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    int rc = 0;
    if (!json_is_array(list))
        rc = err_set(e, -EINVAL, "metadata.annotations[%s]: not a JSON list (%s)",
                     GPUSLICE_ANNOTATION_SLICES, list ? "wrong type" : jerr.text);
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it) {
        char field[96];
        snprintf(field, sizeof field, "metadata.annotations[%s][%zu]",
                 GPUSLICE_ANNOTATION_SLICES, i);
        const json_t *init = json_object_get(it, "init");
        const char *profile = json_string_value(json_object_get(it, "profile"));
        const json_t *memory = json_object_get(it, "memoryGiB");
        unsigned count = 0, gib = 0;
        if (!json_is_object(it) || !profile == !memory || (init && !json_is_boolean(init)))
            rc = err_set(e, -EINVAL, "%s: needs container, profile or memoryGiB, count (and a "
                         "boolean init)", field);
        if (rc == 0)
            rc = parse_count(json_object_get(it, "count"), field, &count, e);
        if (rc == 0 && memory)
            rc = parse_whole(memory, field, POD_MEMORY_GIB_MAX, &gib, e);
        if (rc == 0)
            rc = add_request(out, json_string_value(json_object_get(it, "container")),
                             json_is_true(init), profile, gib, count, field, e);
        if (rc < 0)
            break;
    }
    json_decref(list);
    if (rc < 0)
        slices_clear(out);
    return rc;
}

int pod_slices_of(const json_t *pod, struct pod_slices *out, struct err *e)
{
    int rc = pod_slices_from_annotation(pod, out, e);
    if (rc == -ENOENT)
        rc = pod_slices_from_resources(pod, out, e);
    return rc;
}

json_t *pod_slices_encode(const struct pod_slices *s)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < s->n; i++) {
        const struct pod_slice_request *r = &s->items[i];
        json_t *it = r->memory_gib
                         ? json_pack("{s:s, s:i, s:i}", "container", r->container, "memoryGiB",
                                     (int)r->memory_gib, "count", (int)r->count)
                         : json_pack("{s:s, s:s, s:i}", "container", r->container, "profile",
                                     r->profile, "count", (int)r->count);
        if (it && r->init)
            jdoc_set(it, "init", json_true());
        if (!it || json_array_append_new(list, it) < 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

unsigned pod_slices_total(const struct pod_slices *s)
{
    unsigned total = 0;
    for (size_t i = 0; i < s->n; i++)
        total += s->items[i].count;
    return total;
}

void pod_configmap_name(const json_t *pod, const char *container, char out[254])
{
    const json_t *meta = json_object_get(pod, "metadata");
    const char *prefix = json_string_value(
        json_object_get(json_object_get(meta, "annotations"), GPUSLICE_ANNOTATION_CONFIG));
    if (!prefix)
        prefix = json_string_value(json_object_get(meta, "name"));
    snprintf(out, 254, "%.180s-%.63s", prefix ? prefix : "pod", container);
}

bool pod_gated(const json_t *pod, const char *name)
{
    size_t i;
    const json_t *g;
    json_array_foreach(json_object_get(json_object_get(pod, "spec"), "schedulingGates"), i, g) {
        const char *gate = json_string_value(json_object_get(g, "name"));
        if (gate && strcmp(gate, name) == 0)
            return true;
    }
    return false;
}

size_t pod_gate_count(const json_t *pod)
{
    return json_array_size(json_object_get(json_object_get(pod, "spec"), "schedulingGates"));
}
