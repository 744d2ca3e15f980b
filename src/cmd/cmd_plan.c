/*
 * `gpuslice plan`: the inference capacity planner from the command line.
 *
 *   gpuslice plan DIR|FILE [-o table|json] [--model compatible|gpuslice]
 *                                             plan once, print the plan
 *   gpuslice plan --compare DIR|FILE          both models' plans side by side
 *   gpuslice plan --judge [-o json] [--sizing mean|judged] [--seconds S] [--seed N] [--percentile P] DIR|FILE
 *                                             both plans, simulated and judged
 *   gpuslice plan --sizing judged [-o json] [--model M] [--seconds S] ... DIR|FILE
 *                                             a plan sized until the judge finds it meets the targets
 *   gpuslice plan serve [--port N]            POST /plan, GET /healthz
 *   gpuslice plan apply -p PLAN.json [--kubeconfig F] [-n NS] [--dry-run]
 *   gpuslice plan apply --dry-run -p PLAN.json DEPLOYMENTS
 *
 * Everything that decides is in src/planner; this file reads files and the
 * cluster's Deployments, sends the planner's patches, routes HTTP requests,
 * and prints.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd/commands.h"
#include "cmd/signals.h"
#include "planner/plan_apply.h"
#include "planner/plan_judged.h"
#include "planner/plan_load.h"
#include "planner/plan_output.h"
#include "planner/plan_run.h"
#include "planner/solve.h"
#include "store/kube.h"
#include "store/retry.h"
#include "util/alloc.h"
#include "util/httpd.h"
#include "util/jdoc.h"
#include "util/yaml.h"

#define PLAN_DEFAULT_PORT 8090

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "gpuslice plan: %s%s%s; see 'gpuslice help plan'\n", what, arg ? ": " : "", arg ? arg : "");
    return 2;
}

/* Prints doc and drops the reference. */
static int print_json(json_t *doc)
{
    char *text = doc ? json_dumps(doc, PLAN_JSON_DUMP_FLAGS) : NULL;
    json_decref(doc);
    if (!text) {
        fprintf(stderr, "gpuslice plan: out of memory\n");
        return 1;
    }
    puts(text);
    free(text);
    return 0;
}

/* Plans sys in both models and prints them side by side. */
static int compare_models(struct plan_system *sys, struct err *e)
{
    struct plan_result compatible, gpuslice;
    sys->options.model = PLAN_MODEL_COMPATIBLE;
    int rc = plan_solve(sys, &compatible, e);
    if (rc)
        return rc;
    sys->options.model = PLAN_MODEL_GPUSLICE;
    if ((rc = plan_solve(sys, &gpuslice, e)) == 0) {
        rc = plan_compare_table(sys, &compatible, &gpuslice, stdout);
        if (rc)
            err_set(e, rc, "cannot write the table");
        plan_result_free(&gpuslice);
    }
    plan_result_free(&compatible);
    return rc;
}

/* One plan of sys in a model, as the judge found it: sized for the means
 * (rounds -1) or by the judge. */
struct judged_plan {
    struct plan_result plan;
    struct judge_result judged;
    struct plan_judged_report rep;
    int rounds;
};

static int judge_one(struct plan_system *sys, enum plan_queue_model model, const struct judge_options *o,
                     bool by_judge, struct judged_plan *out, struct err *e)
{
    sys->options.model = model;
    out->rounds = -1;
    if (by_judge) {
        int rc = plan_solve_judged(sys, o, PLAN_JUDGED_MAX_ROUNDS, &out->plan, &out->judged, &out->rep, e);
        out->rounds = out->rep.rounds;
        return rc;
    }
    int rc = plan_solve(sys, &out->plan, e);
    return rc ? rc : judge_plan(sys, &out->plan, o, &out->judged, e);
}

static void judged_plan_free(struct judged_plan *p)
{
    plan_result_free(&p->plan);
    judge_result_free(&p->judged);
    plan_judged_report_free(&p->rep);
}

