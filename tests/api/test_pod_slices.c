/* Tests for api/pod_slices: what a pod asks for, from resources or the
 * annotation, with every bad input named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "api/pod_slices.h"

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j)
        fail_msg("bad test JSON: %s", jerr.text);
    return j;
}

static void reads_every_container_kind_and_count(void **state)
{
    (void)state;
    json_t *pod = parse(
        "{\"spec\":{\"initContainers\":[{\"name\":\"prep\",\"resources\":{\"limits\":"
        "{\"nvidia.com/mig-1g.10gb\":\"1\"}}}],"
        "\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"1\","
        "\"nvidia.com/mig-1g.10gb\":2},\"limits\":{\"nvidia.com/mig-1g.10gb\":\"2\"}}},"
        "{\"name\":\"b\",\"resources\":{\"requests\":{\"nvidia.com/mig-3g.40gb\":\"1\"}}},"
        "{\"name\":\"plain\"}]}}");
    struct pod_slices s;
    assert_int_equal(pod_slices_from_resources(pod, &s, NULL), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.items[0].container, "prep");
    assert_true(s.items[0].init);
    assert_string_equal(s.items[0].profile, "1g.10gb");
    assert_string_equal(s.items[1].container, "a");
    assert_false(s.items[1].init);
    assert_int_equal(s.items[1].count, 2);
    assert_string_equal(s.items[2].profile, "3g.40gb");
    assert_int_equal(pod_slices_total(&s), 4);
    json_decref(pod);
}

static void nothing_asked_is_empty(void **state)
{
    (void)state;
    json_t *pod = parse("{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":"
                        "{\"limits\":{\"nvidia.com/gpu\":1}}}]}}");
    struct pod_slices s;
    assert_int_equal(pod_slices_of(pod, &s, NULL), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(pod_slices_total(&s), 0);
    json_decref(pod);
}

static void bad_counts_name_the_field(void **state)
{
    (void)state;
    static const struct {
        const char *pod, *want;
    } cases[] = {
        {"{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":"
         "{\"nvidia.com/mig-1g.10gb\":\"1.5\"}}}]}}",
         "spec.containers[0].resources.limits[nvidia.com/mig-1g.10gb]: must be a whole number"},
        {"{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\",\"resources\":{\"requests\":"
         "{\"nvidia.com/mig-1g.10gb\":\"500m\"}}}]}}",
         "spec.containers[1].resources.requests[nvidia.com/mig-1g.10gb]: must be a whole"},
        {"{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":"
         "{\"nvidia.com/mig-1g.10gb\":\"2\"},\"limits\":{\"nvidia.com/mig-1g.10gb\":\"3\"}}}]}}",
         "limits[nvidia.com/mig-1g.10gb]: must equal the request (2), got 3"},
        {"{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":"
         "{\"nvidia.com/mig-1g.10gb\":0}}}]}}",
         "must be a whole number from 1 to 8"},
        {"{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":"
         "{\"nvidia.com/mig-1g.10gb\":\"-1\"}}}]}}",
         "must be a whole number"},
        {"{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":"
         "{\"nvidia.com/mig-1g.10gb\":true}}}]}}",
         "must be a whole number"},
        {"{\"spec\":{\"containers\":[{\"resources\":{\"limits\":"
         "{\"nvidia.com/mig-1g.10gb\":1}}}]}}",
         "spec.containers[0]: container name must be"},
        {"{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":"
         "{\"nvidia.com/mig-\":1}}}]}}",
         "profile name must be"},
        {"{\"spec\":{\"initContainers\":[{\"name\":\"i\"},{\"name\":\"j\",\"resources\":"
         "{\"limits\":{\"nvidia.com/mig-1g.10gb\":\"1.5\"}}}],\"containers\":[{\"name\":\"a\"}]}}",
         "spec.initContainers[1].resources.limits[nvidia.com/mig-1g.10gb]: must be a whole"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *pod = parse(cases[i].pod);
        struct pod_slices s;
        struct err e = {0};
        assert_int_equal(pod_slices_from_resources(pod, &s, &e), -EINVAL);
        if (!strstr(e.msg, cases[i].want))
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, e.msg, cases[i].want);
        assert_int_equal(s.n, 0);
        json_decref(pod);
    }
}

/* s encoded is want, and pod annotated with it reads back as s (the
 * annotation winning over whatever its resources say). */
