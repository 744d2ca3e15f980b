/*
 * The informer of informer.h: a three-state machine (list, open the watch,
 * read the watch) stepped by its caller, over a cache kept in jansson
 * objects.
 *
 * The cache is a JSON object from "namespace/name" (or "name") to the
 * object; each index is a JSON object from index key to a JSON object of
 * the same cache keys, so a lookup is two hash probes and the objects are
 * shared, not copied, between the cache, the indexes and the readers
 * (jansson's reference counts are atomic, and cached objects are never
 * modified once in). A relist builds the new set apart and merges it in,
 * so readers never see a half-filled cache and handlers see only what
 * changed. A watch that cannot resume from the informer's version (410
 * Expired: the server forgot it; "Too large resource version": the server
 * has not reached it, as after a restart with an empty store) is answered
 * with a relist, as client-go's reflector does.
 */
#include "store/informer.h"
#include "util/alloc.h"
#include "util/objkey.h"
#include "util/vec.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"

/* How long the thread runner waits for an event per step; stopping wakes it
 * sooner by cancelling the watch. */
#define INFORMER_POLL_MS 1000

enum informer_state {
    INFORMER_LIST = 0,
    INFORMER_OPEN,
    INFORMER_WATCH,
};

struct informer_note {
    enum informer_change change;
    json_t *old, *cur; /* references held until the handler has run */
};

struct informer_notes {
    struct informer_note *v;
    size_t n, cap;
};

struct informer {
    struct informer_config cfg; /* strings point at the copies below */
    char *ns, *label, *field;
    char *index_names[INFORMER_INDEX_MAX];

    pthread_rwlock_t lock;      /* cache, indexes, rv, stats */
    json_t *cache;
    json_t *index_maps[INFORMER_INDEX_MAX];
    char *rv;                   /* rv_cap bytes: every event moves it, so it is reused */
    size_t rv_cap;
    struct informer_stats stats;

    /* The stepping thread's alone. */
    enum informer_state state;
    bool expired;               /* the next list follows an Expired watch */
    unsigned failures;          /* in a row */
    size_t events_since_open;
    uint64_t rng;
    int64_t wake_at;            /* atomic: read by informer_wake_at */

    pthread_mutex_t mu;         /* watch (for cancel), synced, the runner */
    pthread_cond_t cv;          /* synced, or stop */
    struct store_watch *watch;
    bool synced;
    bool stopping;
    bool running;
    pthread_t thread;
};

/* ---- index key functions --------------------------------------------------- */

static size_t informer_one_key(const char *k, const char **keys, size_t max)
{
    if (!k || !*k)
        return 0;
    if (max)
        keys[0] = k;
    return 1;
}

size_t informer_keys_namespace(const json_t *obj, const char **keys, size_t max, void *ctx)
{
    (void)ctx;
    const json_t *meta = json_object_get(obj, "metadata");
    return informer_one_key(json_string_value(json_object_get(meta, "namespace")), keys, max);
}

size_t informer_keys_node(const json_t *obj, const char **keys, size_t max, void *ctx)
{
    (void)ctx;
    const json_t *spec = json_object_get(obj, "spec");
    return informer_one_key(json_string_value(json_object_get(spec, "nodeName")), keys, max);
}

size_t informer_keys_owner(const json_t *obj, const char **keys, size_t max, void *ctx)
{
    (void)ctx;
    const json_t *refs = json_object_get(json_object_get(obj, "metadata"), "ownerReferences");
    size_t i, n = 0;
    const json_t *ref;
    json_array_foreach(refs, i, ref) {
        const char *uid = json_string_value(json_object_get(ref, "uid"));
        if (uid && *uid && n < max)
            keys[n] = uid;
        n += uid && *uid;
    }
    return n;
}

/* ---- set-up ---------------------------------------------------------------- */

static int64_t informer_now(const struct informer *inf)
{
    return inf->cfg.now_ns(inf->cfg.clock_ctx);
}

static bool informer_dup(const char *s, char **out)
{
    *out = NULL;
    return !s || !*s || (*out = alloc_strdup(s));
}

