/*
 * The controller's cluster model (see model.h).
 */
#include "controller/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/gpunode.h"
#include "api/meta.h"
#include "core/catalog.h"
#include "util/hash.h"
#include "util/vec.h"
#include "util/alloc.h"

static void free_topology(struct model *m)
{
    placement_cluster_free(&m->cluster);
    for (size_t i = 0; i < m->n_unmanaged; i++) {
        free((char *)m->unmanaged[i].gpu_uuid);
        free((char *)m->unmanaged[i].profile);
    }
    free(m->unmanaged);
    for (size_t i = 0; i < m->n_nodes; i++) {
        for (size_t j = 0; m->labels && j < m->nodes[i].n_labels; j++) {
            free((char *)m->labels[i][j].key);
            free((char *)m->labels[i][j].value);
        }
        if (m->labels)
            free(m->labels[i]);
        if (m->node_names)
            free(m->node_names[i]);
    }
    free(m->labels);
    free(m->node_names);
    free(m->nodes);
    free(m->gpus);
    free(m->info);
    memset(m, 0, sizeof *m);
}

void model_free(struct model *m)
{
    free_topology(m);
}

static const json_t *node_named(const json_t *nodes, const char *name)
{
    size_t i;
    const json_t *n;
    json_array_foreach(nodes, i, n) {
        const char *nn = meta_name(n);
        if (nn && strcmp(nn, name) == 0)
            return n;
    }
    return NULL;
}

static int by_name(const void *a, const void *b)
{
    const char *x = meta_name(*(const json_t *const *)a), *y = meta_name(*(const json_t *const *)b);
    return strcmp(x ? x : "", y ? y : "");
}

/* The catalogue model of a reported GPU, or NULL when it cannot take MIG
 * slices (not catalogued, or MIG not enabled). */
static const struct gpu_model *usable_model(const struct gpunode_gpu *g)
{
    if (strcmp(g->mig_mode, "Enabled") != 0)
        return NULL;
    const struct gpu_model *gm = catalog_find_model(g->model);
    if (!gm && g->product)
        gm = catalog_find_model(g->product);
    return gm;
}

static uint16_t allowed_mask(const struct gpunode_gpu *g, const struct gpu_model *gm)
{
    if (!g->allowed_profiles)
        return PLACEMENT_ALL_PROFILES;
    uint16_t mask = 0;
    for (unsigned i = 0; i < gm->n_profiles; i++)
        if (gpunode_profile_allowed(g, gm->profiles[i].name))
            mask |= (uint16_t)(1u << i);
    return mask;
}

static int copy_labels(struct model *m, size_t idx, const json_t *node)
{
    const json_t *labels = json_object_get(json_object_get(node, "metadata"), "labels");
    size_t n = json_object_size(labels), k = 0;
    m->labels[idx] = alloc_calloc(n ? n : 1, sizeof **m->labels);
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)labels, key, v) {
        if (!json_is_string(v))
            continue;
        m->labels[idx][k].key = alloc_strdup(key);
        m->labels[idx][k].value = alloc_strdup(json_string_value(v));
        k++;
        m->nodes[idx].n_labels = k;
        if (!m->labels[idx][k - 1].key || !m->labels[idx][k - 1].value)
            return -ENOMEM;
    }
    m->nodes[idx].labels = m->labels[idx];
    return 0;
}

static int add_unmanaged(struct model *m, const struct gpunode_gpu *g)
{
    for (size_t i = 0; i < g->n_slices; i++) {
        if (g->slices[i].managed)
            continue;
        VEC_RESERVE(m->unmanaged, m->cap_unmanaged, m->n_unmanaged + 1);
        struct model_slice *s = &m->unmanaged[m->n_unmanaged++];
        s->gpu_uuid = alloc_strdup(g->uuid);
        s->profile = alloc_strdup(g->slices[i].profile);
        s->start = g->slices[i].start;
    }
    return 0;
}

/* Adds the usable GPUs of one GPUNode as node idx. */
static int add_node(struct model *m, const struct gpunode_view *v, const json_t *node)
{
    size_t idx = m->n_nodes;
    m->node_names[idx] = alloc_strdup(v->name);
    m->n_nodes++;
    if (copy_labels(m, idx, node) < 0)
        return -ENOMEM;
    m->nodes[idx].name = m->node_names[idx];
    for (size_t i = 0; i < v->n_gpus; i++) {
        const struct gpunode_gpu *g = &v->gpus[i];
        const struct gpu_model *gm = usable_model(g);
        if (!gm)
            continue;
        struct placement_gpu *pg = &m->gpus[m->n_gpus];
        struct model_gpu *info = &m->info[m->n_gpus];
        if (add_unmanaged(m, g) < 0)
            return -ENOMEM;
        occupancy_init(&pg->occ, gm);
        pg->node = idx;
        info->admin_allowed = allowed_mask(g, gm);
        info->admin_held = g->held_back;
        pg->allowed = info->admin_allowed;
        pg->held_back = info->admin_held;
        snprintf(info->uuid, sizeof info->uuid, "%s", g->uuid);
        info->index = g->index;
        m->n_gpus++;
    }
    return 0;
}

