/* Tests for the Deployment, ReplicaSet and Job controllers with the
 * scheduler and a kubelet, over the mem store in virtual time: scaling up
 * and down, a template change carried out as Recreate, a Job's
 * completions, parallelism, failures and backoffLimit, and the garbage
 * collection of a deleted Deployment's ReplicaSets and pods through the
 * collector step. */
#include "harness.h"

#include "cluster/deployment.h"

static const struct kubelet_node nodes[] = {{.name = "n1", .cpu = "64", .memory = "256Gi"}};

static void deployment(struct harness *h, int replicas, const char *env)
{
    h_create(h, h->deploys,
             "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web',"
             "'namespace':'%s'},'spec':{'replicas':%d,'selector':{'matchLabels':{'app':'web'}},"
             "'template':{'metadata':{'labels':{'app':'web'}},'spec':{"
             "'terminationGracePeriodSeconds':1,'containers':[{'name':'srv','image':'nginx',"
             "'env':[{'name':'V','value':'%s'}]}]}}}}",
             NS, replicas, env);
}

/* Sets the Deployment's replicas and its container's V (a template change). */
static void edit_deployment(struct harness *h, int replicas, const char *env)
{
    json_t *d = h_get(h, h->deploys, NS, "web");
    json_t *spec = json_object_get(d, "spec");
    json_object_set_new(spec, "replicas", json_integer(replicas));
    json_t *c = json_array_get(json_object_get(json_object_get(json_object_get(spec, "template"),
                                                               "spec"),
                                               "containers"),
                               0);
    json_object_set_new(json_array_get(json_object_get(c, "env"), 0), "value", json_string(env));
    struct err e = {0};
    h_ok(store_update(h->st, h->deploys, NS, d, NULL, NULL, &e), &e, "edit deployment");
    json_decref(d);
}

/* Pods that are neither finished nor being deleted. */
static size_t active_pods(struct harness *h, const char *selector)
{
    json_t *items = h_list(h, h->pods, selector);
    size_t i, n = 0;
    const json_t *p;
    json_array_foreach(items, i, p) {
        const char *phase = h_str(p, "status.phase");
        n += !json_object_get(json_object_get(p, "metadata"), "deletionTimestamp") &&
             strcmp(phase, "Succeeded") != 0 && strcmp(phase, "Failed") != 0;
    }
    json_decref(items);
    return n;
}

static void deployment_scales_up_and_down(void **state)
{
    (void)state;
    struct harness *h = h_new(nodes, 1);
    deployment(h, 3, "1");
    h_settle(h);
    json_t *rss = h_list(h, h->rss, "app=web");
    assert_int_equal(json_array_size(rss), 1);
    const json_t *rs = json_array_get(rss, 0);
    const char *hash = meta_label(rs, DEPLOYMENT_HASH_LABEL);
    char name[64], sel[64];
    snprintf(name, sizeof name, "web-%s", hash);
    snprintf(sel, sizeof sel, "pod-template-hash=%s", hash);
    assert_string_equal(meta_name(rs), name);
    assert_string_equal(h_str(rs, "spec.selector.matchLabels.pod-template-hash"), hash);
    assert_string_equal(h_str(rs, "metadata.ownerReferences.0.kind"), "Deployment");
    assert_string_equal(h_str(rs, "metadata.ownerReferences.0.controller"), "true");
    assert_int_equal(active_pods(h, sel), 3);
    json_t *pods = h_list(h, h->pods, sel);
    assert_string_equal(h_str(json_array_get(pods, 0), "metadata.ownerReferences.0.name"), name);
    assert_string_equal(h_str(json_array_get(pods, 0), "status.phase"), "Running");
    json_decref(pods);
    assert_string_equal(h_field(h, h->deploys, "web", "status.replicas"), "3");
    assert_string_equal(h_field(h, h->deploys, "web", "status.readyReplicas"), "3");
    assert_string_equal(h_field(h, h->deploys, "web", "status.availableReplicas"), "3");
    assert_string_equal(h_field(h, h->deploys, "web", "status.updatedReplicas"), "3");
    assert_string_equal(h_field(h, h->deploys, "web", "status.observedGeneration"), "1");
    assert_string_equal(h_condition(h, h->deploys, "web", "Available"),
                        "True/MinimumReplicasAvailable/Deployment has minimum availability.");
    assert_string_equal(h_field(h, h->rss, name, "status.readyReplicas"), "3");

    edit_deployment(h, 5, "1");
    h_settle(h);
    assert_int_equal(active_pods(h, sel), 5);
    assert_string_equal(h_field(h, h->deploys, "web", "status.availableReplicas"), "5");
    assert_string_equal(h_field(h, h->deploys, "web", "status.observedGeneration"), "2");

    edit_deployment(h, 2, "1");
    h_settle(h);
    assert_int_equal(active_pods(h, sel), 2);
    assert_string_equal(h_field(h, h->deploys, "web", "status.replicas"), "2");
    assert_int_equal(h_count(h, h->pods, sel), 5); /* three still stopping */
    h_advance_ms(h, 1000);
    assert_int_equal(h_count(h, h->pods, sel), 2);
    assert_int_equal(h_events(h, "SuccessfulDelete", name, NULL, 0), 3);
    json_decref(rss);
    h_free(h);
}

