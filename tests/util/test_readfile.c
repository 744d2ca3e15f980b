/* Tests for util/readfile: a file read whole and NUL-terminated, an empty
 * one, one exactly at the bound and one past it, a file larger than the
 * first buffer, and a missing file named in the error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/tmpdir.h"
#include "util/readfile.h"

static char dir[TMPDIR_MAX];

static const char *write_file(const char *name, size_t n, char fill)
{
    static char path[TMPDIR_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fputc(fill, f);
    fclose(f);
    return path;
}

static void files_are_read_whole(void **state)
{
    (void)state;
    char *text;
    size_t len;
    struct err e;
    assert_int_equal(readfile_all(write_file("small", 5, 'a'), 100, &text, &len, &e), 0);
    assert_int_equal(len, 5);
    assert_string_equal(text, "aaaaa");
    free(text);
    assert_int_equal(readfile_all(write_file("empty", 0, 'a'), 100, &text, &len, &e), 0);
    assert_int_equal(len, 0);
    assert_string_equal(text, "");
    free(text);
    /* Past the first 4 KiB the buffer grows. */
    assert_int_equal(readfile_all(write_file("big", 100000, 'b'), 1 << 20, &text, &len, &e), 0);
    assert_int_equal(len, 100000);
    assert_int_equal(strlen(text), 100000);
    free(text);
}

static void the_bound_is_kept(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    struct err e;
    assert_int_equal(readfile_all(write_file("at", 10, 'c'), 10, &text, &len, &e), 0);
    assert_int_equal(len, 10);
    free(text);
    const char *path = write_file("over", 11, 'c');
    assert_int_equal(readfile_all(path, 10, &text, &len, &e), -E2BIG);
    char want[TMPDIR_MAX + 64];
    snprintf(want, sizeof want, "%s: larger than 10 bytes", path);
    assert_string_equal(e.msg, want);
}

static void a_missing_file_is_named(void **state)
{
    (void)state;
    char *text;
    size_t len;
    struct err e;
    assert_int_equal(readfile_all("/nonexistent/gpuslice-file", 10, &text, &len, &e), -ENOENT);
    assert_string_equal(e.msg, "/nonexistent/gpuslice-file: No such file or directory");
    assert_int_equal(readfile_all(dir, 10, &text, &len, &e), -EISDIR); /* a folder is no file */
}

static int setup(void **state)
{
    (void)state;
    return tmpdir_make(dir, "readfile");
}

static int teardown(void **state)
{
    (void)state;
    return tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(files_are_read_whole),
        cmocka_unit_test(the_bound_is_kept),
        cmocka_unit_test(a_missing_file_is_named),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
