/* Tests for the emulated kubelet over the mem store in virtual time: Node
 * registration (and what it leaves alone), the pod lifecycle (run, succeed,
 * fail, restart under Always and OnFailure, `sleep N`), deletion with its
 * grace period, and ConfigMaps: missing -> CreateContainerConfigError and
 * an Event, then running once it appears, with the environment recorded;
 * and the version its own start's first write made queues nothing. */
#include "harness.h"

#include "cluster/components.h"
#include "cluster/kubelet.h"
#include "cluster/kubelet_pod.h"

static const struct kubelet_node one_node[] = {
    {.name = "n1", .cpu = "4", .memory = "16Gi", .gpus = true, .labels = "zone=a,tier=gpu",
     .taints = "dedicated=gpu:NoSchedule"},
};

static struct harness *one(void)
{
    struct harness *h = h_new_with(one_node, 1, 0, true);
    h_settle(h);
    return h;
}

/* A pod that tolerates the node's taint, with more metadata and spec. */
static void pod(struct harness *h, const char *name, const char *meta, const char *container,
                const char *spec)
{
    h_create(h, h->pods,
             "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'%s','namespace':'%s'%s},"
             "'spec':{'containers':[{'name':'main','image':'busybox'%s}],'tolerations':"
             "[{'key':'dedicated','operator':'Exists'}]%s}}",
             name, NS, meta, container, spec);
}

static const char *phase(struct harness *h, const char *name)
{
    return h_field(h, h->pods, name, "status.phase");
}

static void registers_its_node_and_keeps_others_entries(void **state)
{
    (void)state;
    struct harness *h = one();
    json_t *n = h_get(h, h->nodes, NULL, "n1");
    assert_non_null(n);
    assert_string_equal(meta_label(n, "kubernetes.io/hostname"), "n1");
    assert_string_equal(meta_label(n, "kubernetes.io/os"), "linux");
    assert_string_equal(meta_label(n, "nvidia.com/gpu.present"), "true");
    assert_string_equal(meta_label(n, "zone"), "a");
    assert_string_equal(meta_label(n, "tier"), "gpu");
    assert_string_equal(h_str(n, "spec.taints.0.key"), "dedicated");
    assert_string_equal(h_str(n, "spec.taints.0.value"), "gpu");
    assert_string_equal(h_str(n, "spec.taints.0.effect"), "NoSchedule");
    assert_string_equal(h_str(n, "status.capacity.cpu"), "4");
    assert_string_equal(h_str(n, "status.allocatable.memory"), "16Gi");
    assert_string_equal(h_str(n, "status.allocatable.pods"), "110");
    json_decref(n);
    assert_string_equal(h_condition(h, h->nodes, "n1", "Ready"),
                        "True/KubeletReady/kubelet is posting ready status");

    /* The agent adds its resource, an admin a label and a taint; then the
     * kubelet's own label goes missing: only that comes back. */
    n = h_get(h, h->nodes, NULL, "n1");
    json_t *st = json_object_get(n, "status");
    json_object_set_new(json_object_get(st, "capacity"), "gpuslice.dev/accelerator-memory",
                        json_string("80"));
    json_object_set_new(json_object_get(st, "allocatable"), "gpuslice.dev/accelerator-memory",
                        json_string("80"));
    json_object_set_new(json_object_get(st, "allocatable"), "cpu", json_string("1"));
    struct err e = {0};
    h_ok(store_update(h->st, h->nodes, NULL, n, &(struct store_write_opts){.subresource =
                                                                           STORE_STATUS},
                      NULL, &e),
         &e, "agent status");
    json_decref(n);
    n = h_get(h, h->nodes, NULL, "n1");
    json_t *labels = json_object_get(json_object_get(n, "metadata"), "labels");
    json_object_set_new(labels, "admin", json_string("yes"));
    json_object_del(labels, "kubernetes.io/os");
    json_array_append_new(json_object_get(json_object_get(n, "spec"), "taints"),
                          json_text("{'key':'extra','effect':'NoExecute'}"));
    h_ok(store_update(h->st, h->nodes, NULL, n, NULL, NULL, &e), &e, "admin update");
    json_decref(n);
    h_settle(h);
    n = h_get(h, h->nodes, NULL, "n1");
    assert_string_equal(meta_label(n, "kubernetes.io/os"), "linux");
    assert_string_equal(meta_label(n, "admin"), "yes");
    assert_int_equal(json_array_size(json_object_get(json_object_get(n, "spec"), "taints")), 2);
    st = json_object_get(n, "status");
    assert_string_equal(json_string_value(json_object_get(json_object_get(st, "capacity"),
                                                          "gpuslice.dev/accelerator-memory")),
                        "80");
    assert_string_equal(json_string_value(json_object_get(json_object_get(st, "allocatable"),
                                                          "gpuslice.dev/accelerator-memory")),
                        "80");
    assert_string_equal(h_str(n, "status.allocatable.cpu"), "4"); /* its own entry restored */
    json_decref(n);
    h_free(h);
}

