/*
 * Placing a pod's missing slices (see controller_internal.h).
 *
 * A pod runs on one node, so all of its slices must be on one node: the
 * slices are placed one after another with the policy, the later ones held
 * to the node the first one chose; when a node cannot take them all, it is
 * ruled out and the whole pod is tried again, at most once per node.
 *
 * A pod that already has some of its slices, and whose missing ones cannot
 * join them on their node (that GPU held back after failing, say), would
 * wait there for good although another node may hold the whole pod: while
 * the pod is still gated (its slices not handed to a running pod), its
 * slices are released instead, with an Event that says so, and the whole
 * pod is placed again once they are gone.
 */
#include "controller/controller_internal.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "api/pod.h"
#include "api/pod_upgrade.h"
#include "api/schedfit.h"
#include "core/catalog.h"
#include "core/lifecycle.h"
#include "core/upgrade.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/jdoc.h"
#include "util/objkey.h"
#include "util/strcopy.h"
#include "util/vec.h"

#define SELECTOR_MAX 16

struct node_rule {
    struct controller *c;
    const json_t *pod;
    const struct pod_view *pv;            /* pod, read once */
    const struct schedfit_resources *req; /* what the pod asks of a node */
    long only;       /* the node every slice must go to, or -1 */
    bool *excluded;  /* nodes that cannot hold the whole pod (NULL: none yet) */
};

/* The gang's own limits, then the default scheduler's filters (cordon,
 * taints and tolerations with not-Ready as a taint, nodeSelector and
 * required node affinity, and what the node can still allocate), so a pod
 * is never pinned to a node the scheduler would then refuse it. */
static bool node_ok(void *ctx, size_t node, char *reason, size_t size)
{
    static const char *const ignored[] = {GPUSLICE_MIG_PREFIX, NULL};
    struct node_rule *r = ctx;
    const char *name = r->c->model.nodes[node].name;
    json_t *obj = NULL;
    struct schedfit_result fit = {.fits = true};
    if (r->only >= 0 && (long)node != r->only) {
        fit.fits = false;
        snprintf(fit.reasons[fit.n++], SCHEDFIT_REASON_MAX, "not the node of the pod's other "
                                                            "slices");
    } else if (r->excluded && r->excluded[node]) {
        fit.fits = false;
        snprintf(fit.reasons[fit.n++], SCHEDFIT_REASON_MAX, "cannot hold all of the pod's "
                                                            "slices");
    } else if (informer_get(r->c->nodes, NULL, name, &obj) < 0) {
        fit.fits = false;
        snprintf(fit.reasons[fit.n++], SCHEDFIT_REASON_MAX, "no Node object");
    } else {
        static const struct node_usage idle;
        const struct node_usage *u = strmap_get(&r->c->node_usage, name);
        struct schedfit_options opt = {.ignored = ignored};
        if (!u)
            u = &idle;
        schedfit_check_view(r->pv, r->req, obj, &u->used, u->pods, &opt, &fit);
    }
    json_decref(obj);
    if (!fit.fits && reason && size)
        snprintf(reason, size, "%s", fit.n ? fit.reasons[0] : "does not fit");
    return fit.fits;
}

/* O(GPUs that failed lately), each found by uuid. */
void controller__apply_avoidance(struct controller *c, int64_t now)
{
    assert(mutex_held(&c->lock));
    size_t pos = 0;
    const char *uuid;
    void *v;
    while (strmap_next(&c->gpu_failures, &pos, &uuid, &v))
        model_avoid(&c->model, uuid, ((const struct gpu_failures *)v)->until > now);
}

static size_t pod_selector(const json_t *pod, struct placement_label *out)
{
    size_t n = 0;
    const char *key;
    const json_t *v;
    json_object_foreach(json_object_get(json_object_get(pod, "spec"), "nodeSelector"), key, v) {
        if (n == SELECTOR_MAX || !json_is_string(v))
            continue;
        out[n++] = (struct placement_label){key, json_string_value(v)};
    }
    return n;
}

