/*
 * The decision for one GPUSlice key (see agent.h):
 *
 *   Creating, Created, Ungated -> the slice must be on the device at exactly
 *       spec's placement: made when missing (re-made for Created and Ungated,
 *       agent_recovery.c), a GI left without its CI destroyed first; once it
 *       is there, its CDI spec and its container's ConfigMap are written,
 *       and only then the status (Created, device UUID, ids, boot id)
 *   a failed create -> what it left is destroyed, then Failed with the
 *       device's error
 *   Deleting (the object being deleted, whatever its status says: the
 *       controller's release is the deletion; or a Deleting status) -> the
 *       slice destroyed (an "in use" refusal is retried with backoff and
 *       said in status.message), then its CDI spec removed and the
 *       ConfigMap updated or deleted, then one write: the finalizer
 *       removed (the object's going is the Deleted), or Deleted for a
 *       Deleting status on a live object; a slice that was warm and that a
 *       GPUSlice of its namespace has taken over is left to that one
 *       (agent_warm.c). A restart anywhere in between repeats what is
 *       left: a slice already off the device is not destroyed again.
 *   Warm -> the slice kept, no container's (agent_warm.c)
 *   on a mig-static GPU (agent_mode.c) -> the slice the GPUSlice names is
 *       handed over as above when it is there and the GPUSlice holds it,
 *       else Failed (SliceNotFound, SliceTaken); nothing is made, and on
 *       Deleting nothing is destroyed
 *   Deleted, Failed -> nothing (but the finalizer, when being deleted);
 *       the agent forgets the key
 *
 * Nothing about a slice is decided while a device call on it is still
 * running; the decision asks to come back when it is done (virtual time),
 * or the call's end queues every GPUSlice at its placement (real time),
 * whichever key the call was made for. A device call that failed is not
 * made again before its backoff is over.
 */
#include "agent/agent_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "api/pod_slices.h"
#include "util/alloc.h"
#include "util/hash.h"
#include "util/jdoc.h"
#include "util/objkey.h"

#define CM_SLICES_MAX 64 /* a container asks for at most POD_SLICE_COUNT_MAX */
#define CDI_VERSION "0.6.0"

void agent__requeue(struct agent_decision *d, int64_t at)
{
    if (at == AGENT_RUNNING) /* the call's end queues the keys at its placement */
        return;
    if (at <= 0)
        at = 1;
    loop_requeue_by(d->requeue_at, at);
}

const char *agent__reason_of(int code)
{
    switch (code) {
    case -ENOSPC: return "InsufficientResources";
    case -EBUSY: return "InUse";
    case -EINVAL: return "InvalidArgument";
    case -ENOTSUP: return "NotSupported";
    case -EPERM: return "NoPermission";
    case -ENODEV: return "GPULost";
    case -ETIMEDOUT: return "Timeout";
    case -EAGAIN: return "NotReady";
    default: return "DeviceError";
    }
}

/* ---- status ---- */

static void clear_fields(json_t *status, const struct gpuslice_status *st, unsigned clear)
{
    if ((clear & AGENT_CLEAR_WHY) && !st->reason)
        json_object_del(status, "reason");
    if ((clear & AGENT_CLEAR_WHY) && !st->message)
        json_object_del(status, "message");
    if ((clear & AGENT_CLEAR_DEVICE) && !st->device_uuid)
        json_object_del(status, "deviceUUID");
    if ((clear & AGENT_CLEAR_DEVICE) && !st->has_ids) {
        json_object_del(status, "giID");
        json_object_del(status, "ciID");
    }
}

/* What a status write says (its phase, fields and what it clears), as a
 * hash: the transition time is left out, as it differs between two
 * decisions to make the same move. */
static uint64_t status_intent(const struct gpuslice_status *st, unsigned clear)
{
    char ids[32];
    snprintf(ids, sizeof ids, "%d %u %u %u", st->has_ids, st->gi_id, st->ci_id, clear);
    uint64_t h = hash_field(HASH_INIT, st->phase);
    h = hash_field(hash_field(h, st->device_uuid), st->boot_id);
    h = hash_field(hash_field(h, st->reason), st->message);
    return hash_field(h, ids);
}

/* Whether the store already took the same write (a status, or the
 * finalizer's removal) built from the version the cache still shows: the
 * cache is behind the agent's own write, and sending it again could only
 * be refused (a conflict, or Not Found once the object went). Else notes
 * this one as decided (agent__status_executed says how it went). */
