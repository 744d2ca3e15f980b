/*
 * Stored versions of objects (struct mem_doc): the object (its jansson
 * value, its compact JSON text, or both) and, beside it, what selectors
 * and indexes read without looking into it (namespace, name, uid, labels,
 * selectable fields, owner uids), all in one allocation so that a stored
 * object costs one malloc beyond the object itself.
 */
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "store/mem_internal.h"
#include "util/alloc.h"
#include "util/jdoc.h"
#include "util/jsontext.h"

/* The strings a doc copies, gathered before the one allocation. */
struct doc_plan {
    const json_t *deletion, *finalizers;
    const char *ns, *name, *uid;
    size_t n_labels, n_owners, n_fields;
    const json_t *labels, *owners;
    const char *fields[API_SELECTABLE_MAX];
    char field_bufs[API_SELECTABLE_MAX][24];
    size_t bytes;
};

static size_t plan_str(struct doc_plan *p, const char *s)
{
    size_t n = strlen(s ? s : "") + 1;
    p->bytes += n;
    return n;
}

/* The member of obj named by the first len bytes of name, remembered in
 * *m for the next field under the same one (a kind lists its fields by
 * their first member: spec.*, then status.*). */
struct member_memo {
    const char *name;
    size_t len;
    const json_t *v;
};

static const json_t *first_member(const json_t *obj, const char *name, size_t len,
                                  struct member_memo *m)
{
    if (!m->name || m->len != len || memcmp(m->name, name, len) != 0)
        *m = (struct member_memo){name, len, json_object_getn(obj, name, len)};
    return m->v;
}

/* The value of each selectable field, as selector_field_value reads it.
 * A field under a member that is the very value prev has there (a new
 * version shares every part it did not change) has prev's value. */
static void plan_fields(struct doc_plan *p, const struct api_resource *res, const json_t *obj,
                        const struct mem_doc *prev)
{
    const json_t *was = prev && prev->res == res
                            ? __atomic_load_n(&prev->parsed, __ATOMIC_ACQUIRE)
                            : NULL;
    struct member_memo mine = {0}, theirs = {0};
    for (size_t i = 0; res->selectable_fields[i]; i++) {
        const char *path = res->selectable_fields[i], *dot = strchr(path, '.');
        if (!dot) {
            p->fields[i] = selector_field_value(obj, path, p->field_bufs[i]);
        } else {
            size_t len = (size_t)(dot - path);
            const json_t *top = first_member(obj, path, len, &mine);
            if (top && was && i < prev->n_fields && top == first_member(was, path, len, &theirs))
                p->fields[i] = prev->fields[i];
            else
                p->fields[i] = top ? selector_field_value(top, dot + 1, p->field_bufs[i]) : NULL;
        }
        plan_str(p, p->fields[i]);
        p->n_fields++;
    }
}

/* Whether the key of len bytes is name. */
static bool key_is(const char *key, size_t len, const char *name)
{
    return len == strlen(name) && memcmp(key, name, len) == 0;
}

/* The metadata members a doc reads, in one pass over them: a lookup by
 * key hashes the key and finds its bucket, seven times a write. */
static void plan_metadata(struct doc_plan *p, const json_t *md)
{
    const char *k;
    size_t len;
    json_t *v;
    json_object_keylen_foreach((json_t *)md, k, len, v) {
        if (key_is(k, len, "namespace"))
            p->ns = json_string_value(v);
        else if (key_is(k, len, "name"))
            p->name = json_string_value(v);
        else if (key_is(k, len, "uid"))
            p->uid = json_string_value(v);
        else if (key_is(k, len, "labels"))
            p->labels = v;
        else if (key_is(k, len, "ownerReferences"))
            p->owners = v;
        else if (key_is(k, len, "deletionTimestamp"))
            p->deletion = v;
        else if (key_is(k, len, "finalizers"))
            p->finalizers = v;
    }
}

