/* Tests for the wiring (components.h) and the collector step: bad
 * configurations are refused with what is wrong, the virtual runtime
 * reports when something is next due and settles, and the threaded
 * runtime runs a pod to completion on the real clock. */
#include "harness.h"

#include <time.h>

#include "cluster/collector.h"

static const struct kubelet_node two[] = {{.name = "n1"}, {.name = "n2"}};

static void refuses_bad_configurations(void **state)
{
    (void)state;
    struct harness h = {.now = T0};
    struct err e = {0};
    struct mem_store_config mc = {.now_ns = h_now_ns, .clock_ctx = &h, .auto_collect = true};
    h_ok(mem_store_new(&mc, &h.st, &e), &e, "mem_store_new");
    struct cluster_parts *p = NULL;
    struct cluster_parts_config pc = {.store = NULL};
    assert_int_equal(cluster_parts_new(&pc, &p, &e), -EINVAL);
    const struct kubelet_node dup[] = {{.name = "n1"}, {.name = "n1"}};
    pc = (struct cluster_parts_config){.store = h.st, .nodes = dup, .node_count = 2};
    assert_int_equal(cluster_parts_new(&pc, &p, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "node n1 given twice"));
    pc = (struct cluster_parts_config){.store = h.st, .node_count = 1};
    assert_int_equal(cluster_parts_new(&pc, &p, &e), -EINVAL);
    /* The collector step belongs to the virtual runtime. */
    pc = (struct cluster_parts_config){.store = h.st, .now_ns = h_now_ns, .clock_ctx = &h,
                                       .collect = true};
    h_ok(cluster_parts_new(&pc, &p, &e), &e, "cluster_parts_new");
    assert_int_equal(cluster_parts_start(p, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "auto_collect"));
    cluster_parts_free(p);
    cluster_parts_free(NULL);
    store_free(h.st);
}

static void collector_applies_to_mem_only(void **state)
{
    (void)state;
    struct store_ops kube_ops = {.name = "kube"};
    struct store kube = {.ops = &kube_ops};
    struct err e = {0};
    assert_false(collector_applies(&kube));
    assert_false(collector_applies(NULL));
    assert_int_equal(collector_step(&kube, 0, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "kube"));
    struct harness *h = h_new(NULL, 0);
    assert_true(collector_applies(h->st));
    assert_int_equal(collector_step(h->st, 0, &e), 0); /* nothing queued */
    /* An owner deleted: its dependent goes at the step, not before. */
    h_create(h, h->cms, "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'owner',"
                        "'namespace':'%s'}}", NS);
    json_t *owner = h_get(h, h->cms, NS, "owner");
    h_create(h, h->cms, "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'dep',"
                        "'namespace':'%s','ownerReferences':[{'apiVersion':'v1','kind':"
                        "'ConfigMap','name':'owner','uid':'%s'}]}}", NS, meta_uid(owner));
    json_decref(owner);
    h_ok(store_delete(h->st, h->cms, NS, "owner", NULL, NULL, &e), &e, "delete owner");
    json_t *dep = h_get(h, h->cms, NS, "dep");
    assert_non_null(dep);
    json_decref(dep);
    assert_true(collector_step(h->st, 0, &e) > 0);
    assert_null(h_get(h, h->cms, NS, "dep"));
    h_free(h);
}

static void virtual_runtime_says_what_is_next(void **state)
{
    (void)state;
    struct harness *h = h_new(two, 2);
    /* Nothing has been read yet: the first steps list and register. */
    struct err e = {0};
    assert_true(cluster_parts_step(h->parts, &e) > 0);
    h_settle(h);
    assert_int_equal(h_count(h, h->nodes, NULL), 2);
    assert_int_equal(cluster_parts_next_due(h->parts), INT64_MAX);
    assert_int_equal(cluster_parts_settle(h->parts, 0, &e), 0); /* quiet: no round did work */
    h_pod(h, "p", ",'annotations':{'gpuslice.dev/run-seconds':'90'}",
          ",'restartPolicy':'Never'");
    /* One round sees the pod, schedules it; more are needed to run it. */
    assert_int_equal(cluster_parts_settle(h->parts, 1, &e), -ELOOP);
    assert_non_null(strstr(e.msg, "still busy after 1 rounds"));
    h_settle(h);
    assert_int_equal(cluster_parts_next_due(h->parts), T0 + 90 * SEC);
    h_run_until(h, T0 + 90 * SEC);
    assert_string_equal(h_field(h, h->pods, "p", "status.phase"), "Succeeded");
    assert_int_equal(cluster_parts_next_due(h->parts), INT64_MAX);
    /* Logs are off unless asked for (the simulator's many pods). */
    struct linelog *log = NULL;
    json_t *pod = h_get(h, h->pods, NS, "p");
    assert_null(cluster_parts_kubelet(h->parts, "n3"));
    assert_int_equal(kubelet_open_log(cluster_parts_kubelet(h->parts, h_str(pod, "spec.nodeName")),
                                      pod, "c", false, &log, &e), -EBUSY);
    json_decref(pod);
    h_free(h);
}

