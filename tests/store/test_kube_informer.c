/*
 * The informer over the kube backend, through the embedded API server on
 * loopback: the thread runner keeps its cache equal to the server's
 * objects under writes, and a watch reopened from a compacted
 * resourceVersion gets the server's 410 and relists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "apiserver/apiserver.h"
#include "store/informer.h"
#include "store/kube.h"
#include "store/mem.h"
#include "util/clock.h"

struct rig {
    int64_t now;
    unsigned max_watches;   /* the server's; 0: its default */
    struct store *mem, *kube;
    struct apiserver *srv;
    const struct api_resource *cms;
};

static int64_t rig_now(void *ctx)
{
    return ((struct rig *)ctx)->now;
}

/* A fresh mem store (on store_clock) with namespace "t", served on port
 * (0: any). */
static void serve(struct rig *r, uint16_t port, clock_now_fn store_clock, void *store_ctx)
{
    struct mem_store_config mc = {.now_ns = store_clock, .clock_ctx = store_ctx,
                                  .seed = 5, .auto_collect = true};
    struct err e;
    assert_int_equal(mem_store_new(&mc, &r->mem, &e), 0);
    struct apiserver_config ac = {.store = r->mem, .port = port, .now_ns = rig_now,
                                  .clock_ctx = r, .version = "test",
                                  .max_watches = r->max_watches};
    assert_int_equal(apiserver_start(&ac, &r->srv, &e), 0);
    json_t *ns = json_pack("{s:{s:s}}", "metadata", "name", "t");
    assert_int_equal(store_create(r->mem, api_registry_find(store_registry(r->mem), "", "v1",
                                                            "namespaces"),
                                  NULL, ns, NULL, NULL, &e),
                     0);
    json_decref(ns);
}

static int rig_up(void **state)
{
    struct rig *r = calloc(1, sizeof *r);
    r->now = 1714557600000000000LL;
    serve(r, 0, rig_now, r);
    struct kube_config kc = {.server = (char *)apiserver_url(r->srv)};
    struct err e;
    assert_int_equal(kube_store_new(&kc, NULL, &r->kube, &e), 0);
    r->cms = api_registry_find(store_registry(r->kube), "", "v1", "configmaps");
    *state = r;
    return 0;
}

static int rig_down(void **state)
{
    struct rig *r = *state;
    store_free(r->kube);
    apiserver_stop(r->srv);
    store_free(r->mem);
    free(r);
    return 0;
}

static void put(struct rig *r, const char *name, const char *value)
{
    json_t *cm = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind",
                           "ConfigMap", "metadata", "name", name, "namespace", "t", "data", "v",
                           value);
    struct err e;
    int rc = store_create(r->kube, r->cms, "t", cm, NULL, NULL, &e);
    if (rc == -EEXIST)
        rc = store_update(r->kube, r->cms, "t", cm, NULL, NULL, &e);
    if (rc)
        fail_msg("put %s: %s", name, e.msg);
    json_decref(cm);
}

/* Waits (in real time, bounded) until the cache has the store's last
 * write, then compares them object by object. */
static void assert_caught_up(struct rig *r, struct informer *inf)
{
    char want[32], got[32] = "";
    snprintf(want, sizeof want, "%llu", (unsigned long long)mem_store_revision(r->mem));
    for (int i = 0; i < 1000 && strcmp(got, want) != 0; i++) {
        informer_resource_version(inf, got, sizeof got);
        if (strcmp(got, want) != 0)
            usleep(10000);
    }
    assert_string_equal(got, want);
    json_t *list;
    struct err e;
    assert_int_equal(store_list(r->kube, r->cms, "t", NULL, &list, &e), 0);
    size_t i;
    json_t *obj;
    json_array_foreach(json_object_get(list, "items"), i, obj) {
        json_t *cached;
        const char *name =
            json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
        assert_int_equal(informer_get(inf, "t", name, &cached), 0);
        assert_true(json_equal(cached, obj));
        json_decref(cached);
    }
    assert_int_equal(informer_count(inf), json_array_size(json_object_get(list, "items")));
    json_decref(list);
}

/* An informer of the configmaps in "t", started and caught up. */
static struct informer *caught_up_informer(struct rig *r)
{
    struct informer_config c = {.store = r->kube, .res = r->cms, .ns = "t"};
    struct informer *inf;
    struct err e;
    assert_int_equal(informer_new(&c, &inf, &e), 0);
    assert_int_equal(informer_start(inf, &e), 0);
    assert_caught_up(r, inf);
    return inf;
}

static void the_cache_follows_the_server(void **state)
{
    struct rig *r = *state;
    put(r, "a", "0");
    struct informer_config c = {.store = r->kube, .res = r->cms, .ns = "t", .page_size = 2};
    struct informer *inf;
    struct err e;
    assert_int_equal(informer_new(&c, &inf, &e), 0);
    assert_int_equal(informer_start(inf, &e), 0);
    assert_int_equal(informer_wait_synced(inf, 10000), 0);
    for (int i = 0; i < 100; i++) {
        char name[8], value[8];
        snprintf(name, sizeof name, "c%d", i % 7);
        snprintf(value, sizeof value, "%d", i);
        put(r, name, value);
    }
    assert_int_equal(store_delete(r->kube, r->cms, "t", "a", NULL, NULL, &e), 0);
    assert_caught_up(r, inf);
    informer_free(inf);
}

