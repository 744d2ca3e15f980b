/*
 * End to end on the embedded cluster, through HTTP: the API server, the
 * cluster's parts, the agents over emulated GPUs and the controller, all
 * running in real time on threads. Pods are made in the shape the webhook
 * gives them (gate, slice annotation, envFrom), so these tests exercise the
 * lifecycle whatever put the gate there. Waits are bounded polls on
 * outcomes; nothing here asserts a timing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "api/gpuslice.h"
#include "api/meta.h"
#include "api/pod_slices.h"
#include "api/pod_upgrade.h"
#include "cluster/kubelet_mps.h"
#include "core/catalog.h"
#include "device/emulated.h"
#include "sim/builtin.h"
#include "sim/embedded.h"

#define WAIT_MS 30000

struct e2e {
    struct embedded *emb;
    struct store *st; /* the client, over HTTP */
    const struct api_resource *pods, *slices, *jobs, *deployments, *events, *namespaces;
};

static const struct api_resource *res(struct e2e *t, const char *group, const char *version,
                                      const char *plural)
{
    const struct api_resource *r = api_registry_find(store_registry(t->st), group, version,
                                                     plural);
    assert_non_null(r);
    return r;
}

/* What pod's containers were started with, as its kubelet resolved it (the
 * JSON text, the caller's), or NULL before it started. */
static char *observed_env(struct e2e *t, const json_t *pod)
{
    json_t *env = NULL;
    if (embedded_observed_env(t->emb, pod, &env, NULL) < 0)
        return NULL;
    char *text = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    return text;
}

static int start_with(void **state, const struct embedded_config *given)
{
    struct e2e *t = calloc(1, sizeof *t);
    struct embedded_config cfg = *given;
    if (!cfg.device_spec)
        cfg.device_spec = "latency=none"; /* the built-in CRDs */
    struct err e = {0};
    if (embedded_start(&cfg, &t->emb, &e) < 0)
        fail_msg("embedded: %s", e.msg);
    t->st = embedded_client(t->emb);
    t->pods = res(t, "", "v1", "pods");
    t->slices = res(t, GPUSLICE_API_GROUP, "v1alpha1", "gpuslices");
    t->jobs = res(t, "batch", "v1", "jobs");
    t->deployments = res(t, "apps", "v1", "deployments");
    t->events = res(t, "", "v1", "events");
    t->namespaces = res(t, "", "v1", "namespaces");
    json_t *ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                           "metadata", "name", "e2e");
    assert_int_equal(store_create(t->st, t->namespaces, NULL, ns, &(struct store_write_opts){0},
                                  NULL, &e), 0);
    json_decref(ns);
    *state = t;
    return 0;
}

static int start(void **state, const char *models, size_t nodes, size_t gpus)
{
    struct embedded_config cfg = {.nodes = nodes, .gpus_per_node = gpus, .n_models = 1};
    cfg.models[0] = models;
    return start_with(state, &cfg);
}

static int setup_h100x2(void **state)
{
    return start(state, "H100-80GB", 1, 2);
}

/* The MIG-Adapter cluster: one node, one GPU in mode mig-static with the
 * MIG manager's all-balanced layout: on an A100-40GB 2g.10gb at 0, 1g.5gb
 * at 2 and 3, 3g.20gb at 4; on an H100-80GB the same geometry as 2g.20gb,
 * 1g.10gb, 1g.10gb, 3g.40gb. */
static struct placement_node static_nodes[] = {{"node-a", NULL, 0}};
static struct placement_gpu static_gpus[1];
static size_t static_pos[1];
static struct clusterfile static_layout;

static int setup_static(void **state, const char *model)
{
    bool h100 = strcmp(model, "H100-80GB") == 0;
    const struct {
        const char *profile;
        unsigned start;
    } layout[] = {{h100 ? "2g.20gb" : "2g.10gb", 0}, {h100 ? "1g.10gb" : "1g.5gb", 2},
                  {h100 ? "1g.10gb" : "1g.5gb", 3}, {h100 ? "3g.40gb" : "3g.20gb", 4}};
    const struct gpu_model *m = catalog_find_model(model);
    static_gpus[0] = (struct placement_gpu){.allowed = PLACEMENT_ALL_PROFILES, .fixed = true};
    occupancy_init(&static_gpus[0].occ, m);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(occupancy_take(&static_gpus[0].occ,
                                        catalog_find_profile(m, layout[i].profile),
                                        layout[i].start, 0, NULL), 0);
    static_layout = (struct clusterfile){.gpu_pos = static_pos};
    assert_int_equal(placement_cluster_init(&static_layout.cluster, static_nodes, 1,
                                            static_gpus, 1, NULL), 0);
    struct embedded_config cfg = {.layout = &static_layout, .controllers = 2};
    int rc = start_with(state, &cfg);
    placement_cluster_free(&static_layout.cluster); /* read by embedded_start only */
    return rc;
}

static int setup_mig_static(void **state)
{
    return setup_static(state, "A100-40GB");
}

static int setup_mig_static_h100(void **state)
{
    return setup_static(state, "H100-80GB");
}

static int teardown(void **state)
{
    struct e2e *t = *state;
    embedded_stop(t->emb);
    free(t);
    return 0;
}

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000}, NULL);
}

/* A pod template or pod spec as the webhook leaves it: the requests moved to
 * the annotation, the gate, envFrom for every container that asked. */