/* The kubelet's status of name's container "main", member order included
 * (what clients and diffs see), its state being state with members keys. */
static void assert_container_status_text(struct harness *h, const char *name, const char *state,
                                         const char *keys)
{
    json_t *pod = h_get(h, h->pods, NS, name);
    const json_t *c = json_array_get(
        json_object_get(json_object_get(pod, "status"), "containerStatuses"), 0);
    assert_keys_begin(c, "name,image,imageID,containerID,ready,started,restartCount,state");
    assert_int_equal(json_object_size(c), 8);
    assert_string_equal(json_string_value(json_object_get(c, "name")), "main");
    assert_string_equal(json_string_value(json_object_get(c, "image")), "busybox");
    assert_string_equal(json_string_value(json_object_get(c, "imageID")), "");
    char id[512];
    snprintf(id, sizeof id, "emulated://n1/%s/main", meta_uid(pod));
    assert_string_equal(json_string_value(json_object_get(c, "containerID")), id);
    bool running = strcmp(state, "running") == 0;
    assert_true(json_is_boolean(json_object_get(c, "ready")));
    assert_int_equal(json_is_true(json_object_get(c, "ready")), running);
    assert_int_equal(json_is_true(json_object_get(c, "started")), running);
    assert_true(json_is_integer(json_object_get(c, "restartCount")));
    assert_int_equal(json_integer_value(json_object_get(c, "restartCount")), 0);
    const json_t *st = json_object_get(c, "state");
    assert_keys_begin(st, state);
    assert_int_equal(json_object_size(st), 1);
    assert_keys_begin(json_object_get(st, state), keys);
    json_decref(pod);
}

static void runs_then_succeeds_after_run_seconds(void **state)
{
    (void)state;
    struct harness *h = one();
    pod(h, "job", ",'annotations':{'gpuslice.dev/run-seconds':'2.5'}", "",
        ",'restartPolicy':'Never'");
    h_settle(h);
    assert_string_equal(h_field(h, h->pods, "job", "spec.nodeName"), "n1");
    assert_string_equal(phase(h, "job"), "Running");
    assert_string_equal(h_condition(h, h->pods, "job", "Ready"), "True//");
    assert_string_equal(h_condition(h, h->pods, "job", "PodScheduled"), "True//");
    assert_string_equal(h_field(h, h->pods, "job", "status.containerStatuses.0.ready"),
                        "true");
    assert_container_status_text(h, "job", "running", "startedAt");
    assert_int_equal(h_events(h, "Started", "job", NULL, 0), 1);
    h_advance_ms(h, 2400);
    assert_string_equal(phase(h, "job"), "Running");
    h_advance_ms(h, 100);
    assert_string_equal(phase(h, "job"), "Succeeded");
    assert_container_status_text(h, "job", "terminated", "exitCode,reason,finishedAt,startedAt");
    assert_string_equal(
        h_field(h, h->pods, "job", "status.containerStatuses.0.state.terminated.reason"),
        "Completed");
    assert_string_equal(
        h_field(h, h->pods, "job", "status.containerStatuses.0.state.terminated.exitCode"),
        "0");
    assert_string_equal(h_condition(h, h->pods, "job", "Ready"), "False/PodCompleted/");
    h_free(h);
}

