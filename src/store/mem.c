/*
 * The mem store (mem.h): object tables, reads, and the write paths (create,
 * update, patch, delete, bind) ending in one commit that bumps the
 * resourceVersion, swaps the stored version and appends the watch event.
 *
 * One mutex guards everything. Reads take a reference to the stored
 * version under it and copy it outside it; writes build, check and store
 * the new version under it, which keeps every write atomic (a patch reads
 * and writes the same version) at a cost of tens of microseconds per
 * write.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "api/patch.h"
#include "store/mem_internal.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/decimal.h"
#include "util/jdoc.h"
#include "util/vec.h"

#define MEM_GENERATE_TRIES 8
#define MEM_NAME_MAX 253

struct mem_key {
    const char *ns, *name;
};

static bool obj_key_eq(const void *item, const void *key)
{
    const struct mem_obj *o = item;
    const struct mem_key *k = key;
    return strcmp(o->doc->name, k->name) == 0 && strcmp(o->doc->ns, k->ns) == 0;
}

static bool obj_uid_eq(const void *item, const void *key)
{
    return strcmp(((const struct mem_obj *)item)->doc->uid, key) == 0;
}

static bool ns_count_eq(const void *item, const void *key)
{
    return strcmp(((const struct mem_ns_count *)item)->ns, key) == 0;
}

int64_t mem__now(struct mem_store *ms)
{
    return ms->cfg.now_ns(ms->cfg.clock_ctx);
}

bool mem__same_resource(const struct api_resource *a, const struct api_resource *b)
{
    return a == b || (a && b && strcmp(a->plural, b->plural) == 0 &&
                      strcmp(a->group, b->group) == 0 && strcmp(a->version, b->version) == 0);
}

bool mem__is_event(const struct api_resource *res)
{
    return res->group[0] == '\0' && strcmp(res->kind, "Event") == 0;
}

struct mem_kind *mem__kind_find(struct mem_store *ms, const struct api_resource *res)
{
    /* The entry itself first: almost always it is, and a kind is made
     * only when none matches, so the two passes find the same one. */
    for (size_t i = 0; i < ms->n_kinds; i++) {
        if (ms->kinds[i]->res == res)
            return ms->kinds[i];
    }
    for (size_t i = 0; i < ms->n_kinds; i++) {
        if (mem__same_resource(ms->kinds[i]->res, res))
            return ms->kinds[i];
    }
    return NULL;
}

struct mem_kind *mem__kind_of(struct mem_store *ms, const struct api_resource *res)
{
    struct mem_kind *found = mem__kind_find(ms, res);
    if (found)
        return found;
    VEC_RESERVE(ms->kinds, ms->cap_kinds, ms->n_kinds + 1);
    struct mem_kind *k = alloc_calloc(1, sizeof *k);
    k->res = res;
    ms->kinds[ms->n_kinds++] = k;
    return k;
}

static const char *ns_or_empty(const struct api_resource *res, const char *ns)
{
    return res->namespaced && ns ? ns : "";
}

struct mem_obj *mem__find(struct mem_store *ms, const struct api_resource *res, const char *ns,
                          const char *name)
{
    struct mem_kind *k = mem__kind_find(ms, res);
    if (!k || !name)
        return NULL;
    struct mem_key key = {ns_or_empty(res, ns), name};
    return mem__table_find(&k->objs, mem__key_hash(key.ns, name), obj_key_eq, &key);
}

struct mem_obj *mem__find_uid(struct mem_store *ms, const char *uid)
{
    return uid ? mem__table_find(&ms->uids, hash_string(HASH_INIT, uid), obj_uid_eq, uid) : NULL;
}

size_t mem__ns_count(struct mem_store *ms, const char *ns)
{
    struct mem_ns_count *c = mem__table_find(&ms->ns_counts, hash_string(HASH_INIT, ns),
                                             ns_count_eq, ns);
    return c ? c->n : 0;
}

/* --- messages in the API server's words ----------------------------------- */

/* "pods" for the core group, "deployments.apps" otherwise. */
static const char *qualified(const struct api_resource *res, char buf[128])
{
    if (!res->group[0])
        return res->plural;
    snprintf(buf, 128, "%s.%s", res->plural, res->group);
    return buf;
}

static int not_found(struct err *e, const struct api_resource *res, const char *name)
{
    char q[128];
    return err_set(e, -ENOENT, "%s \"%s\" not found", qualified(res, q), name);
}

static int conflict(struct err *e, const struct api_resource *res, const char *name)
{
    char q[128];
    return err_set(e, -ESTALE, "Operation cannot be fulfilled on %s \"%s\": the object has been "
                   "modified; please apply your changes to the latest version and try again",
                   qualified(res, q), name);
}

/* Turns a field-level message into `Kind "name" is invalid: <message>`. */
static int invalid(struct err *e, const struct api_resource *res, const char *name, int rc)
{
    if (rc == -EINVAL)
        return err_prefix(e, rc, "%s \"%s\" is invalid: ", res->kind, name ? name : "");
    return rc;
}

/* --- identity: uids, generated names, resourceVersions ------------------- */

static uint64_t mem_random(struct mem_store *ms)
{
    /* A seeded sequence, so a run can be replayed. */
    return rng_next(&ms->seq);
}

/* n hex digits of v, most significant first, at out. */
static char *put_hex(char *out, uint64_t v, int n)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = n - 1; i >= 0; i--, v >>= 4)
        out[i] = digits[v & 0xf];
    return out + n;
}

/* A random (version 4) uid, 8-4-4-4-12 hex digits: written by hand, as
 * formatting it was a tenth of what a create cost. */
static void new_uid(struct mem_store *ms, char out[37])
{
    uint64_t a = mem_random(ms), b = mem_random(ms);
    a = (a & ~0xf000ull) | 0x4000ull;                         /* version 4 */
    b = (b & 0x3fffffffffffffffull) | 0x8000000000000000ull; /* variant 1 */
    char *p = put_hex(out, a >> 32, 8);
    *p++ = '-';
    p = put_hex(p, (a >> 16) & 0xffff, 4);
    *p++ = '-';
    p = put_hex(p, a & 0xffff, 4);
    *p++ = '-';
    p = put_hex(p, b >> 48, 4);
    *p++ = '-';
    p = put_hex(p, b & (uint64_t)0xffffffffffff, 12);
    *p = '\0';
}

static void name_suffix(struct mem_store *ms, char out[6])
{
    /* The API server's alphabet: no vowels, no confusable characters. */
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    uint64_t r = mem_random(ms);
    for (int i = 0; i < 5; i++, r /= 27)
        out[i] = alphabet[r % 27];
    out[5] = '\0';
}

int mem__parse_rv(const char *s, const char *what, uint64_t *rv, struct err *e)
{
    char *end;
    if (!s || !*s || *s < '0' || *s > '9')
        goto bad;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno)
        goto bad;
    *rv = v;
    return 0;
