/*
 * Upgrades and restores (docs/controller.md, "Upgrade and restore"),
 * both opted into by the pod (api/pod_upgrade.h).
 *
 * Upgrade: a pod whose asked profile cannot be placed waits its delay
 * (gpuslice.dev/upgrade-after), counted from its first failed decision;
 * the decision asks the loop to come back exactly at the deadline, never
 * polls. From then on a slice that still cannot be placed as asked gets
 * the smallest larger profile that can (core/upgrade.h orders them; each
 * is placed as any profile is, a free slice of a mig-static GPU first).
 * The pod is still gated, so nothing restarts; its GPUSlice records what
 * was asked (requestedProfile) beside what it got (profile).
 *
 * Restore: an upgraded pod holds more than it asked for. When room frees
 * (and the pods waiting for room have had their turn: the restore
 * decision is queued after them, and the queue is first in, first out),
 * one upgraded pod whose asked slices can now all be placed, whose owner
 * makes a deleted pod again and which did not opt out is deleted
 * gracefully, the one that wastes most; its replacement asks for the
 * asked profile again. Every slice the pod holds counts as held while
 * this is decided, so a restore never bounces a pod to nowhere. At most
 * one restore is in flight per asked profile and node: until the owner's
 * next pod is placed, or restore_timeout_ns.
 *
 * The controller remembers (all under c->lock): when each opted-in pod
 * first failed (forgotten when it is placed or leaves), the live upgraded
 * GPUSlices (kept by the GPUSlice handler, so the restore decision does
 * not scan every slice), and the restores in flight.
 */
#include "controller/controller_internal.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "api/meta.h"
#include "api/quota.h"
#include "api/pod_upgrade.h"
#include "core/lifecycle.h"
#include "core/upgrade.h"
#include "util/duration.h"
#include "util/jdoc.h"
#include "util/objkey.h"

#define DEFAULT_GRACE_SECONDS 30

int controller__upgrade_due(struct controller *c, const json_t *pod, int64_t now,
                            struct action_list *out, int64_t *requeue_at, bool *due,
                            char *hint, size_t hint_size, struct err *e)
{
    assert(mutex_held(&c->lock));
    *due = false;
    hint[0] = '\0';
    struct pod_upgrade u;
    struct err bad = {0};
    bool invalid = pod_upgrade_of(pod, &u, &bad) < 0;
    const char *uid = meta_uid(pod);
    if (!uid || (!u.upgrade && !invalid))
        return 0;
    bool added = false;
    struct upgrade_wait *wait = strmap_put(&c->upgrade_waits, uid, &added);
    if (added)
        wait->since = now;
    int rc = 0;
    if (invalid && !wait->warned) {
        wait->warned = true;
        rc = action_event(out, pod, ACTION_EVENT_WARNING, "InvalidAnnotation", e,
                          "%s; fix the pod's annotations", bad.msg);
    }
    if (!u.upgrade)
        return rc;
    int64_t deadline = wait->since + u.after_ns;
    *due = loop_due(deadline, now, requeue_at);
    char after[DURATION_TEXT_MAX];
    snprintf(hint, hint_size, "; a larger profile once it waited %s (%s)",
             duration_format(u.after_ns, after), GPUSLICE_ANNOTATION_UPGRADE_AFTER);
    return rc;
}

int controller__say_upgraded(struct controller *c, const json_t *pod, const char *asked,
                             const char *given, int64_t now, struct action_list *out)
{
    assert(mutex_held(&c->lock));
    const char *uid = meta_uid(pod);
    const struct upgrade_wait *wait = uid ? strmap_get(&c->upgrade_waits, uid) : NULL;
    char waited[DURATION_TEXT_MAX];
    duration_format(wait ? now - wait->since : 0, waited);
    c->stats.upgraded++;
    return controller__say(c, out, pod, ACTION_EVENT_NORMAL, "Upgraded",
                           "upgraded from %s to %s: no %s free for %s", asked, given, asked,
                           waited);
}

/* Ends one restore in flight for owner uid; false when there is none. */
static bool land_one(struct controller *c, const char *owner)
{
    size_t pos = 0;
    const char *key;
    void *v;
    while (strmap_next(&c->restoring, &pos, &key, &v))
        if (strcmp(((const struct restore_flight *)v)->owner_uid, owner) == 0) {
            char copy[CONTROLLER_KEY_MAX];
            snprintf(copy, sizeof copy, "%s", key);
            strmap_del(&c->restoring, copy);
            return true;
        }
    return false;
}

