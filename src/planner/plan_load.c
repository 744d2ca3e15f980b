/*
 * The JSON reader of plan_load.h. Sections are read in dependency order
 * (accelerators, models, classes, servers, capacity, options) so that every
 * name a section uses is checked against what it names, and each field is
 * read through one helper per JSON type so that every message has the same
 * "FILE: PATH must be ..." shape.
 */
#include "planner/plan_load.h"
#include "util/readfile.h"
#include "util/alloc.h"
#include "util/jsonpos.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define PATH_MAX_LEN 256

struct loader {
    struct plan_system *sys;
    const char *file;            /* names the section's origin in messages */
    const char *text;            /* the section's text, to place errors at LINE:COL; may be NULL */
    size_t len;
    struct err *e;
};

/* "FILE:LINE:COL" of the value at path when the text is known, else "FILE". */
static void origin(const struct loader *l, const char *path, char *out, size_t len)
{
    struct jsonpos at;
    if (l->text) {
        jsonpos_find(l->text, l->len, path, &at);
        snprintf(out, len, "%s:%d:%d", l->file, at.line, at.column);
    } else {
        snprintf(out, len, "%s", l->file);
    }
}

/* Prefixes e's message (a check made outside the loader) with where it
 * is: "FILE:LINE:COL: PATH<sep>". */
static int placed(struct loader *l, int rc, const char *path, const char *sep)
{
    char at[ERR_MSG_MAX];
    origin(l, path, at, sizeof at);
    return err_prefix(l->e, rc, "%s: %s%s", at, path, sep);
}

static int fail(struct loader *l, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct loader *l, const char *path, const char *fmt, ...)
{
    char what[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char at[ERR_MSG_MAX];
    origin(l, path, at, sizeof at);
    return err_set(l->e, -EINVAL, "%s: %s %s", at, path, what);
}

/* A path too deep for the buffer ends in "..." rather than silently. */
static void mark_truncated(char *out, int written)
{
    if (written >= PATH_MAX_LEN)
        memcpy(out + PATH_MAX_LEN - 4, "...", 4);
}

/* path + "." + key, or key alone at the top. */
static void join(char *out, const char *path, const char *key)
{
    mark_truncated(out, snprintf(out, PATH_MAX_LEN, "%s%s%s", path, *path ? "." : "", key));
}

/* join() that returns out, for use inside a call. */
static const char *join_to(const char *path, const char *key, char *out)
{
    join(out, path, key);
    return out;
}

static void join_index(char *out, const char *path, const char *key, size_t i)
{
    mark_truncated(out, snprintf(out, PATH_MAX_LEN, "%s%s%s[%zu]", path, *path ? "." : "", key, i));
}

static const json_t *member(const json_t *obj, const char *key)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
        if (strcasecmp(k, key) == 0)
            return json_is_null(v) ? NULL : v;
    return NULL;
}