bad:
    return err_set(e, -EBADMSG, "invalid %s: \"%s\"", what, s ? s : "");
}

/* obj[key] = v. A member that already holds exactly v is left as it is
 * (replacing it would change nothing, members keeping their place): a
 * write sets apiVersion, kind and the resourceVersion it was given, which
 * a client almost always sent already, and each replacement cost a string
 * made and one freed. */
static int set_string(json_t *obj, const char *key, const char *v)
{
    const json_t *had = json_object_get(obj, key);
    if (v && jdoc_string_is(had, v))
        return 0;
    return json_object_set_new(obj, key, json_string(v)) == 0 ? 0 : -ENOMEM;
}

/* md[key] = the time ns, the store's shared value of it (mem__time_value)
 * unless md holds that time already. */
static void set_time(struct mem_store *ms, json_t *md, const char *key, int64_t ns)
{
    json_t *t = mem__time_value(ms, ns);
    const json_t *had = json_object_get(md, key);
    if (had != t && !json_equal(had, t))
        jdoc_set(md, key, json_incref(t));
    json_decref(t);
}

/* --- the commit -------------------------------------------------------------- */

static void event_release(struct mem_event *ev)
{
    mem__doc_unref(ev->cur);
    mem__doc_unref(ev->prev);
    memset(ev, 0, sizeof *ev);
}

static void ring_push(struct mem_store *ms, uint64_t rv, enum store_event_type type,
                      struct mem_doc *cur, struct mem_doc *prev)
{
    struct mem_event *slot = &ms->ring[rv % ms->ring_cap];
    event_release(slot);
    if (rv > ms->ring_cap && rv - ms->ring_cap > ms->compacted)
        ms->compacted = rv - ms->ring_cap;
    slot->type = type;
    slot->cur = cur;
    slot->prev = prev;
}

/* How many references the store itself holds on ev's version. An added or
 * modified version twice, once from its own event and once from the object
 * table or from the next version's event (as its prev); a deletion's last
 * state of its own only from its event; a version a deletion shares
 * (commit_removal_shared) from that event twice, as its cur and prev, and
 * from its own event while the ring still holds it. */
static size_t held_by_store(const struct mem_store *ms, const struct mem_event *ev)
{
    if (ev->type != STORE_DELETED)
        return 2;
    if (ev->cur != ev->prev)
        return 1;
    return ev->cur->rv > ms->compacted ? 3 : 2;
}

/* The version written values_kept writes before rv drops its value and
 * keeps its text (mem_store_config.values_kept), unless a reader holds it. */
static void cool_aged(struct mem_store *ms, uint64_t rv)
{
    if (ms->values_kept == MEM_STORE_VALUES_ALL || rv - ms->compacted <= ms->values_kept)
        return;
    const struct mem_event *ev = &ms->ring[(rv - ms->values_kept) % ms->ring_cap];
    if (ev->cur)
        mem__doc_cool(ev->cur, held_by_store(ms, ev));
}

/* An Event's version, just written, keeps only its text when the store
 * was told so (mem_store_config.events_text_only), as the object table
 * and its event hold it. A deletion's last state is left as it is: only
 * the history holds it, for a while, and its text would be made for
 * nothing. */
static void cool_event(struct mem_store *ms, const struct api_resource *res,
                       struct mem_doc *doc, enum store_event_type type)
{
    if (ms->cfg.events_text_only && type != STORE_DELETED && mem__is_event(res))
        mem__doc_cool(doc, 2);
}

static void deps_remove(struct mem_obj *owner, struct mem_obj *dep)
{
    for (uint32_t i = 0; i < owner->n_deps; i++)
        if (owner->deps[i] == dep) {
            owner->deps[i] = owner->deps[--owner->n_deps];
            return;
        }
}

static void deps_add(struct mem_obj *owner, struct mem_obj *dep)
{
    for (uint32_t i = 0; i < owner->n_deps; i++)
        if (owner->deps[i] == dep)
            return;
    VEC_RESERVE(owner->deps, owner->cap_deps, owner->n_deps + 1);
    owner->deps[owner->n_deps++] = dep;
}

static bool doc_has_owner(const struct mem_doc *d, const char *uid)
{
    for (size_t i = 0; d && i < d->n_owners; i++)
        if (strcmp(d->owners[i], uid) == 0)
            return true;
    return false;
}

/* Keeps the owners' dependents lists in step with obj's ownerReferences. */
static void deps_update(struct mem_store *ms, struct mem_obj *obj, const struct mem_doc *prev,
                        const struct mem_doc *cur)
{
    for (size_t i = 0; prev && i < prev->n_owners; i++) {
        struct mem_obj *owner = mem__find_uid(ms, prev->owners[i]);
        if (owner && !doc_has_owner(cur, prev->owners[i]))
            deps_remove(owner, obj);
    }
    for (size_t i = 0; cur && i < cur->n_owners; i++) {
        struct mem_obj *owner = mem__find_uid(ms, cur->owners[i]);
        if (owner && owner != obj)
            deps_add(owner, obj);
    }
}

static void ns_count_add(struct mem_store *ms, const char *ns, int delta)
{
    uint64_t h = hash_string(HASH_INIT, ns);
    struct mem_ns_count *c = mem__table_find(&ms->ns_counts, h, ns_count_eq, ns);
    if (c) {
        c->n += (size_t)delta;
        if (c->n == 0)
            free(mem__table_remove(&ms->ns_counts, h, ns_count_eq, ns));
        return;
    }
    if (delta < 0 || mem__table_reserve(&ms->ns_counts, 1) != 0)
        return;
    c = alloc_malloc(sizeof *c + strlen(ns) + 1);
    c->n = 1;
    strcpy(c->ns, ns);
    mem__table_insert(&ms->ns_counts, h, c);
}

/* Hands back the answer of a write that stores nothing new (a dry run, or a
 * write that changed nothing): *out gets obj (consumed) or, a caller that
 * takes only the text, *raw. obj may share parts with a stored version
 * (see fresh_version), so *out is a copy of its own. */
static void hand_back(json_t *obj, json_t **out, struct store_blob **raw)
{
    if (out)
        *out = jdoc_copy(obj);
    else if (raw)
        *raw = store_blob_dump(obj);
    json_decref(obj);
}

/* Makes doc, version rv of kind k's object cur (NULL: fresh, a new one,
 * whose table room is reserved) the object's new state: type as in
 * mem_commit. Takes over the caller's reference on doc. */