static json_t *gated_template(const char *run_seconds, const char *const *profiles, size_t n,
                              const char *prefix)
{
    struct pod_slices ps = {0};
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < ps.n && strcmp(ps.items[k].profile, profiles[i]) != 0)
            k++;
        if (k == ps.n) {
            snprintf(ps.items[k].container, sizeof ps.items[k].container, "main");
            snprintf(ps.items[k].profile, sizeof ps.items[k].profile, "%s", profiles[i]);
            ps.n++;
        }
        ps.items[k].count++;
    }
    json_t *enc = pod_slices_encode(&ps);
    char *text = json_dumps(enc, JSON_COMPACT);
    json_decref(enc);
    json_t *annotations = json_pack("{s:s, s:s}", GPUSLICE_ANNOTATION_SLICES, text,
                                    "gpuslice.dev/run-seconds", run_seconds);
    free(text);
    /* the webhook's accounting, which the controller checks the annotation against */
    unsigned gib = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned one = 0;
        assert_int_equal(catalog_name_gib(profiles[i], &one), 0);
        gib += one;
    }
    char quantity[16];
    snprintf(quantity, sizeof quantity, "%u", gib);
    json_t *container = json_pack("{s:s, s:s, s:{s:{s:s}, s:{s:s}}}", "name", "main", "image",
                                  "cuda", "resources", "requests", GPUSLICE_RESOURCE_MEMORY,
                                  quantity, "limits", GPUSLICE_RESOURCE_MEMORY, quantity);
    if (prefix) {
        char cm[254];
        snprintf(cm, sizeof cm, "%s-main", prefix);
        json_object_set_new(container, "envFrom",
                            json_pack("[{s:{s:s}}]", "configMapRef", "name", cm));
        json_object_set_new(annotations, GPUSLICE_ANNOTATION_CONFIG, json_string(prefix));
    }
    return json_pack("{s:{s:o, s:{s:s}}, s:{s:s, s:[{s:s}], s:[o]}}", "metadata",
                     "annotations", annotations, "labels", GPUSLICE_LABEL_MANAGED, "true",
                     "spec", "restartPolicy", "Never", "schedulingGates", "name", GPUSLICE_GATE,
                     "containers", container);
}

static void create_pod(struct e2e *t, const char *name, const char *run_seconds,
                       const char *const *profiles, size_t n)
{
    json_t *pod = gated_template(run_seconds, profiles, n, name);
    json_object_set_new(pod, "apiVersion", json_string("v1"));
    json_object_set_new(pod, "kind", json_string("Pod"));
    json_object_set_new(json_object_get(pod, "metadata"), "name", json_string(name));
    struct err e = {0};
    if (store_create(t->st, t->pods, "e2e", pod, &(struct store_write_opts){0}, NULL, &e) < 0)
        fail_msg("create pod %s: %s", name, e.msg);
    json_decref(pod);
}

static const char *pod_phase(struct e2e *t, const char *name, char *buf, size_t size)
{
    json_t *pod = NULL;
    buf[0] = '\0';
    if (store_get(t->st, t->pods, "e2e", name, &pod, NULL) == 0)
        snprintf(buf, size, "%s",
                 json_string_value(json_object_get(json_object_get(pod, "status"), "phase"))
                     ? json_string_value(json_object_get(json_object_get(pod, "status"), "phase")) : "Pending");
    json_decref(pod);
    return buf;
}

static bool wait_phase(struct e2e *t, const char *name, const char *phase)
{
    char buf[32];
    for (int waited = 0; waited < WAIT_MS; waited += 50) {
        if (strcmp(pod_phase(t, name, buf, sizeof buf), phase) == 0)
            return true;
        sleep_ms(50);
    }
    return false;
}

static size_t count_in(struct e2e *t, const struct api_resource *r, const char *ns)
{
    json_t *list = NULL;
    assert_int_equal(store_list(t->st, r, ns, &(struct store_list_opts){0}, &list, NULL), 0);
    size_t n = json_array_size(json_object_get(list, "items"));
    json_decref(list);
    return n;
}

static size_t count(struct e2e *t, const struct api_resource *r)
{
    return count_in(t, r, "e2e");
}

/* Every slice of ns gone and the GPUs agree with the API. */
static void wait_drained_in(struct e2e *t, const char *ns)
{
    for (int waited = 0; waited < WAIT_MS && count_in(t, t->slices, ns) > 0; waited += 50)
        sleep_ms(50);
    assert_int_equal(count_in(t, t->slices, ns), 0);
    unsigned leaked = 0, missing = 0;
    struct err e = {0};
    for (int waited = 0; waited < 5000; waited += 50) {
        if (embedded_check_slices(t->emb, &leaked, &missing, &e) == 0)
            return;
        sleep_ms(50);
    }
    fail_msg("slices on GPUs and GPUSlices disagree: %s", e.msg);
}

static void wait_drained(struct e2e *t)
{
    wait_drained_in(t, "e2e");
}

static void a_single_pod_runs_on_its_slice_and_gives_it_back(void **state)
{
    struct e2e *t = *state;
    const char *const want[] = {"1g.10gb"};
    create_pod(t, "solo", "1", want, 1);
    assert_true(wait_phase(t, "solo", "Running"));
    /* The container saw its MIG device through the ConfigMap. */
    json_t *pod = NULL;
    assert_int_equal(store_get(t->st, t->pods, "e2e", "solo", &pod, NULL), 0);
    json_t *vars = NULL;
    assert_int_equal(embedded_observed_env(t->emb, pod, &vars, NULL), 0);
    const char *dev = json_string_value(json_object_get(json_object_get(vars, "main"),
                                                        "NVIDIA_VISIBLE_DEVICES"));
    assert_non_null(dev);
    assert_memory_equal(dev, "MIG-", 4);
    json_decref(vars);
    json_decref(pod);
    assert_true(wait_phase(t, "solo", "Succeeded"));
    wait_drained(t);
}

static void several_slices_and_a_pod_that_must_wait(void **state)
{
    struct e2e *t = *state;
    const char *const two[] = {"3g.40gb", "3g.40gb"};
    const char *const whole[] = {"7g.80gb"};
    create_pod(t, "pair", "1", two, 2);     /* one H100: both 3g.40gb */
    create_pod(t, "big", "1", whole, 1);    /* the other H100 */
    create_pod(t, "later", "1", whole, 1);  /* no room until one ends */
    assert_true(wait_phase(t, "pair", "Running"));
    assert_true(wait_phase(t, "later", "Succeeded"));
    assert_true(wait_phase(t, "big", "Succeeded"));
    assert_true(wait_phase(t, "pair", "Succeeded"));
    wait_drained(t);
}

