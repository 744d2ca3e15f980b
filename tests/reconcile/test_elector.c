/* Tests for reconcile/elector: real election threads over a mem store. Of
 * two electors on one Lease one leads; when it stops (not releasing the
 * lease, as a crash) the other takes over once the lease expires; on_change
 * says both. Waits are bounded polls on outcomes, never timings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "reconcile/elector.h"
#include "store/mem.h"
#include "util/clock.h"

#define MS 1000000LL

struct seen {
    int gained, lost;
};

static void on_change(void *ctx, bool leading)
{
    struct seen *s = ctx;
    __atomic_add_fetch(leading ? &s->gained : &s->lost, 1, __ATOMIC_SEQ_CST);
}

static struct elector *start(struct store *st, const char *identity, struct seen *seen)
{
    struct elector_config c = {.store = st, .lease_namespace = "default", .lease_name = "x",
                               .identity = identity, .lease_ns = 1000 * MS,
                               .renew_deadline_ns = 600 * MS, .retry_ns = 100 * MS,
                               .component = "test", .on_change = on_change, .ctx = seen};
    struct elector *el = NULL;
    struct err e = {0};
    if (elector_start(&c, &el, &e) != 0)
        fail_msg("elector_start: %s", e.msg);
    return el;
}

static void wait_leading(struct elector *el)
{
    for (int i = 0; i < 3000 && !elector_leading(el); i++)
        nanosleep(&(struct timespec){0, 10 * MS}, NULL);
    assert_true(elector_leading(el));
}

static void one_leads_and_the_other_takes_over(void **state)
{
    (void)state;
    struct store *st = NULL;
    struct mem_store_config mc = {.now_ns = clock_realtime_now, .seed = 1, .auto_collect = true};
    assert_int_equal(mem_store_new(&mc, &st, NULL), 0);
    struct seen a = {0}, b = {0};
    struct elector *first = start(st, "first", &a);
    wait_leading(first);
    struct elector *second = start(st, "second", &b);
    for (int i = 0; i < 20; i++) { /* two lease durations: it never leads */
        assert_false(elector_leading(second));
        nanosleep(&(struct timespec){0, 100 * MS}, NULL);
    }
    assert_int_equal(a.gained, 1);
    elector_stop(first);
    wait_leading(second);
    assert_int_equal(b.gained, 1);
    assert_int_equal(b.lost, 0);
    elector_stop(second);
    elector_stop(NULL);

    struct elector *el = NULL;
    char long_id[200];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    struct elector_config bad = {.store = st, .lease_namespace = "default", .lease_name = "x",
                                 .identity = long_id, .component = "test"};
    struct err e = {0};
    assert_int_equal(elector_start(&bad, &el, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "identity longer than"));
    store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_leads_and_the_other_takes_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
