/*
 * The work queue of workqueue.h. Every key the queue knows has one entry in
 * a chained hash table; a queued entry is also either on the ready list
 * (FIFO) or in the delayed min-heap ordered by (due time, order of adding).
 * An entry lives while it is queued, processing, or has failures to
 * remember, and is freed as soon as it has none of these.
 */
#include "util/workqueue.h"

#include "util/alloc.h"
#include "util/hash.h"
#include "util/vec.h"

#include <stdlib.h>
#include <string.h>

enum where { NOWHERE, READY, DELAYED };

struct entry {
    struct entry *chain;            /* next in the hash bucket */
    struct entry *ready_next;       /* next on the ready list */
    enum where where;
    bool processing;
    bool dirty;                     /* added while processing */
    int64_t dirty_due;              /* when it is due again after processing */
    int64_t due;                    /* while DELAYED */
    uint64_t seq;                   /* order of adding, for a stable heap */
    size_t heap_pos;                /* while DELAYED */
    unsigned failures;
    char key[];
};

struct workqueue {
    struct backoff backoff;
    struct entry **buckets;
    size_t n_buckets, n_entries;
    struct entry *ready_head, *ready_tail;
    size_t n_ready;
    struct entry **heap;
    size_t heap_len, heap_cap;
    uint64_t next_seq;
};

static uint64_t hash_key(const char *key)
{
    return hash_bytes(HASH_INIT, key, strlen(key));
}

int workqueue_new(const struct backoff *backoff, struct workqueue **out,
                  struct err *e)
{
    struct workqueue *q = alloc_calloc(1, sizeof *q);
    q->buckets = alloc_calloc(64, sizeof *q->buckets);
    q->n_buckets = 64;
    q->backoff = backoff ? *backoff : WORKQUEUE_BACKOFF_DEFAULT;
    int rc = backoff_check(&q->backoff, e);
    if (rc < 0) {
        free(q->buckets);
        free(q);
        return err_prefix(e, rc, "workqueue: ");
    }
    *out = q;
    return 0;
}

void workqueue_free(struct workqueue *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n_buckets; i++)
        for (struct entry *en = q->buckets[i], *next; en; en = next) {
            next = en->chain;
            free(en);
        }
    free(q->buckets);
    free(q->heap);
    free(q);
}

static struct entry *lookup(const struct workqueue *q, const char *key)
{
    for (struct entry *en = q->buckets[hash_key(key) % q->n_buckets]; en; en = en->chain)
        if (strcmp(en->key, key) == 0)
            return en;
    return NULL;
}

/* Doubles the table when it holds two entries a bucket. */
static void maybe_grow(struct workqueue *q)
{
    if (q->n_entries < 2 * q->n_buckets)
        return;
    size_t n = 2 * q->n_buckets;
    struct entry **b = alloc_calloc(n, sizeof *b);
    for (size_t i = 0; i < q->n_buckets; i++)
        for (struct entry *en = q->buckets[i], *next; en; en = next) {
            next = en->chain;
            size_t h = hash_key(en->key) % n;
            en->chain = b[h];
            b[h] = en;
        }
    free(q->buckets);
    q->buckets = b;
    q->n_buckets = n;
}

static int entry_get(struct workqueue *q, const char *key, struct entry **out, struct err *e)
{
    size_t len = key ? strlen(key) : 0;
    if (len == 0 || len >= WORKQUEUE_KEY_MAX)
        return err_set(e, -EINVAL, "workqueue: key must be 1 to %d bytes, got %zu",
                       WORKQUEUE_KEY_MAX - 1, len);
    struct entry *en = lookup(q, key);
    if (!en) {
        en = alloc_calloc(1, sizeof *en + len + 1);
        memcpy(en->key, key, len + 1);
        size_t h = hash_key(key) % q->n_buckets;
        en->chain = q->buckets[h];
        q->buckets[h] = en;
        q->n_entries++;
        maybe_grow(q);
    }
    *out = en;
    return 0;
}

/* Frees en when nothing refers to it any more. */
static void entry_release_if_idle(struct workqueue *q, struct entry *en)
{
    if (en->where != NOWHERE || en->processing || en->failures)
        return;
    struct entry **link = &q->buckets[hash_key(en->key) % q->n_buckets];
    while (*link != en)
        link = &(*link)->chain;
    *link = en->chain;
    q->n_entries--;
    free(en);
}