int model_rebuild(struct model *m, const json_t *gpunodes, const json_t *nodes, struct err *e)
{
    free_topology(m);
    size_t n = json_array_size(gpunodes);
    const json_t **sorted = alloc_calloc(n ? n : 1, sizeof *sorted);
    m->nodes = alloc_calloc(n ? n : 1, sizeof *m->nodes);
    m->node_names = alloc_calloc(n ? n : 1, sizeof *m->node_names);
    m->labels = alloc_calloc(n ? n : 1, sizeof *m->labels);
    m->gpus = alloc_calloc(n * GPUNODE_MAX_GPUS + 1, sizeof *m->gpus);
    m->info = alloc_calloc(n * GPUNODE_MAX_GPUS + 1, sizeof *m->info);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        sorted[i] = json_array_get(gpunodes, i);
    if (rc == 0 && n)
        qsort(sorted, n, sizeof *sorted, by_name);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct gpunode_view v;
        struct err bad = {0};
        const json_t *node = NULL;
        if (gpunode_read(sorted[i], &v, &bad) < 0) {
            if (e)
                *e = bad; /* reported, not fatal: the other nodes still serve */
            continue;
        }
        if (!(node = node_named(nodes, v.name)))
            continue;
        if (add_node(m, &v, node) < 0)
            rc = err_set(e, -ENOMEM, "controller: out of memory building the cluster model");
    }
    free(sorted);
    if (rc == 0)
        rc = placement_cluster_init(&m->cluster, m->nodes, m->n_nodes, m->gpus, m->n_gpus, e);
    if (rc < 0) {
        free_topology(m);
        return rc;
    }
    m->built = true;
    return 0;
}

long model_find_gpu(const struct model *m, const char *uuid)
{
    for (size_t i = 0; i < m->n_gpus; i++)
        if (strcmp(m->info[i].uuid, uuid) == 0)
            return (long)i;
    return -1;
}

static int take_all(struct model *m, const struct model_slice *slices, size_t n, struct err *e)
{
    for (size_t i = 0; i < n; i++) {
        long g = model_find_gpu(m, slices[i].gpu_uuid);
        if (g < 0)
            continue;
        const struct mig_profile *p = catalog_find_profile(m->gpus[g].occ.model, slices[i].profile);
        int rc = p ? placement_take(&m->cluster, (size_t)g, p, slices[i].start, 0, e)
                   : err_set(e, -EINVAL, "no profile %s on %s", slices[i].profile,
                             m->gpus[g].occ.model->name);
        if (rc < 0)
            return err_prefix(e, rc, "GPU %s: slice %s at %u: ", slices[i].gpu_uuid,
                              slices[i].profile, slices[i].start);
    }
    return 0;
}

int model_load(struct model *m, const struct model_slice *slices, size_t n, struct err *e)
{
    for (size_t g = 0; g < m->n_gpus; g++)
        while (m->gpus[g].occ.n_slices > 0)
            placement_release(&m->cluster, g, m->gpus[g].occ.slices[0].start, NULL);
    int rc = take_all(m, m->unmanaged, m->n_unmanaged, e);
    return rc < 0 ? rc : take_all(m, slices, n, e);
}

static uint64_t mix_json(uint64_t h, const json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    h = hash_field(h, text);
    free(text);
    return h;
}

uint64_t model_signature(const json_t *gpunodes, const json_t *nodes)
{
    uint64_t h = HASH_INIT;
    size_t i;
    const json_t *o;
    json_array_foreach(gpunodes, i, o) {
        /* Slices gpuslice made are left out: the agent may report them as
         * often as it likes without costing the controller a rebuild. */
        struct gpunode_view v;
        h = hash_field(h, meta_name(o));
        h = mix_json(h, json_object_get(o, "spec"));
        if (gpunode_read(o, &v, NULL) < 0)
            continue;
        for (size_t g = 0; g < v.n_gpus; g++) {
            h = hash_field(hash_field(h, v.gpus[g].uuid), v.gpus[g].model);
            h = hash_field(hash_field(h, v.gpus[g].mig_mode), v.gpus[g].product);
            for (size_t k = 0; k < v.gpus[g].n_slices; k++) {
                const struct gpunode_slice *sl = &v.gpus[g].slices[k];
                char start[8];
                snprintf(start, sizeof start, "%u", sl->start);
                if (!sl->managed)
                    h = hash_field(hash_field(h, sl->profile), start);
            }
        }
    }
    json_array_foreach(nodes, i, o) {
        h = hash_field(h, meta_name(o));
        h = mix_json(h, json_object_get(json_object_get(o, "metadata"), "labels"));
        h = mix_json(h, json_object_get(json_object_get(o, "spec"), "unschedulable"));
        h = mix_json(h, json_object_get(json_object_get(o, "spec"), "taints"));
    }
    return h;
}

void model_hold(struct model *m, bool (*avoid)(void *ctx, const char *uuid), void *ctx)
{
    for (size_t g = 0; g < m->n_gpus; g++) {
        bool held = m->info[g].admin_held || (avoid && avoid(ctx, m->info[g].uuid));
        if (held == m->gpus[g].held_back)
            continue;
        m->gpus[g].held_back = held;
        placement_gpu_changed(&m->cluster, g, NULL);
    }
}
