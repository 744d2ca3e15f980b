/*
 * `gpuslice profiles [MODEL]`: the catalogue of GPU models and their MIG
 * profiles, one table per model, in the order and with the numbers
 * `nvidia-smi mig -lgip` / `-lgipp` show, so that an operator can hold the
 * two side by side. Values no real readout confirmed are marked.
 */
#include <stdio.h>
#include <string.h>

#include "sim/clusterfile.h"
#include "cmd/commands.h"
#include "core/catalog.h"

/* "{0,2,4}:2", as nvidia-smi mig -lgipp prints a profile's placements. */
static void format_placements(const struct mig_profile *p, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "{");
    for (unsigned i = 0; i < p->n_placements && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%u", i ? "," : "", p->placements[i].start);
    if (n < size)
        snprintf(buf + n, size - n, "}:%u", p->n_placements ? p->placements[0].size : 0);
}

static void format_aliases(const struct mig_profile *p, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < CATALOG_MAX_ALIASES && p->aliases[i] && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? "," : "", p->aliases[i]);
}

/* Prints m's table; returns whether any of its values is provisional. */
static bool print_model(const struct gpu_model *m)
{
    bool provisional = false;
    printf("%s: %u MiB, %u memory slices, %u compute slices;", m->name, m->memory_mib,
           m->memory_slices, m->compute_slices);
    for (const char *const *name = m->product_names; *name; name++)
        printf(" %s\"%s\"", name == m->product_names ? "NVML: " : "", *name);
    printf("\n  %-12s %4s %5s %7s %6s %7s %3s %4s  %-17s %s\n", "PROFILE", "ID", "INDEX",
           "COMPUTE", "MEMORY", "MiB", "MAX", "SMs", "PLACEMENTS", "ALSO");
    for (size_t i = 0; i < m->n_profiles; i++) {
        const struct mig_profile *p = &m->profiles[i];
        char name[24], placements[2 * MIG_MAX_PLACEMENTS + 8], aliases[64], fraction[2][8];
        snprintf(name, sizeof name, "%s%s", p->name, p->provisional ? "*" : "");
        format_placements(p, placements, sizeof placements);
        format_aliases(p, aliases, sizeof aliases);
        snprintf(fraction[0], sizeof fraction[0], "%u/%u", p->compute_slices, m->compute_slices);
        snprintf(fraction[1], sizeof fraction[1], "%u/%u", p->memory_slices, m->memory_slices);
        printf("  %-12s %4u %5u %7s %6s %7u %3u %4u  %-*s%s%s\n", name, p->nvml_id,
               p->nvml_index, fraction[0], fraction[1], p->memory_mib, p->max_instances,
               p->sm_count, aliases[0] ? 17 : 0, placements, aliases[0] ? " " : "", aliases);
        provisional |= p->provisional;
    }
    return provisional;
}

int cmd_profiles(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: gpuslice profiles [MODEL]\n");
        return 2;
    }
    const struct gpu_model *only = NULL;
    if (argc == 2 && !(only = catalog_find_model(argv[1]))) {
        char known[256];
        clusterfile_model_names(known, sizeof known);
        fprintf(stderr, "gpuslice profiles: unknown GPU model '%s'; known models: %s\n",
                argv[1], known);
        return 1;
    }
    bool provisional = false;
    for (size_t i = 0; i < catalog_model_count(); i++) {
        const struct gpu_model *m = catalog_model(i);
        if (only && m != only)
            continue;
        if (!only && i > 0)
            putchar('\n');
        provisional |= print_model(m);
    }
    if (provisional)
        printf("\n* provisional: some value not confirmed by a real readout "
               "(sources in src/core/catalog.c)\n");
    return 0;
}