static int informer_check(const struct informer_config *cfg, struct err *e)
{
    if (!cfg || !cfg->store || !cfg->res)
        return err_set(e, -EINVAL, "informer: a store and a resource are required");
    if (cfg->index_count > INFORMER_INDEX_MAX)
        return err_set(e, -EINVAL, "informer: %zu indexes, at most %d", cfg->index_count,
                       INFORMER_INDEX_MAX);
    for (size_t i = 0; i < cfg->index_count; i++) {
        const struct informer_index *x = &cfg->indexes[i];
        if (!x->name || !*x->name || !x->keys)
            return err_set(e, -EINVAL, "informer: index %zu needs a name and a key function",
                           i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->indexes[j].name, x->name) == 0)
                return err_set(e, -EINVAL, "informer: two indexes named \"%s\"", x->name);
    }
    if (cfg->backoff.base_ns < 0 || cfg->backoff.max_ns < 0)
        return err_set(e, -EINVAL, "informer: negative backoff");
    return 0;
}

int informer_new(const struct informer_config *cfg, struct informer **out, struct err *e)
{
    *out = NULL;
    int rc = informer_check(cfg, e);
    if (rc)
        return rc;
    struct informer *inf = alloc_calloc(1, sizeof *inf);
    inf->cfg = *cfg;
    pthread_rwlock_init(&inf->lock, NULL);
    pthread_mutex_init(&inf->mu, NULL);
    pthread_cond_init(&inf->cv, NULL);
    bool ok = informer_dup(cfg->ns, &inf->ns) && informer_dup(cfg->label_selector, &inf->label) &&
              informer_dup(cfg->field_selector, &inf->field) && (inf->cache = json_object()) &&
              (inf->rv = alloc_calloc(1, inf->rv_cap = 24));
    for (size_t i = 0; ok && i < cfg->index_count; i++) {
        ok = (inf->index_names[i] = alloc_strdup(cfg->indexes[i].name)) &&
             (inf->index_maps[i] = json_object());
        inf->cfg.indexes[i].name = inf->index_names[i];
    }
    if (!ok) {
        informer_free(inf);
        return err_set(e, -ENOMEM, "out of memory");
    }
    inf->cfg.ns = inf->ns;
    inf->cfg.label_selector = inf->label;
    inf->cfg.field_selector = inf->field;
    if (!inf->cfg.page_size)
        inf->cfg.page_size = INFORMER_PAGE_DEFAULT;
    if (!inf->cfg.now_ns)
        inf->cfg.now_ns = clock_monotonic_now;
    inf->cfg.backoff = backoff_or(inf->cfg.backoff, INFORMER_BACKOFF_DEFAULT);
    if (inf->cfg.backoff.max_ns < inf->cfg.backoff.base_ns)
        inf->cfg.backoff.max_ns = inf->cfg.backoff.base_ns;
    inf->rng = cfg->seed;
    *out = inf;
    return 0;
}

static void informer_close_watch(struct informer *inf)
{
    pthread_mutex_lock(&inf->mu);
    struct store_watch *w = inf->watch;
    inf->watch = NULL;
    pthread_mutex_unlock(&inf->mu);
    store_watch_close(w);
}

void informer_free(struct informer *inf)
{
    if (!inf)
        return;
    informer_stop(inf);
    informer_close_watch(inf);
    json_decref(inf->cache);
    for (size_t i = 0; i < INFORMER_INDEX_MAX; i++) {
        json_decref(inf->index_maps[i]);
        free(inf->index_names[i]);
    }
    free(inf->ns);
    free(inf->label);
    free(inf->field);
    free(inf->rv);
    pthread_cond_destroy(&inf->cv);
    pthread_mutex_destroy(&inf->mu);
    pthread_rwlock_destroy(&inf->lock);
    free(inf);
}

/* ---- the cache (callers hold the write lock) ------------------------------- */

static const char *informer_meta(const json_t *obj, const char *field)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
}

/* The cache key "ns/name" (or "name" without a namespace) in buf; its
 * length, or 0 when there is no name or the key does not fit. */
static size_t informer_join_key(const char *ns, const char *name, char *buf, size_t len)
{
    size_t n = name && *name ? objkey_join(buf, len, ns, name) : 0;
    return n < len ? n : 0;
}

/* The cache key of the object with metadata md in buf, and its length; 0
 * when it has no name or the key does not fit. */
static size_t informer_md_key(const json_t *md, char *buf, size_t len)
{
    return informer_join_key(json_string_value(json_object_get(md, "namespace")),
                             json_string_value(json_object_get(md, "name")), buf, len);
}

static size_t informer_key(const json_t *obj, char *buf, size_t len)
{
    return informer_md_key(json_object_get(obj, "metadata"), buf, len);
}