static void template_change_recreates(void **state)
{
    (void)state;
    struct harness *h = h_new_with(nodes, 1, 0, true);
    deployment(h, 2, "1");
    h_settle(h);
    json_t *rss = h_list(h, h->rss, "app=web");
    char old_name[64];
    snprintf(old_name, sizeof old_name, "%s", meta_name(json_array_get(rss, 0)));
    json_decref(rss);

    edit_deployment(h, 2, "2");
    h_settle(h);
    /* The old pods stop first (grace 1 s); the new ReplicaSet waits for them. */
    assert_string_equal(h_field(h, h->rss, old_name, "spec.replicas"), "0");
    assert_int_equal(h_count(h, h->rss, "app=web"), 1);
    assert_int_equal(active_pods(h, "app=web"), 0);
    h_advance_ms(h, 1000);
    assert_int_equal(h_count(h, h->rss, "app=web"), 2);
    rss = h_list(h, h->rss, "app=web");
    const json_t *fresh = strcmp(meta_name(json_array_get(rss, 0)), old_name) == 0
                              ? json_array_get(rss, 1)
                              : json_array_get(rss, 0);
    char sel[64];
    snprintf(sel, sizeof sel, "pod-template-hash=%s", meta_label(fresh, DEPLOYMENT_HASH_LABEL));
    assert_int_equal(active_pods(h, sel), 2);
    assert_int_equal(h_count(h, h->pods, "app=web"), 2);
    assert_string_equal(h_field(h, h->deploys, "web", "status.updatedReplicas"), "2");
    assert_string_equal(h_field(h, h->deploys, "web", "status.replicas"), "2");
    char msg[256];
    snprintf(msg, sizeof msg, "True/NewReplicaSetAvailable/ReplicaSet \"%s\" has successfully "
                              "progressed.", meta_name(fresh));
    assert_string_equal(h_condition(h, h->deploys, "web", "Progressing"), msg);
    /* Its pods see the new template. */
    json_t *pods = h_list(h, h->pods, sel);
    json_t *p = json_array_get(pods, 0);
    json_t *env = h_observed_env(h, p);
    assert_string_equal(h_str(env, "srv.V"), "2");
    json_decref(env);
    json_decref(pods);
    json_decref(rss);
    h_free(h);
}

static void job(struct harness *h, const char *name, int completions, int parallelism,
                int backoff, const char *annotations)
{
    h_create(h, h->jobs,
             "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'%s','namespace':'%s'},"
             "'spec':{'completions':%d,'parallelism':%d,'backoffLimit':%d,'template':{"
             "'metadata':{'annotations':{%s}},'spec':{'restartPolicy':'Never',"
             "'containers':[{'name':'work','image':'cuda-vectoradd'}]}}}}",
             name, NS, completions, parallelism, backoff, annotations);
}

