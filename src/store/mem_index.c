/*
 * Equality indexes of the mem store: what a selected list looks at.
 *
 * A list whose selectors require one equality (metadata.name, a selectable
 * field, a label: the routes of mem_watch.c) reads only the objects that
 * have that value, not every object of the kind: with an agent per node
 * listing its node's GPUSlices, ConfigMaps and GPUNode, a full scan each
 * made a 10,000-node start quadratic. A name in a known namespace is the
 * object table's own key; the others are indexed per tag, an index made on
 * the first list that asks for its tag (one scan) and kept by every write
 * from then on. Only objects that have a value under the tag are in it, so
 * a label index costs the objects that carry the label.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/mem_internal.h"
#include "util/alloc.h"
#include "util/vec.h"

/* The live objects with one value under a tag. */
struct mem_bucket {
    struct mem_table objs; /* struct mem_obj, hashed by its key, found by identity */
    char value[];
};

/* --- routes ------------------------------------------------------------------ */

const char *mem__selector_route(const struct api_resource *res, const struct selector *ls,
                                const struct field_selector *fs, char tag[ROUTE_KEY_MAX])
{
    const char *v = selector_field_equals(fs, "metadata.name");
    if (v) {
        strcpy(tag, "n");
        return v;
    }
    for (size_t i = 0; res->selectable_fields[i]; i++)
        if ((v = selector_field_equals(fs, res->selectable_fields[i]))) {
            snprintf(tag, ROUTE_KEY_MAX, "f%zu", i);
            return v;
        }
    const char *label;
    if ((v = selector_first_equals(ls, &label)) &&
        snprintf(tag, ROUTE_KEY_MAX, "l%s", label) < ROUTE_KEY_MAX)
        return v;
    return NULL;
}

const char *mem__doc_route_value(const struct mem_doc *d, const char *tag)
{
    switch (tag[0]) {
    case 'n':
        return d->name;
    case 'f': {
        size_t i = (size_t)strtoul(tag + 1, NULL, 10);
        return i < d->n_fields ? d->fields[i] : NULL;
    }
    default:
        for (uint32_t i = 0; i < d->n_labels; i++)
            if (strcmp(d->labels[2 * i], tag + 1) == 0)
                return d->labels[2 * i + 1];
        return NULL;
    }
}

/* --- buckets ----------------------------------------------------------------- */

static bool bucket_eq(const void *item, const void *key)
{
    return strcmp(((const struct mem_bucket *)item)->value, key) == 0;
}

static bool same_obj(const void *item, const void *key)
{
    return item == key;
}

static uint64_t obj_hash(const struct mem_obj *o)
{
    return mem__key_hash(o->doc->ns, o->doc->name);
}

static void bucket_add(struct mem_index *ix, const char *value, struct mem_obj *o)
{
    uint64_t h = hash_string(HASH_INIT, value);
    struct mem_bucket *b = mem__table_find(&ix->buckets, h, bucket_eq, value);
    if (!b) {
        size_t len = strlen(value);
        b = alloc_calloc(1, sizeof *b + len + 1);
        memcpy(b->value, value, len + 1);
        mem__table_reserve(&ix->buckets, 1); /* cannot fail: allocation aborts (util/alloc.h) */
        mem__table_insert(&ix->buckets, h, b);
    }
    mem__table_reserve(&b->objs, 1);
    mem__table_insert(&b->objs, obj_hash(o), o);
}

static void bucket_free(struct mem_bucket *b)
{
    mem__table_free(&b->objs);
    free(b);
}

/* o's hash is taken from the document it was filed with: a write changes
 * the document, never the key. */
static void bucket_remove(struct mem_index *ix, const char *value, struct mem_obj *o)
{
    uint64_t h = hash_string(HASH_INIT, value);
    struct mem_bucket *b = mem__table_find(&ix->buckets, h, bucket_eq, value);
    if (!b)
        return;
    mem__table_remove(&b->objs, obj_hash(o), same_obj, o);
    if (b->objs.n == 0)
        bucket_free(mem__table_remove(&ix->buckets, h, bucket_eq, value));
}

/* --- indexes ----------------------------------------------------------------- */

static struct mem_index *index_find(struct mem_kind *k, const char *tag)
{
    for (size_t i = 0; i < k->n_indexes; i++)
        if (strcmp(k->indexes[i].tag, tag) == 0)
            return &k->indexes[i];
    return NULL;
}

