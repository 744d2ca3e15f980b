/*
 * Reading and building GPUSlice and GPUNode objects (see gpuslice.h).
 */
#include "api/gpuslice.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/meta.h"
#include "util/hash.h"
#include "util/jdoc.h"

/* Field readers: a missing optional field leaves the default; a present
 * field of the wrong type is an error naming it. */
static int read_string(const json_t *o, const char *key, const char *path, bool required,
                       const char **out, struct err *e)
{
    const json_t *v = json_object_get(o, key);
    if (!v && !required)
        return 0;
    if (!json_is_string(v) || (required && !*json_string_value(v)))
        return err_set(e, -EINVAL, "%s.%s: %s", path, key,
                       v ? "must be a non-empty string" : "is required");
    *out = json_string_value(v);
    return 0;
}

static int read_uint(const json_t *o, const char *key, const char *path, bool required,
                     unsigned max, unsigned *out, struct err *e)
{
    const json_t *v = json_object_get(o, key);
    if (!v && !required)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > (json_int_t)max)
        return err_set(e, -EINVAL, "%s.%s: %s", path, key,
                       v ? "must be a whole number in range" : "is required");
    *out = (unsigned)json_integer_value(v);
    return 0;
}

static int read_bool(const json_t *o, const char *key, const char *path, bool *out,
                     struct err *e)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return err_set(e, -EINVAL, "%s.%s: must be true or false", path, key);
    *out = json_is_true(v);
    return 0;
}

int gpuslice_read(const json_t *obj, struct gpuslice_view *v, struct err *e)
{
    memset(v, 0, sizeof *v);
    v->name = meta_name(obj);
    v->ns = meta_namespace(obj);
    v->uid = meta_uid(obj);
    v->deleting = json_object_get(json_object_get(obj, "metadata"), "deletionTimestamp") != NULL;
    if (!v->name)
        return err_set(e, -EINVAL, "GPUSlice: metadata.name is required");
    const json_t *spec = json_object_get(obj, "spec");
    const json_t *st = json_object_get(obj, "status");
    struct gpuslice_spec *s = &v->spec;
    int rc = 0;
    if (!json_is_object(spec))
        rc = err_set(e, -EINVAL, "spec: is required");
    if (rc == 0) rc = read_string(spec, "podName", "spec", true, &s->pod_name, e);
    if (rc == 0) rc = read_string(spec, "podUID", "spec", false, &s->pod_uid, e);
    if (rc == 0) rc = read_string(spec, "container", "spec", true, &s->container, e);
    if (rc == 0) rc = read_bool(spec, "init", "spec", &s->init, e);
    if (rc == 0) rc = read_uint(spec, "index", "spec", false, UINT16_MAX, &s->index, e);
    if (rc == 0) rc = read_string(spec, "nodeName", "spec", true, &s->node, e);
    if (rc == 0) rc = read_string(spec, "gpuUUID", "spec", true, &s->gpu_uuid, e);
    if (rc == 0) rc = read_uint(spec, "gpuIndex", "spec", false, UINT16_MAX, &s->gpu_index, e);
    if (rc == 0) rc = read_string(spec, "model", "spec", false, &s->model, e);
    if (rc == 0) rc = read_string(spec, "profile", "spec", true, &s->profile, e);
    if (rc == 0) rc = read_string(spec, "requestedProfile", "spec", false,
                                  &s->requested_profile, e);
    if (rc == 0) rc = read_uint(spec, "start", "spec", true, 7, &s->start, e);
    if (rc == 0) rc = read_uint(spec, "size", "spec", true, 8, &s->size, e);
    if (rc == 0) rc = read_string(spec, "configMap", "spec", false, &s->config_map, e);
    struct gpuslice_status *t = &v->status;
    t->phase = "Creating";
    if (rc == 0 && st && !json_is_object(st))
        rc = err_set(e, -EINVAL, "status: must be an object");
    if (rc == 0) rc = read_string(st, "phase", "status", false, &t->phase, e);
    if (rc == 0) rc = read_string(st, "deviceUUID", "status", false, &t->device_uuid, e);
    if (rc == 0) rc = read_string(st, "bootID", "status", false, &t->boot_id, e);
    if (rc == 0) rc = read_string(st, "reason", "status", false, &t->reason, e);
    if (rc == 0) rc = read_string(st, "message", "status", false, &t->message, e);
    if (rc == 0) rc = read_uint(st, "giID", "status", false, UINT16_MAX, &t->gi_id, e);
    if (rc == 0) rc = read_uint(st, "ciID", "status", false, UINT16_MAX, &t->ci_id, e);
    t->has_ids = json_object_get(st, "giID") && json_object_get(st, "ciID");
    if (rc < 0)
        err_prefix(e, rc, "GPUSlice %s: ", v->name);
    return rc;
}

