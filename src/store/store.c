/*
 * The backend-independent half of store.h: argument checks every backend
 * would otherwise repeat (scope versus namespace, missing names), dispatch
 * through the vtable, and the shared blob and event helpers.
 */
#include "store/store.h"
#include "util/alloc.h"
#include "util/jsontext.h"

#include <stdlib.h>
#include <string.h>

static bool store_empty(const char *s)
{
    return !s || !*s;
}

/* A namespaced resource needs a namespace to name one object; a
 * cluster-scoped one takes none. */
static int store_check_scope(const struct store *st, const struct api_resource *res,
                             const char *ns, bool need_ns, struct err *e)
{
    if (!st || !res)
        return err_set(e, -EINVAL, "store: no %s given", st ? "resource" : "store");
    if (!res->namespaced && !store_empty(ns))
        return err_set(e, -ENOENT, "%s is cluster-scoped: no namespace \"%s\" for it",
                       res->plural, ns);
    if (res->namespaced && need_ns && store_empty(ns))
        return err_set(e, -EBADMSG, "%s: a namespace is required", res->plural);
    return 0;
}

static int store_check_name(const struct api_resource *res, const char *name, struct err *e)
{
    if (store_empty(name))
        return err_set(e, -EBADMSG, "%s: resource name may not be empty", res->plural);
    return 0;
}

struct api_registry *store_registry(struct store *st)
{
    return st->registry;
}

int store_get(struct store *st, const struct api_resource *res, const char *ns,
              const char *name, json_t **out, struct err *e)
{
    *out = NULL;
    int rc = store_check_scope(st, res, ns, true, e);
    if (rc == 0)
        rc = store_check_name(res, name, e);
    return rc ? rc : st->ops->get(st, res, ns, name, out, e);
}

int store_get_shared(struct store *st, const struct api_resource *res, const char *ns,
                     const char *name, json_t **out, struct err *e)
{
    *out = NULL;
    int rc = store_check_scope(st, res, ns, true, e);
    if (rc == 0)
        rc = store_check_name(res, name, e);
    if (rc)
        return rc;
    return st->ops->get_shared ? st->ops->get_shared(st, res, ns, name, out, e)
                               : st->ops->get(st, res, ns, name, out, e);
}

int store_list(struct store *st, const struct api_resource *res, const char *ns,
               const struct store_list_opts *o, json_t **out, struct err *e)
{
    static const struct store_list_opts none;
    *out = NULL;
    int rc = store_check_scope(st, res, ns, false, e);
    return rc ? rc : st->ops->list(st, res, ns, o ? o : &none, out, e);
}

static const struct store_write_opts store_write_defaults;

/* What a create and an update check before the backend sees them; clears
 * *out (may be NULL). */
static int check_whole_write(struct store *st, const struct api_resource *res, const char *ns,
                             const json_t *obj, json_t **out, struct err *e)
{
    if (out)
        *out = NULL;
    int rc = store_check_scope(st, res, ns, false, e);
    if (rc == 0 && !json_is_object(obj))
        rc = err_set(e, -EBADMSG, "%s: the body must be a JSON object", res->plural);
    return rc;
}

/* A write's text stays NULL unless the backend fills it. */
static void store_raw_clear(const struct store_write_opts *o)
{
    if (o && o->raw)
        *o->raw = NULL;
}

int store_create(struct store *st, const struct api_resource *res, const char *ns,
                 const json_t *obj, const struct store_write_opts *o, json_t **out,
                 struct err *e)
{
    store_raw_clear(o);
    int rc = check_whole_write(st, res, ns, obj, out, e);
    return rc ? rc : st->ops->create(st, res, ns, obj, o ? o : &store_write_defaults, out, e);
}

int store_update(struct store *st, const struct api_resource *res, const char *ns,
                 const json_t *obj, const struct store_write_opts *o, json_t **out,
                 struct err *e)
{
    store_raw_clear(o);
    int rc = check_whole_write(st, res, ns, obj, out, e);
    return rc ? rc : st->ops->update(st, res, ns, obj, o ? o : &store_write_defaults, out, e);
}

int store_patch(struct store *st, const struct api_resource *res, const char *ns,
                const char *name, enum store_patch_type type, const json_t *patch,
                const struct store_write_opts *o, json_t **out, struct err *e)
{
    if (out)
        *out = NULL;
    store_raw_clear(o);
    int rc = store_check_scope(st, res, ns, true, e);
    if (rc == 0)
        rc = store_check_name(res, name, e);
    if (rc == 0 && !patch)
        rc = err_set(e, -EBADMSG, "%s \"%s\": no patch given", res->plural, name);
    return rc ? rc
              : st->ops->patch(st, res, ns, name, type, patch, o ? o : &store_write_defaults,
                               out, e);
}

