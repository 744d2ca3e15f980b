/* Tests for util/strmap: values kept inline under copied keys, growth,
 * deletion that keeps every other key reachable, drop, sets and walks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/alloc.h"
#include "util/strmap.h"

struct pair {
    int64_t a;
    unsigned b;
};

static void put_adds_zeroed_value_then_finds_it(void **state)
{
    (void)state;
    struct strmap m;
    strmap_init(&m, sizeof(struct pair), NULL);
    assert_null(strmap_get(&m, "x"));
    bool added;
    struct pair *p = strmap_put(&m, "x", &added);
    assert_true(added);
    assert_int_equal(p->a, 0);
    assert_int_equal(p->b, 0);
    p->a = -5;
    p->b = 7;
    p = strmap_put(&m, "x", &added);
    assert_false(added);
    assert_int_equal(p->a, -5);
    struct pair *got = strmap_get(&m, "x");
    assert_non_null(got);
    assert_int_equal(got->b, 7);
    assert_int_equal(strmap_size(&m), 1);
    strmap_free(&m);
    assert_int_equal(strmap_size(&m), 0);
    assert_null(strmap_get(&m, "x"));
}

static void keys_are_copied(void **state)
{
    (void)state;
    struct strmap m;
    strmap_init(&m, sizeof(int), NULL);
    char key[8] = "abc";
    int one = 1;
    strmap_set(&m, key, &one);
    strcpy(key, "zzz");
    assert_non_null(strmap_get(&m, "abc"));
    assert_null(strmap_get(&m, "zzz"));
    strmap_free(&m);
}

static void values_are_aligned(void **state)
{
    (void)state;
    struct strmap m;
    strmap_init(&m, 3, NULL); /* an odd size still gets aligned slots */
    void *v;
    for (int i = 0; i < 40; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        v = strmap_put(&m, key, NULL);
        assert_int_equal((uintptr_t)v % _Alignof(max_align_t), 0);
    }
    strmap_free(&m);
}

/* Many keys through growth and deletions, checked against a plain array:
 * a delete must never hide a key further along its probe run. */
static void survives_growth_and_deletions(void **state)
{
    (void)state;
    enum { N = 3000 };
    static int model[N]; /* -1: absent, else the value */
    struct strmap m;
    strmap_init(&m, sizeof(int), NULL);
    for (int i = 0; i < N; i++)
        model[i] = -1;
    unsigned seed = 12345;
    for (int step = 0; step < 40000; step++) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 8) % N);
        char key[16];
        snprintf(key, sizeof key, "pod-%d", k);
        if ((seed >> 4) % 3 == 0) {
            assert_int_equal(strmap_del(&m, key), model[k] >= 0);
            model[k] = -1;
        } else {
            strmap_set(&m, key, &step);
            model[k] = step;
        }
    }
    size_t present = 0;
    for (int k = 0; k < N; k++) {
        char key[16];
        snprintf(key, sizeof key, "pod-%d", k);
        int *v = strmap_get(&m, key);
        if (model[k] < 0) {
            assert_null(v);
        } else {
            assert_non_null(v);
            assert_int_equal(*v, model[k]);
            present++;
        }
    }
    assert_int_equal(strmap_size(&m), present);
    strmap_free(&m);
}

static void next_walks_every_entry_once(void **state)
{
    (void)state;
    struct strmap m;
    strmap_init(&m, sizeof(int), NULL);
    int seen[100] = {0};
    for (int i = 0; i < 100; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        strmap_set(&m, key, &i);
    }
    size_t pos = 0, n = 0;
    const char *key;
    void *v;
    while (strmap_next(&m, &pos, &key, &v)) {
        int i = *(int *)v;
        assert_int_equal(atoi(key), i);
        seen[i]++;
        n++;
    }
    assert_int_equal(n, 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(seen[i], 1);
    pos = 0;
    struct strmap empty;
    strmap_init(&empty, sizeof(int), NULL);
    assert_false(strmap_next(&empty, &pos, &key, NULL));
    strmap_free(&m);
}

static int drops;

static void drop_string(void *value)
{
    free(*(char **)value);
    drops++;
}

static void drop_releases_what_values_own(void **state)
{
    (void)state;
    struct strmap m;
    strmap_init(&m, sizeof(char *), drop_string);
    drops = 0;
    char *s = alloc_strdup("first");
    strmap_set(&m, "a", &s);
    s = alloc_strdup("second"); /* replaces and drops "first" */
    strmap_set(&m, "a", &s);
    assert_int_equal(drops, 1);
    assert_string_equal(*(char **)strmap_get(&m, "a"), "second");
    s = alloc_strdup("other");
    strmap_set(&m, "b", &s);
    assert_true(strmap_del(&m, "b"));
    assert_int_equal(drops, 2);
    assert_false(strmap_del(&m, "b"));
    strmap_free(&m);
    assert_int_equal(drops, 3);
}

static void zero_size_values_make_a_set(void **state)
{
    (void)state;
    struct strmap m;
    strmap_init(&m, 0, NULL);
    bool added;
    strmap_put(&m, "ns/a", &added);
    assert_true(added);
    strmap_put(&m, "ns/b", &added);
    assert_true(added);
    assert_non_null(strmap_get(&m, "ns/a"));
    assert_true(strmap_del(&m, "ns/a"));
    assert_null(strmap_get(&m, "ns/a"));
    assert_non_null(strmap_get(&m, "ns/b"));
    assert_int_equal(strmap_size(&m), 1);
    strmap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_adds_zeroed_value_then_finds_it),
        cmocka_unit_test(keys_are_copied),
        cmocka_unit_test(values_are_aligned),
        cmocka_unit_test(survives_growth_and_deletions),
        cmocka_unit_test(next_walks_every_entry_once),
        cmocka_unit_test(drop_releases_what_values_own),
        cmocka_unit_test(zero_size_values_make_a_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
