/* Tests for reconcile/action: builders validate and own, the executor maps
 * each action onto the store, events aggregate by content. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "api/meta.h"
#include "reconcile/action.h"
#include "store/mem.h"

static int64_t fixed_now(void *ctx)
{
    return *(const int64_t *)ctx;
}

struct fixture {
    int64_t now;
    struct store *st;
    const struct api_resource *pods, *events, *namespaces;
    struct action_list l;
    struct action_context ctx;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->now = 1700000000LL * 1000000000LL;
    struct mem_store_config cfg = {.now_ns = fixed_now, .clock_ctx = &f->now, .seed = 1,
                                   .auto_collect = true};
    assert_int_equal(mem_store_new(&cfg, &f->st, NULL), 0);
    struct api_registry *reg = store_registry(f->st);
    f->pods = api_registry_find(reg, "", "v1", "pods");
    f->events = api_registry_find(reg, "", "v1", "events");
    f->namespaces = api_registry_find(reg, "", "v1", "namespaces");
    json_t *ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                           "metadata", "name", "team");
    assert_int_equal(store_create(f->st, f->namespaces, NULL, ns, &(struct store_write_opts){0},
                                  NULL, NULL), 0);
    json_decref(ns);
    action_list_init(&f->l);
    f->ctx = (struct action_context){.component = "gpuslice-test", .host = "node-a",
                                     .now_ns = f->now};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    action_list_clear(&f->l);
    store_free(f->st);
    free(f);
    return 0;
}

static json_t *pod(const char *name)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:[{s:s, s:s}]}}", "apiVersion", "v1",
                     "kind", "Pod", "metadata", "name", name, "namespace", "team", "spec",
                     "containers", "name", "c", "image", "busybox");
}

/* Executes every queued action, expecting rc for each, and clears the list. */
static void run_all(struct fixture *f, int rc)
{
    for (size_t i = 0; i < f->l.n; i++) {
        json_t *out = NULL;
        struct err e = {0};
        assert_int_equal(action_execute(f->st, &f->l.items[i], &f->ctx, &out, &e), rc);
        json_decref(out);
    }
    action_list_clear(&f->l);
}

static void create_update_patch_delete_reach_the_store(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(action_create(&f->l, f->pods, "team", pod("p"), NULL), 0);
    run_all(f, 0);

    json_t *got = NULL;
    assert_int_equal(store_get(f->st, f->pods, "team", "p", &got, NULL), 0);
    json_object_set_new(meta_of(got), "labels", json_pack("{s:s}", "app", "x"));
    assert_int_equal(action_update(&f->l, f->pods, got, NULL), 0);
    run_all(f, 0);

    json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", "a", "b");
    assert_int_equal(action_patch(&f->l, f->pods, "team", "p", STORE_PATCH_MERGE, patch, NULL), 0);
    run_all(f, 0);
    assert_int_equal(store_get(f->st, f->pods, "team", "p", &got, NULL), 0);
    assert_string_equal(meta_label(got, "app"), "x");
    assert_string_equal(meta_annotation(got, "a"), "b");

    /* A uid precondition that does not match refuses the delete. */
    assert_int_equal(action_delete(&f->l, f->pods, "team", "p", "not-the-uid", NULL), 0);
    run_all(f, -ESTALE);
    assert_int_equal(action_delete(&f->l, f->pods, "team", "p", meta_uid(got), NULL), 0);
    run_all(f, 0);
    json_decref(got);
    got = NULL;
    assert_int_equal(store_get(f->st, f->pods, "team", "p", &got, NULL), -ENOENT);
}

static void stale_update_is_a_conflict(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(action_create(&f->l, f->pods, "team", pod("p"), NULL), 0);
    run_all(f, 0);
    json_t *a = NULL, *b = NULL;
    store_get(f->st, f->pods, "team", "p", &a, NULL);
    store_get(f->st, f->pods, "team", "p", &b, NULL);
    json_object_set_new(meta_of(a), "labels", json_pack("{s:s}", "v", "1"));
    json_object_set_new(meta_of(b), "labels", json_pack("{s:s}", "v", "2"));
    action_update(&f->l, f->pods, a, NULL);
    action_update(&f->l, f->pods, b, NULL);
    json_t *out = NULL;
    assert_int_equal(action_execute(f->st, &f->l.items[0], &f->ctx, &out, NULL), 0);
    json_decref(out);
    assert_int_equal(action_execute(f->st, &f->l.items[1], &f->ctx, &out, NULL), -ESTALE);
    assert_null(out);
}