/* The node of the pod's slices that already exist, or -1 (-2 when they
 * are on a node the model does not know). */
static long existing_node(const struct controller *c, const struct wanted_slice *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *node = NULL;
        struct gpuslice_view v;
        if (w[i].existing && gpuslice_read(w[i].existing, &v, NULL) == 0)
            node = v.spec.node;
        for (size_t r = 0; !node && w[i].reserved && r < c->n_res; r++)
            if (strcmp(c->res[r].name, w[i].name) == 0) {
                long k = model_gpu_node(&c->model, c->res[r].gpu);
                return k < 0 ? -2 : k;
            }
        if (!node)
            continue;
        long k = model_find_node(&c->model, node);
        return k < 0 ? -2 : k;
    }
    return -1;
}

struct gang {
    size_t missing[WANTED_MAX];
    size_t n_missing;
    struct placement_decision d[WANTED_MAX];
    /* The k-th missing slice is a share of a whole GPU: sd[k] says where
     * (d[k] only its node). */
    bool share[WANTED_MAX];
    struct share_decision sd[WANTED_MAX];
    size_t n_taken;
    /* The GPUs of the pod's slices (those it has, then those taken so
     * far): a slice of a mig-static GPU is taken there first. */
    size_t near[2 * WANTED_MAX];
    size_t n_near, n_near_had;
    bool upgrade; /* a slice whose asked profile cannot be placed may get a larger one */
    struct upgrade_room room;          /* what the namespace's quotas leave for upgrades */
    unsigned extra_gib[WANTED_MAX];    /* the k-th slice's upgrade beyond its charge */
    /* The warm slice the k-th missing slice takes over (warm.c), or NULL:
     * its placement is claimed already, so it is not taken in the model. */
    const char *warm[WANTED_MAX];
    const char *warm_taken[WANTED_MAX]; /* the same keys, packed */
    size_t n_warm;
};

/* An empty gang. Its arrays (some 28 KB) are left as they are: each entry
 * is written before it is read (the k-th ones by gang_try, the packed ones
 * below their counts), and zeroing them cost more than a decision's
 * placement did. */
static void gang_init(struct gang *g)
{
    g->n_missing = g->n_taken = g->n_near = g->n_near_had = g->n_warm = 0;
    g->upgrade = false;
    g->room = (struct upgrade_room){0};
}

/* The GPUs of the pod's slices that exist, into g->near. */
static void near_existing(const struct controller *c, const struct wanted_slice *w, size_t n,
                          struct gang *g)
{
    for (size_t i = 0; i < n; i++) {
        struct gpuslice_view v;
        long at = w[i].existing && gpuslice_read(w[i].existing, &v, NULL) == 0
                      ? model_find_gpu(&c->model, v.spec.gpu_uuid)
                      : -1;
        if (at >= 0)
            g->near[g->n_near++] = (size_t)at;
    }
    g->n_near_had = g->n_near;
}

static void gang_undo(struct controller *c, struct gang *g)
{
    for (size_t i = 0; i < g->n_taken; i++)
        if (g->share[i])
            model_share_release(&c->model, g->sd[i].gpu, g->sd[i].memory_gib,
                                g->sd[i].sm_percent);
        else if (!g->warm[i])
            placement_release(&c->model.cluster, g->d[i].gpu, g->d[i].start, NULL);
    g->n_taken = 0;
    g->n_warm = 0;
}

/* A warm slice of the pod's namespace for the k-th missing slice (the
 * profile asked, or for a request by memory the smallest that holds it),
 * into g->d[k] and g->warm[k]; false when there is none. */
static bool take_warm(struct controller *c, const json_t *pod,
                      const struct pod_slice_request *want, const struct placement_request *r,
                      struct gang *g, size_t k)
{
    struct placement_request wr = *r;
    struct catalog_fit fit;
    if (want->memory_gib) {
        if (catalog_fits_memory(want->memory_gib, &fit, 1) == 0)
            return false;
        wr.profile = fit.profile->name;
    }
    g->warm[k] = controller__warm_find(c, meta_namespace(pod), &wr, g->warm_taken, g->n_warm,
                                       &g->d[k]);
    if (g->warm[k])
        g->warm_taken[g->n_warm++] = g->warm[k];
    return g->warm[k] != NULL;
}

