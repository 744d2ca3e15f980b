/*
 * The nvml device backend (see nvml.h).
 *
 * It keeps no picture of the GPUs between calls: each operation asks the
 * driver for what it needs (the GPU by UUID, its profiles, its instances),
 * so nothing here can go stale when another tool changes the GPUs, and a
 * failed call leaves no state to repair. The price is a few dozen cheap
 * queries per create, against the hundreds of milliseconds the driver takes
 * to make a GPU instance.
 *
 * Threads. The only state here is the library's handle and its symbols,
 * fixed once open; NVML itself is thread-safe. Creates and destroys take
 * their GPU's mutex, so the changes on one GPU run one at a time, as the
 * driver takes them, while those on different GPUs (the agent's workers)
 * run side by side; queries take no lock.
 *
 * Index and id. The driver lists GPU-instance profiles by index
 * (NVML_GPU_INSTANCE_PROFILE_*) and takes everything else by profile id,
 * whose meaning depends on the GPU family; compute-instance profiles have
 * ids of their own, looked up inside the GPU instance. Nothing here assumes
 * one number equals another.
 */
#include "device/nvml.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device/nvml_sym.h"
#include "util/alloc.h"
#include "util/clock.h"

/* The driver says INVALID_ARGUMENT past its last profile index; these stop
 * the loops should a broken library never say it. NVML has 18 GPU-instance
 * and 9 compute-instance profile indexes today. */
#define GI_PROFILE_INDEX_LIMIT 64
#define CI_PROFILE_INDEX_LIMIT 32
#define MAX_CIS                8  /* compute instances in one GI: one per compute slice */
#define MAX_MIG_DEVICES        16 /* MIG devices of one GPU: one per compute instance */
#define BOOT_ID_PATH           "/proc/sys/kernel/random/boot_id"
#define MIB                    (UINT64_C(1) << 20)
#define GIB                    (UINT64_C(1) << 30)

struct nvml {
    pthread_mutex_t gpu_locks[DEVICE_MAX_GPUS]; /* by NVML index */
    void *lib;
    struct nvml_sym f;
};

/* One GPU as an operation reads it. */
struct gpu {
    nvmlDevice_t dev;
    uint64_t total_bytes;
    struct device_gpu g;
};

/* A MIG device: the (GI, CI) pair it stands for and its UUID. */
struct mig_device {
    unsigned gi_id, ci_id;
    char uuid[DEVICE_UUID_MAX];
};

/* Fails with what an NVML call returned: "NVML_ERROR_X: <call>: <the
 * driver's text>". */
__attribute__((format(printf, 4, 5))) static int call_failed(const struct nvml *nv,
                                                            struct err *e, nvmlReturn_t ret,
                                                            const char *call, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, call);
    vsnprintf(what, sizeof what, call, ap);
    va_end(ap);
    const char *text = nv->f.nvmlErrorString(ret);
    return device_nvml_fail(e, ret, "%s: %s", what, text ? text : "(no description)");
}

/* Adds to the end of e's message, for what happened after the failure. */
__attribute__((format(printf, 2, 3))) static void append_note(struct err *e, const char *fmt,
                                                             ...)
{
    if (!e)
        return;
    size_t used = strnlen(e->msg, sizeof e->msg);
    if (used + 1 >= sizeof e->msg)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg + used, sizeof e->msg - used, fmt, ap);
    va_end(ap);
}

/* ---- configuration and opening ------------------------------------------ */

int nvml_config_parse(const char *spec, struct nvml_config *cfg, struct err *e)
{
    static const char key[] = "library=";
    if (!cfg)
        return err_set(e, -EINVAL, "nvml spec: no config to fill");
    snprintf(cfg->library, sizeof cfg->library, "%s", NVML_LIBRARY_DEFAULT);
    if (!spec || !*spec)
        return 0;
    /* One key, and a path may hold any character: no list to split. */
    if (strncmp(spec, key, sizeof key - 1) != 0)
        return err_set(e, -EINVAL, "nvml spec \"%.64s\": unknown item (the one key is "
                       "library=PATH)", spec);
    const char *path = spec + sizeof key - 1;
    size_t len = strnlen(path, sizeof cfg->library);
    if (len == 0)
        return err_set(e, -EINVAL, "nvml spec: library= names no file");
    if (len == sizeof cfg->library)
        return err_set(e, -EINVAL, "nvml spec: library path longer than %d characters",
                       NVML_LIBRARY_MAX - 1);
    memcpy(cfg->library, path, len + 1);
    return 0;
}

static const struct device_ops nvml_ops;

/* Loads and initialises the library into nv; on failure nothing is left
 * loaded. */
static int load(struct nvml *nv, const char *library, struct err *e)
{
    nv->lib = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!nv->lib)
        return err_set(e, -ENOSYS, "cannot load %s: %s (no NVIDIA driver here? --device "
                       "emulated needs none)", library, dlerror());
    int rc = nvml_sym_load(nv->lib, library, &nv->f, e);
    if (rc == 0) {
        nvmlReturn_t ret = nv->f.nvmlInit_v2();
        if (ret != DEVICE_NVML_SUCCESS)
            rc = call_failed(nv, e, ret, "nvmlInit_v2 (%s)", library);
    }
    for (unsigned i = 0; rc == 0 && i < DEVICE_MAX_GPUS; i++)
        if ((rc = pthread_mutex_init(&nv->gpu_locks[i], NULL)) != 0) {
            while (i-- > 0)
                pthread_mutex_destroy(&nv->gpu_locks[i]);
            nv->f.nvmlShutdown();
            rc = err_set(e, -rc, "cannot make a mutex");
        }
    if (rc < 0) {
        dlclose(nv->lib);
        nv->lib = NULL;
    }
    return rc;
}

