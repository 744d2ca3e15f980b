/*
 * The agent with GPUSlices that share a whole GPU (agent_share.c) and the
 * GPUs' modes for them (agent_mode.c). The MPS daemons' lifecycle is
 * checked exactly against tests/device/fake-mps-control (FAKE_MPS_CONTROL,
 * named to the agent as its control program, like --mps-control), whose
 * record says every call with its environment and every command: started
 * on the first client before it is Created, one daemon for two clients,
 * started again after it died with an Event on each client pod, quit after
 * the last client, quit when the mode changes, and after an agent restart
 * kept where clients are and quit where none are. The emulated backend's
 * own model of the daemons serves the rest.
 */
#include "harness.h"

#include <sys/stat.h>

#include "../common/tmpdir.h"
#include "api/gpunode.h"

#define LAT "latency=none"

struct fake {
    char root[TMPDIR_MAX];
    char record[TMPDIR_MAX + 16];
};

static struct fake *fake_new(void)
{
    assert_non_null(getenv("FAKE_MPS_CONTROL")); /* meson's test env names the fake */
    struct fake *f = calloc(1, sizeof *f);
    assert_int_equal(tmpdir_make(f->root, "agentmps"), 0);
    snprintf(f->record, sizeof f->record, "%s/record", f->root);
    setenv("FAKE_MPS_LOG", f->record, 1);
    unsetenv("FAKE_MPS_REFUSE");
    return f;
}

