/* Tests for store.c: the checks every call makes before it reaches a
 * backend, blobs, and event helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "store/mem.h"

static int64_t fixed(void *ctx)
{
    (void)ctx;
    return 0;
}

static int setup(void **state)
{
    struct mem_store_config cfg = {.now_ns = fixed};
    struct store *st;
    if (mem_store_new(&cfg, &st, NULL) != 0)
        return -1;
    *state = st;
    return 0;
}

static int teardown(void **state)
{
    store_free(*state);
    return 0;
}

static const struct api_resource *R(struct store *st, const char *name)
{
    return api_registry_resolve(store_registry(st), name);
}

static void scope_is_checked(void **state)
{
    struct store *st = *state;
    struct err e;
    json_t *out = (json_t *)1;
    assert_int_equal(store_get(st, R(st, "pods"), NULL, "x", &out, &e), -EBADMSG);
    assert_null(out);
    assert_string_equal(e.msg, "pods: a namespace is required");
    assert_int_equal(store_get(st, R(st, "nodes"), "ns", "x", &out, &e), -ENOENT);
    assert_int_equal(store_get(st, R(st, "pods"), "ns", "", &out, &e), -EBADMSG);
    assert_int_equal(store_get(st, NULL, "ns", "x", &out, &e), -EINVAL);
    assert_int_equal(store_get(NULL, R(st, "pods"), "ns", "x", &out, &e), -EINVAL);
    struct store_list_opts lo = {0};
    assert_int_equal(store_list(st, R(st, "nodes"), "ns", &lo, &out, &e), -ENOENT);
    assert_int_equal(store_list(st, R(st, "pods"), NULL, NULL, &out, &e), 0); /* all namespaces */
    json_decref(out);
}

static void bodies_and_options_are_checked(void **state)
{
    struct store *st = *state;
    struct err e;
    json_t *arr = json_array();
    assert_int_equal(store_create(st, R(st, "cm"), "ns", arr, NULL, NULL, &e), -EBADMSG);
    assert_int_equal(store_update(st, R(st, "cm"), "ns", arr, NULL, NULL, &e), -EBADMSG);
    assert_int_equal(store_create(st, R(st, "cm"), "ns", NULL, NULL, NULL, &e), -EBADMSG);
    json_decref(arr);
    assert_int_equal(store_patch(st, R(st, "cm"), "ns", "x", STORE_PATCH_MERGE, NULL, NULL, NULL, &e),
                     -EBADMSG);
    struct store_delete_opts o = {.has_grace = true, .grace_s = -1};
    assert_int_equal(store_delete(st, R(st, "cm"), "ns", "x", &o, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "gracePeriodSeconds"));
    assert_int_equal(store_bind(st, "ns", "", "n", &e), -EBADMSG);
    assert_int_equal(store_bind(st, "ns", "p", "", &e), -EINVAL);
    assert_int_equal(store_bind(NULL, "ns", "p", "n", &e), -EINVAL);
    struct store_watch *w = (struct store_watch *)1;
    assert_int_equal(store_watch_open(st, R(st, "nodes"), "ns", NULL, &w, &e), -ENOENT);
    assert_null(w);
    store_watch_close(NULL);
    store_free(NULL);
}

static void blobs(void **state)
{
    (void)state;
    struct store_blob *b = store_blob_new("abc", 3);
    assert_int_equal(b->len, 3);
    assert_string_equal(b->data, "abc");
    assert_ptr_equal(store_blob_ref(b), b);
    store_blob_unref(b);
    store_blob_unref(b);
    assert_null(store_blob_ref(NULL));
    store_blob_unref(NULL);
    json_t *small = json_pack("{s:s}", "a", "b");
    b = store_blob_dump(small);
    assert_string_equal(b->data, "{\"a\":\"b\"}");
    assert_int_equal(b->len, strlen(b->data));
    store_blob_unref(b);
    /* larger than the first guess: dumped again into a buffer that fits */
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    json_t *large = json_pack("{s:s}", "k", big);
    b = store_blob_dump(large);
    assert_int_equal(b->len, strlen(big) + 8);
    assert_int_equal(b->data[b->len], '\0');
    store_blob_unref(b);
    /* with a hint (a previous version's length) too small, right, or too
     * large, the text is the same */
    size_t hints[] = {0, 100, strlen(big) + 8, strlen(big) + 7, 1u << 16};
    for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++) {
        b = store_blob_dump_hint(large, hints[i]);
        assert_int_equal(b->len, strlen(big) + 8);
        assert_int_equal(b->data[b->len], '\0');
        assert_int_equal(memcmp(b->data, "{\"k\":\"", 6), 0);
        store_blob_unref(b);
    }
    json_decref(small);
    json_decref(large);
}

static void events(void **state)
{
    (void)state;
    assert_string_equal(store_event_name(STORE_ADDED), "ADDED");
    assert_string_equal(store_event_name(STORE_MODIFIED), "MODIFIED");
    assert_string_equal(store_event_name(STORE_DELETED), "DELETED");
    assert_string_equal(store_event_name(STORE_BOOKMARK), "BOOKMARK");
    struct store_event ev = {STORE_ADDED, json_object(), store_blob_new("{}", 2)};
    store_event_release(&ev);
    assert_null(ev.object);
    assert_null(ev.raw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(scope_is_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(bodies_and_options_are_checked, setup, teardown),
        cmocka_unit_test(blobs),
        cmocka_unit_test(events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