int nvml_open(const struct nvml_config *cfg, struct device **out, struct err *e)
{
    if (!cfg || !out)
        return err_set(e, -EINVAL, "nvml_open: no config or no place for the device");
    *out = NULL;
    if (!memchr(cfg->library, '\0', sizeof cfg->library) || !cfg->library[0])
        return err_set(e, -EINVAL, "nvml_open: no library named");
    struct nvml *nv = alloc_calloc(1, sizeof *nv);
    struct device *d = alloc_calloc(1, sizeof *d);
    int rc = load(nv, cfg->library, e);
    if (rc < 0) {
        free(nv);
        free(d);
        return err_prefix(e, rc, "nvml: ");
    }
    *d = (struct device){.ops = &nvml_ops, .impl = nv, .modelled_time = false};
    *out = d;
    return 0;
}

static void nvml_close(void *impl)
{
    struct nvml *nv = impl;
    nv->f.nvmlShutdown();
    dlclose(nv->lib);
    for (unsigned i = 0; i < DEVICE_MAX_GPUS; i++)
        pthread_mutex_destroy(&nv->gpu_locks[i]);
    free(nv);
}

int nvml_driver_version(struct device *d, char *buf, size_t size, struct err *e)
{
    if (!d || d->ops != &nvml_ops)
        return err_set(e, -EINVAL, "nvml_driver_version: not an nvml device");
    if (!buf || size == 0)
        return err_set(e, -EINVAL, "nvml_driver_version: no buffer");
    struct nvml *nv = d->impl;
    char v[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE] = "";
    nvmlReturn_t ret = nv->f.nvmlSystemGetDriverVersion(v, sizeof v);
    if (ret != DEVICE_NVML_SUCCESS)
        return call_failed(nv, e, ret, "nvmlSystemGetDriverVersion");
    v[sizeof v - 1] = '\0';
    snprintf(buf, size, "%s", v);
    return 0;
}

/* ---- profile names ------------------------------------------------------- */

/* The variant a profile index stands for, as the driver spells it. "+me"
 * is confirmed by readouts; the GFX, NO_ME and ALL_ME spellings (indexes
 * of NVML 12.8+, Blackwell) follow nvidia-smi's and no readout here has
 * confirmed them. */
static const char *profile_suffix(unsigned index)
{
    switch (index) {
    case 7:  /* 1_SLICE_REV1 */
    case 8:  /* 2_SLICE_REV1 */
        return "+me";
    case 10: /* 1_SLICE_GFX */
    case 11: /* 2_SLICE_GFX */
    case 12: /* 4_SLICE_GFX */
    case 17: /* 3_SLICE_GFX */
        return "+gfx";
    case 13: /* 1_SLICE_NO_ME */
    case 14: /* 2_SLICE_NO_ME */
        return "-me";
    case 15: /* 1_SLICE_ALL_ME */
    case 16: /* 2_SLICE_ALL_ME */
        return "+me.all";
    default:
        return "";
    }
}

int nvml_profile_name(unsigned index, unsigned compute_slices, uint64_t memory_mib,
                      uint64_t total_bytes, char *buf, size_t size)
{
    if (buf && size)
        buf[0] = '\0';
    if (!buf || size == 0 || compute_slices == 0 || memory_mib == 0 || total_bytes == 0 ||
        memory_mib > UINT32_MAX)
        return -EINVAL;
    /* Integer forms of ceil(8 x share) and ceil(total / GiB): no rounding
     * error can move a profile across a boundary. */
    uint64_t eighths = (memory_mib * MIB * 8 + total_bytes - 1) / total_bytes;
    uint64_t total_gb = (total_bytes + GIB - 1) / GIB;
    uint64_t gb = (eighths * total_gb + 4) / 8;
    snprintf(buf, size, "%ug.%llugb%s", compute_slices, (unsigned long long)gb,
             profile_suffix(index));
    return 0;
}

/* ---- reading a GPU -------------------------------------------------------- */

/* The catalogue's entry for a profile the driver reports: the same kind
 * (index and id) first, since names drift between drivers while the kind
 * does not; then the name or an alias of it. */
static const struct mig_profile *match_catalog(const struct gpu_model *m,
                                               const struct device_profile *p)
{
    if (!m)
        return NULL;
    for (unsigned k = 0; k < m->n_profiles; k++)
        if (m->profiles[k].nvml_index == p->nvml_index && m->profiles[k].nvml_id == p->nvml_id)
            return &m->profiles[k];
    return catalog_find_profile(m, p->name);
}

/* Checks what the driver says against the fixed sizes of device.h, so a
 * strange driver is reported instead of truncated. */
static int check_profile_info(const struct gpu *g, unsigned index,
                              const nvmlGpuInstanceProfileInfo_t *info, struct err *e)
{
    const char *field = NULL;
    unsigned long long value = 0;
    if (info->sliceCount == 0 || info->sliceCount > MIG_MAX_MEMORY_SLICES)
        field = "sliceCount", value = info->sliceCount;
    else if (info->instanceCount > MIG_MAX_MEMORY_SLICES)
        field = "instanceCount", value = info->instanceCount;
    else if (info->multiprocessorCount > UINT16_MAX)
        field = "multiprocessorCount", value = info->multiprocessorCount;
    else if (info->memorySizeMB == 0 || info->memorySizeMB > UINT32_MAX)
        field = "memorySizeMB", value = info->memorySizeMB;
    if (!field)
        return 0;
    return err_set(e, -EIO, "nvmlDeviceGetGpuInstanceProfileInfo(GPU %u, index %u): %s %llu "
                   "is out of range", g->g.index, index, field, value);
}

