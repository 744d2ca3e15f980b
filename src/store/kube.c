/*
 * The store calls of the kube backend, each mapped onto one REST request:
 * the path of the resource (core /api/v1 or /apis/GROUP/VERSION, namespaced
 * or not, then name and subresource), the query parameters of the options,
 * and the body. The server's Status answers come back as the codes store.h
 * documents, through api/status.h, so a caller cannot tell this backend from
 * mem by its errors.
 */
#include "store/kube.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/kube_http.h"
#include "store/kube_watch.h"
#include "util/alloc.h"
#include "util/jdoc.h"
#include "util/jsontext.h"

struct kube_store {
    struct store base;
    struct kube_http *http;
};

static struct kube_http *kube_http_of(struct store *st)
{
    return ((struct kube_store *)st)->http;
}

static bool kube_empty(const char *s)
{
    return !s || !*s;
}

static int kube_oom(const struct kube_buf *b, const char *what, struct err *e)
{
    return b->failed ? err_set(e, -ENOMEM, "kube: out of memory building %s", what) : 0;
}

/* Sends method path with obj (may be NULL) as the body, of type ctype;
 * *out gets the answer, which is not even parsed when out is NULL. */
static int kube_send(struct store *st, const char *method, const struct kube_buf *path,
                     const char *ctype, const json_t *obj, json_t **out, struct err *e)
{
    int rc = kube_oom(path, "a request path", e);
    if (rc)
        return rc;
    char *body = obj ? jsontext_dumps(obj) : NULL;
    if (obj && !body)
        return err_set(e, -ENOMEM, "kube: out of memory serialising the body of %s %s",
                       method, path->p);
    struct kube_request rq = {method, path->p, obj ? ctype : NULL, body,
                              body ? strlen(body) : 0};
    rc = kube_http_call(kube_http_of(st), &rq, out, e);
    free(body);
    return rc;
}

static int kube_get(struct store *st, const struct api_resource *res, const char *ns,
                    const char *name, json_t **out, struct err *e)
{
    struct kube_buf p = {0};
    kube_buf_path(&p, res, ns, name, NULL);
    int rc = kube_send(st, "GET", &p, NULL, NULL, out, e);
    kube_buf_free(&p);
    return rc;
}

static int kube_list(struct store *st, const struct api_resource *res, const char *ns,
                     const struct store_list_opts *o, json_t **out, struct err *e)
{
    struct kube_buf p = {0};
    kube_buf_path(&p, res, ns, NULL, NULL);
    if (!kube_empty(o->label_selector))
        kube_buf_query(&p, "labelSelector", o->label_selector);
    if (!kube_empty(o->field_selector))
        kube_buf_query(&p, "fieldSelector", o->field_selector);
    if (!kube_empty(o->resource_version))
        kube_buf_query(&p, "resourceVersion", o->resource_version);
    if (o->exact)
        kube_buf_query(&p, "resourceVersionMatch", "Exact");
    if (o->limit) {
        char n[32];
        snprintf(n, sizeof n, "%zu", o->limit);
        kube_buf_query(&p, "limit", n);
    }
    if (!kube_empty(o->continue_token))
        kube_buf_query(&p, "continue", o->continue_token);
    int rc = kube_send(st, "GET", &p, NULL, NULL, out, e);
    kube_buf_free(&p);
    return rc;
}

static void kube_write_query(struct kube_buf *p, const struct store_write_opts *o)
{
    if (o->dry_run)
        kube_buf_query(p, "dryRun", "All");
    if (!kube_empty(o->field_manager))
        kube_buf_query(p, "fieldManager", o->field_manager);
}

static const char *kube_meta(const json_t *obj, const char *field)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
}

/* The namespace a write goes to: the caller's, else the object's own. */
static int kube_write_ns(const struct api_resource *res, const char *ns, const json_t *obj,
                         const char **out, struct err *e)
{
    *out = NULL;
    if (!res->namespaced)
        return 0;
    *out = kube_empty(ns) ? kube_meta(obj, "namespace") : ns;
    if (kube_empty(*out))
        return err_set(e, -EBADMSG, "%s: a namespace is required", res->plural);
    return 0;
}

static const char *kube_sub(const struct store_write_opts *o)
{
    return o->subresource == STORE_STATUS ? "status" : NULL;
}

static bool kube_is_crd(const struct api_resource *res)
{
    return strcmp(res->group, "apiextensions.k8s.io") == 0 &&
           strcmp(res->plural, "customresourcedefinitions") == 0;
}

/* Where a write's answer goes: the caller's out, or ans when the registry
 * must read it (a CRD); NULL when nobody reads it, so it is not parsed. */
static json_t **kube_answer_to(const struct api_resource *res, json_t **ans, json_t **out)
{
    return out || kube_is_crd(res) ? ans : NULL;
}

