/*
 * Tests for webhook/mutate: the patch applied to real pods (every
 * catalogued profile, every kind of container), reinvocation, the deny
 * messages, the reviews that are left alone and the malformed ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "api/patch.h"
#include "api/pod.h"
#include "api/pod_slices.h"
#include "core/catalog.h"
#include "webhook/mutate.h"

#define PREFIX "gs-abc123"

static json_t *load(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j)
        fail_msg("bad test JSON: %s: %s", je.text, text);
    return j;
}

/* A pod with one container (init or not, beside a plain main container when
 * init) asking for count slices of profile. */
static json_t *pod_asking(const char *profile, bool init, const char *count)
{
    char key[96];
    snprintf(key, sizeof key, "nvidia.com/mig-%s", profile);
    json_t *c = json_pack("{s:s, s:s, s:{s:{s:s, s:s}, s:{s:s}}}", "name", "work", "image",
                          "busybox", "resources", "requests", key, count, "cpu", "1", "limits",
                          key, count);
    json_t *spec = init ? json_pack("{s:[o], s:[{s:s, s:s}]}", "initContainers", c,
                                    "containers", "name", "main", "image", "busybox")
                        : json_pack("{s:[o]}", "containers", c);
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion", "v1", "kind", "Pod",
                     "metadata", "generateName", "job-", "namespace", "team", "spec", spec);
}

/* A pod whose container asks for gib GiB of accelerator memory. */
static json_t *pod_asking_memory(const char *gib)
{
    json_t *c = json_pack("{s:s, s:s, s:{s:{s:s}}}", "name", "work", "image", "busybox",
                          "resources", "limits", GPUSLICE_RESOURCE_MEMORY, gib);
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:[o]}}", "apiVersion", "v1", "kind", "Pod",
                     "metadata", "generateName", "job-", "namespace", "team", "spec",
                     "containers", c);
}

/* pod with mutate_pod's patch applied; NULL when there was none. */
static json_t *mutated(const json_t *pod)
{
    json_t *ops, *out = NULL;
    struct err e;
    int rc = mutate_pod(pod, PREFIX, &ops, &e);
    if (rc != 0)
        fail_msg("mutate_pod: %s", e.msg);
    if (!ops)
        return NULL;
    if (patch_json(pod, ops, &out, &e) != 0)
        fail_msg("patch_json: %s", e.msg);
    json_decref(ops);
    return out;
}

static const json_t *container_at(const json_t *pod, const char *list, size_t i)
{
    return json_array_get(json_object_get(json_object_get(pod, "spec"), list), i);
}

static const char *quantity(const json_t *c, const char *part, const char *key)
{
    return json_string_value(json_object_get(
        json_object_get(json_object_get(c, "resources"), part), key));
}

/* The rewritten pod: valid, gated, labelled, annotated, with the memory of
 * count slices of profile in its container, no MIG request left, and the
 * ConfigMap reference. */
static void check_rewritten(const json_t *pod, const char *list, const char *profile,
                            unsigned count)
{
    struct pod_view v;
    struct err e;
    if (pod_read(pod, &v, &e) != 0)
        fail_msg("the mutated pod is invalid: %s", e.msg);
    assert_true(pod_has_gate(&v, GPUSLICE_GATE));
    const json_t *meta = json_object_get(pod, "metadata");
    assert_string_equal(json_string_value(json_object_get(json_object_get(meta, "labels"),
                                                          GPUSLICE_LABEL_MANAGED)), "true");
    assert_string_equal(json_string_value(json_object_get(json_object_get(meta, "annotations"),
                                                          GPUSLICE_ANNOTATION_CONFIG)), PREFIX);
    struct pod_slices s;
    assert_int_equal(pod_slices_from_annotation(pod, &s, &e), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.items[0].profile, profile);
    assert_string_equal(s.items[0].container, "work");
    assert_int_equal(s.items[0].count, count);
    assert_int_equal(s.items[0].init, strcmp(list, "initContainers") == 0);
    /* Read by its resources, the pod asks for memory only: the webhook's
     * accounting, which a second pass drops (the annotation records it). */
    struct pod_slices left;
    unsigned gib;
    assert_int_equal(catalog_name_gib(profile, &gib), 0);
    assert_int_equal(pod_slices_from_resources(pod, &left, &e), 0);
    assert_int_equal(left.n, 1);
    assert_int_equal(left.items[0].memory_gib, gib * (unsigned)count);
    const json_t *c = container_at(pod, list, 0);
    char want[16];
    snprintf(want, sizeof want, "%u", gib * count);
    assert_string_equal(quantity(c, "requests", GPUSLICE_RESOURCE_MEMORY), want);
    assert_string_equal(quantity(c, "limits", GPUSLICE_RESOURCE_MEMORY), want);
    assert_string_equal(quantity(c, "requests", "cpu"), "1");
    const json_t *ref = json_object_get(json_array_get(json_object_get(c, "envFrom"), 0),
                                        "configMapRef");
    assert_string_equal(json_string_value(json_object_get(ref, "name")), PREFIX "-work");
    assert_true(json_is_false(json_object_get(ref, "optional")));
}

