/*
 * The collector: what the garbage collector, the namespace controller and
 * the CRD finalizer of a real cluster do, as a queue of work items the
 * store's commits feed and mem_store_collect (or auto_collect) drains.
 *
 * - An object whose owners are gone (by uid; a namespaced owner must be in
 *   the dependent's namespace) is deleted; one with a live owner left only
 *   loses the references to the missing ones.
 * - An owner deleted in the foreground (finalizer foregroundDeletion) gets
 *   its dependents deleted, themselves in the foreground when they have
 *   dependents; the finalizer goes once no dependent with
 *   blockOwnerDeletion is left.
 * - An owner deleted with orphan propagation (finalizer orphan) has its uid
 *   removed from its dependents' ownerReferences, then the finalizer goes.
 * - A namespace being deleted is emptied, then its "kubernetes" spec
 *   finalizer goes; a CRD being deleted loses its objects, then its
 *   customresourcecleanup finalizer.
 *
 * - An Event goes once the event TTL passed since its last write, as etcd
 *   expires it for kube-apiserver (--event-ttl, an hour): otherwise every
 *   pod's Scheduled, Started and the like stay for good. Expiries are a
 *   FIFO in write order, timed by a clock that only goes forward (the
 *   store's, its steps back ignored), so a run looks only at the ones due.
 *
 * Each step is an ordinary write (update or delete) with its own
 * resourceVersion and event, so watchers see the collector as they would a
 * controller.
 */
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "store/mem_internal.h"
#include "util/alloc.h"

#define CRD_CLEANUP "customresourcecleanup.apiextensions.k8s.io"

/* A full ring of n items of size bytes (ring, freed) doubled (64 items at
 * first), its items moved to start at 0: the new ring. */
static void *ring_grow(void *ring, size_t *head, size_t *cap, size_t n, size_t size)
{
    size_t bigger = *cap ? 2 * *cap : 64;
    char *v = alloc_malloc(bigger * size);
    for (size_t i = 0; i < n; i++)
        memcpy(v + i * size, (char *)ring + ((*head + i) % *cap) * size, size);
    free(ring);
    *cap = bigger;
    *head = 0;
    return v;
}

int mem__gc_enqueue(struct mem_store *ms, enum mem_work_type type, const char *key)
{
    if (ms->work_n == ms->work_cap)
        ms->work = ring_grow(ms->work, &ms->work_head, &ms->work_cap, ms->work_n,
                             sizeof *ms->work);
    char *k = alloc_strdup(key);
    ms->work[(ms->work_head + ms->work_n) % ms->work_cap] = (struct mem_work){type, k};
    ms->work_n++;
    return 0;
}

static bool gc_pop(struct mem_store *ms, struct mem_work *w)
{
    if (ms->work_n == 0)
        return false;
    *w = ms->work[ms->work_head];
    ms->work_head = (ms->work_head + 1) % ms->work_cap;
    ms->work_n--;
    return true;
}

static void expiry_release(struct mem_expiry *x)
{
    free(x->ns);
    free(x->name);
}

void mem__gc_free(struct mem_store *ms)
{
    struct mem_work w;
    while (gc_pop(ms, &w))
        free(w.key);
    free(ms->work);
    for (size_t i = 0; i < ms->exp_n; i++)
        expiry_release(&ms->expiring[(ms->exp_head + i) % ms->exp_cap]);
    free(ms->expiring);
}

/* --- Event expiry ------------------------------------------------------------ */

/* The expiries' clock: the store's, less its steps back. The embedded
 * cluster runs the store on the wall clock, which may be stepped back
 * (NTP, a person); taken as is, an Event written after such a step would
 * queue behind ones due later than it (the FIFO stops at the first not
 * due) and every TTL would stretch by the step. Counting only the time
 * that went forward keeps the FIFO in deadline order and each TTL the
 * time the store saw pass since the write. Under the store's lock. */
static int64_t expiry_now(struct mem_store *ms)
{
    int64_t now = mem__now(ms);
    if (!ms->exp_clock_set)
        ms->exp_elapsed = now;
    else if (now > ms->exp_seen)
        ms->exp_elapsed += now - ms->exp_seen;
    ms->exp_clock_set = true;
    ms->exp_seen = now;
    return ms->exp_elapsed;
}

