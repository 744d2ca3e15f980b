/* Tests for api/pod_slices_memo: the same answers as pod_slices_of, the
 * annotation value held while remembered, and nothing kept of a bad one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "api/pod_slices_memo.h"

/* A pod whose gpuslice.dev/slices annotation is text (none when NULL)
 * and whose one container asks for mig-2g.20gb in its resources. */
static json_t *pod_with(const char *text)
{
    json_t *pod = json_pack("{s:{s:s},s:{s:[{s:s,s:{s:{s:s}}}]}}", "metadata", "name", "p",
                            "spec", "containers", "name", "main", "resources", "limits",
                            "nvidia.com/mig-2g.20gb", "1");
    if (text)
        json_object_set_new(json_object_get(pod, "metadata"), "annotations",
                            json_pack("{s:s}", GPUSLICE_ANNOTATION_SLICES, text));
    return pod;
}

static json_t *annotation_of(const json_t *pod)
{
    return json_object_get(json_object_get(json_object_get(pod, "metadata"), "annotations"),
                           GPUSLICE_ANNOTATION_SLICES);
}

static void assert_same_slices(const struct pod_slices *a, const struct pod_slices *b)
{
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->items, b->items, a->n * sizeof a->items[0]);
}

static void answers_as_pod_slices_of_and_holds_the_value(void **state)
{
    (void)state;
    struct jmemo *m = pod_slices_memo_new();
    json_t *pod = pod_with("[{\"container\":\"main\",\"profile\":\"1g.10gb\",\"count\":2}]");
    json_t *text = annotation_of(pod);
    struct pod_slices want, got;
    assert_int_equal(pod_slices_of(pod, &want, NULL), 0);
    for (int round = 0; round < 2; round++) {
        memset(&got, 0xa5, sizeof got);
        assert_int_equal(pod_slices_memo_of(m, pod, &got, NULL), 0);
        assert_same_slices(&got, &want);
        assert_int_equal(text->refcount, 2); /* the pod's and the memo's */
    }
    assert_string_equal(got.items[0].profile, "1g.10gb");
    jmemo_free(m);
    assert_int_equal(text->refcount, 1);
    json_decref(pod);
}

static void keeps_nothing_of_a_bad_annotation(void **state)
{
    (void)state;
    struct jmemo *m = pod_slices_memo_new();
    json_t *pod = pod_with("[{\"container\":\"main\"}]");
    for (int round = 0; round < 2; round++) {
        struct pod_slices got;
        struct err e = {0};
        assert_int_equal(pod_slices_memo_of(m, pod, &got, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "metadata.annotations[gpuslice.dev/slices][0]"));
        assert_int_equal(got.n, 0);
        assert_int_equal(annotation_of(pod)->refcount, 1);
    }
    jmemo_free(m);
    json_decref(pod);
}

static void reads_the_resources_without_an_annotation(void **state)
{
    (void)state;
    struct jmemo *m = pod_slices_memo_new();
    json_t *pod = pod_with(NULL);
    struct pod_slices got;
    assert_int_equal(pod_slices_memo_of(m, pod, &got, NULL), 0);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.items[0].profile, "2g.20gb");
    jmemo_free(m);
    json_decref(pod);
}

/* More pods than slots, asked about twice in turn: slots replaced by
 * others never answer for the wrong pod. */
static void many_pods_each_get_their_own(void **state)
{
    (void)state;
    enum { PODS = 300 };
    struct jmemo *m = pod_slices_memo_new();
    json_t *pods[PODS];
    for (int i = 0; i < PODS; i++) {
        char text[96];
        snprintf(text, sizeof text, "[{\"container\":\"c%d\",\"memoryGiB\":%d,\"count\":1}]", i,
                 i + 1);
        pods[i] = pod_with(text);
    }
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < PODS; i++) {
            struct pod_slices got;
            char name[16];
            snprintf(name, sizeof name, "c%d", i);
            assert_int_equal(pod_slices_memo_of(m, pods[i], &got, NULL), 0);
            assert_int_equal(got.n, 1);
            assert_string_equal(got.items[0].container, name);
            assert_int_equal(got.items[0].memory_gib, i + 1);
        }
    jmemo_free(m);
    for (int i = 0; i < PODS; i++) {
        assert_int_equal(annotation_of(pods[i])->refcount, 1);
        json_decref(pods[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answers_as_pod_slices_of_and_holds_the_value),
        cmocka_unit_test(keeps_nothing_of_a_bad_annotation),
        cmocka_unit_test(reads_the_resources_without_an_annotation),
        cmocka_unit_test(many_pods_each_get_their_own),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