/* Plans sys in both models, simulates the plans and prints the judge's
 * table or JSON; with by_judge, each model's plan sized by the judge too,
 * after the one sized for the means. */
static int judge_models(struct plan_system *sys, const struct judge_options *o, bool by_judge, bool json,
                        struct err *e)
{
    static const enum plan_queue_model models[2] = {PLAN_MODEL_COMPATIBLE, PLAN_MODEL_GPUSLICE};
    struct judged_plan plans[4] = {0};
    struct plan_judged table[4];
    size_t n = 0;
    int rc = 0;
    for (int k = 0; rc == 0 && k < 2; k++)
        for (int sized = 0; rc == 0 && sized <= (int)by_judge; sized++, n++) {
            rc = judge_one(sys, models[k], o, sized, &plans[n], e);
            table[n] = (struct plan_judged){plan_queue_model_name(models[k]), &plans[n].plan, &plans[n].judged,
                                            plans[n].rounds};
        }
    if (rc == 0 && json && print_json(plan_judge_json(sys, table, n, o->seed)))
        rc = err_set(e, -ENOMEM, "out of memory");
    else if (rc == 0 && !json && (rc = plan_judge_table(sys, table, n, stdout)) != 0)
        err_set(e, rc, "cannot write the table");
    for (size_t k = 0; k < n; k++)
        judged_plan_free(&plans[k]);
    return rc;
}

/* Plans sys in its model sized by the judge and prints the plan, with what
 * the sizing did. */
static int plan_by_judge(struct plan_system *sys, const struct judge_options *o, bool json, struct err *e)
{
    struct judged_plan p = {0};
    int rc = judge_one(sys, sys->options.model, o, true, &p, e);
    if (rc == 0 && json) {
        json_t *doc = plan_result_json(sys, &p.plan), *sizing = plan_sizing_json(sys, &p.rep, &p.judged);
        if (!doc || !sizing || json_object_set_new(json_object_get(doc, "summary"), "sizing", sizing) != 0)
            rc = err_set(e, -ENOMEM, "out of memory");
        else
            rc = print_json(json_incref(doc)) ? err_set(e, -ENOMEM, "out of memory") : 0;
        json_decref(doc);
    } else if (rc == 0) {
        rc = plan_result_table(sys, &p.plan, stdout);
        printf("sized by the judge in %d round%s: %zu of %zu servers meet their targets as judged "
               "(sized for the means: cost %.2f, %zu meeting)\n",
               p.rep.rounds, p.rep.rounds == 1 ? "" : "s", p.judged.meeting, p.judged.n_servers, p.rep.unsized_cost,
               p.rep.unsized_meeting);
        if (rc)
            err_set(e, rc, "cannot write the table");
    }
    judged_plan_free(&p);
    return rc;
}

/* A number option in [lo, hi] (exclusive ends when open); false when it is not one. */
static bool parse_number(const char *text, double lo, double hi, bool open, double *out)
{
    char *end;
    double x = strtod(text, &end);
    if (end == text || *end || !isfinite(x) || (open ? x <= lo || x >= hi : x < lo || x > hi))
        return false;
    *out = x;
    return true;
}