void gpuslice_name(const char *pod, const char *container, unsigned index,
                   char out[GPUSLICE_NAME_MAX])
{
    int n = snprintf(out, GPUSLICE_NAME_MAX, "%s-%s-%u", pod, container, index);
    if (n >= 0 && n < GPUSLICE_NAME_MAX)
        return;
    /* Too long: keep a prefix of the pod name and make the rest unique. */
    char idx[16];
    snprintf(idx, sizeof idx, "%u", index);
    uint64_t h = hash_field(hash_field(hash_field(HASH_INIT, pod), container), idx);
    snprintf(out, GPUSLICE_NAME_MAX, "%.200s-%016llx-%u", pod, (unsigned long long)h, index);
}

json_t *gpuslice_new(const char *ns, const struct gpuslice_spec *s, const json_t *pod)
{
    char name[GPUSLICE_NAME_MAX];
    gpuslice_name(s->pod_name, s->container, s->index, name);
    json_t *owner = meta_owner_ref(pod, true, true);
    json_t *obj = json_pack(
        "{s:s, s:s, s:{s:s, s:s, s:[o], s:[s], s:{s:s}},"
        " s:{s:s, s:s, s:s, s:b, s:i, s:s, s:s, s:i, s:s, s:s, s:s, s:i, s:i, s:s}}",
        "apiVersion", GPUSLICE_API_VERSION, "kind", GPUSLICE_KIND,
        "metadata", "name", name, "namespace", ns, "ownerReferences", owner,
        "finalizers", GPUSLICE_SLICE_FINALIZER,
        "labels", "gpuslice.dev/node", s->node,
        "spec", "podName", s->pod_name, "podUID", s->pod_uid ? s->pod_uid : "",
        "container", s->container, "init", s->init, "index", (int)s->index,
        "nodeName", s->node, "gpuUUID", s->gpu_uuid, "gpuIndex", (int)s->gpu_index,
        "model", s->model ? s->model : "", "profile", s->profile,
        "requestedProfile", s->requested_profile ? s->requested_profile : s->profile,
        "start", (int)s->start, "size", (int)s->size,
        "configMap", s->config_map ? s->config_map : "");
    return obj;
}

