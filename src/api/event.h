/*
 * Events (core/v1): what the controller, the agent and the embedded
 * cluster tell users about an object, as `kubectl describe` shows them.
 *
 * event_new builds one the way client-go's recorder does: named after the
 * object with a generated suffix, in the object's namespace ("default" for a
 * cluster-scoped object), with involvedObject, reason, message, type,
 * source.component and reportingComponent, count 1 and first/last
 * timestamps.
 */
#ifndef GPUSLICE_API_EVENT_H
#define GPUSLICE_API_EVENT_H

#include <stdint.h>

#include <jansson.h>

#include "util/err.h"

#define EVENT_NORMAL "Normal"
#define EVENT_WARNING "Warning"

struct event_spec {
    const char *type;      /* EVENT_NORMAL or EVENT_WARNING */
    const char *reason;    /* UpperCamelCase: "SliceCreated" */
    const char *message;
    const char *component; /* who reports: "gpuslice-controller" */
};

/* An Event about involved (an object with apiVersion, kind and metadata)
 * at now_ns; new reference owned by the caller, NULL when out of memory or
 * when involved has no name. */
json_t *event_new(const json_t *involved, const struct event_spec *s, int64_t now_ns);

struct event_view {
    const char *name, *ns;
    const char *type, *reason, *message;
    const char *kind, *object, *object_ns, *object_uid; /* involvedObject */
    int64_t count;
};

/* Reads an Event: involvedObject.kind and name required, type Normal or
 * Warning (or absent: Normal), count a number. -EINVAL naming the field. */
int event_read(const json_t *ev, struct event_view *v, struct err *e);

#endif