static void a_job_of_fifty_pods_on_two_gpus(void **state)
{
    struct e2e *t = *state;
    const char *const want[] = {"1g.10gb"};
    json_t *tmpl = gated_template("0.2", want, 1, NULL);
    json_t *job = json_pack("{s:s, s:s, s:{s:s}, s:{s:i, s:i, s:i, s:o}}", "apiVersion",
                            "batch/v1", "kind", "Job", "metadata", "name", "batch", "spec",
                            "completions", 50, "parallelism", 20, "backoffLimit", 0,
                            "template", tmpl);
    struct err e = {0};
    if (store_create(t->st, t->jobs, "e2e", job, &(struct store_write_opts){0}, NULL, &e) < 0)
        fail_msg("create job: %s", e.msg);
    json_decref(job);
    json_int_t succeeded = 0;
    for (int waited = 0; waited < 60000 && succeeded < 50; waited += 100) {
        json_t *got = NULL;
        if (store_get(t->st, t->jobs, "e2e", "batch", &got, NULL) == 0)
            succeeded = json_integer_value(json_object_get(json_object_get(got, "status"),
                                                           "succeeded"));
        json_decref(got);
        sleep_ms(100);
    }
    assert_int_equal(succeeded, 50);
    wait_drained(t);
}

/* A namespace opted in to gpuslice: its pods go through the webhook. */
static void opted_in_namespace(struct e2e *t, const char *name)
{
    json_t *ns = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "apiVersion", "v1", "kind",
                           "Namespace", "metadata", "name", name, "labels",
                           GPUSLICE_NAMESPACE_OPT_IN, "true");
    struct err e = {0};
    if (store_create(t->st, t->namespaces, NULL, ns, &(struct store_write_opts){0}, NULL, &e) < 0)
        fail_msg("namespace: %s", e.msg);
    json_decref(ns);
}

static void a_plain_pod_goes_through_the_webhook_over_tls(void **state)
{
    struct e2e *t = *state;
    opted_in_namespace(t, "users");
    /* What a user writes: no gate, no annotation, the usual resource. */
    json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:s, s:[{s:s, s:s, s:{s:{s:i}}}]}}",
                            "apiVersion", "v1", "kind", "Pod", "metadata", "name", "plain",
                            "annotations", "gpuslice.dev/run-seconds", "1", "spec",
                            "restartPolicy", "Never", "containers", "name", "main", "image",
                            "cuda", "resources", "limits", "nvidia.com/mig-1g.10gb", 1);
    json_t *made = NULL;
    struct err e = {0};
    if (store_create(t->st, t->pods, "users", pod, &(struct store_write_opts){0}, &made, &e) < 0)
        fail_msg("create: %s", e.msg);
    /* Admission gated it and moved the request to gpuslice's resources. */
    assert_true(pod_gated(made, GPUSLICE_GATE));
    assert_non_null(meta_annotation(made, GPUSLICE_ANNOTATION_SLICES));
    const json_t *limits = json_object_get(json_object_get(json_array_get(json_object_get(
                               json_object_get(made, "spec"), "containers"), 0), "resources"),
                                           "limits");
    assert_null(json_object_get(limits, "nvidia.com/mig-1g.10gb"));
    assert_non_null(json_object_get(limits, GPUSLICE_RESOURCE_MEMORY));
    json_decref(made);
    json_decref(pod);
    char phase[32];
    for (int waited = 0; waited < WAIT_MS; waited += 50) {
        json_t *p = NULL;
        phase[0] = '\0';
        if (store_get(t->st, t->pods, "users", "plain", &p, NULL) == 0) {
            const char *ph = json_string_value(json_object_get(json_object_get(p, "status"),
                                                               "phase"));
            snprintf(phase, sizeof phase, "%s", ph ? ph : "");
            char *env = observed_env(t, p);
            bool ran = env && strstr(env, "NVIDIA_VISIBLE_DEVICES") && strstr(env, "MIG-") &&
                       strcmp(phase, "Succeeded") == 0;
            free(env);
            if (ran) {
                json_decref(p);
                break;
            }
        }
        json_decref(p);
        sleep_ms(50);
    }
    assert_string_equal(phase, "Succeeded");
    wait_drained(t);
}

/* The pods of ns in phase and not being deleted; *all (may be NULL) gets
 * how many pods ns has. */
static size_t pods_in_phase(struct e2e *t, const char *ns, const char *phase, size_t *all)
{
    json_t *list = NULL;
    assert_int_equal(store_list(t->st, t->pods, ns, &(struct store_list_opts){0}, &list, NULL),
                     0);
    size_t n = 0, i;
    json_t *p;
    if (all)
        *all = json_array_size(json_object_get(list, "items"));
    json_array_foreach(json_object_get(list, "items"), i, p) {
        const char *ph = json_string_value(json_object_get(json_object_get(p, "status"), "phase"));
        n += ph && strcmp(ph, phase) == 0 &&
             !json_object_get(json_object_get(p, "metadata"), "deletionTimestamp");
    }
    json_decref(list);
    return n;
}

static size_t running_pods(struct e2e *t)
{
    return pods_in_phase(t, "e2e", "Running", NULL);
}

static bool wait_running(struct e2e *t, size_t want)
{
    for (int waited = 0; waited < WAIT_MS; waited += 50) {
        if (running_pods(t) == want)
            return true;
        sleep_ms(50);
    }
    return false;
}

static void scale_named(struct e2e *t, const char *name, int replicas)
{
    json_t *patch = json_pack("{s:{s:i}}", "spec", "replicas", replicas);
    struct err e = {0};
    if (store_patch(t->st, t->deployments, "e2e", name, STORE_PATCH_MERGE, patch,
                    &(struct store_write_opts){0}, NULL, &e) < 0)
        fail_msg("scale: %s", e.msg);
    json_decref(patch);
}

