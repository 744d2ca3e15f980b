/* Tests for util/strpool: interned strings share one copy, added ones do
 * not, pointers survive growth, long strings fit, and free empties. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/strpool.h"

static void equal_strings_share_one_copy(void **state)
{
    (void)state;
    struct strpool p;
    strpool_init(&p);
    char buf[16];
    snprintf(buf, sizeof buf, "%s", "node-a");
    const char *a = strpool_intern(&p, buf);
    snprintf(buf, sizeof buf, "%s", "node-b");
    const char *b = strpool_intern(&p, buf);
    assert_string_equal(a, "node-a");
    assert_ptr_equal(strpool_intern(&p, "node-a"), a);
    assert_ptr_not_equal(a, b);
    assert_string_equal(strpool_intern(&p, NULL), "");
    const char *c = strpool_add(&p, "node-a");
    assert_ptr_not_equal(c, a);
    assert_string_equal(c, "node-a");
    strpool_free(&p);
}

static void pointers_survive_growth(void **state)
{
    (void)state;
    struct strpool p;
    strpool_init(&p);
    const char *first = strpool_intern(&p, "first");
    const char *names[20000];
    for (int i = 0; i < 20000; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "pod-%d", i);
        names[i] = strpool_add(&p, buf);
    }
    char *big = malloc(100000);
    memset(big, 'x', 99999);
    big[99999] = '\0';
    const char *long_one = strpool_intern(&p, big);
    const char *after = strpool_add(&p, "after");
    assert_string_equal(first, "first");
    assert_string_equal(names[0], "pod-0");
    assert_string_equal(names[19999], "pod-19999");
    assert_string_equal(long_one, big);
    assert_string_equal(after, "after");
    assert_ptr_equal(strpool_intern(&p, "first"), first);
    free(big);
    strpool_free(&p);
    assert_int_equal(p.n_chunks, 0);
    struct strpool zeroed = {0};
    assert_ptr_equal(strpool_intern(&zeroed, "z"), strpool_intern(&zeroed, "z"));
    strpool_free(&zeroed);
    assert_string_equal(strpool_intern(&p, "again"), "again");
    strpool_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(equal_strings_share_one_copy),
        cmocka_unit_test(pointers_survive_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