static void fails_with_the_exit_code(void **state)
{
    (void)state;
    struct harness *h = one();
    pod(h, "bad", ",'annotations':{'gpuslice.dev/exit-code':'3'}",
        ",'command':['/bin/sleep'],'args':['1']", ",'restartPolicy':'Never'");
    h_advance_ms(h, 1000);
    assert_string_equal(phase(h, "bad"), "Failed");
    assert_string_equal(
        h_field(h, h->pods, "bad", "status.containerStatuses.0.state.terminated.exitCode"), "3");
    assert_string_equal(
        h_field(h, h->pods, "bad", "status.containerStatuses.0.state.terminated.reason"),
        "Error");
    h_free(h);
}

static void restarts_under_always_and_on_failure(void **state)
{
    (void)state;
    struct harness *h = one();
    pod(h, "always", ",'annotations':{'gpuslice.dev/run-seconds':'10'}", "", "");
    pod(h, "retry", ",'annotations':{'gpuslice.dev/exit-code':'1'}",
        ",'args':['sleep','4']", ",'restartPolicy':'OnFailure'");
    pod(h, "once", "", ",'args':['sleep','4']", ",'restartPolicy':'OnFailure'");
    pod(h, "forever", "", "", "");
    h_advance_ms(h, 25000);
    assert_string_equal(phase(h, "always"), "Running");
    assert_string_equal(h_field(h, h->pods, "always", "status.containerStatuses.0.restartCount"),
                        "2");
    assert_string_equal(h_field(h, h->pods, "always",
                                "status.containerStatuses.0.lastState.terminated.reason"),
                        "Completed");
    assert_string_equal(phase(h, "retry"), "Running");
    assert_string_equal(h_field(h, h->pods, "retry", "status.containerStatuses.0.restartCount"),
                        "6");
    assert_string_equal(phase(h, "once"), "Succeeded");
    assert_string_equal(phase(h, "forever"), "Running");
    assert_string_equal(h_field(h, h->pods, "forever", "status.containerStatuses.0.restartCount"),
                        "0");
    /* A long jump counts every run that ended meanwhile, in one write. */
    h->now += 1000 * SEC;
    h_settle(h);
    assert_string_equal(h_field(h, h->pods, "always", "status.containerStatuses.0.restartCount"),
                        "102");
    h_free(h);
}

static void deletion_waits_for_the_grace_period(void **state)
{
    (void)state;
    struct harness *h = one();
    pod(h, "svc", "", "", ",'terminationGracePeriodSeconds':5");
    pod(h, "fresh", "", ",'envFrom':[{'configMapRef':{'name':'absent'}}]", "");
    h_settle(h);
    assert_string_equal(phase(h, "svc"), "Running");
    struct err e = {0};
    h_ok(store_delete(h->st, h->pods, NS, "svc", NULL, NULL, &e), &e, "delete svc");
    h_ok(store_delete(h->st, h->pods, NS, "fresh", NULL, NULL, &e), &e, "delete fresh");
    h_settle(h);
    /* Nothing ran in "fresh": it goes at once; "svc" runs out its grace. */
    assert_null(h_get(h, h->pods, NS, "fresh"));
    assert_string_equal(phase(h, "svc"), "Running");
    h_advance_ms(h, 4900);
    assert_string_equal(phase(h, "svc"), "Running");
    h_advance_ms(h, 100);
    assert_null(h_get(h, h->pods, NS, "svc"));
    assert_int_equal(h_events(h, "Killing", "svc", NULL, 0), 1);
    h_free(h);
}

