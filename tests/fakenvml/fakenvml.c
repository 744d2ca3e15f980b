/*
 * The fake libnvidia-ml (see fakenvml.h).
 *
 * Every exported NVML function has the same shape: enter() takes the one
 * lock, counts the call and answers for NVML itself (not initialised, an
 * injected failure); a static function does the work on the state; leave()
 * unlocks and returns. Handles are pointers into the state (a GPU, a GPU
 * instance, a compute instance, a MIG device), checked against it on every
 * call, so a stale handle gives INVALID_ARGUMENT as the driver's would.
 *
 * What NVML does that the fake reproduces: profile info by index and
 * everything else by profile id; placements in memory slices, checked by
 * core/occupancy (an illegal start is INVALID_ARGUMENT, a taken one
 * INSUFFICIENT_RESOURCES); compute-instance profiles with ids of their own
 * (the index), looked up inside a GI; a CI's info naming the parent GPU,
 * not the MIG device; MIG devices enumerated by index with NOT_FOUND for
 * empty slots; NOT_SUPPORTED for MIG calls with MIG disabled, except the
 * profile and placement queries, which recent drivers answer (the H100
 * readout in tests/data was taken with MIG disabled); IN_USE for a
 * busy instance and for a GI that still has compute instances.
 */
#include "fakenvml.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/occupancy.h"
#include "device/device.h"
#include "device/emulated.h"
#include "util/hash.h"

#define MAX_CIS            8  /* compute instances in one GI */
#define MAX_FAULTS         16
#define MAX_SLICE_ITEMS    (DEVICE_MAX_GPUS * MIG_MAX_MEMORY_SLICES)
#define SPEC_MAX           65536
#define GI_PROFILE_INDEXES 18 /* NVML_GPU_INSTANCE_PROFILE_COUNT */
#define CI_PROFILE_INDEXES 9  /* NVML_COMPUTE_INSTANCE_PROFILE_COUNT */
#define MIB                (UINT64_C(1) << 20)

/* Compute slices of each compute-instance profile index (1_SLICE .. 8_SLICE,
 * 6_SLICE, 1_SLICE_REV1, 7_SLICE_NVL). The fake offers 0..4, as A100 and
 * H100 drivers do for their GIs. */
static const unsigned ci_slices[CI_PROFILE_INDEXES] = {1, 2, 3, 4, 7, 8, 6, 1, 7};
#define CI_INDEXES_OFFERED 5

enum fn {
    FN_nvmlErrorString,
#define FAKE_FN_ENUM(name, params) FN_##name,
    NVML_SYM_LIST(FAKE_FN_ENUM)
#undef FAKE_FN_ENUM
    FN_COUNT
};

static const char *const fn_names[FN_COUNT] = {
    "nvmlErrorString",
#define FAKE_FN_NAME(name, params) #name,
    NVML_SYM_LIST(FAKE_FN_NAME)
#undef FAKE_FN_NAME
};

struct fake_gpu;

/* A GPU, or a MIG device when ci is set. */
struct nvmlDevice_st {
    struct fake_gpu *gpu;
    struct nvmlComputeInstance_st *ci;
};

struct nvmlComputeInstance_st {
    bool alive;
    unsigned id, index; /* CI id; CI profile index (= its profile id) */
    unsigned first;     /* first compute slice inside the GI */
    struct nvmlGpuInstance_st *gi;
    struct nvmlDevice_st mig;
    char uuid[DEVICE_UUID_MAX];
};

struct nvmlGpuInstance_st {
    bool alive, busy;
    unsigned id, start;
    const struct mig_profile *profile;
    struct fake_gpu *gpu;
    struct nvmlComputeInstance_st cis[MAX_CIS];
};

struct fake_gpu {
    struct nvmlDevice_st dev;
    struct emulated_gpu_config cfg; /* model (NULL: no MIG), product, MIG modes */
    uint64_t memory_bytes;
    unsigned pci_device_id;
    char uuid[DEVICE_UUID_MAX];
    struct gpu_occupancy occ;
    struct nvmlGpuInstance_st gis[MIG_MAX_MEMORY_SLICES]; /* by start */
};

struct fault {
    enum fn fn;
    nvmlReturn_t ret;
    unsigned long nth; /* 0: every call */
};

static struct {
    pthread_mutex_t lock;
    bool loaded;
    unsigned inits;
    uint64_t seed;
    char driver[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE];
    unsigned n_gpus;
    struct fake_gpu gpus[DEVICE_MAX_GPUS];
    unsigned n_faults;
    struct fault faults[MAX_FAULTS];
    unsigned long calls[FN_COUNT];
    uint64_t mig_serial;
} fake = {.lock = PTHREAD_MUTEX_INITIALIZER};

/*
 * What the catalogue does not hold, from real readouts: the H100 80GB HBM3's
 * memory as nvmlDeviceGetMemoryInfo reports it (81559 MiB, nvidia-smi), its
 * PCI device id and its engine counts per profile index
 * (tests/data/h100-80gb-hbm3.txt). Other models get the catalogue's
 * nominal memory and engines by the rule in engines_of().
 */
struct engines {
    unsigned ce, dec, enc, jpeg, ofa;
};

static const struct {
    unsigned index;
    struct engines e;
} h100_engines[] = {
    {0, {1, 1, 0, 1, 0}}, {7, {1, 1, 0, 1, 1}}, {9, {1, 1, 0, 1, 0}}, {1, {2, 2, 0, 2, 0}},
    {2, {3, 3, 0, 3, 0}}, {3, {4, 4, 0, 4, 0}}, {4, {8, 7, 0, 7, 1}},
};
#define H100_MODEL      "H100-80GB"
#define H100_MEMORY_MIB 81559
#define H100_PCI_ID     0x233010deu /* device 0x2330, vendor 0x10de */

static bool is_h100(const struct gpu_model *m)
{
    return m && strcmp(m->name, H100_MODEL) == 0;
}

static struct engines engines_of(const struct gpu_model *m, const struct mig_profile *p)
{
    for (size_t i = 0; is_h100(m) && i < sizeof h100_engines / sizeof h100_engines[0]; i++)
        if (h100_engines[i].index == p->nvml_index)
            return h100_engines[i].e;
    unsigned c = p->compute_slices;
    return (struct engines){c, c, 0, c, p->media_extended || c == m->compute_slices};
}