static bool heap_less(const struct entry *a, const struct entry *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_swap(struct workqueue *q, size_t i, size_t j)
{
    struct entry *t = q->heap[i];
    q->heap[i] = q->heap[j];
    q->heap[j] = t;
    q->heap[i]->heap_pos = i;
    q->heap[j]->heap_pos = j;
}

static void heap_up(struct workqueue *q, size_t i)
{
    while (i > 0 && heap_less(q->heap[i], q->heap[(i - 1) / 2])) {
        heap_swap(q, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_down(struct workqueue *q, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->heap_len && heap_less(q->heap[l], q->heap[m]))
            m = l;
        if (r < q->heap_len && heap_less(q->heap[r], q->heap[m]))
            m = r;
        if (m == i)
            return;
        heap_swap(q, i, m);
        i = m;
    }
}

static void heap_push(struct workqueue *q, struct entry *en, int64_t due)
{
    VEC_RESERVE(q->heap, q->heap_cap, q->heap_len + 1);
    en->due = due;
    en->seq = q->next_seq++;
    en->where = DELAYED;
    en->heap_pos = q->heap_len;
    q->heap[q->heap_len++] = en;
    heap_up(q, en->heap_pos);
}

static void heap_remove(struct workqueue *q, struct entry *en)
{
    size_t i = en->heap_pos;
    q->heap_len--;
    if (i != q->heap_len) {
        q->heap[i] = q->heap[q->heap_len];
        q->heap[i]->heap_pos = i;
        heap_down(q, i);
        heap_up(q, i);
    }
    en->where = NOWHERE;
}

static void ready_append(struct workqueue *q, struct entry *en)
{
    en->where = READY;
    en->ready_next = NULL;
    if (q->ready_tail)
        q->ready_tail->ready_next = en;
    else
        q->ready_head = en;
    q->ready_tail = en;
    q->n_ready++;
}

/* Queues en to be due at due (0: now), keeping an earlier due time. */
static void enqueue(struct workqueue *q, struct entry *en, int64_t due)
{
    if (en->processing) {
        if (!en->dirty || due < en->dirty_due)
            en->dirty_due = due;
        en->dirty = true;
        return;
    }
    if (en->where == READY)
        return;
    if (en->where == DELAYED) {
        if (due >= en->due)
            return;
        heap_remove(q, en);
    }
    if (due <= 0) {
        ready_append(q, en);
        return;
    }
    heap_push(q, en, due);
}

int workqueue_add(struct workqueue *q, const char *key, struct err *e)
{
    return workqueue_add_at(q, key, 0, e);
}

int workqueue_add_at(struct workqueue *q, const char *key, int64_t at_ns, struct err *e)
{
    struct entry *en = NULL;
    int rc = entry_get(q, key, &en, e);
    if (rc == 0)
        enqueue(q, en, at_ns);
    return rc;
}

int workqueue_add_failed(struct workqueue *q, const char *key, int64_t now_ns,
                         int64_t *delay_ns, struct err *e)
{
    struct entry *en;
    int rc = entry_get(q, key, &en, e);
    if (rc < 0)
        return rc;
    int64_t delay = backoff_delay(&q->backoff, ++en->failures);
    if (delay_ns)
        *delay_ns = delay;
    enqueue(q, en, now_ns + delay);
    return 0;
}

void workqueue_forget(struct workqueue *q, const char *key)
{
    struct entry *en = lookup(q, key);
    if (!en)
        return;
    en->failures = 0;
    entry_release_if_idle(q, en);
}

unsigned workqueue_failures(const struct workqueue *q, const char *key)
{
    const struct entry *en = lookup(q, key);
    return en ? en->failures : 0;
}

bool workqueue_next(struct workqueue *q, int64_t now_ns, char key[WORKQUEUE_KEY_MAX])
{
    while (q->heap_len && q->heap[0]->due <= now_ns) {
        struct entry *en = q->heap[0];
        heap_remove(q, en);
        ready_append(q, en);
    }
    struct entry *en = q->ready_head;
    if (!en)
        return false;
    q->ready_head = en->ready_next;
    if (!q->ready_head)
        q->ready_tail = NULL;
    q->n_ready--;
    en->where = NOWHERE;
    en->processing = true;
    memcpy(key, en->key, strlen(en->key) + 1);
    return true;
}

void workqueue_done(struct workqueue *q, const char *key)
{
    struct entry *en = lookup(q, key);
    if (!en || !en->processing)
        return;
    en->processing = false;
    if (en->dirty) {
        en->dirty = false;
        enqueue(q, en, en->dirty_due);
    }
    entry_release_if_idle(q, en);
}

int64_t workqueue_next_due(const struct workqueue *q)
{
    if (q->n_ready)
        return 0;
    return q->heap_len ? q->heap[0]->due : INT64_MAX;
}

size_t workqueue_len(const struct workqueue *q)
{
    return q->n_ready + q->heap_len;
}