static int read_placements(struct nvml *nv, const struct gpu *g, struct device_profile *p,
                           struct err *e)
{
    nvmlGpuInstancePlacement_t pl[MIG_MAX_PLACEMENTS];
    unsigned n = MIG_MAX_PLACEMENTS;
    nvmlReturn_t ret = nv->f.nvmlDeviceGetGpuInstancePossiblePlacements_v2(g->dev, p->nvml_id,
                                                                           pl, &n);
    if (ret == DEVICE_NVML_NOT_SUPPORTED) /* older drivers with MIG disabled */
        return 0;
    if (ret != DEVICE_NVML_SUCCESS)
        return call_failed(nv, e, ret, "nvmlDeviceGetGpuInstancePossiblePlacements_v2(GPU %u, "
                           "profile id %u)", g->g.index, p->nvml_id);
    if (n > MIG_MAX_PLACEMENTS)
        return err_set(e, -E2BIG, "nvmlDeviceGetGpuInstancePossiblePlacements_v2(GPU %u, "
                       "profile id %u): %u placements, more than %d", g->g.index, p->nvml_id,
                       n, MIG_MAX_PLACEMENTS);
    for (unsigned i = 0; i < n; i++) {
        if (pl[i].size == 0 || pl[i].start >= MIG_MAX_MEMORY_SLICES ||
            pl[i].size > MIG_MAX_MEMORY_SLICES - pl[i].start)
            return err_set(e, -EIO, "nvmlDeviceGetGpuInstancePossiblePlacements_v2(GPU %u, "
                           "profile id %u): placement {%u}:%u is outside %d memory slices",
                           g->g.index, p->nvml_id, pl[i].start, pl[i].size,
                           MIG_MAX_MEMORY_SLICES);
        p->placements[i] = (struct mig_placement){.start = (uint8_t)pl[i].start,
                                                  .size = (uint8_t)pl[i].size};
    }
    p->n_placements = (uint8_t)n;
    return 0;
}

static int read_profile(struct nvml *nv, const struct gpu *g, unsigned index,
                        const nvmlGpuInstanceProfileInfo_t *info, bool placements,
                        struct device_profile *p, struct err *e)
{
    int rc = check_profile_info(g, index, info, e);
    if (rc < 0)
        return rc;
    memset(p, 0, sizeof *p);
    nvml_profile_name(index, info->sliceCount, info->memorySizeMB, g->total_bytes, p->name,
                      sizeof p->name);
    p->nvml_id = info->id;
    p->nvml_index = index;
    p->compute_slices = (uint8_t)info->sliceCount;
    p->max_instances = (uint8_t)info->instanceCount;
    p->sm_count = (uint16_t)info->multiprocessorCount;
    p->memory_mib = (uint32_t)info->memorySizeMB;
    p->catalog = match_catalog(g->g.model, p);
    if (placements && (rc = read_placements(nv, g, p, e)) < 0)
        return rc;
    /* The memory slices are the placements' size; NVML's profile info has
     * no field for them. */
    if (p->n_placements)
        p->memory_slices = p->placements[0].size;
    else if (p->catalog)
        p->memory_slices = p->catalog->memory_slices;
    return 0;
}

/* Every GPU-instance profile the driver offers, by index. */
static int read_profiles(struct nvml *nv, struct gpu *g, bool placements, struct err *e)
{
    g->g.n_profiles = 0;
    for (unsigned index = 0; index < GI_PROFILE_INDEX_LIMIT; index++) {
        nvmlGpuInstanceProfileInfo_t info;
        memset(&info, 0, sizeof info);
        nvmlReturn_t ret = nv->f.nvmlDeviceGetGpuInstanceProfileInfo(g->dev, index, &info);
        if (ret == DEVICE_NVML_INVALID_ARGUMENT)
            break;
        if (ret == DEVICE_NVML_NOT_SUPPORTED)
            continue;
        if (ret != DEVICE_NVML_SUCCESS)
            return call_failed(nv, e, ret, "nvmlDeviceGetGpuInstanceProfileInfo(GPU %u, "
                               "index %u)", g->g.index, index);
        if (g->g.n_profiles == DEVICE_MAX_PROFILES)
            return err_set(e, -E2BIG, "GPU %u offers more than %d profiles", g->g.index,
                           DEVICE_MAX_PROFILES);
        int rc = read_profile(nv, g, index, &info, placements,
                              &g->g.profiles[g->g.n_profiles], e);
        if (rc < 0)
            return rc;
        g->g.n_profiles++;
    }
    return 0;
}

static int read_mig_mode(struct nvml *nv, struct gpu *g, struct err *e)
{
    unsigned cur = 0, pending = 0;
    nvmlReturn_t ret = nv->f.nvmlDeviceGetMigMode(g->dev, &cur, &pending);
    if (ret == DEVICE_NVML_NOT_SUPPORTED) {
        g->g.mig_current = g->g.mig_pending = DEVICE_MIG_UNSUPPORTED;
        return 0;
    }
    if (ret != DEVICE_NVML_SUCCESS)
        return call_failed(nv, e, ret, "nvmlDeviceGetMigMode(GPU %u)", g->g.index);
    g->g.mig_current = cur == NVML_DEVICE_MIG_ENABLE ? DEVICE_MIG_ENABLED : DEVICE_MIG_DISABLED;
    g->g.mig_pending = pending == NVML_DEVICE_MIG_ENABLE ? DEVICE_MIG_ENABLED
                                                         : DEVICE_MIG_DISABLED;
    return 0;
}

static int read_uuid(struct nvml *nv, nvmlDevice_t dev, unsigned index, char *uuid,
                     struct err *e)
{
    nvmlReturn_t ret = nv->f.nvmlDeviceGetUUID(dev, uuid, DEVICE_UUID_MAX);
    if (ret != DEVICE_NVML_SUCCESS)
        return call_failed(nv, e, ret, "nvmlDeviceGetUUID(GPU %u)", index);
    uuid[DEVICE_UUID_MAX - 1] = '\0';
    return 0;
}

