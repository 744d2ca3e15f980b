/*
 * The emulated device backend (see emulated.h).
 *
 * Each GPU's MIG state is a struct gpu_occupancy, which holds the rules, plus
 * one slot per memory slice for what only a driver knows about a slice (its
 * GI and CI ids, its MIG UUID, whether a process holds it), indexed by the
 * slice's start. One mutex guards the whole node: every call is short and
 * never sleeps, so finer locking would buy nothing.
 *
 * Each GPU's one change at a time (device.h): given a clock, a GPU
 * remembers until when its last create or destroy runs; a change that
 * passed validation starts then at the earliest, and its reported duration
 * includes the wait. Calls refused before they change anything, and
 * queries, do not wait.
 *
 * Failures are produced as NVML return codes and mapped with
 * device_code_from_nvml, so the agent sees from this backend exactly the
 * codes the nvml backend will give it.
 */
#include "device/emulated.h"
#include "device/emulated_internal.h"
#include "util/alloc.h"
#include "util/atomicfile.h"
#include "util/clock.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Default latencies. No published measurement of NVML's GPU-instance and
 * compute-instance create/destroy times on A100 or H100 was found (searched:
 * issue threads of NVIDIA mig-parted, gpu-operator, k8s-device-plugin, DCGM
 * and InstaSlice; MIG papers report whole reconfigurations, not per call).
 * The two nearest facts: NVIDIA/k8s-device-plugin#774 logs 2 to 292 ms per
 * GPU for nvml.NewDevice on an 8-GPU node, and NVIDIA/DCGM#230 sees a new
 * GI/CI on H100 one to two seconds after it was created. So these are
 * assumptions of the right order, to be replaced by the real-GPU readout of
 * issue 7 once a GPU with MIG enabled is available: a create (GI + CI) of
 * 900 ms, a destroy (CI + GI) of 400 ms, 5 ms for a query, 50 ms per GPU for
 * discovery, and a hung call given up after 30 s. Each of the two steps of a
 * create or destroy is modelled as half of it.
 */
#define MS                  UINT64_C(1000000)
#define DEFAULT_CREATE_NS   (900 * MS)
#define DEFAULT_DESTROY_NS  (400 * MS)
#define DEFAULT_QUERY_NS    (5 * MS)
#define DEFAULT_DISCOVER_NS (50 * MS)
#define DEFAULT_HANG_NS     (30000 * MS)

#define DEFAULT_OTHER_MEMORY_MIB 16384
#define MAX_MS                   1e9 /* 11.6 days: far beyond any real call */
#define ITEM_MAX                 256

/* ---- deterministic numbers ---------------------------------------------- */

/* Numbers come from util/rng: seeded, so every run replays. */

/* What a derived number is for, so that no two uses of one seed collide. */
enum derive_tag { TAG_GPU = 'G', TAG_MIG = 'M', TAG_BOOT = 'B', TAG_FAULTS = 'F', TAG_LATENCY = 'L' };

/* NVML's UUID layout, 8-4-4-4-12 hex digits after prefix ("GPU-", "MIG-",
 * or "" for a boot id), from (seed, tag, n). */
static void format_uuid(char *buf, size_t size, const char *prefix, uint64_t seed, uint64_t tag,
                        uint64_t n)
{
    uint64_t hi = rng_derive(seed, tag, n);
    uint64_t lo = rng_mix(hi ^ RNG_GOLDEN);
    snprintf(buf, size, "%s%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
             prefix, hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48,
             lo & UINT64_C(0xffffffffffff));
}

/* ---- configuration ------------------------------------------------------ */

void emulated_config_default(struct emulated_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 1;
    cfg->mps_overhead_mib = EMULATED_MPS_OVERHEAD_MIB_DEFAULT;
    cfg->latency = (struct emulated_latency){
        .create_ns = DEFAULT_CREATE_NS,
        .destroy_ns = DEFAULT_DESTROY_NS,
        .query_ns = DEFAULT_QUERY_NS,
        .discover_ns = DEFAULT_DISCOVER_NS,
        .hang_ns = DEFAULT_HANG_NS,
    };
}

enum group_kind { GROUP_NONE, GROUP_MODEL, GROUP_OTHER };

struct parse {
    struct emulated_config *cfg;
    enum group_kind group;
    unsigned group_start; /* first GPU of the last model=/other= */
};

/* A whole decimal number in [min, max]. */
static int parse_uint(const char *v, uint64_t min, uint64_t max, uint64_t *out, struct err *e)
{
    uint64_t n = 0;
    if (!*v)
        return err_set(e, -EINVAL, "empty number");
    for (const char *c = v; *c; c++) {
        if (!isdigit((unsigned char)*c))
            return err_set(e, -EINVAL, "\"%s\" is not a whole number", v);
        unsigned d = (unsigned)(*c - '0');
        if (n > (UINT64_MAX - d) / 10)
            return err_set(e, -EINVAL, "%s is too large", v);
        n = n * 10 + d;
    }
    if (n < min || n > max)
        return err_set(e, -EINVAL, "%" PRIu64 " is out of range %" PRIu64 "..%" PRIu64, n, min,
                       max);
    *out = n;
    return 0;
}

static int parse_real(const char *v, double min, double max, double *out, struct err *e)
{
    char *end;
    if (!*v || isspace((unsigned char)*v))
        return err_set(e, -EINVAL, "\"%s\" is not a number", v);
    double x = strtod(v, &end);
    if (*end || !isfinite(x))
        return err_set(e, -EINVAL, "\"%s\" is not a number", v);
    if (x < min || x > max)
        return err_set(e, -EINVAL, "%s is out of range %g..%g", v, min, max);
    *out = x;
    return 0;
}

