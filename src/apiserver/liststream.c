/*
 * List answers streamed page by page (liststream.h). The document is
 * written as its head (every key but the array, with the metadata unless
 * it must come last), then the array's elements one page at a time, then
 * the tail. Elements are serialised straight into the pending buffer that
 * the reader drains, so no page is ever held as text, only as JSON.
 */
#include "apiserver/liststream.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/jdoc.h"
#include "util/vec.h"

struct liststream {
    struct store *st;
    const struct api_resource *res;
    char *ns, *label_selector, *field_selector;
    struct liststream_form form;
    size_t left;         /* objects the client's limit still allows; SIZE_MAX: no limit */
    char *token;         /* the continue token of the next page; NULL: none left */
    json_t *last_meta;   /* with a client limit: the latest page's metadata, written last */
    json_t *elems;       /* the current page's elements */
    size_t next;         /* the next of them to write */
    bool wrote_elem;     /* an element was written: the next one needs a comma */
    bool ended, failed;
    char *pend;          /* bytes not yet read: pend[off..len) */
    size_t off, len, cap;
};

/* ---- the form of the answer ---- */

static const char *array_key(const struct liststream_form *f)
{
    return f->answer == MEDIA_ANSWER_TABLE ? "rows" : "items";
}

/* The answer's elements for items (a page's objects): the objects, their
 * Table rows, or their partial metadata. New reference. */
static json_t *elements(const struct liststream_form *f, json_t *items)
{
    if (f->answer == MEDIA_ANSWER_JSON)
        return json_incref(items);
    if (f->answer == MEDIA_ANSWER_TABLE) {
        json_t *t = table_build(f->table, items, NULL, false, f->include, f->meta_version,
                                f->now_ns);
        json_t *rows = json_incref(json_object_get(t, "rows"));
        json_decref(t);
        return rows;
    }
    json_t *partial = json_array();
    size_t i;
    json_t *obj;
    json_array_foreach(items, i, obj) {
        jdoc_append(partial, table_partial(obj, f->meta_version));
    }
    return partial;
}

/* The answer for list without its array: kind, apiVersion, metadata (a
 * copy of meta; none when meta is NULL) and, for a Table, the columns. New
 * reference. */
static json_t *head(const struct liststream_form *f, const json_t *list, const json_t *meta)
{
    json_t *h;
    if (f->answer == MEDIA_ANSWER_JSON) {
        h = json_copy((json_t *)list);
        json_object_del(h, "items");
        json_object_del(h, "metadata");
    } else if (f->answer == MEDIA_ANSWER_TABLE) {
        json_t *none = json_array();
        h = table_build(f->table, none, NULL, true, f->include, f->meta_version, f->now_ns);
        json_decref(none);
        json_object_del(h, "rows");
        json_object_del(h, "metadata");
    } else {
        h = json_pack("{s:s, s:s+}", "kind", "PartialObjectMetadataList", "apiVersion",
                      "meta.k8s.io/", f->meta_version);
    }
    if (!h)
        alloc_failed(0);
    if (meta)
        jdoc_set(h, "metadata", jdoc_copy(meta));
    return h;
}

json_t *liststream_convert(const struct liststream_form *form, json_t *list)
{
    if (form->answer == MEDIA_ANSWER_JSON)
        return list;
    json_t *meta = json_object_get(list, "metadata");
    json_t *out = head(form, list, json_is_object(meta) ? meta : NULL);
    jdoc_set(out, array_key(form), elements(form, json_object_get(list, "items")));
    json_decref(list);
    return out;
}

/* ---- the bytes ---- */

static int append(const char *data, size_t n, void *ctx)
{
    struct liststream *ls = ctx;
    if (ls->off == ls->len)
        ls->off = ls->len = 0;
    VEC_RESERVE(ls->pend, ls->cap, ls->len + n);
    memcpy(ls->pend + ls->len, data, n);
    ls->len += n;
    return 0;
}

static void append_str(struct liststream *ls, const char *s)
{
    append(s, strlen(s), ls);
}

static void append_json(struct liststream *ls, const json_t *v)
{
    if (json_dump_callback(v, append, ls, JSON_COMPACT) != 0)
        alloc_failed(0); /* append cannot fail: only jansson's own allocations can */
}

/* Writes h as the document's opening: its keys, then the array's key. */
static void write_head(struct liststream *ls, const json_t *h)
{
    char *text = json_dumps(h, JSON_COMPACT);
    if (!text)
        alloc_failed(0);
    size_t n = strlen(text);
    append(text, n - 1, ls); /* without the closing brace */
    append_str(ls, n > 2 ? ",\"" : "\"");
    append_str(ls, array_key(&ls->form));
    append_str(ls, "\":[");
    free(text);
}

static void write_tail(struct liststream *ls)
{
    append_str(ls, "]");
    if (ls->last_meta) {
        append_str(ls, ",\"metadata\":");
        append_json(ls, ls->last_meta);
    }
    append_str(ls, "}");
    ls->ended = true;
}

/* ---- pages ---- */

/* Takes the page list (taken) as the current one: its elements, where it
 * leaves the client's limit, the next page's token. */
