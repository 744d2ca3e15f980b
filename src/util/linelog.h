/*
 * A log of timestamped lines that one writer appends to and any number of
 * readers follow: what an emulated container printed, as a kubelet keeps
 * it (cluster/kubelet_logs.h) and the API server serves it.
 *
 * Bounded: past max_bytes of text the oldest lines are dropped, as a
 * kubelet rotates a container's log, so a log never grows without limit
 * whatever writes to it. Lines are numbered from 0 in the order written
 * (seq); a reader keeps the number of the next line it wants and gets the
 * oldest line still kept when that one was dropped. A log is closed once,
 * when its container ended: nothing is appended after, and a follower
 * waiting at its end learns there is no more.
 *
 * Reference counted and thread-safe: the writer and every reader hold a
 * reference, so a reader following a log outlives the writer dropping it.
 */
#ifndef GPUSLICE_UTIL_LINELOG_H
#define GPUSLICE_UTIL_LINELOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct linelog;

/* One line as read: text without its newline, a copy the reader owns. */
struct linelog_line {
    uint64_t seq;
    int64_t t_ns; /* when it was written, ns since the epoch */
    char *text;
};

/* A new, empty, open log holding at most max_bytes of text (at least the
 * newest line, however long); one reference, the caller's. Allocation
 * failure aborts (util/alloc.h). */
struct linelog *linelog_new(size_t max_bytes);

/* Another reference to log (returned), and giving one back (log may be
 * NULL); the last one frees it. */
struct linelog *linelog_ref(struct linelog *log);
void linelog_unref(struct linelog *log);

/* Appends text (one line; a newline in it is kept as is) written at t_ns;
 * nothing once the log is closed. Wakes followers. */
void linelog_append(struct linelog *log, int64_t t_ns, const char *text);

/* Closes log (again is a no-op) and wakes followers. */
void linelog_close(struct linelog *log);

bool linelog_closed(struct linelog *log);

/* The number of the first of the last n lines kept (the oldest kept when
 * fewer are), so that reading from it gives the tail. */
uint64_t linelog_tail(struct linelog *log, uint64_t n);

/* Copies up to max lines from number *from on into out and moves *from
 * past the last one copied; returns how many. Free them with
 * linelog_lines_free. */
size_t linelog_read(struct linelog *log, uint64_t *from, struct linelog_line *out, size_t max);

void linelog_lines_free(struct linelog_line *lines, size_t n);

/* Waits up to wait_ms (negative: without limit) until a line numbered from
 * or later is there, the log is closed, or linelog_wake is called. True
 * when there is such a line to read; false otherwise (then
 * linelog_closed tells whether any will come). */
bool linelog_wait(struct linelog *log, uint64_t from, int wait_ms);

/* Ends every wait on log now, from any thread. */
void linelog_wake(struct linelog *log);

#endif