static void assert_round_trip(json_t *pod, const struct pod_slices *s, const char *want)
{
    json_t *enc = pod_slices_encode(s);
    char *text = json_dumps(enc, JSON_COMPACT);
    assert_string_equal(text, want);
    if (!json_object_get(pod, "metadata"))
        json_object_set_new(pod, "metadata", json_object());
    json_t *meta = json_object_get(pod, "metadata");
    if (!json_object_get(meta, "annotations"))
        json_object_set_new(meta, "annotations", json_object());
    json_object_set_new(json_object_get(meta, "annotations"), GPUSLICE_ANNOTATION_SLICES,
                        json_string(text));
    struct pod_slices got;
    assert_int_equal(pod_slices_of(pod, &got, NULL), 0);
    assert_int_equal(got.n, s->n);
    for (size_t i = 0; i < s->n; i++)
        assert_memory_equal(&got.items[i], &s->items[i], sizeof s->items[i]);
    free(text);
    json_decref(enc);
}

static void annotation_round_trips_and_wins(void **state)
{
    (void)state;
    struct pod_slices s = {0};
    s.n = 2;
    s.items[0] = (struct pod_slice_request){.container = "prep", .init = true,
                                            .profile = "1g.10gb+me", .count = 1};
    s.items[1] = (struct pod_slice_request){.container = "serve", .profile = "3g.40gb",
                                            .count = 2};
    /* The pod's resources say something else: the annotation wins. */
    json_t *pod = parse("{\"spec\":{\"containers\":[{\"name\":\"x\",\"resources\":{\"limits\":"
                        "{\"nvidia.com/mig-7g.80gb\":1}}}]}}");
    assert_round_trip(pod, &s, "[{\"container\":\"prep\",\"profile\":\"1g.10gb+me\",\"count\":1,"
                               "\"init\":true},{\"container\":\"serve\",\"profile\":\"3g.40gb\","
                               "\"count\":2}]");
    json_decref(pod);
}

