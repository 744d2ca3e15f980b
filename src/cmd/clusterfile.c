/*
 * Decoding of cluster files and command-line slice requests (clusterfile.h).
 *
 * The YAML is first converted whole (util/yaml), then walked with a small
 * schema per mapping (field names, JSON types, which are required), so that
 * every check reports the position util/yaml kept for the value at fault.
 * Counting GPUs and labels to size the arrays is tolerant; the decoding pass
 * that follows is the strict one.
 */
#include "cmd/clusterfile.h"
#include "api/meta.h"
#include "util/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* What a mapping may hold. JSON_TRUE stands for either boolean. */
struct field {
    const char *name;
    json_type type;
    bool required;
};

struct decoder {
    const struct yaml_doc *doc;
    struct clusterfile *cf;
    json_t *node_names; /* name -> index, to refuse duplicates */
    size_t n_labels;
    struct err *e;
};

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "a mapping";
    case JSON_ARRAY: return "a sequence";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static const char *field_type_name(json_type t)
{
    static const struct {
        json_type type;
        const char *name;
    } names[] = {{JSON_OBJECT, "a mapping"}, {JSON_ARRAY, "a sequence"},
                 {JSON_STRING, "a string"},  {JSON_INTEGER, "an integer"},
                 {JSON_TRUE, "a boolean"}};
    for (size_t i = 0; i < COUNT_OF(names); i++)
        if (names[i].type == t)
            return names[i].name;
    return "?";
}

static bool has_type(const json_t *v, json_type t)
{
    return t == JSON_TRUE ? json_is_boolean(v) : json_typeof(v) == t;
}

