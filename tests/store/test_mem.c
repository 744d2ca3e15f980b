/* The semantics suite against the mem store, plus what only the mem store
 * has: its virtual clock, seeded identities, the collector as a step, and a
 * bounded history. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/meta.h"
#include "semantics.h"
#include "store/mem.h"
#include "store/mem_internal.h"
#include "util/jdoc.h"
#include "util/rng.h"

struct clock {
    int64_t now;
};

static int64_t clock_now(void *ctx)
{
    return ((struct clock *)ctx)->now;
}

#define T0 1714557600000000000LL /* 2024-05-01T10:00:00Z */

static int mem_open_kept(void **ctx, struct store **st, size_t history, bool auto_collect,
                         size_t values_kept)
{
    struct clock *c = calloc(1, sizeof *c);
    c->now = T0;
    struct mem_store_config cfg = {.now_ns = clock_now, .clock_ctx = c, .history = history,
                                   .seed = 42, .auto_collect = auto_collect,
                                   .values_kept = values_kept};
    struct err e;
    int rc = mem_store_new(&cfg, st, &e);
    if (rc)
        free(c);
    else
        *ctx = c;
    return rc;
}

static int mem_open_with(void **ctx, struct store **st, size_t history, bool auto_collect)
{
    return mem_open_kept(ctx, st, history, auto_collect, 0);
}

static int fixture_open(void **ctx, struct store **st)
{
    return mem_open_with(ctx, st, 0, false);
}

/* Every version but the latest write's keeps only its text: the whole
 * suite again through the paths that parse it back. */
static int fixture_open_cold(void **ctx, struct store **st)
{
    return mem_open_kept(ctx, st, 0, false, 1);
}

static void fixture_close(void *ctx, struct store *st)
{
    store_free(st);
    free(ctx);
}

static void fixture_settle(void *ctx, struct store *st)
{
    (void)ctx;
    struct err e;
    size_t pending = 1;
    assert_true(mem_store_collect(st, 0, &pending, &e) >= 0);
    assert_int_equal(pending, 0);
}

static void fixture_compact(void *ctx, struct store *st)
{
    (void)ctx;
    mem_store_compact(st);
}

static void fixture_advance(void *ctx, int64_t ns)
{
    ((struct clock *)ctx)->now += ns;
}

static const struct store_fixture mem_fixture = {
    "store_mem_semantics", fixture_open, fixture_close, fixture_settle, fixture_compact,
    fixture_advance,
};

static const struct store_fixture mem_cold_fixture = {
    "store_mem_semantics_cold", fixture_open_cold, fixture_close, fixture_settle,
    fixture_compact, fixture_advance,
};

/* --- mem only -------------------------------------------------------------- */

struct m {
    void *ctx;
    struct store *st;
};

static int m_setup(void **state)
{
    struct m *m = calloc(1, sizeof *m);
    *state = m;
    return mem_open_with(&m->ctx, &m->st, 8, false);
}

static int m_setup_auto(void **state)
{
    struct m *m = calloc(1, sizeof *m);
    *state = m;
    return mem_open_with(&m->ctx, &m->st, 0, true);
}

static int m_teardown(void **state)
{
    struct m *m = *state;
    fixture_close(m->ctx, m->st);
    free(m);
    return 0;
}

static const struct api_resource *res(struct m *m, const char *name)
{
    return api_registry_resolve(store_registry(m->st), name);
}

static json_t *cm(struct m *m, const char *name)
{
    json_t *c = json_pack("{s:{s:s}}", "metadata", "name", name);
    json_t *out = NULL;
    struct err e;
    assert_int_equal(store_create(m->st, res(m, "cm"), "t", c, NULL, &out, &e), 0);
    json_decref(c);
    return out;
}

static void needs_a_clock(void **state)
{
    (void)state;
    struct mem_store_config cfg = {0};
    struct store *st;
    struct err e;
    assert_int_equal(mem_store_new(&cfg, &st, &e), -EINVAL);
    assert_null(st);
    assert_int_equal(mem_store_new(NULL, &st, &e), -EINVAL);
}

static void timestamps_come_from_the_clock(void **state)
{
    struct m *m = *state;
    json_t *a = cm(m, "a");
    assert_string_equal(json_string_value(json_object_get(json_object_get(a, "metadata"),
                                                          "creationTimestamp")),
                        "2024-05-01T10:00:00Z");
    ((struct clock *)m->ctx)->now += 90 * 1000000000LL;
    json_t *b = cm(m, "b");
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "metadata"),
                                                          "creationTimestamp")),
                        "2024-05-01T10:01:30Z");
    json_decref(a);
    json_decref(b);
}

static void identities_follow_the_seed(void **state)
{
    struct m *m = *state;
    void *ctx2;
    struct store *st2;
    assert_int_equal(mem_open_with(&ctx2, &st2, 0, false), 0);
    json_t *a = cm(m, "a");
    struct m other = {ctx2, st2};
    json_t *b = cm(&other, "a");
    assert_string_equal(json_string_value(json_object_get(json_object_get(a, "metadata"), "uid")),
                        json_string_value(json_object_get(json_object_get(b, "metadata"), "uid")));
    json_decref(a);
    json_decref(b);
    fixture_close(ctx2, st2);
}

static void revision_counts_writes(void **state)
{
    struct m *m = *state;
    assert_int_equal(mem_store_revision(m->st), 0);
    json_decref(cm(m, "a"));
    json_decref(cm(m, "b"));
    assert_int_equal(mem_store_revision(m->st), 2);
}

static void slow_watcher_falls_off_the_history(void **state)
{
    struct m *m = *state; /* history of 8 events */
    struct store_watch_opts o = {.resource_version = "0"};
    struct store_watch *w;
    struct err e;
    json_decref(cm(m, "first"));
    o.resource_version = "1";
    assert_int_equal(store_watch_open(m->st, res(m, "cm"), "t", &o, &w, &e), 0);
    for (int i = 0; i < 10; i++) {
        char name[8];
        snprintf(name, sizeof name, "c%d", i);
        json_decref(cm(m, name));
    }
    struct store_event ev;
    assert_int_equal(store_watch_next(w, 0, &ev, &e), -EKEYEXPIRED);
    store_watch_close(w);
}

/* A configmap on a node: the label gpuslice's agents select by. */
static void put_on_node(struct m *m, const char *name, const char *node, bool create)
{
    json_t *c = json_pack("{s:{s:s, s:{s:s}}}", "metadata", "name", name, "labels",
                          "gpuslice.dev/node", node);
    struct err e;
    int rc = create ? store_create(m->st, res(m, "cm"), "t", c, NULL, NULL, &e)
                    : store_update(m->st, res(m, "cm"), "t", c, NULL, NULL, &e);
    assert_int_equal(rc, 0);
    json_decref(c);
}

static struct store_watch *watch_from(struct m *m, const char *rv, const char *labels,
                                      const char *fields)
{
    struct store_watch_opts o = {.resource_version = rv, .label_selector = labels,
                                 .field_selector = fields};
    struct store_watch *w;
    struct err e;
    assert_int_equal(store_watch_open(m->st, res(m, "cm"), "t", &o, &w, &e), 0);
    return w;
}

/* w's next event is type of name, told at resourceVersion rv (NULL: any). */
static void next_at(struct store_watch *w, enum store_event_type type, const char *name,
                    const char *rv)
{
    struct store_event ev;
    struct err e;
    assert_int_equal(store_watch_next(w, 0, &ev, &e), 0);
    assert_int_equal(ev.type, type);
    const json_t *md = json_object_get(ev.object, "metadata");
    assert_string_equal(json_string_value(json_object_get(md, "name")), name);
    if (rv)
        assert_string_equal(json_string_value(json_object_get(md, "resourceVersion")), rv);
    store_event_release(&ev);
}

static void next_is(struct store_watch *w, enum store_event_type type, const char *name)
{
    next_at(w, type, name, NULL);
}

/* Watches filed under the label or name they select by get the events of
 * their objects and no others, an object moving between them included; a
 * watch resumed from an older version first reads what it missed. */
static void routed_watches_get_their_objects_events(void **state)
{
    struct m *m = *state;
    put_on_node(m, "a", "n1", true); /* rv 1 */
    put_on_node(m, "b", "n2", true); /* rv 2 */
    put_on_node(m, "d", "n1", true); /* rv 3 */
    struct store_watch *n1 = watch_from(m, "1", "gpuslice.dev/node=n1", NULL);
    struct store_watch *n2 = watch_from(m, "3", "gpuslice.dev/node=n2", NULL);
    struct store_watch *named = watch_from(m, "3", NULL, "metadata.name=c");
    struct store_watch *all = watch_from(m, "3", NULL, NULL);
    put_on_node(m, "c", "n1", true);  /* rv 4 */
    put_on_node(m, "b", "n1", false); /* rv 5: from n2 to n1 */
    next_is(n1, STORE_ADDED, "d");
    next_is(n1, STORE_ADDED, "c");
    next_is(n1, STORE_ADDED, "b");
    next_is(n2, STORE_DELETED, "b");
    next_is(named, STORE_ADDED, "c");
    next_is(all, STORE_ADDED, "c");
    next_is(all, STORE_MODIFIED, "b");
    struct store_watch *ws[] = {n1, n2, named, all};
    for (size_t i = 0; i < 4; i++) {
        struct store_event ev;
        assert_int_equal(store_watch_next(ws[i], 0, &ev, NULL), -EAGAIN);
        store_watch_close(ws[i]);
    }
}

/* The names a list of cm in ns gives (NULL: all namespaces), joined by
 * ','; its continue token (if any) into next. */
