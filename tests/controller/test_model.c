/*
 * The controller's incremental model against a rebuild: long random
 * histories of GPUNode and Node adds, updates and deletes (malformed ones,
 * GPUs without MIG or of unknown models, uuids two GPUNodes report, admin
 * settings, unmanaged slices, mig-static GPUs and their layouts, GPUs
 * shared by MPS or time-slicing, mode changes that wait), GPUSlice and
 * reservation claims and their drops (overlapping ones, profiles a model
 * lacks, shares of either kind, more than a shared GPU holds, shares on
 * MIG GPUs and slices on shared ones among them), avoided
 * GPUs, resyncs that repeat what the model already has, and status writes
 * that share every GPU entry but one with the version before. After every step
 * the model that lived through the history must equal a new model given
 * only the final inputs: the same nodes, labels, GPUs, settings, occupancy,
 * the same counters on shared GPUs, share indexes current with them, and
 * the same decision for every profile and a few shares under every policy
 * (the history's shares decided through its index, the rebuild's by the
 * full scan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/gpuslice.h"
#include "controller/model.h"
#include "core/catalog.h"
#include "core/placement_share_index.h"

#define HOSTS 6
#define KEYS 48
#define POOL 4         /* GPU uuids per host */
#define STEPS 600 /* each step indexes two models anew: milliseconds */
#define SEED 20261122u

/* What the API says now: the inputs a rebuild starts from. */
struct truth {
    json_t *gpunode[HOSTS]; /* NULL: none */
    json_t *node[HOSTS];
    bool claimed[KEYS];
    char gpu[KEYS][64];
    char profile[KEYS][32];
    unsigned start[KEYS];
    enum share_mode share[KEYS]; /* a share's mode, else 0 */
    unsigned gib[KEYS], sm[KEYS];
    bool avoided[HOSTS * POOL];
    /* How each pool uuid was last reported shared (0: not shared), so that
     * most claims are of its kind and most shared GPUs not conflicted. */
    enum share_mode kind[HOSTS * POOL];
};

/* Two catalogued models of different sizes and one the catalogue lacks
 * (each distinct model costs a rebuild milliseconds to index). */
static const char *const models[] = {"H100-80GB", "A30-24GB", "T4-16GB"};
static const unsigned memory_mib[] = {81559, 24576, 15360};
#define CATALOGUED 2

static uint32_t rnd(uint64_t *rng, uint32_t n)
{
    *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((*rng >> 33) % n);
}

static void host_name(size_t i, char out[16])
{
    snprintf(out, 16, "node-%zu", i);
}

static void key_name(size_t k, char out[32])
{
    snprintf(out, 32, "team/slice-%zu", k);
}

/* A uuid from the pool, mostly the host's own, sometimes another's (a
 * uuid two GPUNodes report), sometimes one nobody reports. */
static void pool_uuid(uint64_t *rng, size_t host, char out[64])
{
    uint32_t r = rnd(rng, 20);
    if (r == 0)
        snprintf(out, 64, "GPU-nowhere");
    else if (r == 1)
        snprintf(out, 64, "GPU-%u-%u", rnd(rng, HOSTS), rnd(rng, POOL));
    else
        snprintf(out, 64, "GPU-%zu-%u", host, rnd(rng, POOL));
}

/* A profile of a catalogued model at one of its legal starts, or (rarely)
 * a name no model has, or a start the rules refuse. */
static void random_slice(uint64_t *rng, char profile[32], unsigned *start)
{
    const struct gpu_model *m = catalog_find_model(models[rnd(rng, CATALOGUED)]);
    const struct mig_profile *p = &m->profiles[rnd(rng, m->n_profiles)];
    snprintf(profile, 32, "%s", rnd(rng, 30) == 0 ? "9g.999gb" : p->name);
    *start = rnd(rng, 15) == 0 ? rnd(rng, 8) : p->placements[rnd(rng, p->n_placements)].start;
}