static int64_t real_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

static int64_t store_clock(void *ctx)
{
    (void)ctx;
    return real_now_ns();
}

static void threaded_runtime_runs_a_pod(void **state)
{
    (void)state;
    struct store *st = NULL;
    struct err e = {0};
    struct mem_store_config mc = {.now_ns = store_clock, .auto_collect = true};
    h_ok(mem_store_new(&mc, &st, &e), &e, "mem_store_new");
    struct cluster_parts *p = NULL;
    struct cluster_parts_config pc = {.store = st, .nodes = two, .node_count = 2,
                                      .keep_logs = true};
    h_ok(cluster_parts_new(&pc, &p, &e), &e, "cluster_parts_new");
    h_ok(cluster_parts_start(p, &e), &e, "cluster_parts_start");
    assert_int_equal(cluster_parts_start(p, &e), -EBUSY);
    assert_int_equal(cluster_parts_wait_synced(p, 10000), 0);
    const struct api_resource *pods = api_registry_find(store_registry(st), "", "v1", "pods");
    json_t *pod = json_text("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'t','namespace':"
                         "'default','annotations':{'gpuslice.dev/run-seconds':'0.05'}},'spec':"
                         "{'restartPolicy':'Never','containers':[{'name':'c','image':'i'}]}}");
    h_ok(store_create(st, pods, NULL, pod, NULL, NULL, &e), &e, "create pod");
    json_decref(pod);
    /* Wait for the outcome, not for a time: the bound is only a safety net. */
    const char *phase = "";
    for (int i = 0; i < 2000 && strcmp(phase, "Succeeded") != 0; i++) {
        json_t *got = NULL;
        if (store_get(st, pods, "default", "t", &got, NULL) == 0)
            phase = h_str(got, "status.phase");
        json_decref(got);
        if (strcmp(phase, "Succeeded") != 0)
            nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);
    }
    assert_string_equal(phase, "Succeeded");
    /* The kubelet's log of it ends once its informer saw the end. */
    json_t *got = NULL;
    h_ok(store_get(st, pods, "default", "t", &got, &e), &e, "get pod");
    struct linelog *log = NULL;
    h_ok(kubelet_open_log(cluster_parts_kubelet(p, h_str(got, "spec.nodeName")), got, "c", false,
                          &log, &e), &e, "kubelet_open_log");
    for (int i = 0; i < 2000 && !linelog_closed(log); i++) {
        linelog_unref(log);
        nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);
        h_ok(kubelet_open_log(cluster_parts_kubelet(p, h_str(got, "spec.nodeName")), got, "c",
                              false, &log, &e), &e, "kubelet_open_log");
    }
    struct linelog_line lines[8];
    uint64_t from = 0;
    size_t n = linelog_read(log, &from, lines, 8);
    assert_int_equal(n, 3);
    assert_string_equal(lines[0].text, "No devices found.");
    assert_string_equal(lines[2].text, "[gpuslice] emulated container c exited with code 0 "
                                       "(Completed)");
    linelog_lines_free(lines, n);
    linelog_unref(log);
    json_decref(got);
    cluster_parts_stop(p);
    cluster_parts_stop(p); /* a second stop is harmless */
    cluster_parts_free(p);
    store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refuses_bad_configurations),
        cmocka_unit_test(collector_applies_to_mem_only),
        cmocka_unit_test(virtual_runtime_says_what_is_next),
        cmocka_unit_test(threaded_runtime_runs_a_pod),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
