/*
 * The quota controller's reconciler (see quota.h): a count from the pods
 * cache, written when it differs from the quota's status, held back while
 * a charge may still be on its way to the store.
 */
#include "cluster/quota.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "api/quota.h"
#include "cluster/objstate.h"
#include "util/alloc.h"
#include "util/jdoc.h"
#include "util/strmap.h"

struct quota_controller {
    struct quota_controller_config cfg;
    const struct api_resource *quotas_res, *pods_res;
    struct loop *loop;
    pthread_mutex_t lock;  /* guards changed_at */
    struct strmap changed_at; /* quota key -> int64 ns its status last changed */
};

static int64_t now_of(const struct quota_controller *c)
{
    return c->cfg.now_ns ? c->cfg.now_ns(c->cfg.clock_ctx) : clock_realtime_now(NULL);
}

/* ---- handlers ---- */

static void enqueue(struct quota_controller *c, const json_t *quota)
{
    char key[OBJSTATE_KEY_MAX];
    if (objstate_key(quota, key, sizeof key) == 0)
        loop_enqueue(c->loop, key);
}

void quota_changed(void *ctx, enum informer_change change, const json_t *old, const json_t *cur)
{
    struct quota_controller *c = ctx;
    char key[OBJSTATE_KEY_MAX];
    if (objstate_key(cur, key, sizeof key) != 0)
        return;
    pthread_mutex_lock(&c->lock);
    if (change == INFORMER_DELETED)
        strmap_del(&c->changed_at, key);
    else
        *(int64_t *)strmap_put(&c->changed_at, key, NULL) = now_of(c);
    pthread_mutex_unlock(&c->lock);
    const json_t *spec = json_object_get(cur, "spec");
    if (change == INFORMER_ADDED ||
        (change == INFORMER_UPDATED && !json_equal(json_object_get(old, "spec"), spec)))
        loop_enqueue(c->loop, key);
}

/* Whether a pod change can lower what a quota counts. */
static bool releases(enum informer_change change, const json_t *old, const json_t *cur)
{
    if (change == INFORMER_DELETED)
        return true;
    if (change != INFORMER_UPDATED)
        return false;
    return objstate_terminal(cur) != objstate_terminal(old) ||
           !json_equal(json_object_get(json_object_get(old, "spec"), "activeDeadlineSeconds"),
                       json_object_get(json_object_get(cur, "spec"), "activeDeadlineSeconds"));
}

void quota_pod_changed(void *ctx, enum informer_change change, const json_t *old,
                       const json_t *cur)
{
    struct quota_controller *c = ctx;
    if (!releases(change, old, cur))
        return;
    json_t *quotas = informer_list(c->cfg.quotas, meta_namespace(cur));
    size_t i;
    const json_t *q;
    json_array_foreach(quotas, i, q) {
        enqueue(c, q);
    }
    json_decref(quotas);
}

/* ---- the count ---- */

/* Whether name is one the pods' count decides (else admission's charge
 * stands: object counts of other kinds). */
static bool counted_from_pods(const char *name, const json_t *pod_names)
{
    return json_object_get(pod_names, name) || strncmp(name, "requests.", 9) == 0 ||
           strncmp(name, "limits.", 7) == 0;
}

/* The resource an object count names ("count/configmaps",
 * "count/deployments.apps", or a core kind's bare name), or NULL. */
static const struct api_resource *counted_kind(struct quota_controller *c, const char *name)
{
    static const char *const bare[] = {"configmaps", "secrets", "services",
                                       "persistentvolumeclaims", "replicationcontrollers",
                                       "resourcequotas"};
    struct api_registry *reg = store_registry(c->cfg.store);
    if (strncmp(name, "count/", 6) == 0)
        return api_registry_resolve(reg, name + 6);
    for (size_t i = 0; i < sizeof bare / sizeof bare[0]; i++)
        if (strcmp(name, bare[i]) == 0)
            return api_registry_resolve(reg, name);
    return NULL;
}

/* How many objects of res ns holds, in thousandths (a usage's unit); -1
 * when the store cannot say (admission's charge then stands). */
static int64_t objects_in(struct quota_controller *c, const struct api_resource *res,
                          const char *ns)
{
    json_t *list = NULL;
    if (store_list(c->cfg.store, res, ns, &(struct store_list_opts){0}, &list, NULL) != 0)
        return -1;
    int64_t n = (int64_t)json_array_size(json_object_get(list, "items"));
    json_decref(list);
    return n * 1000;
}

/* used for every name of hard: the pods' sum where pods decide it, the
 * objects of the namespace for an object count, else what status.used
 * says. */
