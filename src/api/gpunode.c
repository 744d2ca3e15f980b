/*
 * Reading and building GPUNode objects (see gpunode.h).
 */
#include "api/gpunode.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"
#include "api/meta.h"
#include "api/pod_slices.h"
#include "util/jdoc.h"

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
        char base[80];
        api__path_index(sp, sizeof sp, api__path(base, sizeof base, path, ".slices"), i);
        struct gpunode_slice *out = &gpu->slices[i];
        out->managed = true;
        int rc = api__read_string(s, "profile", sp, true, &out->profile, e);
        if (rc == 0) rc = api__read_uint(s, "start", sp, true, 7, &out->start, e);
        if (rc == 0) rc = api__read_uint(s, "size", sp, true, 8, &out->size, e);
        if (rc == 0) rc = api__read_uint(s, "giID", sp, false, UINT16_MAX, &out->gi_id, e);
        if (rc == 0) rc = api__read_uint(s, "ciID", sp, false, UINT16_MAX, &out->ci_id, e);
        if (rc == 0) rc = api__read_string(s, "deviceUUID", sp, false, &out->device_uuid, e);
        if (rc == 0) rc = api__read_bool(s, "managed", sp, &out->managed, e);
        if (rc < 0)
            return rc;
        gpu->n_slices++;
    }
    return 0;
}

/* status.gpus[].clients: a list of at most GPUNODE_CLIENTS_MAX objects,
 * each naming its pod; borrowed. */
static int read_clients(const json_t *g, const char *path, struct gpunode_gpu *gpu,
                        struct err *e)
{
    const json_t *clients = json_object_get(g, "clients");
    if (!clients)
        return 0;
    if (!json_is_array(clients))
        return err_set(e, -EINVAL, "%s.clients: must be a list", path);
    if (json_array_size(clients) > GPUNODE_CLIENTS_MAX)
        return err_set(e, -EINVAL, "%s.clients: more than %d clients", path,
                       GPUNODE_CLIENTS_MAX);
    size_t i;
    const json_t *c;
    json_array_foreach(clients, i, c) {
        char cp[96];
        const char *s;
        unsigned n;
        char base[80];
        api__path_index(cp, sizeof cp, api__path(base, sizeof base, path, ".clients"), i);
        int rc = api__read_string(c, "namespace", cp, true, &s, e);
        if (rc == 0) rc = api__read_string(c, "pod", cp, true, &s, e);
        if (rc == 0) rc = api__read_string(c, "sharing", cp, true, &s, e);
        if (rc == 0) rc = api__read_uint(c, "memoryGiB", cp, false, POD_MEMORY_GIB_MAX, &n, e);
        if (rc == 0) rc = api__read_uint(c, "smPercent", cp, false, 100, &n, e);
        if (rc < 0)
            return rc;
    }
    gpu->clients = clients;
    return 0;
}

static const char *const mode_names[] = {"mig", "mig-static", "mps", "timeslice", "whole"};

int gpunode_mode_parse(const char *name, enum gpunode_mode *out)
{
    for (size_t i = 0; name && i < sizeof mode_names / sizeof mode_names[0]; i++)
        if (strcmp(name, mode_names[i]) == 0) {
            *out = (enum gpunode_mode)i;
            return 0;
        }
    return -EINVAL;
}

const char *gpunode_mode_name(enum gpunode_mode mode)
{
    return (size_t)mode < sizeof mode_names / sizeof mode_names[0] ? mode_names[mode] : "?";
}

bool gpunode_mode_mig(enum gpunode_mode mode)
{
    return mode == GPUNODE_MODE_MIG || mode == GPUNODE_MODE_MIG_STATIC;
}

enum gpunode_mode gpunode_active_mode(const struct gpunode_gpu *gpu)
{
    return gpu->has_active ? gpu->active : gpu->mode;
}

enum gpunode_mode gpunode_wanted_mode(const json_t *gpunode, const char *uuid)
{
    size_t i;
    const json_t *g;
    enum gpunode_mode mode = GPUNODE_MODE_MIG;
    json_array_foreach(json_object_get(json_object_get(gpunode, "spec"), "gpus"), i, g) {
        const char *u = json_string_value(json_object_get(g, "uuid"));
        if (u && strcmp(u, uuid) == 0 &&
            gpunode_mode_parse(json_string_value(json_object_get(g, "mode")), &mode) < 0)
            mode = GPUNODE_MODE_MIG;
    }
    return mode;
}

