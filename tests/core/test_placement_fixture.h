/*
 * A small cluster for the placement tests: nodes named node-0, node-1, ...
 * with GPUs listed node by node, every profile allowed, nothing held back.
 * The arrays are on the heap so the randomized test can size them freely.
 */
#ifndef GPUSLICE_TESTS_CORE_TEST_PLACEMENT_FIXTURE_H
#define GPUSLICE_TESTS_CORE_TEST_PLACEMENT_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "core/placement.h"

struct fixture {
    struct placement_node *nodes;
    char (*names)[32];
    struct placement_gpu *gpus;
    size_t n_nodes, n_gpus;
    struct placement_cluster c;
};

/* models[i] (a catalogue name) is the model of the i-th GPU of every node. */
static inline void fixture_alloc(struct fixture *f, size_t n_nodes, size_t per_node,
                                 const char *const *models)
{
    f->c = (struct placement_cluster){0};
    f->n_nodes = n_nodes;
    f->n_gpus = n_nodes * per_node;
    f->nodes = calloc(n_nodes + 1, sizeof *f->nodes);
    f->names = calloc(n_nodes + 1, sizeof *f->names);
    f->gpus = calloc(f->n_gpus + 1, sizeof *f->gpus);
    assert_non_null(f->nodes);
    assert_non_null(f->names);
    assert_non_null(f->gpus);
    for (size_t n = 0; n < n_nodes; n++) {
        snprintf(f->names[n], sizeof f->names[n], "node-%zu", n);
        f->nodes[n].name = f->names[n];
        for (size_t k = 0; k < per_node; k++) {
            struct placement_gpu *g = &f->gpus[n * per_node + k];
            const struct gpu_model *m = catalog_find_model(models[k]);
            assert_non_null(m);
            occupancy_init(&g->occ, m);
            g->node = n;
            g->allowed = PLACEMENT_ALL_PROFILES;
        }
    }
}

static inline void fixture_init(struct fixture *f)
{
    struct err e;
    int rc = placement_cluster_init(&f->c, f->nodes, f->n_nodes, f->gpus, f->n_gpus, &e);
    if (rc != 0)
        fail_msg("placement_cluster_init: %s", e.msg);
}

/* n_nodes nodes of per_node GPUs of one model, indexed. */
static inline void fixture_make(struct fixture *f, size_t n_nodes, size_t per_node,
                                const char *model)
{
    const char *models[16];
    assert_true(per_node <= 16);
    for (size_t k = 0; k < per_node; k++)
        models[k] = model;
    fixture_alloc(f, n_nodes, per_node, models);
    fixture_init(f);
}

static inline void fixture_free(struct fixture *f)
{
    placement_cluster_free(&f->c);
    free(f->nodes);
    free(f->names);
    free(f->gpus);
}

/* The profile called name on GPU gpu's model. */
static inline const struct mig_profile *fixture_profile(const struct fixture *f, size_t gpu,
                                                        const char *name)
{
    const struct mig_profile *p = catalog_find_profile(f->gpus[gpu].occ.model, name);
    assert_non_null(p);
    return p;
}

static inline void fixture_take(struct fixture *f, size_t gpu, const char *profile,
                                unsigned start)
{
    struct err e;
    if (placement_take(&f->c, gpu, fixture_profile(f, gpu, profile), start, 0, &e) != 0)
        fail_msg("placement_take: %s", e.msg);
}

/* Decides where profile goes under policy and applies it; returns the
 * decision code, with *d and e filled. */
static inline int fixture_place(struct fixture *f, enum placement_policy policy,
                                const char *profile, struct placement_decision *d,
                                struct err *e)
{
    struct placement_request r = {.profile = profile};
    int rc = placement_decide(&f->c, &r, policy, d, e);
    if (rc == 0)
        assert_int_equal(placement_take(&f->c, d->gpu, d->profile, d->start, 0, e), 0);
    return rc;
}

#endif
