/*
 * Reading and writing what a pod asks for (see pod_slices.h). Everything a
 * user wrote is checked here, so the controller and the agent can trust a
 * struct pod_slices.
 */
#include "api/pod_slices.h"
#include "api/api_internal.h"
#include "util/jdoc.h"
#include "util/jsontext.h"
#include "util/strcopy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void slices_clear(struct pod_slices *out)
{
    memset(out, 0, sizeof *out);
}

/* What one entry asks for, before it is checked and copied. */
struct ask {
    const char *container;
    bool init;
    const char *profile;   /* NULL: by memory, or sharing */
    unsigned memory_gib, count, sm_percent;
    enum pod_sharing sharing;
};

/* Whether a's numbers fit its kind: -EINVAL naming field otherwise. */
static int check_ask(const struct ask *a, const char *field, struct err *e)
{
    if (a->profile && (a->sharing || !*a->profile || strlen(a->profile) >= POD_PROFILE_MAX))
        return err_set(e, -EINVAL, "%s: profile name must be 1 to %d characters, and a shared "
                       "GPU has none", field, POD_PROFILE_MAX - 1);
    if (a->sharing == POD_SHARING_TIMESLICE && (a->memory_gib || a->sm_percent || a->count != 1))
        return err_set(e, -EINVAL, "%s: a time-sliced GPU is asked once (count 1), with no "
                       "memory or SM share", field);
    if (a->sharing == POD_SHARING_MPS && a->sm_percent > 100)
        return err_set(e, -EINVAL, "%s: smPercent must be from 1 to 100, got %u", field,
                       a->sm_percent);
    if (!a->profile && a->sharing != POD_SHARING_TIMESLICE &&
        (a->memory_gib < 1 || a->memory_gib > POD_MEMORY_GIB_MAX || a->count != 1))
        return err_set(e, -EINVAL, "%s: memoryGiB must be from 1 to %u, with count 1", field,
                       POD_MEMORY_GIB_MAX);
    if (a->count < 1 || a->count > POD_SLICE_COUNT_MAX)
        return err_set(e, -EINVAL, "%s: count must be from 1 to %d, got %u", field,
                       POD_SLICE_COUNT_MAX, a->count);
    return 0;
}