static int informer_note(struct informer *inf, struct informer_notes *notes,
                         enum informer_change change, json_t *old, json_t *cur)
{
    if (!inf->cfg.handler)
        return 0;
    VEC_RESERVE(notes->v, notes->cap, notes->n + 1);
    notes->v[notes->n++] = (struct informer_note){change, json_incref(old), json_incref(cur)};
    return 0;
}

/* The keys index x files obj under, at most INFORMER_KEYS_MAX. */
static size_t informer_index_keys(const struct informer_index *x, const json_t *obj,
                                  const char **keys)
{
    size_t n = obj ? x->keys(obj, keys, INFORMER_KEYS_MAX, x->ctx) : 0;
    return n > INFORMER_KEYS_MAX ? INFORMER_KEYS_MAX : n;
}

static bool informer_has_key(const char *const *keys, size_t n, const char *k)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i], k) == 0)
            return true;
    return false;
}

/* Moves the object at key from old to cur (either NULL: absent) in every
 * index. A key both have only gets cur in place of old: most updates keep
 * their keys (a pod's node, its owner), and taking old out first emptied
 * and freed the one-object sets (an owner's) only to make them again. */
static int informer_index(struct informer *inf, const char *key, const json_t *old,
                          json_t *cur)
{
    for (size_t i = 0; i < inf->cfg.index_count; i++) {
        const struct informer_index *x = &inf->cfg.indexes[i];
        const char *was[INFORMER_KEYS_MAX], *now[INFORMER_KEYS_MAX];
        size_t n_was = informer_index_keys(x, old, was);
        size_t n_now = informer_index_keys(x, cur, now);
        for (size_t k = 0; k < n_was; k++) {
            if (informer_has_key(now, n_now, was[k]))
                continue;
            json_t *set = json_object_get(inf->index_maps[i], was[k]);
            json_object_del(set, key);
            if (set && json_object_size(set) == 0)
                json_object_del(inf->index_maps[i], was[k]);
        }
        for (size_t k = 0; k < n_now; k++) {
            json_t *set = json_object_get(inf->index_maps[i], now[k]);
            if (!set && json_object_set_new(inf->index_maps[i], now[k],
                                            set = json_object()) != 0)
                return -ENOMEM;
            if (json_object_set(set, key, cur) != 0)
                return -ENOMEM;
        }
    }
    return 0;
}

/* Whether a and b (mb: its metadata) are one object at one version. The
 * uid counts too: a server restarted with an empty store hands out
 * resourceVersions again, so an object re-created there may carry the
 * version its old self had. The same value is the same version: an
 * in-process store hands every watcher the one it keeps. */
static bool informer_same_version(const json_t *a, const json_t *b, const json_t *mb)
{
    if (a == b)
        return true;
    const json_t *ma = json_object_get(a, "metadata");
    const char *ra = json_string_value(json_object_get(ma, "resourceVersion"));
    const char *rb = json_string_value(json_object_get(mb, "resourceVersion"));
    if (!ra || !rb || strcmp(ra, rb) != 0)
        return false;
    const char *ua = json_string_value(json_object_get(ma, "uid"));
    const char *ub = json_string_value(json_object_get(mb, "uid"));
    return ua ? ub && strcmp(ua, ub) == 0 : !ub;
}

/* Whether a watch that failed with rc cannot resume from the informer's
 * version, so only a fresh list helps. */
static bool informer_must_relist(int rc)
{
    return rc == -EKEYEXPIRED || rc == -ETIME;
}

/* Puts obj (its metadata md, looked up once by the caller) in the cache;
 * an object already there at the same version is a duplicate and changes
 * nothing. */
static int informer_put(struct informer *inf, json_t *obj, const json_t *md,
                        struct informer_notes *notes)
{
    char key[512];
    size_t len = informer_md_key(md, key, sizeof key);
    if (!len)
        return 0; /* nothing can address it; the server never sends one */
    json_t *old = json_object_getn(inf->cache, key, len);
    if (old && informer_same_version(old, obj, md))
        return 0;
    json_incref(old);
    int rc = json_object_setn(inf->cache, key, len, obj) == 0 ? 0 : -ENOMEM;
    if (rc == 0)
        rc = informer_index(inf, key, old, obj);
    if (rc == 0)
        rc = informer_note(inf, notes, old ? INFORMER_UPDATED : INFORMER_ADDED, old, obj);
    json_decref(old);
    return rc;
}

