/*
 * The workload controllers' shared pieces (see workloads.h).
 */
#include "cluster/workloads.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/meta.h"
#include "cluster/objstate.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/jdoc.h"
#include "util/objkey.h"

struct workloads_expectations {
    struct informer *pods;
    clock_now_fn now_ns;
    void *clock_ctx;
    pthread_mutex_t lock;
    json_t *owners; /* owner key -> {pod name: {"uid": s|null, "deleted": b, "at": ns}} */
    json_t *statuses; /* owner key -> {"rv": the version written over, "at": ns} */
};

int workloads_expectations_new(const struct workloads_config *cfg,
                               struct workloads_expectations **out, struct err *e)
{
    struct workloads_expectations *x = alloc_calloc(1, sizeof *x);
    if (!(x->owners = json_object()) || !(x->statuses = json_object())) {
        json_decref(x->owners);
        free(x);
        return err_set(e, -ENOMEM, "expectations: out of memory");
    }
    x->pods = cfg->pods;
    x->now_ns = cfg->now_ns ? cfg->now_ns : clock_realtime_now;
    x->clock_ctx = cfg->clock_ctx;
    pthread_mutex_init(&x->lock, NULL);
    *out = x;
    return 0;
}

void workloads_expectations_free(struct workloads_expectations *x)
{
    if (!x)
        return;
    json_decref(x->owners);
    json_decref(x->statuses);
    pthread_mutex_destroy(&x->lock);
    free(x);
}

void workloads_expectations_executed(struct workloads_expectations *x, const char *owner_key,
                                     const struct action *a, int rc, const json_t *result)
{
    bool created = a->kind == ACTION_CREATE, deleted = a->kind == ACTION_DELETE;
    if (rc != 0 || (!created && !deleted) || !a->res || strcmp(a->res->plural, "pods") != 0 ||
        a->res->group[0] != '\0')
        return;
    const char *name = created ? meta_name(result) : a->name;
    if (!name)
        return;
    json_t *entry = json_pack("{s:s?, s:b, s:I}", "uid", deleted ? a->uid : NULL, "deleted",
                              deleted, "at", (json_int_t)x->now_ns(x->clock_ctx));
    pthread_mutex_lock(&x->lock);
    json_t *pods = json_object_get(x->owners, owner_key);
    if (!pods)
        jdoc_set(x->owners, owner_key, pods = json_object());
    jdoc_set(pods, name, entry);
    pthread_mutex_unlock(&x->lock);
}

/* Whether the cache shows the write an entry remembers. */
static bool satisfied(struct workloads_expectations *x, const char *ns, const char *name,
                      const json_t *entry)
{
    json_t *pod = NULL;
    bool present = informer_get(x->pods, ns, name, &pod) == 0;
    bool yes;
    if (!json_is_true(json_object_get(entry, "deleted"))) {
        yes = present;
    } else {
        const char *uid = json_string_value(json_object_get(entry, "uid"));
        yes = !present || objstate_deleting(pod) || (uid && meta_uid(pod) &&
                                                     strcmp(uid, meta_uid(pod)) != 0);
    }
    json_decref(pod);
    return yes;
}

bool workloads_expecting(struct workloads_expectations *x, const char *owner_key, const char *ns)
{
    int64_t now = x->now_ns(x->clock_ctx);
    pthread_mutex_lock(&x->lock);
    json_t *pods = json_object_get(x->owners, owner_key);
    const char *name;
    json_t *entry, *tmp;
    json_object_foreach_safe(pods, tmp, name, entry) {
        int64_t at = json_integer_value(json_object_get(entry, "at"));
        if (now - at >= WORKLOADS_EXPECT_TIMEOUT_NS || satisfied(x, ns, name, entry))
            json_object_del(pods, name);
    }
    bool waiting = json_object_size(pods) > 0;
    if (pods && !waiting)
        json_object_del(x->owners, owner_key);
    pthread_mutex_unlock(&x->lock);
    return waiting;
}

void workloads_expectations_forget(struct workloads_expectations *x, const char *owner_key)
{
    pthread_mutex_lock(&x->lock);
    json_object_del(x->owners, owner_key);
    json_object_del(x->statuses, owner_key);
    pthread_mutex_unlock(&x->lock);
}

