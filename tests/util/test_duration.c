/* util/duration: Go-style durations read strictly and written back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/clock.h"
#include "util/duration.h"

static int64_t parsed(const char *text)
{
    int64_t ns = -1;
    struct err e = {0};
    if (duration_parse(text, &ns, &e) < 0)
        fail_msg("%s", e.msg);
    return ns;
}

static void the_forms_users_write_parse(void **state)
{
    (void)state;
    assert_int_equal(parsed("0s"), 0);
    assert_int_equal(parsed("5s"), 5 * NS_PER_SEC);
    assert_int_equal(parsed("1m30s"), 90 * NS_PER_SEC);
    assert_int_equal(parsed("2h"), 7200 * NS_PER_SEC);
    assert_int_equal(parsed("250ms"), 250 * NS_PER_MS);
    assert_int_equal(parsed("1.5s"), 1500 * NS_PER_MS);
    assert_int_equal(parsed(".5s"), 500 * NS_PER_MS);
    assert_int_equal(parsed("3us"), 3 * NS_PER_US);
    assert_int_equal(parsed("7ns"), 7);
    assert_int_equal(parsed("1h1m1s1ms"), 3661 * NS_PER_SEC + NS_PER_MS);
}

static void anything_else_is_refused_naming_the_text(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "5", "s", "-5s", "+5s", "5 s", " 5s", "5s ",
                                      "5sec", "5d", "1.s5", "5s3", ".s", "1e3s", "5S"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ns = 42;
        struct err e = {0};
        assert_int_equal(duration_parse(bad[i], &ns, &e), -EINVAL);
        assert_int_equal(ns, 42);
        assert_non_null(strstr(e.msg, "is not a duration"));
    }
    int64_t ns = 42;
    assert_int_equal(duration_parse(NULL, &ns, NULL), -EINVAL);
    struct err e = {0};
    assert_int_equal(duration_parse("9999999999999999999s", &ns, &e), -ERANGE);
    assert_int_equal(duration_parse("3000000h", &ns, &e), -ERANGE);
    assert_int_equal(duration_parse("2562047h2562047h", &ns, &e), -ERANGE);
    assert_int_equal(ns, 42);
}

static void durations_are_written_as_they_are_read(void **state)
{
    (void)state;
    char buf[DURATION_TEXT_MAX];
    assert_string_equal(duration_format(0, buf), "0s");
    assert_string_equal(duration_format(5 * NS_PER_SEC, buf), "5s");
    assert_string_equal(duration_format(90 * NS_PER_SEC, buf), "1m30s");
    assert_string_equal(duration_format(7200 * NS_PER_SEC, buf), "2h0m0s");
    assert_string_equal(duration_format(250 * NS_PER_MS, buf), "250ms");
    assert_string_equal(duration_format(1500 * NS_PER_MS, buf), "1.5s");
    assert_string_equal(duration_format(-3, buf), "0s");
    assert_string_equal(duration_format(INT64_MAX, buf), "2562047h47m16.854s");
    static const char *const again[] = {"0s", "5s", "1m30s", "250ms", "1.5s", "1h0m1.25s"};
    for (size_t i = 0; i < sizeof again / sizeof again[0]; i++)
        assert_string_equal(duration_format(parsed(again[i]), buf), again[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_forms_users_write_parse),
        cmocka_unit_test(anything_else_is_refused_naming_the_text),
        cmocka_unit_test(durations_are_written_as_they_are_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
