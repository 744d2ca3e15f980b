/* Benchmark of the emulated backend's own cost per call, with modelled
 * latencies at 0: what the lifecycle benchmark of issue 5 pays per slice
 * for the device layer. Prints ns per call; single-threaded, then four
 * threads on four GPUs sharing the node's lock. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "device/device.h"
#include "device/emulated.h"

#define ROUNDS 200000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int churn(struct device *d, unsigned gpu, unsigned rounds)
{
    struct err e;
    for (unsigned i = 0; i < rounds; i++) {
        struct device_slice_ref r = {.gpu_index = gpu, .profile = "1g.10gb", .start = i % 7};
        struct device_slice s;
        if (device_create_slice(d, &r, &s, NULL, &e) != 0 ||
            device_destroy_slice(d, &r, NULL, &e) != 0) {
            fprintf(stderr, "bench: %s\n", e.msg);
            return -1;
        }
    }
    return 0;
}

struct job {
    struct device *d;
    unsigned gpu;
    int rc;
};

static void *run_job(void *arg)
{
    struct job *j = arg;
    j->rc = churn(j->d, j->gpu, ROUNDS / 4);
    return NULL;
}

int main(void)
{
    struct device *d;
    struct err e;
    if (device_open("emulated:model=H100-80GB,count=8,latency=none", &d, &e) != 0) {
        fprintf(stderr, "bench: %s\n", e.msg);
        return 1;
    }
    double t0 = now_s();
    if (churn(d, 0, ROUNDS) != 0)
        return 1;
    double pair = (now_s() - t0) / ROUNDS * 1e9;

    for (unsigned s = 0; s < 7; s++) {
        struct device_slice_ref r = {.gpu_index = 1, .profile = "1g.10gb", .start = s};
        device_create_slice(d, &r, NULL, NULL, NULL);
    }
    struct device_slices *list = malloc(sizeof *list);
    struct device_inventory *inv = malloc(sizeof *inv);
    t0 = now_s();
    for (unsigned i = 0; i < ROUNDS / 10; i++)
        device_list_slices(d, list, NULL, NULL);
    double list_ns = (now_s() - t0) / (ROUNDS / 10) * 1e9;
    t0 = now_s();
    for (unsigned i = 0; i < ROUNDS / 100; i++)
        device_discover(d, inv, NULL, NULL);
    double discover_ns = (now_s() - t0) / (ROUNDS / 100) * 1e9;

    pthread_t t[4];
    struct job jobs[4];
    t0 = now_s();
    for (unsigned i = 0; i < 4; i++) {
        jobs[i] = (struct job){.d = d, .gpu = 2 + i};
        pthread_create(&t[i], NULL, run_job, &jobs[i]);
    }
    int rc = 0;
    for (unsigned i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        rc |= jobs[i].rc;
    }
    double threaded = (now_s() - t0) / ROUNDS * 1e9;

    printf("device_emulated: create+destroy %.0f ns/pair, list (7 slices) %.0f ns, "
           "discover (8 GPUs) %.0f ns, create+destroy with 4 threads %.0f ns/pair\n",
           pair, list_ns, discover_ns, threaded);
    free(list);
    free(inv);
    device_close(d);
    return rc ? 1 : 0;
}