static int plan_once(int argc, char **argv)
{
    static const struct option options[] = {{"output", required_argument, NULL, 'o'},
                                            {"model", required_argument, NULL, 'm'},
                                            {"compare", no_argument, NULL, 'c'},
                                            {"judge", no_argument, NULL, 'j'},
                                            {"seconds", required_argument, NULL, 's'},
                                            {"seed", required_argument, NULL, 'S'},
                                            {"percentile", required_argument, NULL, 'P'},
                                            {"sizing", required_argument, NULL, 'z'},
                                            {NULL, 0, NULL, 0}};
    bool json = false, model_given = false, compare = false, judge = false, judge_opts = false, by_judge = false;
    struct judge_options jo = {JUDGE_DEFAULT_SECONDS, JUDGE_DEFAULT_SEED, JUDGE_DEFAULT_PERCENTILE};
    double seed = 0;
    enum plan_queue_model model = PLAN_MODEL_COMPATIBLE;
    struct err e;
    err_clear(&e);
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "o:m:", options, NULL)) != -1;) {
        if (c == 'm' && plan_queue_model_parse(optarg, &model, &e) == 0)
            model_given = true;
        else if (c == 'c')
            compare = true;
        else if (c == 'j')
            judge = true;
        else if (c == 's' && parse_number(optarg, 0, 1e9, true, &jo.seconds))
            judge_opts = true;
        else if (c == 'S' && parse_number(optarg, 0, 0x1p53, false, &seed) && seed == floor(seed))
            judge_opts = true, jo.seed = (uint64_t)seed;
        else if (c == 'P' && parse_number(optarg, 0, 100, true, &jo.percentile))
            judge_opts = true;
        else if (c == 'o' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0))
            json = strcmp(optarg, "json") == 0;
        else if (c == 'z' && (strcmp(optarg, "judged") == 0 || strcmp(optarg, "mean") == 0))
            by_judge = strcmp(optarg, "judged") == 0;
        else
            return usage_error("bad option; -o takes table or json, --model compatible or gpuslice, "
                               "--sizing mean or judged, --seconds a time > 0, --seed a whole number >= 0, "
                               "--percentile (0, 100)",
                               argv[optind - 1]);
    }
    if (optind != argc - 1)
        return usage_error("give one DIR or FILE", NULL);
    if (compare && (json || model_given || by_judge))
        return usage_error("--compare prints both models' plans as a table; it takes no -o, --model or --sizing",
                           NULL);
    if (judge && model_given)
        return usage_error("--judge judges both models' plans; it takes no --model", NULL);
    if (compare && judge)
        return usage_error("give --compare or --judge, not both", NULL);
    if (judge_opts && !judge && !by_judge)
        return usage_error("--seconds, --seed and --percentile go with --judge or --sizing judged", NULL);
    struct plan_system sys;
    struct plan_result r;
    if (plan_load_path(argv[optind], &sys, &e)) {
        fprintf(stderr, "gpuslice plan: %s\n", e.msg);
        return 1;
    }
    if (compare || judge) {
        int rc = compare ? compare_models(&sys, &e) : judge_models(&sys, &jo, by_judge, json, &e);
        if (rc < 0)
            fprintf(stderr, "gpuslice plan: %s\n", e.msg);
        plan_system_free(&sys);
        return rc ? 1 : 0;
    }
    if (model_given)
        sys.options.model = model;
    if (by_judge) {
        int rc = plan_by_judge(&sys, &jo, json, &e);
        if (rc < 0)
            fprintf(stderr, "gpuslice plan: %s\n", e.msg);
        plan_system_free(&sys);
        return rc ? 1 : 0;
    }
    if (plan_solve(&sys, &r, &e)) {
        fprintf(stderr, "gpuslice plan: %s\n", e.msg);
        plan_system_free(&sys);
        return 1;
    }
    int rc = json ? print_json(plan_result_json(&sys, &r)) : plan_result_table(&sys, &r, stdout) ? 1 : 0;
    plan_result_free(&r);
    plan_system_free(&sys);
    return rc;
}

/* Sets a plain-text or JSON body; on ENOMEM the body stays empty. */
static void respond(struct httpd_response *resp, int status, const char *type, char *body)
{
    resp->status = status;
    resp->content_type = type;
    resp->body = body;
    resp->body_len = body ? strlen(body) : 0;
}

