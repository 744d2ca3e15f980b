/* Runs the built gpuslice binary (argv[1]) as a user would, on the samples
 * (argv[2]), and checks what it prints and its exit status: help, unknown
 * commands, `profiles`, and `place` with good and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

static const char *binary;
static const char *samples_dir;

struct run {
    int status; /* exit status */
    char out[16384];
    char err[4096];
};

static void slurp(FILE *f, char *buf, size_t size)
{
    rewind(f);
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs binary with args (NULL-terminated) and captures everything. */
static void run(struct run *r, const char *const *args)
{
    const char *argv[32] = {binary};
    size_t n = 1;
    for (; args[n - 1]; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fileno(out), STDOUT_FILENO);
        dup2(fileno(err), STDERR_FILENO);
        execv(binary, (char *const *)argv);
        _exit(127);
    }
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    r->status = WEXITSTATUS(ws);
    slurp(out, r->out, sizeof r->out);
    slurp(err, r->err, sizeof r->err);
}

static void assert_contains(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("\"%s\" not found in:\n%s", part, text);
}

static const char *sample(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", samples_dir, name);
    return path;
}

static void help_lists_commands(void **state)
{
    (void)state;
    struct run r;
    run(&r, (const char *[]){"--help", NULL});
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "usage: gpuslice");
    assert_contains(r.out, "   profiles     list GPU models and their MIG profiles\n");
    assert_contains(r.out, "   place        place slice requests");
    run(&r, (const char *[]){"help", "place", NULL});
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "usage: gpuslice place -f CLUSTER.yaml [--policy POLICY] REQUEST...");
    assert_contains(r.out, "PROFILE[@MODEL[/MODEL...]][,KEY=VALUE...]");
    run(&r, (const char *[]){"profiles", "--help", NULL});
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "usage: gpuslice profiles [MODEL]");
}

static void unknown_commands_are_usage_errors(void **state)
{
    (void)state;
    struct run r;
    run(&r, (const char *[]){"frobnicate", NULL});
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "'frobnicate' is not a command");
    assert_string_equal(r.out, "");
    run(&r, (const char *[]){NULL});
    assert_int_equal(r.status, 2);
    run(&r, (const char *[]){"help", "frobnicate", NULL});
    assert_int_equal(r.status, 2);
}

static void profiles_prints_the_catalogue(void **state)
{
    (void)state;
    struct run r;
    run(&r, (const char *[]){"profiles", "H100-80GB", NULL});
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "H100-80GB: 81920 MiB, 8 memory slices, 7 compute slices;");
    assert_contains(r.out, "  3g.40gb         9     2     3/7    4/8   40448   2   60  {0,4}:4\n");
    assert_contains(r.out, "  1g.20gb        15     9     1/7    2/8   20096   4   26  {0,2,4,6}:2\n");
    assert_null(strstr(r.out, "A100")); /* one model only */
    assert_null(strstr(r.out, "provisional"));
    run(&r, (const char *[]){"profiles", NULL});
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "A30-24GB: 24576 MiB, 4 memory slices, 4 compute slices;");
    assert_contains(r.out, "  4g.24gb*        0     3     4/4    4/4   23936   1   56  {0}:4\n");
    assert_contains(r.out, "  7g.80gb*        0     4     7/7    8/8   80896   1   98  {0}:8"
                           "             7g.79gb\n");
    assert_contains(r.out, "* provisional: some value not confirmed by a real readout");
    run(&r, (const char *[]){"profiles", "nvidia h100 80gb hbm3", NULL});
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "H100-80GB:");
}

static void profiles_refuses_unknown_models(void **state)
{
    (void)state;
    struct run r;
    run(&r, (const char *[]){"profiles", "X100", NULL});
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "unknown GPU model 'X100'; known models: A30-24GB, A100-40GB, ");
    assert_string_equal(r.out, "");
    run(&r, (const char *[]){"profiles", "A30-24GB", "A100-40GB", NULL});
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "usage: gpuslice profiles [MODEL]");
}

/* The quick start's `make demo` (keep in step with the Makefile). */
#define DEMO_REQUESTS                                                                   \
    "3g.40gb", "1g.10gb@H100-80GB", "2g.20gb", "4g.40gb", "4g.20gb",                   \
        "1g.6gb,pool=inference", "2g.12gb", "4g.24gb", "3g.20gb", "1g.5gb"