static void list_names(struct m *m, const char *ns, const struct store_list_opts *o, char *out,
                       size_t len, char *next, size_t next_len)
{
    json_t *list;
    struct err e;
    assert_int_equal(store_list(m->st, res(m, "cm"), ns, o, &list, &e), 0);
    size_t i, used = 0;
    json_t *item;
    out[0] = '\0';
    json_array_foreach(json_object_get(list, "items"), i, item)
        used += (size_t)snprintf(out + used, len - used, "%s%s", i ? "," : "",
                                 json_string_value(json_object_get(
                                     json_object_get(item, "metadata"), "name")));
    const char *token =
        json_string_value(json_object_get(json_object_get(list, "metadata"), "continue"));
    if (next)
        snprintf(next, next_len, "%s", token ? token : "");
    json_decref(list);
}

/* A list selected by a label reads the objects indexed under its value
 * (the index made by the first such list, then kept by every write): an
 * object relabelled moves, a deleted one goes, and a paged list still
 * gives its pages as of its first one. A name in a namespace is found
 * without an index. */
static void selected_lists_follow_their_index(void **state)
{
    struct m *m = *state;
    char names[256], next[1024];
    put_on_node(m, "a", "n1", true);
    put_on_node(m, "b", "n2", true);
    struct store_list_opts n1 = {.label_selector = "gpuslice.dev/node=n1"};
    list_names(m, "t", &n1, names, sizeof names, NULL, 0);
    assert_string_equal(names, "a");
    put_on_node(m, "c", "n1", true);
    put_on_node(m, "b", "n1", false); /* from n2 to n1 */
    list_names(m, "t", &n1, names, sizeof names, NULL, 0);
    assert_string_equal(names, "a,b,c");
    list_names(m, NULL, &(struct store_list_opts){.label_selector = "gpuslice.dev/node=n2"},
               names, sizeof names, NULL, 0);
    assert_string_equal(names, "");
    struct err e;
    assert_int_equal(store_delete(m->st, res(m, "cm"), "t", "a", NULL, NULL, &e), 0);
    list_names(m, "t", &n1, names, sizeof names, NULL, 0);
    assert_string_equal(names, "b,c");
    /* Paged: the second page is as of the first, before c moved away. */
    struct store_list_opts paged = {.label_selector = "gpuslice.dev/node=n1", .limit = 1};
    list_names(m, "t", &paged, names, sizeof names, next, sizeof next);
    assert_string_equal(names, "b");
    put_on_node(m, "c", "n3", false);
    paged.continue_token = next;
    list_names(m, "t", &paged, names, sizeof names, NULL, 0);
    assert_string_equal(names, "c");
    list_names(m, "t", &(struct store_list_opts){.field_selector = "metadata.name=c"}, names,
               sizeof names, NULL, 0);
    assert_string_equal(names, "c");
    list_names(m, "t", &(struct store_list_opts){.field_selector = "metadata.name=a"}, names,
               sizeof names, NULL, 0);
    assert_string_equal(names, "");
}

/* How many pods in t a list selected by fields gives. */
static size_t pods_selected(struct m *m, const char *fields)
{
    json_t *list;
    struct err e;
    struct store_list_opts o = {.field_selector = fields};
    assert_int_equal(store_list(m->st, res(m, "pods"), "t", &o, &list, &e), 0);
    size_t n = json_array_size(json_object_get(list, "items"));
    json_decref(list);
    return n;
}

/* Writes phase as the status of pod p in t. */
static void pod_phase(struct m *m, const char *phase)
{
    json_t *pod;
    struct err e;
    assert_int_equal(store_get(m->st, res(m, "pods"), "t", "p", &pod, &e), 0);
    json_object_set_new(pod, "status", json_pack("{s:s}", "phase", phase));
    struct store_write_opts o = {.subresource = STORE_STATUS};
    assert_int_equal(store_update(m->st, res(m, "pods"), "t", pod, &o, NULL, &e), 0);
    json_decref(pod);
}

/* A version keeps the field values of the parts it shares with the one
 * before (a status write shares the spec) and reads the parts that
 * changed: field selectors see both. */
static void field_selectors_follow_status_writes(void **state)
{
    struct m *m = *state;
    json_t *pod = json_pack("{s:{s:s}, s:{s:s, s:[{s:s, s:s}]}}", "metadata", "name", "p",
                            "spec", "nodeName", "n1", "containers", "name", "c", "image", "i");
    struct err e;
    assert_int_equal(store_create(m->st, res(m, "pods"), "t", pod, NULL, NULL, &e), 0);
    json_decref(pod);
    pod_phase(m, "Running");
    assert_int_equal(pods_selected(m, "status.phase=Running"), 1);
    assert_int_equal(pods_selected(m, "spec.nodeName=n1"), 1);
    pod_phase(m, "Succeeded");
    assert_int_equal(pods_selected(m, "status.phase=Running"), 0);
    assert_int_equal(pods_selected(m, "status.phase=Succeeded"), 1);
    assert_int_equal(pods_selected(m, "spec.nodeName=n1,spec.restartPolicy=Always"), 1);
    assert_int_equal(pods_selected(m, "spec.nodeName=n2"), 0);
}

static json_t *event_text(const char *name, int count)
{
    return json_pack("{s:{s:s}, s:{s:s, s:s, s:s}, s:s, s:s, s:i, s:s}", "metadata", "name", name,
                     "involvedObject", "kind", "Pod", "name", "p", "namespace", "t", "reason",
                     "Started", "message", "m", "count", count, "type", "Normal");
}

/* The Event name (count 1) created in "t": the stored object, the caller's. */
static json_t *put_event(struct m *m, const char *name)
{
    struct err e;
    json_t *ev = event_text(name, 1), *out = NULL;
    assert_int_equal(store_create(m->st, res(m, "events"), "t", ev, NULL, &out, &e), 0);
    json_decref(ev);
    return out;
}

static bool present(struct m *m, const char *resource, const char *name)
{
    json_t *obj = NULL;
    int rc = store_get(m->st, res(m, resource), "t", name, &obj, NULL);
    json_decref(obj);
    return rc == 0;
}

static void collect(struct m *m)
{
    struct err e;
    assert_true(mem_store_collect(m->st, 0, NULL, &e) >= 0);
}

/* An Event goes an event TTL (an hour) after its last write, when the
 * collector runs; other kinds stay. */
static void events_expire_after_their_last_write(void **state)
{
    struct m *m = *state;
    struct clock *c = m->ctx;
    struct err e;
    json_decref(put_event(m, "a"));
    json_t *out = put_event(m, "b");
    json_decref(cm(m, "kept"));
    c->now += 59 * 60 * INT64_C(1000000000);
    collect(m);
    assert_true(present(m, "events", "a"));
    json_object_set_new(out, "count", json_integer(2));
    assert_int_equal(store_update(m->st, res(m, "events"), "t", out, NULL, NULL, &e), 0);
    json_decref(out);
    c->now += 2 * 60 * INT64_C(1000000000);
    collect(m);
    assert_false(present(m, "events", "a"));
    assert_true(present(m, "events", "b")); /* written again a minute before */
    assert_true(present(m, "cm", "kept"));
    c->now += 60 * 60 * INT64_C(1000000000);
    collect(m);
    assert_false(present(m, "events", "b"));
    assert_true(present(m, "cm", "kept"));
}

/* The embedded cluster gives the store the wall clock, which may be
 * stepped back: an Event still goes an hour (of time gone forward) after
 * its last write, whether written before the step or after it, and one
 * written again after the step keeps its new hour. (A FIFO timed by the
 * clock as read kept the Events written after a step behind the ones
 * written before it, due only once the clock came back to where it was.) */
static void events_expire_on_a_clock_stepped_back(void **state)
{
    struct m *m = *state;
    struct clock *c = m->ctx;
    struct err e;
    const int64_t minute = 60 * INT64_C(1000000000);
    json_decref(put_event(m, "before"));
    json_t *out = put_event(m, "again");
    c->now += 10 * minute;
    collect(m);
    c->now -= 3 * 60 * minute; /* stepped back three hours */
    json_decref(put_event(m, "after"));
    json_object_set_new(out, "count", json_integer(2));
    assert_int_equal(store_update(m->st, res(m, "events"), "t", out, NULL, NULL, &e), 0);
    json_decref(out);
    c->now += 49 * minute;
    collect(m);
    assert_true(present(m, "events", "before"));
    assert_true(present(m, "events", "after"));
    c->now += 2 * minute; /* 61 minutes since "before", 51 since the others */
    collect(m);
    assert_false(present(m, "events", "before"));
    assert_true(present(m, "events", "after"));
    assert_true(present(m, "events", "again"));
    c->now += 10 * minute;
    collect(m);
    assert_false(present(m, "events", "after"));
    assert_false(present(m, "events", "again"));
}

static int m_setup_history(void **state)
{
    struct m *m = calloc(1, sizeof *m);
    *state = m;
    return mem_open_with(&m->ctx, &m->st, 0, false);
}

/* Pages of the ConfigMaps in "t" (limit 10, selected by fs): each looks
 * at its own documents and one more (and the one fs leaves out), and the
 * pages together are the
 * snapshot of the first even though objects change after it. */
