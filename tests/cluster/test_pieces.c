/* Tests for the pieces the kubelet and the workload controllers are made
 * of, called directly: a container's environment, the container runtime's
 * status edits, pods from templates, expectations (met by the cache, or
 * given up after their timeout), and the frame of pod-owning controllers
 * (which asks its expectations before it lists the pods). */
#include "harness.h"

#include "cluster/job.h"
#include "cluster/kubelet_env.h"
#include "cluster/kubelet_pod.h"
#include "cluster/replicaset.h"
#include "cluster/objstate.h"
#include "cluster/workloads.h"

static json_t *find_cm(void *ctx, const char *ns, const char *name)
{
    (void)ns;
    json_t *cm = json_object_get(ctx, name);
    return cm ? json_incref(cm) : NULL;
}

static void environment_in_the_kubelet_order(void **state)
{
    (void)state;
    json_t *cms = json_text("{'a':{'data':{'X':'from-a','Y':'y','9bad':'n','ok.dot':'1'}},"
                         "'b':{'data':{'X':'from-b'}}}");
    json_t *pod = json_text("{'metadata':{'name':'p','namespace':'team','uid':'u-1'},"
                         "'spec':{'nodeName':'n1'}}");
    json_t *c = json_text(
        "{'name':'c','envFrom':[{'configMapRef':{'name':'a'}},{'prefix':'B_','configMapRef':"
        "{'name':'b'}},{'configMapRef':{'name':'none','optional':true}},{'secretRef':{'name':"
        "'s','optional':true}}],'env':[{'name':'X','value':'literal'},{'name':'EMPTY'},"
        "{'name':'K','valueFrom':{'configMapKeyRef':{'name':'a','key':'Y'}}},{'name':'OPT',"
        "'valueFrom':{'configMapKeyRef':{'name':'a','key':'nope','optional':true}}},"
        "{'name':'NODE','valueFrom':{'fieldRef':{'fieldPath':'spec.nodeName'}}},{'name':'UID',"
        "'valueFrom':{'fieldRef':{'fieldPath':'metadata.uid'}}},{'name':'CPU','valueFrom':"
        "{'resourceFieldRef':{'resource':'limits.cpu'}}},{'value':'no name'}]}");
    json_t *env = NULL;
    assert_int_equal(kubelet_env_resolve(pod, c, find_cm, cms, &env, NULL), 0);
    json_t *want = json_text("{'X':'literal','Y':'y','ok.dot':'1','B_X':'from-b','EMPTY':'',"
                          "'K':'y','NODE':'n1','UID':'u-1'}");
    assert_true(json_equal(env, want));
    json_decref(want);
    json_decref(env);
    json_decref(c);

    const char *bad[][2] = {
        {"{'envFrom':[{'configMapRef':{'name':'gone'}}]}", "configmap \"gone\" not found"},
        {"{'envFrom':[{'secretRef':{'name':'s'}}]}", "secret \"s\" not found"},
        {"{'env':[{'name':'V','valueFrom':{'configMapKeyRef':{'name':'a','key':'Z'}}}]}",
         "couldn't find key Z in ConfigMap team/a"},
        {"{'env':[{'name':'V','valueFrom':{'configMapKeyRef':{'name':'gone','key':'Z'}}}]}",
         "configmap \"gone\" not found"},
        {"{'env':[{'name':'V','valueFrom':{'secretKeyRef':{'name':'s','key':'k'}}}]}",
         "secret \"s\" not found"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct err e = {0};
        c = json_text("%s", bad[i][0]);
        env = (json_t *)1;
        assert_int_equal(kubelet_env_resolve(pod, c, find_cm, cms, &env, &e), -ENOENT);
        assert_null(env);
        assert_string_equal(e.msg, bad[i][1]);
        json_decref(c);
    }
    json_decref(pod);
    json_decref(cms);
}

static void runtime_status_edits(void **state)
{
    (void)state;
    json_t *pod = json_text("{'metadata':{'name':'p','uid':'u'},'spec':{'restartPolicy':'Never',"
                         "'initContainers':[{'name':'init','image':'i'}],'containers':["
                         "{'name':'a','image':'i','args':['sleep','1']},{'name':'b','image':"
                         "'i','args':['sleep','2']}]}}");
    assert_false(kubelet_pod_started(pod));
    assert_int_equal(kubelet_pod_config_error(pod, "b", "configmap \"x\" not found", T0), 0);
    assert_false(kubelet_pod_started(pod));
    assert_string_equal(h_str(pod, "status.phase"), "Pending");
    assert_string_equal(h_str(pod, "status.containerStatuses.0.state.waiting.reason"),
                        "ContainerCreating");
    assert_string_equal(h_str(pod, "status.containerStatuses.1.state.waiting.reason"),
                        "CreateContainerConfigError");
    assert_string_equal(h_str(pod, "status.conditions.2.message"),
                        "containers with unready status: [a b]");

    assert_int_equal(kubelet_pod_start(pod, "n1", T0), 0);
    assert_true(kubelet_pod_started(pod));
    assert_string_equal(h_str(pod, "status.phase"), "Running");
    assert_string_equal(h_str(pod, "status.initContainerStatuses.0.state.terminated.reason"),
                        "Completed");
    assert_string_equal(h_str(pod, "status.containerStatuses.1.containerID"),
                        "emulated://n1/u/b");
    int64_t next = 0;
    assert_int_equal(kubelet_pod_advance(pod, T0 + SEC, &next), 0);
    assert_int_equal(next, T0 + 2 * SEC);
    assert_string_equal(h_str(pod, "status.phase"), "Running");
    assert_string_equal(h_str(pod, "status.containerStatuses.0.state.terminated.finishedAt"),
                        "2026-09-21T14:13:21.000000Z");
    assert_string_equal(h_str(pod, "status.conditions.2.status"), "False"); /* a ended */
    /* Stopped before b ends: b is killed, a keeps its own end. */
    assert_int_equal(kubelet_pod_stop(pod, T0 + SEC + SEC / 2), 0);
    assert_string_equal(h_str(pod, "status.phase"), "Failed");
    assert_string_equal(h_str(pod, "status.containerStatuses.0.state.terminated.exitCode"), "0");
    assert_string_equal(h_str(pod, "status.containerStatuses.1.state.terminated.exitCode"),
                        "137");
    json_decref(pod);

    /* A pod stopped before anything ran ends failed, its containers unknown. */
    pod = json_text("{'metadata':{'name':'q'},'spec':{'containers':[{'name':'c','image':'i'}]}}");
    assert_int_equal(kubelet_pod_stop(pod, T0), 0);
    assert_string_equal(h_str(pod, "status.phase"), "Failed");
    assert_string_equal(h_str(pod, "status.containerStatuses.0.state.terminated.reason"),
                        "ContainerStatusUnknown");
    json_decref(pod);
}

/* kubelet_pod_idle says whether an advance would change nothing: not
 * while a run ends by now, nor while the conditions do not yet say what
 * the containers do (a status someone else wrote). */
static void an_idle_pod_is_one_an_advance_leaves_alone(void **state)
{
    (void)state;
    json_t *pod = json_text("{'metadata':{'name':'p','uid':'u'},'spec':{'restartPolicy':'Never',"
                            "'containers':[{'name':'a','image':'i','args':['sleep','1']},"
                            "{'name':'b','image':'i','args':['sleep','2']}]}}");
    assert_int_equal(kubelet_pod_start(pod, "n1", T0), 0);
    int64_t next = 0, advanced = 0;
    assert_true(kubelet_pod_idle(pod, T0 + SEC / 2, &next));
    assert_int_equal(next, T0 + SEC);
    json_t *before = json_deep_copy(pod);
    assert_int_equal(kubelet_pod_advance(pod, T0 + SEC / 2, &advanced), 0);
    assert_int_equal(advanced, next);
    assert_true(json_equal(pod, before));
    assert_false(kubelet_pod_idle(pod, T0 + SEC, &next)); /* a ends then */
    /* Unsettled: Ready says nothing of the running containers yet. */
    json_object_del(json_object_get(pod, "status"), "conditions");
    assert_false(kubelet_pod_idle(pod, T0 + SEC / 2, &next));
    assert_int_equal(kubelet_pod_advance(pod, T0 + SEC / 2, &advanced), 0);
    assert_true(kubelet_pod_idle(pod, T0 + SEC / 2, &next));
    json_decref(before);
    json_decref(pod);
}

static void pods_from_templates(void **state)
{
    (void)state;
    json_t *owner = json_text("{'apiVersion':'apps/v1','kind':'ReplicaSet','metadata':{'name':"
                           "'web-abc','namespace':'team','uid':'rs-1'}}");
    json_t *tpl = json_text("{'metadata':{'labels':{'app':'web'},'annotations':{'a':'b'}},"
                         "'spec':{'containers':[{'name':'c','image':'i'}]}}");
    json_t *extra = json_text("{'job-name':'x'}");
    json_t *pod = workloads_pod_from_template(owner, tpl, extra);
    assert_non_null(pod);
    assert_string_equal(h_str(pod, "metadata.generateName"), "web-abc-");
    assert_string_equal(h_str(pod, "metadata.namespace"), "team");
    assert_string_equal(meta_label(pod, "app"), "web");
    assert_string_equal(meta_label(pod, "job-name"), "x");
    assert_string_equal(meta_annotation(pod, "a"), "b");
    assert_string_equal(h_str(pod, "metadata.ownerReferences.0.uid"), "rs-1");
    assert_string_equal(h_str(pod, "metadata.ownerReferences.0.blockOwnerDeletion"), "true");
    assert_string_equal(h_str(pod, "spec.containers.0.name"), "c");
    /* The template is copied, not shared. */
    json_object_set_new(json_object_get(tpl, "metadata"), "labels", json_object());
    assert_string_equal(meta_label(pod, "app"), "web");
    json_decref(pod);
    json_t *specless = json_text("{'metadata':{}}");
    assert_null(workloads_pod_from_template(owner, specless, NULL));
    json_decref(specless);
    json_decref(extra);
    json_decref(tpl);
    json_decref(owner);
}

static void expectations_wait_for_the_cache_or_time_out(void **state)
{
    (void)state;
    struct harness *h = h_new(NULL, 0);
    struct err e = {0};
    struct informer *pods = NULL;
    struct informer_config ic = {.store = h->st, .res = h->pods, .now_ns = NULL,
                                 .indexes = {{.name = OBJSTATE_INDEX_OWNER,
                                              .keys = informer_keys_owner}},
                                 .index_count = 1};
    h_ok(informer_new(&ic, &pods, &e), &e, "informer_new");
    struct workloads_config wc = {.store = h->st, .pods = pods, .now_ns = h_now_ns,
                                  .clock_ctx = h};
    struct workloads_expectations *x = NULL;
    h_ok(workloads_expectations_new(&wc, &x, &e), &e, "expectations");
    assert_false(workloads_expecting(x, "team/rs", NS));

    /* A created pod the cache has not seen yet holds the owner back. */
    json_t *made = json_text("{'metadata':{'name':'rs-1','namespace':'%s'}}", NS);
    struct action create = {.kind = ACTION_CREATE, .res = h->pods};
    workloads_expectations_executed(x, "team/rs", &create, 0, made);
    workloads_expectations_executed(x, "team/rs", &create, -EIO, made); /* failed: ignored */
    assert_true(workloads_expecting(x, "team/rs", NS));
    h_pod(h, "rs-1", ",'ownerReferences':[{'apiVersion':'apps/v1','kind':'ReplicaSet','name':"
                     "'rs','uid':'owner-uid','controller':true}]", "");
    while (informer_step(pods, 0, NULL) == 0) {
    }
    assert_false(workloads_expecting(x, "team/rs", NS));
    json_t *owned = workloads_controlled(pods, "owner-uid");
    assert_int_equal(json_array_size(owned), 1);
    json_decref(owned);

    /* A deletion the cache never shows is given up after the timeout. */
    struct action del = {.kind = ACTION_DELETE, .res = h->pods, .name = "rs-1", .uid = "other"};
    workloads_expectations_executed(x, "team/rs", &del, 0, NULL);
    assert_false(workloads_expecting(x, "team/rs", NS)); /* another uid: that pod is gone */
    json_t *cached = NULL;
    assert_int_equal(informer_get(pods, NS, "rs-1", &cached), 0);
    del.uid = (char *)meta_uid(cached);
    workloads_expectations_executed(x, "team/rs", &del, 0, NULL);
    json_decref(cached);
    assert_true(workloads_expecting(x, "team/rs", NS));
    h->now += WORKLOADS_EXPECT_TIMEOUT_NS;
    assert_false(workloads_expecting(x, "team/rs", NS));
    /* Writes to other resources are not pods to expect. */
    struct action other = {.kind = ACTION_CREATE, .res = h->cms};
    workloads_expectations_executed(x, "team/rs", &other, 0, made);
    assert_false(workloads_expecting(x, "team/rs", NS));
    workloads_expectations_executed(x, "team/rs", &create, 0, made);
    workloads_expectations_forget(x, "team/rs");
    assert_false(workloads_expecting(x, "team/rs", NS));

    /* A status written over version 5: the cache's 5 is behind it, any
     * other version is not (and the write is forgotten then). */
    json_t *v5 = json_text("{'metadata':{'name':'j','resourceVersion':'5'}}");
    json_t *v6 = json_text("{'metadata':{'name':'j','resourceVersion':'6'}}");
    struct action status = {.kind = ACTION_UPDATE_STATUS, .res = h->jobs, .body = v5};
    workloads_expectations_status(x, "team/j", &status, -ESTALE); /* failed: ignored */
    assert_false(workloads_status_behind(x, "team/j", v5));
    workloads_expectations_status(x, "team/j", &status, 0);
    assert_true(workloads_status_behind(x, "team/j", v5));
    assert_false(workloads_status_behind(x, "team/j", v6));
    assert_false(workloads_status_behind(x, "team/j", v5));
    workloads_expectations_status(x, "team/j", &status, 0);
    h->now += WORKLOADS_EXPECT_TIMEOUT_NS; /* given up after the timeout */
    assert_false(workloads_status_behind(x, "team/j", v5));
    workloads_expectations_status(x, "team/j", &status, 0);
    workloads_expectations_forget(x, "team/j");
    assert_false(workloads_status_behind(x, "team/j", v5));
    json_decref(v5);
    json_decref(v6);
    json_decref(made);
    workloads_expectations_free(x);
    informer_free(pods);
    h_free(h);
}

struct owner_probe {
    struct workloads_owner w;
    int decided;
    char last[64];
};

static int probe_decide(struct workloads_owner *o, const char *key, const json_t *obj,
                        int64_t now, struct action_list *out, struct err *e)
{
    struct owner_probe *p = (struct owner_probe *)o;
    (void)obj;
    (void)now;
    (void)out;
    (void)e;
    p->decided++;
    snprintf(p->last, sizeof p->last, "%s", key);
    return 0;
}

static void owners_decide_on_the_objects_their_keys_name(void **state)
{
    (void)state;
    struct harness *h = h_new(NULL, 0);
    struct err e = {0};
    struct informer *pods = NULL;
    struct informer_config ic = {.store = h->st, .res = h->pods};
    h_ok(informer_new(&ic, &pods, &e), &e, "informer_new");
    struct workloads_config wc = {.store = h->st, .pods = pods, .now_ns = h_now_ns,
                                  .clock_ctx = h};
    struct workloads_owner_def def = {.loop_name = "probe-controller", .what = "probe controller",
                                      .group = "", .plural = "pods", .decide = probe_decide};
    struct owner_probe p = {0};
    assert_int_equal(workloads_owner_init(&p.w, &wc, NULL, &def, &e), -EINVAL);
    assert_string_equal(e.msg, "probe controller: needs a store and the pods and pods informers");
    def.plural = "nopes";
    assert_int_equal(workloads_owner_init(&p.w, &wc, pods, &def, &e), -ENOENT);
    assert_string_equal(e.msg, "probe controller: the store serves no pods or nopes");
    assert_null(p.w.loop);

    def.plural = "pods";
    h_ok(workloads_owner_init(&p.w, &wc, pods, &def, &e), &e, "workloads_owner_init");
    h_pod(h, "p1", "", "");
    while (informer_step(pods, 0, NULL) == 0) {
    }
    json_t *p1 = NULL;
    assert_int_equal(informer_get(pods, NS, "p1", &p1), 0);
    workloads_enqueue(p.w.loop, p1);
    json_t *nameless = json_text("{'metadata':{'namespace':'%s'}}", NS);
    workloads_enqueue(p.w.loop, nameless); /* no key: nothing queued */
    assert_int_equal(loop_run_ready(p.w.loop, 10), 1);
    assert_int_equal(p.decided, 1);
    assert_string_equal(p.last, NS "/p1");
    /* A key whose object is gone is no decision. */
    loop_enqueue(p.w.loop, NS "/gone");
    assert_int_equal(loop_run_ready(p.w.loop, 10), 1);
    assert_int_equal(p.decided, 1);
    json_decref(nameless);
    json_decref(p1);
    workloads_owner_fini(&p.w);
    informer_free(pods);
    h_free(h);
}

/* A pod-owning controller (a Job's or a ReplicaSet's) whose pod cache is
 * stepped by hand and by the clock: the clock's read number catch_up_at
 * delivers every pod event the store has written, so a test puts the
 * cache's update between two steps of one decision. */
struct lagging_world {
    struct harness *h;
    struct informer *pods, *owners;
    const struct api_resource *owner_res;
    int catch_up_at; /* reads from now; 0: never */
    struct job_controller *job;
    struct replicaset_controller *rs;
    struct loop *loop;
};

static void step_all(struct informer *inf)
{
    while (informer_step(inf, 0, NULL) == 0) {
    }
}

static int64_t lagging_now(void *ctx)
{
    struct lagging_world *l = ctx;
    if (l->catch_up_at > 0 && --l->catch_up_at == 0)
        step_all(l->pods);
    return l->h->now;
}

/* The world's caches and controller (the Job controller for jobs, else
 * the ReplicaSet controller), new ones each time: a controller restarted. */
static void lagging_world_start(struct lagging_world *l, bool jobs)
{
    struct err e = {0};
    struct informer_index by_owner = {.name = OBJSTATE_INDEX_OWNER,
                                      .keys = informer_keys_owner};
    struct informer_config pc = {.store = l->h->st, .res = l->h->pods,
                                 .indexes = {by_owner}, .index_count = 1};
    struct informer_config oc = {.store = l->h->st, .res = l->owner_res,
                                 .indexes = {by_owner}, .index_count = 1};
    h_ok(informer_new(&pc, &l->pods, &e), &e, "pods informer");
    h_ok(informer_new(&oc, &l->owners, &e), &e, "owners informer");
    struct workloads_config wc = {.store = l->h->st, .pods = l->pods, .jobs = l->owners,
                                  .replicasets = l->owners, .now_ns = lagging_now,
                                  .clock_ctx = l};
    if (jobs) {
        h_ok(job_controller_new(&wc, &l->job, &e), &e, "job_controller_new");
        l->loop = job_controller_loop(l->job);
    } else {
        h_ok(replicaset_controller_new(&wc, &l->rs, &e), &e, "replicaset_controller_new");
        l->loop = replicaset_controller_loop(l->rs);
    }
}

static void lagging_world_stop(struct lagging_world *l)
{
    job_controller_free(l->job);
    replicaset_controller_free(l->rs);
    informer_free(l->owners);
    informer_free(l->pods);
    l->job = NULL;
    l->rs = NULL;
}

/* The world and its controller: the Job controller for "jobs", else the
 * ReplicaSet controller. */
static void lagging_world_init(struct lagging_world *l, const char *plural)
{
    bool jobs = strcmp(plural, "jobs") == 0;
    l->h = h_new(NULL, 0);
    l->owner_res = jobs ? l->h->jobs : l->h->rss;
    lagging_world_start(l, jobs);
}

static void lagging_world_fini(struct lagging_world *l)
{
    lagging_world_stop(l);
    h_free(l->h);
}

/* Creates the owner (JSON text with ' for "), which wants n pods, and
 * decides for it (key) once, then again before the cache shows the pods it
 * created, the cache catching up at the second decision's first clock read
 * (the loop's own being the one before): no more than n pods either way. */
static void decides_again_as_the_cache_catches_up(struct lagging_world *l, const char *owner,
                                                  const char *key, size_t n)
{
    h_create(l->h, l->owner_res, "%s", owner);
    step_all(l->owners);
    step_all(l->pods);
    loop_enqueue(l->loop, key);
    assert_int_equal(loop_run_ready(l->loop, 0), 1);
    assert_int_equal(h_count(l->h, l->h->pods, NULL), n);
    step_all(l->owners);
    l->catch_up_at = 2;
    loop_enqueue(l->loop, key);
    assert_int_equal(loop_run_ready(l->loop, 0), 1);
    assert_int_equal(l->catch_up_at, 0); /* the cache did catch up */
    assert_int_equal(h_count(l->h, l->h->pods, NULL), n);
}

/* The flake of a Job of 60 that made a 61st pod: a decision listed the
 * pods before the cache showed the last ones it had created, the cache
 * caught up, and the expectations, asked next, found every pod seen and let
 * the stale count create them again. Asked first, they hold the creates
 * back or the list shows the pods. */
static void job_counts_the_pods_its_expectations_saw(void **state)
{
    (void)state;
    struct lagging_world l = {0};
    lagging_world_init(&l, "jobs");
    decides_again_as_the_cache_catches_up(
        &l, "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j','namespace':'" NS
            "'},'spec':{'completions':2,'parallelism':2,'template':{'spec':{"
            "'restartPolicy':'Never','containers':[{'name':'c','image':'i'}]}}}}",
        NS "/j", 2);
    lagging_world_fini(&l);
}

/* The same window in a ReplicaSet. */
static void replicaset_counts_the_pods_its_expectations_saw(void **state)
{
    (void)state;
    struct lagging_world l = {0};
    lagging_world_init(&l, "replicasets");
    decides_again_as_the_cache_catches_up(
        &l, "{'apiVersion':'apps/v1','kind':'ReplicaSet','metadata':{'name':'rs','namespace':'"
            NS "'},'spec':{'replicas':3,'selector':{'matchLabels':{'app':'a'}},'template':{"
            "'metadata':{'labels':{'app':'a'}},'spec':{'containers':[{'name':'c',"
            "'image':'i'}]}}}}",
        NS "/rs", 3);
    lagging_world_fini(&l);
}

/* The Job "j" (completions and parallelism as given) in the store. */
static void create_job(struct lagging_world *l, int completions, int parallelism)
{
    h_create(l->h, l->owner_res,
             "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j','namespace':'" NS
             "'},'spec':{'completions':%d,'parallelism':%d,'template':{'spec':{"
             "'restartPolicy':'Never','containers':[{'name':'c','image':'i'}]}}}}",
             completions, parallelism);
}

/* The Job's i-th pod in the store's list order (the caller's reference). */
static json_t *job_pod(struct lagging_world *l, size_t i)
{
    json_t *pods = h_list(l->h, l->h->pods, "job-name=j");
    json_t *pod = json_incref(json_array_get(pods, i));
    json_decref(pods);
    assert_non_null(pod);
    return pod;
}

static void set_phase(struct lagging_world *l, const json_t *pod, const char *phase)
{
    struct err e = {0};
    json_t *patch = json_pack("{s:{s:s}}", "status", "phase", phase);
    struct store_write_opts status = {.subresource = STORE_STATUS};
    h_ok(store_patch(l->h->st, l->h->pods, NS, meta_name(pod), STORE_PATCH_MERGE, patch,
                     &status, NULL, &e),
         &e, "phase");
    json_decref(patch);
}

/* The controller decides once for the Job, with its caches up to date. */
static void decide_job(struct lagging_world *l)
{
    step_all(l->owners);
    step_all(l->pods);
    loop_enqueue(l->loop, NS "/j");
    loop_run_ready(l->loop, 0);
}

static bool holds_tracking(struct lagging_world *l, const char *name)
{
    json_t *pod = h_get(l->h, l->h->pods, NS, name);
    bool yes = pod && meta_has_finalizer(pod, "batch.kubernetes.io/job-tracking");
    json_decref(pod);
    return yes;
}

/* Kubernetes' job tracking: an ended pod's uid is written into
 * status.uncountedTerminatedPods before its finalizer goes, and moves into
 * the counts after, so neither a lost finalizer write nor a controller
 * restart between the steps counts a pod twice or loses it (the Job once
 * counted the pods that existed: a deleted one was lost). */
static void job_counts_each_ended_pod_once_across_lost_writes_and_restarts(void **state)
{
    (void)state;
    struct lagging_world l = {0};
    lagging_world_init(&l, "jobs");
    create_job(&l, 3, 2);
    decide_job(&l);
    json_t *a = job_pod(&l, 0), *b = job_pod(&l, 1);
    char a_name[OBJSTATE_NAME_MAX], a_uid[64];
    snprintf(a_name, sizeof a_name, "%s", meta_name(a));
    snprintf(a_uid, sizeof a_uid, "%s", meta_uid(a));
    assert_true(holds_tracking(&l, a_name));

    /* A succeeds; the finalizer's removal is lost (the pod changed under
     * the cache: a conflict), after the uid was recorded. */
    set_phase(&l, a, "Succeeded");
    step_all(l.pods);
    struct err e = {0};
    json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", "touched", "yes");
    h_ok(store_patch(l.h->st, l.h->pods, NS, a_name, STORE_PATCH_MERGE, patch, NULL, NULL, &e),
         &e, "touch");
    json_decref(patch);
    step_all(l.owners);
    loop_enqueue(l.loop, NS "/j");
    loop_run_ready(l.loop, 0);
    assert_string_equal(h_field(l.h, l.h->jobs, "j", "status.uncountedTerminatedPods.succeeded.0"),
                        a_uid);
    assert_string_equal(h_field(l.h, l.h->jobs, "j", "status.succeeded"), "0");
    assert_true(holds_tracking(&l, a_name));

    /* A restart: the new controller removes the finalizer, records nothing
     * twice, and A, deleted meanwhile, is counted once. */
    lagging_world_stop(&l);
    lagging_world_start(&l, true);
    decide_job(&l);
    assert_false(holds_tracking(&l, a_name));
    assert_string_equal(h_field(l.h, l.h->jobs, "j", "status.succeeded"), "0");
    h_ok(store_delete(l.h->st, l.h->pods, NS, a_name, NULL, NULL, &e), &e, "delete A");
    lagging_world_stop(&l);
    lagging_world_start(&l, true);
    for (int i = 0; i < 3; i++)
        decide_job(&l);
    assert_string_equal(h_field(l.h, l.h->jobs, "j", "status.succeeded"), "1");
    assert_string_equal(h_field(l.h, l.h->jobs, "j", "status.uncountedTerminatedPods.succeeded"),
                        "");

    /* B fails: one failure, its finalizer released, A still counted once. */
    set_phase(&l, b, "Failed");
    for (int i = 0; i < 3; i++)
        decide_job(&l);
    assert_string_equal(h_field(l.h, l.h->jobs, "j", "status.failed"), "1");
    assert_false(holds_tracking(&l, meta_name(b)));
    assert_string_equal(h_field(l.h, l.h->jobs, "j", "status.succeeded"), "1");
    json_decref(a);
    json_decref(b);
    lagging_world_fini(&l);
}

/* A deleted Job lets go of its pods: nothing else would remove the
 * finalizer, and they would stay in the store for good. */
static void deleted_job_releases_its_pods(void **state)
{
    (void)state;
    struct lagging_world l = {0};
    lagging_world_init(&l, "jobs");
    create_job(&l, 1, 1);
    decide_job(&l);
    json_t *a = job_pod(&l, 0);
    struct err e = {0};
    h_ok(store_delete(l.h->st, l.h->jobs, NS, "j", NULL, NULL, &e), &e, "delete job");
    h_ok(store_delete(l.h->st, l.h->pods, NS, meta_name(a), NULL, NULL, &e), &e, "delete pod");
    assert_true(holds_tracking(&l, meta_name(a)));
    decide_job(&l);
    assert_null(h_get(l.h, l.h->pods, NS, meta_name(a)));
    json_decref(a);
    lagging_world_fini(&l);
}

/* A deleted Job lets go only of its own pods: a pod whose controller is a
 * Job of another API group, of the same name, keeps its finalizer. */
static void deleted_job_leaves_another_groups_pods(void **state)
{
    (void)state;
    struct lagging_world l = {0};
    lagging_world_init(&l, "jobs");
    h_create(l.h, l.h->pods,
             "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'other','namespace':'" NS
             "','finalizers':['batch.kubernetes.io/job-tracking'],'ownerReferences':[{"
             "'apiVersion':'example.com/v1','kind':'Job','name':'j','uid':'u-other',"
             "'controller':true}]},'spec':{'containers':[{'name':'c','image':'i'}]}}");
    decide_job(&l); /* no Job j: it is gone */
    assert_true(holds_tracking(&l, "other"));
    lagging_world_fini(&l);
}

/* A pod's change wakes the Job controller only for a batch Job: a pod of
 * another group's kind Job of the same name is not its to look at (it
 * was matched by kind alone). */
static void a_pod_wakes_only_its_own_groups_job(void **state)
{
    (void)state;
    struct lagging_world l = {0};
    lagging_world_init(&l, "jobs");
    while (loop_run_ready(l.loop, 100) > 0) {
    }
    size_t before = loop_queue_depth(l.loop);
    json_t *other = json_text("{'metadata':{'name':'p','namespace':'" NS "','ownerReferences':[{"
                              "'apiVersion':'example.com/v1','kind':'Job','name':'j','uid':'u',"
                              "'controller':true}]}}");
    job_pod_changed(l.job, INFORMER_ADDED, NULL, other);
    assert_int_equal(loop_queue_depth(l.loop), before);
    json_t *mine = json_text("{'metadata':{'name':'p','namespace':'" NS "','ownerReferences':[{"
                             "'apiVersion':'batch/v1','kind':'Job','name':'j','uid':'u',"
                             "'controller':true}]}}");
    job_pod_changed(l.job, INFORMER_ADDED, NULL, mine);
    assert_int_equal(loop_queue_depth(l.loop), before + 1);
    json_decref(other);
    json_decref(mine);
    lagging_world_fini(&l);
}

static void owner_refs_name_a_kind_of_a_group(void **state)
{
    (void)state;
    json_t *ref = json_text("{'apiVersion':'apps/v1','kind':'ReplicaSet','name':'web'}");
    assert_true(workloads_ref_is(ref, "apps", "ReplicaSet", "web"));
    assert_true(workloads_ref_is(ref, "apps", "ReplicaSet", NULL));
    assert_false(workloads_ref_is(ref, "apps", "ReplicaSet", "db"));
    assert_false(workloads_ref_is(ref, "app", "ReplicaSet", NULL));
    assert_false(workloads_ref_is(ref, "apps", "StatefulSet", NULL));
    assert_false(workloads_ref_is(NULL, "apps", "ReplicaSet", NULL));
    json_decref(ref);
}

/* A decision taken on a Job cache behind the Job's last status write must
 * not create pods: the pod cache already shows the finalizer of a pod that
 * write recorded as succeeded gone, and the stale status does not list it,
 * so the pod counts nowhere and the Job would run one more (the kill
 * harness saw 5 pods succeed for 4 completions). */
static void job_waits_for_its_status_write_before_creating(void **state)
{
    (void)state;
    struct lagging_world l = {0};
    lagging_world_init(&l, "jobs");
    create_job(&l, 2, 2);
    decide_job(&l);
    json_t *a = job_pod(&l, 0);
    set_phase(&l, a, "Succeeded");
    decide_job(&l); /* records a and lets its finalizer go; one more to run, running */
    assert_false(holds_tracking(&l, meta_name(a)));
    assert_int_equal(h_count(l.h, l.h->pods, "job-name=j"), 2);
    step_all(l.pods); /* the pods' cache catches up, the Job's does not */
    loop_enqueue(l.loop, NS "/j");
    loop_run_ready(l.loop, 0);
    assert_int_equal(h_count(l.h, l.h->pods, "job-name=j"), 2);
    decide_job(&l);
    assert_int_equal(h_count(l.h, l.h->pods, "job-name=j"), 2);
    assert_string_equal(h_field(l.h, l.h->jobs, "j", "status.succeeded"), "1");
    json_decref(a);
    lagging_world_fini(&l);
}

/* Merges patch (JSON text with ' for ") into the Job's spec or metadata. */
static void patch_job(struct lagging_world *l, const char *patch)
{
    struct err e = {0};
    json_t *p = json_text("%s", patch);
    h_ok(store_patch(l->h->st, l->h->jobs, NS, "j", STORE_PATCH_MERGE, p, NULL, NULL, &e), &e,
         "patch job");
    json_decref(p);
}

/* The kubelet's part for the Job's pods not being deleted: bound, and
 * Running, so that a delete gives them a grace period. */
static void run_job_pods(struct lagging_world *l)
{
    json_t *pods = h_list(l->h, l->h->pods, "job-name=j");
    size_t i;
    const json_t *pod;
    json_array_foreach(pods, i, pod) {
        struct err e = {0};
        if (objstate_deleting(pod) || objstate_terminal(pod) ||
            strcmp(objstate_phase(pod), "Running") == 0)
            continue;
        h_ok(store_bind(l->h->st, NS, meta_name(pod), "n1", &e), &e, "bind");
        set_phase(l, pod, "Running");
    }
    json_decref(pods);
}

/* The kubelet stops what is being deleted: its phase Failed, as a
 * container killed by its grace period's signal leaves it. */
static void fail_deleted_job_pods(struct lagging_world *l)
{
    json_t *pods = h_list(l->h, l->h->pods, "job-name=j");
    size_t i;
    const json_t *pod;
    json_array_foreach(pods, i, pod) {
        if (objstate_deleting(pod) && strcmp(objstate_phase(pod), "Running") == 0)
            set_phase(l, pod, "Failed");
    }
    json_decref(pods);
}

/* A pod the Job deletes as it is suspended counts nowhere, even when the
 * kubelet gives it phase Failed before a decision sees the Job suspended,
 * or once it runs again: its finalizer goes with the delete. It counted as
 * a failure, and three suspensions failed a Job of backoffLimit 1. */
static void job_does_not_count_the_pods_it_suspends(void **state)
{
    (void)state;
    struct lagging_world l = {0};
    lagging_world_init(&l, "jobs");
    create_job(&l, 1, 1);
    patch_job(&l, "{'spec':{'backoffLimit':1}}");
    for (int round = 0; round < 3; round++) {
        decide_job(&l); /* runs a pod */
        run_job_pods(&l);
        decide_job(&l);
        patch_job(&l, "{'spec':{'suspend':true}}");
        decide_job(&l); /* deletes it */
        fail_deleted_job_pods(&l);
        if (round == 1)
            decide_job(&l); /* the Failed pod seen while suspended */
        patch_job(&l, "{'spec':{'suspend':false}}");
    }
    decide_job(&l);
    assert_string_equal(h_condition(l.h, l.h->jobs, "j", "Failed"), "");
    assert_string_equal(h_field(l.h, l.h->jobs, "j", "status.failed"), "0");
    assert_string_equal(h_field(l.h, l.h->jobs, "j", "status.uncountedTerminatedPods.failed"),
                        "");
    assert_int_equal(h_count(l.h, l.h->pods, "job-name=j"), 4); /* 3 stopping, 1 running */
    lagging_world_fini(&l);
}

/* The same for a pod still running when the Job completes (its
 * completions lowered under it). */
static void job_does_not_count_the_pods_it_stops_on_completion(void **state)
{
    (void)state;
    struct lagging_world l = {0};
    lagging_world_init(&l, "jobs");
    create_job(&l, 2, 2);
    decide_job(&l);
    run_job_pods(&l);
    json_t *a = job_pod(&l, 0);
    set_phase(&l, a, "Succeeded");
    patch_job(&l, "{'spec':{'completions':1}}");
    decide_job(&l); /* complete: deletes the other */
    fail_deleted_job_pods(&l);
    for (int i = 0; i < 3; i++)
        decide_job(&l);
    assert_string_equal(h_condition(l.h, l.h->jobs, "j", "Complete"),
                        "True/CompletionsReached/Reached expected number of succeeded pods");
    assert_string_equal(h_field(l.h, l.h->jobs, "j", "status.succeeded"), "1");
    assert_string_equal(h_field(l.h, l.h->jobs, "j", "status.failed"), "0");
    json_decref(a);
    lagging_world_fini(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(environment_in_the_kubelet_order),
        cmocka_unit_test(runtime_status_edits),
        cmocka_unit_test(an_idle_pod_is_one_an_advance_leaves_alone),
        cmocka_unit_test(pods_from_templates),
        cmocka_unit_test(expectations_wait_for_the_cache_or_time_out),
        cmocka_unit_test(owners_decide_on_the_objects_their_keys_name),
        cmocka_unit_test(job_counts_the_pods_its_expectations_saw),
        cmocka_unit_test(replicaset_counts_the_pods_its_expectations_saw),
        cmocka_unit_test(job_counts_each_ended_pod_once_across_lost_writes_and_restarts),
        cmocka_unit_test(deleted_job_releases_its_pods),
        cmocka_unit_test(deleted_job_leaves_another_groups_pods),
        cmocka_unit_test(a_pod_wakes_only_its_own_groups_job),
        cmocka_unit_test(owner_refs_name_a_kind_of_a_group),
        cmocka_unit_test(job_waits_for_its_status_write_before_creating),
        cmocka_unit_test(job_does_not_count_the_pods_it_suspends),
        cmocka_unit_test(job_does_not_count_the_pods_it_stops_on_completion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