static void discovery_is_for_kube_stores_only(void **state)
{
    struct rig *r = *state;
    size_t added = 7;
    struct err e;
    assert_int_equal(kube_store_discover(r->mem, &added, &e), -EINVAL);
    assert_int_equal(added, 0);
    assert_int_equal(kube_store_discover(r->kube, &added, &e), 0);
    assert_int_equal(added, 0); /* a bare server has no CRDs */
}

static void a_compacted_version_relists_over_http(void **state)
{
    struct rig *r = *state;
    put(r, "a", "0");
    struct informer *inf = caught_up_informer(r);
    struct err e;
    informer_stop(inf); /* the watch is closed; the informer remembers its version */
    put(r, "a", "1");
    put(r, "b", "0");
    mem_store_compact(r->mem);
    assert_int_equal(informer_start(inf, &e), 0);
    assert_caught_up(r, inf);
    struct informer_stats s;
    informer_get_stats(inf, &s);
    assert_int_equal(s.lists, 2);
    assert_int_equal(s.relists, 1);
    informer_free(inf);
}

/* A watch from a version the server has not reached ends, after the
 * server's wait, with its "Too large resource version" ERROR event, read
 * back as -ETIME. */
static void a_future_version_is_too_large_over_http(void **state)
{
    struct rig *r = *state;
    put(r, "a", "0");
    unsigned long long now = (unsigned long long)mem_store_revision(r->mem);
    char rv[32];
    snprintf(rv, sizeof rv, "%llu", now + 100);
    struct store_watch_opts o = {.resource_version = rv};
    struct store_watch *w;
    struct err e;
    assert_int_equal(store_watch_open(r->kube, r->cms, "t", &o, &w, &e), 0);
    __atomic_add_fetch(&r->now, MEM_STORE_FUTURE_WAIT_NS, __ATOMIC_SEQ_CST);
    put(r, "b", "0"); /* wakes the server's wait at once */
    struct store_event ev;
    assert_int_equal(store_watch_next(w, 10000, &ev, &e), -ETIME);
    /* The server may end the wait before or after "b" is written (the
     * clock has passed its wait either way), so current is either. */
    char want_before[96], want_after[96];
    snprintf(want_before, sizeof want_before, "Too large resource version: %llu, current: %llu",
             now + 100, now);
    snprintf(want_after, sizeof want_after, "Too large resource version: %llu, current: %llu",
             now + 100, now + 1);
    if (strcmp(e.msg, want_before) != 0)
        assert_string_equal(e.msg, want_after);
    store_watch_close(w);
}

/* The API server restarts on its port with an empty store (and the real
 * clock): the informer's watch resumes from a version the new store has
 * not reached, ends "Too large" after the server's wait, and the informer
 * relists and sees what was made after the restart. */
static void a_restarted_server_is_relisted(void **state)
{
    struct rig *r = *state;
    put(r, "old", "0");
    put(r, "old", "1");
    put(r, "old", "2");
    struct informer *inf = caught_up_informer(r);
    uint16_t port = apiserver_port(r->srv);
    apiserver_stop(r->srv);
    store_free(r->mem);
    serve(r, port, clock_realtime_now, NULL);
    put(r, "new", "0");
    assert_caught_up(r, inf);
    json_t *got;
    assert_int_equal(informer_get(inf, "t", "old", &got), -ENOENT);
    struct informer_stats s;
    informer_get_stats(inf, &s);
    assert_int_equal(s.relists, 1);
    informer_free(inf);
}

/* issue 19: watches past the server's cap are answered 429; the informer
 * backs off and tries again, and its watch opens once a slot is free. */
static void a_refused_watch_is_retried(void **state)
{
    struct rig *r = *state;
    uint16_t port = apiserver_port(r->srv);
    apiserver_stop(r->srv);
    store_free(r->mem);
    r->max_watches = 1;
    serve(r, port, rig_now, r);
    put(r, "a", "0");
    struct store_watch *held;
    struct err e;
    assert_int_equal(store_watch_open(r->kube, r->cms, "t", &(struct store_watch_opts){0}, &held,
                                      &e),
                     0);
    struct informer_config c = {.store = r->kube, .res = r->cms, .ns = "t"};
    struct informer *inf;
    assert_int_equal(informer_new(&c, &inf, &e), 0);
    assert_int_equal(informer_start(inf, &e), 0);
    assert_int_equal(informer_wait_synced(inf, 10000), 0);
    struct informer_stats st = {0};
    for (int i = 0; i < 1000 && st.failures < 2; i++) {
        usleep(10000);
        informer_get_stats(inf, &st);
    }
    assert_true(st.failures >= 2);
    assert_int_equal(st.watches, 0);
    store_watch_close(held);
    put(r, "b", "0");
    assert_caught_up(r, inf);
    informer_get_stats(inf, &st);
    assert_int_equal(st.watches, 1);
    informer_free(inf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_cache_follows_the_server, rig_up, rig_down),
        cmocka_unit_test_setup_teardown(a_compacted_version_relists_over_http, rig_up,
                                        rig_down),
        cmocka_unit_test_setup_teardown(discovery_is_for_kube_stores_only, rig_up, rig_down),
        cmocka_unit_test_setup_teardown(a_future_version_is_too_large_over_http, rig_up,
                                        rig_down),
        cmocka_unit_test_setup_teardown(a_restarted_server_is_relisted, rig_up, rig_down),
        cmocka_unit_test_setup_teardown(a_refused_watch_is_retried, rig_up, rig_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
