/*
 * Decoding of simulation scenarios (see scenario.h), with util/schema's
 * checks so that every error names FILE:LINE:COL, as the cluster file's
 * do. Pointers in the decoded scenario point into the document, which it
 * owns.
 */
#include "sim/scenario.h"

#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/meta.h"
#include "core/catalog.h"
#include "device/emulated.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/schema.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define ITEM_NAME_MAX 50 /* room for "-<n>" in a pod's name */

struct decoder {
    struct schema s;
    struct scenario *sc;
    const char *dir;
    size_t n_mixes;
};

/* ---- numbers and distributions ----------------------------------------- */

static int number(struct decoder *dc, const json_t *obj, const char *key, double dflt,
                  double *out)
{
    const json_t *v = json_object_get(obj, key);
    *out = v && !json_is_null(v) ? json_number_value(v) : dflt;
    if (!isfinite(*out) || *out < 0)
        return schema_fail_member(&dc->s, obj, key, false, "\"%s\" must not be negative", key);
    return 0;
}

static int count_of(struct decoder *dc, const json_t *obj, const char *key, size_t *out)
{
    json_int_t n = json_integer_value(json_object_get(obj, key));
    if (n < 0 || n > 100000000)
        return schema_fail_member(&dc->s, obj, key, false, "\"%s\" must be 0 to 100000000",
                                  key);
    *out = (size_t)n;
    return 0;
}

/* A distribution's parameter: key, or key + "Ms" in a field of
 * milliseconds. */
static const json_t *param(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (v)
        return v;
    char ms[32];
    snprintf(ms, sizeof ms, "%sMs", key);
    return json_object_get(obj, ms);
}

static int decode_dist_mapping(struct decoder *dc, const json_t *v, const char *what,
                               struct rng_dist *out)
{
    static const struct schema_field fields[] = {
        {"dist", JSON_STRING, true},    {"value", JSON_REAL, false},
        {"mean", JSON_REAL, false},     {"median", JSON_REAL, false},
        {"p99", JSON_REAL, false},      {"valueMs", JSON_REAL, false},
        {"meanMs", JSON_REAL, false},   {"medianMs", JSON_REAL, false},
        {"p99Ms", JSON_REAL, false},
    };
    int rc = schema_check(&dc->s, v, what, fields, COUNT_OF(fields));
    if (rc < 0)
        return rc;
    const char *dist = json_string_value(json_object_get(v, "dist"));
    static const struct {
        const char *name;
        enum rng_dist_kind kind;
        const char *a, *b;
    } kinds[] = {{"constant", RNG_CONSTANT, "value", NULL},
                 {"exponential", RNG_EXPONENTIAL, "mean", NULL},
                 {"lognormal", RNG_LOGNORMAL, "median", "p99"}};
    for (size_t k = 0; k < COUNT_OF(kinds); k++) {
        if (strcmp(dist, kinds[k].name) != 0)
            continue;
        const json_t *a = param(v, kinds[k].a), *b = kinds[k].b ? param(v, kinds[k].b) : NULL;
        if (!a || (kinds[k].b && !b))
            return schema_fail_at(&dc->s, v, "a %s distribution needs \"%s\"%s%s%s", dist,
                                  kinds[k].a, kinds[k].b ? " and \"" : "",
                                  kinds[k].b ? kinds[k].b : "", kinds[k].b ? "\"" : "");
        *out = (struct rng_dist){.kind = kinds[k].kind};
        if (kinds[k].kind == RNG_LOGNORMAL) {
            out->median = json_number_value(a);
            out->p99 = json_number_value(b);
        } else {
            out->mean = json_number_value(a);
        }
        char why[128];
        return rng_dist_check(out, why, sizeof why) < 0 ? schema_fail_at(&dc->s, v, "%s", why)
                                                         : 0;
    }
    return schema_fail_member(&dc->s, v, "dist", false,
                              "unknown distribution \"%s\" (known: constant, exponential, "
                              "lognormal)", dist);
}