static void publish(struct mem_store *ms, struct mem_kind *k, struct mem_obj *cur,
                    struct mem_obj *fresh, struct mem_doc *doc, uint64_t rv,
                    enum store_event_type type)
{
    const struct api_resource *res = doc->res;
    struct mem_doc *prev = cur ? cur->doc : NULL;
    if (!cur) {
        fresh->doc = mem__doc_ref(doc);
        mem__table_insert(&k->objs, mem__key_hash(doc->ns, doc->name), fresh);
        mem__table_insert(&ms->uids, hash_string(HASH_INIT, doc->uid), fresh);
        if (res->namespaced)
            ns_count_add(ms, doc->ns, 1);
        deps_update(ms, fresh, NULL, doc);
        cur = fresh;
    } else if (type == STORE_DELETED) {
        struct mem_key key = {doc->ns, doc->name};
        mem__table_remove(&k->objs, mem__key_hash(doc->ns, doc->name), obj_key_eq, &key);
        mem__table_remove(&ms->uids, hash_string(HASH_INIT, doc->uid), obj_uid_eq, doc->uid);
        if (res->namespaced)
            ns_count_add(ms, doc->ns, -1);
        deps_update(ms, cur, prev, NULL);
    } else {
        cur->doc = mem__doc_ref(doc);
        deps_update(ms, cur, prev, doc);
    }
    mem__index_update(k, cur, prev, type == STORE_DELETED ? NULL : doc);
    __atomic_store_n(&ms->rv, rv, __ATOMIC_RELEASE); /* watches read it unlocked */
    ring_push(ms, rv, type, doc, prev);
    cool_aged(ms, rv);
    cool_event(ms, res, doc, type);
    mem__gc_observe(ms, cur, prev, doc, type == STORE_DELETED);
    if (type == STORE_DELETED) {
        /* Dependents name their owners by uid, so nothing points here. */
        free(cur->deps);
        free(cur);
    }
    mem__watch_route(ms, k, rv);
    mem__watch_notify(ms, rv);
}

/* Stores obj (consumed) as the object's new state: an addition when cur is
 * NULL, a removal when type is STORE_DELETED (obj is then the last state),
 * else a modification. *out (if not NULL) gets a copy of obj, and *raw (if
 * raw is not NULL) the text stored. obj itself becomes the stored version's
 * value (mem__doc_shared), which no one changes from here on and which may
 * share parts with the versions before it (fresh_version): it is
 * serialised only when someone asks for the text (mem__doc_blob: an HTTP
 * client), so in process a write costs no serialisation and no parse. */
static int mem_commit(struct mem_store *ms, const struct api_resource *res, struct mem_obj *cur,
                      json_t *obj, enum store_event_type type, json_t **out,
                      struct store_blob **raw, struct err *e)
{
    uint64_t rv = ms->rv + 1;
    char rvs[DECIMAL_MAX];
    decimal_u64(rvs, rv);
    json_t *md = meta_of(obj);
    struct mem_kind *kind = mem__kind_of(ms, res);
    struct store_blob *blob = NULL;
    struct mem_doc *doc = NULL;
    struct mem_obj *fresh = NULL;
    /* A new version's number: no old value to compare, no UTF-8 to check. */
    if (!md || !kind ||
        json_object_set_new_nocheck(md, "resourceVersion", json_string_nocheck(rvs)) != 0)
        goto oom;
    if (raw) {
        /* An update's text is about its last version's length. */
        struct store_blob *last = cur ? __atomic_load_n(&cur->doc->blob, __ATOMIC_ACQUIRE) : NULL;
        if (!(blob = store_blob_dump_hint(obj, last ? last->len : 0)))
            goto oom;
    }
    doc = mem__doc_new(res, obj, rv, NULL, cur ? cur->doc : NULL);
    doc->blob = store_blob_ref(blob);
    if (!cur && (!(fresh = alloc_calloc(1, sizeof *fresh)) ||
                 mem__table_reserve(&kind->objs, 1) != 0 || mem__table_reserve(&ms->uids, 1) != 0))
        goto oom;
    publish(ms, kind, cur, fresh, doc, rv, type);
    if (raw)
        *raw = blob; /* the caller's reference */
    else
        store_blob_unref(blob);
    if (out)
        *out = jdoc_copy(obj);
    json_decref(obj);
    return 0;
oom:
    free(fresh);
    mem__doc_unref(doc);
    store_blob_unref(blob);
    json_decref(obj);
    return err_set(e, -ENOMEM, "%s: out of memory storing the object", res->plural);
}

/* Removes cur, its stored version unchanged, and gives its DELETED event
 * that very version instead of a copy retagged with the deletion's
 * resourceVersion: a watch retags it when it delivers it (mem_watch.c's
 * translate), so a removal nobody watches costs no parse, no copy and no
 * new document (an Event's expiry, say). */
static void commit_removal_shared(struct mem_store *ms, struct mem_kind *k, struct mem_obj *cur)
{
    publish(ms, k, cur, NULL, mem__doc_ref(cur->doc), ms->rv + 1, STORE_DELETED);
}

/* --- checks shared by the write paths --------------------------------------- */

/* apiVersion and kind must be the resource's (or absent: then set);
 * metadata.namespace must agree with the request's. *ns_out is the
 * namespace the object lives in ("" for cluster-scoped). */
static int check_identity(const struct api_resource *res, const char *ns, json_t *obj,
                          const char **ns_out, struct err *e)
{
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    if (av && *av && strcmp(av, res->api_version) != 0)
        return err_set(e, -EBADMSG, "the API version in the data (%s) does not match the "
                       "expected API version (%s)", av, res->api_version);
    if (kind && *kind && strcmp(kind, res->kind) != 0)
        return err_set(e, -EBADMSG, "the kind in the data (%s) does not match the expected "
                       "kind (%s)", kind, res->kind);
    json_t *md = meta_of(obj);
    if (!md)
        return err_set(e, -EBADMSG, "metadata: must be an object");
    if (set_string(obj, "apiVersion", res->api_version) || set_string(obj, "kind", res->kind))
        return err_set(e, -ENOMEM, "out of memory");
    const char *body_ns = json_string_value(json_object_get(md, "namespace"));
    if (!res->namespaced) {
        json_object_del(md, "namespace");
        *ns_out = "";
        return 0;
    }
    if (ns && *ns && body_ns && *body_ns && strcmp(ns, body_ns) != 0)
        return err_set(e, -EBADMSG, "the namespace of the provided object does not match the "
                       "namespace sent on the request");
    const char *eff = ns && *ns ? ns : body_ns;
    if (!eff || !*eff)
        return err_set(e, -EBADMSG, "%s: a namespace is required", res->plural);
    if (!body_ns || strcmp(body_ns, eff) != 0) {
        if (set_string(md, "namespace", eff) != 0)
            return err_set(e, -ENOMEM, "out of memory");
    }
    *ns_out = json_string_value(json_object_get(md, "namespace"));
    return 0;
}

/* to[key] = from[key] (shared, not copied: stored values never change),
 * or no key when from has none. A member that is from's already (a
 * client's copy shares the stored version's parts) is left in place. */
static void copy_member(json_t *to, const json_t *from, const char *key)
{
    json_t *v = json_object_get(from, key);
    if (!v)
        json_object_del(to, key);
    else if (json_object_get(to, key) != v)
        jdoc_set(to, key, json_incref(v));
}