/* ---- entering and leaving ------------------------------------------------ */

static nvmlReturn_t enter(enum fn fn)
{
    pthread_mutex_lock(&fake.lock);
    unsigned long nth = ++fake.calls[fn];
    for (unsigned i = 0; i < fake.n_faults; i++)
        if (fake.faults[i].fn == fn && (fake.faults[i].nth == 0 || fake.faults[i].nth == nth))
            return fake.faults[i].ret;
    if (fake.inits == 0 && fn != FN_nvmlInit_v2 && fn != FN_nvmlErrorString)
        return DEVICE_NVML_UNINITIALIZED;
    return DEVICE_NVML_SUCCESS;
}

static nvmlReturn_t leave(nvmlReturn_t ret)
{
    pthread_mutex_unlock(&fake.lock);
    return ret;
}

/* ---- handles ------------------------------------------------------------- */

static struct fake_gpu *gpu_of(nvmlDevice_t d)
{
    for (unsigned i = 0; i < fake.n_gpus; i++)
        if (d == &fake.gpus[i].dev)
            return &fake.gpus[i];
    return NULL;
}

static struct fake_gpu *mig_gpu_of(nvmlDevice_t d)
{
    struct fake_gpu *g = gpu_of(d);
    return g && g->cfg.model ? g : NULL;
}

static struct nvmlGpuInstance_st *gi_of(nvmlGpuInstance_t gi)
{
    for (unsigned i = 0; i < fake.n_gpus; i++)
        for (unsigned s = 0; s < MIG_MAX_MEMORY_SLICES; s++)
            if (gi == &fake.gpus[i].gis[s] && gi->alive)
                return gi;
    return NULL;
}

static struct nvmlComputeInstance_st *ci_of(nvmlComputeInstance_t ci)
{
    for (unsigned i = 0; i < fake.n_gpus; i++)
        for (unsigned s = 0; s < MIG_MAX_MEMORY_SLICES; s++)
            for (unsigned k = 0; k < MAX_CIS; k++)
                if (ci == &fake.gpus[i].gis[s].cis[k] && ci->alive && ci->gi->alive)
                    return ci;
    return NULL;
}

/* A MIG device handle's compute instance. */
static struct nvmlComputeInstance_st *mig_of(nvmlDevice_t d)
{
    for (unsigned i = 0; i < fake.n_gpus; i++)
        for (unsigned s = 0; s < MIG_MAX_MEMORY_SLICES; s++)
            for (unsigned k = 0; k < MAX_CIS; k++) {
                struct nvmlComputeInstance_st *ci = &fake.gpus[i].gis[s].cis[k];
                if (d == &ci->mig && ci->alive && ci->gi->alive)
                    return ci;
            }
    return NULL;
}

static const struct mig_profile *profile_by_id(const struct fake_gpu *g, unsigned id)
{
    for (unsigned k = 0; k < g->cfg.model->n_profiles; k++)
        if (g->cfg.model->profiles[k].nvml_id == id)
            return &g->cfg.model->profiles[k];
    return NULL;
}

static void format_uuid(char *buf, const char *prefix, const char *tag, uint64_t n)
{
    uint64_t hi = hash_bytes(hash_field(hash_bytes(HASH_INIT, &fake.seed, sizeof fake.seed),
                                        tag), &n, sizeof n);
    uint64_t lo = hash_field(hi, tag);
    snprintf(buf, DEVICE_UUID_MAX, "%s%08x-%04x-%04x-%04x-%012llx", prefix,
             (unsigned)(hi >> 32), (unsigned)(hi >> 16) & 0xffff, (unsigned)hi & 0xffff,
             (unsigned)(lo >> 48), (unsigned long long)(lo & UINT64_C(0xffffffffffff)));
}

static nvmlReturn_t copy_string(char *out, unsigned length, const char *s)
{
    if (!out)
        return DEVICE_NVML_INVALID_ARGUMENT;
    if (strlen(s) + 1 > length)
        return DEVICE_NVML_INSUFFICIENT_SIZE;
    memcpy(out, s, strlen(s) + 1);
    return DEVICE_NVML_SUCCESS;
}

/* ---- the state's operations ---------------------------------------------- */

static unsigned lowest_free_gi_id(const struct fake_gpu *g)
{
    for (unsigned id = 1;; id++) {
        unsigned s = 0;
        while (s < MIG_MAX_MEMORY_SLICES && !(g->gis[s].alive && g->gis[s].id == id))
            s++;
        if (s == MIG_MAX_MEMORY_SLICES)
            return id;
    }
}

static nvmlReturn_t make_gi(struct fake_gpu *g, const struct mig_profile *p, unsigned start,
                            struct nvmlGpuInstance_st **out)
{
    struct err why;
    unsigned id = lowest_free_gi_id(g);
    int rc = occupancy_take(&g->occ, p, start, id, &why);
    if (rc == -EINVAL)
        return DEVICE_NVML_INVALID_ARGUMENT;
    if (rc < 0)
        return DEVICE_NVML_INSUFFICIENT_RESOURCES;
    struct nvmlGpuInstance_st *gi = &g->gis[start];
    *gi = (struct nvmlGpuInstance_st){.alive = true, .id = id, .start = start, .profile = p,
                                      .gpu = g};
    *out = gi;
    return DEVICE_NVML_SUCCESS;
}

static unsigned ci_slices_used(const struct nvmlGpuInstance_st *gi)
{
    unsigned used = 0;
    for (unsigned k = 0; k < MAX_CIS; k++)
        if (gi->cis[k].alive)
            used += ci_slices[gi->cis[k].index];
    return used;
}

static bool ci_offered(const struct nvmlGpuInstance_st *gi, unsigned index)
{
    return index < CI_INDEXES_OFFERED && ci_slices[index] <= gi->profile->compute_slices;
}

/* The first CI of a GI is 0, as on real drivers. */
static unsigned lowest_free_ci_id(const struct nvmlGpuInstance_st *gi)
{
    for (unsigned id = 0;; id++) {
        unsigned k = 0;
        while (k < MAX_CIS && !(gi->cis[k].alive && gi->cis[k].id == id))
            k++;
        if (k == MAX_CIS)
            return id;
    }
}

