/*
 * The book of units of work (inference.h): pods in a growable array found
 * by "ns/name", GPUs by UUID, each GPU with the pods working on it, and
 * per workload the completed units. A pod's progress is the time spent in
 * its current unit and the fraction of it left, so no absolute time is
 * ever held in a double.
 */
#include "sim/inference.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "util/alloc.h"
#include "util/objkey.h"
#include "util/strmap.h"
#include "util/vec.h"

#define POD_KEY_MAX 320
#define NONE SIZE_MAX

struct worker {
    bool running;
    size_t gpu;                       /* index into gpus, NONE without a slice */
    char slice[GPUSLICE_NAME_MAX];    /* the slice it is counted on */
    struct inference_hold hold;
    size_t workload;
    double alone_s;                   /* 0: does no units */
    int64_t since_ns;                 /* accounted up to */
    double unit_spent_s, unit_left;   /* in the current unit: time spent, fraction left */
};

struct gpu_group {
    size_t *members;                  /* indices into workers: running, on this GPU */
    size_t n, cap;
};

struct inference_book {
    struct interference_model model;
    struct worker *workers;
    size_t n_workers, cap_workers;
    size_t *spare;                    /* indices of unused workers */
    size_t n_spare, cap_spare;
    struct strmap pods;               /* "ns/name" -> size_t index into workers */
    struct strmap gpu_index;          /* UUID -> size_t index into gpus */
    struct gpu_group *gpus;
    size_t n_gpus, cap_gpus;
    struct inference_totals *totals;  /* per workload */
    size_t n_workloads;
};

struct inference_book *inference_book_new(size_t n_workloads, const struct interference_model *m)
{
    struct inference_book *b = alloc_calloc(1, sizeof *b);
    b->model = *m;
    b->n_workloads = n_workloads;
    b->totals = alloc_calloc(n_workloads + 1, sizeof *b->totals);
    strmap_init(&b->pods, sizeof(size_t), NULL);
    strmap_init(&b->gpu_index, sizeof(size_t), NULL);
    return b;
}

void inference_book_free(struct inference_book *b)
{
    if (!b)
        return;
    for (size_t g = 0; g < b->n_gpus; g++)
        free(b->gpus[g].members);
    free(b->gpus);
    free(b->workers);
    free(b->spare);
    free(b->totals);
    strmap_free(&b->pods);
    strmap_free(&b->gpu_index);
    free(b);
}

int inference_hold_of(const struct gpuslice_spec *s, struct inference_hold *out, struct err *e)
{
    if (s->sharing == POD_SHARING_TIMESLICE) {
        *out = (struct inference_hold){.way = SHARING_TIMESLICE, .share = 1};
        return 0;
    }
    if (s->sharing == POD_SHARING_MPS) {
        if (s->sm_percent < 1 || s->sm_percent > 100)
            return err_set(e, -EINVAL, "an MPS share needs smPercent 1..100, not %u",
                           s->sm_percent);
        *out = (struct inference_hold){.way = SHARING_MPS, .share = s->sm_percent / 100.0};
        return 0;
    }
    const struct gpu_model *model = s->model ? catalog_find_model(s->model) : NULL;
    const struct mig_profile *p = model && s->profile ? catalog_find_profile(model, s->profile)
                                                      : NULL;
    if (!p)
        return err_set(e, -EINVAL, "no profile \"%s\" of model \"%s\" in the catalogue",
                       s->profile ? s->profile : "", s->model ? s->model : "");
    *out = (struct inference_hold){.way = SHARING_MIG,
                                   .share = (double)p->compute_slices / model->compute_slices};
    return 0;
}

/* ---- progress -------------------------------------------------------------- */

/* Moves w's work from since_ns to now at the pace of k pods on its GPU,
 * counting the units it completes. */
static void advance(struct inference_book *b, struct worker *w, size_t k, int64_t now_ns)
{
    double dt = (double)(now_ns - w->since_ns) / 1e9;
    w->since_ns = now_ns;
    double unit_s;
    if (w->alone_s <= 0 || dt <= 0 ||
        interference_seconds(&b->model, w->hold.way, w->alone_s, (unsigned)k, w->hold.share,
                             &unit_s, NULL) < 0)
        return;
    double need = w->unit_left * unit_s;
    if (dt < need) {
        w->unit_left -= dt / unit_s;
        w->unit_spent_s += dt;
        return;
    }
    double rest = dt - need;
    double whole = floor(rest / unit_s);
    rest -= whole * unit_s;
    struct inference_totals *t = &b->totals[w->workload];
    t->units += 1 + (uint64_t)whole;
    t->seconds += w->unit_spent_s + need + whole * unit_s;
    w->unit_spent_s = rest;
    w->unit_left = 1 - rest / unit_s;
}

/* Every pod working on GPU g, advanced to now at the pace they have had. */
static void advance_gpu(struct inference_book *b, size_t g, int64_t now_ns)
{
    struct gpu_group *grp = &b->gpus[g];
    for (size_t i = 0; i < grp->n; i++)
        advance(b, &b->workers[grp->members[i]], grp->n, now_ns);
}

