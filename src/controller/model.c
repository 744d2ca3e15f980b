/*
 * The controller's cluster model (see model.h): its inputs by hashed key,
 * the arrays core/placement decides on, and the one rule that keeps them
 * together: every change to an input updates the GPU or node it concerns,
 * unless the arrays are stale, in which case model_sync rebuilds them from
 * the inputs.
 */
#include "controller/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/gpunode.h"
#include "core/catalog.h"
#include "core/placement_share_index.h"
#include "util/alloc.h"
#include "util/hash.h"
#include "util/strcopy.h"

#define KEY_MAX 400

/* Where a uuid's GPU is in the arrays: among the MIG GPUs or the shared. */
struct gpu_slot {
    size_t at;
    bool share;
};

/* One usable GPU as its GPUNode reports it. Zero-filled before it is
 * written, so two compare with memcmp. */
struct host_gpu {
    char uuid[MODEL_UUID_MAX];
    unsigned index;
    const struct gpu_model *model; /* NULL for a shared GPU */
    enum share_mode share;   /* a shared GPU's mode, else 0 */
    unsigned memory_mib;     /* shared */
    unsigned replicas;       /* shared, timeslice */
    bool admin_held;
    uint16_t admin_allowed;
    bool mode_pending;       /* spec asks another mode than the agent applies */
    bool fixed;              /* the agent applies mig-static */
    unsigned n_layout;       /* fixed: the slices there, the admin's layout */
    uint8_t layout_profile[GPUNODE_MAX_SLICES], layout_start[GPUNODE_MAX_SLICES];
    unsigned n_unmanaged;    /* its unmanaged claims: unmanaged_key(host, k, 0..n-1) */
    uint64_t unmanaged_hash; /* of their profiles and starts */
};

struct model_host {
    char *name;                    /* owned; the arrays' placement_node.name */
    bool has_gpunode, has_node;
    size_t n_gpus;
    struct host_gpu gpus[GPUNODE_MAX_GPUS];
    /* The GPUNode they were read from, held, while it was readable: a new
     * version's GPU that is the very value read before is what it was
     * (gpunode_same_gpus), gpus[k] being its GPU status.gpus[from[k]]. */
    json_t *gpunode;
    uint8_t from[GPUNODE_MAX_GPUS];
    struct placement_label *labels; /* owned, keys and values too */
    size_t n_labels;
    long at;                       /* its index in the arrays while current, else -1 */
    size_t first_gpu;              /* its first MIG GPU's index there */
    size_t first_share;            /* its first shared GPU's index there */
};

struct model_claim {
    char gpu[MODEL_UUID_MAX];
    char profile[MODEL_PROFILE_MAX]; /* "" for a name too long to be any profile */
    unsigned start;
    enum share_mode share;           /* a share of a whole GPU, else 0 */
    unsigned gib, sm;                /* the share's */
};

static void free_labels(struct placement_label *labels, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)labels[i].key);
        free((char *)labels[i].value);
    }
    free(labels);
}

static void drop_host(void *value)
{
    struct model_host *h = value;
    free(h->name);
    json_decref(h->gpunode);
    free_labels(h->labels, h->n_labels);
}

static void free_arrays(struct model *m)
{
    placement_cluster_free(&m->cluster);
    free(m->nodes);
    free(m->gpus);
    free(m->info);
    free(m->shares);
    free(m->share_info);
    placement_share_index_free(m->share_index);
    m->share_index = NULL;
    strmap_free(&m->gpu_at);
    m->nodes = NULL;
    m->gpus = NULL;
    m->info = NULL;
    m->shares = NULL;
    m->share_info = NULL;
    m->n_nodes = m->n_gpus = m->n_shares = 0;
}