/* A slice of a random profile and place, managed or not, onto slices. */
static void add_random_slice(uint64_t *rng, json_t *slices)
{
    char profile[32];
    unsigned start;
    random_slice(rng, profile, &start);
    json_array_append_new(slices, json_pack("{s:s, s:i, s:i, s:b}", "profile", profile, "start",
                                            (int)start, "size", 1, "managed", rnd(rng, 2)));
}

static json_t *random_gpunode(uint64_t *rng, size_t host)
{
    char name[16];
    host_name(host, name);
    if (rnd(rng, 25) == 0) /* malformed: counts as no GPUs */
        return json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", GPUSLICE_API_VERSION,
                         "kind", "GPUNode", "metadata", "name", name, "status", "gpus", "x");
    json_t *gpus = json_array(), *settings = json_array();
    size_t n = rnd(rng, POOL + 1);
    for (size_t i = 0; i < n; i++) {
        char uuid[64];
        pool_uuid(rng, host, uuid);
        json_t *slices = json_array();
        for (uint32_t s = rnd(rng, 3); s > 0; s--)
            add_random_slice(rng, slices);
        /* Some GPUs mig-static (their slices a layout, maybe overlapping),
         * some with a mode change waiting. */
        static const char *const modes[] = {"mig", "mig-static", "mps", "timeslice", "whole"};
        /* Mostly the uuid's own mode (claims meet GPUs of their kind),
         * sometimes any. */
        unsigned h = 0, p = 0;
        sscanf(uuid, "GPU-%u-%u", &h, &p);
        size_t own = (h * POOL + p) % 3 == 0 ? 2 : (h * POOL + p) % 6 == 1 ? 3 : 0;
        size_t mode = rnd(rng, 4) == 0 ? rnd(rng, 5) : own;
        const char *applied = modes[mode];
        const char *wish = rnd(rng, 8) == 0 ? modes[rnd(rng, 5)] : applied;
        bool shared = mode >= 2;
        size_t model = rnd(rng, 3);
        json_array_append_new(gpus, json_pack("{s:i, s:s, s:s, s:s, s:o, s:s, s:i}", "index",
                                              (int)i, "uuid", uuid, "model", models[model],
                                              "migMode", rnd(rng, shared ? 4 : 8) ? (shared ? "Disabled" : "Enabled")
                                                                                  : (shared ? "Enabled" : "Disabled"),
                                              "slices", shared ? json_array() : slices, "mode",
                                              applied, "memoryMiB", (int)memory_mib[model]));
        if (shared)
            json_decref(slices);
        json_t *allowed = json_array();
        if (rnd(rng, 4) == 0)
            json_array_append_new(allowed, json_string(rnd(rng, 2) ? "1g.10gb" : "3g.20gb"));
        json_array_append_new(settings, json_pack("{s:s, s:b, s:o, s:s, s:i}", "uuid", uuid,
                                                  "heldBack", rnd(rng, 6) == 0,
                                                  "allowedProfiles", allowed, "mode", wish,
                                                  "replicas", 2 + (int)rnd(rng, 6)));
    }
    return json_pack("{s:s, s:s, s:{s:s}, s:{s:o}, s:{s:o}}", "apiVersion", GPUSLICE_API_VERSION,
                     "kind", "GPUNode", "metadata", "name", name, "spec", "gpus", settings,
                     "status", "gpus", gpus);
}

/* A version of obj as the agent's status write makes it (NULL when obj
 * has no GPUs): spec and every GPU entry the very values obj has (the
 * model reads only what is new), but one GPU's, which has a slice more
 * or less, managed or not, or its MIG mode switched (the GPUs after it
 * then at other places among the host's), or is gone (the ones after it
 * moved up). */
