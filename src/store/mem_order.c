/*
 * The key order of a kind's live objects: a treap by (namespace, name)
 * whose nodes count their subtrees, so that a paged list resumes at its
 * continue key in O(log N) and counts what is left after it in O(log N)
 * (mem_list.c), instead of collecting and sorting every object for each
 * page. Priorities come from a per-kind sequence through rng_mix, not from
 * the keys, so clients choosing names cannot unbalance it. Every write
 * that adds or removes an object keeps it (mem__index_update), under the
 * store's lock. A node keeps a copy of its key beside it: a walk down
 * compares with the node it is at, not through its object and document
 * (three cache misses a level, once a kind holds hundreds of thousands of
 * objects, such as a long run's Events).
 */
#include <stdlib.h>
#include <string.h>

#include "store/mem_internal.h"
#include "util/alloc.h"
#include "util/rng.h"

struct mem_order_node {
    struct mem_obj *obj;
    struct mem_order_node *left, *right;
    uint64_t prio;
    size_t size;      /* nodes in this subtree */
    const char *name; /* in ns, after its end */
    char ns[];        /* the object's namespace, then its name */
};

/* (ns, name) against x's key; name NULL stands after every name of ns. */
static int key_cmp(const char *ns, const char *name, const struct mem_order_node *x)
{
    int c = strcmp(ns, x->ns);
    if (c != 0 || !name)
        return c != 0 ? c : 1;
    return strcmp(name, x->name);
}

static size_t size_of(const struct mem_order_node *n)
{
    return n ? n->size : 0;
}

static void resize(struct mem_order_node *n)
{
    n->size = 1 + size_of(n->left) + size_of(n->right);
}

/* Splits t into the keys up to (ns, name) and those after. */
static void split(struct mem_order_node *t, const char *ns, const char *name,
                  struct mem_order_node **le, struct mem_order_node **gt)
{
    if (!t) {
        *le = *gt = NULL;
    } else if (key_cmp(ns, name, t) < 0) {
        split(t->left, ns, name, le, &t->left);
        resize(t);
        *gt = t;
    } else {
        split(t->right, ns, name, &t->right, gt);
        resize(t);
        *le = t;
    }
}

/* Joins a and b, every key of a before every key of b. */
static struct mem_order_node *merge(struct mem_order_node *a, struct mem_order_node *b)
{
    if (!a || !b)
        return a ? a : b;
    if (a->prio > b->prio) {
        a->right = merge(a->right, b);
        resize(a);
        return a;
    }
    b->left = merge(a, b->left);
    resize(b);
    return b;
}

static struct mem_order_node *insert(struct mem_order_node *t, struct mem_order_node *n)
{
    if (!t)
        return n;
    if (n->prio > t->prio) {
        split(t, n->ns, n->name, &n->left, &n->right);
        resize(n);
        return n;
    }
    if (key_cmp(n->ns, n->name, t) < 0)
        t->left = insert(t->left, n);
    else
        t->right = insert(t->right, n);
    resize(t);
    return t;
}

void mem__order_insert(struct mem_order *t, struct mem_obj *o)
{
    size_t ns_len = strlen(o->doc->ns) + 1, name_len = strlen(o->doc->name) + 1;
    struct mem_order_node *n = alloc_calloc(1, sizeof *n + ns_len + name_len);
    memcpy(n->ns, o->doc->ns, ns_len);
    memcpy(n->ns + ns_len, o->doc->name, name_len);
    n->name = n->ns + ns_len;
    n->obj = o;
    n->prio = rng_mix(++t->seq);
    n->size = 1;
    t->root = insert(t->root, n);
}

static struct mem_order_node *remove_key(struct mem_order_node *t, const char *ns,
                                         const char *name)
{
    if (!t)
        return NULL;
    int c = key_cmp(ns, name, t);
    if (c == 0) {
        struct mem_order_node *rest = merge(t->left, t->right);
        free(t);
        return rest;
    }
    if (c < 0)
        t->left = remove_key(t->left, ns, name);
    else
        t->right = remove_key(t->right, ns, name);
    resize(t);
    return t;
}

void mem__order_remove(struct mem_order *t, const struct mem_obj *o)
{
    t->root = remove_key(t->root, o->doc->ns, o->doc->name);
}

static void free_tree(struct mem_order_node *n)
{
    if (!n)
        return;
    free_tree(n->left);
    free_tree(n->right);
    free(n);
}

void mem__order_free(struct mem_order *t)
{
    free_tree(t->root);
    t->root = NULL;
}

size_t mem__order_count_upto(const struct mem_order *t, const char *ns, const char *name)
{
    size_t n = 0;
    for (const struct mem_order_node *x = t->root; x;) {
        if (key_cmp(ns, name, x) < 0) {
            x = x->left;
        } else {
            n += size_of(x->left) + 1;
            x = x->right;
        }
    }
    return n;
}

/* Calls fn on each object of x in key order; stops at fn's first non-zero
 * return, which it returns. */
static int each_all(const struct mem_order_node *x, mem_index_fn fn, void *ctx)
{
    int rc = 0;
    for (; x && rc == 0; x = x->right) {
        rc = each_all(x->left, fn, ctx);
        if (rc == 0)
            rc = fn(ctx, x->obj);
    }
    return rc;
}

/* The same for the objects of x after (ns, name). */
static int each_after(const struct mem_order_node *x, const char *ns, const char *name,
                      mem_index_fn fn, void *ctx)
{
    while (x && key_cmp(ns, name, x) >= 0)
        x = x->right; /* x and its left are not after the key */
    if (!x)
        return 0;
    int rc = each_after(x->left, ns, name, fn, ctx);
    if (rc == 0)
        rc = fn(ctx, x->obj);
    return rc == 0 ? each_all(x->right, fn, ctx) : rc;
}

int mem__order_each_after(const struct mem_order *t, const char *ns, const char *name,
                          mem_index_fn fn, void *ctx)
{
    return each_after(t->root, ns, name, fn, ctx);
}