void model_init(struct model *m)
{
    memset(m, 0, sizeof *m);
    strmap_init(&m->hosts, sizeof(struct model_host), drop_host);
    strmap_init(&m->claims, sizeof(struct model_claim), NULL);
    strmap_init(&m->avoided, 0, NULL);
    strmap_init(&m->gpu_at, sizeof(struct gpu_slot), NULL);
    m->mps_overhead_mib = PLACEMENT_SHARE_MPS_OVERHEAD_MIB_DEFAULT;
    m->stale = true;
}

void model_free(struct model *m)
{
    free_arrays(m);
    strmap_free(&m->hosts);
    strmap_free(&m->claims);
    strmap_free(&m->avoided);
    m->stale = true;
}

long model_find_gpu(const struct model *m, const char *uuid)
{
    const struct gpu_slot *s = m->stale ? NULL : strmap_get(&m->gpu_at, uuid);
    return s && !s->share ? (long)s->at : -1;
}

long model_find_share(const struct model *m, const char *uuid)
{
    const struct gpu_slot *s = m->stale ? NULL : strmap_get(&m->gpu_at, uuid);
    return s && s->share ? (long)s->at : -1;
}

long model_gpu_node(const struct model *m, const char *uuid)
{
    const struct gpu_slot *s = m->stale ? NULL : strmap_get(&m->gpu_at, uuid);
    if (!s)
        return -1;
    return (long)(s->share ? m->shares[s->at].node : m->gpus[s->at].node);
}

long model_find_node(const struct model *m, const char *name)
{
    const struct model_host *h = m->stale ? NULL : strmap_get(&m->hosts, name);
    return h ? h->at : -1;
}

/* ---- one GPU's occupancy and admin state ---- */

/* Re-reads what the index keys the GPU by: held back (by the admin, by the
 * controller, or for conflicting claims) and the profiles allowed. */
static void refresh_gpu(struct model *m, size_t g)
{
    const struct model_gpu *in = &m->info[g];
    struct placement_gpu *pg = &m->gpus[g];
    bool held = in->admin_held || in->mode_pending || in->avoided || in->conflicted ||
                in->duplicate || in->bad_layout;
    if (held == pg->held_back && in->admin_allowed == pg->allowed)
        return;
    pg->held_back = held;
    pg->allowed = in->admin_allowed;
    placement_gpu_changed(&m->cluster, g, NULL); /* its occupancy came from takes: valid */
}

/* The same for a shared GPU: held back by the same causes, conflicted
 * when its claims hold more than it has or are of another kind. */
static void refresh_share(struct model *m, size_t g)
{
    struct model_gpu *in = &m->share_info[g];
    struct share_gpu *sg = &m->shares[g];
    in->conflicted = in->strangers > 0 || placement_share_over(sg);
    sg->held_back = in->admin_held || in->mode_pending || in->avoided || in->conflicted ||
                    in->duplicate;
    if (m->share_index)
        placement_share_index_update(m->share_index, m->shares, g);
}

void model_share_take(struct model *m, size_t g, unsigned gib, unsigned sm)
{
    placement_share_take(&m->shares[g], gib, sm);
    refresh_share(m, g);
}

void model_share_release(struct model *m, size_t g, unsigned gib, unsigned sm)
{
    placement_share_release(&m->shares[g], gib, sm);
    refresh_share(m, g);
}

int model_share_decide(struct model *m, const struct share_request *r,
                       enum placement_policy policy, struct share_decision *d, struct err *e)
{
    if (!m->share_index)
        return placement_share_decide(m->shares, m->n_shares, m->nodes, r, policy, d, e);
    return placement_share_decide_indexed(m->share_index, m->shares, m->n_shares, m->nodes, r,
                                          policy, d, e);
}

/* A claim's share counted on (sign > 0) or off a shared GPU: the counters
 * are sums, so the GPU's state never depends on the order of claims. */
