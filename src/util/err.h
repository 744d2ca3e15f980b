/*
 * One error convention for all of gpuslice.
 *
 * A function that can fail returns 0 on success or a negative errno-style
 * code (-EINVAL for bad input, -ENOENT for something missing, -EEXIST,
 * -ENOSPC, -EIO, ...), and fills the caller's struct err with a message that
 * says what was wrong and where. The caller may pass NULL when it only wants
 * the code. Messages are fixed-size so that reporting an error never
 * allocates and never fails, and always UTF-8 (a character cut by the size
 * is dropped, other bytes that are not UTF-8 read '?'), so that any message
 * can be sent in JSON.
 */
#ifndef GPUSLICE_UTIL_ERR_H
#define GPUSLICE_UTIL_ERR_H

#include <errno.h>

#define ERR_MSG_MAX 512

struct err {
    int code;               /* 0 or the negative code last set */
    char msg[ERR_MSG_MAX];  /* NUL-terminated, UTF-8, possibly truncated */
};

/* Records code and a printf-style message in e (if e is not NULL) and
 * returns code, so that a failure reads `return err_set(e, -EINVAL, ...)`. */
int err_set(struct err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Puts context in front of the message already in e ("cluster.yaml:3:7: "
 * + message), records code in e, and returns code: a caller adds where, the
 * callee says what, and `return err_prefix(e, rc, ...)` passes the callee's
 * code on. The code is a parameter, not read back from e, so that a failure
 * stays a failure when the caller passed no struct err (e NULL). */
int err_prefix(struct err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Resets e to "no error". */
void err_clear(struct err *e);

#endif
