/*
 * Tests of the informer over the mem backend: the first list (paged), watch
 * events, indexes, handlers, resuming a restarted watch without losing or
 * repeating an event under a concurrent writer, relisting after compaction,
 * backoff with jitter on a virtual clock, and the thread runner.
 *
 * Faults come from a thin store that forwards to mem and can fail lists and
 * watch openings, or end watches after a number of events, so every
 * recovery path runs deterministically.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "store/informer.h"
#include "store/mem.h"

#define MS NS_PER_MS

/* ---- a store that fails on demand --------------------------------------------- */

struct faulty {
    struct store base;
    struct store *inner;
    pthread_mutex_t mu;
    int fail_lists;     /* the next n lists fail with -EIO */
    int fail_opens;     /* the next n watch openings fail with -ECONNREFUSED */
    int pipe_after;     /* watches end (-EPIPE) after this many events; -1: never */
    json_t *seen;       /* resourceVersion -> 1 of every event delivered (bookmarks aside) */
    int duplicates;     /* events delivered twice */
};

struct faulty_watch {
    struct store_watch base;
    struct store_watch *inner;
    struct faulty *f;
    int left;
};

static struct faulty *faulty_of(struct store *st)
{
    return (struct faulty *)st;
}

/* The inner store's own resource for res: a store swapped in (a restarted
 * server) has a registry of its own. */
static const struct api_resource *inner_res(struct faulty *f, const struct api_resource *res)
{
    return api_registry_find(store_registry(f->inner), res->group, res->version, res->plural);
}

static int f_get(struct store *st, const struct api_resource *res, const char *ns,
                 const char *name, json_t **out, struct err *e)
{
    return store_get(faulty_of(st)->inner, res, ns, name, out, e);
}

static int f_list(struct store *st, const struct api_resource *res, const char *ns,
                  const struct store_list_opts *o, json_t **out, struct err *e)
{
    struct faulty *f = faulty_of(st);
    pthread_mutex_lock(&f->mu);
    bool fail = f->fail_lists > 0 && f->fail_lists--;
    pthread_mutex_unlock(&f->mu);
    if (fail)
        return err_set(e, -EIO, "injected list failure");
    return store_list(f->inner, inner_res(f, res), ns, o, out, e);
}

static int f_create(struct store *st, const struct api_resource *res, const char *ns,
                    const json_t *obj, const struct store_write_opts *o, json_t **out,
                    struct err *e)
{
    return store_create(faulty_of(st)->inner, res, ns, obj, o, out, e);
}

static int f_update(struct store *st, const struct api_resource *res, const char *ns,
                    const json_t *obj, const struct store_write_opts *o, json_t **out,
                    struct err *e)
{
    return store_update(faulty_of(st)->inner, res, ns, obj, o, out, e);
}

static int f_patch(struct store *st, const struct api_resource *res, const char *ns,
                   const char *name, enum store_patch_type type, const json_t *patch,
                   const struct store_write_opts *o, json_t **out, struct err *e)
{
    return store_patch(faulty_of(st)->inner, res, ns, name, type, patch, o, out, e);
}

static int f_remove(struct store *st, const struct api_resource *res, const char *ns,
                    const char *name, const struct store_delete_opts *o, json_t **out,
                    struct err *e)
{
    return store_delete(faulty_of(st)->inner, res, ns, name, o, out, e);
}

static int f_bind(struct store *st, const char *ns, const char *pod, const char *node,
                  struct err *e)
{
    return store_bind(faulty_of(st)->inner, ns, pod, node, e);
}

static const struct store_ops faulty_ops;

static int f_watch_open(struct store *st, const struct api_resource *res, const char *ns,
                        const struct store_watch_opts *o, struct store_watch **out,
                        struct err *e)
{
    struct faulty *f = faulty_of(st);
    pthread_mutex_lock(&f->mu);
    bool fail = f->fail_opens > 0 && f->fail_opens--;
    int left = f->pipe_after;
    pthread_mutex_unlock(&f->mu);
    if (fail)
        return err_set(e, -ECONNREFUSED, "injected watch failure");
    struct faulty_watch *w = calloc(1, sizeof *w);
    int rc = store_watch_open(f->inner, inner_res(f, res), ns, o, &w->inner, e);
    if (rc) {
        free(w);
        return rc;
    }
    w->base.ops = &faulty_ops;
    w->f = f;
    w->left = left;
    *out = &w->base;
    return 0;
}