static void deletion_held_by_a_finalizer_shows_the_end(void **state)
{
    (void)state;
    struct harness *h = one();
    pod(h, "held", ",'finalizers':['example.com/hold']", "",
        ",'terminationGracePeriodSeconds':1");
    h_settle(h);
    struct err e = {0};
    h_ok(store_delete(h->st, h->pods, NS, "held", NULL, NULL, &e), &e, "delete");
    h_advance_ms(h, 2000);
    assert_string_equal(phase(h, "held"), "Failed");
    assert_string_equal(
        h_field(h, h->pods, "held", "status.containerStatuses.0.state.terminated.exitCode"),
        "137");
    h_free(h);
}

static void configmaps_are_waited_for_and_the_env_recorded(void **state)
{
    (void)state;
    struct harness *h = one();
    pod(h, "app", "",
        ",'envFrom':[{'configMapRef':{'name':'slice'}},{'prefix':'OPT_','configMapRef':"
        "{'name':'maybe','optional':true}}],'env':[{'name':'MODE','value':'fast'},"
        "{'name':'DEV','valueFrom':{'configMapKeyRef':{'name':'slice','key':"
        "'NVIDIA_VISIBLE_DEVICES'}}},{'name':'ME','valueFrom':{'fieldRef':{'fieldPath':"
        "'metadata.name'}}},{'name':'WHERE','valueFrom':{'fieldRef':{'fieldPath':"
        "'spec.nodeName'}}}]",
        "");
    h_settle(h);
    assert_string_equal(phase(h, "app"), "Pending");
    assert_string_equal(
        h_field(h, h->pods, "app", "status.containerStatuses.0.state.waiting.reason"),
        "CreateContainerConfigError");
    assert_string_equal(
        h_field(h, h->pods, "app", "status.containerStatuses.0.state.waiting.message"),
        "configmap \"slice\" not found");
    char msg[256];
    assert_int_equal(h_events(h, "Failed", "app", msg, sizeof msg), 1);
    assert_string_equal(msg, "Error: configmap \"slice\" not found");
    /* A ConfigMap without the key env needs: still waiting, now for the key. */
    h_create(h, h->cms, "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'slice',"
                        "'namespace':'%s'},'data':{'OTHER':'1'}}", NS);
    h_settle(h);
    assert_string_equal(
        h_field(h, h->pods, "app", "status.containerStatuses.0.state.waiting.message"),
        "couldn't find key NVIDIA_VISIBLE_DEVICES in ConfigMap default/slice");
    json_t *cm = h_get(h, h->cms, NS, "slice");
    json_object_set_new(cm, "data", json_text("{'NVIDIA_VISIBLE_DEVICES':'MIG-1234',"
                                           "'CUDA_VISIBLE_DEVICES':'0','1BAD':'x'}"));
    struct err e = {0};
    h_ok(store_update(h->st, h->cms, NS, cm, NULL, NULL, &e), &e, "fill configmap");
    json_decref(cm);
    h_settle(h);
    assert_string_equal(phase(h, "app"), "Running");
    json_t *p = h_get(h, h->pods, NS, "app");
    json_t *env = h_observed_env(h, p);
    assert_null(meta_annotation(p, "gpuslice.dev/observed-env")); /* not on the pod */
    json_decref(p);
    assert_non_null(env);
    json_t *want = json_text("{'main':{'NVIDIA_VISIBLE_DEVICES':'MIG-1234','CUDA_VISIBLE_DEVICES':"
                          "'0','MODE':'fast','DEV':'MIG-1234','ME':'app','WHERE':'n1'}}");
    assert_true(json_equal(env, want));
    json_decref(want);
    json_decref(env);
    h_free(h);
}

/* ConfigMap changes reach only the kubelets with a pod waiting to start
 * (kubelet_has_waiting), and each waiting pod still hears of its own, on
 * either node. */