static int add_gpus(struct parse *ps, const struct emulated_gpu_config *g, enum group_kind kind,
                    struct err *e)
{
    struct emulated_config *cfg = ps->cfg;
    if (cfg->n_gpus == DEVICE_MAX_GPUS)
        return err_set(e, -EINVAL, "more than %d GPUs on one node", DEVICE_MAX_GPUS);
    ps->group = kind;
    ps->group_start = cfg->n_gpus;
    cfg->gpus[cfg->n_gpus++] = *g;
    return 0;
}

static int key_model(struct parse *ps, const char *v, size_t arg, struct err *e)
{
    (void)arg;
    const struct gpu_model *m = catalog_find_model(v);
    if (!m) {
        char known[256] = "";
        size_t used = 0;
        for (size_t i = 0; i < catalog_model_count() && used < sizeof known; i++) {
            int n = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                             catalog_model(i)->name);
            used += n > 0 ? (size_t)n : 0;
        }
        return err_set(e, -EINVAL, "unknown model \"%s\" (catalogued: %s; other=NAME adds a "
                       "GPU the catalogue does not know)", v, known);
    }
    struct emulated_gpu_config g = {
        .model = m,
        .memory_mib = m->memory_mib,
        .mig_current = DEVICE_MIG_ENABLED,
        .mig_pending = DEVICE_MIG_ENABLED,
    };
    snprintf(g.product, sizeof g.product, "%s", m->product_names[0]);
    return add_gpus(ps, &g, GROUP_MODEL, e);
}

static int key_other(struct parse *ps, const char *v, size_t arg, struct err *e)
{
    (void)arg;
    if (!*v)
        return err_set(e, -EINVAL, "empty product name");
    if (strlen(v) >= DEVICE_NAME_MAX)
        return err_set(e, -EINVAL, "product name longer than %d characters", DEVICE_NAME_MAX - 1);
    if (catalog_find_model(v))
        return err_set(e, -EINVAL, "\"%s\" is catalogued: use model=%s", v, v);
    struct emulated_gpu_config g = {
        .memory_mib = DEFAULT_OTHER_MEMORY_MIB,
        .mig_current = DEVICE_MIG_UNSUPPORTED,
        .mig_pending = DEVICE_MIG_UNSUPPORTED,
    };
    snprintf(g.product, sizeof g.product, "%s", v);
    return add_gpus(ps, &g, GROUP_OTHER, e);
}

static int need_group(const struct parse *ps, enum group_kind kind, struct err *e)
{
    if (ps->group == GROUP_NONE)
        return err_set(e, -EINVAL, "no model= or other= before it");
    if (kind != GROUP_NONE && ps->group != kind)
        return err_set(e, -EINVAL, "applies to the last %s GPUs, but the last group is %s",
                       kind == GROUP_MODEL ? "model=" : "other=",
                       ps->group == GROUP_MODEL ? "model=" : "other=");
    return 0;
}

static int key_count(struct parse *ps, const char *v, size_t arg, struct err *e)
{
    (void)arg;
    uint64_t n;
    int rc = need_group(ps, GROUP_NONE, e);
    if (rc == 0)
        rc = parse_uint(v, 1, DEVICE_MAX_GPUS, &n, e);
    if (rc < 0)
        return rc;
    struct emulated_config *cfg = ps->cfg;
    if (ps->group_start + n > DEVICE_MAX_GPUS)
        return err_set(e, -EINVAL, "%u GPUs before these: more than %d on one node",
                       ps->group_start, DEVICE_MAX_GPUS);
    for (unsigned i = ps->group_start + 1; i < ps->group_start + n; i++)
        cfg->gpus[i] = cfg->gpus[ps->group_start];
    cfg->n_gpus = ps->group_start + (unsigned)n;
    return 0;
}

static int key_mig(struct parse *ps, const char *v, size_t arg, struct err *e)
{
    (void)arg;
    int rc = need_group(ps, GROUP_MODEL, e);
    if (rc < 0)
        return rc;
    enum device_mig_mode cur, pending;
    if (strcmp(v, "on") == 0)
        cur = pending = DEVICE_MIG_ENABLED;
    else if (strcmp(v, "off") == 0)
        cur = pending = DEVICE_MIG_DISABLED;
    else if (strcmp(v, "pending") == 0)
        cur = DEVICE_MIG_DISABLED, pending = DEVICE_MIG_ENABLED;
    else
        return err_set(e, -EINVAL, "\"%s\" is not on, off or pending", v);
    for (unsigned i = ps->group_start; i < ps->cfg->n_gpus; i++) {
        ps->cfg->gpus[i].mig_current = cur;
        ps->cfg->gpus[i].mig_pending = pending;
    }
    return 0;
}

static int key_memory(struct parse *ps, const char *v, size_t arg, struct err *e)
{
    (void)arg;
    uint64_t mib;
    int rc = need_group(ps, GROUP_OTHER, e);
    if (rc == 0)
        rc = parse_uint(v, 1, UINT64_C(1) << 30, &mib, e);
    if (rc < 0)
        return rc;
    for (unsigned i = ps->group_start; i < ps->cfg->n_gpus; i++)
        ps->cfg->gpus[i].memory_mib = mib;
    return 0;
}

static int key_mps_overhead(struct parse *ps, const char *v, size_t arg, struct err *e)
{
    (void)arg;
    return parse_uint(v, 0, UINT64_C(1) << 30, &ps->cfg->mps_overhead_mib, e);
}

static int key_seed(struct parse *ps, const char *v, size_t arg, struct err *e)
{
    (void)arg;
    return parse_uint(v, 0, UINT64_MAX, &ps->cfg->seed, e);
}

static int key_boot_id(struct parse *ps, const char *v, size_t arg, struct err *e)
{
    (void)arg;
    size_t n = strlen(v);
    if (n == 0 || n >= DEVICE_BOOT_ID_MAX)
        return err_set(e, -EINVAL, "a boot id has 1 to %d characters", DEVICE_BOOT_ID_MAX - 1);
    for (const char *c = v; *c; c++)
        if (!isgraph((unsigned char)*c))
            return err_set(e, -EINVAL, "a boot id has no spaces or control characters");
    memcpy(ps->cfg->boot_id, v, n + 1);
    return 0;
}