/* Decides r for a request by memory: the smallest profile of any model
 * with at least gib GiB that can be placed (core/catalog.h orders them);
 * among the models of one profile, the policy's score. r's profile and
 * models are set here. */
static int decide_by_memory(struct controller *c, struct placement_request *r, unsigned gib,
                            struct placement_decision *d, struct err *e)
{
    struct catalog_fit fits[CATALOG_FITS_MAX];
    size_t n = catalog_fits_memory(gib, fits, CATALOG_FITS_MAX);
    if (n == 0)
        return err_set(e, -EINVAL, "no MIG profile of a catalogued GPU model has %u GiB", gib);
    struct err first = {0};
    int rc = placement_decide_first(&c->model.cluster, r, c->cfg.policy, fits, n, d,
                                    e ? &first : NULL);
    if (rc == -ENOSPC)
        return err_set(e, -ENOSPC, "no profile with at least %u GiB can be placed; the "
                       "smallest: %s", gib, first.msg);
    if (rc < 0 && e)
        *e = first;
    return rc;
}

/* An upgrade of the k-th missing slice within what the namespace's quotas
 * leave, less what the gang's earlier upgrades took. */
static int upgrade_in_room(struct controller *c, const struct placement_request *r,
                           struct gang *g, size_t k)
{
    unsigned charged = 0, taken = 0, max = UINT_MAX;
    if (catalog_name_gib(r->profile, &charged) < 0)
        return -ENOSPC;
    for (size_t i = 0; i < k; i++)
        taken += g->extra_gib[i];
    if (g->room.gib != UINT_MAX)
        max = charged + (g->room.gib > taken ? g->room.gib - taken : 0);
    int rc = upgrade_decide_within(&c->model.cluster, r, c->cfg.policy, max, &g->d[k]);
    if (rc == 0) {
        unsigned gib = catalog_profile_gib(g->d[k].profile);
        g->extra_gib[k] = gib > charged ? gib - charged : 0;
    }
    return rc;
}

/* One try at placing every missing slice with the rule's node limits. */
static int gang_try(struct controller *c, const json_t *pod, const struct wanted_slice *w,
                    struct gang *g, struct node_rule *rule, struct err *e)
{
    struct placement_label sel[SELECTOR_MAX];
    size_t n_sel = pod_selector(pod, sel);
    g->n_near = g->n_near_had;
    g->n_warm = 0;
    for (size_t k = 0; k < g->n_missing; k++) {
        const struct pod_slice_request *want = w[g->missing[k]].req;
        struct placement_request r = {.profile = want->profile,
                                      .selector = sel, .n_selector = n_sel,
                                      .filter = node_ok, .filter_ctx = rule,
                                      .near = g->near, .n_near = g->n_near};
        int rc = 0;
        g->extra_gib[k] = 0;
        g->warm[k] = NULL;
        g->share[k] = want->sharing != POD_SHARING_NONE;
        if (g->share[k])
            rc = controller__share_decide(c, want, &r, &g->sd[k], e);
        else if (take_warm(c, pod, want, &r, g, k))
            ; /* a warm slice of the namespace: no destroy, no create */
        else if (want->memory_gib)
            rc = decide_by_memory(c, &r, want->memory_gib, &g->d[k], e);
        else
            rc = placement_decide(&c->model.cluster, &r, c->cfg.policy, &g->d[k], e);
        if (rc == -ENOSPC && g->upgrade && !want->memory_gib && !g->share[k])
            rc = upgrade_in_room(c, &r, g, k);
        if (rc == 0 && !g->warm[k] && !g->share[k])
            rc = placement_take(&c->model.cluster, g->d[k].gpu, g->d[k].profile, g->d[k].start,
                                0, e);
        if (rc < 0) {
            gang_undo(c, g);
            return rc;
        }
        g->n_taken = k + 1;
        if (g->share[k])
            g->d[k] = (struct placement_decision){.node = g->sd[k].node};
        else
            g->near[g->n_near++] = g->d[k].gpu;
        rule->only = (long)g->d[k].node;
    }
    return 0;
}

