/* Tests for api/schedfit as pure functions: what a pod requests, each
 * filter's reason, least-allocated scores, the counted and sorted message,
 * and bad input (quantities, too many resources, unreadable objects). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../common/json_text.h"

#include "api/pod.h"
#include "api/schedfit.h"

static const char *node_text =
    "{'metadata':{'name':'n','labels':{'zone':'a'}},'spec':{'taints':[{'key':'k','value':'v',"
    "'effect':'NoExecute'}]},'status':{'capacity':{'cpu':'8','memory':'16Gi','pods':'4'},"
    "'allocatable':{'cpu':'4','memory':'8Gi','pods':'4','example.com/widget':'2'},"
    "'conditions':[{'type':'Ready','status':'True'}]}}";

static json_t *pod_with(const char *resources, const char *more)
{
    return json_text("{'metadata':{'name':'p','namespace':'d'},'spec':{'containers':["
                  "{'name':'a','image':'i','resources':{%s}},{'name':'b','image':'i',"
                  "'resources':{'requests':{'cpu':'250m'}}}]%s}}",
                  resources, more);
}

static void requests_follow_the_api_rules(void **state)
{
    (void)state;
    json_t *pod = json_text(
        "{'metadata':{'name':'p'},'spec':{'initContainers':[{'name':'i','image':'x',"
        "'resources':{'requests':{'cpu':'2','memory':'1Gi'}}}],'containers':[{'name':'a',"
        "'image':'x','resources':{'requests':{'cpu':'500m'},'limits':{'memory':'2Gi',"
        "'example.com/widget':'1'}}},{'name':'b','image':'x','resources':{'requests':"
        "{'cpu':'1'}}}],'overhead':{'cpu':'100m'}}}");
    struct schedfit_resources r;
    assert_int_equal(schedfit_pod_requests(pod, &r, NULL), 0);
    assert_int_equal(schedfit_amount(&r, "cpu"), 2100);   /* init 2 > 1.5, plus overhead */
    assert_int_equal(schedfit_amount(&r, "memory"), 2LL * 1024 * 1024 * 1024 * 1000);
    assert_int_equal(schedfit_amount(&r, "example.com/widget"), 1000); /* the limit */
    assert_int_equal(schedfit_amount(&r, "pods"), 0);
    json_decref(pod);
}

/* A pod read already gives the same requests, and the same error for an
 * overhead that cannot be read (the view does not hold the overhead). */
static void requests_of_a_view_match(void **state)
{
    (void)state;
    json_t *pod = pod_with("'requests':{'cpu':'1','memory':'1Gi'}", ",'overhead':{'cpu':'100m'}");
    struct pod_view v;
    struct schedfit_resources from_pod, from_view;
    assert_int_equal(pod_read(pod, &v, NULL), 0);
    assert_int_equal(schedfit_pod_requests(pod, &from_pod, NULL), 0);
    assert_int_equal(schedfit_view_requests(pod, &v, &from_view, NULL), 0);
    assert_int_equal(from_view.n, from_pod.n);
    for (size_t i = 0; i < from_pod.n; i++) { /* every entry, in order */
        assert_string_equal(from_view.items[i].name, from_pod.items[i].name);
        assert_int_equal(from_view.items[i].milli, from_pod.items[i].milli);
    }
    assert_int_equal(schedfit_amount(&from_view, "cpu"), 1350); /* 1 + 250m + overhead */
    assert_int_equal(schedfit_amount(&from_view, "memory"), 1LL * 1024 * 1024 * 1024 * 1000);
    json_decref(pod);
    struct err e = {0};
    pod = pod_with("", ",'overhead':{'memory':'x'}");
    assert_int_equal(pod_read(pod, &v, NULL), 0);
    assert_int_equal(schedfit_view_requests(pod, &v, &from_view, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "spec.overhead[memory]"));
    json_decref(pod);
}

static void bad_requests_are_named(void **state)
{
    (void)state;
    struct schedfit_resources r;
    struct err e = {0};
    json_t *pod = pod_with("'requests':{'cpu':'lots'}", "");
    assert_int_equal(schedfit_pod_requests(pod, &r, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "spec.containers[0].resources.requests[cpu]"));
    json_decref(pod);
    pod = pod_with("", ",'overhead':{'memory':'x'}");
    assert_int_equal(schedfit_pod_requests(pod, &r, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "spec.overhead[memory]"));
    json_decref(pod);
    char many[2048] = "'requests':{";
    for (int i = 0; i <= SCHEDFIT_RESOURCES_MAX; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s'example.com/r%d':'1'",
                 i ? "," : "", i);
    strcat(many, "}");
    pod = pod_with(many, "");
    assert_int_equal(schedfit_pod_requests(pod, &r, &e), -ENOSPC);
    assert_non_null(strstr(e.msg, "more than 16 resources"));
    json_decref(pod);
    struct schedfit_resources small = {0};
    char lng[SCHEDFIT_NAME_MAX + 1];
    memset(lng, 'x', sizeof lng - 1);
    lng[sizeof lng - 1] = '\0';
    assert_int_equal(schedfit_add(&small, lng, 1), -ENAMETOOLONG);
    assert_int_equal(schedfit_add(&small, "cpu", 5), 0);
    assert_int_equal(schedfit_add(&small, "cpu", 5), 0);
    assert_int_equal(schedfit_amount(&small, "cpu"), 10);
}

