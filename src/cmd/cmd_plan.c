/*
 * `gpuslice plan`: the inference capacity planner from the command line.
 *
 *   gpuslice plan DIR|FILE [-o table|json]    plan once, print the plan
 *   gpuslice plan serve [--port N]            POST /plan, GET /healthz
 *   gpuslice plan apply --dry-run -p PLAN.json DEPLOYMENTS
 *
 * Everything that decides is in src/planner; this file reads files, routes
 * HTTP requests, and prints.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd/commands.h"
#include "planner/plan_apply.h"
#include "planner/plan_load.h"
#include "planner/plan_output.h"
#include "planner/plan_run.h"
#include "planner/solve.h"
#include "util/httpd.h"
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

static int plan_once(int argc, char **argv)
{
    static const struct option options[] = {{"output", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0}};
    bool json = false;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "o:", options, NULL)) != -1;) {
        if (c != 'o' || (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0))
            return usage_error("bad option; -o takes table or json", argv[optind - 1]);
        json = strcmp(optarg, "json") == 0;
    }
    if (optind != argc - 1)
        return usage_error("give one DIR or FILE", NULL);
    struct err e;
    err_clear(&e);
    struct plan_system sys;
    struct plan_result r;
    if (plan_load_path(argv[optind], &sys, &e) || plan_solve(&sys, &r, &e)) {
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
        respond(resp, 404, "text/plain", strdup("no such path; POST /plan or GET /healthz\n"));
    } else if (health) {
        respond(resp, strcmp(req->method, "GET") == 0 ? 200 : 405, "text/plain", strdup("ok\n"));
    } else if (strcmp(req->method, "POST") != 0) {
        respond(resp, 405, "text/plain", strdup("POST a problem to /plan\n"));
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
    /* Block the stop signals before the server's thread starts (this is
     * still the only thread), so that it inherits the mask and sigwait()
     * below receives them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop, NULL);
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
    int sig;
    sigwait(&stop, &sig);
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
            json_array_append(all, root);
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

static int apply(int argc, char **argv)
{
    static const struct option options[] = {
        {"dry-run", no_argument, NULL, 'n'}, {"plan", required_argument, NULL, 'p'}, {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0}};
    bool dry_run = false, json = false;
    const char *plan_path = NULL;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "p:o:", options, NULL)) != -1;) {
        if (c == 'n')
            dry_run = true;
        else if (c == 'p')
            plan_path = optarg;
        else if (c == 'o' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "text") == 0))
            json = strcmp(optarg, "json") == 0;
        else
            return usage_error("bad option", argv[optind - 1]);
    }
    if (!dry_run)
        return usage_error("only --dry-run is available until gpuslice has a cluster store", NULL);
    if (!plan_path || optind != argc - 1)
        return usage_error("give -p PLAN.json and one DEPLOYMENTS file", NULL);
    struct err e;
    err_clear(&e);
    json_error_t je;
    json_t *plan = json_load_file(plan_path, 0, &je), *objects = NULL, *patches = NULL;
    int rc = 1;
    if (!plan)
        fprintf(stderr, "gpuslice plan apply: %s:%d:%d: %s\n", plan_path, je.line, je.column, je.text);
    else if (read_objects(argv[optind], &objects, &e) || plan_apply_patches(plan, objects, &patches, &e))
        fprintf(stderr, "gpuslice plan apply: %s\n", e.msg);
    else if (json)
        rc = print_json(json_incref(patches));
    else {
        size_t i;
        json_t *item;
        json_array_foreach(patches, i, item)
            print_patch(item);
        rc = 0;
    }
    json_decref(plan);
    json_decref(objects);
    json_decref(patches);
    return rc;
}

int cmd_plan(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return serve(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "apply") == 0)
        return apply(argc - 1, argv + 1);
    return plan_once(argc, argv);
}