/* The start of a new version of a stored value (shared, read-only): an
 * object of its own, with a metadata object of its own (every write sets
 * metadata fields), sharing every other part with the stored version.
 * Stored values never change, so the versions of an object cost only what
 * differs between them; whoever changes a deeper part replaces it first
 * (jdoc_shallow), and a caller that asks for the result gets a deep copy. */
static json_t *fresh_version(const json_t *stored)
{
    json_t *v = jdoc_shallow(stored);
    const json_t *md = json_object_get(stored, "metadata");
    if (json_is_object(md))
        jdoc_set(v, "metadata", jdoc_shallow(md));
    return v;
}

static bool skipped(const char *key, const char *const *skip)
{
    for (const char *const *s = skip; *s; s++)
        if (strcmp(*s, key) == 0)
            return true;
    return false;
}

bool mem__equal_except(const json_t *a, const json_t *b, const char *const *skip)
{
    if (a == b) /* json_equal(NULL, NULL) is false */
        return true;
    if (!json_is_object(a) || !json_is_object(b))
        return json_equal(a, b);
    size_t na = 0, nb = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)a, key, v) {
        if (skipped(key, skip))
            continue;
        na++;
        if (!json_equal(v, json_object_get(b, key)))
            return false;
    }
    json_object_foreach((json_t *)b, key, v)
        nb += !skipped(key, skip);
    return na == nb;
}

/* json_equal(a, b) for two versions of an object, their metadata looked
 * at last: a write most often changes its status or spec, which share
 * what they keep with the version before (fresh_version), while the
 * metadata, a copy of its own, costs the most to compare whole. */
static bool same_object(const json_t *a, const json_t *b)
{
    static const char *const metadata[] = {"metadata", NULL}, *const nothing[] = {NULL};
    return mem__equal_except(a, b, metadata) &&
           mem__equal_except(json_object_get(a, "metadata"), json_object_get(b, "metadata"),
                             nothing);
}

static int64_t generation_of(const json_t *obj)
{
    return json_integer_value(json_object_get(json_object_get(obj, "metadata"), "generation"));
}

static int check_preconditions(const struct api_resource *res, const struct mem_doc *doc,
                               const char *uid, const char *rv, struct err *e)
{
    if (uid && *uid && strcmp(uid, doc->uid) != 0)
        return err_set(e, -ESTALE, "Precondition failed: UID in precondition: %s, UID in object "
                       "meta: %s", uid, doc->uid);
    if (rv && *rv) {
        uint64_t want;
        if (mem__parse_rv(rv, "resourceVersion", &want, NULL) != 0 || want != doc->rv)
            return conflict(e, res, doc->name);
    }
    return 0;
}

/* --- create ------------------------------------------------------------------ */

static int pick_name(struct mem_store *ms, const struct api_resource *res, const char *ns,
                     json_t *md, struct err *e)
{
    const char *name = json_string_value(json_object_get(md, "name"));
    if (name && *name)
        return 0;
    const char *gen = json_string_value(json_object_get(md, "generateName"));
    char buf[300];
    for (int i = 0; gen && *gen && i < MEM_GENERATE_TRIES; i++) {
        char suffix[6];
        name_suffix(ms, suffix);
        /* the prefix is cut so that prefix + suffix is a valid length */
        size_t room = res->name_is_label ? 58 : 248;
        snprintf(buf, sizeof buf, "%.*s%s", (int)room, gen, suffix);
        if (!mem__find(ms, res, ns, buf))
            return set_string(md, "name", buf) ? err_set(e, -ENOMEM, "out of memory") : 0;
    }
    if (gen && *gen)
        return err_set(e, -EEXIST, "no free name for generateName \"%s\" after %d tries", gen,
                       MEM_GENERATE_TRIES);
    return err_set(e, -EINVAL, "metadata.name: Required value: name or generateName is required");
}

static int check_namespace_open(struct mem_store *ms, const struct api_resource *res,
                                const char *ns, struct err *e)
{
    if (!res->namespaced || !ms->namespaces)
        return 0;
    struct mem_obj *nso = mem__find(ms, ms->namespaces, NULL, ns);
    if (nso && nso->doc->deleting) {
        char q[128];
        return err_set(e, -EPERM, "%s is forbidden: unable to create new content in namespace "
                       "%s because it is being terminated", qualified(res, q), ns);
    }
    return 0;
}

static int mem_create_locked(struct mem_store *ms, const struct api_resource *res,
                             const char *ns, const json_t *in, const struct store_write_opts *o,
                             json_t **out, struct err *e)
{
    if (o->subresource != STORE_MAIN)
        return err_set(e, -ENOSYS, "create is not supported on %s/status", res->plural);
    json_t *obj = o->handed_over ? json_incref((json_t *)in) : jdoc_copy(in);
    if (!obj)
        return err_set(e, -ENOMEM, "out of memory");
    const char *eff_ns;
    int rc = check_identity(res, ns, obj, &eff_ns, e);
    json_t *md = json_object_get(obj, "metadata");
    const char *rv = rc ? NULL : json_string_value(json_object_get(md, "resourceVersion"));
    if (rc == 0 && rv && *rv)
        rc = err_set(e, -EINVAL, "metadata.resourceVersion: Invalid value: \"%s\": must be "
                     "empty on create", rv);
    if (rc == 0 && (rc = meta_check(md, res->name_is_label, true, e)) != 0)
        rc = invalid(e, res, meta_name(obj) ? meta_name(obj)
                     : json_string_value(json_object_get(md, "generateName")), rc);
    if (rc == 0)
        rc = check_namespace_open(ms, res, eff_ns, e);
    if (rc == 0)
        rc = pick_name(ms, res, eff_ns, md, e);
    const char *name = meta_name(obj);
    if (rc == 0 && mem__find(ms, res, eff_ns, name)) {
        char q[128];
        rc = err_set(e, -EEXIST, "%s \"%s\" already exists", qualified(res, q), name);
    }
    if (rc == 0) {
        char uid[37];
        new_uid(ms, uid);
        /* made here, of hex digits and dashes: no UTF-8 to check */
        jdoc_set(md, "uid", json_string_nocheck(uid));
        set_time(ms, md, "creationTimestamp", mem__now(ms));
        jdoc_set(md, "generation", mem__literal(ms, MEM_LIT_ONE));
        json_object_del(md, "resourceVersion");
        json_object_del(md, "deletionTimestamp");
        json_object_del(md, "deletionGracePeriodSeconds");
        json_object_del(md, "managedFields");
        json_object_del(md, "selfLink");
        rc = invalid(e, res, name, mem__rules_create(ms, res, obj, e));
    }
    if (rc != 0) {
        json_decref(obj);
        return rc;
    }
    if (o->dry_run) {
        hand_back(obj, out, o->raw);
        return 0;
    }
    return mem_commit(ms, res, NULL, obj, STORE_ADDED, out, o->raw, e);
}

