/*
 * Decoding of cluster files and command-line slice requests (clusterfile.h).
 *
 * The YAML is first converted whole (util/yaml), then walked with a small
 * schema per mapping (field names, JSON types, which are required), so that
 * every check reports the position util/yaml kept for the value at fault.
 * Counting GPUs and labels to size the arrays is tolerant; the decoding pass
 * that follows is the strict one.
 */
#include "sim/clusterfile.h"
#include "api/gpunode.h"
#include "api/meta.h"
#include "api/pod_slices.h"
#include "util/alloc.h"
#include "util/schema.h"
#include "util/strpool.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

struct decoder {
    struct schema s;
    struct clusterfile *cf;
    json_t *node_names; /* name -> index, to refuse duplicates */
    size_t n_labels;
};

static void profile_names(const struct gpu_model *m, char *buf, size_t size)
{
    size_t used = 0;
    for (size_t i = 0; i < m->n_profiles; i++)
        schema_list_append(buf, size, &used, m->profiles[i].name);
}

void clusterfile_model_names(char *buf, size_t size)
{
    size_t used = 0;
    for (size_t i = 0; i < catalog_model_count(); i++)
        schema_list_append(buf, size, &used, catalog_model(i)->name);
}

/* m's profile named v, or NULL with why[size] saying what is wrong. */
static const struct mig_profile *find_profile(const struct gpu_model *m, const json_t *v,
                                              char *why, size_t size)
{
    const struct mig_profile *p = catalog_find_profile(m, json_string_value(v));
    if (p)
        return p;
    if (!json_is_string(v)) {
        snprintf(why, size, "a profile must be a string, not %s", schema_type_name(v));
        return NULL;
    }
    char known[256];
    profile_names(m, known, sizeof known);
    snprintf(why, size, "%s has no profile \"%s\" (its profiles: %s)", m->name,
             json_string_value(v), known);
    return NULL;
}

static int decode_allowed(struct decoder *dc, struct placement_gpu *g, const json_t *list)
{
    if (!list)
        return 0;
    g->allowed = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        char why[ERR_MSG_MAX];
        const struct mig_profile *p = find_profile(g->occ.model, json_array_get(list, i), why,
                                                   sizeof why);
        if (!p)
            return schema_fail_item(&dc->s, list, i, "%s", why);
        g->allowed |= (uint16_t)(1u << catalog_profile_index(g->occ.model, p, NULL));
    }
    return 0;
}

static int decode_slice(struct decoder *dc, struct placement_gpu *g, const json_t *slices,
                        size_t i)
{
    static const struct schema_field fields[] = {
        {"profile", JSON_STRING, true},
        {"start", JSON_INTEGER, true},
    };
    json_t *s;
    int rc = schema_mapping_item(&dc->s, slices, i, "a slice", &s);
    if (rc < 0 || (rc = schema_check(&dc->s, s, "a slice", fields, COUNT_OF(fields))) < 0)
        return rc;
    char why[ERR_MSG_MAX];
    const struct mig_profile *p = find_profile(g->occ.model, json_object_get(s, "profile"), why,
                                               sizeof why);
    if (!p)
        return schema_fail_member(&dc->s, s, "profile", false, "%s", why);
    json_int_t start = json_integer_value(json_object_get(s, "start"));
    if (start < 0 || start >= g->occ.model->memory_slices)
        return schema_fail_member(&dc->s, s, "start", false,
                                  "start %lld is not a memory slice of %s (0-%u)", (long long)start,
                                  g->occ.model->name, g->occ.model->memory_slices - 1u);
    struct err taken;
    if (occupancy_take(&g->occ, p, (unsigned)start, 0, &taken) < 0)
        return schema_fail_item(&dc->s, slices, i, "%s", taken.msg);
    return 0;
}

/* mode: mig (the default) or mig-static, whose slices are the admin's
 * layout, handed out rather than made; or mps, timeslice, whole: the GPU
 * with MIG off, shared whole or not at all. */
