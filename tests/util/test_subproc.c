/* Tests for util/subproc: status, merged output and its bound, added
 * environment, input, a missing program, the deadline (the group killed),
 * a child that leaves a daemon holding the output pipe, a child that
 * closes its stdin early, and death by a signal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/clock.h"
#include "util/subproc.h"

static int run_sh(const char *script, const char *const *env, const char *input,
                  int64_t timeout_ns, struct subproc_result *out, struct err *e)
{
    const char *argv[] = {"sh", "-c", script, NULL};
    struct subproc_run r = {.argv = argv, .env = env, .input = input, .timeout_ns = timeout_ns};
    return subproc_run(&r, out, e);
}

static void status_and_output_come_back(void **state)
{
    (void)state;
    struct subproc_result out;
    struct err e;
    assert_int_equal(run_sh("echo out; echo err >&2; exit 3", NULL, NULL, 0, &out, &e), 0);
    assert_int_equal(out.status, 3);
    assert_string_equal(out.output, "out\nerr\n");
    assert_int_equal(out.output_len, 8);
}

static void environment_is_added_and_replaced(void **state)
{
    (void)state;
    setenv("SUBPROC_TEST_OLD", "old", 1);
    const char *env[] = {"SUBPROC_TEST_NEW=new", "SUBPROC_TEST_OLD=replaced", NULL};
    struct subproc_result out;
    struct err e;
    assert_int_equal(run_sh("echo \"$SUBPROC_TEST_NEW $SUBPROC_TEST_OLD\"; env | "
                            "grep -c SUBPROC_TEST_OLD=", env, NULL, 0, &out, &e), 0);
    assert_string_equal(out.output, "new replaced\n1\n");
    unsetenv("SUBPROC_TEST_OLD");
}

static void input_reaches_stdin(void **state)
{
    (void)state;
    const char *argv[] = {"cat", NULL};
    struct subproc_run r = {.argv = argv, .input = "quit\nget_server_list\n"};
    struct subproc_result out;
    struct err e;
    assert_int_equal(subproc_run(&r, &out, &e), 0);
    assert_int_equal(out.status, 0);
    assert_string_equal(out.output, "quit\nget_server_list\n");
}

/* Without input the child's stdin ends at once: a reader is not left
 * waiting for the deadline. */
static void no_input_is_end_of_file(void **state)
{
    (void)state;
    const char *argv[] = {"cat", NULL};
    struct subproc_run r = {.argv = argv, .timeout_ns = 5 * NS_PER_SEC};
    struct subproc_result out;
    struct err e;
    assert_int_equal(subproc_run(&r, &out, &e), 0);
    assert_int_equal(out.status, 0);
    assert_string_equal(out.output, "");
}

static void a_missing_program_is_enoent(void **state)
{
    (void)state;
    const char *argv[] = {"gpuslice-no-such-program", NULL};
    struct subproc_run r = {.argv = argv};
    struct subproc_result out;
    struct err e;
    assert_int_equal(subproc_run(&r, &out, &e), -ENOENT);
    assert_non_null(strstr(e.msg, "gpuslice-no-such-program: cannot run it"));
}

/* The deadline kills the child and what it runs in the foreground. */
static void the_deadline_kills_the_group(void **state)
{
    (void)state;
    struct subproc_result out;
    struct err e;
    int64_t t0 = clock_monotonic_ns();
    assert_int_equal(run_sh("echo begun; sleep 30; echo never", NULL, NULL, 300 * NS_PER_MS,
                            &out, &e), -ETIMEDOUT);
    assert_true(clock_monotonic_ns() - t0 < 20 * NS_PER_SEC);
    assert_int_equal(out.status, 128 + SIGKILL);
    assert_string_equal(out.output, "begun\n");
    assert_non_null(strstr(e.msg, "no answer within 300 ms (killed)"));
}

/* A program that leaves a daemon behind (holding the output pipe) is done
 * when it exits, not when the daemon does. */
static void a_daemon_left_behind_is_not_waited_for(void **state)
{
    (void)state;
    struct subproc_result out;
    struct err e;
    int64_t t0 = clock_monotonic_ns();
    assert_int_equal(run_sh("sleep 30 & echo $!", NULL, NULL, 20 * NS_PER_SEC, &out, &e), 0);
    assert_true(clock_monotonic_ns() - t0 < 15 * NS_PER_SEC);
    assert_int_equal(out.status, 0);
    long pid = strtol(out.output, NULL, 10);
    assert_true(pid > 1);
    assert_int_equal(kill((pid_t)pid, SIGKILL), 0); /* leave nothing running */
}

static void output_is_bounded(void **state)
{
    (void)state;
    struct subproc_result out;
    struct err e;
    assert_int_equal(run_sh("head -c 100000 /dev/zero | tr '\\0' a", NULL, NULL, 0, &out, &e), 0);
    assert_int_equal(out.status, 0);
    assert_int_equal(out.output_len, SUBPROC_OUTPUT_MAX - 1);
    assert_int_equal(strlen(out.output), SUBPROC_OUTPUT_MAX - 1);
}

/* A child that closes its stdin before reading a large input: no SIGPIPE
 * reaches the caller (the test would die of it). */
static void a_child_that_stops_reading_is_fine(void **state)
{
    (void)state;
    size_t n = 1 << 20;
    char *input = alloc_malloc(n + 1);
    memset(input, 'x', n);
    input[n] = '\0';
    struct subproc_result out;
    struct err e;
    assert_int_equal(run_sh("exec 0<&-; echo closed", NULL, input, 0, &out, &e), 0);
    assert_int_equal(out.status, 0);
    assert_string_equal(out.output, "closed\n");
    free(input);
}

static void death_by_a_signal_reads_as_128_plus_it(void **state)
{
    (void)state;
    struct subproc_result out;
    struct err e;
    assert_int_equal(run_sh("kill -TERM $$", NULL, NULL, 0, &out, &e), 0);
    assert_int_equal(out.status, 128 + SIGTERM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_and_output_come_back),
        cmocka_unit_test(environment_is_added_and_replaced),
        cmocka_unit_test(input_reaches_stdin),
        cmocka_unit_test(no_input_is_end_of_file),
        cmocka_unit_test(a_missing_program_is_enoent),
        cmocka_unit_test(the_deadline_kills_the_group),
        cmocka_unit_test(a_daemon_left_behind_is_not_waited_for),
        cmocka_unit_test(output_is_bounded),
        cmocka_unit_test(a_child_that_stops_reading_is_fine),
        cmocka_unit_test(death_by_a_signal_reads_as_128_plus_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