/* An optional mode at o.key into *out (*present says whether it was
 * there). */
static int read_mode(const json_t *o, const char *path, enum gpunode_mode *out, bool *present,
                     struct err *e)
{
    const char *name = NULL;
    int rc = api__read_string(o, "mode", path, false, &name, e);
    if (rc < 0 || !name)
        return rc;
    if (gpunode_mode_parse(name, out) < 0)
        return err_set(e, -EINVAL, "%s.mode: \"%s\" is not a mode (mig, mig-static, mps, timeslice, whole)", path,
                       name);
    if (present)
        *present = true;
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
        api__path_index(path, sizeof path, "spec.gpus", i);
        int rc = api__read_bool(g, "heldBack", path, &gpu->held_back, e);
        if (rc == 0)
            rc = read_mode(g, path, &gpu->mode, NULL, e);
        if (rc == 0)
            rc = api__read_uint(g, "replicas", path, false, GPUNODE_CLIENTS_MAX, &gpu->replicas,
                                e);
        if (rc == 0 && json_object_get(g, "replicas") && gpu->replicas == 0)
            rc = err_set(e, -EINVAL, "%s.replicas: must be at least 1", path);
        const json_t *allowed = json_object_get(g, "allowedProfiles");
        if (rc == 0 && allowed && !json_is_array(allowed))
            rc = err_set(e, -EINVAL, "%s.allowedProfiles: must be a list", path);
        if (rc == 0 && json_array_size(allowed) > 0)
            gpu->allowed_profiles = allowed;
        return rc;
    }
    return 0;
}

/* The mode condition among status.conditions, when True. */
static int read_mode_condition(const json_t *st, struct gpunode_view *v, struct err *e)
{
    const json_t *conds = json_object_get(st, "conditions");
    if (conds && !json_is_array(conds))
        return err_set(e, -EINVAL, "status.conditions: must be a list");
    size_t i;
    const json_t *c;
    json_array_foreach(conds, i, c) {
        const char *type = json_string_value(json_object_get(c, "type"));
        const char *status = json_string_value(json_object_get(c, "status"));
        if (!type || strcmp(type, GPUNODE_CONDITION_MODE) != 0 || !status ||
            strcmp(status, "True") != 0)
            continue;
        const char *msg = json_string_value(json_object_get(c, "message"));
        v->mode_pending = msg ? msg : "";
        v->mode_pending_since = json_string_value(json_object_get(c, "lastTransitionTime"));
    }
    return 0;
}

/* One GPU: status.gpus[i] (g) joined with its settings in spec.gpus. */
static int read_gpu(const json_t *g, const json_t *spec_gpus, size_t i,
                    struct gpunode_gpu *gpu, struct err *e)
{
    char path[48];
    api__path_index(path, sizeof path, "status.gpus", i);
    memset(gpu, 0, sizeof *gpu);
    gpu->model = "";
    gpu->mig_mode = "Unsupported";
    int rc = api__read_uint(g, "index", path, true, 255, &gpu->index, e);
    if (rc == 0) rc = api__read_string(g, "uuid", path, true, &gpu->uuid, e);
    if (rc == 0) rc = api__read_string(g, "product", path, false, &gpu->product, e);
    if (rc == 0) rc = api__read_string(g, "model", path, false, &gpu->model, e);
    if (rc == 0) rc = api__read_string(g, "migMode", path, false, &gpu->mig_mode, e);
    if (rc == 0) rc = api__read_uint(g, "memoryMiB", path, false, 1u << 30, &gpu->memory_mib, e);
    if (rc == 0) rc = read_mode(g, path, &gpu->active, &gpu->has_active, e);
    if (rc == 0) rc = read_gpu_slices(g, path, gpu, e);
    if (rc == 0) rc = read_clients(g, path, gpu, e);
    gpu->replicas = GPUNODE_TIMESLICE_REPLICAS_DEFAULT;
    if (rc == 0) rc = read_settings(spec_gpus, gpu, e);
    return rc;
}

static const json_t *status_gpu_list(const json_t *obj)
{
    return json_object_get(json_object_get(obj, "status"), "gpus");
}

static const json_t *spec_gpu_list(const json_t *obj)
{
    return json_object_get(json_object_get(obj, "spec"), "gpus");
}

/* Everything but the GPUs and the condition: the name, the boot id, and
 * whether status.gpus is a list of GPUs (*n: how many). */