static void status_update_and_bind(void **state)
{
    struct fixture *f = *state;
    action_create(&f->l, f->pods, "team", pod("p"), NULL);
    run_all(f, 0);
    json_t *got = NULL;
    store_get(f->st, f->pods, "team", "p", &got, NULL);
    json_object_set_new(got, "status", json_pack("{s:s}", "phase", "Running"));
    assert_int_equal(action_update_status(&f->l, f->pods, got, NULL), 0);
    assert_int_equal(action_bind(&f->l, "team", "p", "node-a", NULL), 0);
    run_all(f, 0);
    store_get(f->st, f->pods, "team", "p", &got, NULL);
    assert_string_equal(json_string_value(json_object_get(json_object_get(got, "status"), "phase")),
                        "Running");
    assert_string_equal(json_string_value(json_object_get(json_object_get(got, "spec"), "nodeName")),
                        "node-a");
    json_decref(got);
    /* Binding twice is the store's conflict. */
    action_bind(&f->l, "team", "p", "node-b", NULL);
    run_all(f, -ESTALE);
}

static void delete_now_ends_a_graceful_deletion(void **state)
{
    struct fixture *f = *state;
    action_create(&f->l, f->pods, "team", pod("g"), NULL);
    run_all(f, 0);
    assert_int_equal(store_bind(f->st, "team", "g", "node-a", NULL), 0);
    assert_int_equal(action_delete(&f->l, f->pods, "team", "g", NULL, NULL), 0);
    run_all(f, 0);
    json_t *got = NULL;
    assert_int_equal(store_get(f->st, f->pods, "team", "g", &got, NULL), 0);
    assert_non_null(json_object_get(json_object_get(got, "metadata"), "deletionTimestamp"));
    /* The kubelet gets to it after the grace period ran out. */
    f->now += 60LL * 1000000000LL;
    assert_int_equal(action_delete_now(&f->l, f->pods, "team", "g", meta_uid(got), NULL), 0);
    assert_true(f->l.items[0].delete_now);
    json_decref(got);
    run_all(f, 0);
    assert_int_equal(store_get(f->st, f->pods, "team", "g", &got, NULL), -ENOENT);
    assert_int_equal(action_delete_now(&f->l, f->pods, "team", NULL, NULL, NULL), -EINVAL);
}

static json_t *first_event(struct fixture *f)
{
    json_t *list = NULL;
    assert_int_equal(store_list(f->st, f->events, "team", &(struct store_list_opts){0}, &list,
                                NULL), 0);
    json_t *items = json_object_get(list, "items");
    assert_int_equal(json_array_size(items), 1);
    json_t *ev = json_incref(json_array_get(items, 0));
    json_decref(list);
    return ev;
}

static void events_aggregate_by_content(void **state)
{
    struct fixture *f = *state;
    action_create(&f->l, f->pods, "team", pod("p"), NULL);
    run_all(f, 0);
    json_t *p = NULL;
    store_get(f->st, f->pods, "team", "p", &p, NULL);
    for (int i = 0; i < 3; i++) {
        f->ctx.now_ns = f->now + (int64_t)i * 60 * 1000000000LL;
        assert_int_equal(action_event(&f->l, p, ACTION_EVENT_WARNING, "NoPlacement", NULL,
                                      "no %s with a free %s placement", "H100-80GB", "3g.40gb"),
                         0);
        run_all(f, 0);
    }
    json_t *ev = first_event(f);
    assert_string_equal(json_string_value(json_object_get(ev, "reason")), "NoPlacement");
    assert_string_equal(json_string_value(json_object_get(ev, "message")),
                        "no H100-80GB with a free 3g.40gb placement");
    assert_string_equal(json_string_value(json_object_get(ev, "type")), "Warning");
    assert_int_equal(json_integer_value(json_object_get(ev, "count")), 3);
    json_t *inv = json_object_get(ev, "involvedObject");
    assert_string_equal(json_string_value(json_object_get(inv, "uid")), meta_uid(p));
    assert_string_equal(json_string_value(json_object_get(inv, "kind")), "Pod");
    assert_string_equal(json_string_value(json_object_get(ev, "firstTimestamp")),
                        "2023-11-14T22:13:20Z");
    assert_string_equal(json_string_value(json_object_get(ev, "lastTimestamp")),
                        "2023-11-14T22:15:20Z");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "source"), "host")),
                        "node-a");
    json_decref(ev);
    json_decref(p);
}

