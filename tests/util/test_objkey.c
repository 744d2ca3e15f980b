/* util/objkey: object keys, checked against snprintf's "%s/%s" (and "%s"
 * without a namespace) at every buffer size, cut ones included. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(joins_namespace_and_name),
        cmocka_unit_test(a_cluster_scoped_name_is_bare),
        cmocka_unit_test(a_null_name_is_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