/* ---- the rewrite ---- */

static void every_profile_in_every_container_kind(void **state)
{
    (void)state;
    size_t checked = 0;
    for (size_t m = 0; m < catalog_model_count(); m++) {
        const struct gpu_model *model = catalog_model(m);
        for (size_t p = 0; p < model->n_profiles; p++) {
            for (int init = 0; init < 2; init++) {
                json_t *pod = pod_asking(model->profiles[p].name, init, "2");
                json_t *out = mutated(pod);
                assert_non_null(out);
                check_rewritten(out, init ? "initContainers" : "containers",
                                model->profiles[p].name, 2);
                if (init) /* the plain container asked for nothing */
                    assert_null(json_object_get(container_at(out, "containers", 0), "envFrom"));
                json_decref(out);
                json_decref(pod);
                checked++;
            }
        }
    }
    assert_true(checked >= 2 * 40);
}

static void profile_memory_is_the_largest_rounded_up(void **state)
{
    (void)state;
    unsigned gib = 0;
    /* 1g.10gb: 9856 MiB (A100-40GB), 9728 (A100-80GB), 9984 (H100-80GB). */
    assert_int_equal(catalog_name_gib("1g.10gb", &gib), 0);
    assert_int_equal(gib, 10);
    assert_int_equal(catalog_name_gib("1g.5gb", &gib), 0); /* 4864 MiB */
    assert_int_equal(gib, 5);
    assert_int_equal(catalog_name_gib("1g.5gb+me", &gib), 0);
    assert_int_equal(gib, 5);
    assert_int_equal(catalog_name_gib("7g.141gb", &gib), 0); /* 143104 MiB */
    assert_int_equal(gib, 140);
    assert_int_equal(catalog_name_gib("3g.39gb", &gib), 0); /* an alias of 3g.40gb */
    assert_int_equal(gib, 40);
    assert_int_equal(catalog_name_gib("5g.33gb", &gib), -ENOENT);
    assert_int_equal(catalog_name_gib("", &gib), -ENOENT);
    /* Never more than the smallest GPU with the profile offers. */
    for (size_t m = 0; m < catalog_model_count(); m++) {
        const struct gpu_model *model = catalog_model(m);
        for (size_t p = 0; p < model->n_profiles; p++) {
            assert_int_equal(catalog_name_gib(model->profiles[p].name, &gib), 0);
            assert_true(gib * model->profiles[p].max_instances <= model->memory_mib / 1024);
        }
    }
}

static void several_containers_and_requests(void **state)
{
    (void)state;
    json_t *pod = load(
        "{\"metadata\":{\"name\":\"p\",\"labels\":{\"app\":\"x\"},\"annotations\":{\"a\":\"b\"}},"
        "\"spec\":{\"schedulingGates\":[{\"name\":\"other/gate\"}],"
        "\"initContainers\":[{\"name\":\"prep\",\"image\":\"i\",\"resources\":{\"limits\":"
        "{\"nvidia.com/mig-1g.10gb\":1}}}],"
        "\"containers\":[{\"name\":\"a\",\"image\":\"i\",\"envFrom\":[{\"secretRef\":{\"name\":"
        "\"s\"}}],\"resources\":{\"requests\":{\"nvidia.com/mig-3g.40gb\":\"1\","
        "\"nvidia.com/mig-1g.10gb\":\"2\",\"memory\":\"1Gi\"},\"limits\":{"
        "\"nvidia.com/mig-3g.40gb\":\"1\",\"nvidia.com/mig-1g.10gb\":\"2\"}}},"
        "{\"name\":\"b\",\"image\":\"i\"}]}}");
    json_t *out = mutated(pod);
    assert_non_null(out);
    struct pod_view v;
    struct err e;
    assert_int_equal(pod_read(out, &v, &e), 0);
    assert_int_equal(v.n_gates, 2);
    assert_string_equal(v.gates[0], "other/gate");
    const json_t *meta = json_object_get(out, "metadata");
    assert_string_equal(json_string_value(json_object_get(json_object_get(meta, "labels"), "app")),
                        "x");
    assert_string_equal(json_string_value(json_object_get(json_object_get(meta, "annotations"),
                                                          "a")), "b");
    const json_t *a = container_at(out, "containers", 0);
    assert_string_equal(quantity(a, "requests", GPUSLICE_RESOURCE_MEMORY), "60");
    assert_string_equal(quantity(a, "requests", "memory"), "1Gi");
    assert_int_equal(json_array_size(json_object_get(a, "envFrom")), 2);
    assert_string_equal(quantity(container_at(out, "initContainers", 0), "limits",
                                 GPUSLICE_RESOURCE_MEMORY), "10");
    assert_null(json_object_get(container_at(out, "containers", 1), "resources"));
    struct pod_slices s;
    assert_int_equal(pod_slices_from_annotation(out, &s, &e), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(pod_slices_total(&s), 4);
    assert_true(s.items[0].init);
    json_decref(out);
    json_decref(pod);
}

static void a_pod_asking_for_nothing_is_untouched(void **state)
{
    (void)state;
    json_t *pod = load("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"a\","
                       "\"image\":\"i\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":1}}}]}}");
    json_t *ops = json_true();
    assert_int_equal(mutate_pod(pod, PREFIX, &ops, NULL), 0);
    assert_null(ops);
    json_decref(pod);
}