/* GPU index: identity, memory, MIG mode and profiles (with their
 * placements when asked). */
static int read_gpu(struct nvml *nv, unsigned index, bool placements, struct gpu *g,
                    struct err *e)
{
    memset(g, 0, sizeof *g);
    g->g.index = index;
    nvmlReturn_t ret = nv->f.nvmlDeviceGetHandleByIndex_v2(index, &g->dev);
    if (ret != DEVICE_NVML_SUCCESS)
        return call_failed(nv, e, ret, "nvmlDeviceGetHandleByIndex_v2(%u)", index);
    int rc = read_uuid(nv, g->dev, index, g->g.uuid, e);
    if (rc < 0)
        return rc;
    if ((ret = nv->f.nvmlDeviceGetName(g->dev, g->g.product, sizeof g->g.product)) != 0)
        return call_failed(nv, e, ret, "nvmlDeviceGetName(GPU %u)", index);
    g->g.product[sizeof g->g.product - 1] = '\0';
    nvmlPciInfo_t pci;
    memset(&pci, 0, sizeof pci);
    if ((ret = nv->f.nvmlDeviceGetPciInfo_v3(g->dev, &pci)) != 0)
        return call_failed(nv, e, ret, "nvmlDeviceGetPciInfo_v3(GPU %u)", index);
    snprintf(g->g.pci_bus_id, sizeof g->g.pci_bus_id, "%.*s", (int)sizeof pci.busId,
             pci.busId);
    nvmlMemory_t mem;
    memset(&mem, 0, sizeof mem);
    if ((ret = nv->f.nvmlDeviceGetMemoryInfo(g->dev, &mem)) != 0)
        return call_failed(nv, e, ret, "nvmlDeviceGetMemoryInfo(GPU %u)", index);
    if (mem.total < MIB)
        return err_set(e, -EIO, "nvmlDeviceGetMemoryInfo(GPU %u): %llu bytes of memory", index,
                       mem.total);
    g->total_bytes = mem.total;
    g->g.memory_mib = mem.total / MIB;
    g->g.model = catalog_find_model(g->g.product);
    if ((rc = read_mig_mode(nv, g, e)) < 0)
        return rc;
    if (g->g.mig_current == DEVICE_MIG_UNSUPPORTED)
        return 0;
    return read_profiles(nv, g, placements, e);
}

static int gpu_count(struct nvml *nv, unsigned *n, struct err *e)
{
    nvmlReturn_t ret = nv->f.nvmlDeviceGetCount_v2(n);
    if (ret != DEVICE_NVML_SUCCESS)
        return call_failed(nv, e, ret, "nvmlDeviceGetCount_v2");
    if (*n > DEVICE_MAX_GPUS)
        return err_set(e, -E2BIG, "the node has %u GPUs, more than %d", *n, DEVICE_MAX_GPUS);
    return 0;
}

/* The GPU a ref names, by UUID or index. */
static int find_gpu(struct nvml *nv, const struct device_slice_ref *ref, struct gpu *g,
                    struct err *e)
{
    unsigned n;
    int rc = gpu_count(nv, &n, e);
    if (rc < 0)
        return rc;
    if (!ref->gpu_uuid) {
        if (ref->gpu_index >= n)
            return device_nvml_fail(e, DEVICE_NVML_GPU_NOT_FOUND,
                                    "no GPU %u (the node has %u)", ref->gpu_index, n);
        return read_gpu(nv, ref->gpu_index, true, g, e);
    }
    for (unsigned i = 0; i < n; i++) {
        nvmlDevice_t dev;
        char uuid[DEVICE_UUID_MAX];
        nvmlReturn_t ret = nv->f.nvmlDeviceGetHandleByIndex_v2(i, &dev);
        if (ret != DEVICE_NVML_SUCCESS)
            return call_failed(nv, e, ret, "nvmlDeviceGetHandleByIndex_v2(%u)", i);
        if ((rc = read_uuid(nv, dev, i, uuid, e)) < 0)
            return rc;
        if (strcmp(uuid, ref->gpu_uuid) == 0)
            return read_gpu(nv, i, true, g, e);
    }
    return device_nvml_fail(e, DEVICE_NVML_GPU_NOT_FOUND, "no GPU %.*s on this node",
                            DEVICE_UUID_MAX, ref->gpu_uuid);
}

static const char *mig_mode_text(enum device_mig_mode m)
{
    return m == DEVICE_MIG_ENABLED ? "enabled" : m == DEVICE_MIG_DISABLED ? "disabled"
                                                                          : "unsupported";
}

/* The GPU's profile a request names: the driver's own name, or a
 * catalogue name or alias of one of its profiles. */
static int resolve_profile(const struct gpu *g, const char *name,
                           const struct device_profile **out, struct err *e)
{
    const struct device_gpu *dg = &g->g;
    if (dg->mig_current == DEVICE_MIG_UNSUPPORTED)
        return device_nvml_fail(e, DEVICE_NVML_NOT_SUPPORTED, "GPU %u (%s) has no MIG",
                                dg->index, dg->product);
    const struct mig_profile *c = dg->model ? catalog_find_profile(dg->model, name) : NULL;
    for (unsigned pass = 0; pass < 2; pass++) /* the driver's own names first */
        for (unsigned i = 0; i < dg->n_profiles; i++)
            if (pass == 0 ? strcmp(dg->profiles[i].name, name) == 0
                          : c && dg->profiles[i].catalog == c) {
                *out = &dg->profiles[i];
                return 0;
            }
    if (dg->mig_current != DEVICE_MIG_ENABLED && dg->n_profiles == 0)
        return device_nvml_fail(e, DEVICE_NVML_NOT_SUPPORTED, "MIG is disabled on GPU %u (%s) "
                                "and the driver lists no profiles", dg->index, dg->product);
    char have[256] = "";
    for (unsigned i = 0, used = 0; i < dg->n_profiles && used < sizeof have; i++) {
        int n = snprintf(have + used, sizeof have - used, "%s%s", i ? ", " : "",
                         dg->profiles[i].name);
        used += n > 0 ? (unsigned)n : 0;
    }
    return device_nvml_fail(e, DEVICE_NVML_INVALID_ARGUMENT,
                            "GPU %u (%s) has no profile \"%.*s\" (it has: %s)", dg->index,
                            dg->product, DEVICE_PROFILE_NAME_MAX, name, have);
}

