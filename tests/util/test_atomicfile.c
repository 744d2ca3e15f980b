/* Tests for util/atomicfile: the file is replaced whole with its mode, a
 * link at the target is replaced rather than written through, and a
 * failure leaves the target as it was and no temporary file behind. */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../common/tmpdir.h"
#include "util/atomicfile.h"

static char dir[TMPDIR_MAX];

static int make_dir(void **state)
{
    (void)state;
    return tmpdir_make(dir, "atomicfile");
}

static int remove_dir(void **state)
{
    (void)state;
    return tmpdir_remove(dir);
}

/* dir/name, in one of two buffers so that a call may take two. */
static char *in_dir(const char *name)
{
    static char paths[2][128];
    static int next;
    char *path = paths[next++ % 2];
    snprintf(path, 128, "%s/%s", dir, name);
    return path;
}

static const char *slurp(const char *path)
{
    static char buf[256];
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static size_t entries(void)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void writes_and_replaces_with_the_mode_asked(void **state)
{
    (void)state;
    mode_t old = umask(077);
    struct err e;
    const char *path = in_dir("f");
    assert_int_equal(atomicfile_write(path, "one", 3, 0644, &e), 0);
    umask(old);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_string_equal(slurp(path), "one");
    assert_int_equal(atomicfile_write(path, "two!", 4, 0600, &e), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_string_equal(slurp(path), "two!");
    assert_int_equal(entries(), 1);
}

static void a_link_at_the_target_is_replaced_not_followed(void **state)
{
    (void)state;
    struct err e;
    assert_int_equal(symlink(in_dir("elsewhere"), in_dir("key")), 0);
    assert_int_equal(atomicfile_write(in_dir("key"), "secret", 6, 0600, &e), 0);
    struct stat st;
    assert_int_not_equal(lstat(in_dir("elsewhere"), &st), 0);
    assert_int_equal(lstat(in_dir("key"), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_string_equal(slurp(in_dir("key")), "secret");
}

static void a_failed_rename_leaves_the_target_and_no_temporary(void **state)
{
    (void)state;
    struct err e;
    assert_int_equal(mkdir(in_dir("d"), 0755), 0);
    assert_int_equal(mkdir(in_dir("d/inside"), 0755), 0);
    assert_true(atomicfile_write(in_dir("d"), "x", 1, 0600, &e) < 0);
    assert_non_null(strstr(e.msg, in_dir("d")));
    struct stat st;
    assert_int_equal(stat(in_dir("d/inside"), &st), 0);
    assert_int_equal(entries(), 1);
}

/* A write cut short (here by the file-size limit) keeps the old file. */
static void a_failed_write_leaves_the_target_and_no_temporary(void **state)
{
    (void)state;
    struct err e;
    const char *path = in_dir("f");
    assert_int_equal(atomicfile_write(path, "old", 3, 0600, &e), 0);
    struct rlimit was, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &was), 0);
    small = was;
    small.rlim_cur = 4;
    void (*handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    int rc = atomicfile_write(path, "much longer", 11, 0600, &e);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &was), 0);
    signal(SIGXFSZ, handler);
    assert_true(rc < 0);
    assert_string_equal(slurp(path), "old");
    assert_int_equal(entries(), 1);
}

static void a_missing_folder_names_the_path(void **state)
{
    (void)state;
    struct err e;
    const char *path = in_dir("no/such/f");
    assert_int_equal(atomicfile_write(path, "x", 1, 0600, &e), -ENOENT);
    assert_non_null(strstr(e.msg, path));
    assert_int_equal(entries(), 0);
}

static void clean_removes_what_a_killed_writer_left_and_nothing_else(void **state)
{
    (void)state;
    char path[256], left[300], other[300], near[300];
    snprintf(path, sizeof path, "%s/state.json", dir);
    snprintf(left, sizeof left, "%s.~0123456789abcdef", path);
    snprintf(other, sizeof other, "%s/other.json.~0123456789abcdef", dir);
    snprintf(near, sizeof near, "%s.~0123", path);
    const char *files[] = {path, left, other, near};
    for (size_t i = 0; i < 4; i++) {
        FILE *out = fopen(files[i], "w");
        assert_non_null(out);
        fclose(out);
    }
    struct err e = {0};
    assert_int_equal(atomicfile_clean(path, &e), 1);
    assert_int_equal(access(left, F_OK), -1);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(access(other, F_OK), 0);
    assert_int_equal(access(near, F_OK), 0);
    assert_int_equal(atomicfile_clean("/nonexistent-dir/x", &e), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(writes_and_replaces_with_the_mode_asked, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(a_link_at_the_target_is_replaced_not_followed, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(a_failed_rename_leaves_the_target_and_no_temporary,
                                        make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(a_failed_write_leaves_the_target_and_no_temporary,
                                        make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(a_missing_folder_names_the_path, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(clean_removes_what_a_killed_writer_left_and_nothing_else,
                                        make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