/* A request by memory is gated and recorded as one; the memory stays
 * what the user asked (requests and limits); more than any profile has is
 * denied; a second pass changes nothing. */
static void requests_by_memory_are_recorded(void **state)
{
    (void)state;
    json_t *pod = pod_asking_memory("12");
    json_t *once = mutated(pod);
    assert_non_null(once);
    struct pod_slices s;
    struct err e;
    assert_int_equal(pod_slices_from_annotation(once, &s, &e), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.items[0].memory_gib, 12);
    assert_string_equal(s.items[0].profile, "");
    const json_t *c = container_at(once, "containers", 0);
    assert_string_equal(quantity(c, "requests", GPUSLICE_RESOURCE_MEMORY), "12");
    assert_string_equal(quantity(c, "limits", GPUSLICE_RESOURCE_MEMORY), "12");
    assert_non_null(json_object_get(c, "envFrom"));
    json_t *ops = json_true();
    assert_int_equal(mutate_pod(once, "gs-other", &ops, NULL), 0);
    assert_null(ops);
    json_decref(once);
    json_decref(pod);
    pod = pod_asking_memory("500");
    assert_int_equal(mutate_pod(pod, PREFIX, &ops, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "spec.containers[0].resources[gpuslice.dev/accelerator-memory]: "
                                  "no MIG profile of a catalogued GPU model has 500 GiB"));
    json_decref(pod);
}

static void reinvocation_gives_the_same_pod(void **state)
{
    (void)state;
    json_t *pod = pod_asking("2g.20gb", false, "1");
    json_t *once = mutated(pod);
    assert_non_null(once);
    json_t *ops = json_true();
    assert_int_equal(mutate_pod(once, "gs-other", &ops, NULL), 0);
    assert_null(ops);
    /* Gated by hand before the webhook saw it: the gate is not doubled. */
    json_object_set_new(json_object_get(pod, "spec"), "schedulingGates",
                        json_pack("[{s:s}]", "name", GPUSLICE_GATE));
    json_t *gated = mutated(pod);
    assert_int_equal(json_array_size(json_object_get(json_object_get(gated, "spec"),
                                                     "schedulingGates")), 1);
    json_decref(gated);
    json_decref(once);
    json_decref(pod);
}

static size_t finalizer_count(const json_t *pod, const char *name)
{
    size_t i, n = 0;
    const json_t *f;
    json_array_foreach(json_object_get(json_object_get(pod, "metadata"), "finalizers"), i, f)
        n += strcmp(json_string_value(f) ? json_string_value(f) : "", name) == 0;
    return n;
}

/* The finalizer comes with admission, so that the controller's first
 * placement need not write the pod to add it; others' finalizers stay, and
 * a pod that has it already does not get it twice. */
static void the_finalizer_comes_with_admission(void **state)
{
    (void)state;
    json_t *pod = pod_asking("1g.10gb", false, "1");
    json_t *out = mutated(pod);
    assert_int_equal(finalizer_count(out, GPUSLICE_FINALIZER), 1);
    json_decref(out);
    json_object_set_new(json_object_get(pod, "metadata"), "finalizers",
                        json_pack("[s]", "example.com/keep"));
    out = mutated(pod);
    assert_int_equal(finalizer_count(out, GPUSLICE_FINALIZER), 1);
    assert_int_equal(finalizer_count(out, "example.com/keep"), 1);
    json_decref(out);
    json_array_append_new(json_object_get(json_object_get(pod, "metadata"), "finalizers"),
                          json_string(GPUSLICE_FINALIZER));
    out = mutated(pod);
    assert_int_equal(finalizer_count(out, GPUSLICE_FINALIZER), 1);
    assert_int_equal(json_array_size(json_object_get(json_object_get(out, "metadata"),
                                                     "finalizers")), 2);
    json_decref(out);
    json_decref(pod);
}