static void scale_deployment(struct e2e *t, int replicas)
{
    scale_named(t, "serve", replicas);
}

/* Deployment name of replicas pods asking for one slice of profile, their
 * template annotated gpuslice.dev/upgrade-after: upgrade_after unless
 * NULL. */
static void create_deployment_as(struct e2e *t, const char *name, const char *profile,
                                 int replicas, const char *upgrade_after)
{
    const char *const want[] = {profile};
    json_t *tmpl = gated_template("0", want, 1, NULL);
    json_object_set_new(json_object_get(tmpl, "spec"), "restartPolicy", json_string("Always"));
    json_object_set_new(json_object_get(tmpl, "spec"), "terminationGracePeriodSeconds",
                        json_integer(0));
    json_object_set_new(json_object_get(json_object_get(tmpl, "metadata"), "labels"), "app",
                        json_string(name));
    json_t *annotations = json_object_get(json_object_get(tmpl, "metadata"), "annotations");
    json_object_del(annotations, "gpuslice.dev/run-seconds");
    if (upgrade_after)
        json_object_set_new(annotations, GPUSLICE_ANNOTATION_UPGRADE_AFTER,
                            json_string(upgrade_after));
    json_t *dep = json_pack("{s:s, s:s, s:{s:s}, s:{s:i, s:{s:{s:s}}, s:o}}", "apiVersion",
                            "apps/v1", "kind", "Deployment", "metadata", "name", name, "spec",
                            "replicas", replicas, "selector", "matchLabels", "app", name,
                            "template", tmpl);
    struct err e = {0};
    if (store_create(t->st, t->deployments, "e2e", dep, &(struct store_write_opts){0}, NULL,
                     &e) < 0)
        fail_msg("create deployment: %s", e.msg);
    json_decref(dep);
}

/* Deployment "serve" of replicas pods asking for one slice of profile. */
static void create_deployment(struct e2e *t, const char *profile, int replicas)
{
    create_deployment_as(t, "serve", profile, replicas, NULL);
}

static void a_deployment_scales_up_and_down(void **state)
{
    struct e2e *t = *state;
    create_deployment(t, "3g.40gb", 1);
    assert_true(wait_running(t, 1));
    scale_deployment(t, 4); /* 2 H100s hold four 3g.40gb */
    assert_true(wait_running(t, 4));
    assert_int_equal(count(t, t->slices), 4);
    scale_deployment(t, 1);
    assert_true(wait_running(t, 1));
    for (int waited = 0; waited < WAIT_MS && count(t, t->slices) != 1; waited += 50)
        sleep_ms(50);
    assert_int_equal(count(t, t->slices), 1);
    scale_deployment(t, 0);
    wait_drained(t);
}

/* Whether an Event in ns with this reason, about pod (NULL: anything),
 * says want. */
static bool event_in(struct e2e *t, const char *ns, const char *pod, const char *reason,
                     const char *want)
{
    json_t *list = NULL;
    bool said = false;
    assert_int_equal(store_list(t->st, t->events, ns, &(struct store_list_opts){0}, &list,
                                NULL), 0);
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(list, "items"), i, ev) {
        const char *r = json_string_value(json_object_get(ev, "reason"));
        const char *m = json_string_value(json_object_get(ev, "message"));
        const char *about = json_string_value(
            json_object_get(json_object_get(ev, "involvedObject"), "name"));
        said |= r && m && strcmp(r, reason) == 0 && strstr(m, want) &&
                (!pod || (about && strcmp(about, pod) == 0));
    }
    json_decref(list);
    return said;
}

static bool event_says(struct e2e *t, const char *reason, const char *want)
{
    return event_in(t, "e2e", NULL, reason, want);
}

static bool wait_event(struct e2e *t, const char *reason, const char *want)
{
    for (int waited = 0; waited < WAIT_MS; waited += 50) {
        if (event_says(t, reason, want))
            return true;
        sleep_ms(50);
    }
    return false;
}

/* The GPU never saw a create or a destroy, and still has its 4 slices. */
static void assert_layout_untouched(struct e2e *t)
{
    struct devstats_gpu st;
    assert_int_equal(embedded_gpu_stats(t->emb, 0, 0, &st), 0);
    assert_int_equal(st.creates, 0);
    assert_int_equal(st.destroys, 0);
    struct device_slices dev;
    assert_int_equal(device_list_slices(embedded_device(t->emb, 0), &dev, NULL, NULL), 0);
    assert_int_equal(dev.n, 4);
}

/* The MIG-Adapter scenario without upgrades: three replicas of 1g.5gb on
 * the all-balanced layout; two run on the two 1g.5gb slices, the third
 * waits and says why; the GPU never sees a create or a destroy (the
 * emulated device counts them), and every slice given back stays. */
static void a_mig_static_gpu_hands_out_its_layout(void **state)
{
    struct e2e *t = *state;
    create_deployment(t, "1g.5gb", 3);
    assert_true(wait_running(t, 2));
    assert_true(wait_event(t, "NoPlacement", "no GPU can take 1g.5gb: of 1 GPUs, 1 mig-static "
                                             "with no free 1g.5gb"));
    sleep_ms(300);
    assert_int_equal(running_pods(t), 2);
    json_t *list = NULL;
    assert_int_equal(store_list(t->st, t->slices, "e2e", &(struct store_list_opts){0}, &list,
                                NULL), 0);
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(list, "items"), i, s) {
        const json_t *spec = json_object_get(s, "spec");
        assert_true(json_is_true(json_object_get(spec, "existing")));
        assert_string_equal(json_string_value(json_object_get(spec, "profile")), "1g.5gb");
    }
    json_decref(list);
    scale_deployment(t, 0);
    wait_drained(t);
    assert_layout_untouched(t);
}

/* The live GPUSlices (not being deleted, Deleting, Deleted or Failed) of
 * this profile; in
 * *upgraded how many of them were upgraded (requestedProfile differs). */