/* Removes the object at key; last is its final state to report (NULL: the
 * cached one). */
static int informer_drop(struct informer *inf, const char *key, json_t *last,
                         struct informer_notes *notes)
{
    json_t *old = json_incref(json_object_get(inf->cache, key));
    if (!old)
        return 0;
    informer_index(inf, key, old, NULL);
    json_object_del(inf->cache, key);
    int rc = informer_note(inf, notes, INFORMER_DELETED, old, last ? last : old);
    json_decref(old);
    return rc;
}

static int informer_set_rv(struct informer *inf, const char *rv)
{
    if (!rv || !*rv || strcmp(rv, inf->rv) == 0)
        return 0;
    size_t n = strlen(rv) + 1;
    if (n > inf->rv_cap)
        inf->rv = alloc_realloc(inf->rv, inf->rv_cap = n);
    memcpy(inf->rv, rv, n);
    return 0;
}

/* Runs the handlers for notes and drops their references. */
static void informer_deliver(struct informer *inf, struct informer_notes *notes)
{
    for (size_t i = 0; i < notes->n; i++) {
        struct informer_note *nt = &notes->v[i];
        inf->cfg.handler(inf->cfg.handler_ctx, nt->change, nt->old, nt->cur);
        json_decref(nt->old);
        json_decref(nt->cur);
    }
    free(notes->v);
    memset(notes, 0, sizeof *notes);
}

/* ---- the steps ------------------------------------------------------------- */

/* Plans the next try after a failure: the delay doubles per failure in a
 * row up to the maximum, and a random half of it is jitter so informers
 * failing together do not retry together. */
static int informer_fail(struct informer *inf, int rc)
{
    int64_t wait = backoff_jittered(&inf->cfg.backoff, ++inf->failures, &inf->rng);
    __atomic_store_n(&inf->wake_at, informer_now(inf) + wait, __ATOMIC_RELAXED);
    pthread_rwlock_wrlock(&inf->lock);
    inf->stats.failures++;
    pthread_rwlock_unlock(&inf->lock);
    return rc;
}

static void informer_recovered(struct informer *inf)
{
    inf->failures = 0;
    __atomic_store_n(&inf->wake_at, 0, __ATOMIC_RELAXED);
}

/* Lists every page into *items (a new array) and the list's version. A
 * continue token that expired mid-way restarts the list in one page. */
static int informer_fetch(struct informer *inf, json_t **items, char **rv, struct err *e)
{
    struct store_list_opts o = {.label_selector = inf->label,
                                .field_selector = inf->field,
                                .limit = inf->cfg.page_size};
    json_t *all = json_array(), *page = NULL;
    *rv = NULL;
    int rc = all ? 0 : err_set(e, -ENOMEM, "out of memory");
    while (rc == 0) {
        json_t *next;
        rc = store_list(inf->cfg.store, inf->cfg.res, inf->ns, &o, &next, e);
        if (rc == -EKEYEXPIRED && o.continue_token) {
            json_array_clear(all);
            o = (struct store_list_opts){.label_selector = inf->label,
                                         .field_selector = inf->field};
            json_decref(page);
            page = NULL;
            rc = 0;
            continue;
        }
        if (rc)
            break;
        json_decref(page);
        page = next;
        const json_t *meta = json_object_get(page, "metadata");
        const char *prv = json_string_value(json_object_get(meta, "resourceVersion"));
        if (!*rv && !(*rv = alloc_strdup(prv ? prv : "")))
            rc = err_set(e, -ENOMEM, "out of memory");
        else if (json_array_extend(all, json_object_get(page, "items")) != 0)
            rc = err_set(e, -ENOMEM, "out of memory");
        const char *cont = json_string_value(json_object_get(meta, "continue"));
        if (rc || !cont || !*cont)
            break;
        o.continue_token = cont;
    }
    json_decref(page);
    if (rc) {
        json_decref(all);
        free(*rv);
        *rv = NULL;
        return rc;
    }
    *items = all;
    return 0;
}

/* Merges a complete list into the cache: what is new is added, what
 * changed updated, what is gone deleted. */
