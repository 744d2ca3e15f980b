/* The files built into the binary are the repository's files, byte for
 * byte and all of them: the lists in meson.build cannot miss one that is
 * added to deploy/crds or samples/demo. argv[1] is the source root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sim/builtin.h"

static const char *root;

static void same_as_folder(const struct fileset *built, const char *folder)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", root, folder);
    struct fileset *disk = NULL;
    struct err e = {0};
    if (fileset_read_yaml_dir(dir, &disk, &e) < 0)
        fail_msg("%s", e.msg);
    assert_string_equal(built->origin, "built in");
    assert_int_equal(built->n, disk->n);
    for (size_t i = 0; i < built->n; i++) {
        const struct fileset_file *b = &built->files[i], *d = &disk->files[i];
        char want[1024];
        snprintf(want, sizeof want, "%s/%s", folder, strrchr(d->name, '/') + 1);
        assert_string_equal(b->name, want);
        assert_int_equal(b->len, d->len);
        assert_memory_equal(b->text, d->text, b->len);
        assert_int_equal(b->text[b->len], '\0');
    }
    fileset_free(disk);
}

static void crds_are_deploy_crds(void **state)
{
    (void)state;
    same_as_folder(builtin_crds(), "deploy/crds");
    assert_ptr_equal(builtin_crds(), builtin_crds());
}

static void samples_are_samples_demo(void **state)
{
    (void)state;
    same_as_folder(builtin_samples(), "samples/demo");
}

int main(int argc, char **argv)
{
    root = argc > 1 ? argv[1] : ".";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crds_are_deploy_crds),
        cmocka_unit_test(samples_are_samples_demo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