static size_t live_slices(struct e2e *t, const char *profile, size_t *upgraded)
{
    json_t *list = NULL;
    assert_int_equal(store_list(t->st, t->slices, "e2e", &(struct store_list_opts){0}, &list,
                                NULL), 0);
    size_t n = 0, i;
    json_t *s;
    *upgraded = 0;
    json_array_foreach(json_object_get(list, "items"), i, s) {
        struct gpuslice_view v;
        assert_int_equal(gpuslice_read(s, &v, NULL), 0);
        const char *ph = v.status.phase ? v.status.phase : "";
        if (strcmp(v.spec.profile, profile) != 0 || v.deleting || !strcmp(ph, "Deleting") ||
            !strcmp(ph, "Deleted") || !strcmp(ph, "Failed"))
            continue;
        n++;
        *upgraded += v.spec.requested_profile && strcmp(v.spec.requested_profile, profile) != 0;
    }
    json_decref(list);
    return n;
}

/* Until the upgraded pod is restored: two pods run on two `small` slices
 * that were asked for as such, and no `mid` slice is held. */
static bool wait_restored(struct e2e *t, const char *small, const char *mid)
{
    for (int waited = 0; waited < WAIT_MS; waited += 50) {
        size_t up_small, up_mid;
        if (running_pods(t) == 2 && live_slices(t, small, &up_small) == 2 && up_small == 0 &&
            live_slices(t, mid, &up_mid) == 0)
            return true;
        sleep_ms(50);
    }
    return false;
}

/* The MIG-Adapter scenario with upgrades and restores on a mig-static GPU
 * with its all-balanced layout (small: its 1g profile, mid: its 2g): two
 * Deployments of one `small` replica each, opted in; the second scaled to
 * 2 runs its new pod on the `mid` slice; the first deleted, the upgraded
 * pod is restored to a `small` slice and the `mid` one is free again. The
 * GPU never sees a create or a destroy. */
static void mig_adapter_scenario(struct e2e *t, const char *small, const char *mid)
{
    create_deployment_as(t, "first", small, 1, "0s");
    assert_true(wait_running(t, 1));
    create_deployment_as(t, "second", small, 1, "0s");
    assert_true(wait_running(t, 2));
    scale_named(t, "second", 2);
    assert_true(wait_running(t, 3));
    size_t upgraded = 0;
    assert_int_equal(live_slices(t, mid, &upgraded), 1);
    assert_int_equal(upgraded, 1);
    char want[128];
    snprintf(want, sizeof want, "upgraded from %s to %s: no %s free for", small, mid, small);
    assert_true(wait_event(t, "Upgraded", want));
    struct err e = {0};
    if (store_delete(t->st, t->deployments, "e2e", "first", &(struct store_delete_opts){0},
                     NULL, &e) < 0)
        fail_msg("delete deployment: %s", e.msg);
    assert_true(wait_restored(t, small, mid));
    snprintf(want, sizeof want, "from %s to %s: a %s is free on node-a", mid, small, small);
    assert_true(wait_event(t, "Restoring", want));
    scale_named(t, "second", 0);
    wait_drained(t);
    assert_layout_untouched(t);
}

static void mig_adapter_upgrade_and_restore_on_an_a100(void **state)
{
    mig_adapter_scenario(*state, "1g.5gb", "2g.10gb");
}

static void mig_adapter_upgrade_and_restore_on_an_h100(void **state)
{
    mig_adapter_scenario(*state, "1g.10gb", "2g.20gb");
}

/* The built-in CRDs are served, and the demo's built-in manifests apply as
 * a user's would; a bad file stops the set, naming itself. */
static void the_built_in_files_load_and_apply(void **state)
{
    struct e2e *t = *state;
    const struct api_resource *crds = res(t, "apiextensions.k8s.io", "v1",
                                          "customresourcedefinitions");
    json_t *crd = NULL;
    struct err e = {0};
    assert_int_equal(store_get(t->st, crds, NULL, "gpuslices.gpuslice.dev", &crd, &e), 0);
    json_decref(crd);
    size_t created = 0;
    if (embedded_apply_files(t->emb, builtin_samples(), &created, &e) < 0)
        fail_msg("apply: %s", e.msg);
    assert_int_equal(created, 5); /* namespace, notebook, Job, Deployment, pipeline */
    json_t *pod = NULL;
    assert_int_equal(store_get(t->st, t->pods, "demo", "notebook", &pod, &e), 0);
    json_decref(pod);

    const char *ok = "{apiVersion: v1, kind: Namespace, metadata: {name: second}}";
    const struct fileset_file files[] = {{"ok.yaml", ok, strlen(ok)}, {"bad.yaml", "[", 1}};
    assert_int_equal(embedded_apply_files(t->emb, &(struct fileset){"test", 2, files}, &created,
                                          &e), -EINVAL);
    assert_int_equal(created, 1);
    assert_non_null(strstr(e.msg, "bad.yaml"));
}

/* ---- Kueue ---- */

#define KUEUE_GATE "kueue.x-k8s.io/admission"
#define KUEUE_QUEUE_LABEL "kueue.x-k8s.io/queue-name"
#define KUEUE_QUOTA_GIB 40 /* the ClusterQueue's nominalQuota in samples/kueue */
#define KUEUE_JOB_PODS 12
#define KUEUE_LOOSE_PODS 4

/* What the test, playing Kueue, saw of gpuslice's rules and its own. */
struct kueue_play {
    int admitted;            /* Kueue gates removed */
    int admitted_early;      /* of those, before gpuslice's controller said it waits */
    int admit_rounds;        /* rounds that admitted some */
    int ungated_under_kueue; /* a pod without gpuslice's gate but with Kueue's */
    int sliced_under_kueue;  /* a GPUSlice for a pod Kueue still holds */
    int over_quota;          /* admitted pods holding more than the ClusterQueue lends */
    int shared;              /* two live slices on one placement */
    int order_kueue_first, order_gpuslice_first; /* gate orders seen */
};