void workloads_expectations_status(struct workloads_expectations *x, const char *owner_key,
                                   const struct action *a, int rc)
{
    const char *rv = meta_resource_version(a->body);
    if (rc != 0 || a->kind != ACTION_UPDATE_STATUS || !rv)
        return;
    json_t *entry = json_pack("{s:s, s:I}", "rv", rv, "at",
                              (json_int_t)x->now_ns(x->clock_ctx));
    pthread_mutex_lock(&x->lock);
    jdoc_set(x->statuses, owner_key, entry);
    pthread_mutex_unlock(&x->lock);
}

bool workloads_status_behind(struct workloads_expectations *x, const char *owner_key,
                             const json_t *obj)
{
    int64_t now = x->now_ns(x->clock_ctx);
    const char *rv = meta_resource_version(obj);
    pthread_mutex_lock(&x->lock);
    const json_t *entry = json_object_get(x->statuses, owner_key);
    const char *over = json_string_value(json_object_get(entry, "rv"));
    bool behind = over && rv && strcmp(over, rv) == 0 &&
                  now - json_integer_value(json_object_get(entry, "at")) <
                      WORKLOADS_EXPECT_TIMEOUT_NS;
    if (entry && !behind)
        json_object_del(x->statuses, owner_key);
    pthread_mutex_unlock(&x->lock);
    return behind;
}

json_t *workloads_controlled(struct informer *inf, const char *uid)
{
    json_t *all = NULL, *out = json_array();
    if (!out)
        return NULL;
    if (!uid)
        return out;
    /* A failure (no owner index is a wiring mistake) must not read as "controls
     * nothing": a ReplicaSet would create its pods again. */
    if (informer_by_index(inf, OBJSTATE_INDEX_OWNER, uid, &all) != 0) {
        json_decref(out);
        return NULL;
    }
    size_t i;
    json_t *obj;
    json_array_foreach(all, i, obj) {
        const char *cuid = json_string_value(json_object_get(meta_controller_ref(obj), "uid"));
        if (cuid && strcmp(cuid, uid) == 0 && json_array_append(out, obj) != 0) {
            json_decref(out);
            out = NULL;
            break;
        }
    }
    json_decref(all);
    return out;
}

int workloads_write_counts(struct workloads_owner *o, const json_t *obj, json_t *counts,
                           struct action_list *out, struct err *e)
{
    json_t *copy = jdoc_copy(obj);
    json_t *status = copy ? objstate_status(copy) : NULL;
    if (counts)
        jdoc_set(counts, "observedGeneration",
                 json_integer(objstate_int(obj, "metadata.generation", 0)));
    if (!status || !counts || json_object_update(status, counts) != 0) {
        json_decref(counts);
        json_decref(copy);
        return err_set(e, -ENOMEM, "%s: out of memory", o->def->what);
    }
    json_decref(counts);
    return objstate_write_status(out, o->res, obj, copy, e);
}

json_t *workloads_pod_from_template(const json_t *owner, const json_t *template,
                                    const json_t *extra_labels)
{
    const json_t *tmd = json_object_get(template, "metadata");
    char generate[OBJSTATE_NAME_MAX + 2];
    snprintf(generate, sizeof generate, "%s-", meta_name(owner) ? meta_name(owner) : "pod");
    json_t *labels = jdoc_copy(json_object_get(tmd, "labels"));
    if (!json_is_object(labels)) {
        json_decref(labels);
        labels = json_object();
    }
    json_t *spec = jdoc_copy(json_object_get(template, "spec"));
    json_t *ref = meta_owner_ref(owner, true, true);
    const char *ns = meta_namespace(owner);
    if (!labels || !spec || !ref ||
        (extra_labels && json_object_update(labels, (json_t *)extra_labels) != 0)) {
        json_decref(labels);
        json_decref(spec);
        json_decref(ref);
        return NULL;
    }
    /* json_pack takes the "o" values over, also when it fails. */
    json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s, s:o, s:[o]}, s:o}", "apiVersion", "v1",
                            "kind", "Pod", "metadata", "generateName", generate, "namespace",
                            ns ? ns : "", "labels", labels, "ownerReferences", ref, "spec", spec);
    if (!pod)
        return NULL;
    const json_t *ann = json_object_get(tmd, "annotations");
    if (json_is_object(ann) &&
        json_object_set_new(json_object_get(pod, "metadata"), "annotations",
                            jdoc_copy(ann)) != 0) {
        json_decref(pod);
        return NULL;
    }
    return pod;
}

