/*
 * The key order of a kind's live objects: an order-statistics B+tree by
 * (namespace, name), so that a paged list resumes at its continue key in
 * O(log N) and counts what is left after it in O(log N) (mem_list.c),
 * instead of collecting and sorting every object for each page. Every
 * write that adds or removes an object keeps it (mem__index_update), under
 * the store's lock.
 *
 * Why a B+tree: once a kind holds hundreds of thousands of objects (a long
 * run's pods and Events) a binary tree is ~40 levels deep, each a cache
 * miss and a string comparison, on every create and delete. Here a node
 * holds up to ORDER_FAN entries (objects in a leaf, children in an inner
 * node), so the same kind is 4 or 5 levels deep, and a search inside a
 * node reads its entries' hints rather than their keys:
 *
 * - a key is the bytes "ns\0name\0" (memcmp order is (ns, name) order),
 *   copied once when its object is inserted and owned by its leaf entry;
 *   an inner entry borrows the least key under its child, and counts the
 *   keys under it, so count_upto sums counts on its way down;
 * - a node's entries' keys share its first `skip` bytes (kept in the node,
 *   at most ORDER_PREFIX_MAX), and each entry keeps the next 4 to 8 bytes
 *   of its key (the node's hint_len) as a big-endian integer: a search
 *   compares the wanted key with the node's prefix once, then with
 *   integers, and reads a key itself only when two hints tie (names alike
 *   for hint_len more bytes). Neighbouring names share long prefixes
 *   ("trace-000123456.18c2..."), so the prefix is what makes the hints
 *   tell them apart;
 * - a split or merge moves entries with their hints: the prefix lengthens
 *   by the bytes the hints then share and shortens by bytes the hints take
 *   back, reading no key; only a node left with fewer than ORDER_HINT_MIN
 *   hint bytes reads its keys again (every key a read is one cache miss).
 *
 * A B+tree is balanced by construction: every leaf is at the same depth and
 * every node but the root holds at least half of ORDER_FAN entries, whatever
 * names clients choose and in whatever order they come.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "store/mem_internal.h"
#include "util/alloc.h"

#define ORDER_FAN 32
#define ORDER_MIN (ORDER_FAN / 2)
#define ORDER_PREFIX_MAX 48
/* A node whose hints have fewer bytes left reads its keys to make them 8. */
#define ORDER_HINT_MIN 4

/* A stored key: "ns\0name\0", len bytes in all. */
struct order_key {
    size_t len;
    char bytes[];
};

/* What an entry is made of but its hint (node_put). */
struct order_entry {
    struct order_key *key;
    union {
        struct mem_obj *obj;
        struct mem_order_node *child;
    };
    size_t count;
};

struct mem_order_node {
    bool leaf;
    uint32_t n;    /* entries, in key order */
    uint32_t skip; /* bytes its entries' keys share; less than any one's len */
    uint32_t hint_len; /* bytes of its keys after those its hints hold: 4 to 8 */
    char prefix[ORDER_PREFIX_MAX]; /* the bytes shared */
    /* Its entries, each array in key order: the hints together, so that
     * a search through them reads few cache lines. */
    uint64_t hint[ORDER_FAN]; /* a key's hint_len bytes after the prefix, 0-padded */
    struct order_key *key[ORDER_FAN]; /* leaf: its own; inner: the least under child */
    union {
        struct mem_obj *obj[ORDER_FAN];          /* leaf */
        struct mem_order_node *child[ORDER_FAN]; /* inner */
    };
    size_t count[ORDER_FAN]; /* inner: keys under child */
};

/* A key looked for, as a key's bytes; after: "ns\0" alone, standing
 * after every name of ns (name NULL). Short ones are copied into buf. */
struct query {
    const char *bytes;
    size_t len;
    bool after;
    char *owned; /* bytes, when they did not fit in buf */
    char buf[128];
};