/* obj's member key: a number, or a distribution mapping. */
static int decode_dist(struct decoder *dc, const json_t *obj, const char *key,
                       struct rng_dist *out)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_number(v)) {
        *out = RNG_CONST(json_number_value(v));
        return json_number_value(v) >= 0
                   ? 0
                   : schema_fail_member(&dc->s, obj, key, false, "\"%s\" must not be negative",
                                        key);
    }
    if (json_is_object(v))
        return decode_dist_mapping(dc, v, "a distribution", out);
    return schema_fail_member(&dc->s, obj, key, false,
                              "\"%s\" must be a number or a distribution ({dist: ...}), not %s",
                              key, schema_type_name(v));
}

/* ---- the cluster, the device, the policy ---------------------------------- */

static int decode_cluster(struct decoder *dc, const json_t *v)
{
    struct scenario *sc = dc->sc;
    sc->cf = alloc_calloc(1, sizeof *sc->cf);
    const json_t *file = json_object_get(v, "file");
    int rc;
    if (file && json_object_size(v) == 1) {
        if (!json_is_string(file))
            return schema_fail_member(&dc->s, v, "file", false, "\"file\" must be a string");
        const char *path = json_string_value(file);
        char full[4096];
        snprintf(full, sizeof full, "%s%s%s", path[0] != '/' && dc->dir ? dc->dir : "",
                 path[0] != '/' && dc->dir ? "/" : "", path);
        rc = clusterfile_load(sc->cf, full, dc->s.e);
    } else {
        rc = clusterfile_decode_at(sc->cf, dc->s.doc, v, dc->s.e);
    }
    if (rc == 0)
        sc->cluster = &sc->cf->cluster;
    return rc;
}

static int decode_device(struct decoder *dc, const json_t *v)
{
    static const struct schema_field fields[] = {
        {"createMs", JSON_NULL, false},
        {"destroyMs", JSON_NULL, false},
    };
    struct emulated_config defaults;
    emulated_config_default(&defaults);
    dc->sc->create_ms = RNG_CONST((double)defaults.latency.create_ns / NS_PER_MS);
    dc->sc->destroy_ms = RNG_CONST((double)defaults.latency.destroy_ns / NS_PER_MS);
    if (!v)
        return 0;
    int rc = schema_check(&dc->s, v, "device", fields, COUNT_OF(fields));
    if (rc == 0 && json_object_get(v, "createMs"))
        rc = decode_dist(dc, v, "createMs", &dc->sc->create_ms);
    if (rc == 0 && json_object_get(v, "destroyMs"))
        rc = decode_dist(dc, v, "destroyMs", &dc->sc->destroy_ms);
    return rc;
}

static int decode_policy(struct decoder *dc, const json_t *root)
{
    const json_t *v = json_object_get(root, "policy");
    dc->sc->policy = PLACEMENT_POLICY_DEFAULT;
    struct err why;
    if (v && placement_policy_parse(json_string_value(v), &dc->sc->policy, &why) < 0)
        return schema_fail_member(&dc->s, root, "policy", false, "%s", why.msg);
    return 0;
}

/* The controller's cap on warm memory: absent, its default; 0, none. */
static int decode_warm_cap(struct decoder *dc, const json_t *root)
{
    const json_t *v = json_object_get(root, "warmMaxPercent");
    if (!v)
        return 0;
    json_int_t pct = json_integer_value(v);
    if (pct < 0 || pct > 100)
        return schema_fail_member(&dc->s, root, "warmMaxPercent", false,
                                  "warmMaxPercent must be 0 to 100, not %lld", (long long)pct);
    dc->sc->warm_max_percent = pct == 0 ? -1 : (int)pct;
    return 0;
}

/* How long an Event stays after its last write (kube-apiserver's
 * --event-ttl): absent, the store's hour. A run longer than the TTL keeps
 * only the last TTL's Events, so a lower one bounds what a run at a high
 * pod rate keeps of them. */
