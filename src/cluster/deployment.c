/*
 * The Deployment controller's reconciler (see deployment.h).
 */
#include "cluster/deployment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "cluster/objstate.h"
#include "util/alloc.h"
#include "util/hash.h"
#include "util/jdoc.h"

/* The letters and digits Kubernetes encodes names with (no vowels, no
 * look-alikes, so no words). */
static const char safe_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

struct deployment_controller {
    struct workloads_config cfg;
    const struct api_resource *rs_res, *deploy_res;
    struct loop *loop;
};

int deployment_template_hash(const json_t *template, int64_t collisions,
                             char out[DEPLOYMENT_HASH_MAX])
{
    char *text = json_dumps(template, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!text)
        return -ENOMEM;
    uint32_t h = hash_bytes32(HASH_INIT32, text, strlen(text));
    free(text);
    if (collisions > 0) {
        char extra[24];
        int n = snprintf(extra, sizeof extra, "%lld", (long long)collisions);
        h = hash_bytes32(h, extra, (size_t)n);
    }
    char digits[DEPLOYMENT_HASH_MAX];
    snprintf(digits, sizeof digits, "%u", h);
    size_t i;
    for (i = 0; digits[i]; i++)
        out[i] = safe_alphabet[(unsigned char)digits[i] % (sizeof safe_alphabet - 1)];
    out[i] = '\0';
    return 0;
}

/* ---- the ReplicaSet of a template ------------------------------------------------ */

/* A copy of obj's map at key (created empty when missing) with label=hash. */
static json_t *with_hash(const json_t *map, const char *hash)
{
    json_t *m = json_is_object(map) ? jdoc_copy(map) : json_object();
    if (m && json_object_set_new(m, DEPLOYMENT_HASH_LABEL, json_string(hash)) != 0) {
        json_decref(m);
        return NULL;
    }
    return m;
}

static json_t *new_replicaset(const json_t *d, const char *hash, int64_t replicas)
{
    const json_t *spec = json_object_get(d, "spec");
    const json_t *template = json_object_get(spec, "template");
    const json_t *selector = json_object_get(spec, "selector");
    char name[OBJSTATE_NAME_MAX + DEPLOYMENT_HASH_MAX + 1];
    snprintf(name, sizeof name, "%s-%s", meta_name(d), hash);
    json_t *t = jdoc_copy(template);
    json_t *sel = json_is_object(selector) ? jdoc_copy(selector) : json_object();
    json_t *ref = meta_owner_ref(d, true, true);
    json_t *tmd = t ? meta_of(t) : NULL, *labels = NULL;
    bool ok = sel && ref && tmd &&
              json_object_set_new(tmd, "labels",
                                  with_hash(json_object_get(tmd, "labels"), hash)) == 0 &&
              json_object_set_new(sel, "matchLabels",
                                  with_hash(json_object_get(sel, "matchLabels"), hash)) == 0 &&
              (labels = jdoc_copy(json_object_get(tmd, "labels"))) != NULL;
    if (!ok) {
        json_decref(t);
        json_decref(sel);
        json_decref(ref);
        return NULL;
    }
    /* json_pack takes the "o" values over, also when it fails. */
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:o, s:[o]}, s:{s:I, s:o, s:o}}", "apiVersion",
                     "apps/v1", "kind", "ReplicaSet", "metadata", "name", name, "namespace",
                     meta_namespace(d), "labels", labels, "ownerReferences", ref, "spec",
                     "replicas", (json_int_t)replicas, "selector", sel, "template", t);
}

static int scale(struct deployment_controller *c, const json_t *rs, int64_t replicas,
                 struct action_list *out, struct err *e)
{
    if (objstate_int(rs, "spec.replicas", 1) == replicas)
        return 0;
    json_t *copy = jdoc_copy(rs);
    if (!copy || json_object_set_new(json_object_get(copy, "spec"), "replicas",
                                     json_integer(replicas)) != 0) {
        json_decref(copy);
        return err_set(e, -ENOMEM, "deployment controller: out of memory");
    }
    return action_update(out, c->rs_res, copy, e);
}

/* Pods of old ReplicaSets that still run (terminal ones no longer count). */
static size_t old_pods_left(struct deployment_controller *c, const json_t *rss,
                            const json_t *current)
{
    size_t left = 0, i, j;
    const json_t *rs, *pod;
    json_array_foreach(rss, i, rs) {
        if (rs == current)
            continue;
        json_t *pods = workloads_controlled(c->cfg.pods, meta_uid(rs));
        json_array_foreach(pods, j, pod)
            left += !objstate_terminal(pod);
        json_decref(pods);
    }
    return left;
}