int store_delete(struct store *st, const struct api_resource *res, const char *ns,
                 const char *name, const struct store_delete_opts *o, json_t **out,
                 struct err *e)
{
    static const struct store_delete_opts none;
    if (out)
        *out = NULL;
    int rc = store_check_scope(st, res, ns, true, e);
    if (rc == 0)
        rc = store_check_name(res, name, e);
    if (rc == 0 && o && o->has_grace && (o->grace_s < 0 || o->grace_s > STORE_GRACE_MAX_S))
        rc = err_set(e, -EINVAL,
                     "gracePeriodSeconds: Invalid value: %lld: must be >= 0 and at most %lld",
                     (long long)o->grace_s, STORE_GRACE_MAX_S);
    return rc ? rc : st->ops->remove(st, res, ns, name, o ? o : &none, out, e);
}

int store_bind(struct store *st, const char *ns, const char *pod, const char *node,
               struct err *e)
{
    if (!st)
        return err_set(e, -EINVAL, "store: no store given");
    if (store_empty(ns) || store_empty(pod))
        return err_set(e, -EBADMSG, "pods/binding: namespace and pod name are required");
    if (store_empty(node))
        return err_set(e, -EINVAL, "target.name: Required value");
    return st->ops->bind(st, ns, pod, node, e);
}

int store_watch_open(struct store *st, const struct api_resource *res, const char *ns,
                     const struct store_watch_opts *o, struct store_watch **out,
                     struct err *e)
{
    static const struct store_watch_opts none;
    *out = NULL;
    int rc = store_check_scope(st, res, ns, false, e);
    return rc ? rc : st->ops->watch_open(st, res, ns, o ? o : &none, out, e);
}

int store_watch_next(struct store_watch *w, int timeout_ms, struct store_event *ev,
                     struct err *e)
{
    memset(ev, 0, sizeof *ev);
    return w->ops->watch_next(w, timeout_ms, ev, e);
}

void store_watch_cancel(struct store_watch *w)
{
    w->ops->watch_cancel(w);
}

void store_watch_close(struct store_watch *w)
{
    if (w)
        w->ops->watch_close(w);
}

void store_event_release(struct store_event *ev)
{
    json_decref(ev->object);
    store_blob_unref(ev->raw);
    memset(ev, 0, sizeof *ev);
}

const char *store_event_name(enum store_event_type type)
{
    switch (type) {
    case STORE_ADDED:
        return "ADDED";
    case STORE_MODIFIED:
        return "MODIFIED";
    case STORE_DELETED:
        return "DELETED";
    case STORE_BOOKMARK:
        return "BOOKMARK";
    }
    return "ERROR";
}

void store_free(struct store *st)
{
    if (st)
        st->ops->destroy(st);
}

struct store_blob *store_blob_new(const char *data, size_t len)
{
    struct store_blob *b = alloc_malloc(sizeof *b + len + 1);
    b->refs = 1;
    b->len = len;
    memcpy(b->data, data, len);
    b->data[len] = '\0';
    return b;
}

struct store_blob *store_blob_dump(const json_t *obj)
{
    return store_blob_dump_hint(obj, 0);
}

/* The text most objects fit (an Event, a pod): dumped on the stack. */
#define BLOB_ON_STACK 4096

struct store_blob *store_blob_dump_hint(const json_t *obj, size_t hint)
{
    /* An object expected to fit the stack buffer is dumped there and
     * copied out at its size: one small malloc, where a 2 KB guess cut
     * down by realloc cost several times the copy (the simulator's
     * Events). A larger one goes to a buffer of the hint's size with room
     * to grow, or of the size the first pass reported, and when that
     * falls short is dumped again at the size it reports. */
    char stack[BLOB_ON_STACK];
    size_t cap = hint + hint / 4 + 256;
    if (hint < BLOB_ON_STACK) {
        size_t n = jsontext_dumpb(obj, stack, sizeof stack);
        if (n == 0)
            return NULL;
        if (n <= sizeof stack)
            return store_blob_new(stack, n);
        cap = n + 1;
    }
    for (int pass = 0; pass < 2; pass++) {
        struct store_blob *b = alloc_malloc(sizeof *b + cap);
        size_t n = jsontext_dumpb(obj, b->data, cap);
        if (n == 0) {
            free(b);
            return NULL;
        }
        if (n < cap) {
            b->refs = 1;
            b->len = n;
            b->data[n] = '\0';
            return alloc_realloc(b, sizeof *b + n + 1);
        }
        free(b);
        cap = n + 1;
    }
    return NULL;
}

struct store_blob *store_blob_ref(struct store_blob *b)
{
    if (b)
        __atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
    return b;
}

void store_blob_unref(struct store_blob *b)
{
    if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(b);
}