/* Places g's missing slices, on node `fixed` (-1: any node). */
static int gang_place(struct controller *c, const json_t *pod, long fixed, struct gang *g,
                      const struct wanted_slice *w, struct err *e)
{
    if (fixed == -2)
        return err_set(e, -ENOSPC, "the pod's other slices are on a node without usable "
                                   "GPUs now");
    /* Read once, for the requests and every node the filter tries:
     * re-read per node it was some 8 us a node, at 10,000 nodes. */
    struct pod_view pv;
    struct schedfit_resources req;
    struct err bad = {0};
    if (pod_read(pod, &pv, &bad) < 0 || schedfit_view_requests(pod, &pv, &req, &bad) < 0)
        return err_set(e, -EINVAL, "the pod's requests cannot be read: %s", bad.msg);
    /* Made on the first node ruled out: most pods fit on the first try,
     * and zeroing a flag per node for each was O(nodes) per decision. */
    bool *excluded = NULL;
    int rc = -ENOSPC;
    struct err first = {0};
    for (size_t attempt = 0; attempt <= c->model.n_nodes; attempt++) {
        struct node_rule rule = {c, pod, &pv, &req, fixed, excluded};
        /* Only the first try's explanation is told: the later ones are
         * not worked out. */
        rc = gang_try(c, pod, w, g, &rule, attempt == 0 && e ? &first : NULL);
        if (rc != -ENOSPC || fixed >= 0 || rule.only < 0)
            break;
        if (!excluded)
            excluded = alloc_calloc(c->model.n_nodes + 1, sizeof *excluded);
        excluded[rule.only] = true; /* the first slice fit there, the rest did not */
    }
    free(excluded);
    if (rc < 0 && e) {
        *e = first;
        if (g->n_missing > 1 && rc == -ENOSPC)
            err_prefix(e, rc, "no node can hold all %zu slices of the pod: ", g->n_missing);
    }
    return rc;
}

/* Holds the decided placement until the cache shows its GPUSlice: a
 * reservation, and its claim in the model (which a warm slice it takes
 * over hands to it). */
static void reserve(struct controller *c, const char *ns, const char *pod_key,
                    const struct wanted_slice *w, const struct gang *g, size_t k)
{
    VEC_RESERVE(c->res, c->cap_res, c->n_res + 1);
    struct reservation *r = &c->res[c->n_res++];
    memset(r, 0, sizeof *r);
    strcopy_cut(r->ns, sizeof r->ns, ns);
    strcopy_cut(r->name, sizeof r->name, w->name);
    strcopy_cut(r->pod_key, sizeof r->pod_key, pod_key);
    char key[CONTROLLER_KEY_MAX];
    controller__slice_key(ns, w->name, key);
    if (g->share[k]) {
        const struct share_decision *sd = &g->sd[k];
        strcopy_cut(r->gpu, sizeof r->gpu, c->model.share_info[sd->gpu].uuid);
        r->share = (enum share_mode)w->req->sharing;
        r->gib = sd->memory_gib;
        r->sm = sd->sm_percent;
        model_claim_share(&c->model, key, r->gpu, r->share, r->gib, r->sm);
        return;
    }
    const struct placement_decision *d = &g->d[k];
    strcopy_cut(r->gpu, sizeof r->gpu, c->model.info[d->gpu].uuid);
    strcopy_cut(r->profile, sizeof r->profile, d->profile->name);
    r->start = d->start;
    r->extra_gib = g->extra_gib[k];
    if (g->warm[k])
        controller__warm_taken(c, g->warm[k], key);
    model_claim(&c->model, key, r->gpu, r->profile, r->start);
}

