/*
 * store_update_retry of retry.h. The version read is put back into the
 * object before the write, so a mutate function that rebuilds the object
 * from scratch still cannot overwrite a newer one unseen.
 */
#include "store/retry.h"

/* One read-mutate-write round. */
static int store_retry_once(struct store *st, const struct api_resource *res, const char *ns,
                            const char *name, store_mutate_fn mutate, void *ctx,
                            const struct store_write_opts *o, json_t **out, struct err *e)
{
    json_t *obj;
    int rc = store_get(st, res, ns, name, &obj, e);
    if (rc)
        return rc;
    json_t *rv = json_incref(
        json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
    rc = mutate(obj, ctx, e);
    if (rc == STORE_MUTATE_UNCHANGED) {
        json_decref(rv);
        if (out)
            *out = obj;
        else
            json_decref(obj);
        return 0;
    }
    json_t *meta = json_object_get(obj, "metadata");
    if (rc == 0 && json_is_string(rv) &&
        (!json_is_object(meta) || json_object_set(meta, "resourceVersion", rv) != 0))
        rc = err_set(e, -EINVAL, "%s \"%s\": the change removed metadata", res->plural, name);
    if (rc == 0)
        rc = store_update(st, res, ns, obj, o, out, e);
    json_decref(rv);
    json_decref(obj);
    return rc;
}

int store_update_retry(struct store *st, const struct api_resource *res, const char *ns,
                       const char *name, store_mutate_fn mutate, void *ctx,
                       const struct store_write_opts *o, int attempts, json_t **out,
                       struct err *e)
{
    if (out)
        *out = NULL;
    if (!mutate)
        return err_set(e, -EINVAL, "store_update_retry: no mutate function");
    if (attempts <= 0)
        attempts = STORE_RETRY_ATTEMPTS;
    int rc = -ESTALE;
    for (int i = 0; i < attempts && rc == -ESTALE; i++)
        rc = store_retry_once(st, res, ns, name, mutate, ctx, o, out, e);
    return rc;
}
