/*
 * List for the mem store: selectors, limit/continue, and lists as of a past
 * resourceVersion.
 *
 * Every page of a paged list is served as of the resourceVersion of the
 * first page, as etcd does: the current objects, with the changes made
 * since then undone from the history ring (each event keeps the version it
 * replaced). When the ring no longer reaches back that far the list is
 * Expired (410), and the client starts over. The continue token is
 * base64url JSON {"v","rv","start"}, start being the last key returned.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/mem_internal.h"
#include "util/alloc.h"
#include "util/base64.h"
#include "util/jdoc.h"
#include "util/vec.h"

#define TOKEN_MAX 1024

static char *token_encode(uint64_t rv, const struct mem_doc *last)
{
    json_t *t = json_pack("{s:s, s:I, s:s++}", "v", "meta.k8s.io/v1", "rv", (json_int_t)rv,
                          "start", last->ns, "/", last->name);
    char *text = t ? json_dumps(t, JSON_COMPACT) : NULL;
    json_decref(t);
    if (!text)
        return NULL;
    char *out = base64_encode(text, strlen(text), BASE64_URL);
    free(text);
    return out;
}

struct cursor {
    uint64_t rv;
    char ns[256], name[256];
};

static int token_decode(const char *tok, struct cursor *c, struct err *e)
{
    unsigned char *raw = NULL;
    size_t len;
    if (strlen(tok) > TOKEN_MAX || base64_decode(tok, &raw, &len) != 0)
        goto bad;
    json_t *t = json_loadb((const char *)raw, len, 0, NULL);
    free(raw);
    const json_t *rv = json_object_get(t, "rv");
    const char *start = json_string_value(json_object_get(t, "start"));
    const char *slash = start ? strchr(start, '/') : NULL;
    bool ok = json_is_integer(rv) && json_integer_value(rv) >= 0 && slash &&
              (size_t)(slash - start) < sizeof c->ns && strlen(slash + 1) < sizeof c->name;
    if (ok) {
        c->rv = (uint64_t)json_integer_value(rv);
        snprintf(c->ns, sizeof c->ns, "%.*s", (int)(slash - start), start);
        snprintf(c->name, sizeof c->name, "%s", slash + 1);
    }
    json_decref(t);
    if (ok)
        return 0;
bad:
    return err_set(e, -EBADMSG, "continue key is not valid: \"%.64s\"", tok);
}

/* --- snapshots -------------------------------------------------------------- */

struct docs {
    struct mem_doc **v;
    size_t n, cap;
};

static int docs_push(struct docs *d, struct mem_doc *doc)
{
    VEC_RESERVE(d->v, d->cap, d->n + 1);
    d->v[d->n++] = mem__doc_ref(doc);
    return 0;
}

static void docs_free(struct docs *d)
{
    for (size_t i = 0; i < d->n; i++)
        mem__doc_unref(d->v[i]);
    free(d->v);
}

/* The version of a key at the snapshot, found walking the ring back. */
struct past {
    const char *ns, *name;
    struct mem_doc *doc; /* NULL: absent at the snapshot */
};

static bool past_eq(const void *item, const void *key)
{
    const struct past *p = item;
    const struct past *k = key;
    return strcmp(p->name, k->name) == 0 && strcmp(p->ns, k->ns) == 0;
}

static bool in_scope(const struct mem_doc *d, const struct api_resource *res, const char *ns)
{
    return mem__same_resource(d->res, res) && (!ns || strcmp(d->ns, ns) == 0);
}

/* Where a live object goes: into out unless a later write changed it (the
 * version at the snapshot is in past then). */
struct current {
    const struct mem_table *past;
    struct docs *out;
};

static int current_push(void *ctx, struct mem_obj *o)
{
    const struct current *c = ctx;
    struct past key = {o->doc->ns, o->doc->name, NULL};
    if (c->past->n && mem__table_find(c->past, mem__key_hash(key.ns, key.name), past_eq, &key))
        return 0;
    return docs_push(c->out, o->doc);
}

/* The objects of res in ns as of rv `at` (at <= ms->rv, at >= compacted),
 * into out (references): those the selectors may match, at least. Called
 * with the lock held. */
static int snapshot(struct mem_store *ms, const struct api_resource *res, const char *ns,
                    const struct selector *ls, const struct field_selector *fs, uint64_t at,
                    struct docs *out)
{
    assert(mutex_held(&ms->mu) && at <= ms->rv && at >= ms->compacted);
    struct mem_table past = {0};
    struct past *pasts = NULL;
    size_t n_past = 0;
    int rc = 0;
    if (at < ms->rv) {
        pasts = alloc_calloc(ms->rv - at, sizeof *pasts);
        if (mem__table_reserve(&past, ms->rv - at) != 0)
            rc = -ENOMEM;
        for (uint64_t r = ms->rv; rc == 0 && r > at; r--) {
            const struct mem_event *ev = &ms->ring[r % ms->ring_cap];
            if (!in_scope(ev->cur, res, ns))
                continue;
            struct past key = {ev->cur->ns, ev->cur->name, NULL};
            uint64_t h = mem__key_hash(key.ns, key.name);
            struct past *p = mem__table_find(&past, h, past_eq, &key);
            if (!p) {
                p = &pasts[n_past++];
                *p = key;
                mem__table_insert(&past, h, p);
            }
            p->doc = ev->prev; /* older events overwrite: the oldest wins */
        }
    }
    struct current cur = {&past, out};
    if (rc == 0)
        rc = mem__index_each(ms, mem__kind_find(ms, res), ns, ls, fs, current_push, &cur);
    for (size_t i = 0; rc == 0 && i < n_past; i++)
        if (pasts[i].doc)
            rc = docs_push(out, pasts[i].doc);
    mem__table_free(&past);
    free(pasts);
    return rc;
}

