/*
 * Reading and building GPUSlice objects (see gpuslice.h), and the typed
 * field readers and field paths the other readers share (api_internal.h).
 */
#include "api/gpuslice.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"
#include "api/meta.h"
#include "util/decimal.h"
#include "util/hash.h"
#include "util/jdoc.h"

/* Appends the first n bytes of s at *at, within end; returns the end. */
static char *append(char *at, const char *end, const char *s, size_t n)
{
    size_t room = (size_t)(end - at);
    n = n < room ? n : room;
    memcpy(at, s, n);
    return at + n;
}

const char *api__path(char *buf, size_t size, const char *base, const char *suffix)
{
    char *end = buf + size - 1;
    char *at = append(buf, end, base, strlen(base));
    *append(at, end, suffix, strlen(suffix)) = '\0';
    return buf;
}

const char *api__path_index(char *buf, size_t size, const char *base, size_t i)
{
    char digits[DECIMAL_MAX];
    decimal_u64(digits, i);
    return api__path_key(buf, size, base, digits);
}

const char *api__path_key(char *buf, size_t size, const char *base, const char *key)
{
    char *end = buf + size - 1;
    char *at = append(buf, end, base, strlen(base));
    at = append(at, end, "[", 1);
    at = append(at, end, key, strnlen(key, 256));
    *append(at, end, "]", 1) = '\0';
    return buf;
}

int api__take_string(const json_t *v, const char *key, const char *path, bool required,
                     const char **out, struct err *e)
{
    if (!v && !required)
        return 0;
    if (!json_is_string(v) || (required && !*json_string_value(v)))
        return err_set(e, -EINVAL, "%s.%s: %s", path, key,
                       v ? "must be a non-empty string" : "is required");
    *out = json_string_value(v);
    return 0;
}

int api__read_string(const json_t *o, const char *key, const char *path, bool required,
                     const char **out, struct err *e)
{
    return api__take_string(json_object_get(o, key), key, path, required, out, e);
}

int api__take_uint(const json_t *v, const char *key, const char *path, bool required,
                   unsigned max, unsigned *out, struct err *e)
{
    if (!v && !required)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > (json_int_t)max)
        return err_set(e, -EINVAL, "%s.%s: %s", path, key,
                       v ? "must be a whole number in range" : "is required");
    *out = (unsigned)json_integer_value(v);
    return 0;
}

int api__read_uint(const json_t *o, const char *key, const char *path, bool required,
                   unsigned max, unsigned *out, struct err *e)
{
    return api__take_uint(json_object_get(o, key), key, path, required, max, out, e);
}

int api__take_bool(const json_t *v, const char *key, const char *path, bool *out,
                   struct err *e)
{
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return err_set(e, -EINVAL, "%s.%s: must be true or false", path, key);
    *out = json_is_true(v);
    return 0;
}

int api__read_bool(const json_t *o, const char *key, const char *path, bool *out,
                   struct err *e)
{
    return api__take_bool(json_object_get(o, key), key, path, out, e);
}

void api__members(const json_t *o, const char *const *names, size_t n, const json_t **vals)
{
    for (size_t i = 0; i < n; i++)
        vals[i] = NULL;
    size_t next = 0; /* where the name after the last one found is */
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        for (size_t t = 0; t < n; t++) {
            size_t i = next + t < n ? next + t : next + t - n;
            if (!vals[i] && key[0] == names[i][0] && strcmp(key, names[i]) == 0) {
                vals[i] = v;
                next = i + 1 < n ? i + 1 : 0;
                break;
            }
        }
    }
}

/* The members of spec and status gpuslice_read reads, each found in one
 * pass over its object: a view is read tens of thousands of times a run,
 * and a lookup per member hashed each name (a quarter of the reading). */
