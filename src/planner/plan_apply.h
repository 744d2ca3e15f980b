/*
 * Acting on a plan: the patches that make Deployments match it.
 *
 * A Deployment runs the planner server named by its annotation
 * planner.gpuslice.dev/server (default: the Deployment's name). Its patch,
 * an RFC 6902 JSON Patch as `kubectl patch --type json` takes it, sets
 * spec.replicas to the plan's numReplicas and makes the serving container
 * request the plan's resource ("nvidia.com/mig-3g.40gb": resourcesPerReplica)
 * in its limits (and in its requests when those name a GPU resource),
 * removing the GPU resource it asked for before. The serving container is
 * the one named by planner.gpuslice.dev/container, else the first that asks
 * for a GPU resource (nvidia.com/gpu or nvidia.com/mig-*), else the first.
 *
 * This is pure JSON to JSON: reading the Deployments from a cluster and
 * sending the patches is the caller's (`gpuslice plan apply`, in
 * src/cmd/cmd_plan.c, through the store; its --dry-run prints them).
 */
#ifndef GPUSLICE_PLANNER_PLAN_APPLY_H
#define GPUSLICE_PLANNER_PLAN_APPLY_H

#include <jansson.h>

#include "util/err.h"

#define PLAN_APPLY_SERVER_ANNOTATION "planner.gpuslice.dev/server"
#define PLAN_APPLY_CONTAINER_ANNOTATION "planner.gpuslice.dev/container"

/* plan is plan_result_json()'s output; objects a Deployment, a List of
 * objects ("items") or a JSON array of them. *out becomes a new array
 * (caller decrefs) with, per Deployment, {"namespace", "name", "server",
 * "patch": [...], "changes": ["replicas 1 -> 3", ...]} or, when the plan
 * has nothing for it, {"namespace", "name", "server", "skipped": REASON}.
 * Objects of other kinds in a list are skipped silently. -EINVAL with the
 * field at fault for a malformed plan or Deployment. */
int plan_apply_patches(const json_t *plan, const json_t *objects, json_t **out, struct err *e);

/* Checks that every server the plan allocates is run by a Deployment of
 * patches (plan_apply_patches' output), so that a plan is not half
 * applied because a Deployment is missing or misnamed. -ENOENT naming the
 * first server without one; -EINVAL when the plan has no "allocations". */
int plan_apply_check_coverage(const json_t *plan, const json_t *patches, struct err *e);

/* Pins patch (a JSON Patch array, modified in place) to the version of
 * deployment it was built from: prepends a replace of
 * /metadata/resourceVersion with the version read, which the API server
 * takes as a precondition, so that the patch fails with a Conflict instead
 * of landing on indices of a newer object. -EINVAL when deployment has no
 * metadata.resourceVersion, -ENOMEM. */
int plan_apply_pin(json_t *patch, const json_t *deployment, struct err *e);

#endif