void controller__upgrade_placed(struct controller *c, const json_t *pod)
{
    assert(mutex_held(&c->lock));
    const char *uid = meta_uid(pod);
    if (uid)
        strmap_del(&c->upgrade_waits, uid);
    const char *owner = json_string_value(json_object_get(meta_controller_ref(pod), "uid"));
    if (owner && land_one(c, owner))
        c->restore_pending = true; /* another restore may go now */
}

/* Whether the slice holds a larger profile than its pod asked for. */
static bool is_upgraded(const struct gpuslice_view *v)
{
    const char *asked = v->spec.requested_profile, *given = v->spec.profile;
    if (!asked || !given)
        return false;
    const struct gpu_model *m = v->spec.model ? catalog_find_model(v->spec.model) : NULL;
    return m ? catalog_find_profile(m, asked) != catalog_find_profile(m, given)
             : strcmp(asked, given) != 0;
}

/* GiB beyond what its pod was charged (catalog_name_gib of the asked
 * profile) of a slice that holds given. */
static unsigned extra_gib(const char *asked, const struct mig_profile *given)
{
    unsigned charged = 0, gib = catalog_profile_gib(given);
    if (catalog_name_gib(asked, &charged) < 0)
        return 0;
    return gib > charged ? gib - charged : 0;
}

/* The namespace's upgrades: its live upgraded GPUSlices in the cache and
 * the upgrades reserved and not yet there. */
static unsigned upgraded_extra(struct controller *c, const char *ns)
{
    unsigned sum = 0;
    json_t *slices = informer_list(c->slices, ns);
    size_t i;
    const json_t *s;
    json_array_foreach(slices, i, s) {
        struct gpuslice_view v;
        const struct gpu_model *m;
        enum slice_phase phase;
        if (gpuslice_read(s, &v, NULL) < 0 || v.deleting || !is_upgraded(&v) ||
            !(m = catalog_find_model(v.spec.model)) ||
            lifecycle_phase_parse(v.status.phase, &phase, NULL) < 0 ||
            lifecycle_is_terminal(phase))
            continue;
        const struct mig_profile *given = catalog_find_profile(m, v.spec.profile);
        sum += given ? extra_gib(v.spec.requested_profile, given) : 0;
    }
    json_decref(slices);
    for (size_t k = 0; k < c->n_res; k++)
        if (strcmp(c->res[k].ns, ns) == 0)
            sum += c->res[k].extra_gib;
    return sum;
}

/* What quota q leaves of name (milli units of GiB), into *room: its
 * spec.hard less its status.used, none while the quota is not counted. */
static void quota_leaves(const json_t *q, const char *name, struct upgrade_room *room)
{
    const json_t *status = json_object_get(q, "status");
    json_t *hard = NULL, *used = NULL;
    if (quota_read(json_object_get(json_object_get(q, "spec"), "hard"), "spec.hard", &hard,
                   NULL) == 0 &&
        quota_read(json_object_get(status, "used"), "status.used", &used, NULL) == 0) {
        const json_t *h = json_object_get(hard, name);
        json_int_t u = json_integer_value(json_object_get(used, name));
        if (json_is_integer(h)) {
            json_int_t left = json_integer_value(h) - u;
            unsigned gib = json_object_get(used, name) && left > 0 ? (unsigned)(left / 1000) : 0;
            if (gib < room->gib) {
                room->gib = gib;
                snprintf(room->quota, sizeof room->quota, "%s", meta_name(q));
            }
        }
    }
    json_decref(hard);
    json_decref(used);
}

struct upgrade_room controller__upgrade_room(struct controller *c, const json_t *pod)
{
    assert(mutex_held(&c->lock));
    struct upgrade_room room = {.gib = UINT_MAX};
    const char *ns = meta_namespace(pod);
    json_t *quotas = ns ? informer_list(c->quotas, ns) : NULL;
    size_t i;
    const json_t *q;
    json_array_foreach(quotas, i, q)
        if (quota_covers(q, c->pod_res, pod)) {
            quota_leaves(q, "requests." GPUSLICE_RESOURCE_MEMORY, &room);
            quota_leaves(q, "limits." GPUSLICE_RESOURCE_MEMORY, &room);
        }
    json_decref(quotas);
    if (room.gib != UINT_MAX) {
        unsigned taken = upgraded_extra(c, ns);
        room.gib = room.gib > taken ? room.gib - taken : 0;
    }
    return room;
}

