/*
 * cluster/kubelet_logs: what an emulated container's log says (its
 * devices as nvidia-smi -L lists them, how long it runs, its exit) from
 * the pod's status alone, a restart keeping the run before as the
 * previous one, and the kubelet's refusals in its words.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cluster/kubelet_logs.h"

/* The node's driver: two MIG devices on one A100, one on an H100. */
static int fake_devices(void *ctx, const char *node, const char *uuid,
                        struct kubelet_device *out)
{
    (void)ctx;
    assert_string_equal(node, "n1");
    const char *gpu = strcmp(uuid, "MIG-c") == 0 ? "GPU-h" : "GPU-a";
    if (strncmp(uuid, "MIG-", 4) != 0 || strcmp(uuid, "MIG-unknown") == 0)
        return -ENOENT;
    snprintf(out->gpu_uuid, sizeof out->gpu_uuid, "%s", gpu);
    snprintf(out->gpu_product, sizeof out->gpu_product, "%s",
             gpu[4] == 'h' ? "NVIDIA H100 80GB HBM3" : "NVIDIA A100-SXM4-40GB");
    snprintf(out->profile, sizeof out->profile, "%s", gpu[4] == 'h' ? "1g.10gb" : "1g.5gb");
    return 0;
}

/* A pod whose container c was started with NVIDIA_VISIBLE_DEVICES=visible
 * (recorded in b, as the kubelet does), with status statuses (JSON text of
 * containerStatuses). */
static json_t *pod(struct kubelet_logs *b, const char *visible, const char *statuses)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"metadata\":{\"name\":\"p\",\"uid\":\"u1\",\"annotations\":{"
             "\"gpuslice.dev/run-seconds\":\"2.5\"}},\"spec\":{\"containers\":"
             "[{\"name\":\"c\"}]},\"status\":{\"containerStatuses\":%s}}",
             statuses);
    json_error_t je;
    json_t *p = json_loads(text, 0, &je);
    if (!p)
        fail_msg("%s: %s", je.text, text);
    kubelet_logs_started(b, p, json_pack("{s:{s:s}}", "c", "NVIDIA_VISIBLE_DEVICES", visible));
    return p;
}

static char *text_of(struct linelog *log)
{
    static char out[4096];
    struct linelog_line l[32];
    uint64_t from = 0;
    size_t n = linelog_read(log, &from, l, 32), used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(out + used, sizeof out - used, "%s\n", l[i].text);
    linelog_lines_free(l, n);
    return out;
}

#define RUNNING(n) "[{\"name\":\"c\",\"restartCount\":" #n ",\"state\":{\"running\":{" \
    "\"startedAt\":\"2024-05-01T10:00:0" #n "Z\"}}"
#define LAST(n, code) ",\"lastState\":{\"terminated\":{\"exitCode\":" #code ",\"reason\":" \
    "\"Error\",\"finishedAt\":\"2024-05-01T10:00:0" #n "Z\"}}"

static void a_run_lists_its_devices_then_its_end(void **state)
{
    (void)state;
    struct kubelet_logs *b = kubelet_logs_new("n1", 0, fake_devices, NULL);
    json_t *p = pod(b, "MIG-a,MIG-c,MIG-b", RUNNING(0) "}]");
    kubelet_logs_observe(b, p);
    kubelet_logs_observe(b, p); /* seen again: nothing written twice */
    struct linelog *log;
    assert_int_equal(kubelet_logs_open(b, p, "c", false, &log, NULL), 0);
    assert_string_equal(text_of(log),
                        "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-a)\n"
                        "  MIG 1g.5gb Device 0: (UUID: MIG-a)\n"
                        "  MIG 1g.5gb Device 1: (UUID: MIG-b)\n"
                        "GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-h)\n"
                        "  MIG 1g.10gb Device 0: (UUID: MIG-c)\n"
                        "[gpuslice] emulated container c started; runs 2.5 s\n");
    assert_false(linelog_closed(log));
    json_decref(p);
    p = pod(b, "MIG-a", "[{\"name\":\"c\",\"restartCount\":0,\"state\":{\"terminated\":{"
                     "\"exitCode\":0,\"reason\":\"Completed\",\"startedAt\":"
                     "\"2024-05-01T10:00:00Z\",\"finishedAt\":\"2024-05-01T10:00:02Z\"}}}]");
    kubelet_logs_observe(b, p);
    assert_true(linelog_closed(log)); /* a follower ends */
    assert_non_null(strstr(text_of(log), "runs 2.5 s\n[gpuslice] emulated container c exited "
                                         "with code 0 (Completed)\n"));
    kubelet_logs_forget(b, p);
    linelog_unref(log);
    json_decref(p);
    kubelet_logs_free(b);
}

