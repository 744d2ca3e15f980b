/*
 * Reading a whole file into memory, up to a bound: the one reader behind
 * every input gpuslice loads whole (YAML documents, folders of manifests,
 * planner inputs, kubeconfig certificates, the emulated devices' state).
 * The bound is checked while reading, so a file over it is refused after
 * max + 1 bytes, however large it is, and memory grows with what was read,
 * not with the bound.
 */
#ifndef GPUSLICE_UTIL_READFILE_H
#define GPUSLICE_UTIL_READFILE_H

#include <stddef.h>

#include "util/err.h"

/* The whole file at path into *out, a new NUL-terminated buffer (the
 * caller frees it) of *len bytes. -E2BIG "PATH: larger than MAX bytes"
 * for a file over max; fopen's or fread's error naming path. */
int readfile_all(const char *path, size_t max, char **out, size_t *len, struct err *e);

#endif
