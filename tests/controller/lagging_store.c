/* A store with lost create replies and held watches (see lagging_store.h). */
#include "lagging_store.h"

#include <stdlib.h>

struct lagging_store {
    struct store base;
    struct store *inner;
    struct lagging *faults;
};

struct lagging_watch {
    struct store_watch base;
    struct store_watch *inner;
    struct lagging *faults;
    bool held; /* a watch of the faulted resource */
};

static struct store *inner_of(struct store *st)
{
    return ((struct lagging_store *)st)->inner;
}

static int l_get(struct store *st, const struct api_resource *res, const char *ns,
                 const char *name, json_t **out, struct err *e)
{
    return store_get(inner_of(st), res, ns, name, out, e);
}

static int l_list(struct store *st, const struct api_resource *res, const char *ns,
                  const struct store_list_opts *o, json_t **out, struct err *e)
{
    return store_list(inner_of(st), res, ns, o, out, e);
}

static int l_create(struct store *st, const struct api_resource *res, const char *ns,
                    const json_t *obj, const struct store_write_opts *o, json_t **out,
                    struct err *e)
{
    struct lagging_store *ls = (struct lagging_store *)st;
    struct lagging *f = ls->faults;
    int rc = store_create(ls->inner, res, ns, obj, o, out, e);
    if (rc < 0 || res != f->res || f->lose_create_replies == 0)
        return rc;
    f->lose_create_replies--;
    if (out) {
        json_decref(*out);
        *out = NULL;
    }
    return err_set(e, -ETIMEDOUT, "lagging store: the reply to a create was lost");
}

static int l_update(struct store *st, const struct api_resource *res, const char *ns,
                    const json_t *obj, const struct store_write_opts *o, json_t **out,
                    struct err *e)
{
    struct lagging *f = ((struct lagging_store *)st)->faults;
    json_t *written = NULL;
    int rc = store_update(inner_of(st), res, ns, obj, o, &written, e);
    if (rc == 0 && res == f->res && f->after_update)
        f->after_update(f->after_update_ctx, written);
    if (out)
        *out = written;
    else
        json_decref(written);
    return rc;
}

static int l_patch(struct store *st, const struct api_resource *res, const char *ns,
                   const char *name, enum store_patch_type type, const json_t *patch,
                   const struct store_write_opts *o, json_t **out, struct err *e)
{
    return store_patch(inner_of(st), res, ns, name, type, patch, o, out, e);
}

static int l_remove(struct store *st, const struct api_resource *res, const char *ns,
                    const char *name, const struct store_delete_opts *o, json_t **out,
                    struct err *e)
{
    return store_delete(inner_of(st), res, ns, name, o, out, e);
}

static int l_bind(struct store *st, const char *ns, const char *pod, const char *node,
                  struct err *e)
{
    return store_bind(inner_of(st), ns, pod, node, e);
}

static const struct store_ops lagging_ops;

static int l_watch_open(struct store *st, const struct api_resource *res, const char *ns,
                        const struct store_watch_opts *o, struct store_watch **out,
                        struct err *e)
{
    struct lagging_store *ls = (struct lagging_store *)st;
    struct store_watch *inner = NULL;
    int rc = store_watch_open(ls->inner, res, ns, o, &inner, e);
    if (rc < 0)
        return rc;
    struct lagging_watch *w = calloc(1, sizeof *w);
    w->base.ops = &lagging_ops;
    w->inner = inner;
    w->faults = ls->faults;
    w->held = res == ls->faults->res;
    *out = &w->base;
    return 0;
}

static int l_watch_next(struct store_watch *sw, int timeout_ms, struct store_event *ev,
                        struct err *e)
{
    struct lagging_watch *w = (struct lagging_watch *)sw;
    if (w->held && w->faults->hold_watch)
        return err_set(e, -EAGAIN, "lagging store: the watch is held");
    return store_watch_next(w->inner, timeout_ms, ev, e);
}

static void l_watch_cancel(struct store_watch *sw)
{
    store_watch_cancel(((struct lagging_watch *)sw)->inner);
}

static void l_watch_close(struct store_watch *sw)
{
    store_watch_close(((struct lagging_watch *)sw)->inner);
    free(sw);
}

static void l_destroy(struct store *st)
{
    store_free(inner_of(st));
    free(st);
}

static const struct store_ops lagging_ops = {
    .name = "lagging",
    .get = l_get, .list = l_list, .create = l_create, .update = l_update, .patch = l_patch,
    .remove = l_remove, .bind = l_bind, .watch_open = l_watch_open,
    .watch_next = l_watch_next, .watch_cancel = l_watch_cancel,
    .watch_close = l_watch_close, .destroy = l_destroy,
};

struct store *lagging_store_new(struct store *inner, struct lagging *faults)
{
    struct lagging_store *ls = calloc(1, sizeof *ls);
    ls->base.ops = &lagging_ops;
    ls->base.registry = inner->registry;
    ls->inner = inner;
    ls->faults = faults;
    return &ls->base;
}