static int f_watch_next(struct store_watch *sw, int timeout_ms, struct store_event *ev,
                        struct err *e)
{
    struct faulty_watch *w = (struct faulty_watch *)sw;
    if (w->left == 0)
        return err_set(e, -EPIPE, "injected end of stream");
    int rc = store_watch_next(w->inner, timeout_ms, ev, e);
    if (rc)
        return rc;
    if (w->left > 0)
        w->left--;
    if (ev->type != STORE_BOOKMARK) {
        const char *rv = json_string_value(
            json_object_get(json_object_get(ev->object, "metadata"), "resourceVersion"));
        pthread_mutex_lock(&w->f->mu);
        if (json_object_get(w->f->seen, rv))
            w->f->duplicates++;
        json_object_set_new(w->f->seen, rv, json_true());
        pthread_mutex_unlock(&w->f->mu);
    }
    return 0;
}

static void f_watch_cancel(struct store_watch *sw)
{
    store_watch_cancel(((struct faulty_watch *)sw)->inner);
}

static void f_watch_close(struct store_watch *sw)
{
    struct faulty_watch *w = (struct faulty_watch *)sw;
    store_watch_close(w->inner);
    free(w);
}

static void f_destroy(struct store *st)
{
    struct faulty *f = faulty_of(st);
    json_decref(f->seen);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static const struct store_ops faulty_ops = {
    .name = "faulty",
    .get = f_get,
    .list = f_list,
    .create = f_create,
    .update = f_update,
    .patch = f_patch,
    .remove = f_remove,
    .bind = f_bind,
    .watch_open = f_watch_open,
    .watch_next = f_watch_next,
    .watch_cancel = f_watch_cancel,
    .watch_close = f_watch_close,
    .destroy = f_destroy,
};

/* ---- the rig ---------------------------------------------------------------------- */

static int64_t mem_clock(void *ctx)
{
    (void)ctx;
    return 1700000000ll * 1000000000ll;
}

static int64_t virtual_ns(void *ctx)
{
    return *(int64_t *)ctx;
}

struct seen {
    int added, updated, deleted;
    char log[64][48]; /* "A ns/name" ... for the first 64 changes */
    int n;
    struct informer *inf;
    int misreads;     /* changes that disagree with old or with the cache */
};

static void on_change(void *ctx, enum informer_change change, const json_t *old,
                      const json_t *cur)
{
    struct seen *s = ctx;
    const json_t *meta = json_object_get(cur, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    static const char tag[] = "AUD";
    if (s->n < 64)
        snprintf(s->log[s->n], sizeof s->log[0], "%c %s/%s", tag[change], ns ? ns : "", name);
    s->n++;
    s->added += change == INFORMER_ADDED;
    s->updated += change == INFORMER_UPDATED;
    s->deleted += change == INFORMER_DELETED;
    if ((change == INFORMER_ADDED) != (old == NULL))
        s->misreads++;
    /* Handlers run after their batch is in the cache, with no lock held:
     * reading the informer works, and a deleted object is gone (no test
     * re-creates a name within one batch). */
    if (s->inf) {
        json_t *got;
        int rc = informer_get(s->inf, ns, name, &got);
        if (change == INFORMER_DELETED && rc != -ENOENT)
            s->misreads++;
        json_decref(got);
    }
}

struct rig {
    struct store *mem;
    struct faulty *f;
    const struct api_resource *pods;
    struct informer *inf;
    struct seen seen;
    int64_t now;
};

static void rig_up(struct rig *r, const struct informer_config *extra)
{
    memset(r, 0, sizeof *r);
    struct mem_store_config mc = {.now_ns = mem_clock, .seed = 1, .auto_collect = true};
    struct err e;
    assert_int_equal(mem_store_new(&mc, &r->mem, &e), 0);
    r->f = calloc(1, sizeof *r->f);
    r->f->base.ops = &faulty_ops;
    r->f->base.registry = store_registry(r->mem);
    r->f->inner = r->mem;
    r->f->pipe_after = -1;
    r->f->seen = json_object();
    pthread_mutex_init(&r->f->mu, NULL);
    r->pods = api_registry_find(store_registry(r->mem), "", "v1", "pods");
    r->now = 1000 * MS;
    struct informer_config c = extra ? *extra : (struct informer_config){0};
    c.store = &r->f->base;
    c.res = r->pods;
    c.handler = on_change;
    c.handler_ctx = &r->seen;
    c.now_ns = virtual_ns;
    c.clock_ctx = &r->now;
    assert_int_equal(informer_new(&c, &r->inf, &e), 0);
    r->seen.inf = r->inf;
}

static void rig_down(struct rig *r)
{
    informer_free(r->inf);
    store_free(&r->f->base);
    store_free(r->mem);
}

static json_t *pod(const char *ns, const char *name, const char *node, const char *owner)
{
    json_t *p = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:[{s:s, s:s}]}}", "apiVersion",
                          "v1", "kind", "Pod", "metadata", "name", name, "namespace", ns,
                          "labels", "app", "web", "spec", "containers", "name", "c", "image",
                          "busybox");
    if (node)
        json_object_set_new(json_object_get(p, "spec"), "nodeName", json_string(node));
    if (owner)
        json_object_set_new(json_object_get(p, "metadata"), "ownerReferences",
                            json_pack("[{s:s, s:s, s:s, s:s}]", "apiVersion", "apps/v1",
                                      "kind", "ReplicaSet", "name", "rs", "uid", owner));
    return p;
}