static int read_top(const json_t *obj, struct gpunode_view *v, size_t *n, struct err *e)
{
    memset(v, 0, sizeof *v);
    v->name = meta_name(obj);
    const json_t *gpus = status_gpu_list(obj);
    *n = json_array_size(gpus);
    int rc = api__read_string(json_object_get(obj, "status"), "bootID", "status", false,
                              &v->boot_id, e);
    if (rc == 0 && gpus && !json_is_array(gpus))
        rc = err_set(e, -EINVAL, "status.gpus: must be a list");
    if (rc == 0 && *n > GPUNODE_MAX_GPUS)
        rc = err_set(e, -EINVAL, "status.gpus: more than %d GPUs", GPUNODE_MAX_GPUS);
    return rc;
}

static int named(const struct gpunode_view *v, int rc, struct err *e)
{
    if (rc < 0)
        err_prefix(e, rc, "GPUNode %s: ", v->name ? v->name : "?");
    return rc;
}

int gpunode_read(const json_t *obj, struct gpunode_view *v, struct err *e)
{
    size_t n;
    int rc = read_top(obj, v, &n, e);
    const json_t *gpus = status_gpu_list(obj), *settings = spec_gpu_list(obj);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if ((rc = read_gpu(json_array_get(gpus, i), settings, i, &v->gpus[i], e)) == 0)
            v->n_gpus++;
    if (rc == 0)
        rc = read_mode_condition(json_object_get(obj, "status"), v, e);
    return named(v, rc, e);
}

int gpunode_read_head(const json_t *obj, struct gpunode_view *v, struct err *e)
{
    size_t n;
    int rc = read_top(obj, v, &n, e);
    if (rc == 0)
        rc = read_mode_condition(json_object_get(obj, "status"), v, e);
    v->n_gpus = rc == 0 ? n : 0;
    return named(v, rc, e);
}

int gpunode_read_gpu(const json_t *obj, size_t i, struct gpunode_gpu *gpu, struct err *e)
{
    const json_t *g = json_array_get(status_gpu_list(obj), i);
    int rc = g ? read_gpu(g, spec_gpu_list(obj), i, gpu, e)
               : err_set(e, -EINVAL, "status.gpus: has no GPU %zu", i);
    if (rc < 0)
        err_prefix(e, rc, "GPUNode %s: ", meta_name(obj) ? meta_name(obj) : "?");
    return rc;
}

uint32_t gpunode_same_gpus(const json_t *obj, const json_t *prev)
{
    const json_t *mine = status_gpu_list(obj), *theirs = status_gpu_list(prev);
    uint32_t same = 0;
    if (!prev || spec_gpu_list(obj) != spec_gpu_list(prev))
        return 0;
    for (size_t i = 0; i < json_array_size(mine) && i < GPUNODE_MAX_GPUS; i++)
        if (json_array_get(mine, i) == json_array_get(theirs, i))
            same |= 1u << i;
    return same;
}

/* A GPU's entry and its slices' are built member by member (jdoc_put):
 * json_pack's format scan and key checks were most of the cost of a
 * GPUNode status, written at every change of a node. A string member that
 * is NULL or not UTF-8 makes the entry NULL, as json_pack's result was. */
static json_t *gpunode_slice_new(const struct gpunode_slice *s)
{
    json_t *o = json_object();
    bool ok = jdoc_put(o, "profile", json_string(s->profile), true);
    ok = jdoc_put(o, "start", json_integer((int)s->start), ok);
    ok = jdoc_put(o, "size", json_integer((int)s->size), ok);
    ok = jdoc_put(o, "giID", json_integer((int)s->gi_id), ok);
    ok = jdoc_put(o, "managed", json_boolean(s->managed), ok);
    if (s->device_uuid) {
        ok = jdoc_put(o, "ciID", json_integer(s->ci_id), ok);
        ok = jdoc_put(o, "deviceUUID", json_string(s->device_uuid), ok);
    }
    return jdoc_built(o, ok);
}