/* arg: the offset of the field in struct emulated_latency. */
static int key_ms(struct parse *ps, const char *v, size_t arg, struct err *e)
{
    double ms = 0;
    int rc = parse_real(v, 0, MAX_MS, &ms, e);
    if (rc < 0)
        return rc;
    uint64_t *field = (uint64_t *)((char *)&ps->cfg->latency + arg);
    *field = (uint64_t)llround(ms * 1e6);
    return 0;
}

static int key_latency(struct parse *ps, const char *v, size_t arg, struct err *e)
{
    (void)arg;
    if (strcmp(v, "none") == 0) {
        ps->cfg->latency = (struct emulated_latency){0};
        return 0;
    }
    if (strcmp(v, "default") == 0) {
        struct emulated_config def;
        emulated_config_default(&def);
        ps->cfg->latency = def.latency;
        return 0;
    }
    return err_set(e, -EINVAL, "\"%s\" is not none or default", v);
}

static int key_fail_p(struct parse *ps, const char *v, size_t arg, struct err *e)
{
    (void)arg;
    return parse_real(v, 0, 1, &ps->cfg->fail_p, e);
}

static int key_state(struct parse *ps, const char *v, size_t arg, struct err *e)
{
    (void)arg;
    size_t n = strlen(v);
    if (n == 0 || n >= EMULATED_PATH_MAX)
        return err_set(e, -EINVAL, "a state file path has 1 to %d characters",
                       EMULATED_PATH_MAX - 1);
    memcpy(ps->cfg->state_path, v, n + 1);
    return 0;
}

static int key_reboot(struct parse *ps, const char *v, size_t arg, struct err *e)
{
    (void)arg;
    if (strcmp(v, "yes") != 0)
        return err_set(e, -EINVAL, "\"%s\" is not yes", v);
    ps->cfg->reboot_at_open = true;
    return 0;
}

static const char *const step_names[] = {
    [EMULATED_AT_GI] = "gi",
    [EMULATED_AT_CI] = "ci",
    [EMULATED_AT_DONE] = "done",
};

/* arg: op * 2 + action. Value "N" or "N:step". */
static int key_fault(struct parse *ps, const char *v, size_t arg, struct err *e)
{
    struct emulated_fault f = {
        .op = (enum emulated_op)(arg / 2),
        .action = (enum emulated_action)(arg % 2),
    };
    f.step = f.op == EMULATED_CREATE ? EMULATED_AT_GI : EMULATED_AT_CI;
    char num[32];
    const char *colon = strchr(v, ':');
    size_t len = colon ? (size_t)(colon - v) : strlen(v);
    if (len >= sizeof num)
        return err_set(e, -EINVAL, "\"%s\" is not N or N:STEP", v);
    memcpy(num, v, len);
    num[len] = '\0';
    uint64_t nth;
    int rc = parse_uint(num, 1, UINT32_MAX, &nth, e);
    if (rc < 0)
        return rc;
    f.nth = (unsigned)nth;
    if (colon) {
        unsigned steps = f.action == EMULATED_HANG ? 3 : 2;
        unsigned s = 0;
        while (s < steps && strcmp(colon + 1, step_names[s]) != 0)
            s++;
        if (s == steps)
            return err_set(e, -EINVAL, "step \"%s\" is not %s", colon + 1,
                           f.action == EMULATED_HANG ? "gi, ci or done" : "gi or ci");
        f.step = (enum emulated_step)s;
    }
    if (ps->cfg->n_faults == EMULATED_MAX_FAULTS)
        return err_set(e, -EINVAL, "more than %d fault rules", EMULATED_MAX_FAULTS);
    ps->cfg->faults[ps->cfg->n_faults++] = f;
    return 0;
}

static const struct spec_key {
    const char *key;
    int (*parse)(struct parse *ps, const char *v, size_t arg, struct err *e);
    size_t arg;
} spec_keys[] = {
    {"model", key_model, 0},
    {"other", key_other, 0},
    {"count", key_count, 0},
    {"mig", key_mig, 0},
    {"memory-mib", key_memory, 0},
    {"seed", key_seed, 0},
    {"mps-overhead-mib", key_mps_overhead, 0},
    {"boot-id", key_boot_id, 0},
    {"create-ms", key_ms, offsetof(struct emulated_latency, create_ns)},
    {"destroy-ms", key_ms, offsetof(struct emulated_latency, destroy_ns)},
    {"query-ms", key_ms, offsetof(struct emulated_latency, query_ns)},
    {"discover-ms", key_ms, offsetof(struct emulated_latency, discover_ns)},
    {"hang-ms", key_ms, offsetof(struct emulated_latency, hang_ns)},
    {"latency", key_latency, 0},
    {"fail-p", key_fail_p, 0},
    {"fail-create", key_fault, EMULATED_CREATE * 2 + EMULATED_FAIL},
    {"hang-create", key_fault, EMULATED_CREATE * 2 + EMULATED_HANG},
    {"fail-destroy", key_fault, EMULATED_DESTROY * 2 + EMULATED_FAIL},
    {"hang-destroy", key_fault, EMULATED_DESTROY * 2 + EMULATED_HANG},
    {"state", key_state, 0},
    {"reboot", key_reboot, 0},
};

static int parse_item(struct parse *ps, char *item, struct err *e)
{
    char *eq = strchr(item, '=');
    if (!eq)
        return err_set(e, -EINVAL, "not key=value");
    *eq = '\0';
    for (size_t i = 0; i < sizeof spec_keys / sizeof spec_keys[0]; i++)
        if (strcmp(item, spec_keys[i].key) == 0)
            return spec_keys[i].parse(ps, eq + 1, spec_keys[i].arg, e);
    return err_set(e, -EINVAL, "unknown key \"%s\" (keys: model, other, count, mig, memory-mib, "
                   "seed, boot-id, create-ms, destroy-ms, query-ms, discover-ms, hang-ms, "
                   "latency, fail-p, fail-create, hang-create, fail-destroy, hang-destroy, "
                   "state, reboot, mps-overhead-mib)",
                   item);
}

