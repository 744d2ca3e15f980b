/* Forwarding: a wrapper whose every call is forward_* serves the inner
 * store's registry and objects; each read, write, binding and watch lands
 * in the inner store as it came, and store_free frees the wrapper only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sim/forward.h"
#include "util/alloc.h"
#include "wrapped.h"

static const struct store_ops plain_ops = {
    .name = "plain",
    .get = forward_get,
    .list = forward_list,
    .create = forward_create,
    .update = forward_update,
    .patch = forward_patch,
    .remove = forward_remove,
    .bind = forward_bind,
    .watch_open = forward_watch_open,
    .destroy = forward_destroy,
};

static int setup(void **state)
{
    struct world *w = wrapped_world();
    struct forward_store *f = alloc_calloc(1, sizeof *f);
    forward_init(f, &plain_ops, w->mem);
    w->st = &f->base;
    *state = w;
    return 0;
}

static json_t *config_map(const char *name, const char *value)
{
    return json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                     "metadata", "name", name, "data", "k", value);
}

static const char *data_k(const json_t *cm)
{
    return json_string_value(json_object_get(json_object_get(cm, "data"), "k"));
}

static void the_wrapper_is_the_inner_store(void **state)
{
    struct world *w = *state;
    assert_ptr_equal(forward_inner(w->st), w->mem);
    assert_ptr_equal(store_registry(w->st), store_registry(w->mem));
}

static void writes_land_in_the_inner_store(void **state)
{
    struct world *w = *state;
    json_t *cm = config_map("a", "v"), *got = NULL, *inner = NULL;
    assert_int_equal(store_create(w->st, w->cms, "default", cm, NULL, &got, NULL), 0);
    json_object_set_new(json_object_get(got, "data"), "k", json_string("w"));
    assert_int_equal(store_update(w->st, w->cms, "default", got, NULL, NULL, NULL), 0);
    assert_int_equal(store_get(w->mem, w->cms, "default", "a", &inner, NULL), 0);
    assert_string_equal(data_k(inner), "w");
    json_decref(inner);
    json_t *patch = json_pack("{s:{s:s}}", "data", "k", "x");
    assert_int_equal(store_patch(w->st, w->cms, "default", "a", STORE_PATCH_MERGE, patch, NULL,
                                 NULL, NULL),
                     0);
    assert_int_equal(store_get(w->st, w->cms, "default", "a", &inner, NULL), 0);
    assert_string_equal(data_k(inner), "x");
    json_decref(inner);
    assert_int_equal(store_delete(w->st, w->cms, "default", "a", NULL, NULL, NULL), 0);
    assert_int_equal(store_get(w->mem, w->cms, "default", "a", &inner, NULL), -ENOENT);
    json_decref(cm);
    json_decref(got);
    json_decref(patch);
}

static void lists_bindings_and_watches_reach_the_inner_store(void **state)
{
    struct world *w = *state;
    struct store_watch *watch = NULL;
    assert_int_equal(store_watch_open(w->st, w->pods, "default", NULL, &watch, NULL), 0);
    json_t *pod = json_pack("{s:s, s:s, s:{s:s}, s:{s:[{s:s, s:s}]}}", "apiVersion", "v1",
                            "kind", "Pod", "metadata", "name", "p", "spec", "containers",
                            "name", "main", "image", "cuda");
    assert_int_equal(store_create(w->mem, w->pods, "default", pod, NULL, NULL, NULL), 0);
    json_decref(pod);
    struct store_event ev = {0};
    assert_int_equal(store_watch_next(watch, 0, &ev, NULL), 0);
    assert_int_equal(ev.type, STORE_ADDED);
    store_event_release(&ev);
    store_watch_close(watch);
    assert_int_equal(store_bind(w->st, "default", "p", "n1", NULL), 0);
    json_t *list = NULL;
    assert_int_equal(store_list(w->st, w->pods, "default", NULL, &list, NULL), 0);
    json_t *items = json_object_get(list, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(items, 0), "spec"), "nodeName")),
                        "n1");
    json_decref(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_wrapper_is_the_inner_store, setup, teardown),
        cmocka_unit_test_setup_teardown(writes_land_in_the_inner_store, setup, teardown),
        cmocka_unit_test_setup_teardown(lists_bindings_and_watches_reach_the_inner_store, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