static void page_through(struct m *m, const char *fs, size_t want)
{
    struct mem_store *ms = mem__of(m->st);
    struct store_list_opts o = {.limit = 10, .field_selector = fs};
    char token[1024], expect[32];
    size_t seen = 0, skipped = 0;
    struct err e;
    for (int page = 0;; page++) {
        uint64_t looked = ms->list_looked;
        json_t *list = NULL;
        assert_int_equal(store_list(m->st, res(m, "cm"), "t", &o, &list, &e), 0);
        assert_true(ms->list_looked - looked <= o.limit + 1 + (fs != NULL));
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(list, "items"), i, item) {
            if (fs && seen + skipped == 3)
                skipped++; /* c0003, which fs leaves out */
            snprintf(expect, sizeof expect, "c%04zu", seen++ + skipped);
            assert_string_equal(
                json_string_value(json_object_get(json_object_get(item, "metadata"), "name")),
                expect);
            assert_null(json_object_get(json_object_get(item, "metadata"), "labels"));
        }
        const json_t *md = json_object_get(list, "metadata");
        const char *next = json_string_value(json_object_get(md, "continue"));
        if (next && !fs)
            assert_int_equal(json_integer_value(json_object_get(md, "remainingItemCount")),
                             (json_int_t)(want - seen));
        if (page == 0) {
            /* After the first page: one deleted, one created, one labelled. */
            assert_int_equal(store_delete(m->st, res(m, "cm"), "t", "c0600", NULL, NULL, &e),
                             0);
            json_decref(cm(m, "c0605x"));
            json_t *c = json_pack("{s:{s:s, s:{s:s}}}", "metadata", "name", "c0700", "labels",
                                  "changed", "yes");
            assert_int_equal(store_update(m->st, res(m, "cm"), "t", c, NULL, NULL, &e), 0);
            json_decref(c);
        }
        if (next)
            snprintf(token, sizeof token, "%s", next);
        json_decref(list);
        if (!next)
            break;
        o.continue_token = token;
    }
    assert_int_equal(seen, want);
}

/* A paged list resumes where its last page ended instead of gathering and
 * sorting every object for each page (which made listing N objects by
 * pages of L cost N^2 / L log N), and still serves every page as of the
 * first: an object deleted, created or changed since is as it was then. */
static void a_page_costs_itself_not_the_objects_before_it(void **state)
{
    struct m *m = *state;
    char name[32];
    struct err e;
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "c%04d", i);
        json_decref(cm(m, name));
    }
    for (int i = 0; i < 20; i++) { /* another namespace, before and after "t" */
        snprintf(name, sizeof name, "o%d", i);
        json_t *c = json_pack("{s:{s:s}}", "metadata", "name", name);
        int rc = store_create(m->st, res(m, "cm"), i % 2 ? "a" : "z", c, NULL, NULL, &e);
        if (rc)
            fail_msg("%s", e.msg);
        json_decref(c);
    }
    page_through(m, NULL, 1000);
}

/* The same through a selector no index serves, over the objects as they
 * now are (the first pass's changes included). */
static void a_selected_page_costs_itself(void **state)
{
    struct m *m = *state;
    char name[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "c%04d", i);
        json_decref(cm(m, name));
    }
    page_through(m, "metadata.name!=c0003", 999);
}

/* The key order stays the objects' through creates and deletes in any
 * order: pages of 7 over what is left equal the unpaged list. */
static void pages_follow_creates_and_deletes(void **state)
{
    struct m *m = *state;
    struct err e;
    struct rng r = rng_seeded(5);
    char name[32], all[8192], paged[8192], next[1024];
    for (int i = 0; i < 600; i++) {
        snprintf(name, sizeof name, "k%03d", (int)(rng_next(&r) % 300));
        json_t *c = json_pack("{s:{s:s}}", "metadata", "name", name);
        if (store_create(m->st, res(m, "cm"), "t", c, NULL, NULL, &e) == -EEXIST)
            assert_int_equal(store_delete(m->st, res(m, "cm"), "t", name, NULL, NULL, &e), 0);
        json_decref(c);
    }
    list_names(m, "t", &(struct store_list_opts){0}, all, sizeof all, NULL, 0);
    size_t used = 0;
    struct store_list_opts o = {.limit = 7};
    for (;;) {
        char page[512];
        list_names(m, "t", &o, page, sizeof page, next, sizeof next);
        used += (size_t)snprintf(paged + used, sizeof paged - used, "%s%s", used ? "," : "", page);
        if (!next[0])
            break;
        o.continue_token = next;
    }
    assert_string_equal(paged, all);
}

static struct mem_doc *stored_doc(struct m *m, const char *name)
{
    struct mem_obj *o = mem__find(mem__of(m->st), res(m, "cm"), "t", name);
    assert_non_null(o);
    return o->doc;
}

/* n configmaps c<from>.. on node, created. */
static void put_many_on_node(struct m *m, int from, int n, const char *node)
{
    for (int i = from; i < from + n; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        put_on_node(m, name, node, true);
    }
}

static void nothing_next(struct store_watch *w)
{
    struct store_event ev;
    assert_int_equal(store_watch_next(w, 0, &ev, NULL), -EAGAIN);
}

/* A watch is given each event it sees as the write happens, so the
 * history wrapping past them before the watch reads them loses nothing:
 * an object leaving the selection and a removal arrive as they would have,
 * at their own resourceVersions. */
static void a_watch_reads_events_the_history_dropped(void **state)
{
    struct m *m = *state; /* history of 8 events */
    put_on_node(m, "a", "n1", true); /* rv 1 */
    struct store_watch *routed = watch_from(m, "1", "gpuslice.dev/node=n2", NULL);
    struct store_watch *unrouted = watch_from(m, "1", "gpuslice.dev/node!=n1", NULL);
    put_on_node(m, "b", "n2", true);  /* rv 2 */
    put_on_node(m, "b", "n1", false); /* rv 3: leaves both selections */
    put_on_node(m, "c", "n2", true);  /* rv 4 */
    struct err e;
    assert_int_equal(store_delete(m->st, res(m, "cm"), "t", "c", NULL, NULL, &e), 0); /* rv 5 */
    put_many_on_node(m, 0, 8, "n1"); /* rv 6..13: the history holds 6..13 */
    struct store_watch *ws[] = {routed, unrouted};
    for (size_t i = 0; i < 2; i++) {
        next_at(ws[i], STORE_ADDED, "b", "2");
        next_at(ws[i], STORE_DELETED, "b", "3");
        next_at(ws[i], STORE_ADDED, "c", "4");
        next_at(ws[i], STORE_DELETED, "c", "5");
        nothing_next(ws[i]);
        store_watch_close(ws[i]);
    }
}

/* A watch holds as many unread events as the history does, wherever they
 * are; one more, and it ends as expired, as a kube-apiserver watcher whose
 * buffer overflows, letting go of the versions it held. */
static void a_watch_holds_at_most_the_history_unread(void **state)
{
    struct m *m = *state; /* history of 8 events */
    put_on_node(m, "a", "n1", true); /* rv 1 */
    struct store_watch *full = watch_from(m, "1", "gpuslice.dev/node=n2", NULL);
    struct store_watch *over = watch_from(m, "1", "gpuslice.dev/node=n2", NULL);
    put_many_on_node(m, 0, 8, "n2"); /* rv 2..9 */
    put_on_node(m, "b", "n1", true); /* rv 10: c0 left the history */
    for (int i = 0; i < 8; i++) {
        char name[8];
        snprintf(name, sizeof name, "c%d", i);
        next_is(full, STORE_ADDED, name);
    }
    put_many_on_node(m, 8, 1, "n2"); /* the ninth unread for over */
    assert_int_equal(stored_doc(m, "c0")->refs, 1); /* over let go */
    struct store_event ev;
    struct err e;
    assert_int_equal(store_watch_next(over, 0, &ev, &e), -EKEYEXPIRED);
    assert_non_null(strstr(e.msg, "too old resource version"));
    put_many_on_node(m, 9, 1, "n2");
    assert_int_equal(store_watch_next(over, 0, &ev, &e), -EKEYEXPIRED); /* it stays ended */
    next_is(full, STORE_ADDED, "c8");
    next_is(full, STORE_ADDED, "c9");
    store_watch_close(full);
    store_watch_close(over);
}

/* A store may let a watch hold more unread events than its history
 * (mem_store_config.watch_buffer), or fewer. */
static void the_watch_buffer_is_set_apart_from_the_history(void **state)
{
    struct m *m = *state;
    const size_t buffers[] = {6, 2};
    for (size_t b = 0; b < 2; b++) {
        fixture_close(m->ctx, m->st);
        struct clock *c = calloc(1, sizeof *c);
        c->now = T0;
        struct mem_store_config cfg = {.now_ns = clock_now, .clock_ctx = c, .history = 4,
                                       .watch_buffer = buffers[b]};
        m->ctx = c;
        assert_int_equal(mem_store_new(&cfg, &m->st, NULL), 0);
        put_on_node(m, "a", "n1", true); /* rv 1 */
        struct store_watch *w = watch_from(m, "1", "gpuslice.dev/node=n2", NULL);
        put_many_on_node(m, 0, 6, "n2"); /* rv 2..7: the history holds 4..7 */
        if (buffers[b] == 6) {
            next_is(w, STORE_ADDED, "c0");
        } else {
            struct store_event ev;
            assert_int_equal(store_watch_next(w, 0, &ev, NULL), -EKEYEXPIRED);
        }
        store_watch_close(w);
    }
}

/* The events a resumed watch missed are read from the history: when it
 * wrapped past them before they were read, the watch ends as expired. */
static void a_resumed_watch_expires_when_its_backlog_leaves_the_history(void **state)
{
    struct m *m = *state; /* history of 8 events */
    put_many_on_node(m, 0, 3, "n2"); /* rv 1..3 */
    struct store_watch *w = watch_from(m, "1", "gpuslice.dev/node=n2", NULL);
    put_many_on_node(m, 3, 7, "n1"); /* rv 4..10: rv 2 left the history */
    struct store_event ev;
    assert_int_equal(store_watch_next(w, 0, &ev, NULL), -EKEYEXPIRED);
    store_watch_close(w);
}

/* An event a watch has not read holds its version (the history need not):
 * closing the watch lets go of it. */
static void a_closed_watch_lets_go_of_its_unread_versions(void **state)
{
    struct m *m = *state; /* history of 8 events */
    put_on_node(m, "a", "n1", true); /* rv 1 */
    struct store_watch *w = watch_from(m, "1", "gpuslice.dev/node=n2", NULL);
    put_on_node(m, "b", "n2", true); /* rv 2 */
    put_many_on_node(m, 0, 8, "n1"); /* rv 3..10: rv 2 left the history */
    assert_int_equal(stored_doc(m, "b")->refs, 2); /* the object's and the watch's */
    store_watch_close(w);
    assert_int_equal(stored_doc(m, "b")->refs, 1);
}