json_t *gpuslice_with_status(const json_t *obj, const struct gpuslice_status *t,
                             const char *now)
{
    json_t *copy = json_deep_copy(obj);
    json_t *st = json_object();
    if (!copy || !st) {
        json_decref(copy);
        json_decref(st);
        return NULL;
    }
    json_t *old = json_object_get(copy, "status");
    if (json_is_object(old))
        json_object_update(st, old);
    const struct {
        const char *key, *value;
    } fields[] = {
        {"phase", t->phase}, {"deviceUUID", t->device_uuid}, {"bootID", t->boot_id},
        {"reason", t->reason}, {"message", t->message}, {"lastTransitionTime", now},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (fields[i].value)
            jdoc_set(st, fields[i].key, json_string(fields[i].value));
    if (t->has_ids) {
        jdoc_set(st, "giID", json_integer(t->gi_id));
        jdoc_set(st, "ciID", json_integer(t->ci_id));
    }
    jdoc_set(copy, "status", st);
    return copy;
}

static int read_gpu_slices(const json_t *g, const char *path, struct gpunode_gpu *gpu,
                           struct err *e)
{
    const json_t *slices = json_object_get(g, "slices");
    if (slices && !json_is_array(slices))
        return err_set(e, -EINVAL, "%s.slices: must be a list", path);
    if (json_array_size(slices) > GPUNODE_MAX_SLICES)
        return err_set(e, -EINVAL, "%s.slices: more than %d slices", path, GPUNODE_MAX_SLICES);
    size_t i;
    const json_t *s;
    json_array_foreach(slices, i, s) {
        char sp[96];
        snprintf(sp, sizeof sp, "%s.slices[%zu]", path, i);
        struct gpunode_slice *out = &gpu->slices[i];
        out->managed = true;
        int rc = read_string(s, "profile", sp, true, &out->profile, e);
        if (rc == 0) rc = read_uint(s, "start", sp, true, 7, &out->start, e);
        if (rc == 0) rc = read_uint(s, "size", sp, true, 8, &out->size, e);
        if (rc == 0) rc = read_uint(s, "giID", sp, false, UINT16_MAX, &out->gi_id, e);
        if (rc == 0) rc = read_uint(s, "ciID", sp, false, UINT16_MAX, &out->ci_id, e);
        if (rc == 0) rc = read_string(s, "deviceUUID", sp, false, &out->device_uuid, e);
        if (rc == 0) rc = read_bool(s, "managed", sp, &out->managed, e);
        if (rc < 0)
            return rc;
        gpu->n_slices++;
    }
    return 0;
}

/* The admin's settings for the GPU with this uuid, from spec.gpus. */
static int read_settings(const json_t *spec_gpus, struct gpunode_gpu *gpu, struct err *e)
{
    size_t i;
    const json_t *g;
    json_array_foreach(spec_gpus, i, g) {
        if (!json_is_string(json_object_get(g, "uuid")) ||
            strcmp(json_string_value(json_object_get(g, "uuid")), gpu->uuid) != 0)
            continue;
        char path[48];
        snprintf(path, sizeof path, "spec.gpus[%zu]", i);
        int rc = read_bool(g, "heldBack", path, &gpu->held_back, e);
        const json_t *allowed = json_object_get(g, "allowedProfiles");
        if (rc == 0 && allowed && !json_is_array(allowed))
            rc = err_set(e, -EINVAL, "%s.allowedProfiles: must be a list", path);
        if (rc == 0 && json_array_size(allowed) > 0)
            gpu->allowed_profiles = allowed;
        return rc;
    }
    return 0;
}

int gpunode_read(const json_t *obj, struct gpunode_view *v, struct err *e)
{
    memset(v, 0, sizeof *v);
    v->name = meta_name(obj);
    const json_t *st = json_object_get(obj, "status");
    const json_t *gpus = json_object_get(st, "gpus");
    const json_t *spec_gpus = json_object_get(json_object_get(obj, "spec"), "gpus");
    int rc = read_string(st, "bootID", "status", false, &v->boot_id, e);
    if (rc == 0 && gpus && !json_is_array(gpus))
        rc = err_set(e, -EINVAL, "status.gpus: must be a list");
    if (rc == 0 && json_array_size(gpus) > GPUNODE_MAX_GPUS)
        rc = err_set(e, -EINVAL, "status.gpus: more than %d GPUs", GPUNODE_MAX_GPUS);
    size_t i;
    const json_t *g;
    json_array_foreach(gpus, i, g) {
        if (rc < 0)
            break;
        char path[48];
        snprintf(path, sizeof path, "status.gpus[%zu]", i);
        struct gpunode_gpu *gpu = &v->gpus[i];
        gpu->model = "";
        gpu->mig_mode = "Unsupported";
        rc = read_uint(g, "index", path, true, 255, &gpu->index, e);
        if (rc == 0) rc = read_string(g, "uuid", path, true, &gpu->uuid, e);
        if (rc == 0) rc = read_string(g, "product", path, false, &gpu->product, e);
        if (rc == 0) rc = read_string(g, "model", path, false, &gpu->model, e);
        if (rc == 0) rc = read_string(g, "migMode", path, false, &gpu->mig_mode, e);
        if (rc == 0) rc = read_uint(g, "memoryMiB", path, false, 1u << 30, &gpu->memory_mib, e);
        if (rc == 0) rc = read_gpu_slices(g, path, gpu, e);
        if (rc == 0) rc = read_settings(spec_gpus, gpu, e);
        if (rc == 0)
            v->n_gpus++;
    }
    if (rc < 0)
        err_prefix(e, rc, "GPUNode %s: ", v->name ? v->name : "?");
    return rc;
}

static json_t *gpunode_slice_new(const struct gpunode_slice *s)
{
    json_t *o = json_pack("{s:s, s:i, s:i, s:i, s:b}", "profile", s->profile, "start",
                          (int)s->start, "size", (int)s->size, "giID", (int)s->gi_id,
                          "managed", s->managed);
    if (o && s->device_uuid &&
        (json_object_set_new(o, "ciID", json_integer(s->ci_id)) ||
         json_object_set_new(o, "deviceUUID", json_string(s->device_uuid)))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *gpunode_gpu_new(const struct gpunode_gpu *g)
{
    json_t *slices = json_array();
    for (size_t i = 0; slices && i < g->n_slices; i++)
        if (json_array_append_new(slices, gpunode_slice_new(&g->slices[i]))) {
            json_decref(slices);
            slices = NULL;
        }
    if (!slices)
        return NULL;
    return json_pack("{s:i, s:s, s:s, s:s, s:I, s:s, s:o}", "index", (int)g->index, "uuid",
                     g->uuid, "product", g->product ? g->product : "", "model",
                     g->model ? g->model : "", "memoryMiB", (json_int_t)g->memory_mib,
                     "migMode", g->mig_mode ? g->mig_mode : "Unsupported", "slices", slices);
}

json_t *gpunode_status_new(const struct gpunode_view *v)
{
    json_t *gpus = json_array();
    for (size_t i = 0; gpus && i < v->n_gpus; i++)
        if (json_array_append_new(gpus, gpunode_gpu_new(&v->gpus[i]))) {
            json_decref(gpus);
            gpus = NULL;
        }
    if (!gpus)
        return NULL;
    json_t *st = json_pack("{s:o}", "gpus", gpus);
    if (st && v->boot_id && json_object_set_new(st, "bootID", json_string(v->boot_id))) {
        json_decref(st);
        return NULL;
    }
    return st;
}

bool gpunode_profile_allowed(const struct gpunode_gpu *gpu, const char *profile)
{
    if (!gpu->allowed_profiles)
        return true;
    size_t i;
    const json_t *p;
    json_array_foreach(gpu->allowed_profiles, i, p)
        if (json_is_string(p) && strcmp(json_string_value(p), profile) == 0)
            return true;
    return false;
}