static json_t *status_written(uint64_t *rng, const json_t *obj)
{
    const json_t *gpus = json_object_get(json_object_get(obj, "status"), "gpus");
    const json_t *spec = json_object_get(obj, "spec");
    if (!spec || json_array_size(gpus) == 0)
        return NULL;
    json_t *list = json_array();
    size_t changed = rnd(rng, (uint32_t)json_array_size(gpus));
    uint32_t how = rnd(rng, 8);
    for (size_t i = 0; i < json_array_size(gpus); i++) {
        json_t *entry = json_array_get(gpus, i);
        if (i != changed) {
            json_array_append(list, entry);
            continue;
        }
        if (how == 0)
            continue;
        json_t *mine = json_deep_copy(entry);
        json_t *slices = json_object_get(mine, "slices");
        if (how == 1) {
            const char *mig = json_string_value(json_object_get(mine, "migMode"));
            json_object_set_new(mine, "migMode",
                                json_string(mig && !strcmp(mig, "Enabled") ? "Disabled" : "Enabled"));
        } else if (how < 4 && json_array_size(slices) > 0) {
            json_array_remove(slices, rnd(rng, (uint32_t)json_array_size(slices)));
        } else if (json_is_array(slices)) {
            add_random_slice(rng, slices);
        }
        json_array_append_new(list, mine);
    }
    return json_pack("{s:s, s:s, s:O, s:O, s:{s:o}}", "apiVersion", GPUSLICE_API_VERSION, "kind",
                     "GPUNode", "metadata", json_object_get(obj, "metadata"), "spec", spec,
                     "status", "gpus", list);
}

static json_t *random_node(uint64_t *rng, size_t host)
{
    char name[16];
    host_name(host, name);
    json_t *labels = json_pack("{s:s}", "kubernetes.io/hostname", name);
    if (rnd(rng, 2))
        json_object_set_new(labels, "zone", json_string(rnd(rng, 2) ? "a" : "b"));
    return json_pack("{s:s, s:s, s:{s:s, s:o}}", "apiVersion", "v1", "kind", "Node", "metadata",
                     "name", name, "labels", labels);
}

static void note_kinds(struct truth *t, const json_t *obj)
{
    size_t i;
    const json_t *g;
    json_array_foreach(json_object_get(json_object_get(obj, "status"), "gpus"), i, g) {
        unsigned h, p;
        const char *mode = json_string_value(json_object_get(g, "mode"));
        const char *mig = json_string_value(json_object_get(g, "migMode"));
        if (!mode || !mig ||
            sscanf(json_string_value(json_object_get(g, "uuid")), "GPU-%u-%u", &h, &p) != 2)
            continue;
        bool off = strcmp(mig, "Enabled") != 0;
        t->kind[h * POOL + p] = off && !strcmp(mode, "mps")         ? SHARE_MPS
                                : off && !strcmp(mode, "timeslice") ? SHARE_TIMESLICE
                                                                    : 0;
    }
}

static void set_gpunode(struct model *m, struct truth *t, size_t host, json_t *obj)
{
    note_kinds(t, obj);
    char name[16];
    host_name(host, name);
    json_decref(t->gpunode[host]);
    t->gpunode[host] = obj;
    model_set_gpunode(m, name, obj, NULL);
}

static void set_node(struct model *m, struct truth *t, size_t host, json_t *obj)
{
    char name[16];
    host_name(host, name);
    json_decref(t->node[host]);
    t->node[host] = obj;
    model_set_node(m, name, obj);
}

static void claim(struct model *m, struct truth *t, size_t k)
{
    char key[32];
    key_name(k, key);
    if (t->share[k])
        model_claim_share(m, key, t->gpu[k], t->share[k], t->gib[k], t->sm[k]);
    else
        model_claim(m, key, t->gpu[k], t->profile[k], t->start[k]);
}