static size_t count_of(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

/* How often the record says what. */
static size_t recorded(const struct fake *f, const char *what)
{
    FILE *in = fopen(f->record, "r");
    static char text[1 << 16];
    size_t n = in ? fread(text, 1, sizeof text - 1, in) : 0;
    text[n] = '\0';
    if (in)
        fclose(in);
    return count_of(text, what);
}

/* Runs the fake with one command for gpu's daemon (as the agent's env). */
static void fake_say(const struct fake *f, const char *gpu, const char *command)
{
    char cmd[4 * TMPDIR_MAX];
    snprintf(cmd, sizeof cmd, "echo %s | CUDA_MPS_PIPE_DIRECTORY=%s/%s/pipe %s >/dev/null 2>&1",
             command, f->root, gpu, getenv("FAKE_MPS_CONTROL"));
    assert_int_equal(system(cmd), 0);
}

static void fake_free(struct harness *h, struct fake *f)
{
    for (unsigned i = 0; i < 2; i++) /* leave nothing running */
        device_mps_stop(h->dev, h_gpu(h, i), NULL);
    tmpdir_remove(f->root);
    free(f);
}

/* Two L4s (no MIG), GPU 0 in mode0 and GPU 1 in mode1, and an agent that
 * runs the fake control program under f's root (f NULL: the emulated
 * backend's own daemons), counting into metrics (may be NULL). */
static struct harness *l4s(struct fake *f, const char *mode0, const char *mode1,
                           struct prom *metrics)
{
    struct agent_config opts = {.recovery_period_ns = 10 * SEC, .metrics = metrics};
    if (f) {
        opts.mps_root = f->root;
        opts.mps_control = getenv("FAKE_MPS_CONTROL");
    }
    struct harness *h = h_new_with("other=NVIDIA L4,count=2,memory-mib=23034," LAT, &opts);
    h_gpunode(h, (const char *const[]){mode0, mode1}, 2);
    h_settle(h, SEC);
    return h;
}

static void set_mode(struct harness *h, unsigned gpu, const char *mode)
{
    json_t *obj = h_get(h, h->gpunodes, NULL, NODE);
    json_t *g = json_array_get(json_object_get(json_object_get(obj, "spec"), "gpus"), gpu);
    json_object_set_new(g, "mode", json_string(mode));
    struct err e = {0};
    h_ok(store_update(h->st, h->gpunodes, NULL, obj, &(struct store_write_opts){0}, NULL, &e),
         &e, "set mode");
    json_decref(obj);
}

/* A Creating share of GPU gpu for pod's container "main", as the
 * controller writes one; its name into name. */
static void h_share(struct harness *h, const json_t *pod, unsigned gpu, enum pod_sharing sharing,
                    unsigned mem_gib, unsigned sm_percent, char name[GPUSLICE_NAME_MAX])
{
    char cm[128], uuid[DEVICE_UUID_MAX];
    snprintf(cm, sizeof cm, "%s-main", meta_name(pod));
    snprintf(uuid, sizeof uuid, "%s", h_gpu(h, gpu));
    struct gpuslice_spec spec = {
        .pod_name = meta_name(pod), .pod_uid = meta_uid(pod), .container = "main",
        .node = NODE, .gpu_uuid = uuid, .gpu_index = gpu, .sharing = sharing,
        .memory_gib = mem_gib, .sm_percent = sm_percent, .config_map = cm,
    };
    json_t *obj = gpuslice_new(NS, &spec, pod);
    assert_non_null(obj);
    snprintf(name, GPUSLICE_NAME_MAX, "%s", meta_name(obj));
    h_create(h, h->slices, NS, obj, NULL);
}

/* Events of this reason, in any namespace, about the object named about
 * (NULL: any); the first one's involvedObject.uid into uid ("" without one)
 * when uid is not NULL. */
static size_t events_with_uid(struct harness *h, const char *reason, const char *about,
                              char uid[128])
{
    json_t *list = NULL;
    struct err e = {0};
    h_ok(store_list(h->st, h_res(h, "", "v1", "events"), NULL, NULL, &list, &e), &e, "events");
    size_t n = 0, i;
    const json_t *ev;
    json_array_foreach(json_object_get(list, "items"), i, ev) {
        const json_t *io = json_object_get(ev, "involvedObject");
        const char *r = json_string_value(json_object_get(ev, "reason"));
        const char *name = json_string_value(json_object_get(io, "name"));
        if (!r || strcmp(r, reason) != 0 || (about && (!name || strcmp(name, about) != 0)))
            continue;
        if (n++ == 0 && uid) {
            const char *u = json_string_value(json_object_get(io, "uid"));
            snprintf(uid, 128, "%s", u ? u : "");
        }
    }
    json_decref(list);
    return n;
}

static size_t events(struct harness *h, const char *reason, const char *about)
{
    return events_with_uid(h, reason, about, NULL);
}

/* The involvedObject.uid of the first Event of this reason about the
 * object named about ("" when none or without one). */
static const char *event_uid(struct harness *h, const char *reason, const char *about)
{
    static char uid[128];
    uid[0] = '\0';
    events_with_uid(h, reason, about, uid);
    return uid;
}

static struct gpunode_view *read_gpunode(struct harness *h, json_t **obj)
{
    static struct gpunode_view v;
    *obj = h_get(h, h->gpunodes, NULL, NODE);
    assert_non_null(*obj);
    assert_int_equal(gpunode_read(*obj, &v, NULL), 0);
    return &v;
}

static bool daemon_alive(struct harness *h, unsigned gpu)
{
    bool alive = false;
    assert_int_equal(device_mps_alive(h->dev, h_gpu(h, gpu), &alive, NULL), 0);
    return alive;
}

/* ---- the lifecycle, exactly ---- */

static void first_client_starts_the_daemon_and_gets_its_env(void **state)
{
    (void)state;
    struct fake *f = fake_new();
    struct harness *h = l4s(f, "mps", "whole", NULL);
    assert_int_equal(recorded(f, "args=-d"), 0); /* no client: no daemon */
    json_t *pod = h_pod(h, "infer");
    char name[GPUSLICE_NAME_MAX], want[1024];
    h_share(h, pod, 0, POD_SHARING_MPS, 4, 25, name);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, name), "Created");
    assert_string_equal(h_status(h, name, "deviceUUID"), h_gpu(h, 0));
    snprintf(want, sizeof want, "call args=-d visible=%s pipe=%s/%s/pipe logdir=%s/%s/log",
             h_gpu(h, 0), f->root, h_gpu(h, 0), f->root, h_gpu(h, 0));
    assert_int_equal(recorded(f, want), 1);
    assert_string_equal(h_cm(h, "infer-main", "NVIDIA_VISIBLE_DEVICES"), h_gpu(h, 0));
    assert_string_equal(h_cm(h, "infer-main", "CUDA_VISIBLE_DEVICES"), h_gpu(h, 0));
    snprintf(want, sizeof want, "%s/%s/pipe", f->root, h_gpu(h, 0));
    assert_string_equal(h_cm(h, "infer-main", "CUDA_MPS_PIPE_DIRECTORY"), want);
    snprintf(want, sizeof want, "%s/%s/log", f->root, h_gpu(h, 0));
    assert_string_equal(h_cm(h, "infer-main", "CUDA_MPS_LOG_DIRECTORY"), want);
    assert_string_equal(h_cm(h, "infer-main", "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"), "0=4G");
    assert_string_equal(h_cm(h, "infer-main", "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"), "25");
    json_t *cm = h_get(h, h->cms, NS, "infer-main");
    assert_int_equal(json_object_size(json_object_get(cm, "data")), 6); /* those, no more */
    json_decref(cm);
    json_t *obj;
    struct gpunode_view *v = read_gpunode(h, &obj);
    assert_int_equal(v->gpus[0].active, GPUNODE_MODE_MPS);
    assert_int_equal(json_array_size(v->gpus[0].clients), 1);
    const json_t *c = json_array_get(v->gpus[0].clients, 0);
    assert_string_equal(json_string_value(json_object_get(c, "pod")), "infer");
    assert_string_equal(json_string_value(json_object_get(c, "podUID")), meta_uid(pod));
    assert_string_equal(json_string_value(json_object_get(c, "sharing")), "mps");
    assert_int_equal(json_integer_value(json_object_get(c, "memoryGiB")), 4);
    assert_int_equal(json_integer_value(json_object_get(c, "smPercent")), 25);
    json_decref(obj);
    /* The Node offers the mps GPU's memory (22 GiB) to the scheduler; the
     * whole one gpuslice places nothing on. */
    obj = h_get(h, h->nodes, NULL, NODE);
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
                            obj, "status"), "allocatable"), GPUSLICE_RESOURCE_MEMORY)), "22");
    json_decref(obj);
    json_decref(pod);
    fake_free(h, f);
    h_free(h);
}

