/*
 * Tests for the live `gpuslice plan apply`: the binary reads the
 * Deployments of a namespace from the embedded API server (a mem store
 * served over HTTP, reached through a kubeconfig) and patches their
 * replicas and slice resource as the plan says; a missing Deployment or a
 * bad plan stops it before anything is written. A store in front of the
 * mem store writes a Deployment just before apply's first patch reaches
 * it, so apply meets a Conflict and must re-read and re-patch; the version
 * pin that makes it a Conflict is checked through the kube backend too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "apiserver/apiserver.h"
#include "apiserver/kubeconfig.h"
#include "planner/plan_apply.h"
#include "store/kube.h"
#include "store/mem.h"

#include "run_binary.h"

static const char *gpuslice;

/* A store served in front of the mem store that, before the first JSON
 * patch it is sent, writes the object itself (a label), as another client
 * racing the actuator would: the pinned patch then conflicts. */
struct racing {
    struct store base;
    struct store *inner;
    int patches;
};

struct fx {
    struct racing racing;
    struct store *mem, *client;
    struct apiserver *srv;
    const struct api_resource *deps;
    char dir[64], kubeconfig[96], plan[96];
};

static int64_t fx_now(void *ctx)
{
    (void)ctx;
    return INT64_C(1700000000) * 1000000000;
}

static struct store *inner(struct store *st)
{
    return ((struct racing *)st)->inner;
}

static int r_get(struct store *st, const struct api_resource *res, const char *ns, const char *name, json_t **out,
                 struct err *e)
{
    return store_get(inner(st), res, ns, name, out, e);
}

static int r_list(struct store *st, const struct api_resource *res, const char *ns, const struct store_list_opts *o,
                  json_t **out, struct err *e)
{
    return store_list(inner(st), res, ns, o, out, e);
}

static int r_create(struct store *st, const struct api_resource *res, const char *ns, const json_t *obj,
                    const struct store_write_opts *o, json_t **out, struct err *e)
{
    return store_create(inner(st), res, ns, obj, o, out, e);
}

static int r_update(struct store *st, const struct api_resource *res, const char *ns, const json_t *obj,
                    const struct store_write_opts *o, json_t **out, struct err *e)
{
    return store_update(inner(st), res, ns, obj, o, out, e);
}

static int r_patch(struct store *st, const struct api_resource *res, const char *ns, const char *name,
                   enum store_patch_type type, const json_t *patch, const struct store_write_opts *o, json_t **out,
                   struct err *e)
{
    struct racing *r = (struct racing *)st;
    if (type == STORE_PATCH_JSON && r->patches++ == 0) {
        json_t *label = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "raced", "yes");
        int rc = store_patch(r->inner, res, ns, name, STORE_PATCH_MERGE, label, NULL, NULL, e);
        json_decref(label);
        if (rc)
            return rc;
    }
    return store_patch(r->inner, res, ns, name, type, patch, o, out, e);
}

static int r_remove(struct store *st, const struct api_resource *res, const char *ns, const char *name,
                    const struct store_delete_opts *o, json_t **out, struct err *e)
{
    return store_delete(inner(st), res, ns, name, o, out, e);
}

static int r_bind(struct store *st, const char *ns, const char *pod, const char *node, struct err *e)
{
    return store_bind(inner(st), ns, pod, node, e);
}

static int r_watch_open(struct store *st, const struct api_resource *res, const char *ns,
                        const struct store_watch_opts *o, struct store_watch **out, struct err *e)
{
    return store_watch_open(inner(st), res, ns, o, out, e);
}

static int r_watch_next(struct store_watch *w, int timeout_ms, struct store_event *ev, struct err *e)
{
    return store_watch_next(w, timeout_ms, ev, e);
}

static void r_destroy(struct store *st)
{
    (void)st; /* the mem store is the fixture's */
}

static const struct store_ops racing_ops = {
    .name = "racing",
    .get = r_get,
    .list = r_list,
    .create = r_create,
    .update = r_update,
    .patch = r_patch,
    .remove = r_remove,
    .bind = r_bind,
    .watch_open = r_watch_open,
    .watch_next = r_watch_next,
    .watch_cancel = store_watch_cancel,
    .watch_close = store_watch_close,
    .destroy = r_destroy,
};

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j)
        fail_msg("%s: %s", je.text, text);
    return j;
}