static int decode_mode(struct decoder *dc, const json_t *obj, enum gpunode_mode *mode)
{
    const char *name = json_string_value(json_object_get(obj, "mode"));
    *mode = GPUNODE_MODE_MIG;
    if (name && gpunode_mode_parse(name, mode) < 0)
        return schema_fail_member(&dc->s, obj, "mode", false,
                                  "unknown mode \"%s\" (known: mig, mig-static, mps, timeslice, "
                                  "whole)", name);
    return 0;
}

/* Refuses the first of fields[n] that obj has: it belongs to GPUs in the
 * modes named for, not this one. */
static int refuse_fields(struct decoder *dc, const json_t *obj, const char *const *fields,
                         size_t n, const char *for_modes, enum gpunode_mode mode)
{
    for (size_t i = 0; i < n; i++)
        if (json_object_get(obj, fields[i]))
            return schema_fail_member(&dc->s, obj, fields[i], true, "%s is for a GPU in mode "
                                      "%s, not %s", fields[i], for_modes,
                                      gpunode_mode_name(mode));
    return 0;
}

/* A GPU with MIG off, in mode mps or timeslice (the shares array) or whole
 * (no array: gpuslice places nothing there): any product, its memory the
 * catalogue's or memoryMiB. */
static int decode_shared(struct decoder *dc, size_t node, size_t pos, const json_t *obj,
                         enum gpunode_mode mode)
{
    static const char *const mig_only[] = {"allowedProfiles", "slices"};
    int rc = refuse_fields(dc, obj, mig_only, COUNT_OF(mig_only), "mig or mig-static", mode);
    if (rc < 0)
        return rc;
    const json_t *replicas = json_object_get(obj, "replicas");
    json_int_t n = replicas ? json_integer_value(replicas) : GPUNODE_TIMESLICE_REPLICAS_DEFAULT;
    if (replicas && (mode != GPUNODE_MODE_TIMESLICE || n < 1 || n > GPUNODE_CLIENTS_MAX))
        return schema_fail_member(&dc->s, obj, "replicas", false, "replicas is for a GPU in "
                                  "mode timeslice, 1 to %d", GPUNODE_CLIENTS_MAX);
    const char *name = json_string_value(json_object_get(obj, "model"));
    const struct gpu_model *m = catalog_find_model(name);
    const json_t *mib = json_object_get(obj, "memoryMiB");
    json_int_t memory = mib ? json_integer_value(mib) : m ? (json_int_t)m->memory_mib : 0;
    if (mode == GPUNODE_MODE_MPS && (memory < 1024 || memory > (1 << 30)))
        return schema_fail_member(&dc->s, obj, mib ? "memoryMiB" : "model", false,
                                  mib ? "memoryMiB must be 1024 to %d" : "an mps GPU of a model "
                                  "the catalogue lacks needs memoryMiB (as nvidia-smi shows it)",
                                  1 << 30);
    struct clusterfile *cf = dc->cf;
    cf->plain[cf->n_plain++] = (struct clusterfile_plain){
        .node = node, .pos = pos, .model = m ? m->name : name, .catalogued = m != NULL,
        .memory_mib = mib ? (unsigned)memory : 0, .mode = mode, .replicas = (unsigned)n,
        .held_back = json_is_true(json_object_get(obj, "heldBack"))};
    if (mode == GPUNODE_MODE_WHOLE) {
        cf->n_whole++;
        return 0;
    }
    struct share_gpu *g = &cf->shares[cf->n_shares];
    *g = (struct share_gpu){.node = node, .held_back = json_is_true(json_object_get(obj, "heldBack"))};
    if (mode == GPUNODE_MODE_MPS) {
        g->mode = SHARE_MPS;
        g->slots = PLACEMENT_SHARE_MPS_CLIENTS_MAX;
        g->capacity_gib = placement_share_capacity_gib((unsigned)memory,
                                                       PLACEMENT_SHARE_MPS_OVERHEAD_MIB_DEFAULT);
    } else {
        g->mode = SHARE_TIMESLICE;
        g->slots = (unsigned)n;
    }
    cf->share_model[cf->n_shares] = m ? m->name : name;
    cf->share_pos[cf->n_shares++] = pos;
    return 0;
}

