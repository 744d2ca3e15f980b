/* Tests for cluster/job_tracking, called directly: which pods are
 * recorded as uncounted, which move into the counts, which are released,
 * the pods a stopping Job deletes, and the finalizer removals (of a list,
 * and of the one pod a stopping Job deletes). */
#include "harness.h"

#include "cluster/job_tracking.h"

#define F "'finalizers':['" JOB_TRACKING_FINALIZER "']"

/* A pod uid u in phase (may be ""), held by the finalizer when held, and
 * being deleted when deleting. */
static json_t *pod(const char *u, const char *phase, bool held, bool deleting)
{
    return json_text("{'metadata':{'name':'p-%s','namespace':'" NS "','uid':'%s',"
                     "'resourceVersion':'7'%s%s},'status':{'phase':'%s'}}",
                     u, u, held ? "," F : "",
                     deleting ? ",'deletionTimestamp':'2026-01-01T00:00:00Z'" : "", phase);
}

/* The uids of the pods in arr, comma-separated. */
static const char *uids_of(const json_t *arr)
{
    static char buf[256];
    size_t i, used = 0;
    const json_t *v;
    buf[0] = '\0';
    json_array_foreach(arr, i, v) {
        const char *u = json_is_string(v) ? json_string_value(v) : meta_uid(v);
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", i ? "," : "", u);
    }
    return buf;
}

static json_t *some_pods(void)
{
    json_t *pods = json_array();
    json_array_append_new(pods, pod("a", "Succeeded", true, false));
    json_array_append_new(pods, pod("b", "Failed", true, false));
    json_array_append_new(pods, pod("c", "Running", true, false));
    json_array_append_new(pods, pod("d", "Running", true, true));
    json_array_append_new(pods, pod("e", "Succeeded", false, false)); /* counted before */
    return pods;
}

static void ended_pods_are_recorded_then_counted(void **state)
{
    (void)state;
    /* x was recorded and its pod let go (it is gone); b was recorded and
     * still holds the finalizer (its removal was lost). */
    json_t *job = json_text("{'status':{'succeeded':2,'uncountedTerminatedPods':{"
                            "'succeeded':['x'],'failed':['b']}}}");
    json_t *pods = some_pods(), *release = NULL;
    struct job_counts counts;
    assert_int_equal(job_tracking_update(job, pods, false, &release, &counts), 0);
    assert_string_equal(h_str(job, "status.succeeded"), "3");
    assert_string_equal(h_str(job, "status.failed"), "0");
    const json_t *unc = json_object_get(json_object_get(job, "status"), "uncountedTerminatedPods");
    assert_string_equal(uids_of(json_object_get(unc, "succeeded")), "a");
    assert_string_equal(uids_of(json_object_get(unc, "failed")), "b,d"); /* d: deleted running */
    assert_string_equal(uids_of(release), "a,b,d");
    assert_int_equal(counts.succeeded, 4);
    assert_int_equal(counts.failed, 2);
    json_decref(release);

    /* Decided again on the same pods: nothing recorded twice. */
    assert_int_equal(job_tracking_update(job, pods, false, &release, &counts), 0);
    assert_int_equal(counts.succeeded, 4);
    assert_int_equal(counts.failed, 2);
    unc = json_object_get(json_object_get(job, "status"), "uncountedTerminatedPods");
    assert_string_equal(uids_of(json_object_get(unc, "succeeded")), "a");
    assert_string_equal(uids_of(json_object_get(unc, "failed")), "b,d");
    assert_string_equal(uids_of(release), "a,b,d");
    json_decref(release);
    json_decref(pods);
    json_decref(job);
}

/* A Job that stops its pods itself lets a deleted running pod go
 * uncounted; with nothing uncounted the field is an empty object. */
static void a_stopping_job_releases_what_it_deletes(void **state)
{
    (void)state;
    json_t *job = json_text("{'status':{}}");
    json_t *pods = json_array(), *release = NULL;
    json_array_append_new(pods, pod("d", "Running", true, true));
    json_array_append_new(pods, pod("c", "Running", true, false));
    struct job_counts counts;
    assert_int_equal(job_tracking_update(job, pods, true, &release, &counts), 0);
    assert_string_equal(uids_of(release), "d");
    assert_int_equal(counts.succeeded, 0);
    assert_int_equal(counts.failed, 0);
    const json_t *unc = json_object_get(json_object_get(job, "status"), "uncountedTerminatedPods");
    assert_true(json_is_object(unc));
    assert_int_equal(json_object_size(unc), 0);
    json_decref(release);
    json_decref(pods);
    json_decref(job);
}

static void release_removes_only_the_finalizer(void **state)
{
    (void)state;
    struct harness *h = h_new(NULL, 0);
    json_t *pods = json_array();
    json_array_append_new(pods, pod("a", "Succeeded", true, false));
    json_array_append_new(pods, pod("e", "Succeeded", false, false));
    struct action_list out;
    action_list_init(&out);
    struct err e = {0};
    assert_int_equal(job_tracking_release(&out, h->pods, pods, &e), 0);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.items[0].kind, ACTION_UPDATE);
    const json_t *body = out.items[0].body;
    assert_false(meta_has_finalizer(body, JOB_TRACKING_FINALIZER));
    assert_string_equal(h_str(body, "metadata.resourceVersion"), "7");
    assert_true(meta_has_finalizer(json_array_get(pods, 0), JOB_TRACKING_FINALIZER));
    action_list_clear(&out);
    json_decref(pods);
    h_free(h);
}

/* One pod: its finalizer's removal, with the pod's resourceVersion as the
 * precondition; nothing for a pod that holds none. */
static void release_pod_removes_one_finalizer(void **state)
{
    (void)state;
    struct harness *h = h_new(NULL, 0);
    json_t *held = pod("c", "Running", true, false), *free_pod = pod("e", "Running", false, false);
    struct action_list out;
    action_list_init(&out);
    struct err e = {0};
    assert_int_equal(job_tracking_release_pod(&out, h->pods, free_pod, &e), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(job_tracking_release_pod(&out, h->pods, held, &e), 0);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.items[0].kind, ACTION_UPDATE);
    assert_false(meta_has_finalizer(out.items[0].body, JOB_TRACKING_FINALIZER));
    assert_string_equal(h_str(out.items[0].body, "metadata.resourceVersion"), "7");
    action_list_clear(&out);
    json_decref(held);
    json_decref(free_pod);
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ended_pods_are_recorded_then_counted),
        cmocka_unit_test(a_stopping_job_releases_what_it_deletes),
        cmocka_unit_test(release_removes_only_the_finalizer),
        cmocka_unit_test(release_pod_removes_one_finalizer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
