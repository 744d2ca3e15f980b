/*
 * The one logger of gpuslice: leveled lines that a daemon sends to stderr
 * in klog's format and a test captures through a callback.
 *
 *     E1206 19:52:05.123456   12345 loop.c:145] controller: update pods ...
 *
 * (level letter E, W, I or D; month and day; UTC time to the microsecond;
 * the writing thread's id; the source file and line; the message.)
 *
 * There is no global logger: src/cmd/ makes one with log_new and hands it
 * down through the configs of what it starts (their `log` field), so two
 * components in one process (the simulator's) may log to different places.
 * A NULL logger is valid everywhere and discards, so that library code and
 * tests that do not care pass nothing.
 *
 * Thread-safe: a line is formatted whole, then written by one call under
 * the logger's lock, so lines from many threads never interleave. A line
 * holds at most LOG_LINE_MAX bytes (a longer message is cut) and newlines
 * in a message become spaces, so one record is one line.
 */
#ifndef GPUSLICE_UTIL_LOG_H
#define GPUSLICE_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/clock.h"
#include "util/err.h"

#define LOG_LINE_MAX 4096

enum log_level {
    LOG_LEVEL_ERROR = 1, /* something failed that will not fix itself */
    LOG_LEVEL_WARNING,   /* something failed and is retried */
    LOG_LEVEL_INFO,      /* what an operator wants to see: starts, leadership */
    LOG_LEVEL_DEBUG,     /* what a developer wants to see */
};

/* Receives each line kept (NUL-terminated, no newline, len bytes), one
 * call at a time, under the logger's lock. */
typedef void (*log_sink_fn)(void *ctx, enum log_level level, const char *line, size_t len);

struct log_config {
    enum log_level threshold; /* lines of a higher level are dropped; 0: INFO */
    FILE *out;                /* not owned; each line is written and flushed */
    log_sink_fn sink;         /* also (or instead of out) given each line */
    void *sink_ctx;
    clock_now_fn now_ns;      /* the header's time; NULL: CLOCK_REALTIME */
    void *clock_ctx;
};

struct log;

/* A logger, owned by the caller (log_free). -EINVAL for a threshold
 * outside the levels, its only failure (memory follows util/alloc.h). */
int log_new(const struct log_config *cfg, struct log **out, struct err *e);

/* Frees the logger (not its FILE); lg may be NULL. No line may be in
 * flight. */
void log_free(struct log *lg);

/* Whether a line of level would be kept (false for a NULL logger), for a
 * caller that would spend effort building one. */
bool log_enabled(const struct log *lg, enum log_level level);

/* Formats and writes one line; file and line name the call site (the
 * macros below fill them). Nothing happens for a NULL logger or a level
 * above the threshold. */
void log_write(struct log *lg, enum log_level level, const char *file, int line,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The level's letter: 'E', 'W', 'I', 'D' ('?' for none of them). */
char log_level_letter(enum log_level level);

/* A line at a level chosen at run time. */
#define log_at(lg, level, ...) log_write((lg), (level), __FILE__, __LINE__, __VA_ARGS__)
#define log_error(lg, ...) log_write((lg), LOG_LEVEL_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warning(lg, ...) log_write((lg), LOG_LEVEL_WARNING, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(lg, ...) log_write((lg), LOG_LEVEL_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(lg, ...) log_write((lg), LOG_LEVEL_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

#endif
