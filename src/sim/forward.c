/*
 * Forwarding to the inner store (see forward.h): each call as it came.
 */
#include "sim/forward.h"

#include <stdlib.h>

void forward_init(struct forward_store *f, const struct store_ops *ops, struct store *inner)
{
    f->base = (struct store){.ops = ops, .registry = store_registry(inner)};
    f->inner = inner;
}

struct store *forward_inner(struct store *st)
{
    return ((struct forward_store *)st)->inner;
}

int forward_get(struct store *st, const struct api_resource *res, const char *ns,
                const char *name, json_t **out, struct err *e)
{
    return store_get(forward_inner(st), res, ns, name, out, e);
}

int forward_list(struct store *st, const struct api_resource *res, const char *ns,
                 const struct store_list_opts *o, json_t **out, struct err *e)
{
    return store_list(forward_inner(st), res, ns, o, out, e);
}

int forward_create(struct store *st, const struct api_resource *res, const char *ns,
                   const json_t *obj, const struct store_write_opts *o, json_t **out,
                   struct err *e)
{
    return store_create(forward_inner(st), res, ns, obj, o, out, e);
}

int forward_update(struct store *st, const struct api_resource *res, const char *ns,
                   const json_t *obj, const struct store_write_opts *o, json_t **out,
                   struct err *e)
{
    return store_update(forward_inner(st), res, ns, obj, o, out, e);
}

int forward_patch(struct store *st, const struct api_resource *res, const char *ns,
                  const char *name, enum store_patch_type type, const json_t *patch,
                  const struct store_write_opts *o, json_t **out, struct err *e)
{
    return store_patch(forward_inner(st), res, ns, name, type, patch, o, out, e);
}

int forward_remove(struct store *st, const struct api_resource *res, const char *ns,
                   const char *name, const struct store_delete_opts *o, json_t **out,
                   struct err *e)
{
    return store_delete(forward_inner(st), res, ns, name, o, out, e);
}

int forward_bind(struct store *st, const char *ns, const char *pod, const char *node,
                 struct err *e)
{
    return store_bind(forward_inner(st), ns, pod, node, e);
}

int forward_watch_open(struct store *st, const struct api_resource *res, const char *ns,
                       const struct store_watch_opts *o, struct store_watch **out,
                       struct err *e)
{
    return store_watch_open(forward_inner(st), res, ns, o, out, e);
}

void forward_destroy(struct store *st)
{
    free(st); /* the wrapper, which starts with its forward_store */
}