static void requests_added_after_a_first_pass_are_merged(void **state)
{
    (void)state;
    json_t *pod = pod_asking("1g.10gb", false, "1");
    json_t *once = mutated(pod);
    json_t *extra = json_pack("{s:s, s:s, s:{s:{s:i}}}", "name", "late", "image", "i",
                              "resources", "limits", "nvidia.com/mig-3g.40gb", 1);
    json_array_append_new(json_object_get(json_object_get(once, "spec"), "containers"), extra);
    json_t *ops, *twice;
    struct err e;
    assert_int_equal(mutate_pod(once, "gs-other", &ops, &e), 0);
    assert_int_equal(patch_json(once, ops, &twice, &e), 0);
    struct pod_slices s;
    assert_int_equal(pod_slices_from_annotation(twice, &s, &e), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.items[0].container, "work");
    assert_string_equal(s.items[1].container, "late");
    const json_t *work = container_at(twice, "containers", 0);
    const json_t *late = container_at(twice, "containers", 1);
    assert_int_equal(json_array_size(json_object_get(work, "envFrom")), 1);
    assert_string_equal(quantity(late, "limits", GPUSLICE_RESOURCE_MEMORY), "40");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(json_object_get(late, "envFrom"), 0),
                                            "configMapRef"), "name")), PREFIX "-late");
    assert_int_equal(json_array_size(json_object_get(json_object_get(twice, "spec"),
                                                     "schedulingGates")), 1);
    json_decref(ops);
    json_decref(twice);
    json_decref(once);
    json_decref(pod);
}

/* ---- denials ---- */

static void check_denied(const char *pod_text, int code, const char *message)
{
    json_t *pod = load(pod_text), *ops = json_true();
    struct err e;
    assert_int_equal(mutate_pod(pod, PREFIX, &ops, &e), code);
    assert_null(ops);
    assert_string_equal(e.msg, message);
    json_decref(pod);
}

static void invalid_requests_are_denied_saying_where(void **state)
{
    (void)state;
    check_denied("{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":"
                 "{\"nvidia.com/mig-5g.33gb\":1}}}]}}",
                 -EINVAL, "spec.containers[0].resources.requests[nvidia.com/mig-5g.33gb]: "
                          "unknown MIG profile \"5g.33gb\": no catalogued GPU model has it "
                          "(see 'gpuslice profiles')");
    check_denied("{\"spec\":{\"initContainers\":[{\"name\":\"x\"},{\"name\":\"p\",\"resources\":"
                 "{\"limits\":{\"nvidia.com/mig-9g.1gb\":1}}}],\"containers\":[{\"name\":\"a\"}]}}",
                 -EINVAL, "spec.initContainers[1].resources.limits[nvidia.com/mig-9g.1gb]: "
                          "unknown MIG profile \"9g.1gb\": no catalogued GPU model has it "
                          "(see 'gpuslice profiles')");
    check_denied("{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":"
                 "{\"nvidia.com/mig-1g.10gb\":1},\"limits\":{\"nvidia.com/mig-1g.10gb\":2}}}]}}",
                 -EINVAL, "spec.containers[0].resources.limits[nvidia.com/mig-1g.10gb]: must "
                          "equal the request (1), got 2");
    check_denied("{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":"
                 "{\"nvidia.com/mig-1g.10gb\":\"500m\"}}}]}}",
                 -EINVAL, "spec.containers[0].resources.requests[nvidia.com/mig-1g.10gb]: must "
                          "be a whole number from 1 to 8");
    check_denied("{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":"
                 "{\"nvidia.com/mig-1g.10gb\":1.5}}}]}}",
                 -EINVAL, "spec.containers[0].resources.limits[nvidia.com/mig-1g.10gb]: must "
                          "be a whole number from 1 to 8");
    check_denied("{\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"a\",\"resources\":"
                 "{\"limits\":{\"nvidia.com/mig-1g.10gb\":1}}}]}}",
                 -EBADMSG, "spec.nodeName: a pod that asks for MIG slices or a shared GPU cannot "
                          "name its node: "
                           "gpuslice chooses it");
    check_denied("{\"spec\":{\"containers\":{}}}", -EBADMSG, "spec.containers: must be a list");
    check_denied("{\"metadata\":{\"labels\":[]},\"spec\":{}}", -EBADMSG,
                 "metadata.labels: must be an object");
    check_denied("{\"metadata\":{\"finalizers\":{}},\"spec\":{}}", -EBADMSG,
                 "metadata.finalizers: must be a list");
    check_denied("{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":[]}}]}}",
                 -EBADMSG, "spec.containers[0]: must be an object with object resources "
                           "(requests, limits) and a list envFrom");
    check_denied("[]", -EBADMSG, "the object is not a pod: metadata and spec must be objects");
}