static bool has_gate(const json_t *pod, const char *gate)
{
    return pod_gated(pod, gate);
}

static bool terminal(const json_t *pod)
{
    const char *ph = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
    return ph && (strcmp(ph, "Succeeded") == 0 || strcmp(ph, "Failed") == 0);
}

static unsigned pod_gib(const json_t *pod)
{
    const json_t *c = json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"),
                                     0);
    const json_t *v = json_object_get(json_object_get(json_object_get(c, "resources"), "limits"),
                                      GPUSLICE_RESOURCE_MEMORY);
    return v ? (unsigned)atoi(json_string_value(v) ? json_string_value(v) : "0") : 0;
}

/* Kueue's admission of one pod: its gate, and only its, removed by an
 * update guarded by the version read. */
static bool kueue_admit(struct e2e *t, const json_t *pod)
{
    json_t *copy = json_deep_copy(pod), *gates = json_array();
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(json_object_get(copy, "spec"), "schedulingGates"), i, g)
        if (strcmp(json_string_value(json_object_get(g, "name")), KUEUE_GATE) != 0)
            json_array_append(gates, g);
    json_object_set_new(json_object_get(copy, "spec"), "schedulingGates", gates);
    int rc = store_update(t->st, t->pods, "batch", copy, &(struct store_write_opts){0}, NULL,
                          NULL);
    json_decref(copy);
    assert_true(rc == 0 || rc == -ESTALE); /* a conflict: next round */
    return rc == 0;
}

/* Checks gpuslice's rules on every pod and slice of the namespace. */
static void kueue_check(const json_t *pods, const json_t *slices, struct kueue_play *k)
{
    size_t i, j;
    const json_t *pod, *sl, *other;
    json_array_foreach(pods, i, pod) {
        if (!has_gate(pod, KUEUE_GATE))
            continue;
        k->ungated_under_kueue += !has_gate(pod, GPUSLICE_GATE);
        json_array_foreach(slices, j, sl) {
            struct gpuslice_view v;
            if (gpuslice_read(sl, &v, NULL) == 0 && strcmp(v.spec.pod_name, meta_name(pod)) == 0)
                k->sliced_under_kueue++;
        }
    }
    json_array_foreach(slices, i, sl) {
        struct gpuslice_view a, b;
        if (gpuslice_read(sl, &a, NULL) != 0 || strcmp(a.status.phase, "Deleted") == 0)
            continue;
        json_array_foreach(slices, j, other) {
            if (j <= i || gpuslice_read(other, &b, NULL) != 0 ||
                strcmp(b.status.phase, "Deleted") == 0)
                continue;
            k->shared += strcmp(a.spec.gpu_uuid, b.spec.gpu_uuid) == 0 &&
                         a.spec.start < b.spec.start + b.spec.size &&
                         b.spec.start < a.spec.start + a.spec.size;
        }
    }
}

static int by_name_desc(const void *a, const void *b)
{
    return strcmp(meta_name(*(json_t *const *)b), meta_name(*(json_t *const *)a));
}

/* One round of Kueue: admits queued pods, in its own order (names
 * descending, so neither creation order nor gpuslice's), while the
 * ClusterQueue's quota allows. Returns how many pods are still queued. */
static size_t kueue_round(struct e2e *t, struct kueue_play *k)
{
    const struct api_resource *slices_res = t->slices;
    json_t *list = NULL, *slist = NULL;
    assert_int_equal(store_list(t->st, t->pods, "batch", &(struct store_list_opts){0}, &list,
                                NULL), 0);
    assert_int_equal(store_list(t->st, slices_res, "batch", &(struct store_list_opts){0}, &slist,
                                NULL), 0);
    json_t *pods = json_object_get(list, "items");
    kueue_check(pods, json_object_get(slist, "items"), k);
    unsigned used = 0;
    size_t n = 0, i, queued = 0;
    json_t *pod, *pending[64];
    json_array_foreach(pods, i, pod) {
        if (!has_gate(pod, KUEUE_GATE) && !terminal(pod))
            used += pod_gib(pod);
        else if (has_gate(pod, KUEUE_GATE) && n < 64)
            pending[n++] = pod;
    }
    k->over_quota += used > KUEUE_QUOTA_GIB;
    qsort(pending, n, sizeof pending[0], by_name_desc);
    bool any = false;
    for (i = 0; i < n; i++) {
        unsigned gib = pod_gib(pending[i]);
        const json_t *gates = json_object_get(json_object_get(pending[i], "spec"),
                                              "schedulingGates");
        bool kueue_first = strcmp(json_string_value(json_object_get(json_array_get(gates, 0),
                                                                    "name")), KUEUE_GATE) == 0;
        if (used + gib > KUEUE_QUOTA_GIB || !kueue_admit(t, pending[i])) {
            queued++;
            continue;
        }
        used += gib;
        k->admitted++;
        k->order_kueue_first += kueue_first;
        k->order_gpuslice_first += !kueue_first;
        k->admitted_early += !event_in(t, "batch", meta_name(pending[i]), "WaitingForGates", "");
        any = true;
    }
    k->admit_rounds += any;
    json_decref(list);
    json_decref(slist);
    return queued;
}

static void create_loose_pod(struct e2e *t, const char *name)
{
    json_t *pod = json_pack(
        "{s:s, s:s, s:{s:s, s:{s:s}, s:{s:s}}, s:{s:s, s:[{s:s}, {s:s}], s:[{s:s, s:s, "
        "s:{s:{s:i}}}]}}",
        "apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "labels", KUEUE_QUEUE_LABEL,
        "batch-queue", "annotations", "gpuslice.dev/run-seconds", "0.3", "spec",
        "restartPolicy", "Never", "schedulingGates", "name", GPUSLICE_GATE, "name", KUEUE_GATE,
        "containers", "name", "main", "image", "cuda", "resources", "limits",
        "nvidia.com/mig-1g.10gb", 1);
    struct err e = {0};
    if (store_create(t->st, t->pods, "batch", pod, &(struct store_write_opts){0}, NULL, &e) < 0)
        fail_msg("create %s: %s", name, e.msg);
    json_decref(pod);
}

