/*
 * The bounded, followable line log (linelog.h): an array of lines, oldest
 * first, dropped from the front past the byte cap; one mutex and one
 * condition variable for followers.
 */
#include "util/linelog.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/clock.h"
#include "util/mutex.h"
#include "util/vec.h"

struct stored_line {
    int64_t t_ns;
    char *text;
    size_t len;
};

struct linelog {
    atomic_uint refs;
    struct mutex mu;      /* guards what follows */
    pthread_cond_t grown; /* a line, the close or a wake */
    struct stored_line *lines;
    size_t n, cap;
    uint64_t first_seq;   /* the number of lines[0] */
    size_t bytes, max_bytes;
    bool closed;
    uint64_t wakes;
};

struct linelog *linelog_new(size_t max_bytes)
{
    struct linelog *log = alloc_calloc(1, sizeof *log);
    atomic_init(&log->refs, 1);
    mutex_init(&log->mu);
    clock_cond_init(&log->grown);
    log->max_bytes = max_bytes;
    return log;
}

struct linelog *linelog_ref(struct linelog *log)
{
    atomic_fetch_add(&log->refs, 1);
    return log;
}

void linelog_unref(struct linelog *log)
{
    if (!log || atomic_fetch_sub(&log->refs, 1) != 1)
        return;
    for (size_t i = 0; i < log->n; i++)
        free(log->lines[i].text);
    free(log->lines);
    pthread_cond_destroy(&log->grown);
    mutex_destroy(&log->mu);
    free(log);
}

/* Drops the oldest lines until the text fits, keeping the newest. Called
 * with the lock held. */
static void trim(struct linelog *log)
{
    size_t drop = 0;
    while (log->n - drop > 1 && log->bytes > log->max_bytes) {
        log->bytes -= log->lines[drop].len;
        free(log->lines[drop].text);
        drop++;
    }
    memmove(log->lines, log->lines + drop, (log->n - drop) * sizeof *log->lines);
    log->n -= drop;
    log->first_seq += drop;
}

void linelog_append(struct linelog *log, int64_t t_ns, const char *text)
{
    mutex_lock(&log->mu);
    if (!log->closed) {
        VEC_RESERVE(log->lines, log->cap, log->n + 1);
        size_t len = strlen(text);
        log->lines[log->n++] = (struct stored_line){t_ns, alloc_strdup(text), len};
        log->bytes += len;
        trim(log);
        pthread_cond_broadcast(&log->grown);
    }
    mutex_unlock(&log->mu);
}

void linelog_close(struct linelog *log)
{
    mutex_lock(&log->mu);
    log->closed = true;
    pthread_cond_broadcast(&log->grown);
    mutex_unlock(&log->mu);
}

bool linelog_closed(struct linelog *log)
{
    mutex_lock(&log->mu);
    bool closed = log->closed;
    mutex_unlock(&log->mu);
    return closed;
}

uint64_t linelog_tail(struct linelog *log, uint64_t n)
{
    mutex_lock(&log->mu);
    uint64_t first = log->first_seq + (log->n > n ? log->n - n : 0);
    mutex_unlock(&log->mu);
    return first;
}

size_t linelog_read(struct linelog *log, uint64_t *from, struct linelog_line *out, size_t max)
{
    size_t got = 0;
    mutex_lock(&log->mu);
    uint64_t seq = *from < log->first_seq ? log->first_seq : *from;
    for (; got < max && seq < log->first_seq + log->n; seq++, got++) {
        const struct stored_line *l = &log->lines[seq - log->first_seq];
        out[got] = (struct linelog_line){seq, l->t_ns, alloc_strdup(l->text)};
    }
    mutex_unlock(&log->mu);
    if (seq > *from)
        *from = seq;
    return got;
}

void linelog_lines_free(struct linelog_line *lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(lines[i].text);
}

bool linelog_wait(struct linelog *log, uint64_t from, int wait_ms)
{
    struct timespec until = clock_deadline(CLOCK_MONOTONIC, (int64_t)wait_ms * NS_PER_MS);
    mutex_lock(&log->mu);
    uint64_t wakes = log->wakes;
    int rc = 0;
    while (from >= log->first_seq + log->n && !log->closed && wakes == log->wakes &&
           rc == 0)
        rc = mutex_cond_wait(&log->mu, &log->grown, wait_ms < 0 ? NULL : &until);
    bool ready = from < log->first_seq + log->n;
    mutex_unlock(&log->mu);
    return ready;
}

void linelog_wake(struct linelog *log)
{
    mutex_lock(&log->mu);
    log->wakes++;
    pthread_cond_broadcast(&log->grown);
    mutex_unlock(&log->mu);
}
