/*
 * The share index (see placement_share_index.h): cells of GPUs keyed by
 * what they have free, kept in step with the GPU array, and the walk of a
 * decision over them.
 *
 * A decision opens streams: for each class in the request's mode, each
 * grid (GPUs with clients, empty GPUs) and each row with at least the
 * GiB asked, the row's cells with at least the SMs asked, in key order
 * (best-fit: one stream upwards; fragmentation-aware: one upwards from the
 * balanced point and one downwards from it). Keys come from the scan's own
 * score (placement_share_internal.h) of a GPU standing for the cell. Each
 * round takes the smallest key among the streams' heads, walks the cells
 * of that key merged by GPU index and returns the first GPU whose node
 * passes the node rules; a round without one moves those streams on.
 */
#include "core/placement_share_index.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/placement_filter.h"
#include "core/placement_share_internal.h"
#include "util/alloc.h"

#define SM_CELLS 101 /* free SM percent, 0..100 */
#define BLOCK 64     /* GPUs per first-fit block */
#define NO_GPU (-1L)

struct cell {
    uint32_t *gpus; /* sorted */
    uint32_t n, size;
};

struct row {
    uint64_t bits[2]; /* bit fs: cells[fs] has a GPU */
    struct cell cells[SM_CELLS];
};

struct grid {
    struct row **rows;  /* [capacity + 1] by free GiB (slots), allocated when first used */
    uint64_t *row_bits; /* bit fg: rows[fg] has a GPU */
};

struct share_class {
    enum share_mode mode;
    unsigned capacity;    /* mps: capacity_gib; timeslice: slots */
    struct grid grids[2]; /* [0]: GPUs with clients; [1]: empty GPUs */
};

/* Where a GPU is: in no cell (in false) or in one. */
struct entry {
    bool in, empty;
    uint16_t cls;
    uint16_t free_gib; /* timeslice: free slots */
    uint8_t free_sm;   /* timeslice: 0 */
};

/* The most free GiB (slots) and SMs of a block's GPUs in cells, per mode. */
struct block {
    uint16_t most_gib, most_sm;
};

/* A row's cells in key order, from its head at fs (dir +1 or -1). */
struct stream {
    const struct share_class *cls;
    const struct share_per_capacity *pc;
    const struct row *row;
    bool empty;
    unsigned free_gib;
    int fs, dir, lowest_sm; /* lowest_sm: the SMs asked, a downward stream's end */
    uint64_t key;           /* UINT64_MAX: no cell left */
};

/* A cell of the round's key and the next of its GPUs to look at. */
struct candidate {
    const struct cell *cell;
    uint32_t pos;
};

struct share_index {
    size_t n_gpus;
    struct entry *entries;
    struct share_class *classes;
    size_t n_classes;
    size_t n_blocks;
    struct block *blocks[2]; /* [mode - 1][block] */
    /* A decision's scratch space. */
    struct share_per_capacity *pcs; /* per class */
    struct stream *streams;
    struct candidate *candidates;
    size_t n_scratch;
    /* Per node, the decision that last asked its node rules (verdict_of,
     * counted from 1) and the answer: each node is asked once a decision,
     * however many of its GPUs the walk meets. */
    size_t n_nodes;
    uint32_t *asked_in;
    bool *passed;
    uint32_t decision;
};

/* ---- bit sets ---- */

static void bit_set(uint64_t *bits, unsigned i, bool on)
{
    if (on)
        bits[i / 64] |= 1ull << (i % 64);
    else
        bits[i / 64] &= ~(1ull << (i % 64));
}

/* The first set bit at or above from among n_words words, or -1. */
static int bit_next(const uint64_t *bits, size_t n_words, unsigned from)
{
    for (size_t w = from / 64; w < n_words; w++) {
        uint64_t m = bits[w] & (w == from / 64 ? ~0ull << (from % 64) : ~0ull);
        if (m)
            return (int)(w * 64 + (size_t)__builtin_ctzll(m));
    }
    return -1;
}

/* The last set bit of a row's two words at or below from and at or above
 * lowest, or -1. */
static int bit_prev(const uint64_t bits[2], int from, int lowest)
{
    for (int w = from / 64; from >= lowest && w >= 0; w--) {
        uint64_t m = bits[w];
        if (w == from / 64 && from % 64 != 63)
            m &= (1ull << (from % 64 + 1)) - 1;
        if (m) {
            int at = w * 64 + 63 - __builtin_clzll(m);
            return at >= lowest ? at : -1;
        }
    }
    return -1;
}