bool controller__track_upgraded(struct controller *c, bool live,
                                const struct gpuslice_view *v)
{
    assert(mutex_held(&c->lock));
    char key[CONTROLLER_KEY_MAX];
    controller__slice_key(v->ns, v->name, key);
    if (live && v->spec.pod_name && is_upgraded(v))
        objkey_join(strmap_put(&c->upgraded, key, NULL), CONTROLLER_KEY_MAX, v->ns,
                    v->spec.pod_name);
    else
        strmap_del(&c->upgraded, key);
    return strmap_size(&c->upgraded) > 0;
}

/* Drops the restores in flight that expired; returns the earliest expiry
 * left (0: none). */
static int64_t expire_flights(struct controller *c, int64_t now)
{
    for (bool again = true; again;) {
        again = false;
        size_t pos = 0;
        const char *key;
        void *v;
        while (!again && strmap_next(&c->restoring, &pos, &key, &v))
            if (((const struct restore_flight *)v)->until <= now) {
                char copy[CONTROLLER_KEY_MAX];
                snprintf(copy, sizeof copy, "%s", key);
                strmap_del(&c->restoring, copy);
                again = true;
            }
    }
    int64_t next = 0;
    size_t pos = 0;
    const char *key;
    void *v;
    while (strmap_next(&c->restoring, &pos, &key, &v)) {
        int64_t until = ((const struct restore_flight *)v)->until;
        if (next == 0 || until < next)
            next = until;
    }
    return next;
}

/* An upgraded pod that may be restored. */
struct restore_pick {
    char key[CONTROLLER_KEY_MAX];
    json_t *pod;                /* owned */
    struct upgrade_waste waste; /* summed over its upgraded slices */
    char asked[POD_PROFILE_MAX], given[POD_PROFILE_MAX]; /* its first upgraded slice */
    char node[254];                  /* where its asked slices can go now */
    char flight[CONTROLLER_KEY_MAX]; /* "node/asked" */
};

/* What the pod's live upgraded slices waste, and the first one's
 * profiles; false when it has none. */
static bool pod_waste(struct controller *c, const json_t *pod, struct restore_pick *p)
{
    json_t *slices = NULL;
    bool any = false;
    p->waste = (struct upgrade_waste){0};
    if (informer_by_index(c->slices, CONTROLLER_INDEX_POD, meta_name(pod), &slices) < 0)
        return false;
    size_t i;
    const json_t *obj;
    json_array_foreach(slices, i, obj) {
        struct gpuslice_view v;
        enum slice_phase phase = SLICE_CREATING;
        if (gpuslice_read(obj, &v, NULL) < 0 || !v.spec.pod_uid ||
            strcmp(v.spec.pod_uid, meta_uid(pod)) != 0 || !is_upgraded(&v))
            continue;
        lifecycle_phase_parse(v.status.phase, &phase, NULL);
        const struct gpu_model *m = catalog_find_model(v.spec.model ? v.spec.model : "");
        const struct mig_profile *given = m ? catalog_find_profile(m, v.spec.profile) : NULL;
        struct upgrade_size asked;
        if (lifecycle_is_terminal(phase) || !given ||
            upgrade_asked_size(v.spec.requested_profile, &asked, NULL) < 0)
            continue;
        struct upgrade_waste w = upgrade_waste_of(given, &asked);
        p->waste.gib += w.gib;
        p->waste.compute += w.compute;
        if (!any) {
            snprintf(p->asked, sizeof p->asked, "%s", v.spec.requested_profile);
            snprintf(p->given, sizeof p->given, "%s", v.spec.profile);
        }
        any = true;
    }
    json_decref(slices);
    return any;
}

/* Whether candidate (key, waste) goes before the best so far. */
static bool before(const struct restore_pick *cand, const struct restore_pick *best)
{
    if (!best->pod)
        return true;
    int by_waste = upgrade_waste_cmp(&cand->waste, &best->waste);
    return by_waste < 0 || (by_waste == 0 && strcmp(cand->key, best->key) < 0);
}

/* Considers the upgraded pod under key: into *best when it may be restored
 * now and goes before it. */
