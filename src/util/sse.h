/*
 * Server-sent events (text/event-stream) to a bounded set of clients: the
 * framing of one event, and a hub that hands every event published to each
 * client that joined, for a server's stream responses to read.
 *
 * Memory stays bounded however clients behave: at most max_clients join
 * (the next is refused with -EBUSY), and each client's unsent bytes are
 * capped at client_buffer: an event that does not fit in what a client
 * has not read yet drops that client (its reads end, so the server closes
 * its connection; a browser's EventSource reconnects and starts afresh),
 * except that an event always fits a client that has read everything, so
 * one event larger than the cap still reaches a client that keeps up. A
 * client with nothing to read for keepalive_ms is given a comment line,
 * which keeps proxies and idle timeouts from closing a quiet stream.
 *
 * The hub and its clients are safe from any thread: one publisher and a
 * reader per client (each in its connection's thread) at once.
 */
#ifndef GPUSLICE_UTIL_SSE_H
#define GPUSLICE_UTIL_SSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

struct sse_limits {
    unsigned max_clients;   /* clients joined at once */
    size_t client_buffer;   /* unsent bytes per client, past which it is dropped */
    int keepalive_ms;       /* a comment after this long with nothing sent */
};

#define SSE_LIMITS_DEFAULT ((struct sse_limits){.max_clients = 16, \
    .client_buffer = 4u << 20, .keepalive_ms = 15000})

struct sse_stats {
    unsigned clients;       /* joined now */
    uint64_t joined, refused, dropped, events;
};

struct sse_hub;
struct sse_client;

/* The event as the stream carries it: "id: ID\nevent: EVENT\n", data split
 * at its line ends into "data: ...\n" lines, then a blank line; a CR or
 * newline in event is dropped (it would end the field). A new string, its
 * length in *len. */
char *sse_frame(const char *event, uint64_t id, const char *data, size_t *len);

/* A hub with lim's limits (zero fields: SSE_LIMITS_DEFAULT's). *out is
 * the caller's; free it with sse_hub_free once every client has left. */
int sse_hub_new(const struct sse_limits *lim, struct sse_hub **out, struct err *e);

void sse_hub_free(struct sse_hub *hub);

/* Joins a new client whose first bytes are first (len bytes, copied; a
 * stream's opening event). -EBUSY naming the cap when max_clients have
 * joined, or -EPIPE once the hub is closed. *out is the caller's, to read
 * from and leave. */
int sse_hub_join(struct sse_hub *hub, const char *first, size_t len, struct sse_client **out,
                 struct err *e);

/* Queues a frame (sse_frame's) for every client; those it does not fit
 * are dropped. */
void sse_hub_publish(struct sse_hub *hub, const char *frame, size_t len);

/* Ends every client's stream (their reads return -1) and refuses new
 * ones: before stopping the server that reads them. */
void sse_hub_close(struct sse_hub *hub);

void sse_hub_stats(struct sse_hub *hub, struct sse_stats *out);

/* Up to max of the client's unsent bytes into buf, waiting up to wait_ms
 * for some: how many, 0 when none came in time, -1 once the client was
 * dropped or the hub closed. */
ssize_t sse_client_read(struct sse_client *c, char *buf, size_t max, int wait_ms);

/* Leaves the hub and frees c (may be NULL). */
void sse_client_leave(struct sse_client *c);

#endif
