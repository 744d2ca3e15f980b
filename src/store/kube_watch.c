/*
 * A watch is one long GET with watch=1: the server streams one JSON event
 * per line ({"type": ..., "object": ...}) for as long as the watch lasts.
 *
 * A thread per watch runs the transfer on a curl multi handle, splits the
 * stream into lines, parses each into a store_event and puts it in a bounded
 * queue; store_watch_next takes from the queue. A full queue blocks the
 * reader (and so, through TCP, the server), never drops an event. The
 * multi handle is there so that cancelling can wake the reader at once
 * (curl_multi_wakeup) instead of at the next progress tick.
 *
 * How the stream ends decides what store_watch_next says once the queue is
 * drained: an ERROR event gives its Status's code (-EKEYEXPIRED for 410,
 * -ETIME for "Too large resource version", which api/status tells apart
 * from other timeouts by its cause), a clean end -EPIPE, a broken transfer the transport's code; every one of
 * them sticks.
 */
#include "store/kube_watch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/status.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/jsontext.h"

#define KUBE_WATCH_ERRBODY_MAX 65536

struct kube_watch {
    struct store_watch base;
    struct kube_http *h;
    char *path;
    CURL *c;
    CURLM *m;
    struct curl_slist *hl;
    pthread_t thread;
    bool thread_started;

    pthread_mutex_t mu;
    pthread_cond_t cv_ready;      /* an event came, the headers came, or the end */
    pthread_cond_t cv_room;       /* the queue has room again, or cancel */
    struct store_event *q;        /* ring of cap events */
    size_t cap, head, count;
    bool answered;                /* the server said 200 */
    bool done;                    /* the reader has finished; end is final */
    bool cancelled;
    struct err end;               /* why the watch ended (code 0 while running) */

    /* The reader thread's alone. */
    long http;
    struct kube_buf line;         /* the event line being received */
    struct kube_buf errbody;      /* a non-200 answer's body */
    struct err fail;              /* an error found while reading (ERROR event, bad line) */
};

static struct kube_watch *kube_watch_of(struct store_watch *w)
{
    return (struct kube_watch *)w;
}

/* ---- the reader thread ------------------------------------------------------ */

/* Queues ev, waiting for room; false when cancelled meanwhile. */
static bool kube_watch_push(struct kube_watch *kw, struct store_event *ev)
{
    pthread_mutex_lock(&kw->mu);
    while (kw->count == kw->cap && !kw->cancelled)
        pthread_cond_wait(&kw->cv_room, &kw->mu);
    bool ok = !kw->cancelled;
    if (ok) {
        kw->q[(kw->head + kw->count) % kw->cap] = *ev;
        kw->count++;
        pthread_cond_signal(&kw->cv_ready);
    }
    pthread_mutex_unlock(&kw->mu);
    if (!ok)
        store_event_release(ev);
    return ok;
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

/* Parses and queues one event line; false to stop reading (kw->fail set, or
 * cancelled). */
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
        go = kube_watch_push(kw, &ev);
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

/* At the end of the headers: the status is known, so a 200 unblocks the
 * opener before any event arrives. */
static size_t kube_watch_header(char *data, size_t size, size_t n, void *ctx)
{
    struct kube_watch *kw = ctx;
    size_t total = size * n;
    bool blank = (total == 2 && data[0] == '\r') || (total == 1 && data[0] == '\n');
    if (!blank)
        return total;
    curl_easy_getinfo(kw->c, CURLINFO_RESPONSE_CODE, &kw->http);
    if (kw->http == 200) {
        pthread_mutex_lock(&kw->mu);
        kw->answered = true;
        pthread_cond_broadcast(&kw->cv_ready);
        pthread_mutex_unlock(&kw->mu);
    }
    return total;
}

static bool kube_watch_cancelled(struct kube_watch *kw)
{
    pthread_mutex_lock(&kw->mu);
    bool c = kw->cancelled;
    pthread_mutex_unlock(&kw->mu);
    return c;
}

/* Why the transfer ended, as store_watch_next will say it. */
static void kube_watch_outcome(struct kube_watch *kw, CURLcode cc, const char *detail,
                               struct err *end)
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
        kube_http_curl_err(cc, detail, "watch", kw->path, end);
    } else {
        err_set(end, -EPIPE, "watch %s: the server ended the stream", kw->path);
    }
}

static void *kube_watch_run(void *arg)
{
    struct kube_watch *kw = arg;
    char detail[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(kw->c, CURLOPT_ERRORBUFFER, detail);
    CURLcode cc = CURLE_OK;
    int running = 1;
    if (curl_multi_add_handle(kw->m, kw->c) != CURLM_OK) {
        cc = CURLE_OUT_OF_MEMORY;
        running = 0;
    }
    while (running && !kube_watch_cancelled(kw)) {
        if (curl_multi_perform(kw->m, &running) != CURLM_OK)
            break;
        if (running)
            curl_multi_poll(kw->m, NULL, 0, 1000, NULL);
    }
    int left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(kw->m, &left)))
        if (msg->msg == CURLMSG_DONE)
            cc = msg->data.result;
    curl_multi_remove_handle(kw->m, kw->c);
    curl_easy_setopt(kw->c, CURLOPT_ERRORBUFFER, NULL); /* detail dies with this frame */
    struct err end;
    kube_watch_outcome(kw, cc, detail, &end);
    pthread_mutex_lock(&kw->mu);
    if (kw->cancelled)
        err_set(&kw->end, -ECANCELED, "watch %s: cancelled", kw->path);
    else
        kw->end = end;
    kw->done = true;
    pthread_cond_broadcast(&kw->cv_ready);
    pthread_mutex_unlock(&kw->mu);
    return NULL;
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
    for (size_t i = 0; i < kw->count; i++)
        store_event_release(&kw->q[(kw->head + i) % kw->cap]);
    free(kw->q);
    if (kw->m)
        curl_multi_cleanup(kw->m);
    if (kw->c)
        curl_easy_cleanup(kw->c);
    curl_slist_free_all(kw->hl);
    kube_buf_free(&kw->line);
    kube_buf_free(&kw->errbody);
    pthread_cond_destroy(&kw->cv_ready);
    pthread_cond_destroy(&kw->cv_room);
    pthread_mutex_destroy(&kw->mu);
    free(kw->path);
    free(kw);
}