static void consider(struct controller *c, const char *key, struct restore_pick *best)
{
    struct restore_pick cand = {0};
    snprintf(cand.key, sizeof cand.key, "%s", key);
    char ns[64];
    const char *name;
    if (objkey_split(key, ns, sizeof ns, &name) < 0 ||
        informer_get(c->pods, ns, name, &cand.pod) < 0)
        return;
    struct pod_upgrade u;
    struct pod_slices ps;
    pod_upgrade_of(cand.pod, &u, NULL);
    long node = -1;
    if (!controller__pod_done(cand.pod) && u.restore && pod_recreating_owner(cand.pod) &&
        pod_waste(c, cand.pod, &cand) && before(&cand, best) &&
        pod_slices_of(cand.pod, &ps, NULL) == 0)
        node = controller__fits_as_asked(c, cand.pod, &ps);
    if (node >= 0) {
        snprintf(cand.node, sizeof cand.node, "%s", c->model.nodes[node].name);
        snprintf(cand.flight, sizeof cand.flight, "%s/%s", cand.node, cand.asked);
    }
    if (node < 0 || strmap_get(&c->restoring, cand.flight)) {
        json_decref(cand.pod);
        return;
    }
    json_decref(best->pod);
    *best = cand;
}

/* Deletes the chosen pod gracefully, says so on its owner and on it, and
 * holds its profile and node until the owner's next pod is placed. */
static int restore(struct controller *c, struct restore_pick *p, int64_t now,
                   struct action_list *out, struct err *e)
{
    const json_t *ref = pod_recreating_owner(p->pod);
    const char *ns = meta_namespace(p->pod), *name = meta_name(p->pod);
    const json_t *grace = json_object_get(json_object_get(p->pod, "spec"),
                                          "terminationGracePeriodSeconds");
    long long seconds = json_is_integer(grace) ? (long long)json_integer_value(grace)
                                               : DEFAULT_GRACE_SECONDS;
    const char *kind = json_string_value(json_object_get(ref, "kind"));
    char msg[768];
    snprintf(msg, sizeof msg, "restoring pod %s from %s to %s: a %s is free on %s; deleting "
             "it (grace period %llds) for its %s to make again", name, p->given, p->asked,
             p->asked, p->node, seconds, kind);
    json_t *owner = json_pack("{s:O, s:O, s:{s:O, s:s, s:O}}", "apiVersion",
                              json_object_get(ref, "apiVersion"), "kind",
                              json_object_get(ref, "kind"), "metadata", "name",
                              json_object_get(ref, "name"), "namespace", ns, "uid",
                              json_object_get(ref, "uid"));
    int rc = owner ? action_delete(out, c->pod_res, ns, name, meta_uid(p->pod), e)
                   : err_set(e, -EINVAL, "controller: the owner reference of %s is malformed",
                             name);
    if (rc == 0)
        rc = action_event(out, owner, ACTION_EVENT_NORMAL, "Restoring", e, "%s", msg);
    if (rc == 0)
        rc = controller__say(c, out, p->pod, ACTION_EVENT_NORMAL, "Restoring", "%s", msg);
    json_decref(owner);
    if (rc < 0)
        return rc;
    struct restore_flight *f = strmap_put(&c->restoring, p->flight, NULL);
    snprintf(f->owner_uid, sizeof f->owner_uid, "%s",
             json_string_value(json_object_get(ref, "uid")));
    f->until = now + c->cfg.restore_timeout_ns;
    c->stats.restored++;
    return 0;
}

int controller__restore(struct controller *c, int64_t now, struct action_list *out,
                        int64_t *requeue_at, struct err *e)
{
    assert(mutex_held(&c->lock));
    int64_t expiry = expire_flights(c, now);
    int rc = 0;
    struct restore_pick best = {0};
    if (strmap_size(&c->upgraded) > 0 && (rc = model_sync(&c->model, e)) == 0) {
        controller__apply_avoidance(c, now);
        size_t pos = 0;
        const char *slice;
        void *pod_key;
        while (strmap_next(&c->upgraded, &pos, &slice, &pod_key))
            if (!best.pod || strcmp(best.key, pod_key) != 0)
                consider(c, pod_key, &best);
    }
    if (rc == 0 && best.pod) {
        rc = restore(c, &best, now, out, e);
        /* Another upgraded pod may go to another profile or node: decide
         * again once these actions are done. */
        expiry = now;
    }
    json_decref(best.pod);
    *requeue_at = expiry;
    return rc;
}
