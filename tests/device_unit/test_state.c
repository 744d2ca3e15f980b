/* Tests for the emulated node's state file: what a killed process leaves is
 * what the next one finds (slices, a GI without its CI, GI/CI ids, in-use
 * marks, the boot id, MIG UUIDs never given twice), a reboot clears it, and
 * a file that is malformed or written for other GPUs is refused naming
 * FILE:LINE:COL and the field. */
#include <sys/stat.h>

#include "helpers.h"
#include "../common/tmpdir.h"

struct fixture {
    char dir[TMPDIR_MAX];
    char path[TMPDIR_MAX + 32];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f || tmpdir_make(f->dir, "emustate") < 0)
        return -1;
    snprintf(f->path, sizeof f->path, "%s/node.json", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int rc = tmpdir_remove(f->dir);
    free(f);
    return rc;
}

/* Opens "SPEC,state=PATH"; returns the device or NULL with e filled. */
static struct device *open_with(const struct fixture *f, const char *spec, struct err *e)
{
    char what[EMULATED_SPEC_MAX];
    struct device *d = NULL;
    snprintf(what, sizeof what, "emulated:%s%sstate=%s", spec, spec[0] ? "," : "", f->path);
    err_clear(e);
    return device_open(what, &d, e) == 0 ? d : NULL;
}

static void write_file(const char *path, const char *text)
{
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fputs(text, out);
    fclose(out);
}

static struct device *must_open(const struct fixture *f, const char *spec)
{
    struct err e;
    struct device *d = open_with(f, spec, &e);
    if (!d)
        fail_msg("open %s: %s", spec, e.msg);
    return d;
}

static struct device_slices *list_of(struct device *d)
{
    struct device_slices *l = malloc(sizeof *l);
    struct err e;
    if (device_list_slices(d, l, NULL, &e) != 0)
        fail_msg("list: %s", e.msg);
    return l;
}

static void a_new_node_writes_its_file_at_once(void **state)
{
    struct fixture *f = *state;
    /* What a predecessor killed between create and rename left goes. */
    char left[TMPDIR_MAX + 64];
    snprintf(left, sizeof left, "%s.~00112233445566ff", f->path);
    write_file(left, "{");
    struct device *d = must_open(f, "model=A100-40GB,count=2");
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(stat(left, &st), -1);
    device_close(d);
}

static void slices_survive_the_process(void **state)
{
    struct fixture *f = *state;
    const char *spec = "model=H100-80GB,count=2,seed=7,hang-create=2:ci";
    struct device *d = must_open(f, spec);
    struct device_slice_ref a = ref_at(0, "3g.40gb", 0), b = ref_at(1, "1g.10gb", 6);
    struct err e;
    assert_int_equal(device_create_slice(d, &a, NULL, NULL, &e), 0);
    /* The second create hangs at its CI step: the GI stays without a CI. */
    assert_int_equal(device_create_slice(d, &b, NULL, NULL, &e), -ETIMEDOUT);
    struct device_slice_ref c = ref_at(0, "1g.10gb", 6);
    assert_int_equal(device_create_slice(d, &c, NULL, NULL, &e), 0);
    assert_int_equal(emulated_set_in_use(d, 0, 6, true, &e), 0);
    char boot[DEVICE_BOOT_ID_MAX], boot_after[DEVICE_BOOT_ID_MAX];
    assert_int_equal(device_boot_id(d, boot, &e), 0);
    struct device_slices *before = list_of(d);
    device_close(d); /* as if killed: close destroys nothing */

    d = must_open(f, spec);
    struct device_slices *after = list_of(d);
    assert_int_equal(after->n, 3);
    assert_memory_equal(before, after, sizeof *before);
    assert_int_equal(after->items[2].ci_id, DEVICE_NO_CI);
    assert_int_equal(device_boot_id(d, boot_after, &e), 0);
    assert_string_equal(boot, boot_after);
    /* The in-use mark came back; a new MIG device gets a UUID never used. */
    assert_int_equal(device_destroy_slice(d, &c, NULL, &e), -EBUSY);
    assert_int_equal(device_destroy_slice(d, &a, NULL, &e), 0);
    struct device_slice made;
    assert_int_equal(device_create_slice(d, &a, &made, NULL, &e), 0);
    for (unsigned i = 0; i < before->n; i++)
        assert_string_not_equal(made.uuid, before->items[i].uuid);
    device_close(d);

    /* The destroy and the create above were kept too. */
    d = must_open(f, spec);
    struct device_slices *third = list_of(d);
    assert_int_equal(third->n, 3);
    assert_string_equal(third->items[0].uuid, made.uuid);
    device_close(d);
    free(before);
    free(after);
    free(third);
}

