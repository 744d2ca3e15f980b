/*
 * Watch streams (watchstream.h). Events are formatted into a pending
 * buffer that the reader drains; while there is room for more, ready
 * events are added without waiting, so a busy watch goes out in large
 * chunks and an idle one in single lines.
 */
#include "apiserver/watchstream.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/meta.h"
#include "api/status.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/jsontext.h"
#include "util/vec.h"

struct watchstream {
    struct store_watch *watch;
    struct watchstream_config cfg;
    int64_t deadline_ns; /* monotonic; INT64_MAX: none */
    int64_t read_ns;     /* monotonic: when bytes were last read (or the start) */
    bool ended;
    char *pend;          /* formatted bytes not yet read: pend[off..len) */
    size_t off, len, cap;
};

int watchstream_new(struct store_watch *w, const struct watchstream_config *cfg,
                    struct watchstream **out, struct err *e)
{
    (void)e; /* nothing fails: memory follows util/alloc.h */
    struct watchstream *ws = alloc_calloc(1, sizeof *ws);
    ws->watch = w;
    ws->cfg = *cfg;
    ws->deadline_ns =
        cfg->timeout_ms > 0 ? clock_monotonic_ns() + cfg->timeout_ms * NS_PER_MS : INT64_MAX;
    ws->read_ns = clock_monotonic_ns();
    *out = ws;
    return 0;
}

void watchstream_free(struct watchstream *ws)
{
    if (!ws)
        return;
    store_watch_close(ws->watch);
    table_spec_free(ws->cfg.table);
    free(ws->pend);
    free(ws);
}

void watchstream_cancel(struct watchstream *ws)
{
    store_watch_cancel(ws->watch);
}

static int reserve(struct watchstream *ws, size_t more)
{
    if (ws->off == ws->len)
        ws->off = ws->len = 0;
    VEC_RESERVE(ws->pend, ws->cap, ws->len + more);
    return 0;
}

/* Appends one line: {"type":TYPE,"object":TEXT}\n. */
static int append_line(struct watchstream *ws, const char *type, const char *text, size_t len)
{
    static const char a[] = "{\"type\":\"", b[] = "\",\"object\":", c[] = "}\n";
    size_t tlen = strlen(type);
    size_t need = sizeof a - 1 + tlen + sizeof b - 1 + len + sizeof c - 1;
    if (reserve(ws, need) != 0)
        return -ENOMEM;
    char *p = ws->pend + ws->len;
    memcpy(p, a, sizeof a - 1);
    p += sizeof a - 1;
    memcpy(p, type, tlen);
    p += tlen;
    memcpy(p, b, sizeof b - 1);
    p += sizeof b - 1;
    memcpy(p, text, len);
    p += len;
    memcpy(p, c, sizeof c - 1);
    ws->len += need;
    return 0;
}

static int append_json(struct watchstream *ws, const char *type, const json_t *obj)
{
    char *s = obj ? jsontext_dumps(obj) : NULL;
    int rc = s ? append_line(ws, type, s, strlen(s)) : -ENOMEM;
    free(s);
    return rc;
}

/* The object as the client asked for it: a Table with one row, partial
 * metadata, or as stored. New reference. */
static json_t *convert(const struct watchstream *ws, json_t *obj)
{
    const struct watchstream_config *c = &ws->cfg;
    if (c->table) {
        json_t *items = json_pack("[O]", obj);
        const char *rv = meta_resource_version(obj);
        json_t *meta = json_pack("{s:s}", "resourceVersion", rv ? rv : "");
        json_t *t = items && meta ? table_build(c->table, items, meta, true, c->include,
                                                c->meta_version, c->now_ns(c->clock_ctx))
                                  : NULL;
        json_decref(items);
        json_decref(meta);
        return t;
    }
    return table_partial(obj, c->meta_version);
}

static int append_event(struct watchstream *ws, struct store_event *ev)
{
    const char *type = store_event_name(ev->type);
    bool as_stored = ev->type == STORE_BOOKMARK || (!ws->cfg.table && !ws->cfg.partial);
    if (as_stored && ev->raw)
        return append_line(ws, type, ev->raw->data, ev->raw->len);
    json_t *obj = ev->object ? json_incref(ev->object)
                             : jsontext_load(ev->raw->data, ev->raw->len, 0, NULL);
    json_t *out = obj && !as_stored ? convert(ws, obj) : json_incref(obj);
    int rc = append_json(ws, type, out);
    json_decref(out);
    json_decref(obj);
    return rc;
}

/* Formats ready events (waiting up to wait_ms for the first) until at
 * least want bytes are pending, nothing is ready, or the stream ends. */
static void fill(struct watchstream *ws, size_t want, int wait_ms)
{
    int64_t now = clock_monotonic_ns();
    if (now >= ws->deadline_ns) {
        ws->ended = true;
        return;
    }
    int64_t left = (ws->deadline_ns - now) / NS_PER_MS;
    if (ws->deadline_ns != INT64_MAX && (wait_ms < 0 || left < wait_ms))
        wait_ms = left > INT_MAX ? INT_MAX : (int)left;
    while (!ws->ended && ws->len - ws->off < want) {
        struct store_event ev;
        struct err e;
        err_clear(&e);
        int rc = store_watch_next(ws->watch, wait_ms, &ev, &e);
        wait_ms = 0;
        if (rc == -EAGAIN)
            return;
        if (rc == 0) {
            rc = append_event(ws, &ev);
            store_event_release(&ev);
            if (rc == 0)
                continue;
            err_set(&e, rc, "watch: out of memory");
        }
        ws->ended = true;
        if (rc != -ECANCELED && rc != -EPIPE) {
            json_t *status = status_from_err(&e, NULL, NULL, NULL);
            append_json(ws, "ERROR", status);
            json_decref(status);
        }
    }
}

/* Milliseconds until a keepalive is due (rounded up, at least 0), or -1
 * without keepalives. */
static int64_t keepalive_in_ms(const struct watchstream *ws, int64_t now)
{
    if (ws->cfg.keepalive_ms <= 0)
        return -1;
    int64_t left = ws->read_ns + ws->cfg.keepalive_ms * NS_PER_MS - now;
    int64_t ms = left <= 0 ? 0 : (left + NS_PER_MS - 1) / NS_PER_MS;
    return ms > INT_MAX ? INT_MAX : ms;
}

ssize_t watchstream_read(struct watchstream *ws, char *buf, size_t max, int wait_ms)
{
    int64_t due = keepalive_in_ms(ws, clock_monotonic_ns());
    if (due >= 0 && (wait_ms < 0 || due < wait_ms))
        wait_ms = (int)due;
    if (ws->off == ws->len && !ws->ended)
        fill(ws, max, wait_ms);
    size_t n = ws->len - ws->off;
    int64_t now = clock_monotonic_ns();
    if (n == 0 && !ws->ended && max > 0 && keepalive_in_ms(ws, now) == 0) {
        buf[0] = '\n';
        ws->read_ns = now;
        return 1;
    }
    if (n == 0)
        return ws->ended ? -1 : 0;
    if (n > max)
        n = max;
    memcpy(buf, ws->pend + ws->off, n);
    ws->off += n;
    ws->read_ns = now;
    return (ssize_t)n;
}
