/*
 * Running a helper program to completion: arguments, a few environment
 * variables added to the caller's, text on its standard input, its output
 * (stdout and stderr together) captured up to a bound, and a deadline
 * after which it is killed. For the few tools gpuslice drives instead of
 * linking (nvidia-cuda-mps-control); not a shell: nothing is interpreted.
 *
 * The child gets its own process group, so a deadline kills whatever it
 * started in the foreground too; a program that daemonises (forks,
 * setsid, closes its output) is not waited for beyond its own exit.
 * Thread-safe: every call is independent (posix_spawn, no global state).
 */
#ifndef GPUSLICE_UTIL_SUBPROC_H
#define GPUSLICE_UTIL_SUBPROC_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* The most output kept; the rest is read and dropped. */
#define SUBPROC_OUTPUT_MAX 4096

struct subproc_run {
    const char *const *argv;  /* argv[0] is looked up on PATH unless it has a '/' */
    const char *const *env;   /* "NAME=VALUE" added to (or replacing in) the
                               * caller's environment; NULL-terminated; may be NULL */
    const char *input;        /* written to its stdin, then closed; NULL: none */
    int64_t timeout_ns;       /* 0: 10 s */
};

struct subproc_result {
    int status;                       /* its exit status, or 128 + the signal */
    char output[SUBPROC_OUTPUT_MAX];  /* stdout and stderr, NUL-terminated */
    size_t output_len;
};

/* Runs r->argv to completion and fills *out. Returns 0 when it ran (its
 * status may still be non-zero), -ENOENT when the program is not found,
 * -ETIMEDOUT when it outlived the deadline (killed, with its group; *out
 * has what it wrote), or another negative errno when it could not be
 * started. */
int subproc_run(const struct subproc_run *r, struct subproc_result *out, struct err *e);

#endif
