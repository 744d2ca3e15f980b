/*
 * The files gpuslice carries in its binary, so that it runs from any
 * folder and installed: gpuslice's CustomResourceDefinitions (the .yaml
 * files of deploy/crds) and the demo's manifests (those of samples/demo).
 * They are generated at build time from those files by scripts/embed-files
 * (the list is in the top-level meson.build), so the repository's files are
 * the one source. Commands take --crds DIR and --samples DIR to use a folder
 * on disk instead (util/fileset.h).
 *
 * The filesets are static: never freed, the same on every call. Each file
 * is named by its path in the repository ("deploy/crds/gpunode.yaml").
 */
#ifndef GPUSLICE_SIM_BUILTIN_H
#define GPUSLICE_SIM_BUILTIN_H

#include "util/fileset.h"

/* The .yaml files of deploy/crds, in name order. */
const struct fileset *builtin_crds(void);

/* The .yaml files of samples/demo, in name order (the order the demo
 * applies them). */
const struct fileset *builtin_samples(void);

#endif
