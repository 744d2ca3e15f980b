/*
 * Counting writes by kind (see tally.h): a store that forwards every call
 * to the inner store (sim/forward.h) and, for a write that succeeded, adds
 * one to its kind.
 */
#include "sim/tally.h"

#include <stdio.h>
#include <string.h>

#include "sim/forward.h"
#include "util/alloc.h"

struct tally_store {
    struct forward_store fwd; /* first: the store interface and the inner store */
    struct tally_counts counts;
};

static struct tally_store *tally_of(struct store *st)
{
    return (struct tally_store *)st;
}

/* One more write of plural when rc says it landed; returns rc. */
static int counted(struct tally_store *t, const char *plural, int rc)
{
    if (rc < 0)
        return rc;
    struct tally_counts *c = &t->counts;
    c->total++;
    size_t k = 0;
    while (k < c->n_kinds && strcmp(c->kinds[k].plural, plural) != 0)
        k++;
    if (k == c->n_kinds && k < TALLY_KINDS_MAX)
        snprintf(c->kinds[c->n_kinds++].plural, sizeof c->kinds[k].plural, "%s", plural);
    if (k < c->n_kinds)
        c->kinds[k].writes++;
    return rc;
}

static int tally_create(struct store *st, const struct api_resource *res, const char *ns,
                        const json_t *obj, const struct store_write_opts *o, json_t **out,
                        struct err *e)
{
    struct tally_store *t = tally_of(st);
    return counted(t, res->plural, store_create(t->fwd.inner, res, ns, obj, o, out, e));
}

static int tally_update(struct store *st, const struct api_resource *res, const char *ns,
                        const json_t *obj, const struct store_write_opts *o, json_t **out,
                        struct err *e)
{
    struct tally_store *t = tally_of(st);
    return counted(t, res->plural, store_update(t->fwd.inner, res, ns, obj, o, out, e));
}

static int tally_patch(struct store *st, const struct api_resource *res, const char *ns,
                       const char *name, enum store_patch_type type, const json_t *patch,
                       const struct store_write_opts *o, json_t **out, struct err *e)
{
    struct tally_store *t = tally_of(st);
    return counted(t, res->plural,
                   store_patch(t->fwd.inner, res, ns, name, type, patch, o, out, e));
}

static int tally_remove(struct store *st, const struct api_resource *res, const char *ns,
                        const char *name, const struct store_delete_opts *o, json_t **out,
                        struct err *e)
{
    struct tally_store *t = tally_of(st);
    return counted(t, res->plural, store_delete(t->fwd.inner, res, ns, name, o, out, e));
}

/* A binding writes the pod (spec.nodeName and its PodScheduled
 * condition). */
static int tally_bind(struct store *st, const char *ns, const char *pod, const char *node,
                      struct err *e)
{
    struct tally_store *t = tally_of(st);
    return counted(t, "pods", store_bind(t->fwd.inner, ns, pod, node, e));
}

static const struct store_ops tally_ops = {
    .name = "tally",
    .get = forward_get,
    .list = forward_list,
    .create = tally_create,
    .update = tally_update,
    .patch = tally_patch,
    .remove = tally_remove,
    .bind = tally_bind,
    .watch_open = forward_watch_open,
    .destroy = forward_destroy,
};

int tally_store_new(struct store *inner, struct store **out, struct err *e)
{
    (void)e;
    struct tally_store *t = alloc_calloc(1, sizeof *t);
    forward_init(&t->fwd, &tally_ops, inner);
    *out = &t->fwd.base;
    return 0;
}

void tally_get(struct store *st, struct tally_counts *out)
{
    if (st && st->ops == &tally_ops)
        *out = tally_of(st)->counts;
    else
        *out = (struct tally_counts){0};
}