static void create(struct fx *f, const struct api_resource *res, const char *text)
{
    json_t *obj = parse(text);
    struct err e;
    if (store_create(f->mem, res, NULL, obj, NULL, NULL, &e))
        fail_msg("create: %s", e.msg);
    json_decref(obj);
}

/* chat runs server chat-srv in its container "model" beside a sidecar, on
 * a 1g.10gb slice; big runs server big (its name) with no GPU yet; cache
 * is no server of the plan's. */
static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    struct err e;
    struct mem_store_config mc = {.now_ns = fx_now, .seed = 7};
    assert_int_equal(mem_store_new(&mc, &f->mem, &e), 0);
    f->racing = (struct racing){.base = {.ops = &racing_ops, .registry = store_registry(f->mem)}, .inner = f->mem};
    struct apiserver_config ac = {.store = &f->racing.base, .now_ns = fx_now, .version = "test"};
    assert_int_equal(apiserver_start(&ac, &f->srv, &e), 0);
    strcpy(f->dir, "/tmp/gpuslice-plan-apply-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->kubeconfig, sizeof f->kubeconfig, "%s/kubeconfig", f->dir);
    snprintf(f->plan, sizeof f->plan, "%s/plan.json", f->dir);
    struct kubeconfig_spec k = {.name = "test", .server = apiserver_url(f->srv)};
    assert_int_equal(kubeconfig_write(f->kubeconfig, &k, &e), 0);
    struct kube_config kc = {.server = (char *)apiserver_url(f->srv)};
    assert_int_equal(kube_store_new(&kc, NULL, &f->client, &e), 0);
    struct api_registry *reg = store_registry(f->mem);
    f->deps = api_registry_find(reg, "apps", "v1", "deployments");
    assert_non_null(f->deps);
    create(f, api_registry_find(reg, "", "v1", "namespaces"),
           "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"serving\"}}");
    create(f, f->deps,
           "{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", \"metadata\": {\"name\": \"chat\","
           " \"namespace\": \"serving\", \"annotations\": {\"planner.gpuslice.dev/server\": \"chat-srv\","
           " \"planner.gpuslice.dev/container\": \"model\"}}, \"spec\": {\"replicas\": 1,"
           " \"selector\": {\"matchLabels\": {\"app\": \"chat\"}}, \"template\": {\"metadata\": {\"labels\":"
           " {\"app\": \"chat\"}}, \"spec\": {\"containers\": [{\"name\": \"proxy\", \"image\": \"p\"},"
           " {\"name\": \"model\", \"image\": \"m\", \"resources\": {\"limits\": {\"nvidia.com/mig-1g.10gb\": \"1\","
           " \"cpu\": \"2\"}, \"requests\": {\"nvidia.com/mig-1g.10gb\": \"1\"}}}]}}}}");
    create(f, f->deps,
           "{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", \"metadata\": {\"name\": \"big\","
           " \"namespace\": \"serving\"}, \"spec\": {\"replicas\": 1, \"selector\": {\"matchLabels\":"
           " {\"app\": \"big\"}}, \"template\": {\"metadata\": {\"labels\": {\"app\": \"big\"}}, \"spec\":"
           " {\"containers\": [{\"name\": \"c\", \"image\": \"b\"}]}}}}");
    create(f, f->deps,
           "{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", \"metadata\": {\"name\": \"cache\","
           " \"namespace\": \"serving\"}, \"spec\": {\"replicas\": 5, \"selector\": {\"matchLabels\":"
           " {\"app\": \"cache\"}}, \"template\": {\"metadata\": {\"labels\": {\"app\": \"cache\"}}, \"spec\":"
           " {\"containers\": [{\"name\": \"c\", \"image\": \"r\"}]}}}}");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_free(f->client);
    apiserver_stop(f->srv);
    store_free(f->mem);
    unlink(f->kubeconfig);
    unlink(f->plan);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void write_plan(struct fx *f, const char *text)
{
    FILE *p = fopen(f->plan, "w");
    assert_non_null(p);
    fputs(text, p);
    fclose(p);
}

static const char *plan_text =
    "{\"allocations\": {"
    " \"chat-srv\": {\"accelerator\": \"H100-3g.40gb\", \"numReplicas\": 3, \"resource\": \"nvidia.com/mig-3g.40gb\","
    "              \"resourcesPerReplica\": 1},"
    " \"big\": {\"accelerator\": \"H100\", \"numReplicas\": 2, \"resource\": \"nvidia.com/gpu\","
    "         \"resourcesPerReplica\": 2}}}";

static int run(const char *args, char *out, size_t cap)
{
    return run_binary(gpuslice, args, out, cap);
}

static int apply(struct fx *f, const char *more, char *out, size_t cap)
{
    char args[512];
    snprintf(args, sizeof args, "plan apply -p %s --kubeconfig %s -n serving %s", f->plan, f->kubeconfig, more);
    return run(args, out, cap);
}

static json_t *get(struct fx *f, const char *name)
{
    json_t *obj = NULL;
    struct err e;
    if (store_get(f->mem, f->deps, "serving", name, &obj, &e))
        fail_msg("get %s: %s", name, e.msg);
    return obj;
}

static json_int_t replicas(struct fx *f, const char *name)
{
    json_t *obj = get(f, name);
    json_int_t n = json_integer_value(json_object_get(json_object_get(obj, "spec"), "replicas"));
    json_decref(obj);
    return n;
}

/* The container's resources, compact with sorted keys, or "none" (caller
 * frees). */
static char *resources(struct fx *f, const char *name, size_t container)
{
    json_t *obj = get(f, name);
    json_t *c = json_array_get(json_object_get(json_object_get(json_object_get(json_object_get(obj, "spec"),
                                                                                "template"), "spec"),
                                               "containers"), container);
    const json_t *res = json_object_get(c, "resources");
    char *text = res ? json_dumps(res, JSON_COMPACT | JSON_SORT_KEYS) : strdup("none");
    json_decref(obj);
    return text;
}

static void assert_resources(struct fx *f, const char *name, size_t container, const char *want)
{
    char *got = resources(f, name, container);
    if (!got || strcmp(got, want) != 0)
        fail_msg("%s containers[%zu].resources: got %s, want %s", name, container, got, want);
    free(got);
}

static void applies_the_plan(void **state)
{
    struct fx *f = *state;
    char out[8192];
    write_plan(f, plan_text);
    /* The dry run reads the cluster too, and writes nothing. */
    assert_int_equal(apply(f, "--dry-run", out, sizeof out), 0);
    assert_non_null(strstr(out, "kubectl patch deployment chat -n serving"));
    assert_int_equal(replicas(f, "chat"), 1);
    assert_int_equal(apply(f, "", out, sizeof out), 0);
    assert_non_null(strstr(out, "serving/chat (server chat-srv): patched: replicas 1 -> 3; "
                                "nvidia.com/mig-1g.10gb: removed; nvidia.com/mig-3g.40gb: 1"));
    assert_non_null(strstr(out, "serving/big (server big): patched: replicas 1 -> 2; nvidia.com/gpu: 2"));
    assert_non_null(strstr(out, "serving/cache (server cache): unchanged, the plan has no such server"));
    assert_int_equal(replicas(f, "cache"), 5);
    assert_int_equal(replicas(f, "chat"), 3);
    assert_int_equal(replicas(f, "big"), 2);
    /* The first patch (big's) lost to the racing write, was rebuilt from
     * the Deployment read again, and landed on it: both writes are there. */
    assert_int_equal(f->racing.patches, 3);
    json_t *big = get(f, "big");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(big, "metadata"),
                                                                          "labels"), "raced")), "yes");
    json_decref(big);
    assert_resources(f, "chat", 0, "none");
    assert_resources(f, "chat", 1,
                     "{\"limits\":{\"cpu\":\"2\",\"nvidia.com/mig-3g.40gb\":\"1\"},"
                     "\"requests\":{\"nvidia.com/mig-3g.40gb\":\"1\"}}");
    assert_resources(f, "big", 0, "{\"limits\":{\"nvidia.com/gpu\":\"2\"}}");
    /* Applying again changes nothing. */
    assert_int_equal(apply(f, "", out, sizeof out), 0);
    assert_non_null(strstr(out, "serving/chat (server chat-srv): unchanged, already as planned"));
}