static void bad_annotations_name_the_entry(void **state)
{
    (void)state;
    static const struct {
        const char *value, *want;
    } cases[] = {
        {"not json", "not a JSON list"},
        {"{}", "not a JSON list (wrong type)"},
        /* a key twice is refused, as jansson's reader refused it */
        {"[{\"container\":\"a\",\"container\":\"b\",\"profile\":\"1g.10gb\",\"count\":1}]",
         "duplicate object key"},
        {"[{\"container\":\"a\",\"count\":1}]", "[0]: needs container, profile or memoryGiB, count"},
        {"[{\"container\":\"a\",\"profile\":\"1g.10gb\",\"memoryGiB\":5,\"count\":1}]",
         "[0]: needs container, profile or memoryGiB, count"},
        {"[{\"container\":\"a\",\"memoryGiB\":5,\"count\":2}]",
         "[0]: memoryGiB must be from 1 to 1048576, with count 1"},
        {"[{\"container\":\"a\",\"profile\":\"1g.10gb\",\"count\":1},"
         "{\"container\":\"b\",\"profile\":\"1g.10gb\",\"count\":99}]",
         "metadata.annotations[gpuslice.dev/slices][1]: must be a whole number"},
        {"[{\"container\":\"a\",\"profile\":\"1g.10gb\",\"count\":1,\"init\":\"yes\"}]",
         "a boolean init"},
        {"[{\"profile\":\"1g.10gb\",\"count\":1}]", "container name must be"},
        {"[{\"container\":\"a\",\"sharing\":\"gpu\"}]", "[0]: sharing must be \"mps\" or"},
        {"[{\"container\":\"a\",\"sharing\":\"mps\"}]", "[0]: needs container"},
        {"[{\"container\":\"a\",\"sharing\":\"mps\",\"profile\":\"1g.10gb\",\"memoryGiB\":4}]",
         "[0]: needs container"},
        {"[{\"container\":\"a\",\"sharing\":\"timeslice\",\"memoryGiB\":4}]", "[0]: needs"},
        {"[{\"container\":\"a\",\"sharing\":\"timeslice\",\"smPercent\":4}]", "[0]: needs"},
        {"[{\"container\":\"a\",\"memoryGiB\":4,\"count\":1,\"smPercent\":4}]", "[0]: needs"},
        {"[{\"container\":\"a\",\"sharing\":\"mps\",\"memoryGiB\":4,\"smPercent\":101}]",
         "[0]: must be a whole number from 1 to 100"},
        {"[{\"container\":\"a\",\"sharing\":\"mps\",\"memoryGiB\":4,\"count\":2}]",
         "[0]: memoryGiB must be from 1 to 1048576, with count 1"},
        {"[{\"container\":\"a\",\"sharing\":\"timeslice\",\"count\":2}]",
         "[0]: a time-sliced GPU is asked once (count 1)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *pod = json_pack("{s:{s:{s:s}}}", "metadata", "annotations",
                                GPUSLICE_ANNOTATION_SLICES, cases[i].value);
        struct pod_slices s;
        struct err e = {0};
        assert_int_equal(pod_slices_from_annotation(pod, &s, &e), -EINVAL);
        if (!strstr(e.msg, cases[i].want))
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, e.msg, cases[i].want);
        json_decref(pod);
    }
    json_t *bare = parse("{}");
    struct pod_slices s;
    assert_int_equal(pod_slices_from_annotation(bare, &s, NULL), -ENOENT);
    json_decref(bare);
}

static void too_many_requests_are_refused(void **state)
{
    (void)state;
    json_t *cs = json_array();
    for (int i = 0; i <= POD_SLICES_MAX; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        json_array_append_new(cs, json_pack("{s:s, s:{s:{s:i}}}", "name", name, "resources",
                                            "limits", "nvidia.com/mig-1g.10gb", 1));
    }
    json_t *pod = json_pack("{s:{s:o}}", "spec", "containers", cs);
    struct pod_slices s;
    struct err e;
    assert_int_equal(pod_slices_from_resources(pod, &s, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "more than 32 slice requests"));
    json_decref(pod);
}

static void gates_are_read(void **state)
{
    (void)state;
    json_t *pod = parse("{\"spec\":{\"schedulingGates\":[{\"name\":\"kueue.x-k8s.io/admission\"},"
                        "{\"name\":\"gpuslice.dev/slice\"}]}}");
    assert_true(pod_gated(pod, GPUSLICE_GATE));
    assert_true(pod_gated(pod, "kueue.x-k8s.io/admission"));
    assert_false(pod_gated(pod, "other"));
    assert_int_equal(pod_gate_count(pod), 2);
    json_t *none = parse("{\"spec\":{}}");
    assert_false(pod_gated(none, GPUSLICE_GATE));
    assert_int_equal(pod_gate_count(none), 0);
    json_decref(pod);
    json_decref(none);
}

