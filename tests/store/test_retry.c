/*
 * Tests of store_update_retry over the mem backend: a conflicting writer
 * between the read and the write makes it read and apply again; it gives
 * up after the attempts; it writes nothing when the change is already
 * there; the version read stays the precondition whatever mutate does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "store/mem.h"
#include "store/retry.h"

static int64_t clock_ns(void *ctx)
{
    (void)ctx;
    return 1700000000ll * 1000000000ll;
}

struct rig {
    struct store *st;
    const struct api_resource *cms;
    int calls;
    int interfere;   /* calls that first write the object behind our back */
    bool drop_rv;    /* mutate removes metadata.resourceVersion */
    int others;      /* writes by the other writer */
};

static void rig_up(struct rig *r)
{
    memset(r, 0, sizeof *r);
    struct mem_store_config c = {.now_ns = clock_ns, .seed = 3};
    struct err e;
    assert_int_equal(mem_store_new(&c, &r->st, &e), 0);
    r->cms = api_registry_find(store_registry(r->st), "", "v1", "configmaps");
    json_t *cm = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind",
                           "ConfigMap", "metadata", "name", "c", "namespace", "t", "data", "n",
                           "0");
    assert_int_equal(store_create(r->st, r->cms, "t", cm, NULL, NULL, &e), 0);
    json_decref(cm);
}

static const char *data_of(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(json_object_get(obj, "data"), key));
}

/* Someone else's write: bumps data.other. */
static void other_writer(struct rig *r)
{
    char v[16];
    snprintf(v, sizeof v, "%d", ++r->others);
    json_t *patch = json_pack("{s:{s:s}}", "data", "other", v);
    assert_int_equal(store_patch(r->st, r->cms, "t", "c", STORE_PATCH_MERGE, patch, NULL, NULL,
                                 NULL),
                     0);
    json_decref(patch);
}

/* The idempotent change: data.mine = "yes". */
static int set_mine(json_t *obj, void *ctx, struct err *e)
{
    (void)e;
    struct rig *r = ctx;
    r->calls++;
    if (r->interfere > 0) {
        r->interfere--;
        other_writer(r);
    }
    if (r->drop_rv)
        json_object_del(json_object_get(obj, "metadata"), "resourceVersion");
    const char *mine = data_of(obj, "mine");
    if (mine && strcmp(mine, "yes") == 0)
        return STORE_MUTATE_UNCHANGED;
    json_object_set_new(json_object_get(obj, "data"), "mine", json_string("yes"));
    return 0;
}

static void a_conflict_is_retried_on_the_new_version(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r);
    r.interfere = 2;
    json_t *out;
    struct err e;
    assert_int_equal(store_update_retry(r.st, r.cms, "t", "c", set_mine, &r, NULL, 0, &out, &e),
                     0);
    assert_int_equal(r.calls, 3);
    assert_string_equal(data_of(out, "mine"), "yes");
    assert_string_equal(data_of(out, "other"), "2"); /* the other writes survive */
    json_decref(out);
    store_free(r.st);
}

static void endless_conflicts_give_up(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r);
    r.interfere = 100;
    json_t *out;
    struct err e;
    assert_int_equal(store_update_retry(r.st, r.cms, "t", "c", set_mine, &r, NULL, 4, &out, &e),
                     -ESTALE);
    assert_null(out);
    assert_int_equal(r.calls, 4);
    r.calls = 0;
    r.interfere = 100;
    assert_int_equal(store_update_retry(r.st, r.cms, "t", "c", set_mine, &r, NULL, 0, NULL, &e),
                     -ESTALE);
    assert_int_equal(r.calls, STORE_RETRY_ATTEMPTS);
    store_free(r.st);
}

static void the_version_read_stays_the_precondition(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r);
    r.interfere = 1;
    r.drop_rv = true;
    struct err e;
    assert_int_equal(store_update_retry(r.st, r.cms, "t", "c", set_mine, &r, NULL, 0, NULL, &e),
                     0);
    assert_int_equal(r.calls, 2); /* the first write conflicted despite the dropped version */
    store_free(r.st);
}

static void an_applied_change_writes_nothing(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r);
    json_t *first, *second;
    struct err e;
    assert_int_equal(
        store_update_retry(r.st, r.cms, "t", "c", set_mine, &r, NULL, 0, &first, &e), 0);
    uint64_t rev = mem_store_revision(r.st);
    assert_int_equal(
        store_update_retry(r.st, r.cms, "t", "c", set_mine, &r, NULL, 0, &second, &e), 0);
    assert_int_equal(mem_store_revision(r.st), rev);
    assert_true(json_equal(first, second));
    json_decref(first);
    json_decref(second);
    store_free(r.st);
}

static int refuse(json_t *obj, void *ctx, struct err *e)
{
    (void)obj;
    (*(int *)ctx)++;
    return err_set(e, -EPERM, "not allowed");
}

static void failures_are_passed_through(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r);
    int calls = 0;
    json_t *out;
    struct err e;
    assert_int_equal(store_update_retry(r.st, r.cms, "t", "c", refuse, &calls, NULL, 0, &out, &e),
                     -EPERM);
    assert_string_equal(e.msg, "not allowed");
    assert_int_equal(calls, 1);
    assert_null(out);
    assert_int_equal(
        store_update_retry(r.st, r.cms, "t", "nope", refuse, &calls, NULL, 0, &out, &e), -ENOENT);
    assert_int_equal(calls, 1);
    assert_int_equal(store_update_retry(r.st, r.cms, "t", "c", NULL, NULL, NULL, 0, &out, &e),
                     -EINVAL);
    store_free(r.st);
}

static int set_phase(json_t *obj, void *ctx, struct err *e)
{
    (void)ctx;
    (void)e;
    json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Running"));
    json_object_set_new(json_object_get(obj, "metadata"), "labels",
                        json_pack("{s:s}", "ignored", "yes"));
    return 0;
}

static void the_status_subresource_is_written_through_opts(void **state)
{
    (void)state;
    struct rig r;
    rig_up(&r);
    const struct api_resource *pods = api_registry_find(store_registry(r.st), "", "v1", "pods");
    json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:[{s:s, s:s}]}}", "apiVersion", "v1",
                            "kind", "Pod", "metadata", "name", "p", "namespace", "t", "spec",
                            "containers", "name", "c", "image", "busybox");
    struct err e;
    assert_int_equal(store_create(r.st, pods, "t", pod, NULL, NULL, &e), 0);
    json_decref(pod);
    struct store_write_opts o = {.subresource = STORE_STATUS};
    json_t *out;
    assert_int_equal(store_update_retry(r.st, pods, "t", "p", set_phase, NULL, &o, 0, &out, &e),
                     0);
    const json_t *status = json_object_get(out, "status");
    assert_string_equal(json_string_value(json_object_get(status, "phase")), "Running");
    assert_null(json_object_get(json_object_get(out, "metadata"), "labels"));
    json_decref(out);
    store_free(r.st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_conflict_is_retried_on_the_new_version),
        cmocka_unit_test(endless_conflicts_give_up),
        cmocka_unit_test(the_version_read_stays_the_precondition),
        cmocka_unit_test(an_applied_change_writes_nothing),
        cmocka_unit_test(failures_are_passed_through),
        cmocka_unit_test(the_status_subresource_is_written_through_opts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