static bool already_sent(struct agent_decision *d, uint64_t intent)
{
    const char *rv = meta_resource_version(d->obj);
    struct agent_note *n = agent__note(d->a, d->key, true);
    if (!rv || !n || strlen(rv) >= sizeof n->status_from)
        return false;
    if (n->status_done && n->status_hash == intent && strcmp(n->status_from, rv) == 0)
        return true;
    snprintf(n->status_from, sizeof n->status_from, "%s", rv);
    n->status_hash = intent;
    n->status_done = false;
    return false;
}

void agent__status_seen(struct agent *a, const char *key)
{
    struct agent_note *n = agent__note(a, key, false);
    if (n)
        n->status_done = false;
}

void agent__status_executed(struct agent *a, const char *key, const json_t *sent, int rc)
{
    struct agent_note *n = agent__note(a, key, false);
    const char *rv = meta_resource_version(sent);
    if (!n || !rv || strcmp(n->status_from, rv) != 0)
        return;
    n->status_done = rc == 0;
    if (rc < 0)
        n->status_from[0] = '\0';
}

/* Whether the string field key of status says value (NULL: nothing to
 * set, so it stays as it is). */
static bool says(const json_t *status, const char *key, const char *value)
{
    return !value || jdoc_string_is(json_object_get(status, key), value);
}

json_t *agent__with_status(const json_t *obj, const struct gpuslice_status *st, unsigned clear,
                          const char *now)
{
    json_t *copy = gpuslice_with_status(obj, st, now);
    if (copy)
        clear_fields(json_object_get(copy, "status"), st, clear);
    return copy;
}

/* Field by field, what gpuslice_with_status and clear_fields would make of
 * the status. Most writes decided again after the agent's own (a key's
 * echo) change nothing, and a copy of the object to find that out was most
 * of their cost. */
bool agent__status_unchanged(const json_t *obj, const struct gpuslice_status *st, unsigned clear)
{
    const json_t *status = json_object_get(obj, "status");
    if (!json_is_object(status) || !says(status, "phase", st->phase) ||
        !says(status, "deviceUUID", st->device_uuid) || !says(status, "bootID", st->boot_id) ||
        !says(status, "reason", st->reason) || !says(status, "message", st->message) ||
        !says(status, "warmUntil", st->warm_until))
        return false;
    if (st->has_ids) {
        const json_t *gi = json_object_get(status, "giID"), *ci = json_object_get(status, "ciID");
        if (!json_is_integer(gi) || json_integer_value(gi) != st->gi_id ||
            !json_is_integer(ci) || json_integer_value(ci) != st->ci_id)
            return false;
    }
    bool why = clear & AGENT_CLEAR_WHY, device = clear & AGENT_CLEAR_DEVICE;
    return !(why && !st->reason && json_object_get(status, "reason")) &&
           !(why && !st->message && json_object_get(status, "message")) &&
           !(device && !st->device_uuid && json_object_get(status, "deviceUUID")) &&
           !(device && !st->has_ids &&
             (json_object_get(status, "giID") || json_object_get(status, "ciID")));
}

int agent__set_status(struct agent_decision *d, enum slice_phase to,
                      const struct gpuslice_status *st, unsigned clear, struct err *e)
{
    bool moves = to != d->phase;
    int rc = moves ? lifecycle_transition(d->phase, to, e) : 0;
    if (rc < 0)
        return err_prefix(e, rc, "agent: GPUSlice %s: ", d->key);
    struct gpuslice_status with = *st;
    with.phase = lifecycle_phase_name(to);
    if ((!moves && agent__status_unchanged(d->obj, &with, clear)) ||
        already_sent(d, status_intent(&with, clear)))
        return 0;
    char now[META_TIME_LEN];
    meta_format_time(d->now, now);
    json_t *copy = agent__with_status(d->obj, &with, clear, moves ? now : NULL);
    if (!copy)
        return err_set(e, -ENOMEM, "agent: out of memory");
    return action_update_status(d->out, d->a->res_slices, copy, e);
}

/* ---- device calls ---- */

int agent__device_op(struct agent_decision *d, enum agent_op op, const struct agent_place *at,
                     const char *profile, bool recreate, struct err *e)
{
    const struct agent_note *n = agent__note(d->a, d->key, false);
    if (n && n->retry_at > d->now) { /* the last call failed: back off */
        agent__requeue(d, n->retry_at);
        return 0;
    }
    /* Built member by member (jdoc_put), as the ConfigMap below: a NULL
     * member makes params NULL, which agent__external refuses. */
    json_t *params = json_object();
    bool ok = jdoc_put(params, "key", json_string(d->key), true);
    ok = jdoc_put(params, "gpuUUID", json_string(d->v.spec.gpu_uuid), ok);
    ok = jdoc_put(params, "profile", json_string(profile), ok);
    ok = jdoc_put(params, "start", json_integer((int)at->start), ok);
    ok = jdoc_put(params, "recreate", json_boolean(recreate), ok);
    params = jdoc_built(params, ok);
    agent__requeue(d, d->now);
    return agent__external(d->out, op, params, e);
}

