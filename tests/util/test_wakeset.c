/* The wake set: marked parts come back in index order, once
 * each; due times keep their minimum and mark the parts due. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/wakeset.h"

static void starts_with_every_part_marked(void **state)
{
    (void)state;
    struct wakeset *ws = wakeset_new(130);
    size_t n = 0;
    for (size_t i = wakeset_take(ws, 0); i != SIZE_MAX; i = wakeset_take(ws, i + 1))
        assert_int_equal(i, n++);
    assert_int_equal(n, 130);
    assert_int_equal(wakeset_take(ws, 0), SIZE_MAX);
    assert_true(wakeset_next_due(ws) == INT64_MAX);
    wakeset_free(ws);
}

static void marks_come_back_in_order_from_a_start(void **state)
{
    (void)state;
    struct wakeset *ws = wakeset_new(200);
    while (wakeset_take(ws, 0) != SIZE_MAX)
        ;
    wakeset_mark(ws, 150);
    wakeset_mark(ws, 3);
    wakeset_mark(ws, 64);
    assert_int_equal(wakeset_take(ws, 4), 64);
    wakeset_mark(ws, 2); /* behind the walk: the next one finds it */
    assert_int_equal(wakeset_take(ws, 65), 150);
    assert_int_equal(wakeset_take(ws, 151), SIZE_MAX);
    assert_int_equal(wakeset_take(ws, 0), 2);
    assert_int_equal(wakeset_take(ws, 0), 3);
    assert_int_equal(wakeset_take(ws, 0), SIZE_MAX);
    wakeset_free(ws);
}

static void due_parts_are_marked(void **state)
{
    (void)state;
    struct wakeset *ws = wakeset_new(5);
    while (wakeset_take(ws, 0) != SIZE_MAX)
        ;
    wakeset_set_due(ws, 4, 40);
    wakeset_set_due(ws, 1, 10);
    wakeset_set_due(ws, 2, 30);
    assert_int_equal(wakeset_next_due(ws), 10);
    wakeset_set_due(ws, 1, INT64_MAX);
    assert_int_equal(wakeset_next_due(ws), 30);
    wakeset_mark_due(ws, 35);
    assert_int_equal(wakeset_take(ws, 0), 2);
    assert_int_equal(wakeset_take(ws, 0), SIZE_MAX);
    wakeset_mark_due(ws, 40);
    assert_int_equal(wakeset_take(ws, 0), 2);
    assert_int_equal(wakeset_take(ws, 0), 4);
    wakeset_free(ws);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(starts_with_every_part_marked),
        cmocka_unit_test(marks_come_back_in_order_from_a_start),
        cmocka_unit_test(due_parts_are_marked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