static void count_share(struct model *m, size_t g, const struct model_claim *c, int sign)
{
    struct share_gpu *sg = &m->shares[g];
    if (c->share != sg->mode)
        m->share_info[g].strangers += sign > 0 ? 1u : -1u;
    else if (sign > 0)
        placement_share_take(sg, c->gib, c->sm);
    else
        placement_share_release(sg, c->gib, c->sm);
    refresh_share(m, g);
}

static bool take(struct model *m, size_t g, const struct model_claim *c)
{
    const struct mig_profile *p = catalog_find_profile(m->gpus[g].occ.model, c->profile);
    return p && placement_take(&m->cluster, g, p, c->start, 0, NULL) == 0;
}

/* Takes every claim on GPU g again from an empty GPU: how a conflicted GPU
 * learns whether its claims agree now. */
static void retake(struct model *m, size_t g)
{
    for (unsigned s = 0; m->gpus[g].fixed && s < 8; s++)
        if (m->gpus[g].held & (1u << s))
            placement_release(&m->cluster, g, s, NULL);
    while (!m->gpus[g].fixed && m->gpus[g].occ.n_slices > 0)
        placement_release(&m->cluster, g, m->gpus[g].occ.slices[0].start, NULL);
    m->info[g].conflicted = false;
    size_t pos = 0;
    const char *key;
    void *v;
    while (strmap_next(&m->claims, &pos, &key, &v)) {
        const struct model_claim *c = v;
        if (strcmp(c->gpu, m->info[g].uuid) == 0 && !take(m, g, c))
            m->info[g].conflicted = true;
    }
    refresh_gpu(m, g);
}

/* A claim added: taken on its GPU, if the arrays have it. A conflicted GPU
 * is retaken whole, so its state never depends on the order of claims. */
static void apply(struct model *m, const struct model_claim *c)
{
    long s = model_find_share(m, c->gpu);
    if (s >= 0) {
        count_share(m, (size_t)s, c, +1);
        return;
    }
    long g = model_find_gpu(m, c->gpu);
    if (g < 0)
        return;
    if (m->info[g].conflicted) {
        retake(m, (size_t)g);
    } else if (!take(m, (size_t)g, c)) {
        m->info[g].conflicted = true;
        refresh_gpu(m, (size_t)g);
    }
}

/* A claim removed (already gone from m->claims). On a GPU that is not
 * conflicted every claim was taken, so the slice at its start is its own. */
static void unapply(struct model *m, const struct model_claim *c)
{
    long s = model_find_share(m, c->gpu);
    if (s >= 0) {
        count_share(m, (size_t)s, c, -1);
        return;
    }
    long g = model_find_gpu(m, c->gpu);
    if (g < 0)
        return;
    if (m->info[g].conflicted)
        retake(m, (size_t)g);
    else
        placement_release(&m->cluster, (size_t)g, c->start, NULL);
}

static bool same_claim(const struct model_claim *a, const struct model_claim *b)
{
    return strcmp(a->gpu, b->gpu) == 0 && strcmp(a->profile, b->profile) == 0 &&
           a->start == b->start && a->share == b->share && a->gib == b->gib && a->sm == b->sm;
}

bool model_unclaim(struct model *m, const char *key)
{
    const struct model_claim *c = strmap_get(&m->claims, key);
    if (!c)
        return false;
    struct model_claim gone = *c;
    strmap_del(&m->claims, key);
    unapply(m, &gone);
    return true;
}

static void claim(struct model *m, const char *key, const struct model_claim *c)
{
    const struct model_claim *old = strmap_get(&m->claims, key);
    if (old && same_claim(old, c))
        return;
    model_unclaim(m, key);
    strmap_set(&m->claims, key, c);
    apply(m, c);
}

void model_claim(struct model *m, const char *key, const char *gpu_uuid, const char *profile,
                 unsigned start)
{
    struct model_claim c = {.start = start};
    strcopy_cut(c.gpu, sizeof c.gpu, gpu_uuid);
    if (strlen(profile) < sizeof c.profile)
        strcpy(c.profile, profile);
    claim(m, key, &c);
}