bool workloads_ref_is(const json_t *ref, const char *group, const char *kind, const char *name)
{
    const char *api = json_string_value(json_object_get(ref, "apiVersion"));
    const char *k = json_string_value(json_object_get(ref, "kind"));
    const char *owner = json_string_value(json_object_get(ref, "name"));
    size_t n = strlen(group);
    return api && k && owner && strncmp(api, group, n) == 0 && api[n] == '/' &&
           strcmp(k, kind) == 0 && (!name || strcmp(owner, name) == 0);
}

void workloads_enqueue_controller(struct loop *l, const json_t *obj, const char *group,
                                  const char *kind)
{
    /* The owner first: most pods have none of this kind (every pod's
     * event asks each workload controller), and the rest is not read. */
    const json_t *ref = meta_controller_ref(obj);
    if (!workloads_ref_is(ref, group, kind, NULL))
        return;
    const char *name = json_string_value(json_object_get(ref, "name"));
    const char *ns = meta_namespace(obj);
    char key[OBJSTATE_KEY_MAX];
    if (!ns)
        return;
    if (objkey_join(key, sizeof key, ns, name) < sizeof key)
        loop_enqueue(l, key);
}

void workloads_enqueue(struct loop *l, const json_t *obj)
{
    char key[OBJSTATE_KEY_MAX];
    if (objstate_key(obj, key, sizeof key) == 0)
        loop_enqueue(l, key);
}

/* ---- workloads_owner ------------------------------------------------------------- */

static int owner_reconcile(void *self, const char *key, int64_t now, struct action_list *out,
                           int64_t *requeue_at, struct err *e)
{
    struct workloads_owner *o = self;
    char ns[OBJSTATE_NAME_MAX], name[OBJSTATE_NAME_MAX];
    json_t *obj = NULL;
    (void)requeue_at;
    int rc = objstate_split_key(key, ns, name, e);
    if (rc < 0)
        return rc;
    if (informer_get(o->objects, ns, name, &obj) != 0) {
        workloads_expectations_forget(o->expect, key);
        return o->def->gone ? o->def->gone(o, ns, name, NULL, out, e) : 0;
    }
    if (!objstate_deleting(obj))
        rc = o->def->decide(o, key, obj, now, out, e);
    else if (o->def->gone)
        rc = o->def->gone(o, ns, name, obj, out, e);
    json_decref(obj);
    return rc;
}

static void owner_executed(void *self, const char *key, const struct action *a, int rc,
                           const json_t *result, const struct err *e)
{
    struct workloads_owner *o = self;
    (void)e;
    workloads_expectations_executed(o->expect, key, a, rc, result);
    if (o->def->waits_for_status && a->res == o->res)
        workloads_expectations_status(o->expect, key, a, rc);
}

int workloads_owner_init(struct workloads_owner *o, const struct workloads_config *cfg,
                         struct informer *objects, const struct workloads_owner_def *def,
                         struct err *e)
{
    if (!cfg->store || !cfg->pods || !objects)
        return err_set(e, -EINVAL, "%s: needs a store and the pods and %s informers",
                       def->what, def->plural);
    struct api_registry *reg = store_registry(cfg->store);
    const struct api_resource *pods = api_registry_find(reg, "", "v1", "pods");
    const struct api_resource *res = api_registry_find(reg, def->group, "v1", def->plural);
    if (!pods || !res)
        return err_set(e, -ENOENT, "%s: the store serves no pods or %s", def->what,
                       def->plural);
    o->cfg = *cfg;
    o->def = def;
    o->objects = objects;
    o->pods_res = pods;
    o->res = res;
    struct loop_config lc = {
        .store = cfg->store,
        .reconciler = {.name = def->loop_name, .self = o, .reconcile = owner_reconcile,
                       .executed = owner_executed, .wants_results = true},
        .component = def->loop_name,
        .now_ns = cfg->now_ns,
        .clock_ctx = cfg->clock_ctx,
    };
    int rc = workloads_expectations_new(cfg, &o->expect, e);
    if (rc == 0)
        rc = loop_new(&lc, &o->loop, e);
    if (rc < 0) {
        workloads_owner_fini(o);
        memset(o, 0, sizeof *o);
    }
    return rc;
}

void workloads_owner_fini(struct workloads_owner *o)
{
    loop_free(o->loop);
    workloads_expectations_free(o->expect);
}

json_t *workloads_owner_pods(struct workloads_owner *o, const char *key, const json_t *obj,
                             bool *expecting)
{
    *expecting = workloads_expecting(o->expect, key, meta_namespace(obj));
    if (o->def->waits_for_status && workloads_status_behind(o->expect, key, obj))
        *expecting = true;
    return workloads_controlled(o->cfg.pods, meta_uid(obj));
}
