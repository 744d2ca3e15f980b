/* Tests for the emulated kubelet's MPS clients over a fake daemon per GPU:
 * a container given a share connects when it runs and disconnects when it
 * ends or goes; one whose daemon dies, or that the daemon refuses, fails
 * with a reason and message in its status; a restart connects it to the
 * daemon started since; a pod with no share connects nothing. */
#include "harness.h"

#include "cluster/kubelet.h"
#include "cluster/kubelet_mps.h"
#include "cluster/kubelet_pod.h"

/* One GPU's daemon, as the fake models it. */
struct fake_daemon {
    bool alive;
    unsigned starts;
    unsigned clients;
    uint64_t used_mib, room_mib;
    uint64_t last_limit;
};

static int fake_connect(void *ctx, const char *node, const char *gpu, uint64_t limit_mib,
                        uint64_t *client, struct err *e)
{
    struct fake_daemon *d = ctx;
    assert_string_equal(node, "n1");
    assert_string_equal(gpu, "GPU-a");
    if (!d->alive)
        return err_set(e, -ENOENT, "no MPS daemon runs on GPU %s", gpu);
    if (d->used_mib + limit_mib > d->room_mib)
        return err_set(e, -ENOSPC, "GPU %s: over the room of its server", gpu);
    d->used_mib += limit_mib;
    d->last_limit = limit_mib;
    d->clients++;
    *client = (uint64_t)d->starts << 32 | limit_mib;
    return 0;
}

static bool fake_connected(void *ctx, const char *node, const char *gpu, uint64_t client)
{
    struct fake_daemon *d = ctx;
    (void)node;
    (void)gpu;
    return d->alive && d->starts == (unsigned)(client >> 32);
}

static void fake_disconnect(void *ctx, const char *node, const char *gpu, uint64_t client)
{
    struct fake_daemon *d = ctx;
    if (!fake_connected(ctx, node, gpu, client))
        return;
    d->clients--;
    d->used_mib -= client & 0xffffffffu;
}

static const struct kubelet_mps_ops fake_ops = {
    .connect = fake_connect, .disconnect = fake_disconnect, .connected = fake_connected,
};

static void fake_kill(struct fake_daemon *d)
{
    d->alive = false;
    d->clients = 0;
    d->used_mib = 0;
}

static void fake_start(struct fake_daemon *d)
{
    d->alive = true;
    d->starts++;
}

static const struct kubelet_node n1[] = {{.name = "n1", .gpus = true}};

static struct harness *with(struct fake_daemon *d)
{
    *d = (struct fake_daemon){.room_mib = 8192};
    fake_start(d);
    struct harness *h = h_new_mps(n1, 1, 0, false, &fake_ops, d);
    h_settle(h);
    return h;
}

/* A pod given limit ("0=4G") of GPU-a's daemon, or none when limit is NULL. */
static void share_pod(struct harness *h, const char *name, const char *limit,
                      const char *policy, const char *meta)
{
    char env[256] = "";
    if (limit)
        snprintf(env, sizeof env, ",'env':[{'name':'NVIDIA_VISIBLE_DEVICES','value':'GPU-a'},"
                 "{'name':'CUDA_MPS_PINNED_DEVICE_MEM_LIMIT','value':'%s'}]", limit);
    h_create(h, h->pods,
             "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'%s','namespace':'%s'%s},"
             "'spec':{'nodeName':'n1','restartPolicy':'%s','containers':[{'name':'main',"
             "'image':'cuda'%s}]}}", name, NS, meta, policy, env);
}

static const char *state_of(struct harness *h, const char *name, const char *path)
{
    char full[160];
    snprintf(full, sizeof full, "status.containerStatuses.0.%s", path);
    return h_field(h, h->pods, name, full);
}

static void a_share_connects_while_it_runs(void **state)
{
    (void)state;
    struct fake_daemon d;
    struct harness *h = with(&d);
    share_pod(h, "short", "0=4G", "Never", ",'annotations':{'gpuslice.dev/run-seconds':'5'}");
    share_pod(h, "plain", NULL, "Never", "");
    h_settle(h);
    assert_string_equal(h_field(h, h->pods, "short", "status.phase"), "Running");
    assert_string_equal(h_field(h, h->pods, "plain", "status.phase"), "Running");
    assert_int_equal(d.clients, 1); /* the pod with no share connects nothing */
    assert_int_equal(d.last_limit, 4096);
    h_advance_ms(h, 6000);
    assert_string_equal(h_field(h, h->pods, "short", "status.phase"), "Succeeded");
    assert_int_equal(d.clients, 0); /* ended: disconnected */
    share_pod(h, "long", "0=512M", "Never", "");
    h_settle(h);
    assert_int_equal(d.clients, 1);
    assert_int_equal(d.used_mib, 512);
    struct err e = {0};
    h_ok(store_delete(h->st, h->pods, NS, "long", NULL, NULL, &e), &e, "delete");
    h_advance_ms(h, 31000); /* its grace period */
    assert_int_equal(d.clients, 0); /* gone: disconnected */
    h_free(h);
}

