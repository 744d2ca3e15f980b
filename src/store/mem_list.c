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
 *
 * A page resumes at its start key in the kind's key order (mem_order.c),
 * so it costs itself, not the objects before it; a list that is not paged,
 * or one whose selectors' index leaves few objects, gathers the snapshot
 * and sorts it.
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
#include "util/objkey.h"
#include "util/vec.h"

#define TOKEN_MAX 1024
#define CURSOR_PART_MAX 256 /* a namespace or a name, with its NUL */

static char *token_encode(uint64_t rv, const struct mem_doc *last)
{
    /* One byte over the longest key a cursor takes: a key cut to fit is
     * refused on decode, never read as another. */
    char start[2 * CURSOR_PART_MAX + 1];
    objkey_join(start, sizeof start, last->ns, last->name);
    json_t *t = json_pack("{s:s, s:I, s:s}", "v", "meta.k8s.io/v1", "rv", (json_int_t)rv,
                          "start", start);
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
    char ns[CURSOR_PART_MAX], name[CURSOR_PART_MAX];
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
    const char *start = json_string_value(json_object_get(t, "start")), *name;
    bool ok = json_is_integer(rv) && json_integer_value(rv) >= 0 && start &&
              objkey_split(start, c->ns, sizeof c->ns, &name) == 0 && strlen(name) < sizeof c->name;
    if (ok) {
        c->rv = (uint64_t)json_integer_value(rv);
        strcpy(c->name, name);
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
    size_t looked; /* documents looked at to gather them */
};

static int docs_push(struct docs *d, struct mem_doc *doc)
{
    d->looked++;
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

/* The keys of res in ns that writes after rv `at` changed, each with its
 * version at `at` (NULL: absent then), into *out (n of them) and the table
 * past over them. With the lock held. */
struct changes {
    struct mem_table past; /* struct past, by key */
    struct past *v;
    size_t n;
};

static int changes_since(struct mem_store *ms, const struct api_resource *res, const char *ns,
                         uint64_t at, struct changes *c)
{
    assert(mutex_held(&ms->mu) && at <= ms->rv && at >= ms->compacted);
    *c = (struct changes){0};
    if (at == ms->rv)
        return 0;
    c->v = alloc_calloc(ms->rv - at, sizeof *c->v);
    if (mem__table_reserve(&c->past, ms->rv - at) != 0)
        return -ENOMEM;
    for (uint64_t r = ms->rv; r > at; r--) {
        const struct mem_event *ev = &ms->ring[r % ms->ring_cap];
        if (!in_scope(ev->cur, res, ns))
            continue;
        struct past key = {ev->cur->ns, ev->cur->name, NULL};
        uint64_t h = mem__key_hash(key.ns, key.name);
        struct past *p = mem__table_find(&c->past, h, past_eq, &key);
        if (!p) {
            p = &c->v[c->n++];
            *p = key;
            mem__table_insert(&c->past, h, p);
        }
        p->doc = ev->prev; /* older events overwrite: the oldest wins */
    }
    return 0;
}

static void changes_free(struct changes *c)
{
    mem__table_free(&c->past);
    free(c->v);
}

static bool changed(const struct changes *c, const struct mem_doc *d)
{
    struct past key = {d->ns, d->name, NULL};
    return c->past.n && mem__table_find(&c->past, mem__key_hash(key.ns, key.name), past_eq, &key);
}

/* Where a live object goes: into out unless a later write changed it (the
 * version at the snapshot is among the changes then). */
struct current {
    const struct changes *changes;
    struct docs *out;
};

static int current_push(void *ctx, struct mem_obj *o)
{
    const struct current *c = ctx;
    return changed(c->changes, o->doc) ? 0 : docs_push(c->out, o->doc);
}

/* The objects of res in ns as of rv `at` (at <= ms->rv, at >= compacted),
 * into out (references): those the selectors may match, at least. Called
 * with the lock held. */
static int snapshot(struct mem_store *ms, const struct api_resource *res, const char *ns,
                    const struct selector *ls, const struct field_selector *fs, uint64_t at,
                    struct docs *out)
{
    struct changes ch;
    int rc = changes_since(ms, res, ns, at, &ch);
    struct current cur = {&ch, out};
    if (rc == 0)
        rc = mem__index_each(ms, mem__kind_find(ms, res), ns, ls, fs, current_push, &cur);
    for (size_t i = 0; rc == 0 && i < ch.n; i++)
        if (ch.v[i].doc)
            rc = docs_push(out, ch.v[i].doc);
    changes_free(&ch);
    return rc;
}

/* --- pages in key order ----------------------------------------------------- */

/* A page gathered walking the kind's key order (mem_order.c) from where
 * the last page ended: the live objects no write since the snapshot
 * changed, merged in key order with the snapshot's versions of those one
 * did. It costs the page (and what the selectors skip), the changes since
 * the first page, and O(log N), where collecting and sorting the whole
 * snapshot for each page made a paged list O(N^2 / limit * log N). */
struct walk {
    const struct changes *changes;
    const struct past **older; /* changed keys present at the snapshot, after the start */
    size_t n_older, next;
    const char *ns; /* NULL: every namespace */
    const struct selector *ls;
    const struct field_selector *fs;
    size_t want; /* the page and one more (whether there is more) */
    struct docs *out;
};

static int key_cmp(const char *ans, const char *aname, const char *bns, const char *bname)
{
    int c = strcmp(ans, bns);
    return c != 0 ? c : strcmp(aname, bname);
}

static int older_cmp(const void *a, const void *b)
{
    const struct past *p = *(const struct past *const *)a, *q = *(const struct past *const *)b;
    return key_cmp(p->ns, p->name, q->ns, q->name);
}

/* 1 once the walk has all it wants. */
static int take(struct walk *w, struct mem_doc *d)
{
    if (!mem__doc_matches(d, w->ls, w->fs))
        w->out->looked++;
    else if (docs_push(w->out, d) != 0)
        return -ENOMEM;
    return w->out->n >= w->want;
}

/* Takes the older versions of keys before (ns, name); NULL: all left. */
static int take_older(struct walk *w, const char *ns, const char *name)
{
    int rc = 0;
    while (rc == 0 && w->next < w->n_older &&
           (!ns || key_cmp(w->older[w->next]->ns, w->older[w->next]->name, ns, name) < 0))
        rc = take(w, w->older[w->next++]->doc);
    return rc;
}

static int walk_push(void *ctx, struct mem_obj *o)
{
    struct walk *w = ctx;
    if (w->ns && strcmp(o->doc->ns, w->ns) != 0)
        return 1; /* past the namespace: the order is by namespace first */
    int rc = take_older(w, o->doc->ns, o->doc->name);
    if (rc == 0 && !changed(w->changes, o->doc))
        rc = take(w, o->doc);
    return rc;
}

/* How many keys in scope the snapshot has after the last document taken
 * (remainingItemCount): the live ones after it, less those created
 * since, plus those deleted since. */
static size_t remaining_after(struct mem_store *ms, const struct mem_kind *k,
                              const struct changes *ch, const char *ns, const struct mem_doc *last)
{
    size_t upto = ns ? mem__order_count_upto(&k->order, ns, NULL) : k->objs.n;
    size_t n = upto - mem__order_count_upto(&k->order, last->ns, last->name);
    for (size_t i = 0; i < ch->n; i++) {
        const struct past *p = &ch->v[i];
        if (key_cmp(p->ns, p->name, last->ns, last->name) <= 0)
            continue;
        n -= mem__find(ms, k->res, p->ns, p->name) != NULL;
        n += p->doc != NULL;
    }
    return n;
}

/* The page (limit documents, 0: all, and one more when there are more)
 * after the cursor c (NULL: from the start) of the objects of k in ns as
 * of rv `at`, into out; *remaining as remaining_after when there are
 * more. With the lock held. */
static int walk_page(struct mem_store *ms, const struct mem_kind *k, const char *ns,
                     const struct selector *ls, const struct field_selector *fs, uint64_t at,
                     const struct cursor *c, size_t limit, struct docs *out, size_t *remaining)
{
    const char *sns = ns ? ns : "", *sname = "";
    if (c && key_cmp(c->ns, c->name, sns, sname) > 0) {
        sns = c->ns;
        sname = c->name;
    }
    struct changes ch;
    struct walk w = {.changes = &ch, .ns = ns, .ls = ls, .fs = fs,
                     .want = limit ? limit + 1 : SIZE_MAX, .out = out};
    int rc = changes_since(ms, k->res, ns, at, &ch);
    if (rc == 0 && ch.n)
        w.older = alloc_calloc(ch.n, sizeof *w.older);
    for (size_t i = 0; rc == 0 && i < ch.n; i++)
        if (ch.v[i].doc && key_cmp(ch.v[i].ns, ch.v[i].name, sns, sname) > 0)
            w.older[w.n_older++] = &ch.v[i];
    if (w.n_older > 1)
        qsort(w.older, w.n_older, sizeof *w.older, older_cmp);
    if (rc == 0)
        rc = mem__order_each_after(&k->order, sns, sname, walk_push, &w);
    if (rc >= 0 && out->n < w.want)
        rc = take_older(&w, NULL, NULL);
    if (rc >= 0 && out->n == w.want)
        *remaining = remaining_after(ms, k, &ch, ns, out->v[limit - 1]);
    free(w.older);
    changes_free(&ch);
    return rc < 0 ? rc : 0;
}

/* Whether a paged list walks the key order rather than sorting what the
 * selectors' index yields: unless the index narrows the kind's n objects
 * to m so few that sorting them (m log m) beats walking past the ones the
 * selectors skip (about limit * n / m). */
static bool walks(struct mem_store *ms, const struct mem_kind *k, const char *ns,
                  const struct selector *ls, const struct field_selector *fs, size_t limit)
{
    size_t m = mem__index_candidates(ms, (struct mem_kind *)k, ns, ls, fs);
    return m == k->objs.n || (double)m * (double)m > (double)(limit ? limit : m) * (double)k->objs.n;
}

static int doc_cmp(const void *a, const void *b)
{
    return mem__doc_key_cmp(*(const struct mem_doc *const *)a, *(const struct mem_doc *const *)b);
}

static bool after_cursor(const struct mem_doc *d, const struct cursor *c)
{
    return key_cmp(d->ns, d->name, c->ns, c->name) > 0;
}

/* Keeps the snapshot's documents after the cursor (may be NULL) that match
 * the selectors, in key order. Outside the lock: the documents are
 * immutable. */
static void filter_and_sort(struct docs *docs, const struct cursor *c, const struct selector *ls,
                           const struct field_selector *fs)
{
    size_t kept = 0;
    for (size_t i = 0; i < docs->n; i++) {
        if ((c && !after_cursor(docs->v[i], c)) || !mem__doc_matches(docs->v[i], ls, fs)) {
            mem__doc_unref(docs->v[i]);
            continue;
        }
        docs->v[kept++] = docs->v[i];
    }
    docs->n = kept;
    if (docs->n > 1) /* qsort must not be given a NULL array */
        qsort(docs->v, docs->n, sizeof *docs->v, doc_cmp);
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
    bool walked = false;
    size_t remaining = 0;
    if (rc == 0) {
        mutex_lock(&ms->mu);
        rc = list_at(ms, o, paging ? &cur : NULL, &at, e);
        struct mem_kind *k = rc == 0 ? mem__kind_find(ms, res) : NULL;
        walked = k && (paging || o->limit) && walks(ms, k, ns, ls, fs, o->limit);
        if (rc == 0 && (walked ? walk_page(ms, k, ns, ls, fs, at, paging ? &cur : NULL,
                                           o->limit, &docs, &remaining)
                               : snapshot(ms, res, ns, ls, fs, at, &docs)) != 0)
            rc = err_set(e, -ENOMEM, "out of memory");
        ms->list_looked += docs.looked;
        mutex_unlock(&ms->mu);
    }
    if (rc == 0 && !walked)
        filter_and_sort(&docs, paging ? &cur : NULL, ls, fs);
    size_t page = rc == 0 && o->limit && o->limit < docs.n ? o->limit : docs.n;
    if (!walked)
        remaining = docs.n - page;
    if (rc == 0 && page < docs.n && !(token = token_encode(at, docs.v[page - 1])))
        rc = err_set(e, -ENOMEM, "out of memory");
    if (rc == 0) {
        bool filtered = !selector_empty(ls) || !selector_field_empty(fs);
        list = list_document(res, at, token, remaining, !filtered);
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