/* A watch whose objects were written only before the others' writes
 * wrapped the history is not ended by them: it reads its events and on,
 * and its client does not relist for nothing (each agent's watches at the
 * simulator's start, opened before tens of thousands of other writes). */
static void a_quiet_watch_outlives_the_history(void **state)
{
    struct m *m = *state; /* history of 8 events */
    put_on_node(m, "a", "n1", true);
    struct store_watch *routed = watch_from(m, "1", "gpuslice.dev/node=n2", NULL);
    struct store_watch *unrouted = watch_from(m, "1", "gpuslice.dev/node!=n1", NULL);
    put_on_node(m, "own", "n2", true);
    put_many_on_node(m, 0, 10, "n1");
    next_is(routed, STORE_ADDED, "own");
    next_is(unrouted, STORE_ADDED, "own");
    nothing_next(routed);
    nothing_next(unrouted);
    put_on_node(m, "b", "n2", true);
    next_is(routed, STORE_ADDED, "b");
    next_is(unrouted, STORE_ADDED, "b");
    store_watch_close(routed);
    store_watch_close(unrouted);
}

/* A store that replaces a lost one starts past every version the lost one
 * gave: a client resuming its watch from one of those versions is told it
 * is too old (410, relist) instead of streaming from the middle of a store
 * it never listed, and missing everything before. */
static void a_store_started_past_a_revision_refuses_older_watches(void **state)
{
    (void)state;
    struct clock c = {.now = T0};
    struct mem_store_config cfg = {.now_ns = clock_now, .clock_ctx = &c, .seed = 42,
                                   .first_revision = 5000};
    struct m m = {.ctx = &c};
    assert_int_equal(mem_store_new(&cfg, &m.st, NULL), 0);
    assert_int_equal(mem_store_revision(m.st), 5000);
    json_t *a = cm(&m, "a");
    assert_string_equal(json_string_value(json_object_get(json_object_get(a, "metadata"),
                                                          "resourceVersion")), "5001");
    json_decref(a);
    struct store_watch_opts o = {.resource_version = "120"}; /* the lost store's */
    struct store_watch *w;
    struct store_event ev;
    struct err e;
    assert_int_equal(store_watch_open(m.st, res(&m, "cm"), "t", &o, &w, &e), 0);
    assert_int_equal(store_watch_next(w, 0, &ev, &e), -EKEYEXPIRED);
    store_watch_close(w);
    o.resource_version = "5000"; /* this store's own start streams as usual */
    assert_int_equal(store_watch_open(m.st, res(&m, "cm"), "t", &o, &w, &e), 0);
    assert_int_equal(store_watch_next(w, 0, &ev, &e), 0);
    store_event_release(&ev);
    store_watch_close(w);
    store_free(m.st);
}

/* A watch from a resourceVersion the store has not reached (a client that
 * outlived a restarted server) waits for it, then ends with the API
 * server's "Too large resource version", so the client relists. */
static void a_watch_from_the_future_ends_too_large(void **state)
{
    struct m *m = *state;
    json_decref(cm(m, "a")); /* resourceVersion 1 */
    struct store_watch_opts o = {.resource_version = "101"};
    struct store_watch *w;
    struct store_event ev;
    struct err e;
    assert_int_equal(store_watch_open(m->st, res(m, "cm"), "t", &o, &w, &e), 0);
    assert_int_equal(store_watch_next(w, 0, &ev, &e), -EAGAIN); /* still waiting */
    ((struct clock *)m->ctx)->now += MEM_STORE_FUTURE_WAIT_NS - 1;
    json_decref(cm(m, "b"));
    assert_int_equal(store_watch_next(w, 0, &ev, &e), -EAGAIN);
    ((struct clock *)m->ctx)->now += 1;
    assert_int_equal(store_watch_next(w, 0, &ev, &e), -ETIME);
    assert_string_equal(e.msg, "Too large resource version: 101, current: 2");
    json_decref(cm(m, "c"));
    assert_int_equal(store_watch_next(w, 0, &ev, &e), -ETIME); /* it stays ended */
    store_watch_close(w);
}

/* A version reached within the wait streams as any other. */
static void a_watch_from_the_next_version_streams_once_reached(void **state)
{
    struct m *m = *state;
    json_decref(cm(m, "a")); /* resourceVersion 1 */
    struct store_watch_opts o = {.resource_version = "2"};
    struct store_watch *w;
    struct store_event ev;
    struct err e;
    assert_int_equal(store_watch_open(m->st, res(m, "cm"), "t", &o, &w, &e), 0);
    assert_int_equal(store_watch_next(w, 0, &ev, &e), -EAGAIN);
    ((struct clock *)m->ctx)->now += MEM_STORE_FUTURE_WAIT_NS / 2;
    json_decref(cm(m, "b")); /* 2: the watch's own version, not sent */
    json_decref(cm(m, "c")); /* 3 */
    ((struct clock *)m->ctx)->now += 2 * MEM_STORE_FUTURE_WAIT_NS;
    assert_int_equal(store_watch_next(w, 0, &ev, &e), 0);
    assert_int_equal(ev.type, STORE_ADDED);
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev.object, "metadata"),
                                                          "name")),
                        "c");
    store_event_release(&ev);
    assert_int_equal(store_watch_next(w, 0, &ev, &e), -EAGAIN);
    store_watch_close(w);
}

static void collector_is_a_step_the_caller_runs(void **state)
{
    struct m *m = *state;
    json_t *owner = cm(m, "owner");
    json_t *dep = json_pack("{s:{s:s, s:[{s:s, s:s, s:s, s:O}]}}", "metadata", "name", "dep",
                            "ownerReferences", "apiVersion", "v1", "kind", "ConfigMap", "name",
                            "owner", "uid", json_object_get(json_object_get(owner, "metadata"), "uid"));
    struct err e;
    assert_int_equal(store_create(m->st, res(m, "cm"), "t", dep, NULL, NULL, &e), 0);
    json_decref(dep);
    size_t pending;
    assert_true(mem_store_collect(m->st, 0, &pending, &e) >= 0);
    struct store_delete_opts o = {0};
    assert_int_equal(store_delete(m->st, res(m, "cm"), "t", "owner", &o, NULL, &e), 0);
    json_t *got = NULL;
    assert_int_equal(store_get(m->st, res(m, "cm"), "t", "dep", &got, &e), 0); /* not yet */
    json_decref(got);
    assert_int_equal(mem_store_collect(m->st, 1, &pending, &e), 1);
    assert_int_equal(pending, 0);
    assert_int_equal(store_get(m->st, res(m, "cm"), "t", "dep", &got, &e), -ENOENT);
    json_decref(owner);
}

static void auto_collect_runs_inside_the_write(void **state)
{
    struct m *m = *state;
    json_t *owner = cm(m, "owner");
    json_t *dep = json_pack("{s:{s:s, s:[{s:s, s:s, s:s, s:O}]}}", "metadata", "name", "dep",
                            "ownerReferences", "apiVersion", "v1", "kind", "ConfigMap", "name",
                            "owner", "uid", json_object_get(json_object_get(owner, "metadata"), "uid"));
    struct err e;
    assert_int_equal(store_create(m->st, res(m, "cm"), "t", dep, NULL, NULL, &e), 0);
    json_decref(dep);
    struct store_delete_opts o = {0};
    assert_int_equal(store_delete(m->st, res(m, "cm"), "t", "owner", &o, NULL, &e), 0);
    json_t *got = NULL;
    assert_int_equal(store_get(m->st, res(m, "cm"), "t", "dep", &got, &e), -ENOENT);
    json_decref(owner);
}

/* With values_kept 2, a version two writes old keeps only its text, and
 * one a reader holds keeps its value (the reader may be looking at it). */
static void old_versions_keep_only_their_text(void **state)
{
    struct m *m = *state;
    store_free(m->st);
    free(m->ctx);
    assert_int_equal(mem_open_kept(&m->ctx, &m->st, 0, false, 2), 0);
    struct store_watch_opts wo = {.field_selector = "metadata.name=a"};
    struct store_watch *w;
    struct err e;
    json_decref(cm(m, "a"));
    assert_int_equal(store_watch_open(m->st, res(m, "cm"), "t", &wo, &w, &e), 0); /* holds a */
    const char *names[] = {"b", "c", "d", "e"};
    for (size_t i = 0; i < 4; i++)
        json_decref(cm(m, names[i]));
    assert_false(stored_doc(m, "a")->cold);
    assert_non_null(stored_doc(m, "a")->parsed);
    for (size_t i = 0; i < 2; i++) {
        assert_true(stored_doc(m, names[i])->cold);
        assert_null(stored_doc(m, names[i])->parsed);
        assert_non_null(stored_doc(m, names[i])->blob);
    }
    for (size_t i = 2; i < 4; i++)
        assert_false(stored_doc(m, names[i])->cold);
    /* a cold version reads back whole, and a reader's change stays its own */
    json_t *got;
    assert_int_equal(store_get(m->st, res(m, "cm"), "t", "b", &got, &e), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(got, "metadata"),
                                                          "name")), "b");
    jdoc_set(json_object_get(got, "metadata"), "name", json_string("changed"));
    json_decref(got);
    assert_int_equal(store_get(m->st, res(m, "cm"), "t", "b", &got, &e), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(got, "metadata"),
                                                          "name")), "b");
    json_decref(got);
    assert_null(stored_doc(m, "b")->parsed); /* parsed for the reader, not kept */
    store_watch_close(w);
}

static struct mem_doc *stored_event(struct m *m, const char *name)
{
    struct mem_obj *o = mem__find(mem__of(m->st), res(m, "events"), "t", name);
    assert_non_null(o);
    return o->doc;
}