/* The GPUSlice for w at d; quota (may be NULL) names the ResourceQuota
 * whose room an upgrade took. */
/* The GPUSlice of the share sd for w. */
static json_t *share_for(struct controller *c, const json_t *pod, const struct wanted_slice *w,
                         const struct share_decision *sd)
{
    char config_map[254];
    pod_configmap_name(pod, w->req->container, config_map);
    const struct model_gpu *info = &c->model.share_info[sd->gpu];
    struct gpuslice_spec spec = {
        .pod_name = meta_name(pod), .pod_uid = meta_uid(pod), .container = w->req->container,
        .init = w->req->init, .index = w->index,
        .node = c->model.nodes[c->model.shares[sd->gpu].node].name, .gpu_uuid = info->uuid,
        .gpu_index = info->index, .sharing = w->req->sharing, .memory_gib = sd->memory_gib,
        .sm_percent = sd->sm_percent, .config_map = config_map,
    };
    return gpuslice_new(meta_namespace(pod), &spec, pod);
}

static json_t *slice_for(struct controller *c, const json_t *pod, const struct wanted_slice *w,
                         const struct placement_decision *d, const char *quota)
{
    char config_map[254];
    pod_configmap_name(pod, w->req->container, config_map);
    const struct model_gpu *info = &c->model.info[d->gpu];
    struct gpuslice_spec spec = {
        .pod_name = meta_name(pod), .pod_uid = meta_uid(pod), .container = w->req->container,
        .init = w->req->init, .index = w->index, .node = c->model.nodes[d->node].name,
        .gpu_uuid = info->uuid, .gpu_index = info->index,
        .model = c->model.gpus[d->gpu].occ.model->name, .profile = d->profile->name,
        .requested_profile = w->req->memory_gib ? NULL : w->req->profile,
        .requested_memory_gib = w->req->memory_gib, .start = d->start,
        .size = d->profile->memory_slices, .existing = d->existing, .config_map = config_map,
        .upgrade_quota = quota,
    };
    return gpuslice_new(meta_namespace(pod), &spec, pod);
}

static bool same_string(const json_t *v, const char *s)
{
    return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

/* The pod's gpuslice.dev/SlicesPlaced condition (its index in conds), or
 * NULL. */
static json_t *placed_condition(const json_t *conds, size_t *at)
{
    size_t i;
    json_t *cond;
    json_array_foreach(conds, i, cond)
        if (same_string(json_object_get(cond, "type"), "gpuslice.dev/SlicesPlaced")) {
            *at = i;
            return cond;
        }
    return NULL;
}

/* after_write: an earlier action of this decision writes the pod, so the
 * status write cannot know the resourceVersion it will find and is sent
 * without one (a pod's status update may be unconditional, as the
 * kubelet's are); with the decision's version it could only conflict. */
int controller__set_placed(struct controller *c, const json_t *pod, bool placed,
                           const char *reason, const char *message, int64_t now,
                           bool after_write, struct action_list *out, struct err *e)
{
    size_t i = 0;
    const json_t *cond = placed_condition(
        json_object_get(json_object_get(pod, "status"), "conditions"), &i);
    /* Writing an unchanged condition would bump the pod's resourceVersion,
     * wake the controller again and loop: write only what changes (and
     * copy the pod only then). */
    if ((!cond && placed) ||
        (cond && same_string(json_object_get(cond, "status"), placed ? "True" : "False") &&
         same_string(json_object_get(cond, "reason"), reason) &&
         same_string(json_object_get(cond, "message"), message)))
        return 0;
    char ts[32];
    controller__format_now(now, ts);
    json_t *fresh = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "gpuslice.dev/SlicesPlaced",
                              "status", placed ? "True" : "False", "reason", reason,
                              "message", message, "lastTransitionTime", ts);
    if (!fresh)
        return err_set(e, -EINVAL, "controller: the condition's message is not valid UTF-8");
    json_t *copy = meta_copy_for_write(pod, "status");
    json_t *status = json_object_get(copy, "status");
    if (!json_is_object(status)) {
        status = json_object();
        jdoc_set(copy, "status", status);
    }
    json_t *conds = json_object_get(status, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        jdoc_set(status, "conditions", conds);
    }
    if (cond)
        json_array_set_new(conds, i, fresh); /* the same index in the copy: cannot fail */
    else
        jdoc_append(conds, fresh);
    if (after_write)
        json_object_del(meta_of(copy), "resourceVersion");
    return action_update_status(out, c->pod_res, copy, e);
}