static void two_clients_one_daemon_quit_after_the_last(void **state)
{
    (void)state;
    struct fake *f = fake_new();
    struct harness *h = l4s(f, "mps", "whole", NULL);
    json_t *p1 = h_pod(h, "a"), *p2 = h_pod(h, "b");
    char s1[GPUSLICE_NAME_MAX], s2[GPUSLICE_NAME_MAX];
    h_share(h, p1, 0, POD_SHARING_MPS, 4, 25, s1);
    h_share(h, p2, 0, POD_SHARING_MPS, 8, 50, s2);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, s1), "Created");
    assert_string_equal(h_phase(h, s2), "Created");
    assert_int_equal(recorded(f, "args=-d"), 1);
    assert_string_equal(h_cm(h, "b-main", "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"), "0=8G");
    h_set_phase(h, s1, "Deleting");
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, s1), "Deleted");
    assert_null(h_cm(h, "a-main", "CUDA_VISIBLE_DEVICES"));
    assert_int_equal(recorded(f, "command quit"), 0); /* b still uses it */
    assert_true(daemon_alive(h, 0));
    h_set_phase(h, s2, "Deleting");
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, s2), "Deleted");
    assert_int_equal(recorded(f, "command quit"), 1);
    assert_false(daemon_alive(h, 0));
    h_settle(h, 30 * SEC); /* the periodic passes ask nothing more of it */
    assert_int_equal(recorded(f, "args=-d"), 1);
    assert_int_equal(recorded(f, "command quit"), 1);
    json_decref(p1);
    json_decref(p2);
    fake_free(h, f);
    h_free(h);
}