static nvmlReturn_t make_ci(struct nvmlGpuInstance_st *gi, unsigned index,
                            struct nvmlComputeInstance_st **out)
{
    if (!ci_offered(gi, index))
        return DEVICE_NVML_INVALID_ARGUMENT;
    unsigned used = ci_slices_used(gi);
    if (used + ci_slices[index] > gi->profile->compute_slices)
        return DEVICE_NVML_INSUFFICIENT_RESOURCES;
    unsigned k = 0;
    while (k < MAX_CIS && gi->cis[k].alive)
        k++;
    struct nvmlComputeInstance_st *ci = &gi->cis[k];
    unsigned id = lowest_free_ci_id(gi);
    *ci = (struct nvmlComputeInstance_st){.alive = true, .id = id, .index = index,
                                          .first = used, .gi = gi};
    ci->mig = (struct nvmlDevice_st){.gpu = gi->gpu, .ci = ci};
    format_uuid(ci->uuid, "MIG-", "mig", fake.mig_serial++);
    *out = ci;
    return DEVICE_NVML_SUCCESS;
}

static bool has_cis(const struct nvmlGpuInstance_st *gi)
{
    for (unsigned k = 0; k < MAX_CIS; k++)
        if (gi->cis[k].alive)
            return true;
    return false;
}

/* The ith MIG device of g: its compute instances, GIs by start. */
static struct nvmlComputeInstance_st *nth_mig(struct fake_gpu *g, unsigned i)
{
    for (unsigned s = 0; s < MIG_MAX_MEMORY_SLICES; s++)
        for (unsigned k = 0; g->gis[s].alive && k < MAX_CIS; k++)
            if (g->gis[s].cis[k].alive && i-- == 0)
                return &g->gis[s].cis[k];
    return NULL;
}

/* ---- loading a description ----------------------------------------------- */

struct slice_item {
    unsigned gpu, start;
    char profile[DEVICE_PROFILE_NAME_MAX];
    bool noci, busy;
};

struct loading {
    char emulated[SPEC_MAX]; /* the items emulated_config_parse reads */
    size_t used;
    uint64_t memory_mib[DEVICE_MAX_GPUS]; /* gpu-memory=: 0 keeps the model's */
    unsigned n_slices;
    struct slice_item slices[MAX_SLICE_ITEMS];
    char *err;
    size_t err_size;
};

