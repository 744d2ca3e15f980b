/* In-process admission: a pod created in an opted-in namespace comes out
 * as the webhook rewrites it (gate, annotation, accelerator memory, the
 * ConfigMap prefix from the seed), other namespaces and kinds pass
 * untouched, a request the webhook denies fails the create with its
 * message, and every other call reaches the inner store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/meta.h"
#include "api/pod.h"
#include "api/pod_slices.h"
#include "sim/admit.h"
#include "wrapped.h"

static void create(struct world *w, const struct api_resource *res, const char *ns, json_t *obj)
{
    struct err e = {0};
    if (store_create(w->st, res, ns, obj, NULL, NULL, &e) < 0)
        fail_msg("create: %s", e.msg);
    json_decref(obj);
}

static int setup(void **state)
{
    struct world *w = wrapped_world();
    assert_int_equal(admit_store_new(w->mem, 9, &w->st, NULL), 0);
    create(w, w->namespaces, NULL,
           json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "apiVersion", "v1", "kind", "Namespace",
                     "metadata", "name", "batch", "labels", GPUSLICE_NAMESPACE_OPT_IN, "true"));
    *state = w;
    return 0;
}

static json_t *pod_asking(const char *name, const char *resource)
{
    return json_pack("{s:s, s:s, s:{s:s}, s:{s:[{s:s, s:s, s:{s:{s:i}}}]}}", "apiVersion", "v1",
                     "kind", "Pod", "metadata", "name", name, "spec", "containers", "name",
                     "main", "image", "cuda", "resources", "limits", resource, 1);
}

static json_t *get_pod(struct world *w, const char *ns, const char *name)
{
    json_t *obj = NULL;
    assert_int_equal(store_get(w->st, w->pods, ns, name, &obj, NULL), 0);
    return obj;
}

static void opted_in_pods_are_rewritten(void **state)
{
    struct world *w = *state;
    create(w, w->pods, "batch", pod_asking("p", "nvidia.com/mig-1g.5gb"));
    json_t *pod = get_pod(w, "batch", "p");
    assert_true(pod_gated(pod, GPUSLICE_GATE));
    const char *slices = meta_annotation(pod, GPUSLICE_ANNOTATION_SLICES);
    assert_non_null(slices);
    assert_non_null(strstr(slices, "1g.5gb"));
    const char *prefix = meta_annotation(pod, GPUSLICE_ANNOTATION_CONFIG);
    assert_non_null(prefix);
    assert_int_equal(strncmp(prefix, "gs-", 3), 0);
    json_decref(pod);
    struct admit_stats st;
    admit_get_stats(w->st, &st);
    assert_int_equal(st.mutated, 1);
    assert_int_equal(st.denied, 0);
    admit_get_stats(w->mem, &st); /* not an admitting store: nothing */
    assert_int_equal(st.mutated, 0);
}

static void others_pass_untouched(void **state)
{
    struct world *w = *state;
    create(w, w->pods, "default", pod_asking("p", "nvidia.com/mig-1g.5gb"));
    json_t *pod = get_pod(w, "default", "p");
    assert_false(pod_gated(pod, GPUSLICE_GATE));
    assert_null(meta_annotation(pod, GPUSLICE_ANNOTATION_SLICES));
    json_decref(pod);
    create(w, w->pods, "batch", pod_asking("cpu", "cpu"));
    pod = get_pod(w, "batch", "cpu");
    assert_false(pod_gated(pod, GPUSLICE_GATE));
    json_decref(pod);
    create(w, w->cms, "batch",
           json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                     "name", "c"));
    json_t *list = NULL;
    assert_int_equal(store_list(w->st, w->cms, "batch", NULL, &list, NULL), 0);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    json_decref(list);
}

static void denied_requests_fail_the_create(void **state)
{
    struct world *w = *state;
    json_t *pod = pod_asking("bad", "nvidia.com/mig-9g.99gb");
    struct err e = {0};
    assert_int_equal(store_create(w->st, w->pods, "batch", pod, NULL, NULL, &e), -EINVAL);
    json_decref(pod);
    assert_non_null(strstr(e.msg, "denied the request"));
    assert_non_null(strstr(e.msg, "9g.99gb"));
    json_t *none = NULL;
    assert_int_equal(store_get(w->st, w->pods, "batch", "bad", &none, NULL), -ENOENT);
    struct admit_stats st;
    admit_get_stats(w->st, &st);
    assert_int_equal(st.denied, 1);
}

static void writes_and_watches_reach_the_inner_store(void **state)
{
    struct world *w = *state;
    struct store_watch *watch = NULL;
    assert_int_equal(store_watch_open(w->st, w->pods, "batch", NULL, &watch, NULL), 0);
    create(w, w->pods, "batch", pod_asking("p", "nvidia.com/mig-1g.5gb"));
    struct store_event ev = {0};
    assert_int_equal(store_watch_next(watch, 0, &ev, NULL), 0);
    assert_int_equal(ev.type, STORE_ADDED);
    store_event_release(&ev);
    json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "a", "b");
    assert_int_equal(store_patch(w->st, w->pods, "batch", "p", STORE_PATCH_MERGE, patch, NULL,
                                 NULL, NULL), 0);
    json_decref(patch);
    json_t *pod = get_pod(w, "batch", "p");
    json_object_del(json_object_get(pod, "spec"), "schedulingGates");
    assert_int_equal(store_update(w->st, w->pods, "batch", pod, NULL, NULL, NULL), 0);
    json_decref(pod);
    assert_int_equal(store_bind(w->st, "batch", "p", "n1", NULL), 0);
    assert_int_equal(store_delete(w->st, w->pods, "batch", "p",
                                  &(struct store_delete_opts){.has_grace = true}, NULL, NULL), 0);
    store_watch_close(watch);
}

/* The same seed gives the same prefixes: a simulation replays. */
static void prefixes_come_from_the_seed(void **state)
{
    struct world *w = *state;
    struct store *again = NULL;
    assert_int_equal(admit_store_new(w->mem, 9, &again, NULL), 0);
    create(w, w->pods, "batch", pod_asking("a", "nvidia.com/mig-1g.5gb"));
    json_t *pod = pod_asking("b", "nvidia.com/mig-1g.5gb");
    assert_int_equal(store_create(again, w->pods, "batch", pod, NULL, NULL, NULL), 0);
    json_decref(pod);
    json_t *a = get_pod(w, "batch", "a"), *b = get_pod(w, "batch", "b");
    assert_string_equal(meta_annotation(a, GPUSLICE_ANNOTATION_CONFIG),
                        meta_annotation(b, GPUSLICE_ANNOTATION_CONFIG));
    json_decref(a);
    json_decref(b);
    store_free(again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(opted_in_pods_are_rewritten, setup, teardown),
        cmocka_unit_test_setup_teardown(others_pass_untouched, setup, teardown),
        cmocka_unit_test_setup_teardown(denied_requests_fail_the_create, setup, teardown),
        cmocka_unit_test_setup_teardown(writes_and_watches_reach_the_inner_store, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(prefixes_come_from_the_seed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
