/* Tests for device/mps against tests/device/fake-mps-control (put in by
 * meson as FAKE_MPS_CONTROL), which records every call: the daemon's
 * lifecycle (started once, found alive, restarted after it died, stopped
 * with quit, each GPU's daemon on its own pipe directory), the program's
 * refusals, a missing or hung program, bad UUIDs, and the environment a
 * client gets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/tmpdir.h"
#include "device/mps.h"
#include "util/clock.h"

#define GPU_A "GPU-4bb3a1a6-0b1f-3b8e-9f2a-1c2d3e4f5a6b"
#define GPU_B "GPU-00000000-1111-2222-3333-444444444444"

struct fixture {
    char root[TMPDIR_MAX];
    char record[TMPDIR_MAX + 16];
    struct mps_config cfg;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f || tmpdir_make(f->root, "mps") < 0)
        return -1;
    snprintf(f->record, sizeof f->record, "%s/record", f->root);
    setenv("FAKE_MPS_LOG", f->record, 1);
    unsetenv("FAKE_MPS_REFUSE");
    f->cfg = (struct mps_config){.control = getenv("FAKE_MPS_CONTROL"), .root = f->root};
    *state = f;
    return f->cfg.control ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    mps_daemon_stop(&f->cfg, GPU_A, NULL); /* leave nothing running */
    mps_daemon_stop(&f->cfg, GPU_B, NULL);
    tmpdir_remove(f->root);
    free(f);
    return 0;
}

/* The record's text; the caller frees it. */
static char *record_of(const struct fixture *f)
{
    FILE *in = fopen(f->record, "r");
    char *text = calloc(1, 65536);
    if (in) {
        size_t n = fread(text, 1, 65535, in);
        text[n] = '\0';
        fclose(in);
    }
    return text;
}