/* ---- status ------------------------------------------------------------------------ */

struct counts {
    int64_t replicas, updated, ready, available;
};

static void count(const json_t *rss, const json_t *current, struct counts *n)
{
    size_t i;
    const json_t *rs;
    memset(n, 0, sizeof *n);
    json_array_foreach(rss, i, rs) {
        int64_t r = objstate_int(rs, "status.replicas", 0);
        n->replicas += r;
        n->ready += objstate_int(rs, "status.readyReplicas", 0);
        n->available += objstate_int(rs, "status.availableReplicas", 0);
        if (rs == current)
            n->updated = r;
    }
}

static int set_conditions(json_t *copy, const struct counts *n, int64_t want,
                          const json_t *current, int64_t now)
{
    bool available = n->available >= want;
    const char *rs = current ? meta_name(current) : "";
    char msg[OBJSTATE_NAME_MAX + 64];
    bool done = current && n->updated == want && n->replicas == want && available;
    snprintf(msg, sizeof msg, done ? "ReplicaSet \"%s\" has successfully progressed."
                                   : "ReplicaSet \"%s\" is progressing.", rs);
    if (objstate_set_condition(copy, "Available", available ? "True" : "False",
                               available ? "MinimumReplicasAvailable"
                                         : "MinimumReplicasUnavailable",
                               available ? "Deployment has minimum availability."
                                         : "Deployment does not have minimum availability.",
                               now) < 0 ||
        objstate_set_condition(copy, "Progressing", "True",
                               done ? "NewReplicaSetAvailable" : "ReplicaSetUpdated", msg,
                               now) < 0)
        return -ENOMEM;
    return 0;
}

static int write_status(struct deployment_controller *c, const json_t *d, const json_t *rss,
                        const json_t *current, int64_t want, int64_t now,
                        struct action_list *out, struct err *e)
{
    struct counts n;
    count(rss, current, &n);
    json_t *copy = jdoc_copy(d);
    json_t *status = copy ? objstate_status(copy) : NULL;
    json_t *fields = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I}", "observedGeneration",
        (json_int_t)objstate_int(d, "metadata.generation", 0), "replicas",
        (json_int_t)n.replicas, "updatedReplicas", (json_int_t)n.updated, "readyReplicas",
        (json_int_t)n.ready, "availableReplicas", (json_int_t)n.available,
        "unavailableReplicas", (json_int_t)(want > n.available ? want - n.available : 0));
    if (!status || !fields || json_object_update(status, fields) != 0 ||
        set_conditions(copy, &n, want, current, now) < 0) {
        json_decref(fields);
        json_decref(copy);
        return err_set(e, -ENOMEM, "deployment controller: out of memory");
    }
    json_decref(fields);
    return objstate_write_status(out, c->deploy_res, d, copy, e);
}

/* ---- the decision -------------------------------------------------------------------- */

static const json_t *find_current(const json_t *rss, const char *hash)
{
    size_t i;
    const json_t *rs;
    json_array_foreach(rss, i, rs) {
        const char *h = meta_label(rs, DEPLOYMENT_HASH_LABEL);
        if (h && strcmp(h, hash) == 0)
            return rs;
    }
    return NULL;
}

static int roll(struct deployment_controller *c, const json_t *d, const json_t *rss,
                const json_t *current, const char *hash, int64_t want, struct action_list *out,
                struct err *e)
{
    size_t i;
    const json_t *rs;
    json_array_foreach(rss, i, rs) {
        int rc = rs == current ? 0 : scale(c, rs, 0, out, e);
        if (rc < 0)
            return rc;
    }
    if (old_pods_left(c, rss, current) > 0)
        return 0; /* Recreate: the new pods wait for the old ones to be gone */
    if (current)
        return scale(c, current, want, out, e);
    if (!json_is_object(json_object_get(json_object_get(json_object_get(d, "spec"), "template"),
                                        "spec")))
        return action_event(out, d, ACTION_EVENT_WARNING, "FailedCreate", e,
                            "spec.template.spec: Required value");
    json_t *rs_new = new_replicaset(d, hash, want);
    if (!rs_new)
        return err_set(e, -ENOMEM, "deployment controller: out of memory");
    int rc = action_create(out, c->rs_res, meta_namespace(d), rs_new, e);
    if (rc == 0)
        rc = action_event(out, d, ACTION_EVENT_NORMAL, "ScalingReplicaSet", e,
                          "Scaled up replica set %s-%s to %lld", meta_name(d), hash,
                          (long long)want);
    return rc;
}

