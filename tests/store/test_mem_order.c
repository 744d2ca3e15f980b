/* The mem store's key order (mem_order.c) through its internal API,
 * against a sorted array: inserts and removes in sorted, reversed and
 * random order across node boundaries, count_upto and each_after at every
 * position, keys alike for longer than a node's prefix and its hints, and
 * the empty and single-key trees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "store/mem_internal.h"
#include "util/rng.h"

#define POOL 3000
#define NAME_MAX_LEN 128

/* Every key a test may insert, as objects whose documents carry them. */
struct pool {
    struct mem_obj objs[POOL];
    struct mem_doc *docs[POOL];
    char names[POOL][NAME_MAX_LEN];
    size_t n;
};

/* The keys in the tree, in key order: the reference. */
struct ref {
    struct mem_obj *v[POOL];
    size_t n;
};

static const char *const namespaces[] = {"", "a", "ab", "batch", "batch2"};
#define N_NS (sizeof namespaces / sizeof *namespaces)

static int key_cmp(const char *ans, const char *aname, const char *bns, const char *bname)
{
    int c = strcmp(ans, bns);
    if (c != 0 || (!aname && !bname))
        return c;
    if (!aname || !bname)
        return aname ? -1 : 1; /* a NULL name is after every name of its namespace */
    return strcmp(aname, bname);
}

static int obj_cmp(const struct mem_obj *a, const struct mem_obj *b)
{
    return key_cmp(a->doc->ns, a->doc->name, b->doc->ns, b->doc->name);
}

static void pool_add(struct pool *p, const char *ns, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->names[p->n], NAME_MAX_LEN, fmt, ap);
    va_end(ap);
    p->docs[p->n] = calloc(1, sizeof *p->docs[p->n]);
    p->docs[p->n]->ns = ns;
    p->docs[p->n]->name = p->names[p->n];
    p->objs[p->n].doc = p->docs[p->n];
    p->n++;
}

/* Names as the simulator makes them, and names built to defeat a node's
 * prefix and hints: alike for more than 48 bytes, alike for 8 bytes past
 * any prefix, bytes 0xff (above every other), and names that are others'
 * starts (a pod's name and its Events'). Each six share a namespace. */
static struct pool *pool_new(void)
{
    struct pool *p = calloc(1, sizeof *p);
    const char *long_start = "a-name-alike-for-much-longer-than-the-prefix-a-node-keeps";
    for (size_t i = 0; p->n < POOL; i++) {
        const char *ns = namespaces[i / 6 % N_NS];
        switch (i % 6) {
        case 0: pool_add(p, ns, "trace-%09zu", i); break;
        case 1:
            pool_add(p, ns, "trace-%09zu.%016llx", i - 1, (unsigned long long)rng_mix(i));
            break;
        case 2: pool_add(p, ns, "%s-%zu", long_start, i); break;
        case 3: pool_add(p, ns, "x%zu-alike-for-eight-more-%zu", i % 7, i); break;
        case 4: pool_add(p, ns, "\xff\xff\xff\xff\xff\xff\xff\xff\xff%zu", i); break;
        default: /* case 3's name and more */
            pool_add(p, ns, "x%zu-alike-for-eight-more-%zu5", (i - 2) % 7, i - 2);
        }
    }
    return p;
}

static void pool_free(struct pool *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->docs[i]);
    free(p);
}

/* Keeps the reference as the tree: o inserted (absent) or removed. */
static void ref_insert(struct ref *r, struct mem_order *t, struct mem_obj *o)
{
    size_t i = 0;
    while (i < r->n && obj_cmp(r->v[i], o) < 0)
        i++;
    assert_true(i == r->n || obj_cmp(r->v[i], o) != 0);
    memmove(r->v + i + 1, r->v + i, (r->n - i) * sizeof *r->v);
    r->v[i] = o;
    r->n++;
    mem__order_insert(t, o);
}

static void ref_remove(struct ref *r, struct mem_order *t, struct mem_obj *o)
{
    size_t i = 0;
    while (i < r->n && r->v[i] != o)
        i++;
    assert_true(i < r->n);
    r->n--;
    memmove(r->v + i, r->v + i + 1, (r->n - i) * sizeof *r->v);
    mem__order_remove(t, o);
}

static bool ref_has(const struct ref *r, const struct mem_obj *o)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i] == o)
            return true;
    return false;
}

/* What count_upto must say: the reference's keys at most (ns, name). */
static size_t ref_upto(const struct ref *r, const char *ns, const char *name)
{
    size_t n = 0;
    while (n < r->n && key_cmp(r->v[n]->doc->ns, r->v[n]->doc->name, ns, name) <= 0)
        n++;
    return n;
}

/* each_after's calls, stopping after `stop` of them (0: never). */
struct seen {
    struct mem_obj *v[POOL];
    size_t n, stop;
};

static int see(void *ctx, struct mem_obj *o)
{
    struct seen *s = ctx;
    assert_true(s->n < POOL);
    s->v[s->n++] = o;
    return s->n == s->stop ? 7 : 0;
}

/* each_after (ns, name) gives the reference's keys after it, in order. */
static void each_after_is(const struct mem_order *t, const struct ref *r, const char *ns,
                          const char *name)
{
    size_t from = ref_upto(r, ns, name);
    struct seen *s = calloc(1, sizeof *s);
    assert_int_equal(mem__order_each_after(t, ns, name, see, s), 0);
    assert_int_equal(s->n, r->n - from);
    for (size_t i = 0; i < s->n; i++)
        assert_ptr_equal(s->v[i], r->v[from + i]);
    free(s);
}

