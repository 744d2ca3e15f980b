/*
 * A randomized differential test of placement_decide: on many random
 * clusters (fixed seed) and random requests, the indexed, table-driven
 * decision must equal a plain reference that scans every GPU and start and
 * scores each placement from occupancy_headroom directly, under each
 * policy. Decisions are applied and slices released at random between
 * requests, so the index is checked after many take/release updates and
 * admin changes too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "core/placement.h"
#include "test_placement_fixture.h"

#define CLUSTERS 120
#define STEPS 150

/* A 64-bit LCG: the same sequence on every platform, unlike rand(). */
static uint32_t rnd(uint64_t *rng, uint32_t n)
{
    *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((*rng >> 33) % n);
}

static const char *const model_names[] = {"H100-80GB", "A100-40GB", "A100-80GB", "A30-24GB"};
static const struct placement_label label_a = {"zone", "a"};
static const struct placement_label label_b = {"zone", "b"};

/* The caller's filter: rejects the nodes whose index hashes to 0 mod 3
 * with the request's salt. */
static bool salted_filter(void *ctx, size_t node, char *reason, size_t reason_size)
{
    uint32_t salt = *(const uint32_t *)ctx;
    (void)reason;
    (void)reason_size;
    return ((uint32_t)node * 2654435761u ^ salt) % 3 != 0;
}

/* The documented fragmentation value: sum of memory_slices^2 x headroom. */
static uint32_t value(const struct gpu_occupancy *o)
{
    uint8_t more[CATALOG_MAX_PROFILES];
    occupancy_headroom(o, more);
    uint32_t v = 0;
    for (unsigned q = 0; q < o->model->n_profiles; q++)
        v += (uint32_t)o->model->profiles[q].memory_slices * o->model->profiles[q].memory_slices *
             more[q];
    return v;
}

static uint32_t reference_score(enum placement_policy policy, const struct gpu_occupancy *o,
                                const struct mig_profile *p, unsigned start)
{
    struct gpu_occupancy after = *o;
    assert_int_equal(occupancy_take(&after, p, start, 0, NULL), 0);
    unsigned free_after = o->model->memory_slices - (unsigned)__builtin_popcount(after.memory_mask);
    switch (policy) {
    case PLACEMENT_FIRST_FIT:
        return 0;
    case PLACEMENT_BEST_FIT:
        return 8 - free_after;
    case PLACEMENT_FRAGMENTATION_AWARE:
        return (o->n_slices > 0 ? 0x10000u : 0) + 0xffffu - (value(o) - value(&after));
    }
    fail();
    return 0;
}

static bool reference_gpu_passes(const struct fixture *f, const struct placement_request *r,
                                 size_t i, const struct mig_profile **p)
{
    const struct placement_gpu *g = &f->gpus[i];
    *p = catalog_find_profile(g->occ.model, r->profile);
    if (!*p || g->held_back || !(g->allowed & (1u << (*p - g->occ.model->profiles))))
        return false;
    bool model_ok = r->models == NULL;
    for (size_t k = 0; k < r->n_models; k++)
        model_ok |= r->models[k] == g->occ.model;
    if (!model_ok)
        return false;
    const struct placement_node *n = &f->nodes[g->node];
    for (size_t k = 0; k < r->n_selector; k++) {
        bool found = false;
        for (size_t l = 0; l < n->n_labels; l++)
            found |= strcmp(n->labels[l].key, r->selector[k].key) == 0 &&
                     strcmp(n->labels[l].value, r->selector[k].value) == 0;
        if (!found)
            return false;
    }
    return !r->filter || r->filter(r->filter_ctx, g->node, NULL, 0);
}

/* Scans every GPU and free start; strictly better wins, so ties go to the
 * lower GPU, then the lower start. */
static bool reference_decide(const struct fixture *f, const struct placement_request *r,
                             enum placement_policy policy, struct placement_decision *d)
{
    bool found = false;
    uint32_t best = 0;
    for (size_t i = 0; i < f->n_gpus; i++) {
        const struct mig_profile *p;
        if (!reference_gpu_passes(f, r, i, &p))
            continue;
        uint8_t starts[MIG_MAX_PLACEMENTS];
        unsigned n = occupancy_free_starts(&f->gpus[i].occ, p, starts);
        for (unsigned k = 0; k < n; k++) {
            uint32_t score = reference_score(policy, &f->gpus[i].occ, p, starts[k]);
            if (!found || score > best) {
                found = true;
                best = score;
                *d = (struct placement_decision){.gpu = i, .profile = p, .start = starts[k]};
            }
        }
    }
    return found;
}