void model_claim_share(struct model *m, const char *key, const char *gpu_uuid,
                       enum share_mode sharing, unsigned gib, unsigned sm)
{
    struct model_claim c = {.share = sharing, .gib = gib, .sm = sm};
    strcopy_cut(c.gpu, sizeof c.gpu, gpu_uuid);
    claim(m, key, &c);
}

void model_avoid(struct model *m, const char *gpu_uuid, bool avoid)
{
    bool was = strmap_get(&m->avoided, gpu_uuid) != NULL;
    if (was == avoid)
        return;
    if (avoid)
        strmap_put(&m->avoided, gpu_uuid, NULL);
    else
        strmap_del(&m->avoided, gpu_uuid);
    long g = model_find_gpu(m, gpu_uuid), s = model_find_share(m, gpu_uuid);
    if (g >= 0) {
        m->info[g].avoided = avoid;
        refresh_gpu(m, (size_t)g);
    }
    if (s >= 0) {
        m->share_info[s].avoided = avoid;
        refresh_share(m, (size_t)s);
    }
}

/* ---- hosts: what GPUNodes and Nodes say ---- */

static struct model_host *host_get(struct model *m, const char *name)
{
    bool added = false;
    struct model_host *h = strmap_put(&m->hosts, name, &added);
    if (added) {
        h->name = alloc_strdup(name);
        h->at = -1;
    }
    return h;
}

/* Forgets a host neither object speaks of any more. */
static void host_release(struct model *m, const struct model_host *h)
{
    if (!h->has_gpunode && !h->has_node) {
        char name[KEY_MAX];
        snprintf(name, sizeof name, "%s", h->name);
        strmap_del(&m->hosts, name);
    }
}

static bool in_model(const struct model_host *h)
{
    return h->has_gpunode && h->has_node;
}

/* The catalogue model of a reported GPU, or NULL when it cannot take MIG
 * slices (not catalogued, or MIG not enabled). */
static const struct gpu_model *usable_model(const struct gpunode_gpu *g)
{
    if (strcmp(g->mig_mode, "Enabled") != 0 || !gpunode_mode_mig(gpunode_active_mode(g)))
        return NULL;
    const struct gpu_model *gm = catalog_find_model(g->model);
    if (!gm && g->product)
        gm = catalog_find_model(g->product);
    return gm;
}

/* The sharing mode of a GPU the agent shares whole (MIG not enabled), or
 * 0: a GPU in mode whole, or one still in MIG mode (the agent refuses to
 * share it until MIG is disabled), takes no share. */
