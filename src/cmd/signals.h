/*
 * How every gpuslice command stops: SIGINT and SIGTERM are blocked in the
 * main thread before any other thread starts (threads inherit the mask, so
 * none of them is ever interrupted by one), and the main thread takes them
 * synchronously with cmd_signals_wait. No handler runs and no flag is
 * shared, so stopping is an ordinary return from a wait.
 */
#ifndef GPUSLICE_CMD_SIGNALS_H
#define GPUSLICE_CMD_SIGNALS_H

#include <stdint.h>

/* Blocks SIGINT and SIGTERM in the calling thread (call it before any
 * thread starts) and ignores SIGPIPE, so a client that hangs up is an error
 * code on a write rather than the end of the process. */
void cmd_signals_block(void);

/* Waits up to ns nanoseconds (forever when ns < 0) for SIGINT or SIGTERM;
 * the signal taken, or 0 when none came in time. Needs cmd_signals_block
 * first, or the signal's default action ends the process instead. */
int cmd_signals_wait(int64_t ns);

/* "SIGINT", "SIGTERM", or "a signal" for any other number. */
const char *cmd_signal_name(int sig);

#endif
