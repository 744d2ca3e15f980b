/*
 * The YAML-to-jansson converter of yaml.h, on libyaml's event API.
 *
 * Events are folded into trees with an explicit stack of open collections
 * (bounded by max_depth), so no input can recurse the C stack. Each node
 * created is recorded in a hash table of places: (node, SELF) for the node
 * itself and (container, slot) for where it sits in its parent, the slot
 * being the array index or the address of the key jansson stores (stable
 * while the object is unchanged). The second form is what makes the
 * position of a shared true/false/null knowable.
 */
#include "util/alloc.h"
#include "util/yaml.h"
#include "util/readfile.h"
#include "util/vec.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define SLOT_SELF UINTPTR_MAX

#define TAG_PREFIX "tag:yaml.org,2002:"

struct place {
    const void *node;      /* NULL: empty bucket */
    uintptr_t slot;        /* SLOT_SELF, an array index or a key's address */
    struct yaml_mark at;   /* where the value was written */
    struct yaml_mark key;  /* where its key was written (members only) */
};

struct yaml_doc {
    char *name;
    json_t *roots;         /* array of the documents' roots */
    struct place *places;  /* open addressing, linear probing */
    size_t cap;            /* power of two, or 0 */
    size_t used;
};

/* A sequence or mapping whose end event has not come yet. */
struct frame {
    json_t *node;          /* borrowed: its parent (or d->roots) holds it */
    char *anchor;          /* owned; registered when the node is complete */
    char *key;             /* owned; a mapping's key waiting for its value */
    struct yaml_mark key_at;
};

struct builder {
    struct yaml_doc *d;
    struct yaml_limits lim;
    struct frame *stack;   /* lim.max_depth + 1 frames */
    unsigned depth;        /* open collections */
    json_t *anchors;       /* the current document's anchor -> node */
    size_t nodes;
    struct err *e;
};

/* ---- the place table ---------------------------------------------------- */

static size_t place_hash(const void *node, uintptr_t slot)
{
    uint64_t h = (uint64_t)(uintptr_t)node * 0x9E3779B97F4A7C15u;
    h ^= (uint64_t)slot * 0xC2B2AE3D27D4EB4Fu;
    return (size_t)(h ^ (h >> 31));
}

static struct place *place_find(const struct yaml_doc *d, const void *node, uintptr_t slot)
{
    if (d->cap == 0)
        return NULL;
    for (size_t i = place_hash(node, slot) & (d->cap - 1);; i = (i + 1) & (d->cap - 1)) {
        struct place *p = &d->places[i];
        if (!p->node || (p->node == node && p->slot == slot))
            return p;
    }
}

static void place_grow(struct yaml_doc *d)
{
    size_t cap = d->cap ? d->cap * 2 : 256;
    struct place *old = d->places;
    size_t old_cap = d->cap;
    d->places = alloc_calloc(cap, sizeof *d->places);
    d->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].node)
            *place_find(d, old[i].node, old[i].slot) = old[i];
    free(old);
}

/* Records (node, slot); a later record for the same pair replaces it. */
static void place_put(struct yaml_doc *d, const void *node, uintptr_t slot,
                      struct yaml_mark at, struct yaml_mark key)
{
    if ((d->used + 1) * 2 > d->cap)
        place_grow(d);
    struct place *p = place_find(d, node, slot);
    if (!p->node)
        d->used++;
    *p = (struct place){node, slot, at, key};
}

static bool is_singleton(const json_t *v)
{
    return json_is_true(v) || json_is_false(v) || json_is_null(v);
}

static const char *member_key(const json_t *obj, const char *key)
{
    void *it = json_object_iter_at((json_t *)obj, key);
    return it ? json_object_iter_key(it) : NULL;
}

/* ---- public queries ----------------------------------------------------- */

const char *yaml_doc_name(const struct yaml_doc *d)
{
    return d->name;
}

size_t yaml_doc_count(const struct yaml_doc *d)
{
    return json_array_size(d->roots);
}

json_t *yaml_doc_root(const struct yaml_doc *d, size_t i)
{
    return json_array_get(d->roots, i);
}

bool yaml_doc_where(const struct yaml_doc *d, const json_t *node, struct yaml_mark *at)
{
    if (!node || is_singleton(node))
        return false;
    const struct place *p = place_find(d, node, SLOT_SELF);
    if (!p || !p->node)
        return false;
    if (at)
        *at = p->at;
    return true;
}

