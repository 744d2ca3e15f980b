/*
 * The catalogue's tables and its look-ups.
 *
 * Sources: NVIDIA's MIG User Guide plus `nvidia-smi mig -lgip/-lgipp`
 * readouts published in NVIDIA's gpu-operator and mig-parted trackers (as
 * compiled in the project's hardware notes), and
 * tests/data/h100-80gb-hbm3.txt (read on a real H100; a test compares the
 * H100-80GB entry with it field by field).
 *
 * Order: each model lists its profiles as `nvidia-smi mig -lgip` prints them
 * (1g, 1g+me, 1g with double memory, 2g, 3g, 4g, 7g; A30 likewise, smallest
 * first). That is the order operators see in the driver's own tool, so
 * `gpuslice profiles` reads the same, and it puts the smallest slice first
 * for anything that walks profiles looking for the least that fits. The NVML
 * index is kept in each entry, so nothing needs the tables in index order.
 *
 * Provisional numbers (the `provisional` flag, and a comment naming why):
 *  - values mig-profiles.md marks ⚠ (no real readout confirmed them);
 *  - the geometry of H200, GH200 and B200, inferred from the other 8-slice
 *    GPUs, so every profile of those models is provisional;
 *  - numbers no source gives, derived by one of two rules:
 *    (S) sibling scaling, for a model with no confirmed MiB at all:
 *        MiB = the same profile on the closest confirmed sibling
 *        x (nominal GB / sibling's nominal GB), rounded down to 128 MiB
 *        (NVML reports MiB in 128 MiB steps on every 8-slice GPU);
 *    (P) per memory slice, for a model whose small profiles are confirmed:
 *        MiB = memory slices x (the 2-slice profile's MiB / 2). On every
 *        confirmed Hopper GPU this under-states the 3g..7g memory by 0.6-8%,
 *        never over-states it, so a workload sized by it fits the real slice.
 *    SM counts no source gives are compute slices x the 1g's SMs, a lower
 *    bound on every confirmed model (A100 meets it exactly, Hopper exceeds it).
 *
 * gpu_model.memory_mib is the nominal capacity (the GB in the model's name
 * x 1024), not what nvmlDeviceGetMemoryInfo reports: that total depends on
 * driver and ECC and is a few hundred MiB lower on Hopper and later.
 */
#include "core/catalog.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/*
 * The geometry of one profile kind on every 8-memory-slice GPU
 * (mig-profiles.md, "Geometry shared by every 8-slice GPU"): NVML id and
 * index, compute and memory slices, instance count and placements. Each
 * model's rows add only what differs: name, aliases, MiB, SMs.
 */
#define KIND_1G                                                              \
    .nvml_id = 19, .nvml_index = 0, .compute_slices = 1, .memory_slices = 1,  \
    .max_instances = 7, .n_placements = 7,                                   \
    .placements = {{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 1}}
#define KIND_1G_ME                                                           \
    .nvml_id = 20, .nvml_index = 7, .compute_slices = 1, .memory_slices = 1,  \
    .max_instances = 1, .media_extended = true, .n_placements = 7,           \
    .placements = {{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 1}}
#define KIND_1G_DOUBLE                                                       \
    .nvml_id = 15, .nvml_index = 9, .compute_slices = 1, .memory_slices = 2,  \
    .max_instances = 4, .n_placements = 4,                                   \
    .placements = {{0, 2}, {2, 2}, {4, 2}, {6, 2}}
#define KIND_2G                                                              \
    .nvml_id = 14, .nvml_index = 1, .compute_slices = 2, .memory_slices = 2,  \
    .max_instances = 3, .n_placements = 3, .placements = {{0, 2}, {2, 2}, {4, 2}}
#define KIND_3G                                                              \
    .nvml_id = 9, .nvml_index = 2, .compute_slices = 3, .memory_slices = 4,   \
    .max_instances = 2, .n_placements = 2, .placements = {{0, 4}, {4, 4}}
#define KIND_4G                                                              \
    .nvml_id = 5, .nvml_index = 3, .compute_slices = 4, .memory_slices = 4,   \
    .max_instances = 1, .n_placements = 1, .placements = {{0, 4}}
#define KIND_7G                                                              \
    .nvml_id = 0, .nvml_index = 4, .compute_slices = 7, .memory_slices = 8,   \
    .max_instances = 1, .n_placements = 1, .placements = {{0, 8}}