static void serve_request(void *ctx, const struct httpd_request *req, struct httpd_response *resp)
{
    (void)ctx;
    bool plan = strcmp(req->path, "/plan") == 0, health = strcmp(req->path, "/healthz") == 0;
    if (!plan && !health) {
        respond(resp, 404, "text/plain", alloc_strdup("no such path; POST /plan or GET /healthz\n"));
    } else if (health) {
        respond(resp, strcmp(req->method, "GET") == 0 ? 200 : 405, "text/plain", alloc_strdup("ok\n"));
    } else if (strcmp(req->method, "POST") != 0) {
        respond(resp, 405, "text/plain", alloc_strdup("POST a problem to /plan\n"));
    } else {
        struct err e;
        err_clear(&e);
        char *out = NULL;
        int rc = plan_run_text(req->body, req->body_len, "request body", &out, &e);
        if (rc == 0) {
            respond(resp, 200, "application/json", out);
            return;
        }
        json_t *doc = json_pack("{s:s}", "error", e.msg);
        respond(resp, rc == -EINVAL ? 400 : 500, "application/json",
                doc ? json_dumps(doc, JSON_COMPACT) : NULL);
        json_decref(doc);
    }
}

static int serve(int argc, char **argv)
{
    static const struct option options[] = {{"port", required_argument, NULL, 'P'}, {NULL, 0, NULL, 0}};
    long port = PLAN_DEFAULT_PORT;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "", options, NULL)) != -1;) {
        char *end;
        port = c == 'P' ? strtol(optarg, &end, 10) : -1;
        if (c != 'P' || *end || port < 0 || port > 65535)
            return usage_error("bad option; --port takes 0 .. 65535", argv[optind - 1]);
    }
    if (optind != argc)
        return usage_error("serve takes no arguments", argv[optind]);
    /* Before the server's thread starts, so that it inherits the mask. */
    cmd_signals_block();
    struct err e;
    err_clear(&e);
    struct httpd *h;
    if (httpd_start((uint16_t)port, serve_request, NULL, &h, &e)) {
        fprintf(stderr, "gpuslice plan serve: %s\n", e.msg);
        return 1;
    }
    printf("gpuslice plan serve: listening on http://127.0.0.1:%u (POST /plan, GET /healthz)\n",
           (unsigned)httpd_port(h));
    fflush(stdout);
    cmd_signals_wait(-1);
    httpd_stop(h);
    return 0;
}

/* The objects of every document of a JSON or YAML stream, as one array. */
static int read_objects(const char *path, json_t **out, struct err *e)
{
    struct yaml_doc *doc;
    int rc = yaml_doc_load(path, NULL, &doc, e);
    if (rc)
        return rc;
    json_t *all = json_array();
    for (size_t i = 0; all && i < yaml_doc_count(doc); i++) {
        json_t *root = yaml_doc_root(doc, i);
        json_t *items = json_is_array(root) ? root : json_object_get(root, "items");
        if (items)
            json_array_extend(all, items);
        else if (root)
            jdoc_append(all, json_incref(root));
    }
    yaml_doc_free(doc);
    if (!all)
        return err_set(e, -ENOMEM, "out of memory");
    *out = all;
    return 0;
}

static void print_patch(const json_t *item)
{
    const char *ns = json_string_value(json_object_get(item, "namespace"));
    const char *name = json_string_value(json_object_get(item, "name"));
    const char *server = json_string_value(json_object_get(item, "server"));
    const json_t *skipped = json_object_get(item, "skipped");
    if (skipped) {
        printf("# %s/%s (server %s): unchanged, %s\n", ns, name, server, json_string_value(skipped));
        return;
    }
    const json_t *patch = json_object_get(item, "patch");
    if (json_array_size(patch) == 0) {
        printf("# %s/%s (server %s): already as planned\n", ns, name, server);
        return;
    }
    printf("# %s/%s (server %s):", ns, name, server);
    size_t i;
    json_t *line;
    json_array_foreach(json_object_get(item, "changes"), i, line)
        printf("%s %s", i ? ";" : "", json_string_value(line));
    char *ops = json_dumps(patch, JSON_COMPACT);
    printf("\nkubectl patch deployment %s -n %s --type json -p '%s'\n", name, ns, ops ? ops : "");
    free(ops);
}

/* Where apply finds the cluster: -n, else the kubeconfig context's, else
 * "default". */