static void create_pod(struct rig *r, const char *ns, const char *name, const char *node,
                       const char *owner)
{
    json_t *p = pod(ns, name, node, owner);
    struct err e;
    if (store_create(r->mem, r->pods, ns, p, NULL, NULL, &e) != 0)
        fail_msg("create %s/%s: %s", ns, name, e.msg);
    json_decref(p);
}

static void label_pod(struct rig *r, const char *ns, const char *name, const char *value)
{
    json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "app", value);
    struct err e;
    if (store_patch(r->mem, r->pods, ns, name, STORE_PATCH_MERGE, patch, NULL, NULL, &e) != 0)
        fail_msg("patch %s/%s: %s", ns, name, e.msg);
    json_decref(patch);
}

static void delete_pod(struct rig *r, const char *ns, const char *name)
{
    struct store_delete_opts o = {.has_grace = true, .grace_s = 0};
    struct err e;
    if (store_delete(r->mem, r->pods, ns, name, &o, NULL, &e) != 0)
        fail_msg("delete %s/%s: %s", ns, name, e.msg);
}

/* Steps until the informer has seen the store's last write. */
static void catch_up(struct rig *r)
{
    char want[32], got[32];
    snprintf(want, sizeof want, "%llu", (unsigned long long)mem_store_revision(r->mem));
    for (int i = 0; i < 1000; i++) {
        informer_resource_version(r->inf, got, sizeof got);
        if (strcmp(got, want) == 0 && informer_wake_at(r->inf) == 0)
            return;
        if (informer_wake_at(r->inf))
            r->now = informer_wake_at(r->inf);
        informer_step(r->inf, 0, NULL);
    }
    fail_msg("informer stuck at %s, store at %s", got, want);
}

/* The cache holds exactly what the store lists. */
static void assert_cache_is_store(struct rig *r)
{
    json_t *list;
    struct err e;
    assert_int_equal(store_list(r->mem, r->pods, NULL, NULL, &list, &e), 0);
    json_t *items = json_object_get(list, "items");
    assert_int_equal(informer_count(r->inf), json_array_size(items));
    size_t i;
    json_t *obj;
    json_array_foreach(items, i, obj) {
        const json_t *meta = json_object_get(obj, "metadata");
        json_t *got;
        assert_int_equal(informer_get(r->inf, json_string_value(json_object_get(meta,
                                                                                "namespace")),
                                      json_string_value(json_object_get(meta, "name")), &got),
                         0);
        assert_true(json_equal(got, obj));
        json_decref(got);
    }
    json_decref(list);
}

/* ---- tests ---------------------------------------------------------------------------- */

/* informer_step_ready: every informer given is stepped until nothing is
 * ready, and says how many steps worked (0 once caught up). */
static void step_ready_drains_every_informer(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, NULL);
    struct informer *second = NULL;
    struct informer_config c = {.store = r.mem, .res = r.pods, .now_ns = virtual_ns,
                                .clock_ctx = &r.now};
    assert_int_equal(informer_new(&c, &second, NULL), 0);
    create_pod(&r, "default", "a", NULL, NULL);
    struct informer *both[] = {r.inf, second};
    assert_true(informer_step_ready(both, 2) >= 4); /* a list and a watch each */
    assert_int_equal(informer_count(r.inf), 1);
    assert_int_equal(informer_count(second), 1);
    assert_int_equal(informer_step_ready(both, 2), 0);
    create_pod(&r, "default", "b", NULL, NULL);
    assert_int_equal(informer_step_ready(both, 2), 2);
    assert_int_equal(informer_count(second), 2);
    informer_free(second);
    rig_down(&r);
}

