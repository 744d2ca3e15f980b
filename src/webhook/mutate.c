/*
 * The webhook's mutation (mutate.h). The pod is never modified: the patch
 * is built from what is read, so that the same function serves the
 * response and the tests that apply the patch and read the pod back.
 *
 * Containers are patched whole at their resources (one "add" replaces the
 * object), which keeps the patch independent of the order and spelling of
 * the requests; metadata maps and lists get one operation per entry, so
 * that what other webhooks added before us stays.
 */
#include "webhook/mutate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "api/meta.h"
#include "api/pod_slices.h"
#include "core/catalog.h"
#include "util/alloc.h"
#include "util/base64.h"
#include "util/jdoc.h"
#include "util/jsontext.h"

#define REVIEW_API_VERSION "admission.k8s.io/v1"
#define UID_MAX 256

static const char *const excluded_namespaces[] = {
    "kube-system", "kube-public", "kube-node-lease", "gpuslice-system",
};

static const char *const container_lists[] = {"initContainers", "containers"};

bool mutate_excluded_namespace(const char *ns)
{
    for (size_t i = 0; ns && i < sizeof excluded_namespaces / sizeof excluded_namespaces[0]; i++)
        if (strcmp(ns, excluded_namespaces[i]) == 0)
            return true;
    return false;
}

