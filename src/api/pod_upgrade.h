/*
 * A pod's opt-in to upgrades and restores (docs/controller.md, "Upgrade and
 * restore"), read from its annotations, and whether its owner makes it
 * again when it is deleted.
 *
 *   gpuslice.dev/upgrade-after: "5s"   a slice that cannot be placed with
 *       its asked profile for that long ("0s": at once) gets the smallest
 *       larger profile that can be placed now
 *   gpuslice.dev/restore: "never"      an upgraded pod is never deleted to
 *       give it back its asked profile
 */
#ifndef GPUSLICE_API_POD_UPGRADE_H
#define GPUSLICE_API_POD_UPGRADE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "util/err.h"

#define GPUSLICE_ANNOTATION_UPGRADE_AFTER "gpuslice.dev/upgrade-after"
#define GPUSLICE_ANNOTATION_RESTORE       "gpuslice.dev/restore"

struct pod_upgrade {
    bool upgrade;     /* opted in */
    int64_t after_ns; /* how long the asked profile must be unplaceable first */
    bool restore;     /* an upgraded pod may be restored (not "never") */
};

/* Reads the pod's annotations into *out. A value that does not parse is
 * -EINVAL with a message naming the annotation and the value; *out then
 * holds what parsed, and a bad annotation's part counts as not opted in
 * (no upgrade; no restore), the safe side of each. */
int pod_upgrade_of(const json_t *pod, struct pod_upgrade *out, struct err *e);

/* The pod's controller owner reference when it is of a kind that makes a
 * deleted pod again (ReplicaSet, Job, StatefulSet); NULL otherwise
 * (borrowed). */
const json_t *pod_recreating_owner(const json_t *pod);

#endif
