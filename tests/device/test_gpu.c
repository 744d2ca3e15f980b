/*
 * The nvml backend on a real GPU: `make test-device`.
 *
 * Without libnvidia-ml.so.1 or without a GPU it says so and exits 77 (meson
 * reports SKIP). With one it
 *   - discovers the GPUs and prints what the driver reports: identity, MIG
 *     mode, every profile with its placements;
 *   - compares the profiles with the catalogue (device_catalog_report) and,
 *     on an H100 80GB HBM3, with tests/data/h100-80gb-hbm3.txt; a
 *     difference fails the test, since the catalogue must then be updated;
 *   - times discovery, listing and the boot id over several rounds;
 *   - on a GPU with MIG disabled, tries to create a slice, which must fail
 *     with the driver's error and leave no instance behind;
 *   - on a GPU with MIG enabled and no slices, creates and destroys a slice
 *     at every placement of every profile, timing each, but only when
 *     GPUSLICE_DEVICE_TEST_CREATE=1 (the GPU must be nobody's).
 * It never changes the MIG mode, clocks, power or compute mode, and never
 * resets a GPU (the backend cannot: device/nvml_sym.h).
 *
 * GPUSLICE_DEVICE_TEST_LIBRARY names another NVML library to load: the
 * unit suite runs this program against the fake libnvidia-ml, so its own
 * logic is tested on machines without a GPU.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../nvml/readout.h"
#include "device/device.h"
#include "device/nvml.h"
#include "device/nvml_sym.h"

#define SKIP   77
#define ROUNDS 20

static unsigned failures;

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    failures++;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void print_times(const char *what, uint64_t *ns, unsigned n)
{
    qsort(ns, n, sizeof ns[0], cmp_u64);
    printf("  %-28s min %9.3f ms  median %9.3f ms  max %9.3f ms  (%u rounds)\n", what,
           ns[0] / 1e6, ns[n / 2] / 1e6, ns[n - 1] / 1e6, n);
}

static void print_gpu(const struct device_gpu *g)
{
    static const char *const modes[] = {"unsupported", "disabled", "enabled"};
    printf("GPU %u: %s, %s, bus %s, %llu MiB, MIG %s (pending %s), catalogue model %s\n",
           g->index, g->product, g->uuid, g->pci_bus_id, (unsigned long long)g->memory_mib,
           modes[g->mig_current], modes[g->mig_pending], g->model ? g->model->name : "none");
    for (unsigned i = 0; i < g->n_profiles; i++) {
        const struct device_profile *p = &g->profiles[i];
        printf("  %-12s id %2u index %2u  %ug/%u mem slices  %6u MiB  %3u SMs  max %u  {",
               p->name, p->nvml_id, p->nvml_index, p->compute_slices, p->memory_slices,
               p->memory_mib, p->sm_count, p->max_instances);
        for (unsigned k = 0; k < p->n_placements; k++)
            printf("%s%u", k ? "," : "", p->placements[k].start);
        printf("}:%u%s\n", p->n_placements ? p->placements[0].size : 0,
               p->catalog ? "" : "  (not in the catalogue)");
    }
}

static const struct device_profile *by_index(const struct device_gpu *g, unsigned index)
{
    for (unsigned i = 0; i < g->n_profiles; i++)
        if (g->profiles[i].nvml_index == index)
            return &g->profiles[i];
    return NULL;
}

static void compare_with_catalogue(const struct device_gpu *g)
{
    char report[4096];
    unsigned n = device_catalog_report(g, report, sizeof report);
    if (n)
        fail("GPU %u differs from the catalogue in %u ways:\n%s", g->index, n, report);
    else
        printf("  the catalogue agrees with the driver\n");
}

static void compare_with_readout(const struct device_gpu *g)
{
    static struct readout r;
    const char *path = getenv("GPUSLICE_HW_READOUT");
    if (strcmp(g->product, "NVIDIA H100 80GB HBM3") != 0)
        return;
    if (readout_load(path, &r) != 0) {
        fail("cannot read the H100 readout %s", path ? path : "(GPUSLICE_HW_READOUT unset)");
        return;
    }
    unsigned same = 0;
    for (unsigned i = 0; i < READOUT_INDEXES; i++) {
        const struct readout_row *row = &r.by_index[i];
        const struct device_profile *p = by_index(g, i);
        if (!row->seen)
            continue;
        if (row->supported != (p != NULL) ||
            (p && (p->nvml_id != row->id || p->compute_slices != row->slices ||
                   p->memory_mib != row->memory_mib || p->max_instances != row->instances ||
                   p->sm_count != row->sms || strcmp(p->name, r.name_of_id[row->id]) != 0 ||
                   p->n_placements != r.n_placements[row->id])))
            fail("profile index %u differs from the readout (%s)", i,
                 p ? p->name : "not offered");
        else
            same++;
    }
    printf("  %u profile indexes agree with %s\n", same, path);
}

/* Raw NVML, to see what the driver holds whatever the backend says. */
struct raw {
    void *lib;
    struct nvml_sym f;
};

