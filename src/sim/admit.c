/*
 * In-process admission of pod creates (see admit.h): a store that
 * forwards to the inner store (sim/forward.h), and a create that mutates
 * pods first.
 */
#include "sim/admit.h"

#include <stdio.h>
#include <string.h>

#include "api/meta.h"
#include "api/patch.h"
#include "api/pod_slices.h"
#include "sim/forward.h"
#include "util/alloc.h"
#include "util/rng.h"
#include "webhook/mutate.h"

struct admit_store {
    struct forward_store fwd; /* first: the store interface and the inner store */
    const struct api_resource *namespaces;
    struct rng prefixes;
    struct admit_stats stats;
};

static struct admit_store *admit_of(struct store *st)
{
    return (struct admit_store *)st;
}

/* Whether ns is opted in: its label gpuslice.dev/enabled is "true" (the
 * webhook configuration's namespaceSelector) and the webhook may mutate
 * there. */
static bool opted_in(struct admit_store *a, const char *ns)
{
    if (!ns || mutate_excluded_namespace(ns))
        return false;
    json_t *obj = NULL;
    if (store_get(a->fwd.inner, a->namespaces, NULL, ns, &obj, NULL) < 0)
        return false;
    const char *v = json_string_value(
        json_object_get(json_object_get(json_object_get(obj, "metadata"), "labels"),
                        GPUSLICE_NAMESPACE_OPT_IN));
    bool in = v && strcmp(v, "true") == 0;
    json_decref(obj);
    return in;
}

/* "gs-" and ten characters of [a-z0-9] from the seeded sequence, as the
 * webhook's random prefix looks. */
static void next_prefix(struct admit_store *a, char out[MUTATE_PREFIX_MAX])
{
    static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint64_t r = rng_next(&a->prefixes);
    memcpy(out, "gs-", 3);
    for (size_t i = 0; i < 10; i++, r /= 36)
        out[3 + i] = digits[r % 36];
    out[13] = '\0';
}

/* The pod as admission leaves it: *out a new reference (obj itself when
 * nothing changes). */
static int admit_pod(struct admit_store *a, const char *ns, const json_t *obj, json_t **out,
                     struct err *e)
{
    *out = json_incref((json_t *)obj);
    if (!opted_in(a, ns ? ns : meta_namespace(obj)))
        return 0;
    char prefix[MUTATE_PREFIX_MAX];
    next_prefix(a, prefix);
    json_t *ops = NULL;
    int rc = mutate_pod(obj, prefix, &ops, e);
    if (rc < 0) {
        a->stats.denied++;
        return err_prefix(e, -EINVAL,
                          "admission webhook \"pods.gpuslice.dev\" denied the request: ");
    }
    if (!ops)
        return 0;
    json_t *patched = NULL;
    rc = patch_json(obj, ops, &patched, e);
    json_decref(ops);
    if (rc < 0)
        return err_prefix(e, rc, "admission: the webhook's patch does not apply: ");
    json_decref(*out);
    *out = patched;
    a->stats.mutated++;
    return 0;
}

/* Built-in resources are compared by name: the registry may hand out new
 * entries as CRDs come and go. */
static bool is_pods(const struct api_resource *res)
{
    return res->group[0] == '\0' && strcmp(res->plural, "pods") == 0;
}

static int admit_create(struct store *st, const struct api_resource *res, const char *ns,
                        const json_t *obj, const struct store_write_opts *o, json_t **out,
                        struct err *e)
{
    struct admit_store *a = admit_of(st);
    if (!is_pods(res))
        return store_create(a->fwd.inner, res, ns, obj, o, out, e);
    json_t *admitted = NULL;
    int rc = admit_pod(a, ns, obj, &admitted, e);
    /* A patched pod is a document of admission's own (patch_json copies
     * every container): the store may keep it instead of copying it. */
    struct store_write_opts mine = *o;
    mine.handed_over = o->handed_over || admitted != obj;
    if (rc == 0)
        rc = store_create(a->fwd.inner, res, ns, admitted, &mine, out, e);
    json_decref(admitted);
    return rc;
}

static const struct store_ops admit_ops = {
    .name = "admit",
    .get = forward_get,
    .list = forward_list,
    .create = admit_create,
    .update = forward_update,
    .patch = forward_patch,
    .remove = forward_remove,
    .bind = forward_bind,
    .watch_open = forward_watch_open,
    .destroy = forward_destroy,
};

int admit_store_new(struct store *inner, uint64_t seed, struct store **out, struct err *e)
{
    struct api_registry *reg = store_registry(inner);
    const struct api_resource *namespaces = api_registry_find(reg, "", "v1", "namespaces");
    if (!namespaces)
        return err_set(e, -ENOENT, "admission: the store serves no namespaces");
    struct admit_store *a = alloc_calloc(1, sizeof *a);
    forward_init(&a->fwd, &admit_ops, inner);
    a->namespaces = namespaces;
    a->prefixes = rng_seeded(rng_derive(seed, 'A', 0));
    *out = &a->fwd.base;
    return 0;
}

void admit_get_stats(struct store *st, struct admit_stats *out)
{
    *out = st->ops == &admit_ops ? admit_of(st)->stats : (struct admit_stats){0};
}