static void a_dead_daemon_fails_its_clients(void **state)
{
    (void)state;
    struct fake_daemon d;
    struct harness *h = with(&d);
    share_pod(h, "once", "0=2G", "Never", "");
    share_pod(h, "again", "0=2G", "Always", "");
    h_settle(h);
    assert_int_equal(d.clients, 2);
    fake_kill(&d);
    h_advance_ms(h, 1500);
    assert_string_equal(h_field(h, h->pods, "once", "status.phase"), "Failed");
    assert_string_equal(state_of(h, "once", "state.terminated.reason"),
                        KUBELET_MPS_REASON_DIED);
    assert_string_equal(state_of(h, "once", "state.terminated.message"),
                        "the MPS daemon of GPU GPU-a died: its clients lost the GPU");
    assert_string_equal(state_of(h, "once", "state.terminated.exitCode"), "1");
    /* Always: restarted at once; no daemon to connect to a second later,
     * so it fails again each second, now as refused, until one runs. */
    assert_string_equal(h_field(h, h->pods, "again", "status.phase"), "Running");
    assert_string_equal(state_of(h, "again", "lastState.terminated.reason"),
                        KUBELET_MPS_REASON_DIED);
    h_advance_ms(h, 1500);
    assert_string_equal(state_of(h, "again", "lastState.terminated.reason"),
                        KUBELET_MPS_REASON_REFUSED);
    assert_string_equal(state_of(h, "again", "lastState.terminated.message"),
                        "no MPS daemon runs on GPU GPU-a");
    fake_start(&d);
    h_advance_ms(h, 2000);
    assert_int_equal(d.clients, 1); /* connected to the daemon started since */
    const char *count = state_of(h, "again", "restartCount");
    h_advance_ms(h, 5000);
    assert_string_equal(state_of(h, "again", "restartCount"), count); /* served: no more */
    /* Killed and started again between two passes: its clients went with
     * the old one. */
    fake_kill(&d);
    fake_start(&d);
    h_advance_ms(h, 1500);
    assert_string_equal(state_of(h, "again", "lastState.terminated.reason"),
                        KUBELET_MPS_REASON_DIED);
    h_advance_ms(h, 1500);
    assert_int_equal(d.clients, 1);
    h_free(h);
}

static void a_refused_client_fails_with_the_daemons_words(void **state)
{
    (void)state;
    struct fake_daemon d;
    struct harness *h = with(&d);
    share_pod(h, "big", "0=16G", "Never", "");
    h_settle(h);
    assert_string_equal(h_field(h, h->pods, "big", "status.phase"), "Failed");
    assert_string_equal(state_of(h, "big", "state.terminated.reason"),
                        KUBELET_MPS_REASON_REFUSED);
    assert_string_equal(state_of(h, "big", "state.terminated.message"),
                        "GPU GPU-a: over the room of its server");
    assert_int_equal(d.clients, 0);
    h_free(h);
}

/* Without the embedding's daemons (ENOSYS), a share runs unconnected. */
static int no_daemons(void *ctx, const char *node, const char *gpu, uint64_t limit_mib,
                      uint64_t *client, struct err *e)
{
    (void)ctx, (void)node, (void)gpu, (void)limit_mib, (void)client, (void)e;
    return -ENOSYS;
}

static void unmodelled_daemons_leave_shares_running(void **state)
{
    (void)state;
    struct fake_daemon d = {0};
    static const struct kubelet_mps_ops ops = {
        .connect = no_daemons, .disconnect = fake_disconnect, .connected = fake_connected,
    };
    struct harness *h = h_new_mps(n1, 1, 0, false, &ops, &d);
    h_settle(h);
    share_pod(h, "p", "0=4G", "Never", "");
    h_advance_ms(h, 3000);
    assert_string_equal(h_field(h, h->pods, "p", "status.phase"), "Running");
    assert_string_equal(state_of(h, "p", "restartCount"), "0");
    h_free(h);
}

static const char *restarted_for(const json_t *pod)
{
    const json_t *cs = json_array_get(json_object_get(json_object_get(pod, "status"),
                                                      "containerStatuses"), 0);
    return json_string_value(json_object_get(
        json_object_get(json_object_get(cs, "lastState"), "terminated"), "reason"));
}

/* One pass of the book over the stored pod: the copy it would write. */
static json_t *pass(struct kubelet_mps *b, const json_t *stored, int64_t now)
{
    json_t *copy = json_deep_copy(stored);
    bool recheck = false;
    assert_int_equal(kubelet_mps_sync(b, NS "/p", copy, now, &recheck), 0);
    return copy;
}

/* The write failing a client whose daemon died conflicts (another writer
 * moved the pod on): the pass again on the pod as stored fails it again,
 * rather than connecting it to the daemon started since as if its first
 * run had not lost the GPU. */