static void expiry_push(struct mem_store *ms, const struct mem_doc *d)
{
    if (ms->exp_n == ms->exp_cap)
        ms->expiring = ring_grow(ms->expiring, &ms->exp_head, &ms->exp_cap, ms->exp_n,
                                 sizeof *ms->expiring);
    ms->expiring[(ms->exp_head + ms->exp_n++) % ms->exp_cap] = (struct mem_expiry){
        .at = expiry_now(ms) + ms->cfg.event_ttl_ns, .rv = d->rv, .ns = alloc_strdup(d->ns),
        .name = alloc_strdup(d->name)};
}

/* Deletes the Events whose last write is older than the TTL. */
static int expire_events(struct mem_store *ms, struct err *e)
{
    int64_t now = expiry_now(ms);
    if (!ms->exp_n || ms->expiring[ms->exp_head].at > now)
        return 0; /* most runs: nothing due, and no kind looked for */
    struct mem_kind *k = NULL; /* the Events' kind, found once for all the due */
    for (size_t i = 0; i < ms->n_kinds && !k; i++)
        if (mem__is_event(ms->kinds[i]->res))
            k = ms->kinds[i];
    int rc = 0;
    while (rc != -ENOMEM && ms->exp_n && ms->expiring[ms->exp_head].at <= now) {
        struct mem_expiry x = ms->expiring[ms->exp_head];
        ms->exp_head = (ms->exp_head + 1) % ms->exp_cap;
        ms->exp_n--;
        struct mem_obj *o = k ? mem__find(ms, k->res, x.ns, x.name) : NULL;
        if (o && o->doc->rv == x.rv) /* else written since: a later expiry is queued */
            rc = mem__delete_locked(ms, k->res, x.ns, x.name, &(struct store_delete_opts){0},
                                    NULL, e);
        expiry_release(&x);
    }
    return rc == -ENOMEM ? rc : 0;
}

/* The CRD object serving res ("plural.group"), or NULL for a built-in. */
static struct mem_obj *crd_of(struct mem_store *ms, const struct api_resource *res)
{
    if (res->builtin || !ms->crds)
        return NULL;
    char name[512];
    snprintf(name, sizeof name, "%s.%s", res->plural, res->group);
    return mem__find(ms, ms->crds, NULL, name);
}

void mem__gc_observe(struct mem_store *ms, struct mem_obj *obj, const struct mem_doc *prev,
                     const struct mem_doc *cur, bool removed)
{
    const struct api_resource *res = cur->res;
    if (removed) {
        for (uint32_t i = 0; i < obj->n_deps; i++)
            mem__gc_enqueue(ms, MEM_WORK_DEPENDENT, obj->deps[i]->doc->uid);
        for (size_t i = 0; i < cur->n_owners; i++) {
            struct mem_obj *owner = mem__find_uid(ms, cur->owners[i]);
            if (owner && owner->doc->deleting && owner->doc->foreground)
                mem__gc_enqueue(ms, MEM_WORK_OWNER, cur->owners[i]);
        }
        if (res->namespaced && ms->namespaces && mem__ns_count(ms, cur->ns) == 0) {
            struct mem_obj *nso = mem__find(ms, ms->namespaces, NULL, cur->ns);
            if (nso && nso->doc->deleting)
                mem__gc_enqueue(ms, MEM_WORK_NAMESPACE, cur->ns);
        }
        struct mem_kind *k = mem__kind_of(ms, res);
        struct mem_obj *crd = crd_of(ms, res);
        if (k && k->objs.n == 0 && crd && crd->doc->deleting)
            mem__gc_enqueue(ms, MEM_WORK_CRD, crd->doc->name);
        return;
    }
    if (ms->cfg.event_ttl_ns > 0 && mem__is_event(res))
        expiry_push(ms, cur);
    bool newly_deleting = cur->deleting && (!prev || !prev->deleting);
    if (cur->deleting && (cur->foreground || cur->orphan) &&
        (newly_deleting || cur->foreground != prev->foreground || cur->orphan != prev->orphan))
        mem__gc_enqueue(ms, MEM_WORK_OWNER, cur->uid);
    if (newly_deleting && res == ms->namespaces)
        mem__gc_enqueue(ms, MEM_WORK_NAMESPACE, cur->name);
    if (newly_deleting && res == ms->crds)
        mem__gc_enqueue(ms, MEM_WORK_CRD, cur->name);
    bool owners_changed = !prev || prev->n_owners != cur->n_owners;
    for (size_t i = 0; !owners_changed && i < cur->n_owners; i++)
        owners_changed = strcmp(prev->owners[i], cur->owners[i]) != 0;
    if (cur->n_owners > 0 && owners_changed)
        mem__gc_enqueue(ms, MEM_WORK_DEPENDENT, cur->uid);
    /* An owner waiting in the foreground may be unblocked by a dependent
     * that dropped it. */
    for (size_t i = 0; prev && owners_changed && i < prev->n_owners; i++) {
        struct mem_obj *owner = mem__find_uid(ms, prev->owners[i]);
        if (owner && owner->doc->deleting && owner->doc->foreground)
            mem__gc_enqueue(ms, MEM_WORK_OWNER, prev->owners[i]);
    }
}

