/*
 * Replacing a file whole, so that a reader sees the old contents or the
 * new, never half, and nobody but the caller's chosen mode ever reads it.
 * Every gpuslice writer of a key, a token, a kubeconfig or a config file
 * that another program reads goes through here (issue 19: a writer that
 * opened a predictable PATH.tmp.PID with O_TRUNC wrote a key through a
 * planted symlink, or into a planted world-readable file).
 *
 * The data goes to a temporary file with an unpredictable name in the
 * target's folder, created with O_EXCL|O_NOFOLLOW and mode 0600, so no
 * file or link planted beforehand is ever opened; it is given its final
 * mode, written, synced and renamed over the target, and the folder is
 * synced. On any failure the temporary file is removed and the target is
 * left as it was.
 */
#ifndef GPUSLICE_UTIL_ATOMICFILE_H
#define GPUSLICE_UTIL_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

/* Replaces path by the len bytes of data with permissions mode (not
 * narrowed by the umask). 0, or -errno with e naming path. A target that is
 * a symbolic link is replaced by the file, never written through. */
int atomicfile_write(const char *path, const void *data, size_t len, mode_t mode,
                     struct err *e);

/* Removes the temporary files (PATH.~ and 16 hex digits) that writers of
 * path killed between create and rename left beside it; for the one owner
 * of a file that is rewritten often (a state file under SIGKILL), at its
 * start. Returns how many were removed, or -errno with e naming the
 * folder when it cannot be read. Nothing else is touched. */
int atomicfile_clean(const char *path, struct err *e);

#endif