/* A share of either kind (a third of the claims), else a MIG slice. */
static void random_claim(uint64_t *rng, struct truth *t, size_t host, size_t k)
{
    t->claimed[k] = true;
    pool_uuid(rng, host, t->gpu[k]);
    unsigned h, p;
    enum share_mode kind = sscanf(t->gpu[k], "GPU-%u-%u", &h, &p) == 2 ? t->kind[h * POOL + p] : 0;
    t->share[k] = rnd(rng, 20) ? kind : rnd(rng, 3) == 0 ? 0 : 1 + rnd(rng, 2);
    t->gib[k] = t->share[k] == SHARE_MPS ? 1 + rnd(rng, 6) : 0;
    t->sm[k] = t->share[k] == SHARE_MPS ? 1 + rnd(rng, 30) : 0;
    random_slice(rng, t->profile[k], &t->start[k]);
    if (t->share[k])
        t->profile[k][0] = '\0';
}

/* Everything again, as an informer's relist or a resync reports it: the
 * model must find nothing changed. */
static void resync(struct model *m, struct truth *t)
{
    for (size_t h = 0; h < HOSTS; h++) {
        char name[16];
        host_name(h, name);
        assert_false(model_set_gpunode(m, name, t->gpunode[h], NULL));
        assert_false(model_set_node(m, name, t->node[h]));
    }
    for (size_t k = 0; k < KEYS; k++)
        if (t->claimed[k])
            claim(m, t, k);
}

static void random_event(struct model *m, struct truth *t, uint64_t *rng)
{
    size_t host = rnd(rng, HOSTS), k = rnd(rng, KEYS);
    char key[32];
    key_name(k, key);
    switch (rnd(rng, 10)) {
    case 0:
        set_gpunode(m, t, host, random_gpunode(rng, host));
        break;
    case 1: {
        json_t *next = status_written(rng, t->gpunode[host]);
        set_gpunode(m, t, host, next ? next : random_gpunode(rng, host));
        break;
    }
    case 2:
        set_gpunode(m, t, host, NULL);
        break;
    case 3:
        set_node(m, t, host, rnd(rng, 4) ? random_node(rng, host) : NULL);
        break;
    case 4:
    case 5:
    case 6: /* a GPUSlice seen, or a reservation made */
        random_claim(rng, t, host, k);
        claim(m, t, k);
        break;
    case 7: /* a GPUSlice gone, or a reservation dropped after a conflict */
        assert_int_equal(model_unclaim(m, key), t->claimed[k]);
        t->claimed[k] = false;
        break;
    case 8: {
        size_t g = rnd(rng, HOSTS * POOL);
        char uuid[64];
        snprintf(uuid, sizeof uuid, "GPU-%zu-%zu", g / POOL, g % POOL);
        t->avoided[g] = !t->avoided[g];
        model_avoid(m, uuid, t->avoided[g]);
        break;
    }
    default:
        resync(m, t);
        break;
    }
}

/* A new model given only what the API says now. */
static void rebuild(struct model *m, const struct truth *t)
{
    model_init(m);
    for (size_t k = 0; k < KEYS; k++)
        if (t->claimed[k])
            claim(m, (struct truth *)t, k);
    for (size_t h = HOSTS; h-- > 0;) {
        char name[16];
        host_name(h, name);
        if (t->node[h])
            model_set_node(m, name, t->node[h]);
        if (t->gpunode[h])
            model_set_gpunode(m, name, t->gpunode[h], NULL);
    }
    for (size_t g = 0; g < HOSTS * POOL; g++) {
        char uuid[64];
        snprintf(uuid, sizeof uuid, "GPU-%zu-%zu", g / POOL, g % POOL);
        if (t->avoided[g])
            model_avoid(m, uuid, true);
    }
    assert_int_equal(model_sync(m, NULL), 0);
}

/* Whether the two occupancies hold the same slices, in any order. */
static bool same_slices(const struct gpu_occupancy *a, const struct gpu_occupancy *b)
{
    if (a->n_slices != b->n_slices)
        return false;
    for (unsigned i = 0; i < a->n_slices; i++) {
        bool found = false;
        for (unsigned j = 0; j < b->n_slices; j++)
            found |= a->slices[i].start == b->slices[j].start &&
                     a->slices[i].profile == b->slices[j].profile;
        if (!found)
            return false;
    }
    return true;
}

