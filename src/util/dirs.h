/*
 * Making a folder and the folders above it that are missing (mkdir -p),
 * for paths gpuslice owns below a root an admin named (the MPS daemons'
 * pipe and log folders). A single folder whose parent must already exist
 * is a plain mkdir at its caller.
 */
#ifndef GPUSLICE_UTIL_DIRS_H
#define GPUSLICE_UTIL_DIRS_H

#include <sys/types.h>

#include "util/err.h"

/* Makes path and its missing parents with mode (less the umask); 0 when
 * it exists already as a folder. -ENOTDIR when it or a parent is
 * something else, -ENAMETOOLONG, or mkdir's error, naming the folder. */
int dirs_make(const char *path, mode_t mode, struct err *e);

#endif
