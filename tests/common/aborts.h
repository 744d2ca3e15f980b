/*
 * Checking that a call aborts the process: the call runs in a forked child
 * whose stderr is captured, and the test asserts the child died of SIGABRT
 * having written the expected message. Include after <cmocka.h>.
 */
#ifndef GPUSLICE_TESTS_COMMON_ABORTS_H
#define GPUSLICE_TESTS_COMMON_ABORTS_H

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static inline void assert_aborts(void (*call)(void *arg), void *arg, const char *says)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        signal(SIGABRT, SIG_DFL);
        dup2(fds[1], STDERR_FILENO);
        call(arg);
        _exit(0);
    }
    close(fds[1]);
    char out[1024];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof out - 1 && (n = read(fds[0], out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    if (!strstr(out, says))
        fail_msg("the child wrote \"%s\", not \"%s\"", out, says);
}

#endif