static void same_gpus(const struct model *a, const struct model *b, size_t step)
{
    for (size_t g = 0; g < a->n_gpus; g++) {
        const struct model_gpu *x = &a->info[g], *y = &b->info[g];
        const struct placement_gpu *p = &a->gpus[g], *q = &b->gpus[g];
        if (strcmp(x->uuid, y->uuid) || x->index != y->index || x->admin_held != y->admin_held ||
            x->admin_allowed != y->admin_allowed || x->avoided != y->avoided ||
            x->conflicted != y->conflicted || x->duplicate != y->duplicate ||
            x->mode_pending != y->mode_pending || x->bad_layout != y->bad_layout ||
            p->node != q->node || p->allowed != q->allowed || p->held_back != q->held_back ||
            p->occ.model != q->occ.model || p->fixed != q->fixed)
            fail_msg("step %zu: GPU %zu (%s) differs from the rebuild's (%s)", step, g, x->uuid,
                     y->uuid);
        if (x->conflicted) /* held back whatever it holds */
            continue;
        if (p->occ.memory_mask != q->occ.memory_mask || p->occ.compute_used != q->occ.compute_used ||
            !same_slices(&p->occ, &q->occ) || p->held != q->held)
            fail_msg("step %zu: GPU %s holds mask 0x%02x (%u slices), the rebuild's 0x%02x (%u)",
                     step, x->uuid, p->occ.memory_mask, (unsigned)p->occ.n_slices,
                     q->occ.memory_mask, (unsigned)q->occ.n_slices);
    }
}

static bool same_info(const struct model_gpu *x, const struct model_gpu *y)
{
    return strcmp(x->uuid, y->uuid) == 0 && x->index == y->index &&
           x->admin_held == y->admin_held && x->avoided == y->avoided &&
           x->conflicted == y->conflicted && x->duplicate == y->duplicate &&
           x->mode_pending == y->mode_pending && x->strangers == y->strangers;
}

/* The model's share index is what a build from its shares gives. */
static void index_current(const struct model *m, size_t step)
{
    struct err e = {0};
    assert_non_null(m->share_index);
    if (placement_share_index_check(m->share_index, m->shares, m->n_shares, &e) != 0)
        fail_msg("step %zu: %s", step, e.msg);
}

/* A decision's reservation taken and given back through the model keeps
 * the index current and the model as it was. */
static void take_and_give_back(struct model *m, const struct share_decision *d, size_t step)
{
    struct share_gpu was = m->shares[d->gpu];
    model_share_take(m, d->gpu, d->memory_gib, d->sm_percent);
    index_current(m, step);
    assert_int_equal(m->shares[d->gpu].clients, was.clients + 1);
    model_share_release(m, d->gpu, d->memory_gib, d->sm_percent);
    index_current(m, step);
    assert_memory_equal(&m->shares[d->gpu], &was, sizeof was);
}

