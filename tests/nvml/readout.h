/*
 * A reader for tests/data/h100-80gb-hbm3.txt, the readout of a real
 * H100 (nvidia-smi mig -lgip / -lgipp and NVML's profile info by index),
 * so tests compare the fake and the backend with it at run time instead of
 * with a copy of its numbers. Shared by the nvml tests and the real-GPU
 * test. The path comes from GPUSLICE_HW_READOUT.
 */
#ifndef GPUSLICE_TESTS_NVML_READOUT_H
#define GPUSLICE_TESTS_NVML_READOUT_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"

#define READOUT_INDEXES 32
#define READOUT_IDS     32

struct readout_row {
    bool seen;      /* the index was queried */
    bool supported; /* false: "err Not Supported" */
    unsigned id, slices, memory_mib, instances, sms, copy_engines;
};

struct readout {
    struct readout_row by_index[READOUT_INDEXES];
    char name_of_id[READOUT_IDS][32];            /* "1g.10gb" from "MIG 1g.10gb  19" */
    unsigned n_placements[READOUT_IDS];          /* from "Profile ID 19 Placements: ..." */
    struct mig_placement placements[READOUT_IDS][MIG_MAX_PLACEMENTS];
    bool has_placements[READOUT_IDS];
};

/* "{0,1,2}:1" into r's placements of id. */
static inline bool readout_placements(struct readout *r, unsigned id, const char *s)
{
    const char *close = strchr(s, '}');
    unsigned size;
    if (*s != '{' || !close || sscanf(close, "}:%u", &size) != 1)
        return false;
    for (const char *p = s + 1; p < close && r->n_placements[id] < MIG_MAX_PLACEMENTS;) {
        char *end;
        unsigned long start = strtoul(p, &end, 10);
        if (end == p)
            return false;
        r->placements[id][r->n_placements[id]++] =
            (struct mig_placement){.start = (uint8_t)start, .size = (uint8_t)size};
        p = *end == ',' ? end + 1 : end;
    }
    r->has_placements[id] = true;
    return true;
}

static inline void readout_line(struct readout *r, const char *line)
{
    unsigned a, b, c, d, e, f, g;
    char name[32], rest[64];
    if (sscanf(line, "%u %u %u %u %u %u %u", &a, &b, &c, &d, &e, &f, &g) == 7 &&
        a < READOUT_INDEXES) {
        r->by_index[a] = (struct readout_row){true, true, b, c, d, e, f, g};
    } else if (sscanf(line, "%u err %63[^\n]", &a, rest) == 2 && a < READOUT_INDEXES) {
        r->by_index[a] = (struct readout_row){.seen = true};
    } else if (sscanf(line, "| %u MIG %31s %u", &a, name, &b) == 3 && b < READOUT_IDS) {
        snprintf(r->name_of_id[b], sizeof r->name_of_id[b], "%s", name);
    } else if (sscanf(line, "GPU %u Profile ID %u Placement%*[s ]: %63s", &a, &b, rest) == 3 &&
               b < READOUT_IDS) {
        readout_placements(r, b, rest);
    }
}

/* Reads the file at path into r. 0, or -1 when it cannot be read or holds
 * no NVML rows. */
static inline int readout_load(const char *path, struct readout *r)
{
    memset(r, 0, sizeof *r);
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return -1;
    char line[512];
    while (fgets(line, sizeof line, f))
        readout_line(r, line);
    fclose(f);
    unsigned rows = 0;
    for (unsigned i = 0; i < READOUT_INDEXES; i++)
        rows += r->by_index[i].seen;
    return rows ? 0 : -1;
}

#endif