enum spec_key {
    S_POD_NAME, S_POD_UID, S_CONTAINER, S_INIT, S_INDEX, S_NODE, S_GPU_UUID, S_GPU_INDEX,
    S_MODEL, S_SHARING, S_MEMORY, S_SM, S_PROFILE, S_REQ_PROFILE, S_REQ_MEMORY, S_START, S_SIZE,
    S_EXISTING, S_CONFIG_MAP, S_COUNT
};
static const char *const spec_keys[S_COUNT] = {
    "podName", "podUID", "container", "init", "index", "nodeName", "gpuUUID", "gpuIndex",
    "model", "sharing", "memoryGiB", "smPercent", "profile", "requestedProfile",
    "requestedMemoryGiB", "start", "size", "existing", "configMap",
};
enum status_key {
    T_PHASE, T_DEVICE, T_BOOT, T_REASON, T_MESSAGE, T_WARM, T_GI, T_CI, T_COUNT
};
static const char *const status_keys[T_COUNT] = {
    "phase", "deviceUUID", "bootID", "reason", "message", "warmUntil", "giID", "ciID",
};

/* spec.sharing and, for MPS, the limits it needs: memoryGiB and smPercent. */
static int read_sharing(const json_t *const *m, struct gpuslice_spec *s, struct err *e)
{
    const char *name = NULL;
    int rc = api__take_string(m[S_SHARING], "sharing", "spec", false, &name, e);
    if (rc < 0 || !name)
        return rc;
    if (pod_sharing_parse(name, &s->sharing) < 0)
        return err_set(e, -EINVAL, "spec.sharing: \"%s\" is not a sharing (mps, timeslice)",
                       name);
    bool mps = s->sharing == POD_SHARING_MPS;
    rc = api__take_uint(m[S_MEMORY], "memoryGiB", "spec", mps, POD_MEMORY_GIB_MAX,
                        &s->memory_gib, e);
    if (rc == 0)
        rc = api__take_uint(m[S_SM], "smPercent", "spec", mps, 100, &s->sm_percent, e);
    if (rc == 0 && mps && (s->memory_gib == 0 || s->sm_percent == 0))
        rc = err_set(e, -EINVAL, "spec.%s: must be at least 1 for MPS",
                     s->memory_gib == 0 ? "memoryGiB" : "smPercent");
    return rc;
}

#define SPEC_STRING(k, req, out) api__take_string(m[k], spec_keys[k], "spec", req, out, e)
#define SPEC_UINT(k, req, max, out) api__take_uint(m[k], spec_keys[k], "spec", req, max, out, e)

static int read_spec(const json_t *spec, struct gpuslice_spec *s, struct err *e)
{
    const json_t *m[S_COUNT];
    api__members(spec, spec_keys, S_COUNT, m);
    int rc = SPEC_STRING(S_POD_NAME, true, &s->pod_name);
    if (rc == 0) rc = SPEC_STRING(S_POD_UID, false, &s->pod_uid);
    if (rc == 0) rc = SPEC_STRING(S_CONTAINER, true, &s->container);
    if (rc == 0) rc = api__take_bool(m[S_INIT], "init", "spec", &s->init, e);
    if (rc == 0) rc = SPEC_UINT(S_INDEX, false, UINT16_MAX, &s->index);
    if (rc == 0) rc = SPEC_STRING(S_NODE, true, &s->node);
    if (rc == 0) rc = SPEC_STRING(S_GPU_UUID, true, &s->gpu_uuid);
    if (rc == 0) rc = SPEC_UINT(S_GPU_INDEX, false, UINT16_MAX, &s->gpu_index);
    if (rc == 0) rc = SPEC_STRING(S_MODEL, false, &s->model);
    if (rc == 0) rc = read_sharing(m, s, e);
    bool mig = s->sharing == POD_SHARING_NONE;
    if (rc == 0) rc = SPEC_STRING(S_PROFILE, mig, &s->profile);
    if (rc == 0) rc = SPEC_STRING(S_REQ_PROFILE, false, &s->requested_profile);
    if (rc == 0) rc = SPEC_UINT(S_REQ_MEMORY, false, 1u << 20, &s->requested_memory_gib);
    if (rc == 0) rc = SPEC_UINT(S_START, mig, 7, &s->start);
    if (rc == 0) rc = SPEC_UINT(S_SIZE, mig, 8, &s->size);
    if (rc == 0) rc = api__take_bool(m[S_EXISTING], "existing", "spec", &s->existing, e);
    if (rc == 0) rc = SPEC_STRING(S_CONFIG_MAP, false, &s->config_map);
    return rc;
}