static int add_request(struct pod_slices *out, const struct ask *a, const char *field,
                       struct err *e)
{
    if (out->n == POD_SLICES_MAX)
        return err_set(e, -EINVAL, "%s: more than %d slice requests in one pod", field,
                       POD_SLICES_MAX);
    if (!a->container || !*a->container || strlen(a->container) >= POD_CONTAINER_MAX)
        return err_set(e, -EINVAL, "%s: container name must be 1 to %d characters", field,
                       POD_CONTAINER_MAX - 1);
    int rc = check_ask(a, field, e);
    if (rc < 0)
        return rc;
    struct pod_slice_request *r = &out->items[out->n++];
    strcopy_cut(r->container, sizeof r->container, a->container);
    strcopy_cut(r->profile, sizeof r->profile, a->profile ? a->profile : "");
    r->memory_gib = a->profile ? 0 : a->memory_gib;
    r->init = a->init;
    r->count = a->count;
    r->sharing = a->sharing;
    r->sm_percent = a->sm_percent;
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

/* A container's gpuslice.dev/accelerator-memory as a request by memory
 * (an MPS share when mps), when it asks for nothing else (then the memory
 * is the webhook's accounting of those). */
static int memory_request(const json_t *c, const char *path, bool init, bool asked, bool mps,
                          struct pod_slices *out, struct err *e)
{
    const json_t *res = json_object_get(c, "resources");
    const json_t *rv = json_object_get(json_object_get(res, "requests"), GPUSLICE_RESOURCE_MEMORY);
    const json_t *lv = json_object_get(json_object_get(res, "limits"), GPUSLICE_RESOURCE_MEMORY);
    if (asked || (!rv && !lv))
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
    struct ask a = {.container = json_string_value(json_object_get(c, "name")), .init = init,
                    .memory_gib = limit, .count = 1,
                    .sharing = mps ? POD_SHARING_MPS : POD_SHARING_NONE};
    return rc == 0 ? add_request(out, &a, path, e) : rc;
}

/* What a container's resource name asks for. */
enum resource_kind { RESOURCE_OTHER, RESOURCE_MIG, RESOURCE_MPS, RESOURCE_TIMESLICE };

/* Whether key is nvidia.com/gpu-<digits>gb; *gib the digits' value, or
 * above POD_MEMORY_GIB_MAX when too long to read. */
static bool mps_resource(const char *key, unsigned long long *gib)
{
    size_t p = strlen(GPUSLICE_MPS_PREFIX), n = strlen(key);
    if (strncmp(key, GPUSLICE_MPS_PREFIX, p) != 0 || n < p + 3 || strcmp(key + n - 2, "gb") != 0)
        return false;
    size_t digits = n - p - 2;
    if (strspn(key + p, "0123456789") < digits)
        return false;
    *gib = digits <= 9 ? strtoull(key + p, NULL, 10) : (unsigned long long)POD_MEMORY_GIB_MAX + 1;
    return true;
}

static enum resource_kind resource_kind(const char *key)
{
    unsigned long long gib;
    if (strncmp(key, GPUSLICE_MIG_PREFIX, strlen(GPUSLICE_MIG_PREFIX)) == 0)
        return RESOURCE_MIG;
    if (strcmp(key, GPUSLICE_RESOURCE_TIMESLICE) == 0)
        return RESOURCE_TIMESLICE;
    return mps_resource(key, &gib) ? RESOURCE_MPS : RESOURCE_OTHER;
}

bool pod_slices_resource_ours(const char *key)
{
    return resource_kind(key) != RESOURCE_OTHER;
}

/* One resource of ours, asked count times (field: where the count is). */
static int resource_request(const char *name, bool init, const char *path, const char *key,
                            unsigned count, const char *field, struct pod_slices *out,
                            struct err *e)
{
    struct ask a = {.container = name, .init = init, .count = count};
    unsigned long long gib = 0;
    switch (resource_kind(key)) {
    case RESOURCE_MIG:
        a.profile = key + strlen(GPUSLICE_MIG_PREFIX);
        return add_request(out, &a, path, e);
    case RESOURCE_MPS:
        mps_resource(key, &gib);
        if (gib < 1 || gib > POD_MEMORY_GIB_MAX)
            return err_set(e, -EINVAL, "%s: the memory of an MPS share must be from 1 to %u GiB "
                           "(%s<N>gb)", field, POD_MEMORY_GIB_MAX, GPUSLICE_MPS_PREFIX);
        a.sharing = POD_SHARING_MPS;
        a.memory_gib = (unsigned)gib;
        break;
    default:
        a.sharing = POD_SHARING_TIMESLICE;
    }
    if (count != 1)
        return err_set(e, -EINVAL, "%s: a shared GPU is asked once per container: must be 1, "
                       "got %u", field, count);
    return add_request(out, &a, path, e);
}

/* The resource name r was asked by, for messages. */
static void request_name(const struct pod_slice_request *r, char *out, size_t size)
{
    if (r->sharing == POD_SHARING_MPS)
        snprintf(out, size, "an MPS share of %u GiB", r->memory_gib);
    else if (r->sharing == POD_SHARING_TIMESLICE)
        snprintf(out, size, "%s", GPUSLICE_RESOURCE_TIMESLICE);
    else if (r->memory_gib)
        snprintf(out, size, "%s", GPUSLICE_RESOURCE_MEMORY);
    else
        snprintf(out, size, "%s%s", GPUSLICE_MIG_PREFIX, r->profile);
}

/* A container asks for one kind of GPU: MIG slices, or one shared GPU. */
static int one_kind(const struct pod_slices *out, size_t from, const char *path, struct err *e)
{
    const struct pod_slice_request *shared = NULL, *mig = NULL;
    for (size_t k = from; k < out->n; k++) {
        const struct pod_slice_request *r = &out->items[k];
        const struct pod_slice_request *other = r->sharing ? shared : NULL;
        if (!r->sharing && !mig)
            mig = r;
        if (r->sharing && !shared)
            shared = r;
        if (!other && !(shared && mig))
            continue;
        char a[96], b[96];
        request_name(other ? other : shared, a, sizeof a);
        request_name(other ? r : mig, b, sizeof b);
        return err_set(e, -EINVAL, "%s.resources: a container asks for %s, not both %s and %s",
                       path, other ? "one shared GPU" : "MIG slices or a shared GPU", a, b);
    }
    return 0;
}

/* The requests of one container: each resource of ours in requests or
 * limits (a limit alone implies the request, as in Kubernetes), or else
 * its accelerator memory. */
static int container_requests(const json_t *c, const char *path, bool init, bool mps,
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
        if (!pod_slices_resource_ours(key))
            continue;
        unsigned limit, request;
        snprintf(field, sizeof field, "%s.resources.limits[%s]", path, key);
        int rc = parse_count(v, field, &limit, e);
        if (rc < 0)
            return rc;
        const json_t *rv = json_object_get(req, key);
        if (rv) {
            char rfield[192];
            snprintf(rfield, sizeof rfield, "%s.resources.requests[%s]", path, key);
            if ((rc = parse_count(rv, rfield, &request, e)) < 0)
                return rc;
            if (request != limit)
                return err_set(e, -EINVAL, "%s: must equal the request (%u), got %u", field,
                               request, limit);
        }
        if ((rc = resource_request(name, init, path, key, limit, field, out, e)) < 0)
            return rc;
    }
    json_object_foreach((json_t *)req, key, v) {
        if (!pod_slices_resource_ours(key) || json_object_get(lim, key))
            continue;
        unsigned request;
        snprintf(field, sizeof field, "%s.resources.requests[%s]", path, key);
        int rc = parse_count(v, field, &request, e);
        if (rc == 0)
            rc = resource_request(name, init, path, key, request, field, out, e);
        if (rc < 0)
            return rc;
    }
    int rc = one_kind(out, before, path, e);
    return rc < 0 ? rc : memory_request(c, path, init, out->n > before, mps, out, e);
}