/* --- update ------------------------------------------------------------------ */

static int check_new_finalizers(const json_t *old, const json_t *cand, struct err *e)
{
    const json_t *fins = json_object_get(json_object_get(cand, "metadata"), "finalizers");
    for (size_t i = 0; i < json_array_size(fins); i++) {
        const char *f = json_string_value(json_array_get(fins, i));
        if (f && !meta_has_finalizer(old, f))
            return err_set(e, -EINVAL, "metadata.finalizers: Forbidden: no new finalizers can be "
                           "added if the object is being deleted, found new finalizers "
                           "[\"%s\"]", f);
    }
    return 0;
}

/* Builds the object an update would store, from the request (obj) and the
 * stored version (old), by the subresource's rules. New reference. */
static json_t *update_candidate(const struct api_resource *res, const json_t *old, json_t *obj,
                                enum store_subresource sub)
{
    json_t *cand;
    if (sub == STORE_STATUS) { /* the stored status, replaced, is not copied */
        cand = fresh_version(old);
        copy_member(cand, obj, "status");
        return cand;
    }
    cand = json_incref(obj);
    if (res->has_status)
        copy_member(cand, old, "status");
    json_t *md = meta_of(cand);
    const json_t *omd = json_object_get(old, "metadata");
    static const char *const kept[] = {"uid", "creationTimestamp", "deletionTimestamp",
                                       "deletionGracePeriodSeconds", "generation",
                                       "namespace", "name"};
    for (size_t i = 0; md && i < sizeof kept / sizeof kept[0]; i++)
        copy_member(md, omd, kept[i]);
    if (md) {
        json_object_del(md, "managedFields");
        json_object_del(md, "selfLink");
    }
    return cand;
}

/* mem__update_locked, given the stored version already at hand (old, a
 * reference given over, or NULL to take the shared value): a patch has
 * just read it. Nothing here modifies old. */
static int update_locked(struct mem_store *ms, const struct api_resource *res, const char *ns,
                         json_t *obj, json_t *old, const struct store_write_opts *o,
                         json_t **out, struct err *e)
{
    json_t *cand = NULL;
    const char *eff_ns;
    int rc = check_identity(res, ns, obj, &eff_ns, e);
    /* a copy: building the candidate replaces obj's metadata strings */
    char name[MEM_NAME_MAX + 1] = "";
    const char *given = rc ? NULL : meta_name(obj);
    if (rc == 0 && (!given || !*given || strlen(given) > MEM_NAME_MAX))
        rc = err_set(e, -EINVAL, "%s \"%.64s\" is invalid: metadata.name: %s", res->kind,
                     given ? given : "", given && *given ? "Too long" : "Required value");
    if (rc == 0)
        memcpy(name, given, strlen(given) + 1);
    struct mem_obj *cur = rc ? NULL : mem__find(ms, res, eff_ns, name);
    if (rc == 0 && !cur)
        rc = not_found(e, res, name);
    if (rc == 0 && o->subresource == STORE_STATUS && !res->has_status)
        rc = err_set(e, -ENOENT, "%s has no status subresource", res->plural);
    if (rc == 0)
        rc = check_preconditions(res, cur->doc, meta_uid(obj), meta_resource_version(obj), e);
    if (rc == 0 && !old && !(old = mem__doc_shared(cur->doc)))
        rc = err_set(e, -ENOMEM, "out of memory");
    if (rc == 0 && !(cand = update_candidate(res, old, obj, o->subresource)))
        rc = err_set(e, -ENOMEM, "out of memory");
    if (rc == 0) {
        set_string(cand, "apiVersion", res->api_version);
        set_string(cand, "kind", res->kind);
        /* A status write's metadata is the stored version's, checked when
         * it was stored (update_candidate). */
        if (o->subresource != STORE_STATUS)
            rc = invalid(e, res, name, meta_check(json_object_get(cand, "metadata"),
                                                  res->name_is_label, false, e));
    }
    if (rc == 0 && cur->doc->deleting)
        rc = invalid(e, res, name, check_new_finalizers(old, cand, e));
    if (rc == 0)
        rc = invalid(e, res, name, mem__rules_update(ms, res, old, cand, o->subresource, e));
    json_decref(obj);
    if (rc != 0) {
        json_decref(old);
        json_decref(cand);
        return rc;
    }
    const char *skip[] = {"metadata", res->has_status ? "status" : NULL, NULL};
    bool spec_changed = !mem__equal_except(old, cand, skip);
    if (spec_changed)
        jdoc_set(meta_of(cand), "generation", json_integer(generation_of(old) + 1));
    set_string(meta_of(cand), "resourceVersion", meta_resource_version(old));
    bool remove = cur->doc->deleting && mem__rules_may_remove(res, cand);
    if (o->dry_run || (!remove && !spec_changed && same_object(old, cand))) {
        /* Nothing changed: no new resourceVersion, no event. */
        json_decref(old);
        hand_back(cand, out, o->raw);
        return 0;
    }
    json_decref(old);
    return mem_commit(ms, res, cur, cand, remove ? STORE_DELETED : STORE_MODIFIED, out, o->raw,
                      e);
}

int mem__update_locked(struct mem_store *ms, const struct api_resource *res, const char *ns,
                       json_t *obj, const struct store_write_opts *o, json_t **out,
                       struct err *e)
{
    assert(mutex_held(&ms->mu));
    return update_locked(ms, res, ns, obj, NULL, o, out, e);
}

/* --- patch ------------------------------------------------------------------- */

static int apply_patch(const struct api_resource *res, const json_t *cur,
                       enum store_patch_type type, const json_t *patch, json_t **out,
                       struct err *e)
{
    switch (type) {
    case STORE_PATCH_MERGE:
        return patch_merge(cur, patch, out, e);
    case STORE_PATCH_JSON:
        return patch_json(cur, patch, out, e);
    case STORE_PATCH_STRATEGIC:
        if (!res->builtin)
            return err_set(e, -EMEDIUMTYPE, "the body of the request was in an unknown format - "
                           "accepted media types include: application/json-patch+json, "
                           "application/merge-patch+json, application/apply-patch+yaml");
        return patch_strategic(cur, patch, res->kind, out, e);
    case STORE_PATCH_APPLY:
        /* Server-side apply, simplified: the applied configuration merges
         * into the live object as a strategic (built-in kinds) or JSON
         * merge patch; field ownership is not tracked. */
        if (!json_is_object(patch))
            return err_set(e, -EBADMSG, "apply patch: must be an object");
        return res->builtin ? patch_strategic(cur, patch, res->kind, out, e)
                            : patch_merge(cur, patch, out, e);
    }
    return err_set(e, -EBADMSG, "unknown patch type %d", (int)type);
}