int emulated_config_parse(const char *spec, struct emulated_config *cfg, struct err *e)
{
    if (!cfg)
        return err_set(e, -EINVAL, "emulated spec: no config to fill");
    emulated_config_default(cfg);
    struct parse ps = {.cfg = cfg};
    if (!spec)
        spec = "";
    size_t total = strnlen(spec, EMULATED_SPEC_MAX + 1);
    if (total > EMULATED_SPEC_MAX)
        return err_set(e, -EINVAL, "emulated spec longer than %d characters", EMULATED_SPEC_MAX);
    const char *at = spec;
    for (unsigned n = 1; *at; n++) {
        const char *comma = strchr(at, ',');
        size_t len = comma ? (size_t)(comma - at) : strlen(at);
        char item[ITEM_MAX];
        int rc = len == 0 ? err_set(e, -EINVAL, "empty item")
                 : len >= sizeof item ? err_set(e, -EINVAL, "longer than %d characters", ITEM_MAX - 1)
                                      : 0;
        if (rc == 0) {
            memcpy(item, at, len);
            item[len] = '\0';
            rc = parse_item(&ps, item, e);
        }
        if (rc < 0) {
            return err_prefix(e, rc, "emulated spec item %u \"%.*s\": ", n,
                              (int)(len > 64 ? 64 : len), at);
        }
        at += len;
        if (*at == ',' && !*++at)
            return err_set(e, -EINVAL, "emulated spec ends with a comma");
    }
    if (cfg->n_gpus == 0)
        return key_model(&ps, "H100-80GB", 0, e);
    return 0;
}

/* ---- state (the structs are in emulated_internal.h) ---------------------- */

static const struct device_ops emulated_ops;

struct emulated *emulated__of(struct device *d, struct err *e)
{
    if (!d || d->ops != &emulated_ops) {
        err_set(e, -EINVAL, "not an emulated device");
        return NULL;
    }
    return d->impl;
}

static void derive_boot_id(struct emulated *em)
{
    char old[DEVICE_BOOT_ID_MAX];
    memcpy(old, em->boot_id, sizeof old);
    uint64_t k = em->reboots;
    do
        format_uuid(em->boot_id, sizeof em->boot_id, "", em->cfg.seed, TAG_BOOT, k++);
    while (strcmp(em->boot_id, old) == 0);
}

static int check_config(const struct emulated_config *cfg, struct err *e)
{
    if (cfg->n_gpus == 0 || cfg->n_gpus > DEVICE_MAX_GPUS)
        return err_set(e, -EINVAL, "emulated: %u GPUs (1..%d)", cfg->n_gpus, DEVICE_MAX_GPUS);
    if (!(cfg->fail_p >= 0 && cfg->fail_p <= 1) || cfg->n_faults > EMULATED_MAX_FAULTS)
        return err_set(e, -EINVAL, "emulated: fail_p %g or %u fault rules out of range",
                       cfg->fail_p, cfg->n_faults);
    for (unsigned i = 0; i < cfg->n_gpus; i++) {
        const struct emulated_gpu_config *g = &cfg->gpus[i];
        if (!memchr(g->product, '\0', sizeof g->product) || !g->product[0])
            return err_set(e, -EINVAL, "emulated: GPU %u has no product name", i);
        if (!g->model && (g->mig_current != DEVICE_MIG_UNSUPPORTED ||
                          g->mig_pending != DEVICE_MIG_UNSUPPORTED))
            return err_set(e, -EINVAL, "emulated: GPU %u (%s) is not catalogued and cannot "
                           "have MIG", i, g->product);
    }
    if (!memchr(cfg->boot_id, '\0', sizeof cfg->boot_id))
        return err_set(e, -EINVAL, "emulated: boot id not terminated");
    return 0;
}

static void emulated_close(void *impl);
static void reboot_locked(struct emulated *em, const char *boot_id);

/* The node its state file left, or a fresh one whose file is written now;
 * then the reboot asked for at open. */
static int restore(struct emulated *em, struct err *e)
{
    atomicfile_clean(em->cfg.state_path, NULL); /* a killed predecessor's half writes */
    int rc = emulated__state_load(em, e);
    if (rc == -ENOENT)
        rc = 0;
    else if (rc < 0)
        return rc;
    if (em->cfg.reboot_at_open)
        reboot_locked(em, NULL);
    return emulated__state_save(em, e);
}

/* After a call that may have changed the node: its state file follows.
 * A file that cannot be written fails the call even where the change was
 * made, as a driver that lost track would: the agent's recovery sorts it. */
static int persist(struct emulated *em, int rc, struct err *e)
{
    em->changes++;
    if (!em->cfg.state_path[0])
        return rc;
    struct err why;
    err_clear(&why);
    int src = emulated__state_save(em, &why);
    if (src < 0 && rc == 0)
        return device_nvml_fail(e, DEVICE_NVML_UNKNOWN, "%s", why.msg);
    return rc;
}