static void apply_sample(struct e2e *t, const char *file)
{
    char path[1024];
    struct err e = {0};
    snprintf(path, sizeof path, "%s/%s", KUEUE_DIR, file);
    if (embedded_apply_file(t->emb, path, NULL, &e) < 0)
        fail_msg("apply %s: %s", file, e.msg);
}

/* A Job of many pods and pods of their own, all queued in Kueue: the test
 * plays Kueue's admission (its gate removed when the ClusterQueue's 40 GiB
 * allow, names descending), gates in both orders (the Job's pods have
 * Kueue's first, gpuslice's webhook adds its own after; the loose pods
 * list gpuslice's first), admitted before and after gpuslice's controller
 * saw them. gpuslice never ungates nor slices a pod Kueue holds, every pod
 * runs once on a slice of its own, and nothing is left on the GPUs. */
static void kueue_admits_a_job_in_parts(void **state)
{
    struct e2e *t = *state;
    apply_sample(t, "crds.yaml");
    apply_sample(t, "queues.yaml");
    struct kueue_play k = {0};
    for (int i = 0; i < KUEUE_LOOSE_PODS / 2; i++) {
        char name[32];
        snprintf(name, sizeof name, "loose-%d", i);
        create_loose_pod(t, name);
    }
    kueue_round(t, &k); /* some admitted at once, before gpuslice looks */
    apply_sample(t, "job.yaml");
    for (int i = KUEUE_LOOSE_PODS / 2; i < KUEUE_LOOSE_PODS; i++) {
        char name[32];
        snprintf(name, sizeof name, "loose-%d", i);
        create_loose_pod(t, name);
    }
    size_t all = 0, done = 0;
    for (int waited = 0; waited < 90000; waited += 50) {
        kueue_round(t, &k);
        done = pods_in_phase(t, "batch", "Succeeded", &all);
        if (done == KUEUE_JOB_PODS + KUEUE_LOOSE_PODS && all == done)
            break;
        sleep_ms(50);
    }
    print_message("kueue: %d admitted in %d rounds (%d before gpuslice saw them; gates "
                  "kueue-first %d, gpuslice-first %d); %zu of %zu pods succeeded\n",
                  k.admitted, k.admit_rounds, k.admitted_early, k.order_kueue_first,
                  k.order_gpuslice_first, done, all);
    assert_int_equal(done, KUEUE_JOB_PODS + KUEUE_LOOSE_PODS);
    assert_int_equal(all, KUEUE_JOB_PODS + KUEUE_LOOSE_PODS); /* none ran twice */
    assert_int_equal(k.admitted, KUEUE_JOB_PODS + KUEUE_LOOSE_PODS);
    assert_true(k.admit_rounds >= (KUEUE_JOB_PODS + KUEUE_LOOSE_PODS) * 10 / KUEUE_QUOTA_GIB);
    assert_true(k.order_kueue_first > 0 && k.order_gpuslice_first > 0);
    assert_true(k.admitted_early < k.admitted); /* those queued long were waited for */
    assert_int_equal(k.ungated_under_kueue, 0);
    assert_int_equal(k.sliced_under_kueue, 0);
    assert_int_equal(k.over_quota, 0);
    assert_int_equal(k.shared, 0);
    json_t *job = NULL;
    assert_int_equal(store_get(t->st, t->jobs, "batch", "sweep", &job, NULL), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(job, "status"),
                                                        "failed")), 0);
    json_decref(job);
    wait_drained_in(t, "batch"); /* no capacity drift: every slice gone, the GPUs agree */
}

/* One node with one A100-80GB whose MIG is off: shared whole. */
static int setup_mig_off(void **state)
{
    struct embedded_config cfg = {.nodes = 1, .gpus_per_node = 1, .n_models = 1,
                                  .device_spec = "latency=none,mig=off"};
    cfg.models[0] = "A100-80GB";
    return start_with(state, &cfg);
}

/* The node's one GPU in mode `mode`, as an admin sets it, once the agent
 * has reported it; returns when the agent applies it. */
static void set_gpu_mode(struct e2e *t, const char *mode, char uuid[128])
{
    const struct api_resource *gpunodes = res(t, GPUSLICE_API_GROUP, "v1alpha1", "gpunodes");
    struct err e = {0};
    for (int waited = 0; waited < WAIT_MS; waited += 50) {
        json_t *list = NULL;
        assert_int_equal(store_list(t->st, gpunodes, NULL, &(struct store_list_opts){0}, &list,
                                    NULL), 0);
        json_t *node = json_array_get(json_object_get(list, "items"), 0);
        const json_t *gpu = json_array_get(json_object_get(json_object_get(node, "status"),
                                                           "gpus"), 0);
        const char *applied = json_string_value(json_object_get(gpu, "mode"));
        if (gpu && !uuid[0]) {
            snprintf(uuid, 128, "%s", json_string_value(json_object_get(gpu, "uuid")));
            json_object_set_new(node, "spec", json_pack("{s:[{s:s, s:s}]}", "gpus", "uuid", uuid,
                                                        "mode", mode));
            if (store_update(t->st, gpunodes, NULL, node, &(struct store_write_opts){0}, NULL,
                             &e) < 0)
                uuid[0] = '\0'; /* the agent wrote in between: again */
        }
        bool done = applied && strcmp(applied, mode) == 0;
        json_decref(list);
        if (done)
            return;
        sleep_ms(50);
    }
    fail_msg("the agent did not apply mode %s (%s)", mode, e.msg);
}

/* The running pod's container is a client of the emulated daemon (its
 * 4 GiB counted in the GPU's room); when the daemon dies, the kubelet fails
 * it with a reason the pod's status shows. */