static int mem_patch_locked(struct mem_store *ms, const struct api_resource *res,
                            const char *ns, const char *name, enum store_patch_type type,
                            const json_t *patch, const struct store_write_opts *o,
                            json_t **out, struct err *e)
{
    struct mem_obj *cur = mem__find(ms, res, ns, name);
    if (!cur && type == STORE_PATCH_APPLY) {
        if (!json_is_object(patch))
            return err_set(e, -EBADMSG, "apply patch: must be an object");
        const char *pname = meta_name(patch);
        if (pname && strcmp(pname, name) != 0)
            return err_set(e, -EBADMSG, "the name of the object (%s) does not match the name on "
                           "the URL (%s)", pname, name);
        json_t *obj = NULL;
        int rc = patch_strategic(NULL, patch, res->kind, &obj, e);
        if (rc != 0)
            return rc;
        set_string(meta_of(obj), "name", name);
        struct store_write_opts co = *o;
        co.subresource = STORE_MAIN;
        rc = mem_create_locked(ms, res, ns, obj, &co, out, e);
        json_decref(obj);
        return rc;
    }
    if (!cur)
        return not_found(e, res, name);
    /* The patch functions copy their target; update_locked only reads old. */
    json_t *old = mem__doc_shared(cur->doc);
    json_t *patched = NULL;
    int rc = old ? apply_patch(res, old, type, patch, &patched, e)
                 : err_set(e, -ENOMEM, "out of memory");
    const char *pname = rc ? NULL : meta_name(patched);
    if (rc == 0 && (!json_is_object(patched) || !pname || strcmp(pname, name) != 0))
        rc = err_set(e, -EINVAL, "%s \"%s\" is invalid: metadata.name: Invalid value: the "
                     "patch may not change the name", res->kind, name);
    if (rc != 0) {
        json_decref(old);
        json_decref(patched);
        return rc;
    }
    /* A merge patch shares what it left alone with old, and the update
     * sets metadata members: the patched object's metadata is its own. */
    jdoc_set(patched, "metadata", jdoc_shallow(json_object_get(patched, "metadata")));
    return update_locked(ms, res, ns, patched, old, o, out, e);
}

/* --- delete ------------------------------------------------------------------ */

/* The grace period a pod gets: none unless it is bound and still running. */
static int64_t pod_grace(const json_t *pod, const struct store_delete_opts *o)
{
    const json_t *spec = json_object_get(pod, "spec");
    const char *node = json_string_value(json_object_get(spec, "nodeName"));
    const char *phase = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
    if (!node || !*node || (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))))
        return 0;
    if (o->has_grace)
        return o->grace_s;
    const json_t *g = json_object_get(spec, "terminationGracePeriodSeconds");
    return json_is_integer(g) && json_integer_value(g) >= 0 ? json_integer_value(g) : 30;
}

/* Sets the finalizers the propagation policy asks for; true when changed. */
static bool apply_propagation(json_t *obj, enum store_propagation p)
{
    int changed = 0;
    switch (p) {
    case STORE_PROPAGATE_FOREGROUND:
        changed |= meta_remove_finalizer(obj, "orphan");
        changed |= meta_add_finalizer(obj, "foregroundDeletion") == 1;
        break;
    case STORE_PROPAGATE_ORPHAN:
        changed |= meta_remove_finalizer(obj, "foregroundDeletion");
        changed |= meta_add_finalizer(obj, "orphan") == 1;
        break;
    case STORE_PROPAGATE_BACKGROUND:
        changed |= meta_remove_finalizer(obj, "orphan");
        changed |= meta_remove_finalizer(obj, "foregroundDeletion");
        break;
    case STORE_PROPAGATE_DEFAULT:
        break;
    }
    return changed != 0;
}

/* Marks cand as being deleted with a grace period starting now; true when
 * that changed anything. An object already marked only ever gets a shorter
 * grace period, counted from when its deletion began, as the API server
 * does: a grace of 0 then ends the wait even past the deadline (the
 * kubelet's delete once the containers stopped). */
static bool mark_deleting(struct mem_store *ms, json_t *cand, const json_t *old, int64_t now,
                          int64_t grace)
{
    json_t *md = meta_of(cand);
    const char *was = json_string_value(json_object_get(md, "deletionTimestamp"));
    int64_t was_ns;
    if (was && meta_parse_time(was, "deletionTimestamp", &was_ns, NULL) == 0) {
        const json_t *jg = json_object_get(md, "deletionGracePeriodSeconds");
        int64_t was_grace = json_is_integer(jg) ? json_integer_value(jg) : 0;
        if (grace >= was_grace)
            return false;
        set_time(ms, md, "deletionTimestamp", was_ns - (was_grace - grace) * NS_PER_SEC);
    } else {
        set_time(ms, md, "deletionTimestamp", now + grace * NS_PER_SEC);
        jdoc_set(md, "generation", json_integer(generation_of(old) + 1));
    }
    jdoc_set(md, "deletionGracePeriodSeconds", json_integer(grace));
    return true;
}

/* Whether deleting d (of res, table k) as o asks removes it as it is, which
 * needs no look at its value: not a dry run, no finalizer now nor one the
 * propagation adds, no grace period (a pod's, or one already running), no
 * namespace's phase to set. And no watch open on the kind, whose every
 * reader would otherwise retag the shared version apart
 * (commit_removal_shared). */
static bool removal_shares_version(const struct mem_store *ms, const struct api_resource *res,
                                   const struct mem_kind *k, const struct mem_doc *d,
                                   const struct store_delete_opts *o)
{
    bool plain = o->propagation == STORE_PROPAGATE_DEFAULT ||
                 o->propagation == STORE_PROPAGATE_BACKGROUND;
    return plain && !o->dry_run && !d->finalized && !d->deleting && res != ms->pods &&
           res != ms->namespaces && k && k->n_unrouted == 0 && k->routes.n == 0;
}

