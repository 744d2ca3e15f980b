/* util/objkey: object keys, checked against snprintf's "%s/%s" (and "%s"
 * without a namespace) at every buffer size, cut ones included; and split
 * back into what made them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/objkey.h"

static void same_as_snprintf(const char *ns, const char *name)
{
    char want[64], got[64];
    for (size_t len = 0; len <= sizeof got; len++) {
        memset(want, 'x', sizeof want);
        memset(got, 'x', sizeof got);
        int n = ns && *ns ? snprintf(want, len, "%s/%s", ns, name ? name : "")
                          : snprintf(want, len, "%s", name ? name : "");
        assert_int_equal(objkey_join(got, len, ns, name), (size_t)n);
        assert_memory_equal(got, want, sizeof got); /* nothing written past the NUL */
    }
}

static void joins_namespace_and_name(void **state)
{
    (void)state;
    same_as_snprintf("team", "pod-1");
    same_as_snprintf("a-rather-long-namespace-name", "and-a-long-pod-name-too");
}

static void a_cluster_scoped_name_is_bare(void **state)
{
    (void)state;
    same_as_snprintf(NULL, "node-a");
    same_as_snprintf("", "node-a");
    char key[16];
    assert_int_equal(objkey_join(key, sizeof key, "", "node-a"), 6);
    assert_string_equal(key, "node-a");
}

static void a_null_name_is_empty(void **state)
{
    (void)state;
    same_as_snprintf("team", NULL);
    same_as_snprintf(NULL, NULL);
}

/* Joins ns and name, splits the key, and wants both back. */
static void round_trips(const char *ns, const char *name)
{
    char key[64], got_ns[16];
    const char *got_name = NULL;
    objkey_join(key, sizeof key, ns, name);
    assert_int_equal(objkey_split(key, got_ns, sizeof got_ns, &got_name), 0);
    assert_string_equal(got_ns, ns ? ns : "");
    assert_string_equal(got_name, name);
}

static void splits_what_it_joins(void **state)
{
    (void)state;
    round_trips("team", "pod-1");
    round_trips("", "node-a"); /* was "/node-a" by snprintf, a bare name now */
    round_trips(NULL, "node-a");
}

static void refuses_keys_join_does_not_make(void **state)
{
    (void)state;
    char ns[16];
    const char *name = NULL;
    assert_int_equal(objkey_split("", ns, sizeof ns, &name), -EINVAL);
    assert_int_equal(objkey_split("team/", ns, sizeof ns, &name), -EINVAL);
    assert_int_equal(objkey_split("/pod-1", ns, sizeof ns, &name), -EINVAL);
    assert_int_equal(objkey_split("team/pod/1", ns, sizeof ns, &name), -EINVAL);
    assert_null(name);
}

static void a_namespace_too_long_for_its_buffer(void **state)
{
    (void)state;
    char ns[4];
    const char *name = NULL;
    assert_int_equal(objkey_split("team/pod-1", ns, sizeof ns, &name), -ENAMETOOLONG);
    assert_int_equal(objkey_split("abc/pod-1", ns, sizeof ns, &name), 0);
    assert_string_equal(ns, "abc");
    assert_string_equal(name, "pod-1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(joins_namespace_and_name),
        cmocka_unit_test(a_cluster_scoped_name_is_bare),
        cmocka_unit_test(a_null_name_is_empty),
        cmocka_unit_test(splits_what_it_joins),
        cmocka_unit_test(refuses_keys_join_does_not_make),
        cmocka_unit_test(a_namespace_too_long_for_its_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
