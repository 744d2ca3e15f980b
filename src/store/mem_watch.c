/*
 * Watches for the mem store: a watch reads the history ring up to the
 * position it opened at, then the events the writes since gave it.
 *
 * A watch from "", "0" or no resourceVersion first replays the current
 * objects as ADDED (taken at open), then follows the writes from there. A
 * watch from a resourceVersion first reads the ring from the event after
 * it up to the ring's head at open (its backlog); when the ring no longer
 * holds an event of the backlog (compaction, or a reader so slow that the
 * ring wrapped past it) the watch ends with -EKEYEXPIRED, as an etcd watch
 * does. A watch from a resourceVersion the store has not reached (a client
 * that outlived a restarted server) waits MEM_STORE_FUTURE_WAIT_NS on the
 * store's clock for it, then ends with -ETIME ("Too large resource
 * version"), as kube-apiserver's watch cache does, so the client relists
 * instead of hearing nothing until the store catches up. Selectors are
 * applied to both sides of a change, so an object that stops matching
 * arrives as DELETED and one that starts as ADDED. A bookmark reports the
 * ring position when the events skipped by the selectors moved it, nothing
 * else is ready, and MEM_STORE_BOOKMARK_EVERY_NS passed on the store's
 * clock since the watch opened or had its last bookmark.
 *
 * Routing: a watch whose selectors require one equality (metadata.name,
 * a selectable field, a label) is filed under it in its kind's routes
 * (mem_kind), the others on the kind's unrouted list. A write gives its
 * event to the watches filed under the values its object has, before and
 * after, and to the unrouted ones; each keeps the events it sees (hits),
 * as what it will be told: the type and the version, a reference taken
 * under the lock. Past its backlog a watch goes from hit to hit and never
 * reads the ring. So a write costs the watches it concerns, not all of
 * them (a thousand agents' node-selected watches do not each look at every
 * pod write), and the ring needs to reach back only as far as lists and
 * resumed watches do: the last reference to an old version goes when its
 * slot in the ring is reused (with a short history, soon after the version
 * was replaced, while it is still in the cache) or with the hit of the
 * watch that reads it last. A quiet
 * watch is not ended by other objects' traffic, however much, and its
 * client does not relist for nothing. A watch ends with -EKEYEXPIRED when
 * it holds more unread hits than mem_store_config.watch_buffer (the
 * history's length by default; its hits are dropped then), as a
 * kube-apiserver watcher does when its own buffer overflows: a
 * reader that does not keep up does not keep every version alive. Compaction
 * does not end a watch past its backlog, as it does not end an etcd watcher
 * that is in sync.
 *
 * A watch waiting for events sleeps on its own wakeup (util/wakeup.h), on
 * the store's list of waiting watches: a write wakes only those that see its
 * event (mem__watch_notify), since with dozens of in-process watchers a
 * broadcast cost more in wake-ups than the events themselves. The write
 * only marks them (woken, under the lock) and the signal goes out after the
 * lock is released (mem__unlock): a watch signalled under the lock woke only
 * to block on it at once, which cost the reader a second sleep and the
 * writer's unlock a futex wake, for every event (issue 12). A watch
 * marked is woken once per wait however many writes follow. Between the
 * unlock and the signal its reader may stop waiting (a timeout, a cancel)
 * and close it: the mark holds a reference, so the wakeup posted is
 * never freed memory, and the last reference frees the watch. The reader
 * sleeps with the store's lock released, not in a condition wait on it:
 * glibc takes a mutex back from a condition wait marked contended, so the
 * reader's next unlock made a futex call even when no one waited. A post
 * that comes after its reader stopped waiting is read by the next wait,
 * which then looks once more and finds nothing: a wake-up is never lost,
 * at worst one is spare.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/meta.h"
#include "store/mem_internal.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/decimal.h"
#include "util/jdoc.h"
#include "util/vec.h"
#include "util/wakeup.h"

/* An event a watch sees, kept for it until it reads it: what it will be
 * told, decided when the write happens (the selectors and the event do
 * not change), so reading it needs nothing from the ring. */
struct mem_hit {
    uint64_t rv;
    struct mem_doc *doc; /* a reference: the version it is told */
    enum store_event_type type;
    bool retag;          /* doc is told with rv, not its own resourceVersion */
};