static void same_shares(struct model *a, const struct model *b, size_t step)
{
    assert_int_equal(a->n_shares, b->n_shares);
    for (size_t g = 0; g < a->n_shares; g++) {
        const struct share_gpu *p = &a->shares[g], *q = &b->shares[g];
        if (!same_info(&a->share_info[g], &b->share_info[g]) || p->node != q->node ||
            p->mode != q->mode || p->capacity_gib != q->capacity_gib || p->slots != q->slots ||
            p->used_gib != q->used_gib || p->used_sm != q->used_sm ||
            p->clients != q->clients || p->held_back != q->held_back)
            fail_msg("step %zu: shared GPU %zu (%s) holds %u GiB %u%% %u clients, the "
                     "rebuild's (%s) %u GiB %u%% %u", step, g, a->share_info[g].uuid,
                     p->used_gib, p->used_sm, p->clients, b->share_info[g].uuid, q->used_gib,
                     q->used_sm, q->clients);
    }
    index_current(a, step);
    index_current(b, step);
    static const struct share_request asks[] = {
        {.mode = SHARE_MPS, .memory_gib = 4}, {.mode = SHARE_MPS, .memory_gib = 20, .sm_percent = 10},
        {.mode = SHARE_MPS, .memory_gib = 1, .sm_percent = 70}, {.mode = SHARE_TIMESLICE},
    };
    for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++)
        for (int pol = 0; pol < PLACEMENT_POLICY_COUNT; pol++) {
            struct share_decision x = {0}, y = {0};
            int rx = model_share_decide(a, &asks[i], (enum placement_policy)pol, &x, NULL);
            int ry = placement_share_decide(b->shares, b->n_shares, b->nodes, &asks[i],
                                            (enum placement_policy)pol, &y, NULL);
            if (rx != ry || x.gpu != y.gpu || x.sm_percent != y.sm_percent)
                fail_msg("step %zu: share %zu under policy %d: %d gpu %zu, the rebuild's %d "
                         "gpu %zu", step, i, pol, rx, x.gpu, ry, y.gpu);
            if (rx == 0)
                take_and_give_back(a, &x, step);
        }
}

/* The same decision for every profile of the test's models, every policy. */
static void same_decisions(const struct model *a, const struct model *b, size_t step)
{
    for (size_t mi = 0; mi < CATALOGUED; mi++) {
        const struct gpu_model *gm = catalog_find_model(models[mi]);
        for (unsigned p = 0; p < gm->n_profiles; p++)
            for (int pol = 0; pol < PLACEMENT_POLICY_COUNT; pol++) {
                struct placement_request r = {.profile = gm->profiles[p].name};
                struct placement_decision x = {0}, y = {0};
                int rx = placement_decide(&a->cluster, &r, (enum placement_policy)pol, &x, NULL);
                int ry = placement_decide(&b->cluster, &r, (enum placement_policy)pol, &y, NULL);
                if (rx != ry || (rx == 0 && (x.gpu != y.gpu || x.start != y.start)))
                    fail_msg("step %zu: %s under %s: %d gpu %zu at %u, the rebuild's %d gpu %zu "
                             "at %u",
                             step, r.profile, placement_policy_name((enum placement_policy)pol),
                             rx, x.gpu, x.start, ry, y.gpu, y.start);
            }
    }
}

static void same_model(struct model *a, const struct model *b, size_t step)
{
    assert_false(a->stale);
    assert_int_equal(a->n_nodes, b->n_nodes);
    assert_int_equal(a->n_gpus, b->n_gpus);
    for (size_t n = 0; n < a->n_nodes; n++) {
        assert_string_equal(a->nodes[n].name, b->nodes[n].name);
        assert_int_equal(a->nodes[n].n_labels, b->nodes[n].n_labels);
        for (size_t l = 0; l < a->nodes[n].n_labels; l++) {
            assert_string_equal(a->nodes[n].labels[l].key, b->nodes[n].labels[l].key);
            assert_string_equal(a->nodes[n].labels[l].value, b->nodes[n].labels[l].value);
        }
    }
    same_gpus(a, b, step);
    same_decisions(a, b, step);
    same_shares(a, b, step);
}

static void free_truth(struct truth *t)
{
    for (size_t h = 0; h < HOSTS; h++) {
        json_decref(t->gpunode[h]);
        json_decref(t->node[h]);
    }
}

