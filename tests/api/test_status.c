/* Tests for api/status: the errno <-> Status table, both directions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "api/status.h"

static void codes_map_to_reasons_and_http(void **state)
{
    (void)state;
    assert_string_equal(status_reason(-ENOENT), "NotFound");
    assert_int_equal(status_http(-ENOENT), 404);
    assert_string_equal(status_reason(-ESTALE), "Conflict");
    assert_int_equal(status_http(-EEXIST), 409);
    assert_string_equal(status_reason(-EKEYEXPIRED), "Expired");
    assert_int_equal(status_http(-EKEYEXPIRED), 410);
    assert_int_equal(status_http(-EINVAL), 422);
    assert_int_equal(status_http(-E2BIG), 413);
    assert_int_equal(status_http(-EAGAIN), 429);
    assert_int_equal(status_http(-ETIMEDOUT), 504);
    assert_string_equal(status_reason(0), "");
    assert_int_equal(status_http(0), 200);
}

static void unknown_code_is_internal_error(void **state)
{
    (void)state;
    assert_string_equal(status_reason(-ENOSPC), "InternalError");
    assert_int_equal(status_http(-ENOSPC), 500);
}

static void from_err_builds_a_status(void **state)
{
    (void)state;
    struct err e;
    err_set(&e, -ENOENT, "pods \"x\" not found");
    json_t *st = status_from_err(&e, "", "pods", "x");
    assert_non_null(st);
    assert_string_equal(json_string_value(json_object_get(st, "kind")), "Status");
    assert_string_equal(json_string_value(json_object_get(st, "status")), "Failure");
    assert_string_equal(json_string_value(json_object_get(st, "reason")), "NotFound");
    assert_string_equal(json_string_value(json_object_get(st, "message")), "pods \"x\" not found");
    assert_int_equal(json_integer_value(json_object_get(st, "code")), 404);
    json_t *d = json_object_get(st, "details");
    assert_string_equal(json_string_value(json_object_get(d, "name")), "x");
    assert_string_equal(json_string_value(json_object_get(d, "kind")), "pods");
    json_decref(st);
}

/* A name from the URL, or a message written past err_set, that is not
 * UTF-8 still makes the Status (once NULL, which the API server answered
 * as 500 "out of memory"). */
static void raw_bytes_still_make_a_status(void **state)
{
    (void)state;
    struct err e = {.code = -EINVAL};
    snprintf(e.msg, sizeof e.msg, "Pod \"p\" is invalid: metadata.name: \xff");
    json_t *st = status_from_err(&e, "", "pods", "p");
    assert_non_null(st);
    assert_int_equal(json_integer_value(json_object_get(st, "code")), 422);
    assert_string_equal(json_string_value(json_object_get(st, "message")),
                        "Pod \"p\" is invalid: metadata.name: ?");
    json_decref(st);
    err_set(&e, -ENOENT, "not found");
    st = status_from_err(&e, "\xfe", "pods", "x\xc3");
    assert_non_null(st);
    json_t *d = json_object_get(st, "details");
    assert_string_equal(json_string_value(json_object_get(d, "name")), "x");
    assert_string_equal(json_string_value(json_object_get(d, "group")), "?");
    json_decref(st);
}

/* kube-apiserver's NewInvalid: the Kind and a cause per field, which is
 * what makes kubectl print the message and not only `The pods "x" is
 * invalid`. */
static void an_invalid_status_names_its_field(void **state)
{
    (void)state;
    struct err e;
    err_set(&e, -EINVAL, "Pod \"p\" is invalid: metadata.name: Invalid value: \"P\": bad");
    json_t *st = status_from_err(&e, "", "pods", "p");
    assert_int_equal(json_integer_value(json_object_get(st, "code")), 422);
    json_t *d = json_object_get(st, "details");
    assert_string_equal(json_string_value(json_object_get(d, "kind")), "Pod");
    assert_string_equal(json_string_value(json_object_get(d, "name")), "p");
    json_t *cause = json_array_get(json_object_get(d, "causes"), 0);
    assert_string_equal(json_string_value(json_object_get(cause, "field")), "metadata.name");
    assert_string_equal(json_string_value(json_object_get(cause, "message")),
                        "Invalid value: \"P\": bad");
    assert_string_equal(json_string_value(json_object_get(cause, "reason")),
                        "FieldValueInvalid");
    json_decref(st);
    /* Not of that form: no details, so kubectl prints the message. */
    err_set(&e, -EINVAL, "something is wrong with it");
    st = status_from_err(&e, "", "pods", "p");
    assert_null(json_object_get(st, "details"));
    assert_string_equal(json_string_value(json_object_get(st, "message")),
                        "something is wrong with it");
    json_decref(st);
}