static void configmap_names_follow_the_prefix(void **state)
{
    (void)state;
    char name[254];
    json_t *pod = parse("{\"metadata\":{\"name\":\"train-x7k2p\"}}");
    pod_configmap_name(pod, "main", name);
    assert_string_equal(name, "train-x7k2p-main");
    json_object_set_new(json_object_get(pod, "metadata"), "annotations",
                        json_pack("{s:s}", GPUSLICE_ANNOTATION_CONFIG, "gs-4f2a9c"));
    pod_configmap_name(pod, "main", name);
    assert_string_equal(name, "gs-4f2a9c-main");
    json_decref(pod);
    /* The prefix given (the webhook's, before the pod has it) names alike. */
    char given[254];
    pod_configmap_name_of("gs-4f2a9c", "main", given);
    assert_string_equal(given, name);
    pod_configmap_name_of(NULL, "main", given);
    assert_string_equal(given, "pod-main");
}

/* gpuslice.dev/accelerator-memory alone is a request by memory; beside
 * nvidia.com/mig-* it is not; it round-trips through the annotation. */
static void requests_by_memory(void **state)
{
    (void)state;
    json_t *pod = json_loads(
        "{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":"
        "{\"gpuslice.dev/accelerator-memory\":\"12\"},\"requests\":"
        "{\"gpuslice.dev/accelerator-memory\":12}}},"
        "{\"name\":\"b\",\"resources\":{\"limits\":{\"nvidia.com/mig-1g.10gb\":1,"
        "\"gpuslice.dev/accelerator-memory\":\"10\"}}}]}}", 0, NULL);
    struct pod_slices s;
    struct err e;
    assert_int_equal(pod_slices_from_resources(pod, &s, &e), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.items[0].memory_gib, 12);
    assert_int_equal(s.items[0].count, 1);
    assert_string_equal(s.items[1].profile, "1g.10gb");
    assert_int_equal(s.items[1].memory_gib, 0);
    json_t *enc = pod_slices_encode(&s);
    char *text = json_dumps(enc, JSON_COMPACT);
    assert_string_equal(text, "[{\"container\":\"a\",\"memoryGiB\":12,\"count\":1},"
                              "{\"container\":\"b\",\"profile\":\"1g.10gb\",\"count\":1}]");
    json_t *annotated = json_pack("{s:{s:{s:s}}}", "metadata", "annotations",
                                  GPUSLICE_ANNOTATION_SLICES, text);
    struct pod_slices back;
    assert_int_equal(pod_slices_from_annotation(annotated, &back, &e), 0);
    assert_int_equal(back.n, 2);
    assert_int_equal(back.items[0].memory_gib, 12);
    free(text);
    json_decref(enc);
    json_decref(annotated);
    json_decref(pod);
    pod = json_loads("{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":"
                     "{\"gpuslice.dev/accelerator-memory\":\"12\"},\"requests\":"
                     "{\"gpuslice.dev/accelerator-memory\":\"10\"}}}]}}", 0, NULL);
    assert_int_equal(pod_slices_from_resources(pod, &s, &e), -EINVAL);
    assert_string_equal(e.msg, "spec.containers[0].resources.limits[gpuslice.dev/accelerator-"
                               "memory]: must equal the request (10), got 12");
    json_decref(pod);
}

static void a_container_s_accelerator_memory_is_read(void **state)
{
    (void)state;
    json_t *pod = json_loads(
        "{\"spec\":{\"initContainers\":[{\"name\":\"prep\",\"resources\":{\"requests\":"
        "{\"gpuslice.dev/accelerator-memory\":\"5\"}}}],\"containers\":[{\"name\":\"main\","
        "\"resources\":{\"limits\":{\"gpuslice.dev/accelerator-memory\":20}}},"
        "{\"name\":\"side\"},{\"name\":\"bad\",\"resources\":{\"requests\":"
        "{\"gpuslice.dev/accelerator-memory\":\"1.5\"}}}]}}", 0, NULL);
    unsigned gib = 99;
    struct err e;
    assert_int_equal(pod_container_memory_gib(pod, "main", false, &gib, NULL), 0);
    assert_int_equal(gib, 20);
    assert_int_equal(pod_container_memory_gib(pod, "prep", true, &gib, NULL), 0);
    assert_int_equal(gib, 5);
    assert_int_equal(pod_container_memory_gib(pod, "side", false, &gib, NULL), 0);
    assert_int_equal(gib, 0);
    assert_int_equal(pod_container_memory_gib(pod, "prep", false, &gib, &e), -ENOENT);
    assert_string_equal(e.msg, "the pod has no container \"prep\"");
    assert_int_equal(pod_container_memory_gib(pod, "bad", false, &gib, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "spec.containers[2].resources.requests"));
    json_decref(pod);
}