__attribute__((format(printf, 2, 3))) static int load_error(struct loading *ld,
                                                           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (ld->err && ld->err_size)
        vsnprintf(ld->err, ld->err_size, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int parse_return(const char *v, nvmlReturn_t *out)
{
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (end != v && !*end) {
        *out = (nvmlReturn_t)n;
        return 0;
    }
    static const char prefix[] = "NVML_ERROR_";
    const char *bare = strncmp(v, prefix, sizeof prefix - 1) == 0 ? v + sizeof prefix - 1 : v;
    for (unsigned r = 1; r <= DEVICE_NVML_UNKNOWN; r++) {
        const char *name = device_nvml_return_name(r);
        if (strncmp(name, prefix, sizeof prefix - 1) == 0 &&
            strcmp(name + sizeof prefix - 1, bare) == 0) {
            *out = r;
            return 0;
        }
    }
    return -EINVAL;
}

/* fail=FUNCTION:RETURN[@N] */
static int item_fail(struct loading *ld, const char *v)
{
    char fn[64], ret[64];
    unsigned long nth = 0;
    const char *colon = strchr(v, ':');
    const char *at = strchr(v, '@');
    if (!colon || (size_t)(colon - v) >= sizeof fn)
        return load_error(ld, "fail=%s: not FUNCTION:RETURN[@N]", v);
    size_t rlen = at ? (size_t)(at - colon - 1) : strlen(colon + 1);
    if (rlen == 0 || rlen >= sizeof ret || (at && (sscanf(at + 1, "%lu", &nth) != 1 || !nth)))
        return load_error(ld, "fail=%s: not FUNCTION:RETURN[@N]", v);
    memcpy(fn, v, (size_t)(colon - v));
    fn[colon - v] = '\0';
    memcpy(ret, colon + 1, rlen);
    ret[rlen] = '\0';
    struct fault f = {.fn = 0, .nth = nth};
    while (f.fn < FN_COUNT && strcmp(fn_names[f.fn], fn) != 0)
        f.fn++;
    if (f.fn == FN_COUNT)
        return load_error(ld, "fail=%s: no NVML function %s here", v, fn);
    if (parse_return(ret, &f.ret) < 0 || f.ret == DEVICE_NVML_SUCCESS)
        return load_error(ld, "fail=%s: %s is not an NVML error", v, ret);
    if (fake.n_faults == MAX_FAULTS)
        return load_error(ld, "more than %d fail= items", MAX_FAULTS);
    fake.faults[fake.n_faults++] = f;
    return 0;
}

/* slice=GPU:PROFILE@START[:noci][:busy] */
static int item_slice(struct loading *ld, const char *v)
{
    struct slice_item s = {0};
    char profile[DEVICE_PROFILE_NAME_MAX], flags[32] = "";
    int end = 0;
    if (sscanf(v, "%u:%31[^@]@%u%n", &s.gpu, profile, &s.start, &end) != 3)
        return load_error(ld, "slice=%s: not GPU:PROFILE@START[:noci][:busy]", v);
    snprintf(flags, sizeof flags, "%s", v + end);
    for (char *f = strtok(flags, ":"); f; f = strtok(NULL, ":")) {
        if (strcmp(f, "noci") == 0)
            s.noci = true;
        else if (strcmp(f, "busy") == 0)
            s.busy = true;
        else
            return load_error(ld, "slice=%s: unknown flag \"%s\"", v, f);
    }
    if (ld->n_slices == MAX_SLICE_ITEMS)
        return load_error(ld, "more than %d slice= items", MAX_SLICE_ITEMS);
    memcpy(s.profile, profile, sizeof s.profile);
    ld->slices[ld->n_slices++] = s;
    return 0;
}

/* gpu-memory=GPU:MIB */
static int item_memory(struct loading *ld, const char *v)
{
    unsigned gpu;
    unsigned long long mib;
    int end = 0;
    if (sscanf(v, "%u:%llu%n", &gpu, &mib, &end) != 2 || v[end] || gpu >= DEVICE_MAX_GPUS ||
        mib == 0 || mib > (1ull << 30))
        return load_error(ld, "gpu-memory=%s: not GPU:MIB", v);
    ld->memory_mib[gpu] = mib;
    return 0;
}

static int item(struct loading *ld, char *it)
{
    if (strncmp(it, "fail=", 5) == 0)
        return item_fail(ld, it + 5);
    if (strncmp(it, "slice=", 6) == 0)
        return item_slice(ld, it + 6);
    if (strncmp(it, "gpu-memory=", 11) == 0)
        return item_memory(ld, it + 11);
    if (strncmp(it, "driver=", 7) == 0) {
        if (!it[7] || strlen(it + 7) >= sizeof fake.driver)
            return load_error(ld, "driver= needs 1 to %zu characters", sizeof fake.driver - 1);
        snprintf(fake.driver, sizeof fake.driver, "%s", it + 7);
        return 0;
    }
    size_t n = strlen(it);
    if (ld->used + n + 2 > sizeof ld->emulated)
        return load_error(ld, "description longer than %d characters", SPEC_MAX);
    if (ld->used)
        ld->emulated[ld->used++] = ',';
    memcpy(ld->emulated + ld->used, it, n + 1);
    ld->used += n;
    return 0;
}

/* Splits spec at commas and newlines, drops comments and blanks. */
static int split(struct loading *ld, const char *spec)
{
    while (*spec) {
        size_t len = strcspn(spec, ",\n");
        char it[512];
        if (len >= sizeof it)
            return load_error(ld, "an item longer than %zu characters", sizeof it - 1);
        memcpy(it, spec, len);
        it[len] = '\0';
        spec += len + (spec[len] != '\0');
        char *hash = strchr(it, '#');
        if (hash)
            *hash = '\0';
        char *b = it, *e = it + strlen(it);
        while (isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            *--e = '\0';
        int rc = *b ? item(ld, b) : 0;
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void set_up_gpu(struct fake_gpu *g, const struct emulated_gpu_config *cfg,
                       unsigned index)
{
    memset(g, 0, sizeof *g);
    g->cfg = *cfg;
    g->dev.gpu = g;
    g->memory_bytes = (is_h100(cfg->model) ? H100_MEMORY_MIB : cfg->memory_mib) * MIB;
    g->pci_device_id = is_h100(cfg->model) ? H100_PCI_ID : 0;
    format_uuid(g->uuid, "GPU-", "gpu", index);
    occupancy_init(&g->occ, cfg->model);
}

static int place(struct loading *ld, const struct slice_item *s)
{
    if (s->gpu >= fake.n_gpus || !fake.gpus[s->gpu].cfg.model)
        return load_error(ld, "slice=%u:%s@%u: no MIG GPU %u", s->gpu, s->profile, s->start,
                          s->gpu);
    struct fake_gpu *g = &fake.gpus[s->gpu];
    const struct mig_profile *p = catalog_find_profile(g->cfg.model, s->profile);
    struct nvmlGpuInstance_st *gi;
    struct nvmlComputeInstance_st *ci;
    if (!p || make_gi(g, p, s->start, &gi) != DEVICE_NVML_SUCCESS)
        return load_error(ld, "slice=%u:%s@%u: no such profile, or it does not fit there",
                          s->gpu, s->profile, s->start);
    unsigned index = 0;
    while (ci_slices[index] != p->compute_slices)
        index++;
    if (!s->noci)
        make_ci(gi, index, &ci);
    gi->busy = s->busy;
    return 0;
}

static int load_locked(const char *spec, char *err, size_t size)
{
    struct loading *ld = calloc(1, sizeof *ld);
    if (!ld)
        return -ENOMEM;
    ld->err = err;
    ld->err_size = size;
    if (err && size)
        err[0] = '\0';
    fake.n_faults = 0;
    snprintf(fake.driver, sizeof fake.driver, "580.159.04");
    int rc = split(ld, spec ? spec : "");
    struct emulated_config cfg;
    struct err why;
    if (rc == 0 && emulated_config_parse(ld->emulated, &cfg, &why) < 0)
        rc = load_error(ld, "%s", why.msg);
    if (rc == 0) {
        fake.seed = cfg.seed;
        fake.n_gpus = cfg.n_gpus;
        fake.mig_serial = 0;
        for (unsigned i = 0; i < cfg.n_gpus; i++) {
            set_up_gpu(&fake.gpus[i], &cfg.gpus[i], i);
            if (ld->memory_mib[i])
                fake.gpus[i].memory_bytes = ld->memory_mib[i] * MIB;
        }
        for (unsigned i = 0; rc == 0 && i < ld->n_slices; i++)
            rc = place(ld, &ld->slices[i]);
    }
    memset(fake.calls, 0, sizeof fake.calls);
    fake.loaded = rc == 0;
    free(ld);
    return rc;
}

/* The description in the environment, read at the first nvmlInit_v2. */
static int load_from_environment(void)
{
    char err[256];
    const char *inline_spec = getenv("FAKENVML_SPEC");
    const char *path = getenv("FAKENVML_SPEC_FILE");
    char *text = NULL;
    if (!inline_spec && path) {
        FILE *f = fopen(path, "r");
        text = f ? calloc(1, SPEC_MAX + 1) : NULL;
        size_t n = text ? fread(text, 1, SPEC_MAX + 1, f) : 0;
        if (f)
            fclose(f);
        if (!text || n > SPEC_MAX) {
            fprintf(stderr, "fakenvml: cannot read %s (or longer than %d bytes)\n", path,
                    SPEC_MAX);
            free(text);
            return -EINVAL;
        }
    }
    int rc = load_locked(inline_spec ? inline_spec : text, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "fakenvml: %s: %s\n", inline_spec ? "FAKENVML_SPEC" : path, err);
    free(text);
    return rc;
}

/* ---- NVML: the library --------------------------------------------------- */

nvmlReturn_t nvmlInit_v2(void)
{
    nvmlReturn_t ret = enter(FN_nvmlInit_v2);
    if (ret == DEVICE_NVML_SUCCESS && !fake.loaded && load_from_environment() < 0)
        ret = DEVICE_NVML_UNKNOWN;
    if (ret == DEVICE_NVML_SUCCESS)
        fake.inits++;
    return leave(ret);
}

nvmlReturn_t nvmlShutdown(void)
{
    nvmlReturn_t ret = enter(FN_nvmlShutdown);
    if (ret == DEVICE_NVML_SUCCESS)
        fake.inits--;
    return leave(ret);
}

const char *nvmlErrorString(nvmlReturn_t result)
{
    static const struct {
        nvmlReturn_t ret;
        const char *text;
    } texts[] = {
        {DEVICE_NVML_SUCCESS, "Success"},
        {DEVICE_NVML_UNINITIALIZED, "Uninitialized"},
        {DEVICE_NVML_INVALID_ARGUMENT, "Invalid Argument"},
        {DEVICE_NVML_NOT_SUPPORTED, "Not Supported"},
        {DEVICE_NVML_NO_PERMISSION, "Insufficient Permissions"},
        {DEVICE_NVML_NOT_FOUND, "Not Found"},
        {DEVICE_NVML_INSUFFICIENT_SIZE, "Insufficient Size"},
        {DEVICE_NVML_DRIVER_NOT_LOADED, "Driver Not Loaded"},
        {DEVICE_NVML_IN_USE, "In use by another client"},
        {DEVICE_NVML_INSUFFICIENT_RESOURCES, "Insufficient Resources"},
        {DEVICE_NVML_GPU_IS_LOST, "GPU is lost"},
    };
    enter(FN_nvmlErrorString);
    const char *text = "Unknown Error";
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i].ret == result)
            text = texts[i].text;
    leave(DEVICE_NVML_SUCCESS);
    return text;
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
    nvmlReturn_t ret = enter(FN_nvmlSystemGetDriverVersion);
    if (ret == DEVICE_NVML_SUCCESS)
        ret = copy_string(version, length, fake.driver);
    return leave(ret);
}

/* ---- NVML: GPUs ---------------------------------------------------------- */

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
    nvmlReturn_t ret = enter(FN_nvmlDeviceGetCount_v2);
    if (ret == DEVICE_NVML_SUCCESS && !count)
        ret = DEVICE_NVML_INVALID_ARGUMENT;
    if (ret == DEVICE_NVML_SUCCESS)
        *count = fake.n_gpus;
    return leave(ret);
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    nvmlReturn_t ret = enter(FN_nvmlDeviceGetHandleByIndex_v2);
    if (ret == DEVICE_NVML_SUCCESS && (index >= fake.n_gpus || !device))
        ret = DEVICE_NVML_INVALID_ARGUMENT;
    if (ret == DEVICE_NVML_SUCCESS)
        *device = &fake.gpus[index].dev;
    return leave(ret);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)
{
    nvmlReturn_t ret = enter(FN_nvmlDeviceGetUUID);
    if (ret == DEVICE_NVML_SUCCESS) {
        struct fake_gpu *g = gpu_of(device);
        struct nvmlComputeInstance_st *ci = g ? NULL : mig_of(device);
        ret = g    ? copy_string(uuid, length, g->uuid)
              : ci ? copy_string(uuid, length, ci->uuid)
                   : DEVICE_NVML_INVALID_ARGUMENT;
    }
    return leave(ret);
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
    nvmlReturn_t ret = enter(FN_nvmlDeviceGetName);
    if (ret == DEVICE_NVML_SUCCESS) {
        struct fake_gpu *g = gpu_of(device);
        ret = g ? copy_string(name, length, g->cfg.product) : DEVICE_NVML_INVALID_ARGUMENT;
    }
    return leave(ret);
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
    nvmlReturn_t ret = enter(FN_nvmlDeviceGetPciInfo_v3);
    struct fake_gpu *g = ret == DEVICE_NVML_SUCCESS ? gpu_of(device) : NULL;
    if (ret == DEVICE_NVML_SUCCESS && (!g || !pci))
        ret = DEVICE_NVML_INVALID_ARGUMENT;
    if (ret == DEVICE_NVML_SUCCESS) {
        unsigned bus = 0x18 + 8 * (unsigned)(g - fake.gpus);
        memset(pci, 0, sizeof *pci);
        pci->bus = bus;
        pci->pciDeviceId = g->pci_device_id;
        snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "0000:%02X:00.0", bus);
        snprintf(pci->busId, sizeof pci->busId, "00000000:%02X:00.0", bus);
    }
    return leave(ret);
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
    nvmlReturn_t ret = enter(FN_nvmlDeviceGetMemoryInfo);
    struct fake_gpu *g = ret == DEVICE_NVML_SUCCESS ? gpu_of(device) : NULL;
    if (ret == DEVICE_NVML_SUCCESS && (!g || !memory))
        ret = DEVICE_NVML_INVALID_ARGUMENT;
    if (ret == DEVICE_NVML_SUCCESS)
        *memory = (nvmlMemory_t){.total = g->memory_bytes, .free = g->memory_bytes};
    return leave(ret);
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *current,
                                  unsigned int *pending)
{
    nvmlReturn_t ret = enter(FN_nvmlDeviceGetMigMode);
    struct fake_gpu *g = ret == DEVICE_NVML_SUCCESS ? gpu_of(device) : NULL;
    if (ret == DEVICE_NVML_SUCCESS)
        ret = !g || !current || !pending ? DEVICE_NVML_INVALID_ARGUMENT
              : !g->cfg.model            ? DEVICE_NVML_NOT_SUPPORTED
                                         : DEVICE_NVML_SUCCESS;
    if (ret == DEVICE_NVML_SUCCESS) {
        *current = g->cfg.mig_current == DEVICE_MIG_ENABLED;
        *pending = g->cfg.mig_pending == DEVICE_MIG_ENABLED;
    }
    return leave(ret);
}

/* ---- NVML: GPU-instance profiles ----------------------------------------- */

static nvmlReturn_t profile_info(nvmlDevice_t device, unsigned index,
                                 nvmlGpuInstanceProfileInfo_t *info)
{
    struct fake_gpu *g = gpu_of(device);
    if (!g || !info)
        return DEVICE_NVML_INVALID_ARGUMENT;
    if (!g->cfg.model)
        return DEVICE_NVML_NOT_SUPPORTED;
    if (index >= GI_PROFILE_INDEXES)
        return DEVICE_NVML_INVALID_ARGUMENT;
    const struct gpu_model *m = g->cfg.model;
    for (unsigned k = 0; k < m->n_profiles; k++) {
        const struct mig_profile *p = &m->profiles[k];
        if (p->nvml_index != index)
            continue;
        struct engines en = engines_of(m, p);
        *info = (nvmlGpuInstanceProfileInfo_t){
            .id = p->nvml_id, .sliceCount = p->compute_slices,
            .instanceCount = p->max_instances, .multiprocessorCount = p->sm_count,
            .copyEngineCount = en.ce, .decoderCount = en.dec, .encoderCount = en.enc,
            .jpegCount = en.jpeg, .ofaCount = en.ofa, .memorySizeMB = p->memory_mib,
        };
        return DEVICE_NVML_SUCCESS;
    }
    return DEVICE_NVML_NOT_SUPPORTED;
}

nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfo(nvmlDevice_t device, unsigned int profile,
                                                 nvmlGpuInstanceProfileInfo_t *info)
{
    nvmlReturn_t ret = enter(FN_nvmlDeviceGetGpuInstanceProfileInfo);
    if (ret == DEVICE_NVML_SUCCESS)
        ret = profile_info(device, profile, info);
    return leave(ret);
}

static nvmlReturn_t placements(nvmlDevice_t device, unsigned id,
                               nvmlGpuInstancePlacement_t *out, unsigned *count)
{
    struct fake_gpu *g = gpu_of(device);
    if (!g || !count)
        return DEVICE_NVML_INVALID_ARGUMENT;
    if (!g->cfg.model)
        return DEVICE_NVML_NOT_SUPPORTED;
    const struct mig_profile *p = profile_by_id(g, id);
    if (!p)
        return DEVICE_NVML_INVALID_ARGUMENT;
    if (!out) {
        *count = p->n_placements;
        return DEVICE_NVML_SUCCESS;
    }
    if (*count < p->n_placements) {
        *count = p->n_placements;
        return DEVICE_NVML_INSUFFICIENT_SIZE;
    }
    for (unsigned i = 0; i < p->n_placements; i++)
        out[i] = (nvmlGpuInstancePlacement_t){p->placements[i].start, p->placements[i].size};
    *count = p->n_placements;
    return DEVICE_NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuInstancePossiblePlacements_v2(
    nvmlDevice_t device, unsigned int profileId, nvmlGpuInstancePlacement_t *placements_out,
    unsigned int *count)
{
    nvmlReturn_t ret = enter(FN_nvmlDeviceGetGpuInstancePossiblePlacements_v2);
    if (ret == DEVICE_NVML_SUCCESS)
        ret = placements(device, profileId, placements_out, count);
    return leave(ret);
}

/* ---- NVML: GPU instances ------------------------------------------------- */

/* The GPU of a MIG call, with MIG enabled, and the profile by id. */
static nvmlReturn_t mig_target(nvmlDevice_t device, unsigned id, struct fake_gpu **g,
                               const struct mig_profile **p)
{
    *g = gpu_of(device);
    if (!*g)
        return DEVICE_NVML_INVALID_ARGUMENT;
    if (!(*g)->cfg.model || (*g)->cfg.mig_current != DEVICE_MIG_ENABLED)
        return DEVICE_NVML_NOT_SUPPORTED;
    *p = profile_by_id(*g, id);
    return *p ? DEVICE_NVML_SUCCESS : DEVICE_NVML_INVALID_ARGUMENT;
}

static nvmlReturn_t create_gi(nvmlDevice_t device, unsigned id,
                              const nvmlGpuInstancePlacement_t *pl, nvmlGpuInstance_t *out)
{
    struct fake_gpu *g;
    const struct mig_profile *p;
    nvmlReturn_t ret = mig_target(device, id, &g, &p);
    if (ret != DEVICE_NVML_SUCCESS)
        return ret;
    if (!pl || !out || pl->size != p->memory_slices || pl->start >= MIG_MAX_MEMORY_SLICES)
        return DEVICE_NVML_INVALID_ARGUMENT;
    return make_gi(g, p, pl->start, out);
}

nvmlReturn_t nvmlDeviceCreateGpuInstanceWithPlacement(nvmlDevice_t device,
                                                      unsigned int profileId,
                                                      const nvmlGpuInstancePlacement_t *placement,
                                                      nvmlGpuInstance_t *gpuInstance)
{
    nvmlReturn_t ret = enter(FN_nvmlDeviceCreateGpuInstanceWithPlacement);
    if (ret == DEVICE_NVML_SUCCESS)
        ret = create_gi(device, profileId, placement, gpuInstance);
    return leave(ret);
}

static nvmlReturn_t list_gis(nvmlDevice_t device, unsigned id, nvmlGpuInstance_t *out,
                             unsigned *count)
{
    struct fake_gpu *g;
    const struct mig_profile *p;
    nvmlReturn_t ret = mig_target(device, id, &g, &p);
    if (ret != DEVICE_NVML_SUCCESS)
        return ret;
    if (!out || !count)
        return DEVICE_NVML_INVALID_ARGUMENT;
    *count = 0;
    for (unsigned s = 0; s < MIG_MAX_MEMORY_SLICES; s++)
        if (g->gis[s].alive && g->gis[s].profile == p)
            out[(*count)++] = &g->gis[s];
    return DEVICE_NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuInstances(nvmlDevice_t device, unsigned int profileId,
                                       nvmlGpuInstance_t *gpuInstances, unsigned int *count)
{
    nvmlReturn_t ret = enter(FN_nvmlDeviceGetGpuInstances);
    if (ret == DEVICE_NVML_SUCCESS)
        ret = list_gis(device, profileId, gpuInstances, count);
    return leave(ret);
}

nvmlReturn_t nvmlGpuInstanceGetInfo(nvmlGpuInstance_t gpuInstance, nvmlGpuInstanceInfo_t *info)
{
    nvmlReturn_t ret = enter(FN_nvmlGpuInstanceGetInfo);
    struct nvmlGpuInstance_st *gi = ret == DEVICE_NVML_SUCCESS ? gi_of(gpuInstance) : NULL;
    if (ret == DEVICE_NVML_SUCCESS && (!gi || !info))
        ret = DEVICE_NVML_INVALID_ARGUMENT;
    if (ret == DEVICE_NVML_SUCCESS)
        *info = (nvmlGpuInstanceInfo_t){
            .device = &gi->gpu->dev, .id = gi->id, .profileId = gi->profile->nvml_id,
            .placement = {gi->start, gi->profile->memory_slices},
        };
    return leave(ret);
}

static nvmlReturn_t destroy_gi(nvmlGpuInstance_t handle)
{
    struct nvmlGpuInstance_st *gi = gi_of(handle);
    if (!gi)
        return DEVICE_NVML_INVALID_ARGUMENT;
    if (gi->busy || has_cis(gi))
        return DEVICE_NVML_IN_USE;
    occupancy_release(&gi->gpu->occ, gi->start, NULL);
    gi->alive = false;
    return DEVICE_NVML_SUCCESS;
}

nvmlReturn_t nvmlGpuInstanceDestroy(nvmlGpuInstance_t gpuInstance)
{
    nvmlReturn_t ret = enter(FN_nvmlGpuInstanceDestroy);
    if (ret == DEVICE_NVML_SUCCESS)
        ret = destroy_gi(gpuInstance);
    return leave(ret);
}

/* ---- NVML: compute instances --------------------------------------------- */

static nvmlReturn_t ci_profile_info(nvmlGpuInstance_t handle, unsigned index,
                                    unsigned engine, nvmlComputeInstanceProfileInfo_t *info)
{
    struct nvmlGpuInstance_st *gi = gi_of(handle);
    if (!gi || !info || index >= CI_PROFILE_INDEXES || engine != NVML_CI_ENGINE_SHARED)
        return DEVICE_NVML_INVALID_ARGUMENT;
    if (!ci_offered(gi, index))
        return DEVICE_NVML_NOT_SUPPORTED;
    const struct mig_profile *p = gi->profile;
    unsigned s = ci_slices[index];
    *info = (nvmlComputeInstanceProfileInfo_t){
        .id = index, .sliceCount = s, .instanceCount = p->compute_slices / s,
        .multiprocessorCount = p->sm_count * s / p->compute_slices,
        .sharedCopyEngineCount = engines_of(gi->gpu->cfg.model, p).ce,
        .sharedDecoderCount = engines_of(gi->gpu->cfg.model, p).dec,
        .sharedJpegCount = engines_of(gi->gpu->cfg.model, p).jpeg,
        .sharedOfaCount = engines_of(gi->gpu->cfg.model, p).ofa,
    };
    return DEVICE_NVML_SUCCESS;
}

nvmlReturn_t nvmlGpuInstanceGetComputeInstanceProfileInfo(
    nvmlGpuInstance_t gpuInstance, unsigned int profile, unsigned int engProfile,
    nvmlComputeInstanceProfileInfo_t *info)
{
    nvmlReturn_t ret = enter(FN_nvmlGpuInstanceGetComputeInstanceProfileInfo);
    if (ret == DEVICE_NVML_SUCCESS)
        ret = ci_profile_info(gpuInstance, profile, engProfile, info);
    return leave(ret);
}

static nvmlReturn_t create_ci(nvmlGpuInstance_t handle, unsigned id,
                              nvmlComputeInstance_t *out)
{
    struct nvmlGpuInstance_st *gi = gi_of(handle);
    if (!gi || !out)
        return DEVICE_NVML_INVALID_ARGUMENT;
    return make_ci(gi, id, out); /* a CI profile's id is its index */
}

nvmlReturn_t nvmlGpuInstanceCreateComputeInstance(nvmlGpuInstance_t gpuInstance,
                                                  unsigned int profileId,
                                                  nvmlComputeInstance_t *computeInstance)
{
    nvmlReturn_t ret = enter(FN_nvmlGpuInstanceCreateComputeInstance);
    if (ret == DEVICE_NVML_SUCCESS)
        ret = create_ci(gpuInstance, profileId, computeInstance);
    return leave(ret);
}

static nvmlReturn_t list_cis(nvmlGpuInstance_t handle, unsigned id, nvmlComputeInstance_t *out,
                             unsigned *count)
{
    struct nvmlGpuInstance_st *gi = gi_of(handle);
    if (!gi || !out || !count || !ci_offered(gi, id))
        return DEVICE_NVML_INVALID_ARGUMENT;
    *count = 0;
    for (unsigned k = 0; k < MAX_CIS; k++)
        if (gi->cis[k].alive && gi->cis[k].index == id)
            out[(*count)++] = &gi->cis[k];
    return DEVICE_NVML_SUCCESS;
}

nvmlReturn_t nvmlGpuInstanceGetComputeInstances(nvmlGpuInstance_t gpuInstance,
                                                unsigned int profileId,
                                                nvmlComputeInstance_t *computeInstances,
                                                unsigned int *count)
{
    nvmlReturn_t ret = enter(FN_nvmlGpuInstanceGetComputeInstances);
    if (ret == DEVICE_NVML_SUCCESS)
        ret = list_cis(gpuInstance, profileId, computeInstances, count);
    return leave(ret);
}

nvmlReturn_t nvmlComputeInstanceGetInfo_v2(nvmlComputeInstance_t computeInstance,
                                           nvmlComputeInstanceInfo_t *info)
{
    nvmlReturn_t ret = enter(FN_nvmlComputeInstanceGetInfo_v2);
    struct nvmlComputeInstance_st *ci = ret == DEVICE_NVML_SUCCESS ? ci_of(computeInstance)
                                                                   : NULL;
    if (ret == DEVICE_NVML_SUCCESS && (!ci || !info))
        ret = DEVICE_NVML_INVALID_ARGUMENT;
    if (ret == DEVICE_NVML_SUCCESS)
        *info = (nvmlComputeInstanceInfo_t){
            .device = &ci->gi->gpu->dev, .gpuInstance = ci->gi, .id = ci->id,
            .profileId = ci->index, .placement = {ci->first, ci_slices[ci->index]},
        };
    return leave(ret);
}

static nvmlReturn_t destroy_ci(nvmlComputeInstance_t handle)
{
    struct nvmlComputeInstance_st *ci = ci_of(handle);
    if (!ci)
        return DEVICE_NVML_INVALID_ARGUMENT;
    if (ci->gi->busy)
        return DEVICE_NVML_IN_USE;
    ci->alive = false;
    return DEVICE_NVML_SUCCESS;
}

nvmlReturn_t nvmlComputeInstanceDestroy(nvmlComputeInstance_t computeInstance)
{
    nvmlReturn_t ret = enter(FN_nvmlComputeInstanceDestroy);
    if (ret == DEVICE_NVML_SUCCESS)
        ret = destroy_ci(computeInstance);
    return leave(ret);
}

/* ---- NVML: MIG devices --------------------------------------------------- */

nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int *count)
{
    nvmlReturn_t ret = enter(FN_nvmlDeviceGetMaxMigDeviceCount);
    struct fake_gpu *g = ret == DEVICE_NVML_SUCCESS ? gpu_of(device) : NULL;
    if (ret == DEVICE_NVML_SUCCESS && (!g || !count))
        ret = DEVICE_NVML_INVALID_ARGUMENT;
    if (ret == DEVICE_NVML_SUCCESS)
        *count = g->cfg.model && g->cfg.mig_current == DEVICE_MIG_ENABLED
                     ? g->cfg.model->compute_slices
                     : 0;
    return leave(ret);
}

nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index,
                                                 nvmlDevice_t *migDevice)
{
    nvmlReturn_t ret = enter(FN_nvmlDeviceGetMigDeviceHandleByIndex);
    struct fake_gpu *g = ret == DEVICE_NVML_SUCCESS ? mig_gpu_of(device) : NULL;
    if (ret == DEVICE_NVML_SUCCESS &&
        (!g || !migDevice || index >= g->cfg.model->compute_slices))
        ret = DEVICE_NVML_INVALID_ARGUMENT;
    if (ret == DEVICE_NVML_SUCCESS && g->cfg.mig_current != DEVICE_MIG_ENABLED)
        ret = DEVICE_NVML_NOT_SUPPORTED;
    struct nvmlComputeInstance_st *ci = ret == DEVICE_NVML_SUCCESS ? nth_mig(g, index) : NULL;
    if (ret == DEVICE_NVML_SUCCESS && !ci)
        ret = DEVICE_NVML_NOT_FOUND;
    if (ret == DEVICE_NVML_SUCCESS)
        *migDevice = &ci->mig;
    return leave(ret);
}

nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t device, unsigned int *id)
{
    nvmlReturn_t ret = enter(FN_nvmlDeviceGetGpuInstanceId);
    struct nvmlComputeInstance_st *ci = ret == DEVICE_NVML_SUCCESS ? mig_of(device) : NULL;
    if (ret == DEVICE_NVML_SUCCESS && (!ci || !id))
        ret = DEVICE_NVML_INVALID_ARGUMENT;
    if (ret == DEVICE_NVML_SUCCESS)
        *id = ci->gi->id;
    return leave(ret);
}