struct mem_watch {
    struct store_watch base;
    size_t refs; /* atomic: the reader's, and one per wake marked (mem__unlock) */
    struct mem_store *ms;
    const struct api_resource *res;
    char *ns; /* NULL: every namespace */
    struct selector *ls;
    struct field_selector *fs;
    bool bookmarks, want_raw;
    void (*on_event)(void *ctx);
    void *on_event_ctx;
    uint64_t start;   /* the resourceVersion the watch started after */
    uint64_t next;    /* the next ring event to look at */
    uint64_t told;    /* the last resourceVersion the client was given */
    int64_t reach_by; /* store clock: when start must be reached; 0: it was at open */
    int64_t bookmark_at; /* store clock: the next bookmark is not due before then */
    struct mem_doc **initial;
    size_t n_initial, i_initial;
    int failed;       /* sticky error, 0 while the watch is healthy */
    char failure[ERR_MSG_MAX];
    bool cancelled;   /* atomic; set under the store mutex */
    /* On the store's waiting list, guarded by the store mutex: */
    struct wakeup wake;
    struct mem_watch *wait_prev, *wait_next;
    bool woken;       /* marked for a post since it began to wait */
    /* Routing, guarded by the store mutex: */
    struct mem_kind *kind; /* where it is filed; NULL: not filed, or the store is gone */
    char *route;           /* its route key; NULL: unrouted */
    uint64_t scan_to;      /* events up to here are read one by one from the ring, later ones from hits */
    struct mem_hit *hits;  /* the events past scan_to it sees, unread, ascending */
    size_t hit_head, n_hits, cap_hits;
    bool overflowed;       /* more unread hits than ms->watch_buffer: the watch is over */
    uint64_t last_hit;     /* atomic: the newest hit, for a look without the lock */
};

/* The routes that tell a filed watch's events apart, tag and value. */
struct mem_route {
    char *key; /* "tag=value" */
    struct mem_watch **ws;
    size_t n, cap;
};

static bool doc_in_watch(const struct mem_watch *w, const struct mem_doc *d)
{
    return d && mem__same_resource(d->res, w->res) && (!w->ns || strcmp(d->ns, w->ns) == 0) &&
           mem__doc_matches(d, w->ls, w->fs);
}

/* What w is told of the event ev of rv, if anything: *h gets the type,
 * the version (a reference) and whether it must carry rv instead of its
 * own resourceVersion (an object that left the selection, a removal that
 * shares the object's last version). Called with the lock held. */
static bool translate(const struct mem_watch *w, const struct mem_event *ev, uint64_t rv,
                      struct mem_hit *h)
{
    assert(mutex_held(&w->ms->mu));
    bool now = doc_in_watch(w, ev->cur);
    bool before = ev->type == STORE_MODIFIED && doc_in_watch(w, ev->prev);
    h->rv = rv;
    switch (ev->type) {
    case STORE_ADDED:
    case STORE_DELETED:
        if (!now)
            return false;
        h->type = ev->type;
        h->doc = mem__doc_ref(ev->cur);
        h->retag = ev->cur->rv != rv;
        return true;
    case STORE_MODIFIED:
        if (!now && !before)
            return false;
        h->type = now && before ? STORE_MODIFIED : now ? STORE_ADDED : STORE_DELETED;
        h->doc = mem__doc_ref(now ? ev->cur : ev->prev);
        h->retag = !now;
        return true;
    case STORE_BOOKMARK:
        break;
    }
    return false;
}

static int collect_initial(struct mem_watch *w)
{
    struct mem_store *ms = w->ms;
    struct mem_kind *k = mem__kind_find(ms, w->res);
    if (!k || k->objs.n == 0)
        return 0;
    w->initial = alloc_calloc(k->objs.n, sizeof *w->initial);
    for (size_t s = 0; s < k->objs.cap; s++) {
        struct mem_obj *o = k->objs.slots[s].item;
        if (o && doc_in_watch(w, o->doc))
            w->initial[w->n_initial++] = mem__doc_ref(o->doc);
    }
    return 0;
}

/* ---- routing ------------------------------------------------------------ */

static bool route_eq(const void *item, const void *key)
{
    return strcmp(((const struct mem_route *)item)->key, key) == 0;
}

/* "tag=value" into buf; false when it does not fit (then nothing is filed
 * under it, and no object's value that long can match a filed one). */