/* Waits for the server's answer to the watch request. */
static int kube_watch_await(struct kube_watch *kw, struct err *e)
{
    const struct kube_store_opts *o = kube_http_opts(kw->h);
    struct timespec deadline = clock_deadline(CLOCK_REALTIME, o->timeout_ms * NS_PER_MS);
    int rc = 0;
    pthread_mutex_lock(&kw->mu);
    while (!kw->answered && !kw->done && rc == 0)
        rc = pthread_cond_timedwait(&kw->cv_ready, &kw->mu, &deadline);
    bool answered = kw->answered, done = kw->done;
    struct err end = kw->end;
    pthread_mutex_unlock(&kw->mu);
    if (answered)
        return 0;
    if (!done)
        return err_set(e, -ETIMEDOUT, "watch %s: no answer in %ld ms", kw->path,
                       o->timeout_ms);
    if (end.code == -EKEYEXPIRED || end.code == -ETIME)
        return 0; /* said by the first store_watch_next, as the ERROR event would be */
    if (e)
        *e = end;
    return end.code;
}

int kube_watch_open(const struct store_ops *ops, struct kube_http *h,
                    const struct api_resource *res, const char *ns,
                    const struct store_watch_opts *o, struct store_watch **out, struct err *e)
{
    *out = NULL;
    struct kube_watch *kw = alloc_calloc(1, sizeof *kw);
    const struct kube_store_opts *lim = kube_http_opts(h);
    kw->h = h;
    kw->cap = lim->watch_queue;
    kw->line.max = lim->max_event;
    kw->errbody.max = KUBE_WATCH_ERRBODY_MAX;
    pthread_mutex_init(&kw->mu, NULL);
    pthread_cond_init(&kw->cv_ready, NULL);
    pthread_cond_init(&kw->cv_room, NULL);
    int rc = kube_watch_path(kw, res, ns, o, e);
    if (rc == 0 && (!(kw->q = alloc_calloc(kw->cap, sizeof *kw->q)) || !(kw->c = curl_easy_init()) ||
                    !(kw->m = curl_multi_init())))
        rc = err_set(e, -ENOMEM, "out of memory");
    if (rc == 0)
        rc = kube_http_setup_stream(h, kw->c, kw->path, &kw->hl, e);
    if (rc == 0) {
        curl_easy_setopt(kw->c, CURLOPT_WRITEFUNCTION, kube_watch_body);
        curl_easy_setopt(kw->c, CURLOPT_WRITEDATA, kw);
        curl_easy_setopt(kw->c, CURLOPT_HEADERFUNCTION, kube_watch_header);
        curl_easy_setopt(kw->c, CURLOPT_HEADERDATA, kw);
        if (pthread_create(&kw->thread, NULL, kube_watch_run, kw) != 0)
            rc = err_set(e, -EAGAIN, "watch %s: cannot start its reader thread", kw->path);
        else
            kw->thread_started = true;
    }
    kw->base.ops = ops;
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
    struct timespec deadline;
    if (timeout_ms > 0)
        deadline = clock_deadline(CLOCK_REALTIME, timeout_ms * NS_PER_MS);
    int rc = 0;
    pthread_mutex_lock(&kw->mu);
    while (kw->count == 0 && !kw->done && !kw->cancelled && rc == 0) {
        if (timeout_ms == 0)
            rc = ETIMEDOUT;
        else if (timeout_ms < 0)
            pthread_cond_wait(&kw->cv_ready, &kw->mu);
        else
            rc = pthread_cond_timedwait(&kw->cv_ready, &kw->mu, &deadline);
    }
    if (kw->cancelled) {
        rc = err_set(e, -ECANCELED, "watch %s: cancelled", kw->path);
    } else if (kw->count) {
        *ev = kw->q[kw->head];
        memset(&kw->q[kw->head], 0, sizeof *ev);
        kw->head = (kw->head + 1) % kw->cap;
        kw->count--;
        pthread_cond_signal(&kw->cv_room);
        rc = 0;
    } else if (kw->done) {
        if (e)
            *e = kw->end;
        rc = kw->end.code;
    } else {
        rc = err_set(e, -EAGAIN, "watch %s: no event within %d ms", kw->path, timeout_ms);
    }
    pthread_mutex_unlock(&kw->mu);
    return rc;
}

void kube_watch_cancel(struct store_watch *w)
{
    struct kube_watch *kw = kube_watch_of(w);
    pthread_mutex_lock(&kw->mu);
    kw->cancelled = true;
    pthread_cond_broadcast(&kw->cv_ready);
    pthread_cond_broadcast(&kw->cv_room);
    pthread_mutex_unlock(&kw->mu);
    if (kw->m)
        curl_multi_wakeup(kw->m);
}

void kube_watch_close(struct store_watch *w)
{
    struct kube_watch *kw = kube_watch_of(w);
    if (kw->thread_started) {
        kube_watch_cancel(w);
        pthread_join(kw->thread, NULL);
    }
    kube_watch_free(kw);
}