/* Keeps the registry serving the CRDs written through this store, as mem's
 * does; then hands the answer to the caller (out may be NULL). */
static int kube_written(struct store *st, const struct api_resource *res, bool dry_run, int rc,
                        json_t *ans, json_t **out)
{
    if (rc == 0 && !dry_run && kube_is_crd(res))
        api_registry_add_crd(st->registry, ans, NULL);
    if (out)
        *out = ans;
    else
        json_decref(ans);
    return rc;
}

static int kube_create(struct store *st, const struct api_resource *res, const char *ns,
                       const json_t *obj, const struct store_write_opts *o, json_t **out,
                       struct err *e)
{
    int rc = kube_write_ns(res, ns, obj, &ns, e);
    if (rc)
        return rc;
    struct kube_buf p = {0};
    kube_buf_path(&p, res, ns, NULL, NULL);
    kube_write_query(&p, o);
    json_t *ans = NULL;
    rc = kube_send(st, "POST", &p, "application/json", obj,
                   kube_answer_to(res, &ans, out), e);
    kube_buf_free(&p);
    return kube_written(st, res, o->dry_run, rc, ans, out);
}

static int kube_update(struct store *st, const struct api_resource *res, const char *ns,
                       const json_t *obj, const struct store_write_opts *o, json_t **out,
                       struct err *e)
{
    const char *name = kube_meta(obj, "name");
    if (kube_empty(name))
        return err_set(e, -EBADMSG, "%s: metadata.name: Required value", res->plural);
    int rc = kube_write_ns(res, ns, obj, &ns, e);
    if (rc)
        return rc;
    struct kube_buf p = {0};
    kube_buf_path(&p, res, ns, name, kube_sub(o));
    kube_write_query(&p, o);
    json_t *ans = NULL;
    rc = kube_send(st, "PUT", &p, "application/json", obj,
                   kube_answer_to(res, &ans, out), e);
    kube_buf_free(&p);
    return kube_written(st, res, o->dry_run, rc, ans, out);
}

static const char *kube_patch_type(enum store_patch_type t)
{
    switch (t) {
    case STORE_PATCH_JSON:
        return "application/json-patch+json";
    case STORE_PATCH_STRATEGIC:
        return "application/strategic-merge-patch+json";
    case STORE_PATCH_APPLY:
        return "application/apply-patch+yaml"; /* JSON is YAML */
    case STORE_PATCH_MERGE:
        break;
    }
    return "application/merge-patch+json";
}

static int kube_patch(struct store *st, const struct api_resource *res, const char *ns,
                      const char *name, enum store_patch_type type, const json_t *patch,
                      const struct store_write_opts *o, json_t **out, struct err *e)
{
    if (type > STORE_PATCH_APPLY)
        return err_set(e, -EMEDIUMTYPE, "%s \"%s\": unknown patch type %d", res->plural, name,
                       (int)type);
    struct kube_buf p = {0};
    kube_buf_path(&p, res, ns, name, kube_sub(o));
    kube_write_query(&p, o);
    if (type == STORE_PATCH_APPLY && o->force)
        kube_buf_query(&p, "force", "true");
    json_t *ans = NULL;
    int rc = kube_send(st, "PATCH", &p, kube_patch_type(type), patch,
                       kube_answer_to(res, &ans, out), e);
    kube_buf_free(&p);
    return kube_written(st, res, o->dry_run, rc, ans, out);
}

static const char *kube_propagation(enum store_propagation p)
{
    switch (p) {
    case STORE_PROPAGATE_BACKGROUND:
        return "Background";
    case STORE_PROPAGATE_FOREGROUND:
        return "Foreground";
    case STORE_PROPAGATE_ORPHAN:
        return "Orphan";
    case STORE_PROPAGATE_DEFAULT:
        break;
    }
    return NULL;
}

/* The DeleteOptions body for o; NULL when out of memory. */
static json_t *kube_delete_options(const struct store_delete_opts *o)
{
    json_t *d = json_pack("{s:s, s:s}", "kind", "DeleteOptions", "apiVersion", "v1");
    const char *prop = kube_propagation(o->propagation);
    bool ok = d != NULL;
    if (ok && prop)
        ok = json_object_set_new(d, "propagationPolicy", json_string(prop)) == 0;
    if (ok && o->has_grace)
        ok = json_object_set_new(d, "gracePeriodSeconds", json_integer(o->grace_s)) == 0;
    if (ok && o->dry_run)
        ok = json_object_set_new(d, "dryRun", json_pack("[s]", "All")) == 0;
    if (ok && (o->precondition_uid || o->precondition_resource_version)) {
        json_t *pre = json_object();
        ok = json_object_set_new(d, "preconditions", pre) == 0 &&
             (!o->precondition_uid ||
              json_object_set_new(pre, "uid", json_string(o->precondition_uid)) == 0) &&
             (!o->precondition_resource_version ||
              json_object_set_new(pre, "resourceVersion",
                                  json_string(o->precondition_resource_version)) == 0);
    }
    return jdoc_built(d, ok);
}