static bool route_key(char *buf, const char *tag, const char *value)
{
    /* Made for every write and each tag in use: no printf. */
    size_t t = strlen(tag), v = strlen(value);
    if (t + 1 + v >= ROUTE_KEY_MAX)
        return false;
    memcpy(buf, tag, t);
    buf[t] = '=';
    memcpy(buf + t + 1, value, v + 1);
    return true;
}

/* w's route: the tag (into tag) and the value its selectors require, or
 * NULL when they require none. */
static const char *route_of(const struct mem_watch *w, char tag[ROUTE_KEY_MAX])
{
    return mem__selector_route(w->res, w->ls, w->fs, tag);
}

static void tag_use(struct mem_kind *k, const char *tag)
{
    for (size_t i = 0; i < k->n_tags; i++)
        if (strcmp(k->tags[i], tag) == 0)
            return;
    VEC_RESERVE(k->tags, k->cap_tags, k->n_tags + 1);
    k->tags[k->n_tags++] = alloc_strdup(tag);
}

/* Files w in its kind. Called with the lock held. */
static void file_watch(struct mem_watch *w, struct mem_kind *k)
{
    char tag[ROUTE_KEY_MAX], key[ROUTE_KEY_MAX];
    const char *v = route_of(w, tag);
    w->kind = k;
    if (!v || !route_key(key, tag, v)) {
        VEC_RESERVE(k->unrouted, k->cap_unrouted, k->n_unrouted + 1);
        k->unrouted[k->n_unrouted++] = w;
        return;
    }
    w->route = alloc_strdup(key);
    uint64_t h = hash_string(HASH_INIT, key);
    struct mem_route *r = mem__table_find(&k->routes, h, route_eq, key);
    if (!r) {
        r = alloc_calloc(1, sizeof *r);
        r->key = alloc_strdup(key);
        mem__table_reserve(&k->routes, 1); /* cannot fail: allocation aborts (util/alloc.h) */
        mem__table_insert(&k->routes, h, r);
        tag_use(k, tag);
    }
    VEC_RESERVE(r->ws, r->cap, r->n + 1);
    r->ws[r->n++] = w;
}

static void remove_from(struct mem_watch **ws, size_t *n, const struct mem_watch *w)
{
    for (size_t i = 0; i < *n; i++)
        if (ws[i] == w) {
            ws[i] = ws[--*n];
            return;
        }
}

/* Takes w out of its kind. Called with the lock held. */
static void unfile_watch(struct mem_watch *w)
{
    struct mem_kind *k = w->kind;
    if (!w->route) {
        remove_from(k->unrouted, &k->n_unrouted, w);
        return;
    }
    uint64_t h = hash_string(HASH_INIT, w->route);
    struct mem_route *r = mem__table_find(&k->routes, h, route_eq, w->route);
    remove_from(r->ws, &r->n, w);
    if (r->n == 0) {
        mem__table_remove(&k->routes, h, route_eq, w->route);
        free(r->ws);
        free(r->key);
        free(r);
    }
}

static void hits_release(struct mem_watch *w)
{
    for (size_t i = w->hit_head; i < w->n_hits; i++)
        mem__doc_unref(w->hits[i].doc);
    w->hit_head = w->n_hits = 0;
}

/* Ends w for holding more unread events than the store lets it: a
 * reader that does not keep up must not keep every version it was given
 * alive, as kube-apiserver ends a watcher whose buffer overflows. Its
 * client lists again. */
static void overflow(struct mem_watch *w)
{
    hits_release(w);
    free(w->hits);
    w->hits = NULL;
    w->cap_hits = 0;
    w->overflowed = true;
}

/* Gives w the event of rv when it sees it (once), unless w started after
 * it (a watch from a version the store had not reached). Its reader may be
 * anywhere behind: the hit holds what it will be told. */
static void hit(struct mem_store *ms, struct mem_watch *w, const struct mem_event *ev,
                uint64_t rv)
{
    struct mem_hit h;
    if (w->overflowed || rv <= w->start ||
        (w->n_hits > w->hit_head && w->hits[w->n_hits - 1].rv == rv) ||
        !translate(w, ev, rv, &h))
        return;
    if (w->n_hits - w->hit_head >= ms->watch_buffer) {
        mem__doc_unref(h.doc);
        overflow(w);
    } else {
        if (w->hit_head > w->n_hits / 2) {
            memmove(w->hits, w->hits + w->hit_head, (w->n_hits - w->hit_head) * sizeof *w->hits);
            w->n_hits -= w->hit_head;
            w->hit_head = 0;
        }
        VEC_RESERVE(w->hits, w->cap_hits, w->n_hits + 1);
        w->hits[w->n_hits++] = h;
    }
    __atomic_store_n(&w->last_hit, rv, __ATOMIC_RELEASE);
    if (w->on_event)
        w->on_event(w->on_event_ctx);
}