/* With events_text_only, an Event keeps only its text from its first
 * write on, even where every other version keeps its value; it reads back
 * whole and takes a repeat's update (the simulator's store). */
static void events_keep_only_their_text_when_told(void **state)
{
    struct m *m = *state;
    store_free(m->st);
    struct clock *c = m->ctx;
    struct mem_store_config cfg = {.now_ns = clock_now, .clock_ctx = c, .seed = 42,
                                   .values_kept = MEM_STORE_VALUES_ALL,
                                   .events_text_only = true};
    struct err e;
    assert_int_equal(mem_store_new(&cfg, &m->st, &e), 0);
    json_t *out = put_event(m, "a");
    json_decref(cm(m, "kept"));
    assert_true(stored_event(m, "a")->cold);
    assert_null(stored_event(m, "a")->parsed);
    assert_non_null(stored_event(m, "a")->blob);
    assert_false(stored_doc(m, "kept")->cold);
    assert_non_null(stored_doc(m, "kept")->parsed);
    json_object_set_new(out, "count", json_integer(2));
    assert_int_equal(store_update(m->st, res(m, "events"), "t", out, NULL, NULL, &e), 0);
    json_decref(out);
    assert_true(stored_event(m, "a")->cold);
    json_t *got;
    assert_int_equal(store_get(m->st, res(m, "events"), "t", "a", &got, &e), 0);
    assert_int_equal(json_integer_value(json_object_get(got, "count")), 2);
    assert_string_equal(json_string_value(json_object_get(got, "reason")), "Started");
    json_decref(got);
    assert_null(stored_event(m, "a")->parsed); /* parsed for the reader, not kept */
}

/* Lists by more label keys than a kind keeps indexes for still find
 * exactly their objects: past MEM_INDEXES_MAX keys they scan, and the
 * indexes stop growing (a client chooses the keys). */
static void lists_past_the_index_cap_scan(void **state)
{
    struct m *m = *state;
    enum { KEYS = MEM_INDEXES_MAX + 4 };
    struct err e;
    for (int i = 0; i < KEYS; i++) {
        char name[16], key[16];
        snprintf(name, sizeof name, "c%d", i);
        snprintf(key, sizeof key, "k%d", i);
        json_t *c = json_pack("{s:{s:s, s:{s:s}}}", "metadata", "name", name, "labels", key, "v");
        assert_int_equal(store_create(m->st, res(m, "cm"), "t", c, NULL, NULL, &e), 0);
        json_decref(c);
    }
    for (int i = 0; i < KEYS; i++) {
        char sel[16], name[16], names[64];
        snprintf(sel, sizeof sel, "k%d=v", i);
        snprintf(name, sizeof name, "c%d", i);
        list_names(m, "t", &(struct store_list_opts){.label_selector = sel}, names, sizeof names,
                   NULL, 0);
        assert_string_equal(names, name);
    }
    struct mem_kind *k = mem__kind_find(mem__of(m->st), res(m, "cm"));
    assert_int_equal(k->n_indexes, MEM_INDEXES_MAX);
}

static void raw_watch_events_share_the_stored_text(void **state)
{
    struct m *m = *state;
    struct store_watch_opts o = {.resource_version = "0", .want_raw = true};
    struct store_watch *w1, *w2;
    struct err e;
    assert_int_equal(store_watch_open(m->st, res(m, "cm"), "t", &o, &w1, &e), 0);
    assert_int_equal(store_watch_open(m->st, res(m, "cm"), "t", &o, &w2, &e), 0);
    json_decref(cm(m, "a"));
    struct store_event e1, e2;
    assert_int_equal(store_watch_next(w1, 0, &e1, &e), 0);
    assert_int_equal(store_watch_next(w2, 0, &e2, &e), 0);
    assert_null(e1.object);
    assert_ptr_equal(e1.raw, e2.raw);
    assert_non_null(strstr(e1.raw->data, "\"name\":\"a\""));
    store_event_release(&e1);
    store_event_release(&e2);
    store_watch_close(w1);
    store_watch_close(w2);
}

/* A shared read hands out the version mem keeps, copying nothing: two
 * reads of one version are the same object; store_get's is a copy. */
static void shared_reads_copy_nothing(void **state)
{
    struct m *m = *state;
    struct err e;
    json_decref(cm(m, "a"));
    json_t *one = NULL, *two = NULL, *copy = NULL;
    assert_int_equal(store_get_shared(m->st, res(m, "cm"), "t", "a", &one, &e), 0);
    assert_int_equal(store_get_shared(m->st, res(m, "cm"), "t", "a", &two, &e), 0);
    assert_ptr_equal(one, two);
    assert_int_equal(store_get(m->st, res(m, "cm"), "t", "a", &copy, &e), 0);
    assert_ptr_not_equal(copy, one);
    assert_true(json_equal(copy, one));
    json_decref(one);
    json_decref(two);
    json_decref(copy);
}

/* Versions share what they do not change (stored values never change): a
 * bind, a status write and a deletion leave the version before them, which
 * a watcher still holds, as it was. */
static void new_versions_leave_the_old_ones_untouched(void **state)
{
    struct m *m = *state;
    struct err e;
    const struct api_resource *pods = res(m, "pods");
    json_t *p = json_pack("{s:{s:s, s:[s]}, s:{s:[{s:s, s:s}]}, s:{s:[{s:s, s:s}]}}",
                          "metadata", "name", "p", "finalizers", "x.io/hold", "spec",
                          "containers", "name", "main", "image", "i", "status", "conditions",
                          "type", "Ready", "status", "False");
    assert_int_equal(store_create(m->st, pods, "t", p, NULL, NULL, &e), 0);
    json_decref(p);
    struct store_watch *w;
    assert_int_equal(store_watch_open(m->st, pods, "t", &(struct store_watch_opts){0}, &w, &e), 0);
    struct store_event first;
    assert_int_equal(store_watch_next(w, 0, &first, &e), 0);
    char *before = json_dumps(first.object, JSON_COMPACT);
    assert_int_equal(store_bind(m->st, "t", "p", "n1", &e), 0);
    json_t *got = NULL;
    assert_int_equal(store_get(m->st, pods, "t", "p", &got, &e), 0);
    jdoc_set(json_object_get(got, "status"), "phase", json_string("Running"));
    assert_int_equal(store_update(m->st, pods, "t", got,
                                  &(struct store_write_opts){.subresource = STORE_STATUS}, NULL,
                                  &e), 0);
    json_decref(got);
    assert_int_equal(store_delete(m->st, pods, "t", "p", &(struct store_delete_opts){
                                      .propagation = STORE_PROPAGATE_FOREGROUND}, NULL, &e), 0);
    char *after = json_dumps(first.object, JSON_COMPACT);
    assert_string_equal(before, after);
    assert_int_equal(store_get(m->st, pods, "t", "p", &got, &e), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(got, "spec"), "nodeName")),
                        "n1");
    assert_int_equal(json_array_size(json_object_get(json_object_get(got, "metadata"),
                                                     "finalizers")), 2);
    json_decref(got);
    free(before);
    free(after);
    store_event_release(&first);
    store_watch_close(w);
}


/* Asserts raw holds exactly the compact text of obj, and releases both. */
static void same_text(struct store_blob *raw, json_t *obj)
{
    assert_non_null(raw);
    char *text = json_dumps(obj, JSON_COMPACT);
    assert_string_equal(raw->data, text);
    assert_int_equal(raw->len, strlen(text));
    free(text);
    store_blob_unref(raw);
    json_decref(obj);
}

/* A write can hand back the text it stored (what the API server answers
 * with): exactly the object it returns; none for a dry run or a write that
 * changed nothing. */
static void writes_hand_back_the_stored_text(void **state)
{
    struct m *m = *state;
    struct store_blob *raw = (struct store_blob *)1;
    struct store_write_opts o = {.raw = &raw};
    json_t *obj = json_pack("{s:{s:s}, s:{s:s}}", "metadata", "name", "a", "data", "k", "v");
    json_t *out = NULL;
    struct err e;
    assert_int_equal(store_create(m->st, res(m, "cm"), "t", obj, &o, &out, &e), 0);
    same_text(raw, out);
    json_object_set_new(json_object_get(obj, "data"), "k", json_string("w"));
    assert_int_equal(store_update(m->st, res(m, "cm"), "t", obj, &o, &out, &e), 0);
    assert_non_null(strstr(raw->data, "\"k\":\"w\""));
    same_text(raw, out);
    json_t *patch = json_pack("{s:{s:s}}", "data", "k", "x");
    assert_int_equal(store_patch(m->st, res(m, "cm"), "t", "a", STORE_PATCH_MERGE, patch, &o,
                                 &out, &e),
                     0);
    same_text(raw, out);
    /* the same patch again changes nothing: no text */
    assert_int_equal(store_patch(m->st, res(m, "cm"), "t", "a", STORE_PATCH_MERGE, patch, &o,
                                 &out, &e),
                     0);
    assert_null(raw);
    json_decref(out);
    struct store_write_opts dry = {.raw = &raw, .dry_run = true};
    json_object_set_new(json_object_get(obj, "metadata"), "name", json_string("b"));
    assert_int_equal(store_create(m->st, res(m, "cm"), "t", obj, &dry, &out, &e), 0);
    assert_null(raw);
    json_decref(out);
    json_decref(patch);
    json_decref(obj);
}

/* Asserts raw holds the text of what a watcher got, and releases both. */
static void text_of_event(struct store_blob *raw, struct store_watch *w)
{
    struct store_event ev;
    assert_int_equal(store_watch_next(w, 0, &ev, NULL), 0);
    assert_non_null(ev.object);
    same_text(raw, json_incref(ev.object));
    store_event_release(&ev);
}

