/* Tests for the scheduler over the mem store: each filter, least-allocated
 * choice, the assumed pods of one burst of decisions, gated pods, the
 * unschedulable condition, message and Event, and retries when nodes or
 * pods change. Nodes are written directly (no kubelet), so each test says
 * exactly what every node offers. */
#include "harness.h"

#include "cluster/scheduler.h"

static void node(struct harness *h, const char *name, const char *labels, const char *taints,
                 const char *alloc, const char *ready)
{
    h_create(h, h->nodes,
             "{'apiVersion':'v1','kind':'Node','metadata':{'name':'%s','labels':{%s}},"
             "'spec':{'taints':[%s]},'status':{'allocatable':{'cpu':'4','memory':'8Gi',"
             "'pods':'10'%s},'conditions':[{'type':'Ready','status':'%s'}]}}",
             name, labels, taints, alloc, ready);
}

/* A pod whose one container requests requests (JSON members), with more
 * spec members (",..." or ""). */
static void pod(struct harness *h, const char *name, const char *requests, const char *spec)
{
    h_create(h, h->pods,
             "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'%s','namespace':'%s'},"
             "'spec':{'containers':[{'name':'c','image':'i','resources':{'requests':{%s}}}]%s}}",
             name, NS, requests, spec);
}

static const char *node_of(struct harness *h, const char *pod_name)
{
    return h_field(h, h->pods, pod_name, "spec.nodeName");
}

static void least_allocated_and_one_burst_never_overcommits(void **state)
{
    (void)state;
    struct harness *h = h_new(NULL, 0);
    node(h, "n1", "", "", "", "True");
    node(h, "n2", "", "", "", "True");
    h_settle(h);
    /* Three pods decided in one run, before the cache shows any binding. */
    pod(h, "p1", "'cpu':'3'", "");
    pod(h, "p2", "'cpu':'3'", "");
    pod(h, "p3", "'cpu':'3'", "");
    h_settle(h);
    assert_string_equal(node_of(h, "p1"), "n1"); /* a tie: the first name */
    assert_string_equal(node_of(h, "p2"), "n2"); /* n1 is now the more allocated */
    assert_string_equal(node_of(h, "p3"), "");
    assert_string_equal(h_condition(h, h->pods, "p3", "PodScheduled"),
                        "False/Unschedulable/0/2 nodes are available: 2 Insufficient cpu.");
    char msg[512];
    assert_int_equal(h_events(h, "FailedScheduling", "p3", msg, sizeof msg), 1);
    assert_string_equal(msg, "0/2 nodes are available: 2 Insufficient cpu.");
    assert_int_equal(h_events(h, "Scheduled", "p1", msg, sizeof msg), 1);
    assert_string_equal(msg, "Successfully assigned default/p1 to n1");
    /* Deciding again with nothing changed writes nothing new. */
    h_settle(h);
    assert_int_equal(h_events(h, "FailedScheduling", "p3", NULL, 0), 1);
    h_free(h);
}

