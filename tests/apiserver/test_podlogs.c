/*
 * pods/log in process: the options, the container a read is about in
 * kube-apiserver's words, an unbound pod's empty log, what the source (a
 * kubelet) refuses, and the text: tail, timestamps, since, limitBytes,
 * and a followed log that ends when its container does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apiserver/podlogs.h"
#include "helpers.h"
#include "util/clock.h"

#define PODS "/api/v1/namespaces/default/pods"
#define T0 (HELPERS_NOW_NS - 10 * NS_PER_SEC)

/* The kubelet the tests stand in for: one log, or a refusal. */
struct fake_kubelet {
    struct linelog *log;
    const char *refuse; /* a message: answer -EBADMSG with it */
    char node[64], container[64];
    bool previous;
};

static int fake_open(void *ctx, const char *node, const json_t *pod, const char *container,
                     bool previous, struct linelog **out, struct err *e)
{
    struct fake_kubelet *k = ctx;
    (void)pod;
    snprintf(k->node, sizeof k->node, "%s", node);
    snprintf(k->container, sizeof k->container, "%s", container);
    k->previous = previous;
    if (k->refuse)
        return err_set(e, -EBADMSG, "%s", k->refuse);
    *out = linelog_ref(k->log);
    return 0;
}

struct world {
    struct fixture *f;
    struct fake_kubelet k;
    struct podlogs_source source;
};

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    w->f = fixture_new();
    w->k.log = linelog_new(1 << 16);
    linelog_append(w->k.log, T0, "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-1)");
    linelog_append(w->k.log, T0 + 1500000000, "  MIG 1g.5gb Device 0: (UUID: MIG-1)");
    linelog_append(w->k.log, T0 + 2 * NS_PER_SEC, "done");
    w->source = (struct podlogs_source){fake_open, &w->k};
    w->f->srv.logs = &w->source;
    struct reply r = call(w->f, "POST", PODS,
                          "{\"metadata\":{\"name\":\"one\"},\"spec\":{\"nodeName\":\"n1\","
                          "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}");
    assert_int_equal(r.status, 201);
    reply_free(&r);
    r = call(w->f, "POST", PODS,
             "{\"metadata\":{\"name\":\"two\"},\"spec\":{\"nodeName\":\"n1\","
             "\"initContainers\":[{\"name\":\"prep\",\"image\":\"i\"}],"
             "\"containers\":[{\"name\":\"a\",\"image\":\"i\"},{\"name\":\"b\",\"image\":\"i\"}]}}");
    assert_int_equal(r.status, 201);
    reply_free(&r);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    linelog_unref(w->k.log);
    fixture_free(w->f);
    free(w);
    return 0;
}

static struct reply get(struct world *w, const char *target)
{
    return rest_call(w->f, "GET", target, NULL, "application/json, */*", NULL, NULL);
}

static void the_log_is_the_kubelets_text(void **state)
{
    struct world *w = *state;
    struct reply r = get(w, PODS "/one/log");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.text, "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-1)\n"
                                "  MIG 1g.5gb Device 0: (UUID: MIG-1)\ndone\n");
    assert_string_equal(w->k.node, "n1");
    assert_string_equal(w->k.container, "c"); /* the only one */
    assert_false(w->k.previous);
    reply_free(&r);
    r = get(w, PODS "/one/log?tailLines=1&timestamps=true");
    assert_string_equal(r.text, "2024-05-01T09:59:52Z done\n");
    reply_free(&r);
    r = get(w, PODS "/one/log?timestamps=true&sinceTime=2024-05-01T09:59:51Z&limitBytes=40");
    assert_string_equal(r.text, "2024-05-01T09:59:51.5Z   MIG 1g.5gb Devi");
    reply_free(&r);
    r = get(w, PODS "/one/log?sinceSeconds=9&tailLines=0");
    assert_string_equal(r.text, "");
    reply_free(&r);
    r = get(w, PODS "/one/log?sinceSeconds=8");
    assert_string_equal(r.text, "done\n");
    reply_free(&r);
    r = get(w, PODS "/two/log?container=prep&previous=true");
    assert_int_equal(r.status, 200);
    assert_string_equal(w->k.container, "prep");
    assert_true(w->k.previous);
    reply_free(&r);
}