static int doc_cmp(const void *a, const void *b)
{
    return mem__doc_key_cmp(*(const struct mem_doc *const *)a, *(const struct mem_doc *const *)b);
}

static bool after_cursor(const struct mem_doc *d, const struct cursor *c)
{
    int cmp = strcmp(d->ns, c->ns);
    return cmp > 0 || (cmp == 0 && strcmp(d->name, c->name) > 0);
}

/* Which resourceVersion to list at, under the lock. */
static int list_at(struct mem_store *ms, const struct store_list_opts *o, const struct cursor *c,
                   uint64_t *at, struct err *e)
{
    if (c) {
        if (c->rv < ms->compacted)
            return err_set(e, -EKEYEXPIRED, "The provided continue parameter is too old to display "
                           "a consistent list result. You can start a new list without the "
                           "continue parameter, or use the continue value from the response to "
                           "get a consistent list result.");
        *at = c->rv <= ms->rv ? c->rv : ms->rv;
        return 0;
    }
    *at = ms->rv;
    const char *rvs = o->resource_version;
    if (!rvs || !*rvs || (strcmp(rvs, "0") == 0 && !o->exact))
        return 0;
    uint64_t want;
    if (mem__parse_rv(rvs, "resourceVersion", &want, e) != 0)
        return -EBADMSG;
    if (want > ms->rv)
        return err_set(e, -ETIME, "Too large resource version: %" PRIu64 ", current: %" PRIu64,
                       want, ms->rv);
    if (!o->exact)
        return 0;
    if (want < ms->compacted)
        return err_set(e, -EKEYEXPIRED, "The resourceVersion for the provided list is too old.");
    *at = want;
    return 0;
}

static json_t *list_document(const struct api_resource *res, uint64_t at, const char *token,
                             size_t remaining, bool count_remaining)
{
    char rvs[24];
    snprintf(rvs, sizeof rvs, "%" PRIu64, at);
    json_t *md = json_pack("{s:s}", "resourceVersion", rvs);
    if (md && token) {
        jdoc_set(md, "continue", json_string(token));
        if (count_remaining)
            jdoc_set(md, "remainingItemCount", json_integer((json_int_t)remaining));
    }
    return json_pack("{s:s, s:s, s:o, s:[]}", "kind", res->list_kind, "apiVersion",
                     res->api_version, "metadata", md, "items");
}

int mem__list(struct store *st, const struct api_resource *res, const char *ns,
              const struct store_list_opts *o, json_t **out, struct err *e)
{
    struct mem_store *ms = mem__of(st);
    struct selector *ls = NULL;
    struct field_selector *fs = NULL;
    struct cursor cur;
    struct docs docs = {0};
    char *token = NULL;
    json_t *list = NULL;
    uint64_t at = 0;
    if (ns && !*ns)
        ns = NULL;
    if (!res->namespaced)
        ns = NULL;
    int rc = selector_parse(o->label_selector, &ls, e);
    if (rc == 0)
        rc = selector_field_parse(o->field_selector, res, &fs, e);
    if (rc == 0 && o->continue_token && *o->continue_token) {
        if (o->resource_version && *o->resource_version)
            rc = err_set(e, -EBADMSG, "specifying resource version is not allowed when using "
                         "continue");
        else
            rc = token_decode(o->continue_token, &cur, e);
    }
    bool paging = rc == 0 && o->continue_token && *o->continue_token;
    if (rc == 0) {
        mutex_lock(&ms->mu);
        rc = list_at(ms, o, paging ? &cur : NULL, &at, e);
        if (rc == 0 && snapshot(ms, res, ns, ls, fs, at, &docs) != 0)
            rc = err_set(e, -ENOMEM, "out of memory");
        mutex_unlock(&ms->mu);
    }
    /* Filter, order, and cut the page outside the lock: the documents are
     * immutable. */
    size_t kept = 0;
    for (size_t i = 0; rc == 0 && i < docs.n; i++) {
        if ((paging && !after_cursor(docs.v[i], &cur)) || !mem__doc_matches(docs.v[i], ls, fs)) {
            mem__doc_unref(docs.v[i]);
            continue;
        }
        docs.v[kept++] = docs.v[i];
    }
    if (rc == 0)
        docs.n = kept;
    if (rc == 0 && docs.n > 1) /* qsort must not be given a NULL array */
        qsort(docs.v, docs.n, sizeof *docs.v, doc_cmp);
    size_t page = rc == 0 && o->limit && o->limit < docs.n ? o->limit : docs.n;
    if (rc == 0 && page < docs.n && !(token = token_encode(at, docs.v[page - 1])))
        rc = err_set(e, -ENOMEM, "out of memory");
    if (rc == 0) {
        bool filtered = !selector_empty(ls) || !selector_field_empty(fs);
        list = list_document(res, at, token, docs.n - page, !filtered);
        if (!list)
            rc = err_set(e, -ENOMEM, "out of memory");
    }
    json_t *items = json_object_get(list, "items");
    for (size_t i = 0; rc == 0 && i < page; i++)
        if (json_array_append_new(items, mem__doc_json(docs.v[i])) != 0)
            rc = err_set(e, -ENOMEM, "out of memory");
    docs_free(&docs);
    free(token);
    selector_free(ls);
    selector_field_free(fs);
    if (rc != 0) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return 0;
}