static void check(const json_t *pod, const json_t *node, const struct schedfit_resources *used,
                  size_t pods, const char *want)
{
    struct schedfit_resources req;
    struct schedfit_result r;
    const char *const ignored[] = {"nvidia.com/mig-", NULL};
    struct schedfit_options opt = {.ignored = ignored};
    schedfit_pod_requests(pod, &req, NULL);
    schedfit_check(pod, &req, node, used, pods, &opt, &r);
    char got[1024] = "";
    for (size_t i = 0; i < r.n; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? "|" : "",
                 r.reasons[i]);
    assert_string_equal(got, want);
    assert_true(r.fits == (*want == '\0'));
    /* The pod read once beforehand gets the same verdict. */
    struct pod_view pv;
    struct schedfit_result rv;
    bool readable = pod_read(pod, &pv, NULL) == 0;
    schedfit_check_view(readable ? &pv : NULL, &req, node, used, pods, &opt, &rv);
    assert_true(rv.fits == r.fits);
    assert_int_equal(rv.n, r.n);
    for (size_t i = 0; i < r.n; i++)
        assert_string_equal(rv.reasons[i], r.reasons[i]);
}

static void each_filter_gives_its_reason(void **state)
{
    (void)state;
    json_t *node = json_text("%s", node_text);
    struct schedfit_resources none = {0}, busy = {0};
    schedfit_add(&busy, "cpu", 3900);
    schedfit_add(&busy, "example.com/widget", 2000);
    const char *tol = ",'tolerations':[{'key':'k','operator':'Exists'}]";
    json_t *plain = pod_with("", "");
    json_t *tolerant = pod_with("", tol);
    json_t *widget = pod_with("'requests':{'example.com/widget':'1','nvidia.com/mig-1g.10gb':"
                              "'1'}", tol);
    json_t *elsewhere = pod_with("", ",'tolerations':[{'operator':'Exists'}],'nodeSelector':"
                                     "{'zone':'b'}");
    check(plain, node, &none, 0, "node(s) had untolerated taint {k: v}");
    check(tolerant, node, &none, 0, "");
    check(tolerant, node, &none, 4, "Too many pods");
    check(tolerant, node, &busy, 0, "Insufficient cpu");
    check(widget, node, &none, 0, "");
    check(widget, node, &busy, 3, "Insufficient cpu|Insufficient example.com/widget");
    check(elsewhere, node, &none, 0, "node(s) didn't match Pod's node affinity/selector");
    json_t *unreadable = json_text("{'metadata':{'name':'x'},'spec':{}}");
    check(unreadable, node, &none, 0, "node(s) or the pod could not be read");
    json_decref(node);
    json_decref(plain);
    json_decref(tolerant);
    json_decref(widget);
    json_decref(elsewhere);
    json_decref(unreadable);
}

static void least_allocated_scores(void **state)
{
    (void)state;
    json_t *node = json_text("%s", node_text);
    struct schedfit_resources used = {0}, req = {0};
    assert_int_equal(schedfit_score(node, &used, &req), 100);
    schedfit_add(&req, "cpu", 2000);                   /* half the CPU */
    assert_int_equal(schedfit_score(node, &used, &req), 75);
    schedfit_add(&used, "memory", 8LL * 1024 * 1024 * 1024 * 1000); /* all the memory */
    assert_int_equal(schedfit_score(node, &used, &req), 25);
    schedfit_add(&used, "cpu", 9000);                  /* over: counts as none left */
    assert_int_equal(schedfit_score(node, &used, &req), 0);
    json_t *bare = json_text("{'metadata':{'name':'b'}}");
    assert_int_equal(schedfit_score(bare, &used, &req), 0);
    json_decref(bare);
    json_decref(node);
}

static void summary_counts_and_sorts(void **state)
{
    (void)state;
    struct schedfit_summary s;
    struct schedfit_result fit = {.fits = true}, cpu = {.n = 2}, aff = {.n = 1};
    snprintf(cpu.reasons[0], SCHEDFIT_REASON_MAX, "Insufficient cpu");
    snprintf(cpu.reasons[1], SCHEDFIT_REASON_MAX, "Insufficient memory");
    snprintf(aff.reasons[0], SCHEDFIT_REASON_MAX, "node(s) didn't match Pod's node "
                                                   "affinity/selector");
    char msg[256];
    schedfit_summary_init(&s);
    schedfit_summary_format(&s, msg, sizeof msg);
    assert_string_equal(msg, "no nodes available to schedule pods");
    schedfit_summary_add(&s, &aff);
    schedfit_summary_add(&s, &aff);
    schedfit_summary_add(&s, &cpu);
    schedfit_summary_add(&s, &fit);
    schedfit_summary_format(&s, msg, sizeof msg);
    assert_string_equal(msg, "0/4 nodes are available: 1 Insufficient cpu, 1 Insufficient "
                             "memory, 2 node(s) didn't match Pod's node affinity/selector.");
    char tiny[20];
    schedfit_summary_format(&s, tiny, sizeof tiny);
    assert_string_equal(tiny, "0/4 nodes are avail");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(requests_follow_the_api_rules),
        cmocka_unit_test(requests_of_a_view_match),
        cmocka_unit_test(bad_requests_are_named),
        cmocka_unit_test(each_filter_gives_its_reason),
        cmocka_unit_test(least_allocated_scores),
        cmocka_unit_test(summary_counts_and_sorts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
