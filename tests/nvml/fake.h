/*
 * What the nvml tests share: the fake libnvidia-ml (tests/fakenvml) reached
 * through dlopen, as the backend reaches it, with its control functions;
 * opening the nvml backend over it from a description; and the raw NVML
 * table, for checks below the backend.
 *
 * The library's path comes from the environment the meson test sets
 * (FAKENVML_LIB, FAKENVML_NOSYM_LIB). dlopen of the same file returns the
 * same library, so the test and the backend see one state.
 */
#ifndef GPUSLICE_TESTS_NVML_FAKE_H
#define GPUSLICE_TESTS_NVML_FAKE_H

#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "device/device.h"
#include "device/nvml.h"
#include "device/nvml_sym.h"

struct fake {
    const char *path;
    void *lib;
    int (*load)(const char *spec, char *err, size_t size);
    int (*set_busy)(unsigned gpu, unsigned start, int busy);
    int (*count)(unsigned gpu, unsigned *gis, unsigned *cis);
    unsigned long (*calls)(const char *function);
    unsigned long (*calls_total)(void);
    unsigned (*inits)(void);
    struct nvml_sym nvml; /* the library's NVML entry points, for raw calls */
};

static inline const char *fake_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("%s is not set (the meson test sets it)", name);
    return v;
}

/* Stores the function name of the library into *slot (a function
 * pointer of size bytes); POSIX lets dlsym's pointer be one. */
static inline void fake_bind(struct fake *f, const char *name, void *slot, size_t size)
{
    void *p = dlsym(f->lib, name);
    if (!p || size != sizeof p)
        fail_msg("%s lacks %s", f->path, name);
    memcpy(slot, &p, sizeof p);
}

/* Loads the fake library and resolves its controls and NVML table. */
static inline struct fake *fake_attach(void)
{
    struct fake *f = calloc(1, sizeof *f);
    struct err e;
    f->path = fake_env("FAKENVML_LIB");
    f->lib = dlopen(f->path, RTLD_NOW | RTLD_LOCAL);
    if (!f->lib)
        fail_msg("dlopen %s: %s", f->path, dlerror());
    fake_bind(f, "fakenvml_load", &f->load, sizeof f->load);
    fake_bind(f, "fakenvml_set_busy", &f->set_busy, sizeof f->set_busy);
    fake_bind(f, "fakenvml_count", &f->count, sizeof f->count);
    fake_bind(f, "fakenvml_calls", &f->calls, sizeof f->calls);
    fake_bind(f, "fakenvml_calls_total", &f->calls_total, sizeof f->calls_total);
    fake_bind(f, "fakenvml_inits", &f->inits, sizeof f->inits);
    if (nvml_sym_load(f->lib, f->path, &f->nvml, &e) != 0)
        fail_msg("%s", e.msg);
    return f;
}

static inline void fake_detach(struct fake *f)
{
    dlclose(f->lib);
    free(f);
}

/* Replaces the fake's state with spec's, or fails the test. */
static inline void fake_load(struct fake *f, const char *spec)
{
    char why[256];
    if (f->load(spec, why, sizeof why) != 0)
        fail_msg("fakenvml_load(%s): %s", spec, why);
}

/* The nvml backend over the fake library, the fake loaded from spec. */
static inline struct device *fake_open(struct fake *f, const char *spec)
{
    char what[NVML_SPEC_MAX];
    struct device *d = NULL;
    struct err e;
    fake_load(f, spec);
    snprintf(what, sizeof what, "nvml:library=%s", f->path);
    if (device_open(what, &d, &e) != 0)
        fail_msg("device_open(%s): %s", what, e.msg);
    return d;
}

/* GPU gpu's GPU and compute instances, as the fake holds them. */
static inline void assert_fake_holds(struct fake *f, unsigned gpu, unsigned gis, unsigned cis)
{
    unsigned g = 99, c = 99;
    assert_int_equal(f->count(gpu, &g, &c), 0);
    if (g != gis || c != cis)
        fail_msg("GPU %u holds %u GIs and %u CIs, not %u and %u", gpu, g, c, gis, cis);
}

static inline void assert_msg_has(const struct err *e, const char *part)
{
    if (!strstr(e->msg, part))
        fail_msg("message \"%s\" lacks \"%s\"", e->msg, part);
}

static inline struct device_slice_ref ref_at(unsigned gpu, const char *profile, unsigned start)
{
    return (struct device_slice_ref){.gpu_index = gpu, .profile = profile, .start = start};
}

#endif