/* ---- cells ---- */

static uint32_t cell_find(const struct cell *c, uint32_t gpu)
{
    uint32_t lo = 0, hi = c->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->gpus[mid] < gpu)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void cell_add(struct cell *c, uint32_t gpu)
{
    if (c->n == c->size) {
        c->size = c->size ? 2 * c->size : 4;
        c->gpus = alloc_realloc_array(c->gpus, c->size, sizeof *c->gpus);
    }
    uint32_t at = cell_find(c, gpu);
    memmove(&c->gpus[at + 1], &c->gpus[at], (c->n - at) * sizeof *c->gpus);
    c->gpus[at] = gpu;
    c->n++;
}

static void cell_remove(struct cell *c, uint32_t gpu)
{
    uint32_t at = cell_find(c, gpu);
    memmove(&c->gpus[at], &c->gpus[at + 1], (c->n - at - 1) * sizeof *c->gpus);
    c->n--;
}

static bool cell_has(const struct cell *c, uint32_t gpu)
{
    uint32_t at = cell_find(c, gpu);
    return at < c->n && c->gpus[at] == gpu;
}

static size_t row_words(const struct share_class *c)
{
    return (c->capacity + 1 + 63) / 64;
}

/* Adds (add) or removes GPU gpu to or from its entry's cell. */
static void place(struct share_index *ix, uint32_t gpu, bool add)
{
    const struct entry *en = &ix->entries[gpu];
    if (!en->in)
        return;
    struct grid *g = &ix->classes[en->cls].grids[en->empty];
    if (add && !g->rows[en->free_gib])
        g->rows[en->free_gib] = alloc_calloc(1, sizeof **g->rows);
    struct row *row = g->rows[en->free_gib];
    struct cell *cell = &row->cells[en->free_sm];
    if (add)
        cell_add(cell, gpu);
    else
        cell_remove(cell, gpu);
    bit_set(row->bits, en->free_sm, cell->n > 0);
    bit_set(g->row_bits, en->free_gib, row->bits[0] || row->bits[1]);
}

/* ---- entries and blocks ---- */

static unsigned capacity_of(const struct share_gpu *g)
{
    return g->mode == SHARE_MPS ? g->capacity_gib : g->slots;
}

static long class_of(const struct share_index *ix, const struct share_gpu *g)
{
    for (size_t i = 0; i < ix->n_classes; i++)
        if (ix->classes[i].mode == g->mode && ix->classes[i].capacity == capacity_of(g))
            return (long)i;
    return -1;
}

/* Whether g can take a client of some request: what puts it in a cell. */
static bool takes_clients(const struct share_gpu *g)
{
    return !g->held_back && capacity_of(g) > 0 && g->clients < g->slots &&
           (g->mode == SHARE_TIMESLICE || (g->used_gib <= g->capacity_gib && g->used_sm <= 100));
}

static struct entry entry_of(const struct share_index *ix, const struct share_gpu *g)
{
    long cls = class_of(ix, g);
    if (cls < 0 || !takes_clients(g))
        return (struct entry){0};
    bool mps = g->mode == SHARE_MPS;
    return (struct entry){
        .in = true,
        .empty = g->clients == 0,
        .cls = (uint16_t)cls,
        .free_gib = (uint16_t)(mps ? g->capacity_gib - g->used_gib : g->slots - g->clients),
        .free_sm = (uint8_t)(mps ? 100 - g->used_sm : 0),
    };
}

static bool same_entry(const struct entry *a, const struct entry *b)
{
    return a->in == b->in && (!a->in || (a->empty == b->empty && a->cls == b->cls &&
                                         a->free_gib == b->free_gib && a->free_sm == b->free_sm));
}

static struct block block_of(const struct share_index *ix, size_t b, enum share_mode mode)
{
    struct block most = {0};
    size_t end = (b + 1) * BLOCK < ix->n_gpus ? (b + 1) * BLOCK : ix->n_gpus;
    for (size_t i = b * BLOCK; i < end; i++) {
        const struct entry *en = &ix->entries[i];
        if (!en->in || ix->classes[en->cls].mode != mode)
            continue;
        most.most_gib = en->free_gib > most.most_gib ? en->free_gib : most.most_gib;
        most.most_sm = en->free_sm > most.most_sm ? en->free_sm : most.most_sm;
    }
    return most;
}

