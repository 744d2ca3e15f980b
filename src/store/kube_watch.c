/*
 * A watch is one long GET with watch=1: the server streams one JSON event
 * per line ({"type": ..., "object": ...}) for as long as the watch lasts.
 *
 * The transfer runs on a curl multi handle in the thread that reads the
 * watch: store_watch_next drains the events already parsed and, when there
 * are none, lets curl read what the socket holds (waiting up to the
 * caller's timeout), splitting it into lines and parsing each into a
 * queued store_event. No thread of its own: a reader thread cost a wake-up
 * and a hand-over per batch of events, and its allocations were freed by
 * another thread (issue 12). The queue holds about watch_queue events: past
 * that the transfer is paused (curl keeps the bytes) and nothing more is
 * read, so a slow reader pushes back on the server through TCP and no
 * event is dropped. store_watch_cancel sets a flag and wakes the poll
 * (curl_multi_wakeup, safe from any thread).
 *
 * How the stream ends decides what store_watch_next says once the queue is
 * drained: an ERROR event gives its Status's code (-EKEYEXPIRED for 410,
 * -ETIME for "Too large resource version", which api/status tells apart
 * from other timeouts by its cause), a clean end -EPIPE, a broken transfer the transport's code; every one of
 * them sticks.
 */
#include "store/kube_watch.h"

#include <stdlib.h>
#include <string.h>

#include "api/status.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/jsontext.h"
#include "util/vec.h"

#define KUBE_WATCH_ERRBODY_MAX 65536
/* The longest single wait in curl_multi_poll when told to wait forever. */
#define KUBE_WATCH_POLL_MS 1000

struct kube_watch {
    struct store_watch base;
    struct kube_http *h;
    char *path;
    CURL *c;
    CURLM *m;
    struct curl_slist *hl;
    bool added;                   /* c is in m */
    bool cancelled;               /* set by any thread (atomic) */

    struct store_event *q;        /* q[head..len) are queued */
    size_t cap, head, len, bound;
    bool paused;                  /* the write callback paused the transfer */
    bool answered;                /* the server said 200 */
    bool done;                    /* the transfer has finished; end is final */
    struct err end;               /* why the watch ended (code 0 while running) */

    long http;
    struct kube_buf line;         /* the event line being received */
    struct kube_buf errbody;      /* a non-200 answer's body */
    struct err fail;              /* an error found while reading (ERROR event, bad line) */
    char detail[CURL_ERROR_SIZE];
};

static struct kube_watch *kube_watch_of(struct store_watch *w)
{
    return (struct kube_watch *)w;
}

static bool kube_watch_cancelled(struct kube_watch *kw)
{
    return __atomic_load_n(&kw->cancelled, __ATOMIC_ACQUIRE);
}

/* ---- reading the stream ------------------------------------------------------ */

/* Queues ev. The queue is filled only from empty (kube_watch_pump), so
 * it is a plain array read from head; one chunk may take it past the
 * bound. */
static void kube_watch_push(struct kube_watch *kw, struct store_event *ev)
{
    VEC_RESERVE(kw->q, kw->cap, kw->len + 1);
    kw->q[kw->len++] = *ev;
}

static int kube_watch_type(const char *s, enum store_event_type *t)
{
    static const enum store_event_type types[] = {STORE_ADDED, STORE_MODIFIED, STORE_DELETED,
                                                  STORE_BOOKMARK};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(s, store_event_name(types[i])) == 0) {
            *t = types[i];
            return 0;
        }
    return -1;
}