static void query_init(struct query *q, const char *ns, const char *name)
{
    size_t ns_len = strlen(ns) + 1, name_len = name ? strlen(name) + 1 : 0;
    char *b = q->buf;
    q->len = ns_len + name_len;
    q->after = !name;
    q->owned = NULL;
    if (q->len > sizeof q->buf)
        b = q->owned = alloc_malloc(q->len);
    memcpy(b, ns, ns_len);
    if (name)
        memcpy(b + ns_len, name, name_len);
    q->bytes = b;
}

static void query_done(struct query *q)
{
    free(q->owned);
}

/* q against k, whose first `from` bytes equal q's. Two keys that do not
 * differ over their common length are one key (each ends at its second
 * NUL); q after then has k in its namespace, so stands after k. */
static int query_cmp(const struct query *q, const struct order_key *k, size_t from)
{
    size_t n = q->len < k->len ? q->len : k->len;
    int c = memcmp(q->bytes + from, k->bytes + from, n - from);
    return c != 0 ? c : q->after;
}

/* The 8 bytes of b (len long) from `at`, as a big-endian integer, padded
 * with pad past its end. */
static uint64_t bytes_hint(const char *b, size_t len, size_t at, unsigned char pad)
{
    unsigned char w[8];
    if (at + 8 <= len) {
        memcpy(w, b + at, 8);
    } else {
        memset(w, pad, 8);
        if (at < len)
            memcpy(w, b + at, len - at);
    }
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h << 8 | w[i];
    return h;
}

static uint64_t key_hint(const struct order_key *k, size_t skip)
{
    return bytes_hint(k->bytes, k->len, skip, 0);
}

/* q's hint ordered as q is against every key: padded with 0xff when q is
 * after a namespace, so that it is not before the names in it. */
static uint64_t query_hint(const struct query *q, size_t skip)
{
    return bytes_hint(q->bytes, q->len, skip, q->after ? 0xff : 0);
}

/* The bits of a hint that hold its first len bytes. */
static uint64_t hint_mask(uint32_t len)
{
    return len ? ~0ULL << (64 - 8 * len) : 0;
}