/* A caller that takes only the text (the API server answering JSON) gets
 * it for every successful write, dry runs and writes that change nothing
 * included; the object the store keeps as its parse is what in-process
 * watchers get, exactly that text. */
static void writes_without_out_answer_with_the_text_alone(void **state)
{
    struct m *m = *state;
    struct store_watch *w;
    struct err e;
    struct store_watch_opts wo = {.resource_version = "0"};
    assert_int_equal(store_watch_open(m->st, res(m, "cm"), "t", &wo, &w, &e), 0);
    struct store_blob *raw = NULL;
    struct store_write_opts o = {.raw = &raw};
    json_t *obj = json_pack("{s:{s:s}, s:{s:s}}", "metadata", "name", "a", "data", "k", "v");
    assert_int_equal(store_create(m->st, res(m, "cm"), "t", obj, &o, NULL, &e), 0);
    text_of_event(raw, w);
    json_t *cur = NULL;
    assert_int_equal(store_get(m->st, res(m, "cm"), "t", "a", &cur, &e), 0);
    json_object_set_new(json_object_get(cur, "data"), "k", json_string("w"));
    assert_int_equal(store_update(m->st, res(m, "cm"), "t", cur, &o, NULL, &e), 0);
    json_decref(cur);
    cur = NULL;
    assert_non_null(strstr(raw->data, "\"k\":\"w\""));
    text_of_event(raw, w);
    json_t *patch = json_pack("{s:{s:s}}", "data", "k", "x");
    assert_int_equal(store_patch(m->st, res(m, "cm"), "t", "a", STORE_PATCH_MERGE, patch, &o,
                                 NULL, &e),
                     0);
    text_of_event(raw, w);
    /* the same patch again changes nothing: the text is the stored one */
    assert_int_equal(store_patch(m->st, res(m, "cm"), "t", "a", STORE_PATCH_MERGE, patch, &o,
                                 NULL, &e),
                     0);
    assert_non_null(raw);
    assert_non_null(strstr(raw->data, "\"k\":\"x\""));
    store_blob_unref(raw);
    struct store_write_opts dry = {.raw = &raw, .dry_run = true};
    json_object_set_new(json_object_get(obj, "metadata"), "name", json_string("b"));
    assert_int_equal(store_create(m->st, res(m, "cm"), "t", obj, &dry, NULL, &e), 0);
    assert_non_null(raw);
    assert_non_null(strstr(raw->data, "\"name\":\"b\""));
    store_blob_unref(raw);
    assert_int_equal(store_get(m->st, res(m, "cm"), "t", "b", &cur, &e), -ENOENT);
    json_decref(patch);
    json_decref(obj);
    store_watch_close(w);
}

/* A write without out leaves its object to the stored version as its parse:
 * what a read then hands out is the caller's own copy, whose changes reach
 * neither the store nor the next reader. */
static void reads_are_the_callers_to_change(void **state)
{
    struct m *m = *state;
    struct err e;
    json_t *obj = json_pack("{s:{s:s}, s:{s:s}}", "metadata", "name", "a", "data", "k", "v");
    assert_int_equal(store_create(m->st, res(m, "cm"), "t", obj, NULL, NULL, &e), 0);
    json_decref(obj);
    json_t *first = NULL, *second = NULL, *patched = NULL;
    assert_int_equal(store_get(m->st, res(m, "cm"), "t", "a", &first, &e), 0);
    json_object_set_new(json_object_get(first, "data"), "k", json_string("changed"));
    assert_int_equal(store_get(m->st, res(m, "cm"), "t", "a", &second, &e), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(second, "data"), "k")),
                        "v");
    /* a patch reads the stored version the same way */
    json_t *patch = json_pack("{s:{s:s}}", "data", "j", "w");
    assert_int_equal(store_patch(m->st, res(m, "cm"), "t", "a", STORE_PATCH_MERGE, patch, NULL,
                                 &patched, &e),
                     0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(patched, "data"), "k")),
                        "v");
    json_decref(patch);
    json_decref(patched);
    json_decref(second);
    json_decref(first);
}

/* An object handed over to an update is taken, not copied: the write
 * stores what it says, and the caller's reference stays its own to drop. */
static void an_update_takes_an_object_handed_over(void **state)
{
    struct m *m = *state;
    struct err e;
    json_decref(cm(m, "a"));
    json_t *cur = NULL;
    assert_int_equal(store_get(m->st, res(m, "cm"), "t", "a", &cur, &e), 0);
    json_object_set_new(cur, "data", json_pack("{s:s}", "k", "v"));
    struct store_write_opts o = {.handed_over = true};
    assert_int_equal(store_update(m->st, res(m, "cm"), "t", cur, &o, NULL, &e), 0);
    json_decref(cur);
    assert_int_equal(store_get(m->st, res(m, "cm"), "t", "a", &cur, &e), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(cur, "data"), "k")), "v");
    /* a refused one leaves the store as it was */
    json_object_set_new(json_object_get(cur, "metadata"), "resourceVersion", json_string("1"));
    json_object_set_new(cur, "data", json_pack("{s:s}", "k", "w"));
    assert_int_equal(store_update(m->st, res(m, "cm"), "t", cur, &o, NULL, &e), -ESTALE);
    json_decref(cur);
    assert_int_equal(store_get(m->st, res(m, "cm"), "t", "a", &cur, &e), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(cur, "data"), "k")), "v");
    json_decref(cur);
}

/* The stored version of pod name in t, shared (read-only). */
static json_t *pod_shared(struct m *m, const char *name)
{
    json_t *pod = NULL;
    struct err e;
    assert_int_equal(store_get_shared(m->st, res(m, "pods"), "t", name, &pod, &e), 0);
    return pod;
}

static void create_gated_pod(struct m *m, const char *name)
{
    json_t *p = json_pack("{s:{s:s}, s:{s:[{s:s, s:s}], s:[{s:s}]}}", "metadata", "name", name,
                          "spec", "containers", "name", "main", "image", "i", "schedulingGates",
                          "name", "x.io/gate");
    struct err e;
    assert_int_equal(store_create(m->st, res(m, "pods"), "t", p, NULL, NULL, &e), 0);
    json_decref(p);
}

/* What the store adds to pod after pod (defaults, phase, generation, the
 * PodScheduled condition's words) is one value shared by them all, and
 * reads as it always did. */
static void the_stores_own_values_are_shared(void **state)
{
    struct m *m = *state;
    struct err e;
    create_gated_pod(m, "a");
    create_gated_pod(m, "b");
    json_t *a = pod_shared(m, "a"), *b = pod_shared(m, "b");
    static const char *const paths[][3] = {
        {"spec", "dnsPolicy", NULL}, {"spec", "schedulerName", NULL},
        {"spec", "restartPolicy", NULL}, {"spec", "terminationGracePeriodSeconds", NULL},
        {"status", "phase", NULL}, {"metadata", "generation", NULL}};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        assert_ptr_equal(json_object_get(json_object_get(a, paths[i][0]), paths[i][1]),
                         json_object_get(json_object_get(b, paths[i][0]), paths[i][1]));
    const json_t *ca = json_array_get(json_object_get(json_object_get(a, "status"), "conditions"), 0);
    const json_t *cb = json_array_get(json_object_get(json_object_get(b, "status"), "conditions"), 0);
    assert_ptr_equal(json_object_get(ca, "message"), json_object_get(cb, "message"));
    json_t *expect = json_pack("{s:s, s:s, s:s, s:s, s:n}", "type", "PodScheduled", "status",
                               "False", "reason", "SchedulingGated", "message",
                               "Scheduling is blocked due to non-empty scheduling gates",
                               "lastProbeTime");
    json_object_set(expect, "lastTransitionTime", json_object_get(ca, "lastTransitionTime"));
    assert_true(json_equal(ca, expect));
    json_decref(expect);
    expect = json_pack("{s:[{s:s, s:s}], s:s, s:i, s:s, s:s}", "containers", "name", "main",
                       "image", "i", "restartPolicy", "Always", "terminationGracePeriodSeconds",
                       30, "dnsPolicy", "ClusterFirst", "schedulerName", "default-scheduler");
    json_object_set(expect, "schedulingGates",
                    json_object_get(json_object_get(a, "spec"), "schedulingGates"));
    assert_true(json_equal(json_object_get(a, "spec"), expect));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "metadata"),
                                                        "generation")), 1);
    json_decref(expect);
    json_decref(a);
    json_decref(b);
    /* a binding's condition says True, the words shared with the gated one */
    json_t *patch = json_pack("{s:{s:[]}}", "spec", "schedulingGates");
    assert_int_equal(store_patch(m->st, res(m, "pods"), "t", "a", STORE_PATCH_MERGE, patch, NULL,
                                 NULL, &e), 0);
    json_decref(patch);
    assert_int_equal(store_bind(m->st, "t", "a", "n1", &e), 0);
    a = pod_shared(m, "a");
    b = pod_shared(m, "b");
    ca = json_array_get(json_object_get(json_object_get(a, "status"), "conditions"), 0);
    cb = json_array_get(json_object_get(json_object_get(b, "status"), "conditions"), 0);
    assert_string_equal(json_string_value(json_object_get(ca, "status")), "True");
    assert_null(json_object_get(ca, "reason"));
    assert_ptr_equal(json_object_get(ca, "type"), json_object_get(cb, "type"));
    json_decref(a);
    json_decref(b);
}

/* The writes of one second stamp their times with one shared value; the
 * next second's is another, and each reads as its second. */