/* Parses and queues one event line; false to stop reading (kw->fail set). */
static bool kube_watch_line(struct kube_watch *kw, const char *text, size_t len)
{
    while (len && (text[len - 1] == '\r' || text[len - 1] == ' '))
        len--;
    if (!len)
        return true;
    json_error_t je;
    json_t *doc = jsontext_load(text, len, 0, &je);
    const char *type = json_string_value(json_object_get(doc, "type"));
    json_t *obj = json_object_get(doc, "object");
    struct store_event ev = {0};
    bool go = false;
    if (!doc)
        err_set(&kw->fail, -EPROTO, "watch %s: an event is not JSON: %s", kw->path, je.text);
    else if (!type || !json_is_object(obj))
        err_set(&kw->fail, -EPROTO, "watch %s: an event without type or object", kw->path);
    else if (strcmp(type, "ERROR") == 0)
        status_to_err(obj, 0, &kw->fail);
    else if (kube_watch_type(type, &ev.type) != 0)
        err_set(&kw->fail, -EPROTO, "watch %s: unknown event type \"%s\"", kw->path, type);
    else {
        ev.object = json_incref(obj);
        kube_watch_push(kw, &ev);
        go = true;
    }
    json_decref(doc);
    return go;
}

static size_t kube_watch_body(char *data, size_t size, size_t n, void *ctx)
{
    struct kube_watch *kw = ctx;
    size_t total = size * n;
    if (!kw->http)
        curl_easy_getinfo(kw->c, CURLINFO_RESPONSE_CODE, &kw->http);
    if (kw->http != 200) {
        kube_buf_add(&kw->errbody, data, total);
        return total; /* past the bound the rest is dropped, not fatal */
    }
    if (kw->len >= kw->bound) {
        kw->paused = true; /* curl keeps data and gives it again once resumed */
        return CURL_WRITEFUNC_PAUSE;
    }
    for (size_t off = 0; off < total;) {
        const char *nl = memchr(data + off, '\n', total - off);
        size_t take = nl ? (size_t)(nl - (data + off)) : total - off;
        kube_buf_add(&kw->line, data + off, take);
        if (kw->line.failed) {
            err_set(&kw->fail, kw->line.failed,
                    kw->line.failed == -E2BIG ? "watch %s: an event larger than %zu bytes"
                                              : "watch %s: out of memory (event of %zu bytes)",
                    kw->path, kw->line.max);
            return 0;
        }
        off += take;
        if (!nl)
            break;
        off++;
        bool go = kube_watch_line(kw, kw->line.p, kw->line.len);
        kw->line.len = 0;
        if (!go)
            return 0;
    }
    return total;
}

/* At the end of the headers: the status is known, so a 200 ends the
 * opener's wait before any event arrives. */
static size_t kube_watch_header(char *data, size_t size, size_t n, void *ctx)
{
    struct kube_watch *kw = ctx;
    size_t total = size * n;
    bool blank = (total == 2 && data[0] == '\r') || (total == 1 && data[0] == '\n');
    if (blank) {
        curl_easy_getinfo(kw->c, CURLINFO_RESPONSE_CODE, &kw->http);
        kw->answered = kw->http == 200;
    }
    return total;
}

/* Why the transfer ended, as store_watch_next will say it. */
static void kube_watch_outcome(struct kube_watch *kw, CURLcode cc, struct err *end)
{
    if (kw->fail.code) {
        *end = kw->fail;
    } else if (kw->http && kw->http != 200) {
        json_t *st = kw->errbody.len ? json_loadb(kw->errbody.p, kw->errbody.len, 0, NULL)
                                     : NULL;
        if (status_to_err(st, (int)kw->http, end) == 0)
            err_set(end, -EIO, "watch %s: HTTP %ld", kw->path, kw->http);
        json_decref(st);
    } else if (cc != CURLE_OK) {
        kube_http_curl_err(cc, kw->detail, "watch", kw->path, end);
    } else {
        err_set(end, -EPIPE, "watch %s: the server ended the stream", kw->path);
    }
}

/* The transfer is over: takes its result off the multi handle. */
static void kube_watch_finish(struct kube_watch *kw, CURLcode cc)
{
    int left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(kw->m, &left)))
        if (msg->msg == CURLMSG_DONE)
            cc = msg->data.result;
    curl_multi_remove_handle(kw->m, kw->c);
    kw->added = false;
    kube_watch_outcome(kw, cc, &kw->end);
    kw->done = true;
}

