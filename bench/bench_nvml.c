/* Benchmark of the nvml backend's own cost over the fake libnvidia-ml
 * (tests/fakenvml): discovery of one and of eight H100s, listing, a create
 * + destroy pair, and how many NVML calls each makes. The fake answers in
 * well under a microsecond, so these are the backend's overhead on top of
 * the driver: on a real GPU each NVML call adds the driver's own time
 * (make test-device prints those). A raw NVML call through the fake is
 * timed first, to tell its share from the backend's. FAKENVML_LIB names
 * the fake library (meson sets it). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device/device.h"
#include "device/nvml.h"
#include "device/nvml_sym.h"

#define ROUNDS 20000

struct controls {
    int (*load)(const char *spec, char *err, size_t size);
    unsigned long (*calls_total)(void);
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bind_sym(void *lib, const char *name, void *slot)
{
    void *p = dlsym(lib, name);
    if (!p) {
        fprintf(stderr, "bench_nvml: the fake lacks %s\n", name);
        return -1;
    }
    memcpy(slot, &p, sizeof p);
    return 0;
}

static struct device *open_over(const char *lib, const struct controls *c, const char *spec)
{
    char what[NVML_SPEC_MAX], why[256];
    struct device *d = NULL;
    struct err e;
    if (c->load(spec, why, sizeof why) != 0) {
        fprintf(stderr, "bench_nvml: %s: %s\n", spec, why);
        return NULL;
    }
    snprintf(what, sizeof what, "nvml:library=%s", lib);
    if (device_open(what, &d, &e) != 0)
        fprintf(stderr, "bench_nvml: %s\n", e.msg);
    return d;
}

/* ns per raw nvmlDeviceGetCount_v2 through the fake. */
static double raw_call_ns(void *lib)
{
    struct nvml_sym f;
    unsigned n;
    if (nvml_sym_load(lib, "fake", &f, NULL) != 0 || f.nvmlInit_v2() != 0)
        return -1;
    double t0 = now_s();
    for (unsigned i = 0; i < ROUNDS * 10; i++)
        f.nvmlDeviceGetCount_v2(&n);
    double ns = (now_s() - t0) / (ROUNDS * 10) * 1e9;
    f.nvmlShutdown();
    return ns;
}

struct result {
    double ns;
    double calls;
};

static struct result time_discover(struct device *d, const struct controls *c, unsigned rounds)
{
    struct device_inventory *inv = malloc(sizeof *inv);
    unsigned long calls0 = c->calls_total();
    double t0 = now_s();
    for (unsigned i = 0; i < rounds; i++)
        device_discover(d, inv, NULL, NULL);
    struct result r = {(now_s() - t0) / rounds * 1e9,
                       (double)(c->calls_total() - calls0) / rounds};
    free(inv);
    return r;
}

static struct result time_list(struct device *d, const struct controls *c, unsigned rounds)
{
    struct device_slices *l = malloc(sizeof *l);
    unsigned long calls0 = c->calls_total();
    double t0 = now_s();
    for (unsigned i = 0; i < rounds; i++)
        device_list_slices(d, l, NULL, NULL);
    struct result r = {(now_s() - t0) / rounds * 1e9,
                       (double)(c->calls_total() - calls0) / rounds};
    free(l);
    return r;
}

static struct result time_pairs(struct device *d, const struct controls *c, unsigned rounds)
{
    struct err e;
    unsigned long calls0 = c->calls_total();
    double t0 = now_s();
    for (unsigned i = 0; i < rounds; i++) {
        struct device_slice_ref r = {.gpu_index = 0, .profile = "1g.10gb", .start = i % 7};
        if (device_create_slice(d, &r, NULL, NULL, &e) != 0 ||
            device_destroy_slice(d, &r, NULL, &e) != 0) {
            fprintf(stderr, "bench_nvml: %s\n", e.msg);
            return (struct result){-1, 0};
        }
    }
    return (struct result){(now_s() - t0) / rounds * 1e9,
                           (double)(c->calls_total() - calls0) / rounds};
}

static void print(const char *what, struct result r)
{
    printf("  %-36s %10.0f ns  %5.1f NVML calls  %6.0f ns/call\n", what, r.ns, r.calls,
           r.calls > 0 ? r.ns / r.calls : 0);
}

int main(void)
{
    const char *path = getenv("FAKENVML_LIB");
    void *lib = path ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
    struct controls c;
    if (!lib || bind_sym(lib, "fakenvml_load", &c.load) < 0 ||
        bind_sym(lib, "fakenvml_calls_total", &c.calls_total) < 0) {
        fprintf(stderr, "bench_nvml: cannot load the fake libnvidia-ml (FAKENVML_LIB=%s)\n",
                path ? path : "");
        return 1;
    }
    printf("nvml backend over the fake libnvidia-ml:\n");
    printf("  %-36s %10.0f ns\n", "raw NVML call through the fake", raw_call_ns(lib));

    struct device *one = open_over(path, &c, "model=H100-80GB");
    if (!one)
        return 1;
    print("discover, 1 H100", time_discover(one, &c, ROUNDS));
    print("list, 1 H100, empty", time_list(one, &c, ROUNDS));
    struct result pair = time_pairs(one, &c, ROUNDS);
    if (pair.ns < 0)
        return 1;
    print("create + destroy 1g.10gb", pair);
    device_close(one);

    struct device *eight = open_over(path, &c, "model=H100-80GB,count=8,slice=0:1g.10gb@0,"
                                "slice=0:1g.10gb@1,slice=0:1g.10gb@2,slice=0:1g.10gb@3,"
                                "slice=0:1g.10gb@4,slice=0:1g.10gb@5,slice=0:1g.10gb@6");
    if (!eight)
        return 1;
    print("discover, 8 H100s", time_discover(eight, &c, ROUNDS / 8));
    print("list, 8 H100s, 7 slices on one", time_list(eight, &c, ROUNDS / 8));
    device_close(eight);
    dlclose(lib);
    return 0;
}
