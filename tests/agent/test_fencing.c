/*
 * Fencing, in real time: two agents started for one node over the same
 * GPUs. The second neither touches the GPUs nor writes while the first
 * holds the node's Lease, and takes the node over once the first stops
 * renewing (as a crash would leave it) and the lease expires.
 *
 * No assertion here is about time: waits are bounded polls on outcomes
 * (generous limits, failing with what was seen).
 */
#include <time.h>

#include "harness.h"

#include "reconcile/elector.h"
#include "util/clock.h"

#define WAIT_LIMIT_NS (30 * SEC)
#define LEASE_NS      (1 * SEC)

struct node {
    struct store *st;
    struct device *dev;
    const struct api_resource *slices, *leases;
};

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static struct agent_runtime *start_agent(struct node *n, const char *identity)
{
    struct agent_runtime_config cfg = {
        .agent = {.store = n->st, .device = n->dev, .node = NODE},
        .lease_namespace = "kube-node-lease", .identity = identity, .lease_ns = LEASE_NS,
        .renew_deadline_ns = 600 * MSEC, .retry_ns = 100 * MSEC,
    };
    struct agent_runtime *rt = NULL;
    struct err e = {0};
    h_ok(agent_runtime_new(&cfg, &rt, &e), &e, "agent_runtime_new");
    h_ok(agent_start(rt, &e), &e, "agent_start");
    return rt;
}

static struct agent_stats stats_of(struct agent_runtime *rt)
{
    struct agent_stats s;
    agent_get_stats(agent_runtime_agent(rt), &s);
    return s;
}

/* The Lease's holder, "" when there is none yet. */
static const char *holder(struct node *n)
{
    static char out[128];
    json_t *lease = NULL;
    out[0] = '\0';
    if (store_get(n->st, n->leases, "kube-node-lease", AGENT_LEASE_PREFIX NODE, &lease, NULL) ==
        0) {
        const char *h = json_string_value(
            json_object_get(json_object_get(lease, "spec"), "holderIdentity"));
        snprintf(out, sizeof out, "%s", h ? h : "");
    }
    json_decref(lease);
    return out;
}

static void wait_until_leading(struct agent_runtime *rt, struct agent_runtime *other)
{
    int64_t end = clock_monotonic_ns() + WAIT_LIMIT_NS;
    while (!agent_runtime_leading(rt)) {
        if (other)
            assert_false(agent_runtime_leading(other) && agent_runtime_leading(rt));
        if (clock_monotonic_ns() > end)
            fail_msg("the agent never took the node's Lease");
        pause_ms(20);
    }
}

static const char *phase_of(struct node *n, const char *name)
{
    static char out[32];
    json_t *obj = NULL;
    snprintf(out, sizeof out, "(none)");
    if (store_get(n->st, n->slices, NS, name, &obj, NULL) == 0) {
        const char *p = json_string_value(
            json_object_get(json_object_get(obj, "status"), "phase"));
        snprintf(out, sizeof out, "%s", p ? p : "Creating");
    }
    json_decref(obj);
    return out;
}

static void wait_for_phase(struct node *n, const char *name, const char *phase)
{
    int64_t end = clock_monotonic_ns() + WAIT_LIMIT_NS;
    while (strcmp(phase_of(n, name), phase) != 0) {
        if (clock_monotonic_ns() > end)
            fail_msg("GPUSlice %s is %s, never %s", name, phase_of(n, name), phase);
        pause_ms(20);
    }
}

static void a_second_agent_waits_for_the_lease_then_takes_over(void **state)
{
    (void)state;
    /* The harness's objects and helpers, over a store on the real clock. */
    struct harness *h = h_new("model=A100-40GB,latency=none");
    struct node n = {.st = h->st, .dev = h->dev, .slices = h->slices};
    struct err e = {0};
    agent_runtime_free(h->rt); /* the harness's virtual-time agent is not used */
    h->rt = NULL;
    store_free(h->st);
    struct mem_store_config mc = {.now_ns = clock_realtime_now, .seed = 7, .auto_collect = true};
    h_ok(mem_store_new(&mc, &h->st, &e), &e, "mem_store_new");
    n.st = h->st;
    n.leases = h_res(h, "coordination.k8s.io", "v1", "leases");
    h->pods = h_res(h, "", "v1", "pods");
    h->slices = n.slices = h_res(h, GPUSLICE_API_GROUP, "v1alpha1", "gpuslices");
    h->nodes = h_res(h, "", "v1", "nodes");
    h->namespaces = h_res(h, "", "v1", "namespaces");
    h_create(h, h->namespaces, NULL, json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1",
                                               "kind", "Namespace", "metadata", "name", NS),
             NULL);
    h_create(h, h->namespaces, NULL, json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1",
                                               "kind", "Namespace", "metadata", "name",
                                               "kube-node-lease"),
             NULL);
    h_create(h, h->nodes, NULL, json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind",
                                          "Node", "metadata", "name", NODE),
             NULL);

    struct agent_runtime *first = start_agent(&n, "first");
    wait_until_leading(first, NULL);
    struct agent_runtime *second = start_agent(&n, "second");
    json_t *pod = h_pod(h, "p1");
    char one[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 0, 0, "1g.5gb", 0, 1, one);
    wait_for_phase(&n, one, "Created");
    /* The second has seen the lease held and done nothing: no device call,
     * no write of its own. */
    for (int i = 0; i < 10; i++) {
        assert_false(agent_runtime_leading(second));
        pause_ms(LEASE_NS / MSEC / 10);
    }
    assert_string_equal(holder(&n), "first");
    struct agent_stats quiet = stats_of(second);
    assert_int_equal(quiet.discoveries + quiet.creates + quiet.destroys, 0);
    assert_int_equal(stats_of(first).creates, 1);

    /* The first stops renewing, as if killed: the second takes over after
     * the lease expires, and makes what the node's GPUSlices ask for. */
    agent_runtime_free(first);
    wait_until_leading(second, NULL);
    assert_string_equal(holder(&n), "second");
    char two[GPUSLICE_NAME_MAX];
    h_slice(h, pod, 1, 0, "1g.5gb", 1, 1, two);
    wait_for_phase(&n, two, "Created");
    struct agent_stats took = stats_of(second);
    assert_true(took.discoveries > 0);
    assert_int_equal(took.creates, 1); /* the first slice was left as it was */
    assert_string_equal(phase_of(&n, one), "Created");
    agent_runtime_free(second);
    json_decref(pod);
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_second_agent_waits_for_the_lease_then_takes_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
