/* Tests for util/workqueue: dedup, processing/dirty, delays, backoff, order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "util/workqueue.h"

static struct workqueue *new_queue(void)
{
    struct backoff b = {.base_ns = 10, .max_ns = 100};
    struct workqueue *q = NULL;
    assert_int_equal(workqueue_new(&b, &q, NULL), 0);
    return q;
}

static void expect_next(struct workqueue *q, int64_t now, const char *want)
{
    char key[WORKQUEUE_KEY_MAX];
    if (!want) {
        assert_false(workqueue_next(q, now, key));
        return;
    }
    assert_true(workqueue_next(q, now, key));
    assert_string_equal(key, want);
}

static void adds_are_deduplicated_and_fifo(void **state)
{
    (void)state;
    struct workqueue *q = new_queue();
    assert_int_equal(workqueue_add(q, "a", NULL), 0);
    assert_int_equal(workqueue_add(q, "b", NULL), 0);
    assert_int_equal(workqueue_add(q, "a", NULL), 0);
    assert_int_equal(workqueue_len(q), 2);
    expect_next(q, 0, "a");
    expect_next(q, 0, "b");
    expect_next(q, 0, NULL);
    workqueue_done(q, "a");
    workqueue_done(q, "b");
    assert_int_equal(workqueue_len(q), 0);
    workqueue_free(q);
}

static void add_while_processing_requeues_after_done(void **state)
{
    (void)state;
    struct workqueue *q = new_queue();
    workqueue_add(q, "k", NULL);
    expect_next(q, 0, "k");
    workqueue_add(q, "k", NULL);
    /* Not handed out twice while a worker holds it. */
    expect_next(q, 0, NULL);
    assert_int_equal(workqueue_len(q), 0);
    workqueue_done(q, "k");
    expect_next(q, 0, "k");
    workqueue_done(q, "k");
    expect_next(q, 0, NULL);
    workqueue_free(q);
}

static void delayed_keys_fall_due_in_deadline_order(void **state)
{
    (void)state;
    struct workqueue *q = new_queue();
    workqueue_add_at(q, "late", 300, NULL);
    workqueue_add_at(q, "early", 100, NULL);
    workqueue_add_at(q, "tie", 100, NULL);
    assert_int_equal(workqueue_next_due(q), 100);
    expect_next(q, 99, NULL);
    expect_next(q, 100, "early");
    expect_next(q, 100, "tie");
    expect_next(q, 299, NULL);
    assert_int_equal(workqueue_next_due(q), 300);
    expect_next(q, 1000, "late");
    assert_int_equal(workqueue_next_due(q), INT64_MAX);
    workqueue_done(q, "early");
    workqueue_done(q, "tie");
    workqueue_done(q, "late");
    workqueue_free(q);
}

static void earlier_time_wins_and_add_now_beats_delay(void **state)
{
    (void)state;
    struct workqueue *q = new_queue();
    workqueue_add_at(q, "k", 500, NULL);
    workqueue_add_at(q, "k", 200, NULL);
    workqueue_add_at(q, "k", 900, NULL);
    assert_int_equal(workqueue_next_due(q), 200);
    workqueue_add(q, "k", NULL);
    assert_int_equal(workqueue_next_due(q), 0);
    assert_int_equal(workqueue_len(q), 1);
    expect_next(q, 0, "k");
    workqueue_done(q, "k");
    expect_next(q, 10000, NULL);
    workqueue_free(q);
}

static void dirty_key_keeps_its_delay(void **state)
{
    (void)state;
    struct workqueue *q = new_queue();
    workqueue_add(q, "k", NULL);
    expect_next(q, 0, "k");
    workqueue_add_at(q, "k", 50, NULL);
    workqueue_done(q, "k");
    expect_next(q, 49, NULL);
    expect_next(q, 50, "k");
    workqueue_done(q, "k");
    workqueue_free(q);
}

static void failures_back_off_exponentially_up_to_max(void **state)
{
    (void)state;
    struct workqueue *q = new_queue();
    int64_t delays[6], now = 1000;
    for (int i = 0; i < 6; i++) {
        assert_int_equal(workqueue_add_failed(q, "k", now, &delays[i], NULL), 0);
        expect_next(q, now + delays[i] - 1, NULL);
        expect_next(q, now + delays[i], "k");
        workqueue_done(q, "k");
    }
    int64_t want[6] = {10, 20, 40, 80, 100, 100};
    for (int i = 0; i < 6; i++)
        assert_int_equal(delays[i], want[i]);
    assert_int_equal(workqueue_failures(q, "k"), 6);
    workqueue_forget(q, "k");
    assert_int_equal(workqueue_failures(q, "k"), 0);
    int64_t d;
    workqueue_add_failed(q, "k", now, &d, NULL);
    assert_int_equal(d, 10);
    workqueue_free(q);
}

static void bad_keys_and_backoff_are_refused(void **state)
{
    (void)state;
    struct workqueue *q = new_queue();
    struct err e;
    assert_int_equal(workqueue_add(q, "", &e), -EINVAL);
    assert_non_null(strstr(e.msg, "key must be"));
    char big[WORKQUEUE_KEY_MAX + 1];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(workqueue_add(q, big, &e), -EINVAL);
    assert_int_equal(workqueue_len(q), 0);
    workqueue_free(q);

    struct backoff bad = {.base_ns = 100, .max_ns = 10};
    struct workqueue *q2 = NULL;
    assert_int_equal(workqueue_new(&bad, &q2, &e), -EINVAL);
    assert_null(q2);
    assert_int_equal(workqueue_new(NULL, &q2, NULL), 0);
    int64_t d;
    workqueue_add_failed(q2, "k", 0, &d, NULL);
    assert_int_equal(d, 5000000);
    workqueue_free(q2);
    workqueue_free(NULL);
}

static void many_keys_survive_growth(void **state)
{
    (void)state;
    struct workqueue *q = new_queue();
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "ns/pod-%d", i);
        assert_int_equal(workqueue_add_at(q, key, i % 7, NULL), 0);
    }
    assert_int_equal(workqueue_len(q), 5000);
    char got[WORKQUEUE_KEY_MAX];
    int n = 0;
    while (workqueue_next(q, 10, got)) {
        workqueue_done(q, got);
        n++;
    }
    assert_int_equal(n, 5000);
    assert_int_equal(workqueue_len(q), 0);
    workqueue_forget(q, "never-seen");
    workqueue_done(q, "never-seen");
    workqueue_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adds_are_deduplicated_and_fifo),
        cmocka_unit_test(add_while_processing_requeues_after_done),
        cmocka_unit_test(delayed_keys_fall_due_in_deadline_order),
        cmocka_unit_test(earlier_time_wins_and_add_now_beats_delay),
        cmocka_unit_test(dirty_key_keeps_its_delay),
        cmocka_unit_test(failures_back_off_exponentially_up_to_max),
        cmocka_unit_test(bad_keys_and_backoff_are_refused),
        cmocka_unit_test(many_keys_survive_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
