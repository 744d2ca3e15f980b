/* Tests for core/interference: the model's formulas, its fit recovering
 * known parameters, the fit on the published YOLOS-small measurements on
 * an A100-80GB giving INTERFERENCE_DEFAULT, and the calibration table
 * (published against the model) within the error docs/sharing.md states. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/interference.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* The published figures (seconds per inference, N pods on one A100-80GB,
 * each asking 10 GB; the MIG pods each on a 1g.10gb, 1 of 7 compute
 * slices). docs/sharing.md names the source. */
static const struct interference_point published[] = {
    {SHARING_TIMESLICE, 1, 1, 0.08815}, {SHARING_TIMESLICE, 3, 1, 0.29314},
    {SHARING_TIMESLICE, 7, 1, 0.68488}, {SHARING_MPS, 1, 1, 0.08796},
    {SHARING_MPS, 3, 1, 0.16400},       {SHARING_MPS, 7, 1, 0.31982},
    {SHARING_MIG, 1, 1.0 / 7, 0.34237}, {SHARING_MIG, 3, 1.0 / 7, 0.34131},
    {SHARING_MIG, 7, 1.0 / 7, 0.34425},
};

static double model_time(const struct interference_model *m, enum sharing_way way,
                         double alone, unsigned pods, double share)
{
    double t = 0;
    struct err e;
    assert_int_equal(interference_seconds(m, way, alone, pods, share, &t, &e), 0);
    return t;
}

static void formulas_follow_the_model(void **state)
{
    (void)state;
    struct interference_model m = {.switch_overhead = 0.25, .contention = 0.5, .exponent = 1};
    assert_float_equal(model_time(&m, SHARING_WHOLE, 2, 1, 1), 2, 1e-12);
    /* 3 pods time-sliced: 3 turns and 2 switches of a quarter each. */
    assert_float_equal(model_time(&m, SHARING_TIMESLICE, 2, 3, 1), 2 * 3.5, 1e-12);
    /* MPS at half the SMs, 3 clients: twice as slow, plus half per other. */
    assert_float_equal(model_time(&m, SHARING_MPS, 2, 3, 0.5), 2 * 2 * 2, 1e-12);
    /* MIG: the share alone counts, whatever the neighbours. */
    assert_float_equal(model_time(&m, SHARING_MIG, 2, 7, 0.25), 8, 1e-12);
    assert_float_equal(model_time(&m, SHARING_MIG, 2, 1, 0.25), 8, 1e-12);
}

static void bad_arguments_are_refused(void **state)
{
    (void)state;
    struct interference_model m = INTERFERENCE_DEFAULT;
    struct err e;
    double t = -1;
    assert_int_equal(interference_seconds(&m, SHARING_MPS, 1, 0, 1, &t, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "at least one pod"));
    assert_int_equal(interference_seconds(&m, SHARING_MPS, 1, 2, 0, &t, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "share is in (0, 1], not 0"));
    assert_int_equal(interference_seconds(&m, SHARING_MIG, 1, 1, 1.5, &t, &e), -EINVAL);
    assert_int_equal(interference_seconds(&m, SHARING_TIMESLICE, -1, 1, 1, &t, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "must be positive, not -1"));
    assert_int_equal(interference_seconds(&m, SHARING_TIMESLICE, NAN, 1, 1, &t, &e), -EINVAL);
    assert_int_equal(interference_seconds(&m, SHARING_WHOLE, 1, 2, 1, &t, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "a whole GPU holds one pod, not 2"));
    assert_float_equal(t, -1, 0); /* untouched on failure */
}