/* A30: 4 memory slices, 4 compute slices, its own ids (mig-profiles.md). */
static const struct mig_profile a30_24gb[] = {
    {.name = "1g.6gb", .nvml_id = 14, .nvml_index = 0, .compute_slices = 1,
     .memory_slices = 1, .max_instances = 4, .sm_count = 14, .memory_mib = 5952,
     .n_placements = 4, .placements = {{0, 1}, {1, 1}, {2, 1}, {3, 1}}},
    /* NVML index 7 is ⚠ in mig-profiles.md (1_SLICE_REV1 by analogy). */
    {.name = "1g.6gb+me", .nvml_id = 21, .nvml_index = 7, .compute_slices = 1,
     .memory_slices = 1, .max_instances = 1, .sm_count = 14, .memory_mib = 5952,
     .media_extended = true, .provisional = true,
     .n_placements = 4, .placements = {{0, 1}, {1, 1}, {2, 1}, {3, 1}}},
    {.name = "2g.12gb", .nvml_id = 5, .nvml_index = 1, .compute_slices = 2,
     .memory_slices = 2, .max_instances = 2, .sm_count = 28, .memory_mib = 11968,
     .n_placements = 2, .placements = {{0, 2}, {2, 2}}},
    /* NVML index 8 is ⚠ in mig-profiles.md (2_SLICE_REV1 by analogy). */
    {.name = "2g.12gb+me", .nvml_id = 6, .nvml_index = 8, .compute_slices = 2,
     .memory_slices = 2, .max_instances = 1, .sm_count = 28, .memory_mib = 11968,
     .media_extended = true, .provisional = true,
     .n_placements = 2, .placements = {{0, 2}, {2, 2}}},
    /* mig-profiles.md gives "~24000" MiB; 23936 is rule (P): 4 x 11968 / 2. */
    {.name = "4g.24gb", .nvml_id = 0, .nvml_index = 3, .compute_slices = 4,
     .memory_slices = 4, .max_instances = 1, .sm_count = 56, .memory_mib = 23936,
     .provisional = true, .n_placements = 1, .placements = {{0, 4}}},
};

/* Observed with -lgipp; the 1g.10gb (double memory) needs driver R525+. */
static const struct mig_profile a100_40gb[] = {
    {.name = "1g.5gb", KIND_1G, .memory_mib = 4864, .sm_count = 14},
    {.name = "1g.5gb+me", KIND_1G_ME, .memory_mib = 4864, .sm_count = 14},
    {.name = "1g.10gb", KIND_1G_DOUBLE, .memory_mib = 9856, .sm_count = 14},
    {.name = "2g.10gb", KIND_2G, .memory_mib = 9856, .sm_count = 28},
    {.name = "3g.20gb", KIND_3G, .memory_mib = 19968, .sm_count = 42},
    {.name = "4g.20gb", KIND_4G, .memory_mib = 19968, .sm_count = 56},
    {.name = "7g.40gb", KIND_7G, .memory_mib = 40192, .sm_count = 98},
};

/*
 * Geometry observed with -lgipp; the MiB of 1g, 3g, 4g and 7g are ⚠ in
 * mig-profiles.md. Drivers 535/545 name 3g "3g.39gb" and 7g "7g.79gb"
 * (mig-parted issue 31): 40192 MiB is 39.25 GiB. 4g has the same memory as
 * 3g, so the same rounding gives "4g.39gb".
 */
static const struct mig_profile a100_80gb[] = {
    {.name = "1g.10gb", KIND_1G, .memory_mib = 9728, .sm_count = 14, .provisional = true},
    {.name = "1g.10gb+me", KIND_1G_ME, .memory_mib = 9728, .sm_count = 14,
     .provisional = true},
    {.name = "1g.20gb", KIND_1G_DOUBLE, .memory_mib = 19968, .sm_count = 14},
    {.name = "2g.20gb", KIND_2G, .memory_mib = 19968, .sm_count = 28},
    {.name = "3g.40gb", .aliases = {"3g.39gb"}, KIND_3G, .memory_mib = 40192,
     .sm_count = 42, .provisional = true},
    {.name = "4g.40gb", .aliases = {"4g.39gb"}, KIND_4G, .memory_mib = 40192,
     .sm_count = 56, .provisional = true},
    {.name = "7g.80gb", .aliases = {"7g.79gb"}, KIND_7G, .memory_mib = 80896,
     .sm_count = 98, .provisional = true},
};