static void count_event(void *ctx)
{
    (*(int *)ctx)++;
}

/* Listed and watching, the informer's on_event hears of each write it will
 * read, as it is made. */
static void a_watching_informer_is_told_of_its_events(void **state)
{
    (void)state;
    struct rig r;
    int told = 0;
    struct informer_config c = {.on_event = count_event, .on_event_ctx = &told};
    rig_up(&r, &c);
    assert_false(informer_watching(r.inf));
    while (informer_step(r.inf, 0, NULL) == 0)
        ;
    assert_true(informer_watching(r.inf));
    create_pod(&r, "t", "a", NULL, NULL);
    assert_int_equal(told, 1);
    assert_int_equal(informer_step(r.inf, 0, NULL), 0);
    assert_int_equal(informer_count(r.inf), 1);
    rig_down(&r);
}

static void first_list_fills_the_cache_page_by_page(void **state)
{
    (void)state;
    struct rig r;
    struct informer_config c = {.page_size = 2};
    rig_up(&r, &c);
    create_pod(&r, "t", "a", NULL, NULL);
    create_pod(&r, "t", "b", NULL, NULL);
    create_pod(&r, "u", "c", NULL, NULL);
    assert_false(informer_synced(r.inf));
    assert_int_equal(informer_wait_synced(r.inf, 0), -ETIMEDOUT);
    assert_int_equal(informer_wait_synced(r.inf, 20), -ETIMEDOUT);
    struct err e;
    assert_int_equal(informer_step(r.inf, 0, &e), 0);
    assert_true(informer_synced(r.inf));
    assert_int_equal(informer_wait_synced(r.inf, 0), 0);
    assert_int_equal(informer_count(r.inf), 3);
    assert_int_equal(r.seen.added, 3);
    assert_int_equal(r.seen.misreads, 0);
    assert_cache_is_store(&r);
    json_t *in_t = informer_list(r.inf, "t");
    assert_int_equal(json_array_size(in_t), 2);
    json_decref(in_t);
    json_t *all = informer_list(r.inf, NULL);
    assert_int_equal(json_array_size(all), 3);
    json_decref(all);
    json_t *got;
    assert_int_equal(informer_get(r.inf, "t", "zzz", &got), -ENOENT);
    assert_null(got);
    char rv[32];
    informer_resource_version(r.inf, rv, sizeof rv);
    assert_string_equal(rv, "3");
    struct informer_stats s;
    informer_get_stats(r.inf, &s);
    assert_int_equal(s.lists, 1);
    assert_int_equal(s.relists, 0);
    rig_down(&r);
}

static void watch_events_change_the_cache_and_call_handlers(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, NULL);
    create_pod(&r, "t", "a", NULL, NULL);
    assert_int_equal(informer_step(r.inf, 0, NULL), 0); /* list */
    assert_int_equal(informer_step(r.inf, 0, NULL), 0); /* open */
    assert_int_equal(informer_step(r.inf, 0, NULL), -EAGAIN);
    create_pod(&r, "t", "b", NULL, NULL);
    label_pod(&r, "t", "a", "db");
    delete_pod(&r, "t", "b");
    assert_int_equal(informer_step(r.inf, 0, NULL), 0);
    assert_int_equal(r.seen.n, 4);
    assert_string_equal(r.seen.log[0], "A t/a");
    assert_string_equal(r.seen.log[1], "A t/b");
    assert_string_equal(r.seen.log[2], "U t/a");
    assert_string_equal(r.seen.log[3], "D t/b");
    assert_int_equal(r.seen.misreads, 0);
    json_t *a;
    assert_int_equal(informer_get(r.inf, "t", "a", &a), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(a, "metadata"), "labels"), "app")),
                        "db");
    json_decref(a);
    catch_up(&r);
    assert_cache_is_store(&r);
    rig_down(&r);
}