int emulated_open(const struct emulated_config *cfg, struct device **out, struct err *e)
{
    if (!out || !cfg)
        return err_set(e, -EINVAL, "emulated_open: no config or no place for the device");
    *out = NULL;
    int rc = check_config(cfg, e);
    if (rc < 0)
        return rc;
    struct emulated *em = alloc_calloc(1, sizeof *em + cfg->n_gpus * sizeof em->gpus[0]);
    struct device *d = alloc_calloc(1, sizeof *d);
    rc = pthread_mutex_init(&em->lock, NULL);
    if (rc != 0) {
        free(em);
        free(d);
        return err_set(e, -rc, "emulated: cannot make a mutex");
    }
    em->cfg = *cfg;
    em->rng = rng_seeded(rng_derive(cfg->seed, TAG_FAULTS, 0));
    em->latency_rng = rng_seeded(rng_derive(cfg->seed, TAG_LATENCY, 0));
    for (unsigned i = 0; i < cfg->n_gpus; i++) {
        struct emu_gpu *g = &em->gpus[i];
        g->cfg = cfg->gpus[i];
        format_uuid(g->uuid, sizeof g->uuid, "GPU-", cfg->seed, TAG_GPU, i);
        occupancy_init(&g->occ, g->cfg.model);
    }
    if (cfg->boot_id[0])
        memcpy(em->boot_id, cfg->boot_id, sizeof em->boot_id);
    else
        derive_boot_id(em);
    rc = cfg->state_path[0] ? restore(em, e) : 0;
    if (rc < 0) {
        emulated_close(em);
        free(d);
        return rc;
    }
    *d = (struct device){.ops = &emulated_ops, .impl = em, .modelled_time = true};
    *out = d;
    return 0;
}

static void emulated_close(void *impl)
{
    struct emulated *em = impl;
    emulated__mps_free(em);
    pthread_mutex_destroy(&em->lock);
    free(em);
}

/* ---- discovery ---------------------------------------------------------- */

static void fill_profile(struct device_profile *dp, const struct mig_profile *p)
{
    snprintf(dp->name, sizeof dp->name, "%s", p->name);
    dp->nvml_id = p->nvml_id;
    dp->nvml_index = p->nvml_index;
    dp->compute_slices = p->compute_slices;
    dp->memory_slices = p->memory_slices;
    dp->max_instances = p->max_instances;
    dp->sm_count = p->sm_count;
    dp->memory_mib = p->memory_mib;
    dp->n_placements = p->n_placements < MIG_MAX_PLACEMENTS ? p->n_placements : MIG_MAX_PLACEMENTS;
    memcpy(dp->placements, p->placements, dp->n_placements * sizeof dp->placements[0]);
    dp->catalog = p;
}

static void fill_gpu(struct device_gpu *out, const struct emu_gpu *g, unsigned index)
{
    out->index = index;
    memcpy(out->uuid, g->uuid, sizeof out->uuid);
    memcpy(out->product, g->cfg.product, sizeof out->product);
    /* Buses as a two-socket HGX board numbers them, spaced apart. */
    snprintf(out->pci_bus_id, sizeof out->pci_bus_id, "00000000:%02X:00.0", 0x18 + 8 * index);
    out->memory_mib = g->cfg.memory_mib;
    out->mig_current = g->cfg.mig_current;
    out->mig_pending = g->cfg.mig_pending;
    out->model = g->cfg.model;
    out->n_profiles = 0;
    if (!g->cfg.model)
        return;
    for (unsigned i = 0; i < g->cfg.model->n_profiles && i < DEVICE_MAX_PROFILES; i++)
        fill_profile(&out->profiles[out->n_profiles++], &g->cfg.model->profiles[i]);
}

static int emulated_discover(void *impl, struct device_inventory *inv, uint64_t *took_ns,
                             struct err *e)
{
    (void)e;
    struct emulated *em = impl;
    pthread_mutex_lock(&em->lock);
    inv->n_gpus = em->cfg.n_gpus;
    for (unsigned i = 0; i < em->cfg.n_gpus; i++)
        fill_gpu(&inv->gpus[i], &em->gpus[i], i);
    *took_ns = em->cfg.latency.discover_ns * em->cfg.n_gpus;
    pthread_mutex_unlock(&em->lock);
    return 0;
}

/* ---- slices ------------------------------------------------------------- */

/* The slice a ref names, resolved as far as validation goes. */
struct target {
    struct emu_gpu *gpu;
    unsigned index;
    const struct mig_profile *profile;
    unsigned start;
};

static int find_gpu(struct emulated *em, const struct device_slice_ref *ref, struct target *t,
                    struct err *e)
{
    if (!ref->gpu_uuid) {
        if (ref->gpu_index >= em->cfg.n_gpus)
            return device_nvml_fail(e, DEVICE_NVML_GPU_NOT_FOUND,
                                    "no GPU %u (the node has %u)", ref->gpu_index,
                                    em->cfg.n_gpus);
        t->index = ref->gpu_index;
    } else {
        t->index = 0;
        while (t->index < em->cfg.n_gpus && strcmp(em->gpus[t->index].uuid, ref->gpu_uuid) != 0)
            t->index++;
        if (t->index == em->cfg.n_gpus)
            return device_nvml_fail(e, DEVICE_NVML_GPU_NOT_FOUND, "no GPU %.*s on this node",
                                    DEVICE_UUID_MAX, ref->gpu_uuid);
    }
    t->gpu = &em->gpus[t->index];
    return 0;
}

/* GPU, MIG mode, profile: what both create and destroy check first. */
static int resolve(struct emulated *em, const struct device_slice_ref *ref, struct target *t,
                   struct err *e)
{
    int rc = find_gpu(em, ref, t, e);
    if (rc < 0)
        return rc;
    const struct emulated_gpu_config *g = &t->gpu->cfg;
    if (g->mig_current == DEVICE_MIG_UNSUPPORTED)
        return device_nvml_fail(e, DEVICE_NVML_NOT_SUPPORTED, "GPU %u (%s) has no MIG",
                                t->index, g->product);
    if (g->mig_current != DEVICE_MIG_ENABLED)
        return device_nvml_fail(e, DEVICE_NVML_NOT_SUPPORTED,
                                "MIG is disabled on GPU %u (%s)%s", t->index, g->product,
                                g->mig_pending == DEVICE_MIG_ENABLED
                                    ? "; enabled after the next reboot"
                                    : "");
    t->profile = catalog_find_profile(g->model, ref->profile);
    if (!t->profile)
        return device_nvml_fail(e, DEVICE_NVML_INVALID_ARGUMENT,
                                "GPU %u (%s) has no profile \"%.*s\"", t->index,
                                g->model->name, DEVICE_PROFILE_NAME_MAX, ref->profile);
    t->start = ref->start;
    return 0;
}