json_t *gpunode_gpu_status_new(const struct gpunode_gpu *g)
{
    json_t *slices = json_array();
    for (size_t i = 0; slices && i < g->n_slices; i++)
        if (json_array_append_new(slices, gpunode_slice_new(&g->slices[i]))) {
            json_decref(slices);
            slices = NULL;
        }
    if (!slices)
        return NULL;
    json_t *o = json_object();
    bool ok = jdoc_put(o, "index", json_integer((int)g->index), true);
    ok = jdoc_put(o, "uuid", json_string(g->uuid), ok);
    ok = jdoc_put(o, "product", json_string(g->product ? g->product : ""), ok);
    ok = jdoc_put(o, "model", json_string(g->model ? g->model : ""), ok);
    ok = jdoc_put(o, "memoryMiB", json_integer((json_int_t)g->memory_mib), ok);
    ok = jdoc_put(o, "migMode", json_string(g->mig_mode ? g->mig_mode : "Unsupported"), ok);
    ok = jdoc_put(o, "slices", slices, ok);
    if (ok && g->has_active)
        jdoc_set(o, "mode", json_string(gpunode_mode_name(g->active)));
    if (ok && g->clients)
        jdoc_set(o, "clients", json_incref((json_t *)g->clients));
    return jdoc_built(o, ok);
}

static json_t *mode_condition_new(const struct gpunode_view *v)
{
    json_t *c = json_pack("{s:s, s:s, s:s, s:s}", "type", GPUNODE_CONDITION_MODE, "status",
                          "True", "reason", "SlicesInUse", "message", v->mode_pending);
    if (c && v->mode_pending_since)
        jdoc_set(c, "lastTransitionTime", json_string(v->mode_pending_since));
    return c;
}

/* The GPUs' values of one field in one line, for a printer column (a
 * column's JSONPath gives only its first match): distinct values in GPU
 * order joined by ",", each after its count ("2xA100-40GB") when counted
 * and it occurs more than once. */
static json_t *summary_new(const struct gpunode_view *v,
                           const char *(*field)(const struct gpunode_gpu *), bool counted)
{
    char text[GPUNODE_MAX_GPUS * 48] = "";
    size_t used = 0;
    for (size_t i = 0; i < v->n_gpus; i++) {
        const char *val = field(&v->gpus[i]);
        bool seen = !*val;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(field(&v->gpus[j]), val) == 0;
        if (seen) /* written at its first GPU (counted there), or empty */
            continue;
        size_t n = 1;
        for (size_t j = i + 1; j < v->n_gpus; j++)
            n += strcmp(field(&v->gpus[j]), val) == 0;
        int w = counted && n > 1 ? snprintf(text + used, sizeof text - used, "%s%zux%s",
                                            used ? "," : "", n, val)
                                 : snprintf(text + used, sizeof text - used, "%s%s",
                                            used ? "," : "", val);
        if (w < 0 || (size_t)w >= sizeof text - used)
            break;
        used += (size_t)w;
    }
    return json_string(text);
}

static const char *gpu_model(const struct gpunode_gpu *g)
{
    return g->model ? g->model : "";
}

static const char *gpu_mig_mode(const struct gpunode_gpu *g)
{
    return g->mig_mode ? g->mig_mode : "Unsupported";
}

static const char *gpu_mode(const struct gpunode_gpu *g)
{
    return g->has_active ? gpunode_mode_name(g->active) : "";
}

json_t *gpunode_status_of(const struct gpunode_view *v, json_t *const *gpus)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < v->n_gpus; i++)
        if (json_array_append(list, gpus[i])) {
            json_decref(list);
            list = NULL;
        }
    if (!list)
        return NULL;
    json_t *st = json_object();
    bool ok = jdoc_put(st, "gpus", list, true);
    ok = jdoc_put(st, "models", summary_new(v, gpu_model, true), ok);
    ok = jdoc_put(st, "migModes", summary_new(v, gpu_mig_mode, false), ok);
    ok = jdoc_put(st, "modes", summary_new(v, gpu_mode, false), ok);
    if (v->boot_id)
        ok = jdoc_put(st, "bootID", json_string(v->boot_id), ok);
    st = jdoc_built(st, ok);
    json_t *cond = st && v->mode_pending ? mode_condition_new(v) : NULL;
    if (cond)
        jdoc_set(st, "conditions", json_pack("[o]", cond));
    return st;
}

json_t *gpunode_status_new(const struct gpunode_view *v)
{
    json_t *gpus[GPUNODE_MAX_GPUS] = {NULL};
    bool built = true;
    for (size_t i = 0; i < v->n_gpus; i++)
        built = built && (gpus[i] = gpunode_gpu_status_new(&v->gpus[i])) != NULL;
    json_t *st = built ? gpunode_status_of(v, gpus) : NULL;
    for (size_t i = 0; i < v->n_gpus; i++)
        json_decref(gpus[i]);
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
