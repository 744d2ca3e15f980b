/*
 * A watch as the bytes of a streaming HTTP response: one JSON object per
 * line, {"type":"ADDED","object":{...}}\n, as the API server sends them.
 *
 * A stream owns a store watch and turns its events into text on demand;
 * the HTTP layer pulls from it in whatever buffer sizes it has. Objects
 * arrive as the store serialised them once for all watchers (no re-encoding)
 * unless the client asked for a Table or partial metadata. The stream ends
 * cleanly when the watch's timeout passes; an error (a resourceVersion too
 * old included) ends it after an ERROR event carrying a Status, which is
 * how a client learns to relist.
 */
#ifndef GPUSLICE_APISERVER_WATCHSTREAM_H
#define GPUSLICE_APISERVER_WATCHSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "apiserver/table.h"
#include "store/store.h"
#include "util/clock.h"

struct watchstream;

struct watchstream_config {
    int64_t timeout_ms;        /* the stream ends after this long; <= 0: never */
    /* After this long with nothing read, a read gives a newline (whitespace
     * between JSON events, which clients skip), so that an idle watch's
     * connection still carries bytes more often than any idle timeout on
     * the way; <= 0: never. */
    int64_t keepalive_ms;
    struct table_spec *table;  /* objects as Table rows (owned by the stream), or NULL */
    bool partial;              /* objects as PartialObjectMetadata (when table is NULL) */
    enum table_include include;
    const char *meta_version;  /* meta.k8s.io version of Tables and partial objects */
    clock_now_fn now_ns;          /* the clock Table ages are computed against */
    void *clock_ctx;
};

/* A stream over w, which it owns from now on (also on failure, when it is
 * closed). cfg->table passes to the stream likewise. *out is freed with
 * watchstream_free. -ENOMEM is the only failure. */
int watchstream_new(struct store_watch *w, const struct watchstream_config *cfg,
                    struct watchstream **out, struct err *e);

/* Copies up to max bytes of the stream into buf, waiting up to wait_ms
 * (0: not at all; negative: until something comes or the stream ends) for
 * the next event when none is ready. Returns the bytes copied (> 0), 0 when
 * nothing came in time, or -1 once the stream has ended and every byte was
 * read. With a keepalive, the wait ends when one is due, and the read gives
 * it. Used by one thread at a time. */
ssize_t watchstream_read(struct watchstream *ws, char *buf, size_t max, int wait_ms);

/* Ends the stream from any thread: a read blocked in another returns, and
 * the stream ends after what was already formatted. */
void watchstream_cancel(struct watchstream *ws);

/* Frees the stream and closes its watch; ws may be NULL. */
void watchstream_free(struct watchstream *ws);

#endif