/* Every MIG device of the GPU with the (GI, CI) it stands for. */
static int read_mig_devices(struct nvml *nv, const struct gpu *g, struct mig_device *out,
                            unsigned *n, struct err *e)
{
    unsigned max = 0;
    *n = 0;
    nvmlReturn_t ret = nv->f.nvmlDeviceGetMaxMigDeviceCount(g->dev, &max);
    if (ret != DEVICE_NVML_SUCCESS)
        return call_failed(nv, e, ret, "nvmlDeviceGetMaxMigDeviceCount(GPU %u)", g->g.index);
    for (unsigned i = 0; i < max; i++) {
        nvmlDevice_t mig;
        ret = nv->f.nvmlDeviceGetMigDeviceHandleByIndex(g->dev, i, &mig);
        if (ret == DEVICE_NVML_NOT_FOUND) /* an empty slot */
            continue;
        if (ret != DEVICE_NVML_SUCCESS)
            return call_failed(nv, e, ret, "nvmlDeviceGetMigDeviceHandleByIndex(GPU %u, %u)",
                               g->g.index, i);
        if (*n == MAX_MIG_DEVICES)
            return err_set(e, -E2BIG, "GPU %u has more than %d MIG devices", g->g.index,
                           MAX_MIG_DEVICES);
        struct mig_device *m = &out[*n];
        if ((ret = nv->f.nvmlDeviceGetGpuInstanceId(mig, &m->gi_id)) != 0)
            return call_failed(nv, e, ret, "nvmlDeviceGetGpuInstanceId(GPU %u, MIG device %u)",
                               g->g.index, i);
        if ((ret = nv->f.nvmlDeviceGetComputeInstanceId(mig, &m->ci_id)) != 0)
            return call_failed(nv, e, ret, "nvmlDeviceGetComputeInstanceId(GPU %u, MIG "
                               "device %u)", g->g.index, i);
        int rc = read_uuid(nv, mig, g->g.index, m->uuid, e);
        if (rc < 0)
            return rc;
        (*n)++;
    }
    return 0;
}

static const char *mig_uuid_of(const struct mig_device *m, unsigned n, unsigned gi_id,
                               unsigned ci_id)
{
    for (unsigned i = 0; i < n; i++)
        if (m[i].gi_id == gi_id && m[i].ci_id == ci_id)
            return m[i].uuid;
    return NULL;
}

/* ---- compute instances --------------------------------------------------- */

/* Calls fn for each compute-instance profile the GI offers, in index order,
 * until fn returns non-zero (which is returned). */