bool yaml_doc_where_member(const struct yaml_doc *d, const json_t *obj, const char *key,
                           struct yaml_mark *key_at, struct yaml_mark *value_at)
{
    if (!json_is_object(obj))
        return false;
    const char *k = member_key(obj, key);
    const struct place *p = k ? place_find(d, obj, (uintptr_t)k) : NULL;
    if (!p || !p->node)
        return false;
    if (key_at)
        *key_at = p->key;
    if (value_at)
        *value_at = p->at;
    return true;
}

bool yaml_doc_where_item(const struct yaml_doc *d, const json_t *arr, size_t i,
                         struct yaml_mark *at)
{
    if (!json_is_array(arr) || i >= json_array_size(arr))
        return false;
    const struct place *p = place_find(d, arr, (uintptr_t)i);
    if (!p || !p->node)
        return false;
    if (at)
        *at = p->at;
    return true;
}

static int doc_vfail(const char *name, const struct yaml_mark *at, struct err *e, int code,
                     const char *fmt, va_list ap)
{
    char msg[ERR_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (at)
        return err_set(e, code, "%s:%u:%u: %s", name, at->line, at->col, msg);
    return err_set(e, code, "%s: %s", name, msg);
}

int yaml_doc_fail(const struct yaml_doc *d, const struct yaml_mark *at, struct err *e, int code,
                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    doc_vfail(d->name, at, e, code, fmt, ap);
    va_end(ap);
    return code;
}

void yaml_doc_free(struct yaml_doc *d)
{
    if (!d)
        return;
    json_decref(d->roots);
    free(d->places);
    free(d->name);
    free(d);
}

/* ---- scalars: the YAML 1.2 core schema ---------------------------------- */

enum scalar_kind { KIND_ANY, KIND_STR, KIND_NULL, KIND_BOOL, KIND_INT, KIND_FLOAT };

static bool text_is(const char *s, size_t n, const char *word)
{
    return n == strlen(word) && memcmp(s, word, n) == 0;
}

static bool text_is_any(const char *s, size_t n, const char *const *words)
{
    for (; *words; words++)
        if (text_is(s, n, *words))
            return true;
    return false;
}

static size_t span_of(const char *s, size_t n, const char *set)
{
    size_t i = 0;
    while (i < n && s[i] && strchr(set, s[i]))
        i++;
    return i;
}

#define DIGITS "0123456789"

static bool is_null_text(const char *s, size_t n)
{
    static const char *const words[] = {"~", "null", "Null", "NULL", NULL};
    return n == 0 || text_is_any(s, n, words);
}

/* 1 true, 0 false, -1 not a bool. */
static int bool_of_text(const char *s, size_t n)
{
    static const char *const yes[] = {"true", "True", "TRUE", NULL};
    static const char *const no[] = {"false", "False", "FALSE", NULL};
    return text_is_any(s, n, yes) ? 1 : text_is_any(s, n, no) ? 0 : -1;
}

/* The base of an integer in core-schema form, or 0 when s is not one. */
static int int_base(const char *s, size_t n)
{
    if (n > 2 && s[0] == '0' && s[1] == 'o' && span_of(s + 2, n - 2, "01234567") == n - 2)
        return 8;
    if (n > 2 && s[0] == '0' && s[1] == 'x' &&
        span_of(s + 2, n - 2, DIGITS "abcdefABCDEF") == n - 2)
        return 16;
    size_t sign = n > 0 && (s[0] == '-' || s[0] == '+');
    if (n > sign && span_of(s + sign, n - sign, DIGITS) == n - sign)
        return 10;
    return 0;
}

/* [-+]? ( . [0-9]+ | [0-9]+ ( . [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static bool is_float_text(const char *s, size_t n)
{
    size_t i = n > 0 && (s[0] == '-' || s[0] == '+');
    size_t whole = span_of(s + i, n - i, DIGITS);
    i += whole;
    size_t frac = 0;
    if (i < n && s[i] == '.') {
        i++;
        frac = span_of(s + i, n - i, DIGITS);
        i += frac;
    }
    if (whole == 0 && frac == 0)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        i += i < n && (s[i] == '-' || s[i] == '+');
        size_t exp = span_of(s + i, n - i, DIGITS);
        if (exp == 0)
            return false;
        i += exp;
    }
    return i == n;
}

static bool is_special_float_text(const char *s, size_t n)
{
    static const char *const words[] = {".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN", NULL};
    size_t sign = n > 0 && (s[0] == '-' || s[0] == '+');
    return text_is_any(s + sign, n - sign, words);
}

static int fail(struct builder *b, struct yaml_mark at, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct builder *b, struct yaml_mark at, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    doc_vfail(b->d->name, &at, b->e, code, fmt, ap);
    va_end(ap);
    return code;
}

static int kind_of_tag(struct builder *b, const char *tag, struct yaml_mark at,
                       enum scalar_kind *kind)
{
    static const struct {
        const char *name;
        enum scalar_kind kind;
    } tags[] = {
        {"!", KIND_STR},  {TAG_PREFIX "str", KIND_STR},     {TAG_PREFIX "null", KIND_NULL},
        {TAG_PREFIX "bool", KIND_BOOL}, {TAG_PREFIX "int", KIND_INT},
        {TAG_PREFIX "float", KIND_FLOAT},
    };
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
        if (strcmp(tag, tags[i].name) == 0) {
            *kind = tags[i].kind;
            return 0;
        }
    return fail(b, at, -EINVAL, "unsupported tag %s on a scalar", tag);
}

/* j, the number the n bytes at s spell (a new reference), or NULL with the
 * failure: out of range (what says of which kind) or out of memory. */
static json_t *number(struct builder *b, const char *what, bool in_range, json_t *j,
                      const char *s, size_t n, struct yaml_mark at)
{
    if (!in_range)
        fail(b, at, -EINVAL, "%s %.*s is out of range", what, (int)n, s);
    else if (!j)
        fail(b, at, -ENOMEM, "out of memory");
    return j;
}

static json_t *scalar_int(struct builder *b, const char *s, size_t n, struct yaml_mark at)
{
    int base = int_base(s, n);
    errno = 0;
    long long v = strtoll(base == 8 ? s + 2 : s, NULL, base);
    bool in_range = errno != ERANGE;
    return number(b, "integer", in_range, in_range ? json_integer(v) : NULL, s, n, at);
}

static json_t *scalar_real(struct builder *b, const char *s, size_t n, struct yaml_mark at)
{
    double v = strtod(s, NULL);
    bool in_range = isfinite(v);
    return number(b, "number", in_range, in_range ? json_real(v) : NULL, s, n, at);
}

static json_t *scalar_str(struct builder *b, const char *s, size_t n, struct yaml_mark at)
{
    json_t *j = json_stringn(s, n);
    if (!j)
        fail(b, at, -ENOMEM, "cannot store a string (invalid UTF-8, or out of memory)");
    return j;
}

/* The JSON value of a scalar, resolved as kind says; NULL (b->e set) when
 * its text does not fit the kind its tag asks for. */
static json_t *scalar_json(struct builder *b, const char *s, size_t n, enum scalar_kind kind,
                           struct yaml_mark at)
{
    static const char *const kind_names[] = {"", "str", "null", "bool", "int", "float"};
    int truth = bool_of_text(s, n);
    if (kind == KIND_STR)
        return scalar_str(b, s, n, at);
    if ((kind == KIND_ANY || kind == KIND_NULL) && is_null_text(s, n))
        return json_null();
    if ((kind == KIND_ANY || kind == KIND_BOOL) && truth >= 0)
        return json_boolean(truth);
    if ((kind == KIND_ANY || kind == KIND_INT) && int_base(s, n))
        return scalar_int(b, s, n, at);
    if ((kind == KIND_ANY || kind == KIND_FLOAT) && is_float_text(s, n))
        return scalar_real(b, s, n, at);
    if ((kind == KIND_ANY || kind == KIND_FLOAT) && is_special_float_text(s, n)) {
        fail(b, at, -EINVAL, "%.*s has no JSON form", (int)n, s);
        return NULL;
    }
    if (kind == KIND_ANY)
        return scalar_str(b, s, n, at);
    fail(b, at, -EINVAL, "\"%.*s\" is not a valid !!%s", (int)n, s, kind_names[kind]);
    return NULL;
}

/* ---- building the trees ------------------------------------------------- */

static struct yaml_mark mark_of(yaml_mark_t m)
{
    return (struct yaml_mark){(unsigned)m.line + 1, (unsigned)m.column + 1};
}

static int count_node(struct builder *b, struct yaml_mark at)
{
    if (++b->nodes > b->lim.max_nodes)
        return fail(b, at, -E2BIG, "more than %zu nodes (aliases count as copies)",
                    b->lim.max_nodes);
    return 0;
}

static struct frame *top(struct builder *b)
{
    return b->depth ? &b->stack[b->depth - 1] : NULL;
}

static bool expects_key(struct builder *b)
{
    struct frame *f = top(b);
    return f && json_is_object(f->node) && !f->key;
}

/* Puts v (a new reference, taken even on failure) where the open collection
 * on top of the stack wants it, or as a document root, and records where it
 * was written. */
static int attach(struct builder *b, json_t *v, struct yaml_mark at)
{
    struct frame *f = top(b);
    struct yaml_doc *d = b->d;
    const void *parent = f ? f->node : d->roots;
    uintptr_t slot = json_array_size(parent);
    struct yaml_mark key_at = at;
    if (f && json_is_object(f->node)) {
        if (json_object_set_new(f->node, f->key, v) < 0)
            return fail(b, f->key_at, -ENOMEM,
                        "cannot store a mapping key (invalid UTF-8, or out of memory)");
        slot = (uintptr_t)member_key(f->node, f->key);
        key_at = f->key_at;
        free(f->key);
        f->key = NULL;
    } else if (json_array_append_new((json_t *)parent, v) < 0) {
        return fail(b, at, -ENOMEM, "out of memory");
    }
    place_put(d, parent, slot, at, key_at);
    if (!is_singleton(v))
        place_put(d, v, SLOT_SELF, at, at);
    return 0;
}

static int set_anchor(struct builder *b, const char *anchor, json_t *v, struct yaml_mark at)
{
    if (anchor && json_object_set(b->anchors, anchor, v) < 0)
        return fail(b, at, -ENOMEM, "out of memory");
    return 0;
}

static int take_key(struct builder *b, const yaml_event_t *ev, struct yaml_mark at)
{
    struct frame *f = top(b);
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    if (memchr(s, '\0', n))
        return fail(b, at, -EINVAL, "mapping key contains a NUL character");
    struct yaml_mark first;
    if (yaml_doc_where_member(b->d, f->node, s, &first, NULL))
        return fail(b, at, -EINVAL, "duplicate key \"%s\" (first at %u:%u)", s, first.line,
                    first.col);
    f->key = alloc_strdup(s);
    f->key_at = at;
    if (!ev->data.scalar.anchor)
        return 0;
    json_t *k = scalar_str(b, s, n, at);
    int rc = k ? set_anchor(b, (const char *)ev->data.scalar.anchor, k, at) : b->e->code;
    json_decref(k);
    return rc;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
    struct yaml_mark at = mark_of(ev->start_mark);
    int rc = count_node(b, at);
    if (rc < 0)
        return rc;
    if (expects_key(b))
        return take_key(b, ev, at);
    enum scalar_kind kind = ev->data.scalar.plain_implicit ? KIND_ANY : KIND_STR;
    const char *tag = (const char *)ev->data.scalar.tag;
    if (tag && (rc = kind_of_tag(b, tag, at, &kind)) < 0)
        return rc;
    json_t *v = scalar_json(b, (const char *)ev->data.scalar.value, ev->data.scalar.length,
                            kind, at);
    if (!v)
        return b->e->code;
    if ((rc = attach(b, v, at)) < 0)
        return rc;
    return set_anchor(b, (const char *)ev->data.scalar.anchor, v, at);
}

static int on_collection_start(struct builder *b, const yaml_event_t *ev, bool is_map)
{
    struct yaml_mark at = mark_of(ev->start_mark);
    const char *tag = (const char *)(is_map ? ev->data.mapping_start.tag
                                             : ev->data.sequence_start.tag);
    const char *anchor = (const char *)(is_map ? ev->data.mapping_start.anchor
                                                : ev->data.sequence_start.anchor);
    int rc = count_node(b, at);
    if (rc < 0)
        return rc;
    if (expects_key(b))
        return fail(b, at, -EINVAL, "mapping keys must be scalars");
    if (tag && strcmp(tag, "!") != 0 && strcmp(tag, is_map ? TAG_PREFIX "map" : TAG_PREFIX "seq"))
        return fail(b, at, -EINVAL, "unsupported tag %s on a %s", tag,
                    is_map ? "mapping" : "sequence");
    if (b->depth >= b->lim.max_depth)
        return fail(b, at, -E2BIG, "nested deeper than %u levels", b->lim.max_depth);
    json_t *v = is_map ? json_object() : json_array();
    if (!v)
        return fail(b, at, -ENOMEM, "out of memory");
    if ((rc = attach(b, v, at)) < 0)
        return rc;
    char *anchor_copy = anchor ? alloc_strdup(anchor) : NULL;
    b->stack[b->depth++] = (struct frame){.node = v, .anchor = anchor_copy};
    return 0;
}

static void pop_frame(struct builder *b)
{
    struct frame *f = &b->stack[--b->depth];
    free(f->anchor);
    free(f->key);
    *f = (struct frame){0};
}

static int on_collection_end(struct builder *b, const yaml_event_t *ev)
{
    struct frame *f = top(b);
    int rc = set_anchor(b, f->anchor, f->node, mark_of(ev->start_mark));
    pop_frame(b);
    return rc;
}

static void copy_place(struct builder *b, const void *dst, uintptr_t dst_slot, const void *src,
                       uintptr_t src_slot)
{
    const struct place *p = place_find(b->d, src, src_slot);
    if (p && p->node)
        place_put(b->d, dst, dst_slot, p->at, p->key);
}

static json_t *copy_tree(struct builder *b, json_t *src, unsigned depth, struct yaml_mark at);

/* Copies the children of src into dst (same type), with their places. */
static int copy_children(struct builder *b, json_t *dst, json_t *src, unsigned depth,
                         struct yaml_mark at)
{
    size_t n = json_is_array(src) ? json_array_size(src) : json_object_size(src);
    void *it = json_object_iter(src);
    for (size_t i = 0; i < n; i++) {
        const char *key = json_is_object(src) ? json_object_iter_key(it) : NULL;
        json_t *from = key ? json_object_iter_value(it) : json_array_get(src, i);
        json_t *v = copy_tree(b, from, depth + 1, at);
        if (!v)
            return b->e->code;
        int rc = key ? json_object_set_new(dst, key, v) : json_array_append_new(dst, v);
        uintptr_t dst_slot = key ? (uintptr_t)member_key(dst, key) : i;
        uintptr_t src_slot = key ? (uintptr_t)key : i;
        if (rc < 0)
            return fail(b, at, -ENOMEM, "out of memory");
        copy_place(b, dst, dst_slot, src, src_slot);
        if (!is_singleton(v))
            copy_place(b, v, SLOT_SELF, from, SLOT_SELF);
        if (key)
            it = json_object_iter_next(src, it);
    }
    return 0;
}

/* A deep copy of src that will sit under depth open collections, counted
 * against the node limit; errors are reported at the alias (at). */
static json_t *copy_tree(struct builder *b, json_t *src, unsigned depth, struct yaml_mark at)
{
    if (count_node(b, at) < 0)
        return NULL;
    bool container = json_is_array(src) || json_is_object(src);
    if (container && depth >= b->lim.max_depth) {
        fail(b, at, -E2BIG, "alias nests deeper than %u levels", b->lim.max_depth);
        return NULL;
    }
    json_t *dst = container ? (json_is_array(src) ? json_array() : json_object()) : json_copy(src);
    if (!dst) {
        fail(b, at, -ENOMEM, "out of memory");
        return NULL;
    }
    if (container && copy_children(b, dst, src, depth, at) < 0) {
        json_decref(dst);
        return NULL;
    }
    return dst;
}

static int on_alias(struct builder *b, const yaml_event_t *ev)
{
    struct yaml_mark at = mark_of(ev->start_mark);
    const char *name = (const char *)ev->data.alias.anchor;
    if (expects_key(b))
        return fail(b, at, -EINVAL, "an alias cannot be a mapping key");
    json_t *src = json_object_get(b->anchors, name);
    if (!src) {
        for (unsigned i = 0; i < b->depth; i++)
            if (b->stack[i].anchor && strcmp(b->stack[i].anchor, name) == 0)
                return fail(b, at, -EINVAL, "alias *%s refers to a node that contains it", name);
        return fail(b, at, -EINVAL, "alias *%s has no anchor before it in this document", name);
    }
    json_t *v = copy_tree(b, src, b->depth, at);
    return v ? attach(b, v, at) : b->e->code;
}

static int on_event(struct builder *b, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        return json_object_clear(b->anchors) < 0 ? -ENOMEM : 0;
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev);
    case YAML_ALIAS_EVENT:
        return on_alias(b, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_collection_start(b, ev, false);
    case YAML_MAPPING_START_EVENT:
        return on_collection_start(b, ev, true);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_collection_end(b, ev);
    default:
        return 0;
    }
}