/* Exactly tests/data/h100-80gb-hbm3.txt (driver 580.159.04). */
static const struct mig_profile h100_80gb[] = {
    {.name = "1g.10gb", KIND_1G, .memory_mib = 9984, .sm_count = 16},
    {.name = "1g.10gb+me", KIND_1G_ME, .memory_mib = 9984, .sm_count = 16},
    {.name = "1g.20gb", KIND_1G_DOUBLE, .memory_mib = 20096, .sm_count = 26},
    {.name = "2g.20gb", KIND_2G, .memory_mib = 20096, .sm_count = 32},
    {.name = "3g.40gb", KIND_3G, .memory_mib = 40448, .sm_count = 60},
    {.name = "4g.40gb", KIND_4G, .memory_mib = 40448, .sm_count = 64},
    {.name = "7g.80gb", KIND_7G, .memory_mib = 81152, .sm_count = 132},
};

/* H100 NVL: geometry observed with -lgipp; the 7g's 95360 MiB is ⚠. */
static const struct mig_profile h100_94gb[] = {
    {.name = "1g.12gb", KIND_1G, .memory_mib = 11008, .sm_count = 16},
    {.name = "1g.12gb+me", KIND_1G_ME, .memory_mib = 11008, .sm_count = 16},
    {.name = "1g.24gb", KIND_1G_DOUBLE, .memory_mib = 22144, .sm_count = 26},
    {.name = "2g.24gb", KIND_2G, .memory_mib = 22144, .sm_count = 32},
    {.name = "3g.47gb", KIND_3G, .memory_mib = 47488, .sm_count = 60},
    {.name = "4g.47gb", KIND_4G, .memory_mib = 47488, .sm_count = 64},
    {.name = "7g.94gb", KIND_7G, .memory_mib = 95360, .sm_count = 132, .provisional = true},
};

/*
 * GH200 96GB: only the names are in mig-profiles.md, all ⚠. MiB by rule (S)
 * from H100-94GB (the same six-stack HBM3 Hopper), x 96/94; SMs copied from
 * H100-80GB and H100-94GB, which agree (the same 132-SM GH100 die).
 */
static const struct mig_profile h100_96gb[] = {
    {.name = "1g.12gb", KIND_1G, .memory_mib = 11136, .sm_count = 16, .provisional = true},
    {.name = "1g.12gb+me", KIND_1G_ME, .memory_mib = 11136, .sm_count = 16,
     .provisional = true},
    {.name = "1g.24gb", KIND_1G_DOUBLE, .memory_mib = 22528, .sm_count = 26,
     .provisional = true},
    {.name = "2g.24gb", KIND_2G, .memory_mib = 22528, .sm_count = 32, .provisional = true},
    {.name = "3g.48gb", KIND_3G, .memory_mib = 48384, .sm_count = 60, .provisional = true},
    {.name = "4g.48gb", KIND_4G, .memory_mib = 48384, .sm_count = 64, .provisional = true},
    {.name = "7g.96gb", KIND_7G, .memory_mib = 97280, .sm_count = 132, .provisional = true},
};

/* H200: names, MiB and SMs from a -lgip readout (mig-parted issue 120);
 * placements inferred (⚠), so every row is provisional. */
static const struct mig_profile h200_141gb[] = {
    {.name = "1g.18gb", KIND_1G, .memory_mib = 16384, .sm_count = 16, .provisional = true},
    {.name = "1g.18gb+me", KIND_1G_ME, .memory_mib = 16384, .sm_count = 16,
     .provisional = true},
    {.name = "1g.35gb", KIND_1G_DOUBLE, .memory_mib = 33024, .sm_count = 26,
     .provisional = true},
    {.name = "2g.35gb", KIND_2G, .memory_mib = 33024, .sm_count = 32, .provisional = true},
    {.name = "3g.71gb", KIND_3G, .memory_mib = 71168, .sm_count = 60, .provisional = true},
    {.name = "4g.71gb", KIND_4G, .memory_mib = 71168, .sm_count = 64, .provisional = true},
    {.name = "7g.141gb", KIND_7G, .memory_mib = 143104, .sm_count = 132,
     .provisional = true},
};

/*
 * B200: placements inferred (⚠), ids 9/5/0 ⚠. The 1g's 22528 MiB is the
 * first B200 readout (mig-parted PR 166, 22.00 GiB); a later driver reports
 * 20992 (PR 187, 20.50 GiB). 3g, 4g, 7g have no readout: MiB by rule (P)
 * from 2g.45gb (45312 / 2 = 22656 per memory slice), SMs 3, 4 and 7 x 18.
 */
