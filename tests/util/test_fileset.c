/* Tests for util/fileset: a folder's YAML files in name order, and the
 * strict errors that name the path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../common/tmpdir.h"
#include "util/fileset.h"

static char dir[TMPDIR_MAX];

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int make_dir(void **state)
{
    (void)state;
    return tmpdir_make(dir, "fileset");
}

static int remove_dir(void **state)
{
    (void)state;
    return tmpdir_remove(dir);
}

static void reads_yaml_files_in_name_order(void **state)
{
    (void)state;
    write_file("b.yml", "b: 2\n");
    write_file("a.yaml", "a: 1\n");
    write_file("notes.txt", "not yaml");
    write_file(".hidden.yaml", "h: 0\n");
    write_file("empty.yaml", "");
    struct fileset *set = NULL;
    struct err e = {0};
    assert_int_equal(fileset_read_yaml_dir(dir, &set, &e), 0);
    assert_string_equal(set->origin, dir);
    assert_int_equal(set->n, 3);
    char path[256];
    snprintf(path, sizeof path, "%s/a.yaml", dir);
    assert_string_equal(set->files[0].name, path);
    assert_string_equal(set->files[0].text, "a: 1\n");
    assert_int_equal(set->files[0].len, 5);
    assert_string_equal(set->files[1].text, "b: 2\n");
    assert_int_equal(set->files[2].len, 0);
    assert_string_equal(set->files[2].text, "");
    fileset_free(set);
    fileset_free(NULL);
}

static void a_missing_folder_is_an_error_naming_it(void **state)
{
    (void)state;
    struct fileset *set = (struct fileset *)&set;
    struct err e = {0};
    assert_int_equal(fileset_read_yaml_dir("/no/such/folder", &set, &e), -ENOENT);
    assert_null(set);
    assert_string_equal(e.msg, "/no/such/folder: No such file or directory");
    char file[256];
    snprintf(file, sizeof file, "%s/plain", dir);
    write_file("plain", "x");
    assert_int_equal(fileset_read_yaml_dir(file, &set, &e), -ENOTDIR);
    assert_non_null(strstr(e.msg, file));
}

static void a_folder_without_yaml_is_an_error(void **state)
{
    (void)state;
    write_file("readme.txt", "nothing to see");
    struct fileset *set = NULL;
    struct err e = {0};
    assert_int_equal(fileset_read_yaml_dir(dir, &set, &e), -ENOENT);
    assert_null(set);
    assert_non_null(strstr(e.msg, dir));
    assert_non_null(strstr(e.msg, "no *.yaml or *.yml files"));
}

static void unreadable_and_oversized_files_are_errors(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/sub.yaml", dir);
    assert_int_equal(mkdir(path, 0700), 0); /* a folder where a file should be */
    struct fileset *set = NULL;
    struct err e = {0};
    assert_int_equal(fileset_read_yaml_dir(dir, &set, &e), -EISDIR);
    assert_null(set);
    assert_non_null(strstr(e.msg, path));
    assert_int_equal(rmdir(path), 0);

    snprintf(path, sizeof path, "%s/big.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), FILESET_MAX_FILE_BYTES + 1), 0);
    fclose(f);
    assert_int_equal(fileset_read_yaml_dir(dir, &set, &e), -E2BIG);
    assert_non_null(strstr(e.msg, path));
    assert_null(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reads_yaml_files_in_name_order, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(a_missing_folder_is_an_error_naming_it, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(a_folder_without_yaml_is_an_error, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(unreadable_and_oversized_files_are_errors, make_dir,
                                        remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