/* ---- the container's ConfigMap ---- */

struct cm_entry {
    unsigned index;
    const char *name, *uuid;
};

static int cm_entry_cmp(const void *x, const void *y)
{
    const struct cm_entry *a = x, *b = y;
    if (a->index != b->index)
        return a->index < b->index ? -1 : 1;
    return strcmp(a->name, b->name);
}

int agent__slice_view(struct agent *a, const json_t *obj, struct gpuslice_view *v,
                      struct err *e)
{
    assert(mutex_held(&a->lock));
    return gpuslice_read_memo(a->slice_views, obj, v, e);
}

/* The MIG UUID of s's slice when it is on the device and done, else NULL. */
static const char *uuid_on_device(struct agent *a, const json_t *s, int64_t now)
{
    struct gpuslice_view v;
    enum slice_phase phase;
    struct agent_place at;
    if (agent__slice_view(a, s, &v, NULL) < 0 || lifecycle_phase_parse(v.status.phase, &phase, NULL) < 0 ||
        ((phase = lifecycle_seen(phase, v.deleting)) != SLICE_CREATING &&
         phase != SLICE_CREATED && phase != SLICE_UNGATED) ||
        agent__place_of(a, &v, &at, NULL) < 0 || agent__pending_until(a, at.gpu, at.start, now))
        return NULL;
    const struct device_slice *ds = agent__slice_at(a, at.gpu, at.start);
    if (!ds || ds->profile_id != at.profile_id || !ds->uuid[0] ||
        (phase == SLICE_CREATING && !agent__adoptable(a, ds)))
        return NULL;
    return ds->uuid;
}

/* The items' UUIDs (or names) joined with ',': a new string the caller
 * frees; NULL when out of memory. */
static char *join(const struct cm_entry *items, size_t n, bool uuids)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(uuids ? items[i].uuid : items[i].name) + 1;
    char *out = alloc_malloc(len), *p = out;
    *p = '\0';
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? "," : "", uuids ? items[i].uuid : items[i].name);
    return out;
}

/* What the ConfigMap should hold: a share's env (shared), else the MIG
 * UUIDs and the names of the n slices that name it, joined (new strings). */
struct cm_want {
    json_t *shared;
    char *uuids, *names;
    size_t n;
};

static void cm_want_free(struct cm_want *w)
{
    json_decref(w->shared);
    free(w->uuids);
    free(w->names);
}

/* w from the slices (borrowed from the array the caller keeps) that name
 * d's ConfigMap; -E2BIG when there are too many. */
static int config_map_want(struct agent_decision *d, const json_t *slices, bool exclude_self,
                           struct cm_want *w, struct err *e)
{
    struct cm_entry items[CM_SLICES_MAX];
    *w = (struct cm_want){0};
    size_t i;
    const json_t *s;
    json_array_foreach(slices, i, s) {
        const char *ns = meta_namespace(s), *name = meta_name(s);
        if (!ns || strcmp(ns, d->v.ns) != 0 || (exclude_self && strcmp(name, d->v.name) == 0))
            continue;
        /* A container with a share has that alone (the webhook denies a
         * share beside slices): its env is the share's. */
        if ((w->shared = agent__share_env(d->a, s))) {
            w->n = 1;
            return 0;
        }
        const char *uuid = uuid_on_device(d->a, s, d->now);
        if (!uuid)
            continue;
        if (w->n == CM_SLICES_MAX)
            return err_set(e, -E2BIG, "agent: more than %d slices fill ConfigMap %s/%s",
                           CM_SLICES_MAX, d->v.ns, d->v.spec.config_map);
        unsigned index = (unsigned)json_integer_value(
            json_object_get(json_object_get(s, "spec"), "index"));
        items[w->n++] = (struct cm_entry){index, name, uuid};
    }
    qsort(items, w->n, sizeof items[0], cm_entry_cmp);
    w->uuids = join(items, w->n, true);
    w->names = join(items, w->n, false);
    return 0;
}

/* Whether the cached ConfigMap holds w's slices already (as json_equal
 * has it): most syncs are a hand-over decided again at its own echo, and
 * building the data to compare it was most of their cost. */