int mem__delete_locked(struct mem_store *ms, const struct api_resource *res, const char *ns,
                       const char *name, const struct store_delete_opts *o, json_t **out,
                       struct err *e)
{
    assert(mutex_held(&ms->mu));
    struct mem_obj *cur = mem__find(ms, res, ns, name);
    if (!cur)
        return not_found(e, res, name);
    int rc = check_preconditions(res, cur->doc, o->precondition_uid,
                                 o->precondition_resource_version, e);
    struct mem_kind *k = mem__kind_find(ms, res);
    if (rc == 0 && !out && removal_shares_version(ms, res, k, cur->doc, o)) {
        commit_removal_shared(ms, k, cur);
        return 0;
    }
    json_t *old = rc ? NULL : mem__doc_shared(cur->doc); /* read-only */
    if (rc == 0 && !old)
        rc = err_set(e, -ENOMEM, "out of memory");
    if (rc != 0)
        return rc;
    /* What a deletion changes: metadata, its finalizers, a namespace's
     * status; the rest stays shared with the stored version. */
    json_t *cand = fresh_version(old);
    json_t *fins = json_object_get(meta_of(cand), "finalizers");
    if (fins)
        jdoc_set(meta_of(cand), "finalizers", jdoc_copy(fins));
    int64_t now = mem__now(ms);
    bool changed = apply_propagation(cand, o->propagation);
    int64_t grace = res == ms->pods ? pod_grace(old, o) : 0;
    if (res == ms->namespaces && !cur->doc->deleting) {
        json_t *status = json_object_get(cand, "status");
        status = json_is_object(status) ? jdoc_shallow(status) : json_object();
        jdoc_set(cand, "status", status);
        set_string(status, "phase", "Terminating");
        changed = true;
    }
    if (grace > 0 || !mem__rules_may_remove(res, cand))
        changed |= mark_deleting(ms, cand, old, now, grace);
    bool remove = grace == 0 && mem__rules_may_remove(res, cand);
    /* A removal stores the last state with its own resourceVersion: cand
     * itself when the deletion changed nothing in it. */
    bool fresh = remove && changed;
    json_t *result = fresh ? fresh_version(old) : cand;
    json_decref(old);
    if (fresh)
        json_decref(cand);
    if (!result)
        return err_set(e, -ENOMEM, "out of memory");
    if (o->dry_run || (!remove && !changed)) {
        if (out)
            *out = result;
        else
            json_decref(result);
        return 0;
    }
    return mem_commit(ms, res, cur, result, remove ? STORE_DELETED : STORE_MODIFIED, out, NULL,
                      e);
}

/* --- bind -------------------------------------------------------------------- */

static int mem_bind_locked(struct mem_store *ms, const char *ns, const char *name,
                           const char *node, struct err *e)
{
    struct mem_obj *cur = mem__find(ms, ms->pods, ns, name);
    if (!cur)
        return not_found(e, ms->pods, name);
    json_t *shared = mem__doc_shared(cur->doc);
    if (!shared)
        return err_set(e, -ENOMEM, "out of memory");
    /* A binding changes spec.nodeName and the conditions: those parts are
     * the new version's own, the rest is shared (fresh_version). */
    json_t *pod = fresh_version(shared);
    json_decref(shared);
    json_t *spec = json_object_get(pod, "spec");
    if (json_is_object(spec))
        jdoc_set(pod, "spec", spec = jdoc_shallow(spec));
    const char *bound = json_string_value(json_object_get(spec, "nodeName"));
    int rc = 0;
    if (cur->doc->deleting)
        rc = err_set(e, -ESTALE, "Operation cannot be fulfilled on pods/binding \"%s\": pod %s is "
                     "being deleted, cannot be assigned to a host", name, name);
    else if (bound && *bound)
        rc = err_set(e, -ESTALE, "Operation cannot be fulfilled on pods/binding \"%s\": pod %s is "
                     "already assigned to node \"%s\"", name, name, bound);
    else if (json_array_size(json_object_get(spec, "schedulingGates")) > 0)
        rc = err_set(e, -ESTALE, "Operation cannot be fulfilled on pods/binding \"%s\": pod %s "
                     "has non-empty .spec.schedulingGates", name, name);
    if (rc != 0 || !json_is_object(spec)) {
        json_decref(pod);
        return rc ? rc : err_set(e, -EINVAL, "Pod \"%s\" is invalid: spec: Required value", name);
    }
    set_string(spec, "nodeName", node);
    json_t *status = json_object_get(pod, "status");
    jdoc_set(pod, "status", status = json_is_object(status) ? jdoc_shallow(status) : json_object());
    json_t *conds = json_object_get(status, "conditions"), *own = json_array();
    if (json_is_array(conds))
        json_array_extend(own, conds); /* the conditions themselves are not changed */
    jdoc_set(status, "conditions", conds = own);
    for (size_t i = json_array_size(conds); i-- > 0;) {
        const char *t = json_string_value(json_object_get(json_array_get(conds, i), "type"));
        if (t && !strcmp(t, "PodScheduled"))
            json_array_remove(conds, i);
    }
    jdoc_append(conds, mem__pod_scheduled(ms, true));
    return mem_commit(ms, ms->pods, cur, pod, STORE_MODIFIED, NULL, NULL, e);
}

/* --- the vtable ----------------------------------------------------------- */

static bool resource_served(struct mem_store *ms, const struct api_resource *res,
                            struct err *e)
{
    const struct api_resource *r =
        api_registry_find(ms->base.registry, res->group, res->version, res->plural);
    if (r == res)
        return true;
    err_set(e, -ENOENT, "the server could not find the requested resource (%s)", res->plural);
    return false;
}

/* Ends a write: with auto_collect, the collector runs before the lock is
 * released, so the caller sees its consequences. */
static int write_done(struct mem_store *ms, int rc)
{
    if (ms->cfg.auto_collect)
        mem__gc_run(ms, 0, NULL);
    mem__unlock(ms);
    return rc;
}

/* The stored version of an object: a copy, or (shared) its kept parse,
 * which no one changes. */
static int get_version(struct store *st, const struct api_resource *res, const char *ns,
                       const char *name, bool shared, json_t **out, struct err *e)
{
    struct mem_store *ms = mem__of(st);
    if (!resource_served(ms, res, e))
        return -ENOENT;
    mutex_lock(&ms->mu);
    struct mem_obj *o = mem__find(ms, res, ns, name);
    struct mem_doc *d = o ? mem__doc_ref(o->doc) : NULL;
    mutex_unlock(&ms->mu);
    if (!d)
        return not_found(e, res, name);
    *out = shared ? mem__doc_shared(d) : mem__doc_json(d);
    mem__doc_unref(d);
    return *out ? 0 : err_set(e, -ENOMEM, "out of memory");
}

static int mem_get(struct store *st, const struct api_resource *res, const char *ns,
                   const char *name, json_t **out, struct err *e)
{
    return get_version(st, res, ns, name, false, out, e);
}

static int mem_get_shared(struct store *st, const struct api_resource *res, const char *ns,
                          const char *name, json_t **out, struct err *e)
{
    return get_version(st, res, ns, name, true, out, e);
}

static int mem_create(struct store *st, const struct api_resource *res, const char *ns,
                      const json_t *obj, const struct store_write_opts *o, json_t **out,
                      struct err *e)
{
    struct mem_store *ms = mem__of(st);
    if (!resource_served(ms, res, e))
        return -ENOENT;
    mutex_lock(&ms->mu);
    return write_done(ms, mem_create_locked(ms, res, ns, obj, o, out, e));
}

/* What an update needs of the caller's object, as its own copy: all of it,
 * or for a status write what identifies it and its status, the rest of the
 * candidate coming from the stored version (update_candidate). */