/* Rewrites obj's ownerReferences keeping those keep() accepts. */
static int rewrite_owners(struct mem_store *ms, struct mem_obj *obj,
                          bool (*keep)(struct mem_store *ms, const struct mem_doc *dep,
                                       const json_t *ref, const void *ctx),
                          const void *ctx, struct err *e)
{
    json_t *cur = mem__doc_json(obj->doc);
    if (!cur)
        return err_set(e, -ENOMEM, "out of memory");
    json_t *md = json_object_get(cur, "metadata");
    json_t *refs = json_object_get(md, "ownerReferences");
    for (size_t i = json_array_size(refs); i-- > 0;)
        if (!keep(ms, obj->doc, json_array_get(refs, i), ctx))
            json_array_remove(refs, i);
    if (json_array_size(refs) == 0)
        json_object_del(md, "ownerReferences");
    static const struct store_write_opts plain;
    return mem__update_locked(ms, obj->doc->res, obj->doc->ns, cur, &plain, NULL, e);
}

enum owner_state { OWNER_ABSENT, OWNER_WAITING, OWNER_SOLID };

static enum owner_state owner_state(struct mem_store *ms, const struct mem_doc *dep,
                                    const char *uid)
{
    struct mem_obj *owner = mem__find_uid(ms, uid);
    if (!owner)
        return OWNER_ABSENT;
    const struct api_resource *ores = owner->doc->res;
    /* an owner is looked for in the dependent's namespace only */
    if (ores->namespaced && (!dep->res->namespaced || strcmp(owner->doc->ns, dep->ns) != 0))
        return OWNER_ABSENT;
    if (owner->doc->deleting && owner->doc->foreground)
        return OWNER_WAITING;
    return OWNER_SOLID;
}

static bool keep_solid(struct mem_store *ms, const struct mem_doc *dep, const json_t *ref,
                       const void *ctx)
{
    (void)ctx;
    const char *uid = json_string_value(json_object_get(ref, "uid"));
    return uid && owner_state(ms, dep, uid) == OWNER_SOLID;
}

static bool keep_other(struct mem_store *ms, const struct mem_doc *dep, const json_t *ref,
                       const void *ctx)
{
    (void)ms;
    (void)dep;
    const char *uid = json_string_value(json_object_get(ref, "uid"));
    return !uid || strcmp(uid, ctx) != 0;
}

static int delete_obj(struct mem_store *ms, struct mem_obj *obj, enum store_propagation p,
                      struct err *e)
{
    struct store_delete_opts o = {.propagation = p};
    const struct mem_doc *d = obj->doc;
    return mem__delete_locked(ms, d->res, d->ns, d->name, &o, NULL, e);
}

