/* Counting writes: each create, update, patch, delete and binding the
 * inner store took counts once, under its kind; a write it refused counts
 * nothing; reads and watches reach the inner store and count nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/meta.h"
#include "sim/tally.h"
#include "wrapped.h"

static int setup(void **state)
{
    struct world *w = wrapped_world();
    assert_int_equal(tally_store_new(w->mem, &w->st, NULL), 0);
    *state = w;
    return 0;
}

static json_t *config_map(const char *name)
{
    return json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                     "metadata", "name", name, "data", "k", "v");
}

static json_t *pod(const char *name)
{
    return json_pack("{s:s, s:s, s:{s:s}, s:{s:[{s:s, s:s}]}}", "apiVersion", "v1", "kind",
                     "Pod", "metadata", "name", name, "spec", "containers", "name", "main",
                     "image", "cuda");
}

static uint64_t writes_of(struct store *st, const char *plural)
{
    struct tally_counts c;
    tally_get(st, &c);
    for (size_t k = 0; k < c.n_kinds; k++)
        if (strcmp(c.kinds[k].plural, plural) == 0)
            return c.kinds[k].writes;
    return 0;
}

static void each_write_counts_once_under_its_kind(void **state)
{
    struct world *w = *state;
    json_t *cm = config_map("a"), *got = NULL;
    assert_int_equal(store_create(w->st, w->cms, "default", cm, NULL, &got, NULL), 0);
    json_object_set_new(json_object_get(got, "data"), "k", json_string("w"));
    assert_int_equal(store_update(w->st, w->cms, "default", got, NULL, NULL, NULL), 0);
    json_t *patch = json_pack("{s:{s:s}}", "data", "k", "x");
    assert_int_equal(store_patch(w->st, w->cms, "default", "a", STORE_PATCH_MERGE, patch, NULL,
                                 NULL, NULL),
                     0);
    assert_int_equal(store_delete(w->st, w->cms, "default", "a", NULL, NULL, NULL), 0);
    json_t *p = pod("p");
    assert_int_equal(store_create(w->st, w->pods, "default", p, NULL, NULL, NULL), 0);
    assert_int_equal(store_bind(w->st, "default", "p", "n1", NULL), 0);
    assert_int_equal(writes_of(w->st, "configmaps"), 4);
    assert_int_equal(writes_of(w->st, "pods"), 2);
    struct tally_counts c;
    tally_get(w->st, &c);
    assert_int_equal(c.total, 6);
    assert_int_equal(c.n_kinds, 2);
    assert_string_equal(c.kinds[0].plural, "configmaps");
    json_decref(cm);
    json_decref(got);
    json_decref(patch);
    json_decref(p);
}

static void refused_writes_and_reads_count_nothing(void **state)
{
    struct world *w = *state;
    json_t *cm = config_map("a"), *got = NULL, *list = NULL;
    assert_int_equal(store_create(w->st, w->cms, "default", cm, NULL, NULL, NULL), 0);
    assert_int_equal(store_create(w->st, w->cms, "default", cm, NULL, NULL, NULL), -EEXIST);
    assert_int_equal(store_delete(w->st, w->cms, "default", "b", NULL, NULL, NULL), -ENOENT);
    assert_int_equal(store_get(w->st, w->cms, "default", "a", &got, NULL), 0);
    assert_int_equal(store_list(w->st, w->cms, "default", NULL, &list, NULL), 0);
    struct tally_counts c;
    tally_get(w->st, &c);
    assert_int_equal(c.total, 1);
    tally_get(w->mem, &c); /* not a tally store */
    assert_int_equal(c.total, 0);
    json_decref(cm);
    json_decref(got);
    json_decref(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(each_write_counts_once_under_its_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_writes_and_reads_count_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