static bool config_map_holds(const json_t *cached, const struct cm_want *w)
{
    const json_t *data = json_object_get(cached, "data");
    return !w->shared && json_object_size(data) == 3 &&
           jdoc_string_is(json_object_get(data, "NVIDIA_VISIBLE_DEVICES"), w->uuids) &&
           jdoc_string_is(json_object_get(data, "CUDA_VISIBLE_DEVICES"), w->uuids) &&
           jdoc_string_is(json_object_get(data, "GPUSLICE_SLICES"), w->names);
}

/* w as the ConfigMap's data: a new object; NULL when out of memory. */
static json_t *config_map_data(const struct cm_want *w)
{
    if (w->shared)
        return json_incref(w->shared);
    json_t *data = json_object();
    bool ok = jdoc_put(data, "NVIDIA_VISIBLE_DEVICES", json_string(w->uuids), true);
    ok = jdoc_put(data, "CUDA_VISIBLE_DEVICES", json_string(w->uuids), ok);
    ok = jdoc_put(data, "GPUSLICE_SLICES", json_string(w->names), ok);
    return jdoc_built(data, ok);
}

/* metadata for a ConfigMap the agent writes: its name, its labels and the
 * pod as owner (the GPUSlice's own controller reference). */
static json_t *config_map_meta(struct agent_decision *d)
{
    json_t *m = json_object(), *labels = json_object();
    bool ok = jdoc_put(m, "name", json_string(d->v.spec.config_map), true);
    ok = jdoc_put(m, "namespace", json_string(d->v.ns), ok);
    ok = jdoc_put(labels, AGENT_LABEL_NODE, json_string(d->a->node), ok);
    ok = jdoc_put(labels, GPUSLICE_LABEL_MANAGED, json_string("true"), ok);
    ok = jdoc_put(m, "labels", labels, ok);
    const json_t *owner = meta_controller_ref(d->obj);
    if (owner) {
        json_t *owners = json_array();
        ok = json_array_append(owners, (json_t *)owner) == 0 && ok;
        ok = jdoc_put(m, "ownerReferences", owners, ok);
    }
    return jdoc_built(m, ok);
}

/* Whether the same ConfigMap write (intent) was decided for d's key from
 * what the cache shows now (cached's version, or no ConfigMap), less than
 * AGENT_CONFIG_MAP_NOTE_NS ago: the cache is behind the agent's own write,
 * and sending it again could only be refused (a create as AlreadyExists,
 * a delete as Not Found: 0.05-0.14 per pod of an HTTP burst, the key
 * decided again on its status write's event before the ConfigMap's own).
 * The key comes back when the note runs out. Else notes this one, to hold
 * back once the store takes it (agent__config_map_taken). */
static bool config_map_sent(struct agent_decision *d, const json_t *cached, uint64_t intent)
{
    const char *rv = cached ? meta_resource_version(cached) : "";
    struct agent_note *n = agent__note(d->a, d->key, true);
    if (!rv || !n || strlen(rv) >= sizeof n->config_map_from)
        return false;
    int64_t until = n->config_map_at + AGENT_CONFIG_MAP_NOTE_NS;
    if (n->config_map_noted && d->now < until && n->config_map_hash == intent &&
        strcmp(n->config_map_from, rv) == 0) {
        agent__requeue(d, until);
        return true;
    }
    n->config_map_noted = false;
    n->config_map_deciding = true;
    snprintf(n->config_map_from, sizeof n->config_map_from, "%s", rv);
    n->config_map_hash = intent;
    n->config_map_at = d->now;
    return false;
}

void agent__config_map_seen(struct agent *a, const char *key)
{
    struct agent_note *n = agent__note(a, key, false);
    if (n)
        n->config_map_noted = n->config_map_deciding = false;
}

void agent__config_map_taken(struct agent *a, const char *key)
{
    struct agent_note *n = agent__note(a, key, false);
    if (n && n->config_map_deciding) {
        n->config_map_deciding = false;
        n->config_map_noted = true;
    }
}

/* What writing data says, as a hash (NULL data: the deletion). */
static uint64_t config_map_intent(const json_t *data)
{
    if (!data)
        return hash_field(HASH_INIT, "delete");
    uint64_t h = hash_field(HASH_INIT, "write");
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)data, k, v)
        h = hash_field(hash_field(h, k), json_string_value(v));
    return h;
}

/* Brings the cached ConfigMap to `data` (taken over): update it, create it,
 * or take over one of that name the cache does not show (a merge patch
 * that adds the label the cache selects by). */