struct fault {
    bool hit;
    enum emulated_action action;
    enum emulated_step step;
    unsigned nth;
};

/* Counts a validated call and decides whether a fault strikes it: a rule for
 * exactly this call first, otherwise a draw against fail_p. */
static struct fault decide_fault(struct emulated *em, enum emulated_op op)
{
    struct fault f = {.nth = ++em->calls[op]};
    for (unsigned i = 0; i < em->cfg.n_faults; i++) {
        const struct emulated_fault *r = &em->cfg.faults[i];
        if (r->op == op && r->nth == f.nth) {
            f.hit = true;
            f.action = r->action;
            f.step = r->step;
            return f;
        }
    }
    if (em->cfg.fail_p > 0 && rng_unit(&em->rng) < em->cfg.fail_p) {
        f.hit = true;
        f.action = EMULATED_FAIL;
        f.step = EMULATED_AT_CI;
        if (op == EMULATED_CREATE && rng_unit(&em->rng) < 0.5)
            f.step = EMULATED_AT_GI;
    }
    return f;
}

static int injected(struct err *e, const struct fault *f, enum emulated_op op, const char *after)
{
    unsigned ret = f->action == EMULATED_HANG ? DEVICE_NVML_TIMEOUT : DEVICE_NVML_UNKNOWN;
    return device_nvml_fail(e, ret, "injected %s of %s #%u at the %s step%s",
                            f->action == EMULATED_HANG ? "hang" : "failure",
                            op == EMULATED_CREATE ? "create" : "destroy", f->nth,
                            f->step == EMULATED_AT_GI   ? "GI"
                            : f->step == EMULATED_AT_CI ? "CI"
                                                        : "last",
                            after);
}

static uint32_t lowest_free_gi_id(const struct gpu_occupancy *o)
{
    for (uint32_t id = 1;; id++) {
        unsigned i = 0;
        while (i < o->n_slices && o->slices[i].owner != id)
            i++;
        if (i == o->n_slices)
            return id;
    }
}

static void make_gi(struct emu_gpu *g, const struct target *t)
{
    uint32_t id = lowest_free_gi_id(&g->occ);
    /* Validated under the same lock just before: it cannot fail. */
    occupancy_take(&g->occ, t->profile, t->start, id, NULL);
    g->slots[t->start] = (struct slot){.gi_id = id, .ci_id = DEVICE_NO_CI};
}

static void make_ci(struct emulated *em, struct emu_gpu *g, unsigned start)
{
    struct slot *s = &g->slots[start];
    s->ci_id = 0; /* the first CI of a GI is 0, as on real drivers */
    format_uuid(s->uuid, sizeof s->uuid, "MIG-", em->cfg.seed, TAG_MIG, em->mig_serial++);
}

static void destroy_ci(struct emu_gpu *g, unsigned start)
{
    g->slots[start].ci_id = DEVICE_NO_CI;
    g->slots[start].uuid[0] = '\0';
}

static void destroy_gi(struct emu_gpu *g, unsigned start)
{
    occupancy_release(&g->occ, start, NULL);
    memset(&g->slots[start], 0, sizeof g->slots[start]);
}

static void fill_slice(struct device_slice *out, const struct emu_gpu *g, unsigned index,
                       const struct occupied_slice *os)
{
    const struct mig_profile *p = &g->occ.model->profiles[os->profile];
    const struct slot *s = &g->slots[os->start];
    memset(out, 0, sizeof *out); /* whole structs compare equal */
    out->gpu_index = index;
    memcpy(out->gpu_uuid, g->uuid, sizeof out->gpu_uuid);
    /* Copied (truncated as snprintf would, the memset terminating it):
     * every device call of an agent lists its node's slices, and the
     * format was most of a slice's cost. */
    memcpy(out->profile, p->name, strnlen(p->name, sizeof out->profile - 1));
    out->profile_id = p->nvml_id;
    out->placement = (struct mig_placement){.start = os->start, .size = p->memory_slices};
    out->gi_id = s->gi_id;
    out->ci_id = s->ci_id;
    memcpy(out->uuid, s->uuid, sizeof out->uuid);
}

/* The occupancy's word on a create, as NVML would put it: an illegal start
 * is a bad argument, anything else (overlap, counts) is no room. */
static int check_place(const struct target *t, struct err *e)
{
    struct err why;
    err_clear(&why);
    int rc = occupancy_check(&t->gpu->occ, t->profile, t->start, &why);
    if (rc == 0)
        return 0;
    return device_nvml_fail(e,
                            rc == -EINVAL ? DEVICE_NVML_INVALID_ARGUMENT
                                          : DEVICE_NVML_INSUFFICIENT_RESOURCES,
                            "%s", why.msg);
}

/* A change on GPU gpu that took *took_ns on its own: it starts when the
 * GPU is free, and *took_ns grows by the wait. */
static void occupy(struct emulated *em, unsigned gpu, uint64_t *took_ns)
{
    if (!em->now_ns)
        return;
    int64_t now = em->now_ns(em->clock_ctx);
    int64_t start = em->busy_until[gpu] > now ? em->busy_until[gpu] : now;
    em->busy_until[gpu] = start + (int64_t)*took_ns;
    *took_ns += (uint64_t)(start - now);
}

/* *gpu is set to the GPU the call changed (or tried to), or stays -1. */
/* A successful call's duration: a draw from dist when it is one, else
 * fixed_ns. Called under the lock (the draws are one sequence). */
