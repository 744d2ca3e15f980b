/* Tests for the pod garbage collector in the cluster parts, over the mem
 * store in virtual time: past the threshold the oldest ended pods go,
 * a Job's as any other (its finalizer keeps each until the Job counted
 * it), and running pods stay. */
#include "harness.h"
#include "cluster/podgc.h"
#include "reconcile/loop.h"

static const struct kubelet_node one_node[] = {{.name = "n1", .cpu = "4", .memory = "16Gi"}};

static void pod_ending_in(struct harness *h, const char *name, const char *meta, int seconds)
{
    char spec[256];
    snprintf(spec, sizeof spec,
             ",'nodeName':'n1','restartPolicy':'Never','containers':[{'name':'main',"
             "'image':'busybox','args':['sleep','%d']}]",
             seconds);
    h_create(h, h->pods,
             "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'%s','namespace':'%s'%s},"
             "'spec':{%s}}",
             name, NS, meta, spec + 1);
}

static bool exists(struct harness *h, const char *name)
{
    json_t *p = h_get(h, h->pods, NS, name);
    json_decref(p);
    return p != NULL;
}

/* Pods a Job controls, ended or not. */
static size_t job_pods(struct harness *h)
{
    json_t *pods = h_list(h, h->pods, NULL);
    size_t i, n = 0;
    json_t *p;
    json_array_foreach(pods, i, p) {
        const char *kind = json_string_value(json_object_get(meta_controller_ref(p), "kind"));
        n += kind && strcmp(kind, "Job") == 0 && strcmp(h_str(p, "status.phase"), "Succeeded") == 0;
    }
    json_decref(pods);
    return n;
}

static void the_oldest_ended_pods_go_past_the_threshold(void **state)
{
    (void)state;
    struct harness *h = h_new_gc(one_node, 1, 2);
    h_settle(h);
    static const char *const names[] = {"p1", "p2", "p3", "p4"};
    for (size_t i = 0; i < 4; i++) {
        pod_ending_in(h, names[i], "", 1);
        h_advance_ms(h, 1000); /* one creation second each */
    }
    h_create(h, h->jobs,
             "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'train','namespace':'%s'},"
             "'spec':{'template':{'spec':{'restartPolicy':'Never','nodeName':'n1','containers':"
             "[{'name':'main','image':'busybox','args':['sleep','1']}]}}}}",
             NS);
    pod_ending_in(h, "runs", "", 1000);
    h_advance_ms(h, 5000);
    assert_false(exists(h, "p1"));
    assert_false(exists(h, "p2"));
    assert_false(exists(h, "p3"));
    assert_true(exists(h, "p4"));
    assert_int_equal(job_pods(h), 1); /* the newest two are kept, the Job's one of them */
    assert_true(exists(h, "runs"));
    assert_string_equal(h_field(h, h->pods, "p4", "status.phase"), "Succeeded");
    /* One more ended pod: the oldest left goes. */
    pod_ending_in(h, "p5", "", 1);
    h_advance_ms(h, 3000);
    assert_false(exists(h, "p4"));
    assert_int_equal(job_pods(h), 1);
    assert_true(exists(h, "p5"));
    assert_string_equal(h_field(h, h->jobs, "train", "status.succeeded"), "1");
    h_free(h);
}

/* How many pods the Job name created, by its SuccessfulCreate Events
 * (repeats counted in one Event's count). */
static json_int_t creates(struct harness *h, const char *name)
{
    json_t *items = h_list(h, h->events, NULL);
    size_t i;
    json_int_t n = 0;
    const json_t *ev;
    json_array_foreach(items, i, ev) {
        const char *r = json_string_value(json_object_get(ev, "reason"));
        const char *inv = json_string_value(
            json_object_get(json_object_get(ev, "involvedObject"), "name"));
        if (r && inv && strcmp(r, "SuccessfulCreate") == 0 && strcmp(inv, name) == 0)
            n += json_integer_value(json_object_get(ev, "count"));
    }
    json_decref(items);
    return n;
}

