/*
 * What the dashboard shows, as one JSON document built from the objects in
 * the controller's caches: every node and GPU with its memory slices (the
 * GPUSlices on it, and the slices the agent reports that gpuslice did not
 * make) or, shared (mps, timeslice), its clients as the agent reports
 * them (GPUNode status.gpus[].clients), the pods that wait for slices and
 * why, the pods running on slices, the most recent Events, and the
 * controller's counters.
 *
 * The document (the page's only input; strings stay strings, the page
 * renders them as text):
 *   {"version": N,
 *    "nodes": [{"name", "gpus": [{"index", "uuid", "model", "memorySlices",
 *               "mode", "heldBack", "memoryMiB", "replicas" (timeslice only),
 *               "slices": [{"start", "size", "profile", "namespace", "pod",
 *               "name", "phase", "warm", "static", "foreign"}] (MIG slices:
 *               an MPS or time-slicing share is none),
 *               "clients": [{"namespace", "pod", "container", "sharing",
 *               "memoryGiB", "smPercent" (the last two for mps)}]}]}],
 *    "waiting": [{"namespace", "name", "reason", "message", "since"}],
 *    "running": [{"namespace", "name", "node", "phase"}],
 *    "events": [{"time", "type", "reason", "message", "object", "count"}],
 *    "counters": {"placed", ..., "waiting", "running", "slices", "clients",
 *                 "nodes", "gpus"}, "truncated": {"waiting", "running", "events"}}
 * Lists of pods and Events are cut to a bound (DASHBOARD_PODS_MAX,
 * DASHBOARD_EVENTS_MAX: a page is for looking at, and the stream sends the
 * whole document on each change); the counters count everything, and
 * "truncated" says how many were left out.
 */
#ifndef GPUSLICE_CONTROLLER_DASHBOARD_SNAPSHOT_H
#define GPUSLICE_CONTROLLER_DASHBOARD_SNAPSHOT_H

#include <stdint.h>

#include <jansson.h>

#include "controller/controller.h"

#define DASHBOARD_PODS_MAX 200   /* waiting pods shown, and running pods */
#define DASHBOARD_EVENTS_MAX 50  /* the most recent Events shown */

/* The objects, as informer_list hands them out (arrays; borrowed). */
struct dashboard_input {
    const json_t *gpunodes, *slices, *pods, *events;
    const struct controller_stats *stats; /* NULL: no controller counters */
    uint64_t version;
};

/* The document; a new object, owned by the caller (NULL when out of
 * memory). Objects it cannot read are left out. */
json_t *dashboard_snapshot(const struct dashboard_input *in);

/* The document of what c's caches hold now (version 0), with events (an
 * array of Events; borrowed) and c's counters. */
json_t *dashboard_snapshot_of(struct controller *c, const json_t *events);

#endif