static const struct mig_profile b200_180gb[] = {
    {.name = "1g.23gb", KIND_1G, .memory_mib = 22528, .sm_count = 18, .provisional = true},
    {.name = "1g.23gb+me", KIND_1G_ME, .memory_mib = 22528, .sm_count = 18,
     .provisional = true},
    {.name = "1g.45gb", KIND_1G_DOUBLE, .memory_mib = 45312, .sm_count = 30,
     .provisional = true},
    {.name = "2g.45gb", KIND_2G, .memory_mib = 45312, .sm_count = 36, .provisional = true},
    {.name = "3g.90gb", KIND_3G, .memory_mib = 90624, .sm_count = 54, .provisional = true},
    {.name = "4g.90gb", KIND_4G, .memory_mib = 90624, .sm_count = 72, .provisional = true},
    {.name = "7g.180gb", KIND_7G, .memory_mib = 181248, .sm_count = 126,
     .provisional = true},
};

/*
 * Product names as NVML's nvmlDeviceGetName reports them; drivers before
 * R470 left out the "NVIDIA " prefix on A100. Boards whose MIG numbers differ
 * from the entry (H100 PCIe: 114 SMs; H200 NVL; GH200 144GB) are left out on
 * purpose: mapping them here would report wrong SM counts or memory.
 */
static const char *const a30_names[] = {"NVIDIA A30", NULL};
static const char *const a100_40gb_names[] = {
    "NVIDIA A100-SXM4-40GB", "NVIDIA A100-PCIE-40GB", "A100-SXM4-40GB", "A100-PCIE-40GB",
    NULL};
static const char *const a100_80gb_names[] = {
    "NVIDIA A100-SXM4-80GB", "NVIDIA A100 80GB PCIe", "A100-SXM4-80GB", "A100 80GB PCIe",
    NULL};
static const char *const h100_80gb_names[] = {"NVIDIA H100 80GB HBM3", NULL};
static const char *const h100_94gb_names[] = {"NVIDIA H100 NVL", NULL};
static const char *const h100_96gb_names[] = {"NVIDIA GH200 480GB", NULL};
static const char *const h200_141gb_names[] = {"NVIDIA H200", NULL};
static const char *const b200_180gb_names[] = {"NVIDIA B200", NULL};

#define MODEL(key, names, gb, mem, comp, table)                                 \
    {.name = key, .product_names = names, .memory_mib = (gb) * 1024u,          \
     .memory_slices = mem, .compute_slices = comp,                             \
     .n_profiles = sizeof table / sizeof table[0], .profiles = table}

static const struct gpu_model models[] = {
    MODEL("A30-24GB", a30_names, 24, 4, 4, a30_24gb),
    MODEL("A100-40GB", a100_40gb_names, 40, 8, 7, a100_40gb),
    MODEL("A100-80GB", a100_80gb_names, 80, 8, 7, a100_80gb),
    MODEL("H100-80GB", h100_80gb_names, 80, 8, 7, h100_80gb),
    MODEL("H100-94GB", h100_94gb_names, 94, 8, 7, h100_94gb),
    MODEL("H100-96GB", h100_96gb_names, 96, 8, 7, h100_96gb),
    MODEL("H200-141GB", h200_141gb_names, 141, 8, 7, h200_141gb),
    MODEL("B200-180GB", b200_180gb_names, 180, 8, 7, b200_180gb),
};

size_t catalog_model_count(void)
{
    return sizeof models / sizeof models[0];
}

const struct gpu_model *catalog_model(size_t i)
{
    return i < catalog_model_count() ? &models[i] : NULL;
}

static bool model_has_product_name(const struct gpu_model *m, const char *name)
{
    for (const char *const *p = m->product_names; *p; p++)
        if (strcasecmp(*p, name) == 0)
            return true;
    return false;
}

const struct gpu_model *catalog_find_model(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < catalog_model_count(); i++)
        if (strcasecmp(models[i].name, name) == 0 || model_has_product_name(&models[i], name))
            return &models[i];
    return NULL;
}

/* The profile name inside a resource name: "nvidia.com/mig-1g.10gb" and
 * "mig-1g.10gb" both give "1g.10gb"; anything else is taken as it is. */
static const char *strip_resource_prefix(const char *name)
{
    static const char vendor[] = "nvidia.com/";
    static const char mig[] = "mig-";
    if (strncasecmp(name, vendor, sizeof vendor - 1) == 0) {
        if (strncasecmp(name + sizeof vendor - 1, mig, sizeof mig - 1) != 0)
            return name;
        name += sizeof vendor - 1;
    }
    if (strncasecmp(name, mig, sizeof mig - 1) == 0)
        name += sizeof mig - 1;
    return name;
}