/* A Job's ended pods go past the threshold as PodGC deletes them in
 * Kubernetes (it spares no owner): each is held by the job-tracking
 * finalizer until the Job counted it, so the Job still runs exactly its
 * completions (they were kept for good, piling up in a long run). */
static void a_jobs_ended_pods_go_once_counted(void **state)
{
    (void)state;
    struct harness *h = h_new_gc(one_node, 1, 1);
    h_settle(h);
    h_create(h, h->jobs,
             "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'steps','namespace':'%s'},"
             "'spec':{'completions':4,'parallelism':1,'template':{'spec':{'restartPolicy':"
             "'Never','nodeName':'n1','containers':[{'name':'main','image':'busybox','args':"
             "['sleep','1']}]}}}}",
             NS);
    h_advance_ms(h, 20000);
    assert_string_equal(h_field(h, h->jobs, "steps", "status.succeeded"), "4");
    assert_string_equal(h_field(h, h->jobs, "steps", "status.failed"), "0");
    assert_int_equal(creates(h, "steps"), 4);
    assert_int_equal(job_pods(h), 1); /* the threshold's one */
    h_free(h);
}

static void under_the_threshold_nothing_goes(void **state)
{
    (void)state;
    struct harness *h = h_new(one_node, 1);
    h_settle(h);
    pod_ending_in(h, "p1", "", 1);
    pod_ending_in(h, "p2", "", 1);
    h_advance_ms(h, 5000);
    assert_true(exists(h, "p1"));
    assert_true(exists(h, "p2"));
    h_free(h);
}

static json_t *ended_pod(const char *name, const char *uid, const char *created)
{
    return json_pack("{s:{s:s, s:s, s:s, s:s}, s:{s:s}}", "metadata", "name", name, "namespace",
                     NS, "uid", uid, "creationTimestamp", created, "status", "phase",
                     "Succeeded");
}

/* A pod that ended under a name the collector recorded for an earlier pod
 * (whose DELETE it never saw, as across a relist) is collected by its own
 * uid: the old one, as a precondition, would fail, and it would stay. */
static void a_new_pod_of_a_recorded_name_is_collected(void **state)
{
    (void)state;
    struct harness *h = h_new(one_node, 1);
    pod_ending_in(h, "p", "", 1);
    json_t *stored = h_get(h, h->pods, NS, "p");
    const char *uid = json_string_value(json_object_get(json_object_get(stored, "metadata"), "uid"));
    struct podgc_config c = {.store = h->st, .threshold = 1, .now_ns = h_now_ns, .clock_ctx = h};
    struct podgc *g;
    struct err e;
    h_ok(podgc_new(&c, &g, &e), &e, "podgc_new");
    json_t *before = ended_pod("p", "uid-of-an-earlier-p", "2024-05-01T10:00:00Z");
    json_t *now = ended_pod("p", uid, "2024-05-01T10:00:01Z");
    json_t *other = ended_pod("q", "uid-of-q", "2024-05-01T10:00:02Z");
    podgc_pod_changed(g, INFORMER_ADDED, NULL, before);
    podgc_pod_changed(g, INFORMER_UPDATED, before, now);
    podgc_pod_changed(g, INFORMER_ADDED, NULL, other); /* two ended: over the threshold */
    loop_run_ready(podgc_loop(g), 0);
    assert_false(exists(h, "p"));
    json_decref(before);
    json_decref(now);
    json_decref(other);
    json_decref(stored);
    podgc_free(g);
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_oldest_ended_pods_go_past_the_threshold),
        cmocka_unit_test(a_jobs_ended_pods_go_once_counted),
        cmocka_unit_test(under_the_threshold_nothing_goes),
        cmocka_unit_test(a_new_pod_of_a_recorded_name_is_collected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