/* GPU instances of every profile of g, as the driver lists them; 0 when
 * it refuses to list (MIG disabled: NOT_SUPPORTED). */
static unsigned raw_instances(struct raw *raw, const struct device_gpu *g)
{
    nvmlDevice_t dev;
    unsigned total = 0;
    if (raw->f.nvmlDeviceGetHandleByIndex_v2(g->index, &dev) != 0)
        return 0;
    for (unsigned i = 0; i < g->n_profiles; i++) {
        nvmlGpuInstance_t gis[MIG_MAX_MEMORY_SLICES];
        unsigned n = 0;
        if (raw->f.nvmlDeviceGetGpuInstances(dev, g->profiles[i].nvml_id, gis, &n) == 0)
            total += n;
    }
    return total;
}

static void check_mig_disabled(struct device *d, struct raw *raw, const struct device_gpu *g)
{
    const struct device_profile *p = g->n_profiles ? &g->profiles[0] : NULL;
    struct device_slice_ref r = {.gpu_uuid = g->uuid, .profile = p ? p->name : "1g.10gb",
                                 .start = p && p->n_placements ? p->placements[0].start : 0};
    struct err e;
    uint64_t took = 0;
    err_clear(&e);
    int rc = device_create_slice(d, &r, NULL, &took, &e);
    printf("  create %s at %u with MIG disabled: %d after %.3f ms: %s\n", r.profile, r.start, rc,
           took / 1e6, rc ? e.msg : "made");
    if (rc == 0) {
        fail("GPU %u made a slice with MIG disabled", g->index);
        device_destroy_slice(d, &r, NULL, NULL);
    } else if (!strstr(e.msg, "NVML_ERROR_")) {
        fail("GPU %u: the refusal does not carry the driver's error", g->index);
    }
    unsigned left = raw_instances(raw, g);
    if (left)
        fail("GPU %u holds %u GPU instances after the refused create", g->index, left);
    else
        printf("  nothing was left behind\n");
}

static void time_create_destroy(struct device *d, const struct device_gpu *g)
{
    uint64_t create[64], destroy[64];
    unsigned n = 0;
    for (unsigned i = 0; i < g->n_profiles; i++)
        for (unsigned k = 0; k < g->profiles[i].n_placements && n < 64; k++) {
            struct device_slice_ref r = {.gpu_uuid = g->uuid, .profile = g->profiles[i].name,
                                         .start = g->profiles[i].placements[k].start};
            struct err e;
            err_clear(&e);
            if (device_create_slice(d, &r, NULL, &create[n], &e) != 0) {
                fail("%s", e.msg);
                continue;
            }
            if (device_destroy_slice(d, &r, &destroy[n], &e) != 0) {
                fail("%s (the slice is left on GPU %u)", e.msg, g->index);
                return;
            }
            n++;
        }
    if (n) {
        print_times("create (GI + CI + UUID)", create, n);
        print_times("destroy (CIs + GI)", destroy, n);
    }
}