nvmlReturn_t nvmlDeviceGetComputeInstanceId(nvmlDevice_t device, unsigned int *id)
{
    nvmlReturn_t ret = enter(FN_nvmlDeviceGetComputeInstanceId);
    struct nvmlComputeInstance_st *ci = ret == DEVICE_NVML_SUCCESS ? mig_of(device) : NULL;
    if (ret == DEVICE_NVML_SUCCESS && (!ci || !id))
        ret = DEVICE_NVML_INVALID_ARGUMENT;
    if (ret == DEVICE_NVML_SUCCESS)
        *id = ci->id;
    return leave(ret);
}

/* ---- control ------------------------------------------------------------- */

int fakenvml_load(const char *spec, char *err, size_t size)
{
    pthread_mutex_lock(&fake.lock);
    int rc = load_locked(spec, err, size);
    pthread_mutex_unlock(&fake.lock);
    return rc;
}

int fakenvml_set_busy(unsigned gpu, unsigned start, int busy)
{
    int rc = -ENOENT;
    pthread_mutex_lock(&fake.lock);
    if (gpu < fake.n_gpus && start < MIG_MAX_MEMORY_SLICES && fake.gpus[gpu].gis[start].alive) {
        fake.gpus[gpu].gis[start].busy = busy != 0;
        rc = 0;
    }
    pthread_mutex_unlock(&fake.lock);
    return rc;
}