/* How many of x's entries have a key at most q. */
static uint32_t node_upper(const struct mem_order_node *x, const struct query *q)
{
    size_t shared = q->len < x->skip ? q->len : x->skip;
    int c = memcmp(q->bytes, x->prefix, shared);
    if (c != 0 || shared < x->skip) /* shorter than the prefix: only q after its ns */
        return c < 0 ? 0 : x->n;
    uint64_t h = query_hint(q, x->skip) & hint_mask(x->hint_len);
    uint32_t lo = 0, hi = x->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        c = h < x->hint[mid] ? -1 : h > x->hint[mid] ? 1 : query_cmp(q, x->key[mid], x->skip);
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* How many of its first `limit` bytes k shares with x's prefix. */
static size_t prefix_shared(const struct mem_order_node *x, const struct order_key *k, size_t limit)
{
    if (limit <= k->len && memcmp(k->bytes, x->prefix, limit) == 0)
        return limit;
    size_t i = 0;
    while (i < limit && i < k->len && k->bytes[i] == x->prefix[i])
        i++;
    return i;
}

/* Makes x's prefix what its keys share (at most ORDER_PREFIX_MAX bytes)
 * and hints its entries with the 8 bytes after it, reading every key. */
static void node_reprefix(struct mem_order_node *x)
{
    const struct order_key *first = x->key[0], *last = x->key[x->n - 1];
    size_t limit = first->len - 1 < ORDER_PREFIX_MAX ? first->len - 1 : ORDER_PREFIX_MAX;
    memcpy(x->prefix, first->bytes, limit);
    x->skip = (uint32_t)prefix_shared(x, last, limit);
    x->hint_len = 8;
    for (uint32_t i = 0; i < x->n; i++)
        x->hint[i] = key_hint(x->key[i], x->skip);
}

/* Shortens x's prefix to `skip` bytes, its hints taking the bytes it no
 * longer holds, without reading a key: they hold as many bytes more. */
static void node_shorten(struct mem_order_node *x, uint32_t skip)
{
    uint32_t k = x->skip - skip;
    uint64_t top = bytes_hint(x->prefix, x->skip, skip, 0);
    for (uint32_t i = 0; i < x->n; i++)
        x->hint[i] = top | (k < 8 ? x->hint[i] >> 8 * k : 0);
    x->hint_len = x->hint_len + k < 8 ? x->hint_len + k : 8;
    x->skip = skip;
}

/* Lengthens x's prefix by the leading bytes all its hints share, without
 * reading a key (entries came to hold keys more alike: a split); reads
 * them all once its hints are left with fewer than ORDER_HINT_MIN bytes. */
static void node_lengthen(struct mem_order_node *x)
{
    uint64_t first = x->hint[0], last = x->hint[x->n - 1]; /* hints are in key order */
    uint32_t d = 0;
    while (d < x->hint_len && x->skip + d < ORDER_PREFIX_MAX && x->n > 1 &&
           (first ^ last) >> (56 - 8 * d) == 0) {
        x->prefix[x->skip + d] = (char)(first >> (56 - 8 * d));
        d++;
    }
    if (x->hint_len - d < ORDER_HINT_MIN) {
        node_reprefix(x);
        return;
    }
    for (uint32_t i = 0; i < x->n; i++)
        x->hint[i] <<= 8 * d;
    x->skip += d;
    x->hint_len -= d;
}

/* Makes key entry i's, shortening x's prefix when key does not share it. */
static void node_set_key(struct mem_order_node *x, uint32_t i, struct order_key *key)
{
    x->key[i] = key;
    if (x->n == 1) {
        node_reprefix(x);
        return;
    }
    size_t shared = prefix_shared(x, key, x->skip);
    if (shared < x->skip)
        node_shorten(x, (uint32_t)shared);
    x->hint[i] = key_hint(key, x->skip) & hint_mask(x->hint_len);
}

/* Gives a and b one prefix and hint length, so that entries may move
 * between them. */
static void node_align(struct mem_order_node *a, struct mem_order_node *b)
{
    uint32_t skip = a->skip < b->skip ? a->skip : b->skip, shared = 0;
    while (shared < skip && a->prefix[shared] == b->prefix[shared])
        shared++;
    if (shared < a->skip)
        node_shorten(a, shared);
    if (shared < b->skip)
        node_shorten(b, shared);
    struct mem_order_node *more = a->hint_len > b->hint_len ? a : b;
    more->hint_len = a->hint_len < b->hint_len ? a->hint_len : b->hint_len;
    for (uint32_t i = 0; i < more->n; i++)
        more->hint[i] &= hint_mask(more->hint_len);
}

static struct order_key *node_least(const struct mem_order_node *x)
{
    return x->key[0];
}

static size_t node_size(const struct mem_order_node *x)
{
    if (x->leaf)
        return x->n;
    size_t n = 0;
    for (uint32_t i = 0; i < x->n; i++)
        n += x->count[i];
    return n;
}

static struct mem_order_node *node_new(bool leaf)
{
    /* a leaf has no counts: its allocation ends before them */
    struct mem_order_node *x =
        alloc_malloc(leaf ? offsetof(struct mem_order_node, count) : sizeof *x);
    x->leaf = leaf;
    x->n = 0;
    x->skip = 0;
    x->hint_len = 8;
    return x;
}

/* Moves n entries of src from si to dst at di (the same node or not; the
 * ranges may overlap), hints as they are. */
static void node_move(struct mem_order_node *dst, uint32_t di, const struct mem_order_node *src,
                      uint32_t si, uint32_t n)
{
    memmove(dst->hint + di, src->hint + si, n * sizeof *dst->hint);
    memmove(dst->key + di, src->key + si, n * sizeof *dst->key);
    memmove(dst->obj + di, src->obj + si, n * sizeof *dst->obj);
    if (!src->leaf)
        memmove(dst->count + di, src->count + si, n * sizeof *dst->count);
}

/* Moves x's upper half to a new node, its right sibling, returned. */
static struct mem_order_node *node_split(struct mem_order_node *x)
{
    struct mem_order_node *r = node_new(x->leaf);
    r->n = x->n - x->n / 2;
    x->n /= 2;
    node_move(r, 0, x, x->n, r->n);
    r->skip = x->skip;
    r->hint_len = x->hint_len;
    memcpy(r->prefix, x->prefix, x->skip);
    node_lengthen(x);
    node_lengthen(r);
    return r;
}

/* Puts entry at i in x, splitting x first when full: the new right
 * sibling, or NULL. */
static struct mem_order_node *node_put(struct mem_order_node *x, uint32_t i,
                                       struct order_entry entry)
{
    struct mem_order_node *r = NULL;
    if (x->n == ORDER_FAN) {
        r = node_split(x);
        if (i > x->n) {
            i -= x->n;
            x = r;
        }
    }
    node_move(x, i + 1, x, i, x->n - i);
    x->key[i] = entry.key;
    if (x->leaf) {
        x->obj[i] = entry.obj;
    } else {
        x->child[i] = entry.child;
        x->count[i] = entry.count;
    }
    x->n++;
    node_set_key(x, i, entry.key);
    return r;
}

static void node_erase(struct mem_order_node *x, uint32_t i)
{
    x->n--;
    node_move(x, i, x, i + 1, x->n - i);
}

/* The child of inner node x whose keys q falls among, from node_upper. */
static uint32_t child_at(uint32_t upper)
{
    return upper ? upper - 1 : 0;
}

/* Inserts key (absent) under x: x's new right sibling when it split. */
static struct mem_order_node *insert_under(struct mem_order_node *x, const struct query *q,
                                           struct order_key *key, struct mem_obj *obj)
{
    uint32_t u = node_upper(x, q);
    if (x->leaf)
        return node_put(x, u, (struct order_entry){.key = key, .obj = obj});
    uint32_t i = child_at(u);
    struct mem_order_node *c = x->child[i], *split = insert_under(c, q, key, obj);
    x->count[i]++;
    if (node_least(c) != x->key[i])
        node_set_key(x, i, node_least(c));
    if (!split)
        return NULL;
    x->count[i] = node_size(c);
    return node_put(x, i + 1, (struct order_entry){.key = node_least(split), .child = split,
                                                   .count = node_size(split)});
}

void mem__order_insert(struct mem_order *t, struct mem_obj *o)
{
    size_t ns_len = strlen(o->doc->ns) + 1, name_len = strlen(o->doc->name) + 1;
    struct order_key *key = alloc_malloc(sizeof *key + ns_len + name_len);
    key->len = ns_len + name_len;
    memcpy(key->bytes, o->doc->ns, ns_len);
    memcpy(key->bytes + ns_len, o->doc->name, name_len);
    struct query q = {.bytes = key->bytes, .len = key->len};
    if (!t->root)
        t->root = node_new(true);
    struct mem_order_node *split = insert_under(t->root, &q, key, o);
    if (!split)
        return;
    struct mem_order_node *root = node_new(false);
    node_put(root, 0, (struct order_entry){.key = node_least(t->root), .child = t->root,
                                           .count = node_size(t->root)});
    node_put(root, 1, (struct order_entry){.key = node_least(split), .child = split,
                                           .count = node_size(split)});
    t->root = root;
}

/* Children i and i + 1 of x as one when their entries fit in one node,
 * else shared evenly between them: after one of them fell below
 * ORDER_MIN. Either way l keeps its least key. */
static void rebalance(struct mem_order_node *x, uint32_t i)
{
    struct mem_order_node *l = x->child[i], *r = x->child[i + 1];
    uint32_t total = l->n + r->n, keep = total <= ORDER_FAN ? total : total / 2;
    node_align(l, r);
    if (keep > l->n) {
        uint32_t move = keep - l->n;
        node_move(l, l->n, r, 0, move);
        node_move(r, 0, r, move, r->n - move);
    } else {
        uint32_t move = l->n - keep;
        node_move(r, move, r, 0, r->n);
        node_move(r, 0, l, keep, move);
    }
    l->n = keep;
    r->n = total - keep;
    node_lengthen(l);
    x->count[i] = node_size(l);
    if (r->n == 0) {
        free(r);
        node_erase(x, i + 1);
        return;
    }
    node_lengthen(r);
    x->count[i + 1] = node_size(r);
    node_set_key(x, i + 1, node_least(r));
}

/* Removes q's key from under x: the key, now the caller's to free, or
 * NULL when it is not there. */
static struct order_key *remove_under(struct mem_order_node *x, const struct query *q)
{
    uint32_t u = node_upper(x, q);
    if (x->leaf) {
        if (u == 0 || query_cmp(q, x->key[u - 1], 0) != 0)
            return NULL;
        struct order_key *key = x->key[u - 1];
        node_erase(x, u - 1);
        return key;
    }
    uint32_t i = child_at(u);
    struct mem_order_node *c = x->child[i];
    struct order_key *key = remove_under(c, q);
    if (!key)
        return NULL;
    x->count[i]--;
    if (node_least(c) != x->key[i])
        node_set_key(x, i, node_least(c));
    if (c->n < ORDER_MIN)
        rebalance(x, i > 0 ? i - 1 : i);
    return key;
}

void mem__order_remove(struct mem_order *t, const struct mem_obj *o)
{
    if (!t->root)
        return;
    struct query q;
    query_init(&q, o->doc->ns, o->doc->name);
    struct order_key *key = remove_under(t->root, &q);
    query_done(&q);
    struct mem_order_node *root = t->root;
    if (root->n == 0) {
        free(root);
        t->root = NULL;
    } else if (!root->leaf && root->n == 1) {
        t->root = root->child[0];
        free(root);
    }
    free(key);
}

static void free_under(struct mem_order_node *x)
{
    for (uint32_t i = 0; i < x->n; i++) {
        if (x->leaf)
            free(x->key[i]);
        else
            free_under(x->child[i]);
    }
    free(x);
}

void mem__order_free(struct mem_order *t)
{
    if (t->root)
        free_under(t->root);
    t->root = NULL;
}

size_t mem__order_count_upto(const struct mem_order *t, const char *ns, const char *name)
{
    struct query q;
    query_init(&q, ns, name);
    size_t n = 0;
    for (const struct mem_order_node *x = t->root; x;) {
        uint32_t u = node_upper(x, &q);
        if (x->leaf) {
            n += u;
            break;
        }
        uint32_t i = child_at(u);
        for (uint32_t j = 0; j < i; j++)
            n += x->count[j];
        x = x->child[i];
    }
    query_done(&q);
    return n;
}

/* Calls fn on each object under x after q (NULL: every one) in key order;
 * stops at fn's first non-zero return, which it returns. */
static int each_after(const struct mem_order_node *x, const struct query *q, mem_index_fn fn,
                      void *ctx)
{
    uint32_t u = q ? node_upper(x, q) : 0;
    int rc = 0;
    if (x->leaf) {
        for (uint32_t i = u; i < x->n && rc == 0; i++)
            rc = fn(ctx, x->obj[i]);
        return rc;
    }
    for (uint32_t i = q ? child_at(u) : 0; i < x->n && rc == 0; i++) {
        rc = each_after(x->child[i], q, fn, ctx);
        q = NULL; /* the children after the first are wholly after q */
    }
    return rc;
}

int mem__order_each_after(const struct mem_order *t, const char *ns, const char *name,
                          mem_index_fn fn, void *ctx)
{
    struct query q;
    query_init(&q, ns, name);
    int rc = t->root ? each_after(t->root, &q, fn, ctx) : 0;
    query_done(&q);
    return rc;
}