static int decode_gpu(struct decoder *dc, size_t node, const json_t *gpus, size_t i)
{
    static const struct schema_field fields[] = {
        {"model", JSON_STRING, true},
        {"heldBack", JSON_TRUE, false},
        {"allowedProfiles", JSON_ARRAY, false},
        {"mode", JSON_STRING, false},
        {"slices", JSON_ARRAY, false},
        {"memoryMiB", JSON_INTEGER, false},
        {"replicas", JSON_INTEGER, false},
    };
    json_t *obj;
    enum gpunode_mode mode;
    int rc = schema_mapping_item(&dc->s, gpus, i, "a GPU", &obj);
    if (rc < 0 || (rc = schema_check(&dc->s, obj, "a GPU", fields, COUNT_OF(fields))) < 0 ||
        (rc = decode_mode(dc, obj, &mode)) < 0)
        return rc;
    if (!gpunode_mode_mig(mode))
        return decode_shared(dc, node, i, obj, mode);
    static const char *const shared_only[] = {"memoryMiB", "replicas"};
    if ((rc = refuse_fields(dc, obj, shared_only, COUNT_OF(shared_only), "mps or timeslice",
                            mode)) < 0)
        return rc;
    const char *name = json_string_value(json_object_get(obj, "model"));
    const struct gpu_model *m = catalog_find_model(name);
    if (!m) {
        char known[256];
        clusterfile_model_names(known, sizeof known);
        return schema_fail_member(&dc->s, obj, "model", false,
                                  "unknown GPU model \"%s\" (known: %s)", name, known);
    }
    dc->cf->gpu_pos[dc->cf->n_gpus] = i;
    struct placement_gpu *g = &dc->cf->gpus[dc->cf->n_gpus++];
    occupancy_init(&g->occ, m);
    g->node = node;
    g->allowed = PLACEMENT_ALL_PROFILES;
    g->held_back = json_is_true(json_object_get(obj, "heldBack"));
    g->fixed = mode == GPUNODE_MODE_MIG_STATIC;
    if ((rc = decode_allowed(dc, g, json_object_get(obj, "allowedProfiles"))) < 0)
        return rc;
    const json_t *slices = json_object_get(obj, "slices");
    for (size_t j = 0; j < json_array_size(slices) && rc == 0; j++)
        rc = decode_slice(dc, g, slices, j);
    return rc;
}

static int decode_labels(struct decoder *dc, struct placement_node *n, const json_t *labels)
{
    const char *key;
    json_t *v;
    n->labels = &dc->cf->labels[dc->n_labels];
    json_object_foreach((json_t *)labels, key, v) {
        if (key[0] == '\0')
            return schema_fail_member(&dc->s, labels, key, true, "a label key must not be empty");
        if (!json_is_string(v))
            return schema_fail_member(&dc->s, labels, key, false,
                                      "label \"%s\" must be a string, not %s (quote it)", key,
                                      schema_type_name(v));
        dc->cf->labels[dc->n_labels++] = (struct placement_label){key, json_string_value(v)};
        n->n_labels++;
    }
    return 0;
}

/* The name becomes a Kubernetes Node's, so it must be a valid one. An
 * over-long name is not quoted: the message would be all name. */
static int check_node_name(struct decoder *dc, const json_t *obj, const char *name)
{
    struct err why;
    size_t len = strlen(name);
    if (len == 0)
        return schema_fail_member(&dc->s, obj, "name", false, "a node name must not be empty");
    if (len > META_SUBDOMAIN_MAX)
        return schema_fail_member(&dc->s, obj, "name", false,
                                  "a node name must be a DNS-1123 subdomain "
                                  "of at most %d characters, not %zu", META_SUBDOMAIN_MAX, len);
    if (meta_check_subdomain(name, "name", &why) < 0)
        return schema_fail_member(&dc->s, obj, "name", false, "%s", why.msg);
    return 0;
}

/* How many nodes a node entry stands for: its `count`, 1 without one. */
static size_t entry_count(const json_t *entry)
{
    const json_t *c = json_object_get(entry, "count");
    json_int_t n = json_is_integer(c) ? json_integer_value(c) : 1;
    return n >= 1 && n <= CLUSTERFILE_COUNT_MAX ? (size_t)n : 1;
}