static void devices_the_driver_does_not_know_are_listed_by_uuid(void **state)
{
    (void)state;
    struct kubelet_logs *b = kubelet_logs_new("n1", 0, NULL, NULL);
    json_t *p = pod(b, "MIG-unknown,GPU-x", RUNNING(0) "}]");
    kubelet_logs_observe(b, p);
    struct linelog *log;
    assert_int_equal(kubelet_logs_open(b, p, "c", false, &log, NULL), 0);
    assert_non_null(strstr(text_of(log), "MIG Device 0: (UUID: MIG-unknown)\n"
                                         "GPU Device 1: (UUID: GPU-x)\n"));
    linelog_unref(log);
    json_decref(p);
    p = pod(b, "void", RUNNING(0) "}]");
    kubelet_logs_forget(b, p); /* the old run's log goes, and the environment */
    kubelet_logs_started(b, p, json_pack("{s:{s:s}}", "c", "NVIDIA_VISIBLE_DEVICES", "void"));
    kubelet_logs_observe(b, p);
    assert_int_equal(kubelet_logs_open(b, p, "c", false, &log, NULL), 0);
    assert_non_null(strstr(text_of(log), "No devices found.\n"));
    linelog_unref(log);
    json_decref(p);
    kubelet_logs_free(b);
}

/* What a pod's containers were started with is kept until the pod is
 * forgotten; a later start replaces it. */
static void the_started_environment_is_kept_until_forgotten(void **state)
{
    (void)state;
    struct kubelet_logs *b = kubelet_logs_new("n1", 0, NULL, NULL);
    json_t *p = pod(b, "MIG-a", RUNNING(0) "}]");
    json_t *env = kubelet_logs_env(b, p);
    assert_string_equal(json_string_value(json_object_get(json_object_get(env, "c"),
                                                          "NVIDIA_VISIBLE_DEVICES")),
                        "MIG-a");
    json_decref(env);
    kubelet_logs_started(b, p, json_pack("{s:{s:s}}", "c", "NVIDIA_VISIBLE_DEVICES", "MIG-b"));
    env = kubelet_logs_env(b, p);
    assert_string_equal(json_string_value(json_object_get(json_object_get(env, "c"),
                                                          "NVIDIA_VISIBLE_DEVICES")),
                        "MIG-b");
    json_decref(env);
    kubelet_logs_forget(b, p);
    assert_null(kubelet_logs_env(b, p));
    json_decref(p);
    kubelet_logs_free(b);
}

static void an_mps_client_shows_its_limits(void **state)
{
    (void)state;
    struct kubelet_logs *b = kubelet_logs_new("n1", 0, NULL, NULL);
    json_t *p = pod(b, "GPU-x", RUNNING(0) "}]");
    json_t *env = json_pack("{s:{s:s, s:s, s:s, s:s}}", "c", "NVIDIA_VISIBLE_DEVICES", "GPU-x",
                            "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT", "0=4G",
                            "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "25", "CUDA_MPS_PIPE_DIRECTORY",
                            "/run/gpuslice/mps/GPU-x/pipe");
    kubelet_logs_started(b, p, env);
    kubelet_logs_observe(b, p);
    struct linelog *log;
    assert_int_equal(kubelet_logs_open(b, p, "c", false, &log, NULL), 0);
    assert_non_null(strstr(text_of(log), "GPU Device 0: (UUID: GPU-x)\n[gpuslice] MPS client: "
                                         "pinned device memory limit 0=4G, active thread "
                                         "percentage 25, control daemon at "
                                         "/run/gpuslice/mps/GPU-x/pipe\n"));
    linelog_unref(log);
    json_decref(p);
    kubelet_logs_free(b);
}