static bool working(const struct worker *w)
{
    return w->running && w->gpu != NONE;
}

/* Worker i joins its GPU's pods: the others' pace changes from now. */
static void join(struct inference_book *b, size_t i, int64_t now_ns)
{
    struct worker *w = &b->workers[i];
    struct gpu_group *grp = &b->gpus[w->gpu];
    advance_gpu(b, w->gpu, now_ns);
    VEC_RESERVE(grp->members, grp->cap, grp->n + 1);
    grp->members[grp->n++] = i;
    w->since_ns = now_ns;
    w->unit_spent_s = 0;
    w->unit_left = 1;
}

/* Worker i leaves its GPU's pods, its unit under way dropped. */
static void leave(struct inference_book *b, size_t i, int64_t now_ns)
{
    struct worker *w = &b->workers[i];
    struct gpu_group *grp = &b->gpus[w->gpu];
    advance_gpu(b, w->gpu, now_ns);
    for (size_t m = 0; m < grp->n; m++)
        if (grp->members[m] == i) {
            grp->members[m] = grp->members[--grp->n];
            break;
        }
}

/* ---- pods and GPUs ------------------------------------------------------------ */

/* The worker of ns/pod; made (unused fields zero) when missing and make. */
static size_t worker_of(struct inference_book *b, const char *ns, const char *pod, bool make)
{
    char key[POD_KEY_MAX];
    objkey_join(key, sizeof key, ns, pod);
    const size_t *found = strmap_get(&b->pods, key);
    if (found || !make)
        return found ? *found : NONE;
    size_t i;
    if (b->n_spare) {
        i = b->spare[--b->n_spare];
    } else {
        VEC_RESERVE(b->workers, b->cap_workers, b->n_workers + 1);
        i = b->n_workers++;
    }
    b->workers[i] = (struct worker){.gpu = NONE};
    strmap_set(&b->pods, key, &i);
    return i;
}

/* Forgets worker i once it neither runs nor holds a slice. */
static void forget_if_idle(struct inference_book *b, size_t i, const char *ns, const char *pod)
{
    struct worker *w = &b->workers[i];
    if (w->running || w->gpu != NONE)
        return;
    char key[POD_KEY_MAX];
    objkey_join(key, sizeof key, ns, pod);
    strmap_del(&b->pods, key);
    VEC_RESERVE(b->spare, b->cap_spare, b->n_spare + 1);
    b->spare[b->n_spare++] = i;
}

static size_t gpu_of(struct inference_book *b, const char *uuid)
{
    bool added = false;
    size_t *g = strmap_put(&b->gpu_index, uuid, &added);
    if (added) {
        VEC_RESERVE(b->gpus, b->cap_gpus, b->n_gpus + 1);
        b->gpus[b->n_gpus] = (struct gpu_group){0};
        *g = b->n_gpus++;
    }
    return *g;
}

void inference_held(struct inference_book *b, const char *ns, const char *pod,
                    const char *slice, const char *gpu, const struct inference_hold *h,
                    int64_t now_ns)
{
    size_t i = worker_of(b, ns, pod, true);
    struct worker *w = &b->workers[i];
    if (w->gpu != NONE)
        return;
    w->gpu = gpu_of(b, gpu ? gpu : "");
    w->hold = *h;
    snprintf(w->slice, sizeof w->slice, "%s", slice);
    if (w->running)
        join(b, i, now_ns);
}

void inference_released(struct inference_book *b, const char *ns, const char *pod,
                        const char *slice, int64_t now_ns)
{
    size_t i = worker_of(b, ns, pod, false);
    if (i == NONE || b->workers[i].gpu == NONE || strcmp(b->workers[i].slice, slice) != 0)
        return;
    if (working(&b->workers[i]))
        leave(b, i, now_ns);
    b->workers[i].gpu = NONE;
    forget_if_idle(b, i, ns, pod);
}

void inference_running(struct inference_book *b, const char *ns, const char *pod,
                       size_t workload, double alone_s, int64_t now_ns)
{
    size_t i = worker_of(b, ns, pod, true);
    struct worker *w = &b->workers[i];
    if (w->running)
        return;
    w->running = true;
    w->workload = workload < b->n_workloads ? workload : b->n_workloads;
    w->alone_s = workload < b->n_workloads && alone_s > 0 ? alone_s : 0;
    if (w->gpu != NONE)
        join(b, i, now_ns);
}

void inference_stopped(struct inference_book *b, const char *ns, const char *pod,
                       int64_t now_ns)
{
    size_t i = worker_of(b, ns, pod, false);
    if (i == NONE || !b->workers[i].running)
        return;
    if (working(&b->workers[i]))
        leave(b, i, now_ns);
    b->workers[i].running = false;
    forget_if_idle(b, i, ns, pod);
}

struct inference_totals inference_totals(struct inference_book *b, size_t workload,
                                         int64_t now_ns)
{
    for (size_t g = 0; g < b->n_gpus; g++)
        advance_gpu(b, g, now_ns);
    return workload < b->n_workloads ? b->totals[workload] : (struct inference_totals){0};
}
