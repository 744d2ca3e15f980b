/* Tests for api/quantity: every suffix, fractions rounded up to a
 * thousandth, exponents, JSON numbers, and malformed or oversized input
 * refused with the field named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "api/quantity.h"

static int64_t milli(const char *s)
{
    int64_t v = -1;
    struct err e = {0};
    if (quantity_parse(s, "q", &v, &e) != 0)
        fail_msg("\"%s\": %s", s, e.msg);
    return v;
}

static void plain_and_decimal_suffixes(void **state)
{
    (void)state;
    assert_int_equal(milli("0"), 0);
    assert_int_equal(milli("2"), 2000);
    assert_int_equal(milli("500m"), 500);
    assert_int_equal(milli("1k"), 1000000);
    assert_int_equal(milli("3M"), 3000000000LL);
    assert_int_equal(milli("1G"), 1000000000000LL);
    assert_int_equal(milli("2T"), 2000000000000000LL);
    assert_int_equal(milli("1P"), 1000000000000000000LL);
    assert_int_equal(milli("1500u"), 2);        /* 1.5 thousandths round up */
    assert_int_equal(milli("1n"), 1);
    assert_int_equal(milli("+7"), 7000);
    assert_int_equal(milli("-250m"), -250);
}

static void binary_suffixes(void **state)
{
    (void)state;
    assert_int_equal(milli("1Ki"), 1024000);
    assert_int_equal(milli("64Mi"), 64LL * 1024 * 1024 * 1000);
    assert_int_equal(milli("80Gi"), 80LL * 1024 * 1024 * 1024 * 1000);
    assert_int_equal(milli("2Ti"), 2LL * 1024 * 1024 * 1024 * 1024 * 1000);
    assert_int_equal(milli("1.5Gi"), 1536LL * 1024 * 1024 * 1000);
}

static void fractions_and_zeros(void **state)
{
    (void)state;
    assert_int_equal(milli("1.5"), 1500);
    assert_int_equal(milli("0.1"), 100);
    assert_int_equal(milli(".5"), 500);
    assert_int_equal(milli("5."), 5000);
    assert_int_equal(milli("0.0001"), 1);     /* rounds up, never under-counts */
    assert_int_equal(milli("0.25m"), 1);
    assert_int_equal(milli("000012"), 12000);
    /* Zeros that are not significant do not count against the digit limit. */
    assert_int_equal(milli("1.50000000000000000000000"), 1500);
    assert_int_equal(milli("0.000000000000000000000000001"), 1);
}

static void exponents(void **state)
{
    (void)state;
    assert_int_equal(milli("1e3"), 1000000);
    assert_int_equal(milli("1E3"), 1000000);
    assert_int_equal(milli("12e-3"), 12);
    assert_int_equal(milli("5e+2"), 500000);
    assert_int_equal(milli("1e-400"), 1);
    assert_int_equal(milli("0.001E"), 1000000000000000000LL); /* exa, not an exponent */
    assert_int_equal(milli("1Pi"), 1125899906842624000LL);
}

static void json_values(void **state)
{
    (void)state;
    int64_t v = 0;
    json_t *i = json_integer(4), *r = json_real(0.5), *s = json_string("100m");
    json_t *b = json_true();
    assert_int_equal(quantity_from_json(i, "cpu", &v, NULL), 0);
    assert_int_equal(v, 4000);
    assert_int_equal(quantity_from_json(r, "cpu", &v, NULL), 0);
    assert_int_equal(v, 500);
    assert_int_equal(quantity_from_json(s, "cpu", &v, NULL), 0);
    assert_int_equal(v, 100);
    struct err e = {0};
    assert_int_equal(quantity_from_json(b, "spec.cpu", &v, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "spec.cpu"));
    assert_int_equal(quantity_from_json(NULL, "spec.cpu", &v, NULL), -EINVAL);
    json_decref(i);
    json_decref(r);
    json_decref(s);
    json_decref(b);
}

static void malformed_input_is_refused(void **state)
{
    (void)state;
    const char *bad[] = {"", "m", "1.2.3", "1K", "1kb", "Gi", "1 Gi", "1e", "1e+", "1e3x",
                         "--1", "1Gi ", "abc", ".", "1e3.5", "1EE"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 0;
        struct err e = {0};
        if (quantity_parse(bad[i], "spec.containers[0].resources.requests.cpu", &v, &e) !=
            -EINVAL)
            fail_msg("\"%s\" was accepted", bad[i]);
        assert_non_null(strstr(e.msg, "spec.containers[0].resources.requests.cpu"));
    }
    struct err e = {0};
    int64_t v = 0;
    assert_int_equal(quantity_parse(NULL, NULL, &v, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "quantity"));
}

static void out_of_range_is_refused(void **state)
{
    (void)state;
    const char *big[] = {"9Ei", "10E", "1e400", "99999999999999999999",
                         "1.2345678901234567891", "9223372036854776"};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        int64_t v = 0;
        struct err e = {0};
        if (quantity_parse(big[i], "memory", &v, &e) != -ERANGE)
            fail_msg("\"%s\" was not refused as out of range", big[i]);
        assert_non_null(strstr(e.msg, "memory"));
    }
    /* The largest whole number of units that fits. */
    assert_int_equal(milli("9223372036854775"), 9223372036854775000LL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_and_decimal_suffixes),
        cmocka_unit_test(binary_suffixes),
        cmocka_unit_test(fractions_and_zeros),
        cmocka_unit_test(exponents),
        cmocka_unit_test(json_values),
        cmocka_unit_test(malformed_input_is_refused),
        cmocka_unit_test(out_of_range_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