static int decide(struct deployment_controller *c, const json_t *d, int64_t now,
                  struct action_list *out, struct err *e)
{
    const json_t *spec = json_object_get(d, "spec");
    char hash[DEPLOYMENT_HASH_MAX];
    if (deployment_template_hash(json_object_get(spec, "template"),
                                 objstate_int(d, "status.collisionCount", 0), hash) < 0)
        return err_set(e, -ENOMEM, "deployment controller: out of memory");
    json_t *rss = workloads_controlled(c->cfg.replicasets, meta_uid(d));
    if (!rss)
        return err_set(e, -ENOMEM, "deployment controller: out of memory");
    const json_t *current = find_current(rss, hash);
    int64_t want = objstate_int(d, "spec.replicas", 1);
    int rc = 0;
    if (!json_is_true(json_object_get(spec, "paused")))
        rc = roll(c, d, rss, current, hash, want, out, e);
    if (rc == 0)
        rc = write_status(c, d, rss, current, want, now, out, e);
    json_decref(rss);
    return rc;
}

static int deployment_reconcile(void *self, const char *key, int64_t now,
                                struct action_list *out, int64_t *requeue_at, struct err *e)
{
    struct deployment_controller *c = self;
    char ns[OBJSTATE_NAME_MAX], name[OBJSTATE_NAME_MAX];
    json_t *d = NULL;
    (void)requeue_at;
    int rc = objstate_split_key(key, ns, name, e);
    if (rc < 0 || informer_get(c->cfg.deployments, ns, name, &d) != 0)
        return rc;
    if (!objstate_deleting(d))
        rc = decide(c, d, now, out, e);
    json_decref(d);
    return rc;
}

/* ---- handlers and life ---------------------------------------------------------------- */

void deployment_changed(void *ctx, enum informer_change change, const json_t *old,
                        const json_t *cur)
{
    struct deployment_controller *c = ctx;
    (void)change;
    (void)old;
    workloads_enqueue(c->loop, cur);
}

void deployment_rs_changed(void *ctx, enum informer_change change, const json_t *old,
                           const json_t *cur)
{
    struct deployment_controller *c = ctx;
    (void)change;
    (void)old;
    workloads_enqueue_controller(c->loop, cur, "apps", "Deployment");
}

void deployment_pod_changed(void *ctx, enum informer_change change, const json_t *old,
                            const json_t *cur)
{
    struct deployment_controller *c = ctx;
    bool ended = change == INFORMER_DELETED ||
                 (old && !objstate_terminal(old) && objstate_terminal(cur));
    if (!ended)
        return; /* most events: the owner is not read */
    const json_t *ref = meta_controller_ref(cur);
    const char *rs_name = json_string_value(json_object_get(ref, "name"));
    json_t *rs = NULL;
    if (!workloads_ref_is(ref, "apps", "ReplicaSet", NULL) ||
        informer_get(c->cfg.replicasets, meta_namespace(cur), rs_name, &rs) != 0)
        return;
    workloads_enqueue_controller(c->loop, rs, "apps", "Deployment");
    json_decref(rs);
}

int deployment_controller_new(const struct workloads_config *cfg,
                              struct deployment_controller **out, struct err *e)
{
    if (!cfg->store || !cfg->pods || !cfg->replicasets || !cfg->deployments)
        return err_set(e, -EINVAL, "deployment controller: needs a store and the pods, "
                                   "replicasets and deployments informers");
    struct api_registry *reg = store_registry(cfg->store);
    const struct api_resource *rs = api_registry_find(reg, "apps", "v1", "replicasets");
    const struct api_resource *d = api_registry_find(reg, "apps", "v1", "deployments");
    if (!rs || !d)
        return err_set(e, -ENOENT, "deployment controller: the store serves no replicasets "
                                   "or deployments");
    struct deployment_controller *c = alloc_calloc(1, sizeof *c);
    c->cfg = *cfg;
    c->rs_res = rs;
    c->deploy_res = d;
    struct loop_config lc = {
        .store = cfg->store,
        .reconciler = {.name = "deployment-controller", .self = c,
                       .reconcile = deployment_reconcile},
        .component = "deployment-controller",
        .now_ns = cfg->now_ns,
        .clock_ctx = cfg->clock_ctx,
    };
    int rc = loop_new(&lc, &c->loop, e);
    if (rc < 0) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void deployment_controller_free(struct deployment_controller *c)
{
    if (!c)
        return;
    loop_free(c->loop);
    free(c);
}

struct loop *deployment_controller_loop(struct deployment_controller *c)
{
    return c->loop;
}
