/* Tests for util/dirs: nested folders made, an existing one accepted, a
 * file in the way refused, bad lengths refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/tmpdir.h"
#include "util/dirs.h"

static void nested_folders_are_made(void **state)
{
    (void)state;
    char root[TMPDIR_MAX];
    assert_int_equal(tmpdir_make(root, "dirs"), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/a//b/c/", root);
    struct err e;
    assert_int_equal(dirs_make(path, 0755, &e), 0);
    struct stat st;
    snprintf(path, sizeof path, "%s/a/b/c", root);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(dirs_make(path, 0755, &e), 0); /* again: it exists */
    /* A file where a folder should be. */
    snprintf(path, sizeof path, "%s/a/file", root);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/a/file/d", root);
    assert_int_equal(dirs_make(path, 0755, &e), -ENOTDIR);
    assert_non_null(strstr(e.msg, "/a/file: not a folder"));
    tmpdir_remove(root);
}

static void bad_lengths_are_refused(void **state)
{
    (void)state;
    struct err e;
    assert_int_equal(dirs_make("", 0755, &e), -EINVAL);
    char *longer = calloc(5000, 1);
    memset(longer, 'a', 4999);
    assert_int_equal(dirs_make(longer, 0755, &e), -ENAMETOOLONG);
    free(longer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nested_folders_are_made),
        cmocka_unit_test(bad_lengths_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
