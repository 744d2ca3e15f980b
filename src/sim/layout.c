/*
 * Laying an embedded cluster out from a description (see layout.h).
 */
#include "sim/layout.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "api/gpunode.h"
#include "api/gpuslice.h"
#include "device/emulated.h"
#include "util/alloc.h"
#include "util/jdoc.h"

/* The first of n entries (each stride bytes, its node index at node_at)
 * whose node is node or later: the arrays are grouped by node in file
 * order (clusterfile.h), so a search, not a scan of every GPU of the
 * cluster for each GPU of each node (quadratic: minutes for 10,000 nodes). */
static size_t first_of_node(const void *base, size_t n, size_t stride, size_t node_at,
                            size_t node)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        size_t at;
        memcpy(&at, (const char *)base + mid * stride + node_at, sizeof at);
        if (at < node)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Node's GPU at position pos in the file: *mig the MIG one (MIG on) or
 * *plain the one with MIG off; both NULL past its last. */
static void gpu_at(const struct clusterfile *cf, size_t node, size_t pos,
                   const struct placement_gpu **mig, const struct clusterfile_plain **plain)
{
    *mig = NULL;
    *plain = NULL;
    const struct placement_cluster *c = &cf->cluster;
    for (size_t g = first_of_node(c->gpus, c->n_gpus, sizeof *c->gpus,
                                  offsetof(struct placement_gpu, node), node);
         g < c->n_gpus && c->gpus[g].node == node && !*mig; g++)
        if (cf->gpu_pos[g] == pos)
            *mig = &c->gpus[g];
    for (size_t g = first_of_node(cf->plain, cf->n_plain, sizeof *cf->plain,
                                  offsetof(struct clusterfile_plain, node), node);
         g < cf->n_plain && cf->plain[g].node == node && !*mig && !*plain; g++)
        if (cf->plain[g].pos == pos)
            *plain = &cf->plain[g];
}

static size_t gpus_of(const struct clusterfile *cf, size_t node)
{
    size_t n = 0;
    for (const struct placement_gpu *m; ; n++) {
        const struct clusterfile_plain *p;
        gpu_at(cf, node, n, &m, &p);
        if (!m && !p)
            return n;
    }
}

int layout_check(const struct clusterfile *cf, size_t max_nodes, size_t name_max,
                 struct err *e)
{
    const struct placement_cluster *c = &cf->cluster;
    if (c->n_nodes == 0 || c->n_nodes > max_nodes)
        return err_set(e, -EINVAL, "%zu nodes: an embedded cluster has 1 to %zu", c->n_nodes,
                       max_nodes);
    for (size_t i = 0; i < c->n_nodes; i++) {
        const char *name = c->nodes[i].name;
        size_t n = gpus_of(cf, i);
        if (strlen(name) >= name_max)
            return err_set(e, -EINVAL, "node \"%.64s...\": a name has at most %zu characters",
                           name, name_max - 1);
        if (n == 0 || n > DEVICE_MAX_GPUS)
            return err_set(e, -EINVAL, "node %s has %zu GPUs: an emulated node has 1 to %d",
                           name, n, DEVICE_MAX_GPUS);
    }
    return 0;
}

/* GPU pos of node as an emulated-spec item, into buf[size]: snprintf's. */
static int model_item(const struct clusterfile *cf, size_t node, size_t pos, char *buf,
                      size_t size)
{
    const struct placement_gpu *m;
    const struct clusterfile_plain *p;
    gpu_at(cf, node, pos, &m, &p);
    if (m)
        return snprintf(buf, size, "model=%s,", m->occ.model->name);
    if (p->catalogued)
        return snprintf(buf, size, "model=%s,mig=off,", p->model);
    if (p->memory_mib)
        return snprintf(buf, size, "other=%s,memory-mib=%u,", p->model, p->memory_mib);
    return snprintf(buf, size, "other=%s,", p->model);
}

int layout_models(const struct clusterfile *cf, size_t node, char *buf, size_t size,
                  struct err *e)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t k = 0, n = gpus_of(cf, node); k < n; k++) {
        int w = model_item(cf, node, k, buf + used, size - used);
        if (w < 0 || (size_t)w >= size - used)
            return err_set(e, -E2BIG, "node %s: its GPUs' device spec is too long",
                           cf->cluster.nodes[node].name);
        used += (size_t)w;
    }
    return 0;
}