static int each_ci_profile(struct nvml *nv, nvmlGpuInstance_t gi,
                           int (*fn)(struct nvml *nv, nvmlGpuInstance_t gi,
                                     const nvmlComputeInstanceProfileInfo_t *info, void *arg,
                                     struct err *e),
                           void *arg, struct err *e)
{
    for (unsigned index = 0; index < CI_PROFILE_INDEX_LIMIT; index++) {
        nvmlComputeInstanceProfileInfo_t info;
        memset(&info, 0, sizeof info);
        nvmlReturn_t ret = nv->f.nvmlGpuInstanceGetComputeInstanceProfileInfo(
            gi, index, NVML_CI_ENGINE_SHARED, &info);
        if (ret == DEVICE_NVML_INVALID_ARGUMENT)
            break;
        if (ret == DEVICE_NVML_NOT_SUPPORTED)
            continue;
        if (ret != DEVICE_NVML_SUCCESS)
            return call_failed(nv, e, ret, "nvmlGpuInstanceGetComputeInstanceProfileInfo(index "
                               "%u)", index);
        int rc = fn(nv, gi, &info, arg, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

struct ci_wanted {
    unsigned slices;
    bool found;
    nvmlComputeInstanceProfileInfo_t info;
};

static int match_ci_profile(struct nvml *nv, nvmlGpuInstance_t gi,
                            const nvmlComputeInstanceProfileInfo_t *info, void *arg,
                            struct err *e)
{
    (void)nv, (void)gi, (void)e;
    struct ci_wanted *w = arg;
    if (info->sliceCount != w->slices)
        return 0;
    w->found = true;
    w->info = *info;
    return 1;
}

/* The compute instance spanning the GI: the CI profile, looked up inside
 * the GI, whose slice count is the GI's compute slices. */
static int make_ci(struct nvml *nv, nvmlGpuInstance_t gi, const struct device_profile *p,
                   nvmlComputeInstance_t *ci, struct err *e)
{
    struct ci_wanted w = {.slices = p->compute_slices};
    int rc = each_ci_profile(nv, gi, match_ci_profile, &w, e);
    if (rc < 0)
        return rc;
    if (!w.found)
        return device_nvml_fail(e, DEVICE_NVML_NOT_SUPPORTED, "the GPU instance offers no "
                                "compute-instance profile of %u slices", p->compute_slices);
    nvmlReturn_t ret = nv->f.nvmlGpuInstanceCreateComputeInstance(gi, w.info.id, ci);
    if (ret != DEVICE_NVML_SUCCESS) {
        *ci = NULL;
        return call_failed(nv, e, ret, "nvmlGpuInstanceCreateComputeInstance(CI profile id %u)",
                           w.info.id);
    }
    return 0;
}

/* What each_ci calls on every compute instance, and with what. */
struct ci_visit {
    int (*fn)(struct nvml *nv, const nvmlComputeInstanceProfileInfo_t *info,
              nvmlComputeInstance_t ci, void *arg, struct err *e);
    void *arg;
};

static int visit_cis(struct nvml *nv, nvmlGpuInstance_t gi,
                     const nvmlComputeInstanceProfileInfo_t *info, void *arg, struct err *e)
{
    const struct ci_visit *v = arg;
    nvmlComputeInstance_t cis[MAX_CIS];
    unsigned n = 0;
    nvmlReturn_t ret = nv->f.nvmlGpuInstanceGetComputeInstances(gi, info->id, cis, &n);
    if (ret != DEVICE_NVML_SUCCESS)
        return call_failed(nv, e, ret, "nvmlGpuInstanceGetComputeInstances(CI profile id %u)",
                           info->id);
    for (unsigned i = 0; i < n && i < MAX_CIS; i++) {
        int rc = v->fn(nv, info, cis[i], v->arg, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Calls fn on each compute instance of gi, CI profile by CI profile, until
 * one fails. */
static int each_ci(struct nvml *nv, nvmlGpuInstance_t gi,
                   int (*fn)(struct nvml *nv, const nvmlComputeInstanceProfileInfo_t *info,
                             nvmlComputeInstance_t ci, void *arg, struct err *e),
                   void *arg, struct err *e)
{
    struct ci_visit v = {fn, arg};
    return each_ci_profile(nv, gi, visit_cis, &v, e);
}

struct ci_first {
    bool found;
    unsigned id;
};

static int first_ci(struct nvml *nv, const nvmlComputeInstanceProfileInfo_t *info,
                    nvmlComputeInstance_t ci, void *arg, struct err *e)
{
    struct ci_first *f = arg;
    nvmlComputeInstanceInfo_t ci_info;
    (void)info;
    memset(&ci_info, 0, sizeof ci_info);
    nvmlReturn_t ret = nv->f.nvmlComputeInstanceGetInfo_v2(ci, &ci_info);
    if (ret != 0)
        return call_failed(nv, e, ret, "nvmlComputeInstanceGetInfo_v2");
    if (!f->found || ci_info.id < f->id)
        f->id = ci_info.id;
    f->found = true;
    return 0;
}

struct ci_destroyed {
    unsigned n;
};

static int destroy_ci(struct nvml *nv, const nvmlComputeInstanceProfileInfo_t *info,
                      nvmlComputeInstance_t ci, void *arg, struct err *e)
{
    struct ci_destroyed *d = arg;
    nvmlReturn_t ret = nv->f.nvmlComputeInstanceDestroy(ci);
    if (ret != 0)
        return call_failed(nv, e, ret, "nvmlComputeInstanceDestroy (CI profile id %u)",
                           info->id);
    d->n++;
    return 0;
}

/* ---- slices -------------------------------------------------------------- */

static void fill_slice(struct device_slice *out, const struct gpu *g,
                       const struct device_profile *p, const nvmlGpuInstanceInfo_t *gi,
                       bool has_ci, unsigned ci_id, const char *uuid)
{
    memset(out, 0, sizeof *out);
    out->gpu_index = g->g.index;
    memcpy(out->gpu_uuid, g->g.uuid, sizeof out->gpu_uuid);
    memcpy(out->profile, p->name, sizeof out->profile);
    out->profile_id = p->nvml_id;
    out->placement = (struct mig_placement){.start = (uint8_t)gi->placement.start,
                                            .size = (uint8_t)gi->placement.size};
    out->gi_id = gi->id;
    out->ci_id = has_ci ? ci_id : DEVICE_NO_CI;
    if (uuid)
        snprintf(out->uuid, sizeof out->uuid, "%s", uuid);
}

static int gi_info(struct nvml *nv, nvmlGpuInstance_t gi, nvmlGpuInstanceInfo_t *info,
                   struct err *e)
{
    memset(info, 0, sizeof *info);
    nvmlReturn_t ret = nv->f.nvmlGpuInstanceGetInfo(gi, info);
    if (ret != DEVICE_NVML_SUCCESS)
        return call_failed(nv, e, ret, "nvmlGpuInstanceGetInfo");
    if (info->placement.start >= MIG_MAX_MEMORY_SLICES ||
        info->placement.size > MIG_MAX_MEMORY_SLICES - info->placement.start)
        return err_set(e, -EIO, "nvmlGpuInstanceGetInfo: GI %u at {%u}:%u is outside %d "
                       "memory slices", info->id, info->placement.start, info->placement.size,
                       MIG_MAX_MEMORY_SLICES);
    return 0;
}

/* What a new slice is: its ids and its MIG device's UUID. */
static int describe_new(struct nvml *nv, const struct gpu *g, const struct device_profile *p,
                        nvmlGpuInstance_t gi, nvmlComputeInstance_t ci,
                        struct device_slice *out, struct err *e)
{
    nvmlGpuInstanceInfo_t gii;
    nvmlComputeInstanceInfo_t cii;
    memset(&cii, 0, sizeof cii);
    int rc = gi_info(nv, gi, &gii, e);
    if (rc < 0)
        return rc;
    nvmlReturn_t ret = nv->f.nvmlComputeInstanceGetInfo_v2(ci, &cii);
    if (ret != DEVICE_NVML_SUCCESS)
        return call_failed(nv, e, ret, "nvmlComputeInstanceGetInfo_v2");
    struct mig_device migs[MAX_MIG_DEVICES];
    unsigned n;
    if ((rc = read_mig_devices(nv, g, migs, &n, e)) < 0)
        return rc;
    const char *uuid = mig_uuid_of(migs, n, gii.id, cii.id);
    if (!uuid)
        return err_set(e, -EIO, "no MIG device stands for GI %u CI %u after they were made",
                        gii.id, cii.id);
    fill_slice(out, g, p, &gii, true, cii.id, uuid);
    return 0;
}

/* Undoes a create that failed after its GI was made; e keeps the failure
 * and says what the rollback did. */
static void rollback(struct nvml *nv, nvmlGpuInstance_t gi, nvmlComputeInstance_t ci,
                     struct err *e)
{
    nvmlReturn_t ret;
    if (ci && (ret = nv->f.nvmlComputeInstanceDestroy(ci)) != DEVICE_NVML_SUCCESS)
        append_note(e, "; rollback: nvmlComputeInstanceDestroy: %s",
                    device_nvml_return_name(ret));
    ret = nv->f.nvmlGpuInstanceDestroy(gi);
    if (ret != DEVICE_NVML_SUCCESS)
        append_note(e, "; rollback: nvmlGpuInstanceDestroy: %s: the GPU instance is left",
                    device_nvml_return_name(ret));
    else
        append_note(e, "; the GPU instance was destroyed again");
}

/* Called with g's lock held. */
static int create_locked(struct nvml *nv, const struct gpu *gpu,
                         const struct device_slice_ref *ref, struct device_slice *out,
                         struct err *e)
{
    struct gpu g = *gpu;
    const struct device_profile *p = NULL;
    int rc = resolve_profile(&g, ref->profile, &p, e);
    if (rc < 0)
        return rc;
    nvmlGpuInstancePlacement_t pl = {.start = ref->start, .size = p->memory_slices};
    nvmlGpuInstance_t gi = NULL;
    nvmlReturn_t ret = nv->f.nvmlDeviceCreateGpuInstanceWithPlacement(g.dev, p->nvml_id, &pl,
                                                                      &gi);
    if (ret != DEVICE_NVML_SUCCESS) {
        rc = call_failed(nv, e, ret, "nvmlDeviceCreateGpuInstanceWithPlacement(profile id %u, "
                         "{%u}:%u)", p->nvml_id, pl.start, pl.size);
        if (g.g.mig_current != DEVICE_MIG_ENABLED)
            append_note(e, " (MIG is %s on GPU %u%s)", mig_mode_text(g.g.mig_current),
                        g.g.index, g.g.mig_pending == DEVICE_MIG_ENABLED
                                       ? "; enabled after the next GPU reset"
                                       : "");
        return rc;
    }
    nvmlComputeInstance_t ci = NULL;
    rc = make_ci(nv, gi, p, &ci, e);
    if (rc == 0)
        rc = describe_new(nv, &g, p, gi, ci, out, e);
    if (rc < 0)
        rollback(nv, gi, ci, e);
    return rc;
}

/* The GPU instances of profile p on g: *n of them in gis. */
static int list_gis(struct nvml *nv, const struct gpu *g, const struct device_profile *p,
                    nvmlGpuInstance_t gis[MIG_MAX_MEMORY_SLICES], unsigned *n, struct err *e)
{
    *n = 0;
    nvmlReturn_t ret = nv->f.nvmlDeviceGetGpuInstances(g->dev, p->nvml_id, gis, n);
    if (ret != DEVICE_NVML_SUCCESS)
        return call_failed(nv, e, ret, "nvmlDeviceGetGpuInstances(GPU %u, profile id %u)",
                           g->g.index, p->nvml_id);
    if (*n > MIG_MAX_MEMORY_SLICES)
        *n = MIG_MAX_MEMORY_SLICES;
    return 0;
}

/* The GI of profile p that starts at start. */
static int find_gi(struct nvml *nv, const struct gpu *g, const struct device_profile *p,
                   unsigned start, nvmlGpuInstance_t *out, struct err *e)
{
    nvmlGpuInstance_t gis[MIG_MAX_MEMORY_SLICES];
    unsigned n;
    int rc = list_gis(nv, g, p, gis, &n, e);
    if (rc < 0)
        return rc;
    for (unsigned i = 0; i < n; i++) {
        nvmlGpuInstanceInfo_t info;
        rc = gi_info(nv, gis[i], &info, e);
        if (rc < 0)
            return rc;
        if (info.placement.start == start) {
            *out = gis[i];
            return 0;
        }
    }
    return device_nvml_fail(e, DEVICE_NVML_NOT_FOUND, "no %s starts at memory slice %u of "
                            "GPU %u", p->name, start, g->g.index);
}

/* Called with g's lock held. */
static int destroy_locked(struct nvml *nv, const struct gpu *gpu,
                          const struct device_slice_ref *ref, struct err *e)
{
    struct gpu g = *gpu;
    const struct device_profile *p = NULL;
    nvmlGpuInstance_t gi = NULL;
    int rc = resolve_profile(&g, ref->profile, &p, e);
    if (rc == 0)
        rc = find_gi(nv, &g, p, ref->start, &gi, e);
    if (rc < 0)
        return rc;
    struct ci_destroyed d = {0};
    rc = each_ci(nv, gi, destroy_ci, &d, e);
    if (rc < 0) {
        if (d.n)
            append_note(e, "; %u compute instance(s) destroyed, the GPU instance stays", d.n);
        else
            append_note(e, "; nothing was destroyed");
        return rc;
    }
    nvmlReturn_t ret = nv->f.nvmlGpuInstanceDestroy(gi);
    if (ret != DEVICE_NVML_SUCCESS) {
        rc = call_failed(nv, e, ret, "nvmlGpuInstanceDestroy");
        append_note(e, "; its compute instances are gone, the GPU instance stays");
    }
    return rc;
}

/* The slices of one GPU with MIG enabled, appended to out by start. */
static int list_gpu(struct nvml *nv, const struct gpu *g, struct device_slices *out,
                    struct err *e)
{
    struct mig_device migs[MAX_MIG_DEVICES];
    unsigned n_migs, first = out->n;
    int rc = read_mig_devices(nv, g, migs, &n_migs, e);
    for (unsigned k = 0; rc == 0 && k < g->g.n_profiles; k++) {
        const struct device_profile *p = &g->g.profiles[k];
        nvmlGpuInstance_t gis[MIG_MAX_MEMORY_SLICES];
        unsigned n = 0;
        rc = list_gis(nv, g, p, gis, &n, e);
        for (unsigned i = 0; rc == 0 && i < n; i++) {
            nvmlGpuInstanceInfo_t info;
            struct ci_first ci = {0};
            rc = gi_info(nv, gis[i], &info, e);
            if (rc == 0)
                rc = each_ci(nv, gis[i], first_ci, &ci, e);
            if (rc == 0 && out->n == DEVICE_MAX_SLICES)
                rc = err_set(e, -E2BIG, "more than %d slices on the node", DEVICE_MAX_SLICES);
            if (rc == 0)
                fill_slice(&out->items[out->n++], g, p, &info, ci.found, ci.id,
                           ci.found ? mig_uuid_of(migs, n_migs, info.id, ci.id) : NULL);
        }
    }
    /* By start, as device.h promises; a handful of items. */
    for (unsigned i = first + 1; rc == 0 && i < out->n; i++)
        for (unsigned j = i; j > first && out->items[j].placement.start <
                                              out->items[j - 1].placement.start; j--) {
            struct device_slice t = out->items[j];
            out->items[j] = out->items[j - 1];
            out->items[j - 1] = t;
        }
    return rc;
}

/* ---- the operations ------------------------------------------------------ */

static int nvml_discover(void *impl, struct device_inventory *inv, uint64_t *took_ns,
                         struct err *e)
{
    struct nvml *nv = impl;
    int64_t t0 = clock_monotonic_ns();
    unsigned n;
    struct gpu g;
    int rc = gpu_count(nv, &n, e);
    for (unsigned i = 0; rc == 0 && i < n; i++)
        if ((rc = read_gpu(nv, i, true, &g, e)) == 0)
            inv->gpus[inv->n_gpus++] = g.g;
    *took_ns = (uint64_t)(clock_monotonic_ns() - t0);
    return rc;
}

static int nvml_create(void *impl, const struct device_slice_ref *ref,
                       struct device_slice *out, uint64_t *took_ns, struct err *e)
{
    struct nvml *nv = impl;
    int64_t t0 = clock_monotonic_ns();
    struct gpu g;
    int rc = find_gpu(nv, ref, &g, e);
    if (rc == 0) {
        pthread_mutex_lock(&nv->gpu_locks[g.g.index]);
        rc = create_locked(nv, &g, ref, out, e);
        pthread_mutex_unlock(&nv->gpu_locks[g.g.index]);
    }
    *took_ns = (uint64_t)(clock_monotonic_ns() - t0);
    return device_slice_failed(rc, "create", ref, e);
}

static int nvml_destroy(void *impl, const struct device_slice_ref *ref, uint64_t *took_ns,
                        struct err *e)
{
    struct nvml *nv = impl;
    int64_t t0 = clock_monotonic_ns();
    struct gpu g;
    int rc = find_gpu(nv, ref, &g, e);
    if (rc == 0) {
        pthread_mutex_lock(&nv->gpu_locks[g.g.index]);
        rc = destroy_locked(nv, &g, ref, e);
        pthread_mutex_unlock(&nv->gpu_locks[g.g.index]);
    }
    *took_ns = (uint64_t)(clock_monotonic_ns() - t0);
    return device_slice_failed(rc, "destroy", ref, e);
}

static int nvml_list(void *impl, struct device_slices *out, uint64_t *took_ns, struct err *e)
{
    struct nvml *nv = impl;
    int64_t t0 = clock_monotonic_ns();
    unsigned n;
    struct gpu g;
    int rc = gpu_count(nv, &n, e);
    for (unsigned i = 0; rc == 0 && i < n; i++) {
        rc = read_gpu(nv, i, false, &g, e);
        if (rc == 0 && g.g.mig_current == DEVICE_MIG_ENABLED)
            rc = list_gpu(nv, &g, out, e);
    }
    *took_ns = (uint64_t)(clock_monotonic_ns() - t0);
    return rc;
}

static int nvml_boot_id(void *impl, char out[DEVICE_BOOT_ID_MAX], struct err *e)
{
    (void)impl;
    FILE *f = fopen(BOOT_ID_PATH, "re");
    if (!f)
        return err_set(e, -errno, "cannot open %s: %s", BOOT_ID_PATH, strerror(errno));
    char line[DEVICE_BOOT_ID_MAX + 2];
    bool got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    size_t n = got ? strcspn(line, "\n") : 0;
    if (n == 0 || n >= DEVICE_BOOT_ID_MAX)
        return err_set(e, -EIO, "%s holds no boot id of 1 to %d characters", BOOT_ID_PATH,
                       DEVICE_BOOT_ID_MAX - 1);
    memcpy(out, line, n);
    out[n] = '\0';
    return 0;
}

static const struct device_ops nvml_ops = {
    .name = "nvml",
    .discover = nvml_discover,
    .create = nvml_create,
    .destroy = nvml_destroy,
    .list = nvml_list,
    .boot_id = nvml_boot_id,
    .close = nvml_close,
};
