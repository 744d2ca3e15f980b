/*
 * The slice log (see slicelog.h): a vector of records, a map from each
 * node's name to its GPUs in the cluster's flat array, and a map from each
 * live GPUSlice ("ns/name") to its open record.
 */
#include "sim/slicelog.h"

#include <stdlib.h>

#include "util/alloc.h"
#include "util/objkey.h"
#include "util/strmap.h"
#include "util/vec.h"

struct node_gpus {
    size_t first, count; /* the node's GPUs in the cluster's array */
};

struct slicelog {
    const struct placement_cluster *cluster;
    struct strmap nodes;  /* name -> struct node_gpus */
    struct strmap open;   /* "ns/name" -> size_t, the record's index */
    struct outcome_slice *records;
    size_t n, cap;
};

struct slicelog *slicelog_new(const struct placement_cluster *c)
{
    struct slicelog *l = alloc_calloc(1, sizeof *l);
    l->cluster = c;
    strmap_init(&l->nodes, sizeof(struct node_gpus), NULL);
    strmap_init(&l->open, sizeof(size_t), NULL);
    for (size_t g = 0; g < c->n_gpus; g++) {
        bool added = false;
        struct node_gpus *ng = strmap_put(&l->nodes, c->nodes[c->gpus[g].node].name, &added);
        if (added)
            ng->first = g;
        ng->count++;
    }
    return l;
}

/* The GPU of the cluster the slice is on, or SIZE_MAX. */
static size_t gpu_of(const struct slicelog *l, const struct gpuslice_spec *spec)
{
    const struct node_gpus *ng = spec->node ? strmap_get(&l->nodes, spec->node) : NULL;
    return ng && spec->gpu_index < ng->count ? ng->first + spec->gpu_index : SIZE_MAX;
}

void slicelog_added(struct slicelog *l, const struct gpuslice_view *v, int64_t t_ns)
{
    size_t gpu = gpu_of(l, &v->spec);
    if (gpu == SIZE_MAX || !v->spec.profile)
        return;
    const struct gpu_model *m = l->cluster->gpus[gpu].occ.model;
    const struct mig_profile *p = catalog_find_profile(m, v->spec.profile);
    if (!p)
        return;
    char key[GPUSLICE_NAME_MAX + 72];
    objkey_join(key, sizeof key, v->ns, v->name);
    bool added = false;
    size_t *at = strmap_put(&l->open, key, &added);
    if (!added)
        return; /* seen already: the first decision stands */
    VEC_RESERVE(l->records, l->cap, l->n + 1);
    *at = l->n;
    l->records[l->n++] = (struct outcome_slice){
        .from_ns = t_ns, .to_ns = -1, .gpu = (uint32_t)gpu, .start = (uint8_t)v->spec.start,
        .size = (uint8_t)v->spec.size, .profile = (uint8_t)(p - m->profiles)};
}

void slicelog_gone(struct slicelog *l, const struct gpuslice_view *v, int64_t t_ns)
{
    char key[GPUSLICE_NAME_MAX + 72];
    objkey_join(key, sizeof key, v->ns, v->name);
    const size_t *at = strmap_get(&l->open, key);
    if (!at)
        return;
    l->records[*at].to_ns = t_ns;
    strmap_del(&l->open, key);
}

void slicelog_finish(struct slicelog *l, int64_t end_ns, struct outcome *out)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->records[i].to_ns < 0)
            l->records[i].to_ns = end_ns;
    free(out->slices);
    out->slices = l->records;
    out->n_slices = l->n;
    l->records = NULL;
    l->n = l->cap = 0;
    strmap_free(&l->open);
}

void slicelog_free(struct slicelog *l)
{
    if (!l)
        return;
    strmap_free(&l->nodes);
    strmap_free(&l->open);
    free(l->records);
    free(l);
}