/* The pod's annotations that qualify its requests: whether its
 * accelerator memory asks for MPS, and the SM share of its MPS requests. */
static int sharing_annotations(const json_t *pod, bool *mps, const json_t **sm, struct err *e)
{
    const json_t *annotations = json_object_get(json_object_get(pod, "metadata"), "annotations");
    const json_t *sharing = json_object_get(annotations, GPUSLICE_ANNOTATION_SHARING);
    *sm = json_object_get(annotations, GPUSLICE_ANNOTATION_MPS_SM);
    *mps = sharing != NULL;
    if (sharing && !(json_is_string(sharing) && strcmp(json_string_value(sharing), "mps") == 0))
        return err_set(e, -EINVAL, "metadata.annotations[%s]: must be \"mps\" (the one way "
                       "to share a GPU by accelerator memory)", GPUSLICE_ANNOTATION_SHARING);
    return 0;
}

/* Gives every MPS request the pod's SM share, when it names one. */
static int apply_sm_percent(const json_t *sm, struct pod_slices *out, struct err *e)
{
    unsigned percent = 0;
    if (!sm || !pod_slices_sharing(out, POD_SHARING_MPS))
        return 0;
    char field[96];
    snprintf(field, sizeof field, "metadata.annotations[%s]", GPUSLICE_ANNOTATION_MPS_SM);
    int rc = parse_whole(sm, field, 100, &percent, e);
    for (size_t k = 0; rc == 0 && k < out->n; k++)
        if (out->items[k].sharing == POD_SHARING_MPS)
            out->items[k].sm_percent = percent;
    return rc;
}

int pod_slices_from_resources(const json_t *pod, struct pod_slices *out, struct err *e)
{
    slices_clear(out);
    const json_t *spec = json_object_get(pod, "spec");
    static const struct {
        const char *key, *path;
        bool init;
    } lists[] = {{"initContainers", "spec.initContainers", true},
                 {"containers", "spec.containers", false}};
    bool mps;
    const json_t *sm;
    int rc = sharing_annotations(pod, &mps, &sm, e);
    for (size_t l = 0; rc == 0 && l < 2; l++) {
        const json_t *cs = json_object_get(spec, lists[l].key);
        size_t i;
        const json_t *c;
        json_array_foreach(cs, i, c) {
            char path[64];
            api__path_index(path, sizeof path, lists[l].path, i);
            if ((rc = container_requests(c, path, lists[l].init, mps, out, e)) < 0)
                break;
        }
    }
    if (rc == 0)
        rc = apply_sm_percent(sm, out, e);
    if (rc < 0)
        slices_clear(out);
    return rc;
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
        /* The field is named only for an error: the controller asks at
         * every decision of a gated pod, and the name cost more than the
         * read. */
        if (!v || parse_whole(v, NULL, POD_MEMORY_GIB_MAX, gib, NULL) == 0)
            return 0;
        char field[192];
        snprintf(field, sizeof field, "spec.%s[%zu].resources.%s[%s]", list, i, where,
                 GPUSLICE_RESOURCE_MEMORY);
        return parse_whole(v, field, POD_MEMORY_GIB_MAX, gib, e);
    }
    return err_set(e, -ENOENT, "the pod has no %s \"%s\"", init ? "init container" : "container",
                   container);
}