static void annotate(struct harness *h, const char *pod, const char *key, const char *value)
{
    json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", key, value);
    struct err e = {0};
    h_ok(store_patch(h->st, h->pods, NS, pod, STORE_PATCH_MERGE, patch, NULL, NULL, &e), &e,
         "annotate");
    json_decref(patch);
}

static void job_runs_completions_with_parallelism_through_a_failure(void **state)
{
    (void)state;
    struct harness *h = h_new(nodes, 1);
    job(h, "batch", 5, 2, 1, "'gpuslice.dev/run-seconds':'10'");
    h_settle(h);
    assert_int_equal(active_pods(h, "job-name=batch"), 2);
    assert_string_equal(h_field(h, h->jobs, "batch", "status.active"), "2");
    assert_string_equal(h_field(h, h->jobs, "batch", "status.ready"), "2");
    assert_string_not_equal(h_field(h, h->jobs, "batch", "status.startTime"), "");
    json_t *pods = h_list(h, h->pods, "job-name=batch");
    assert_string_equal(h_str(json_array_get(pods, 0), "metadata.ownerReferences.0.kind"), "Job");
    annotate(h, meta_name(json_array_get(pods, 0)), "gpuslice.dev/exit-code", "1");
    json_decref(pods);

    h_advance_ms(h, 10000);
    assert_string_equal(h_field(h, h->jobs, "batch", "status.succeeded"), "1");
    assert_string_equal(h_field(h, h->jobs, "batch", "status.failed"), "1");
    assert_int_equal(active_pods(h, "job-name=batch"), 2); /* one failure <= backoffLimit 1 */
    h_advance_ms(h, 10000);
    assert_string_equal(h_field(h, h->jobs, "batch", "status.succeeded"), "3");
    assert_int_equal(active_pods(h, "job-name=batch"), 2);
    assert_string_equal(h_condition(h, h->jobs, "batch", "Complete"), "");
    h_advance_ms(h, 10000);
    assert_int_equal(h_events(h, "Completed", "batch", NULL, 0), 1);
    assert_string_equal(h_field(h, h->jobs, "batch", "status.succeeded"), "5");
    assert_string_equal(h_field(h, h->jobs, "batch", "status.failed"), "1");
    assert_string_equal(h_field(h, h->jobs, "batch", "status.active"), "0");
    assert_string_equal(h_condition(h, h->jobs, "batch", "Complete"),
                        "True/CompletionsReached/Reached expected number of succeeded pods");
    assert_string_not_equal(h_field(h, h->jobs, "batch", "status.completionTime"), "");
    assert_int_equal(h_count(h, h->pods, "job-name=batch"), 6);
    /* Nothing more happens to a finished Job. */
    h_advance_ms(h, 60000);
    assert_int_equal(h_count(h, h->pods, "job-name=batch"), 6);
    h_free(h);
}

static void job_fails_past_its_backoff_limit(void **state)
{
    (void)state;
    struct harness *h = h_new(nodes, 1);
    job(h, "flaky", 3, 2, 0, "'gpuslice.dev/run-seconds':'10'");
    h_settle(h);
    json_t *pods = h_list(h, h->pods, "job-name=flaky");
    const char *first = meta_name(json_array_get(pods, 0));
    annotate(h, first, "gpuslice.dev/exit-code", "2");
    annotate(h, first, "gpuslice.dev/run-seconds", "3");
    json_decref(pods);
    h_advance_ms(h, 3000);
    assert_string_equal(h_condition(h, h->jobs, "flaky", "Failed"),
                        "True/BackoffLimitExceeded/Job has reached the specified backoff limit");
    assert_string_equal(h_field(h, h->jobs, "flaky", "status.failed"), "1");
    /* The other pod is stopped, and no pod replaces either. */
    assert_int_equal(active_pods(h, "job-name=flaky"), 0);
    h_advance_ms(h, 60000);
    assert_int_equal(h_count(h, h->pods, "job-name=flaky"), 1);
    assert_int_equal(h_events(h, "BackoffLimitExceeded", "flaky", NULL, 0), 1);
    h_free(h);
}