static int check_count(struct decoder *dc, const json_t *obj)
{
    const json_t *c = json_object_get(obj, "count");
    if (c && (json_integer_value(c) < 1 || json_integer_value(c) > CLUSTERFILE_COUNT_MAX))
        return schema_fail_member(&dc->s, obj, "count", false,
                                  "count must be 1 to %d, not %" JSON_INTEGER_FORMAT,
                                  CLUSTERFILE_COUNT_MAX, json_integer_value(c));
    return 0;
}

/* The name of copy k of an entry that stands for count nodes: the entry's
 * own for one node, else NAME-K with K zero-padded to the digits of
 * count - 1, so the names sort in order. */
static const char *copy_name(struct decoder *dc, const char *name, size_t count, size_t k)
{
    if (count == 1)
        return name;
    int digits = snprintf(NULL, 0, "%zu", count - 1);
    char buf[META_SUBDOMAIN_MAX + 16];
    snprintf(buf, sizeof buf, "%.*s-%0*zu", META_SUBDOMAIN_MAX, name, digits, k);
    return strpool_add(&dc->cf->names, buf);
}

static int add_node(struct decoder *dc, const json_t *nodes, size_t i, const char *name)
{
    const json_t *obj = json_array_get(nodes, i);
    json_t *seen = json_object_get(dc->node_names, name);
    if (seen) {
        struct yaml_mark first = {0, 0};
        yaml_doc_where_member(dc->s.doc, json_array_get(nodes, (size_t)json_integer_value(seen)),
                              "name", NULL, &first);
        return schema_fail_member(&dc->s, obj, "name", false,
                                  "duplicate node name \"%s\" (first at %u:%u)", name,
                                  first.line, first.col);
    }
    int rc = check_node_name(dc, obj, name);
    if (rc < 0)
        return rc;
    if (json_object_set_new(dc->node_names, name, json_integer((json_int_t)i)) < 0)
        return err_set(dc->s.e, -ENOMEM, "out of memory");
    size_t index = dc->cf->n_nodes++;
    struct placement_node *n = &dc->cf->nodes[index];
    n->name = name;
    if ((rc = decode_labels(dc, n, json_object_get(obj, "labels"))) < 0)
        return rc;
    const json_t *gpus = json_object_get(obj, "gpus");
    for (size_t j = 0; j < json_array_size(gpus) && rc == 0; j++)
        rc = decode_gpu(dc, index, gpus, j);
    return rc;
}

static int decode_node(struct decoder *dc, const json_t *nodes, size_t i)
{
    static const struct schema_field fields[] = {
        {"name", JSON_STRING, true},
        {"count", JSON_INTEGER, false},
        {"labels", JSON_OBJECT, false},
        {"gpus", JSON_ARRAY, true},
    };
    json_t *obj;
    int rc = schema_mapping_item(&dc->s, nodes, i, "a node", &obj);
    if (rc < 0 || (rc = schema_check(&dc->s, obj, "a node", fields, COUNT_OF(fields))) < 0 ||
        (rc = check_count(dc, obj)) < 0)
        return rc;
    const char *name = json_string_value(json_object_get(obj, "name"));
    size_t count = entry_count(obj);
    for (size_t k = 0; k < count && rc == 0; k++)
        rc = add_node(dc, nodes, i, copy_name(dc, name, count, k));
    return rc;
}

/* Sizes the arrays from the tree as it is; decode_node checks it. */
static void allocate(struct clusterfile *cf, const json_t *nodes)
{
    size_t n_nodes = 0, n_gpus = 0, n_labels = 0;
    for (size_t i = 0; i < json_array_size(nodes); i++) {
        const json_t *n = json_array_get(nodes, i);
        size_t count = entry_count(n);
        n_nodes += count;
        n_gpus += count * json_array_size(json_object_get(n, "gpus"));
        n_labels += count * json_object_size(json_object_get(n, "labels"));
    }
    cf->nodes = alloc_calloc(n_nodes + 1, sizeof *cf->nodes);
    cf->gpus = alloc_calloc(n_gpus + 1, sizeof *cf->gpus);
    cf->shares = alloc_calloc(n_gpus + 1, sizeof *cf->shares);
    cf->gpu_pos = alloc_calloc(n_gpus + 1, sizeof *cf->gpu_pos);
    cf->share_pos = alloc_calloc(n_gpus + 1, sizeof *cf->share_pos);
    cf->share_model = alloc_calloc(n_gpus + 1, sizeof *cf->share_model);
    cf->plain = alloc_calloc(n_gpus + 1, sizeof *cf->plain);
    cf->labels = alloc_calloc(n_labels + 1, sizeof *cf->labels);
}