/* Whether the whole pod would fit on some node if its slices were placed
 * afresh (those it has stay claimed meanwhile, so it never lands where they
 * are in the way). Every slice it has must be in the cache: one only
 * reserved could not be released yet. */
static bool fits_afresh(struct controller *c, const json_t *pod, const struct wanted_slice *w,
                        size_t n)
{
    struct gang all;
    gang_init(&all);
    near_existing(c, w, n, &all);
    for (size_t i = 0; i < n; i++) {
        if (w[i].reserved)
            return false;
        all.missing[all.n_missing++] = i;
    }
    int rc = gang_place(c, pod, -1, &all, w, NULL);
    gang_undo(c, &all);
    return rc == 0;
}

long controller__fits_as_asked(struct controller *c, const json_t *pod,
                               const struct pod_slices *ps)
{
    assert(mutex_held(&c->lock));
    struct wanted_slice *w = c->wanted;
    struct gang g;
    gang_init(&g);
    for (size_t i = 0; i < ps->n; i++)
        for (unsigned k = 0; k < ps->items[i].count && g.n_missing < WANTED_MAX; k++) {
            w[g.n_missing] = (struct wanted_slice){.req = &ps->items[i]};
            g.missing[g.n_missing] = g.n_missing;
            g.n_missing++;
        }
    if (g.n_missing == 0 || gang_place(c, pod, -1, &g, w, NULL) < 0)
        return -1;
    long node = (long)g.d[0].node;
    gang_undo(c, &g);
    return node;
}

/* Releases the slices the pod has, so that it is placed whole again once
 * they are gone (the new ones take the same names), and says why. */
static int release_to_move(struct controller *c, const json_t *pod, struct wanted_slice *w,
                           size_t n, long node, const char *why, int64_t now,
                           struct action_list *out, struct err *e)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (w[i].existing)
            rc = controller__release_slice(c, w[i].existing, now, out, e);
    char msg[768];
    snprintf(msg, sizeof msg, "the pod's missing slices cannot join its other slices on %s "
             "(%s): releasing those to place the whole pod where it fits",
             c->model.nodes[node].name, why);
    if (rc == 0)
        rc = controller__set_placed(c, pod, false, "Replacing", msg, now, false, out, e);
    c->stats.moved += rc == 0;
    return rc < 0 ? rc
                  : controller__say(c, out, pod, ACTION_EVENT_NORMAL, "SlicesReleased", "%s",
                                    msg);
}

/* The placement message's part for a share: ", mps 8 GiB 25% SMs (serve)
 * on GPU 2". */
static size_t placed_share(const struct controller *c, const struct wanted_slice *ws,
                           const struct share_decision *sd, size_t k, char *out, size_t size)
{
    unsigned index = c->model.share_info[sd->gpu].index;
    if (ws->req->sharing == POD_SHARING_MPS)
        return (size_t)snprintf(out, size, "%s an MPS share of %u GiB and %u%% of the SMs (%s) "
                                "on GPU %u", k ? "," : "", sd->memory_gib, sd->sm_percent,
                                ws->req->container, index);
    return (size_t)snprintf(out, size, "%s a time slice (%s) on GPU %u", k ? "," : "",
                            ws->req->container, index);
}