static void a_daemon_that_died_is_restarted_and_said(void **state)
{
    (void)state;
    struct fake *f = fake_new();
    struct prom *reg = prom_new();
    struct harness *h = l4s(f, "mps", "whole", reg);
    json_t *p1 = h_pod(h, "a"), *p2 = h_pod(h, "b");
    char s1[GPUSLICE_NAME_MAX], s2[GPUSLICE_NAME_MAX];
    h_share(h, p1, 0, POD_SHARING_MPS, 4, 25, s1);
    h_share(h, p2, 0, POD_SHARING_MPS, 8, 50, s2);
    h_settle(h, SEC);
    fake_say(f, h_gpu(h, 0), "die");
    assert_false(daemon_alive(h, 0));
    h_settle(h, 11 * SEC); /* the next periodic check */
    assert_int_equal(recorded(f, "args=-d"), 2);
    assert_true(daemon_alive(h, 0));
    assert_int_equal(events(h, "MPSDaemonRestarted", "a"), 1);
    assert_int_equal(events(h, "MPSDaemonRestarted", "b"), 1);
    /* kubectl describe pod finds them by the pod's uid */
    assert_string_equal(event_uid(h, "MPSDaemonRestarted", "a"), meta_uid(p1));
    assert_string_equal(event_uid(h, "MPSDaemonRestarted", "b"), meta_uid(p2));
    assert_string_equal(h_phase(h, s1), "Created"); /* the clients keep their shares */
    h_settle(h, 30 * SEC); /* alive: checked, never started again */
    assert_int_equal(recorded(f, "args=-d"), 2);
    assert_int_equal(events(h, "MPSDaemonRestarted", NULL), 2);
    struct agent_stats st;
    agent_get_stats(agent_runtime_agent(h->rt), &st);
    assert_int_equal(st.mps_starts, 2);
    assert_int_equal(st.mps_restarts, 1);
    assert_int_equal(st.mps_running, 1);
    char *text;
    size_t len;
    assert_int_equal(prom_render(reg, &text, &len, NULL), 0);
    assert_non_null(strstr(text, "\ngpuslice_agent_mps_daemons_running{node=\"node-a\"} 1\n"));
    assert_non_null(strstr(text, "\ngpuslice_agent_mps_daemon_restarts_total{node=\"node-a\"} 1\n"));
    assert_non_null(strstr(text, "\ngpuslice_agent_mps_daemon_starts_total{node=\"node-a\"} 2\n"));
    assert_non_null(strstr(text, "kind=\"mps-ensure\",result=\"success\"}"));
    free(text);
    json_decref(p1);
    json_decref(p2);
    fake_free(h, f);
    h_free(h);
    prom_free(reg);
}

static void a_mode_change_waits_then_quits_the_daemon(void **state)
{
    (void)state;
    struct fake *f = fake_new();
    struct harness *h = l4s(f, "mps", "whole", NULL);
    json_t *pod = h_pod(h, "a");
    char s[GPUSLICE_NAME_MAX];
    h_share(h, pod, 0, POD_SHARING_MPS, 4, 25, s);
    h_settle(h, SEC);
    set_mode(h, 0, "timeslice");
    h_settle(h, SEC);
    json_t *obj;
    struct gpunode_view *v = read_gpunode(h, &obj);
    assert_int_equal(v->gpus[0].active, GPUNODE_MODE_MPS); /* a client is there */
    assert_non_null(v->mode_pending);
    assert_non_null(strstr(v->mode_pending, "mode timeslice waits"));
    json_decref(obj);
    assert_int_equal(recorded(f, "command quit"), 0);
    h_set_phase(h, s, "Deleting");
    h_settle(h, SEC);
    v = read_gpunode(h, &obj);
    assert_int_equal(v->gpus[0].active, GPUNODE_MODE_TIMESLICE);
    assert_null(v->mode_pending);
    json_decref(obj);
    assert_int_equal(recorded(f, "command quit"), 1);
    assert_false(daemon_alive(h, 0));
    json_decref(pod);
    fake_free(h, f);
    h_free(h);
}

/* Another writer leaves a status the GPUNode cannot be read with, and then
 * asks a new mode: the read of that spec fails once, but the agent's own
 * report mends the status under the same spec, and the mode is applied by
 * the next periodic pass at the latest (the mode pass remembered the
 * failed read by spec and ignored the wish for as long as spec stayed the
 * same object). */