static void node_selector_and_required_affinity(void **state)
{
    (void)state;
    struct harness *h = h_new(NULL, 0);
    node(h, "n1", "'zone':'a','gen':'5'", "", "", "True");
    node(h, "n2", "'zone':'b','gen':'3','fast':'yes'", "", "", "True");
    pod(h, "sel", "", ",'nodeSelector':{'zone':'b'}");
#define AFF(name, term)                                                                    \
    pod(h, name, "",                                                                      \
        ",'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':"  \
        "{'nodeSelectorTerms':[" term "]}}}")
    AFF("in", "{'matchExpressions':[{'key':'zone','operator':'In','values':['x','b']}]}");
    AFF("notin", "{'matchExpressions':[{'key':'zone','operator':'NotIn','values':['a']}]}");
    AFF("exists", "{'matchExpressions':[{'key':'fast','operator':'Exists'}]}");
    AFF("absent", "{'matchExpressions':[{'key':'fast','operator':'DoesNotExist'}]}");
    AFF("gt", "{'matchExpressions':[{'key':'gen','operator':'Gt','values':['4']}]}");
    AFF("lt", "{'matchExpressions':[{'key':'gen','operator':'Lt','values':['4']}]}");
    AFF("field", "{'matchFields':[{'key':'metadata.name','operator':'In','values':['n2']}]}");
    AFF("either", "{'matchExpressions':[{'key':'zone','operator':'In','values':['q']}]},"
                  "{'matchExpressions':[{'key':'gen','operator':'In','values':['5']}]}");
    AFF("none", "{'matchExpressions':[{'key':'zone','operator':'In','values':['q']}]}");
#undef AFF
    h_settle(h);
    assert_string_equal(node_of(h, "sel"), "n2");
    assert_string_equal(node_of(h, "in"), "n2");
    assert_string_equal(node_of(h, "notin"), "n2");
    assert_string_equal(node_of(h, "exists"), "n2");
    assert_string_equal(node_of(h, "absent"), "n1");
    assert_string_equal(node_of(h, "gt"), "n1");
    assert_string_equal(node_of(h, "lt"), "n2");
    assert_string_equal(node_of(h, "field"), "n2");
    assert_string_equal(node_of(h, "either"), "n1");
    assert_string_equal(node_of(h, "none"), "");
    assert_string_equal(h_condition(h, h->pods, "none", "PodScheduled"),
                        "False/Unschedulable/0/2 nodes are available: 2 node(s) didn't match "
                        "Pod's node affinity/selector.");
    h_free(h);
}

/* A pod pinned by a kubernetes.io/hostname nodeSelector (as gpuslice pins
 * its pods) is decided among the nodes labelled so, looked up in the nodes'
 * index, with the same choice and, when none fits, the same message as a
 * check of every node. */
static void pinned_pods_are_checked_on_their_node(void **state)
{
    (void)state;
    struct harness *h = h_new(NULL, 0);
    node(h, "n1", "'kubernetes.io/hostname':'h1'", "", "", "True");
    node(h, "n2", "'kubernetes.io/hostname':'h2'", "", "", "True");
    node(h, "n3", "'kubernetes.io/hostname':'h2'", "", "", "True");
    node(h, "n4", "", "", "", "True");
    pod(h, "busy", "'cpu':'1'", ",'nodeName':'n2'");
    h_settle(h);
    pod(h, "one", "'cpu':'1'", ",'nodeSelector':{'kubernetes.io/hostname':'h1'}");
    pod(h, "two", "'cpu':'1'", ",'nodeSelector':{'kubernetes.io/hostname':'h2'}");
    pod(h, "big", "'cpu':'5'", ",'nodeSelector':{'kubernetes.io/hostname':'h1'}");
    pod(h, "gone", "", ",'nodeSelector':{'kubernetes.io/hostname':'h9'}");
    h_settle(h);
    assert_string_equal(node_of(h, "one"), "n1");
    assert_string_equal(node_of(h, "two"), "n3"); /* the less allocated of the two */
    assert_string_equal(node_of(h, "big"), "");
    assert_string_equal(h_condition(h, h->pods, "big", "PodScheduled"),
                        "False/Unschedulable/0/4 nodes are available: 1 Insufficient cpu, 3 "
                        "node(s) didn't match Pod's node affinity/selector.");
    assert_string_equal(node_of(h, "gone"), "");
    h_free(h);
}

static void hostname_keys_are_the_label(void **state)
{
    (void)state;
    json_t *n = json_pack("{s:{s:s, s:{s:s}}}", "metadata", "name", "n1", "labels",
                          "kubernetes.io/hostname", "h1");
    const char *keys[2];
    assert_int_equal(scheduler_keys_hostname(n, keys, 2, NULL), 1);
    assert_string_equal(keys[0], "h1");
    json_object_del(json_object_get(n, "metadata"), "labels");
    assert_int_equal(scheduler_keys_hostname(n, keys, 2, NULL), 0);
    json_decref(n);
}