#define STATUS_STRING(k, out) api__take_string(m[k], status_keys[k], "status", false, out, e)
#define STATUS_UINT(k, out) api__take_uint(m[k], status_keys[k], "status", false, UINT16_MAX, out, e)

static int read_status(const json_t *st, struct gpuslice_status *t, struct err *e)
{
    const json_t *m[T_COUNT];
    api__members(st, status_keys, T_COUNT, m);
    t->phase = "Creating";
    int rc = STATUS_STRING(T_PHASE, &t->phase);
    if (rc == 0) rc = STATUS_STRING(T_DEVICE, &t->device_uuid);
    if (rc == 0) rc = STATUS_STRING(T_BOOT, &t->boot_id);
    if (rc == 0) rc = STATUS_STRING(T_REASON, &t->reason);
    if (rc == 0) rc = STATUS_STRING(T_MESSAGE, &t->message);
    if (rc == 0) rc = STATUS_STRING(T_WARM, &t->warm_until);
    if (rc == 0) rc = STATUS_UINT(T_GI, &t->gi_id);
    if (rc == 0) rc = STATUS_UINT(T_CI, &t->ci_id);
    t->has_ids = m[T_GI] && m[T_CI];
    return rc;
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
    int rc = 0;
    if (!json_is_object(spec))
        rc = err_set(e, -EINVAL, "spec: is required");
    if (rc == 0)
        rc = read_spec(spec, &v->spec, e);
    v->status.phase = "Creating";
    if (rc == 0 && st && !json_is_object(st))
        rc = err_set(e, -EINVAL, "status: must be an object");
    if (rc == 0)
        rc = read_status(st, &v->status, e);
    if (rc < 0)
        err_prefix(e, rc, "GPUSlice %s: ", v->name);
    return rc;
}

struct jmemo *gpuslice_memo_new(unsigned bits)
{
    return jmemo_new(bits, sizeof(struct gpuslice_view));
}

int gpuslice_read_memo(struct jmemo *memo, const json_t *obj, struct gpuslice_view *v,
                       struct err *e)
{
    const struct gpuslice_view *kept = jmemo_find(memo, obj);
    if (kept) {
        *v = *kept;
        return 0;
    }
    int rc = gpuslice_read(obj, v, e);
    if (rc == 0) /* held, not changed: a reference is all the memo takes */
        jmemo_keep(memo, (json_t *)obj, v);
    return rc;
}

void gpuslice_name(const char *pod, const char *container, unsigned index,
                   char out[GPUSLICE_NAME_MAX])
{
    /* "%s-%s-%u" by hand: snprintf was 1.2 k instructions a name, and the
     * controller names every slice a pod wants at each of its decisions. */
    char idx[16], *digit = idx + sizeof idx;
    *--digit = '\0';
    for (unsigned v = index; digit == idx + sizeof idx - 1 || v; v /= 10)
        *--digit = (char)('0' + v % 10);
    size_t lp = strlen(pod), lc = strlen(container), li = strlen(digit);
    if (lp + lc + li + 3 <= GPUSLICE_NAME_MAX) {
        memcpy(out, pod, lp);
        out[lp] = '-';
        memcpy(out + lp + 1, container, lc);
        out[lp + 1 + lc] = '-';
        memcpy(out + lp + 2 + lc, digit, li + 1);
        return;
    }
    /* Too long: keep a prefix of the pod name and make the rest unique. */
    uint64_t h = hash_field(hash_field(hash_field(HASH_INIT, pod), container), digit);
    snprintf(out, GPUSLICE_NAME_MAX, "%.200s-%016llx-%u", pod, (unsigned long long)h, index);
}

/* The object is built member by member (jdoc_put): json_pack's format
 * scan and key checks were most of a placement's cost of building it. A
 * member whose value is NULL (a string that is not UTF-8, or none where
 * one is needed: json_string(NULL) is NULL) makes the object NULL, as
 * json_pack's result was then. */

/* [value], value taken; NULL when value is. */
static json_t *one_of(json_t *value)
{
    json_t *list = value ? json_array() : NULL;
    if (list && json_array_append_new(list, value) == 0)
        return list;
    json_decref(list);
    json_decref(value);
    return NULL;
}