static void route_doc(struct mem_store *ms, struct mem_kind *k, const struct mem_doc *d,
                      const struct mem_event *ev, uint64_t rv)
{
    char key[ROUTE_KEY_MAX];
    for (size_t t = 0; d && t < k->n_tags; t++) {
        const char *v = mem__doc_route_value(d, k->tags[t]);
        if (!v || !route_key(key, k->tags[t], v))
            continue;
        struct mem_route *r =
            mem__table_find(&k->routes, hash_string(HASH_INIT, key), route_eq, key);
        for (size_t i = 0; r && i < r->n; i++)
            hit(ms, r->ws[i], ev, rv);
    }
}

void mem__watch_route(struct mem_store *ms, struct mem_kind *k, uint64_t rv)
{
    assert(mutex_held(&ms->mu));
    const struct mem_event *ev = &ms->ring[rv % ms->ring_cap];
    for (size_t i = 0; i < k->n_unrouted; i++)
        hit(ms, k->unrouted[i], ev, rv);
    route_doc(ms, k, ev->cur, ev, rv);
    if (ev->type == STORE_MODIFIED)
        route_doc(ms, k, ev->prev, ev, rv);
}

void mem__watch_detach_all(struct mem_kind *k)
{
    for (size_t i = 0; i < k->n_unrouted; i++)
        k->unrouted[i]->kind = NULL;
    for (size_t s = 0; s < k->routes.cap; s++) {
        struct mem_route *r = k->routes.slots[s].item;
        if (!r)
            continue;
        for (size_t i = 0; i < r->n; i++)
            r->ws[i]->kind = NULL;
        free(r->ws);
        free(r->key);
        free(r);
    }
    mem__table_free(&k->routes);
    free(k->unrouted);
    for (size_t i = 0; i < k->n_tags; i++)
        free(k->tags[i]);
    free(k->tags);
}

/* w's next event past its backlog, its first unread hit, taken into *h;
 * when there is none, w->next moves past the head. Called with the lock
 * held, for w->next past w->scan_to and not past the head. */
static bool take_hit(struct mem_watch *w, struct mem_hit *h)
{
    if (w->hit_head == w->n_hits) {
        w->hit_head = w->n_hits = 0;
        w->next = w->ms->rv + 1;
        return false;
    }
    *h = w->hits[w->hit_head++];
    assert(h->rv >= w->next);
    w->next = h->rv + 1;
    return true;
}

int mem__watch_open(struct store *st, const struct api_resource *res, const char *ns,
                    const struct store_watch_opts *o, struct store_watch **out, struct err *e)
{
    struct mem_store *ms = mem__of(st);
    if (api_registry_find(st->registry, res->group, res->version, res->plural) != res)
        return err_set(e, -ENOENT, "the server could not find the requested resource (%s)",
                       res->plural);
    struct mem_watch *w = alloc_calloc(1, sizeof *w);
    w->refs = 1;
    w->base.ops = st->ops;
    w->ms = ms;
    wakeup_init(&w->wake);
    w->res = res;
    w->bookmarks = o->bookmarks;
    w->want_raw = o->want_raw;
    w->on_event = o->on_event;
    w->on_event_ctx = o->on_event_ctx;
    int rc = 0;
    if (res->namespaced && ns && *ns && !(w->ns = alloc_strdup(ns)))
        rc = err_set(e, -ENOMEM, "out of memory");
    if (rc == 0)
        rc = selector_parse(o->label_selector, &w->ls, e);
    if (rc == 0)
        rc = selector_field_parse(o->field_selector, res, &w->fs, e);
    const char *rvs = o->resource_version;
    bool replay = !rvs || !*rvs || strcmp(rvs, "0") == 0;
    uint64_t from = 0;
    if (rc == 0 && !replay)
        rc = mem__parse_rv(rvs, "resourceVersion", &from, e);
    if (rc != 0) {
        mem__watch_close(&w->base);
        return rc;
    }
    mutex_lock(&ms->mu);
    if (replay) {
        from = ms->rv;
        if (collect_initial(w) != 0)
            rc = err_set(e, -ENOMEM, "out of memory");
    } else if (from > ms->rv) {
        w->reach_by = mem__now(ms) + MEM_STORE_FUTURE_WAIT_NS;
    }
    w->bookmark_at = mem__now(ms) + MEM_STORE_BOOKMARK_EVERY_NS;
    w->scan_to = ms->rv;
    w->start = w->told = from; /* before the writes' hits read it */
    w->next = from + 1;
    if (rc == 0)
        file_watch(w, mem__kind_of(ms, res));
    mutex_unlock(&ms->mu);
    if (rc != 0) {
        mem__watch_close(&w->base);
        return rc;
    }
    *out = &w->base;
    return 0;
}