/* k's index of tag, made from its objects on first use; NULL when k has
 * MEM_INDEXES_MAX already (the list then scans). Over HTTP the clients
 * choose the label keys lists select on, and every index costs memory and
 * a look at each later write: without a bound, a client listing by ever
 * new label keys would grow both for good. */
static struct mem_index *index_of(struct mem_kind *k, const char *tag)
{
    struct mem_index *ix = index_find(k, tag);
    if (ix || k->n_indexes == MEM_INDEXES_MAX)
        return ix;
    VEC_RESERVE(k->indexes, k->cap_indexes, k->n_indexes + 1);
    ix = &k->indexes[k->n_indexes++];
    *ix = (struct mem_index){.tag = alloc_strdup(tag)};
    for (size_t s = 0; s < k->objs.cap; s++) {
        struct mem_obj *o = k->objs.slots[s].item;
        const char *v = o ? mem__doc_route_value(o->doc, tag) : NULL;
        if (v)
            bucket_add(ix, v, o);
    }
    return ix;
}

void mem__index_update(struct mem_kind *k, struct mem_obj *o, const struct mem_doc *prev,
                       const struct mem_doc *cur)
{
    if (!prev && cur)
        mem__order_insert(&k->order, o);
    else if (prev && !cur)
        mem__order_remove(&k->order, o);
    for (size_t i = 0; i < k->n_indexes; i++) {
        struct mem_index *ix = &k->indexes[i];
        const char *was = prev ? mem__doc_route_value(prev, ix->tag) : NULL;
        const char *now = cur ? mem__doc_route_value(cur, ix->tag) : NULL;
        if (was && now && strcmp(was, now) == 0)
            continue;
        if (was)
            bucket_remove(ix, was, o);
        if (now)
            bucket_add(ix, now, o);
    }
}

void mem__index_free(struct mem_kind *k)
{
    mem__order_free(&k->order);
    for (size_t i = 0; i < k->n_indexes; i++) {
        struct mem_table *t = &k->indexes[i].buckets;
        for (size_t s = 0; s < t->cap; s++)
            if (t->slots[s].item)
                bucket_free(t->slots[s].item);
        mem__table_free(t);
        free(k->indexes[i].tag);
    }
    free(k->indexes);
    k->indexes = NULL;
    k->n_indexes = k->cap_indexes = 0;
}

/* --- candidates ------------------------------------------------------------- */

/* The table mem__index_each looks through, or in *one the single object a
 * name in a namespace names (the table is NULL then, as it is when no
 * object has the value). */
static const struct mem_table *candidates(struct mem_store *ms, struct mem_kind *k,
                                          const char *ns, const struct selector *ls,
                                          const struct field_selector *fs, struct mem_obj **one)
{
    char tag[ROUTE_KEY_MAX];
    const char *v = mem__selector_route(k->res, ls, fs, tag);
    *one = NULL;
    if (v && tag[0] == 'n' && (ns || !k->res->namespaced)) {
        *one = mem__find(ms, k->res, ns ? ns : "", v);
        return NULL;
    }
    const struct mem_index *ix = v ? index_of(k, tag) : NULL;
    if (!ix)
        return &k->objs;
    const struct mem_bucket *b =
        mem__table_find(&ix->buckets, hash_string(HASH_INIT, v), bucket_eq, v);
    return b ? &b->objs : NULL;
}

size_t mem__index_candidates(struct mem_store *ms, struct mem_kind *k, const char *ns,
                             const struct selector *ls, const struct field_selector *fs)
{
    struct mem_obj *one;
    const struct mem_table *t = k ? candidates(ms, k, ns, ls, fs, &one) : NULL;
    return t ? t->n : k && one ? 1 : 0;
}

int mem__index_each(struct mem_store *ms, struct mem_kind *k, const char *ns, const struct selector *ls,
                    const struct field_selector *fs, mem_index_fn fn, void *ctx)
{
    if (!k)
        return 0;
    struct mem_obj *one;
    const struct mem_table *t = candidates(ms, k, ns, ls, fs, &one);
    if (one)
        return fn(ctx, one);
    int rc = 0;
    for (size_t s = 0; t && rc == 0 && s < t->cap; s++) {
        struct mem_obj *o = t->slots[s].item;
        if (o && (!ns || strcmp(o->doc->ns, ns) == 0))
            rc = fn(ctx, o);
    }
    return rc;
}
