/*
 * The event-stream hub of sse.h: one lock and one condition for the hub
 * and its clients (a handful: broadcasting to all on each event costs
 * nothing worth a condition each), and per client a byte buffer of what it
 * has not read, compacted as it is read.
 */
#include "util/sse.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/clock.h"
#include "util/mutex.h"
#include "util/vec.h"

static const char keepalive[] = ":\n\n";

struct sse_client {
    struct sse_hub *hub;
    char *buf;                 /* unsent bytes from off to len */
    size_t off, len, cap;
    bool dropped;
    int64_t sent_ns;           /* when it last read something */
    struct sse_client *prev, *next;
};

struct sse_hub {
    struct sse_limits lim;
    struct mutex lock;         /* everything below and every client's fields */
    pthread_cond_t changed;
    struct sse_client *clients;
    bool closed;
    struct sse_stats stats;
};

/* Appends what the vector form of util/vec.h grows. */
static void append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
    VEC_RESERVE(*buf, *cap, *len + n + 1);
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
}

char *sse_frame(const char *event, uint64_t id, const char *data, size_t *len)
{
    char *out = NULL;
    size_t n = 0, cap = 0;
    char head[64];
    int w = snprintf(head, sizeof head, "id: %llu\nevent: ", (unsigned long long)id);
    append(&out, &n, &cap, head, (size_t)w);
    for (const char *p = event; *p; p++)
        if (*p != '\n' && *p != '\r')
            append(&out, &n, &cap, p, 1);
    append(&out, &n, &cap, "\n", 1);
    for (const char *line = data;;) {
        size_t span = strcspn(line, "\r\n");
        append(&out, &n, &cap, "data: ", 6);
        append(&out, &n, &cap, line, span);
        append(&out, &n, &cap, "\n", 1);
        line += span;
        if (!*line)
            break;
        line += line[0] == '\r' && line[1] == '\n' ? 2 : 1;
    }
    append(&out, &n, &cap, "\n", 1);
    *len = n;
    return out;
}

int sse_hub_new(const struct sse_limits *lim, struct sse_hub **out, struct err *e)
{
    struct sse_limits d = SSE_LIMITS_DEFAULT, l = *lim;
    if (l.max_clients == 0)
        l.max_clients = d.max_clients;
    if (l.client_buffer == 0)
        l.client_buffer = d.client_buffer;
    if (l.keepalive_ms <= 0)
        l.keepalive_ms = d.keepalive_ms;
    if (l.client_buffer < sizeof keepalive)
        return err_set(e, -EINVAL, "sse: a client buffer of %zu bytes is too small",
                       l.client_buffer);
    struct sse_hub *hub = alloc_calloc(1, sizeof *hub);
    hub->lim = l;
    mutex_init(&hub->lock);
    clock_cond_init(&hub->changed);
    *out = hub;
    return 0;
}

void sse_hub_free(struct sse_hub *hub)
{
    if (!hub)
        return;
    pthread_cond_destroy(&hub->changed);
    mutex_destroy(&hub->lock);
    free(hub);
}

/* Queues n bytes for c, or drops it when they do not fit. */
static void client_queue(struct sse_client *c, const char *data, size_t n)
{
    assert(mutex_held(&c->hub->lock));
    size_t unsent = c->len - c->off;
    if (c->dropped)
        return;
    if (unsent > 0 && unsent + n > c->hub->lim.client_buffer) {
        c->dropped = true;
        c->hub->stats.dropped++;
        free(c->buf);
        c->buf = NULL;
        c->off = c->len = c->cap = 0;
        return;
    }
    if (c->off > 0) { /* compact: what was read goes */
        memmove(c->buf, c->buf + c->off, unsent);
        c->len = unsent;
        c->off = 0;
    }
    append(&c->buf, &c->len, &c->cap, data, n);
}

int sse_hub_join(struct sse_hub *hub, const char *first, size_t len, struct sse_client **out,
                 struct err *e)
{
    mutex_lock(&hub->lock);
    int rc = hub->closed ? err_set(e, -EPIPE, "the event stream is closing")
           : hub->stats.clients >= hub->lim.max_clients
               ? err_set(e, -EBUSY, "too many event streams (this server allows %u at once); "
                         "try again later", hub->lim.max_clients)
               : 0;
    if (rc != 0) {
        hub->stats.refused++;
        mutex_unlock(&hub->lock);
        return rc;
    }
    struct sse_client *c = alloc_calloc(1, sizeof *c);
    c->hub = hub;
    c->sent_ns = clock_monotonic_ns();
    c->next = hub->clients;
    if (c->next)
        c->next->prev = c;
    hub->clients = c;
    hub->stats.clients++;
    hub->stats.joined++;
    client_queue(c, first, len);
    mutex_unlock(&hub->lock);
    *out = c;
    return 0;
}

void sse_hub_publish(struct sse_hub *hub, const char *frame, size_t len)
{
    mutex_lock(&hub->lock);
    for (struct sse_client *c = hub->clients; c; c = c->next)
        client_queue(c, frame, len);
    hub->stats.events++;
    pthread_cond_broadcast(&hub->changed);
    mutex_unlock(&hub->lock);
}

void sse_hub_close(struct sse_hub *hub)
{
    mutex_lock(&hub->lock);
    hub->closed = true;
    pthread_cond_broadcast(&hub->changed);
    mutex_unlock(&hub->lock);
}

void sse_hub_stats(struct sse_hub *hub, struct sse_stats *out)
{
    mutex_lock(&hub->lock);
    *out = hub->stats;
    mutex_unlock(&hub->lock);
}

/* Takes up to max unsent bytes of c (the keepalive when it is due and
 * nothing else is); 0 when there are none. */
static size_t take(struct sse_client *c, char *buf, size_t max, int64_t now)
{
    size_t n = c->len - c->off;
    const char *from = c->buf + c->off;
    if (n == 0 && now - c->sent_ns >= (int64_t)c->hub->lim.keepalive_ms * NS_PER_MS) {
        n = sizeof keepalive - 1;
        from = keepalive;
    } else {
        c->off += n < max ? n : max;
    }
    n = n < max ? n : max;
    memcpy(buf, from, n);
    if (n)
        c->sent_ns = now;
    return n;
}

ssize_t sse_client_read(struct sse_client *c, char *buf, size_t max, int wait_ms)
{
    struct sse_hub *hub = c->hub;
    int64_t end = clock_monotonic_ns() + (int64_t)wait_ms * NS_PER_MS;
    mutex_lock(&hub->lock);
    ssize_t got = 0;
    for (;;) {
        if (c->dropped || hub->closed) {
            got = -1;
            break;
        }
        int64_t now = clock_monotonic_ns();
        if ((got = (ssize_t)take(c, buf, max, now)) > 0 || now >= end)
            break;
        int64_t ping = c->sent_ns + (int64_t)hub->lim.keepalive_ms * NS_PER_MS;
        int64_t until = ping < end ? ping : end;
        struct timespec ts = clock_timespec(until);
        mutex_cond_wait(&hub->lock, &hub->changed, &ts);
    }
    mutex_unlock(&hub->lock);
    return got;
}

void sse_client_leave(struct sse_client *c)
{
    if (!c)
        return;
    struct sse_hub *hub = c->hub;
    mutex_lock(&hub->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        hub->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    hub->stats.clients--;
    mutex_unlock(&hub->lock);
    free(c->buf);
    free(c);
}