/* The tree against the reference at every key in the pool (present or
 * not) and at every namespace's start and end. */
static void check(const struct mem_order *t, const struct ref *r, const struct pool *p,
                  bool every_walk)
{
    for (size_t i = 0; i < p->n; i++) {
        const struct mem_doc *d = p->objs[i].doc;
        assert_int_equal(mem__order_count_upto(t, d->ns, d->name), ref_upto(r, d->ns, d->name));
        if (every_walk || ref_has(r, &p->objs[i]))
            each_after_is(t, r, d->ns, d->name);
    }
    for (size_t i = 0; i < N_NS; i++) {
        assert_int_equal(mem__order_count_upto(t, namespaces[i], NULL),
                         ref_upto(r, namespaces[i], NULL));
        each_after_is(t, r, namespaces[i], NULL);
        each_after_is(t, r, namespaces[i], "");
    }
}

static void empty_tree(void **state)
{
    (void)state;
    struct mem_order t = {0};
    struct ref r = {0};
    struct pool *p = pool_new();
    mem__order_remove(&t, &p->objs[0]); /* absent: nothing */
    check(&t, &r, p, true);
    mem__order_free(&t);
    pool_free(p);
}

/* One key, then none again: the tree frees its last node. */
static void single_key(void **state)
{
    (void)state;
    struct mem_order t = {0};
    struct ref r = {0};
    struct pool *p = pool_new();
    ref_insert(&r, &t, &p->objs[1]);
    check(&t, &r, p, true);
    mem__order_remove(&t, &p->objs[0]); /* absent: nothing */
    check(&t, &r, p, true);
    ref_remove(&r, &t, &p->objs[1]);
    assert_null(t.root);
    check(&t, &r, p, true);
    pool_free(p);
}

/* The pool's first n keys in key order, for sorted inserts. */
static void sorted_keys(const struct pool *p, size_t n, struct mem_obj **out)
{
    struct ref r = {0};
    struct mem_order scratch = {0};
    for (size_t i = 0; i < n; i++)
        ref_insert(&r, &scratch, (struct mem_obj *)&p->objs[i]);
    mem__order_free(&scratch);
    memcpy(out, r.v, n * sizeof *out);
}

/* Sorted and reversed inserts and removes of as many keys as fill one
 * node, one more, two nodes and one more, and several levels: every
 * split and merge at a node's edge, checked after each step for the
 * small ones. */
static void sorted_runs_cross_node_boundaries(void **state)
{
    (void)state;
    static const size_t sizes[] = {31, 32, 33, 64, 65, 1025, POOL};
    struct pool *p = pool_new();
    struct mem_obj **keys = calloc(POOL, sizeof *keys);
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        bool each_step = n <= 65;
        sorted_keys(p, n, keys);
        for (int pass = 0; pass < 4; pass++) {
            bool up_in = pass & 1, up_out = pass & 2;
            struct mem_order t = {0};
            struct ref r = {0};
            for (size_t i = 0; i < n; i++) {
                ref_insert(&r, &t, keys[up_in ? i : n - 1 - i]);
                if (each_step)
                    check(&t, &r, p, false);
            }
            check(&t, &r, p, false);
            for (size_t i = 0; i < n; i++) {
                ref_remove(&r, &t, keys[up_out ? i : n - 1 - i]);
                if (each_step || i == n / 2)
                    check(&t, &r, p, false);
            }
            assert_null(t.root);
        }
    }
    free(keys);
    pool_free(p);
}

/* Random inserts and removes over the pool, against the reference. */
static void random_runs_match_a_reference(void **state)
{
    (void)state;
    struct pool *p = pool_new();
    struct mem_order t = {0};
    struct ref r = {0};
    struct rng g = rng_seeded(11);
    for (int op = 1; op <= 30000; op++) {
        struct mem_obj *o = &p->objs[rng_next(&g) % POOL];
        if (ref_has(&r, o))
            ref_remove(&r, &t, o);
        else
            ref_insert(&r, &t, o);
        if (op % 3000 == 0)
            check(&t, &r, p, op == 30000);
    }
    mem__order_free(&t);
    pool_free(p);
}

/* each_after stops at fn's first non-zero return and returns it. */
static void a_walk_stops_where_told(void **state)
{
    (void)state;
    struct pool *p = pool_new();
    struct mem_order t = {0};
    struct ref r = {0};
    for (size_t i = 0; i < 500; i++)
        ref_insert(&r, &t, &p->objs[i]);
    struct seen *s = calloc(1, sizeof *s);
    for (size_t stop = 1; stop <= 500; stop += 37) {
        *s = (struct seen){.stop = stop};
        assert_int_equal(mem__order_each_after(&t, "", "", see, s), 7);
        assert_int_equal(s->n, stop);
        for (size_t i = 0; i < stop; i++)
            assert_ptr_equal(s->v[i], r.v[i]);
    }
    free(s);
    mem__order_free(&t);
    pool_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_tree),
        cmocka_unit_test(single_key),
        cmocka_unit_test(sorted_runs_cross_node_boundaries),
        cmocka_unit_test(random_runs_match_a_reference),
        cmocka_unit_test(a_walk_stops_where_told),
    };
    return cmocka_run_group_tests_name("store_mem_order", tests, NULL, NULL);
}