static size_t app_label(const json_t *obj, const char **keys, size_t max, void *ctx)
{
    (void)ctx;
    const json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
    const char *app = json_string_value(json_object_get(labels, "app"));
    if (!app || !max)
        return app != NULL;
    keys[0] = app;
    return 1;
}

static size_t names_of(json_t *arr, const char *want)
{
    size_t i, hits = 0;
    json_t *obj;
    json_array_foreach(arr, i, obj) {
        const char *n = json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                          "name"));
        hits += strstr(want, n) != NULL;
    }
    return hits;
}

static void indexes_follow_the_objects(void **state)
{
    (void)state;
    struct rig r;
    struct informer_config c = {
        .indexes = {{"namespace", informer_keys_namespace, NULL},
                    {"node", informer_keys_node, NULL},
                    {"owner", informer_keys_owner, NULL},
                    {"app", app_label, NULL}},
        .index_count = 4,
    };
    rig_up(&r, &c);
    create_pod(&r, "t", "a", "n1", "rs-1");
    create_pod(&r, "t", "b", "n2", "rs-1");
    create_pod(&r, "u", "c", "n1", NULL);
    catch_up(&r);
    json_t *got;
    assert_int_equal(informer_by_index(r.inf, "node", "n1", &got), 0);
    assert_int_equal(json_array_size(got), 2);
    assert_int_equal(names_of(got, "a c"), 2);
    json_decref(got);
    assert_int_equal(informer_by_index(r.inf, "owner", "rs-1", &got), 0);
    assert_int_equal(names_of(got, "a b"), 2);
    assert_int_equal(json_array_size(got), 2);
    json_decref(got);
    assert_int_equal(informer_by_index(r.inf, "namespace", "u", &got), 0);
    assert_int_equal(json_array_size(got), 1);
    json_decref(got);
    assert_int_equal(informer_by_index(r.inf, "node", "n9", &got), 0);
    assert_int_equal(json_array_size(got), 0);
    json_decref(got);
    assert_int_equal(informer_by_index(r.inf, "zone", "x", &got), -ENOENT);
    assert_null(got);

    /* An update moves an object between keys; a delete takes it out. */
    label_pod(&r, "t", "a", "db");
    delete_pod(&r, "t", "b");
    catch_up(&r);
    assert_int_equal(informer_by_index(r.inf, "app", "db", &got), 0);
    assert_int_equal(names_of(got, "a"), 1);
    assert_int_equal(json_array_size(got), 1);
    json_decref(got);
    assert_int_equal(informer_by_index(r.inf, "app", "web", &got), 0);
    assert_int_equal(json_array_size(got), 1); /* c only */
    json_decref(got);
    assert_int_equal(informer_by_index(r.inf, "owner", "rs-1", &got), 0);
    assert_int_equal(json_array_size(got), 1);
    json_decref(got);
    /* A key the update kept (a's node) holds its new version. */
    assert_int_equal(informer_by_index(r.inf, "node", "n1", &got), 0);
    assert_int_equal(json_array_size(got), 2);
    size_t i;
    json_t *pod;
    int labelled = 0;
    json_array_foreach(got, i, pod) {
        const json_t *md = json_object_get(pod, "metadata");
        const char *app = json_string_value(json_object_get(json_object_get(md, "labels"), "app"));
        labelled += !strcmp(json_string_value(json_object_get(md, "name")), "a") && app &&
                    !strcmp(app, "db");
    }
    assert_int_equal(labelled, 1);
    json_decref(got);
    rig_down(&r);
}

static void index_key_functions_read_the_right_fields(void **state)
{
    (void)state;
    const char *keys[4];
    json_t *slice = json_pack("{s:s, s:{s:s, s:s}, s:{s:s}}", "kind", "GPUSlice", "metadata",
                              "name", "s", "namespace", "t", "spec", "nodeName", "gpu-node-1");
    assert_int_equal(informer_keys_node(slice, keys, 4, NULL), 1);
    assert_string_equal(keys[0], "gpu-node-1");
    assert_int_equal(informer_keys_namespace(slice, keys, 4, NULL), 1);
    assert_string_equal(keys[0], "t");
    assert_int_equal(informer_keys_owner(slice, keys, 4, NULL), 0);
    json_t *node = json_pack("{s:{s:s}}", "metadata", "name", "n1");
    assert_int_equal(informer_keys_namespace(node, keys, 4, NULL), 0);
    assert_int_equal(informer_keys_node(node, keys, 4, NULL), 0);
    json_t *owned = json_pack("{s:{s:[{s:s}, {s:s}, {s:s}, {}]}}", "metadata",
                              "ownerReferences", "uid", "u1", "uid", "u2", "uid", "");
    assert_int_equal(informer_keys_owner(owned, keys, 1, NULL), 2);
    assert_string_equal(keys[0], "u1");
    json_decref(slice);
    json_decref(node);
    json_decref(owned);
}

