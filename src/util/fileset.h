/*
 * A set of named text files held in memory. gpuslice builds some files
 * into its binary (the CRDs and the demo's manifests, src/sim/builtin.h)
 * and lets a folder on disk stand in for them; both are a fileset, so the
 * code that uses them never asks where they came from.
 *
 * A fileset from fileset_read_yaml_dir is the caller's (fileset_free); a
 * built-in one is static and never freed.
 */
#ifndef GPUSLICE_UTIL_FILESET_H
#define GPUSLICE_UTIL_FILESET_H

#include <stddef.h>

#include "util/err.h"

/* As much as the YAML reader takes (YAML_DEFAULT_MAX_BYTES). */
#define FILESET_MAX_FILE_BYTES (4u << 20)

struct fileset_file {
    const char *name; /* what errors call it: "DIR/a.yaml", "deploy/crds/a.yaml" */
    const char *text; /* len bytes, then a NUL */
    size_t len;
};

struct fileset {
    const char *origin; /* the folder read, or "built in" */
    size_t n;
    const struct fileset_file *files; /* in name order */
};

/* Reads every *.yaml and *.yml file of dir (hidden ones excepted), in name
 * order, into a new fileset. Strict, since a folder given to override the
 * built-in files that silently yields nothing is a mistake: a folder that
 * is missing or unreadable (-errno), holds no such file (-ENOENT), or a
 * file that cannot be read (-errno) or is over FILESET_MAX_FILE_BYTES
 * (-E2BIG) is an error naming the path, and *out is left NULL. */
int fileset_read_yaml_dir(const char *dir, struct fileset **out, struct err *e);

/* Frees a fileset from fileset_read_yaml_dir; NULL is fine. */
void fileset_free(struct fileset *set);

#endif