static void refresh_block(struct share_index *ix, size_t b, enum share_mode mode)
{
    ix->blocks[mode - 1][b] = block_of(ix, b, mode);
}

void placement_share_index_update(struct share_index *ix, const struct share_gpu *gpus, size_t g)
{
    struct entry now = entry_of(ix, &gpus[g]);
    if (same_entry(&now, &ix->entries[g]))
        return;
    place(ix, (uint32_t)g, false);
    ix->entries[g] = now;
    place(ix, (uint32_t)g, true);
    /* A GPU keeps its mode (the index is built again when one changes),
     * so only its own mode's block can move (a GPU of neither is in none). */
    if (gpus[g].mode == SHARE_MPS || gpus[g].mode == SHARE_TIMESLICE)
        refresh_block(ix, g / BLOCK, gpus[g].mode);
}

/* ---- building ---- */

static int add_class(struct share_index *ix, const struct share_gpu *g, struct err *e)
{
    if (class_of(ix, g) >= 0 || capacity_of(g) == 0)
        return 0;
    if (capacity_of(g) > PLACEMENT_SHARE_INDEX_CAPACITY_MAX)
        return err_set(e, -E2BIG, "a %s GPU of %u %s: the share index takes at most %u",
                       placement_share_mode_name(g->mode), capacity_of(g),
                       g->mode == SHARE_MPS ? "GiB" : "slots", PLACEMENT_SHARE_INDEX_CAPACITY_MAX);
    ix->classes = alloc_realloc_array(ix->classes, ix->n_classes + 1, sizeof *ix->classes);
    struct share_class *c = &ix->classes[ix->n_classes++];
    *c = (struct share_class){.mode = g->mode, .capacity = capacity_of(g)};
    for (int k = 0; k < 2; k++) {
        c->grids[k].rows = alloc_calloc(c->capacity + 1, sizeof *c->grids[k].rows);
        c->grids[k].row_bits = alloc_calloc(row_words(c), sizeof *c->grids[k].row_bits);
    }
    ix->n_scratch += 4 * ((size_t)c->capacity + 1); /* two grids, two streams a row */
    return 0;
}

static int build(struct share_index *ix, const struct share_gpu *gpus, size_t n, struct err *e)
{
    ix->n_gpus = n;
    ix->entries = alloc_calloc(n + 1, sizeof *ix->entries);
    ix->n_blocks = (n + BLOCK - 1) / BLOCK;
    for (int m = 0; m < 2; m++)
        ix->blocks[m] = alloc_calloc(ix->n_blocks + 1, sizeof *ix->blocks[m]);
    for (size_t i = 0; i < n; i++) {
        int rc = add_class(ix, &gpus[i], e);
        if (rc < 0)
            return rc;
    }
    ix->pcs = alloc_calloc(ix->n_classes + 1, sizeof *ix->pcs);
    ix->streams = alloc_calloc(ix->n_scratch + 1, sizeof *ix->streams);
    ix->candidates = alloc_calloc(ix->n_scratch + 1, sizeof *ix->candidates);
    for (size_t i = 0; i < n; i++)
        ix->n_nodes = gpus[i].node + 1 > ix->n_nodes ? gpus[i].node + 1 : ix->n_nodes;
    ix->asked_in = alloc_calloc(ix->n_nodes + 1, sizeof *ix->asked_in);
    ix->passed = alloc_calloc(ix->n_nodes + 1, sizeof *ix->passed);
    for (size_t i = 0; i < n; i++) {
        ix->entries[i] = entry_of(ix, &gpus[i]);
        place(ix, (uint32_t)i, true);
    }
    for (size_t b = 0; b < ix->n_blocks; b++) {
        refresh_block(ix, b, SHARE_MPS);
        refresh_block(ix, b, SHARE_TIMESLICE);
    }
    return 0;
}

int placement_share_index_build(const struct share_gpu *gpus, size_t n, struct share_index **out,
                                struct err *e)
{
    struct share_index *ix = alloc_calloc(1, sizeof *ix);
    int rc = build(ix, gpus, n, e);
    if (rc < 0) {
        placement_share_index_free(ix);
        ix = NULL;
    }
    *out = ix;
    return rc;
}

static void free_grid(struct grid *g, unsigned capacity)
{
    for (unsigned fg = 0; fg <= capacity; fg++) {
        for (unsigned fs = 0; g->rows[fg] && fs < SM_CELLS; fs++)
            free(g->rows[fg]->cells[fs].gpus);
        free(g->rows[fg]);
    }
    free(g->rows);
    free(g->row_bits);
}

