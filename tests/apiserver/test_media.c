/* Tests for cluster/media: Content-Type kinds and Accept negotiation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "apiserver/media.h"

static void body_types(void **state)
{
    (void)state;
    assert_int_equal(media_body_type(NULL), MEDIA_BODY_JSON);
    assert_int_equal(media_body_type(""), MEDIA_BODY_JSON);
    assert_int_equal(media_body_type("application/json; charset=utf-8"), MEDIA_BODY_JSON);
    assert_int_equal(media_body_type("Application/YAML"), MEDIA_BODY_YAML);
    assert_int_equal(media_body_type("application/merge-patch+json"), MEDIA_BODY_MERGE_PATCH);
    assert_int_equal(media_body_type("application/json-patch+json"), MEDIA_BODY_JSON_PATCH);
    assert_int_equal(media_body_type("application/strategic-merge-patch+json"),
                     MEDIA_BODY_STRATEGIC_PATCH);
    assert_int_equal(media_body_type("application/apply-patch+yaml"), MEDIA_BODY_APPLY_PATCH);
    assert_int_equal(media_body_type("application/vnd.kubernetes.protobuf"), MEDIA_BODY_PROTOBUF);
    assert_int_equal(media_body_type("text/plain"), MEDIA_BODY_UNSUPPORTED);
    assert_int_equal(media_body_type("application/jsonx"), MEDIA_BODY_UNSUPPORTED);
}

static enum media_answer answer(const char *accept, const char **version)
{
    enum media_answer a;
    assert_int_equal(media_answer_type(accept, &a, version, NULL), 0);
    return a;
}

static void answers(void **state)
{
    (void)state;
    const char *v;
    assert_int_equal(answer(NULL, &v), MEDIA_ANSWER_JSON);
    assert_int_equal(answer("*/*", &v), MEDIA_ANSWER_JSON);
    assert_int_equal(answer("application/vnd.kubernetes.protobuf, application/json", &v),
                     MEDIA_ANSWER_JSON);
    assert_int_equal(answer("application/json;as=Table;v=v1;g=meta.k8s.io,application/json", &v),
                     MEDIA_ANSWER_TABLE);
    assert_string_equal(v, "v1");
    assert_int_equal(answer("application/json; as=Table; g=meta.k8s.io; v=v1beta1", &v),
                     MEDIA_ANSWER_TABLE);
    assert_string_equal(v, "v1beta1");
    assert_int_equal(answer("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
                            &v),
                     MEDIA_ANSWER_PARTIAL);
    /* Aggregated discovery is not offered: the plain JSON range is taken. */
    assert_int_equal(answer("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                            "application/json",
                            &v),
                     MEDIA_ANSWER_JSON);
    assert_int_equal(answer("application/json;as=Table;v=v2;g=meta.k8s.io,application/json", &v),
                     MEDIA_ANSWER_JSON);
}

static void nothing_acceptable(void **state)
{
    (void)state;
    enum media_answer a;
    const char *v;
    struct err e;
    assert_int_equal(media_answer_type("application/vnd.kubernetes.protobuf", &a, &v, &e),
                     -ENOTSUP);
    assert_non_null(strstr(e.msg, "application/json"));
    assert_int_equal(media_answer_type("application/json;as=Table", &a, &v, &e), -ENOTSUP);
    assert_int_equal(media_answer_type(",,,", &a, &v, &e), -ENOTSUP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(body_types),
        cmocka_unit_test(answers),
        cmocka_unit_test(nothing_acceptable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