static void configmaps_reach_the_kubelets_with_waiting_pods(void **state)
{
    (void)state;
    static const struct kubelet_node two[] = {{.name = "n1", .cpu = "4", .memory = "16Gi"},
                                              {.name = "n2", .cpu = "4", .memory = "16Gi"}};
    struct harness *h = h_new(two, 2);
    h_settle(h);
    struct kubelet *k1 = cluster_parts_kubelet(h->parts, "n1");
    struct kubelet *k2 = cluster_parts_kubelet(h->parts, "n2");
    pod(h, "plain", "", "", ",'nodeName':'n1'");
    pod(h, "late", "", ",'envFrom':[{'configMapRef':{'name':'late'}}]", ",'nodeName':'n2'");
    h_settle(h);
    assert_string_equal(phase(h, "plain"), "Running");
    assert_false(kubelet_has_waiting(k1));
    assert_true(kubelet_has_waiting(k2));
    h_create(h, h->cms, "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'other',"
                        "'namespace':'%s'},'data':{}}", NS);
    h_settle(h);
    assert_string_equal(phase(h, "late"), "Pending");
    assert_true(kubelet_has_waiting(k2));
    pod(h, "later", "", ",'envFrom':[{'configMapRef':{'name':'later'}}]", ",'nodeName':'n1'");
    h_settle(h);
    assert_true(kubelet_has_waiting(k1));
    h_create(h, h->cms, "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'late',"
                        "'namespace':'%s'},'data':{}}", NS);
    h_create(h, h->cms, "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'later',"
                        "'namespace':'%s'},'data':{}}", NS);
    h_settle(h);
    assert_string_equal(phase(h, "late"), "Running");
    assert_string_equal(phase(h, "later"), "Running");
    assert_false(kubelet_has_waiting(k1));
    assert_false(kubelet_has_waiting(k2));
    h_free(h);
}

static void secrets_are_never_found(void **state)
{
    (void)state;
    struct harness *h = one();
    pod(h, "s", "", ",'envFrom':[{'secretRef':{'name':'creds'}}]", "");
    pod(h, "opt", "", ",'env':[{'name':'X','valueFrom':{'secretKeyRef':{'name':'creds','key':"
                      "'k','optional':true}}}]", "");
    h_settle(h);
    assert_string_equal(
        h_field(h, h->pods, "s", "status.containerStatuses.0.state.waiting.message"),
        "secret \"creds\" not found");
    assert_string_equal(phase(h, "opt"), "Running");
    h_free(h);
}

static void durations_come_from_the_annotation_or_sleep(void **state)
{
    (void)state;
    json_t *pod = json_text("{'metadata':{'annotations':{'gpuslice.dev/run-seconds':'0.25'}}}");
    json_t *sleep = json_text("{'command':['sleep','7']}");
    json_t *split = json_text("{'command':['/usr/bin/sleep'],'args':['1.5']}");
    json_t *other = json_text("{'command':['python','serve.py']}");
    json_t *bare = json_text("{'metadata':{'annotations':{'gpuslice.dev/run-seconds':'soon'}}}");
    assert_int_equal(kubelet_pod_duration_ns(pod, other), SEC / 4);
    assert_int_equal(kubelet_pod_duration_ns(bare, sleep), 7 * SEC);
    assert_int_equal(kubelet_pod_duration_ns(bare, split), 3 * SEC / 2);
    assert_int_equal(kubelet_pod_duration_ns(bare, other), -1);
    json_decref(pod);
    json_decref(sleep);
    json_decref(split);
    json_decref(other);
    json_decref(bare);
}