static void random_histories_equal_a_rebuild_after_every_step(void **state)
{
    (void)state;
    struct model m;
    struct truth t = {0};
    uint64_t rng = SEED;
    size_t conflicted = 0, duplicates = 0, gpus = 0, shares = 0, shared_clients = 0;
    size_t shares_conflicted = 0, shares_open = 0;
    model_init(&m);
    for (size_t step = 0; step < STEPS; step++) {
        for (uint32_t n = 1 + rnd(&rng, 3); n > 0; n--) /* a step may batch events */
            random_event(&m, &t, &rng);
        assert_int_equal(model_sync(&m, NULL), 0);
        struct model fresh;
        rebuild(&fresh, &t);
        same_model(&m, &fresh, step);
        for (size_t g = 0; g < m.n_gpus; g++) {
            conflicted += m.info[g].conflicted;
            duplicates += m.info[g].duplicate;
        }
        gpus += m.n_gpus;
        shares += m.n_shares;
        for (size_t g = 0; g < m.n_shares; g++) {
            shared_clients += m.shares[g].clients;
            shares_conflicted += m.share_info[g].conflicted;
            shares_open += !m.shares[g].held_back && m.shares[g].clients > 0;
        }
        model_free(&fresh);
    }
    /* The history went where it should: GPUs, conflicts and duplicates. */
    assert_true(gpus > STEPS);
    assert_true(conflicted > 0);
    assert_true(duplicates > 0);
    assert_true(shares > STEPS / 2);
    assert_true(shared_clients > 0);
    assert_true(shares_conflicted > 0);
    assert_true(shares_open > STEPS / 20);
    model_free(&m);
    free_truth(&t);
}

/* The Node node-a, without labels. */
static json_t *node_a(void)
{
    return json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Node", "metadata",
                     "name", "node-a");
}

static void a_reservation_then_its_gpuslice_hold_one_placement(void **state)
{
    (void)state;
    struct model m;
    model_init(&m);
    json_t *node = node_a();
    json_t *gn = json_pack("{s:s, s:s, s:{s:s}, s:{s:[{s:i, s:s, s:s, s:s}]}}", "apiVersion",
                           GPUSLICE_API_VERSION, "kind", "GPUNode", "metadata", "name", "node-a",
                           "status", "gpus", "index", 0, "uuid", "GPU-a", "model", "H100-80GB",
                           "migMode", "Enabled");
    assert_true(model_set_node(&m, "node-a", node));
    assert_true(model_set_gpunode(&m, "node-a", gn, NULL));
    assert_false(model_set_gpunode(&m, "node-a", gn, NULL));
    assert_int_equal(model_sync(&m, NULL), 0);
    model_claim(&m, "team/a", "GPU-a", "3g.40gb", 0);  /* the reservation */
    model_claim(&m, "team/a", "GPU-a", "3g.40gb", 0);  /* its GPUSlice in the cache */
    assert_int_equal(m.gpus[0].occ.n_slices, 1);
    assert_false(m.info[0].conflicted);
    model_claim(&m, "team/b", "GPU-a", "3g.40gb", 0);  /* a second claim on it */
    assert_true(m.info[0].conflicted);
    assert_true(m.gpus[0].held_back);
    assert_true(model_unclaim(&m, "team/b"));
    assert_false(m.info[0].conflicted);
    assert_false(m.gpus[0].held_back);
    assert_true(model_unclaim(&m, "team/a"));
    assert_false(model_unclaim(&m, "team/a"));
    assert_int_equal(m.gpus[0].occ.n_slices, 0);
    assert_int_equal(model_find_gpu(&m, "GPU-a"), 0);
    assert_int_equal(model_find_node(&m, "node-a"), 0);
    assert_true(model_set_node(&m, "node-a", NULL)); /* no Node: out of the model */
    assert_int_equal(model_sync(&m, NULL), 0);
    assert_int_equal(m.n_gpus, 0);
    assert_int_equal(model_find_node(&m, "node-a"), -1);
    json_decref(node);
    json_decref(gn);
    model_free(&m);
}

/* A GPU the admin shares whole (mps, timeslice, whole) takes no MIG
 * slice even with MIG enabled on it. */
