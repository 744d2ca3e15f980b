/*
 * Running a helper program (subproc.h).
 *
 * posix_spawnp in a process group of its own, its stdin and its merged
 * stdout/stderr on pipes, then one poll loop that feeds the input, keeps
 * the output and watches for the child's exit. The loop ends at the
 * output's end of file, or, for a program that daemonised and left a
 * descendant holding the pipe, soon after the child itself exited: poll
 * wakes at least every SUBPROC__TICK_MS to ask waitpid.
 */
#include "util/subproc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/clock.h"

#define SUBPROC__TICK_MS 50
#define SUBPROC__DEFAULT_TIMEOUT_NS (10 * NS_PER_SEC)

extern char **environ;

static bool replaced(const char *entry, const char *const *env)
{
    const char *eq = strchr(entry, '=');
    size_t len = eq ? (size_t)(eq - entry) : strlen(entry);
    for (const char *const *v = env; v && *v; v++)
        if (strncmp(*v, entry, len) == 0 && (*v)[len] == '=')
            return true;
    return false;
}

/* The caller's environment with r->env's entries added or replacing. */
static char **child_env(const char *const *env)
{
    size_t n = 0, extra = 0;
    while (environ && environ[n])
        n++;
    while (env && env[extra])
        extra++;
    char **out = alloc_calloc(n + extra + 1, sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!replaced(environ[i], env))
            out[k++] = environ[i];
    for (size_t i = 0; i < extra; i++)
        out[k++] = (char *)env[i];
    return out;
}

static int spawn(const struct subproc_run *r, int in_fd, int out_fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dfl);
    char **envp = child_env(r->env);
    int rc = posix_spawnp(pid, r->argv[0], &fa, &at, (char *const *)r->argv, envp);
    free(envp);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    return -rc;
}

static void keep_output(struct subproc_result *out, const char *buf, size_t n)
{
    size_t room = sizeof out->output - 1 - out->output_len;
    size_t take = n < room ? n : room;
    memcpy(out->output + out->output_len, buf, take);
    out->output_len += take;
    out->output[out->output_len] = '\0';
}

/* Reads what the output pipe holds now; false at its end. */
static bool read_output(int fd, struct subproc_result *out)
{
    char buf[1024];
    for (;;) {
        ssize_t got = read(fd, buf, sizeof buf);
        if (got > 0)
            keep_output(out, buf, (size_t)got);
        else if (got == 0 || (errno != EINTR && errno != EAGAIN))
            return false;
        else if (errno == EAGAIN)
            return true;
    }
}

/* Writes what the pipe takes of the input; false once it is all written
 * or the child stopped reading. */
static bool write_input(int fd, const char **input, size_t *left)
{
    /* A child that closed its stdin must not kill the caller with SIGPIPE:
     * block it for this thread around the write, and take back one it
     * raised before unblocking. */
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t put = write(fd, *input, *left);
    int saved = errno;
    if (put < 0 && errno == EPIPE) {
        struct timespec now = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &now) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    if (put > 0) {
        *input += put;
        *left -= (size_t)put;
    }
    return *left > 0 && (put >= 0 || errno == EINTR || errno == EAGAIN);
}

/* Feeds the input and keeps the output until the child exits (a pidfd
 * says when; without one, poll wakes every tick to ask), then takes what
 * the output still holds. 0, or -ETIMEDOUT. */
static int pump(pid_t pid, int in_fd, int out_fd, const char *input, int64_t deadline,
                struct subproc_result *out, int *status)
{
    size_t in_left = input ? strlen(input) : 0;
    int pidfd = pidfd_open(pid, 0);
    bool exited = false, in_open = in_left > 0, out_open = true;
    int rc = 0;
    if (!in_open) { /* nothing to say: the child reads end of file at once */
        close(in_fd);
        in_fd = -1;
    }
    while (!exited) {
        int64_t left_ms = (deadline - clock_monotonic_ns()) / NS_PER_MS;
        if (left_ms <= 0) {
            rc = -ETIMEDOUT;
            break;
        }
        struct pollfd p[3] = {{.fd = pidfd, .events = POLLIN},
                              {.fd = out_open ? out_fd : -1, .events = POLLIN},
                              {.fd = in_open ? in_fd : -1, .events = POLLOUT}};
        int wait_ms = pidfd < 0 && left_ms > SUBPROC__TICK_MS ? SUBPROC__TICK_MS : (int)left_ms;
        if (poll(p, 3, wait_ms) > 0) {
            if (p[1].revents)
                out_open = read_output(out_fd, out);
            if (p[2].revents)
                in_open = write_input(in_fd, &input, &in_left);
            if (!in_open && in_fd >= 0) {
                close(in_fd);
                in_fd = -1;
            }
        }
        exited = waitpid(pid, status, WNOHANG) == pid;
    }
    if (exited && out_open)
        read_output(out_fd, out); /* the rest; a daemon it left may keep the pipe open */
    if (in_fd >= 0)
        close(in_fd);
    if (pidfd >= 0)
        close(pidfd);
    if (rc < 0) {
        kill(-pid, SIGKILL);
        while (waitpid(pid, status, 0) < 0 && errno == EINTR)
            ;
    }
    return rc;
}

int subproc_run(const struct subproc_run *r, struct subproc_result *out, struct err *e)
{
    *out = (struct subproc_result){.status = -1};
    int in[2], outp[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        return err_set(e, -errno, "%s: cannot make a pipe: %s", r->argv[0], strerror(errno));
    if (pipe2(outp, O_CLOEXEC) < 0) {
        int rc = -errno;
        close(in[0]);
        close(in[1]);
        return err_set(e, rc, "%s: cannot make a pipe: %s", r->argv[0], strerror(-rc));
    }
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    fcntl(outp[0], F_SETFL, O_NONBLOCK);
    pid_t pid;
    int rc = spawn(r, in[0], outp[1], &pid);
    close(in[0]);
    close(outp[1]);
    if (rc < 0) {
        close(in[1]);
        close(outp[0]);
        return err_set(e, rc, "%s: cannot run it: %s", r->argv[0], strerror(-rc));
    }
    int64_t timeout = r->timeout_ns > 0 ? r->timeout_ns : SUBPROC__DEFAULT_TIMEOUT_NS;
    int status = 0;
    rc = pump(pid, in[1], outp[0], r->input, clock_monotonic_ns() + timeout, out, &status);
    close(outp[0]);
    out->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (rc == -ETIMEDOUT)
        return err_set(e, rc, "%s: no answer within %lld ms (killed)", r->argv[0],
                       (long long)(timeout / NS_PER_MS));
    return 0;
}