bool mutate_prefix_valid(const char *prefix)
{
    size_t n = prefix ? strlen(prefix) : 0;
    if (n == 0 || n >= MUTATE_PREFIX_MAX || prefix[0] < 'a' || prefix[0] > 'z' ||
        prefix[n - 1] == '-')
        return false;
    return strspn(prefix, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* ---- reading the pod ---- */

static const json_t *spec_list(const json_t *pod, size_t l)
{
    return json_object_get(json_object_get(pod, "spec"), container_lists[l]);
}

/* The JSON types the patch relies on; the API server validates the rest
 * after admission. */
static int check_shape(const json_t *pod, struct err *e)
{
    const json_t *meta = json_object_get(pod, "metadata");
    const json_t *spec = json_object_get(pod, "spec");
    if (!json_is_object(pod) || (meta && !json_is_object(meta)) || !json_is_object(spec))
        return err_set(e, -EBADMSG, "the object is not a pod: metadata and spec must be objects");
    static const char *const maps[] = {"labels", "annotations"};
    for (size_t i = 0; i < 2; i++) {
        const json_t *m = json_object_get(meta, maps[i]);
        if (m && !json_is_object(m))
            return err_set(e, -EBADMSG, "metadata.%s: must be an object", maps[i]);
    }
    const json_t *finalizers = json_object_get(meta, "finalizers");
    if (finalizers && !json_is_array(finalizers))
        return err_set(e, -EBADMSG, "metadata.finalizers: must be a list");
    const json_t *gates = json_object_get(spec, "schedulingGates");
    if (gates && !json_is_array(gates))
        return err_set(e, -EBADMSG, "spec.schedulingGates: must be a list");
    for (size_t l = 0; l < 2; l++) {
        const json_t *cs = spec_list(pod, l), *c;
        size_t i;
        if (cs && !json_is_array(cs))
            return err_set(e, -EBADMSG, "spec.%s: must be a list", container_lists[l]);
        json_array_foreach(cs, i, c) {
            const json_t *res = json_object_get(c, "resources");
            const json_t *env = json_object_get(c, "envFrom");
            if (!json_is_object(c) || (res && !json_is_object(res)) ||
                (env && !json_is_array(env)) ||
                (json_object_get(res, "requests") &&
                 !json_is_object(json_object_get(res, "requests"))) ||
                (json_object_get(res, "limits") && !json_is_object(json_object_get(res, "limits"))))
                return err_set(e, -EBADMSG, "spec.%s[%zu]: must be an object with object "
                               "resources (requests, limits) and a list envFrom",
                               container_lists[l], i);
        }
    }
    return 0;
}

/* The index of the container named name in list l, or -1. */
static long container_index(const json_t *pod, size_t l, const char *name)
{
    size_t i;
    const json_t *c;
    json_array_foreach(spec_list(pod, l), i, c) {
        const char *n = json_string_value(json_object_get(c, "name"));
        if (n && strcmp(n, name) == 0)
            return (long)i;
    }
    return -1;
}

/* The catalogued model with the most memory, and that memory in whole
 * GiB (what an MPS share may pin at most). */
static const struct gpu_model *largest_model(unsigned *gib)
{
    const struct gpu_model *largest = NULL;
    for (size_t i = 0; i < catalog_model_count(); i++)
        if (!largest || catalog_model(i)->memory_mib > largest->memory_mib)
            largest = catalog_model(i);
    *gib = largest ? largest->memory_mib / 1024 : 0;
    return largest;
}

/* Where r was asked: "spec.<list>[<i>].resources". */
static long request_at(const json_t *pod, const struct pod_slice_request *r, size_t *l)
{
    *l = r->init ? 0 : 1;
    return container_index(pod, *l, r->container);
}

/* Denies an MPS share larger than every catalogued GPU. */
static int check_mps(const json_t *pod, const struct pod_slice_request *r, struct err *e)
{
    unsigned most;
    const struct gpu_model *largest = largest_model(&most);
    if (r->sharing != POD_SHARING_MPS || !largest || r->memory_gib <= most)
        return 0;
    size_t l;
    long i = request_at(pod, r, &l);
    return err_set(e, -EINVAL, "spec.%s[%ld].resources: an MPS share of %u GiB is more than "
                   "any catalogued GPU has (the largest, %s, has %u GiB)", container_lists[l], i,
                   r->memory_gib, largest->name, most);
}

/* Denies a profile no catalogued model has, or an MPS share no GPU holds,
 * naming where it was asked. */
static int check_profiles(const json_t *pod, const struct pod_slices *s, struct err *e)
{
    for (size_t k = 0; k < s->n; k++) {
        const struct pod_slice_request *r = &s->items[k];
        unsigned gib;
        size_t l;
        long i = request_at(pod, r, &l);
        struct catalog_fit fit;
        if (r->sharing) {
            int rc = check_mps(pod, r, e);
            if (rc < 0)
                return rc;
            continue;
        }
        if (r->memory_gib && catalog_fits_memory(r->memory_gib, &fit, 1) == 0)
            return err_set(e, -EINVAL, "spec.%s[%ld].resources[%s]: no MIG profile of a "
                           "catalogued GPU model has %u GiB (see 'gpuslice profiles')",
                           container_lists[l], i, GPUSLICE_RESOURCE_MEMORY, r->memory_gib);
        if (r->memory_gib || catalog_name_gib(r->profile, &gib) == 0)
            continue;
        char key[POD_PROFILE_MAX + sizeof GPUSLICE_MIG_PREFIX];
        snprintf(key, sizeof key, "%s%s", GPUSLICE_MIG_PREFIX, r->profile);
        const json_t *res = json_object_get(json_array_get(spec_list(pod, l), (size_t)i),
                                            "resources");
        const char *where = json_object_get(json_object_get(res, "requests"), key) ? "requests"
                                                                                  : "limits";
        return err_set(e, -EINVAL, "spec.%s[%ld].resources.%s[%s]: unknown MIG profile \"%s\": "
                       "no catalogued GPU model has it (see 'gpuslice profiles')",
                       container_lists[l], i, where, key, r->profile);
    }
    return 0;
}

/* ---- building the patch ---- */

/* The patch is built member by member: json_pack scanned its format and
 * checked every literal key again, a sixth of a review's cost. A value
 * that is NULL (a string that is not UTF-8) makes what holds it NULL, as
 * json_pack's result was, and the operation fails. */

/* {key: value}, value taken; NULL when value is. */
static json_t *object_of(const char *key, json_t *value)
{
    if (!value)
        return NULL;
    json_t *o = json_object();
    jdoc_set(o, key, value);
    return o;
}

/* obj with key: value added, both taken; NULL (and neither kept) when
 * either is NULL. */
static json_t *with(json_t *obj, const char *key, json_t *value)
{
    if (obj && value) {
        jdoc_set(obj, key, value);
        return obj;
    }
    json_decref(obj);
    json_decref(value);
    return NULL;
}

/* [value], value taken; NULL when value is. */
static json_t *list_of(json_t *value)
{
    if (!value)
        return NULL;
    json_t *l = json_array();
    jdoc_append(l, value);
    return l;
}

static int add_op(json_t *ops, const char *path, json_t *value)
{
    json_t *p = value ? json_string(path) : NULL;
    if (!p) {
        json_decref(value);
        return -ENOMEM;
    }
    json_t *op = json_object();
    jdoc_set(op, "op", json_string_nocheck("add"));
    jdoc_set(op, "path", p);
    jdoc_set(op, "value", value);
    jdoc_append(ops, op);
    return 0;
}

/* Appends key to a JSON pointer, escaped (RFC 6901); cut short at cap. */
static void pointer_append(char *path, size_t cap, const char *key)
{
    size_t n = strlen(path);
    for (; *key && n + 3 < cap; key++) {
        if (*key == '/' || *key == '~') {
            path[n++] = '~';
            path[n++] = *key == '/' ? '1' : '0';
        } else {
            path[n++] = *key;
        }
    }
    path[n] = '\0';
}

/* The entries of an object (taken) put in the map at map_path: the whole
 * object when there is no map yet, else one operation per key, so that
 * entries others put there stay. */
static int add_map_entries(json_t *ops, const json_t *map, const char *map_path, json_t *entries)
{
    if (!map || !entries)
        return add_op(ops, map_path, entries);
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach(entries, key, v) {
        char path[256];
        snprintf(path, sizeof path, "%s/", map_path);
        pointer_append(path, sizeof path, key);
        if (rc == 0)
            rc = add_op(ops, path, json_incref(v));
    }
    json_decref(entries);
    return rc;
}

/* A list element appended: the whole list when there is none yet. */
static int add_list_entry(json_t *ops, const json_t *list, const char *list_path, json_t *value)
{
    char path[160];
    snprintf(path, sizeof path, "%s/-", list_path);
    return list ? add_op(ops, path, value)
                : add_op(ops, list_path, list_of(value));
}

static int patch_metadata(const json_t *pod, const struct pod_slices *s, const char *prefix,
                          json_t *ops)
{
    const json_t *meta = json_object_get(pod, "metadata");
    int rc = meta ? 0 : add_op(ops, "/metadata", json_object());
    json_t *encoded = pod_slices_encode(s);
    char *slices = encoded ? jsontext_dumps(encoded) : NULL;
    json_decref(encoded);
    if (rc == 0 && !slices)
        rc = -ENOMEM;
    if (rc == 0)
        rc = add_map_entries(ops, json_object_get(meta, "annotations"), "/metadata/annotations",
                             with(object_of(GPUSLICE_ANNOTATION_SLICES, json_string(slices)),
                                  GPUSLICE_ANNOTATION_CONFIG, json_string(prefix)));
    if (rc == 0)
        rc = add_map_entries(ops, json_object_get(meta, "labels"), "/metadata/labels",
                             object_of(GPUSLICE_LABEL_MANAGED, json_string_nocheck("true")));
    free(slices);
    return rc;
}

/* The GiB the requests of one container come to. */
static unsigned container_gib(const struct pod_slices *s, bool init, const char *name)
{
    unsigned total = 0;
    for (size_t k = 0; k < s->n; k++) {
        unsigned gib = s->items[k].memory_gib;
        if (s->items[k].init == init && strcmp(s->items[k].container, name) == 0 &&
            (gib || catalog_name_gib(s->items[k].profile, &gib) == 0))
            total += gib * s->items[k].count;
    }
    return total;
}

/* resources without our requests and limits (MIG, MPS, time-sliced),
 * with the memory instead: none for a time-sliced GPU, which pins none. */
static json_t *new_resources(const json_t *res, unsigned gib)
{
    json_t *out = res ? jdoc_copy(res) : json_object();
    char quantity[16];
    snprintf(quantity, sizeof quantity, "%u", gib);
    static const char *const parts[] = {"requests", "limits"};
    for (size_t p = 0; out && p < 2; p++) {
        json_t *m = json_object_get(out, parts[p]);
        if (!m && json_object_set_new(out, parts[p], m = json_object()) < 0)
            m = NULL;
        const char *key;
        void *tmp;
        json_t *v;
        json_object_foreach_safe(m, tmp, key, v) {
            if (pod_slices_resource_ours(key))
                json_object_del(m, key);
        }
        if (!m || (gib && json_object_set_new(m, GPUSLICE_RESOURCE_MEMORY,
                                              json_string(quantity)) < 0)) {
            json_decref(out);
            out = NULL;
        }
    }
    return out;
}

/* Whether the container already reads the ConfigMap cm. */
static bool reads_config_map(const json_t *c, const char *cm)
{
    size_t i;
    const json_t *ref;
    json_array_foreach(json_object_get(c, "envFrom"), i, ref) {
        const char *name =
            json_string_value(json_object_get(json_object_get(ref, "configMapRef"), "name"));
        if (name && strcmp(name, cm) == 0)
            return true;
    }
    return false;
}

/* resources and envFrom of one container that asked for slices. */
static int patch_container(const json_t *c, const char *base, unsigned gib, const char *prefix,
                           json_t *ops)
{
    char path[128], cm[254];
    snprintf(path, sizeof path, "%s/resources", base);
    int rc = add_op(ops, path, new_resources(json_object_get(c, "resources"), gib));
    /* pod_configmap_name_of is the one definition of the name the agent
     * writes. */
    pod_configmap_name_of(prefix, json_string_value(json_object_get(c, "name")), cm);
    if (rc == 0 && !reads_config_map(c, cm)) {
        snprintf(path, sizeof path, "%s/envFrom", base);
        rc = add_list_entry(ops, json_object_get(c, "envFrom"), path,
                            object_of("configMapRef",
                                      with(object_of("name", json_string(cm)), "optional",
                                           json_false())));
    }
    return rc;
}

/* Whether s records a request of container (init or not). */
static bool records(const struct pod_slices *s, bool init, const char *container)
{
    for (size_t k = 0; k < s->n; k++)
        if (s->items[k].init == init && strcmp(s->items[k].container, container) == 0)
            return true;
    return false;
}

/* The containers that ask for fresh slices, with the memory of all their
 * slices (recorded ones included). */
static int patch_containers(const json_t *pod, const struct pod_slices *fresh,
                            const struct pod_slices *all, const char *prefix, json_t *ops)
{
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        const json_t *c;
        json_array_foreach(spec_list(pod, l), i, c) {
            const char *name = json_string_value(json_object_get(c, "name"));
            if (!name || !records(fresh, l == 0, name))
                continue;
            char base[64];
            snprintf(base, sizeof base, "/spec/%s/%zu", container_lists[l], i);
            int rc = patch_container(c, base, container_gib(all, l == 0, name), prefix, ops);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* What the pod asks for in all: what an earlier pass recorded (a webhook
 * after us added requests, and we are called again), then the fresh
 * requests; and the ConfigMap prefix already chosen, if any. The memory
 * of a container recorded already is our own accounting, not a fresh
 * request by memory: it is dropped from fresh. */
static int merge_recorded(const json_t *pod, struct pod_slices *fresh, struct pod_slices *all,
                          const char **prefix, struct err *e)
{
    if (pod_slices_from_annotation(pod, all, NULL) != 0) {
        *all = *fresh;
        return 0;
    }
    size_t kept = 0;
    for (size_t k = 0; k < fresh->n; k++)
        if (!fresh->items[k].memory_gib ||
            !records(all, fresh->items[k].init, fresh->items[k].container))
            fresh->items[kept++] = fresh->items[k];
    fresh->n = kept;
    if (all->n + fresh->n > POD_SLICES_MAX)
        return err_set(e, -EINVAL, "spec: more than %d slice requests in one pod",
                       POD_SLICES_MAX);
    memcpy(&all->items[all->n], fresh->items, fresh->n * sizeof fresh->items[0]);
    all->n += fresh->n;
    const char *had = json_string_value(json_object_get(
        json_object_get(json_object_get(pod, "metadata"), "annotations"),
        GPUSLICE_ANNOTATION_CONFIG));
    if (mutate_prefix_valid(had))
        *prefix = had;
    return 0;
}

int mutate_pod(const json_t *pod, const char *prefix, json_t **ops, struct err *e)
{
    struct pod_slices fresh, all;
    *ops = NULL;
    int rc = check_shape(pod, e);
    if (rc == 0)
        rc = pod_slices_from_resources(pod, &fresh, e);
    if (rc < 0 || fresh.n == 0)
        return rc;
    const char *had_prefix = prefix;
    if ((rc = merge_recorded(pod, &fresh, &all, &had_prefix, e)) < 0 || fresh.n == 0)
        return rc;
    if ((rc = check_profiles(pod, &fresh, e)) < 0)
        return rc;
    const json_t *spec = json_object_get(pod, "spec");
    if (json_string_length(json_object_get(spec, "nodeName")) > 0)
        return err_set(e, -EBADMSG, "spec.nodeName: a pod that asks for MIG slices or a shared "
                       "GPU cannot name its node: gpuslice chooses it");
    if (!mutate_prefix_valid(prefix))
        return err_set(e, -EINVAL, "configmap prefix \"%.40s\" is not a valid name prefix",
                       prefix ? prefix : "");
    prefix = had_prefix;
    if (!(*ops = json_array()))
        return err_set(e, -ENOMEM, "out of memory");
    rc = patch_metadata(pod, &all, prefix, *ops);
    if (rc == 0 && !pod_gated(pod, GPUSLICE_GATE))
        rc = add_list_entry(*ops, json_object_get(spec, "schedulingGates"),
                            "/spec/schedulingGates",
                            object_of("name", json_string_nocheck(GPUSLICE_GATE)));
    /* The controller would add it with the first placement, a pod write of
     * its own; given here it costs nothing. */
    if (rc == 0 && !meta_has_finalizer(pod, GPUSLICE_FINALIZER))
        rc = add_list_entry(*ops, json_object_get(json_object_get(pod, "metadata"), "finalizers"),
                            "/metadata/finalizers", json_string(GPUSLICE_FINALIZER));
    if (rc == 0)
        rc = patch_containers(pod, &fresh, &all, prefix, *ops);
    if (rc < 0) {
        json_decref(*ops);
        *ops = NULL;
        return err_set(e, rc, "out of memory");
    }
    return 0;
}

/* ---- the review ---- */

struct review {
    const char *uid, *operation, *namespace, *kind, *group, *resource, *subresource;
    const json_t *object;
};

static int read_review(const json_t *doc, struct review *r, struct err *e)
{
    const json_t *req = json_object_get(doc, "request");
    const char *av = json_string_value(json_object_get(doc, "apiVersion"));
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    if (!json_is_object(doc))
        return err_set(e, -EBADMSG, "the body is not a JSON object");
    if (!av || strcmp(av, REVIEW_API_VERSION) != 0 || !kind || strcmp(kind, "AdmissionReview"))
        return err_set(e, -EBADMSG, "apiVersion/kind: expected %s AdmissionReview",
                       REVIEW_API_VERSION);
    if (!json_is_object(req))
        return err_set(e, -EBADMSG, "request: required, an object");
    r->uid = json_string_value(json_object_get(req, "uid"));
    r->operation = json_string_value(json_object_get(req, "operation"));
    if (!r->uid || !*r->uid || strlen(r->uid) >= UID_MAX)
        return err_set(e, -EBADMSG, "request.uid: required, a string of 1 to %d characters",
                       UID_MAX - 1);
    if (!r->operation)
        return err_set(e, -EBADMSG, "request.operation: required, a string");
    const json_t *res = json_object_get(req, "resource");
    r->namespace = json_string_value(json_object_get(req, "namespace"));
    r->kind = json_string_value(json_object_get(json_object_get(req, "kind"), "kind"));
    r->group = json_string_value(json_object_get(res, "group"));
    r->resource = json_string_value(json_object_get(res, "resource"));
    r->subresource = json_string_value(json_object_get(req, "subResource"));
    r->object = json_object_get(req, "object");
    if (strcmp(r->operation, "CREATE") == 0 && !json_is_object(r->object))
        return err_set(e, -EBADMSG, "request.object: required for CREATE, an object");
    return 0;
}

/* Whether the review is one the webhook rewrites: a pod being created
 * outside the system namespaces. */
static bool review_wanted(const struct review *r)
{
    return strcmp(r->operation, "CREATE") == 0 && r->kind && strcmp(r->kind, "Pod") == 0 &&
           (!r->group || !*r->group) && r->resource && strcmp(r->resource, "pods") == 0 &&
           (!r->subresource || !*r->subresource) && !mutate_excluded_namespace(r->namespace);
}

/* The response object for r: allowed untouched, with ops, or denied by e. */
static json_t *review_response(const struct review *r, const json_t *ops, const struct err *deny)
{
    json_t *resp = json_object();
    jdoc_set(resp, "uid", json_string(r->uid));
    jdoc_set(resp, "allowed", json_boolean(deny == NULL));
    if (deny) {
        int code = deny->code == -EINVAL ? 422 : 400;
        jdoc_set(resp, "status",
                            json_pack("{s:s, s:o, s:s, s:i}", "status", "Failure", "message",
                                      jdoc_string_scrubbed(deny->msg), "reason",
                                      code == 422 ? "Invalid" : "BadRequest", "code", code));
    } else if (ops) {
        char *text = jsontext_dumps(ops);
        char *b64 = text ? base64_encode(text, strlen(text), BASE64_STD) : NULL;
        /* base64 is ASCII: no UTF-8 check over the whole patch. */
        if (!b64 || json_object_set_new(resp, "patch", json_string_nocheck(b64)) < 0 ||
            json_object_set_new(resp, "patchType", json_string("JSONPatch")) < 0) {
            json_decref(resp);
            resp = NULL;
        }
        free(text);
        free(b64);
    }
    if (!resp)
        return NULL;
    json_t *review = json_object();
    jdoc_set(review, "apiVersion", json_string_nocheck(REVIEW_API_VERSION));
    jdoc_set(review, "kind", json_string_nocheck("AdmissionReview"));
    jdoc_set(review, "response", resp);
    return review;
}

int mutate_review(const char *body, size_t len, const char *prefix, char **out, size_t *out_len,
                  enum mutate_outcome *outcome, struct err *e)
{
    *out = NULL;
    *out_len = 0;
    *outcome = MUTATE_ALLOWED;
    if (len > MUTATE_MAX_BODY)
        return err_set(e, -E2BIG, "the AdmissionReview is larger than %u bytes", MUTATE_MAX_BODY);
    json_error_t je;
    json_t *doc = jsontext_load(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return err_set(e, -EBADMSG, "the body is not JSON: %s (line %d, column %d)", je.text,
                       je.line, je.column);
    struct review r = {0};
    int rc = read_review(doc, &r, e);
    json_t *ops = NULL, *answer = NULL;
    struct err deny;
    err_clear(&deny);
    bool denied = false;
    if (rc == 0 && review_wanted(&r)) {
        int mrc = mutate_pod(r.object, prefix, &ops, &deny);
        denied = mrc == -EINVAL || mrc == -EBADMSG;
        if (mrc < 0 && !denied)
            rc = err_set(e, mrc, "%s", deny.msg);
    }
    if (rc == 0 && !(answer = review_response(&r, ops, denied ? &deny : NULL)))
        rc = err_set(e, -ENOMEM, "out of memory");
    if (rc == 0 && !(*out = jsontext_dumps(answer)))
        rc = err_set(e, -ENOMEM, "out of memory");
    if (rc == 0) {
        *out_len = strlen(*out);
        *outcome = denied ? MUTATE_DENIED : ops ? MUTATE_PATCHED : MUTATE_ALLOWED;
    }
    json_decref(ops);
    json_decref(answer);
    json_decref(doc);
    return rc;
}