struct cluster_opts {
    const char *kubeconfig; /* NULL: kube_config_default */
    const char *ns;         /* NULL: the context's */
};

static int cluster_open(const struct cluster_opts *o, struct store **st, char **ns, struct err *e)
{
    struct kube_config *cfg;
    int rc = o->kubeconfig ? kube_config_load(o->kubeconfig, NULL, &cfg, e) : kube_config_default(&cfg, e);
    if (rc)
        return rc;
    *ns = strdup(o->ns ? o->ns : cfg->ns ? cfg->ns : "default");
    rc = *ns ? kube_store_new(cfg, NULL, st, e) : err_set(e, -ENOMEM, "out of memory");
    kube_config_free(cfg);
    if (rc) {
        free(*ns);
        *ns = NULL;
    }
    return rc;
}

static const struct api_resource *deployments(struct store *st)
{
    return api_registry_find(store_registry(st), "apps", "v1", "deployments");
}

/* Makes obj say its kind, which plan_apply_patches goes by (the API server
 * leaves it out of list items). */
static int as_deployment(json_t *obj, struct err *e)
{
    if (json_object_set_new(obj, "kind", json_string("Deployment")) != 0)
        return err_set(e, -ENOMEM, "out of memory");
    return 0;
}

static int list_deployments(struct store *st, const char *ns, json_t **out, struct err *e)
{
    int rc = store_list(st, deployments(st), ns, NULL, out, e);
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(rc ? NULL : *out, "items"), i, item)
        if (rc == 0)
            rc = as_deployment(item, e);
    return rc;
}

/* Sends one Deployment's patch, pinned to the version it was built from.
 * On a Conflict someone wrote the Deployment in between: re-read it,
 * rebuild its patch, and send that (the plan is the goal, not the diff).
 * *item is replaced by the patch last built. */
static int apply_one(struct store *st, const json_t *plan, const char *ns, json_t **item, const json_t *dep,
                     struct err *e)
{
    const char *name = json_string_value(json_object_get(*item, "name"));
    int rc = 0;
    for (int attempt = 0; attempt < STORE_RETRY_ATTEMPTS; attempt++) {
        json_t *fresh = NULL, *rebuilt = NULL;
        if (attempt > 0) {
            if ((rc = store_get(st, deployments(st), ns, name, &fresh, e)) != 0 ||
                (rc = as_deployment(fresh, e)) != 0 || (rc = plan_apply_patches(plan, fresh, &rebuilt, e)) != 0) {
                json_decref(fresh);
                return rc;
            }
            json_decref(*item);
            *item = json_incref(json_array_get(rebuilt, 0));
            json_decref(rebuilt);
            dep = fresh;
        }
        json_t *patch = json_object_get(*item, "patch");
        json_t *pinned = json_copy(patch);
        if (json_array_size(patch) == 0) {
            rc = 0;
        } else if (!pinned) {
            rc = err_set(e, -ENOMEM, "out of memory");
        } else if ((rc = plan_apply_pin(pinned, dep, e)) == 0) {
            rc = store_patch(st, deployments(st), ns, name, STORE_PATCH_JSON, pinned, NULL, NULL, e);
        }
        json_decref(pinned);
        json_decref(fresh);
        if (rc != -ESTALE)
            return rc;
    }
    return rc;
}

static void print_applied(const json_t *item)
{
    const char *ns = json_string_value(json_object_get(item, "namespace"));
    const char *name = json_string_value(json_object_get(item, "name"));
    const char *server = json_string_value(json_object_get(item, "server"));
    const json_t *skipped = json_object_get(item, "skipped");
    const json_t *changes = json_object_get(item, "changes");
    if (skipped || json_array_size(changes) == 0) {
        printf("%s/%s (server %s): unchanged, %s\n", ns, name, server,
               skipped ? json_string_value(skipped) : "already as planned");
        return;
    }
    printf("%s/%s (server %s): patched:", ns, name, server);
    size_t i;
    json_t *line;
    json_array_foreach(changes, i, line)
        printf("%s %s", i ? ";" : "", json_string_value(line));
    putchar('\n');
}

