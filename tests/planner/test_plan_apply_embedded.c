/*
 * An applied plan's pods all get their slices, on the whole system in one
 * process (sim/embedded.h: the API server, the webhook, the scheduler,
 * kubelets and workload controllers, the controller, agents over two
 * emulated H100s). samples/planner/mig plans two servers on MIG slices cut
 * from those two GPUs (chat on 1g.10gb, summarise on 3g.40gb); their
 * Deployments start with one replica on a 1g.10gb slice each, in a
 * namespace opted in to gpuslice. The binary plans the sample and applies
 * the plan through the API server (the live `plan apply`), and every pod
 * of every Deployment must end Running, with exactly one GPUSlice each,
 * Created or Ungated, of the planned profile, as many as the plan's
 * replicas. Waits are bounded polls on outcomes; nothing asserts a timing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "api/gpuslice.h"
#include "sim/embedded.h"

#include "run_binary.h"

#define WAIT_MS 60000

static const char *gpuslice, *samples;

struct fx {
    struct embedded *emb;
    struct store *st; /* the client, over HTTP */
    const struct api_resource *pods, *slices, *deployments;
    char dir[64], kubeconfig[96], plan[96];
};

static const struct api_resource *resource(struct fx *f, const char *group, const char *plural)
{
    const char *version = strcmp(group, GPUSLICE_API_GROUP) == 0 ? "v1alpha1" : "v1";
    const struct api_resource *r = api_registry_find(store_registry(f->st), group, version, plural);
    assert_non_null(r);
    return r;
}

static void create(struct fx *f, const char *group, const char *plural, const char *ns, const char *text)
{
    json_error_t je;
    json_t *obj = json_loads(text, 0, &je);
    if (!obj)
        fail_msg("%s: %s", je.text, text);
    struct err e = {0};
    if (store_create(f->st, resource(f, group, plural), ns, obj, NULL, NULL, &e))
        fail_msg("create %s: %s", plural, e.msg);
    json_decref(obj);
}

static void create_deployment(struct fx *f, const char *name)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", \"metadata\": {\"name\": \"%s\","
             " \"namespace\": \"serving\"}, \"spec\": {\"replicas\": 1, \"selector\": {\"matchLabels\":"
             " {\"app\": \"%s\"}}, \"template\": {\"metadata\": {\"labels\": {\"app\": \"%s\"}}, \"spec\":"
             " {\"terminationGracePeriodSeconds\": 0, \"containers\": [{\"name\": \"vllm\", \"image\": \"vllm\","
             " \"resources\": {\"limits\": {\"nvidia.com/mig-1g.10gb\": \"1\"}}}]}}}}",
             name, name, name);
    create(f, "apps", "deployments", "serving", text);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    struct embedded_config cfg = {.nodes = 1, .gpus_per_node = 2, .device_spec = "latency=none"};
    cfg.models[0] = "H100-80GB";
    cfg.n_models = 1;
    struct err e = {0};
    if (embedded_start(&cfg, &f->emb, &e))
        fail_msg("embedded: %s", e.msg);
    f->st = embedded_client(f->emb);
    f->pods = resource(f, "", "pods");
    f->slices = resource(f, GPUSLICE_API_GROUP, "gpuslices");
    f->deployments = resource(f, "apps", "deployments");
    strcpy(f->dir, "/tmp/gpuslice-plan-embedded-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->kubeconfig, sizeof f->kubeconfig, "%s/kubeconfig", f->dir);
    snprintf(f->plan, sizeof f->plan, "%s/plan.json", f->dir);
    assert_int_equal(embedded_write_kubeconfig(f->emb, f->kubeconfig, &e), 0);
    create(f, "", "namespaces", NULL,
           "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"serving\","
           " \"labels\": {\"gpuslice.dev/enabled\": \"true\"}}}");
    create_deployment(f, "chat");
    create_deployment(f, "summarise");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    embedded_stop(f->emb);
    unlink(f->kubeconfig);
    unlink(f->plan);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000}, NULL);
}

static int run(const char *args, char *out, size_t cap)
{
    return run_binary(gpuslice, args, out, cap);
}

/* What the plan asks of one Deployment. */
struct planned {
    const char *name;
    json_int_t replicas;
    char profile[32]; /* "3g.40gb" */
};