static int decode_event_ttl(struct decoder *dc, const json_t *root)
{
    const json_t *v = json_object_get(root, "eventTTLSeconds");
    if (!v)
        return 0;
    json_int_t s = json_integer_value(v);
    if (s <= 0 || s > INT32_MAX)
        return schema_fail_member(&dc->s, root, "eventTTLSeconds", false,
                                  s <= 0 ? "eventTTLSeconds must be above 0, not %lld"
                                         : "eventTTLSeconds must be at most 2147483647, not %lld",
                                  (long long)s);
    dc->sc->event_ttl_s = s;
    return 0;
}

/* ---- workload items --------------------------------------------------------- */

/* Whether some GPU of the cluster has profile. */
static bool cluster_has(const struct scenario *sc, const char *profile)
{
    for (size_t g = 0; g < sc->cluster->n_gpus; g++)
        if (catalog_find_profile(sc->cluster->gpus[g].occ.model, profile))
            return true;
    return false;
}

static int check_profile(struct decoder *dc, const json_t *obj)
{
    const char *profile = json_string_value(json_object_get(obj, "profile"));
    if (!cluster_has(dc->sc, profile))
        return schema_fail_member(&dc->s, obj, "profile", false,
                                  "no GPU of the cluster has profile \"%s\"", profile);
    return 0;
}

static int check_strings(struct decoder *dc, const json_t *map, const char *what)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)map, key, v) {
        if (!json_is_string(v))
            return schema_fail_member(&dc->s, map, key, false,
                                      "%s \"%s\" must be a string, not %s (quote it)", what, key,
                                      schema_type_name(v));
    }
    return 0;
}

/* The item's name, namespace and times, common to every kind. */
static int decode_common(struct decoder *dc, const json_t *obj, size_t i,
                         struct scenario_item *it)
{
    const char *name = json_string_value(json_object_get(obj, "name"));
    const char *ns = json_string_value(json_object_get(obj, "namespace"));
    if (name)
        snprintf(it->name, sizeof it->name, "%s", name);
    else
        snprintf(it->name, sizeof it->name, "workload-%zu", i);
    struct err why;
    if (strlen(it->name) > ITEM_NAME_MAX || meta_check_label_name(it->name, "name", &why) < 0)
        return schema_fail_member(&dc->s, obj, "name", false,
                                  "a workload name is a DNS-1123 label of at most %d characters",
                                  ITEM_NAME_MAX);
    it->ns = ns ? ns : SCENARIO_DEFAULT_NAMESPACE;
    if (meta_check_label_name(it->ns, "namespace", &why) < 0)
        return schema_fail_member(&dc->s, obj, "namespace", false, "%s", why.msg);
    for (size_t k = 0; k < i; k++)
        if (strcmp(dc->sc->items[k].name, it->name) == 0 &&
            strcmp(dc->sc->items[k].ns, it->ns) == 0)
            return schema_fail_member(&dc->s, obj, "name", false,
                                      "workload \"%s\" is named twice in namespace %s", it->name,
                                      it->ns);
    it->delete_at_s = -1;
    int rc = number(dc, obj, json_object_get(obj, "startAt") ? "startAt" : "at", 0, &it->at_s);
    if (rc == 0 && json_object_get(obj, "deleteAt")) {
        rc = number(dc, obj, "deleteAt", 0, &it->delete_at_s);
        if (rc == 0 && it->delete_at_s < it->at_s)
            rc = schema_fail_member(&dc->s, obj, "deleteAt", false,
                                    "deleteAt comes before the workload starts");
    }
    if (rc == 0 && json_object_get(obj, "inferenceSeconds")) {
        rc = number(dc, obj, "inferenceSeconds", 0, &it->inference_s);
        if (rc == 0 && !(it->inference_s > 0))
            rc = schema_fail_member(&dc->s, obj, "inferenceSeconds", false,
                                    "inferenceSeconds must be above 0");
    }
    if (rc == 0 && json_object_get(obj, "annotations")) {
        it->annotations = json_object_get(obj, "annotations");
        rc = check_strings(dc, it->annotations, "annotation");
    }
    return rc;
}