/* A pod with the given annotations (a JSON object's inside) and containers. */
static json_t *sharing_pod(const char *annotations, const char *containers)
{
    char text[2048];
    snprintf(text, sizeof text, "{\"metadata\":{\"annotations\":{%s}},\"spec\":{\"containers\":"
             "[%s]}}", annotations, containers);
    return parse(text);
}

static void sharing_requests_are_read_and_recorded(void **state)
{
    (void)state;
    json_t *pod = sharing_pod(
        "\"gpuslice.dev/mps-sm-percent\":\"30\"",
        "{\"name\":\"mps\",\"resources\":{\"limits\":{\"nvidia.com/gpu-8gb\":\"1\"},"
        "\"requests\":{\"nvidia.com/gpu-8gb\":1}}},"
        "{\"name\":\"ts\",\"resources\":{\"requests\":{\"nvidia.com/gpu.shared\":\"1\"}}},"
        "{\"name\":\"whole\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":1}}}");
    struct pod_slices s;
    assert_int_equal(pod_slices_from_resources(pod, &s, NULL), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.items[0].sharing, POD_SHARING_MPS);
    assert_int_equal(s.items[0].memory_gib, 8);
    assert_int_equal(s.items[0].sm_percent, 30);
    assert_int_equal(s.items[0].count, 1);
    assert_int_equal(s.items[1].sharing, POD_SHARING_TIMESLICE);
    assert_int_equal(s.items[1].memory_gib, 0);
    assert_int_equal(s.items[1].sm_percent, 0);
    assert_true(pod_slices_sharing(&s, POD_SHARING_MPS));
    assert_true(pod_slices_sharing(&s, POD_SHARING_TIMESLICE));
    assert_round_trip(pod, &s, "[{\"container\":\"mps\",\"sharing\":\"mps\",\"memoryGiB\":8,"
                               "\"smPercent\":30},{\"container\":\"ts\",\"sharing\":\"timeslice\"}]");
    json_decref(pod);
}

static void mps_by_accelerator_memory(void **state)
{
    (void)state;
    json_t *pod = sharing_pod("\"gpuslice.dev/sharing\":\"mps\"",
                              "{\"name\":\"a\",\"resources\":{\"limits\":"
                              "{\"gpuslice.dev/accelerator-memory\":\"12\"}}}");
    struct pod_slices s;
    assert_int_equal(pod_slices_from_resources(pod, &s, NULL), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.items[0].sharing, POD_SHARING_MPS);
    assert_int_equal(s.items[0].memory_gib, 12);
    assert_int_equal(s.items[0].sm_percent, 0); /* proportional, resolved at placement */
    assert_false(pod_slices_sharing(&s, POD_SHARING_TIMESLICE));
    json_decref(pod);
    /* Without the annotation the same memory asks for a MIG slice. */
    pod = sharing_pod("", "{\"name\":\"a\",\"resources\":{\"limits\":"
                          "{\"gpuslice.dev/accelerator-memory\":\"12\"}}}");
    assert_int_equal(pod_slices_from_resources(pod, &s, NULL), 0);
    assert_int_equal(s.items[0].sharing, POD_SHARING_NONE);
    json_decref(pod);
    /* An SM share is read only beside MPS: a MIG pod's is ignored. */
    pod = sharing_pod("\"gpuslice.dev/mps-sm-percent\":\"500\"",
                      "{\"name\":\"a\",\"resources\":{\"requests\":{\"nvidia.com/mig-1g.10gb\":1}}}");
    assert_int_equal(pod_slices_from_resources(pod, &s, NULL), 0);
    assert_int_equal(s.n, 1);
    json_decref(pod);
}