static void read_plan(struct fx *f, struct planned *want, size_t n)
{
    json_error_t je;
    json_t *plan = json_load_file(f->plan, 0, &je);
    if (!plan)
        fail_msg("%s: %s", f->plan, je.text);
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_object_get(json_object_get(plan, "allocations"), want[i].name);
        const char *res = json_string_value(json_object_get(a, "resource"));
        assert_non_null(res);
        assert_memory_equal(res, "nvidia.com/mig-", 15); /* the plan is on slices */
        assert_int_equal(json_integer_value(json_object_get(a, "resourcesPerReplica")), 1);
        want[i].replicas = json_integer_value(json_object_get(a, "numReplicas"));
        assert_true(want[i].replicas >= 1);
        snprintf(want[i].profile, sizeof want[i].profile, "%s", res + 15);
    }
    json_decref(plan);
}

/* How many of the GPUSlices in list are pod's, live, Created or Ungated,
 * and of profile; *other counts its slices that are not. */
static size_t slices_of(const json_t *list, const char *pod, const char *profile, size_t *other)
{
    size_t good = 0, i;
    json_t *obj;
    json_array_foreach(json_object_get(list, "items"), i, obj) {
        struct gpuslice_view v;
        if (gpuslice_read(obj, &v, NULL) != 0 || strcmp(v.spec.pod_name, pod) != 0)
            continue;
        const char *want = v.spec.requested_profile ? v.spec.requested_profile : v.spec.profile;
        bool ok = !v.deleting && (strcmp(v.status.phase, "Created") == 0 || strcmp(v.status.phase, "Ungated") == 0) &&
                  strcmp(want, profile) == 0;
        good += ok;
        *other += !ok;
    }
    return good;
}

/* Whether the Deployment has exactly its planned pods, every one Running
 * on one slice of the planned profile; *running says how many are. */
static bool as_planned(struct fx *f, const struct planned *p, const json_t *slices, size_t *running)
{
    char selector[64];
    snprintf(selector, sizeof selector, "app=%s", p->name);
    json_t *list = NULL;
    struct store_list_opts o = {.label_selector = selector};
    assert_int_equal(store_list(f->st, f->pods, "serving", &o, &list, NULL), 0);
    size_t pods = 0, other = 0, i;
    json_t *pod;
    *running = 0;
    json_array_foreach(json_object_get(list, "items"), i, pod) {
        pods++;
        const char *name = json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
        const char *phase = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
        bool deleting = json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp") != NULL;
        *running += !deleting && phase && strcmp(phase, "Running") == 0 &&
                    slices_of(slices, name, p->profile, &other) == 1;
    }
    json_decref(list);
    return pods == (size_t)p->replicas && *running == (size_t)p->replicas && other == 0;
}

static void an_applied_plan_gets_its_slices(void **state)
{
    struct fx *f = *state;
    char args[1024], out[8192];
    snprintf(args, sizeof args, "plan -o json %s/mig > %s", samples, f->plan);
    assert_int_equal(run(args, out, sizeof out), 0);
    struct planned want[] = {{.name = "chat"}, {.name = "summarise"}};
    size_t n = sizeof want / sizeof *want;
    read_plan(f, want, n);
    printf("# plan: chat %lld x %s, summarise %lld x %s\n", (long long)want[0].replicas, want[0].profile,
           (long long)want[1].replicas, want[1].profile);
    snprintf(args, sizeof args, "plan apply -p %s --kubeconfig %s -n serving", f->plan, f->kubeconfig);
    if (run(args, out, sizeof out) != 0)
        fail_msg("plan apply: %s", out);
    assert_non_null(strstr(out, "serving/summarise (server summarise): patched:"));
    size_t running[2] = {0};
    bool done = false;
    for (int waited = 0; !done && waited < WAIT_MS; waited += 100) {
        json_t *slices = NULL;
        assert_int_equal(store_list(f->st, f->slices, "serving", NULL, &slices, NULL), 0);
        done = true;
        for (size_t i = 0; i < n; i++)
            done &= as_planned(f, &want[i], slices, &running[i]);
        json_decref(slices);
        if (!done)
            sleep_ms(100);
    }
    if (!done)
        fail_msg("not as planned: chat %zu of %lld running on a %s, summarise %zu of %lld on a %s", running[0],
                 (long long)want[0].replicas, want[0].profile, running[1], (long long)want[1].replicas,
                 want[1].profile);
    /* The GPUs hold exactly the slices the API says. */
    unsigned leaked = 0, missing = 0;
    struct err e = {0};
    assert_int_equal(embedded_check_slices(f->emb, &leaked, &missing, &e), 0);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s GPUSLICE SAMPLES\n", argv[0]);
        return 2;
    }
    gpuslice = argv[1];
    samples = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(an_applied_plan_gets_its_slices, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