/* Ends the watch: every later call returns the same error. */
static int fail(struct mem_watch *w, int code, const char *msg, struct err *e)
{
    w->failed = code;
    snprintf(w->failure, sizeof w->failure, "%s", msg);
    return err_set(e, code, "%s", msg);
}

/* Builds the event for doc (consumed); rv_override when not 0 replaces its
 * resourceVersion. */
static int deliver(struct mem_watch *w, enum store_event_type type, struct mem_doc *doc,
                   uint64_t rv_override, struct store_event *ev, struct err *e)
{
    ev->type = type;
    if (w->want_raw && !rv_override) {
        ev->raw = mem__doc_blob(doc);
        mem__doc_unref(doc);
        return ev->raw ? 0 : err_set(e, -ENOMEM, "out of memory");
    }
    /* Only an object retagged with another resourceVersion needs a copy of
     * its own; every other watcher shares the one parse. */
    json_t *obj = rv_override ? mem__doc_json(doc) : mem__doc_shared(doc);
    mem__doc_unref(doc);
    if (obj && rv_override) {
        char rvs[24];
        snprintf(rvs, sizeof rvs, "%" PRIu64, rv_override);
        jdoc_set(meta_of(obj), "resourceVersion", json_string(rvs));
    }
    if (obj && w->want_raw) {
        ev->raw = store_blob_dump(obj);
        json_decref(obj);
        obj = NULL;
        if (!ev->raw)
            return err_set(e, -ENOMEM, "out of memory");
        return 0;
    }
    ev->object = obj;
    return obj ? 0 : err_set(e, -ENOMEM, "out of memory");
}

/* Built member by member: json_pack's format parse cost more than the
 * bookmark itself, and every informer takes one each time they are due. */
static int bookmark(struct mem_watch *w, uint64_t rv, struct store_event *ev, struct err *e)
{
    char rvs[DECIMAL_MAX];
    decimal_u64(rvs, rv);
    json_t *obj = json_object(), *md = json_object();
    jdoc_set(obj, "kind", json_string_nocheck(w->res->kind));
    jdoc_set(obj, "apiVersion", json_string_nocheck(w->res->api_version));
    jdoc_set(md, "resourceVersion", json_string_nocheck(rvs));
    jdoc_set(obj, "metadata", md);
    ev->type = STORE_BOOKMARK;
    w->told = rv;
    if (w->want_raw) {
        ev->raw = store_blob_dump(obj);
        json_decref(obj);
        return ev->raw ? 0 : err_set(e, -ENOMEM, "out of memory");
    }
    ev->object = obj;
    return 0;
}

/* Puts w on the store's waiting list; called with the lock held. */
static void wait_begin(struct mem_watch *w)
{
    assert(mutex_held(&w->ms->mu));
    struct mem_store *ms = w->ms;
    w->woken = false;
    w->wait_prev = NULL;
    w->wait_next = ms->waiting;
    if (ms->waiting)
        ms->waiting->wait_prev = w;
    ms->waiting = w;
}

static void wait_end(struct mem_watch *w)
{
    if (w->wait_prev)
        w->wait_prev->wait_next = w->wait_next;
    else
        w->ms->waiting = w->wait_next;
    if (w->wait_next)
        w->wait_next->wait_prev = w->wait_prev;
    w->wait_prev = w->wait_next = NULL;
}

/* Whether the watch still waits for the store to reach its start. Called
 * with the lock held. */
static bool ahead_of_store(const struct mem_watch *w)
{
    assert(mutex_held(&w->ms->mu));
    return w->start > w->ms->rv;
}