static int append_placed(struct controller *c, const json_t *pod, struct wanted_slice *w,
                         struct gang *g, int64_t now, struct action_list *out, struct err *e)
{
    const char *ns = meta_namespace(pod);
    char key[CONTROLLER_KEY_MAX], msg[768];
    objkey_join(key, sizeof key, ns, meta_name(pod));
    int rc = 0;
    bool add_finalizer = !meta_has_finalizer(pod, GPUSLICE_FINALIZER);
    if (add_finalizer) {
        json_t *copy = meta_copy_for_write(pod, "metadata");
        rc = copy && meta_add_finalizer(copy, GPUSLICE_FINALIZER) >= 0
                 ? action_update(out, c->pod_res, copy, e)
                 : err_set(e, -ENOMEM, "controller: out of memory");
    }
    size_t used = (size_t)snprintf(msg, sizeof msg, "placed on %s:",
                                   c->model.nodes[g->d[0].node].name);
    for (size_t k = 0; rc == 0 && k < g->n_missing; k++) {
        struct wanted_slice *ws = &w[g->missing[k]];
        const struct placement_decision *d = &g->d[k];
        const char *quota = g->extra_gib[k] && g->room.quota[0] ? g->room.quota : NULL;
        json_t *obj = g->share[k] ? share_for(c, pod, ws, &g->sd[k])
                                  : slice_for(c, pod, ws, d, quota);
        rc = obj ? action_create(out, c->slice_res, ns, obj, e)
                 : err_set(e, -ENOMEM, "controller: out of memory");
        if (rc == 0)
            reserve(c, ns, key, ws, g, k);
        if (rc == 0 && g->warm[k]) {
            char why[CONTROLLER_KEY_MAX + 32];
            snprintf(why, sizeof why, "taken over by pod %s", key);
            rc = controller__warm_let_go(c, g->warm[k], "WarmTakenOver", why, now, out, e);
        }
        if (used < sizeof msg && g->share[k])
            used += placed_share(c, ws, &g->sd[k], k, msg + used, sizeof msg - used);
        else if (used < sizeof msg)
            used += (size_t)snprintf(msg + used, sizeof msg - used, "%s %s (%s) on GPU %u at "
                                     "memory slice %u%s", k ? "," : "", d->profile->name,
                                     ws->req->container, c->model.info[d->gpu].index, d->start,
                                     d->existing ? " (an existing slice)"
                                     : g->warm[k] ? " (a warm slice)" : "");
        c->stats.placed += rc == 0;
    }
    for (size_t k = 0; rc == 0 && g->upgrade && k < g->n_missing; k++) {
        const struct pod_slice_request *asked = w[g->missing[k]].req;
        if (g->share[k])
            continue;
        const struct gpu_model *m = c->model.gpus[g->d[k].gpu].occ.model;
        if (!asked->memory_gib && catalog_find_profile(m, asked->profile) != g->d[k].profile)
            rc = controller__say_upgraded(c, pod, asked->profile, g->d[k].profile->name, now,
                                          out);
    }
    if (rc == 0)
        rc = controller__set_placed(c, pod, true, "Placed", msg, now, add_finalizer, out, e);
    if (rc == 0)
        rc = controller__say(c, out, pod, ACTION_EVENT_NORMAL, "SlicesPlaced", "%s", msg);
    if (rc == 0)
        controller__upgrade_placed(c, pod);
    return rc;
}

/* controller__place_missing; *result names what it came to for the
 * metrics (NULL: nothing was missing, no decision). */
