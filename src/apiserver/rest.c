/*
 * Request dispatch for the REST API (rest.h): authentication, the body
 * limit, routing, content negotiation, then discovery, OpenAPI, health, or
 * the resource handlers.
 */
#include "apiserver/rest.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/status.h"
#include "apiserver/discovery.h"
#include "apiserver/handlers.h"
#include "apiserver/openapi.h"
#include "apiserver/query.h"
#include "util/alloc.h"
#include "util/httpd.h"
#include "util/jdoc.h"
#include "util/jsontext.h"

void rest_response_release(struct rest_response *resp)
{
    free(resp->body);
    watchstream_free(resp->stream);
    liststream_free(resp->list);
    podlogs_stream_free(resp->log);
    memset(resp, 0, sizeof *resp);
}

void rest_reply_json(struct rest_response *resp, int status, json_t *obj)
{
    resp->content_type = "application/json";
    resp->body = obj ? jsontext_dumps(obj) : NULL;
    json_decref(obj);
    if (resp->body) {
        resp->status = status;
        resp->len = strlen(resp->body);
        return;
    }
    /* Out of memory: a fixed answer needs no allocation. */
    static const char oom[] = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
                              "\"message\":\"out of memory\",\"reason\":\"InternalError\","
                              "\"code\":500}";
    resp->status = 500;
    resp->body = alloc_strdup(oom);
    resp->len = sizeof oom - 1;
}

void rest_reply_error(struct rest_response *resp, const struct err *e, const char *group,
                      const char *plural, const char *name)
{
    rest_reply_json(resp, status_http(e->code), status_from_err(e, group, plural, name));
}

static void reply_text(struct rest_response *resp, int status, const char *text)
{
    resp->status = status;
    resp->content_type = "text/plain; charset=utf-8";
    resp->body = alloc_strdup(text);
    resp->len = strlen(text);
}

static void reply_failure(struct rest_response *resp, int code, const char *msg)
{
    struct err e;
    err_set(&e, code, "%s", msg);
    rest_reply_error(resp, &e, NULL, NULL, NULL);
}

bool rest_authenticated(const struct rest_server *srv, const struct rest_request *req)
{
    static const char bearer[] = "Bearer ";
    const char *h = req->authorization;
    if (!srv->token)
        return true;
    return h && strncmp(h, bearer, sizeof bearer - 1) == 0 &&
           httpd_same_secret(h + sizeof bearer - 1, srv->token);
}

/* "/": the paths served, as the API server lists them. */
static json_t *root_paths(struct api_registry *reg)
{
    json_t *paths = json_pack("[s, s, s, s, s, s, s]", "/api", "/api/v1", "/apis", "/healthz",
                              "/livez", "/openapi/v3", "/readyz");
    const struct api_resource **v;
    size_t n = discovery_resources(reg, &v);
    for (size_t i = 0; paths && i < n; i++) {
        if (!v[i]->group[0])
            continue;
        char p[300];
        snprintf(p, sizeof p, "/apis/%s/%s", v[i]->group, v[i]->version);
        bool seen = false;
        size_t k;
        json_t *s;
        json_array_foreach(paths, k, s) {
            seen = seen || strcmp(json_string_value(s), p) == 0;
        }
        if (!seen)
            jdoc_append(paths, json_string(p));
    }
    free(v);
    jdoc_append(paths, json_string("/version"));
    return json_pack("{s:o}", "paths", paths);
}

/* Discovery, OpenAPI, health and version: GET only, JSON regardless of
 * what Accept asks (plain JSON is what makes kubectl use unaggregated
 * discovery). */
static void serve_info(const struct rest_server *srv, const struct route *rt,
                       struct rest_response *resp)
{
    struct api_registry *reg = store_registry(srv->store);
    json_t *doc = NULL;
    switch (rt->kind) {
    case ROUTE_HEALTH:
        reply_text(resp, 200, "ok");
        return;
    case ROUTE_ROOT:
        doc = root_paths(reg);
        break;
    case ROUTE_VERSION:
        doc = discovery_version(srv->version ? srv->version : "dev");
        break;
    case ROUTE_API:
        doc = discovery_core();
        break;
    case ROUTE_APIS:
        doc = discovery_groups(reg);
        break;
    case ROUTE_GROUP:
        doc = discovery_group(reg, rt->group);
        break;
    case ROUTE_GROUP_VERSION:
        doc = discovery_group_version(reg, rt->group, rt->version);
        break;
    case ROUTE_OPENAPI_INDEX:
        doc = openapi_index(reg);
        break;
    case ROUTE_OPENAPI_DOC:
        doc = openapi_group_version(reg, rt->group, rt->version);
        break;
    default:
        break;
    }
    if (doc)
        rest_reply_json(resp, 200, doc);
    else
        reply_failure(resp, -ENOENT, ROUTE_NOT_FOUND);
}

static void serve_resource(const struct rest_server *srv, const struct rest_request *req,
                           const struct route *rt, const char *query, size_t qlen,
                           struct rest_response *resp)
{
    struct err e;
    struct query q;
    struct handlers_call c = {.srv = srv, .req = req, .rt = rt, .q = &q};
    int rc = query_parse(query, qlen, &q, &e);
    if (rc == 0)
        rc = media_answer_type(req->accept, &c.answer, &c.meta_version, &e);
    if (rc == 0)
        rc = table_include_parse(query_get(&q, "includeObject"), &c.include, &e);
    if (rc == 0)
        handlers_serve(&c, resp);
    else
        rest_reply_error(resp, &e, rt->res->group, rt->res->plural, rt->name);
    query_free(&q);
}