static void suspended_job_runs_nothing_until_resumed(void **state)
{
    (void)state;
    struct harness *h = h_new(nodes, 1);
    h_create(h, h->jobs,
             "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'q','namespace':'%s'},"
             "'spec':{'suspend':true,'template':{'spec':{'restartPolicy':'Never',"
             "'containers':[{'name':'w','image':'x','args':['sleep','1']}]}}}}",
             NS);
    h_settle(h);
    assert_int_equal(h_count(h, h->pods, "job-name=q"), 0);
    assert_string_equal(h_condition(h, h->jobs, "q", "Suspended"),
                        "True/JobSuspended/Job suspended");
    json_t *patch = json_text("{'spec':{'suspend':false}}");
    struct err e = {0};
    h_ok(store_patch(h->st, h->jobs, NS, "q", STORE_PATCH_MERGE, patch, NULL, NULL, &e), &e,
         "resume");
    json_decref(patch);
    h_settle(h);
    assert_string_equal(h_condition(h, h->jobs, "q", "Suspended"),
                        "False/JobResumed/Job resumed");
    h_advance_ms(h, 1000);
    assert_string_equal(h_condition(h, h->jobs, "q", "Complete"),
                        "True/CompletionsReached/Reached expected number of succeeded pods");
    h_free(h);
}

static void deleted_deployment_is_collected(void **state)
{
    (void)state;
    struct harness *h = h_new(nodes, 1);
    deployment(h, 2, "1");
    h_settle(h);
    assert_int_equal(h_count(h, h->pods, "app=web"), 2);
    struct err e = {0};
    h_ok(store_delete(h->st, h->deploys, NS, "web", NULL, NULL, &e), &e, "delete deployment");
    h_settle(h);
    /* The collector step took the ReplicaSet, then its pods, which stop
     * over their grace period. */
    assert_int_equal(h_count(h, h->deploys, NULL), 0);
    assert_int_equal(h_count(h, h->rss, NULL), 0);
    assert_int_equal(active_pods(h, "app=web"), 0);
    assert_int_equal(h_count(h, h->pods, "app=web"), 2);
    h_advance_ms(h, 1000);
    assert_int_equal(h_count(h, h->pods, NULL), 0);
    h_free(h);
}

/* A StatefulSet of replicas pods asking cpu each (the node has 64). */
static void statefulset(struct harness *h, int replicas, const char *cpu)
{
    h_create(h, h_res(h, "apps", "statefulsets"),
             "{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'db','namespace':"
             "'%s'},'spec':{'replicas':%d,'serviceName':'db','selector':{'matchLabels':{'app':"
             "'db'}},'template':{'metadata':{'labels':{'app':'db'}},'spec':{"
             "'terminationGracePeriodSeconds':1,'containers':[{'name':'srv','image':'vllm',"
             "'resources':{'requests':{'cpu':'%s'}}}]}}}}",
             NS, replicas, cpu);
}

static void scale_statefulset(struct harness *h, int replicas)
{
    json_t *patch = json_pack("{s:{s:i}}", "spec", "replicas", replicas);
    struct err e = {0};
    h_ok(store_patch(h->st, h_res(h, "apps", "statefulsets"), NS, "db", STORE_PATCH_MERGE, patch,
                     NULL, NULL, &e), &e, "scale");
    json_decref(patch);
    h_advance_ms(h, 2000);
}

static const char *uid_of(struct harness *h, const char *pod)
{
    return h_field(h, h->pods, pod, "metadata.uid");
}

/* Ordinal names, one pod at a time (a pod that cannot run holds the next
 * back), the same name again after a delete, the highest ordinal first
 * when scaling down. */