static void bad_node_specs_are_refused(void **state)
{
    (void)state;
    const struct kubelet_node bad[] = {
        {.name = "Bad_Name"},
        {.name = "n", .cpu = "four"},
        {.name = "n", .memory = "-1Gi"},
        {.name = "n", .labels = "novalue"},
        {.name = "n", .taints = "k=v:Sometimes"},
        {.name = "n", .taints = "k=v"},
    };
    const char *want[] = {"node name", "node n: cpu", "node n: memory", "node n: labels",
                          "node n: taints", "node n: taints"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct harness h = {.now = T0};
        struct err e = {0};
        struct mem_store_config mc = {.now_ns = h_now_ns, .clock_ctx = &h};
        h_ok(mem_store_new(&mc, &h.st, &e), &e, "mem_store_new");
        struct cluster_parts_config pc = {.store = h.st, .now_ns = h_now_ns, .clock_ctx = &h,
                                          .nodes = &bad[i], .node_count = 1};
        struct cluster_parts *p = NULL;
        assert_int_equal(cluster_parts_new(&pc, &p, &e), -EINVAL);
        if (!strstr(e.msg, want[i]))
            fail_msg("spec %zu: \"%s\" does not name %s", i, e.msg, want[i]);
        store_free(h.st);
    }
}

/* A start is one write, the status: what the containers were given stays
 * with the kubelet (kubelet_observed_env), not on the pod. The pod's
 * versions from its creation to Running: created, bound, started (an
 * annotation write before the status made it four). A kubelet that keeps
 * no logs keeps no environments either. */
static void a_start_is_one_write(void **state)
{
    (void)state;
    struct harness *h = one();
    struct store_watch *w = NULL;
    struct err e = {0};
    h_ok(store_watch_open(h->st, h->pods, NS, &(struct store_watch_opts){0}, &w, &e), &e,
         "watch");
    pod(h, "app", "", ",'env':[{'name':'MODE','value':'fast'}]", "");
    h_settle(h);
    assert_string_equal(phase(h, "app"), "Running");
    int versions = 0;
    struct store_event ev;
    while (store_watch_next(w, 0, &ev, NULL) == 0) {
        versions += ev.type != STORE_BOOKMARK;
        store_event_release(&ev);
    }
    store_watch_close(w);
    assert_int_equal(versions, 3);
    json_t *p = h_get(h, h->pods, NS, "app");
    json_t *env = h_observed_env(h, p);
    assert_string_equal(h_str(env, "main.MODE"), "fast");
    json_decref(env);
    struct informer *inf[3] = {NULL};
    static const char *const plurals[] = {"pods", "nodes", "configmaps"};
    for (size_t i = 0; i < 3; i++) {
        struct informer_config ic = {.store = h->st, .res = h_res(h, "", plurals[i])};
        h_ok(informer_new(&ic, &inf[i], &e), &e, "informer_new");
    }
    struct kubelet_config kc = {.store = h->st, .pods = inf[0], .nodes = inf[1],
                                .configmaps = inf[2], .node = {.name = "n2"}};
    struct kubelet *k = NULL;
    h_ok(kubelet_new(&kc, &k, &e), &e, "kubelet_new");
    assert_int_equal(kubelet_observed_env(k, p, &env, &e), -EBUSY);
    assert_null(env);
    kubelet_free(k);
    for (size_t i = 0; i < 3; i++)
        informer_free(inf[i]);
    json_decref(p);
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registers_its_node_and_keeps_others_entries),
        cmocka_unit_test(runs_then_succeeds_after_run_seconds),
        cmocka_unit_test(fails_with_the_exit_code),
        cmocka_unit_test(restarts_under_always_and_on_failure),
        cmocka_unit_test(deletion_waits_for_the_grace_period),
        cmocka_unit_test(deletion_held_by_a_finalizer_shows_the_end),
        cmocka_unit_test(configmaps_are_waited_for_and_the_env_recorded),
        cmocka_unit_test(configmaps_reach_the_kubelets_with_waiting_pods),
        cmocka_unit_test(secrets_are_never_found),
        cmocka_unit_test(durations_come_from_the_annotation_or_sleep),
        cmocka_unit_test(bad_node_specs_are_refused),
        cmocka_unit_test(a_start_is_one_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