static void bad_sharing_requests_name_the_field(void **state)
{
    (void)state;
    static const struct {
        const char *annotations, *containers, *want;
    } cases[] = {
        {"", "{\"name\":\"a\",\"resources\":{\"limits\":{\"nvidia.com/gpu-8gb\":\"1\","
             "\"nvidia.com/mig-1g.10gb\":\"1\"}}}",
         "spec.containers[0].resources: a container asks for MIG slices or a shared GPU, not "
         "both an MPS share of 8 GiB and nvidia.com/mig-1g.10gb"},
        {"", "{\"name\":\"a\"},{\"name\":\"b\",\"resources\":{\"requests\":"
             "{\"nvidia.com/gpu-8gb\":1,\"nvidia.com/gpu.shared\":1}}}",
         "spec.containers[1].resources: a container asks for one shared GPU, not both an MPS "
         "share of 8 GiB and nvidia.com/gpu.shared"},
        {"", "{\"name\":\"a\",\"resources\":{\"requests\":{\"nvidia.com/gpu-8gb\":1,"
             "\"nvidia.com/gpu-16gb\":1}}}",
         "a container asks for one shared GPU, not both an MPS share of 8 GiB and an MPS share "
         "of 16 GiB"},
        {"", "{\"name\":\"a\",\"resources\":{\"limits\":{\"nvidia.com/gpu-8gb\":\"2\"}}}",
         "spec.containers[0].resources.limits[nvidia.com/gpu-8gb]: a shared GPU is asked once "
         "per container: must be 1, got 2"},
        {"", "{\"name\":\"a\",\"resources\":{\"requests\":{\"nvidia.com/gpu.shared\":3}}}",
         "spec.containers[0].resources.requests[nvidia.com/gpu.shared]: a shared GPU is asked "
         "once per container: must be 1, got 3"},
        {"", "{\"name\":\"a\",\"resources\":{\"requests\":{\"nvidia.com/gpu.shared\":0}}}",
         "requests[nvidia.com/gpu.shared]: must be a whole number from 1 to 8"},
        {"", "{\"name\":\"a\",\"resources\":{\"requests\":{\"nvidia.com/gpu-0gb\":1}}}",
         "spec.containers[0].resources.requests[nvidia.com/gpu-0gb]: the memory of an MPS share "
         "must be from 1 to 1048576 GiB (nvidia.com/gpu-<N>gb)"},
        {"", "{\"name\":\"a\",\"resources\":{\"requests\":{\"nvidia.com/gpu-99999999999gb\":1}}}",
         "the memory of an MPS share must be from 1 to"},
        {"\"gpuslice.dev/mps-sm-percent\":\"101\"",
         "{\"name\":\"a\",\"resources\":{\"requests\":{\"nvidia.com/gpu-8gb\":1}}}",
         "metadata.annotations[gpuslice.dev/mps-sm-percent]: must be a whole number from 1 to "
         "100"},
        {"\"gpuslice.dev/mps-sm-percent\":\"0\"",
         "{\"name\":\"a\",\"resources\":{\"requests\":{\"nvidia.com/gpu-8gb\":1}}}",
         "[gpuslice.dev/mps-sm-percent]: must be a whole number from 1 to 100"},
        {"\"gpuslice.dev/mps-sm-percent\":\"33.5\"",
         "{\"name\":\"a\",\"resources\":{\"requests\":{\"nvidia.com/gpu-8gb\":1}}}",
         "[gpuslice.dev/mps-sm-percent]: must be a whole number from 1 to 100"},
        {"\"gpuslice.dev/sharing\":\"timeslice\"",
         "{\"name\":\"a\",\"resources\":{\"requests\":{\"gpuslice.dev/accelerator-memory\":1}}}",
         "metadata.annotations[gpuslice.dev/sharing]: must be \"mps\""},
        {"\"gpuslice.dev/sharing\":\"mps\"",
         "{\"name\":\"a\",\"resources\":{\"requests\":{\"gpuslice.dev/accelerator-memory\":0}}}",
         "requests[gpuslice.dev/accelerator-memory]: must be a whole number from 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *pod = sharing_pod(cases[i].annotations, cases[i].containers);
        struct pod_slices s;
        struct err e = {0};
        if (pod_slices_from_resources(pod, &s, &e) != -EINVAL || !strstr(e.msg, cases[i].want))
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, e.msg, cases[i].want);
        assert_int_equal(s.n, 0);
        json_decref(pod);
    }
}