/* ---- shared GPUs (MPS, time-slicing) ---- */

/* A pod with the annotations (a JSON object's inside) whose containers
 * "mps" and "ts" ask for the given resources (JSON objects' insides). */
static json_t *pod_sharing(const char *annotations, const char *mps, const char *ts)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"generateName\":\"job-\","
             "\"namespace\":\"team\",\"annotations\":{%s}},\"spec\":{\"containers\":["
             "{\"name\":\"mps\",\"image\":\"busybox\",\"resources\":{\"limits\":{%s}}},"
             "{\"name\":\"ts\",\"image\":\"busybox\",\"resources\":{\"requests\":{%s}}}]}}",
             annotations, mps, ts);
    return load(text);
}

static const char *annotation(const json_t *pod, const char *key)
{
    return json_string_value(json_object_get(
        json_object_get(json_object_get(pod, "metadata"), "annotations"), key));
}

/* Both kinds rewritten as MIG requests are: gated, labelled, recorded,
 * reading their ConfigMaps; the MPS share charged its memory, the
 * time-sliced GPU nothing; a second pass changes nothing. */
static void sharing_requests_are_rewritten(void **state)
{
    (void)state;
    json_t *pod = pod_sharing("\"gpuslice.dev/mps-sm-percent\":\"25\"",
                              "\"nvidia.com/gpu-8gb\":\"1\",\"cpu\":\"1\"",
                              "\"nvidia.com/gpu.shared\":1");
    json_t *once = mutated(pod);
    assert_non_null(once);
    struct pod_view v;
    struct err e;
    if (pod_read(once, &v, &e) != 0)
        fail_msg("the mutated pod is invalid: %s", e.msg);
    assert_true(pod_has_gate(&v, GPUSLICE_GATE));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(once, "metadata"), "labels"),
                            GPUSLICE_LABEL_MANAGED)), "true");
    assert_string_equal(annotation(once, GPUSLICE_ANNOTATION_SLICES),
                        "[{\"container\":\"mps\",\"sharing\":\"mps\",\"memoryGiB\":8,"
                        "\"smPercent\":25},{\"container\":\"ts\",\"sharing\":\"timeslice\"}]");
    assert_string_equal(annotation(once, GPUSLICE_ANNOTATION_MPS_SM), "25");
    const json_t *mps = container_at(once, "containers", 0);
    const json_t *ts = container_at(once, "containers", 1);
    assert_string_equal(quantity(mps, "requests", GPUSLICE_RESOURCE_MEMORY), "8");
    assert_string_equal(quantity(mps, "limits", GPUSLICE_RESOURCE_MEMORY), "8");
    assert_null(quantity(mps, "limits", "nvidia.com/gpu-8gb"));
    assert_string_equal(quantity(mps, "limits", "cpu"), "1");
    assert_null(quantity(ts, "requests", GPUSLICE_RESOURCE_TIMESLICE));
    assert_null(quantity(ts, "requests", GPUSLICE_RESOURCE_MEMORY));
    assert_null(quantity(ts, "limits", GPUSLICE_RESOURCE_MEMORY));
    assert_non_null(json_object_get(mps, "envFrom"));
    assert_non_null(json_object_get(ts, "envFrom"));
    json_t *ops = json_true();
    assert_int_equal(mutate_pod(once, "gs-other", &ops, NULL), 0);
    assert_null(ops);
    json_decref(once);
    json_decref(pod);
}

static void mps_by_memory_and_the_sharing_annotation(void **state)
{
    (void)state;
    json_t *pod = pod_sharing("\"gpuslice.dev/sharing\":\"mps\"",
                              "\"gpuslice.dev/accelerator-memory\":\"200\"", "");
    struct err e;
    json_t *ops = json_true();
    /* More than any whole GPU: denied, as gpu-<N>gb is (below). */
    assert_int_equal(mutate_pod(pod, PREFIX, &ops, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "spec.containers[0].resources: an MPS share of 200 GiB is more "
                                  "than any catalogued GPU has (the largest, "));
    json_decref(pod);
    pod = pod_sharing("\"gpuslice.dev/sharing\":\"mps\"",
                      "\"gpuslice.dev/accelerator-memory\":\"12\"", "");
    json_t *once = mutated(pod);
    assert_string_equal(annotation(once, GPUSLICE_ANNOTATION_SLICES),
                        "[{\"container\":\"mps\",\"sharing\":\"mps\",\"memoryGiB\":12}]");
    assert_string_equal(quantity(container_at(once, "containers", 0), "requests",
                                 GPUSLICE_RESOURCE_MEMORY), "12");
    assert_int_equal(mutate_pod(once, "gs-other", &ops, NULL), 0);
    assert_null(ops);
    json_decref(once);
    json_decref(pod);
}

