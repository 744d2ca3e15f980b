/*
 * The pod garbage collector (see podgc.h). The ended pods are a set of
 * keys, each with the creationTimestamp it was seen with, and a min-heap
 * of (creationTimestamp, key): RFC 3339 times of one format, so they order
 * as strings. A heap entry whose pod left the set (deleted, or made again
 * under its name) is skipped when it comes up. The set and heap are under
 * a mutex: the informer's handler and the loop may run on two threads.
 */
#include "cluster/podgc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "cluster/objstate.h"
#include "util/alloc.h"
#include "util/strcopy.h"
#include "util/strmap.h"
#include "util/vec.h"

#define PODGC_KEY "podgc"
#define CREATED_MAX 40
#define UID_MAX 64

/* An ended pod as it was seen: deleted with its uid as precondition, so
 * that one made again under its name is not. */
struct ended_pod {
    char created[CREATED_MAX];
    char uid[UID_MAX];
};

struct aged {
    char created[CREATED_MAX];
    char *key;
};

struct podgc {
    struct podgc_config cfg;
    struct loop *loop;
    const struct api_resource *pods_res;
    pthread_mutex_t lock;
    struct strmap ended; /* key -> struct ended_pod */
    struct aged *heap;
    size_t n_heap, cap_heap;
};

/* ---- the heap ------------------------------------------------------------------ */

static bool older(const struct aged *a, const struct aged *b)
{
    int c = strcmp(a->created, b->created);
    return c < 0 || (c == 0 && strcmp(a->key, b->key) < 0);
}

static void swap(struct aged *a, struct aged *b)
{
    struct aged t = *a;
    *a = *b;
    *b = t;
}

static void heap_push(struct podgc *g, const char *created, const char *key)
{
    VEC_RESERVE(g->heap, g->cap_heap, g->n_heap + 1);
    struct aged *h = g->heap;
    size_t i = g->n_heap++;
    snprintf(h[i].created, sizeof h[i].created, "%s", created);
    h[i].key = alloc_strdup(key);
    for (; i > 0 && older(&h[i], &h[(i - 1) / 2]); i = (i - 1) / 2)
        swap(&h[i], &h[(i - 1) / 2]);
}

/* Takes the oldest entry off the heap (the caller frees its key). */
static struct aged heap_pop(struct podgc *g)
{
    struct aged *h = g->heap;
    struct aged top = h[0];
    h[0] = h[--g->n_heap];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < g->n_heap && older(&h[l], &h[m]))
            m = l;
        if (r < g->n_heap && older(&h[r], &h[m]))
            m = r;
        if (m == i)
            break;
        swap(&h[i], &h[m]);
        i = m;
    }
    return top;
}

/* Makes the heap again from the set when most of it is stale (pods
 * deleted by others while under the threshold), so that it stays the
 * size of the set. Lock held. */
static void heap_trim(struct podgc *g)
{
    if (g->n_heap <= 2 * strmap_size(&g->ended) + 1024)
        return;
    for (size_t i = 0; i < g->n_heap; i++)
        free(g->heap[i].key);
    g->n_heap = 0;
    size_t pos = 0;
    const char *key;
    void *value;
    while (strmap_next(&g->ended, &pos, &key, &value))
        heap_push(g, ((const struct ended_pod *)value)->created, key);
}

/* ---- the handler ------------------------------------------------------------- */

/* Any ended pod, whatever its owner, as PodGC: a Job's is held by the
 * job-tracking finalizer until the Job counted it (job_tracking.h). */
static bool collectable(const json_t *pod)
{
    return objstate_terminal(pod) && !objstate_deleting(pod);
}

