/* Tests for util/utf8: the scrub leaves alone exactly what jansson judges
 * well-formed, and makes any bytes so. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "util/utf8.h"

static bool jansson_accepts(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

static void scrub_keeps_what_jansson_accepts(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "", "plain", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf",
        "\xff", "\xc3", "a\xc3(", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\x80", "\xe2\x82", "\xf0\x9f\x98",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char buf[16];
        strcpy(buf, texts[i]);
        assert_int_equal(strcmp(utf8_scrub(buf), texts[i]) == 0, jansson_accepts(texts[i]));
    }
}

static void scrub(const char *in, const char *want)
{
    char buf[64];
    strcpy(buf, in);
    assert_ptr_equal(utf8_scrub(buf), buf);
    assert_string_equal(buf, want);
    assert_true(jansson_accepts(buf));
}

static void scrub_replaces_bad_bytes_and_drops_a_cut_character(void **state)
{
    (void)state;
    scrub("caf\xc3\xa9", "caf\xc3\xa9");
    scrub("a\xff" "b", "a?b");
    scrub("\xc0\xaf", "??");
    scrub("\xed\xa0\x80x", "???x");
    scrub("a\xc3(", "a?(");
    scrub("\x80\x80", "??");
    scrub("ok \xe2\x82", "ok ");
    scrub("ok \xf0\x9f\x98", "ok ");
    scrub("\xc3", "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scrub_keeps_what_jansson_accepts),
        cmocka_unit_test(scrub_replaces_bad_bytes_and_drops_a_cut_character),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