void placement_share_index_free(struct share_index *ix)
{
    if (!ix)
        return;
    for (size_t i = 0; i < ix->n_classes; i++)
        for (int k = 0; k < 2; k++)
            free_grid(&ix->classes[i].grids[k], ix->classes[i].capacity);
    free(ix->classes);
    free(ix->entries);
    free(ix->blocks[0]);
    free(ix->blocks[1]);
    free(ix->pcs);
    free(ix->streams);
    free(ix->candidates);
    free(ix->asked_in);
    free(ix->passed);
    free(ix);
}

/* ---- a decision ---- */

/* A GPU standing for every GPU of the class's cell (empty, free_gib,
 * free_sm): what the score reads of a GPU. */
static struct share_gpu stand_in(const struct share_class *c, bool empty, unsigned free_gib,
                                 unsigned free_sm)
{
    struct share_gpu g = {.mode = c->mode};
    if (c->mode == SHARE_MPS) {
        g.capacity_gib = c->capacity;
        g.slots = PLACEMENT_SHARE_MPS_CLIENTS_MAX;
        g.used_gib = c->capacity - free_gib;
        g.used_sm = 100 - free_sm;
        g.clients = !empty;
    } else {
        g.slots = c->capacity;
        g.clients = c->capacity - free_gib;
    }
    return g;
}

/* The GiB (timeslice: slots) r needs free. */
static unsigned gib_needed(const struct share_request *r)
{
    return r->mode == SHARE_MPS ? r->memory_gib : 1;
}

/* Sets ix->pcs for r: per class, its SM percent (pc.sm) and scale. */
static void open_classes(struct share_index *ix, const struct share_request *r)
{
    for (size_t i = 0; i < ix->n_classes; i++) {
        const struct share_class *c = &ix->classes[i];
        struct share_gpu g = stand_in(c, true, c->capacity, 100);
        ix->pcs[i] = (struct share_per_capacity){0};
        placement_share__per_capacity(&g, r, &ix->pcs[i]);
    }
}

/* The stream's key at its head, or UINT64_MAX past its end. */
static void stream_key(struct stream *s, const struct share_request *r,
                       enum placement_policy policy)
{
    if (s->fs < 0) {
        s->key = UINT64_MAX;
        return;
    }
    struct share_gpu g = stand_in(s->cls, s->empty, s->free_gib, (unsigned)s->fs);
    s->key = placement_share__score(&g, r, s->pc, policy);
}

static void stream_advance(struct stream *s, const struct share_request *r,
                           enum placement_policy policy)
{
    if (s->dir > 0)
        s->fs = s->fs + 1 < SM_CELLS ? bit_next(s->row->bits, 2, (unsigned)s->fs + 1) : -1;
    else
        s->fs = bit_prev(s->row->bits, s->fs - 1, s->lowest_sm);
    stream_key(s, r, policy);
}

/* The free SM percent from which a fragmentation-aware key grows upwards
 * in a row: where the SMs left after r's client reach the memory left
 * (a time-sliced row has one cell, taken from below). */
static int balanced_sm(const struct stream *s, const struct share_request *r)
{
    if (s->cls->mode != SHARE_MPS)
        return SM_CELLS;
    struct share_gpu g = stand_in(s->cls, s->empty, s->free_gib, 100);
    unsigned mem, sm;
    placement_share__left_after(&g, r, s->pc, &mem, &sm);
    unsigned at = s->pc->sm + (mem + 9) / 10;
    return at < SM_CELLS ? (int)at : SM_CELLS;
}

/* Opens the streams of one row into ix->streams from *n. */
static void open_row(struct share_index *ix, struct stream *s, const struct share_request *r,
                     enum placement_policy policy, size_t *n)
{
    int lowest = (int)s->pc->sm;
    int pivot = policy == PLACEMENT_BEST_FIT ? lowest : balanced_sm(s, r);
    if (pivot < lowest)
        pivot = lowest;
    struct stream up = *s, down = *s;
    up.dir = 1;
    up.fs = pivot < SM_CELLS ? bit_next(s->row->bits, 2, (unsigned)pivot) : -1;
    stream_key(&up, r, policy);
    if (up.fs >= 0)
        ix->streams[(*n)++] = up;
    down.dir = -1;
    down.lowest_sm = lowest;
    down.fs = pivot > lowest ? bit_prev(s->row->bits, pivot - 1, lowest) : -1;
    stream_key(&down, r, policy);
    if (down.fs >= 0)
        ix->streams[(*n)++] = down;
}

