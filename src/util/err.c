/*
 * The error convention of err.h. Formatting is bounded by the fixed buffer:
 * a long message is truncated, never overflowed, and made UTF-8 (util/utf8.h)
 * as it is built, so a message can always go into a JSON string: the cut may
 * fall inside a character, and a message may echo a client's raw bytes.
 */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/utf8.h"

int err_set(struct err *e, int code, const char *fmt, ...)
{
    if (!e)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    utf8_scrub(e->msg);
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
    utf8_scrub(e->msg);
    return code;
}

void err_clear(struct err *e)
{
    if (!e)
        return;
    e->code = 0;
    e->msg[0] = '\0';
}