static void a_seconds_times_are_one_value(void **state)
{
    struct m *m = *state;
    create_gated_pod(m, "a");
    fixture_advance(m->ctx, NS_PER_SEC - 1); /* T0 is a whole second: still its second */
    create_gated_pod(m, "b");
    fixture_advance(m->ctx, 1);
    create_gated_pod(m, "c");
    json_t *a = pod_shared(m, "a"), *b = pod_shared(m, "b"), *c = pod_shared(m, "c");
    const json_t *ta = json_object_get(json_object_get(a, "metadata"), "creationTimestamp");
    assert_string_equal(json_string_value(ta), "2024-05-01T10:00:00Z");
    const json_t *tc = json_object_get(json_object_get(c, "metadata"), "creationTimestamp");
    assert_ptr_equal(ta, json_object_get(json_object_get(b, "metadata"), "creationTimestamp"));
    const json_t *cond = json_array_get(json_object_get(json_object_get(a, "status"), "conditions"),
                                        0);
    assert_ptr_equal(json_object_get(cond, "lastTransitionTime"), ta);
    int64_t at_a = 0, at_c = 0;
    assert_int_equal(meta_parse_time(json_string_value(ta), "a", &at_a, NULL), 0);
    assert_int_equal(meta_parse_time(json_string_value(tc), "c", &at_c, NULL), 0);
    assert_int_equal(at_c - at_a, NS_PER_SEC);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

static void crd_change_keeps_its_objects(void **state)
{
    struct m *m = *state;
    struct err e;
    json_t *crd = json_pack(
        "{s:{s:s}, s:{s:s, s:s, s:{s:s, s:s}, s:[{s:s, s:b, s:b}]}}", "metadata", "name",
        "widgets.example.com", "spec", "group", "example.com", "scope", "Namespaced", "names",
        "plural", "widgets", "kind", "Widget", "versions", "name", "v1", "served", 1, "storage", 1);
    json_t *stored = NULL;
    assert_int_equal(store_create(m->st, res(m, "crd"), NULL, crd, NULL, &stored, &e), 0);
    const struct api_resource *v1 = api_registry_find(store_registry(m->st), "example.com", "v1", "widgets");
    json_t *w = json_pack("{s:{s:s}, s:{s:i}}", "metadata", "name", "w1", "spec", "size", 1);
    assert_int_equal(store_create(m->st, v1, "t", w, NULL, NULL, &e), 0);
    json_decref(w);
    /* adding the status subresource registers the version anew */
    json_object_set_new(json_array_get(json_object_get(json_object_get(stored, "spec"), "versions"), 0),
                        "subresources", json_pack("{s:{}}", "status"));
    assert_int_equal(store_update(m->st, res(m, "crd"), NULL, stored, NULL, NULL, &e), 0);
    const struct api_resource *now = api_registry_find(store_registry(m->st), "example.com", "v1", "widgets");
    assert_ptr_not_equal(now, v1);
    assert_true(now->has_status);
    json_t *got = NULL;
    assert_int_equal(store_get(m->st, now, "t", "w1", &got, &e), 0);
    json_decref(got);
    json_t *list = NULL;
    assert_int_equal(store_list(m->st, now, "t", NULL, &list, &e), 0);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    json_decref(list);
    assert_int_equal(store_get(m->st, v1, "t", "w1", &got, &e), -ENOENT);
    json_decref(crd);
    json_decref(stored);
}

static void grace_periods_only_shorten(void **state)
{
    struct m *m = *state;
    struct err e;
    json_t *p = json_pack("{s:{s:s}, s:{s:[{s:s, s:s}]}}", "metadata", "name", "p", "spec",
                          "containers", "name", "c", "image", "i");
    assert_int_equal(store_create(m->st, res(m, "pods"), "t", p, NULL, NULL, &e), 0);
    json_decref(p);
    assert_int_equal(store_bind(m->st, "t", "p", "n1", &e), 0);
    struct store_delete_opts dflt = {0}, ten = {.has_grace = true, .grace_s = 10},
                             forty = {.has_grace = true, .grace_s = 40},
                             now = {.has_grace = true, .grace_s = 0};
    json_t *out = NULL;
    assert_int_equal(store_delete(m->st, res(m, "pods"), "t", "p", &dflt, &out, &e), 0);
    const json_t *md = json_object_get(out, "metadata");
    assert_string_equal(json_string_value(json_object_get(md, "deletionTimestamp")),
                        "2024-05-01T10:00:30Z");
    json_decref(out);
    ((struct clock *)m->ctx)->now += 5 * 1000000000LL;
    /* longer: ignored; shorter: counted from when the deletion began */
    assert_int_equal(store_delete(m->st, res(m, "pods"), "t", "p", &forty, &out, &e), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "metadata"),
                                                        "deletionGracePeriodSeconds")), 30);
    json_decref(out);
    assert_int_equal(store_delete(m->st, res(m, "pods"), "t", "p", &ten, &out, &e), 0);
    md = json_object_get(out, "metadata");
    assert_string_equal(json_string_value(json_object_get(md, "deletionTimestamp")),
                        "2024-05-01T10:00:10Z");
    assert_int_equal(json_integer_value(json_object_get(md, "deletionGracePeriodSeconds")), 10);
    json_decref(out);
    /* past the deadline, the kubelet's grace 0 still ends it */
    ((struct clock *)m->ctx)->now += 60 * 1000000000LL;
    assert_int_equal(store_delete(m->st, res(m, "pods"), "t", "p", &now, NULL, &e), 0);
    assert_int_equal(store_get(m->st, res(m, "pods"), "t", "p", &out, &e), -ENOENT);
}

/* --- wake-ups -------------------------------------------------------------- */

/* A reader that waits without a limit, and a writer that writes only once
 * the reader has taken the event before: every write finds the reader
 * asleep, so a write whose wake-up is lost leaves it asleep for good and
 * the test never ends (the harness's timeout fails it). */
#define PING_PONGS 300

struct ping_pong {
    struct store_watch *w;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int taken; /* events the reader has read */
    int failed;
};

static void *pong_main(void *arg)
{
    struct ping_pong *pp = arg;
    for (int i = 0; i < PING_PONGS; i++) {
        struct store_event ev;
        struct err e;
        int rc = store_watch_next(pp->w, -1, &ev, &e);
        pthread_mutex_lock(&pp->mu);
        pp->failed |= rc != 0 || ev.type != STORE_ADDED;
        pp->taken++;
        pthread_cond_signal(&pp->cv);
        pthread_mutex_unlock(&pp->mu);
        if (rc == 0)
            store_event_release(&ev);
    }
    return NULL;
}

static void a_waiting_watch_is_woken_by_every_write(void **state)
{
    struct m *m = *state;
    struct ping_pong pp = {.w = watch_from(m, "0", NULL, NULL)};
    pthread_mutex_init(&pp.mu, NULL);
    pthread_cond_init(&pp.cv, NULL);
    pthread_t reader;
    assert_int_equal(pthread_create(&reader, NULL, pong_main, &pp), 0);
    for (int i = 0; i < PING_PONGS; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        json_decref(cm(m, name));
        pthread_mutex_lock(&pp.mu);
        while (pp.taken <= i)
            pthread_cond_wait(&pp.cv, &pp.mu);
        pthread_mutex_unlock(&pp.mu);
    }
    pthread_join(reader, NULL);
    assert_false(pp.failed);
    store_watch_close(pp.w);
    pthread_cond_destroy(&pp.cv);
    pthread_mutex_destroy(&pp.mu);
}

/* Readers that wait a moment, give up and close their watch, again and
 * again, while writes wake them: a watch may be closed between the write
 * that marked it and the signal sent after the lock, and must then be
 * freed once, by whichever comes last (the sanitizer build checks it). */
#define CLOSERS 3
#define CLOSER_ROUNDS 200

struct closer {
    struct m *m;
    int events;
};

static void *closer_main(void *arg)
{
    struct closer *c = arg;
    for (int i = 0; i < CLOSER_ROUNDS; i++) {
        struct store_watch_opts o = {.resource_version = "0"};
        struct store_watch *w;
        struct err e;
        if (store_watch_open(c->m->st, res(c->m, "cm"), "t", &o, &w, &e) != 0)
            return NULL;
        struct store_event ev;
        while (store_watch_next(w, 0, &ev, NULL) == 0) /* the replay */
            store_event_release(&ev);
        if (store_watch_next(w, 1, &ev, NULL) == 0) {
            c->events++;
            store_event_release(&ev);
        }
        store_watch_close(w);
    }
    return NULL;
}

static void watches_closed_while_woken_are_freed_once(void **state)
{
    struct m *m = *state;
    struct closer c[CLOSERS];
    pthread_t th[CLOSERS];
    for (int i = 0; i < CLOSERS; i++) {
        c[i] = (struct closer){m, 0};
        assert_int_equal(pthread_create(&th[i], NULL, closer_main, &c[i]), 0);
    }
    json_decref(cm(m, "x"));
    for (int i = 0; i < 2000; i++) {
        char n[16];
        snprintf(n, sizeof n, "%d", i);
        json_t *p = json_pack("{s:{s:s}}", "data", "n", n);
        struct err e;
        assert_int_equal(store_patch(m->st, res(m, "cm"), "t", "x", STORE_PATCH_MERGE, p,
                                     &(struct store_write_opts){0}, NULL, &e), 0);
        json_decref(p);
    }
    for (int i = 0; i < CLOSERS; i++)
        pthread_join(th[i], NULL);
}

/* A removal no watch of its kind is open for stores no copy of the last
 * state: its DELETED event shares the object's last version, both as the
 * state before and after. A watch resumed from before the removal (opened
 * after it), in either form, still gets that state with the removal's
 * resourceVersion; a reader of the history list still sees the object at
 * the older revision. */