static int write_config_map(struct agent_decision *d, const json_t *cached, json_t *data,
                            struct err *e)
{
    struct agent *a = d->a;
    if (cached) {
        if (json_equal(json_object_get(cached, "data"), data) ||
            config_map_sent(d, cached, config_map_intent(data))) {
            json_decref(data);
            return 0;
        }
        json_t *copy = meta_copy_for_write(cached, NULL);
        if (!copy || json_object_set_new(copy, "data", data) < 0) {
            json_decref(copy);
            return err_set(e, -ENOMEM, "agent: out of memory");
        }
        return action_update(d->out, a->res_config_maps, copy, e);
    }
    if (config_map_sent(d, NULL, config_map_intent(data))) {
        json_decref(data);
        return 0;
    }
    json_t *meta = config_map_meta(d);
    json_t *obj = json_object();
    bool ok = jdoc_put(obj, "apiVersion", json_string("v1"), meta != NULL);
    ok = jdoc_put(obj, "kind", json_string("ConfigMap"), ok);
    ok = jdoc_put(obj, "metadata", meta, ok);
    ok = jdoc_put(obj, "data", data, ok);
    if (!(obj = jdoc_built(obj, ok)))
        return err_set(e, -ENOMEM, "agent: out of memory");
    const struct agent_note *n = agent__note(a, d->key, false);
    if (n && n->config_map_foreign)
        return action_patch(d->out, a->res_config_maps, d->v.ns, d->v.spec.config_map,
                            STORE_PATCH_MERGE, obj, e);
    return action_create(d->out, a->res_config_maps, d->v.ns, obj, e);
}

/* The ConfigMap named by spec.configMap lists the MIG UUIDs of every slice
 * that names it and is on the device, in index order; with none left it is
 * deleted. */
int agent__sync_config_map(struct agent_decision *d, bool exclude_self, struct err *e)
{
    struct agent *a = d->a;
    const char *cm = d->v.spec.config_map;
    if (!cm || !*cm)
        return 0;
    json_t *slices = NULL;
    if (informer_by_index(a->slices, AGENT_INDEX_CONFIG_MAP, cm, &slices) < 0)
        return err_set(e, -ENOMEM, "agent: out of memory");
    struct cm_want want;
    int rc = config_map_want(d, slices, exclude_self, &want, e);
    json_t *cached = NULL;
    informer_get(a->config_maps, d->v.ns, cm, &cached);
    if (rc == 0 && want.n == 0) {
        if (cached && !config_map_sent(d, cached, config_map_intent(NULL)))
            rc = action_delete(d->out, a->res_config_maps, d->v.ns, cm, meta_uid(cached), e);
    } else if (rc == 0 && !(cached && config_map_holds(cached, &want))) {
        json_t *data = config_map_data(&want);
        rc = data ? write_config_map(d, cached, data, e)
                  : err_set(e, -ENOMEM, "agent: out of memory");
    }
    cm_want_free(&want);
    json_decref(cached);
    json_decref(slices);
    return rc;
}

/* ---- CDI ---- */

static int write_cdi(struct agent_decision *d, const struct device_slice *s, struct err *e)
{
    char path[AGENT_PATH_MAX], device[2 * GPUSLICE_NAME_MAX], env[DEVICE_UUID_MAX + 32];
    agent__cdi_path(d->a, s->gpu_uuid, s->placement.start, path, sizeof path);
    /* "<namespace>_<name>": slice names repeat across namespaces, and '_'
     * appears in neither. */
    snprintf(device, sizeof device, "%s_%s", d->v.ns, d->v.name);
    snprintf(env, sizeof env, "NVIDIA_VISIBLE_DEVICES=%s", s->uuid);
    json_t *spec = json_pack("{s:s, s:s, s:[{s:s, s:{s:[s]}}]}", "cdiVersion", CDI_VERSION,
                             "kind", AGENT_CDI_KIND, "devices", "name", device,
                             "containerEdits", "env", env);
    json_t *params = spec ? json_pack("{s:s, s:s, s:s, s:o}", "key", d->key, "path", path,
                                      "uuid", s->uuid, "spec", spec)
                          : NULL;
    return agent__external(d->out, AGENT_OP_WRITE_CDI, params, e);
}

int agent__remove_cdi(struct agent_decision *d, struct err *e)
{
    /* Specs are written for the inventory's GPUs only; a path is never made
     * of what a GPUSlice says. */
    const struct device_gpu *g = agent__gpu(d->a, d->v.spec.gpu_uuid);
    if (!g)
        return 0;
    char path[AGENT_PATH_MAX];
    agent__cdi_path(d->a, g->uuid, d->v.spec.start, path, sizeof path);
    return agent__external(d->out, AGENT_OP_REMOVE_CDI,
                           json_pack("{s:s, s:s}", "key", d->key, "path", path), e);
}