static void a_death_survives_a_conflicting_write(void **state)
{
    (void)state;
    struct fake_daemon d = {.room_mib = 8192};
    fake_start(&d);
    struct kubelet_mps *b = kubelet_mps_new("n1", &fake_ops, &d);
    json_t *pod = json_text("{'metadata':{'name':'p','uid':'u'},'spec':{'restartPolicy':"
                            "'Always','containers':[{'name':'main','image':'i'}]}}");
    assert_int_equal(kubelet_pod_start(pod, "n1", T0), 0);
    json_t *envs = json_text("{'main':{'NVIDIA_VISIBLE_DEVICES':'GPU-a',"
                             "'CUDA_MPS_PINNED_DEVICE_MEM_LIMIT':'0=2G'}}");
    kubelet_mps_started(b, NS "/p", envs);
    json_decref(envs);
    json_t *stored = pass(b, pod, T0);
    json_decref(pod);
    assert_int_equal(d.clients, 1);
    fake_kill(&d);
    fake_start(&d);
    json_t *lost = pass(b, stored, T0 + SEC);
    assert_string_equal(restarted_for(lost), KUBELET_MPS_REASON_DIED);
    json_decref(lost); /* its write conflicted */
    json_t *again = pass(b, stored, T0 + 3 * SEC); /* past the retry */
    assert_non_null(restarted_for(again));
    assert_string_equal(restarted_for(again), KUBELET_MPS_REASON_DIED);
    assert_int_equal(d.clients, 0);
    json_decref(stored);
    /* Written: the restarted run connects to the new daemon once due. */
    json_t *next = pass(b, again, T0 + 5 * SEC);
    assert_int_equal(d.clients, 1);
    assert_int_equal(kubelet_mps_clients(b, NS "/p"), 1);
    json_decref(again);
    json_decref(next);
    kubelet_mps_forget(b, NS "/p");
    assert_int_equal(d.clients, 0);
    kubelet_mps_free(b);
}

/* The book records a pod whose start gave a container an MPS share, until
 * it is forgotten; a start with none records nothing. */
static void the_book_records_only_pods_with_a_share(void **state)
{
    (void)state;
    struct fake_daemon d = {.room_mib = 8192};
    fake_start(&d);
    struct kubelet_mps *b = kubelet_mps_new("n1", &fake_ops, &d);
    json_t *mig = json_text("{'main':{'NVIDIA_VISIBLE_DEVICES':'MIG-a'}}");
    kubelet_mps_started(b, NS "/mig", mig);
    json_decref(mig);
    assert_false(kubelet_mps_records(b, NS "/mig"));
    json_t *share = json_text("{'main':{'NVIDIA_VISIBLE_DEVICES':'GPU-a',"
                              "'CUDA_MPS_PINNED_DEVICE_MEM_LIMIT':'0=2G'}}");
    kubelet_mps_started(b, NS "/p", share);
    json_decref(share);
    assert_true(kubelet_mps_records(b, NS "/p"));
    kubelet_mps_forget(b, NS "/p");
    assert_false(kubelet_mps_records(b, NS "/p"));
    kubelet_mps_free(b);
}

/* kubelet_pod_fail_container alone: Never keeps the failure, OnFailure
 * restarts it; a container not running is left alone. */
static void failing_a_container(void **state)
{
    (void)state;
    json_t *p = json_text("{'metadata':{'name':'p','uid':'u'},'spec':{'restartPolicy':'Never',"
                          "'containers':[{'name':'main','image':'i'}]}}");
    assert_int_equal(kubelet_pod_start(p, "n1", T0), 0);
    assert_int_equal(kubelet_pod_fail_container(p, "other", "R", "m", T0 + SEC), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(p, "status"), "phase")),
                        "Running");
    assert_int_equal(kubelet_pod_fail_container(p, "main", "R", "why", T0 + SEC), 0);
    json_t *st = json_object_get(p, "status");
    assert_string_equal(json_string_value(json_object_get(st, "phase")), "Failed");
    json_t *cs = json_array_get(json_object_get(st, "containerStatuses"), 0);
    json_t *t = json_object_get(json_object_get(cs, "state"), "terminated");
    assert_string_equal(json_string_value(json_object_get(t, "message")), "why");
    json_object_set_new(json_object_get(p, "spec"), "restartPolicy", json_string("OnFailure"));
    assert_int_equal(kubelet_pod_start(p, "n1", T0), 0);
    assert_int_equal(kubelet_pod_fail_container(p, "main", "R", "why", T0 + SEC), 0);
    cs = json_array_get(json_object_get(json_object_get(p, "status"), "containerStatuses"), 0);
    assert_int_equal(json_integer_value(json_object_get(cs, "restartCount")), 1);
    assert_non_null(json_object_get(json_object_get(cs, "state"), "running"));
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_share_connects_while_it_runs),
        cmocka_unit_test(a_dead_daemon_fails_its_clients),
        cmocka_unit_test(a_refused_client_fails_with_the_daemons_words),
        cmocka_unit_test(unmodelled_daemons_leave_shares_running),
        cmocka_unit_test(failing_a_container),
        cmocka_unit_test(a_death_survives_a_conflicting_write),
        cmocka_unit_test(the_book_records_only_pods_with_a_share),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