static void success_status_has_no_reason(void **state)
{
    (void)state;
    struct err e;
    err_clear(&e);
    json_t *st = status_from_err(&e, NULL, NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(st, "status")), "Success");
    assert_null(json_object_get(st, "reason"));
    assert_null(json_object_get(st, "details"));
    assert_int_equal(json_integer_value(json_object_get(st, "code")), 200);
    struct err back;
    err_set(&back, -EIO, "stale");
    assert_int_equal(status_to_err(st, 200, &back), 0);
    assert_int_equal(back.code, 0);
    json_decref(st);
}

static void every_code_round_trips(void **state)
{
    (void)state;
    const int codes[] = {-EBADMSG, -EACCES, -EPERM, -ENOENT, -ENOSYS, -ENOTSUP,
                         -EEXIST, -ESTALE, -EKEYEXPIRED, -E2BIG, -EMEDIUMTYPE,
                         -EINVAL, -EAGAIN, -EIO, -EBUSY, -ETIMEDOUT, -ETIME};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        struct err e, back;
        err_set(&e, codes[i], "message %zu", i);
        json_t *st = status_from_err(&e, NULL, NULL, NULL);
        assert_int_equal(status_to_err(st, status_http(codes[i]), &back), codes[i]);
        assert_int_equal(back.code, codes[i]);
        assert_string_equal(back.msg, e.msg);
        json_decref(st);
    }
}

/* kube-apiserver's NewTooLargeResourceVersionError, which client-go reads
 * as "relist": a Timeout (504) told apart from other timeouts by its cause. */
static void too_large_resource_version_is_the_api_servers_status(void **state)
{
    (void)state;
    struct err e;
    err_set(&e, -ETIME, "Too large resource version: 101, current: 2");
    json_t *st = status_from_err(&e, NULL, NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(st, "reason")), "Timeout");
    assert_int_equal(json_integer_value(json_object_get(st, "code")), 504);
    assert_string_equal(json_string_value(json_object_get(st, "message")),
                        "Timeout: Too large resource version: 101, current: 2");
    json_t *d = json_object_get(st, "details");
    assert_int_equal(json_integer_value(json_object_get(d, "retryAfterSeconds")), 1);
    json_t *cause = json_array_get(json_object_get(d, "causes"), 0);
    assert_string_equal(json_string_value(json_object_get(cause, "reason")),
                        "ResourceVersionTooLarge");
    assert_string_equal(json_string_value(json_object_get(cause, "message")),
                        "Too large resource version");
    json_decref(st);
    /* A Timeout without that cause is any other timeout. */
    st = json_pack("{s:s, s:s, s:s, s:s, s:i}", "kind", "Status", "status", "Failure", "reason",
                   "Timeout", "message", "Timeout: request did not complete", "code", 504);
    assert_int_equal(status_to_err(st, 504, &e), -ETIMEDOUT);
    json_decref(st);
}

static void parse_falls_back_to_http_then_eio(void **state)
{
    (void)state;
    struct err e;
    json_t *st = json_pack("{s:s, s:s, s:s, s:i}", "kind", "Status", "status", "Failure",
                           "reason", "SomethingNew", "code", 404);
    assert_int_equal(status_to_err(st, 0, &e), -ENOENT);
    assert_string_equal(e.msg, "SomethingNew (HTTP 404)");
    json_decref(st);
    st = json_pack("{s:s, s:s, s:s}", "kind", "Status", "status", "Failure", "reason", "Gone");
    assert_int_equal(status_to_err(st, 410, &e), -EKEYEXPIRED);
    json_decref(st);
    st = json_pack("{s:s, s:s}", "kind", "Status", "status", "Failure");
    assert_int_equal(status_to_err(st, 599, &e), -EIO);
    json_decref(st);
}

static void non_status_body_uses_http(void **state)
{
    (void)state;
    struct err e;
    json_t *body = json_pack("{s:s}", "kind", "Pod");
    assert_int_equal(status_to_err(body, 409, &e), -EEXIST);
    assert_string_equal(e.msg, "HTTP 409 without a Status body");
    assert_int_equal(status_to_err(NULL, 502, &e), -EIO);
    json_decref(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(codes_map_to_reasons_and_http),
        cmocka_unit_test(unknown_code_is_internal_error),
        cmocka_unit_test(from_err_builds_a_status),
        cmocka_unit_test(raw_bytes_still_make_a_status),
        cmocka_unit_test(too_large_resource_version_is_the_api_servers_status),
        cmocka_unit_test(an_invalid_status_names_its_field),
        cmocka_unit_test(success_status_has_no_reason),
        cmocka_unit_test(every_code_round_trips),
        cmocka_unit_test(parse_falls_back_to_http_then_eio),
        cmocka_unit_test(non_status_body_uses_http),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