/* Opens every stream of r; returns how many. */
static size_t open_streams(struct share_index *ix, const struct share_request *r,
                           enum placement_policy policy)
{
    size_t n = 0;
    unsigned gib = gib_needed(r);
    for (size_t i = 0; i < ix->n_classes; i++) {
        const struct share_class *c = &ix->classes[i];
        if (c->mode != r->mode || gib > c->capacity || ix->pcs[i].sm >= SM_CELLS)
            continue;
        for (int k = 0; k < 2; k++)
            for (int fg = bit_next(c->grids[k].row_bits, row_words(c), gib); fg >= 0;
                 fg = bit_next(c->grids[k].row_bits, row_words(c), (unsigned)fg + 1)) {
                struct stream s = {.cls = c, .pc = &ix->pcs[i], .row = c->grids[k].rows[fg],
                                   .empty = k == 1, .free_gib = (unsigned)fg};
                open_row(ix, &s, r, policy, &n);
            }
    }
    return n;
}

/* Whether the node passes r's node rules, asked once per decision. */
static bool node_passes(struct share_index *ix, const struct placement_node *nodes,
                        const struct share_request *r, size_t node)
{
    if (ix->asked_in[node] != ix->decision) {
        struct placement_cluster view = {.nodes = nodes};
        ix->asked_in[node] = ix->decision;
        ix->passed[node] = placement_filter_node(&view, &r->where, node, NULL, 0) ==
                           PLACEMENT_NODE_OK;
    }
    return ix->passed[node];
}

/* The first GPU, by index, of the cells candidates[n] whose node passes,
 * or NO_GPU. */
static long first_passing(struct share_index *ix, size_t n, const struct share_gpu *gpus,
                          const struct placement_node *nodes, const struct share_request *r)
{
    for (;;) {
        struct candidate *pick = NULL;
        for (size_t k = 0; k < n; k++) {
            struct candidate *cd = &ix->candidates[k];
            if (cd->pos < cd->cell->n &&
                (!pick || cd->cell->gpus[cd->pos] < pick->cell->gpus[pick->pos]))
                pick = cd;
        }
        if (!pick)
            return NO_GPU;
        uint32_t gpu = pick->cell->gpus[pick->pos++];
        if (node_passes(ix, nodes, r, gpus[gpu].node))
            return (long)gpu;
    }
}

static long ranked_best(struct share_index *ix, const struct share_gpu *gpus,
                        const struct placement_node *nodes, const struct share_request *r,
                        enum placement_policy policy)
{
    size_t n = open_streams(ix, r, policy);
    for (;;) {
        uint64_t key = UINT64_MAX;
        for (size_t k = 0; k < n; k++)
            key = ix->streams[k].key < key ? ix->streams[k].key : key;
        if (key == UINT64_MAX)
            return NO_GPU;
        size_t n_cells = 0;
        for (size_t k = 0; k < n; k++)
            if (ix->streams[k].key == key)
                ix->candidates[n_cells++] = (struct candidate){
                    .cell = &ix->streams[k].row->cells[ix->streams[k].fs]};
        long gpu = first_passing(ix, n_cells, gpus, nodes, r);
        if (gpu != NO_GPU)
            return gpu;
        for (size_t k = 0; k < n; k++)
            if (ix->streams[k].key == key)
                stream_advance(&ix->streams[k], r, policy);
    }
}

/* Whether the GPU of entry en has room for r. */
static bool entry_fits(const struct share_index *ix, const struct entry *en,
                       const struct share_request *r)
{
    return en->in && ix->classes[en->cls].mode == r->mode && en->free_gib >= gib_needed(r) &&
           en->free_sm >= ix->pcs[en->cls].sm;
}

/* First-fit: the first GPU with room, block by block. */
static long first_fit(struct share_index *ix, const struct share_gpu *gpus,
                      const struct placement_node *nodes, const struct share_request *r)
{
    unsigned least_sm = SM_CELLS;
    for (size_t i = 0; i < ix->n_classes; i++)
        if (ix->classes[i].mode == r->mode && ix->pcs[i].sm < least_sm)
            least_sm = ix->pcs[i].sm;
    const struct block *blocks = ix->blocks[r->mode - 1];
    for (size_t b = 0; b < ix->n_blocks; b++) {
        if (blocks[b].most_gib < gib_needed(r) || blocks[b].most_sm < least_sm)
            continue;
        size_t end = (b + 1) * BLOCK < ix->n_gpus ? (b + 1) * BLOCK : ix->n_gpus;
        for (size_t i = b * BLOCK; i < end; i++)
            if (entry_fits(ix, &ix->entries[i], r) && node_passes(ix, nodes, r, gpus[i].node))
                return (long)i;
    }
    return NO_GPU;
}