static int count(struct quota_controller *c, const json_t *quota, const json_t *hard,
                 json_t **out, struct err *e)
{
    json_t *pods = informer_list(c->cfg.pods, meta_namespace(quota));
    json_t *sum = json_object(), *kept = NULL;
    /* the names any pod counts under, so a quota with no pods still counts 0 */
    json_t *pod_names = json_pack("{s:b, s:b, s:b, s:b, s:b}", "pods", 1, "count/pods", 1,
                                  "cpu", 1, "memory", 1, "ephemeral-storage", 1);
    int rc = pods && sum && pod_names ? 0 : err_set(e, -ENOMEM, "quota: out of memory");
    if (rc == 0)
        rc = quota_read(json_object_get(json_object_get(quota, "status"), "used"),
                        "status.used", &kept, e);
    size_t i;
    const json_t *pod;
    json_array_foreach(pods, i, pod) {
        json_t *u = NULL;
        if (rc != 0 || !quota_covers(quota, c->pods_res, pod) ||
            quota_usage_of(c->pods_res, pod, &u, NULL) != 0)
            continue;
        const char *name;
        json_t *v;
        json_object_foreach(u, name, v) {
            int64_t had = json_integer_value(json_object_get(sum, name));
            jdoc_set(sum, name, json_integer(had + json_integer_value(v)));
        }
        json_decref(u);
    }
    json_t *used = json_object();
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)hard, name, v) {
        const struct api_resource *kind = counted_from_pods(name, pod_names)
                                               ? NULL : counted_kind(c, name);
        int64_t objects = kind ? objects_in(c, kind, meta_namespace(quota)) : -1;
        const json_t *from = counted_from_pods(name, pod_names) ? sum : kept;
        jdoc_set(used, name, json_integer(objects >= 0 ? objects
                                                       : json_integer_value(json_object_get(from, name))));
    }
    json_decref(pods);
    json_decref(sum);
    json_decref(kept);
    json_decref(pod_names);
    if (rc != 0) {
        json_decref(used);
        return rc;
    }
    *out = used;
    return 0;
}

/* Whether any name's count is below what status.used says. */
static bool lowers(const json_t *quota, const json_t *used)
{
    json_t *had = NULL;
    bool lower = false;
    if (quota_read(json_object_get(json_object_get(quota, "status"), "used"), "status.used",
                   &had, NULL) != 0)
        return false;
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)used, name, v) {
        const json_t *h = json_object_get(had, name);
        lower = lower || (h && json_integer_value(v) < json_integer_value(h));
    }
    json_decref(had);
    return lower;
}

/* When the quota's status last changed as this controller saw it. */
static int64_t changed_at(struct quota_controller *c, const char *key)
{
    pthread_mutex_lock(&c->lock);
    const int64_t *at = strmap_get(&c->changed_at, key);
    int64_t t = at ? *at : 0;
    pthread_mutex_unlock(&c->lock);
    return t;
}

static int quota_reconcile(void *self, const char *key, int64_t now, struct action_list *out,
                           int64_t *requeue_at, struct err *e)
{
    struct quota_controller *c = self;
    char ns[OBJSTATE_NAME_MAX], name[OBJSTATE_NAME_MAX];
    json_t *quota = NULL, *hard = NULL, *used = NULL;
    int rc = objstate_split_key(key, ns, name, e);
    if (rc < 0 || informer_get(c->cfg.quotas, ns, name, &quota) != 0)
        return rc < 0 ? rc : 0;
    const json_t *spec_hard = json_object_get(json_object_get(quota, "spec"), "hard");
    rc = quota_read(spec_hard, "spec.hard", &hard, e);
    if (rc == 0)
        rc = count(c, quota, hard, &used, e);
    int64_t settled = changed_at(c, key) + QUOTA_SETTLE_NS;
    if (rc == 0 && lowers(quota, used) && now < settled) {
        *requeue_at = settled; /* a charge may be on its way to the store */
    } else if (rc == 0) {
        json_t *copy = jdoc_copy(quota);
        json_t *status = json_pack("{s:o, s:o}", "hard",
                                   spec_hard ? jdoc_copy(spec_hard) : json_object(), "used",
                                   quota_write(used));
        jdoc_set(copy, "status", status);
        rc = objstate_write_status(out, c->quotas_res, quota, copy, e);
        /* Objects other than pods come and go unseen: count again later,
         * as kube-controller-manager's full resync does. */
        *requeue_at = now + QUOTA_RESYNC_NS;
    }
    json_decref(hard);
    json_decref(used);
    json_decref(quota);
    return rc;
}

int quota_controller_new(const struct quota_controller_config *cfg,
                         struct quota_controller **out, struct err *e)
{
    if (!cfg->store || !cfg->pods || !cfg->quotas)
        return err_set(e, -EINVAL, "quota controller: needs a store and the pods and "
                                   "resourcequotas informers");
    struct api_registry *reg = store_registry(cfg->store);
    struct quota_controller *c = alloc_calloc(1, sizeof *c);
    c->cfg = *cfg;
    c->quotas_res = api_registry_find(reg, "", "v1", "resourcequotas");
    c->pods_res = api_registry_find(reg, "", "v1", "pods");
    pthread_mutex_init(&c->lock, NULL);
    strmap_init(&c->changed_at, sizeof(int64_t), NULL);
    struct loop_config lc = {
        .store = cfg->store,
        .reconciler = {.name = "quota", .self = c, .reconcile = quota_reconcile},
        .component = "resourcequota-controller",
        .now_ns = cfg->now_ns,
        .clock_ctx = cfg->clock_ctx,
    };
    int rc = c->quotas_res && c->pods_res
                 ? loop_new(&lc, &c->loop, e)
                 : err_set(e, -ENOENT, "quota controller: the store serves no pods or quotas");
    if (rc < 0) {
        quota_controller_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void quota_controller_free(struct quota_controller *c)
{
    if (!c)
        return;
    loop_free(c->loop);
    strmap_free(&c->changed_at);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

struct loop *quota_controller_loop(struct quota_controller *c)
{
    return c->loop;
}