static void statefulset_runs_ordinals_one_at_a_time(void **state)
{
    (void)state;
    struct harness *h = h_new(nodes, 1);
    const struct api_resource *sts = h_res(h, "apps", "statefulsets");
    statefulset(h, 4, "30");
    h_settle(h);
    /* 64 cpus hold two: db-2 cannot run, so db-3 is not made. */
    assert_string_equal(h_field(h, h->pods, "db-0", "status.phase"), "Running");
    assert_string_equal(h_field(h, h->pods, "db-1", "status.phase"), "Running");
    assert_string_equal(h_field(h, h->pods, "db-1", "spec.hostname"), "db-1");
    assert_string_equal(h_field(h, h->pods, "db-1", "spec.subdomain"), "db");
    json_t *pods = h_list(h, h->pods, "statefulset.kubernetes.io/pod-name=db-1");
    assert_int_equal(json_array_size(pods), 1);
    assert_string_equal(meta_label(json_array_get(pods, 0), "apps.kubernetes.io/pod-index"), "1");
    json_decref(pods);
    assert_string_equal(h_field(h, h->pods, "db-2", "status.phase"), "Pending");
    assert_int_equal(h_count(h, h->pods, "app=db"), 3);
    assert_string_equal(h_field(h, sts, "db", "status.readyReplicas"), "2");

    /* Scaled to 2: db-2 goes (the highest first). */
    struct err e = {0};
    scale_statefulset(h, 2);
    assert_int_equal(h_count(h, h->pods, "app=db"), 2);
    assert_int_equal(h_events(h, "SuccessfulDelete", "db", NULL, 0), 1);

    /* Deleted, db-0 comes back under its name, a new pod. */
    char old[64];
    snprintf(old, sizeof old, "%s", uid_of(h, "db-0"));
    h_ok(store_delete(h->st, h->pods, NS, "db-0", &(struct store_delete_opts){0}, NULL, &e), &e,
         "delete db-0");
    h_advance_ms(h, 2000);
    assert_string_equal(h_field(h, h->pods, "db-0", "status.phase"), "Running");
    assert_string_not_equal(uid_of(h, "db-0"), old);

    /* Scaled to 1: db-1 goes, db-0 stays. */
    scale_statefulset(h, 1);
    assert_int_equal(h_count(h, h->pods, "app=db"), 1);
    assert_string_equal(h_field(h, h->pods, "db-0", "status.phase"), "Running");
    assert_string_equal(h_field(h, sts, "db", "status.replicas"), "1");
    h_free(h);
}

static void template_hash_is_stable_and_safe(void **state)
{
    (void)state;
    json_t *a = json_text("{'metadata':{'labels':{'app':'x','tier':'y'}},'spec':{'c':1}}");
    json_t *b = json_text("{'spec':{'c':1},'metadata':{'labels':{'tier':'y','app':'x'}}}");
    json_t *c = json_text("{'metadata':{'labels':{'app':'x','tier':'y'}},'spec':{'c':2}}");
    char ha[DEPLOYMENT_HASH_MAX], hb[DEPLOYMENT_HASH_MAX], hc[DEPLOYMENT_HASH_MAX],
        hd[DEPLOYMENT_HASH_MAX];
    assert_int_equal(deployment_template_hash(a, 0, ha), 0);
    assert_int_equal(deployment_template_hash(b, 0, hb), 0);
    assert_int_equal(deployment_template_hash(c, 0, hc), 0);
    assert_int_equal(deployment_template_hash(a, 1, hd), 0);
    assert_string_equal(ha, hb); /* key order does not matter */
    assert_string_not_equal(ha, hc);
    assert_string_not_equal(ha, hd); /* a collision count moves it */
    for (const char *p = ha; *p; p++)
        assert_non_null(strchr("bcdfghjklmnpqrstvwxz2456789", *p));
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deployment_scales_up_and_down),
        cmocka_unit_test(template_change_recreates),
        cmocka_unit_test(job_runs_completions_with_parallelism_through_a_failure),
        cmocka_unit_test(job_fails_past_its_backoff_limit),
        cmocka_unit_test(suspended_job_runs_nothing_until_resumed),
        cmocka_unit_test(deleted_deployment_is_collected),
        cmocka_unit_test(template_hash_is_stable_and_safe),
        cmocka_unit_test(statefulset_runs_ordinals_one_at_a_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
