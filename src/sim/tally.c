/*
 * Counting writes by kind (see tally.h): a store_ops table that forwards
 * every call to the inner store and, for a write that succeeded, adds one
 * to its kind.
 */
#include "sim/tally.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

struct tally_store {
    struct store base; /* first: the store interface */
    struct store *inner;
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
    return counted(t, res->plural, store_create(t->inner, res, ns, obj, o, out, e));
}

static int tally_get_one(struct store *st, const struct api_resource *res, const char *ns,
                         const char *name, json_t **out, struct err *e)
{
    return store_get(tally_of(st)->inner, res, ns, name, out, e);
}

static int tally_list(struct store *st, const struct api_resource *res, const char *ns,
                      const struct store_list_opts *o, json_t **out, struct err *e)
{
    return store_list(tally_of(st)->inner, res, ns, o, out, e);
}

static int tally_update(struct store *st, const struct api_resource *res, const char *ns,
                        const json_t *obj, const struct store_write_opts *o, json_t **out,
                        struct err *e)
{
    struct tally_store *t = tally_of(st);
    return counted(t, res->plural, store_update(t->inner, res, ns, obj, o, out, e));
}

static int tally_patch(struct store *st, const struct api_resource *res, const char *ns,
                       const char *name, enum store_patch_type type, const json_t *patch,
                       const struct store_write_opts *o, json_t **out, struct err *e)
{
    struct tally_store *t = tally_of(st);
    return counted(t, res->plural,
                   store_patch(t->inner, res, ns, name, type, patch, o, out, e));
}

static int tally_remove(struct store *st, const struct api_resource *res, const char *ns,
                        const char *name, const struct store_delete_opts *o, json_t **out,
                        struct err *e)
{
    struct tally_store *t = tally_of(st);
    return counted(t, res->plural, store_delete(t->inner, res, ns, name, o, out, e));
}

/* A binding writes the pod (spec.nodeName and its PodScheduled
 * condition). */
static int tally_bind(struct store *st, const char *ns, const char *pod, const char *node,
                      struct err *e)
{
    struct tally_store *t = tally_of(st);
    return counted(t, "pods", store_bind(t->inner, ns, pod, node, e));
}

/* The inner store's watch itself: its calls never come back here. */
static int tally_watch_open(struct store *st, const struct api_resource *res, const char *ns,
                            const struct store_watch_opts *o, struct store_watch **out,
                            struct err *e)
{
    return store_watch_open(tally_of(st)->inner, res, ns, o, out, e);
}

static void tally_destroy(struct store *st)
{
    free(tally_of(st));
}

static const struct store_ops tally_ops = {
    .name = "tally",
    .get = tally_get_one,
    .list = tally_list,
    .create = tally_create,
    .update = tally_update,
    .patch = tally_patch,
    .remove = tally_remove,
    .bind = tally_bind,
    .watch_open = tally_watch_open,
    .destroy = tally_destroy,
};

int tally_store_new(struct store *inner, struct store **out, struct err *e)
{
    (void)e;
    struct tally_store *t = alloc_calloc(1, sizeof *t);
    t->base = (struct store){.ops = &tally_ops, .registry = store_registry(inner)};
    t->inner = inner;
    *out = &t->base;
    return 0;
}

void tally_get(struct store *st, struct tally_counts *out)
{
    if (st && st->ops == &tally_ops)
        *out = tally_of(st)->counts;
    else
        *out = (struct tally_counts){0};
}
