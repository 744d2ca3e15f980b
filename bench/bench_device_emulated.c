/* Benchmark of the emulated backend's own cost per call, with modelled
 * latencies at 0: what the lifecycle benchmark of issue 5 pays per slice
 * for the device layer. Prints ns per call; single-threaded, then four
 * threads on four GPUs sharing the node's lock. No issue sets a target:
 * the figures are for reference. A device call that fails fails the
 * benchmark. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "device/device.h"
#include "device/emulated.h"

#include "bench_report.h"

#define ROUNDS 200000

/* rounds of create then destroy of a 1g.10gb on gpu; the first failure's
 * code, its message in e. */
static int churn(struct device *d, unsigned gpu, unsigned rounds, struct err *e)
{
    for (unsigned i = 0; i < rounds; i++) {
        struct device_slice_ref r = {.gpu_index = gpu, .profile = "1g.10gb", .start = i % 7};
        struct device_slice s;
        int rc = device_create_slice(d, &r, &s, NULL, e);
        if (rc == 0)
            rc = device_destroy_slice(d, &r, NULL, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

struct job {
    struct device *d;
    unsigned gpu;
    int rc;
    struct err e;
};

static void *run_job(void *arg)
{
    struct job *j = arg;
    j->rc = churn(j->d, j->gpu, ROUNDS / 4, &j->e);
    return NULL;
}

int main(void)
{
    struct device *d;
    struct err e;
    bench_check(device_open("emulated:model=H100-80GB,count=8,latency=none", &d, &e), &e,
                "device_open");
    double t0 = bench_now_s();
    bench_check(churn(d, 0, ROUNDS, &e), &e, "device_create_slice/device_destroy_slice");
    double pair = (bench_now_s() - t0) / ROUNDS * 1e9;

    for (unsigned s = 0; s < 7; s++) {
        struct device_slice_ref r = {.gpu_index = 1, .profile = "1g.10gb", .start = s};
        bench_check(device_create_slice(d, &r, NULL, NULL, &e), &e, "device_create_slice");
    }
    struct device_slices *list = malloc(sizeof *list);
    struct device_inventory *inv = malloc(sizeof *inv);
    if (!list || !inv)
        bench_fail("out of memory");
    t0 = bench_now_s();
    for (unsigned i = 0; i < ROUNDS / 10; i++)
        bench_check(device_list_slices(d, list, NULL, &e), &e, "device_list_slices");
    double list_ns = (bench_now_s() - t0) / (ROUNDS / 10) * 1e9;
    t0 = bench_now_s();
    for (unsigned i = 0; i < ROUNDS / 100; i++)
        bench_check(device_discover(d, inv, NULL, &e), &e, "device_discover");
    double discover_ns = (bench_now_s() - t0) / (ROUNDS / 100) * 1e9;

    pthread_t t[4];
    struct job jobs[4];
    t0 = bench_now_s();
    for (unsigned i = 0; i < 4; i++) {
        jobs[i] = (struct job){.d = d, .gpu = 2 + i};
        bench_check(-pthread_create(&t[i], NULL, run_job, &jobs[i]), NULL, "pthread_create");
    }
    for (unsigned i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    double threaded = (bench_now_s() - t0) / ROUNDS * 1e9;
    for (unsigned i = 0; i < 4; i++)
        bench_check(jobs[i].rc, &jobs[i].e, "device_create_slice/device_destroy_slice on GPU %u",
                    jobs[i].gpu);

    struct bench_figure f[] = {
        {.label = "create+destroy", .value = pair, .unit = "ns/pair"},
        {.label = "list (7 slices)", .value = list_ns, .unit = "ns"},
        {.label = "discover (8 GPUs)", .value = discover_ns, .unit = "ns"},
        {.label = "create+destroy with 4 threads", .value = threaded, .unit = "ns/pair"},
    };
    bench_report("device_emulated", f, 4, "0-latency emulated H100s");
    free(list);
    free(inv);
    device_close(d);
    return 0;
}