static void a_removal_nobody_watches_shares_the_last_version(void **state)
{
    struct m *m = *state;
    struct err e;
    json_decref(cm(m, "a")); /* rv 1 */
    assert_int_equal(store_delete(m->st, res(m, "cm"), "t", "a", NULL, NULL, &e), 0); /* 2 */
    struct mem_store *ms = mem__of(m->st);
    const struct mem_event *ev = &ms->ring[2 % ms->ring_cap];
    assert_int_equal(ev->type, STORE_DELETED);
    assert_ptr_equal(ev->cur, ev->prev);
    assert_int_equal(ev->cur->rv, 1);
    for (int raw = 0; raw < 2; raw++) {
        struct store_watch_opts o = {.resource_version = "1", .want_raw = raw};
        struct store_watch *w;
        assert_int_equal(store_watch_open(m->st, res(m, "cm"), "t", &o, &w, &e), 0);
        struct store_event got;
        assert_int_equal(store_watch_next(w, 0, &got, &e), 0);
        assert_int_equal(got.type, STORE_DELETED);
        json_t *obj = raw ? json_loadb(got.raw->data, got.raw->len, 0, NULL)
                          : json_incref(got.object);
        json_t *md = json_object_get(obj, "metadata");
        assert_string_equal(json_string_value(json_object_get(md, "name")), "a");
        assert_string_equal(json_string_value(json_object_get(md, "resourceVersion")), "2");
        json_decref(obj);
        store_event_release(&got);
        store_watch_close(w);
    }
    struct store_list_opts lo = {.resource_version = "1", .exact = true};
    json_t *list;
    assert_int_equal(store_list(m->st, res(m, "cm"), "t", &lo, &list, &e), 0);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    json_decref(list);
}

/* A removal with a watch open on its kind stores the last state under
 * the removal's resourceVersion, shared by every watcher as it is. */
static void a_watched_removal_stores_its_last_state(void **state)
{
    struct m *m = *state;
    struct err e;
    json_decref(cm(m, "a")); /* rv 1 */
    struct store_watch *w = watch_from(m, "1", NULL, NULL);
    assert_int_equal(store_delete(m->st, res(m, "cm"), "t", "a", NULL, NULL, &e), 0); /* 2 */
    struct mem_store *ms = mem__of(m->st);
    const struct mem_event *ev = &ms->ring[2 % ms->ring_cap];
    assert_true(ev->cur != ev->prev);
    assert_int_equal(ev->cur->rv, 2);
    next_is(w, STORE_DELETED, "a");
    store_watch_close(w);
}

/* Holds the store's lock until the main thread says its poll returned, or
 * a bound passed (then the poll waited on the lock). */
struct lock_holder {
    struct mem_store *ms;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool holding, polled, polled_while_held;
};

static void *hold_lock_main(void *arg)
{
    struct lock_holder *h = arg;
    mutex_lock(&h->ms->mu);
    pthread_mutex_lock(&h->mu);
    h->holding = true;
    pthread_cond_broadcast(&h->cv);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10; /* a bound only for the failure: the poll never waits */
    while (!h->polled && pthread_cond_timedwait(&h->cv, &h->mu, &until) == 0)
        ;
    h->polled_while_held = h->polled;
    pthread_mutex_unlock(&h->mu);
    mutex_unlock(&h->ms->mu);
    return NULL;
}

/* A look that does not wait, at a watch with nothing new for it, answers
 * without the store's lock: with thousands of informers polled in turn
 * (the simulator), the empty looks were most of the lock's traffic. One
 * that has something still reads it. */
static void an_idle_poll_needs_no_lock(void **state)
{
    struct m *m = *state;
    struct store_watch *w = watch_from(m, "0", "gpuslice.dev/node=n1", NULL);
    put_on_node(m, "other", "n2", true); /* moves the head, not for w */
    struct lock_holder h = {.ms = mem__of(m->st)};
    pthread_mutex_init(&h.mu, NULL);
    pthread_cond_init(&h.cv, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, hold_lock_main, &h), 0);
    pthread_mutex_lock(&h.mu);
    while (!h.holding)
        pthread_cond_wait(&h.cv, &h.mu);
    pthread_mutex_unlock(&h.mu);
    struct store_event ev;
    struct err e;
    assert_int_equal(store_watch_next(w, 0, &ev, &e), -EAGAIN);
    pthread_mutex_lock(&h.mu);
    h.polled = true;
    pthread_cond_broadcast(&h.cv);
    pthread_mutex_unlock(&h.mu);
    pthread_join(th, NULL);
    assert_true(h.polled_while_held);
    put_on_node(m, "mine", "n1", true);
    next_is(w, STORE_ADDED, "mine");
    assert_int_equal(store_watch_next(w, 0, &ev, &e), -EAGAIN);
    store_watch_cancel(w);
    assert_int_equal(store_watch_next(w, 0, &ev, &e), -ECANCELED);
    store_watch_close(w);
    pthread_cond_destroy(&h.cv);
    pthread_mutex_destroy(&h.mu);
}

int main(void)
{
    int failed = store_semantics_run(&mem_fixture);
    failed += store_semantics_run(&mem_cold_fixture);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(needs_a_clock),
        cmocka_unit_test_setup_teardown(timestamps_come_from_the_clock, m_setup, m_teardown),
        cmocka_unit_test_setup_teardown(identities_follow_the_seed, m_setup, m_teardown),
        cmocka_unit_test_setup_teardown(revision_counts_writes, m_setup, m_teardown),
        cmocka_unit_test_setup_teardown(reads_are_the_callers_to_change, m_setup, m_teardown),
        cmocka_unit_test_setup_teardown(an_update_takes_an_object_handed_over, m_setup, m_teardown),
        cmocka_unit_test_setup_teardown(the_stores_own_values_are_shared, m_setup, m_teardown),
        cmocka_unit_test_setup_teardown(a_seconds_times_are_one_value, m_setup, m_teardown),
        cmocka_unit_test_setup_teardown(slow_watcher_falls_off_the_history, m_setup, m_teardown),
        cmocka_unit_test_setup_teardown(routed_watches_get_their_objects_events, m_setup,
                                        m_teardown),
        cmocka_unit_test_setup_teardown(selected_lists_follow_their_index, m_setup, m_teardown),
        cmocka_unit_test_setup_teardown(a_page_costs_itself_not_the_objects_before_it,
                                        m_setup_history, m_teardown),
        cmocka_unit_test_setup_teardown(a_selected_page_costs_itself, m_setup_history,
                                        m_teardown),
        cmocka_unit_test_setup_teardown(pages_follow_creates_and_deletes, m_setup_history,
                                        m_teardown),
        cmocka_unit_test_setup_teardown(events_expire_on_a_clock_stepped_back, m_setup,
                                        m_teardown),
        cmocka_unit_test_setup_teardown(field_selectors_follow_status_writes, m_setup,
                                        m_teardown),
        cmocka_unit_test_setup_teardown(events_expire_after_their_last_write, m_setup,
                                        m_teardown),
        cmocka_unit_test_setup_teardown(a_watch_reads_events_the_history_dropped, m_setup,
                                        m_teardown),
        cmocka_unit_test_setup_teardown(a_watch_holds_at_most_the_history_unread, m_setup,
                                        m_teardown),
        cmocka_unit_test_setup_teardown(a_resumed_watch_expires_when_its_backlog_leaves_the_history,
                                        m_setup, m_teardown),
        cmocka_unit_test_setup_teardown(a_closed_watch_lets_go_of_its_unread_versions, m_setup,
                                        m_teardown),
        cmocka_unit_test_setup_teardown(the_watch_buffer_is_set_apart_from_the_history, m_setup,
                                        m_teardown),
        cmocka_unit_test_setup_teardown(a_quiet_watch_outlives_the_history, m_setup, m_teardown),
        cmocka_unit_test(a_store_started_past_a_revision_refuses_older_watches),
        cmocka_unit_test_setup_teardown(a_watch_from_the_future_ends_too_large, m_setup,
                                        m_teardown),
        cmocka_unit_test_setup_teardown(a_watch_from_the_next_version_streams_once_reached,
                                        m_setup, m_teardown),
        cmocka_unit_test_setup_teardown(collector_is_a_step_the_caller_runs, m_setup, m_teardown),
        cmocka_unit_test_setup_teardown(auto_collect_runs_inside_the_write, m_setup_auto, m_teardown),
        cmocka_unit_test_setup_teardown(raw_watch_events_share_the_stored_text, m_setup, m_teardown),
        cmocka_unit_test_setup_teardown(old_versions_keep_only_their_text, m_setup, m_teardown),
        cmocka_unit_test_setup_teardown(events_keep_only_their_text_when_told, m_setup,
                                        m_teardown),
        cmocka_unit_test_setup_teardown(lists_past_the_index_cap_scan, m_setup, m_teardown),
        cmocka_unit_test_setup_teardown(shared_reads_copy_nothing, m_setup, m_teardown),
        cmocka_unit_test_setup_teardown(new_versions_leave_the_old_ones_untouched, m_setup,
                                        m_teardown),
        cmocka_unit_test_setup_teardown(writes_without_out_answer_with_the_text_alone, m_setup,
                                        m_teardown),
        cmocka_unit_test_setup_teardown(writes_hand_back_the_stored_text, m_setup, m_teardown),
        cmocka_unit_test_setup_teardown(crd_change_keeps_its_objects, m_setup, m_teardown),
        cmocka_unit_test_setup_teardown(grace_periods_only_shorten, m_setup, m_teardown),
        cmocka_unit_test_setup_teardown(a_waiting_watch_is_woken_by_every_write,
                                        m_setup_history, m_teardown),
        cmocka_unit_test_setup_teardown(watches_closed_while_woken_are_freed_once,
                                        m_setup_history, m_teardown),
        cmocka_unit_test_setup_teardown(a_removal_nobody_watches_shares_the_last_version,
                                        m_setup, m_teardown),
        cmocka_unit_test_setup_teardown(a_watched_removal_stores_its_last_state, m_setup,
                                        m_teardown),
        cmocka_unit_test_setup_teardown(an_idle_poll_needs_no_lock, m_setup, m_teardown),
    };
    failed += cmocka_run_group_tests_name("store_mem", tests, NULL, NULL);
    return failed;
}