/* Waits up to wait_ms (0: not at all) for bytes or a cancel, then lets
 * curl read what has come; a paused transfer is resumed and read at once,
 * since curl holds its bytes. The wait comes first: a drained queue
 * usually means a drained socket, and a read before the wait found
 * nothing but cost a poll, a recv and a pass of curl's state machine per
 * wake-up. curl's own timers cut the wait short when it has work of its
 * own (a transfer just added, TLS data it read but did not hand over).
 * Call only with an empty queue. */
static void kube_watch_pump(struct kube_watch *kw, int wait_ms)
{
    kw->head = kw->len = 0;
    if (kw->paused) {
        kw->paused = false;
        curl_easy_pause(kw->c, CURLPAUSE_CONT);
    } else if (wait_ms != 0 && !kube_watch_cancelled(kw)) {
        curl_multi_poll(kw->m, NULL, 0, wait_ms, NULL);
    }
    int running = 0;
    if (curl_multi_perform(kw->m, &running) != CURLM_OK)
        kube_watch_finish(kw, CURLE_OUT_OF_MEMORY);
    else if (!running)
        kube_watch_finish(kw, CURLE_OK);
}

/* Milliseconds to wait in one poll until deadline (monotonic ns; 0: for
 * ever); 0 once it has passed. */
static int kube_watch_wait_ms(int64_t deadline)
{
    if (!deadline)
        return KUBE_WATCH_POLL_MS;
    int64_t left = deadline - clock_monotonic_ns();
    if (left <= 0)
        return 0;
    int64_t ms = (left + NS_PER_MS - 1) / NS_PER_MS;
    return ms > KUBE_WATCH_POLL_MS ? KUBE_WATCH_POLL_MS : (int)ms;
}

/* ---- the store calls ------------------------------------------------------- */

static const char *kube_nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

static int kube_watch_path(struct kube_watch *kw, const struct api_resource *res,
                           const char *ns, const struct store_watch_opts *o, struct err *e)
{
    struct kube_buf b = {0};
    kube_buf_path(&b, res, ns, NULL, NULL);
    kube_buf_query(&b, "watch", "1");
    if (kube_nonempty(o->label_selector))
        kube_buf_query(&b, "labelSelector", o->label_selector);
    if (kube_nonempty(o->field_selector))
        kube_buf_query(&b, "fieldSelector", o->field_selector);
    if (kube_nonempty(o->resource_version))
        kube_buf_query(&b, "resourceVersion", o->resource_version);
    if (o->bookmarks)
        kube_buf_query(&b, "allowWatchBookmarks", "true");
    if (b.failed) {
        kube_buf_free(&b);
        return err_set(e, -ENOMEM, "kube: out of memory building a watch of %s", res->plural);
    }
    kw->path = b.p;
    return 0;
}

static void kube_watch_free(struct kube_watch *kw)
{
    for (size_t i = kw->head; i < kw->len; i++)
        store_event_release(&kw->q[i]);
    free(kw->q);
    if (kw->added)
        curl_multi_remove_handle(kw->m, kw->c);
    if (kw->m)
        curl_multi_cleanup(kw->m);
    if (kw->c)
        curl_easy_cleanup(kw->c);
    curl_slist_free_all(kw->hl);
    kube_buf_free(&kw->line);
    kube_buf_free(&kw->errbody);
    free(kw->path);
    free(kw);
}