/* The largest catalogued GPU's whole memory is the most an MPS share asks. */
static void mps_shares_up_to_the_largest_gpu(void **state)
{
    (void)state;
    unsigned most = 0;
    const char *name = NULL;
    for (size_t i = 0; i < catalog_model_count(); i++)
        if (catalog_model(i)->memory_mib / 1024 > most) {
            most = catalog_model(i)->memory_mib / 1024;
            name = catalog_model(i)->name;
        }
    char fits[64], over[64], want[256];
    snprintf(fits, sizeof fits, "\"nvidia.com/gpu-%ugb\":1", most);
    snprintf(over, sizeof over, "\"nvidia.com/gpu-%ugb\":1", most + 1);
    json_t *pod = pod_sharing("", fits, "");
    json_t *out = mutated(pod);
    assert_non_null(out);
    json_decref(out);
    json_decref(pod);
    snprintf(want, sizeof want, "spec.containers[0].resources: an MPS share of %u GiB is more "
             "than any catalogued GPU has (the largest, %s, has %u GiB)", most + 1, name, most);
    pod = pod_sharing("", over, "");
    json_t *ops = json_true();
    struct err e;
    assert_int_equal(mutate_pod(pod, PREFIX, &ops, &e), -EINVAL);
    assert_string_equal(e.msg, want);
    json_decref(pod);
}

static void invalid_sharing_requests_are_denied_saying_where(void **state)
{
    (void)state;
    check_denied("{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":"
                 "{\"nvidia.com/gpu-8gb\":1,\"nvidia.com/mig-1g.10gb\":1}}}]}}",
                 -EINVAL, "spec.containers[0].resources: a container asks for MIG slices or a "
                          "shared GPU, not both an MPS share of 8 GiB and "
                          "nvidia.com/mig-1g.10gb");
    check_denied("{\"spec\":{\"initContainers\":[{\"name\":\"a\",\"resources\":{\"limits\":"
                 "{\"nvidia.com/gpu-8gb\":1},\"requests\":{\"nvidia.com/gpu.shared\":1}}}]}}",
                 -EINVAL, "spec.initContainers[0].resources: a container asks for one shared "
                          "GPU, not both an MPS share of 8 GiB and nvidia.com/gpu.shared");
    check_denied("{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":"
                 "{\"nvidia.com/gpu-8gb\":2}}}]}}",
                 -EINVAL, "spec.containers[0].resources.limits[nvidia.com/gpu-8gb]: a shared GPU "
                          "is asked once per container: must be 1, got 2");
    check_denied("{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":"
                 "{\"nvidia.com/gpu.shared\":2}}}]}}",
                 -EINVAL, "spec.containers[0].resources.requests[nvidia.com/gpu.shared]: a shared "
                          "GPU is asked once per container: must be 1, got 2");
    check_denied("{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":"
                 "{\"nvidia.com/gpu-0gb\":1}}}]}}",
                 -EINVAL, "spec.containers[0].resources.limits[nvidia.com/gpu-0gb]: the memory of "
                          "an MPS share must be from 1 to 1048576 GiB (nvidia.com/gpu-<N>gb)");
    static const char *const bad_sm[] = {"0", "101", "50.5", "half"};
    for (size_t i = 0; i < 4; i++) {
        char text[512];
        snprintf(text, sizeof text, "{\"metadata\":{\"annotations\":{\"gpuslice.dev/"
                 "mps-sm-percent\":\"%s\"}},\"spec\":{\"containers\":[{\"name\":\"a\","
                 "\"resources\":{\"limits\":{\"nvidia.com/gpu-8gb\":1}}}]}}", bad_sm[i]);
        check_denied(text, -EINVAL, "metadata.annotations[gpuslice.dev/mps-sm-percent]: must be "
                                    "a whole number from 1 to 100");
    }
    check_denied("{\"metadata\":{\"annotations\":{\"gpuslice.dev/sharing\":\"MPS\"}},\"spec\":"
                 "{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":"
                 "{\"gpuslice.dev/accelerator-memory\":8}}}]}}",
                 -EINVAL, "metadata.annotations[gpuslice.dev/sharing]: must be \"mps\" (the one "
                          "way to share a GPU by accelerator memory)");
}

static void prefixes(void **state)
{
    (void)state;
    assert_true(mutate_prefix_valid("gs-a1b2"));
    assert_false(mutate_prefix_valid(""));
    assert_false(mutate_prefix_valid(NULL));
    assert_false(mutate_prefix_valid("1gs"));
    assert_false(mutate_prefix_valid("gs-"));
    assert_false(mutate_prefix_valid("gs_x"));
    assert_false(mutate_prefix_valid("gs-0123456789012345678901234567890"));
    json_t *pod = pod_asking("1g.10gb", false, "1"), *ops;
    struct err e;
    assert_int_equal(mutate_pod(pod, "Bad", &ops, &e), -EINVAL);
    json_decref(pod);
}