static int informer_replace(struct informer *inf, json_t *items, const char *rv,
                            struct informer_notes *notes)
{
    json_t *fresh = json_object();
    if (!fresh)
        return -ENOMEM;
    int rc = 0;
    size_t i;
    json_t *obj;
    char key[512];
    json_array_foreach(items, i, obj) {
        if (informer_key(obj, key, sizeof key) && json_object_set(fresh, key, obj) != 0)
            rc = -ENOMEM;
    }
    pthread_rwlock_wrlock(&inf->lock);
    const char *k;
    json_t *tmp;
    json_object_foreach_safe(inf->cache, tmp, k, obj) {
        if (rc || json_object_get(fresh, k))
            continue;
        snprintf(key, sizeof key, "%s", k); /* k dies with its entry */
        rc = informer_drop(inf, key, NULL, notes);
    }
    json_object_foreach(fresh, k, obj) {
        if (rc == 0)
            rc = informer_put(inf, obj, json_object_get(obj, "metadata"), notes);
    }
    if (rc == 0)
        rc = informer_set_rv(inf, rv);
    inf->stats.lists++;
    inf->stats.relists += inf->expired;
    pthread_rwlock_unlock(&inf->lock);
    json_decref(fresh);
    return rc;
}

static int informer_do_list(struct informer *inf, struct err *e)
{
    json_t *items;
    char *rv;
    int rc = informer_fetch(inf, &items, &rv, e);
    if (rc)
        return informer_fail(inf, rc);
    struct informer_notes notes = {0};
    rc = informer_replace(inf, items, rv, &notes);
    json_decref(items);
    free(rv);
    if (inf->cfg.handler)
        informer_deliver(inf, &notes);
    if (rc)
        return informer_fail(inf, err_set(e, rc, "informer %s: out of memory filling the "
                                                 "cache", inf->cfg.res->plural));
    inf->expired = false;
    inf->state = INFORMER_OPEN;
    informer_recovered(inf);
    pthread_mutex_lock(&inf->mu);
    inf->synced = true;
    pthread_cond_broadcast(&inf->cv);
    pthread_mutex_unlock(&inf->mu);
    return 0;
}

static int informer_do_open(struct informer *inf, struct err *e)
{
    pthread_rwlock_rdlock(&inf->lock);
    char *rv = alloc_strdup(inf->rv);
    pthread_rwlock_unlock(&inf->lock);
    struct store_watch_opts o = {.label_selector = inf->label,
                                 .field_selector = inf->field,
                                 .resource_version = rv,
                                 .bookmarks = true,
                                 .on_event = inf->cfg.on_event,
                                 .on_event_ctx = inf->cfg.on_event_ctx};
    struct store_watch *w;
    int rc = store_watch_open(inf->cfg.store, inf->cfg.res, inf->ns, &o, &w, e);
    free(rv);
    if (informer_must_relist(rc)) {
        inf->state = INFORMER_LIST;
        inf->expired = true;
        return rc;
    }
    if (rc)
        return informer_fail(inf, rc);
    pthread_mutex_lock(&inf->mu);
    inf->watch = w;
    if (inf->stopping)
        store_watch_cancel(w);
    pthread_mutex_unlock(&inf->mu);
    pthread_rwlock_wrlock(&inf->lock);
    inf->stats.watches++;
    pthread_rwlock_unlock(&inf->lock);
    inf->events_since_open = 0;
    inf->state = INFORMER_WATCH;
    return 0;
}

static int informer_apply(struct informer *inf, struct store_event *ev,
                          struct informer_notes *notes)
{
    json_t *obj = ev->object;
    const json_t *md = json_object_get(obj, "metadata"); /* looked up once per event */
    int rc = 0;
    if (ev->type == STORE_DELETED) {
        char key[512];
        if (informer_md_key(md, key, sizeof key))
            rc = informer_drop(inf, key, obj, notes);
    } else if (ev->type != STORE_BOOKMARK) {
        rc = informer_put(inf, obj, md, notes);
    }
    if (rc == 0)
        rc = informer_set_rv(inf, json_string_value(json_object_get(md, "resourceVersion")));
    inf->stats.events++;
    return rc;
}

/* The watch ended with rc: plan what comes next. */
static int informer_watch_ended(struct informer *inf, int rc)
{
    informer_close_watch(inf);
    pthread_mutex_lock(&inf->mu);
    bool stopping = inf->stopping;
    pthread_mutex_unlock(&inf->mu);
    if (informer_must_relist(rc)) {
        inf->state = INFORMER_LIST;
        inf->expired = true;
        return rc;
    }
    inf->state = INFORMER_OPEN;
    /* A stream that ends after delivering is normal (servers time watches
     * out); one that ends before delivering anything is a failure, or an
     * informer could spin reopening a watch the server keeps closing. */
    if ((rc == -EPIPE && inf->events_since_open) || (rc == -ECANCELED && stopping))
        return rc;
    return informer_fail(inf, rc);
}

