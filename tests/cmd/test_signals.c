/* Tests for cmd/signals: a stop signal sent to the process is taken by the
 * wait (not by its default action), a wait with nothing pending times out
 * with 0, and the names. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmd/signals.h"
#include "util/clock.h"

static void a_blocked_signal_is_taken_by_the_wait(void **state)
{
    (void)state;
    cmd_signals_block();
    /* With the signal blocked, raise leaves it pending instead of ending
     * the process; the wait then takes it. */
    assert_int_equal(raise(SIGTERM), 0);
    assert_int_equal(cmd_signals_wait(NS_PER_SEC), SIGTERM);
    assert_int_equal(raise(SIGINT), 0);
    assert_int_equal(cmd_signals_wait(-1), SIGINT);
}

static void nothing_pending_times_out(void **state)
{
    (void)state;
    cmd_signals_block();
    assert_int_equal(cmd_signals_wait(NS_PER_MS), 0);
    assert_int_equal(cmd_signals_wait(0), 0);
}

static void sigpipe_is_ignored(void **state)
{
    (void)state;
    cmd_signals_block();
    struct sigaction sa;
    assert_int_equal(sigaction(SIGPIPE, NULL, &sa), 0);
    assert_ptr_equal(sa.sa_handler, SIG_IGN);
}

static void names(void **state)
{
    (void)state;
    assert_string_equal(cmd_signal_name(SIGINT), "SIGINT");
    assert_string_equal(cmd_signal_name(SIGTERM), "SIGTERM");
    assert_string_equal(cmd_signal_name(SIGHUP), "a signal");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_blocked_signal_is_taken_by_the_wait),
        cmocka_unit_test(nothing_pending_times_out),
        cmocka_unit_test(sigpipe_is_ignored),
        cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