/* libyaml's reader reports a byte offset, not a mark. */
static struct yaml_mark mark_at_offset(const char *text, size_t len, size_t offset)
{
    struct yaml_mark m = {1, 1};
    for (size_t i = 0; i < offset && i < len; i++) {
        if (text[i] == '\n')
            m = (struct yaml_mark){m.line + 1, 1};
        else if (((unsigned char)text[i] & 0xC0) != 0x80)
            m.col++;
    }
    return m;
}

static int parser_fail(struct builder *b, const yaml_parser_t *p, const char *text, size_t len)
{
    if (p->error == YAML_MEMORY_ERROR)
        return err_set(b->e, -ENOMEM, "%s: out of memory", b->d->name);
    if (p->error == YAML_READER_ERROR)
        return fail(b, mark_at_offset(text, len, p->problem_offset), -EINVAL, "%s",
                    p->problem ? p->problem : "unreadable input");
    struct yaml_mark at = mark_of(p->problem_mark);
    if (!p->context)
        return fail(b, at, -EINVAL, "%s", p->problem ? p->problem : "invalid YAML");
    struct yaml_mark ctx = mark_of(p->context_mark);
    return fail(b, at, -EINVAL, "%s (%s that started at %u:%u)",
                p->problem ? p->problem : "invalid YAML", p->context, ctx.line, ctx.col);
}