/* The route of target (its path, before any '?'); rc of router_parse. */
static int route_of(const struct rest_server *srv, const char *target, struct route *rt,
                    struct err *e)
{
    const char *qmark = strchr(target, '?');
    size_t plen = qmark ? (size_t)(qmark - target) : strlen(target);
    return router_parse(store_registry(srv->store), target, plen, rt, e);
}

static bool is_read(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

bool rest_admits(const struct rest_server *srv, const struct rest_request *req,
                 struct rest_response *resp)
{
    memset(resp, 0, sizeof *resp);
    const char *target = req->target ? req->target : "";
    struct err e;
    if (strlen(target) > REST_MAX_TARGET_BYTES) {
        /* A transport limit, as a header limit is: before authentication. */
        err_set(&e, -ENAMETOOLONG, "the request URI is too long (limit %u bytes)",
                REST_MAX_TARGET_BYTES);
        rest_reply_error(resp, &e, NULL, NULL, NULL);
        return false;
    }
    struct route rt;
    int rc = route_of(srv, target, &rt, &e);
    /* Reads only: a POST to /healthz would otherwise have its body read
     * without a token. */
    bool public = rc == 0 && is_read(req->method) &&
                  (rt.kind == ROUTE_HEALTH || rt.kind == ROUTE_VERSION);
    if (!public && !rest_authenticated(srv, req)) {
        reply_failure(resp, -EACCES, "Unauthorized");
        return false;
    }
    return true;
}

/* One of `known` (NULL-terminated) equal to s, or "other": a label
 * takes only values the server knows, since anyone, without a token, picks
 * the method and the path of a request, and each new label value would be
 * a series kept for good. */
static const char *known_or_other(const char *s, const char *const *known)
{
    for (; *known; known++)
        if (strcmp(s, *known) == 0)
            return *known;
    return "other";
}

/* Whether the target's query asks for a watch (a refused watch has no
 * stream to tell). */
static bool asks_watch(const char *target)
{
    const char *qmark = strchr(target, '?');
    struct query q;
    bool watch = qmark && query_parse(qmark + 1, strlen(qmark + 1), &q, NULL) == 0 &&
                 query_bool(&q, "watch", false);
    if (qmark)
        query_free(&q);
    return watch;
}

/* Counts the answered request as kube-apiserver's apiserver_request_total
 * does: reads of a collection are LIST, or WATCH for a watch; other routes
 * (discovery, health) have no resource. */
static void count_request(const struct rest_server *srv, const struct rest_request *req,
                          const struct route *rt, bool routed, const struct rest_response *resp)
{
    static const char *const writes[] = {"POST", "PUT", "PATCH", "DELETE", NULL};
    static const char *const subresources[] = {"status", "binding", "log", NULL};
    if (!srv->requests)
        return;
    bool resource = routed && (rt->kind == ROUTE_COLLECTION || rt->kind == ROUTE_OBJECT);
    const char *verb = known_or_other(req->method, writes);
    if (is_read(req->method))
        verb = resource && rt->kind == ROUTE_COLLECTION
                   ? (resp->stream || asks_watch(req->target ? req->target : "") ? "WATCH"
                                                                                 : "LIST")
                   : "GET";
    char code[16];
    snprintf(code, sizeof code, "%d", resp->status);
    prom_add(srv->requests, 1, verb, resource ? rt->res->plural : "",
             resource && rt->subresource ? known_or_other(rt->subresource, subresources) : "",
             code);
}

void rest_count_refused(const struct rest_server *srv, const struct rest_request *req,
                        const struct rest_response *resp)
{
    struct route rt;
    struct err e;
    const char *target = req->target ? req->target : "";
    bool routed = srv->requests && strlen(target) <= REST_MAX_TARGET_BYTES &&
                  route_of(srv, target, &rt, &e) == 0;
    count_request(srv, req, &rt, routed, resp);
}

void rest_handle(const struct rest_server *srv, const struct rest_request *req,
                 struct rest_response *resp)
{
    struct err e;
    struct route rt;
    size_t max = srv->max_body ? srv->max_body : REST_MAX_BODY_DEFAULT;
    if (!rest_admits(srv, req, resp)) {
        rest_count_refused(srv, req, resp);
        return;
    }
    const char *target = req->target ? req->target : "";
    const char *qmark = strchr(target, '?');
    int rc = route_of(srv, target, &rt, &e);
    bool get = is_read(req->method);
    struct rest_request as_get = *req;
    as_get.method = "GET";
    if (req->body_len > max)
        reply_failure(resp, -E2BIG, "the request body is too large");
    else if (rc != 0)
        rest_reply_error(resp, &e, NULL, NULL, NULL);
    else if (rt.kind == ROUTE_COLLECTION || rt.kind == ROUTE_OBJECT)
        serve_resource(srv, get ? &as_get : req, &rt, qmark ? qmark + 1 : "",
                       qmark ? strlen(qmark + 1) : 0, resp);
    else if (!get)
        reply_failure(resp, -ENOSYS, "the server does not allow this method on the requested "
                                     "resource");
    else
        serve_info(srv, &rt, resp);
    count_request(srv, req, &rt, rc == 0, resp);
}
