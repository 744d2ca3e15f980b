/*
 * The quota controller over the mem store in virtual time: it fills a new
 * quota's status, counts pods that ended or went away out of it (a
 * lowering only once the quota has been still for QUOTA_SETTLE_NS), counts
 * other objects from the store (again at each resync), and follows scopes
 * and spec changes.
 */
#include "harness.h"

#include "cluster/quota.h"

#define MEM "gpuslice.dev/accelerator-memory"

static void gpu_pod(struct harness *h, const char *name, int gib)
{
    h_create(h, h->pods,
             "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'%s','namespace':'%s'},"
             "'spec':{'containers':[{'name':'c','image':'i','resources':{'requests':"
             "{'" MEM "':'%d','cpu':'250m'}}}]}}", name, NS, gib);
}

static void end_pod(struct harness *h, const char *name, const char *phase)
{
    json_t *pod = h_get(h, h->pods, NS, name);
    json_object_set_new(pod, "status", json_pack("{s:s}", "phase", phase));
    struct err e = {0};
    h_ok(store_update(h->st, h->pods, NS, pod,
                      &(struct store_write_opts){.subresource = STORE_STATUS}, NULL, &e),
         &e, "end pod");
    json_decref(pod);
}

static const char *used(struct harness *h, const char *quota, const char *res)
{
    json_t *q = h_get(h, h_res(h, "", "resourcequotas"), NS, quota);
    /* by hand: the names have dots */
    const char *v = json_string_value(
        json_object_get(json_object_get(json_object_get(q, "status"), "used"), res));
    static char buf[64];
    snprintf(buf, sizeof buf, "%s", v ? v : "(none)");
    json_decref(q);
    return buf;
}

static void counts_pods_in_and_out(void **state)
{
    (void)state;
    struct harness *h = h_new(NULL, 0);
    gpu_pod(h, "a", 10);
    gpu_pod(h, "b", 20);
    h_create(h, h_res(h, "", "resourcequotas"),
             "{'apiVersion':'v1','kind':'ResourceQuota','metadata':{'name':'gpu','namespace':"
             "'%s'},'spec':{'hard':{'requests." MEM "':'80','pods':'10','cpu':'2',"
             "'count/configmaps':'5'}}}", NS);
    h_settle(h);
    assert_string_equal(used(h, "gpu", "requests." MEM), "30");
    assert_string_equal(used(h, "gpu", "pods"), "2");
    assert_string_equal(used(h, "gpu", "cpu"), "500m");
    assert_string_equal(used(h, "gpu", "count/configmaps"), "0");
    json_t *q = h_get(h, h_res(h, "", "resourcequotas"), NS, "gpu");
    assert_string_equal(h_str(q, "status.hard.pods"), "10");
    json_decref(q);

    /* a pod that ended no longer counts, once the quota has been still */
    end_pod(h, "a", "Succeeded");
    h_settle(h);
    assert_string_equal(used(h, "gpu", "requests." MEM), "30");
    h_advance_ms(h, QUOTA_SETTLE_NS / 1000000);
    assert_string_equal(used(h, "gpu", "requests." MEM), "20");
    assert_string_equal(used(h, "gpu", "pods"), "1");
    /* a deleted one releases too */
    struct err e = {0};
    h_ok(store_delete(h->st, h->pods, NS, "b", &(struct store_delete_opts){0}, NULL, &e), &e,
         "delete b");
    h_advance_ms(h, QUOTA_SETTLE_NS / 1000000);
    assert_string_equal(used(h, "gpu", "requests." MEM), "0");
    assert_string_equal(used(h, "gpu", "pods"), "0");
    h_free(h);
}

static void scopes_and_spec_changes(void **state)
{
    (void)state;
    struct harness *h = h_new(NULL, 0);
    gpu_pod(h, "svc", 10);
    h_pod(h, "job", "", ",'activeDeadlineSeconds':30");
    const struct api_resource *quotas = h_res(h, "", "resourcequotas");
    h_create(h, quotas, "{'apiVersion':'v1','kind':'ResourceQuota','metadata':{'name':'term',"
                        "'namespace':'%s'},'spec':{'scopes':['Terminating'],'hard':{'pods':'5'}}}",
             NS);
    h_settle(h);
    assert_string_equal(used(h, "term", "pods"), "1");
    json_t *q = h_get(h, quotas, NS, "term");
    json_object_set_new(json_object_get(json_object_get(q, "spec"), "hard"), "count/pods",
                        json_string("9"));
    struct err e = {0};
    h_ok(store_update(h->st, quotas, NS, q, NULL, NULL, &e), &e, "update quota");
    json_decref(q);
    h_settle(h);
    assert_string_equal(used(h, "term", "count/pods"), "1");
    q = h_get(h, quotas, NS, "term");
    assert_string_equal(h_str(q, "status.hard.count/pods"), "9");
    json_decref(q);
    h_free(h);
}

/* Objects other than pods are counted from the store: a ConfigMap that
 * goes is given back at the next full count (QUOTA_RESYNC_NS after the
 * last), as kube-controller-manager's resync does; before, its charge
 * stayed for good. */
static void object_counts_follow_the_store(void **state)
{
    (void)state;
    struct harness *h = h_new(NULL, 0);
    const struct api_resource *cms = h_res(h, "", "configmaps");
    for (int i = 0; i < 3; i++)
        h_create(h, cms, "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'cm%d',"
                         "'namespace':'%s'}}", i, NS);
    h_create(h, h_res(h, "", "resourcequotas"),
             "{'apiVersion':'v1','kind':'ResourceQuota','metadata':{'name':'objs','namespace':"
             "'%s'},'spec':{'hard':{'count/configmaps':'5','configmaps':'5'}}}", NS);
    h_settle(h);
    assert_string_equal(used(h, "objs", "count/configmaps"), "3");
    assert_string_equal(used(h, "objs", "configmaps"), "3");
    struct err e = {0};
    h_ok(store_delete(h->st, cms, NS, "cm1", &(struct store_delete_opts){0}, NULL, &e), &e,
         "delete cm1");
    h_settle(h);
    assert_string_equal(used(h, "objs", "count/configmaps"), "3"); /* nothing told it yet */
    h_advance_ms(h, QUOTA_RESYNC_NS / 1000000);
    assert_string_equal(used(h, "objs", "count/configmaps"), "2");
    assert_string_equal(used(h, "objs", "configmaps"), "2");
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_pods_in_and_out),
        cmocka_unit_test(scopes_and_spec_changes),
        cmocka_unit_test(object_counts_follow_the_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