static void mps_client_is_connected_then_fails_with_its_daemon(struct e2e *t, const char *gpu)
{
    struct device *dev = embedded_device(t->emb, 0);
    uint64_t room = 81920 - 512, mine = 4096; /* A100-80GB less the server's overhead */
    uint64_t client = 0;
    assert_int_equal(emulated_mps_connect(dev, gpu, room - mine + 1, &client, NULL), -ENOSPC);
    assert_int_equal(emulated_mps_connect(dev, gpu, room - mine, &client, NULL), 0);
    assert_int_equal(emulated_mps_disconnect(dev, gpu, client, NULL), 0);
    assert_int_equal(emulated_mps_kill(dev, gpu, NULL), 0);
    const char *reason = NULL;
    json_t *p = NULL;
    for (int waited = 0; waited < WAIT_MS; waited += 50) {
        json_decref(p);
        p = NULL;
        store_get(t->st, t->pods, "users", "infer", &p, NULL);
        const json_t *cs = json_array_get(json_object_get(json_object_get(p, "status"),
                                                          "containerStatuses"), 0);
        reason = json_string_value(json_object_get(
            json_object_get(json_object_get(cs, "state"), "terminated"), "reason"));
        if (reason)
            break;
        sleep_ms(50);
    }
    assert_non_null(reason);
    assert_string_equal(reason, KUBELET_MPS_REASON_DIED);
    assert_string_equal(json_string_value(json_object_get(json_object_get(p, "status"),
                                                          "phase")), "Failed");
    json_decref(p);
}

static void an_mps_pod_runs_with_its_limits(void **state)
{
    struct e2e *t = *state;
    char gpu[128] = "";
    set_gpu_mode(t, "mps", gpu);
    opted_in_namespace(t, "users");
    /* What a user writes: 4 GiB it may pin, a quarter of the SMs. */
    json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s}}, s:{s:s, s:[{s:s, s:s, "
                            "s:{s:{s:i}}}]}}", "apiVersion", "v1", "kind", "Pod", "metadata",
                            "name", "infer", "annotations", "gpuslice.dev/run-seconds", "60",
                            GPUSLICE_ANNOTATION_MPS_SM, "25", "spec", "restartPolicy", "Never",
                            "containers", "name", "main", "image", "cuda", "resources",
                            "limits", "nvidia.com/gpu-4gb", 1);
    struct err e = {0};
    if (store_create(t->st, t->pods, "users", pod, &(struct store_write_opts){0}, NULL, &e) < 0)
        fail_msg("create: %s", e.msg);
    json_decref(pod);
    bool seen = false;
    for (int waited = 0; waited < WAIT_MS && !seen; waited += 50) {
        json_t *p = NULL;
        if (store_get(t->st, t->pods, "users", "infer", &p, NULL) == 0) {
            const char *ph = json_string_value(json_object_get(json_object_get(p, "status"),
                                                               "phase"));
            char *env = observed_env(t, p);
            seen = ph && strcmp(ph, "Running") == 0 && env && strstr(env, gpu) &&
                   strstr(env, "\"CUDA_MPS_PINNED_DEVICE_MEM_LIMIT\":\"0=4G\"") &&
                   strstr(env, "\"CUDA_MPS_ACTIVE_THREAD_PERCENTAGE\":\"25\"") &&
                   strstr(env, "CUDA_MPS_PIPE_DIRECTORY");
            free(env);
        }
        json_decref(p);
        if (!seen)
            sleep_ms(50);
    }
    json_t *list = NULL;
    assert_int_equal(store_list(t->st, t->slices, "users", &(struct store_list_opts){0}, &list,
                                NULL), 0);
    if (!seen) {
        json_t *p = NULL, *ev = NULL;
        store_get(t->st, t->pods, "users", "infer", &p, NULL);
        store_list(t->st, t->events, NULL, &(struct store_list_opts){0}, &ev, NULL);
        char *a = json_dumps(p, JSON_COMPACT), *b = json_dumps(list, JSON_COMPACT),
             *c = json_dumps(ev, JSON_COMPACT);
        fprintf(stderr, "pod %s\nslices %s\nevents %s\n", a, b, c);
        fail_msg("the pod never ran with its MPS env (above)");
    }
    const json_t *slice = json_array_get(json_object_get(list, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(slice, "spec"),
                                                          "sharing")), "mps");
    assert_string_equal(json_string_value(json_object_get(json_object_get(slice, "status"),
                                                          "deviceUUID")), gpu);
    json_decref(list);
    mps_client_is_connected_then_fails_with_its_daemon(t, gpu);
    assert_int_equal(store_delete(t->st, t->pods, "users", "infer",
                                  &(struct store_delete_opts){0}, NULL, &e), 0);
    wait_drained_in(t, "users");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_single_pod_runs_on_its_slice_and_gives_it_back,
                                        setup_h100x2, teardown),
        cmocka_unit_test_setup_teardown(several_slices_and_a_pod_that_must_wait, setup_h100x2,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_job_of_fifty_pods_on_two_gpus, setup_h100x2,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_plain_pod_goes_through_the_webhook_over_tls,
                                        setup_h100x2, teardown),
        cmocka_unit_test_setup_teardown(a_deployment_scales_up_and_down, setup_h100x2, teardown),
        cmocka_unit_test_setup_teardown(kueue_admits_a_job_in_parts, setup_h100x2, teardown),
        cmocka_unit_test_setup_teardown(the_built_in_files_load_and_apply, setup_h100x2,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_mig_static_gpu_hands_out_its_layout, setup_mig_static,
                                        teardown),
        cmocka_unit_test_setup_teardown(mig_adapter_upgrade_and_restore_on_an_a100,
                                        setup_mig_static, teardown),
        cmocka_unit_test_setup_teardown(mig_adapter_upgrade_and_restore_on_an_h100,
                                        setup_mig_static_h100, teardown),
        cmocka_unit_test_setup_teardown(an_mps_pod_runs_with_its_limits, setup_mig_off, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
