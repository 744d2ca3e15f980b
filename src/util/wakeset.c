/*
 * The wake set (see wakeset.h). The tree keeps, over leaves padded to a
 * power of two, each inner node the minimum of its two children, so a due
 * time changes in log n steps and the parts due by an instant are found by
 * descending only into subtrees whose minimum is due.
 */
#include "util/wakeset.h"

#include <stdlib.h>

#include "util/alloc.h"

struct wakeset {
    size_t n, leaves;
    uint64_t *bits; /* (n + 63) / 64 words */
    int64_t *tree;  /* 2 * leaves: tree[1] the root, leaf i at leaves + i */
};

struct wakeset *wakeset_new(size_t n)
{
    struct wakeset *ws = alloc_calloc(1, sizeof *ws);
    ws->n = n;
    ws->leaves = 1;
    while (ws->leaves < n)
        ws->leaves *= 2;
    size_t words = (n + 63) / 64;
    ws->bits = alloc_calloc(words + 1, sizeof *ws->bits);
    for (size_t i = 0; i < n; i++)
        ws->bits[i / 64] |= UINT64_C(1) << (i % 64);
    ws->tree = alloc_calloc(2 * ws->leaves, sizeof *ws->tree);
    for (size_t i = 0; i < 2 * ws->leaves; i++)
        ws->tree[i] = INT64_MAX;
    return ws;
}

void wakeset_free(struct wakeset *ws)
{
    if (!ws)
        return;
    free(ws->bits);
    free(ws->tree);
    free(ws);
}

void wakeset_mark(struct wakeset *ws, size_t i)
{
    ws->bits[i / 64] |= UINT64_C(1) << (i % 64);
}

void wakeset_set_due(struct wakeset *ws, size_t i, int64_t due)
{
    size_t at = ws->leaves + i;
    ws->tree[at] = due;
    for (at /= 2; at >= 1; at /= 2) {
        int64_t l = ws->tree[2 * at], r = ws->tree[2 * at + 1];
        int64_t m = l < r ? l : r;
        if (ws->tree[at] == m)
            break;
        ws->tree[at] = m;
    }
}

int64_t wakeset_next_due(const struct wakeset *ws)
{
    return ws->tree[1];
}

static void mark_due_under(struct wakeset *ws, size_t at, int64_t now)
{
    if (ws->tree[at] > now)
        return;
    if (at >= ws->leaves) {
        wakeset_mark(ws, at - ws->leaves);
        return;
    }
    mark_due_under(ws, 2 * at, now);
    mark_due_under(ws, 2 * at + 1, now);
}

void wakeset_mark_due(struct wakeset *ws, int64_t now)
{
    mark_due_under(ws, 1, now);
}

size_t wakeset_take(struct wakeset *ws, size_t from)
{
    for (size_t w = from / 64; w * 64 < ws->n; w++) {
        uint64_t word = ws->bits[w];
        if (w == from / 64)
            word &= ~UINT64_C(0) << (from % 64);
        if (!word)
            continue;
        size_t i = w * 64 + (size_t)__builtin_ctzll(word);
        ws->bits[w] &= ~(UINT64_C(1) << (i % 64));
        return i;
    }
    return SIZE_MAX;
}