/* ---- the phases ---- */

int agent__give_up(struct agent_decision *d, const char *reason, const char *message,
                   struct err *e)
{
    struct gpuslice_status st = {.reason = reason, .message = message};
    int rc = agent__sync_config_map(d, true, e);
    if (rc == 0)
        rc = agent__set_status(d, d->phase == SLICE_UNGATED ? SLICE_UNGATED : SLICE_FAILED, &st,
                               AGENT_CLEAR_DEVICE, e);
    return rc;
}

/* The slice is on the device: its CDI spec, its ConfigMap, then Created. */
static int hand_over(struct agent_decision *d, const struct device_slice *s, struct err *e)
{
    struct agent *a = d->a;
    int rc = 0;
    if (a->cfg.cdi_dir) {
        const struct agent_note *n = agent__note(a, d->key, false);
        if (!n || strcmp(n->cdi_uuid, s->uuid) != 0)
            rc = write_cdi(d, s, e);
    }
    if (rc == 0)
        rc = agent__sync_config_map(d, false, e);
    struct gpuslice_status st = {.device_uuid = s->uuid, .boot_id = a->boot_id,
                                 .has_ids = true, .gi_id = s->gi_id, .ci_id = s->ci_id};
    if (rc == 0)
        rc = agent__set_status(d, d->phase == SLICE_CREATING ? SLICE_CREATED : d->phase, &st,
                               AGENT_CLEAR_WHY, e);
    return rc;
}

/* A slice of a mig-static GPU: handed over when it is there and d's
 * GPUSlice holds it (agent_mode.c); never made, never destroyed. */
static int keep_static(struct agent_decision *d, const struct agent_place *at, struct err *e)
{
    const struct device_slice *s = agent__slice_at(d->a, at->gpu, at->start);
    const struct agent_note *n = agent__note(d->a, d->key, false);
    char why[ERR_MSG_MAX + 2 * GPUSLICE_NAME_MAX], holder[2 * GPUSLICE_NAME_MAX];
    if (!s || s->profile_id != at->profile_id || !s->uuid[0]) {
        snprintf(why, sizeof why, "the mig-static GPU %s has no %s at memory slice %u, and "
                 "gpuslice makes no slice there", d->v.spec.gpu_uuid, d->v.spec.profile, at->start);
        return agent__give_up(d, d->phase == SLICE_CREATING ? "SliceNotFound" : "SliceLost", why,
                              e);
    }
    if (d->phase == SLICE_CREATING && !agent__holder(d->a, d, at, holder, sizeof holder)) {
        snprintf(why, sizeof why, "the %s at memory slice %u of the mig-static GPU %s is held "
                 "by GPUSlice %s", s->profile, at->start, s->gpu_uuid, holder);
        return agent__give_up(d, "SliceTaken", why, e);
    }
    if (n && n->hand_over.code && d->phase != SLICE_UNGATED)
        return agent__give_up(d, "HandOverFailed", agent__failure_msg(&n->hand_over), e);
    return hand_over(d, s, e);
}