static bool before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* How long one blocking wait may last: the caller's deadline (NULL: none),
 * cut to what is left of the wait for the start version, which is measured
 * on the store's clock. Called with the lock held. */
static const struct timespec *wait_limit(const struct mem_watch *w,
                                         const struct timespec *deadline, struct timespec *buf)
{
    if (!ahead_of_store(w))
        return deadline;
    *buf = clock_deadline(CLOCK_MONOTONIC, w->reach_by - mem__now(w->ms));
    return deadline && before(deadline, buf) ? deadline : buf;
}

void mem__watch_notify(struct mem_store *ms, uint64_t rv)
{
    assert(mutex_held(&ms->mu));
    for (struct mem_watch *w = ms->waiting; w; w = w->wait_next) {
        if (w->woken)
            continue;
        /* A waiting watch has looked at every event before this one, so it
         * follows its hits (mem__watch_route ran first): an event that gave
         * it none is skipped here, as its own loop would. */
        if (w->next == rv && w->last_hit != rv) {
            w->next = rv + 1;
            continue;
        }
        w->woken = true;
        __atomic_add_fetch(&w->refs, 1, __ATOMIC_RELAXED);
        VEC_RESERVE(ms->to_wake, ms->cap_to_wake, ms->n_to_wake + 1);
        ms->to_wake[ms->n_to_wake++] = w;
    }
}

static void watch_free(struct mem_watch *w);

static void watch_unref(struct mem_watch *w)
{
    if (__atomic_sub_fetch(&w->refs, 1, __ATOMIC_ACQ_REL) == 0)
        watch_free(w);
}

/* How many marked watches mem__unlock takes on its stack; a write wakes a
 * few (the watchers of one object), rarely more. */
#define WAKE_ON_STACK 32

void mem__unlock(struct mem_store *ms)
{
    assert(mutex_held(&ms->mu));
    struct mem_watch *stack[WAKE_ON_STACK], **wake = stack;
    size_t n = ms->n_to_wake;
    if (n > WAKE_ON_STACK) {
        wake = ms->to_wake; /* taken over: the next write grows a new one */
        ms->to_wake = NULL;
        ms->cap_to_wake = 0;
    } else if (n) {
        memcpy(stack, ms->to_wake, n * sizeof *stack);
    }
    ms->n_to_wake = 0;
    mutex_unlock(&ms->mu);
    for (size_t i = 0; i < n; i++) {
        wakeup_post(&wake[i]->wake);
        watch_unref(wake[i]);
    }
    if (wake != stack)
        free(wake);
}

/* Whether a look that does not wait surely finds nothing for w, which
 * tells without the store's lock: w follows its hits (no backlog left),
 * none at or after w->next, no bookmark due, not cancelled and not waiting
 * for the store to reach its start. Only w's reader (the caller) moves
 * w->next, w->told and w->bookmark_at while it does not wait; the rest is
 * read atomically. With thousands of informers polled in turn (the
 * simulator), most looks find nothing, and cost no lock this way. */
static bool surely_idle(const struct mem_watch *w)
{
    struct mem_store *ms = w->ms;
    uint64_t head = __atomic_load_n(&ms->rv, __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&w->cancelled, __ATOMIC_ACQUIRE) || w->start > head ||
        w->next <= w->scan_to || __atomic_load_n(&w->last_hit, __ATOMIC_ACQUIRE) >= w->next)
        return false;
    return !(w->bookmarks && head > w->told && mem__now(ms) >= w->bookmark_at);
}

/* Looks for w's next event, with the lock held: 1 with it in *h (the
 * reference is the caller's), 0 when there is none yet, -EKEYEXPIRED when
 * w can no longer be followed: its backlog left the ring before it was
 * read, or its unread hits overflowed. */
static int look(struct mem_watch *w, struct mem_hit *h)
{
    struct mem_store *ms = w->ms;
    if (w->overflowed)
        return -EKEYEXPIRED;
    while (w->next <= ms->rv) {
        if (w->next > w->scan_to)
            return take_hit(w, h);
        if (w->next <= ms->compacted)
            return -EKEYEXPIRED;
        uint64_t rv = w->next++;
        if (translate(w, &ms->ring[rv % ms->ring_cap], rv, h))
            return 1;
    }
    return 0;
}

