/*
 * The agent started in real time, its device calls on the GPUs' workers:
 * calls on different GPUs run side by side, calls on one GPU one at a time,
 * a slice is handed over as soon as its own create returns, a delete
 * does not wait for creates on other GPUs, a slice placed where a
 * destroy still runs is made once it ends, and a discovery that read the
 * boot id before a reboot does not leave the old one for good.
 *
 * No assertion here is about time. The device is an emulated node behind a
 * gate the test holds: a call on a gated GPU enters and then waits until
 * the test lets it through, so "B happened while A's call was still
 * running" is a fact the test arranges, not a race it hopes to win. Waits
 * are for liveness only (generous limits, failing with what was seen).
 */
#include <pthread.h>
#include <time.h>

#include "harness.h"

#include "util/clock.h"

#define WAIT_LIMIT_NS (20 * SEC)

/* ---- a device whose calls the test lets through ---- */

struct gate {
    struct device *inner;
    struct device_inventory inv;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned budget[DEVICE_MAX_GPUS];  /* calls that may still pass; UINT32_MAX: all */
    unsigned entered[DEVICE_MAX_GPUS]; /* creates and destroys that started */
    unsigned running[DEVICE_MAX_GPUS], max_running[DEVICE_MAX_GPUS];
    unsigned running_all, max_running_all;
    bool hold_discover;      /* discoveries wait in the device while set */
    unsigned discovers_held; /* discoveries that waited */
};

static unsigned gpu_of(struct gate *g, const struct device_slice_ref *ref)
{
    for (unsigned i = 0; i < g->inv.n_gpus; i++)
        if (strcmp(g->inv.gpus[i].uuid, ref->gpu_uuid) == 0)
            return i;
    fail_msg("no GPU %s", ref->gpu_uuid);
    return 0;
}

static void enter(struct gate *g, unsigned gpu)
{
    pthread_mutex_lock(&g->mu);
    g->entered[gpu]++;
    if (++g->running[gpu] > g->max_running[gpu])
        g->max_running[gpu] = g->running[gpu];
    if (++g->running_all > g->max_running_all)
        g->max_running_all = g->running_all;
    pthread_cond_broadcast(&g->cv);
    while (g->budget[gpu] == 0)
        pthread_cond_wait(&g->cv, &g->mu);
    if (g->budget[gpu] != UINT32_MAX)
        g->budget[gpu]--;
    pthread_mutex_unlock(&g->mu);
}