static int decode_root(struct decoder *dc, const json_t *root)
{
    static const struct schema_field fields[] = {{"nodes", JSON_ARRAY, true}};
    if (!json_is_object(root))
        return schema_fail_at(&dc->s, root, "a cluster file is a mapping with \"nodes\", not %s",
                              schema_type_name(root));
    int rc = schema_check(&dc->s, root, "a cluster file", fields, COUNT_OF(fields));
    const json_t *nodes = json_object_get(root, "nodes");
    if (rc == 0)
        allocate(dc->cf, nodes);
    for (size_t i = 0; i < json_array_size(nodes) && rc == 0; i++)
        rc = decode_node(dc, nodes, i);
    if (rc == 0 && (rc = placement_cluster_init(&dc->cf->cluster, dc->cf->nodes,
                                                dc->cf->n_nodes, dc->cf->gpus, dc->cf->n_gpus,
                                                dc->s.e)) < 0)
        err_prefix(dc->s.e, rc, "%s: ", yaml_doc_name(dc->s.doc));
    return rc;
}

int clusterfile_decode_at(struct clusterfile *cf, const struct yaml_doc *doc,
                          const json_t *root, struct err *e)
{
    struct err local;
    *cf = (struct clusterfile){0};
    struct decoder dc = {.s = {.doc = doc, .e = e ? e : &local}, .cf = cf,
                         .node_names = json_object()};
    int rc = decode_root(&dc, root);
    json_decref(dc.node_names);
    if (rc < 0)
        clusterfile_free(cf);
    return rc;
}

int clusterfile_decode(struct clusterfile *cf, struct yaml_doc *doc, struct err *e)
{
    int rc;
    *cf = (struct clusterfile){0};
    if (yaml_doc_count(doc) != 1) {
        struct yaml_mark second;
        bool known = yaml_doc_where(doc, yaml_doc_root(doc, 1), &second);
        rc = yaml_doc_fail(doc, known ? &second : NULL, e, -EINVAL,
                           "a cluster file holds one YAML document, not %zu",
                           yaml_doc_count(doc));
    } else {
        rc = clusterfile_decode_at(cf, doc, yaml_doc_root(doc, 0), e);
    }
    if (rc < 0)
        yaml_doc_free(doc);
    else
        cf->doc = doc;
    return rc;
}

int clusterfile_load(struct clusterfile *cf, const char *path, struct err *e)
{
    struct yaml_doc *doc;
    *cf = (struct clusterfile){0};
    int rc = yaml_doc_load(path, NULL, &doc, e);
    return rc < 0 ? rc : clusterfile_decode(cf, doc, e);
}

void clusterfile_free(struct clusterfile *cf)
{
    if (!cf)
        return;
    placement_cluster_free(&cf->cluster);
    free(cf->nodes);
    free(cf->gpus);
    free(cf->shares);
    free(cf->gpu_pos);
    free(cf->share_pos);
    free(cf->share_model);
    free(cf->plain);
    free(cf->labels);
    strpool_free(&cf->names);
    yaml_doc_free(cf->doc);
    *cf = (struct clusterfile){0};
}

/* ---- requests ----------------------------------------------------------- */

static bool some_model_has(const struct clusterfile_request *r, const char *profile)
{
    size_t n = r->req.n_models ? r->req.n_models : catalog_model_count();
    for (size_t i = 0; i < n; i++)
        if (catalog_find_profile(r->req.n_models ? r->models[i] : catalog_model(i), profile))
            return true;
    return false;
}