static void taints_tolerations_and_node_state(void **state)
{
    (void)state;
    struct harness *h = h_new(NULL, 0);
    node(h, "n1", "", "{'key':'gpu','value':'true','effect':'NoSchedule'}", "", "True");
    node(h, "n2", "", "{'key':'maint','effect':'NoExecute'},{'key':'soft','effect':"
                      "'PreferNoSchedule'}", "", "True");
    pod(h, "plain", "", "");
    pod(h, "equal", "", ",'tolerations':[{'key':'gpu','operator':'Equal','value':'true'}]");
    pod(h, "wrongvalue", "", ",'tolerations':[{'key':'gpu','value':'false'},"
                             "{'key':'maint','effect':'NoSchedule','operator':'Exists'}]");
    pod(h, "exists", "", ",'tolerations':[{'key':'maint','operator':'Exists'}]");
    h_settle(h);
    assert_string_equal(node_of(h, "equal"), "n1");
    assert_string_equal(node_of(h, "exists"), "n2"); /* PreferNoSchedule does not filter */
    assert_string_equal(node_of(h, "wrongvalue"), "");
    assert_string_equal(node_of(h, "plain"), "");
    assert_string_equal(h_condition(h, h->pods, "plain", "PodScheduled"),
                        "False/Unschedulable/0/2 nodes are available: 1 node(s) had untolerated "
                        "taint {gpu: true}, 1 node(s) had untolerated taint {maint: }.");
    /* A node that is not Ready, and one marked unschedulable. */
    node(h, "n3", "", "", "", "False");
    h_create(h, h->nodes, "{'apiVersion':'v1','kind':'Node','metadata':{'name':'n4'},"
                          "'spec':{'unschedulable':true},'status':{'allocatable':{'cpu':'4',"
                          "'memory':'8Gi','pods':'10'},'conditions':[{'type':'Ready',"
                          "'status':'True'}]}}");
    h_settle(h);
    assert_string_equal(node_of(h, "plain"), "");
    assert_string_equal(h_condition(h, h->pods, "plain", "PodScheduled"),
                        "False/Unschedulable/0/4 nodes are available: 1 node(s) had untolerated "
                        "taint {gpu: true}, 1 node(s) had untolerated taint {maint: }, 1 node(s) "
                        "had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were "
                        "unschedulable.");
    pod(h, "anything", "", ",'tolerations':[{'operator':'Exists'}]");
    h_settle(h);
    assert_string_not_equal(node_of(h, "anything"), "");
    h_free(h);
}

static void capacity_counts_every_resource(void **state)
{
    (void)state;
    struct harness *h = h_new(NULL, 0);
    node(h, "n1", "'kubernetes.io/hostname':'n1'", "",
         ",'gpuslice.dev/accelerator-memory':'40'", "True");
    node(h, "n2", "'kubernetes.io/hostname':'n2'", "",
         ",'gpuslice.dev/accelerator-memory':'80'", "True");
    pod(h, "big", "'gpuslice.dev/accelerator-memory':'60'", "");
    pod(h, "huge", "'gpuslice.dev/accelerator-memory':'100'", "");
    pod(h, "mem", "'memory':'9Gi'", "");
    pod(h, "mixed", "'cpu':'5'", ",'nodeSelector':{'kubernetes.io/hostname':'n1'}");
    /* A request the scheduler leaves to gpuslice (GPUSLICE_MIG_PREFIX). */
    pod(h, "mig", "'nvidia.com/mig-1g.10gb':'1'", "");
    h_settle(h);
    assert_string_equal(node_of(h, "big"), "n2");
    assert_string_equal(node_of(h, "huge"), "");
    assert_string_equal(h_condition(h, h->pods, "huge", "PodScheduled"),
                        "False/Unschedulable/0/2 nodes are available: 2 Insufficient "
                        "gpuslice.dev/accelerator-memory.");
    assert_string_equal(h_condition(h, h->pods, "mem", "PodScheduled"),
                        "False/Unschedulable/0/2 nodes are available: 2 Insufficient memory.");
    assert_string_equal(h_condition(h, h->pods, "mixed", "PodScheduled"),
                        "False/Unschedulable/0/2 nodes are available: 1 Insufficient cpu, 1 "
                        "node(s) didn't match Pod's node affinity/selector.");
    assert_string_not_equal(node_of(h, "mig"), "");
    h_free(h);
}