static void a_mode_asked_over_a_broken_status_is_applied_once_it_reads(void **state)
{
    (void)state;
    struct harness *h = l4s(NULL, "whole", "whole", NULL);
    json_t *obj = h_get(h, h->gpunodes, NULL, NODE);
    json_object_set_new(obj, "status", json_pack("{s:s}", "gpus", "broken"));
    struct err e = {0};
    h_ok(store_update(h->st, h->gpunodes, NULL, obj,
                      &(struct store_write_opts){.subresource = STORE_STATUS}, NULL, &e),
         &e, "break the status");
    json_decref(obj);
    set_mode(h, 0, "timeslice");
    h_settle(h, 25 * SEC);
    struct gpunode_view *v = read_gpunode(h, &obj);
    assert_int_equal(v->gpus[0].active, GPUNODE_MODE_TIMESLICE);
    json_decref(obj);
    h_free(h);
}

static void a_restarted_agent_keeps_daemons_with_clients_only(void **state)
{
    (void)state;
    struct fake *f = fake_new();
    struct harness *h = l4s(f, "mps", "mps", NULL);
    json_t *pod = h_pod(h, "a");
    char s[GPUSLICE_NAME_MAX];
    h_share(h, pod, 0, POD_SHARING_MPS, 4, 25, s);
    h_settle(h, SEC);
    /* A daemon on GPU 1 that no client needs: a share released while the
     * agent was down. */
    assert_int_equal(device_mps_ensure(h->dev, h_gpu(h, 1), NULL, NULL), 0);
    assert_int_equal(recorded(f, "args=-d"), 2);
    h_agent(h); /* a new process: it knows nothing of the daemons */
    h_settle(h, SEC);
    assert_true(daemon_alive(h, 0));
    assert_false(daemon_alive(h, 1));
    assert_int_equal(recorded(f, "args=-d"), 2);       /* GPU 0's kept, not restarted */
    assert_int_equal(recorded(f, "command quit"), 1);  /* GPU 1's */
    assert_int_equal(events(h, "MPSDaemonRestarted", NULL), 0);
    assert_string_equal(h_phase(h, s), "Created");
    json_decref(pod);
    fake_free(h, f);
    h_free(h);
}

static void a_daemon_that_will_not_start_fails_its_first_client(void **state)
{
    (void)state;
    struct fake *f = fake_new();
    struct harness *h = l4s(f, "mps", "whole", NULL);
    setenv("FAKE_MPS_REFUSE", "no CUDA-capable device is detected", 1);
    json_t *pod = h_pod(h, "a");
    char s[GPUSLICE_NAME_MAX];
    h_share(h, pod, 0, POD_SHARING_MPS, 4, 25, s);
    h_settle(h, SEC);
    unsetenv("FAKE_MPS_REFUSE");
    assert_string_equal(h_phase(h, s), "Failed");
    assert_string_equal(h_status(h, s, "reason"), "MPSDaemonFailed");
    assert_non_null(strstr(h_status(h, s, "message"), "no CUDA-capable device"));
    assert_null(h_cm(h, "a-main", "CUDA_VISIBLE_DEVICES"));
    json_decref(pod);
    fake_free(h, f);
    h_free(h);
}

/* ---- time-slicing, the emulated daemons, modes ---- */

static void timeslice_gets_only_the_gpu(void **state)
{
    (void)state;
    struct fake *f = fake_new();
    struct harness *h = l4s(f, "whole", "timeslice", NULL);
    json_t *pod = h_pod(h, "a");
    char s[GPUSLICE_NAME_MAX];
    h_share(h, pod, 1, POD_SHARING_TIMESLICE, 0, 0, s);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, s), "Created");
    assert_string_equal(h_status(h, s, "deviceUUID"), h_gpu(h, 1));
    assert_string_equal(h_cm(h, "a-main", "NVIDIA_VISIBLE_DEVICES"), h_gpu(h, 1));
    json_t *cm = h_get(h, h->cms, NS, "a-main");
    assert_int_equal(json_object_size(json_object_get(cm, "data")), 2);
    json_decref(cm);
    assert_int_equal(recorded(f, "args=-d"), 0);
    h_set_phase(h, s, "Deleting");
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, s), "Deleted");
    assert_null(h_cm(h, "a-main", "NVIDIA_VISIBLE_DEVICES"));
    json_decref(pod);
    fake_free(h, f);
    h_free(h);
}