/* The Deployments of the plan's servers from a file (dry run) or the
 * cluster, and their patches; the patches are sent unless dry_run. Every
 * server must have its Deployment before anything is written. */
static int apply_plan(const json_t *plan, const char *file, const struct cluster_opts *co, bool dry_run, bool json,
                      struct err *e)
{
    struct store *st = NULL;
    char *ns = NULL;
    json_t *objects = NULL, *patches = NULL;
    int rc = file ? read_objects(file, &objects, e) : cluster_open(co, &st, &ns, e);
    if (rc == 0 && !file)
        rc = list_deployments(st, ns, &objects, e);
    if (rc == 0)
        rc = plan_apply_patches(plan, objects, &patches, e);
    if (rc == 0 && !file)
        rc = plan_apply_check_coverage(plan, patches, e);
    size_t i;
    json_t *item;
    /* Every listed object is a Deployment, so patches[i] is items[i]'s. */
    json_array_foreach(patches, i, item) {
        if (rc || dry_run)
            break;
        json_t *mine = json_incref(item);
        rc = apply_one(st, plan, ns, &mine, json_array_get(json_object_get(objects, "items"), i), e);
        if ((!mine || json_array_set_new(patches, i, mine) != 0) && rc == 0)
            rc = err_set(e, -EINVAL, "deployment %zu: no patch was rebuilt", i);
        if (rc)
            err_prefix(e, rc, "deployment %s/%s: ", ns, json_string_value(json_object_get(mine, "name")));
        else if (!json)
            print_applied(mine);
    }
    if (rc == 0 && json && print_json(json_incref(patches)))
        rc = err_set(e, -ENOMEM, "out of memory");
    else if (rc == 0 && dry_run)
        json_array_foreach(patches, i, item)
            print_patch(item);
    json_decref(objects);
    json_decref(patches);
    store_free(st);
    free(ns);
    return rc;
}

static int apply(int argc, char **argv)
{
    static const struct option options[] = {
        {"dry-run", no_argument, NULL, 'd'},           {"plan", required_argument, NULL, 'p'},
        {"output", required_argument, NULL, 'o'},      {"kubeconfig", required_argument, NULL, 'k'},
        {"namespace", required_argument, NULL, 'n'},   {NULL, 0, NULL, 0}};
    bool dry_run = false, json = false;
    const char *plan_path = NULL;
    struct cluster_opts co = {0};
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "p:o:n:", options, NULL)) != -1;) {
        if (c == 'd')
            dry_run = true;
        else if (c == 'p')
            plan_path = optarg;
        else if (c == 'k')
            co.kubeconfig = optarg;
        else if (c == 'n')
            co.ns = optarg;
        else if (c == 'o' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "text") == 0))
            json = strcmp(optarg, "json") == 0;
        else
            return usage_error("bad option", argv[optind - 1]);
    }
    if (!plan_path || optind < argc - 1)
        return usage_error("give -p PLAN.json, and a DEPLOYMENTS file only with --dry-run", NULL);
    if (optind == argc - 1 && !dry_run)
        return usage_error("a DEPLOYMENTS file is read only with --dry-run; the live form reads the cluster",
                           argv[optind]);
    json_error_t je;
    json_t *plan = json_load_file(plan_path, 0, &je);
    if (!plan) {
        fprintf(stderr, "gpuslice plan apply: %s:%d:%d: %s\n", plan_path, je.line, je.column, je.text);
        return 1;
    }
    struct err e;
    err_clear(&e);
    int rc = apply_plan(plan, optind < argc ? argv[optind] : NULL, &co, dry_run, json, &e);
    if (rc)
        fprintf(stderr, "gpuslice plan apply: %s\n", e.msg);
    json_decref(plan);
    return rc ? 1 : 0;
}

int cmd_plan(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return serve(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "apply") == 0)
        return apply(argc - 1, argv + 1);
    return plan_once(argc, argv);
}