static uint64_t modelled(struct emulated *em, const struct rng_dist *dist, uint64_t fixed_ns)
{
    if (dist->kind == RNG_CONSTANT)
        return fixed_ns;
    double ms = rng_dist_draw(dist, &em->latency_rng);
    return ms > 0 ? (uint64_t)llround(ms * (double)NS_PER_MS) : 0;
}

static int create_locked(struct emulated *em, const struct device_slice_ref *ref,
                         struct device_slice *out, uint64_t *took_ns, int *gpu, struct err *e)
{
    const struct emulated_latency *lat = &em->cfg.latency;
    struct target t;
    *took_ns = lat->query_ns;
    int rc = resolve(em, ref, &t, e);
    if (rc == 0)
        rc = check_place(&t, e);
    if (rc < 0)
        return rc;
    *gpu = (int)t.index;
    struct fault f = decide_fault(em, EMULATED_CREATE);
    if (f.hit && f.action == EMULATED_HANG) {
        *took_ns = lat->hang_ns;
        if (f.step != EMULATED_AT_GI)
            make_gi(t.gpu, &t);
        if (f.step == EMULATED_AT_DONE)
            make_ci(em, t.gpu, t.start);
        return injected(e, &f, EMULATED_CREATE,
                        f.step == EMULATED_AT_GI   ? "; nothing was made"
                        : f.step == EMULATED_AT_CI ? "; the GI was left without a CI"
                                                   : "; the slice was made");
    }
    if (f.hit && f.step == EMULATED_AT_GI) {
        *took_ns = lat->create_ns / 2;
        return injected(e, &f, EMULATED_CREATE, "; nothing was made");
    }
    if (f.hit) {
        /* The GI existed for a moment: made, its CI failed, destroyed again. */
        *took_ns = lat->create_ns + lat->destroy_ns / 2;
        return injected(e, &f, EMULATED_CREATE, "; the GI was destroyed again");
    }
    make_gi(t.gpu, &t);
    make_ci(em, t.gpu, t.start);
    *took_ns = modelled(em, &lat->create_ms, lat->create_ns);
    const struct occupied_slice *os = occupancy_slice_at(&t.gpu->occ, t.start);
    fill_slice(out, t.gpu, t.index, os);
    return 0;
}

static int emulated_create(void *impl, const struct device_slice_ref *ref,
                           struct device_slice *out, uint64_t *took_ns, struct err *e)
{
    struct emulated *em = impl;
    int gpu = -1;
    pthread_mutex_lock(&em->lock);
    int rc = create_locked(em, ref, out, took_ns, &gpu, e);
    if (gpu >= 0) {
        occupy(em, (unsigned)gpu, took_ns);
        rc = persist(em, rc, e);
    }
    pthread_mutex_unlock(&em->lock);
    return device_slice_failed(rc, "create", ref, e);
}

/* The slice a destroy names must exist with that profile at that start. */
static int find_slice(const struct target *t, struct err *e)
{
    const struct gpu_occupancy *o = &t->gpu->occ;
    const struct occupied_slice *os = occupancy_slice_at(o, t->start);
    if (!os || os->start != t->start)
        return device_nvml_fail(e, DEVICE_NVML_NOT_FOUND,
                                "no slice starts at memory slice %u of GPU %u", t->start,
                                t->index);
    const struct mig_profile *there = &o->model->profiles[os->profile];
    if (there != t->profile)
        return device_nvml_fail(e, DEVICE_NVML_NOT_FOUND,
                                "the slice at memory slice %u of GPU %u is %s, not %s", t->start,
                                t->index, there->name, t->profile->name);
    if (t->gpu->slots[t->start].in_use)
        return device_nvml_fail(e, DEVICE_NVML_IN_USE, "a process holds %s at %u on GPU %u",
                                there->name, t->start, t->index);
    return 0;
}

static int destroy_locked(struct emulated *em, const struct device_slice_ref *ref,
                          uint64_t *took_ns, int *gpu, struct err *e)
{
    const struct emulated_latency *lat = &em->cfg.latency;
    struct target t;
    *took_ns = lat->query_ns;
    int rc = resolve(em, ref, &t, e);
    if (rc == 0)
        rc = find_slice(&t, e);
    if (rc < 0)
        return rc;
    *gpu = (int)t.index;
    struct fault f = decide_fault(em, EMULATED_DESTROY);
    if (f.hit && f.step == EMULATED_AT_CI) {
        *took_ns = f.action == EMULATED_HANG ? lat->hang_ns : lat->destroy_ns / 2;
        return injected(e, &f, EMULATED_DESTROY, "; nothing was destroyed");
    }
    destroy_ci(t.gpu, t.start);
    if (f.hit && f.step == EMULATED_AT_GI) {
        *took_ns = f.action == EMULATED_HANG ? lat->hang_ns : lat->destroy_ns;
        return injected(e, &f, EMULATED_DESTROY, "; the CI is gone, the GI is left");
    }
    destroy_gi(t.gpu, t.start);
    *took_ns = modelled(em, &lat->destroy_ms, lat->destroy_ns);
    if (f.hit) /* a hang after both steps */
        return injected(e, &f, EMULATED_DESTROY, "; the slice was destroyed");
    return 0;
}

static int emulated_destroy(void *impl, const struct device_slice_ref *ref, uint64_t *took_ns,
                            struct err *e)
{
    struct emulated *em = impl;
    int gpu = -1;
    pthread_mutex_lock(&em->lock);
    int rc = destroy_locked(em, ref, took_ns, &gpu, e);
    if (gpu >= 0) {
        occupy(em, (unsigned)gpu, took_ns);
        rc = persist(em, rc, e);
    }
    pthread_mutex_unlock(&em->lock);
    return device_slice_failed(rc, "destroy", ref, e);
}