static void excluded_namespaces(void **state)
{
    (void)state;
    assert_true(mutate_excluded_namespace("kube-system"));
    assert_true(mutate_excluded_namespace("kube-public"));
    assert_true(mutate_excluded_namespace("kube-node-lease"));
    assert_true(mutate_excluded_namespace("gpuslice-system"));
    assert_false(mutate_excluded_namespace("default"));
    assert_false(mutate_excluded_namespace(NULL));
}

/* ---- reviews ---- */

/* A review of pod (taken) in ns with operation. */
static char *review_text(json_t *pod, const char *ns, const char *op)
{
    json_t *r = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:s, s:s, "
                          "s:o}}",
                          "apiVersion", "admission.k8s.io/v1", "kind", "AdmissionReview",
                          "request", "uid", "705ab4f5-6393-11e8-b7cc-42010a800002", "kind",
                          "group", "", "version", "v1", "kind", "Pod", "resource", "group", "",
                          "version", "v1", "resource", "pods", "namespace", ns, "operation", op,
                          "object", pod);
    char *text = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    return text;
}

/* The response of a review, parsed (the caller frees the whole review). */
static json_t *answer(const char *body, enum mutate_outcome want)
{
    char *out;
    size_t len;
    enum mutate_outcome got;
    struct err e;
    if (mutate_review(body, strlen(body), PREFIX, &out, &len, &got, &e) != 0)
        fail_msg("mutate_review: %s", e.msg);
    assert_int_equal(got, want);
    assert_int_equal(strlen(out), len);
    json_t *doc = load(out);
    free(out);
    assert_string_equal(json_string_value(json_object_get(doc, "apiVersion")),
                        "admission.k8s.io/v1");
    assert_string_equal(json_string_value(json_object_get(doc, "kind")), "AdmissionReview");
    const json_t *resp = json_object_get(doc, "response");
    assert_string_equal(json_string_value(json_object_get(resp, "uid")),
                        "705ab4f5-6393-11e8-b7cc-42010a800002");
    return doc;
}

static void review_patch_is_the_mutation(void **state)
{
    (void)state;
    json_t *pod = pod_asking("1g.10gb+me", false, "1");
    char *body = review_text(json_incref(pod), "team", "CREATE");
    json_t *doc = answer(body, MUTATE_PATCHED);
    const json_t *resp = json_object_get(doc, "response");
    assert_true(json_is_true(json_object_get(resp, "allowed")));
    assert_string_equal(json_string_value(json_object_get(resp, "patchType")), "JSONPatch");
    const char *b64 = json_string_value(json_object_get(resp, "patch"));
    unsigned char *raw = malloc(strlen(b64));
    int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)strlen(b64));
    assert_true(n > 0);
    while (n > 0 && raw[n - 1] == '\0') /* the padding decodes to NULs */
        n--;
    json_t *ops = json_loadb((const char *)raw, (size_t)n, 0, NULL), *expected;
    assert_int_equal(mutate_pod(pod, PREFIX, &expected, NULL), 0);
    assert_true(json_equal(ops, expected));
    json_decref(expected);
    json_decref(ops);
    free(raw);
    json_decref(doc);
    free(body);
    json_decref(pod);
}

static void reviews_left_alone(void **state)
{
    (void)state;
    static const char *const system[] = {"kube-system", "kube-public", "kube-node-lease",
                                         "gpuslice-system"};
    for (size_t i = 0; i < 4; i++) {
        char *body = review_text(pod_asking("1g.10gb", false, "1"), system[i], "CREATE");
        json_t *doc = answer(body, MUTATE_ALLOWED);
        const json_t *resp = json_object_get(doc, "response");
        assert_true(json_is_true(json_object_get(resp, "allowed")));
        assert_null(json_object_get(resp, "patch"));
        json_decref(doc);
        free(body);
    }
    char *update = review_text(pod_asking("1g.10gb", false, "1"), "team", "UPDATE");
    json_decref(answer(update, MUTATE_ALLOWED));
    free(update);
    /* A mutated pod reviewed again (reinvocation) is allowed untouched. */
    json_t *pod = pod_asking("1g.10gb", false, "1");
    char *again = review_text(mutated(pod), "team", "CREATE");
    json_decref(answer(again, MUTATE_ALLOWED));
    free(again);
    json_decref(pod);
    /* Another resource: not ours to judge. */
    char *body = review_text(pod_asking("5g.33gb", false, "1"), "team", "CREATE");
    json_t *doc = load(body);
    json_object_set_new(json_object_get(json_object_get(doc, "request"), "resource"),
                        "resource", json_string("deployments"));
    free(body);
    body = json_dumps(doc, JSON_COMPACT);
    json_decref(answer(body, MUTATE_ALLOWED));
    free(body);
    json_decref(doc);
}

