/*
 * ResourceQuota admission (quota_admission.h): list the namespace's
 * quotas, charge each that covers the object through store_update_retry
 * on its status (the read-check-write is repeated on the quota's newest
 * version after a conflict), give back what was charged when one refuses.
 */
#include "apiserver/quota_admission.h"

#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "api/quota.h"
#include "store/retry.h"
#include "util/alloc.h"
#include "util/jdoc.h"

struct quota_charge {
    char *quota;        /* the ResourceQuota's name */
    json_t *request;    /* the usage charged to it */
};

struct quota_charges {
    const struct api_resource *quotas; /* resourcequotas */
    char *ns;
    size_t n;
    struct quota_charge *charged;
};

/* One quota's charge, a store_mutate_fn. */
struct charging {
    const json_t *request;
    bool charged;
};

static int charge_mutate(json_t *quota, void *ctx, struct err *e)
{
    struct charging *ch = ctx;
    json_t *used = NULL;
    int rc = quota_charge(quota, ch->request, &used, &ch->charged, e);
    if (rc != 0)
        return rc;
    if (!ch->charged) {
        json_decref(used);
        return STORE_MUTATE_UNCHANGED;
    }
    json_t *status = json_object_get(quota, "status");
    jdoc_set(status, "used", used);
    return 0;
}

static int release_mutate(json_t *quota, void *ctx, struct err *e)
{
    (void)e;
    json_t *status = json_object_get(quota, "status");
    if (!json_is_object(status))
        return STORE_MUTATE_UNCHANGED;
    jdoc_set(status, "used", quota_release(quota, ctx));
    return 0;
}

static void charges_free(struct quota_charges *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->charged[i].quota);
        json_decref(c->charged[i].request);
    }
    free(c->charged);
    free(c->ns);
    free(c);
}

void quota_charges_keep(struct quota_charges *c)
{
    charges_free(c);
}

void quota_refund(struct store *st, struct quota_charges *c)
{
    const struct store_write_opts wo = {.subresource = STORE_STATUS};
    for (size_t i = 0; c && i < c->n; i++)
        (void)store_update_retry(st, c->quotas, c->ns, c->charged[i].quota, release_mutate,
                                 c->charged[i].request, &wo, QUOTA_ADMISSION_ATTEMPTS, NULL,
                                 NULL);
    charges_free(c);
}

/* "pods \"NAME\" is forbidden: " before the quota's reason, as
 * kube-apiserver's NewForbidden words it. */
static int forbidden(const struct api_resource *res, const json_t *obj, struct err *e)
{
    const char *name = meta_name(obj);
    char what[300];
    snprintf(what, sizeof what, "%s%s%s", res->plural, res->group[0] ? "." : "", res->group);
    if (name && *name)
        return err_prefix(e, -EPERM, "%s \"%s\" is forbidden: ", what, name);
    return err_prefix(e, -EPERM, "%s is forbidden: ", what);
}

/* Charges one quota, recording the charge in c. */
static int charge_one(struct store *st, struct quota_charges *c, const json_t *quota,
                      const json_t *request, bool dry_run, struct err *e)
{
    struct charging ch = {.request = request};
    const char *name = meta_name(quota);
    if (dry_run)
        return quota_charge(quota, request, NULL, NULL, e);
    const struct store_write_opts wo = {.subresource = STORE_STATUS};
    int rc = store_update_retry(st, c->quotas, c->ns, name, charge_mutate, &ch, &wo,
                                QUOTA_ADMISSION_ATTEMPTS, NULL, e);
    if (rc == -ENOENT)
        return 0; /* deleted since the list: it limits nothing now */
    if (rc == -ESTALE)
        return err_set(e, -EAGAIN, "too many concurrent changes of quota %s, try again", name);
    if (rc == 0 && ch.charged) {
        c->charged = alloc_realloc(c->charged, (c->n + 1) * sizeof *c->charged);
        c->charged[c->n++] = (struct quota_charge){alloc_strdup(name), json_incref((json_t *)request)};
    }
    return rc;
}

/* What the request adds to quota: all obj uses for a create, or when the
 * object it replaces was outside the quota's scopes; else what grew. */
static json_t *request_for(const json_t *quota, const struct api_resource *res,
                           const json_t *old, const json_t *old_usage, const json_t *usage)
{
    if (old && quota_covers(quota, res, old))
        return quota_growth(old_usage, usage);
    return json_incref((json_t *)usage);
}

static int charge_all(struct store *st, struct quota_charges *c, const struct api_resource *res,
                      const char *replaces, const json_t *obj, bool dry_run, struct err *e)
{
    json_t *list = NULL, *usage = NULL, *old = NULL, *old_usage = NULL;
    int rc = store_list(st, c->quotas, c->ns, &(struct store_list_opts){0}, &list, e);
    if (rc == 0 && json_array_size(json_object_get(list, "items")) > 0)
        rc = quota_usage_of(res, obj, &usage, e);
    if (rc == 0 && usage && replaces && store_get(st, res, c->ns, replaces, &old, NULL) != 0) {
        json_decref(list);
        list = NULL; /* gone: nothing is charged, the update itself fails */
    }
    if (rc == 0 && usage && old)
        rc = quota_usage_of(res, old, &old_usage, e);
    size_t i;
    const json_t *quota;
    json_array_foreach(json_object_get(list, "items"), i, quota) {
        if (rc != 0)
            break;
        if (!quota_covers(quota, res, obj))
            continue;
        json_t *request = request_for(quota, res, old, old_usage, usage);
        rc = charge_one(st, c, quota, request, dry_run, e);
        json_decref(request);
    }
    json_decref(usage);
    json_decref(old_usage);
    json_decref(old);
    json_decref(list);
    return rc;
}

int quota_admit(struct store *st, const struct api_resource *res, const char *ns,
                const char *replaces, const json_t *obj, bool dry_run,
                struct quota_charges **out, struct err *e)
{
    *out = NULL;
    const struct api_resource *quotas =
        api_registry_find(store_registry(st), "", "v1", "resourcequotas");
    if (!res->namespaced || !ns || !*ns || !quotas)
        return 0;
    struct quota_charges *c = alloc_calloc(1, sizeof *c);
    c->quotas = quotas;
    c->ns = alloc_strdup(ns);
    int rc = charge_all(st, c, res, replaces, obj, dry_run, e);
    if (rc != 0) {
        quota_refund(st, c);
        return rc == -EPERM ? forbidden(res, obj, e) : rc;
    }
    if (c->n == 0) {
        charges_free(c);
        return 0;
    }
    *out = c;
    return 0;
}