void podgc_pod_changed(void *ctx, enum informer_change change, const json_t *old,
                       const json_t *cur)
{
    struct podgc *g = ctx;
    char key[OBJSTATE_KEY_MAX];
    (void)old;
    if (objstate_key(cur, key, sizeof key) != 0)
        return;
    const char *created = json_string_value(
        json_object_get(json_object_get(cur, "metadata"), "creationTimestamp"));
    const char *uid = meta_uid(cur);
    bool ended = change != INFORMER_DELETED && collectable(cur);
    pthread_mutex_lock(&g->lock);
    struct ended_pod *p = strmap_get(&g->ended, key);
    if (!ended && p) {
        strmap_del(&g->ended, key);
        heap_trim(g);
    } else if (ended && (!p || strcmp(p->uid, uid ? uid : "") != 0)) {
        /* A new pod of a recorded name (its predecessor's DELETE unseen,
         * as across a relist) replaces the record: deleting with the old
         * uid as precondition would fail, and the new pod never go. */
        p = p ? p : strmap_put(&g->ended, key, NULL);
        strcopy_cut(p->created, sizeof p->created, created ? created : "");
        strcopy_cut(p->uid, sizeof p->uid, uid ? uid : "");
        heap_push(g, p->created, key);
    }
    bool over = strmap_size(&g->ended) > g->cfg.threshold;
    pthread_mutex_unlock(&g->lock);
    if (over)
        loop_enqueue(g->loop, PODGC_KEY);
}

/* ---- the pass ------------------------------------------------------------------ */

/* Takes the oldest ended pod off the set into key and uid; false when
 * none is over the threshold. */
static bool next_victim(struct podgc *g, char key[OBJSTATE_KEY_MAX], char uid[UID_MAX])
{
    bool found = false;
    pthread_mutex_lock(&g->lock);
    while (!found && g->n_heap > 0 && strmap_size(&g->ended) > g->cfg.threshold) {
        struct aged a = heap_pop(g);
        const struct ended_pod *p = strmap_get(&g->ended, a.key);
        if (p && strcmp(p->created, a.created) == 0) {
            snprintf(key, OBJSTATE_KEY_MAX, "%s", a.key);
            snprintf(uid, UID_MAX, "%s", p->uid);
            strmap_del(&g->ended, a.key);
            found = true;
        }
        free(a.key);
    }
    pthread_mutex_unlock(&g->lock);
    return found;
}

static int podgc_reconcile(void *self, const char *key, int64_t now, struct action_list *out,
                           int64_t *requeue_at, struct err *e)
{
    struct podgc *g = self;
    char victim[OBJSTATE_KEY_MAX], uid[UID_MAX], ns[OBJSTATE_NAME_MAX], name[OBJSTATE_NAME_MAX];
    (void)key;
    (void)now;
    (void)requeue_at;
    int rc = 0;
    while (rc == 0 && next_victim(g, victim, uid))
        if (objstate_split_key(victim, ns, name, NULL) == 0)
            rc = action_delete_now(out, g->pods_res, ns, name, *uid ? uid : NULL, e);
    return rc;
}

/* ---- life ---------------------------------------------------------------------- */

int podgc_new(const struct podgc_config *cfg, struct podgc **out, struct err *e)
{
    if (!cfg->store)
        return err_set(e, -EINVAL, "pod gc: needs a store");
    const struct api_resource *pods =
        api_registry_find(store_registry(cfg->store), "", "v1", "pods");
    if (!pods)
        return err_set(e, -ENOENT, "pod gc: the store serves no pods");
    struct podgc *g = alloc_calloc(1, sizeof *g);
    g->cfg = *cfg;
    if (!g->cfg.threshold)
        g->cfg.threshold = PODGC_THRESHOLD_DEFAULT;
    g->pods_res = pods;
    strmap_init(&g->ended, sizeof(struct ended_pod), NULL);
    pthread_mutex_init(&g->lock, NULL);
    struct loop_config lc = {
        .store = cfg->store,
        .reconciler = {.name = "podgc", .self = g, .reconcile = podgc_reconcile},
        .component = "pod-garbage-collector",
        .now_ns = cfg->now_ns,
        .clock_ctx = cfg->clock_ctx,
    };
    int rc = loop_new(&lc, &g->loop, e);
    if (rc < 0) {
        podgc_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

void podgc_free(struct podgc *g)
{
    if (!g)
        return;
    loop_free(g->loop);
    strmap_free(&g->ended);
    for (size_t i = 0; i < g->n_heap; i++)
        free(g->heap[i].key);
    free(g->heap);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

struct loop *podgc_loop(struct podgc *g)
{
    return g->loop;
}
