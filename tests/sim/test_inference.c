/* The book of units of work (sim/inference.h): how a GPUSlice holds its
 * GPU, units timed by the model for the pods on the GPU at the time, a
 * unit that spans a change of the pods taking the time of its parts, the
 * unit under way dropped when a pod stops, pods without units counted as
 * neighbours, and the published experiment reproduced by the book alone
 * (k pods at once on one GPU, each way) within the model's fit error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "sim/inference.h"
#include "util/clock.h"

#define S(x) ((int64_t)((x) * (double)NS_PER_SEC))

/* One second alone; time-slicing costs k, MPS at share 1 costs 1 + (k-1):
 * round numbers for exact checks. */
static const struct interference_model plain = {.switch_overhead = 0, .contention = 1,
                                                .exponent = 1};

static const struct inference_hold timeslice = {.way = SHARING_TIMESLICE, .share = 1};

static void a_slice_says_how_it_holds_its_gpu(void **state)
{
    (void)state;
    struct inference_hold h;
    struct err e;
    struct gpuslice_spec mig = {.model = "A100-80GB", .profile = "1g.10gb"};
    assert_int_equal(inference_hold_of(&mig, &h, &e), 0);
    assert_int_equal(h.way, SHARING_MIG);
    assert_float_equal(h.share, 1.0 / 7, 1e-12);
    mig.profile = "3g.40gb";
    assert_int_equal(inference_hold_of(&mig, &h, &e), 0);
    assert_float_equal(h.share, 3.0 / 7, 1e-12);
    struct gpuslice_spec mps = {.sharing = POD_SHARING_MPS, .memory_gib = 10, .sm_percent = 25};
    assert_int_equal(inference_hold_of(&mps, &h, &e), 0);
    assert_true(h.way == SHARING_MPS && h.share == 0.25);
    struct gpuslice_spec ts = {.sharing = POD_SHARING_TIMESLICE};
    assert_int_equal(inference_hold_of(&ts, &h, &e), 0);
    assert_true(h.way == SHARING_TIMESLICE && h.share == 1);
    mig.profile = "9g.99gb";
    assert_int_equal(inference_hold_of(&mig, &h, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "no profile \"9g.99gb\" of model \"A100-80GB\""));
    mps.sm_percent = 0;
    assert_int_equal(inference_hold_of(&mps, &h, &e), -EINVAL);
}

static void units_alone_take_the_model_time(void **state)
{
    (void)state;
    struct interference_model m = INTERFERENCE_DEFAULT;
    struct inference_book *b = inference_book_new(1, &m);
    struct inference_hold mig = {.way = SHARING_MIG, .share = 1.0 / 7};
    inference_held(b, "ns", "p", "p-main-0", "GPU-1", &mig, 0);
    inference_running(b, "ns", "p", 0, 0.1, S(1));
    double unit = 0;
    assert_int_equal(interference_seconds(&m, SHARING_MIG, 0.1, 1, 1.0 / 7, &unit, NULL), 0);
    struct inference_totals t = inference_totals(b, 0, S(101));
    assert_int_equal(t.units, (uint64_t)floor(100 / unit));
    assert_float_equal(t.seconds / (double)t.units, unit, 1e-9);
    inference_book_free(b);
}

/* A unit under way when a second pod joins takes its first part at one
 * pod's pace and the rest at two pods'. */
static void a_unit_across_a_change_takes_its_parts_times(void **state)
{
    (void)state;
    struct inference_book *b = inference_book_new(2, &plain);
    inference_held(b, "ns", "a", "a-0", "GPU-1", &timeslice, 0);
    inference_held(b, "ns", "b", "b-0", "GPU-1", &timeslice, 0);
    inference_running(b, "ns", "a", 0, 1, 0);
    inference_running(b, "ns", "b", 1, 1, S(0.5));
    /* a: half a unit alone (0.5 s), the other half at 2 s a unit (1 s). */
    struct inference_totals t = inference_totals(b, 0, S(1.4));
    assert_int_equal(t.units, 0);
    t = inference_totals(b, 0, S(1.6));
    assert_int_equal(t.units, 1);
    assert_float_equal(t.seconds, 1.5, 1e-9);
    /* b: its first unit at two pods' pace, 2 s, ends at 2.5 s. */
    assert_int_equal(inference_totals(b, 1, S(2.4)).units, 0);
    t = inference_totals(b, 1, S(2.6));
    assert_int_equal(t.units, 1);
    assert_float_equal(t.seconds, 2, 1e-9);
    assert_int_equal(inference_totals(b, 7, S(3)).units, 0); /* no such workload */
    inference_book_free(b);
}

/* The unit a pod is in when it stops is not counted; when it is gone from
 * the GPU its neighbour speeds up. */
