/*
 * The agent's invariant (agent.h): the slices on a node's GPUs are exactly
 * the slices its live GPUSlices name. Tests and the simulator call it at
 * rest; it reads the store and the device itself.
 */
#include "agent/agent_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/gpunode.h"
#include "api/meta.h"
#include "util/alloc.h"

struct report {
    char text[ERR_MSG_MAX];
    size_t len;
    unsigned leaked, missing;
};

static void say(struct report *r, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(struct report *r, const char *what, const char *fmt, ...)
{
    if (r->len >= sizeof r->text - 1)
        return;
    int n = snprintf(r->text + r->len, sizeof r->text - r->len, "%s%s: ", r->len ? "; " : "",
                     what);
    if (n > 0)
        r->len += (size_t)n;
    if (r->len >= sizeof r->text - 1) {
        r->len = sizeof r->text - 1;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(r->text + r->len, sizeof r->text - r->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        r->len += (size_t)n;
    if (r->len >= sizeof r->text)
        r->len = sizeof r->text - 1;
}

/* Whether the GPUSlice v (live) names the device slice s. */
static bool names(const struct device_inventory *inv, const struct gpuslice_view *v,
                  const struct device_slice *s)
{
    if (strcmp(v->spec.gpu_uuid, s->gpu_uuid) != 0 || v->spec.start != s->placement.start ||
        s->gpu_index >= inv->n_gpus || !inv->gpus[s->gpu_index].model)
        return false;
    const struct mig_profile *p = catalog_find_profile(inv->gpus[s->gpu_index].model,
                                                       v->spec.profile);
    return p && p->nvml_id == s->profile_id;
}

/* Whether the GPUNode reports s as not made by gpuslice. */
static bool unmanaged(const struct gpunode_view *gn, const struct device_slice *s)
{
    for (size_t g = 0; g < gn->n_gpus; g++)
        for (size_t i = 0; strcmp(gn->gpus[g].uuid, s->gpu_uuid) == 0 && i < gn->gpus[g].n_slices;
             i++)
            if (gn->gpus[g].slices[i].start == s->placement.start &&
                strcmp(gn->gpus[g].slices[i].profile, s->profile) == 0)
                return !gn->gpus[g].slices[i].managed;
    return false;
}

static void compare(const struct device_inventory *inv, const struct device_slices *dev,
                    const json_t *items, const struct gpunode_view *gn, struct report *r)
{
    size_t n = json_array_size(items);
    for (unsigned k = 0; k < dev->n; k++) {
        const struct device_slice *s = &dev->items[k];
        bool held = false;
        for (size_t i = 0; i < n && !held; i++) {
            struct gpuslice_view v;
            enum slice_phase p;
            held = gpuslice_read(json_array_get(items, i), &v, NULL) == 0 &&
                   lifecycle_phase_parse(v.status.phase, &p, NULL) == 0 &&
                   !lifecycle_is_terminal(p) && names(inv, &v, s);
        }
        if (!held && !unmanaged(gn, s)) {
            r->leaked++;
            say(r, "leaked", "%s %s at %u", s->gpu_uuid, s->profile, s->placement.start);
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct gpuslice_view v;
        enum slice_phase p;
        if (gpuslice_read(json_array_get(items, i), &v, NULL) < 0 ||
            lifecycle_phase_parse(v.status.phase, &p, NULL) < 0 || lifecycle_is_terminal(p) ||
            v.spec.sharing != POD_SHARING_NONE) /* a share has no slice on the device */
            continue;
        bool there = false;
        for (unsigned k = 0; k < dev->n && !there; k++)
            there = names(inv, &v, &dev->items[k]) && dev->items[k].uuid[0];
        if (!there) {
            r->missing++;
            say(r, "missing", "%s/%s (%s) at %s %s %u", v.ns, v.name, v.status.phase,
                v.spec.gpu_uuid, v.spec.profile, v.spec.start);
        }
    }
}

static int read_store(struct store *st, const char *node, json_t **slices, json_t **gpunode,
                      struct err *e)
{
    struct api_registry *reg = store_registry(st);
    const struct api_resource *rs = api_registry_find(reg, GPUSLICE_API_GROUP, "v1alpha1",
                                                      "gpuslices");
    const struct api_resource *rn = api_registry_find(reg, GPUSLICE_API_GROUP, "v1alpha1",
                                                      "gpunodes");
    if (!rs || !rn)
        return err_set(e, -ENOENT, "agent invariant: the store serves no GPUSlices or GPUNodes");
    char selector[AGENT_NODE_MAX + 32];
    snprintf(selector, sizeof selector, "%s=%s", AGENT_LABEL_NODE, node);
    struct store_list_opts o = {.label_selector = selector};
    int rc = store_list(st, rs, NULL, &o, slices, e);
    if (rc < 0)
        return rc;
    rc = store_get(st, rn, NULL, node, gpunode, NULL);
    return rc == -ENOENT ? 0 : rc;
}

int agent_invariant_check(struct store *st, struct device *dev, const char *node,
                          unsigned *leaked, unsigned *missing, struct err *e)
{
    if (!st || !dev || !node)
        return err_set(e, -EINVAL, "agent invariant: needs a store, a device and a node");
    struct device_inventory *inv = alloc_calloc(1, sizeof *inv);
    struct device_slices *slices = alloc_calloc(1, sizeof *slices);
    json_t *list = NULL, *gpunode = NULL;
    struct report r = {.len = 0};
    int rc = device_discover(dev, inv, NULL, e);
    if (rc == 0)
        rc = device_list_slices(dev, slices, NULL, e);
    if (rc == 0)
        rc = read_store(st, node, &list, &gpunode, e);
    struct gpunode_view gn = {.n_gpus = 0};
    if (rc == 0 && gpunode)
        gpunode_read(gpunode, &gn, NULL);
    if (rc == 0)
        compare(inv, slices, json_object_get(list, "items"), &gn, &r);
    if (rc == 0 && (r.leaked || r.missing))
        rc = err_set(e, -EPROTO, "node %s: %s", node, r.text);
    if (leaked)
        *leaked = r.leaked;
    if (missing)
        *missing = r.missing;
    json_decref(list);
    json_decref(gpunode);
    free(inv);
    free(slices);
    return rc;
}
