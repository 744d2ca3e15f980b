/*
 * A memo of pod_slices_of for a reader that asks again and again about
 * the same pods (the controller decides a pod at every event of it and
 * of its slices, and each time parsed the gpuslice.dev/slices annotation
 * anew: a JSON parse per decision).
 *
 * A slot is keyed by the annotation's string value itself, a reference
 * the memo holds: values are never changed once a pod is read (no code
 * calls json_string_set), so while the memo holds the value its address
 * names that very text and no other. An in-process store hands every
 * version of a pod the same annotation value (a new version shares what
 * it does not change), so the memo answers every decision after the first;
 * a pod parsed from the wire carries a value of its own per version and
 * merely misses (util/jmemo). Only annotations that read well are kept:
 * a bad one or a pod without one is read again each time, errors and all.
 *
 * Not thread-safe: the owner serialises calls (the controller's lock).
 */
#ifndef GPUSLICE_API_POD_SLICES_MEMO_H
#define GPUSLICE_API_POD_SLICES_MEMO_H

#include <jansson.h>

#include "api/pod_slices.h"
#include "util/err.h"
#include "util/jmemo.h"

/* A memo for pod_slices_memo_of; jmemo_free frees it. */
struct jmemo *pod_slices_memo_new(void);
/* pod_slices_of(pod, out, e), answered from the memo when it holds the
 * pod's annotation. */
int pod_slices_memo_of(struct jmemo *m, const json_t *pod, struct pod_slices *out,
                       struct err *e);

#endif