static bool kube_is_status(const json_t *obj)
{
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    return kind && strcmp(kind, "Status") == 0;
}

static int kube_remove(struct store *st, const struct api_resource *res, const char *ns,
                       const char *name, const struct store_delete_opts *o, json_t **out,
                       struct err *e)
{
    json_t *body = kube_delete_options(o);
    if (!body)
        return err_set(e, -ENOMEM, "out of memory");
    struct kube_buf p = {0};
    kube_buf_path(&p, res, ns, name, NULL);
    json_t *ans = NULL;
    int rc = kube_send(st, "DELETE", &p, "application/json", body, out ? &ans : NULL, e);
    kube_buf_free(&p);
    json_decref(body);
    /* The server may serve a deleted CRD a while longer (until its objects
     * are gone), but this store cannot learn when that ends, so it stops
     * serving it now. */
    if (rc == 0 && !o->dry_run && kube_is_crd(res))
        api_registry_remove_crd(st->registry, name);
    if (rc == 0 && out && !kube_is_status(ans)) {
        *out = ans;
        ans = NULL;
    }
    json_decref(ans);
    return rc;
}

static int kube_bind(struct store *st, const char *ns, const char *pod, const char *node,
                     struct err *e)
{
    const struct api_resource *pods = api_registry_find(st->registry, "", "v1", "pods");
    if (!pods)
        return err_set(e, -ENOENT, "kube: the registry has no pods");
    json_t *binding = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}}", "kind", "Binding",
                                "apiVersion", "v1", "metadata", "name", pod, "namespace", ns,
                                "target", "apiVersion", "v1", "kind", "Node", "name", node);
    if (!binding)
        return err_set(e, -ENOMEM, "out of memory");
    struct kube_buf p = {0};
    kube_buf_path(&p, pods, ns, pod, "binding");
    int rc = kube_send(st, "POST", &p, "application/json", binding, NULL, e);
    kube_buf_free(&p);
    json_decref(binding);
    return rc;
}

static int kube_store_watch_open(struct store *st, const struct api_resource *res,
                                 const char *ns, const struct store_watch_opts *o,
                                 struct store_watch **out, struct err *e)
{
    return kube_watch_open(st->ops, kube_http_of(st), res, ns, o, out, e);
}

static void kube_destroy(struct store *st)
{
    struct kube_store *ks = (struct kube_store *)st;
    kube_http_free(ks->http);
    api_registry_free(st->registry);
    free(ks);
}

static const struct store_ops kube_ops = {
    .name = "kube",
    .get = kube_get,
    .list = kube_list,
    .create = kube_create,
    .update = kube_update,
    .patch = kube_patch,
    .remove = kube_remove,
    .bind = kube_bind,
    .watch_open = kube_store_watch_open,
    .watch_next = kube_watch_next,
    .watch_cancel = kube_watch_cancel,
    .watch_close = kube_watch_close,
    .destroy = kube_destroy,
};

int kube_store_new(const struct kube_config *cfg, const struct kube_store_opts *o,
                   struct store **out, struct err *e)
{
    *out = NULL;
    struct kube_store *ks = alloc_calloc(1, sizeof *ks);
    int rc = kube_http_new(cfg, o, &ks->http, e);
    if (rc == 0 && !(ks->base.registry = api_registry_new()))
        rc = err_set(e, -ENOMEM, "out of memory");
    if (rc) {
        kube_http_free(ks->http);
        free(ks);
        return rc;
    }
    ks->base.ops = &kube_ops;
    *out = &ks->base;
    return 0;
}

int kube_store_discover(struct store *st, size_t *added, struct err *e)
{
    if (added)
        *added = 0;
    if (!st || st->ops != &kube_ops)
        return err_set(e, -EINVAL, "kube_store_discover: not a kube store");
    const struct api_resource *crds = api_registry_find(
        st->registry, "apiextensions.k8s.io", "v1", "customresourcedefinitions");
    if (!crds)
        return err_set(e, -ENOENT, "kube: the registry has no customresourcedefinitions");
    json_t *list;
    int rc = kube_list(st, crds, NULL, &(struct store_list_opts){0}, &list, e);
    if (rc)
        return rc;
    size_t i;
    json_t *crd;
    json_array_foreach(json_object_get(list, "items"), i, crd) {
        if (api_registry_add_crd(st->registry, crd, NULL) == 0 && added)
            (*added)++;
    }
    json_decref(list);
    return 0;
}