static void pod_count_and_init_containers(void **state)
{
    (void)state;
    struct harness *h = h_new(NULL, 0);
    h_create(h, h->nodes, "{'apiVersion':'v1','kind':'Node','metadata':{'name':'tiny'},"
                          "'status':{'allocatable':{'cpu':'4','memory':'8Gi','pods':'1'},"
                          "'conditions':[{'type':'Ready','status':'True'}]}}");
    /* The init container's 3 CPUs count, not the sum 4 (they run apart). */
    h_create(h, h->pods, "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'a','namespace':"
                         "'%s'},'spec':{'initContainers':[{'name':'i','image':'x','resources':"
                         "{'requests':{'cpu':'3'}}}],'containers':[{'name':'c','image':'x',"
                         "'resources':{'limits':{'cpu':'1'}}}]}}", NS);
    pod(h, "b", "", "");
    h_settle(h);
    assert_string_equal(node_of(h, "a"), "tiny");
    assert_string_equal(h_condition(h, h->pods, "b", "PodScheduled"),
                        "False/Unschedulable/0/1 nodes are available: 1 Too many pods.");
    h_free(h);
}

static void gated_pods_are_never_bound(void **state)
{
    (void)state;
    struct harness *h = h_new(NULL, 0);
    node(h, "n1", "", "", "", "True");
    h_create(h, h->pods, "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'g','namespace':"
                         "'%s'},'spec':{'schedulingGates':[{'name':'gpuslice.dev/slice'}],"
                         "'containers':[{'name':'c','image':'i'}]}}", NS);
    h_settle(h);
    assert_string_equal(node_of(h, "g"), "");
    assert_string_equal(h_condition(h, h->pods, "g", "PodScheduled"),
                        "False/SchedulingGated/Scheduling is blocked due to non-empty scheduling "
                        "gates");
    assert_int_equal(h_events(h, "FailedScheduling", "g", NULL, 0), 0);
    /* Ungated (by the controller, say): now it is the scheduler's. */
    json_t *p = h_get(h, h->pods, NS, "g");
    json_object_del(json_object_get(p, "spec"), "schedulingGates");
    struct err e = {0};
    h_ok(store_update(h->st, h->pods, NS, p, NULL, NULL, &e), &e, "ungate");
    json_decref(p);
    h_settle(h);
    assert_string_equal(node_of(h, "g"), "n1");
    h_free(h);
}

static void retried_when_a_node_or_room_appears(void **state)
{
    (void)state;
    struct harness *h = h_new(NULL, 0);
    pod(h, "first", "'cpu':'4'", "");
    h_settle(h);
    assert_string_equal(h_condition(h, h->pods, "first", "PodScheduled"),
                        "False/Unschedulable/no nodes available to schedule pods");
    node(h, "n1", "", "", "", "True");
    h_settle(h);
    assert_string_equal(node_of(h, "first"), "n1");
    pod(h, "second", "'cpu':'4'", "");
    h_settle(h);
    assert_string_equal(node_of(h, "second"), "");
    /* The first pod ends: its room is free again. */
    json_t *p = h_get(h, h->pods, NS, "first");
    json_object_set_new(json_object_get(p, "status"), "phase", json_string("Succeeded"));
    struct err e = {0};
    h_ok(store_update(h->st, h->pods, NS, p, &(struct store_write_opts){.subresource =
                                                                           STORE_STATUS},
                      NULL, &e),
         &e, "finish");
    json_decref(p);
    h_settle(h);
    assert_string_equal(node_of(h, "second"), "n1");
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(least_allocated_and_one_burst_never_overcommits),
        cmocka_unit_test(node_selector_and_required_affinity),
        cmocka_unit_test(pinned_pods_are_checked_on_their_node),
        cmocka_unit_test(hostname_keys_are_the_label),
        cmocka_unit_test(taints_tolerations_and_node_state),
        cmocka_unit_test(capacity_counts_every_resource),
        cmocka_unit_test(pod_count_and_init_containers),
        cmocka_unit_test(gated_pods_are_never_bound),
        cmocka_unit_test(retried_when_a_node_or_room_appears),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