static int informer_do_watch(struct informer *inf, int timeout_ms, struct err *e)
{
    struct store_event ev;
    int rc = store_watch_next(inf->watch, timeout_ms, &ev, e);
    if (rc == -EAGAIN)
        return rc;
    if (rc)
        return informer_watch_ended(inf, rc);
    struct informer_notes notes = {0};
    int arc = 0;
    pthread_rwlock_wrlock(&inf->lock);
    for (size_t n = 0; rc == 0; n++) {
        if (arc == 0)
            arc = informer_apply(inf, &ev, &notes);
        store_event_release(&ev);
        inf->events_since_open++;
        if (n + 1 == INFORMER_BATCH)
            break;
        rc = store_watch_next(inf->watch, 0, &ev, NULL);
    }
    pthread_rwlock_unlock(&inf->lock);
    if (inf->cfg.handler)
        informer_deliver(inf, &notes);
    informer_recovered(inf);
    if (arc) {
        /* The cache missed an event: only a fresh list can repair it. */
        informer_close_watch(inf);
        inf->state = INFORMER_LIST;
        return informer_fail(inf, err_set(e, arc, "informer %s: out of memory applying an "
                                                  "event", inf->cfg.res->plural));
    }
    /* An error behind the batch is sticky: the next step reads it again. */
    return 0;
}

size_t informer_step_ready(struct informer *const *inf, size_t n)
{
    size_t work = 0;
    for (size_t i = 0; i < n; i++)
        while (informer_step(inf[i], 0, NULL) == 0)
            work++;
    return work;
}

int informer_step(struct informer *inf, int timeout_ms, struct err *e)
{
    int64_t wake = __atomic_load_n(&inf->wake_at, __ATOMIC_RELAXED);
    if (inf->state != INFORMER_WATCH && wake && informer_now(inf) < wake)
        return err_set(e, -EAGAIN, "informer %s: backing off", inf->cfg.res->plural);
    switch (inf->state) {
    case INFORMER_LIST:
        return informer_do_list(inf, e);
    case INFORMER_OPEN:
        return informer_do_open(inf, e);
    case INFORMER_WATCH:
        break;
    }
    return informer_do_watch(inf, timeout_ms, e);
}

int64_t informer_wake_at(struct informer *inf)
{
    return __atomic_load_n(&inf->wake_at, __ATOMIC_RELAXED);
}

/* ---- the thread runner ----------------------------------------------------- */

static void informer_sleep(struct informer *inf, int64_t ns)
{
    struct timespec ts = clock_deadline(CLOCK_REALTIME, ns);
    pthread_mutex_lock(&inf->mu);
    if (!inf->stopping)
        pthread_cond_timedwait(&inf->cv, &inf->mu, &ts);
    pthread_mutex_unlock(&inf->mu);
}

static void *informer_run(void *arg)
{
    struct informer *inf = arg;
    for (;;) {
        pthread_mutex_lock(&inf->mu);
        bool stop = inf->stopping;
        pthread_mutex_unlock(&inf->mu);
        if (stop)
            return NULL;
        int64_t wait = informer_wake_at(inf) - informer_now(inf);
        if (informer_wake_at(inf) && wait > 0 && inf->state != INFORMER_WATCH)
            informer_sleep(inf, wait);
        else
            informer_step(inf, INFORMER_POLL_MS, NULL);
    }
}

int informer_start(struct informer *inf, struct err *e)
{
    pthread_mutex_lock(&inf->mu);
    int rc = 0;
    if (inf->running)
        rc = err_set(e, -EBUSY, "informer %s: already running", inf->cfg.res->plural);
    else if (pthread_create(&inf->thread, NULL, informer_run, inf) != 0)
        rc = err_set(e, -EAGAIN, "informer %s: cannot start a thread", inf->cfg.res->plural);
    else
        inf->running = true;
    pthread_mutex_unlock(&inf->mu);
    return rc;
}

