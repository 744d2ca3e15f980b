/*
 * Stop signals, taken synchronously (signals.h).
 */
#include "cmd/signals.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>

#include "util/clock.h"

static sigset_t stop_set(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

void cmd_signals_block(void)
{
    sigset_t set = stop_set();
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int cmd_signals_wait(int64_t ns)
{
    sigset_t set = stop_set();
    struct timespec ts = clock_timespec(ns < 0 ? 0 : ns);
    int sig;
    /* EINTR: another signal (one with a handler, or a debugger) woke the
     * wait; it is not a stop, so wait again (for up to ns once more). */
    while ((sig = ns < 0 ? sigwaitinfo(&set, NULL) : sigtimedwait(&set, NULL, &ts)) < 0 &&
           errno == EINTR)
        ;
    return sig > 0 ? sig : 0;
}

const char *cmd_signal_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
}
