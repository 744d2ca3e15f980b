/*
 * A fresh folder under /tmp for a test's files, removed with everything in
 * it afterwards: the setup and teardown most file-writing tests share.
 * Include after <cmocka.h>.
 */
#ifndef GPUSLICE_TESTS_COMMON_TMPDIR_H
#define GPUSLICE_TESTS_COMMON_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

#define TMPDIR_MAX 64

/* Makes /tmp/gpuslice-<what>-XXXXXX into dir[TMPDIR_MAX]; 0 or -1. */
static inline int tmpdir_make(char dir[TMPDIR_MAX], const char *what)
{
    snprintf(dir, TMPDIR_MAX, "/tmp/gpuslice-%s-XXXXXX", what);
    return mkdtemp(dir) ? 0 : -1;
}

/* Removes dir and what it holds; 0 or -1. */
static inline int tmpdir_remove(const char *dir)
{
    char cmd[TMPDIR_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
