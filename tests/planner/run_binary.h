/*
 * Running the gpuslice binary from the planner's tests that drive it as a
 * user would (the live and embedded `plan apply` tests).
 */
#ifndef GPUSLICE_TESTS_PLANNER_RUN_BINARY_H
#define GPUSLICE_TESTS_PLANNER_RUN_BINARY_H

#include <stdio.h>
#include <sys/wait.h>

/* Runs "BINARY ARGS 2>&1" through the shell (args may redirect stdout);
 * its exit status (-1 when it did not exit), and what it printed in out
 * (cap bytes, NUL-terminated, cut at cap - 1). */
static inline int run_binary(const char *binary, const char *args, char *out, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", binary, args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#endif