static void which_container_in_kube_apiservers_words(void **state)
{
    struct world *w = *state;
    struct reply r = get(w, PODS "/two/log");
    assert_int_equal(r.status, 400);
    assert_string_equal(reply_reason(&r), "BadRequest");
    assert_string_equal(json_string_value(reply_at(&r, ".message")),
                        "a container name must be specified for pod two, choose one of: "
                        "[prep a b]");
    reply_free(&r);
    r = get(w, PODS "/one/log?container=x");
    assert_int_equal(r.status, 400);
    assert_string_equal(json_string_value(reply_at(&r, ".message")),
                        "container x is not valid for pod one");
    reply_free(&r);
    r = get(w, PODS "/ghost/log");
    assert_int_equal(r.status, 404);
    reply_free(&r);
    w->k.refuse = "previous terminated container \"c\" in pod \"one\" not found";
    r = get(w, PODS "/one/log?previous=true");
    assert_int_equal(r.status, 400);
    assert_string_equal(json_string_value(reply_at(&r, ".message")), w->k.refuse);
    reply_free(&r);
    r = call(w->f, "POST", PODS "/one/log", "{}");
    assert_int_equal(r.status, 405);
    reply_free(&r);
}

static void bad_options_are_refused(void **state)
{
    struct world *w = *state;
    static const char *const bad[] = {"tailLines=-1", "limitBytes=0", "sinceSeconds=0",
                                      "sinceSeconds=1&sinceTime=2024-05-01T09:59:51Z",
                                      "tailLines=x", "sinceTime=yesterday"};
    static const int code[] = {422, 422, 422, 422, 400, 400};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char target[256];
        snprintf(target, sizeof target, PODS "/one/log?%s", bad[i]);
        struct reply r = get(w, target);
        assert_int_equal(r.status, code[i]);
        reply_free(&r);
    }
}

static void an_unbound_pod_has_an_empty_log_and_no_kubelet_is_a_503(void **state)
{
    struct world *w = *state;
    struct reply r = call(w->f, "POST", PODS, "{\"metadata\":{\"name\":\"gated\"},\"spec\":{"
                                              "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}");
    reply_free(&r);
    r = get(w, PODS "/gated/log");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.text, "");
    reply_free(&r);
    w->f->srv.logs = NULL;
    r = get(w, PODS "/one/log");
    assert_int_equal(r.status, 503);
    reply_free(&r);
}

static void a_followed_log_ends_with_its_container(void **state)
{
    struct world *w = *state;
    struct rest_request req = {.method = "GET", .target = PODS "/one/log?follow=true&tailLines=1"};
    struct rest_response resp;
    rest_handle(&w->f->srv, &req, &resp);
    assert_int_equal(resp.status, 200);
    assert_non_null(resp.log);
    char buf[256];
    ssize_t n = podlogs_stream_read(resp.log, buf, sizeof buf, 0);
    assert_int_equal(n, 5);
    assert_memory_equal(buf, "done\n", 5);
    assert_int_equal(podlogs_stream_read(resp.log, buf, sizeof buf, 0), 0); /* more may come */
    linelog_append(w->k.log, HELPERS_NOW_NS, "exited");
    linelog_close(w->k.log);
    n = podlogs_stream_read(resp.log, buf, sizeof buf, -1);
    assert_int_equal(n, 7);
    assert_memory_equal(buf, "exited\n", 7);
    assert_int_equal(podlogs_stream_read(resp.log, buf, sizeof buf, -1), -1);
    rest_response_release(&resp);
    /* Cancelled: a reader waiting on a live log ends. */
    struct linelog *live = linelog_new(64);
    struct podlogs_options o = {.follow = true, .tail_lines = -1};
    struct podlogs_stream *s = podlogs_stream_new(live, &o);
    podlogs_stream_cancel(s);
    assert_int_equal(podlogs_stream_read(s, buf, sizeof buf, -1), -1);
    podlogs_stream_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_log_is_the_kubelets_text, setup, teardown),
        cmocka_unit_test_setup_teardown(which_container_in_kube_apiservers_words, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bad_options_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(
            an_unbound_pod_has_an_empty_log_and_no_kubelet_is_a_503, setup, teardown),
        cmocka_unit_test_setup_teardown(a_followed_log_ends_with_its_container, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