static int check_dependent(struct mem_store *ms, const char *uid, struct err *e)
{
    struct mem_obj *obj = mem__find_uid(ms, uid);
    if (!obj || obj->doc->n_owners == 0)
        return 0;
    size_t solid = 0, waiting = 0, absent = 0;
    for (size_t i = 0; i < obj->doc->n_owners; i++) {
        switch (owner_state(ms, obj->doc, obj->doc->owners[i])) {
        case OWNER_SOLID:
            solid++;
            break;
        case OWNER_WAITING:
            waiting++;
            break;
        case OWNER_ABSENT:
            absent++;
            break;
        }
    }
    if (solid > 0)
        return waiting + absent > 0 ? rewrite_owners(ms, obj, keep_solid, NULL, e) : 0;
    if (obj->doc->deleting)
        return 0;
    enum store_propagation p = STORE_PROPAGATE_DEFAULT;
    if (waiting > 0 && obj->n_deps > 0)
        p = STORE_PROPAGATE_FOREGROUND;
    return delete_obj(ms, obj, p, e);
}

/* Copies the uids of obj's dependents: the writes below change the list. */
static char **dependent_uids(const struct mem_obj *obj, size_t *n)
{
    char **uids = alloc_calloc(obj->n_deps + 1, sizeof *uids);
    *n = 0;
    for (uint32_t i = 0; uids && i < obj->n_deps; i++)
        if ((uids[*n] = alloc_strdup(obj->deps[i]->doc->uid)))
            (*n)++;
    return uids;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static bool blocks_owner(struct mem_store *ms, const struct mem_obj *dep, const char *owner_uid)
{
    json_t *d = mem__doc_json(dep->doc);
    const json_t *refs = json_object_get(json_object_get(d, "metadata"), "ownerReferences");
    bool blocks = false;
    for (size_t i = 0; i < json_array_size(refs) && !blocks; i++) {
        const json_t *r = json_array_get(refs, i);
        const char *uid = json_string_value(json_object_get(r, "uid"));
        blocks = uid && !strcmp(uid, owner_uid) &&
                 json_is_true(json_object_get(r, "blockOwnerDeletion"));
    }
    json_decref(d);
    (void)ms;
    return blocks;
}

static int drop_finalizer(struct mem_store *ms, struct mem_obj *obj, const char *finalizer,
                          struct err *e)
{
    json_t *cur = mem__doc_json(obj->doc);
    if (!cur)
        return err_set(e, -ENOMEM, "out of memory");
    meta_remove_finalizer(cur, finalizer);
    static const struct store_write_opts plain;
    return mem__update_locked(ms, obj->doc->res, obj->doc->ns, cur, &plain, NULL, e);
}

static int process_owner(struct mem_store *ms, const char *uid, struct err *e)
{
    struct mem_obj *obj = mem__find_uid(ms, uid);
    if (!obj || !obj->doc->deleting)
        return 0;
    size_t n;
    char **deps = dependent_uids(obj, &n);
    if (!deps)
        return err_set(e, -ENOMEM, "out of memory");
    int rc = 0;
    bool orphan = obj->doc->orphan;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct mem_obj *dep = mem__find_uid(ms, deps[i]);
        if (!dep)
            continue;
        rc = orphan ? rewrite_owners(ms, dep, keep_other, uid, e) : check_dependent(ms, deps[i], e);
    }
    free_strings(deps, n);
    if (rc != 0 || !(obj = mem__find_uid(ms, uid)))
        return rc;
    if (orphan)
        return drop_finalizer(ms, obj, "orphan", e);
    if (!obj->doc->foreground)
        return 0;
    for (uint32_t i = 0; i < obj->n_deps; i++)
        if (blocks_owner(ms, obj->deps[i], uid))
            return 0; /* the removal of that dependent brings us back */
    return drop_finalizer(ms, obj, "foregroundDeletion", e);
}

/* The keys ("ns\0name") of the objects of kind k in namespace ns (NULL:
 * all): deleting changes the table, so the walk works on a copy. */
static char **kind_keys(const struct mem_kind *k, const char *ns, size_t *n)
{
    char **keys = alloc_calloc(k->objs.n + 1, sizeof *keys);
    *n = 0;
    for (size_t s = 0; keys && s < k->objs.cap; s++) {
        const struct mem_obj *o = k->objs.slots[s].item;
        if (!o || (ns && strcmp(o->doc->ns, ns) != 0))
            continue;
        size_t nl = strlen(o->doc->ns) + 1, ml = strlen(o->doc->name) + 1;
        if ((keys[*n] = alloc_malloc(nl + ml))) {
            memcpy(keys[*n], o->doc->ns, nl);
            memcpy(keys[*n] + nl, o->doc->name, ml);
            (*n)++;
        }
    }
    return keys;
}