static enum share_mode shared_mode(const struct gpunode_gpu *g)
{
    if (strcmp(g->mig_mode, "Enabled") == 0)
        return 0;
    enum gpunode_mode mode = gpunode_active_mode(g);
    return mode == GPUNODE_MODE_MPS ? SHARE_MPS
           : mode == GPUNODE_MODE_TIMESLICE ? SHARE_TIMESLICE : 0;
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

/* The slices of a mig-static GPU are its layout, not claims. */
static bool claims_unmanaged(const struct gpunode_gpu *g)
{
    return gpunode_active_mode(g) != GPUNODE_MODE_MIG_STATIC;
}

static uint64_t unmanaged_hash(const struct gpunode_gpu *g, unsigned *n)
{
    uint64_t h = HASH_INIT;
    *n = 0;
    for (size_t k = 0; k < g->n_slices && claims_unmanaged(g); k++) {
        if (g->slices[k].managed)
            continue;
        char start[16];
        snprintf(start, sizeof start, "%u", g->slices[k].start);
        h = hash_field(hash_field(h, g->slices[k].profile), start);
        (*n)++;
    }
    return h;
}

/* A fixed GPU's slices, as profile indexes of its model (a profile the
 * model lacks is left out: the agent reports only what the device has). */
static void read_layout(const struct gpunode_gpu *g, const struct gpu_model *gm,
                        struct host_gpu *hg)
{
    for (size_t k = 0; hg->fixed && k < g->n_slices; k++) {
        const struct mig_profile *p = catalog_find_profile(gm, g->slices[k].profile);
        if (!p)
            continue;
        hg->layout_profile[hg->n_layout] = (uint8_t)(p - gm->profiles);
        hg->layout_start[hg->n_layout++] = (uint8_t)g->slices[k].start;
    }
}

/* A reported GPU as the host keeps it, when usable (into *hg). */
static bool host_gpu_of(const struct gpunode_gpu *g, struct host_gpu *hg)
{
    const struct gpu_model *gm = usable_model(g);
    enum share_mode share = shared_mode(g);
    if (!gm && !share)
        return false;
    memset(hg, 0, sizeof *hg);
    snprintf(hg->uuid, sizeof hg->uuid, "%s", g->uuid);
    hg->index = g->index;
    hg->admin_held = g->held_back;
    hg->mode_pending = g->mode != gpunode_active_mode(g);
    if (share) {
        hg->share = share;
        hg->memory_mib = g->memory_mib;
        hg->replicas = g->replicas;
        return true;
    }
    hg->model = gm;
    hg->admin_allowed = allowed_mask(g, gm);
    hg->fixed = !claims_unmanaged(g);
    read_layout(g, gm, hg);
    hg->unmanaged_hash = unmanaged_hash(g, &hg->n_unmanaged);
    return true;
}

/* Where status.gpus[i] is among the host's GPUs, -1: not usable. */
static long kept_at(const struct model_host *h, size_t i)
{
    for (size_t k = 0; k < h->n_gpus; k++)
        if (h->from[k] == i)
            return (long)k;
    return -1;
}

/* The usable GPUs of a GPUNode (*n of them into fresh, from[k] the place
 * in status.gpus of fresh[k]), each read again only when it is not the
 * very value the host read (a status write changes one GPU of a node's
 * eight). v has the GPUs read (bit i of *read: v->gpus[i]). */
static int read_host(const struct model_host *h, const json_t *gpunode, struct gpunode_view *v,
                     uint32_t *read, struct host_gpu *fresh, uint8_t *from, size_t *n,
                     struct err *e)
{
    int rc = gpunode_read_head(gpunode, v, e);
    uint32_t same = rc == 0 ? gpunode_same_gpus(gpunode, h->gpunode) : 0;
    *read = 0;
    *n = 0;
    for (size_t i = 0; rc == 0 && i < v->n_gpus; i++) {
        if (same & (1u << i)) {
            long k = kept_at(h, i);
            if (k >= 0) {
                fresh[*n] = h->gpus[k];
                from[(*n)++] = (uint8_t)i;
            }
            continue;
        }
        rc = gpunode_read_gpu(gpunode, i, &v->gpus[i], e);
        *read |= 1u << i;
        if (rc == 0 && host_gpu_of(&v->gpus[i], &fresh[*n]))
            from[(*n)++] = (uint8_t)i;
    }
    return rc;
}

/* Whether the GPUs are the same devices in the same places, with the same
 * mode and layout (what the arrays are built from); settings and unmanaged
 * slices aside. */
static bool same_devices(const struct host_gpu *a, size_t na, const struct host_gpu *b,
                         size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i].uuid, b[i].uuid) != 0 || a[i].index != b[i].index ||
            a[i].model != b[i].model || a[i].fixed != b[i].fixed ||
            a[i].share != b[i].share || a[i].memory_mib != b[i].memory_mib ||
            a[i].replicas != b[i].replicas ||
            a[i].n_layout != b[i].n_layout ||
            memcmp(a[i].layout_profile, b[i].layout_profile, sizeof a[i].layout_profile) ||
            memcmp(a[i].layout_start, b[i].layout_start, sizeof a[i].layout_start))
            return false;
    return true;
}