static size_t count_of(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

static bool alive(struct fixture *f, const char *gpu)
{
    bool yes = false;
    struct err e;
    assert_int_equal(mps_daemon_alive(&f->cfg, gpu, &yes, &e), 0);
    return yes;
}

/* What a daemon that died looks like: its process gone. */
static void kill_daemon(struct fixture *f, const char *gpu)
{
    char path[MPS_PATH_MAX + 32];
    struct mps_paths p;
    assert_int_equal(mps_paths_of(&f->cfg, gpu, &p, NULL), 0);
    snprintf(path, sizeof path, "%s/fake-daemon.pid", p.pipe);
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    long pid = 0;
    assert_int_equal(fscanf(in, "%ld", &pid), 1);
    fclose(in);
    assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
    for (int i = 0; i < 200 && kill((pid_t)pid, 0) == 0; i++)
        clock_sleep_ns(10 * NS_PER_MS); /* reaped by init soon after */
}

static void the_daemon_lives_from_ensure_to_stop(void **state)
{
    struct fixture *f = *state;
    struct err e;
    bool started = false;
    assert_false(alive(f, GPU_A));
    assert_int_equal(mps_daemon_ensure(&f->cfg, GPU_A, &started, &e), 0);
    assert_true(started);
    assert_true(alive(f, GPU_A));
    char want[1024];
    snprintf(want, sizeof want, "call args=-d visible=%s pipe=%s/%s/pipe logdir=%s/%s/log\n",
             GPU_A, f->root, GPU_A, f->root, GPU_A);
    char *rec = record_of(f);
    assert_non_null(strstr(rec, want));
    free(rec);
    /* Started once: a second ensure finds it and starts nothing. */
    assert_int_equal(mps_daemon_ensure(&f->cfg, GPU_A, &started, &e), 0);
    assert_false(started);
    rec = record_of(f);
    assert_int_equal(count_of(rec, "args=-d"), 1);
    free(rec);
    /* The pipe directory is readable by clients. */
    struct mps_paths p;
    assert_int_equal(mps_paths_of(&f->cfg, GPU_A, &p, &e), 0);
    struct stat st;
    assert_int_equal(stat(p.pipe, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0755);
    assert_int_equal(mps_daemon_stop(&f->cfg, GPU_A, &e), 0);
    assert_false(alive(f, GPU_A));
    rec = record_of(f);
    assert_int_equal(count_of(rec, "command quit\n"), 1);
    free(rec);
    /* Stopping what is not running asks nothing more. */
    assert_int_equal(mps_daemon_stop(&f->cfg, GPU_A, &e), 0);
    rec = record_of(f);
    assert_int_equal(count_of(rec, "command quit\n"), 1);
    free(rec);
}

static void a_daemon_that_died_is_restarted(void **state)
{
    struct fixture *f = *state;
    struct err e;
    bool started = false;
    assert_int_equal(mps_daemon_ensure(&f->cfg, GPU_A, &started, &e), 0);
    kill_daemon(f, GPU_A);
    assert_false(alive(f, GPU_A));
    assert_int_equal(mps_daemon_ensure(&f->cfg, GPU_A, &started, &e), 0);
    assert_true(started); /* the caller tells the clients */
    assert_true(alive(f, GPU_A));
    char *rec = record_of(f);
    assert_int_equal(count_of(rec, "args=-d"), 2);
    free(rec);
}

static void each_gpu_has_its_own_daemon(void **state)
{
    struct fixture *f = *state;
    struct err e;
    assert_int_equal(mps_daemon_ensure(&f->cfg, GPU_A, NULL, &e), 0);
    assert_int_equal(mps_daemon_ensure(&f->cfg, GPU_B, NULL, &e), 0);
    assert_int_equal(mps_daemon_stop(&f->cfg, GPU_A, &e), 0);
    assert_false(alive(f, GPU_A));
    assert_true(alive(f, GPU_B));
    char *rec = record_of(f);
    char want[256];
    snprintf(want, sizeof want, "args=-d visible=%s pipe=%s/%s/pipe", GPU_B, f->root, GPU_B);
    assert_non_null(strstr(rec, want));
    free(rec);
}

static void a_refusal_is_reported_in_its_words(void **state)
{
    struct fixture *f = *state;
    struct err e;
    setenv("FAKE_MPS_REFUSE", "Insufficient permissions", 1);
    assert_int_equal(mps_daemon_ensure(&f->cfg, GPU_A, NULL, &e), -EIO);
    unsetenv("FAKE_MPS_REFUSE");
    char want[256];
    snprintf(want, sizeof want, "mps: GPU %s: the control daemon did not start (exit 1): "
             "Insufficient permissions", GPU_A);
    assert_string_equal(e.msg, want);
}

static void a_missing_or_hung_program_fails_cleanly(void **state)
{
    struct fixture *f = *state;
    struct err e;
    bool yes;
    struct mps_config missing = {.control = "/nonexistent/nvidia-cuda-mps-control",
                                 .root = f->root};
    assert_int_equal(mps_daemon_alive(&missing, GPU_A, &yes, &e), -ENOENT);
    assert_non_null(strstr(e.msg, "mps: GPU " GPU_A ": /nonexistent/nvidia-cuda-mps-control"));
    char hang[TMPDIR_MAX + 16];
    snprintf(hang, sizeof hang, "%s/hang", f->root);
    FILE *out = fopen(hang, "w");
    assert_non_null(out);
    fputs("#!/bin/sh\nexec sleep 30\n", out);
    fclose(out);
    assert_int_equal(chmod(hang, 0755), 0);
    struct mps_config hung = {.control = hang, .root = f->root, .timeout_ns = 200 * NS_PER_MS};
    assert_int_equal(mps_daemon_ensure(&hung, GPU_A, NULL, &e), -ETIMEDOUT);
    assert_non_null(strstr(e.msg, "no answer within 200 ms"));
}

static void bad_uuids_are_refused(void **state)
{
    struct fixture *f = *state;
    struct err e;
    struct mps_paths p;
    assert_int_equal(mps_paths_of(&f->cfg, "../etc", &p, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "\"../etc\" is not a GPU UUID"));
    assert_int_equal(mps_paths_of(&f->cfg, "", &p, &e), -EINVAL);
    assert_int_equal(mps_daemon_ensure(&f->cfg, "GPU 1", NULL, &e), -EINVAL);
    struct mps_config defaults = {0};
    assert_int_equal(mps_paths_of(&defaults, GPU_A, &p, &e), 0);
    assert_string_equal(p.pipe, MPS_ROOT_DEFAULT "/" GPU_A "/pipe");
    assert_string_equal(p.log, MPS_ROOT_DEFAULT "/" GPU_A "/log");
}

static void a_client_gets_its_gpu_daemon_and_limits(void **state)
{
    struct fixture *f = *state;
    struct err e;
    struct mps_client_env env;
    assert_int_equal(mps_client_env(&f->cfg, GPU_A, 10, 25, &env, &e), 0);
    char pipe[MPS_PATH_MAX], log[MPS_PATH_MAX];
    snprintf(pipe, sizeof pipe, "%s/%s/pipe", f->root, GPU_A);
    snprintf(log, sizeof log, "%s/%s/log", f->root, GPU_A);
    const char *want[MPS_CLIENT_ENV_COUNT][2] = {
        {"NVIDIA_VISIBLE_DEVICES", GPU_A},       {"CUDA_VISIBLE_DEVICES", GPU_A},
        {"CUDA_MPS_PIPE_DIRECTORY", pipe},       {"CUDA_MPS_LOG_DIRECTORY", log},
        {"CUDA_MPS_PINNED_DEVICE_MEM_LIMIT", "0=10G"},
        {"CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "25"},
    };
    for (size_t i = 0; i < MPS_CLIENT_ENV_COUNT; i++) {
        assert_string_equal(env.vars[i].name, want[i][0]);
        assert_string_equal(env.vars[i].value, want[i][1]);
    }
    assert_int_equal(mps_client_env(&f->cfg, GPU_A, 0, 25, &env, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "at least 1 GiB"));
    assert_int_equal(mps_client_env(&f->cfg, GPU_A, 10, 101, &env, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "1 to 100 percent, not 101"));
    assert_int_equal(mps_client_env(&f->cfg, GPU_A, 10, 0, &env, &e), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_daemon_lives_from_ensure_to_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(a_daemon_that_died_is_restarted, setup, teardown),
        cmocka_unit_test_setup_teardown(each_gpu_has_its_own_daemon, setup, teardown),
        cmocka_unit_test_setup_teardown(a_refusal_is_reported_in_its_words, setup, teardown),
        cmocka_unit_test_setup_teardown(a_missing_or_hung_program_fails_cleanly, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bad_uuids_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(a_client_gets_its_gpu_daemon_and_limits, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
