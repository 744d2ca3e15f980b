/*
 * The error convention of err.h. Formatting is bounded by the fixed buffer:
 * a long message is truncated, never overflowed.
 */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct err *e, int code, const char *fmt, ...)
{
    if (!e)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->code = code;
    return code;
}

int err_prefix(struct err *e, int code, const char *fmt, ...)
{
    if (!e)
        return code;
    e->code = code;
    char joined[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(joined, sizeof joined, fmt, ap);
    va_end(ap);
    if (n < 0)
        return code;
    size_t used = (size_t)n < sizeof joined ? (size_t)n : sizeof joined - 1;
    size_t room = sizeof joined - 1 - used;
    size_t tail = strnlen(e->msg, sizeof e->msg);
    if (tail > room)
        tail = room;
    memcpy(joined + used, e->msg, tail);
    joined[used + tail] = '\0';
    memcpy(e->msg, joined, sizeof joined);
    return code;
}

void err_clear(struct err *e)
{
    if (!e)
        return;
    e->code = 0;
    e->msg[0] = '\0';
}