int placement_share_decide_indexed(struct share_index *ix, const struct share_gpu *gpus, size_t n,
                                   const struct placement_node *nodes,
                                   const struct share_request *r, enum placement_policy policy,
                                   struct share_decision *d, struct err *e)
{
    int rc = placement_share__check_request(r, e);
    if (rc < 0)
        return rc;
    open_classes(ix, r);
    if (++ix->decision == 0) { /* wrapped: forget every answer */
        memset(ix->asked_in, 0, ix->n_nodes * sizeof *ix->asked_in);
        ix->decision = 1;
    }
    long best = policy == PLACEMENT_FIRST_FIT ? first_fit(ix, gpus, nodes, r)
                                              : ranked_best(ix, gpus, nodes, r, policy);
    return placement_share__conclude(gpus, n, nodes, r, policy, best, d, e);
}

/* ---- checking ---- */

static size_t cells_total(const struct share_index *ix)
{
    size_t total = 0;
    for (size_t i = 0; i < ix->n_classes; i++)
        for (int k = 0; k < 2; k++)
            for (unsigned fg = 0; fg <= ix->classes[i].capacity; fg++)
                for (unsigned fs = 0; ix->classes[i].grids[k].rows[fg] && fs < SM_CELLS; fs++)
                    total += ix->classes[i].grids[k].rows[fg]->cells[fs].n;
    return total;
}

static bool bits_agree(const struct share_class *c, const struct grid *g)
{
    for (unsigned fg = 0; fg <= c->capacity; fg++) {
        const struct row *row = g->rows[fg];
        bool any = false;
        for (unsigned fs = 0; row && fs < SM_CELLS; fs++) {
            bool has = row->cells[fs].n > 0;
            any |= has;
            if (has != ((row->bits[fs / 64] >> (fs % 64)) & 1))
                return false;
            for (uint32_t j = 1; j < row->cells[fs].n; j++)
                if (row->cells[fs].gpus[j - 1] >= row->cells[fs].gpus[j])
                    return false;
        }
        if (any != ((g->row_bits[fg / 64] >> (fg % 64)) & 1))
            return false;
    }
    return true;
}

int placement_share_index_check(const struct share_index *ix, const struct share_gpu *gpus,
                                size_t n, struct err *e)
{
    if (n != ix->n_gpus)
        return err_set(e, -EINVAL, "share index: %zu GPUs, the array %zu", ix->n_gpus, n);
    size_t in = 0;
    for (size_t i = 0; i < n; i++) {
        struct entry want = entry_of(ix, &gpus[i]);
        const struct entry *en = &ix->entries[i];
        const struct row *row =
            want.in ? ix->classes[en->cls].grids[en->empty].rows[en->free_gib] : NULL;
        if (!same_entry(&want, en) ||
            (want.in && !(row && cell_has(&row->cells[en->free_sm], (uint32_t)i))))
            return err_set(e, -EINVAL, "share index: GPU %zu is not in the cell of what it holds",
                           i);
        in += want.in;
    }
    if (cells_total(ix) != in)
        return err_set(e, -EINVAL, "share index: its cells hold %zu GPUs, %zu can take clients",
                       cells_total(ix), in);
    for (size_t i = 0; i < ix->n_classes; i++)
        for (int k = 0; k < 2; k++)
            if (!bits_agree(&ix->classes[i], &ix->classes[i].grids[k]))
                return err_set(e, -EINVAL, "share index: class %zu's bit sets are wrong", i);
    for (size_t b = 0; b < ix->n_blocks; b++)
        for (int m = SHARE_MPS; m <= SHARE_TIMESLICE; m++) {
            struct block want = block_of(ix, b, (enum share_mode)m);
            const struct block *have = &ix->blocks[m - 1][b];
            if (want.most_gib != have->most_gib || want.most_sm != have->most_sm)
                return err_set(e, -EINVAL, "share index: block %zu's most free is wrong", b);
        }
    return 0;
}
