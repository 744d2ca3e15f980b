/*
 * The pods waiting for room, and whom to wake when room frees.
 *
 * Waking every waiting pod on every freed placement costs a decision per
 * waiting pod per freed placement: with a thousand pods queued for eight
 * placements, a million decisions that all but eight times end as they
 * began. So waiting pods are grouped by what decides where they may go
 * (their namespace, the slices they ask for and whether they take a
 * larger profile, their node selector, affinity, tolerations and
 * container resources: pods alike in all of
 * that get the same decision from the same model), and a change wakes
 * only the oldest pod of each group. When it is placed, the next of its
 * group is woken (more room may be left); when it fails again, the rest
 * of its group would fail too and stays asleep until the next change. A
 * pod that already has slices on a node waits in a group of its own (its
 * decision depends on that node). Pods are woken in the order they first
 * waited, so the queue is first come, first served.
 *
 * Everything here is called with c->lock held; keys to wake are handed
 * back to be queued once the lock is released.
 */
#include "controller/controller_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "api/pod_slices.h"
#include "api/pod_upgrade.h"
#include "util/alloc.h"

/* The JSON text of what decides where pod may go (a new string). */
static char *signature(const json_t *pod)
{
    const json_t *spec = json_object_get(pod, "spec");
    json_t *sig = json_object();
    const char *ns = meta_namespace(pod);
    const char *slices = meta_annotation(pod, GPUSLICE_ANNOTATION_SLICES);
    json_object_set_new(sig, "ns", json_string(ns ? ns : ""));
    json_object_set_new(sig, "slices", json_string(slices ? slices : ""));
    /* Opted-in pods take larger room the others cannot. */
    const char *upgrade = meta_annotation(pod, GPUSLICE_ANNOTATION_UPGRADE_AFTER);
    if (upgrade)
        json_object_set_new(sig, "upgradeAfter", json_string(upgrade));
    static const char *const fields[] = {"nodeSelector", "affinity", "tolerations",
                                         "priorityClassName", "overhead", "runtimeClassName"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (json_object_get(spec, fields[i]))
            json_object_set(sig, fields[i], json_object_get(spec, fields[i]));
    static const char *const lists[] = {"containers", "initContainers"};
    for (size_t l = 0; l < 2; l++) {
        json_t *resources = json_array();
        size_t i;
        const json_t *ctr;
        json_array_foreach(json_object_get(spec, lists[l]), i, ctr) {
            const json_t *r = json_object_get(ctr, "resources");
            json_array_append_new(resources, r ? json_incref((json_t *)r) : json_null());
        }
        json_object_set_new(sig, lists[l], resources);
    }
    char *text = json_dumps(sig, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(sig);
    return text;
}

static uint64_t group_of(struct controller *c, const json_t *pod)
{
    char *sig = signature(pod);
    bool added = false;
    uint64_t *id = strmap_put(&c->wait_groups, sig, &added);
    if (added)
        *id = ++c->wait_next_group;
    uint64_t group = *id;
    free(sig);
    return group;
}

void controller__wait(struct controller *c, const char *key, const json_t *pod, bool alone)
{
    assert(mutex_held(&c->lock));
    bool added = false;
    struct controller_waiter *w = strmap_put(&c->waiting, key, &added);
    if (added)
        w->seq = ++c->wait_seq;
    /* A pod alone is never grouped: its own group is its sequence number
     * above every group id. A pod that waits again unchanged (the same
     * resourceVersion) is in the group it was in: its signature is the
     * same text, and the group ids it maps to stay while anyone waits. */
    const char *rv = meta_resource_version(pod);
    if (alone) {
        w->group = UINT64_C(1) << 63 | w->seq;
        w->rv[0] = '\0';
    } else if (added || !rv || !*rv || strcmp(rv, w->rv) != 0) {
        w->group = group_of(c, pod);
        snprintf(w->rv, sizeof w->rv, "%s", rv && strlen(rv) < sizeof w->rv ? rv : "");
    }
}

/* The oldest waiter of group (NULL when none), and its key. */
static const struct controller_waiter *oldest_of(struct controller *c, uint64_t group, const char **key)
{
    const struct controller_waiter *best = NULL;
    size_t pos = 0;
    const char *k;
    void *v;
    while (strmap_next(&c->waiting, &pos, &k, &v)) {
        const struct controller_waiter *w = v;
        if (w->group == group && (!best || w->seq < best->seq)) {
            best = w;
            *key = k;
        }
    }
    return best;
}

bool controller__unwait(struct controller *c, const char *key, char next[CONTROLLER_KEY_MAX])
{
    assert(mutex_held(&c->lock));
    const struct controller_waiter *w = strmap_get(&c->waiting, key);
    if (!w)
        return false;
    uint64_t group = w->group;
    strmap_del(&c->waiting, key);
    if (strmap_size(&c->waiting) == 0) {
        /* Nobody waits: the groups seen so far go (they are rebuilt as
         * pods wait again), so the table never outgrows a busy spell. */
        strmap_free(&c->wait_groups);
        strmap_init(&c->wait_groups, sizeof(uint64_t), NULL);
        return false;
    }
    const char *k = NULL;
    if (!oldest_of(c, group, &k))
        return false;
    snprintf(next, CONTROLLER_KEY_MAX, "%s", k);
    return true;
}

char *controller__waiting_heads(struct controller *c, size_t *n)
{
    assert(mutex_held(&c->lock));
    size_t cap = 8, len = 0, pos = 0;
    struct head {
        uint64_t group, seq;
        const char *key;
    } *heads = alloc_calloc(cap, sizeof *heads);
    const char *k;
    void *v;
    size_t n_heads = 0;
    while (strmap_next(&c->waiting, &pos, &k, &v)) {
        const struct controller_waiter *w = v;
        size_t i = 0;
        while (i < n_heads && heads[i].group != w->group)
            i++;
        if (i == n_heads) {
            if (n_heads == cap)
                heads = alloc_realloc_array(heads, cap *= 2, sizeof *heads);
            heads[n_heads++] = (struct head){w->group, w->seq, k};
        } else if (w->seq < heads[i].seq) {
            heads[i] = (struct head){w->group, w->seq, k};
        }
    }
    for (size_t i = 0; i < n_heads; i++)
        len += strlen(heads[i].key) + 1;
    char *keys = len ? alloc_malloc(len) : NULL, *at = keys;
    for (size_t i = 0; i < n_heads; i++)
        at = stpcpy(at, heads[i].key) + 1;
    *n = n_heads;
    free(heads);
    return keys;
}