/* What an expired watch is told (look's -EKEYEXPIRED), with the lock held. */
static void expiry_message(const struct mem_watch *w, char *buf, size_t len)
{
    if (w->overflowed)
        snprintf(buf, len, "too old resource version: %" PRIu64 " (more than %zu events unread)",
                 w->told, w->ms->watch_buffer);
    else
        snprintf(buf, len, "too old resource version: %" PRIu64 " (%" PRIu64 ")", w->next - 1,
                 w->ms->compacted);
}

int mem__watch_next(struct store_watch *sw, int timeout_ms, struct store_event *ev,
                    struct err *e)
{
    struct mem_watch *w = (struct mem_watch *)sw;
    struct mem_store *ms = w->ms;
    if (w->failed)
        return err_set(e, w->failed, "%s", w->failure);
    if (w->i_initial < w->n_initial) {
        struct mem_doc *d = w->initial[w->i_initial];
        w->initial[w->i_initial++] = NULL;
        return deliver(w, STORE_ADDED, d, 0, ev, e);
    }
    if (timeout_ms == 0 && surely_idle(w))
        return err_set(e, -EAGAIN, "no event within 0 ms");
    struct timespec deadline;
    if (timeout_ms > 0)
        deadline = clock_deadline(CLOCK_MONOTONIC, timeout_ms * NS_PER_MS);
    mutex_lock(&ms->mu);
    bool expired = false;
    for (;;) {
        if (w->cancelled) {
            mutex_unlock(&ms->mu);
            return fail(w, -ECANCELED, "watch cancelled", e);
        }
        if (ahead_of_store(w) && mem__now(ms) >= w->reach_by) {
            char msg[96];
            snprintf(msg, sizeof msg, "Too large resource version: %" PRIu64 ", current: %" PRIu64,
                     w->start, ms->rv);
            mutex_unlock(&ms->mu);
            return fail(w, -ETIME, msg, e);
        }
        struct mem_hit h;
        int found = look(w, &h);
        if (found < 0) {
            char msg[96];
            expiry_message(w, msg, sizeof msg);
            mutex_unlock(&ms->mu);
            return fail(w, found, msg, e);
        }
        if (found) {
            mutex_unlock(&ms->mu);
            w->told = h.rv;
            return deliver(w, h.type, h.doc, h.retag ? h.rv : 0, ev, e);
        }
        if (timeout_ms == 0 || expired)
            break;
        wait_begin(w);
        struct timespec cut;
        const struct timespec *limit = wait_limit(w, timeout_ms < 0 ? NULL : &deadline, &cut);
        if (wakeup_wait_unlocked(&ms->mu, &w->wake, limit) != 0 && limit == &deadline)
            expired = true; /* one more look, then give up */
        wait_end(w);
    }
    uint64_t head = ms->rv;
    int64_t now = mem__now(ms);
    mutex_unlock(&ms->mu);
    if (w->bookmarks && head > w->told && now >= w->bookmark_at) {
        w->bookmark_at = now + MEM_STORE_BOOKMARK_EVERY_NS;
        return bookmark(w, head, ev, e);
    }
    return err_set(e, -EAGAIN, "no event within %d ms", timeout_ms);
}

void mem__watch_cancel(struct store_watch *sw)
{
    struct mem_watch *w = (struct mem_watch *)sw;
    mutex_lock(&w->ms->mu);
    __atomic_store_n(&w->cancelled, true, __ATOMIC_RELEASE);
    wakeup_post(&w->wake); /* under the lock: after it, w may be closed */
    mutex_unlock(&w->ms->mu);
}

void mem__watch_close(struct store_watch *sw)
{
    struct mem_watch *w = (struct mem_watch *)sw;
    /* Only the store's end clears kind once it is set, and a watch must not
     * outlive its store's use: reading it unlocked here is safe. */
    if (w->kind) {
        mutex_lock(&w->ms->mu);
        unfile_watch(w);
        mutex_unlock(&w->ms->mu);
    }
    watch_unref(w);
}

/* Frees w once no reference is left: its reader closed it and no unlock
 * still has to signal it. */
static void watch_free(struct mem_watch *w)
{
    free(w->route);
    hits_release(w);
    free(w->hits);
    for (size_t i = w->i_initial; i < w->n_initial; i++)
        mem__doc_unref(w->initial[i]);
    free(w->initial);
    free(w->ns);
    selector_free(w->ls);
    selector_field_free(w->fs);
    wakeup_destroy(&w->wake);
    free(w);
}