/* A writer thread for the resume test. */
struct writer {
    struct rig *r;
    int n;
};

static void *write_many(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < w->n; i++) {
        char name[16];
        snprintf(name, sizeof name, "w%d", i % 10);
        if (i < 10)
            create_pod(w->r, "t", name, NULL, NULL);
        else {
            char value[16];
            snprintf(value, sizeof value, "v%d", i);
            label_pod(w->r, "t", name, value);
        }
    }
    return NULL;
}

static void restarted_watches_resume_without_loss_or_repeats(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, NULL);
    r.f->pipe_after = 7;
    /* A first write, so the list's version is not "0" (a watch from "0"
     * starts with the current state, which would fold updates together). */
    create_pod(&r, "t", "first", NULL, NULL);
    assert_int_equal(informer_step(r.inf, 0, NULL), 0);
    struct writer w = {&r, 300};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_many, &w), 0);
    for (int i = 0; i < 2000 && r.seen.n < w.n + 1; i++) {
        if (informer_wake_at(r.inf))
            r.now = informer_wake_at(r.inf);
        informer_step(r.inf, 5, NULL);
    }
    pthread_join(t, NULL);
    catch_up(&r);
    assert_int_equal(r.seen.added, 11);
    assert_int_equal(r.seen.updated, w.n - 10);
    assert_int_equal(r.seen.deleted, 0);
    assert_int_equal(r.f->duplicates, 0);
    assert_int_equal(r.seen.misreads, 0);
    struct informer_stats s;
    informer_get_stats(r.inf, &s);
    assert_true(s.watches >= (uint64_t)(w.n / 7));
    assert_int_equal(s.lists, 1);
    assert_cache_is_store(&r);
    rig_down(&r);
}

static void a_compacted_version_relists_and_reports_the_difference(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, NULL);
    create_pod(&r, "t", "keep", NULL, NULL);
    create_pod(&r, "t", "gone", NULL, NULL);
    create_pod(&r, "t", "changed", NULL, NULL);
    catch_up(&r);
    r.f->pipe_after = 0;                                 /* the stream breaks at once ... */
    assert_int_equal(informer_step(r.inf, 0, NULL), 0);  /* open */
    assert_int_equal(informer_step(r.inf, 0, NULL), -EPIPE);
    /* ... and meanwhile the store moves on and forgets. */
    create_pod(&r, "t", "new", NULL, NULL);
    delete_pod(&r, "t", "gone");
    label_pod(&r, "t", "changed", "db");
    mem_store_compact(r.mem);
    r.f->pipe_after = -1;
    r.seen.n = 0;
    r.now = informer_wake_at(r.inf);
    assert_int_equal(informer_step(r.inf, 0, NULL), 0);            /* reopen, old version */
    assert_int_equal(informer_step(r.inf, 0, NULL), -EKEYEXPIRED); /* 410 */
    assert_int_equal(informer_step(r.inf, 0, NULL), 0);            /* relist */
    assert_int_equal(r.seen.n, 3);
    assert_string_equal(r.seen.log[0], "D t/gone");
    assert_string_equal(r.seen.log[1], "U t/changed");
    assert_string_equal(r.seen.log[2], "A t/new");
    assert_int_equal(r.seen.misreads, 0);
    struct informer_stats s;
    informer_get_stats(r.inf, &s);
    assert_int_equal(s.lists, 2);
    assert_int_equal(s.relists, 1);
    catch_up(&r);
    assert_cache_is_store(&r);
    rig_down(&r);
}

/* The server restarted with an empty store: the informer's watch resumes
 * from a version the new store has not reached. The store waits for it,
 * then says "Too large resource version", and the informer relists,
 * seeing what was made after the restart, even an object re-created at the
 * resourceVersion its old self had. */