static const char *kind_name(json_type kind)
{
    switch (kind) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static const char *type_name(const json_t *v)
{
    return kind_name(json_typeof(v));
}

/* The member key of obj, which must be there and of kind (an object or
 * an array). */
static int get_container(struct loader *l, const json_t *obj, const char *path,
                         const char *key, json_type kind, const json_t **out)
{
    char where[PATH_MAX_LEN];
    join(where, path, key);
    const json_t *v = member(obj, key);
    if (!v)
        return fail(l, where, "is missing");
    if (json_typeof(v) != kind)
        return fail(l, where, "must be %s, got %s", kind_name(kind), type_name(v));
    *out = v;
    return 0;
}

static int get_object(struct loader *l, const json_t *obj, const char *path, const char *key,
                      const json_t **out)
{
    return get_container(l, obj, path, key, JSON_OBJECT, out);
}

static int get_array(struct loader *l, const json_t *obj, const char *path, const char *key,
                     const json_t **out)
{
    return get_container(l, obj, path, key, JSON_ARRAY, out);
}

/* Calls add(l, item, its path, ctx) on each item of arr (the array at
 * path.key) in order, until one fails or is not an object. */
static int each_object(struct loader *l, const json_t *arr, const char *path, const char *key,
                       int (*add)(struct loader *l, const json_t *o, const char *where,
                                  void *ctx),
                       void *ctx)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char where[PATH_MAX_LEN];
        join_index(where, path, key, i);
        const json_t *o = json_array_get(arr, i);
        if (!json_is_object(o))
            return fail(l, where, "must be an object, got %s", type_name(o));
        int rc = add(l, o, where, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

/* A string; *out is left alone when the key is absent and not required. */
static int get_string(struct loader *l, const json_t *obj, const char *path, const char *key,
                      bool required, const char **out)
{
    char where[PATH_MAX_LEN];
    join(where, path, key);
    const json_t *v = member(obj, key);
    if (!v)
        return required ? fail(l, where, "is missing") : 0;
    if (!json_is_string(v))
        return fail(l, where, "must be a string, got %s", type_name(v));
    if (required && json_string_length(v) == 0)
        return fail(l, where, "must not be empty");
    *out = json_string_value(v);
    return 0;
}

static int get_bool(struct loader *l, const json_t *obj, const char *path, const char *key, bool *out)
{
    char where[PATH_MAX_LEN];
    join(where, path, key);
    const json_t *v = member(obj, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return fail(l, where, "must be true or false, got %s", type_name(v));
    *out = json_is_true(v);
    return 0;
}

/* A finite number, from a JSON number or a numeric string, at least min
 * (strictly above it when strict). */
static int get_number(struct loader *l, const json_t *obj, const char *path, const char *key,
                      bool required, double min, bool strict, double *out)
{
    char where[PATH_MAX_LEN];
    join(where, path, key);
    const json_t *v = member(obj, key);
    if (!v)
        return required ? fail(l, where, "is missing") : 0;
    double x;
    if (json_is_number(v)) {
        x = json_number_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        x = strtod(s, &end);
        if (end == s || *end != '\0')
            return fail(l, where, "must be a number, got \"%s\"", s);
    } else {
        return fail(l, where, "must be a number, got %s", type_name(v));
    }
    if (!isfinite(x))
        return fail(l, where, "must be a finite number, got %g", x);
    if (strict ? !(x > min) : !(x >= min))
        return fail(l, where, "must be %s %g, got %g", strict ? ">" : ">=", min, x);
    *out = x;
    return 0;
}

static int get_int(struct loader *l, const json_t *obj, const char *path, const char *key,
                   bool required, int min, int max, int *out)
{
    char where[PATH_MAX_LEN];
    join(where, path, key);
    double x = *out;
    int rc = get_number(l, obj, path, key, required, -INFINITY, false, &x);
    if (rc)
        return rc;
    if (x != floor(x))
        return fail(l, where, "must be a whole number, got %g", x);
    if (x < min || x > max)
        return max == INT_MAX ? fail(l, where, "must be >= %d, got %g", min, x)
                              : fail(l, where, "must be %d .. %d, got %g", min, max, x);
    *out = (int)x;
    return 0;
}

/* The index of the item in items[0..n) (each size bytes, its name the
 * first member) named name, case-insensitively; -1 when none is. */
static int find_named(const void *items, size_t n, size_t size, const char *name)
{
    const char *item = items;
    for (size_t i = 0; i < n; i++, item += size)
        if (strcasecmp(*(char *const *)item, name) == 0)
            return (int)i;
    return -1;
}

_Static_assert(offsetof(struct plan_accelerator, name) == 0, "find_named reads name first");
_Static_assert(offsetof(struct plan_type, name) == 0, "find_named reads name first");
_Static_assert(offsetof(struct plan_model, name) == 0, "find_named reads name first");
_Static_assert(offsetof(struct plan_class, name) == 0, "find_named reads name first");
_Static_assert(offsetof(struct plan_server, name) == 0, "find_named reads name first");

static int find_accelerator(const struct plan_system *sys, const char *name)
{
    return find_named(sys->accelerators, sys->n_accelerators, sizeof *sys->accelerators, name);
}

static int find_type(const struct plan_system *sys, const char *name)
{
    return find_named(sys->types, sys->n_types, sizeof *sys->types, name);
}

static int find_model(const struct plan_system *sys, const char *name)
{
    return find_named(sys->models, sys->n_models, sizeof *sys->models, name);
}

static int find_class(const struct plan_system *sys, const char *name)
{
    return find_named(sys->classes, sys->n_classes, sizeof *sys->classes, name);
}

/* Sets a->type, adding the type on first use: whole GPUs of the model its
 * name names in the catalogue ("H100-80GB"), slices of a's profile, or
 * units of nothing catalogued. A type holds one kind: a slice type, one
 * profile of one model. */
static int intern_type(struct loader *l, struct plan_accelerator *a, const char *type, const char *path)
{
    struct plan_system *sys = l->sys;
    int t = find_type(sys, type);
    const struct gpu_model *gpu = a->profile ? a->gpu : catalog_find_model(type);
    if (t < 0) {
        char *name = alloc_strdup(type);
        t = (int)sys->n_types++;
        sys->types[t] = (struct plan_type){.name = name, .count = -1, .gpu = gpu, .profile = a->profile};
    } else if (sys->types[t].gpu != gpu || sys->types[t].profile != a->profile) {
        char where[PATH_MAX_LEN];
        join(where, path, "type");
        return fail(l, where, "\"%s\" already holds %s; a type holds whole GPUs or one MIG profile of one model",
                    type, sys->types[t].profile ? sys->types[t].profile->name : "whole accelerators");
    }
    a->type = t;
    return 0;
}

/* "gpuModel" + "migProfile": a slice of a catalogued GPU. */
static int read_mig(struct loader *l, const json_t *o, const char *path, struct plan_accelerator *a)
{
    const char *gpu = NULL, *profile = NULL;
    char where[PATH_MAX_LEN];
    int rc;
    if ((rc = get_string(l, o, path, "gpuModel", false, &gpu)) ||
        (rc = get_string(l, o, path, "migProfile", false, &profile)))
        return rc;
    if (!gpu && !profile)
        return 0;
    if (!gpu || !profile) {
        join(where, path, gpu ? "migProfile" : "gpuModel");
        return fail(l, where, "is missing (a MIG slice names both gpuModel and migProfile)");
    }
    join(where, path, "gpuModel");
    if (!(a->gpu = catalog_find_model(gpu)))
        return fail(l, where, "names no catalogued GPU model: \"%s\"", gpu);
    join(where, path, "migProfile");
    if (!(a->profile = catalog_find_profile(a->gpu, profile)))
        return fail(l, where, "names no MIG profile of %s: \"%s\"", a->gpu->name, profile);
    if (a->mem_gb == 0.0)
        a->mem_gb = a->profile->memory_mib / 1024.0;
    return 0;
}

static int read_accelerator(struct loader *l, const json_t *o, const char *path, struct plan_accelerator *a)
{
    const char *name = NULL, *type = NULL;
    char where[PATH_MAX_LEN];
    int rc;
    a->multiplicity = 1;
    if ((rc = get_string(l, o, path, "name", true, &name)) ||
        (rc = get_string(l, o, path, "type", false, &type)) ||
        (rc = get_int(l, o, path, "multiplicity", false, 1, 1 << 20, &a->multiplicity)) ||
        (rc = get_number(l, o, path, "memSize", false, 0, false, &a->mem_gb)) ||
        (rc = get_number(l, o, path, "cost", true, 0, false, &a->cost)) ||
        (rc = read_mig(l, o, path, a)))
        return rc;
    join(where, path, "name");
    if (find_accelerator(l->sys, name) >= 0)
        return fail(l, where, "repeats accelerator \"%s\"", name);
    if ((rc = intern_type(l, a, type ? type : name, path)))
        return rc;
    a->name = alloc_strdup(name);
    return 0;
}

static int add_accelerator(struct loader *l, const json_t *o, const char *where, void *ctx)
{
    struct plan_system *sys = l->sys;
    (void)ctx;
    int rc = read_accelerator(l, o, where, &sys->accelerators[sys->n_accelerators]);
    sys->n_accelerators++; /* counted even on failure, so its name is freed */
    return rc;
}

static int read_accelerators(struct loader *l, const json_t *data, const char *path)
{
    struct plan_system *sys = l->sys;
    const json_t *arr;
    int rc = get_array(l, data, path, "accelerators", &arr);
    if (rc)
        return rc;
    size_t n = json_array_size(arr);
    sys->accelerators = alloc_calloc(n ? n : 1, sizeof *sys->accelerators);
    sys->types = alloc_calloc(n ? n : 1, sizeof *sys->types);
    return each_object(l, arr, path, "accelerators", add_accelerator, NULL);
}

/* The two parameter objects, then the whole entry through perfmodel_check()
 * so the range rules live in one place. */
static int read_params(struct loader *l, const json_t *o, const char *path, struct perf_params *p)
{
    const json_t *dec, *pre;
    char dpath[PATH_MAX_LEN], ppath[PATH_MAX_LEN];
    int rc;
    join(dpath, path, "decodeParms");
    join(ppath, path, "prefillParms");
    if ((rc = get_object(l, o, path, "decodeParms", &dec)) ||
        (rc = get_object(l, o, path, "prefillParms", &pre)) ||
        (rc = get_number(l, dec, dpath, "alpha", true, -INFINITY, false, &p->alpha)) ||
        (rc = get_number(l, dec, dpath, "beta", true, -INFINITY, false, &p->beta)) ||
        (rc = get_number(l, pre, ppath, "gamma", true, -INFINITY, false, &p->gamma)) ||
        (rc = get_number(l, pre, ppath, "delta", true, -INFINITY, false, &p->delta)) ||
        (rc = get_int(l, o, path, "maxBatchSize", true, 1, INT_MAX, &p->max_batch)) ||
        (rc = get_int(l, o, path, "atTokens", true, 1, INT_MAX, &p->at_tokens)))
        return rc;
    if ((rc = perfmodel_check(p, l->e))) { /* its message starts with the field: place that */
        char field[PATH_MAX_LEN];
        mark_truncated(field, snprintf(field, PATH_MAX_LEN, "%s.%.*s", path, (int)strcspn(l->e->msg, " "),
                                       l->e->msg));
        char at[ERR_MSG_MAX];
        origin(l, field, at, sizeof at);
        return err_prefix(l->e, rc, "%s: %s.", at, path);
    }
    return 0;
}

static int intern_model(struct loader *l, const char *name)
{
    struct plan_system *sys = l->sys;
    int m = find_model(sys, name);
    if (m >= 0)
        return m;
    sys->models[sys->n_models].name = alloc_strdup(name);
    return (int)sys->n_models++;
}

static int read_perf(struct loader *l, const json_t *o, const char *path, struct plan_perf *p)
{
    const char *model = NULL, *acc = NULL;
    char where[PATH_MAX_LEN];
    int rc;
    p->acc_count = 1;
    if ((rc = get_string(l, o, path, "name", true, &model)) ||
        (rc = get_string(l, o, path, "acc", true, &acc)) ||
        (rc = get_int(l, o, path, "accCount", false, 1, 1 << 20, &p->acc_count)) ||
        (rc = read_params(l, o, path, &p->params)))
        return rc;
    join(where, path, "acc");
    if ((p->acc = find_accelerator(l->sys, acc)) < 0)
        return fail(l, where, "names an unknown accelerator \"%s\"", acc);
    if ((p->model = intern_model(l, model)) < 0)
        return p->model;
    for (size_t i = 0; i < l->sys->n_perfs; i++)
        if (l->sys->perfs[i].model == p->model && l->sys->perfs[i].acc == p->acc)
            return fail(l, where, "repeats the data of model \"%s\" on \"%s\"", model, acc);
    return 0;
}

static int add_perf(struct loader *l, const json_t *o, const char *where, void *ctx)
{
    struct plan_system *sys = l->sys;
    (void)ctx;
    int rc = read_perf(l, o, where, &sys->perfs[sys->n_perfs]);
    if (rc == 0)
        sys->n_perfs++;
    return rc;
}

static int read_models(struct loader *l, const json_t *data, const char *path)
{
    struct plan_system *sys = l->sys;
    const json_t *arr;
    int rc = get_array(l, data, path, "models", &arr);
    if (rc)
        return rc;
    size_t n = json_array_size(arr);
    sys->perfs = alloc_calloc(n ? n : 1, sizeof *sys->perfs);
    sys->models = alloc_calloc(n ? n : 1, sizeof *sys->models);
    return each_object(l, arr, path, "models", add_perf, NULL);
}

static int read_target(struct loader *l, const json_t *o, const char *path, struct plan_target *t)
{
    const char *model = NULL;
    char where[PATH_MAX_LEN];
    int rc;
    if ((rc = get_string(l, o, path, "model", true, &model)) ||
        (rc = get_number(l, o, path, "slo-itl", false, 0, false, &t->itl_ms)) ||
        (rc = get_number(l, o, path, "slo-ttft", false, 0, false, &t->ttft_ms)) ||
        (rc = get_number(l, o, path, "slo-tps", false, 0, false, &t->tps)))
        return rc;
    join(where, path, "model");
    if ((t->model = find_model(l->sys, model)) < 0)
        return fail(l, where, "names an unknown model \"%s\" (no performance data)", model);
    return 0;
}

static int add_target(struct loader *l, const json_t *o, const char *where, void *ctx)
{
    struct plan_class *c = ctx;
    int rc = read_target(l, o, where, &c->targets[c->n_targets]);
    if (rc == 0)
        c->n_targets++;
    return rc;
}

static int read_class(struct loader *l, const json_t *o, const char *path, struct plan_class *c)
{
    const char *name = NULL;
    const json_t *arr;
    char where[PATH_MAX_LEN];
    int rc;
    c->priority = 100;
    if ((rc = get_string(l, o, path, "name", true, &name)) ||
        (rc = get_int(l, o, path, "priority", false, 0, 1000000, &c->priority)) ||
        (rc = get_array(l, o, path, "modelTargets", &arr)))
        return rc;
    join(where, path, "name");
    if (find_class(l->sys, name) >= 0)
        return fail(l, where, "repeats service class \"%s\"", name);
    size_t n = json_array_size(arr);
    c->targets = alloc_calloc(n ? n : 1, sizeof *c->targets);
    if ((rc = each_object(l, arr, path, "modelTargets", add_target, c)))
        return rc;
    c->name = alloc_strdup(name);
    return 0;
}

static int add_class(struct loader *l, const json_t *o, const char *where, void *ctx)
{
    struct plan_system *sys = l->sys;
    (void)ctx;
    int rc = read_class(l, o, where, &sys->classes[sys->n_classes]);
    sys->n_classes++; /* counted even on failure, so its targets are freed */
    return rc;
}

static int read_classes(struct loader *l, const json_t *data, const char *path)
{
    struct plan_system *sys = l->sys;
    const json_t *arr;
    int rc = get_array(l, data, path, "serviceClasses", &arr);
    if (rc)
        return rc;
    size_t n = json_array_size(arr);
    sys->classes = alloc_calloc(n, sizeof *sys->classes);
    return each_object(l, arr, path, "serviceClasses", add_class, NULL);
}

static int read_load(struct loader *l, const json_t *alloc, const char *path, struct plan_server *s)
{
    const json_t *load;
    char where[PATH_MAX_LEN];
    int rc;
    join(where, path, "load");
    if ((rc = get_object(l, alloc, path, "load", &load)) ||
        (rc = get_number(l, load, where, "arrivalRate", true, 0, true, &s->rate_per_min)) ||
        (rc = get_number(l, load, where, "avgInTokens", true, 0, false, &s->req.in_tokens)) ||
        (rc = get_number(l, load, where, "avgOutTokens", true, 1, false, &s->req.out_tokens)))
        return rc;
    return 0;
}

static int read_current(struct loader *l, const json_t *o, const char *path, struct plan_server *s)
{
    const json_t *alloc;
    const char *acc = NULL;
    char where[PATH_MAX_LEN];
    int rc;
    join(where, path, "currentAlloc");
    s->current.acc = -1;
    if ((rc = get_object(l, o, path, "currentAlloc", &alloc)) ||
        (rc = read_load(l, alloc, where, s)) ||
        (rc = get_string(l, alloc, where, "accelerator", false, &acc)) ||
        (rc = get_int(l, alloc, where, "numReplicas", false, 0, PLAN_MAX_REPLICAS, &s->current.replicas)) ||
        (rc = get_int(l, alloc, where, "maxBatch", false, 0, PERFMODEL_MAX_BATCH, &s->current.max_batch)) ||
        (rc = get_number(l, alloc, where, "cost", false, 0, false, &s->current.cost)))
        return rc;
    if (acc && *acc && (s->current.acc = find_accelerator(l->sys, acc)) < 0) {
        char field[PATH_MAX_LEN];
        join(field, where, "accelerator");
        return fail(l, field, "names an unknown accelerator \"%s\"", acc);
    }
    return 0;
}

static const struct plan_target *class_target(const struct plan_class *c, int model)
{
    for (size_t i = 0; i < c->n_targets; i++)
        if (c->targets[i].model == model)
            return &c->targets[i];
    return NULL;
}

static int read_server(struct loader *l, const json_t *o, const char *path, struct plan_server *s)
{
    const char *name = NULL, *cls = NULL, *model = NULL;
    char where[PATH_MAX_LEN];
    int rc;
    s->min_replicas = 1;
    if ((rc = get_string(l, o, path, "name", true, &name)) ||
        (rc = get_string(l, o, path, "class", true, &cls)) ||
        (rc = get_string(l, o, path, "model", true, &model)) ||
        (rc = get_bool(l, o, path, "keepAccelerator", &s->keep_accelerator)) ||
        (rc = get_int(l, o, path, "minNumReplicas", false, 0, PLAN_MAX_REPLICAS, &s->min_replicas)) ||
        (rc = get_int(l, o, path, "maxBatchSize", false, 0, PERFMODEL_MAX_BATCH, &s->max_batch)) ||
        (rc = read_current(l, o, path, s)))
        return rc;
    if (find_named(l->sys->servers, l->sys->n_servers, sizeof *l->sys->servers, name) >= 0) {
        join(where, path, "name");
        return fail(l, where, "repeats server \"%s\"", name);
    }
    join(where, path, "class");
    if ((s->cls = find_class(l->sys, cls)) < 0)
        return fail(l, where, "names an unknown service class \"%s\"", cls);
    join(where, path, "model");
    if ((s->model = find_model(l->sys, model)) < 0)
        return fail(l, where, "names an unknown model \"%s\" (no performance data)", model);
    if (!(s->target = class_target(&l->sys->classes[s->cls], s->model)))
        return fail(l, where, "\"%s\" has no target in service class \"%s\"", model, cls);
    s->name = alloc_strdup(name);
    return 0;
}

static int add_server(struct loader *l, const json_t *o, const char *where, void *ctx)
{
    struct plan_system *sys = l->sys;
    (void)ctx;
    int rc = read_server(l, o, where, &sys->servers[sys->n_servers]);
    if (rc == 0)
        sys->n_servers++;
    return rc;
}

static int read_servers(struct loader *l, const json_t *data, const char *path)
{
    struct plan_system *sys = l->sys;
    const json_t *arr;
    int rc = get_array(l, data, path, "servers", &arr);
    if (rc)
        return rc;
    size_t n = json_array_size(arr);
    sys->servers = alloc_calloc(n, sizeof *sys->servers);
    return each_object(l, arr, path, "servers", add_server, NULL);
}

static int add_count(struct loader *l, const json_t *o, const char *where, void *ctx)
{
    char tpath[PATH_MAX_LEN];
    const char *type = NULL;
    int count = 0, rc;
    (void)ctx;
    if ((rc = get_string(l, o, where, "type", true, &type)) ||
        (rc = get_int(l, o, where, "count", true, 0, 1 << 30, &count)))
        return rc;
    join(tpath, where, "type");
    int t = find_type(l->sys, type);
    if (t < 0)
        return fail(l, tpath, "names an unknown accelerator type \"%s\"", type);
    if (l->sys->types[t].count >= 0)
        return fail(l, tpath, "repeats the count of \"%s\"", type);
    l->sys->types[t].count = count;
    return 0;
}

static int read_capacity(struct loader *l, const json_t *data, const char *path)
{
    const json_t *arr;
    int rc = get_array(l, data, path, "count", &arr);
    return rc ? rc : each_object(l, arr, path, "count", add_count, NULL);
}

static int read_options(struct loader *l, const json_t *data, const char *path)
{
    struct plan_options *o = &l->sys->options;
    const json_t *opt;
    const char *policy = NULL, *model = NULL;
    char where[PATH_MAX_LEN], field[PATH_MAX_LEN];
    int rc;
    join(where, path, "optimizer");
    if ((rc = get_object(l, data, path, "optimizer", &opt)) ||
        (rc = get_bool(l, opt, where, "unlimited", &o->unlimited)) ||
        (rc = get_bool(l, opt, where, "milpSolver", &o->milp)) ||
        (rc = get_string(l, opt, where, "saturationPolicy", false, &policy)) ||
        (rc = get_string(l, opt, where, "model", false, &model)) ||
        (rc = get_number(l, opt, where, "transitionPenalty", false, 0, false, &o->transition_penalty)))
        return rc;
    if (policy && (rc = plan_saturation_parse(policy, &o->saturation, l->e)))
        return placed(l, rc, join_to(where, "saturationPolicy", field), ": ");
    if (model && (rc = plan_queue_model_parse(model, &o->model, l->e)))
        return placed(l, rc, join_to(where, "model", field), ": ");
    return 0;
}

/* One section reader per kind, in the order they must run. */
struct section {
    const char *file;            /* in a directory */
    const char *key;             /* under "system" */
    bool optional;
    int (*read)(struct loader *l, const json_t *data, const char *path);
};

static const struct section sections[] = {
    {"accelerator-data.json", "acceleratorData", false, read_accelerators},
    {"model-data.json", "modelData", false, read_models},
    {"serviceclass-data.json", "serviceClassData", false, read_classes},
    {"server-data.json", "serverData", false, read_servers},
    {"optimizer-data.json", "optimizerData", true, read_options},
    {"capacity-data.json", "capacityData", true, read_capacity},
};

#define N_SECTIONS (sizeof sections / sizeof sections[0])
#define CAPACITY_SECTION (N_SECTIONS - 1)

/* Without counts only unlimited planning makes sense. */
static int need_capacity(struct loader *l, const char *what)
{
    if (l->sys->options.unlimited)
        return 0;
    return err_set(l->e, -EINVAL, "%s: is missing; capacity is needed unless optimizer.unlimited is true",
                   what);
}

/* Parses text (origin names it) into an object. */
static int parse(const char *text, size_t len, const char *origin, json_t **out, struct err *e)
{
    json_error_t je;
    *out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!*out)
        return err_set(e, -EINVAL, "%s:%d:%d: %s", origin, je.line, je.column, je.text);
    if (!json_is_object(*out)) {
        json_decref(*out);
        return err_set(e, -EINVAL, "%s: must hold a JSON object", origin);
    }
    return 0;
}

/* Reads and parses the file at path; the caller frees *text and drops *out. */
static int read_file(const char *path, json_t **out, char **text, size_t *len, struct err *e)
{
    int rc = readfile_all(path, PLAN_LOAD_MAX_BYTES, text, len, e);
    if (rc == 0 && (rc = parse(*text, *len, path, out, e)) != 0)
        free(*text);
    return rc;
}

static int load_dir(const char *dir, struct loader *l)
{
    for (size_t i = 0; i < N_SECTIONS; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, sections[i].file);
        struct stat st;
        if (sections[i].optional && stat(path, &st) != 0 && errno == ENOENT) {
            int rc = i == CAPACITY_SECTION ? need_capacity(l, path) : 0;
            if (rc)
                return rc;
            continue;
        }
        json_t *data;
        char *text;
        int rc = read_file(path, &data, &text, &l->len, l->e);
        if (rc)
            return rc;
        l->file = path;
        l->text = text;
        rc = sections[i].read(l, data, "");
        l->file = l->text = NULL;
        json_decref(data);
        free(text);
        if (rc)
            return rc;
    }
    return 0;
}

static int load_system(const json_t *root, struct loader *l)
{
    const json_t *system;
    int rc = get_object(l, root, "", "system", &system);
    if (rc)
        return rc;
    for (size_t i = 0; i < N_SECTIONS; i++) {
        char path[PATH_MAX_LEN];
        join(path, "system", sections[i].key);
        const json_t *data = member(system, sections[i].key);
        if (!data && sections[i].optional) {
            if (i == CAPACITY_SECTION && (rc = need_capacity(l, path)))
                return err_prefix(l->e, rc, "%s: ", l->file);
            continue;
        }
        if ((rc = get_object(l, system, "system", sections[i].key, &data)) ||
            (rc = sections[i].read(l, data, path)))
            return rc;
    }
    return 0;
}

/* The bundled form; text, when known, is what root was parsed from. */
static int load_bundled(const json_t *root, const char *origin, const char *text, size_t len,
                        struct plan_system *sys, struct err *e)
{
    memset(sys, 0, sizeof *sys);
    struct loader l = {.sys = sys, .file = origin, .text = text, .len = len, .e = e};
    int rc = load_system(root, &l);
    if (rc)
        plan_system_free(sys);
    return rc;
}

int plan_load_json(const json_t *root, const char *origin, struct plan_system *sys, struct err *e)
{
    memset(sys, 0, sizeof *sys);
    if (!json_is_object(root))
        return err_set(e, -EINVAL, "%s: must hold a JSON object", origin);
    return load_bundled(root, origin, NULL, 0, sys, e);
}

int plan_load_text(const char *text, size_t len, const char *origin, struct plan_system *sys, struct err *e)
{
    memset(sys, 0, sizeof *sys);
    json_t *root;
    int rc = parse(text, len, origin, &root, e);
    if (rc)
        return rc;
    rc = load_bundled(root, origin, text, len, sys, e);
    json_decref(root);
    return rc;
}

int plan_load_path(const char *path, struct plan_system *sys, struct err *e)
{
    memset(sys, 0, sizeof *sys);
    struct stat st;
    if (stat(path, &st) != 0)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        struct loader l = {.sys = sys, .e = e};
        int rc = load_dir(path, &l);
        if (rc)
            plan_system_free(sys);
        return rc;
    }
    char *text;
    size_t len;
    int rc = readfile_all(path, PLAN_LOAD_MAX_BYTES, &text, &len, e);
    if (rc)
        return rc;
    rc = plan_load_text(text, len, path, sys, e);
    free(text);
    return rc;
}