/* Runs the transfer until the server has answered the watch request. */
static int kube_watch_await(struct kube_watch *kw, struct err *e)
{
    const struct kube_store_opts *o = kube_http_opts(kw->h);
    int64_t deadline = clock_monotonic_ns() + o->timeout_ms * NS_PER_MS;
    while (!kw->answered && !kw->done && kw->len == 0) {
        int wait_ms = kube_watch_wait_ms(deadline);
        if (wait_ms == 0)
            return err_set(e, -ETIMEDOUT, "watch %s: no answer in %ld ms", kw->path,
                           o->timeout_ms);
        kube_watch_pump(kw, wait_ms);
    }
    if (kw->answered || kw->len)
        return 0;
    if (kw->end.code == -EKEYEXPIRED || kw->end.code == -ETIME)
        return 0; /* said by the first store_watch_next, as the ERROR event would be */
    if (e)
        *e = kw->end;
    return kw->end.code;
}

int kube_watch_open(const struct store_ops *ops, struct kube_http *h,
                    const struct api_resource *res, const char *ns,
                    const struct store_watch_opts *o, struct store_watch **out, struct err *e)
{
    *out = NULL;
    struct kube_watch *kw = alloc_calloc(1, sizeof *kw);
    const struct kube_store_opts *lim = kube_http_opts(h);
    kw->h = h;
    kw->bound = lim->watch_queue;
    kw->line.max = lim->max_event;
    kw->errbody.max = KUBE_WATCH_ERRBODY_MAX;
    kw->base.ops = ops;
    int rc = kube_watch_path(kw, res, ns, o, e);
    if (rc == 0 && (!(kw->c = curl_easy_init()) || !(kw->m = curl_multi_init())))
        rc = err_set(e, -ENOMEM, "out of memory");
    if (rc == 0)
        rc = kube_http_setup_stream(h, kw->c, kw->path, &kw->hl, e);
    if (rc == 0) {
        curl_easy_setopt(kw->c, CURLOPT_WRITEFUNCTION, kube_watch_body);
        curl_easy_setopt(kw->c, CURLOPT_WRITEDATA, kw);
        curl_easy_setopt(kw->c, CURLOPT_HEADERFUNCTION, kube_watch_header);
        curl_easy_setopt(kw->c, CURLOPT_HEADERDATA, kw);
        curl_easy_setopt(kw->c, CURLOPT_ERRORBUFFER, kw->detail);
        if (curl_multi_add_handle(kw->m, kw->c) != CURLM_OK)
            rc = err_set(e, -ENOMEM, "watch %s: out of memory", kw->path);
        else
            kw->added = true;
    }
    if (rc == 0)
        rc = kube_watch_await(kw, e);
    if (rc) {
        kube_watch_close(&kw->base);
        return rc;
    }
    *out = &kw->base;
    return 0;
}

int kube_watch_next(struct store_watch *w, int timeout_ms, struct store_event *ev,
                    struct err *e)
{
    struct kube_watch *kw = kube_watch_of(w);
    int64_t deadline = timeout_ms > 0 ? clock_monotonic_ns() + timeout_ms * NS_PER_MS : 0;
    for (bool waited = false;; waited = true) {
        if (kube_watch_cancelled(kw))
            return err_set(e, -ECANCELED, "watch %s: cancelled", kw->path);
        if (kw->head < kw->len) {
            *ev = kw->q[kw->head++];
            return 0;
        }
        if (kw->done) {
            if (e)
                *e = kw->end;
            return kw->end.code;
        }
        int wait_ms = timeout_ms < 0 ? KUBE_WATCH_POLL_MS
                                     : timeout_ms == 0 ? 0 : kube_watch_wait_ms(deadline);
        if (waited && timeout_ms >= 0 && wait_ms == 0)
            return err_set(e, -EAGAIN, "watch %s: no event within %d ms", kw->path,
                           timeout_ms);
        kube_watch_pump(kw, wait_ms);
    }
}

void kube_watch_cancel(struct store_watch *w)
{
    struct kube_watch *kw = kube_watch_of(w);
    __atomic_store_n(&kw->cancelled, true, __ATOMIC_RELEASE);
    if (kw->m)
        curl_multi_wakeup(kw->m);
}

void kube_watch_close(struct store_watch *w)
{
    kube_watch_free(kube_watch_of(w));
}