void informer_stop(struct informer *inf)
{
    pthread_mutex_lock(&inf->mu);
    bool running = inf->running;
    inf->stopping = true;
    if (inf->watch)
        store_watch_cancel(inf->watch);
    pthread_cond_broadcast(&inf->cv);
    pthread_mutex_unlock(&inf->mu);
    if (running)
        pthread_join(inf->thread, NULL);
    /* A cancelled watch cannot go on; the next step reopens it. */
    if (inf->state == INFORMER_WATCH) {
        informer_close_watch(inf);
        inf->state = INFORMER_OPEN;
    }
    pthread_mutex_lock(&inf->mu);
    inf->stopping = false;
    inf->running = false;
    pthread_mutex_unlock(&inf->mu);
}

bool informer_watching(const struct informer *inf)
{
    return inf->state == INFORMER_WATCH;
}

bool informer_synced(struct informer *inf)
{
    pthread_mutex_lock(&inf->mu);
    bool s = inf->synced;
    pthread_mutex_unlock(&inf->mu);
    return s;
}

int informer_wait_synced(struct informer *inf, int timeout_ms)
{
    struct timespec ts = clock_deadline(CLOCK_REALTIME, timeout_ms * NS_PER_MS);
    int rc = 0;
    pthread_mutex_lock(&inf->mu);
    while (!inf->synced && rc == 0)
        rc = timeout_ms < 0 ? pthread_cond_wait(&inf->cv, &inf->mu)
                            : pthread_cond_timedwait(&inf->cv, &inf->mu, &ts);
    bool s = inf->synced;
    pthread_mutex_unlock(&inf->mu);
    return s ? 0 : -ETIMEDOUT;
}

/* ---- reads ------------------------------------------------------------------ */

int informer_get(struct informer *inf, const char *ns, const char *name, json_t **out)
{
    *out = NULL;
    char key[512];
    size_t len = informer_join_key(inf->cfg.res->namespaced ? ns : NULL, name, key, sizeof key);
    if (!len)
        return -ENOENT;
    pthread_rwlock_rdlock(&inf->lock);
    *out = json_incref(json_object_getn(inf->cache, key, len));
    pthread_rwlock_unlock(&inf->lock);
    return *out ? 0 : -ENOENT;
}

/* Appends the values of set (a JSON object) in ns (NULL: all) to arr. */
static int informer_collect(const json_t *set, const char *ns, json_t *arr)
{
    const char *k;
    json_t *obj;
    json_object_foreach((json_t *)set, k, obj) {
        /* Without ns (every index's collect) nothing is read: two lookups
         * per object were most of a small collect's cost. */
        const char *ons = ns ? informer_meta(obj, "namespace") : NULL;
        if (ns && (!ons || strcmp(ns, ons) != 0))
            continue;
        if (json_array_append(arr, obj) != 0)
            return -ENOMEM;
    }
    return 0;
}

json_t *informer_list(struct informer *inf, const char *ns)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    pthread_rwlock_rdlock(&inf->lock);
    int rc = informer_collect(inf->cache, ns && *ns ? ns : NULL, arr);
    pthread_rwlock_unlock(&inf->lock);
    if (rc) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

int informer_by_index(struct informer *inf, const char *index, const char *key, json_t **out)
{
    *out = NULL;
    size_t i = 0;
    while (i < inf->cfg.index_count && strcmp(inf->cfg.indexes[i].name, index) != 0)
        i++;
    if (i == inf->cfg.index_count)
        return -ENOENT;
    json_t *arr = json_array();
    if (!arr)
        return -ENOMEM;
    pthread_rwlock_rdlock(&inf->lock);
    json_t *set = json_object_get(inf->index_maps[i], key);
    int rc = set ? informer_collect(set, NULL, arr) : 0;
    pthread_rwlock_unlock(&inf->lock);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

size_t informer_count(struct informer *inf)
{
    pthread_rwlock_rdlock(&inf->lock);
    size_t n = json_object_size(inf->cache);
    pthread_rwlock_unlock(&inf->lock);
    return n;
}

void informer_resource_version(struct informer *inf, char *buf, size_t len)
{
    if (!len)
        return;
    pthread_rwlock_rdlock(&inf->lock);
    snprintf(buf, len, "%s", inf->rv);
    pthread_rwlock_unlock(&inf->lock);
}

void informer_get_stats(struct informer *inf, struct informer_stats *out)
{
    pthread_rwlock_rdlock(&inf->lock);
    *out = inf->stats;
    pthread_rwlock_unlock(&inf->lock);
}
