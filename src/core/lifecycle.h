/*
 * The life of one GPU slice, as the phase in its GPUSlice status.
 *
 * The controller and the agent both move a slice from phase to phase; this
 * is the one table that says which moves are legal, so that neither can
 * invent one (docs/architecture.md, "Where state lives"). Phases are
 * written in the GPUSlice status under the names lifecycle_phase_name
 * returns.
 */
#ifndef GPUSLICE_CORE_LIFECYCLE_H
#define GPUSLICE_CORE_LIFECYCLE_H

#include <stdbool.h>

#include "util/err.h"

enum slice_phase {
    SLICE_CREATING, /* the controller chose a place and reserved it */
    SLICE_CREATED,  /* the agent made the slice on the GPU */
    SLICE_UNGATED,  /* the pod is released to the scheduler, pinned to the node */
    SLICE_DELETING, /* the pod ended or was deleted (lifecycle_seen: or the object is) */
    SLICE_DELETED,  /* the agent destroyed the slice (written for a Deleting status only) */
    SLICE_FAILED,   /* creating or handing over the slice failed */
    SLICE_WARM,     /* its pod ended; kept on the GPU for the namespace's next pod */
};

#define SLICE_PHASE_COUNT 7

/* "Creating", "Created", ...; NULL when p is not a phase. */
const char *lifecycle_phase_name(enum slice_phase p);

/* Parses a status phase, exactly as lifecycle_phase_name writes it (phases
 * are case-sensitive, as in every Kubernetes API). -EINVAL with a message
 * naming the text when it is not a phase. */
int lifecycle_phase_parse(const char *s, enum slice_phase *out, struct err *e);

/* 0 when a slice may go from `from` to `to`; otherwise -EINVAL and a message
 * naming both ("slice phase Deleted cannot go to Created"). Staying in the
 * same phase is not a transition and is refused too. */
int lifecycle_transition(enum slice_phase from, enum slice_phase to, struct err *e);

/* True for phases no transition leaves (Deleted, Failed). */
bool lifecycle_is_terminal(enum slice_phase p);

/* The phase of a slice whose status says `p` and whose object is being
 * deleted (metadata.deletionTimestamp) or not: Deleting when it is and p
 * is not final, else p. The controller releases a slice by deleting its
 * GPUSlice, not by writing Deleting: the deletionTimestamp is the one
 * write, the status keeps the phase the slice was in, and the agent's
 * finalizer keeps the object (and its placement taken) until the device
 * slice is gone. Every reader that asks "is it on its way out" asks this. */
enum slice_phase lifecycle_seen(enum slice_phase p, bool deleting);

/* The same for a status's phase text, as a name (what a report shows):
 * NULL is Creating (a GPUSlice without status yet); a text that names no
 * phase is returned as it is. */
const char *lifecycle_seen_name(const char *phase, bool deleting);

#endif