static void check_mig_enabled(struct device *d, const struct device_gpu *g,
                              const struct device_slices *slices)
{
    unsigned here = 0;
    for (unsigned i = 0; i < slices->n; i++)
        here += slices->items[i].gpu_index == g->index;
    const char *allow = getenv("GPUSLICE_DEVICE_TEST_CREATE");
    if (!allow || strcmp(allow, "1") != 0)
        printf("  MIG enabled: create/destroy timings skipped (GPUSLICE_DEVICE_TEST_CREATE=1 "
               "on a GPU nobody uses runs them)\n");
    else if (here)
        printf("  MIG enabled with %u slices on it: create/destroy timings skipped\n", here);
    else
        time_create_destroy(d, g);
}

static void time_queries(struct device *d, struct device_inventory *inv,
                         struct device_slices *slices, bool *listed)
{
    uint64_t disc[ROUNDS], list[ROUNDS], boot[ROUNDS];
    struct err e;
    err_clear(&e);
    *listed = true;
    for (unsigned i = 0; i < ROUNDS; i++) {
        struct timespec a, b;
        char id[DEVICE_BOOT_ID_MAX];
        device_discover(d, inv, &disc[i], NULL);
        if (*listed && device_list_slices(d, slices, &list[i], &e) != 0) {
            printf("  listing slices refused: %s\n", e.msg);
            *listed = false;
            slices->n = 0;
        }
        clock_gettime(CLOCK_MONOTONIC, &a);
        device_boot_id(d, id, NULL);
        clock_gettime(CLOCK_MONOTONIC, &b);
        boot[i] = (uint64_t)((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec));
    }
    printf("NVML backend timings (%u GPUs):\n", inv->n_gpus);
    print_times("discover", disc, ROUNDS);
    if (*listed)
        print_times("list slices", list, ROUNDS);
    print_times("boot id", boot, ROUNDS);
}

int main(void)
{
    const char *library = getenv("GPUSLICE_DEVICE_TEST_LIBRARY");
    if (!library || !*library)
        library = NVML_LIBRARY_DEFAULT;
    struct raw raw = {.lib = dlopen(library, RTLD_NOW | RTLD_LOCAL)};
    struct err e;
    err_clear(&e);
    if (!raw.lib) {
        printf("SKIP: no NVIDIA driver here: %s\n", dlerror());
        return SKIP;
    }
    if (nvml_sym_load(raw.lib, library, &raw.f, &e) != 0 || raw.f.nvmlInit_v2() != 0) {
        printf("SKIP: %s is not a usable NVML: %s\n", library, e.msg[0] ? e.msg : "nvmlInit_v2");
        dlclose(raw.lib);
        return SKIP;
    }
    char what[NVML_SPEC_MAX];
    struct device *d = NULL;
    snprintf(what, sizeof what, "nvml:library=%s", library);
    if (device_open(what, &d, &e) != 0) {
        printf("FAIL: %s\n", e.msg);
        return 1;
    }
    struct device_inventory *inv = malloc(sizeof *inv);
    struct device_slices *slices = malloc(sizeof *slices);
    char version[64] = "?";
    uint64_t took = 0;
    nvml_driver_version(d, version, sizeof version, NULL);
    int rc = device_discover(d, inv, &took, &e);
    if (rc != 0 || inv->n_gpus == 0) {
        printf("%s: %s\n", rc ? "FAIL" : "SKIP", rc ? e.msg : "the driver sees no GPU");
        return rc ? 1 : SKIP;
    }
    printf("driver %s, %u GPUs, first discovery %.3f ms\n", version, inv->n_gpus, took / 1e6);
    bool listed;
    time_queries(d, inv, slices, &listed);
    for (unsigned i = 0; i < inv->n_gpus; i++) {
        const struct device_gpu *g = &inv->gpus[i];
        print_gpu(g);
        compare_with_catalogue(g);
        compare_with_readout(g);
        if (g->mig_current == DEVICE_MIG_DISABLED)
            check_mig_disabled(d, &raw, g);
        else if (g->mig_current == DEVICE_MIG_ENABLED && listed)
            check_mig_enabled(d, g, slices);
    }
    free(slices);
    free(inv);
    device_close(d);
    raw.f.nvmlShutdown();
    dlclose(raw.lib);
    printf("%s: %u failures\n", failures ? "FAIL" : "PASS", failures);
    return failures ? 1 : 0;
}