static void a_reboot_clears_the_file(void **state)
{
    struct fixture *f = *state;
    const char *spec = "model=A100-40GB";
    struct device *d = must_open(f, spec);
    struct device_slice_ref a = ref_at(0, "1g.5gb", 0);
    struct err e;
    char boot[DEVICE_BOOT_ID_MAX], boot_after[DEVICE_BOOT_ID_MAX];
    assert_int_equal(device_create_slice(d, &a, NULL, NULL, &e), 0);
    assert_int_equal(device_boot_id(d, boot, &e), 0);
    assert_int_equal(emulated_reboot(d, NULL, &e), 0);
    device_close(d);

    d = must_open(f, spec);
    struct device_slices *l = list_of(d);
    assert_int_equal(l->n, 0);
    assert_int_equal(device_boot_id(d, boot_after, &e), 0);
    assert_string_not_equal(boot, boot_after);
    assert_int_equal(device_create_slice(d, &a, NULL, NULL, &e), 0);
    device_close(d);

    /* reboot=yes: the node rebooted while no agent ran. */
    d = must_open(f, "model=A100-40GB,reboot=yes");
    struct device_slices *l2 = list_of(d);
    assert_int_equal(l2->n, 0);
    assert_int_equal(device_boot_id(d, boot, &e), 0);
    assert_string_not_equal(boot, boot_after);
    device_close(d);
    free(l);
    free(l2);
}

/* The file text with one GPU of an A100-40GB at seed 1, its uuid read from a
 * fresh node's file; slices and extra text as given. */
static void expect_refused(const struct fixture *f, const char *text, const char *says)
{
    write_file(f->path, text);
    struct err e;
    struct device *d = open_with(f, "model=A100-40GB", &e);
    if (d)
        fail_msg("a file with %s was accepted", says);
    if (!strstr(e.msg, says) || !strstr(e.msg, f->path))
        fail_msg("message \"%s\" lacks \"%s\" or the path", e.msg, says);
}