static void missing_deployment_writes_nothing(void **state)
{
    struct fx *f = *state;
    char out[8192];
    write_plan(f, "{\"allocations\": {"
                  " \"big\": {\"numReplicas\": 4, \"resource\": \"nvidia.com/gpu\", \"resourcesPerReplica\": 1},"
                  " \"ghost\": {\"numReplicas\": 1, \"resource\": \"nvidia.com/gpu\", \"resourcesPerReplica\": 1}}}");
    assert_int_equal(apply(f, "", out, sizeof out), 1);
    assert_non_null(strstr(out, "gpuslice plan apply: plan: server \"ghost\" has no Deployment (none is named "
                                "ghost or annotated planner.gpuslice.dev/server=ghost)"));
    assert_int_equal(replicas(f, "big"), 1);
    /* Another namespace has none of them. */
    write_plan(f, plan_text);
    char args[512];
    snprintf(args, sizeof args, "plan apply -p %s --kubeconfig %s -n elsewhere", f->plan, f->kubeconfig);
    assert_int_equal(run(args, out, sizeof out), 1);
    assert_non_null(strstr(out, "has no Deployment"));
}

static void bad_plan_and_arguments(void **state)
{
    struct fx *f = *state;
    char out[8192], args[512];
    snprintf(args, sizeof args, "plan apply -p %s/none.json --kubeconfig %s", f->dir, f->kubeconfig);
    assert_int_equal(run(args, out, sizeof out), 1);
    assert_non_null(strstr(out, "gpuslice plan apply: "));
    assert_non_null(strstr(out, "none.json"));
    write_plan(f, "{\"allocations\": ");
    assert_int_equal(apply(f, "", out, sizeof out), 1);
    assert_non_null(strstr(out, "plan.json:1:"));
    write_plan(f, "{\"plans\": {}}");
    assert_int_equal(apply(f, "", out, sizeof out), 1);
    assert_non_null(strstr(out, "plan: \"allocations\" is missing or not an object"));
    write_plan(f, plan_text);
    snprintf(args, sizeof args, "plan apply -p %s --kubeconfig %s/no-kubeconfig", f->plan, f->dir);
    assert_int_equal(run(args, out, sizeof out), 1);
    assert_non_null(strstr(out, "no-kubeconfig"));
    snprintf(args, sizeof args, "plan apply -p %s deployments.yaml", f->plan);
    assert_int_equal(run(args, out, sizeof out), 2);
    assert_int_equal(replicas(f, "chat"), 1);
}