/* A message quoting a client's words, long and not ASCII, is cut at the
 * Event's limit inside a character: the Event is still made, the cut
 * character dropped (it was never built: JSON takes only UTF-8). */
static void a_message_cut_inside_a_character_is_still_said(void **state)
{
    struct fixture *f = *state;
    action_create(&f->l, f->pods, "team", pod("p"), NULL);
    run_all(f, 0);
    json_t *p = NULL;
    store_get(f->st, f->pods, "team", "p", &p, NULL);
    char words[1201] = "x"; /* "x" then "é" (2 bytes) x 600: the cut falls inside one */
    for (int i = 0; i < 600; i++)
        memcpy(words + 1 + 2 * i, "\xc3\xa9", 2);
    words[1200] = '\0';
    assert_int_equal(action_event(&f->l, p, ACTION_EVENT_WARNING, "SliceNotReleased", NULL,
                                  "the node's agent says: %s", words), 0);
    run_all(f, 0);
    json_t *ev = first_event(f);
    assert_non_null(ev);
    const char *said = json_string_value(json_object_get(ev, "message"));
    assert_non_null(strstr(said, "the node's agent says: x\xc3\xa9"));
    assert_true(strlen(said) < 1024);
    json_decref(ev);
    json_decref(p);
}

/* An Event about a cluster-scoped object (a GPUNode, a Node) is filed
 * under default, as Kubernetes does; without one its create was refused. */
static void events_about_cluster_objects_go_to_default(void **state)
{
    struct fixture *f = *state;
    json_t *node = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "gpuslice.dev/v1alpha1",
                             "kind", "GPUNode", "metadata", "name", "node-a");
    assert_int_equal(action_event(&f->l, node, ACTION_EVENT_NORMAL, "ModeChanged", NULL, "m"), 0);
    assert_string_equal(f->l.items[f->l.n - 1].ns, "default");
    action_list_clear(&f->l);
    json_decref(node);
}

static void builders_refuse_missing_parts(void **state)
{
    struct fixture *f = *state;
    struct err e = {0};
    assert_int_equal(action_create(&f->l, NULL, "team", pod("p"), &e), -EINVAL);
    assert_non_null(strstr(e.msg, "resource"));
    assert_int_equal(action_create(&f->l, f->pods, "team", NULL, &e), -EINVAL);
    json_t *nameless = json_pack("{s:{}}", "metadata");
    assert_int_equal(action_update(&f->l, f->pods, nameless, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "metadata.name"));
    assert_int_equal(action_patch(&f->l, f->pods, "team", NULL, STORE_PATCH_MERGE,
                                  json_object(), &e), -EINVAL);
    assert_int_equal(action_delete(&f->l, f->pods, "team", NULL, NULL, &e), -EINVAL);
    assert_int_equal(action_bind(&f->l, "team", "p", NULL, &e), -EINVAL);
    json_t *kindless = json_pack("{s:{s:s}}", "metadata", "name", "x");
    assert_int_equal(action_event(&f->l, kindless, ACTION_EVENT_NORMAL, "R", &e, "m"), -EINVAL);
    json_t *p = pod("p");
    assert_int_equal(action_event(&f->l, p, ACTION_EVENT_NORMAL, "", &e, "m"), -EINVAL);
    assert_int_equal(f->l.n, 0);
    json_decref(kindless);
    json_decref(p);
}

static void describe_names_the_target(void **state)
{
    struct fixture *f = *state;
    json_t *p = pod("p");
    action_create(&f->l, f->pods, "team", json_incref(p), NULL);
    action_bind(&f->l, "team", "p", "node-a", NULL);
    action_delete(&f->l, f->pods, "team", "p", NULL, NULL);
    action_event(&f->l, p, ACTION_EVENT_NORMAL, "Placed", NULL, "on %s", "node-a");
    char buf[128];
    const char *want[] = {"create pods team/p", "bind pods team/p to node-a",
                          "delete pods team/p", "event Placed on Pod team/p"};
    for (size_t i = 0; i < 4; i++) {
        action_describe(&f->l.items[i], buf, sizeof buf);
        assert_string_equal(buf, want[i]);
    }
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_update_patch_delete_reach_the_store, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_update_is_a_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(status_update_and_bind, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_now_ends_a_graceful_deletion, setup, teardown),
        cmocka_unit_test_setup_teardown(events_aggregate_by_content, setup, teardown),
        cmocka_unit_test_setup_teardown(a_message_cut_inside_a_character_is_still_said, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(events_about_cluster_objects_go_to_default, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(builders_refuse_missing_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(describe_names_the_target, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
