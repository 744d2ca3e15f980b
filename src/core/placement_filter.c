/*
 * The placement filters (see placement_filter.h). Cheap checks first: the
 * model filter and the admin settings are per GPU and cost a few compares,
 * the selector compares strings, and the caller's filter may cost anything.
 */
#include "core/placement_filter.h"

#include <string.h>

bool placement_filter_model(const struct placement_request *r, const struct gpu_model *m)
{
    if (!r->models)
        return true;
    for (size_t i = 0; i < r->n_models; i++)
        if (r->models[i] == m)
            return true;
    return false;
}

uint16_t placement_filter_admin(const struct placement_gpu *g)
{
    if (g->held_back || g->fixed)
        return 0;
    return g->allowed & (uint16_t)((1u << g->occ.model->n_profiles) - 1u);
}

static bool has_label(const struct placement_node *n, const struct placement_label *term)
{
    for (size_t i = 0; i < n->n_labels; i++)
        if (strcmp(n->labels[i].key, term->key) == 0)
            return strcmp(n->labels[i].value, term->value) == 0;
    return false;
}

enum placement_node_verdict placement_filter_node(const struct placement_cluster *c,
                                                  const struct placement_request *r,
                                                  size_t node, char *reason,
                                                  size_t reason_size)
{
    for (size_t i = 0; i < r->n_selector; i++)
        if (!has_label(&c->nodes[node], &r->selector[i]))
            return PLACEMENT_NODE_SELECTOR;
    if (r->filter && !r->filter(r->filter_ctx, node, reason, reason_size))
        return PLACEMENT_NODE_CALLER;
    return PLACEMENT_NODE_OK;
}