char *layout_labels(const struct placement_cluster *c, size_t node)
{
    const struct placement_node *n = &c->nodes[node];
    if (n->n_labels == 0)
        return NULL;
    size_t len = 1;
    for (size_t i = 0; i < n->n_labels; i++)
        len += strlen(n->labels[i].key) + strlen(n->labels[i].value) + 2;
    char *out = alloc_malloc(len);
    size_t used = 0;
    for (size_t i = 0; i < n->n_labels; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%s=%s", i ? "," : "",
                                 n->labels[i].key, n->labels[i].value);
    return out;
}

int layout_add_slices(const struct clusterfile *cf, size_t node, struct device *d,
                      struct err *e)
{
    for (size_t k = 0, n = gpus_of(cf, node); k < n; k++) {
        const struct placement_gpu *g;
        const struct clusterfile_plain *p;
        gpu_at(cf, node, k, &g, &p);
        if (!g)
            continue;
        for (unsigned s = 0; s < g->occ.n_slices; s++) {
            const struct occupied_slice *os = &g->occ.slices[s];
            struct device_slice_ref ref = {.gpu_index = (unsigned)k,
                                           .profile = g->occ.model->profiles[os->profile].name,
                                           .start = os->start};
            int rc = emulated_add_slice(d, &ref, NULL, e);
            if (rc < 0)
                return err_prefix(e, rc, "node %s: ", cf->cluster.nodes[node].name);
        }
    }
    return 0;
}

/* spec.gpus[] item for a GPU with MIG off (uuid given): its mode always. */
static json_t *plain_settings(const struct clusterfile_plain *p, const char *uuid)
{
    json_t *item = json_object();
    jdoc_set(item, "uuid", json_string(uuid));
    jdoc_set(item, "mode", json_string(gpunode_mode_name(p->mode)));
    if (p->mode == GPUNODE_MODE_TIMESLICE)
        jdoc_set(item, "replicas", json_integer(p->replicas));
    if (p->held_back)
        jdoc_set(item, "heldBack", json_true());
    return item;
}

/* spec.gpus[] item for GPU g (uuid given), or NULL when it has no setting. */
static json_t *gpu_settings(const struct placement_gpu *g, const char *uuid)
{
    if (!g->held_back && g->allowed == PLACEMENT_ALL_PROFILES && !g->fixed)
        return NULL;
    json_t *item = json_object();
    jdoc_set(item, "uuid", json_string(uuid));
    if (g->fixed)
        jdoc_set(item, "mode", json_string(gpunode_mode_name(GPUNODE_MODE_MIG_STATIC)));
    if (g->held_back)
        jdoc_set(item, "heldBack", json_true());
    if (g->allowed != PLACEMENT_ALL_PROFILES) {
        json_t *allowed = json_array();
        for (unsigned p = 0; p < g->occ.model->n_profiles; p++)
            if (g->allowed & (1u << p))
                jdoc_append(allowed, json_string(g->occ.model->profiles[p].name));
        jdoc_set(item, "allowedProfiles", allowed);
    }
    return item;
}

int layout_gpunode(const struct clusterfile *cf, size_t node, struct device *d,
                   json_t **out, struct err *e)
{
    const struct placement_cluster *c = &cf->cluster;
    *out = NULL;
    struct device_inventory *inv = alloc_malloc(sizeof *inv);
    int rc = device_discover(d, inv, NULL, e);
    json_t *gpus = json_array();
    for (unsigned k = 0; rc == 0 && k < inv->n_gpus; k++) {
        const struct placement_gpu *g;
        const struct clusterfile_plain *p;
        gpu_at(cf, node, k, &g, &p);
        json_t *item = g ? gpu_settings(g, inv->gpus[k].uuid)
                     : p ? plain_settings(p, inv->gpus[k].uuid) : NULL;
        if (item)
            jdoc_append(gpus, item);
    }
    free(inv);
    const char *name = c->nodes[node].name;
    if (rc == 0 && json_array_size(gpus) > 0)
        *out = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:O}}", "apiVersion",
                         GPUSLICE_API_VERSION, "kind", GPUNODE_KIND, "metadata", "name", name,
                         "labels", AGENT_LABEL_NODE, name, "spec", "gpus", gpus);
    json_decref(gpus);
    return rc < 0 ? err_prefix(e, rc, "node %s: ", name) : 0;
}