/* Deletes every object of kind k in ns (NULL: all namespaces). */
static int delete_all(struct mem_store *ms, struct mem_kind *k, const char *ns, struct err *e)
{
    size_t n;
    char **keys = kind_keys(k, ns, &n);
    if (!keys)
        return err_set(e, -ENOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *kns = keys[i], *name = keys[i] + strlen(keys[i]) + 1;
        struct mem_obj *o = mem__find(ms, k->res, kns, name);
        if (o && !o->doc->deleting)
            rc = delete_obj(ms, o, STORE_PROPAGATE_BACKGROUND, e);
    }
    free_strings(keys, n);
    return rc;
}

static int process_namespace(struct mem_store *ms, const char *ns, struct err *e)
{
    struct mem_obj *nso = mem__find(ms, ms->namespaces, NULL, ns);
    if (!nso || !nso->doc->deleting)
        return 0;
    for (size_t i = 0; i < ms->n_kinds; i++) {
        if (!ms->kinds[i]->res->namespaced)
            continue;
        int rc = delete_all(ms, ms->kinds[i], ns, e);
        if (rc)
            return rc;
    }
    if (mem__ns_count(ms, ns) > 0)
        return 0; /* objects with finalizers: their removal brings us back */
    json_t *cur = mem__doc_json(nso->doc);
    if (!cur)
        return err_set(e, -ENOMEM, "out of memory");
    json_t *fins = json_object_get(json_object_get(cur, "spec"), "finalizers");
    for (size_t i = json_array_size(fins); i-- > 0;) {
        const char *f = json_string_value(json_array_get(fins, i));
        if (f && !strcmp(f, "kubernetes"))
            json_array_remove(fins, i);
    }
    static const struct store_write_opts plain;
    return mem__update_locked(ms, ms->namespaces, NULL, cur, &plain, NULL, e);
}

static int process_crd(struct mem_store *ms, const char *name, struct err *e)
{
    struct mem_obj *crd = mem__find(ms, ms->crds, NULL, name);
    if (!crd || !crd->doc->deleting)
        return 0;
    size_t left = 0;
    for (size_t i = 0; i < ms->n_kinds; i++) {
        struct mem_kind *k = ms->kinds[i];
        if (crd_of(ms, k->res) != crd)
            continue;
        int rc = delete_all(ms, k, NULL, e);
        if (rc)
            return rc;
        left += k->objs.n;
    }
    if (left > 0)
        return 0;
    api_registry_remove_crd(ms->base.registry, name);
    return drop_finalizer(ms, crd, CRD_CLEANUP, e);
}

int mem__gc_run(struct mem_store *ms, size_t max, struct err *e)
{
    if (ms->collecting)
        return 0;
    ms->collecting = true;
    int steps = 0, rc = expire_events(ms, e);
    if (rc < 0) {
        ms->collecting = false;
        return rc;
    }
    struct mem_work w;
    while ((max == 0 || (size_t)steps < max) && gc_pop(ms, &w)) {
        struct err local;
        switch (w.type) {
        case MEM_WORK_DEPENDENT:
            rc = check_dependent(ms, w.key, &local);
            break;
        case MEM_WORK_OWNER:
            rc = process_owner(ms, w.key, &local);
            break;
        case MEM_WORK_NAMESPACE:
            rc = process_namespace(ms, w.key, &local);
            break;
        case MEM_WORK_CRD:
            rc = process_crd(ms, w.key, &local);
            break;
        }
        free(w.key);
        steps++;
        /* A step that fails (a conflict with a concurrent finalizer, say)
         * is dropped: the write that caused it, or the next one touching
         * the same objects, queues the work again. Only running out of
         * memory is reported. */
        if (rc == -ENOMEM) {
            ms->collecting = false;
            return err_set(e, rc, "collector: %s", local.msg);
        }
    }
    ms->collecting = false;
    return steps;
}