static void review_denial(void **state)
{
    (void)state;
    char *body = review_text(pod_asking("5g.33gb", false, "1"), "team", "CREATE");
    json_t *doc = answer(body, MUTATE_DENIED);
    const json_t *resp = json_object_get(doc, "response"), *st = json_object_get(resp, "status");
    assert_true(json_is_false(json_object_get(resp, "allowed")));
    assert_null(json_object_get(resp, "patch"));
    assert_int_equal(json_integer_value(json_object_get(st, "code")), 422);
    assert_string_equal(json_string_value(json_object_get(st, "reason")), "Invalid");
    assert_non_null(strstr(json_string_value(json_object_get(st, "message")),
                           "spec.containers[0].resources.requests[nvidia.com/mig-5g.33gb]: "
                           "unknown MIG profile"));
    json_decref(doc);
    free(body);
}

/* A pod whose resource key is long and not ASCII: the field named in the
 * denial is cut inside a character, and the webhook still answers (it
 * aborted on the message that is not UTF-8). */
static void review_denial_of_a_long_key(void **state)
{
    (void)state;
    char key[512] = "nvidia.com/mig-a";
    for (int i = 0; i < 120; i++)
        strcat(key, "\xc3\xa9");
    json_t *pod = json_pack("{s:{s:s}, s:{s:[{s:s, s:{s:{s:s}}}]}}", "metadata", "name", "p",
                            "spec", "containers", "name", "c", "resources", "limits", key, "x");
    assert_non_null(pod);
    char *body = review_text(pod, "team", "CREATE");
    json_t *doc = answer(body, MUTATE_DENIED);
    const json_t *st = json_object_get(json_object_get(doc, "response"), "status");
    assert_int_equal(json_integer_value(json_object_get(st, "code")), 422);
    assert_non_null(strstr(json_string_value(json_object_get(st, "message")),
                           "spec.containers[0].resources.limits[nvidia.com/mig-a"));
    json_decref(doc);
    free(body);
}

static void check_malformed(const char *body, const char *message)
{
    char *out = (char *)"x";
    size_t len = 1;
    enum mutate_outcome got;
    struct err e;
    assert_int_equal(mutate_review(body, strlen(body), PREFIX, &out, &len, &got, &e), -EBADMSG);
    assert_null(out);
    assert_int_equal(len, 0);
    assert_non_null(strstr(e.msg, message));
}

static void malformed_reviews(void **state)
{
    (void)state;
    check_malformed("", "the body is not JSON");
    check_malformed("{\"a\":1,\"a\":2}", "the body is not JSON");
    check_malformed("[]", "the body is not a JSON object");
    check_malformed("{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\"}",
                    "expected admission.k8s.io/v1 AdmissionReview");
    check_malformed("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}",
                    "request: required");
    check_malformed("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
                    "\"request\":{\"operation\":\"CREATE\"}}", "request.uid: required");
    check_malformed("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
                    "\"request\":{\"uid\":\"u\"}}", "request.operation: required");
    check_malformed("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
                    "\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\",\"object\":7}}",
                    "request.object: required for CREATE");
    char *out;
    size_t len;
    enum mutate_outcome got;
    struct err e;
    assert_int_equal(mutate_review("{}", MUTATE_MAX_BODY + 1, PREFIX, &out, &len, &got, &e),
                     -E2BIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_profile_in_every_container_kind),
        cmocka_unit_test(profile_memory_is_the_largest_rounded_up),
        cmocka_unit_test(several_containers_and_requests),
        cmocka_unit_test(a_pod_asking_for_nothing_is_untouched),
        cmocka_unit_test(reinvocation_gives_the_same_pod),
        cmocka_unit_test(requests_by_memory_are_recorded),
        cmocka_unit_test(requests_added_after_a_first_pass_are_merged),
        cmocka_unit_test(the_finalizer_comes_with_admission),
        cmocka_unit_test(invalid_requests_are_denied_saying_where),
        cmocka_unit_test(sharing_requests_are_rewritten),
        cmocka_unit_test(mps_by_memory_and_the_sharing_annotation),
        cmocka_unit_test(mps_shares_up_to_the_largest_gpu),
        cmocka_unit_test(invalid_sharing_requests_are_denied_saying_where),
        cmocka_unit_test(prefixes),
        cmocka_unit_test(excluded_namespaces),
        cmocka_unit_test(review_patch_is_the_mutation),
        cmocka_unit_test(reviews_left_alone),
        cmocka_unit_test(review_denial),
        cmocka_unit_test(review_denial_of_a_long_key),
        cmocka_unit_test(malformed_reviews),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