/* A pinned patch built from an old version is a Conflict over the API, the
 * signal on which apply re-reads and re-patches; the fresh one lands. */
static void pinned_patch_conflicts_when_stale(void **state)
{
    struct fx *f = *state;
    json_t *plan = parse(plan_text), *old = NULL, *items = NULL, *fresh = NULL;
    struct err e;
    assert_int_equal(store_get(f->client, f->deps, "serving", "chat", &old, &e), 0);
    json_object_set_new(old, "kind", json_string("Deployment"));
    assert_int_equal(plan_apply_patches(plan, old, &items, &e), 0);
    json_t *patch = json_object_get(json_array_get(items, 0), "patch");
    assert_int_equal(plan_apply_pin(patch, old, &e), 0);
    json_t *meanwhile = parse("{\"metadata\": {\"labels\": {\"touched\": \"yes\"}}}");
    assert_int_equal(store_patch(f->client, f->deps, "serving", "chat", STORE_PATCH_MERGE, meanwhile, NULL, NULL,
                                 &e), 0);
    assert_int_equal(store_patch(f->client, f->deps, "serving", "chat", STORE_PATCH_JSON, patch, NULL, NULL, &e),
                     -ESTALE);
    assert_int_equal(replicas(f, "chat"), 1);
    assert_int_equal(store_get(f->client, f->deps, "serving", "chat", &fresh, &e), 0);
    assert_int_equal(plan_apply_pin(patch, fresh, &e), 0);
    json_array_remove(patch, 1); /* the stale pin */
    assert_int_equal(store_patch(f->client, f->deps, "serving", "chat", STORE_PATCH_JSON, patch, NULL, NULL, &e),
                     0);
    assert_int_equal(replicas(f, "chat"), 3);
    json_decref(meanwhile);
    json_decref(fresh);
    json_decref(items);
    json_decref(old);
    json_decref(plan);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s GPUSLICE\n", argv[0]);
        return 2;
    }
    gpuslice = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(applies_the_plan, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_deployment_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_plan_and_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(pinned_patch_conflicts_when_stale, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
