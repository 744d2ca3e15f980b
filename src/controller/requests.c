/*
 * No slice without a request: a pod's gpuslice.dev/slices annotation is
 * what the controller places, but what quotas charge is the pod's
 * resources, where the webhook wrote each container's slices as
 * gpuslice.dev/accelerator-memory. An annotation written by hand (or left
 * by a pod edited since) could ask for slices no quota counts, or for a
 * container the pod does not have; so every container the annotation
 * names must exist and request at least the memory of its slices, counted
 * as the webhook counts it (catalog_name_gib per profile, memoryGiB as
 * is, an MPS share's too; a time-sliced GPU pins no memory and is charged
 * none, so it needs no request). A pod without the annotation asks by its own resources (gated by
 * hand): nothing to check.
 */
#include <stdio.h>
#include <string.h>

#include "api/meta.h"
#include "api/pod_slices.h"
#include "controller/controller_internal.h"
#include "core/catalog.h"

/* The GiB the annotation's entries for one container ask for in all. */
static int annotated_gib(const struct pod_slices *ps, const struct pod_slice_request *r,
                         unsigned *out, struct err *e)
{
    unsigned total = 0;
    for (size_t k = 0; k < ps->n; k++) {
        const struct pod_slice_request *q = &ps->items[k];
        unsigned gib = q->memory_gib;
        if (q->init != r->init || strcmp(q->container, r->container) != 0)
            continue;
        if (!gib && !q->sharing && catalog_name_gib(q->profile, &gib) != 0)
            return err_set(e, -EPERM, "container \"%s\" asks for profile %s, which no GPU model "
                           "has", q->container, q->profile);
        total += gib * q->count;
    }
    *out = total;
    return 0;
}

static int container_requested(const json_t *pod, const struct pod_slices *ps,
                               const struct pod_slice_request *r, struct err *e)
{
    unsigned asked = 0, requested = 0;
    struct err why;
    int rc = pod_container_memory_gib(pod, r->container, r->init, &requested, &why);
    if (rc == -ENOENT)
        return err_set(e, -EPERM, "the %s annotation names %s \"%s\", which the pod does not "
                       "have", GPUSLICE_ANNOTATION_SLICES,
                       r->init ? "init container" : "container", r->container);
    if (rc < 0)
        return err_set(e, -EPERM, "%s", why.msg);
    if ((rc = annotated_gib(ps, r, &asked, e)) < 0 || asked == 0)
        return rc; /* a time-sliced GPU pins no memory: nothing to back */
    if (requested == 0)
        return err_set(e, -EPERM, "container \"%s\" requests no %s, so no quota counts its "
                       "slices", r->container, GPUSLICE_RESOURCE_MEMORY);
    if (asked > requested)
        rc = err_set(e, -EPERM, "container \"%s\": the %s annotation asks for %u GiB of slices, "
                     "more than its %s request (%u)", r->container, GPUSLICE_ANNOTATION_SLICES,
                     asked, GPUSLICE_RESOURCE_MEMORY, requested);
    return rc;
}

int controller__slices_requested(const json_t *pod, const struct pod_slices *ps, struct err *e)
{
    /* Slices read from the requests are backed by them: only the
     * annotation's need the check (read once, by pod_slices_of). */
    if (!meta_annotation(pod, GPUSLICE_ANNOTATION_SLICES))
        return 0;
    for (size_t k = 0; k < ps->n; k++) {
        int rc = container_requested(pod, ps, &ps->items[k], e);
        if (rc < 0)
            return rc;
    }
    return 0;
}
