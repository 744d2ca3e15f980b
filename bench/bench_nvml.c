/* Benchmark of the nvml backend's own cost over the fake libnvidia-ml
 * (tests/fakenvml): discovery of one and of eight H100s, listing, a create
 * + destroy pair, and how many NVML calls each makes. The fake answers in
 * well under a microsecond, so these are the backend's overhead on top of
 * the driver: on a real GPU each NVML call adds the driver's own time
 * (make test-device prints those). A raw NVML call through the fake is
 * timed first, to tell its share from the backend's. FAKENVML_LIB names
 * the fake library (meson sets it). No issue sets a target: the figures
 * are for reference. A call that fails fails the benchmark. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device/device.h"
#include "device/nvml.h"
#include "device/nvml_sym.h"

#include "bench_report.h"

#define ROUNDS 20000

struct controls {
    int (*load)(const char *spec, char *err, size_t size);
    unsigned long (*calls_total)(void);
};

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
    if (c->load(spec, why, sizeof why) != 0)
        bench_fail("fakenvml_load of %s: %s", spec, why);
    snprintf(what, sizeof what, "nvml:library=%s", lib);
    bench_check(device_open(what, &d, &e), &e, "device_open over %s", spec);
    return d;
}

/* ns per raw nvmlDeviceGetCount_v2 through the fake. */
static double raw_call_ns(void *lib)
{
    struct nvml_sym f;
    struct err e;
    unsigned n;
    bench_check(nvml_sym_load(lib, "fake", &f, &e), &e, "nvml_sym_load");
    if (f.nvmlInit_v2() != 0)
        bench_fail("nvmlInit_v2 failed");
    double t0 = bench_now_s();
    for (unsigned i = 0; i < ROUNDS * 10; i++)
        if (f.nvmlDeviceGetCount_v2(&n) != 0)
            bench_fail("nvmlDeviceGetCount_v2 failed");
    double ns = (bench_now_s() - t0) / (ROUNDS * 10) * 1e9;
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
    struct err e;
    if (!inv)
        bench_fail("out of memory");
    unsigned long calls0 = c->calls_total();
    double t0 = bench_now_s();
    for (unsigned i = 0; i < rounds; i++)
        bench_check(device_discover(d, inv, NULL, &e), &e, "device_discover");
    struct result r = {(bench_now_s() - t0) / rounds * 1e9,
                       (double)(c->calls_total() - calls0) / rounds};
    free(inv);
    return r;
}

static struct result time_list(struct device *d, const struct controls *c, unsigned rounds)
{
    struct device_slices *l = malloc(sizeof *l);
    struct err e;
    if (!l)
        bench_fail("out of memory");
    unsigned long calls0 = c->calls_total();
    double t0 = bench_now_s();
    for (unsigned i = 0; i < rounds; i++)
        bench_check(device_list_slices(d, l, NULL, &e), &e, "device_list_slices");
    struct result r = {(bench_now_s() - t0) / rounds * 1e9,
                       (double)(c->calls_total() - calls0) / rounds};
    free(l);
    return r;
}

static struct result time_pairs(struct device *d, const struct controls *c, unsigned rounds)
{
    struct err e;
    unsigned long calls0 = c->calls_total();
    double t0 = bench_now_s();
    for (unsigned i = 0; i < rounds; i++) {
        struct device_slice_ref r = {.gpu_index = 0, .profile = "1g.10gb", .start = i % 7};
        bench_check(device_create_slice(d, &r, NULL, NULL, &e), &e, "device_create_slice");
        bench_check(device_destroy_slice(d, &r, NULL, &e), &e, "device_destroy_slice");
    }
    return (struct result){(bench_now_s() - t0) / rounds * 1e9,
                           (double)(c->calls_total() - calls0) / rounds};
}

static void print(const char *what, struct result r)
{
    char name[64];
    snprintf(name, sizeof name, "nvml: %s", what);
    struct bench_figure f[] = {
        {.value = r.ns, .unit = "ns"},
        {.value = r.calls, .unit = "NVML calls"},
        {.value = r.calls > 0 ? r.ns / r.calls : 0, .unit = "ns/call"},
    };
    bench_report(name, f, 3, NULL);
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
    bench_report1("nvml: raw NVML call through the fake", raw_call_ns(lib), "ns",
                  BENCH_REFERENCE, 0, NULL);

    struct device *one = open_over(path, &c, "model=H100-80GB");
    print("discover, 1 H100", time_discover(one, &c, ROUNDS));
    print("list, 1 H100, empty", time_list(one, &c, ROUNDS));
    print("create + destroy 1g.10gb", time_pairs(one, &c, ROUNDS));
    device_close(one);

    struct device *eight = open_over(path, &c, "model=H100-80GB,count=8,slice=0:1g.10gb@0,"
                                "slice=0:1g.10gb@1,slice=0:1g.10gb@2,slice=0:1g.10gb@3,"
                                "slice=0:1g.10gb@4,slice=0:1g.10gb@5,slice=0:1g.10gb@6");
    print("discover, 8 H100s", time_discover(eight, &c, ROUNDS / 8));
    print("list, 8 H100s, 7 slices on one", time_list(eight, &c, ROUNDS / 8));
    device_close(eight);
    dlclose(lib);
    return 0;
}