static int keep_slice(struct agent_decision *d, struct err *e)
{
    struct agent *a = d->a;
    struct agent_place at;
    struct err why;
    err_clear(&why);
    int rc = agent__place_of(a, &d->v, &at, &why);
    if (rc < 0)
        return agent__give_up(d, rc == -ENODEV ? "GPUNotFound" : "InvalidProfile", why.msg, e);
    int64_t until = agent__pending_until(a, at.gpu, at.start, d->now);
    if (until) {
        agent__requeue(d, until);
        return 0;
    }
    if (agent__static(a, at.gpu))
        return keep_static(d, &at, e);
    if (d->v.spec.existing && d->phase == SLICE_CREATING) {
        snprintf(why.msg, sizeof why.msg, "GPU %s is not mig-static (any more): it has no "
                 "existing slice to hand out", d->v.spec.gpu_uuid);
        return agent__give_up(d, "NotStatic", why.msg, e);
    }
    const struct device_slice *s = agent__slice_at(a, at.gpu, at.start);
    bool exact = s && s->profile_id == at.profile_id;
    if (exact && d->phase == SLICE_CREATING && !agent__adoptable(a, s)) {
        snprintf(why.msg, sizeof why.msg, "%s at %u on %s is a slice gpuslice did not make",
                 s->profile, s->placement.start, s->gpu_uuid);
        return agent__give_up(d, "PlacementTaken", why.msg, e);
    }
    /* A slice there already goes to one GPUSlice: a warm one's heir, or
     * the one that made it; never to a second pod. */
    char holder[2 * GPUSLICE_NAME_MAX];
    if (exact && d->phase == SLICE_CREATING && !agent__holder(a, d, &at, holder, sizeof holder)) {
        snprintf(why.msg, sizeof why.msg, "the %s at memory slice %u of GPU %s is held by "
                 "GPUSlice %.*s", s->profile, at.start, s->gpu_uuid, 300, holder);
        return agent__give_up(d, "SliceTaken", why.msg, e);
    }
    struct agent_note *n = agent__note(a, d->key, false);
    /* A failed hand-over fails a slice no container uses yet; an Ungated
     * one keeps its slice and the write is retried. */
    bool handed = n && n->hand_over.code && d->phase != SLICE_UNGATED;
    if (n && (n->create.code || handed)) {
        if (exact) /* what the failed create left, or the slice not handed over */
            return agent__device_op(d, AGENT_OP_DESTROY, &at, s->profile, false, e);
        if (!n->create.code)
            return agent__give_up(d, "HandOverFailed", agent__failure_msg(&n->hand_over), e);
        if (d->phase != SLICE_CREATING)
            return agent__recreate_failed(d, n, &at, e);
        return agent__give_up(d, agent__reason_of(n->create.code),
                              agent__failure_msg(&n->create), e);
    }
    if (exact && s->uuid[0])
        return hand_over(d, s, e);
    if (exact) /* a GI left without its CI (a create that hung half way) */
        return agent__device_op(d, AGENT_OP_DESTROY, &at, s->profile, false, e);
    if (d->phase != SLICE_CREATING)
        return agent__recreate(d, &at, e);
    return agent__device_op(d, AGENT_OP_CREATE, &at, d->v.spec.profile, false, e);
}

/* The finalizers of obj but the agent's (its first one, as
 * meta_remove_finalizer takes it), shared; JSON null when none is
 * left, as the patch then removes the list. Built from the cached list
 * alone: a copy of the whole metadata to remove one string from it was
 * most of the release's cost. */
static json_t *finalizers_left(const json_t *obj)
{
    const json_t *list = json_object_get(json_object_get(obj, "metadata"), "finalizers");
    json_t *left = json_array();
    bool removed = false, ok = left != NULL;
    size_t i;
    const json_t *f;
    json_array_foreach(list, i, f) {
        const char *name = json_string_value(f);
        if (!removed && name && strcmp(name, GPUSLICE_SLICE_FINALIZER) == 0) {
            removed = true;
            continue;
        }
        ok = ok && json_array_append(left, (json_t *)f) == 0; /* shared: never changed */
    }
    if (!ok) {
        json_decref(left);
        return NULL;
    }
    if (json_array_size(left) == 0) {
        json_decref(left);
        return json_null();
    }
    return left;
}

/* The object is being deleted and its slice is gone from the GPU: let it go.
 * A merge patch replaces the whole finalizer list, so it names the version
 * the list was read from (a precondition): a finalizer someone added since
 * makes it a conflict, decided again from the newer cache, never dropped. */
static int release_finalizer(struct agent_decision *d, struct err *e)
{
    /* Decided again before the cache hears the object went (its
     * ConfigMap's deletion can bring the key back first), the same patch
     * could only be refused as Not Found: it was 0.44 requests per pod of
     * a 1,000-pod burst. */
    if (!meta_has_finalizer(d->obj, GPUSLICE_SLICE_FINALIZER) ||
        already_sent(d, hash_field(HASH_INIT, GPUSLICE_SLICE_FINALIZER)))
        return 0;
    const char *rv = meta_resource_version(d->obj);
    json_t *finalizers = finalizers_left(d->obj);
    json_t *patch = finalizers ? json_pack("{s:{s:s*, s:o}}", "metadata", "resourceVersion", rv,
                                           "finalizers", finalizers)
                               : NULL;
    if (!patch)
        return err_set(e, -ENOMEM, "agent: out of memory");
    return action_patch(d->out, d->a->res_slices, d->v.ns, d->v.name, STORE_PATCH_MERGE, patch,
                        e);
}

int agent__slice_gone(struct agent_decision *d, struct err *e)
{
    if (d->v.deleting)
        return release_finalizer(d, e);
    return agent__set_status(d, SLICE_DELETED, &(struct gpuslice_status){0},
                             AGENT_CLEAR_WHY | AGENT_CLEAR_DEVICE, e);
}