static int decode_batch(struct decoder *dc, const json_t *obj, size_t i,
                        struct scenario_item *it)
{
    static const struct schema_field fields[] = {
        {"name", JSON_STRING, false},    {"namespace", JSON_STRING, false},
        {"at", JSON_REAL, false},        {"count", JSON_INTEGER, true},
        {"profile", JSON_STRING, true},  {"runSeconds", JSON_NULL, true},
        {"annotations", JSON_OBJECT, false}, {"inferenceSeconds", JSON_REAL, false},
    };
    int rc = schema_check(&dc->s, obj, "a batch", fields, COUNT_OF(fields));
    it->kind = SCENARIO_BATCH;
    if (rc == 0)
        rc = decode_common(dc, obj, i, it);
    if (rc == 0)
        rc = count_of(dc, obj, "count", &it->count);
    if (rc == 0)
        rc = check_profile(dc, obj);
    it->profile = json_string_value(json_object_get(obj, "profile"));
    return rc == 0 ? decode_dist(dc, obj, "runSeconds", &it->run_s) : rc;
}

static int decode_mix(struct decoder *dc, const json_t *list, struct scenario_item *it)
{
    static const struct schema_field fields[] = {
        {"profile", JSON_STRING, true},
        {"weight", JSON_REAL, false},
        {"runSeconds", JSON_NULL, true},
    };
    if (json_array_size(list) == 0)
        return schema_fail_at(&dc->s, list, "a mix needs at least one profile");
    struct scenario_mix *mix = &dc->sc->mixes[dc->n_mixes];
    it->mix = mix;
    it->n_mix = json_array_size(list);
    dc->n_mixes += it->n_mix;
    for (size_t k = 0; k < it->n_mix; k++) {
        json_t *m;
        int rc = schema_mapping_item(&dc->s, list, k, "a mix entry", &m);
        if (rc == 0)
            rc = schema_check(&dc->s, m, "a mix entry", fields, COUNT_OF(fields));
        if (rc == 0)
            rc = check_profile(dc, m);
        if (rc == 0)
            rc = number(dc, m, "weight", 1, &mix[k].weight);
        if (rc == 0 && mix[k].weight <= 0)
            rc = schema_fail_member(&dc->s, m, "weight", false, "a weight must be above 0");
        if (rc == 0)
            rc = decode_dist(dc, m, "runSeconds", &mix[k].run_s);
        if (rc < 0)
            return rc;
        mix[k].profile = json_string_value(json_object_get(m, "profile"));
    }
    return 0;
}

static int decode_poisson(struct decoder *dc, const json_t *obj, size_t i,
                          struct scenario_item *it)
{
    static const struct schema_field fields[] = {
        {"generator", JSON_STRING, true},      {"name", JSON_STRING, false},
        {"namespace", JSON_STRING, false},     {"startAt", JSON_REAL, false},
        {"durationSeconds", JSON_REAL, true},  {"ratePerSecond", JSON_REAL, true},
        {"mix", JSON_ARRAY, true},             {"annotations", JSON_OBJECT, false},
        {"inferenceSeconds", JSON_REAL, false},
    };
    int rc = schema_check(&dc->s, obj, "a generator", fields, COUNT_OF(fields));
    it->kind = SCENARIO_POISSON;
    if (rc == 0 && strcmp(json_string_value(json_object_get(obj, "generator")), "poisson") != 0)
        rc = schema_fail_member(&dc->s, obj, "generator", false,
                                "unknown generator (known: poisson)");
    if (rc == 0)
        rc = decode_common(dc, obj, i, it);
    if (rc == 0)
        rc = number(dc, obj, "durationSeconds", 0, &it->duration_s);
    if (rc == 0)
        rc = number(dc, obj, "ratePerSecond", 0, &it->rate_per_s);
    if (rc == 0 && it->rate_per_s <= 0)
        rc = schema_fail_member(&dc->s, obj, "ratePerSecond", false,
                                "a rate must be above 0");
    return rc == 0 ? decode_mix(dc, json_object_get(obj, "mix"), it) : rc;
}