static int run_parser(struct builder *b, const char *text, size_t len)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return err_set(b->e, -ENOMEM, "%s: out of memory", b->d->name);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int rc = 0;
    for (bool done = false; !done && rc == 0;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = parser_fail(b, &p, text, len);
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        rc = on_event(b, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return rc;
}

static struct yaml_doc *doc_new(const char *name)
{
    struct yaml_doc *d = alloc_calloc(1, sizeof *d);
    d->name = alloc_strdup(name);
    d->roots = json_array();
    if (!d->roots) {
        yaml_doc_free(d);
        return NULL;
    }
    return d;
}

int yaml_doc_parse(const char *name, const char *text, size_t len,
                   const struct yaml_limits *limits, struct yaml_doc **out, struct err *e)
{
    static const struct yaml_limits defaults = {
        YAML_DEFAULT_MAX_BYTES, YAML_DEFAULT_MAX_DEPTH, YAML_DEFAULT_MAX_NODES};
    struct err local;
    struct builder b = {.lim = limits ? *limits : defaults, .e = e ? e : &local};
    *out = NULL;
    if (len > b.lim.max_bytes)
        return err_set(e, -E2BIG, "%s: larger than %zu bytes", name, b.lim.max_bytes);
    b.d = doc_new(name);
    b.stack = alloc_calloc((size_t)b.lim.max_depth + 1, sizeof *b.stack);
    b.anchors = json_object();
    int rc = b.d && b.anchors ? run_parser(&b, text, len)
                              : err_set(e, -ENOMEM, "%s: out of memory", name);
    while (b.depth > 0)
        pop_frame(&b);
    free(b.stack);
    json_decref(b.anchors);
    if (rc < 0) {
        yaml_doc_free(b.d);
        return rc;
    }
    *out = b.d;
    return 0;
}

int yaml_doc_load(const char *path, const struct yaml_limits *limits, struct yaml_doc **out,
                  struct err *e)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = readfile_all(path, limits ? limits->max_bytes : YAML_DEFAULT_MAX_BYTES, &text,
                          &len, e);
    if (rc < 0)
        return rc;
    rc = yaml_doc_parse(path, text, len, limits, out, e);
    free(text);
    return rc;
}
