/* util/strcopy: a bounded copy, checked against snprintf(dst, size, "%s",
 * src) for every size around the string's length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/strcopy.h"

/* strcopy_cut and snprintf write the same bytes and say the same length,
 * and neither touches dst past size. */
static void same_as_snprintf(const char *src, size_t size)
{
    char want[32], got[32];
    memset(want, 'x', sizeof want);
    memset(got, 'x', sizeof got);
    int n = snprintf(want, size, "%s", src);
    assert_int_equal(strcopy_cut(got, size, src), (size_t)n);
    assert_memory_equal(got, want, sizeof got);
}

static void cut_to_fit_at_every_size(void **state)
{
    (void)state;
    static const char *const texts[] = {"", "a", "gpu-000", "nvidia.com/mig-1g.10gb"};
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++)
        for (size_t size = 0; size <= strlen(texts[t]) + 2; size++)
            same_as_snprintf(texts[t], size);
}

static void a_cut_copy_says_so(void **state)
{
    (void)state;
    char buf[4];
    assert_true(strcopy_cut(buf, sizeof buf, "batch") >= sizeof buf);
    assert_string_equal(buf, "bat");
    assert_int_equal(strcopy_cut(buf, sizeof buf, "ns"), 2);
    assert_string_equal(buf, "ns");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cut_to_fit_at_every_size),
        cmocka_unit_test(a_cut_copy_says_so),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