static int parse_models(const char *arg, char *list, struct clusterfile_request *r,
                        struct err *e)
{
    for (char *name; (name = strsep(&list, "/"));) {
        if (name[0] == '\0')
            return err_set(e, -EINVAL, "request \"%s\": empty model name", arg);
        if (r->req.n_models == CLUSTERFILE_REQUEST_MODELS)
            return err_set(e, -EINVAL, "request \"%s\": more than %d models", arg,
                           CLUSTERFILE_REQUEST_MODELS);
        const struct gpu_model *m = catalog_find_model(name);
        if (!m) {
            char known[256];
            clusterfile_model_names(known, sizeof known);
            return err_set(e, -EINVAL, "request \"%s\": unknown GPU model \"%s\" (known: %s)",
                           arg, name, known);
        }
        r->models[r->req.n_models++] = m;
    }
    return 0;
}

static int parse_selector(const char *arg, char *terms, struct clusterfile_request *r,
                          struct err *e)
{
    for (char *term; (term = strsep(&terms, ","));) {
        if (r->req.n_selector == CLUSTERFILE_REQUEST_SELECTOR)
            return err_set(e, -EINVAL, "request \"%s\": more than %d selector terms", arg,
                           CLUSTERFILE_REQUEST_SELECTOR);
        char *eq = strchr(term, '=');
        if (!eq || eq == term)
            return err_set(e, -EINVAL, "request \"%s\": selector term \"%s\" is not KEY=VALUE",
                           arg, term);
        *eq = '\0';
        r->selector[r->req.n_selector++] = (struct placement_label){term, eq + 1};
    }
    return 0;
}

/* "mps:GIB[:SM]" or "timeslice" in r->text into r->share; 0 when the
 * text is neither (a MIG request). */
static int parse_share(const char *arg, struct clusterfile_request *r, struct err *e)
{
    unsigned gib = 0, sm = 0;
    char tail = '\0';
    if (strcmp(r->text, "timeslice") == 0) {
        r->share.mode = SHARE_TIMESLICE;
    } else if (strncmp(r->text, "mps:", 4) == 0) {
        int n = sscanf(r->text + 4, "%u%c%u", &gib, &tail, &sm);
        if (n < 1 || (n >= 2 && tail != ':') || n == 2 || gib < 1 || gib > POD_MEMORY_GIB_MAX ||
            sm > 100 || (n == 3 && sm == 0) || strspn(r->text + 4, "0123456789:") != strlen(r->text + 4))
            return err_set(e, -EINVAL, "request \"%s\": an MPS share is mps:GIB[:SM] (GIB >= 1, "
                           "SM 1..100)", arg);
        r->share = (struct share_request){.mode = SHARE_MPS, .memory_gib = gib, .sm_percent = sm};
    } else {
        return 0;
    }
    if (r->req.n_models)
        return err_set(e, -EINVAL, "request \"%s\": a share names no model (any GPU in its mode)",
                       arg);
    return 1;
}

int clusterfile_parse_request(const char *arg, struct clusterfile_request *r, struct err *e)
{
    *r = (struct clusterfile_request){0};
    size_t len = strlen(arg);
    if (len > CLUSTERFILE_REQUEST_MAX)
        return err_set(e, -EINVAL, "request longer than %d characters", CLUSTERFILE_REQUEST_MAX);
    memcpy(r->text, arg, len + 1);
    char *terms = strchr(r->text, ',');
    if (terms)
        *terms++ = '\0';
    char *models = strchr(r->text, '@');
    if (models)
        *models++ = '\0';
    if (r->text[0] == '\0')
        return err_set(e, -EINVAL,
                       "request \"%s\" names no profile (PROFILE[@MODEL[/MODEL...]][,KEY=VALUE...])",
                       arg);
    int rc = models ? parse_models(arg, models, r, e) : 0;
    if (rc == 0 && terms)
        rc = parse_selector(arg, terms, r, e);
    if (rc < 0)
        return rc;
    r->req.profile = r->text;
    r->req.models = r->req.n_models ? r->models : NULL;
    r->req.selector = r->req.n_selector ? r->selector : NULL;
    if ((rc = parse_share(arg, r, e)) != 0) {
        r->share.where = r->req;
        return rc < 0 ? rc : 0;
    }
    if (!some_model_has(r, r->req.profile))
        return err_set(e, -EINVAL, "request \"%s\": %s GPU model has profile \"%s\"", arg,
                       r->req.n_models ? "no accepted" : "no", r->req.profile);
    return 0;
}