/* The claim key of the j-th unmanaged slice on the host's k-th GPU: "!"
 * cannot start a namespace, so it never meets a GPUSlice's "ns/name". */
static void unmanaged_key(const struct model_host *h, size_t k, size_t j, char out[KEY_MAX])
{
    snprintf(out, KEY_MAX, "!%s#%zu#%zu", h->name, k, j);
}

static void unclaim_unmanaged(struct model *m, const struct model_host *h, size_t k)
{
    for (size_t j = 0; j < h->gpus[k].n_unmanaged; j++) {
        char key[KEY_MAX];
        unmanaged_key(h, k, j, key);
        model_unclaim(m, key);
    }
}

/* The unmanaged slices of the host's k-th GPU, g its report, as claims
 * (a mig-static GPU's slices are its layout, a shared GPU has none). */
static void claim_unmanaged(struct model *m, const struct model_host *h, size_t k,
                            const struct gpunode_gpu *g)
{
    if (!h->gpus[k].model || h->gpus[k].fixed)
        return;
    size_t j = 0;
    for (size_t s = 0; s < g->n_slices; s++) {
        if (g->slices[s].managed)
            continue;
        char key[KEY_MAX];
        unmanaged_key(h, k, j++, key);
        model_claim(m, key, g->uuid, g->slices[s].profile, g->slices[s].start);
    }
}

/* Whether the host's k-th GPU is fresh[k] already (its claims with it:
 * they are the GPU's unmanaged slices, counted and hashed there). */
static bool gpu_kept(const struct model_host *h, size_t k, const struct host_gpu *fresh,
                     size_t n)
{
    return k < n && k < h->n_gpus && memcmp(&h->gpus[k], &fresh[k], sizeof *fresh) == 0;
}

/* The host's GPUs' admin settings into the arrays (same devices there). */
static void refresh_settings(struct model *m, const struct model_host *h)
{
    size_t g = h->first_gpu, s = h->first_share;
    for (size_t k = 0; k < h->n_gpus; k++) {
        struct model_gpu *in = h->gpus[k].share ? &m->share_info[s] : &m->info[g];
        in->admin_held = h->gpus[k].admin_held;
        in->admin_allowed = h->gpus[k].admin_allowed;
        in->mode_pending = h->gpus[k].mode_pending;
        if (h->gpus[k].share)
            refresh_share(m, s++);
        else
            refresh_gpu(m, g++);
    }
}

/* The GPUNode the host's GPUs were read from (NULL: none readable). */
static void host_read_from(struct model_host *h, const json_t *gpunode)
{
    json_decref(h->gpunode);
    h->gpunode = json_incref((json_t *)gpunode);
}

bool model_set_gpunode(struct model *m, const char *name, const json_t *gpunode, struct err *e)
{
    struct gpunode_view v;
    struct host_gpu fresh[GPUNODE_MAX_GPUS];
    uint8_t from[GPUNODE_MAX_GPUS];
    uint32_t read = 0;
    size_t n = 0;
    struct model_host *h = host_get(m, name);
    bool readable = gpunode && read_host(h, gpunode, &v, &read, fresh, from, &n, e) == 0;
    if (!readable)
        n = 0;
    host_read_from(h, readable ? gpunode : NULL);
    memcpy(h->from, from, n * sizeof *from);
    if (readable == h->has_gpunode && n == h->n_gpus &&
        memcmp(fresh, h->gpus, n * sizeof *fresh) == 0) {
        host_release(m, h);
        return false;
    }
    bool was_in = in_model(h);
    bool moved = !same_devices(fresh, n, h->gpus, h->n_gpus);
    for (size_t k = 0; k < h->n_gpus; k++)
        if (!gpu_kept(h, k, fresh, n))
            unclaim_unmanaged(m, h, k);
    bool kept[GPUNODE_MAX_GPUS];
    for (size_t k = 0; k < n; k++)
        kept[k] = gpu_kept(h, k, fresh, n);
    h->has_gpunode = readable;
    h->n_gpus = n;
    memcpy(h->gpus, fresh, n * sizeof *fresh);
    if (was_in != in_model(h) || (was_in && moved))
        m->stale = true;
    else if (was_in && !m->stale)
        refresh_settings(m, h);
    for (size_t k = 0; k < n; k++) {
        size_t i = from[k];
        /* a GPU not read again whose place among the host's changed */
        if (!kept[k] && !(read & (1u << i)))
            gpunode_read_gpu(gpunode, i, &v.gpus[i], NULL);
        if (!kept[k])
            claim_unmanaged(m, h, k, &v.gpus[i]);
    }
    host_release(m, h);
    return true;
}