static void take_page(struct liststream *ls, json_t *list)
{
    json_t *meta = json_object_get(list, "metadata");
    json_t *items = json_object_get(list, "items");
    const char *token = json_string_value(json_object_get(meta, "continue"));
    size_t n = json_array_size(items);
    free(ls->token);
    ls->token = token && *token ? alloc_strdup(token) : NULL;
    if (ls->left != SIZE_MAX) {
        ls->left = n < ls->left ? ls->left - n : 0;
        json_decref(ls->last_meta);
        ls->last_meta = jdoc_copy(json_is_object(meta) ? meta : NULL);
        if (!ls->last_meta)
            ls->last_meta = json_object();
    }
    json_decref(ls->elems);
    ls->elems = elements(&ls->form, items);
    if (!ls->elems)
        alloc_failed(0);
    ls->next = 0;
    json_decref(list);
}

static size_t page_limit(const struct liststream *ls)
{
    return ls->left < LISTSTREAM_PAGE ? ls->left : LISTSTREAM_PAGE;
}

/* Reads the page after the current one; false when it failed. */
static bool next_page(struct liststream *ls)
{
    struct store_list_opts o = {
        .label_selector = ls->label_selector,
        .field_selector = ls->field_selector,
        .continue_token = ls->token,
        .limit = page_limit(ls),
    };
    json_t *list;
    if (store_list(ls->st, ls->res, ls->ns, &o, &list, NULL) != 0)
        return false;
    take_page(ls, list);
    return true;
}

/* Writes until at least want bytes are pending or the answer is complete. */
static void fill(struct liststream *ls, size_t want)
{
    while (!ls->ended && ls->len - ls->off < want) {
        if (ls->next < json_array_size(ls->elems)) {
            if (ls->wrote_elem)
                append_str(ls, ",");
            append_json(ls, json_array_get(ls->elems, ls->next++));
            ls->wrote_elem = true;
        } else if (ls->token && ls->left > 0) {
            if (!next_page(ls))
                ls->ended = ls->failed = true;
        } else {
            write_tail(ls);
        }
    }
}

ssize_t liststream_read(struct liststream *ls, char *buf, size_t max)
{
    if (ls->off == ls->len && !ls->ended)
        fill(ls, max);
    size_t n = ls->len - ls->off;
    if (n == 0)
        return ls->failed ? -EIO : 0;
    if (n > max)
        n = max;
    memcpy(buf, ls->pend + ls->off, n);
    ls->off += n;
    return (ssize_t)n;
}

/* ---- opening ---- */

static char *dup_or_null(const char *s)
{
    return s ? alloc_strdup(s) : NULL;
}

/* A stream that goes on from first (the first page, taken). */
static struct liststream *stream_from(struct store *st, const struct api_resource *res,
                                      const char *ns, const struct store_list_opts *o,
                                      const struct liststream_form *form, json_t *first)
{
    struct liststream *ls = alloc_calloc(1, sizeof *ls);
    ls->st = st;
    ls->res = res;
    ls->ns = dup_or_null(ns);
    ls->label_selector = dup_or_null(o->label_selector);
    ls->field_selector = dup_or_null(o->field_selector);
    ls->form = *form;
    ls->left = o->limit ? o->limit : SIZE_MAX;
    /* Without a client limit the first page's resourceVersion is the
     * list's, and nothing else of its metadata is the client's. */
    json_t *meta = NULL;
    if (!o->limit) {
        meta = jdoc_copy(json_object_get(first, "metadata"));
        json_object_del(meta, "continue");
        json_object_del(meta, "remainingItemCount");
    }
    json_t *h = head(form, first, meta);
    write_head(ls, h);
    json_decref(h);
    json_decref(meta);
    take_page(ls, first);
    return ls;
}

int liststream_open(struct store *st, const struct api_resource *res, const char *ns,
                    const struct store_list_opts *o, const struct liststream_form *form,
                    json_t **whole, struct liststream **out, struct err *e)
{
    struct store_list_opts first = *o;
    json_t *list;
    *whole = NULL;
    *out = NULL;
    first.limit = o->limit && o->limit < LISTSTREAM_PAGE ? o->limit : LISTSTREAM_PAGE;
    int rc = store_list(st, res, ns, &first, &list, e);
    if (rc != 0) {
        table_spec_free(form->table);
        return rc;
    }
    const char *token =
        json_string_value(json_object_get(json_object_get(list, "metadata"), "continue"));
    if (!token || !*token || (o->limit && o->limit <= LISTSTREAM_PAGE)) {
        *whole = liststream_convert(form, list);
        table_spec_free(form->table);
        return *whole ? 0 : err_set(e, -ENOMEM, "out of memory");
    }
    *out = stream_from(st, res, ns, o, form, list);
    return 0;
}

void liststream_free(struct liststream *ls)
{
    if (!ls)
        return;
    table_spec_free(ls->form.table);
    json_decref(ls->elems);
    json_decref(ls->last_meta);
    free(ls->ns);
    free(ls->label_selector);
    free(ls->field_selector);
    free(ls->token);
    free(ls->pend);
    free(ls);
}