static void resources_of_ours_and_sharing_names(void **state)
{
    (void)state;
    assert_true(pod_slices_resource_ours("nvidia.com/mig-1g.10gb"));
    assert_true(pod_slices_resource_ours("nvidia.com/gpu-8gb"));
    assert_true(pod_slices_resource_ours("nvidia.com/gpu-0gb"));
    assert_true(pod_slices_resource_ours("nvidia.com/gpu.shared"));
    assert_false(pod_slices_resource_ours("nvidia.com/gpu"));
    assert_false(pod_slices_resource_ours("nvidia.com/gpu-gb"));
    assert_false(pod_slices_resource_ours("nvidia.com/gpu-8tb"));
    assert_false(pod_slices_resource_ours("nvidia.com/gpu-x8gb"));
    assert_false(pod_slices_resource_ours(GPUSLICE_RESOURCE_MEMORY));
    assert_string_equal(pod_sharing_name(POD_SHARING_MPS), "mps");
    assert_string_equal(pod_sharing_name(POD_SHARING_TIMESLICE), "timeslice");
    assert_string_equal(pod_sharing_name(POD_SHARING_NONE), "");
    enum pod_sharing k = POD_SHARING_NONE;
    assert_int_equal(pod_sharing_parse("timeslice", &k), 0);
    assert_int_equal(k, POD_SHARING_TIMESLICE);
    assert_int_equal(pod_sharing_parse("mps", &k), 0);
    assert_int_equal(k, POD_SHARING_MPS);
    assert_int_equal(pod_sharing_parse("", &k), -EINVAL);
    assert_int_equal(pod_sharing_parse(NULL, &k), -EINVAL);
    struct pod_slices none = {0};
    assert_false(pod_slices_sharing(&none, POD_SHARING_MPS));
    /* A sharing entry may spell its count, as 1. */
    json_t *pod = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", GPUSLICE_ANNOTATION_SLICES,
                            "[{\"container\":\"a\",\"sharing\":\"timeslice\",\"count\":1}]");
    struct pod_slices s;
    assert_int_equal(pod_slices_from_annotation(pod, &s, NULL), 0);
    assert_int_equal(s.items[0].sharing, POD_SHARING_TIMESLICE);
    json_decref(pod);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(requests_by_memory),
        cmocka_unit_test(sharing_requests_are_read_and_recorded),
        cmocka_unit_test(mps_by_accelerator_memory),
        cmocka_unit_test(bad_sharing_requests_name_the_field),
        cmocka_unit_test(resources_of_ours_and_sharing_names),
        cmocka_unit_test(reads_every_container_kind_and_count),
        cmocka_unit_test(nothing_asked_is_empty),
        cmocka_unit_test(bad_counts_name_the_field),
        cmocka_unit_test(annotation_round_trips_and_wins),
        cmocka_unit_test(bad_annotations_name_the_entry),
        cmocka_unit_test(too_many_requests_are_refused),
        cmocka_unit_test(gates_are_read),
        cmocka_unit_test(configmap_names_follow_the_prefix),
        cmocka_unit_test(a_container_s_accelerator_memory_is_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