/* The node's labels (string values only), owned by the caller. */
static size_t read_labels(const json_t *node, struct placement_label **out)
{
    const json_t *labels = json_object_get(json_object_get(node, "metadata"), "labels");
    size_t n = 0;
    *out = alloc_calloc(json_object_size(labels) + 1, sizeof **out);
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)labels, key, v) {
        if (!json_is_string(v))
            continue;
        (*out)[n].key = alloc_strdup(key);
        (*out)[n].value = alloc_strdup(json_string_value(v));
        n++;
    }
    return n;
}

static bool same_labels(const struct placement_label *a, size_t na,
                        const struct placement_label *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i].key, b[i].key) != 0 || strcmp(a[i].value, b[i].value) != 0)
            return false;
    return true;
}

bool model_set_node(struct model *m, const char *name, const json_t *node)
{
    struct placement_label *labels = NULL;
    size_t n = node ? read_labels(node, &labels) : 0;
    struct model_host *h = host_get(m, name);
    if ((node != NULL) == h->has_node && same_labels(labels, n, h->labels, h->n_labels)) {
        free_labels(labels, n);
        host_release(m, h);
        return false;
    }
    bool was_in = in_model(h);
    free_labels(h->labels, h->n_labels);
    h->labels = labels;
    h->n_labels = n;
    h->has_node = node != NULL;
    if (was_in != in_model(h)) {
        m->stale = true;
    } else if (was_in && !m->stale) {
        m->nodes[h->at].labels = h->labels;
        m->nodes[h->at].n_labels = h->n_labels;
    }
    host_release(m, h);
    return true;
}

/* ---- rebuilding the arrays ---- */

static int by_name(const void *a, const void *b)
{
    return strcmp((*(struct model_host *const *)a)->name, (*(struct model_host *const *)b)->name);
}

/* The hosts in the model, sorted by name (the placement's node order). */
static struct model_host **sorted_hosts(struct model *m, size_t *n, size_t *n_gpus,
                                        size_t *n_shares)
{
    struct model_host **in = alloc_calloc(strmap_size(&m->hosts) + 1, sizeof *in);
    size_t pos = 0;
    const char *key;
    void *v;
    *n = *n_gpus = *n_shares = 0;
    while (strmap_next(&m->hosts, &pos, &key, &v)) {
        struct model_host *h = v;
        h->at = -1;
        if (!in_model(h))
            continue;
        in[(*n)++] = h;
        for (size_t k = 0; k < h->n_gpus; k++)
            *(h->gpus[k].share ? n_shares : n_gpus) += 1;
    }
    qsort(in, *n, sizeof *in, by_name);
    return in;
}

/* What the model knows of a GPU, whichever array it goes to; slot is
 * where that array will have it. */
static void lay_out_info(struct model *m, const struct host_gpu *hg, struct gpu_slot slot,
                         struct model_gpu *in)
{
    snprintf(in->uuid, sizeof in->uuid, "%s", hg->uuid);
    in->index = hg->index;
    in->admin_held = hg->admin_held;
    in->admin_allowed = hg->admin_allowed;
    in->mode_pending = hg->mode_pending;
    bool added = false;
    struct gpu_slot *at = strmap_put(&m->gpu_at, hg->uuid, &added);
    if (added)
        *at = slot;
    in->duplicate = !added;
    in->avoided = added && strmap_get(&m->avoided, hg->uuid) != NULL;
}