static void a_stopped_pod_drops_its_unit_and_leaves_room(void **state)
{
    (void)state;
    struct inference_book *b = inference_book_new(1, &plain);
    inference_held(b, "ns", "a", "a-0", "GPU-1", &timeslice, 0);
    inference_held(b, "ns", "b", "b-0", "GPU-1", &timeslice, 0);
    inference_running(b, "ns", "a", 0, 1, 0);
    inference_running(b, "ns", "b", 0, 1, 0);
    inference_stopped(b, "ns", "b", S(3)); /* b: one unit of 2 s, one half done */
    struct inference_totals t = inference_totals(b, 0, S(3));
    assert_int_equal(t.units, 2); /* a's and b's first */
    /* a: its second unit half done at 3 s; alone now, the rest takes 0.5 s. */
    t = inference_totals(b, 0, S(3.6));
    assert_int_equal(t.units, 3);
    assert_float_equal(t.seconds, 2 + 2 + 1.5, 1e-9);
    inference_released(b, "ns", "b", "b-0", S(3.6));
    inference_stopped(b, "ns", "a", S(4)); /* a: 0.4 of a unit, dropped */
    assert_int_equal(inference_totals(b, 0, S(9)).units, 3);
    inference_book_free(b);
}

/* Units start when a pod both runs and holds its slice, in either order;
 * a pod without units is a neighbour all the same; a release of a slice
 * the pod is not counted on changes nothing. */
static void neighbours_and_orders(void **state)
{
    (void)state;
    struct inference_book *b = inference_book_new(1, &plain);
    inference_running(b, "ns", "a", 0, 1, 0);
    inference_held(b, "ns", "a", "a-0", "GPU-1", &timeslice, S(1));
    inference_held(b, "ns", "a", "a-1", "GPU-2", &timeslice, S(1)); /* kept its first */
    inference_held(b, "ns", "idle", "idle-0", "GPU-1", &timeslice, S(1));
    inference_running(b, "ns", "idle", 0, 0, S(1));
    inference_released(b, "ns", "a", "a-1", S(1));
    /* Two pods on GPU-1 from 1 s: a's units take 2 s. */
    struct inference_totals t = inference_totals(b, 0, S(5.5));
    assert_int_equal(t.units, 2);
    assert_float_equal(t.seconds, 4, 1e-9);
    /* A pod forgotten (stopped, released) comes back as new. */
    inference_stopped(b, "ns", "idle", S(5.5));
    inference_released(b, "ns", "idle", "idle-0", S(5.5));
    inference_held(b, "ns", "idle", "idle-0", "GPU-1", &timeslice, S(6));
    inference_running(b, "ns", "idle", 0, 1, S(6));
    t = inference_totals(b, 0, S(8.1));
    assert_int_equal(t.units, 4); /* a's third (ends 6.5), idle's first (ends 8) */
    inference_book_free(b);
}

/* The published figures (docs/sharing.md): seconds per inference with k
 * pods on one A100-80GB, each way. */
struct published {
    enum sharing_way way;
    double share;
    unsigned pods;
    double seconds;
};

static const struct published yolos[] = {
    {SHARING_TIMESLICE, 1, 1, 0.08815}, {SHARING_TIMESLICE, 1, 3, 0.29314},
    {SHARING_TIMESLICE, 1, 7, 0.68488}, {SHARING_MPS, 1, 1, 0.08796},
    {SHARING_MPS, 1, 3, 0.16400},       {SHARING_MPS, 1, 7, 0.31982},
    {SHARING_MIG, 1.0 / 7, 1, 0.34237}, {SHARING_MIG, 1.0 / 7, 3, 0.34131},
    {SHARING_MIG, 1.0 / 7, 7, 0.34425},
};

/* k pods start a tenth of a second apart and run five minutes: the mean unit is the published one within the fit's 3 %. */
static void the_published_experiment_is_reproduced(void **state)
{
    (void)state;
    struct interference_model m = INTERFERENCE_DEFAULT;
    for (size_t i = 0; i < sizeof yolos / sizeof yolos[0]; i++) {
        const struct published *p = &yolos[i];
        struct inference_book *b = inference_book_new(1, &m);
        struct inference_hold h = {.way = p->way, .share = p->share};
        char pod[16], slice[16];
        for (unsigned k = 0; k < p->pods; k++) {
            snprintf(pod, sizeof pod, "p%u", k);
            snprintf(slice, sizeof slice, "p%u-0", k);
            inference_held(b, "yolos", pod, slice, "GPU-a100", &h, S(k / 10.0));
            inference_running(b, "yolos", pod, 0, 0.088055, S(k / 10.0));
        }
        struct inference_totals t = inference_totals(b, 0, S(300));
        double mean = t.seconds / (double)t.units;
        print_message("%s %u: %.5f s (published %.5f)\n", interference_way_name(p->way),
                      p->pods, mean, p->seconds);
        if (fabs(mean / p->seconds - 1) > 0.03)
            fail_msg("%s with %u pods: %.5f s, published %.5f s",
                     interference_way_name(p->way), p->pods, mean, p->seconds);
        inference_book_free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_slice_says_how_it_holds_its_gpu),
        cmocka_unit_test(units_alone_take_the_model_time),
        cmocka_unit_test(a_unit_across_a_change_takes_its_parts_times),
        cmocka_unit_test(a_stopped_pod_drops_its_unit_and_leaves_room),
        cmocka_unit_test(neighbours_and_orders),
        cmocka_unit_test(the_published_experiment_is_reproduced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