static void place_runs_the_demo(void **state)
{
    (void)state;
    struct run r;
    run(&r, (const char *[]){"place", "-f", sample("cluster.yaml"), "--policy",
                             "fragmentation-aware", DEMO_REQUESTS, NULL});
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_contains(r.out, "cluster.yaml: 3 nodes, 5 GPUs; policy fragmentation-aware\n");
    assert_contains(r.out, "#1   3g.40gb                -> node-b gpu0 H100-80GB, memory slices 0-3\n");
    assert_contains(r.out, "#2   1g.10gb@H100-80GB      -> node-b gpu1 H100-80GB, memory slice 6\n");
    assert_contains(r.out, "#4   4g.40gb                -> node-b gpu1 H100-80GB, memory slices 0-3\n");
    assert_contains(r.out, "#6   1g.6gb,pool=inference  -> node-c gpu0 A30-24GB, memory slice 0\n");
    assert_contains(r.out, "#8   4g.24gb                not placed: ");
    assert_contains(r.out, "#10  1g.5gb                 not placed: ");
    assert_contains(r.out, "placed 8 of 10 requests\n");
    assert_contains(r.out, "node-a  zone=a,pool=training\n");
    assert_contains(r.out, "  gpu1  A100-40GB  [");
    assert_contains(r.out, "]  held back\n");
    assert_contains(r.out, "]  only: 1g.6gb 2g.12gb\n");
}

/* Shares go to GPUs in mode mps and timeslice, MIG slices beside them;
 * the picture lists a shared GPU's clients. */
static void place_shares_whole_gpus(void **state)
{
    (void)state;
    struct run r;
    run(&r, (const char *[]){"place", "-f", sample("sharing.yaml"), "mps:8", "mps:8:30",
                             "1g.10gb", "timeslice", "mps:60", "timeslice", "timeslice",
                             NULL});
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "sharing.yaml: 1 nodes, 5 GPUs; policy fragmentation-aware\n");
    assert_contains(r.out, "#1   mps:8                  -> node-a gpu1 NVIDIA L4, 8 GiB and 38% "
                           "of the SMs\n");
    assert_contains(r.out, "#3   1g.10gb                -> node-a gpu0 H100-80GB, memory slice "
                           "6\n");
    assert_contains(r.out, "#7   timeslice              not placed: no GPU in mode timeslice "
                           "with room for a time slice: ");
    assert_contains(r.out, "  gpu1  NVIDIA L4  mps 16 of 21 GiB, 68% of the SMs: #1 8 GiB 38%, "
                           "#2 8 GiB 30%\n");
    assert_contains(r.out, "  gpu2  A100-80GB  mps 60 of 79 GiB, 75% of the SMs: #5 60 GiB "
                           "75%\n");
    assert_contains(r.out, "  gpu3  NVIDIA A10 timeslice 2 of 2 pods: #4, #6\n");
}

/* The demo's point: first-fit strands the 4g.40gb that the fragmentation-
 * aware policy places. */
static void place_policies_differ(void **state)
{
    (void)state;
    struct run r;
    run(&r, (const char *[]){"place", "-f", sample("cluster.yaml"), "-p", "first-fit",
                             DEMO_REQUESTS, NULL});
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "policy first-fit\n");
    assert_contains(r.out, "#2   1g.10gb@H100-80GB      -> node-b gpu1 H100-80GB, memory slice 0\n");
    assert_contains(r.out, "#4   4g.40gb                not placed: ");
    assert_contains(r.out, "placed 7 of 10 requests\n");
}

/* A request that does not fit says whether an upgrade (a pod annotated
 * gpuslice.dev/upgrade-after) would place it: on a mig-static layout a
 * larger free slice; on mig GPUs a larger profile of a model with room
 * (4g.24gb is an A30's, which allows only small profiles here); and when
 * nothing larger fits either, that it cannot help. */
static void place_shows_when_an_upgrade_helps(void **state)
{
    (void)state;
    struct run r;
    run(&r, (const char *[]){"place", "-f", sample("mig-static.yaml"), "1g.5gb", "1g.5gb",
                             "1g.5gb", NULL});
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "#3   1g.5gb                 not placed: ");
    assert_contains(r.out, "\n     an upgrade would place 2g.10gb: node-a gpu0 A100-40GB, "
                           "memory slices 0-1 (a slice of the mig-static layout)\n");
    run(&r, (const char *[]){"place", "-f", sample("cluster.yaml"), "4g.24gb",
                             "1g.20gb,pool=inference", NULL});
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "#1   4g.24gb                not placed: ");
    assert_contains(r.out, "\n     an upgrade would place 4g.40gb: node-b gpu0 H100-80GB, "
                           "memory slices 0-3\n");
    assert_contains(r.out, "\n     an upgrade cannot help: no larger profile can be placed "
                           "either\n");
    assert_contains(r.out, "placed 0 of 2 requests\n");
}

static void place_without_requests_shows_the_cluster(void **state)
{
    (void)state;
    struct run r;
    run(&r, (const char *[]){"place", "--file", sample("inference-pool.yaml"), NULL});
    assert_int_equal(r.status, 0);
    assert_null(strstr(r.out, "placed"));
    assert_contains(r.out, "a100-1  gpu=a100,zone=eu-1b\n");
    assert_contains(r.out, "cpu-1  zone=eu-1b\n");
}