static void doc_plan(struct doc_plan *p, const struct api_resource *res, const json_t *obj,
                     const struct mem_doc *prev)
{
    memset(p, 0, sizeof *p);
    plan_metadata(p, json_object_get(obj, "metadata"));
    plan_str(p, p->ns);
    plan_str(p, p->name);
    plan_str(p, p->uid);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)p->labels, k, v) {
        if (!json_is_string(v))
            continue;
        plan_str(p, k);
        plan_str(p, json_string_value(v));
        p->n_labels++;
    }
    for (size_t i = 0; i < json_array_size(p->owners); i++) {
        const char *u = json_string_value(json_object_get(json_array_get(p->owners, i), "uid"));
        if (u) {
            plan_str(p, u);
            p->n_owners++;
        }
    }
    plan_fields(p, res, obj, prev);
}

static const char *put_str(char **cursor, const char *s)
{
    size_t n = strlen(s ? s : "") + 1;
    memcpy(*cursor, s ? s : "", n);
    const char *at = *cursor;
    *cursor += n;
    return at;
}

/* The finalizers the store acts on, in one pass over metadata.finalizers
 * (the metadata already at hand). */
static void mark_finalizers(struct mem_doc *d, const json_t *fins)
{
    d->finalized = json_array_size(fins) > 0;
    d->foreground = d->orphan = false;
    for (size_t i = 0; i < json_array_size(fins); i++) {
        const char *f = json_string_value(json_array_get(fins, i));
        d->foreground |= f && strcmp(f, "foregroundDeletion") == 0;
        d->orphan |= f && strcmp(f, "orphan") == 0;
    }
}

struct mem_doc *mem__doc_new(const struct api_resource *res, json_t *obj, uint64_t rv,
                             struct store_blob *blob, const struct mem_doc *prev)
{
    struct doc_plan p;
    doc_plan(&p, res, obj, prev);
    size_t ptrs = 2 * p.n_labels + p.n_fields + p.n_owners;
    size_t head = sizeof(struct mem_doc);
    head = (head + sizeof(char *) - 1) & ~(sizeof(char *) - 1);
    struct mem_doc *d = alloc_malloc(head + ptrs * sizeof(char *) + p.bytes);
    const char **arr = (const char **)((char *)d + head);
    char *cur = (char *)(arr + ptrs);
    d->refs = 1;
    d->parsed = blob ? NULL : json_incref(obj);
    d->res = res;
    d->rv = rv;
    d->blob = blob;
    d->ns = put_str(&cur, p.ns);
    d->name = put_str(&cur, p.name);
    d->uid = put_str(&cur, p.uid);
    d->labels = arr;
    d->fields = arr + 2 * p.n_labels;
    d->owners = d->fields + p.n_fields;
    d->n_labels = (uint32_t)p.n_labels;
    d->n_fields = (uint32_t)p.n_fields;
    d->n_owners = (uint32_t)p.n_owners;
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)p.labels, k, v) {
        if (!json_is_string(v))
            continue;
        d->labels[i++] = put_str(&cur, k);
        d->labels[i++] = put_str(&cur, json_string_value(v));
    }
    for (size_t f = 0; f < p.n_fields; f++)
        d->fields[f] = put_str(&cur, p.fields[f]);
    size_t o = 0;
    for (size_t j = 0; j < json_array_size(p.owners); j++) {
        const char *u = json_string_value(json_object_get(json_array_get(p.owners, j), "uid"));
        if (u)
            d->owners[o++] = put_str(&cur, u);
    }
    d->deleting = p.deletion != NULL;
    mark_finalizers(d, p.finalizers);
    d->cold = false;
    return d;
}

struct mem_doc *mem__doc_ref(struct mem_doc *d)
{
    if (d)
        __atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
    return d;
}

void mem__doc_unref(struct mem_doc *d)
{
    if (d && __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        json_decref(d->parsed);
        store_blob_unref(d->blob);
        free(d);
    }
}