static void random_cluster(struct fixture *f, uint64_t *rng)
{
    size_t n_nodes = 1 + rnd(rng, 8), per_node = 1 + rnd(rng, 4);
    const char *models[4];
    for (size_t k = 0; k < per_node; k++)
        models[k] = model_names[rnd(rng, 4)];
    fixture_alloc(f, n_nodes, per_node, models);
    for (size_t n = 0; n < n_nodes; n++) {
        f->nodes[n].labels = rnd(rng, 2) ? &label_a : &label_b;
        f->nodes[n].n_labels = rnd(rng, 4) ? 1 : 0;
    }
    for (size_t i = 0; i < f->n_gpus; i++) {
        struct placement_gpu *g = &f->gpus[i];
        g->held_back = rnd(rng, 10) == 0;
        if (rnd(rng, 5) == 0)
            g->allowed = (uint16_t)rnd(rng, 1u << g->occ.model->n_profiles);
        /* Random slices: a few tries at random profiles and starts. */
        for (unsigned t = rnd(rng, 10); t > 0; t--) {
            const struct gpu_model *m = g->occ.model;
            const struct mig_profile *p = &m->profiles[rnd(rng, m->n_profiles)];
            const struct mig_placement *pl = &p->placements[rnd(rng, p->n_placements)];
            (void)occupancy_take(&g->occ, p, pl->start, t, NULL);
        }
    }
    fixture_init(f);
}

static void random_request(struct placement_request *r, const struct gpu_model **model,
                           uint32_t *salt, uint64_t *rng)
{
    const struct gpu_model *m = catalog_find_model(model_names[rnd(rng, 4)]);
    *r = (struct placement_request){.profile = m->profiles[rnd(rng, m->n_profiles)].name};
    if (rnd(rng, 4) == 0) {
        *model = catalog_find_model(model_names[rnd(rng, 4)]);
        r->models = model;
        r->n_models = 1;
    }
    if (rnd(rng, 4) == 0) {
        r->selector = rnd(rng, 2) ? &label_a : &label_b;
        r->n_selector = 1;
    }
    if (rnd(rng, 4) == 0) {
        *salt = rnd(rng, 1000);
        r->filter = salted_filter;
        r->filter_ctx = salt;
    }
}

/* A random change between requests: release a slice, or toggle an admin
 * setting. */
static void random_change(struct fixture *f, uint64_t *rng)
{
    struct err e;
    size_t i = rnd(rng, (uint32_t)f->n_gpus);
    struct placement_gpu *g = &f->gpus[i];
    if (rnd(rng, 4) == 0) {
        g->held_back = !g->held_back;
        assert_int_equal(placement_gpu_changed(&f->c, i, &e), 0);
    } else if (g->occ.n_slices > 0) {
        unsigned start = g->occ.slices[rnd(rng, g->occ.n_slices)].start;
        assert_int_equal(placement_release(&f->c, i, start, &e), 0);
    }
}

static void indexed_decisions_equal_the_reference(void **state)
{
    (void)state;
    uint64_t seed = 20240611, *rng = &seed;
    size_t found_some = 0, found_none = 0;
    for (int cl = 0; cl < CLUSTERS; cl++) {
        struct fixture f;
        random_cluster(&f, rng);
        for (int step = 0; step < STEPS; step++) {
            struct placement_request r;
            const struct gpu_model *model;
            uint32_t salt = 0;
            random_request(&r, &model, &salt, rng);
            struct placement_decision got = {0}, want = {0};
            for (int pol = 0; pol < PLACEMENT_POLICY_COUNT; pol++) {
                struct err e;
                int rc = placement_decide(&f.c, &r, (enum placement_policy)pol, &got, &e);
                bool found = reference_decide(&f, &r, (enum placement_policy)pol, &want);
                if (found != (rc == 0))
                    fail_msg("cluster %d step %d %s %s: decide %d (%s), reference %d", cl, step,
                             placement_policy_name((enum placement_policy)pol), r.profile, rc,
                             rc ? e.msg : "", found);
                if (!found) {
                    assert_int_equal(rc, -ENOSPC);
                    found_none++;
                    continue;
                }
                found_some++;
                if (got.gpu != want.gpu || got.start != want.start || got.profile != want.profile)
                    fail_msg("cluster %d step %d %s %s: gpu %zu start %u, reference gpu %zu "
                             "start %u",
                             cl, step, placement_policy_name((enum placement_policy)pol),
                             r.profile, got.gpu, got.start, want.gpu, want.start);
                assert_int_equal(got.node, f.gpus[got.gpu].node);
            }
            struct err e;
            enum placement_policy apply = (enum placement_policy)rnd(rng, 3);
            if (rnd(rng, 3) != 0 && placement_decide(&f.c, &r, apply, &got, &e) == 0)
                assert_int_equal(placement_take(&f.c, got.gpu, got.profile, got.start, 1, &e), 0);
            if (rnd(rng, 3) == 0)
                random_change(&f, rng);
        }
        fixture_free(&f);
    }
    /* Both outcomes must have been exercised for the comparison to mean much. */
    assert_true(found_some > 1000);
    assert_true(found_none > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(indexed_decisions_equal_the_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