static void a_restarted_store_is_relisted(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, NULL);
    create_pod(&r, "t", "a", NULL, NULL);
    create_pod(&r, "t", "b", NULL, NULL);
    create_pod(&r, "t", "c", NULL, NULL);
    catch_up(&r);
    r.f->pipe_after = 0;                                 /* the server goes away ... */
    assert_int_equal(informer_step(r.inf, 0, NULL), 0);  /* open */
    assert_int_equal(informer_step(r.inf, 0, NULL), -EPIPE);
    int64_t fresh_now = 1700000000ll * NS_PER_SEC;       /* ... and comes back empty */
    struct mem_store_config mc = {.now_ns = virtual_ns, .clock_ctx = &fresh_now, .seed = 2};
    struct store *old = r.mem;
    assert_int_equal(mem_store_new(&mc, &r.mem, NULL), 0);
    r.f->inner = r.mem;
    r.pods = api_registry_find(store_registry(r.mem), "", "v1", "pods");
    create_pod(&r, "t", "a", NULL, NULL); /* resourceVersion 1, as the old "a" */
    create_pod(&r, "t", "new", NULL, NULL);
    r.f->pipe_after = -1;
    r.seen.n = 0;
    r.now = informer_wake_at(r.inf);
    assert_int_equal(informer_step(r.inf, 0, NULL), 0);       /* reopen at 3 */
    assert_int_equal(informer_step(r.inf, 0, NULL), -EAGAIN); /* the store waits for 3 */
    fresh_now += MEM_STORE_FUTURE_WAIT_NS;
    struct err e;
    assert_int_equal(informer_step(r.inf, 0, &e), -ETIME);
    assert_string_equal(e.msg, "Too large resource version: 3, current: 2");
    assert_int_equal(informer_step(r.inf, 0, NULL), 0); /* relist */
    assert_int_equal(r.seen.n, 4);
    assert_string_equal(r.seen.log[0], "D t/b");
    assert_string_equal(r.seen.log[1], "D t/c");
    assert_string_equal(r.seen.log[2], "U t/a");
    assert_string_equal(r.seen.log[3], "A t/new");
    assert_int_equal(r.seen.misreads, 0);
    struct informer_stats st;
    informer_get_stats(r.inf, &st);
    assert_int_equal(st.relists, 1);
    catch_up(&r);
    assert_cache_is_store(&r);
    rig_down(&r);
    store_free(old);
}

static void failures_back_off_with_jitter(void **state)
{
    (void)state;
    struct rig r;
    struct informer_config c = {.backoff = {100 * MS, 300 * MS}, .seed = 7};
    rig_up(&r, &c);
    r.f->fail_lists = 4;
    static const int64_t lo[] = {50 * MS, 100 * MS, 150 * MS, 150 * MS},
                        hi[] = {100 * MS, 200 * MS, 300 * MS, 300 * MS};
    int64_t waits[4];
    for (int i = 0; i < 4; i++) {
        struct err e;
        assert_int_equal(informer_step(r.inf, 0, &e), -EIO);
        assert_string_equal(e.msg, "injected list failure");
        int64_t wait = informer_wake_at(r.inf) - r.now;
        assert_in_range(wait, lo[i], hi[i]);
        waits[i] = wait;
        r.now += wait - 1;
        assert_int_equal(informer_step(r.inf, 0, &e), -EAGAIN); /* not yet */
        r.now += 1;
    }
    assert_int_equal(informer_step(r.inf, 0, NULL), 0);
    assert_int_equal(informer_wake_at(r.inf), 0);
    struct informer_stats s;
    informer_get_stats(r.inf, &s);
    assert_int_equal(s.failures, 4);

    /* The jitter is reproducible from the seed. */
    struct rig r2;
    rig_up(&r2, &c);
    r2.f->fail_lists = 4;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(informer_step(r2.inf, 0, NULL), -EIO);
        assert_int_equal(informer_wake_at(r2.inf) - r2.now, waits[i]);
        r2.now = informer_wake_at(r2.inf);
    }
    rig_down(&r2);

    /* A watch that cannot open backs off too, then recovers. */
    r.f->fail_opens = 1;
    assert_int_equal(informer_step(r.inf, 0, NULL), -ECONNREFUSED);
    assert_true(informer_wake_at(r.inf) > r.now);
    r.now = informer_wake_at(r.inf);
    assert_int_equal(informer_step(r.inf, 0, NULL), 0);
    create_pod(&r, "t", "a", NULL, NULL);
    assert_int_equal(informer_step(r.inf, 0, NULL), 0);
    assert_int_equal(informer_count(r.inf), 1);
    rig_down(&r);
}