/* Fails with "FILE:LINE:COL: message" at `at`, or "FILE: message". */
static int vfail_at(struct decoder *dc, const struct yaml_mark *at, const char *fmt, va_list ap)
{
    char msg[ERR_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    return yaml_doc_fail(dc->doc, at, dc->e, -EINVAL, "%s", msg);
}

/* Fails at the value of obj's member key (its key when key_side), or at obj
 * itself when it has no such member. */
static int fail_member(struct decoder *dc, const json_t *obj, const char *key, bool key_side,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail_member(struct decoder *dc, const json_t *obj, const char *key, bool key_side,
                       const char *fmt, ...)
{
    struct yaml_mark at;
    bool known = key_side ? yaml_doc_where_member(dc->doc, obj, key, &at, NULL)
                          : yaml_doc_where_member(dc->doc, obj, key, NULL, &at);
    known = known || yaml_doc_where(dc->doc, obj, &at);
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail_at(dc, known ? &at : NULL, fmt, ap);
    va_end(ap);
    return rc;
}

static int fail_item(struct decoder *dc, const json_t *arr, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_item(struct decoder *dc, const json_t *arr, size_t i, const char *fmt, ...)
{
    struct yaml_mark at;
    bool known = yaml_doc_where_item(dc->doc, arr, i, &at);
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail_at(dc, known ? &at : NULL, fmt, ap);
    va_end(ap);
    return rc;
}

/* Appends name to the ", "-separated list in buf[size], cut when full;
 * *used is the list's length so far (past size once cut). */
static void list_append(char *buf, size_t size, size_t *used, const char *name)
{
    if (*used == 0 && size > 0)
        buf[0] = '\0';
    if (*used < size)
        *used += (size_t)snprintf(buf + *used, size - *used, "%s%s", *used ? ", " : "", name);
}

static void field_names(const struct field *fields, size_t n, char *buf, size_t size)
{
    size_t used = 0;
    for (size_t i = 0; i < n; i++)
        list_append(buf, size, &used, fields[i].name);
}

/* Checks obj (a mapping, said to be `what`) against its schema: no unknown
 * fields, the right types, the required ones present. A null value counts
 * as absent. */
static int check_fields(struct decoder *dc, const json_t *obj, const char *what,
                        const struct field *fields, size_t n)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        size_t i = 0;
        while (i < n && strcmp(fields[i].name, key) != 0)
            i++;
        if (i == n) {
            char known[128];
            field_names(fields, n, known, sizeof known);
            return fail_member(dc, obj, key, true, "unknown field \"%s\" in %s (known: %s)", key,
                               what, known);
        }
        if (!json_is_null(v) && !has_type(v, fields[i].type))
            return fail_member(dc, obj, key, false, "\"%s\" must be %s, not %s", key,
                               field_type_name(fields[i].type), type_name(v));
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *given = json_object_get(obj, fields[i].name);
        if (fields[i].required && (!given || json_is_null(given)))
            return fail_member(dc, obj, fields[i].name, false, "%s needs \"%s\"", what,
                               fields[i].name);
    }
    return 0;
}

/* The item i of arr, which must be a mapping (a `what`). */
static int mapping_item(struct decoder *dc, const json_t *arr, size_t i, const char *what,
                        json_t **out)
{
    *out = json_array_get(arr, i);
    if (!json_is_object(*out))
        return fail_item(dc, arr, i, "%s must be a mapping, not %s", what, type_name(*out));
    return 0;
}

static void profile_names(const struct gpu_model *m, char *buf, size_t size)
{
    size_t used = 0;
    for (size_t i = 0; i < m->n_profiles; i++)
        list_append(buf, size, &used, m->profiles[i].name);
}

void clusterfile_model_names(char *buf, size_t size)
{
    size_t used = 0;
    for (size_t i = 0; i < catalog_model_count(); i++)
        list_append(buf, size, &used, catalog_model(i)->name);
}

/* m's profile named v, or NULL with why[size] saying what is wrong. */
static const struct mig_profile *find_profile(const struct gpu_model *m, const json_t *v,
                                              char *why, size_t size)
{
    const struct mig_profile *p = catalog_find_profile(m, json_string_value(v));
    if (p)
        return p;
    if (!json_is_string(v)) {
        snprintf(why, size, "a profile must be a string, not %s", type_name(v));
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
            return fail_item(dc, list, i, "%s", why);
        g->allowed |= (uint16_t)(1u << catalog_profile_index(g->occ.model, p, NULL));
    }
    return 0;
}

static int decode_slice(struct decoder *dc, struct placement_gpu *g, const json_t *slices,
                        size_t i)
{
    static const struct field fields[] = {
        {"profile", JSON_STRING, true},
        {"start", JSON_INTEGER, true},
    };
    json_t *s;
    int rc = mapping_item(dc, slices, i, "a slice", &s);
    if (rc < 0 || (rc = check_fields(dc, s, "a slice", fields, COUNT_OF(fields))) < 0)
        return rc;
    char why[ERR_MSG_MAX];
    const struct mig_profile *p = find_profile(g->occ.model, json_object_get(s, "profile"), why,
                                               sizeof why);
    if (!p)
        return fail_member(dc, s, "profile", false, "%s", why);
    json_int_t start = json_integer_value(json_object_get(s, "start"));
    if (start < 0 || start >= g->occ.model->memory_slices)
        return fail_member(dc, s, "start", false,
                           "start %lld is not a memory slice of %s (0-%u)", (long long)start,
                           g->occ.model->name, g->occ.model->memory_slices - 1u);
    struct err taken;
    if (occupancy_take(&g->occ, p, (unsigned)start, 0, &taken) < 0)
        return fail_item(dc, slices, i, "%s", taken.msg);
    return 0;
}

static int decode_gpu(struct decoder *dc, size_t node, const json_t *gpus, size_t i)
{
    static const struct field fields[] = {
        {"model", JSON_STRING, true},
        {"heldBack", JSON_TRUE, false},
        {"allowedProfiles", JSON_ARRAY, false},
        {"slices", JSON_ARRAY, false},
    };
    json_t *obj;
    int rc = mapping_item(dc, gpus, i, "a GPU", &obj);
    if (rc < 0 || (rc = check_fields(dc, obj, "a GPU", fields, COUNT_OF(fields))) < 0)
        return rc;
    const char *name = json_string_value(json_object_get(obj, "model"));
    const struct gpu_model *m = catalog_find_model(name);
    if (!m) {
        char known[256];
        clusterfile_model_names(known, sizeof known);
        return fail_member(dc, obj, "model", false, "unknown GPU model \"%s\" (known: %s)", name,
                           known);
    }
    struct placement_gpu *g = &dc->cf->gpus[dc->cf->n_gpus++];
    occupancy_init(&g->occ, m);
    g->node = node;
    g->allowed = PLACEMENT_ALL_PROFILES;
    g->held_back = json_is_true(json_object_get(obj, "heldBack"));
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
            return fail_member(dc, labels, key, true, "a label key must not be empty");
        if (!json_is_string(v))
            return fail_member(dc, labels, key, false,
                               "label \"%s\" must be a string, not %s (quote it)", key,
                               type_name(v));
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
        return fail_member(dc, obj, "name", false, "a node name must not be empty");
    if (len > META_SUBDOMAIN_MAX)
        return fail_member(dc, obj, "name", false, "a node name must be a DNS-1123 subdomain "
                           "of at most %d characters, not %zu", META_SUBDOMAIN_MAX, len);
    if (meta_check_subdomain(name, "name", &why) < 0)
        return fail_member(dc, obj, "name", false, "%s", why.msg);
    return 0;
}

static int decode_node(struct decoder *dc, const json_t *nodes, size_t i)
{
    static const struct field fields[] = {
        {"name", JSON_STRING, true},
        {"labels", JSON_OBJECT, false},
        {"gpus", JSON_ARRAY, true},
    };
    json_t *obj;
    int rc = mapping_item(dc, nodes, i, "a node", &obj);
    if (rc < 0 || (rc = check_fields(dc, obj, "a node", fields, COUNT_OF(fields))) < 0)
        return rc;
    const char *name = json_string_value(json_object_get(obj, "name"));
    json_t *seen = json_object_get(dc->node_names, name);
    if (seen) {
        struct yaml_mark first = {0, 0};
        yaml_doc_where_member(dc->doc, json_array_get(nodes, (size_t)json_integer_value(seen)),
                              "name", NULL, &first);
        return fail_member(dc, obj, "name", false, "duplicate node name \"%s\" (first at %u:%u)",
                           name, first.line, first.col);
    }
    if ((rc = check_node_name(dc, obj, name)) < 0)
        return rc;
    if (json_object_set_new(dc->node_names, name, json_integer((json_int_t)i)) < 0)
        return err_set(dc->e, -ENOMEM, "out of memory");
    struct placement_node *n = &dc->cf->nodes[dc->cf->n_nodes++];
    n->name = name;
    if ((rc = decode_labels(dc, n, json_object_get(obj, "labels"))) < 0)
        return rc;
    const json_t *gpus = json_object_get(obj, "gpus");
    for (size_t j = 0; j < json_array_size(gpus) && rc == 0; j++)
        rc = decode_gpu(dc, i, gpus, j);
    return rc;
}

/* Sizes the arrays from the tree as it is; decode_node checks it. */
static void allocate(struct clusterfile *cf, const json_t *nodes)
{
    size_t n_gpus = 0, n_labels = 0;
    for (size_t i = 0; i < json_array_size(nodes); i++) {
        const json_t *n = json_array_get(nodes, i);
        n_gpus += json_array_size(json_object_get(n, "gpus"));
        n_labels += json_object_size(json_object_get(n, "labels"));
    }
    cf->nodes = alloc_calloc(json_array_size(nodes) + 1, sizeof *cf->nodes);
    cf->gpus = alloc_calloc(n_gpus + 1, sizeof *cf->gpus);
    cf->labels = alloc_calloc(n_labels + 1, sizeof *cf->labels);
}

static int decode_root(struct decoder *dc)
{
    static const struct field fields[] = {{"nodes", JSON_ARRAY, true}};
    const struct yaml_doc *doc = dc->doc;
    if (yaml_doc_count(doc) != 1) {
        struct yaml_mark second;
        bool known = yaml_doc_where(doc, yaml_doc_root(doc, 1), &second);
        return yaml_doc_fail(doc, known ? &second : NULL, dc->e, -EINVAL,
                             "a cluster file holds one YAML document, not %zu",
                             yaml_doc_count(doc));
    }
    const json_t *root = yaml_doc_root(doc, 0);
    struct yaml_mark at;
    bool known = yaml_doc_where(doc, root, &at);
    if (!json_is_object(root))
        return yaml_doc_fail(doc, known ? &at : NULL, dc->e, -EINVAL,
                             "a cluster file is a mapping with \"nodes\", not %s",
                             type_name(root));
    int rc = check_fields(dc, root, "a cluster file", fields, COUNT_OF(fields));
    const json_t *nodes = json_object_get(root, "nodes");
    if (rc == 0)
        allocate(dc->cf, nodes);
    for (size_t i = 0; i < json_array_size(nodes) && rc == 0; i++)
        rc = decode_node(dc, nodes, i);
    if (rc == 0 && (rc = placement_cluster_init(&dc->cf->cluster, dc->cf->nodes,
                                                dc->cf->n_nodes, dc->cf->gpus, dc->cf->n_gpus,
                                                dc->e)) < 0)
        err_prefix(dc->e, rc, "%s: ", yaml_doc_name(doc));
    return rc;
}

int clusterfile_decode(struct clusterfile *cf, struct yaml_doc *doc, struct err *e)
{
    struct err local;
    *cf = (struct clusterfile){.doc = doc};
    struct decoder dc = {.doc = doc, .cf = cf, .node_names = json_object(), .e = e ? e : &local};
    int rc = dc.node_names ? decode_root(&dc)
                           : err_set(e, -ENOMEM, "%s: out of memory", yaml_doc_name(doc));
    json_decref(dc.node_names);
    if (rc < 0)
        clusterfile_free(cf);
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
    free(cf->labels);
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
    if (!some_model_has(r, r->req.profile))
        return err_set(e, -EINVAL, "request \"%s\": %s GPU model has profile \"%s\"", arg,
                       r->req.n_models ? "no accepted" : "no", r->req.profile);
    return 0;
}