struct store_blob *mem__doc_blob(struct mem_doc *d)
{
    struct store_blob *b = __atomic_load_n(&d->blob, __ATOMIC_ACQUIRE);
    if (b)
        return store_blob_ref(b);
    struct store_blob *mine = store_blob_dump(d->parsed); /* set: one of the two is */
    if (!mine)
        return NULL;
    /* Two first readers may race: one text wins, the other is dropped. */
    if (__atomic_compare_exchange_n(&d->blob, &b, mine, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return store_blob_ref(mine);
    store_blob_unref(mine);
    return store_blob_ref(b);
}

json_t *mem__doc_json(const struct mem_doc *d)
{
    /* Copying the kept value costs about a quarter of parsing the text
     * again (jansson, a 1 KB pod: 16-22 us against 64-85 us). */
    json_t *p = __atomic_load_n(&d->parsed, __ATOMIC_ACQUIRE);
    if (p)
        return jdoc_copy(p);
    struct store_blob *b = __atomic_load_n(&d->blob, __ATOMIC_ACQUIRE);
    return jsontext_load(b->data, b->len, 0, NULL);
}

json_t *mem__doc_shared(struct mem_doc *d)
{
    json_t *p = __atomic_load_n(&d->parsed, __ATOMIC_ACQUIRE);
    if (p)
        return json_incref(p);
    struct store_blob *b = __atomic_load_n(&d->blob, __ATOMIC_ACQUIRE);
    json_t *mine = jsontext_load(b->data, b->len, 0, NULL);
    if (!mine || __atomic_load_n(&d->cold, __ATOMIC_ACQUIRE))
        return mine; /* a cold version keeps its text alone */
    /* Two first readers may race: one parse wins, the other is dropped. */
    if (__atomic_compare_exchange_n(&d->parsed, &p, mine, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return json_incref(mine);
    json_decref(mine);
    return json_incref(p);
}

void mem__doc_cool(struct mem_doc *d, size_t held)
{
    if (__atomic_load_n(&d->cold, __ATOMIC_ACQUIRE) ||
        __atomic_load_n(&d->refs, __ATOMIC_ACQUIRE) != held)
        return; /* cold already, or a reader has it: it may be looking at the value */
    struct store_blob *b = mem__doc_blob(d);
    if (!b)
        return; /* out of memory: the value stays */
    store_blob_unref(b);
    json_decref(__atomic_exchange_n(&d->parsed, NULL, __ATOMIC_ACQ_REL));
    __atomic_store_n(&d->cold, true, __ATOMIC_RELEASE);
}

uint64_t mem__key_hash(const char *ns, const char *name)
{
    return hash_string(hash_string(hash_string(HASH_INIT, ns ? ns : ""), "/"), name);
}

int mem__doc_key_cmp(const struct mem_doc *a, const struct mem_doc *b)
{
    int c = strcmp(a->ns, b->ns);
    return c ? c : strcmp(a->name, b->name);
}

static const char *doc_label(void *ctx, const char *key)
{
    const struct mem_doc *d = ctx;
    for (size_t i = 0; i < d->n_labels; i++)
        if (strcmp(d->labels[2 * i], key) == 0)
            return d->labels[2 * i + 1];
    return NULL;
}

static const char *doc_field(void *ctx, const char *field)
{
    const struct mem_doc *d = ctx;
    if (strcmp(field, "metadata.name") == 0)
        return d->name;
    if (strcmp(field, "metadata.namespace") == 0)
        return d->ns;
    for (size_t i = 0; i < d->n_fields; i++)
        if (strcmp(d->res->selectable_fields[i], field) == 0)
            return d->fields[i];
    return NULL;
}

bool mem__doc_matches(const struct mem_doc *d, const struct selector *ls,
                      const struct field_selector *fs)
{
    return selector_match(ls, doc_label, (void *)d) &&
           selector_field_match(fs, doc_field, (void *)d);
}