static void a_selector_keeps_only_matching_objects(void **state)
{
    (void)state;
    struct rig r;
    struct informer_config c = {.label_selector = "app=web"};
    rig_up(&r, &c);
    create_pod(&r, "t", "a", NULL, NULL);
    create_pod(&r, "t", "b", NULL, NULL);
    catch_up(&r);
    assert_int_equal(informer_count(r.inf), 2);
    label_pod(&r, "t", "a", "db");
    catch_up(&r);
    assert_int_equal(informer_count(r.inf), 1);
    assert_int_equal(r.seen.deleted, 1);
    json_t *got;
    assert_int_equal(informer_get(r.inf, "t", "a", &got), -ENOENT);
    rig_down(&r);
}

static void the_thread_runner_keeps_the_cache_current(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r, NULL);
    /* The runner waits in real time; give the informer the real clock. */
    informer_free(r.inf);
    struct informer_config c = {.store = &r.f->base, .res = r.pods};
    struct err e;
    assert_int_equal(informer_new(&c, &r.inf, &e), 0);
    create_pod(&r, "t", "a", NULL, NULL);
    assert_int_equal(informer_start(r.inf, &e), 0);
    assert_int_equal(informer_start(r.inf, &e), -EBUSY);
    assert_int_equal(informer_wait_synced(r.inf, 10000), 0);
    for (int i = 0; i < 20; i++) {
        char name[8];
        snprintf(name, sizeof name, "p%d", i);
        create_pod(&r, "t", name, NULL, NULL);
    }
    for (int i = 0; i < 1000 && informer_count(r.inf) < 21; i++)
        usleep(10000);
    assert_int_equal(informer_count(r.inf), 21);
    informer_stop(r.inf);
    informer_stop(r.inf); /* stopping twice is harmless */
    create_pod(&r, "t", "late", NULL, NULL);
    assert_int_equal(informer_start(r.inf, &e), 0); /* and it starts again */
    for (int i = 0; i < 1000 && informer_count(r.inf) < 22; i++)
        usleep(10000);
    assert_int_equal(informer_count(r.inf), 22);
    rig_down(&r); /* frees a running informer */
}

static void bad_configs_are_refused(void **state)
{
    (void)state;
    struct informer *inf;
    struct err e;
    assert_int_equal(informer_new(NULL, &inf, &e), -EINVAL);
    struct informer_config c = {0};
    assert_int_equal(informer_new(&c, &inf, &e), -EINVAL);
    assert_null(inf);
    struct rig r;
    rig_up(&r, NULL);
    c = (struct informer_config){.store = r.mem, .res = r.pods, .index_count = 2,
                                 .indexes = {{"x", informer_keys_node, NULL},
                                             {"x", informer_keys_owner, NULL}}};
    assert_int_equal(informer_new(&c, &inf, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "two indexes named \"x\""));
    c.indexes[1].keys = NULL;
    c.indexes[1].name = "y";
    assert_int_equal(informer_new(&c, &inf, &e), -EINVAL);
    c.index_count = INFORMER_INDEX_MAX + 1;
    assert_int_equal(informer_new(&c, &inf, &e), -EINVAL);
    c = (struct informer_config){.store = r.mem, .res = r.pods, .backoff.base_ns = -1};
    assert_int_equal(informer_new(&c, &inf, &e), -EINVAL);
    informer_free(NULL);
    rig_down(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(step_ready_drains_every_informer),
        cmocka_unit_test(first_list_fills_the_cache_page_by_page),
        cmocka_unit_test(a_watching_informer_is_told_of_its_events),
        cmocka_unit_test(watch_events_change_the_cache_and_call_handlers),
        cmocka_unit_test(indexes_follow_the_objects),
        cmocka_unit_test(index_key_functions_read_the_right_fields),
        cmocka_unit_test(restarted_watches_resume_without_loss_or_repeats),
        cmocka_unit_test(a_compacted_version_relists_and_reports_the_difference),
        cmocka_unit_test(a_restarted_store_is_relisted),
        cmocka_unit_test(failures_back_off_with_jitter),
        cmocka_unit_test(a_selector_keeps_only_matching_objects),
        cmocka_unit_test(the_thread_runner_keeps_the_cache_current),
        cmocka_unit_test(bad_configs_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