/* A sharing kind by its annotation name; -EINVAL naming field otherwise. */
static int sharing_parse(const json_t *v, const char *field, enum pod_sharing *out,
                         struct err *e)
{
    *out = POD_SHARING_NONE;
    if (v && pod_sharing_parse(json_string_value(v), out) < 0)
        return err_set(e, -EINVAL, "%s: sharing must be \"mps\" or \"timeslice\"", field);
    return 0;
}

/* One entry of the annotation: a MIG slice by profile or memory, or a
 * shared GPU (count optional, 1). */
static int annotation_entry(const json_t *it, const char *field, struct pod_slices *out,
                            struct err *e)
{
    const json_t *init = json_object_get(it, "init");
    const json_t *memory = json_object_get(it, "memoryGiB");
    const json_t *count = json_object_get(it, "count");
    const json_t *sm = json_object_get(it, "smPercent");
    struct ask a = {.container = json_string_value(json_object_get(it, "container")),
                    .init = json_is_true(init),
                    .profile = json_string_value(json_object_get(it, "profile")), .count = 1};
    int rc = sharing_parse(json_object_get(it, "sharing"), field, &a.sharing, e);
    bool by_memory = a.sharing == POD_SHARING_MPS || (!a.sharing && !a.profile);
    if (rc == 0 && (!json_is_object(it) || (init && !json_is_boolean(init)) ||
                    (a.sharing && a.profile) || by_memory != (memory != NULL) ||
                    (sm && a.sharing != POD_SHARING_MPS)))
        rc = err_set(e, -EINVAL, "%s: needs container, profile or memoryGiB, count (and a "
                     "boolean init), or sharing (mps with memoryGiB and smPercent, timeslice)",
                     field);
    if (rc == 0 && (count || !a.sharing))
        rc = parse_count(count, field, &a.count, e);
    if (rc == 0 && memory)
        rc = parse_whole(memory, field, POD_MEMORY_GIB_MAX, &a.memory_gib, e);
    if (rc == 0 && sm)
        rc = parse_whole(sm, field, 100, &a.sm_percent, e);
    return rc == 0 ? add_request(out, &a, field, e) : rc;
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
    /* jsontext: jansson's json_loads was 11 k instructions for a short
     * list, read once per pod by the controller and by the simulator's
     * observer. */
    json_t *list = jsontext_load(text, strlen(text), JSON_REJECT_DUPLICATES, &jerr);
    int rc = 0;
    if (!json_is_array(list))
        rc = err_set(e, -EINVAL, "metadata.annotations[%s]: not a JSON list (%s)",
                     GPUSLICE_ANNOTATION_SLICES, list ? "wrong type" : jerr.text);
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it) {
        char field[96];
        api__path_index(field, sizeof field,
                        "metadata.annotations[" GPUSLICE_ANNOTATION_SLICES "]", i);
        if ((rc = annotation_entry(it, field, out, e)) < 0)
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

/* One entry of the annotation (pod_slices.h). */
static json_t *encode_entry(const struct pod_slice_request *r)
{
    json_t *it = json_pack("{s:s}", "container", r->container);
    if (!it)
        return NULL;
    if (r->sharing)
        jdoc_set(it, "sharing", json_string(pod_sharing_name(r->sharing)));
    if (r->memory_gib)
        jdoc_set(it, "memoryGiB", json_integer(r->memory_gib));
    else if (!r->sharing)
        jdoc_set(it, "profile", json_string(r->profile));
    if (r->sm_percent)
        jdoc_set(it, "smPercent", json_integer(r->sm_percent));
    if (!r->sharing)
        jdoc_set(it, "count", json_integer(r->count));
    if (r->init)
        jdoc_set(it, "init", json_true());
    return it;
}

json_t *pod_slices_encode(const struct pod_slices *s)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < s->n; i++) {
        json_t *it = encode_entry(&s->items[i]);
        if (!it || json_array_append_new(list, it) < 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

bool pod_slices_sharing(const struct pod_slices *s, enum pod_sharing sharing)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->items[i].sharing == sharing)
            return true;
    return false;
}

const char *pod_sharing_name(enum pod_sharing sharing)
{
    return sharing == POD_SHARING_MPS ? "mps" : sharing == POD_SHARING_TIMESLICE ? "timeslice" : "";
}

int pod_sharing_parse(const char *name, enum pod_sharing *out)
{
    for (enum pod_sharing k = POD_SHARING_MPS; name && k <= POD_SHARING_TIMESLICE; k++)
        if (strcmp(name, pod_sharing_name(k)) == 0) {
            *out = k;
            return 0;
        }
    return -EINVAL;
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
    pod_configmap_name_of(prefix, container, out);
}

void pod_configmap_name_of(const char *prefix, const char *container, char out[254])
{
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