/* Points made by a known model are fitted back to it exactly. */
static void the_fit_recovers_a_known_model(void **state)
{
    (void)state;
    struct interference_model truth = {.switch_overhead = 0.07, .contention = 0.3,
                                       .exponent = 0.8};
    struct interference_point p[16];
    size_t n = 0;
    const double alone = 0.5;
    for (unsigned k = 1; k <= 4; k++) {
        p[n++] = (struct interference_point){SHARING_TIMESLICE, k, 1,
                                             model_time(&truth, SHARING_TIMESLICE, alone, k, 1)};
        p[n++] = (struct interference_point){SHARING_MPS, k, 0.5,
                                             model_time(&truth, SHARING_MPS, alone, k, 0.5)};
        p[n++] = (struct interference_point){SHARING_MIG, k, 2.0 / 7,
                                             model_time(&truth, SHARING_MIG, alone, k, 2.0 / 7)};
    }
    p[n++] = (struct interference_point){SHARING_WHOLE, 1, 1, alone};
    struct interference_model fit;
    double fitted_alone;
    struct err e;
    assert_int_equal(interference_fit(p, n, &fit, &fitted_alone, &e), 0);
    assert_float_equal(fitted_alone, alone, 1e-12);
    assert_float_equal(fit.switch_overhead, truth.switch_overhead, 1e-9);
    assert_float_equal(fit.contention, truth.contention, 1e-9);
    assert_float_equal(fit.exponent, truth.exponent, 1e-9);
}

static void a_fit_without_a_way_says_which(void **state)
{
    (void)state;
    struct interference_model fit;
    struct err e;
    /* No MIG point: nothing to fit the exponent on. */
    assert_int_equal(interference_fit(published, 6, &fit, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "no MIG point"));
    /* The MIG points only: no time alone. */
    assert_int_equal(interference_fit(published + 6, 3, &fit, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "one pod alone"));
    /* Time-slicing with one pod only. */
    const struct interference_point some[] = {published[0], published[4], published[6]};
    assert_int_equal(interference_fit(some, COUNT_OF(some), &fit, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "no timeslice point with several pods"));
    const struct interference_point bad[] = {{SHARING_MPS, 1, 1, -0.1}};
    assert_int_equal(interference_fit(bad, 1, &fit, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "point 0 is not a measurement"));
}

/* The default is the fit on the published data, and reproduces each
 * published figure within 3 %: the calibration table of docs/sharing.md,
 * printed here. */
static void the_default_is_the_published_fit(void **state)
{
    (void)state;
    struct interference_model fit, def = INTERFERENCE_DEFAULT;
    double alone;
    struct err e;
    assert_int_equal(interference_fit(published, COUNT_OF(published), &fit, &alone, &e), 0);
    assert_float_equal(fit.switch_overhead, def.switch_overhead, 5e-5);
    assert_float_equal(fit.contention, def.contention, 5e-5);
    assert_float_equal(fit.exponent, def.exponent, 5e-5);
    printf("%-10s %4s %10s %10s %7s\n", "way", "pods", "published", "model", "error");
    for (size_t i = 0; i < COUNT_OF(published); i++) {
        const struct interference_point *p = &published[i];
        double t = model_time(&def, p->way, alone, p->pods, p->share);
        double err = (t - p->seconds) / p->seconds;
        printf("%-10s %4u %10.5f %10.5f %+6.1f%%\n", interference_way_name(p->way), p->pods,
               p->seconds, t, 100 * err);
        assert_true(fabs(err) < 0.03);
    }
}

static void ways_have_names(void **state)
{
    (void)state;
    assert_string_equal(interference_way_name(SHARING_WHOLE), "whole");
    assert_string_equal(interference_way_name(SHARING_TIMESLICE), "timeslice");
    assert_string_equal(interference_way_name(SHARING_MPS), "mps");
    assert_string_equal(interference_way_name(SHARING_MIG), "mig");
    assert_string_equal(interference_way_name((enum sharing_way)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(formulas_follow_the_model),
        cmocka_unit_test(bad_arguments_are_refused),
        cmocka_unit_test(the_fit_recovers_a_known_model),
        cmocka_unit_test(a_fit_without_a_way_says_which),
        cmocka_unit_test(the_default_is_the_published_fit),
        cmocka_unit_test(ways_have_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