static void a_share_on_a_gpu_in_another_mode_fails(void **state)
{
    (void)state;
    struct harness *h = l4s(NULL, "whole", "timeslice", NULL);
    json_t *pod = h_pod(h, "a");
    char s[GPUSLICE_NAME_MAX];
    h_share(h, pod, 0, POD_SHARING_MPS, 4, 25, s);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, s), "Failed");
    assert_string_equal(h_status(h, s, "reason"), "WrongMode");
    assert_int_equal(emulated_mps_starts(h->dev, h_gpu(h, 0)), 0);
    json_decref(pod);
    h_free(h);
}

static void the_emulated_daemon_dies_and_is_restarted(void **state)
{
    (void)state;
    struct harness *h = l4s(NULL, "mps", "whole", NULL);
    json_t *pod = h_pod(h, "a");
    char s[GPUSLICE_NAME_MAX];
    h_share(h, pod, 0, POD_SHARING_MPS, 4, 25, s);
    h_settle(h, SEC);
    assert_string_equal(h_phase(h, s), "Created");
    assert_int_equal(emulated_mps_starts(h->dev, h_gpu(h, 0)), 1);
    uint64_t client;
    /* the client as the emulated container would be: held to its 4 GiB */
    assert_int_equal(emulated_mps_connect(h->dev, h_gpu(h, 0), 4096, &client, NULL), 0);
    assert_int_equal(emulated_mps_pin(h->dev, h_gpu(h, 0), client, 4097, NULL), -ENOMEM);
    assert_int_equal(emulated_mps_kill(h->dev, h_gpu(h, 0), NULL), 0);
    h_settle(h, 11 * SEC);
    assert_int_equal(emulated_mps_starts(h->dev, h_gpu(h, 0)), 2);
    assert_int_equal(events(h, "MPSDaemonRestarted", "a"), 1);
    h_set_phase(h, s, "Deleting");
    h_settle(h, SEC);
    assert_false(daemon_alive(h, 0));
    json_decref(pod);
    h_free(h);
}

static void sharing_modes_are_refused_while_mig_is_on(void **state)
{
    (void)state;
    struct harness *h = h_new("model=A100-80GB,mig=on," LAT);
    h_gpunode(h, (const char *const[]){"mps"}, 1);
    h_settle(h, SEC);
    json_t *obj;
    struct gpunode_view *v = read_gpunode(h, &obj);
    assert_int_equal(v->gpus[0].active, GPUNODE_MODE_MIG);
    assert_non_null(v->mode_pending);
    assert_non_null(strstr(v->mode_pending, "mode mps refused while MIG is enabled"));
    json_decref(obj);
    assert_int_equal(events(h, "ModeRefused", NODE), 1);
    assert_int_equal(events(h, "ModeChanged", NODE), 0); /* it stayed mig all along */
    h_settle(h, 60 * SEC); /* said once */
    assert_int_equal(events(h, "ModeRefused", NODE), 1);
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_client_starts_the_daemon_and_gets_its_env),
        cmocka_unit_test(two_clients_one_daemon_quit_after_the_last),
        cmocka_unit_test(a_daemon_that_died_is_restarted_and_said),
        cmocka_unit_test(a_mode_change_waits_then_quits_the_daemon),
        cmocka_unit_test(a_mode_asked_over_a_broken_status_is_applied_once_it_reads),
        cmocka_unit_test(a_restarted_agent_keeps_daemons_with_clients_only),
        cmocka_unit_test(a_daemon_that_will_not_start_fails_its_first_client),
        cmocka_unit_test(timeslice_gets_only_the_gpu),
        cmocka_unit_test(a_share_on_a_gpu_in_another_mode_fails),
        cmocka_unit_test(the_emulated_daemon_dies_and_is_restarted),
        cmocka_unit_test(sharing_modes_are_refused_while_mig_is_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