static int place_missing(struct controller *c, const json_t *pod, struct wanted_slice *w,
                         size_t n, int64_t now, struct action_list *out, int64_t *requeue_at,
                         const char **result, struct err *e)
{
    assert(mutex_held(&c->lock));
    struct gang g;
    gang_init(&g);
    for (size_t i = 0; i < n; i++)
        if (!w[i].existing && !w[i].reserved)
            g.missing[g.n_missing++] = i;
    if (g.n_missing == 0)
        return 0;
    *result = "error";
    int rc = model_sync(&c->model, e);
    if (rc < 0)
        return rc;
    controller__apply_avoidance(c, now);
    struct err why = {0};
    long fixed = existing_node(c, w, n);
    near_existing(c, w, n, &g);
    rc = gang_place(c, pod, fixed, &g, w, &why);
    char hint[128] = "";
    bool due = false;
    if (rc == -ENOSPC) {
        int urc = controller__upgrade_due(c, pod, now, out, requeue_at, &due, hint,
                                          sizeof hint, e);
        if (urc < 0)
            return urc;
    }
    if (due) {
        g.upgrade = true;
        g.room = controller__upgrade_room(c, pod);
        rc = gang_place(c, pod, fixed, &g, w, NULL);
        if (rc < 0) { /* why stays the asked profiles' explanation */
            rc = -ENOSPC;
            snprintf(hint, sizeof hint, "; no larger profile can be placed either (%s)",
                     GPUSLICE_ANNOTATION_UPGRADE_AFTER);
        }
    }
    /* The gang's slices were taken to place the next ones beside them; the
     * reservations claim them for good. */
    gang_undo(c, &g);
    char key[CONTROLLER_KEY_MAX];
    objkey_join(key, sizeof key, meta_namespace(pod), meta_name(pod));
    if (rc == -ENOSPC && fixed >= 0 && fits_afresh(c, pod, w, n)) {
        c->wake_pending |= controller__unwait(c, key, c->wake_next);
        *result = "replacing";
        return release_to_move(c, pod, w, n, fixed, why.msg, now, out, e);
    }
    char reclaim[512];
    int warm = rc == -ENOSPC ? controller__warm_reclaim(c, pod, w, n, fixed, now, out, reclaim,
                                                        sizeof reclaim, e)
                             : 0;
    if (warm != 0) {
        *result = warm > 0 ? "reclaiming_warm" : "error";
        controller__wait(c, key, pod, fixed >= 0);
        rc = warm < 0 ? warm
                      : controller__set_placed(c, pod, false, "ReclaimingWarmSlices", reclaim, now, false,
                                      out, e);
        return rc < 0 ? rc
                      : controller__say(c, out, pod, ACTION_EVENT_NORMAL, "ReclaimingWarmSlices",
                                        "%s", reclaim);
    }
    if (rc == -ENOSPC || rc == -EINVAL) {
        c->stats.unplaceable++;
        *result = "no_room";
        controller__wait(c, key, pod, fixed >= 0);
        size_t used = strlen(why.msg);
        snprintf(why.msg + used, sizeof why.msg - used, "%s", hint);
        rc = controller__set_placed(c, pod, false, "NoPlacement", why.msg, now, false, out, e);
        return rc < 0 ? rc
                      : controller__say(c, out, pod, ACTION_EVENT_WARNING, "NoPlacement", "%s",
                                        why.msg);
    }
    if (rc < 0) {
        if (e)
            *e = why;
        return rc;
    }
    c->wake_pending |= controller__unwait(c, key, c->wake_next);
    *result = "placed";
    return append_placed(c, pod, w, &g, now, out, e);
}

int controller__place_missing(struct controller *c, const json_t *pod, struct wanted_slice *w,
                              size_t n, int64_t now, struct action_list *out,
                              int64_t *requeue_at, struct err *e)
{
    int64_t started = clock_monotonic_ns();
    const char *result = NULL;
    int rc = place_missing(c, pod, w, n, now, out, requeue_at, &result, e);
    if (result)
        controller__metrics_decision(c, rc < 0 ? "error" : result, started);
    return rc;
}

int controller__place_trial(struct controller *c, const json_t *pod, struct wanted_slice *w,
                            size_t n, long node, struct placement_decision *d, size_t *n_d,
                            struct err *e)
{
    assert(mutex_held(&c->lock));
    struct gang g;
    gang_init(&g);
    for (size_t i = 0; i < n; i++)
        if (!w[i].existing && !w[i].reserved)
            g.missing[g.n_missing++] = i;
    near_existing(c, w, n, &g);
    int rc = gang_place(c, pod, node, &g, w, e);
    if (rc == 0) {
        memcpy(d, g.d, g.n_missing * sizeof *d);
        *n_d = g.n_missing;
    }
    gang_undo(c, &g);
    return rc;
}