/* A shared GPU's place in the arrays, empty: its claims are counted
 * after. */
static void lay_out_share(struct model *m, const struct host_gpu *hg, size_t node)
{
    size_t s = m->n_shares++;
    struct share_gpu *sg = &m->shares[s];
    struct model_gpu *in = &m->share_info[s];
    lay_out_info(m, hg, (struct gpu_slot){s, true}, in);
    *sg = (struct share_gpu){.node = node, .mode = hg->share};
    if (hg->share == SHARE_MPS) {
        sg->capacity_gib = placement_share_capacity_gib(hg->memory_mib, m->mps_overhead_mib);
        sg->slots = PLACEMENT_SHARE_MPS_CLIENTS_MAX;
    } else {
        sg->slots = hg->replicas;
    }
    refresh_share(m, s);
}

static void lay_out(struct model *m, struct model_host *h, size_t at)
{
    h->at = (long)at;
    h->first_gpu = m->n_gpus;
    h->first_share = m->n_shares;
    m->nodes[at] = (struct placement_node){h->name, h->labels, h->n_labels};
    for (size_t k = 0; k < h->n_gpus; k++) {
        const struct host_gpu *hg = &h->gpus[k];
        if (hg->share) {
            lay_out_share(m, hg, at);
            continue;
        }
        struct model_gpu *in = &m->info[m->n_gpus];
        struct placement_gpu *pg = &m->gpus[m->n_gpus];
        lay_out_info(m, hg, (struct gpu_slot){m->n_gpus, false}, in);
        occupancy_init(&pg->occ, hg->model);
        pg->node = at;
        pg->allowed = in->admin_allowed;
        pg->fixed = hg->fixed;
        /* A layout the rules refuse (an inconsistent report) holds the GPU
         * back until a consistent one comes. */
        for (unsigned j = 0; j < hg->n_layout; j++)
            in->bad_layout |= occupancy_take(&pg->occ, &hg->model->profiles[hg->layout_profile[j]],
                                             hg->layout_start[j], 0, NULL) < 0;
        pg->held_back = in->admin_held || in->mode_pending || in->avoided || in->duplicate ||
                        in->bad_layout;
        m->n_gpus++;
    }
}

int model_sync(struct model *m, struct err *e)
{
    if (!m->stale)
        return 0;
    free_arrays(m);
    size_t n, n_gpus, n_shares;
    struct model_host **hosts = sorted_hosts(m, &n, &n_gpus, &n_shares);
    m->nodes = alloc_calloc(n + 1, sizeof *m->nodes);
    m->gpus = alloc_calloc(n_gpus + 1, sizeof *m->gpus);
    m->info = alloc_calloc(n_gpus + 1, sizeof *m->info);
    m->shares = alloc_calloc(n_shares + 1, sizeof *m->shares);
    m->share_info = alloc_calloc(n_shares + 1, sizeof *m->share_info);
    m->n_nodes = n;
    for (size_t i = 0; i < n; i++)
        lay_out(m, hosts[i], i);
    free(hosts);
    int rc = placement_cluster_init(&m->cluster, m->nodes, m->n_nodes, m->gpus, m->n_gpus, e);
    if (rc < 0) {
        free_arrays(m);
        return err_prefix(e, rc, "controller: the cluster model: ");
    }
    m->stale = false;
    size_t pos = 0;
    const char *key;
    void *v;
    while (strmap_next(&m->claims, &pos, &key, &v))
        apply(m, v);
    /* Built on the counted claims: one insert per GPU. Past its bound
     * (a GPU of more GiB than any made), decisions scan. */
    placement_share_index_build(m->shares, m->n_shares, &m->share_index, NULL);
    return 0;
}