static void place_usage_errors(void **state)
{
    (void)state;
    struct run r;
    run(&r, (const char *[]){"place", "3g.40gb", NULL});
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "no cluster file (-f CLUSTER.yaml)");
    run(&r, (const char *[]){"place", "-f", sample("cluster.yaml"), "-p", "random", NULL});
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "gpuslice place: ");
    assert_contains(r.err, "random");
    run(&r, (const char *[]){"place", "-f", NULL});
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "bad option or missing value: -f");
    run(&r, (const char *[]){"place", "--bogus", NULL});
    assert_int_equal(r.status, 2);
    run(&r, (const char *[]){"place", "-f", sample("cluster.yaml"), "3g.40gb", "1g.10gb,zone", NULL});
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "selector term \"zone\" is not KEY=VALUE");
    assert_string_equal(r.out, "");
}

static void place_reports_bad_files(void **state)
{
    (void)state;
    char path[] = "/tmp/test_cli_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "nodes:\n  - name: a\n    gpus:\n      - model: H100-80GB\n"
                       "        slices: [{profile: 1g.5gb, start: 0}]\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct run r;
    run(&r, (const char *[]){"place", "-f", path, "1g.10gb", NULL});
    unlink(path);
    assert_int_equal(r.status, 1);
    char want[128];
    snprintf(want, sizeof want, "gpuslice place: %s:5:28: H100-80GB has no profile \"1g.5gb\"",
             path);
    assert_contains(r.err, want);
    assert_string_equal(r.out, "");
    run(&r, (const char *[]){"place", "-f", path, NULL});
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "No such file or directory");
}

static void agent_usage_errors(void **state)
{
    (void)state;
    struct run r;
    unsetenv("NODE_NAME");
    run(&r, (const char *[]){"agent", "--help", NULL});
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "usage: gpuslice agent --node NAME");
    assert_contains(r.out, "--mps-root DIR");
    assert_contains(r.out, "--mps-control PROGRAM");
    run(&r, (const char *[]){"agent", NULL});
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "which node? (--node NAME or $NODE_NAME)");
    run(&r, (const char *[]){"agent", "--node", "n1", "--orphan-grace", "soon", NULL});
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "--orphan-grace: \"soon\" is not a number of seconds");
    run(&r, (const char *[]){"agent", "--node", "n1", "--lease-duration", "0", NULL});
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "--lease-duration: \"0\" is not a whole number of seconds");
    run(&r, (const char *[]){"controller", "--lease-duration", "1.5", NULL});
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "--lease-duration: \"1.5\" is not a whole number of seconds");
    run(&r, (const char *[]){"agent", "--node", "n1", "extra", NULL});
    assert_int_equal(r.status, 2);
    /* The dashboard's address is an IP literal and a port, nothing else. */
    run(&r, (const char *[]){"controller", "--dashboard-address", "localhost:8090", NULL});
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "\"localhost\" is not an IP address; write 127.0.0.1");
    run(&r, (const char *[]){"demo", "--dashboard-address", "127.0.0.1", NULL});
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "want HOST:PORT");
    run(&r, (const char *[]){"agent", "--node", "n1", "--device", "emulated:model=X100",
                             "--state-dir", "/tmp", NULL});
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "unknown model \"X100\"");
    char dir[] = "/tmp/gpuslice-cli-state-XXXXXX";
    assert_non_null(mkdtemp(dir));
    run(&r, (const char *[]){"agent", "--node", "n1", "--device", "emulated", "--kubeconfig",
                             "/nonexistent/kubeconfig", "--state-dir", dir, NULL});
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "/nonexistent/kubeconfig");
    /* An emulated device keeps its state under --state-dir by default. */
    run(&r, (const char *[]){"agent", "--node", "n1", "--device", "emulated", "--state-dir",
                             "/nonexistent/state", NULL});
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "state directory /nonexistent/state: No such file or directory");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_cli GPUSLICE SAMPLES_DIR\n");
        return 2;
    }
    binary = argv[1];
    samples_dir = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(help_lists_commands),
        cmocka_unit_test(unknown_commands_are_usage_errors),
        cmocka_unit_test(profiles_prints_the_catalogue),
        cmocka_unit_test(profiles_refuses_unknown_models),
        cmocka_unit_test(place_runs_the_demo),
        cmocka_unit_test(place_shares_whole_gpus),
        cmocka_unit_test(place_policies_differ),
        cmocka_unit_test(place_without_requests_shows_the_cluster),
        cmocka_unit_test(place_shows_when_an_upgrade_helps),
        cmocka_unit_test(place_usage_errors),
        cmocka_unit_test(place_reports_bad_files),
        cmocka_unit_test(agent_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