static void leave(struct gate *g, unsigned gpu)
{
    pthread_mutex_lock(&g->mu);
    g->running[gpu]--;
    g->running_all--;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static int gate_discover(void *impl, struct device_inventory *inv, uint64_t *took, struct err *e)
{
    struct gate *g = impl;
    pthread_mutex_lock(&g->mu);
    if (g->hold_discover) {
        g->discovers_held++;
        pthread_cond_broadcast(&g->cv);
        while (g->hold_discover)
            pthread_cond_wait(&g->cv, &g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return device_discover(g->inner, inv, took, e);
}

static int gate_create(void *impl, const struct device_slice_ref *ref, struct device_slice *out,
                       uint64_t *took, struct err *e)
{
    struct gate *g = impl;
    unsigned gpu = gpu_of(g, ref);
    enter(g, gpu);
    int rc = device_create_slice(g->inner, ref, out, took, e);
    leave(g, gpu);
    return rc;
}

static int gate_destroy(void *impl, const struct device_slice_ref *ref, uint64_t *took,
                        struct err *e)
{
    struct gate *g = impl;
    unsigned gpu = gpu_of(g, ref);
    enter(g, gpu);
    int rc = device_destroy_slice(g->inner, ref, took, e);
    leave(g, gpu);
    return rc;
}

static int gate_list(void *impl, struct device_slices *out, uint64_t *took, struct err *e)
{
    return device_list_slices(((struct gate *)impl)->inner, out, took, e);
}

static int gate_boot_id(void *impl, char out[DEVICE_BOOT_ID_MAX], struct err *e)
{
    return device_boot_id(((struct gate *)impl)->inner, out, e);
}

/* Forwarded so that the agent skips reading an unchanged node, as it does
 * the emulated one. */
static int gate_changes(void *impl, uint64_t *out)
{
    return device_changes(((struct gate *)impl)->inner, out, NULL);
}

static void gate_close(void *impl)
{
    struct gate *g = impl;
    device_close(g->inner);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

static const struct device_ops gate_ops = {
    .name = "gate", .discover = gate_discover, .create = gate_create, .destroy = gate_destroy,
    .list = gate_list, .boot_id = gate_boot_id, .changes = gate_changes, .close = gate_close,
};

/* Lets n more calls on gpu through (UINT32_MAX: all from now on). */
static void gate_let(struct gate *g, unsigned gpu, unsigned n)
{
    pthread_mutex_lock(&g->mu);
    g->budget[gpu] = n;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* Holds the discoveries that come from now on (true), or lets them go. */
static void gate_hold_discover(struct gate *g, bool hold)
{
    pthread_mutex_lock(&g->mu);
    g->hold_discover = hold;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static unsigned gate_discovers_held(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    unsigned n = g->discovers_held;
    pthread_mutex_unlock(&g->mu);
    return n;
}

static unsigned gate_entered(struct gate *g, unsigned gpu)
{
    pthread_mutex_lock(&g->mu);
    unsigned n = g->entered[gpu];
    pthread_mutex_unlock(&g->mu);
    return n;
}

/* ---- the harness in real time over a gated node ---- */

struct rt_test {
    struct harness *h;
    struct gate *gate;
};

/* Two H100s behind a gate that lets nothing through yet, and the agent
 * (opts: NULL, or its settings) started on threads over the real clock. */
static struct rt_test rt_new(const struct agent_config *opts)
{
    struct rt_test t;
    t.h = h_new_with("model=H100-80GB,count=2,latency=none", opts);
    t.gate = calloc(1, sizeof *t.gate);
    t.gate->inner = t.h->dev;
    assert_int_equal(device_discover(t.gate->inner, &t.gate->inv, NULL, NULL), 0);
    pthread_mutex_init(&t.gate->mu, NULL);
    pthread_cond_init(&t.gate->cv, NULL);
    struct device *d = calloc(1, sizeof *d);
    *d = (struct device){.ops = &gate_ops, .impl = t.gate};
    t.h->dev = d;
    t.h->cfg.agent.device = d;
    t.h->cfg.agent.now_ns = clock_realtime_now;
    t.h->cfg.agent.informer_now_ns = clock_monotonic_now;
    t.h->cfg.agent.clock_ctx = NULL;
    t.h->cfg.agent.virtual_time = false;
    h_agent(t.h);
    struct err e = {0};
    h_ok(agent_start(t.h->rt, &e), &e, "agent_start");
    return t;
}

static void rt_free(struct rt_test *t)
{
    for (unsigned i = 0; i < DEVICE_MAX_GPUS; i++)
        gate_let(t->gate, i, UINT32_MAX);
    gate_hold_discover(t->gate, false);
    h_free(t->h);
}

/* Waits until check(t, arg) holds; fails naming what after WAIT_LIMIT_NS. */
static void wait_for(struct rt_test *t, bool (*check)(struct rt_test *, const void *),
                     const void *arg, const char *what)
{
    int64_t end = clock_monotonic_ns() + WAIT_LIMIT_NS;
    while (!check(t, arg)) {
        if (clock_monotonic_ns() > end)
            fail_msg("never saw: %s", what);
        clock_sleep_ns(2 * MSEC);
    }
}

static bool is_created(struct rt_test *t, const void *name)
{
    return strcmp(h_phase(t->h, name), "Created") == 0;
}

static bool is_deleted(struct rt_test *t, const void *name)
{
    return strcmp(h_phase(t->h, name), "Deleted") == 0;
}

struct entered_at_least {
    unsigned gpu, n;
};

static bool has_entered(struct rt_test *t, const void *arg)
{
    const struct entered_at_least *w = arg;
    return gate_entered(t->gate, w->gpu) >= w->n;
}

static struct agent_stats stats_of(struct rt_test *t)
{
    struct agent_stats s;
    agent_get_stats(agent_runtime_agent(t->h->rt), &s);
    return s;
}

static bool has_destroyed(struct rt_test *t, const void *arg)
{
    (void)arg;
    return stats_of(t).destroys >= 1;
}

static bool discovery_is_held(struct rt_test *t, const void *arg)
{
    (void)arg;
    return gate_discovers_held(t->gate) >= 1;
}

/* The GPUNode's bootID as a static copy ("" when there is none yet). */
static const char *gpunode_boot_id(struct harness *h)
{
    static char out[DEVICE_BOOT_ID_MAX];
    json_t *gn = h_get(h, h->gpunodes, NULL, NODE);
    const char *boot = json_string_value(json_object_get(json_object_get(gn, "status"), "bootID"));
    snprintf(out, sizeof out, "%s", boot ? boot : "");
    json_decref(gn);
    return out;
}

struct boot_or_passes {
    const char *boot;
    uint64_t discoveries;
};

/* The GPUNode reports the boot id, or the agent has made that many
 * recovery passes (which had time to report it). */
static bool reports_boot_or_passed(struct rt_test *t, const void *arg)
{
    const struct boot_or_passes *w = arg;
    return strcmp(gpunode_boot_id(t->h), w->boot) == 0 ||
           stats_of(t).discoveries >= w->discoveries;
}

/* ---- the tests ---- */

/* A create on each GPU: both calls are inside the device at once. One
 * thread sleeping through each call in turn never gets the second in. */
static void calls_on_two_gpus_run_side_by_side(void **state)
{
    (void)state;
    struct rt_test t = rt_new(NULL);
    json_t *pod = h_pod(t.h, "train");
    char a[GPUSLICE_NAME_MAX], b[GPUSLICE_NAME_MAX];
    h_slice(t.h, pod, 0, 0, "1g.10gb", 0, 1, a);
    h_slice(t.h, pod, 1, 1, "1g.10gb", 0, 1, b);
    wait_for(&t, has_entered, &(struct entered_at_least){0, 1}, "a create on GPU 0");
    wait_for(&t, has_entered, &(struct entered_at_least){1, 1}, "a create on GPU 1");
    gate_let(t.gate, 0, UINT32_MAX);
    gate_let(t.gate, 1, UINT32_MAX);
    wait_for(&t, is_created, a, "the slice on GPU 0 Created");
    wait_for(&t, is_created, b, "the slice on GPU 1 Created");
    assert_int_equal(t.gate->max_running_all, 2);
    json_decref(pod);
    rt_free(&t);
}

/* Three slices on one GPU: their creates never overlap, and the first is
 * Created (ConfigMap written) while the second's create is still held in
 * the device, not after the rest of the queue. */
static void a_slice_is_handed_over_as_soon_as_its_create_returns(void **state)
{
    (void)state;
    struct rt_test t = rt_new(NULL);
    json_t *pod = h_pod(t.h, "train");
    char s[3][GPUSLICE_NAME_MAX];
    for (unsigned i = 0; i < 3; i++)
        h_slice(t.h, pod, i, 0, "1g.10gb", i, 1, s[i]);
    gate_let(t.gate, 0, 1);
    /* The first call went through, the second is held. */
    wait_for(&t, has_entered, &(struct entered_at_least){0, 2}, "a second create on GPU 0");
    unsigned created = 0, first = 0;
    int64_t end = clock_monotonic_ns() + WAIT_LIMIT_NS;
    while (created == 0 && clock_monotonic_ns() < end) {
        for (unsigned i = 0; i < 3; i++)
            if (strcmp(h_phase(t.h, s[i]), "Created") == 0)
                created++, first = i;
        clock_sleep_ns(2 * MSEC);
    }
    assert_int_equal(created, 1);
    assert_string_equal(h_cm(t.h, "train-main", "GPUSLICE_SLICES"), s[first]);
    assert_int_equal(gate_entered(t.gate, 0), 2); /* the third waits for the second */

    gate_let(t.gate, 0, UINT32_MAX);
    for (unsigned i = 0; i < 3; i++)
        wait_for(&t, is_created, s[i], "every slice Created");
    assert_int_equal(t.gate->max_running[0], 1);
    h_invariant(t.h);
    json_decref(pod);
    rt_free(&t);
}

/* A finished pod's slice on GPU 1 is destroyed while GPU 0 is busy with a
 * queue of creates. */
static void a_delete_does_not_wait_for_creates_on_another_gpu(void **state)
{
    (void)state;
    struct rt_test t = rt_new(NULL);
    json_t *done = h_pod(t.h, "done"), *next = h_pod(t.h, "next");
    char old[GPUSLICE_NAME_MAX], fresh[4][GPUSLICE_NAME_MAX];
    gate_let(t.gate, 1, UINT32_MAX);
    h_slice(t.h, done, 0, 1, "1g.10gb", 0, 1, old);
    wait_for(&t, is_created, old, "the old slice Created");

    for (unsigned i = 0; i < 4; i++)
        h_slice(t.h, next, i, 0, "1g.10gb", i, 1, fresh[i]);
    wait_for(&t, has_entered, &(struct entered_at_least){0, 1}, "a create on GPU 0");
    h_set_phase(t.h, old, "Ungated");
    h_set_phase(t.h, old, "Deleting");
    wait_for(&t, is_deleted, old, "the old slice Deleted");
    assert_int_equal(gate_entered(t.gate, 0), 1); /* GPU 0's first create still held */

    gate_let(t.gate, 0, UINT32_MAX);
    for (unsigned i = 0; i < 4; i++)
        wait_for(&t, is_created, fresh[i], "every new slice Created");
    h_invariant(t.h);
    json_decref(done);
    json_decref(next);
    rt_free(&t);
}

/* The kill harness's soak with keep-warm (issue 19): a warm slice let go
 * to make room went Deleting and its destroy began; a pod of its
 * namespace was given the same placement (the controller's table of warm
 * slices a step behind its own write), and its GPUSlice came while the
 * destroy ran. Its decision waited for the call, whose end queued only the
 * warm one's key: the taker stayed Creating, with no status, for good.
 * Here the destroy is held in the device while the taker comes; a probe on
 * the other GPU, which comes after it, shows the taker's decision has been
 * made (keys are decided in the order they came). */
static void a_slice_placed_during_a_destroy_there_is_made_after_it(void **state)
{
    (void)state;
    struct rt_test t = rt_new(NULL);
    json_t *old = h_pod(t.h, "old"), *next = h_pod(t.h, "next"), *probe = h_pod(t.h, "probe");
    char warm[GPUSLICE_NAME_MAX], taker[GPUSLICE_NAME_MAX], seen[GPUSLICE_NAME_MAX];
    gate_let(t.gate, 0, 1);
    h_slice(t.h, old, 0, 0, "1g.10gb", 3, 1, warm);
    wait_for(&t, is_created, warm, "the first slice Created");
    h_set_phase(t.h, warm, "Ungated");
    h_set_phase_until(t.h, warm, "Warm", "2027-01-15T08:00:30Z");
    h_set_phase(t.h, warm, "Deleting");
    wait_for(&t, has_entered, &(struct entered_at_least){0, 2}, "the warm slice's destroy");

    h_slice(t.h, next, 0, 0, "1g.10gb", 3, 1, taker);
    gate_let(t.gate, 1, UINT32_MAX);
    h_slice(t.h, probe, 0, 1, "1g.10gb", 0, 1, seen);
    wait_for(&t, is_created, seen, "the probe on GPU 1 Created");
    assert_string_equal(h_phase(t.h, taker), "Creating");

    gate_let(t.gate, 0, UINT32_MAX);
    wait_for(&t, is_deleted, warm, "the warm slice Deleted");
    wait_for(&t, is_created, taker, "the slice placed during the destroy Created");
    h_invariant(t.h);
    json_decref(old);
    json_decref(next);
    json_decref(probe);
    rt_free(&t);
}

/* A discovery read the boot id, then the node rebooted and a destroy on a
 * worker read the rebooted node (its count and slices, published, and a
 * new boot id, which asks for a discovery); the discovery then wrote the
 * boot id it had read and said none was needed. The next recovery pass,
 * finding the count unchanged since the destroy's read, skipped reading
 * the node: the GPUNode kept the old boot id for good. Here the discovery
 * is held in the device while the reboot and the destroy happen. */
static void a_reboot_during_a_discovery_is_reported_by_the_next_pass(void **state)
{
    (void)state;
    struct agent_config opts = {.recovery_period_ns = 50 * MSEC};
    struct rt_test t = rt_new(&opts);
    struct err e = {0};
    char before[DEVICE_BOOT_ID_MAX], name[GPUSLICE_NAME_MAX];
    h_ok(device_boot_id(t.gate->inner, before, &e), &e, "device_boot_id");
    assert_string_not_equal(before, "boot-2");
    json_t *pod = h_pod(t.h, "train");
    gate_let(t.gate, 0, 1);
    h_slice(t.h, pod, 0, 0, "1g.10gb", 0, 1, name);
    wait_for(&t, is_created, name, "the slice Created");
    h_set_phase(t.h, name, "Ungated");
    h_set_phase(t.h, name, "Deleting");
    wait_for(&t, has_entered, &(struct entered_at_least){0, 2}, "the slice's destroy");

    /* A slice made behind the agent's back moves the device's count: the
     * next recovery pass reads the node, and waits after the boot id. */
    gate_hold_discover(t.gate, true);
    struct device_slice_ref other = {.gpu_index = 1, .profile = "1g.10gb", .start = 0};
    h_ok(emulated_add_slice(t.gate->inner, &other, NULL, &e), &e, "emulated_add_slice");
    wait_for(&t, discovery_is_held, NULL, "a discovery held after its boot id");
    h_ok(emulated_reboot(t.gate->inner, "boot-2", &e), &e, "emulated_reboot");
    gate_let(t.gate, 0, UINT32_MAX);
    wait_for(&t, has_destroyed, NULL, "the destroy on the rebooted node");

    /* The held discovery ends, then a recovery pass reads the node again,
     * then two more: by then the GPUNode has what the second read. */
    struct boot_or_passes settled = {"boot-2", stats_of(&t).discoveries + 4};
    gate_hold_discover(t.gate, false);
    wait_for(&t, reports_boot_or_passed, &settled, "the GPUNode's boot id, or four passes");
    assert_string_equal(gpunode_boot_id(t.h), "boot-2");
    json_decref(pod);
    rt_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(calls_on_two_gpus_run_side_by_side),
        cmocka_unit_test(a_slice_is_handed_over_as_soon_as_its_create_returns),
        cmocka_unit_test(a_delete_does_not_wait_for_creates_on_another_gpu),
        cmocka_unit_test(a_slice_placed_during_a_destroy_there_is_made_after_it),
        cmocka_unit_test(a_reboot_during_a_discovery_is_reported_by_the_next_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