static json_t *update_request(const json_t *obj, enum store_subresource sub)
{
    if (sub != STORE_STATUS)
        return jdoc_copy(obj);
    static const char *const used[] = {"apiVersion", "kind", "metadata", "status"};
    json_t *copy = json_object();
    for (size_t i = 0; copy && i < sizeof used / sizeof used[0]; i++) {
        const json_t *v = json_object_get(obj, used[i]);
        if (v && json_object_set_new(copy, used[i], jdoc_copy(v)) < 0) {
            json_decref(copy);
            copy = NULL;
        }
    }
    return copy;
}

static int mem_update(struct store *st, const struct api_resource *res, const char *ns,
                      const json_t *obj, const struct store_write_opts *o, json_t **out,
                      struct err *e)
{
    struct mem_store *ms = mem__of(st);
    if (!resource_served(ms, res, e))
        return -ENOENT;
    json_t *copy = o->handed_over ? json_incref((json_t *)obj) : update_request(obj, o->subresource);
    if (!copy)
        return err_set(e, -ENOMEM, "out of memory");
    mutex_lock(&ms->mu);
    return write_done(ms, mem__update_locked(ms, res, ns, copy, o, out, e));
}

static int mem_patch(struct store *st, const struct api_resource *res, const char *ns,
                     const char *name, enum store_patch_type type, const json_t *patch,
                     const struct store_write_opts *o, json_t **out, struct err *e)
{
    struct mem_store *ms = mem__of(st);
    if (!resource_served(ms, res, e))
        return -ENOENT;
    mutex_lock(&ms->mu);
    return write_done(ms, mem_patch_locked(ms, res, ns, name, type, patch, o, out, e));
}

static int mem_remove(struct store *st, const struct api_resource *res, const char *ns,
                      const char *name, const struct store_delete_opts *o, json_t **out,
                      struct err *e)
{
    struct mem_store *ms = mem__of(st);
    if (!resource_served(ms, res, e))
        return -ENOENT;
    mutex_lock(&ms->mu);
    return write_done(ms, mem__delete_locked(ms, res, ns, name, o, out, e));
}

static int mem_bind(struct store *st, const char *ns, const char *pod, const char *node,
                    struct err *e)
{
    struct mem_store *ms = mem__of(st);
    mutex_lock(&ms->mu);
    return write_done(ms, mem_bind_locked(ms, ns, pod, node, e));
}

static void mem_destroy(struct store *st)
{
    struct mem_store *ms = mem__of(st);
    for (size_t i = 0; i < ms->n_kinds; i++) {
        struct mem_table *t = &ms->kinds[i]->objs;
        for (size_t s = 0; s < t->cap; s++) {
            struct mem_obj *o = t->slots[s].item;
            if (o) {
                mem__doc_unref(o->doc);
                free(o->deps);
                free(o);
            }
        }
        mem__table_free(t);
        mem__index_free(ms->kinds[i]);
        mem__watch_detach_all(ms->kinds[i]);
        free(ms->kinds[i]);
    }
    for (size_t s = 0; s < ms->ns_counts.cap; s++)
        free(ms->ns_counts.slots[s].item);
    mem__table_free(&ms->ns_counts);
    mem__table_free(&ms->uids);
    for (size_t i = 0; i < ms->ring_cap; i++)
        event_release(&ms->ring[i]);
    free(ms->ring);
    free(ms->kinds);
    mem__gc_free(ms);
    free(ms->to_wake);
    api_registry_free(ms->base.registry);
    mem__literals_free(ms);
    mutex_destroy(&ms->mu);
    free(ms);
}

static const struct store_ops mem_ops = {
    .name = "mem",
    .get = mem_get,
    .get_shared = mem_get_shared,
    .list = mem__list,
    .create = mem_create,
    .update = mem_update,
    .patch = mem_patch,
    .remove = mem_remove,
    .bind = mem_bind,
    .watch_open = mem__watch_open,
    .watch_next = mem__watch_next,
    .watch_cancel = mem__watch_cancel,
    .watch_close = mem__watch_close,
    .destroy = mem_destroy,
};

int mem_store_new(const struct mem_store_config *cfg, struct store **out, struct err *e)
{
    *out = NULL;
    if (!cfg || !cfg->now_ns)
        return err_set(e, -EINVAL, "mem store: a clock (now_ns) is required");
    struct mem_store *ms = alloc_calloc(1, sizeof *ms);
    ms->cfg = *cfg;
    if (!ms->cfg.event_ttl_ns)
        ms->cfg.event_ttl_ns = MEM_STORE_EVENT_TTL_DEFAULT_NS;
    ms->ring_cap = cfg->history ? cfg->history : MEM_STORE_HISTORY_DEFAULT;
    ms->ring = alloc_calloc(ms->ring_cap, sizeof *ms->ring);
    ms->watch_buffer = cfg->watch_buffer ? cfg->watch_buffer : ms->ring_cap;
    ms->values_kept = cfg->values_kept ? cfg->values_kept : MEM_STORE_VALUES_DEFAULT;
    if (ms->values_kept != MEM_STORE_VALUES_ALL && ms->values_kept >= ms->ring_cap)
        ms->values_kept = ms->ring_cap - 1;
    ms->rv = ms->compacted = cfg->first_revision;
    ms->base.registry = api_registry_new();
    ms->base.ops = &mem_ops;
    ms->seq = rng_seeded(cfg->seed);
    mem__literals_make(ms);
    mutex_init(&ms->mu);
    if (!ms->base.registry) {
        mem_destroy(&ms->base);
        return err_set(e, -ENOMEM, "out of memory");
    }
    struct api_registry *reg = ms->base.registry;
    ms->pods = api_registry_find(reg, "", "v1", "pods");
    ms->namespaces = api_registry_find(reg, "", "v1", "namespaces");
    ms->crds = api_registry_find(reg, "apiextensions.k8s.io", "v1", "customresourcedefinitions");
    *out = &ms->base;
    return 0;
}

int mem_store_collect(struct store *st, size_t max, size_t *pending, struct err *e)
{
    struct mem_store *ms = mem__of(st);
    mutex_lock(&ms->mu);
    int rc = mem__gc_run(ms, max, e);
    if (pending)
        *pending = ms->work_n;
    mem__unlock(ms);
    return rc;
}

void mem_store_compact(struct store *st)
{
    struct mem_store *ms = mem__of(st);
    mutex_lock(&ms->mu);
    uint64_t from = ms->compacted + 1;
    if (ms->rv >= ms->ring_cap && from < ms->rv - ms->ring_cap + 1)
        from = ms->rv - ms->ring_cap + 1;
    for (uint64_t r = from; r <= ms->rv; r++)
        event_release(&ms->ring[r % ms->ring_cap]);
    ms->compacted = ms->rv;
    mutex_unlock(&ms->mu);
}

uint64_t mem_store_revision(struct store *st)
{
    struct mem_store *ms = mem__of(st);
    mutex_lock(&ms->mu);
    uint64_t rv = ms->rv;
    mutex_unlock(&ms->mu);
    return rv;
}
