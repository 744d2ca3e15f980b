/* Tests for util/base64: RFC 4648's vectors in both alphabets, round trips
 * of every byte value, the decoder's leniency (white space, missing
 * padding, either alphabet) and what it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"

static void assert_encodes(const char *in, enum base64_alphabet a, const char *want)
{
    char *got = base64_encode(in, strlen(in), a);
    assert_string_equal(got, want);
    free(got);
}

static void assert_decodes(const char *in, const char *want)
{
    unsigned char *got = NULL;
    size_t len = 0;
    assert_int_equal(base64_decode(in, &got, &len), 0);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(got, want, len);
    assert_int_equal(got[len], '\0');
    free(got);
}

/* RFC 4648, section 10. */
static void rfc_vectors_encode(void **state)
{
    (void)state;
    static const char *const vectors[][3] = {
        {"", "", ""},           {"f", "Zg==", "Zg"},         {"fo", "Zm8=", "Zm8"},
        {"foo", "Zm9v", "Zm9v"}, {"foob", "Zm9vYg==", "Zm9vYg"}, {"fooba", "Zm9vYmE=", "Zm9vYmE"},
        {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        assert_encodes(vectors[i][0], BASE64_STD, vectors[i][1]);
        assert_encodes(vectors[i][0], BASE64_URL, vectors[i][2]);
        assert_decodes(vectors[i][1], vectors[i][0]);
        assert_decodes(vectors[i][2], vectors[i][0]);
    }
}

/* The 62nd and 63rd characters differ between the alphabets. */
static void alphabets_differ_where_they_should(void **state)
{
    (void)state;
    const unsigned char bytes[] = {0xfb, 0xff, 0xbf};
    char *std = base64_encode(bytes, 3, BASE64_STD), *url = base64_encode(bytes, 3, BASE64_URL);
    assert_string_equal(std, "+/+/");
    assert_string_equal(url, "-_-_");
    unsigned char *back;
    size_t len;
    assert_int_equal(base64_decode(url, &back, &len), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(back, bytes, 3);
    free(back);
    free(std);
    free(url);
}

static void every_byte_round_trips(void **state)
{
    (void)state;
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    for (size_t n = 0; n <= 256; n += 17)
        for (int a = BASE64_STD; a <= BASE64_URL; a++) {
            char *text = base64_encode(all, n, (enum base64_alphabet)a);
            unsigned char *back;
            size_t len;
            assert_int_equal(base64_decode(text, &back, &len), 0);
            assert_int_equal(len, n);
            assert_memory_equal(back, all, n);
            free(back);
            free(text);
        }
}

static void white_space_is_skipped(void **state)
{
    (void)state;
    assert_decodes("Zm9v\nYmFy\r\n", "foobar");
    assert_decodes(" Zm 9v YmE= \t", "fooba");
}

static void bad_text_is_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {"Zm9v*", "Zg==Zg", "Z", "Zm9vY", "Zm9v\x80", "Zg=a"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned char *out = (unsigned char *)"untouched";
        size_t len = 7;
        assert_int_equal(base64_decode(bad[i], &out, &len), -EINVAL);
        assert_string_equal((const char *)out, "untouched");
        assert_int_equal(len, 7);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc_vectors_encode),
        cmocka_unit_test(alphabets_differ_where_they_should),
        cmocka_unit_test(every_byte_round_trips),
        cmocka_unit_test(white_space_is_skipped),
        cmocka_unit_test(bad_text_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
