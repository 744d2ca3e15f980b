/* Tests for bench/bench_report: the line format with and without targets,
 * BELOW TARGET lines and the count of misses, NaN as a miss, and the
 * benchmark failing (exit 1, the call named) on a failed call. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "bench_report.h"

/* What fn(arg) printed on stdout, and its return value. */
static int captured(int (*fn)(void), char *out, size_t size)
{
    fflush(stdout);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved = dup(STDOUT_FILENO);
    dup2(fileno(tmp), STDOUT_FILENO);
    int rc = fn();
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    rewind(tmp);
    size_t n = fread(out, 1, size - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
    return rc;
}

static int report_met(void)
{
    const struct bench_figure f[] = {
        {NULL, 12000, "decisions/s", BENCH_AT_LEAST, 10000},
        {"p99", 80, "us", BENCH_AT_MOST, 1000},
    };
    return bench_report("ctl", f, 2, "%d nodes", 1000);
}

static int report_missed(void)
{
    const struct bench_figure f[] = {
        {NULL, 70, "pods/s", BENCH_AT_LEAST, 200},
        {"p99", 135, "ms", BENCH_AT_MOST, 20},
    };
    return bench_report("burst", f, 2, NULL);
}

static int report_reference(void)
{
    return bench_report1("agent", 1677, "slice lifecycles/s", BENCH_REFERENCE, 0, NULL);
}

static int report_unknown(void)
{
    return bench_report1("rss", NAN, "%", BENCH_AT_MOST, 25, NULL);
}

static void figures_beside_their_targets(void **state)
{
    (void)state;
    char out[2048];
    assert_int_equal(captured(report_met, out, sizeof out), 0);
    assert_non_null(strstr(out, "ctl: 12000 decisions/s, p99 80 us"));
    assert_non_null(strstr(out, "target >= 10000 decisions/s"));
    assert_non_null(strstr(out, "p99 <= 1000 us"));
    assert_non_null(strstr(out, "; 1000 nodes"));
    assert_null(strstr(out, "BELOW TARGET"));
}

static void each_miss_has_its_line(void **state)
{
    (void)state;
    char out[2048];
    assert_int_equal(captured(report_missed, out, sizeof out), 2);
    assert_non_null(strstr(out, "BELOW TARGET: burst: 70 pods/s"));
    assert_non_null(strstr(out, "BELOW TARGET: burst: p99 135 ms"));
}

static void a_figure_without_a_target_says_so(void **state)
{
    (void)state;
    char out[2048];
    assert_int_equal(captured(report_reference, out, sizeof out), 0);
    assert_non_null(strstr(out, "agent: 1677 slice lifecycles/s (target: none, for reference)"));
}

static void an_unmeasured_figure_misses(void **state)
{
    (void)state;
    char out[2048];
    assert_int_equal(captured(report_unknown, out, sizeof out), 1);
    assert_non_null(strstr(out, "unknown"));
    assert_non_null(strstr(out, "BELOW TARGET: rss"));
}

/* The exit status of a child that runs bench_check(rc, ...), and what it
 * wrote on stderr. */
static int check_in_child(int rc, char *err_out, size_t size)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        close(fds[1]);
        struct err e = {.code = rc};
        snprintf(e.msg, sizeof e.msg, "the store said no");
        bench_check(rc, &e, "store_get %s", "pods/x");
        _exit(0);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while (len < size - 1 && (n = read(fds[0], err_out + len, size - 1 - len)) > 0)
        len += (size_t)n; /* stderr is unbuffered: the message may come in pieces */
    err_out[len] = '\0';
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void a_failed_call_fails_the_benchmark(void **state)
{
    (void)state;
    char out[1024];
    assert_int_equal(check_in_child(0, out, sizeof out), 0);
    assert_int_equal(check_in_child(-ENOENT, out, sizeof out), 1);
    assert_non_null(strstr(out, "store_get pods/x failed"));
    assert_non_null(strstr(out, "the store said no"));
}

/* The clocks move forward, and work done shows in the thread's CPU time and
 * so in the process's. */
static void the_clocks_measure(void **state)
{
    (void)state;
    double t0 = bench_now_s(), c0 = bench_thread_cpu_s();
    volatile uint64_t sink = 0;
    while (bench_thread_cpu_s() - c0 < 0.01)
        for (int i = 0; i < 100000; i++)
            sink += (uint64_t)i * (uint64_t)i;
    assert_true(bench_thread_cpu_s() - c0 >= 0.01);
    double thread = bench_thread_cpu_s();
    assert_true(bench_process_cpu_s() >= thread);
    assert_true(bench_now_s() >= t0);
    assert_true(t0 > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(figures_beside_their_targets),
        cmocka_unit_test(each_miss_has_its_line),
        cmocka_unit_test(a_figure_without_a_target_says_so),
        cmocka_unit_test(an_unmeasured_figure_misses),
        cmocka_unit_test(a_failed_call_fails_the_benchmark),
        cmocka_unit_test(the_clocks_measure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