static void malformed_files_are_refused_with_where(void **state)
{
    struct fixture *f = *state;
    struct device *d = must_open(f, "model=A100-40GB");
    char uuid[DEVICE_UUID_MAX];
    struct device_inventory *inv = malloc(sizeof *inv);
    struct err e;
    assert_int_equal(device_discover(d, inv, NULL, &e), 0);
    snprintf(uuid, sizeof uuid, "%s", inv->gpus[0].uuid);
    free(inv);
    device_close(d);

    char text[2048];
#define GPU(slices) "{\"bootID\": \"b\", \"reboots\": 0, \"migDevicesMade\": 1, \"gpus\": [" \
                    "{\"uuid\": \"%s\", \"mig\": \"on\", \"slices\": [" slices "]}]}"
    snprintf(text, sizeof text, GPU("{\"profile\": \"1g.5gb\", \"start\": 0, \"giID\": 1, "
                                    "\"inUse\": false}"), uuid);
    write_file(f->path, text);
    d = must_open(f, "model=A100-40GB"); /* a GI without its CI is fine */
    device_close(d);

    expect_refused(f, "{\"bootID\": ", ":1:");
    expect_refused(f, "[]", "not a JSON object");
    snprintf(text, sizeof text, GPU("{\"profile\": \"1g.5gb\", \"start\": 0, \"giID\": 1, "
                                    "\"inUse\": false, \"color\": 1}"), uuid);
    expect_refused(f, text, ":1:208: gpus[0].slices[0].color: unknown field");
    snprintf(text, sizeof text, GPU("{\"profile\": \"1g.5gb\", \"start\": 0, \"giID\": 1, "
                                    "\"inUse\": false}, {\"profile\": \"2g.10gb\", "
                                    "\"start\": 0, \"giID\": 2, \"inUse\": false}"), uuid);
    expect_refused(f, text, "gpus[0].slices[1].start: 2g.10gb cannot be there");
    snprintf(text, sizeof text, GPU("{\"profile\": \"1g.5gb\", \"start\": 0, \"giID\": 1, "
                                    "\"inUse\": false}, {\"profile\": \"1g.5gb\", "
                                    "\"start\": 1, \"giID\": 1, \"inUse\": false}"), uuid);
    expect_refused(f, text, "gpus[0].slices[1].giID: GI id 1 is given twice");
    snprintf(text, sizeof text, GPU("{\"profile\": \"1g.5gb\", \"start\": 0, \"giID\": 1, "
                                    "\"ciID\": 0, \"inUse\": false}"), uuid);
    expect_refused(f, text, "\"ciID\" and \"uuid\" go together");
    snprintf(text, sizeof text, GPU("{\"profile\": \"9g.99gb\", \"start\": 0, \"giID\": 1, "
                                    "\"inUse\": false}"), uuid);
    expect_refused(f, text, "has no profile \"9g.99gb\"");
    snprintf(text, sizeof text, GPU("{\"profile\": \"1g.5gb\", \"start\": -1, \"giID\": 1, "
                                    "\"inUse\": false}"), uuid);
    expect_refused(f, text, "start: not a whole number");
    snprintf(text, sizeof text, GPU("{\"profile\": \"1g.5gb\", \"start\": 0, \"giID\": 1}"),
             uuid);
    expect_refused(f, text, "inUse: missing");
    snprintf(text, sizeof text, GPU(""), "GPU-00000000-0000-0000-0000-000000000000");
    expect_refused(f, text, "gpus[0].uuid: GPU 0 is");
    expect_refused(f, "{\"bootID\": \"b\", \"reboots\": 0, \"migDevicesMade\": 1, \"gpus\": []}",
                   "0 GPUs, but the node has 1");
    expect_refused(f, "{\"bootID\": \"b\", \"bootID\": \"c\"}", "duplicate");
    expect_refused(f, "{\"reboots\": 0}", "bootID: missing");
#undef GPU
}

static void spec_items_are_checked(void **state)
{
    (void)state;
    struct emulated_config cfg;
    struct err e;
    assert_int_equal(emulated_config_parse("state=", &cfg, &e), -EINVAL);
    assert_msg_has(&e, "a state file path has 1 to");
    assert_int_equal(emulated_config_parse("reboot=no", &cfg, &e), -EINVAL);
    assert_msg_has(&e, "is not yes");
    assert_int_equal(emulated_config_parse("state=/x/y.json,reboot=yes", &cfg, &e), 0);
    assert_string_equal(cfg.state_path, "/x/y.json");
    assert_true(cfg.reboot_at_open);
}

static void an_unwritable_file_fails_the_open(void **state)
{
    (void)state;
    struct device *d = NULL;
    struct err e;
    assert_int_equal(device_open("emulated:state=/nonexistent-dir/x.json", &d, &e), -ENOENT);
    assert_msg_has(&e, "/nonexistent-dir/x.json");
    assert_null(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_new_node_writes_its_file_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(slices_survive_the_process, setup, teardown),
        cmocka_unit_test_setup_teardown(a_reboot_clears_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_files_are_refused_with_where, setup, teardown),
        cmocka_unit_test(spec_items_are_checked),
        cmocka_unit_test(an_unwritable_file_fails_the_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