static int emulated_list(void *impl, struct device_slices *out, uint64_t *took_ns,
                         struct err *e)
{
    (void)e;
    struct emulated *em = impl;
    pthread_mutex_lock(&em->lock);
    out->n = 0;
    for (unsigned i = 0; i < em->cfg.n_gpus; i++) {
        const struct emu_gpu *g = &em->gpus[i];
        if (g->cfg.mig_current != DEVICE_MIG_ENABLED)
            continue;
        for (unsigned k = 0; k < g->occ.n_slices; k++)
            fill_slice(&out->items[out->n++], g, i, &g->occ.slices[k]);
    }
    *took_ns = em->cfg.latency.query_ns;
    pthread_mutex_unlock(&em->lock);
    return 0;
}

static int emulated_boot_id(void *impl, char out[DEVICE_BOOT_ID_MAX], struct err *e)
{
    (void)e;
    struct emulated *em = impl;
    pthread_mutex_lock(&em->lock);
    memcpy(out, em->boot_id, DEVICE_BOOT_ID_MAX);
    pthread_mutex_unlock(&em->lock);
    return 0;
}

static int emulated_changes(void *impl, uint64_t *out)
{
    struct emulated *em = impl;
    pthread_mutex_lock(&em->lock);
    *out = em->changes;
    pthread_mutex_unlock(&em->lock);
    return 0;
}

static void emulated_set_clock(void *impl, clock_now_fn now_ns, void *clock_ctx)
{
    struct emulated *em = impl;
    pthread_mutex_lock(&em->lock);
    em->now_ns = now_ns;
    em->clock_ctx = clock_ctx;
    memset(em->busy_until, 0, sizeof em->busy_until);
    pthread_mutex_unlock(&em->lock);
}

static const struct device_ops emulated_ops = {
    .name = "emulated",
    .discover = emulated_discover,
    .create = emulated_create,
    .destroy = emulated_destroy,
    .list = emulated_list,
    .boot_id = emulated_boot_id,
    .close = emulated_close,
    .set_clock = emulated_set_clock,
    .changes = emulated_changes,
    .mps_alive = emulated__mps_alive,
    .mps_start = emulated__mps_start,
    .mps_stop = emulated__mps_stop,
};

/* ---- what only an emulated node can do ---------------------------------- */

static void reboot_locked(struct emulated *em, const char *boot_id)
{
    for (unsigned i = 0; i < em->cfg.n_gpus; i++) {
        struct emu_gpu *g = &em->gpus[i];
        occupancy_init(&g->occ, g->cfg.model);
        memset(g->slots, 0, sizeof g->slots);
        g->cfg.mig_current = g->cfg.mig_pending;
    }
    em->reboots++;
    em->changes++;
    if (boot_id && strcmp(boot_id, em->boot_id) != 0)
        snprintf(em->boot_id, sizeof em->boot_id, "%s", boot_id);
    else
        derive_boot_id(em);
}

int emulated_reboot(struct device *d, const char *boot_id, struct err *e)
{
    struct emulated *em = emulated__of(d, e);
    if (!em)
        return -EINVAL;
    if (boot_id && (!boot_id[0] || strlen(boot_id) >= DEVICE_BOOT_ID_MAX))
        return err_set(e, -EINVAL, "emulated reboot: a boot id has 1 to %d characters",
                       DEVICE_BOOT_ID_MAX - 1);
    pthread_mutex_lock(&em->lock);
    reboot_locked(em, boot_id);
    int rc = em->cfg.state_path[0] ? emulated__state_save(em, e) : 0;
    pthread_mutex_unlock(&em->lock);
    return rc;
}

int emulated_set_in_use(struct device *d, unsigned gpu_index, unsigned start, bool in_use,
                        struct err *e)
{
    struct emulated *em = emulated__of(d, e);
    if (!em)
        return -EINVAL;
    int rc = 0;
    pthread_mutex_lock(&em->lock);
    if (gpu_index >= em->cfg.n_gpus) {
        rc = err_set(e, -ENODEV, "emulated: no GPU %u (the node has %u)", gpu_index,
                     em->cfg.n_gpus);
    } else {
        struct emu_gpu *g = &em->gpus[gpu_index];
        const struct occupied_slice *os = occupancy_slice_at(&g->occ, start);
        if (!os || os->start != start)
            rc = err_set(e, -ENOENT, "emulated: no slice starts at memory slice %u of GPU %u",
                         start, gpu_index);
        else
            g->slots[start].in_use = in_use;
        rc = persist(em, rc, e);
    }
    pthread_mutex_unlock(&em->lock);
    return rc;
}

int emulated_add_slice(struct device *d, const struct device_slice_ref *ref,
                       struct device_slice *out, struct err *e)
{
    struct emulated *em = emulated__of(d, e);
    if (!em)
        return -EINVAL;
    struct target t;
    pthread_mutex_lock(&em->lock);
    int rc = resolve(em, ref, &t, e);
    if (rc == 0)
        rc = check_place(&t, e);
    if (rc == 0) {
        make_gi(t.gpu, &t);
        make_ci(em, t.gpu, t.start);
        if (out)
            fill_slice(out, t.gpu, t.index, occupancy_slice_at(&t.gpu->occ, t.start));
        rc = persist(em, rc, e);
    }
    pthread_mutex_unlock(&em->lock);
    return device_slice_failed(rc, "create", ref, e);
}

int emulated_occupancy(struct device *d, unsigned gpu_index, struct gpu_occupancy *out,
                       struct err *e)
{
    struct emulated *em = emulated__of(d, e);
    if (!em)
        return -EINVAL;
    if (!out)
        return err_set(e, -EINVAL, "emulated_occupancy: no place for the occupancy");
    int rc = 0;
    pthread_mutex_lock(&em->lock);
    if (gpu_index >= em->cfg.n_gpus)
        rc = err_set(e, -ENODEV, "emulated: no GPU %u (the node has %u)", gpu_index,
                     em->cfg.n_gpus);
    else
        *out = em->gpus[gpu_index].occ;
    pthread_mutex_unlock(&em->lock);
    return rc;
}