static int decode_owner(struct decoder *dc, const json_t *obj, size_t i,
                        struct scenario_item *it)
{
    static const struct schema_field deployment[] = {
        {"kind", JSON_STRING, true},        {"name", JSON_STRING, true},
        {"namespace", JSON_STRING, false},  {"at", JSON_REAL, false},
        {"replicas", JSON_INTEGER, true},   {"request", JSON_OBJECT, true},
        {"annotations", JSON_OBJECT, false}, {"deleteAt", JSON_REAL, false},
        {"inferenceSeconds", JSON_REAL, false},
    };
    static const struct schema_field job[] = {
        {"kind", JSON_STRING, true},          {"name", JSON_STRING, true},
        {"namespace", JSON_STRING, false},    {"at", JSON_REAL, false},
        {"completions", JSON_INTEGER, true},  {"parallelism", JSON_INTEGER, false},
        {"runSeconds", JSON_NULL, true},      {"request", JSON_OBJECT, true},
        {"annotations", JSON_OBJECT, false},  {"deleteAt", JSON_REAL, false},
        {"inferenceSeconds", JSON_REAL, false},
    };
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    bool is_job = kind && strcmp(kind, "Job") == 0;
    if (!kind || (!is_job && strcmp(kind, "Deployment") != 0))
        return schema_fail_member(&dc->s, obj, "kind", false,
                                  "a workload kind is Deployment or Job");
    it->kind = is_job ? SCENARIO_JOB : SCENARIO_DEPLOYMENT;
    int rc = is_job ? schema_check(&dc->s, obj, "a Job", job, COUNT_OF(job))
                    : schema_check(&dc->s, obj, "a Deployment", deployment,
                                   COUNT_OF(deployment));
    if (rc == 0)
        rc = decode_common(dc, obj, i, it);
    if (rc == 0)
        rc = count_of(dc, obj, is_job ? "completions" : "replicas", &it->count);
    if (rc == 0 && is_job)
        rc = count_of(dc, obj, "parallelism", &it->parallelism);
    if (rc == 0 && is_job)
        rc = decode_dist(dc, obj, "runSeconds", &it->run_s);
    it->request = json_object_get(obj, "request");
    return rc;
}

static int decode_item(struct decoder *dc, const json_t *list, size_t i)
{
    json_t *obj;
    int rc = schema_mapping_item(&dc->s, list, i, "a workload item", &obj);
    if (rc < 0)
        return rc;
    struct scenario_item *it = &dc->sc->items[i];
    if (json_object_get(obj, "generator"))
        return decode_poisson(dc, obj, i, it);
    if (json_object_get(obj, "kind"))
        return decode_owner(dc, obj, i, it);
    return decode_batch(dc, obj, i, it);
}

static int decode_workload(struct decoder *dc, const json_t *list)
{
    size_t n = json_array_size(list), mixes = 0;
    for (size_t i = 0; i < n; i++)
        mixes += json_array_size(json_object_get(json_array_get(list, i), "mix"));
    dc->sc->items = alloc_calloc(n + 1, sizeof *dc->sc->items);
    dc->sc->mixes = alloc_calloc(mixes + 1, sizeof *dc->sc->mixes);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++, dc->sc->n_items++)
        rc = decode_item(dc, list, i);
    return rc;
}

/* ---- namespaces and the root ------------------------------------------------ */