int fakenvml_count(unsigned gpu, unsigned *gis, unsigned *cis)
{
    int rc = -ENODEV;
    pthread_mutex_lock(&fake.lock);
    if (gpu < fake.n_gpus) {
        unsigned n_gi = 0, n_ci = 0;
        for (unsigned s = 0; s < MIG_MAX_MEMORY_SLICES; s++) {
            const struct nvmlGpuInstance_st *gi = &fake.gpus[gpu].gis[s];
            if (!gi->alive)
                continue;
            n_gi++;
            for (unsigned k = 0; k < MAX_CIS; k++)
                n_ci += gi->cis[k].alive;
        }
        if (gis)
            *gis = n_gi;
        if (cis)
            *cis = n_ci;
        rc = 0;
    }
    pthread_mutex_unlock(&fake.lock);
    return rc;
}

unsigned long fakenvml_calls(const char *function)
{
    unsigned long n = 0;
    pthread_mutex_lock(&fake.lock);
    for (unsigned f = 0; function && f < FN_COUNT; f++)
        if (strcmp(fn_names[f], function) == 0)
            n = fake.calls[f];
    pthread_mutex_unlock(&fake.lock);
    return n;
}

unsigned long fakenvml_calls_total(void)
{
    unsigned long n = 0;
    pthread_mutex_lock(&fake.lock);
    for (unsigned f = 0; f < FN_COUNT; f++)
        n += fake.calls[f];
    pthread_mutex_unlock(&fake.lock);
    return n;
}

unsigned fakenvml_inits(void)
{
    pthread_mutex_lock(&fake.lock);
    unsigned n = fake.inits;
    pthread_mutex_unlock(&fake.lock);
    return n;
}
