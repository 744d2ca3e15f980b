/* Tests for util/err: codes pass through, messages are bounded and prefixed. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "util/err.h"

static void set_returns_code_and_formats(void **state)
{
    (void)state;
    struct err e;
    err_clear(&e);
    assert_int_equal(err_set(&e, -EINVAL, "bad %s at %d", "profile", 3), -EINVAL);
    assert_int_equal(e.code, -EINVAL);
    assert_string_equal(e.msg, "bad profile at 3");
}

static void set_with_null_only_returns_code(void **state)
{
    (void)state;
    assert_int_equal(err_set(NULL, -ENOENT, "x"), -ENOENT);
    /* A failure passed on without a struct err stays a failure: err_prefix
     * once returned 0 here, turning `return err_prefix(NULL, ...)` into a
     * success. */
    assert_int_equal(err_prefix(NULL, -EIO, "y"), -EIO);
    err_clear(NULL);
}

static void long_message_is_truncated(void **state)
{
    (void)state;
    char big[2 * ERR_MSG_MAX];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct err e;
    err_set(&e, -E2BIG, "%s", big);
    assert_int_equal(strlen(e.msg), ERR_MSG_MAX - 1);
}

/* What messages must be: text jansson takes as a JSON string (UTF-8). */
static bool fits_a_json_string(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

/* A message cut inside a character (a long non-ASCII name it echoes) ends
 * before it, and bytes that are not UTF-8 (a client's raw bytes) read '?':
 * every message can go into a JSON string. */
static void messages_are_always_utf8(void **state)
{
    (void)state;
    char big[2 * ERR_MSG_MAX] = "x";
    for (size_t i = 1; i + 2 < sizeof big; i += 2)
        memcpy(big + i, "\xc3\xa9", 3); /* x then é...: the cut falls inside one */
    struct err e;
    err_set(&e, -EINVAL, "y%s", big);
    assert_true(fits_a_json_string(e.msg));
    assert_int_equal(strlen(e.msg), ERR_MSG_MAX - 2);
    err_set(&e, -ENOENT, "pods \"%s\" not found", "a\xff\xc3z");
    assert_string_equal(e.msg, "pods \"a??z\" not found");
    err_set(&e, -EINVAL, "name %s", "\xc3\xa9\xe2\x82");
    assert_string_equal(e.msg, "name \xc3\xa9");
    err_set(&e, -EINVAL, "tail");
    assert_int_equal(err_prefix(&e, -EINVAL, "%s: ", big), -EINVAL);
    assert_true(fits_a_json_string(e.msg));
    err_set(&e, -EINVAL, "\xff");
    assert_int_equal(err_prefix(&e, -EINVAL, "at \xfe: "), -EINVAL);
    assert_string_equal(e.msg, "at ?: ?");
}

static void prefix_adds_context(void **state)
{
    (void)state;
    struct err e;
    err_set(&e, -EINVAL, "unknown model \"X100\"");
    assert_int_equal(err_prefix(&e, -EINVAL, "%s:%d:%d: ", "c.yaml", 3, 7), -EINVAL);
    assert_string_equal(e.msg, "c.yaml:3:7: unknown model \"X100\"");
}

static void prefix_records_the_code_it_is_given(void **state)
{
    (void)state;
    struct err e;
    err_clear(&e); /* a callee that failed without saying why */
    assert_int_equal(err_prefix(&e, -ENOMEM, "loading %s: ", "x"), -ENOMEM);
    assert_int_equal(e.code, -ENOMEM);
    assert_string_equal(e.msg, "loading x: ");
}

static void clear_resets(void **state)
{
    (void)state;
    struct err e;
    err_set(&e, -EIO, "io");
    err_clear(&e);
    assert_int_equal(e.code, 0);
    assert_string_equal(e.msg, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_returns_code_and_formats),
        cmocka_unit_test(set_with_null_only_returns_code),
        cmocka_unit_test(long_message_is_truncated),
        cmocka_unit_test(messages_are_always_utf8),
        cmocka_unit_test(prefix_adds_context),
        cmocka_unit_test(prefix_records_the_code_it_is_given),
        cmocka_unit_test(clear_resets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