static json_t *new_metadata(const char *ns, const struct gpuslice_spec *s, const json_t *pod)
{
    char name[GPUSLICE_NAME_MAX];
    gpuslice_name(s->pod_name, s->container, s->index, name);
    json_t *meta = json_object(), *labels = json_object();
    bool ok = jdoc_put(meta, "name", json_string(name), true);
    ok = jdoc_put(meta, "namespace", json_string(ns), ok);
    ok = jdoc_put(meta, "ownerReferences", one_of(meta_owner_ref(pod, true, true)), ok);
    ok = jdoc_put(meta, "finalizers", one_of(json_string(GPUSLICE_SLICE_FINALIZER)), ok);
    ok = jdoc_put(labels, "gpuslice.dev/node", json_string(s->node), ok);
    ok = jdoc_put(meta, "labels", labels, ok);
    if (s->upgrade_quota) {
        json_t *annotations = json_object();
        ok = jdoc_put(annotations, GPUSLICE_ANNOTATION_UPGRADE_QUOTA,
                      json_string(s->upgrade_quota), ok);
        ok = jdoc_put(meta, "annotations", annotations, ok);
    }
    return jdoc_built(meta, ok);
}

/* A MIG slice's profile and place, or a share of a whole GPU: sharing and
 * its limits instead. */
static json_t *new_spec(const struct gpuslice_spec *s)
{
    json_t *spec = json_object();
    bool mig = s->sharing == POD_SHARING_NONE;
    const char *profile = s->profile ? s->profile : "";
    bool ok = jdoc_put(spec, "podName", json_string(s->pod_name), true);
    ok = jdoc_put(spec, "podUID", json_string(s->pod_uid ? s->pod_uid : ""), ok);
    ok = jdoc_put(spec, "container", json_string(s->container), ok);
    ok = jdoc_put(spec, "init", json_boolean(s->init), ok);
    ok = jdoc_put(spec, "index", json_integer((int)s->index), ok);
    ok = jdoc_put(spec, "nodeName", json_string(s->node), ok);
    ok = jdoc_put(spec, "gpuUUID", json_string(s->gpu_uuid), ok);
    ok = jdoc_put(spec, "gpuIndex", json_integer((int)s->gpu_index), ok);
    ok = jdoc_put(spec, "model", json_string(s->model ? s->model : ""), ok);
    if (mig)
        ok = jdoc_put(spec, "profile", json_string(profile), ok);
    if (mig && !s->requested_memory_gib)
        ok = jdoc_put(spec, "requestedProfile",
                      json_string(s->requested_profile ? s->requested_profile : profile), ok);
    if (mig) {
        ok = jdoc_put(spec, "start", json_integer((int)s->start), ok);
        ok = jdoc_put(spec, "size", json_integer((int)s->size), ok);
    }
    ok = jdoc_put(spec, "configMap", json_string(s->config_map ? s->config_map : ""), ok);
    if (!mig)
        ok = jdoc_put(spec, "sharing", json_string(pod_sharing_name(s->sharing)), ok);
    if (s->sharing == POD_SHARING_MPS) {
        ok = jdoc_put(spec, "memoryGiB", json_integer(s->memory_gib), ok);
        ok = jdoc_put(spec, "smPercent", json_integer(s->sm_percent), ok);
    }
    if (mig && s->requested_memory_gib)
        ok = jdoc_put(spec, "requestedMemoryGiB", json_integer(s->requested_memory_gib), ok);
    if (s->existing)
        ok = jdoc_put(spec, "existing", json_true(), ok);
    return jdoc_built(spec, ok);
}

json_t *gpuslice_new(const char *ns, const struct gpuslice_spec *s, const json_t *pod)
{
    json_t *obj = json_object();
    bool ok = jdoc_put(obj, "apiVersion", json_string(GPUSLICE_API_VERSION), true);
    ok = jdoc_put(obj, "kind", json_string(GPUSLICE_KIND), ok);
    ok = jdoc_put(obj, "metadata", new_metadata(ns, s, pod), ok);
    ok = jdoc_put(obj, "spec", new_spec(s), ok);
    return jdoc_built(obj, ok);
}

json_t *gpuslice_with_status(const json_t *obj, const struct gpuslice_status *t,
                             const char *now)
{
    json_t *copy = meta_copy_for_write(obj, NULL);
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
        {"warmUntil", t->warm_until},
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