/* strcasecmp, called only when the first characters agree: most names
 * of a catalogue differ there, and a lookup compares a name with every
 * profile and alias of every model (catalog_name_gib: some 100). */
static bool same_name(const char *a, const char *b)
{
    return tolower((unsigned char)*a) == tolower((unsigned char)*b) && strcasecmp(a, b) == 0;
}

static bool profile_answers_to(const struct mig_profile *p, const char *name)
{
    if (same_name(p->name, name))
        return true;
    for (size_t i = 0; i < CATALOG_MAX_ALIASES && p->aliases[i]; i++)
        if (same_name(p->aliases[i], name))
            return true;
    return false;
}

/* catalog_find_profile for a name without its resource prefix. */
static const struct mig_profile *find_bare_profile(const struct gpu_model *m, const char *name)
{
    for (size_t i = 0; i < m->n_profiles; i++)
        if (profile_answers_to(&m->profiles[i], name))
            return &m->profiles[i];
    return NULL;
}

const struct mig_profile *catalog_find_profile(const struct gpu_model *m, const char *name)
{
    if (!m || !name)
        return NULL;
    return find_bare_profile(m, strip_resource_prefix(name));
}

int catalog_profile_index(const struct gpu_model *m, const struct mig_profile *p, struct err *e)
{
    if (!m)
        return err_set(e, -EINVAL, "no GPU model given");
    if (!p)
        return err_set(e, -EINVAL, "no profile given for %s", m->name);
    /* Equality, not a range test: comparing pointers into different
     * arrays with < is undefined. */
    for (size_t i = 0; i < m->n_profiles; i++)
        if (&m->profiles[i] == p)
            return (int)i;
    return err_set(e, -EINVAL, "profile %s is not one of %s's profiles", p->name ? p->name : "(unnamed)",
                   m->name);
}

/* ---- profiles by memory ---- */

unsigned catalog_profile_gib(const struct mig_profile *p)
{
    return (p->memory_mib + 1023u) / 1024u;
}

int catalog_name_gib(const char *profile, unsigned *gib)
{
    uint32_t mib = 0;
    const char *bare = profile ? strip_resource_prefix(profile) : NULL;
    for (size_t i = 0; bare && i < catalog_model_count(); i++) {
        const struct mig_profile *p = find_bare_profile(&models[i], bare);
        if (p && p->memory_mib > mib)
            mib = p->memory_mib;
    }
    if (mib == 0)
        return -ENOENT;
    *gib = (mib + 1023u) / 1024u;
    return 0;
}

/* The order of catalog_fits_memory: memory, compute slices, name, then the
 * catalogue's model order (the index into it breaks the last tie). */
static int fit_cmp(const struct catalog_fit *a, size_t ia, const struct catalog_fit *b,
                   size_t ib)
{
    unsigned ga = catalog_profile_gib(a->profile), gb = catalog_profile_gib(b->profile);
    if (ga != gb)
        return ga < gb ? -1 : 1;
    if (a->profile->compute_slices != b->profile->compute_slices)
        return a->profile->compute_slices < b->profile->compute_slices ? -1 : 1;
    int c = strcmp(a->profile->name, b->profile->name);
    return c != 0 ? c : (ia < ib ? -1 : ia > ib);
}

size_t catalog_fits_memory(unsigned gib, struct catalog_fit *out, size_t max)
{
    struct catalog_fit all[CATALOG_FITS_MAX];
    size_t n = 0, order[CATALOG_FITS_MAX];
    for (size_t i = 0; i < catalog_model_count(); i++) {
        const struct gpu_model *m = catalog_model(i);
        for (size_t k = 0; k < m->n_profiles; k++) {
            const struct mig_profile *p = &m->profiles[k];
            if (p->media_extended || catalog_profile_gib(p) < gib || n == CATALOG_FITS_MAX)
                continue;
            /* Insertion sort: a few dozen entries. */
            struct catalog_fit f = {m, p};
            size_t j = n++;
            while (j > 0 && fit_cmp(&f, i, &all[j - 1], order[j - 1]) < 0) {
                all[j] = all[j - 1];
                order[j] = order[j - 1];
                j--;
            }
            all[j] = f;
            order[j] = i;
        }
    }
    if (n > max)
        n = max;
    memcpy(out, all, n * sizeof *out);
    return n;
}