static int remove_slice(struct agent_decision *d, struct err *e)
{
    struct agent *a = d->a;
    struct agent_place at;
    /* A slice that existed before (a mig-static GPU's) stays on the GPU,
     * and so does a warm slice another pod of its namespace took over. */
    bool placed = agent__place_of(a, &d->v, &at, NULL) == 0;
    bool heir = placed && agent__warm_heir(a, d, &at);
    if (placed && !heir && !d->v.spec.existing && !agent__static(a, at.gpu)) {
        int64_t until = agent__pending_until(a, at.gpu, at.start, d->now);
        if (until) {
            agent__requeue(d, until);
            return 0;
        }
        const struct device_slice *s = agent__slice_at(a, at.gpu, at.start);
        if (s && s->profile_id == at.profile_id) {
            const struct agent_note *n = agent__note(a, d->key, false);
            int rc = 0;
            /* Said when the reason changes: a status rewritten on every
             * retry would bring the key back before its backoff. */
            if (n && n->destroy.code &&
                (!d->v.status.reason ||
                 strcmp(d->v.status.reason, agent__reason_of(n->destroy.code)) != 0)) {
                struct gpuslice_status st = {.reason = agent__reason_of(n->destroy.code),
                                             .message = agent__failure_msg(&n->destroy)};
                rc = agent__set_status(d, SLICE_DELETING, &st, 0, e);
            }
            return rc < 0 ? rc : agent__device_op(d, AGENT_OP_DESTROY, &at, s->profile, false, e);
        }
    }
    int rc = a->cfg.cdi_dir && !heir ? agent__remove_cdi(d, e) : 0;
    if (rc == 0)
        rc = agent__sync_config_map(d, false, e);
    return rc < 0 ? rc : agent__slice_gone(d, e);
}

/* A GPUSlice that cannot be read: Failed when its phase allows it, so that
 * the controller hears of it; otherwise there is nothing the agent can do. */
static int unreadable(struct agent_decision *d, const char *why, struct err *e)
{
    const char *phase = json_string_value(json_object_get(json_object_get(d->obj, "status"),
                                                          "phase"));
    if (lifecycle_phase_parse(phase ? phase : "Creating", &d->phase, NULL) < 0 ||
        lifecycle_transition(d->phase, SLICE_FAILED, NULL) < 0)
        return 0;
    return agent__set_status(d, SLICE_FAILED,
                             &(struct gpuslice_status){.reason = "InvalidSpec", .message = why},
                             0, e);
}

static int decide(struct agent_decision *d, struct err *e)
{
    struct agent *a = d->a;
    struct err why;
    err_clear(&why);
    if (agent__slice_view(a, d->obj, &d->v, &why) < 0)
        return unreadable(d, why.msg, e);
    if (strcmp(d->v.spec.node, a->node) != 0 ||
        lifecycle_phase_parse(d->v.status.phase, &d->phase, NULL) < 0)
        return 0;
    if (lifecycle_is_terminal(d->phase)) {
        if (d->v.deleting) /* its note says whether the removal was sent */
            return release_finalizer(d, e);
        agent__note_forget(a, d->key);
        return 0;
    }
    if (!a->have_inventory) /* the discovery queues every slice when it is done */
        return 0;
    if (a->node_busy_until > d->now) {
        agent__requeue(d, a->node_busy_until);
        return 0;
    }
    /* Deleted, by the controller releasing it (its one write) or by the
     * collector following a deleted pod: Deleting, with no status written
     * for it; the finalizer's removal after the destroy is the one write. */
    d->phase = lifecycle_seen(d->phase, d->v.deleting);
    if (d->v.spec.sharing != POD_SHARING_NONE)
        return d->phase == SLICE_DELETING ? agent__remove_share(d, e) : agent__keep_share(d, e);
    if (d->phase == SLICE_WARM)
        return agent__keep_warm(d, e);
    return d->phase == SLICE_DELETING ? remove_slice(d, e) : keep_slice(d, e);
}

int agent__reconcile_slice(struct agent *a, const char *key, int64_t now, struct action_list *out,
                           int64_t *requeue_at, struct err *e)
{
    char ns[WORKQUEUE_KEY_MAX];
    const char *name;
    if (objkey_split(key, ns, sizeof ns, &name) < 0 || !ns[0])
        return err_set(e, -EINVAL, "agent: key \"%s\" is not namespace/name", key);
    json_t *obj = NULL;
    if (informer_get(a->slices, ns, name, &obj) < 0) {
        agent__note_forget(a, key); /* gone: an orphan now, if anything (node key) */
        return 0;
    }
    struct agent_decision d = {.a = a, .key = key, .now = now, .obj = obj, .out = out,
                               .requeue_at = requeue_at};
    int rc = decide(&d, e);
    json_decref(obj);
    return rc;
}