static void a_restart_keeps_the_run_before(void **state)
{
    (void)state;
    struct kubelet_logs *b = kubelet_logs_new("n1", 0, fake_devices, NULL);
    json_t *p = pod(b, "MIG-a", RUNNING(0) "}]");
    kubelet_logs_observe(b, p);
    struct linelog *first;
    assert_int_equal(kubelet_logs_open(b, p, "c", false, &first, NULL), 0);
    json_decref(p);
    p = pod(b, "MIG-a", RUNNING(1) LAST(1, 3) "}]");
    kubelet_logs_observe(b, p);
    assert_true(linelog_closed(first));
    assert_non_null(strstr(text_of(first), "exited with code 3 (Error)\n"));
    struct linelog *prev, *cur;
    assert_int_equal(kubelet_logs_open(b, p, "c", true, &prev, NULL), 0);
    assert_ptr_equal(prev, first);
    assert_int_equal(kubelet_logs_open(b, p, "c", false, &cur, NULL), 0);
    assert_ptr_not_equal(cur, first);
    assert_false(linelog_closed(cur));
    linelog_unref(first);
    linelog_unref(prev);
    linelog_unref(cur);
    json_decref(p);
    kubelet_logs_free(b);
}

static void refusals_in_the_kubelets_words(void **state)
{
    (void)state;
    struct kubelet_logs *b = kubelet_logs_new("n1", 0, NULL, NULL);
    struct linelog *log = NULL;
    struct err e;
    json_t *p = pod(b, "", "[{\"name\":\"c\",\"restartCount\":0,\"state\":{\"waiting\":{"
                        "\"reason\":\"ContainerCreating\"}}}]");
    assert_int_equal(kubelet_logs_open(b, p, "c", false, &log, &e), -EBADMSG);
    assert_string_equal(e.msg, "container \"c\" in pod \"p\" is waiting to start: "
                               "ContainerCreating");
    assert_int_equal(kubelet_logs_open(b, p, "c", true, &log, &e), -EBADMSG);
    assert_string_equal(e.msg, "previous terminated container \"c\" in pod \"p\" not found");
    assert_int_equal(kubelet_logs_open(b, p, "d", false, &log, &e), -EBADMSG);
    assert_string_equal(e.msg, "container \"d\" in pod \"p\" is not available");
    assert_null(log);
    json_decref(p);
    p = pod(b, "", "[{\"name\":\"c\",\"restartCount\":0,\"state\":{}}]");
    assert_int_equal(kubelet_logs_open(b, p, "c", false, &log, &e), -EBADMSG);
    assert_string_equal(e.msg, "container \"c\" in pod \"p\" is waiting to start - no logs yet");
    json_decref(p);
    /* A run this book never saw (a restarted kubelet): an empty, ended log. */
    p = pod(b, "", RUNNING(0) "}]");
    assert_int_equal(kubelet_logs_open(b, p, "c", false, &log, NULL), 0);
    assert_string_equal(text_of(log), "");
    assert_true(linelog_closed(log));
    linelog_unref(log);
    json_decref(p);
    kubelet_logs_free(b);
}

static void a_log_keeps_its_newest_lines_under_the_cap(void **state)
{
    (void)state;
    struct kubelet_logs *b = kubelet_logs_new("n1", 80, fake_devices, NULL);
    json_t *p = pod(b, "MIG-a,MIG-b,MIG-c", RUNNING(0) "}]");
    kubelet_logs_observe(b, p);
    struct linelog *log;
    assert_int_equal(kubelet_logs_open(b, p, "c", false, &log, NULL), 0);
    const char *text = text_of(log);
    assert_null(strstr(text, "GPU 0:"));
    assert_non_null(strstr(text, "runs 2.5 s\n"));
    linelog_unref(log);
    json_decref(p);
    kubelet_logs_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_run_lists_its_devices_then_its_end),
        cmocka_unit_test(devices_the_driver_does_not_know_are_listed_by_uuid),
        cmocka_unit_test(the_started_environment_is_kept_until_forgotten),
        cmocka_unit_test(an_mps_client_shows_its_limits),
        cmocka_unit_test(a_restart_keeps_the_run_before),
        cmocka_unit_test(refusals_in_the_kubelets_words),
        cmocka_unit_test(a_log_keeps_its_newest_lines_under_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
