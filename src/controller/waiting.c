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
 * waited, across groups too, so the queue is first come, first served.
 *
 * Each group lists its members oldest first, so the oldest of a group and
 * the heads of every group are found without walking every waiting pod (a
 * walk per freed slice and per placement was a controller's largest cost
 * of its own with a thousand pods waiting).
 *
 * Everything here is called with c->lock held; keys to wake are handed
 * back to be queued once the lock is released.
 */
#include "controller/controller_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "api/pod_slices.h"
#include "api/pod_upgrade.h"
#include "util/alloc.h"
#include "util/vec.h"

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

/* A waiting pod, as its group lists it. */
struct member {
    uint64_t seq;
    char *key;
};

/* The members of one group, oldest first: the value of c->wait_members. */
struct wait_group {
    struct member *m;
    size_t n, cap;
};

static void drop_group(void *value)
{
    struct wait_group *g = value;
    for (size_t i = 0; i < g->n; i++)
        free(g->m[i].key);
    free(g->m);
}

void controller__waiting_init(struct controller *c)
{
    strmap_init(&c->waiting, sizeof(struct controller_waiter), NULL);
    strmap_init(&c->wait_groups, sizeof(uint64_t), NULL);
    strmap_init(&c->wait_members, sizeof(struct wait_group), drop_group);
}

void controller__waiting_free(struct controller *c)
{
    strmap_free(&c->waiting);
    strmap_free(&c->wait_groups);
    strmap_free(&c->wait_members);
}

static void group_name(uint64_t group, char out[24])
{
    snprintf(out, 24, "%" PRIx64, group);
}

/* The first position in g whose member first waited at seq or later. */
static size_t position(const struct wait_group *g, uint64_t seq)
{
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->m[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void join(struct controller *c, uint64_t group, uint64_t seq, const char *key)
{
    char name[24];
    group_name(group, name);
    struct wait_group *g = strmap_put(&c->wait_members, name, NULL);
    VEC_RESERVE(g->m, g->cap, g->n + 1);
    size_t at = position(g, seq);
    memmove(&g->m[at + 1], &g->m[at], (g->n - at) * sizeof *g->m);
    g->m[at] = (struct member){seq, alloc_strdup(key)};
    g->n++;
}

static void leave(struct controller *c, uint64_t group, uint64_t seq)
{
    char name[24];
    group_name(group, name);
    struct wait_group *g = strmap_get(&c->wait_members, name);
    size_t at = g ? position(g, seq) : 0;
    if (!g || at == g->n || g->m[at].seq != seq)
        return;
    free(g->m[at].key);
    memmove(&g->m[at], &g->m[at + 1], (g->n - at - 1) * sizeof *g->m);
    if (--g->n == 0)
        strmap_del(&c->wait_members, name);
}

void controller__wait(struct controller *c, const char *key, const json_t *pod, bool alone)
{
    assert(mutex_held(&c->lock));
    bool added = false;
    struct controller_waiter *w = strmap_put(&c->waiting, key, &added);
    if (added)
        w->seq = ++c->wait_seq;
    uint64_t was = w->group;
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
    if (!added && was == w->group)
        return;
    uint64_t seq = w->seq, group = w->group;
    if (!added)
        leave(c, was, seq);
    join(c, group, seq, key);
}

bool controller__unwait(struct controller *c, const char *key, char next[CONTROLLER_KEY_MAX])
{
    assert(mutex_held(&c->lock));
    const struct controller_waiter *w = strmap_get(&c->waiting, key);
    if (!w)
        return false;
    uint64_t group = w->group;
    leave(c, group, w->seq);
    strmap_del(&c->waiting, key);
    if (strmap_size(&c->waiting) == 0) {
        /* Nobody waits: the groups seen so far go (they are rebuilt as
         * pods wait again), so the table never outgrows a busy spell. */
        strmap_free(&c->wait_groups);
        strmap_init(&c->wait_groups, sizeof(uint64_t), NULL);
        return false;
    }
    char name[24];
    group_name(group, name);
    const struct wait_group *g = strmap_get(&c->wait_members, name);
    if (!g)
        return false;
    snprintf(next, CONTROLLER_KEY_MAX, "%s", g->m[0].key);
    return true;
}

static int by_seq(const void *a, const void *b)
{
    uint64_t x = ((const struct member *)a)->seq, y = ((const struct member *)b)->seq;
    return x < y ? -1 : x > y;
}

char *controller__waiting_heads(struct controller *c, size_t *n)
{
    assert(mutex_held(&c->lock));
    size_t n_heads = 0, len = 0, pos = 0;
    struct member *heads = alloc_calloc(strmap_size(&c->wait_members) + 1, sizeof *heads);
    const char *name;
    void *v;
    while (strmap_next(&c->wait_members, &pos, &name, &v)) {
        heads[n_heads] = ((const struct wait_group *)v)->m[0];
        len += strlen(heads[n_heads++].key) + 1;
    }
    qsort(heads, n_heads, sizeof *heads, by_seq);
    char *keys = len ? alloc_malloc(len) : NULL, *at = keys;
    for (size_t i = 0; i < n_heads; i++)
        at = stpcpy(at, heads[i].key) + 1;
    *n = n_heads;
    free(heads);
    return keys;
}
