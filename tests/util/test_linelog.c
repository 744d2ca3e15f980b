/*
 * util/linelog: lines kept in order under the byte cap (oldest dropped,
 * the newest always kept), reading from a number, the tail, closing, and
 * a follower woken by a line, the close, or a wake from another thread.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "util/linelog.h"

static void lines_are_read_in_order_from_a_number(void **state)
{
    (void)state;
    struct linelog *log = linelog_new(1024);
    linelog_append(log, 10, "one");
    linelog_append(log, 20, "two");
    linelog_append(log, 30, "three");
    struct linelog_line l[4];
    uint64_t from = 1;
    assert_int_equal(linelog_read(log, &from, l, 4), 2);
    assert_int_equal(from, 3);
    assert_int_equal(l[0].seq, 1);
    assert_int_equal(l[0].t_ns, 20);
    assert_string_equal(l[0].text, "two");
    assert_string_equal(l[1].text, "three");
    linelog_lines_free(l, 2);
    assert_int_equal(linelog_read(log, &from, l, 4), 0);
    assert_int_equal(from, 3);
    from = 0;
    assert_int_equal(linelog_read(log, &from, l, 1), 1); /* max respected */
    assert_string_equal(l[0].text, "one");
    linelog_lines_free(l, 1);
    assert_int_equal(linelog_tail(log, 2), 1);
    assert_int_equal(linelog_tail(log, 10), 0);
    assert_int_equal(linelog_tail(log, 0), 3);
    linelog_unref(log);
}

static void the_cap_drops_the_oldest_lines_but_never_the_newest(void **state)
{
    (void)state;
    struct linelog *log = linelog_new(8);
    linelog_append(log, 1, "aaaa");
    linelog_append(log, 2, "bbbb");
    linelog_append(log, 3, "cccc"); /* 12 bytes: "aaaa" goes */
    struct linelog_line l[4];
    uint64_t from = 0;
    assert_int_equal(linelog_read(log, &from, l, 4), 2);
    assert_int_equal(l[0].seq, 1); /* the oldest kept, not the one asked */
    assert_string_equal(l[0].text, "bbbb");
    linelog_lines_free(l, 2);
    linelog_append(log, 4, "a line longer than the whole cap");
    from = 0;
    assert_int_equal(linelog_read(log, &from, l, 4), 1);
    assert_int_equal(l[0].seq, 3);
    linelog_lines_free(l, 1);
    linelog_unref(log);
}

static void nothing_is_appended_after_the_close(void **state)
{
    (void)state;
    struct linelog *log = linelog_new(64);
    assert_false(linelog_closed(log));
    linelog_append(log, 1, "before");
    linelog_close(log);
    linelog_close(log);
    linelog_append(log, 2, "after");
    assert_true(linelog_closed(log));
    assert_true(linelog_wait(log, 0, 0));
    assert_false(linelog_wait(log, 1, -1)); /* closed: returns at once */
    struct linelog *other = linelog_ref(log);
    linelog_unref(log);
    uint64_t from = 0;
    struct linelog_line l[2];
    assert_int_equal(linelog_read(other, &from, l, 2), 1);
    linelog_lines_free(l, 1);
    linelog_unref(other);
    linelog_unref(NULL);
}

struct writer {
    struct linelog *log;
    int what;          /* 0: a line, 1: close, 2: wakes */
    atomic_bool woken; /* the follower returned: no more wakes */
};

static void *write_later(void *arg)
{
    struct writer *w = arg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    if (w->what == 0)
        linelog_append(w->log, 5, "late");
    else if (w->what == 1)
        linelog_close(w->log);
    else /* a wake before the wait began is lost: wake until it returned */
        while (!atomic_load(&w->woken)) {
            linelog_wake(w->log);
            nanosleep(&ts, NULL);
        }
    return NULL;
}

static void a_follower_is_woken_by_a_line_the_close_or_a_wake(void **state)
{
    (void)state;
    for (int what = 0; what < 3; what++) {
        struct linelog *log = linelog_new(64);
        struct writer w = {log, what, false};
        pthread_t t;
        pthread_create(&t, NULL, write_later, &w);
        bool ready = linelog_wait(log, 0, -1);
        atomic_store(&w.woken, true);
        pthread_join(t, NULL);
        assert_int_equal(ready, what == 0);
        assert_int_equal(linelog_closed(log), what == 1);
        linelog_unref(log);
    }
    struct linelog *log = linelog_new(64);
    assert_false(linelog_wait(log, 0, 10)); /* times out */
    linelog_unref(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines_are_read_in_order_from_a_number),
        cmocka_unit_test(the_cap_drops_the_oldest_lines_but_never_the_newest),
        cmocka_unit_test(nothing_is_appended_after_the_close),
        cmocka_unit_test(a_follower_is_woken_by_a_line_the_close_or_a_wake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