static int decode_namespaces(struct decoder *dc, const json_t *map)
{
    static const struct schema_field fields[] = {
        {"labels", JSON_OBJECT, false},
        {"annotations", JSON_OBJECT, false},
    };
    dc->sc->namespaces = alloc_calloc(json_object_size(map) + 1, sizeof *dc->sc->namespaces);
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)map, name, v) {
        struct err why;
        if (meta_check_label_name(name, "namespace", &why) < 0)
            return schema_fail_member(&dc->s, map, name, true, "%s", why.msg);
        if (!json_is_object(v))
            return schema_fail_member(&dc->s, map, name, false,
                                      "a namespace is a mapping, not %s", schema_type_name(v));
        int rc = schema_check(&dc->s, v, "a namespace", fields, COUNT_OF(fields));
        const json_t *labels = json_object_get(v, "labels");
        const json_t *annotations = json_object_get(v, "annotations");
        if (rc == 0 && labels)
            rc = check_strings(dc, labels, "label");
        if (rc == 0 && annotations)
            rc = check_strings(dc, annotations, "annotation");
        if (rc < 0)
            return rc;
        dc->sc->namespaces[dc->sc->n_namespaces++] =
            (struct scenario_namespace){name, labels, annotations};
    }
    return 0;
}

static int decode_root(struct decoder *dc, const json_t *root)
{
    static const struct schema_field fields[] = {
        {"cluster", JSON_OBJECT, true},     {"device", JSON_OBJECT, false},
        {"policy", JSON_STRING, false},     {"workload", JSON_ARRAY, true},
        {"namespaces", JSON_OBJECT, false}, {"seed", JSON_INTEGER, false},
        {"warmMaxPercent", JSON_INTEGER, false}, {"eventTTLSeconds", JSON_INTEGER, false},
    };
    if (!json_is_object(root))
        return schema_fail_at(&dc->s, root,
                              "a scenario is a mapping with \"cluster\" and \"workload\", not %s",
                              schema_type_name(root));
    int rc = schema_check(&dc->s, root, "a scenario", fields, COUNT_OF(fields));
    if (rc == 0)
        rc = decode_cluster(dc, json_object_get(root, "cluster"));
    if (rc == 0)
        rc = decode_device(dc, json_object_get(root, "device"));
    if (rc == 0)
        rc = decode_policy(dc, root);
    if (rc == 0)
        rc = decode_warm_cap(dc, root);
    if (rc == 0)
        rc = decode_event_ttl(dc, root);
    if (rc == 0)
        rc = decode_workload(dc, json_object_get(root, "workload"));
    if (rc == 0 && json_object_get(root, "namespaces"))
        rc = decode_namespaces(dc, json_object_get(root, "namespaces"));
    dc->sc->seed = (uint64_t)json_integer_value(json_object_get(root, "seed"));
    return rc;
}

int scenario_decode(struct scenario *sc, struct yaml_doc *doc, const char *dir, struct err *e)
{
    struct err local;
    *sc = (struct scenario){.doc = doc};
    struct decoder dc = {.s = {.doc = doc, .e = e ? e : &local}, .sc = sc, .dir = dir};
    int rc;
    if (yaml_doc_count(doc) != 1)
        rc = yaml_doc_fail(doc, NULL, dc.s.e, -EINVAL, "a scenario holds one YAML document, not %zu",
                           yaml_doc_count(doc));
    else
        rc = decode_root(&dc, yaml_doc_root(doc, 0));
    if (rc < 0)
        scenario_free(sc);
    return rc;
}

int scenario_load(struct scenario *sc, const char *path, struct err *e)
{
    struct yaml_doc *doc = NULL;
    *sc = (struct scenario){0};
    int rc = yaml_doc_load(path, NULL, &doc, e);
    if (rc < 0)
        return rc;
    char *copy = alloc_strdup(path);
    rc = scenario_decode(sc, doc, dirname(copy), e);
    free(copy);
    return rc;
}

void scenario_free(struct scenario *sc)
{
    if (!sc)
        return;
    if (sc->cf)
        clusterfile_free(sc->cf);
    free(sc->cf);
    free(sc->items);
    free(sc->mixes);
    free(sc->namespaces);
    yaml_doc_free(sc->doc);
    *sc = (struct scenario){0};
}

double scenario_expected_pods(const struct scenario *sc)
{
    double n = 0;
    for (size_t i = 0; i < sc->n_items; i++) {
        const struct scenario_item *it = &sc->items[i];
        n += it->kind == SCENARIO_POISSON ? it->rate_per_s * it->duration_s : (double)it->count;
    }
    return n;
}