static void a_sharing_gpu_takes_no_mig_slice(void **state)
{
    (void)state;
    static const char *const modes[] = {"mps", "timeslice", "whole", "mig"};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        struct model m;
        model_init(&m);
        json_t *node = node_a();
        json_t *gn = json_pack("{s:s, s:s, s:{s:s}, s:{s:[{s:s, s:s}]}, s:{s:[{s:i, s:s, s:s, s:s}]}}",
                               "apiVersion", GPUSLICE_API_VERSION, "kind", "GPUNode", "metadata",
                               "name", "node-a", "spec", "gpus", "uuid", "GPU-a", "mode",
                               modes[i], "status", "gpus", "index", 0, "uuid", "GPU-a", "model",
                               "H100-80GB", "migMode", "Enabled");
        model_set_node(&m, "node-a", node);
        model_set_gpunode(&m, "node-a", gn, NULL);
        assert_int_equal(model_sync(&m, NULL), 0);
        assert_int_equal(m.n_gpus, strcmp(modes[i], "mig") == 0 ? 1 : 0);
        json_decref(node);
        json_decref(gn);
        model_free(&m);
    }
}

/* A GPU entry of a GPUNode's status that is the very value of the version
 * before is not read again, but a GPU before it that stops being usable
 * moves it among the host's GPUs, and its unmanaged slice, claimed under
 * its place there, is claimed again under the new one. */
static void a_gpu_kept_at_a_new_place_keeps_its_unmanaged_slice(void **state)
{
    (void)state;
    struct model m;
    model_init(&m);
    json_t *node = node_a();
    json_t *gpus[3];
    for (int i = 0; i < 3; i++) {
        char uuid[16];
        snprintf(uuid, sizeof uuid, "GPU-%d", i);
        gpus[i] = json_pack("{s:i, s:s, s:s, s:s, s:[{s:s, s:i, s:i, s:b}]}", "index", i,
                            "uuid", uuid, "model", "H100-80GB", "migMode", "Enabled",
                            "slices", "profile", "1g.10gb", "start", 6, "size", 1, "managed",
                            false);
    }
    json_t *gn = json_pack("{s:s, s:s, s:{s:s}, s:{s:[]}, s:{s:[O, O, O]}}", "apiVersion",
                           GPUSLICE_API_VERSION, "kind", "GPUNode", "metadata", "name", "node-a",
                           "spec", "gpus", "status", "gpus", gpus[0], gpus[1], gpus[2]);
    model_set_node(&m, "node-a", node);
    assert_true(model_set_gpunode(&m, "node-a", gn, NULL));
    json_t *off = json_deep_copy(gpus[0]);
    json_object_set_new(off, "migMode", json_string("Disabled"));
    json_t *next = json_pack("{s:s, s:s, s:O, s:O, s:{s:[o, O, O]}}", "apiVersion",
                             GPUSLICE_API_VERSION, "kind", "GPUNode", "metadata",
                             json_object_get(gn, "metadata"), "spec", json_object_get(gn, "spec"),
                             "status", "gpus", off, gpus[1], gpus[2]);
    assert_true(model_set_gpunode(&m, "node-a", next, NULL));
    assert_int_equal(model_sync(&m, NULL), 0);
    assert_int_equal(m.n_gpus, 2);
    for (int i = 1; i < 3; i++) {
        char uuid[16];
        snprintf(uuid, sizeof uuid, "GPU-%d", i);
        long g = model_find_gpu(&m, uuid);
        assert_true(g >= 0);
        assert_int_equal(m.gpus[g].occ.n_slices, 1);
    }
    for (int i = 0; i < 3; i++)
        json_decref(gpus[i]);
    json_decref(node);
    json_decref(gn);
    json_decref(next);
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_reservation_then_its_gpuslice_hold_one_placement),
        cmocka_unit_test(random_histories_equal_a_rebuild_after_every_step),
        cmocka_unit_test(a_sharing_gpu_takes_no_mig_slice),
        cmocka_unit_test(a_gpu_kept_at_a_new_place_keeps_its_unmanaged_slice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
