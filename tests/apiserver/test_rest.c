/*
 * The REST layer in process (rest.h, handlers, router, media): every verb,
 * the Status answer for every kind of failure, tables, discovery and
 * OpenAPI, CRDs becoming served, and bad input of every sort.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apiserver/jsonpath.h"
#include "helpers.h"
#include "store/mem.h"

#define POD(name) "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" name \
    "\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}"
#define PODS "/api/v1/namespaces/default/pods"
#define TABLE_ACCEPT "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

static void expect_status(struct fixture *f, const char *method, const char *target,
                          const char *body, int status, const char *reason)
{
    struct reply r = call(f, method, target, body);
    assert_int_equal(r.status, status);
    assert_string_equal(reply_reason(&r), reason);
    if (*reason)
        assert_int_equal(json_integer_value(reply_at(&r, ".code")), status);
    reply_free(&r);
}

static void create_pod(struct fixture *f, const char *body)
{
    struct reply r = call(f, "POST", PODS, body);
    assert_int_equal(r.status, 201);
    reply_free(&r);
}

static void crud_round_trip(void **state)
{
    struct fixture *f = *state;
    struct reply r = call(f, "POST", PODS, POD("web"));
    assert_int_equal(r.status, 201);
    assert_string_equal(json_string_value(reply_at(&r, ".metadata.namespace")), "default");
    assert_non_null(reply_at(&r, ".metadata.uid"));
    reply_free(&r);

    r = call(f, "GET", PODS "/web", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(reply_at(&r, ".kind")), "Pod");
    json_t *obj = json_incref(r.json);
    reply_free(&r);

    json_object_set_new(json_object_get(json_object_get(obj, "metadata"), "labels"), "tier",
                        json_string("front"));
    char *body = json_dumps(obj, JSON_COMPACT);
    r = call(f, "PUT", PODS "/web", body);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(reply_at(&r, ".metadata.labels.tier")), "front");
    reply_free(&r);
    /* The same body again carries the old resourceVersion: a conflict. */
    expect_status(f, "PUT", PODS "/web", body, 409, "Conflict");
    free(body);
    json_decref(obj);

    r = call(f, "DELETE", PODS "/web", NULL);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    expect_status(f, "GET", PODS "/web", NULL, 404, "NotFound");
}

static void errors_are_statuses(void **state)
{
    struct fixture *f = *state;
    create_pod(f, POD("web"));
    expect_status(f, "POST", PODS, POD("web"), 409, "AlreadyExists");
    expect_status(f, "POST", PODS, POD("Bad_Name"), 422, "Invalid");
    expect_status(f, "POST", PODS, "{\"kind\":\"Pod\",", 400, "BadRequest");
    expect_status(f, "POST", PODS, "[1,2]", 400, "BadRequest");
    expect_status(f, "POST", PODS, "", 400, "BadRequest");
    expect_status(f, "POST", PODS, "{\"kind\":\"Node\",\"metadata\":{\"name\":\"x\"}}", 400,
                  "BadRequest");
    expect_status(f, "POST", PODS, "{\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"x\"}}",
                  400, "BadRequest");
    expect_status(f, "PUT", PODS "/other", POD("web"), 400, "BadRequest");
    expect_status(f, "PUT", PODS, POD("web"), 405, "MethodNotAllowed");
    expect_status(f, "POST", "/api/v1/pods", POD("x"), 405, "MethodNotAllowed");
    expect_status(f, "GET", "/api/v1/pods/web", NULL, 404, "NotFound");
    expect_status(f, "GET", "/api/v1/widgets", NULL, 404, "NotFound");
    expect_status(f, "GET", "/apis/nope.io/v1/things", NULL, 404, "NotFound");
    expect_status(f, "GET", "/nothing/here", NULL, 404, "NotFound");
    expect_status(f, "GET", PODS "/web/nothing", NULL, 404, "NotFound");
    expect_status(f, "POST", "/api/v1/namespaces/ghost/pods", POD("x"), 404, "NotFound");
    expect_status(f, "GET", PODS "?limit=-1", NULL, 400, "BadRequest");
    expect_status(f, "GET", PODS "?labelSelector=a%20in%20(", NULL, 400, "BadRequest");
    expect_status(f, "GET", PODS "?fieldSelector=spec.bogus%3Dx", NULL, 400, "BadRequest");
    expect_status(f, "GET", PODS "/we%zzb", NULL, 400, "BadRequest");
    expect_status(f, "POST", PODS "?dryRun=Some", POD("y"), 400, "BadRequest");
    expect_status(f, "POST", PODS "?fieldValidation=Loose", POD("y"), 400, "BadRequest");
    expect_status(f, "GET", PODS "?includeObject=All", NULL, 400, "BadRequest");
    expect_status(f, "DELETE", PODS "/web?propagationPolicy=Sideways", NULL, 422, "Invalid");
    expect_status(f, "PATCH", PODS "/web", "{}", 415, "UnsupportedMediaType");
    struct reply r = rest_call(f, "PATCH", PODS "/web?force=true", "application/merge-patch+json",
                               NULL, "{}", NULL);
    assert_int_equal(r.status, 400);
    reply_free(&r);
}

static void status_names_the_object(void **state)
{
    struct fixture *f = *state;
    struct reply r = call(f, "GET", PODS "/ghost", NULL);
    assert_int_equal(r.status, 404);
    assert_string_equal(json_string_value(reply_at(&r, ".kind")), "Status");
    assert_string_equal(json_string_value(reply_at(&r, ".status")), "Failure");
    assert_string_equal(json_string_value(reply_at(&r, ".details.name")), "ghost");
    assert_string_equal(json_string_value(reply_at(&r, ".details.kind")), "pods");
    assert_non_null(strstr(json_string_value(reply_at(&r, ".message")), "ghost"));
    reply_free(&r);
}

static void body_limit_and_auth(void **state)
{
    struct fixture *f = *state;
    f->srv.max_body = 64;
    expect_status(f, "POST", PODS, POD("a-pod-with-a-body-over-sixty-four-bytes"), 413,
                  "RequestEntityTooLarge");
    f->srv.max_body = 0;
    f->srv.token = "s3cret";
    struct reply r = call(f, "GET", PODS, NULL);
    assert_int_equal(r.status, 401);
    assert_string_equal(reply_reason(&r), "Unauthorized");
    reply_free(&r);
    struct rest_request req = {.method = "GET", .target = PODS, .authorization = "Bearer s3cret"};
    struct rest_response resp;
    rest_handle(&f->srv, &req, &resp);
    assert_int_equal(resp.status, 200);
    rest_response_release(&resp);
    req.authorization = "Bearer s3cre";
    rest_handle(&f->srv, &req, &resp);
    assert_int_equal(resp.status, 401);
    rest_response_release(&resp);
    /* Health and version stay public, as the API server's are. */
    r = call(f, "GET", "/healthz", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.text, "ok");
    reply_free(&r);
    r = call(f, "GET", "/version", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(reply_at(&r, ".minor")), "32");
    reply_free(&r);
    /* ... for reads only: a body sent there is not read without the token. */
    req = (struct rest_request){.method = "POST", .target = "/healthz"};
    assert_false(rest_admits(&f->srv, &req, &resp));
    assert_int_equal(resp.status, 401);
    rest_response_release(&resp);
    assert_false(rest_authenticated(&f->srv, &req));
    req.authorization = "Bearer s3cret";
    assert_true(rest_authenticated(&f->srv, &req));
    f->srv.token = NULL;
    req.authorization = NULL;
    assert_true(rest_authenticated(&f->srv, &req)); /* no token asked for */
}

/* issue 19: a 100 KB target was answered by libmicrohttpd with an HTML
 * page; here it is a Status, before authentication as a transport limit. */
static void an_over_long_target_is_a_status(void **state)
{
    struct fixture *f = *state;
    f->srv.token = "s3cret";
    size_t n = 100000;
    char *target = malloc(n + 1);
    memset(target, 'a', n);
    memcpy(target, PODS "/", strlen(PODS "/"));
    target[n] = '\0';
    expect_status(f, "GET", target, NULL, 414, "RequestURITooLong");
    target[REST_MAX_TARGET_BYTES] = '\0'; /* at the limit: served (here, refused unauthenticated) */
    expect_status(f, "GET", target, NULL, 401, "Unauthorized");
    f->srv.token = NULL;
    free(target);
}

static void accept_negotiation(void **state)
{
    struct fixture *f = *state;
    struct reply r = rest_call(f, "GET", PODS, NULL, "application/vnd.kubernetes.protobuf", NULL,
                               NULL);
    assert_int_equal(r.status, 406);
    assert_string_equal(reply_reason(&r), "NotAcceptable");
    reply_free(&r);
    r = rest_call(f, "GET", PODS, NULL, "application/vnd.kubernetes.protobuf, */*", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(reply_at(&r, ".kind")), "PodList");
    reply_free(&r);
}

static void list_paging(void **state)
{
    struct fixture *f = *state;
    char body[256];
    for (int i = 0; i < 5; i++) {
        snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"cm%d\"},\"data\":{\"k\":\"v\"}}", i);
        struct reply r = call(f, "POST", "/api/v1/namespaces/default/configmaps", body);
        assert_int_equal(r.status, 201);
        reply_free(&r);
    }
    char target[512] = "/api/v1/namespaces/default/configmaps?limit=2";
    int seen = 0;
    for (int page = 0; page < 3; page++) {
        struct reply r = call(f, "GET", target, NULL);
        assert_int_equal(r.status, 200);
        const json_t *items = reply_at(&r, ".items");
        for (size_t i = 0; i < json_array_size(items); i++) {
            char want[16];
            snprintf(want, sizeof want, "cm%d", seen++);
            const json_t *md = json_object_get(json_array_get(items, i), "metadata");
            assert_string_equal(json_string_value(json_object_get(md, "name")), want);
        }
        const char *cont = json_string_value(reply_at(&r, ".metadata.continue"));
        if (page < 2) {
            assert_non_null(cont);
            snprintf(target, sizeof target,
                     "/api/v1/namespaces/default/configmaps?limit=2&continue=%s", cont);
        } else {
            assert_null(cont);
        }
        reply_free(&r);
    }
    assert_int_equal(seen, 5);
    expect_status(f, "GET", "/api/v1/namespaces/default/configmaps?limit=2&continue=%21bogus",
                  NULL, 400, "BadRequest");
}

static const json_t *column_named(const json_t *table, const char *name, size_t *index)
{
    const json_t *cols = json_object_get(table, "columnDefinitions");
    for (size_t i = 0; i < json_array_size(cols); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(cols, i), "name")), name) ==
            0) {
            *index = i;
            return json_array_get(cols, i);
        }
    return NULL;
}

static const char *cell(const json_t *table, size_t row, const char *column)
{
    size_t i;
    if (!column_named(table, column, &i))
        return NULL;
    const json_t *cells = json_object_get(json_array_get(json_object_get(table, "rows"), row),
                                          "cells");
    return json_string_value(json_array_get(cells, i));
}

static void tables_for_lists_and_objects(void **state)
{
    struct fixture *f = *state;
    create_pod(f, POD("web"));
    f->now_ns += 150LL * 1000000000; /* 2m30s later */
    struct reply r = rest_call(f, "GET", PODS, NULL, TABLE_ACCEPT, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(reply_at(&r, ".kind")), "Table");
    assert_string_equal(json_string_value(reply_at(&r, ".apiVersion")), "meta.k8s.io/v1");
    assert_string_equal(cell(r.json, 0, "Name"), "web");
    assert_string_equal(cell(r.json, 0, "Ready"), "0/1");
    assert_string_equal(cell(r.json, 0, "Status"), "Pending");
    assert_string_equal(cell(r.json, 0, "Age"), "2m30s");
    size_t i;
    assert_int_equal(json_integer_value(json_object_get(column_named(r.json, "Node", &i),
                                                        "priority")), 1);
    assert_string_equal(json_string_value(reply_at(&r, ".rows[0].object.kind")),
                        "PartialObjectMetadata");
    assert_non_null(reply_at(&r, ".metadata.resourceVersion"));
    reply_free(&r);

    r = rest_call(f, "GET", PODS "/web?includeObject=None", NULL, TABLE_ACCEPT, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(reply_at(&r, ".rows")), 1);
    assert_null(reply_at(&r, ".rows[0].object"));
    reply_free(&r);

    r = rest_call(f, "GET", "/api/v1/namespaces", NULL,
                  "application/json;as=Table;v=v1beta1;g=meta.k8s.io", NULL, NULL);
    assert_string_equal(json_string_value(reply_at(&r, ".apiVersion")), "meta.k8s.io/v1beta1");
    assert_int_equal(json_array_size(reply_at(&r, ".rows")), 4);
    assert_string_equal(cell(r.json, 0, "Status"), "Active");
    reply_free(&r);

    r = rest_call(f, "GET", PODS, NULL,
                  "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", NULL, NULL);
    assert_string_equal(json_string_value(reply_at(&r, ".kind")), "PartialObjectMetadataList");
    assert_string_equal(json_string_value(reply_at(&r, ".items[0].metadata.name")), "web");
    assert_null(reply_at(&r, ".items[0].spec"));
    reply_free(&r);
}

#define CRD_BODY                                                                           \
    "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","    \
    "\"metadata\":{\"name\":\"widgets.example.com\"},\"spec\":{\"group\":\"example.com\","  \
    "\"scope\":\"Namespaced\",\"names\":{\"plural\":\"widgets\",\"singular\":\"widget\","    \
    "\"kind\":\"Widget\"},\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,"  \
    "\"additionalPrinterColumns\":[{\"name\":\"Size\",\"type\":\"integer\",\"jsonPath\":"    \
    "\".spec.size\"},{\"name\":\"Ready\",\"type\":\"string\",\"jsonPath\":"                  \
    "\".status.conditions[?(@.type==\\\"Ready\\\")].status\"},{\"name\":\"Age\",\"type\":" \
    "\"date\",\"jsonPath\":\".metadata.creationTimestamp\"}]}]}}"
#define WIDGETS "/apis/example.com/v1/namespaces/default/widgets"

static void crd_becomes_served(void **state)
{
    struct fixture *f = *state;
    expect_status(f, "GET", WIDGETS, NULL, 404, "NotFound");
    struct reply r = call(f, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                          CRD_BODY);
    assert_int_equal(r.status, 201);
    reply_free(&r);
    r = call(f, "GET", "/apis/example.com/v1", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(reply_at(&r, ".resources[0].name")), "widgets");
    reply_free(&r);
    r = call(f, "POST", WIDGETS, "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Widget\","
                                 "\"metadata\":{\"name\":\"w1\"},\"spec\":{\"size\":3},"
                                 "\"status\":{\"conditions\":[{\"type\":\"Ready\","
                                 "\"status\":\"True\"}]}}");
    assert_int_equal(r.status, 201);
    reply_free(&r);
    r = rest_call(f, "GET", WIDGETS, NULL, TABLE_ACCEPT, NULL, NULL);
    assert_int_equal(r.status, 200);
    size_t i = 0;
    assert_non_null(column_named(r.json, "Size", &i));
    assert_int_equal(json_integer_value(json_array_get(reply_at(&r, ".rows[0].cells"), i)), 3);
    assert_string_equal(cell(r.json, 0, "Age"), "0s");
    reply_free(&r);
    /* Custom resources take no strategic merge patch, as in Kubernetes. */
    r = rest_call(f, "PATCH", WIDGETS "/w1", "application/strategic-merge-patch+json", NULL,
                  "{\"spec\":{\"size\":4}}", NULL);
    assert_int_equal(r.status, 415);
    reply_free(&r);
    r = call(f, "DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                          "widgets.example.com", NULL);
    assert_true(r.status == 200);
    reply_free(&r);
    expect_status(f, "GET", WIDGETS, NULL, 404, "NotFound");
}

static void patch_types(void **state)
{
    struct fixture *f = *state;
    create_pod(f, POD("web"));
    struct reply r = rest_call(f, "PATCH", PODS "/web", "application/merge-patch+json", NULL,
                               "{\"metadata\":{\"labels\":{\"m\":\"1\"}}}", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(reply_at(&r, ".metadata.labels.m")), "1");
    reply_free(&r);
    r = rest_call(f, "PATCH", PODS "/web", "application/json-patch+json", NULL,
                  "[{\"op\":\"add\",\"path\":\"/metadata/labels/j\",\"value\":\"2\"}]", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(reply_at(&r, ".metadata.labels.j")), "2");
    reply_free(&r);
    r = rest_call(f, "PATCH", PODS "/web", "application/json-patch+json", NULL,
                  "[{\"op\":\"test\",\"path\":\"/metadata/labels/j\",\"value\":\"9\"}]", NULL);
    assert_int_equal(r.status, 422);
    reply_free(&r);
    r = rest_call(f, "PATCH", PODS "/web", "application/strategic-merge-patch+json", NULL,
                  "{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:2\"}]}}", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(reply_at(&r, ".spec.containers[0].image")), "nginx:2");
    assert_int_equal(json_array_size(reply_at(&r, ".spec.containers")), 1);
    reply_free(&r);
    r = rest_call(f, "PATCH", PODS "/web", "application/merge-patch+json", NULL, "{\"a\":", NULL);
    assert_int_equal(r.status, 400);
    reply_free(&r);
    r = rest_call(f, "PATCH", PODS "/ghost", "application/merge-patch+json", NULL, "{}", NULL);
    assert_int_equal(r.status, 404);
    reply_free(&r);
}

static void server_side_apply(void **state)
{
    struct fixture *f = *state;
    const char *yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: '1'\n";
    const char *target = "/api/v1/namespaces/default/configmaps/cfg?fieldManager=test";
    struct reply r = rest_call(f, "PATCH", target, "application/apply-patch+yaml", NULL, yaml,
                               NULL);
    assert_int_equal(r.status, 201);
    assert_string_equal(json_string_value(reply_at(&r, ".data.a")), "1");
    reply_free(&r);
    r = rest_call(f, "PATCH", target, "application/apply-patch+yaml", NULL,
                  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: '2'\n",
                  NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(reply_at(&r, ".data.a")), "2");
    reply_free(&r);
    r = rest_call(f, "PATCH", target, "application/apply-patch+yaml", NULL, "a: [\n", NULL);
    assert_int_equal(r.status, 400);
    reply_free(&r);
    r = rest_call(f, "PATCH", target, "application/apply-patch+yaml", NULL, "a: 1\n---\nb: 2\n",
                  NULL);
    assert_int_equal(r.status, 400);
    reply_free(&r);
}

static void binding_and_status(void **state)
{
    struct fixture *f = *state;
    create_pod(f, POD("web"));
    const char *binding = "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":"
                          "\"web\"},\"target\":{\"kind\":\"Node\",\"name\":\"n1\"}}";
    struct reply r = call(f, "POST", PODS "/web/binding", binding);
    assert_int_equal(r.status, 201);
    assert_string_equal(json_string_value(reply_at(&r, ".status")), "Success");
    reply_free(&r);
    r = call(f, "GET", PODS "/web", NULL);
    assert_string_equal(json_string_value(reply_at(&r, ".spec.nodeName")), "n1");
    reply_free(&r);
    expect_status(f, "POST", PODS "/web/binding", binding, 409, "Conflict");
    expect_status(f, "POST", PODS "/web/binding", "{\"target\":{}}", 422, "Invalid");
    expect_status(f, "GET", PODS "/web/binding", NULL, 405, "MethodNotAllowed");
    expect_status(f, "POST", "/api/v1/namespaces/default/configmaps/x/binding", binding, 404,
                  "NotFound");

    r = rest_call(f, "PATCH", PODS "/web/status", "application/merge-patch+json", NULL,
                  "{\"status\":{\"phase\":\"Running\"},\"metadata\":{\"labels\":{\"x\":\"y\"}}}",
                  NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(reply_at(&r, ".status.phase")), "Running");
    assert_null(reply_at(&r, ".metadata.labels.x"));
    reply_free(&r);
    expect_status(f, "GET", "/api/v1/namespaces/default/configmaps/x/status", NULL, 404,
                  "NotFound");
    expect_status(f, "DELETE", PODS "/web/status", NULL, 405, "MethodNotAllowed");
}

static void deletes(void **state)
{
    struct fixture *f = *state;
    create_pod(f, POD("a"));
    create_pod(f, POD("b"));
    create_pod(f, "{\"metadata\":{\"name\":\"c\",\"labels\":{\"app\":\"db\"}},\"spec\":{"
                  "\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}");
    struct reply r = call(f, "DELETE", PODS "/a?dryRun=All", NULL);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    r = call(f, "GET", PODS "/a", NULL);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    expect_status(f, "DELETE", PODS "/a", "{\"kind\":\"DeleteOptions\",\"propagationPolicy\":"
                                          "\"Nowhere\"}", 422, "Invalid");
    expect_status(f, "DELETE", PODS "/a", "{\"preconditions\":{\"uid\":\"not-it\"}}", 409,
                  "Conflict");
    expect_status(f, "DELETE", PODS "/a", "not json", 400, "BadRequest");
    r = call(f, "DELETE", PODS "/a", "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\","
                                     "\"propagationPolicy\":\"Background\"}");
    assert_int_equal(r.status, 200);
    reply_free(&r);
    r = call(f, "DELETE", PODS "?labelSelector=app%3Dweb", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(reply_at(&r, ".kind")), "PodList");
    assert_int_equal(json_array_size(reply_at(&r, ".items")), 1);
    assert_string_equal(json_string_value(reply_at(&r, ".items[0].metadata.name")), "b");
    reply_free(&r);
    r = call(f, "GET", PODS, NULL);
    assert_int_equal(json_array_size(reply_at(&r, ".items")), 1);
    reply_free(&r);
}

/* A Namespace named "pb" as kubectl create namespace sends it. */
static const char namespace_pb[] = {
    'k', '8', 's', 0,
    0x0a, 0x0f, 0x0a, 0x02, 'v', '1', 0x12, 0x09, 'N', 'a', 'm', 'e', 's', 'p', 'a', 'c', 'e',
    0x12, 0x0c, 0x0a, 0x08, 0x0a, 0x02, 'p', 'b', 0x1a, 0x00, 0x42, 0x00, 0x12, 0x00,
    0x1a, 0x00, 0x1a, 0x00, 0x22, 0x00,
};

static void protobuf_create(void **state)
{
    struct fixture *f = *state;
    struct rest_request req = {
        .method = "POST",
        .target = "/api/v1/namespaces?fieldManager=kubectl-create",
        .content_type = "application/vnd.kubernetes.protobuf",
        .accept = "application/vnd.kubernetes.protobuf,application/json",
        .body = namespace_pb,
        .body_len = sizeof namespace_pb,
    };
    struct rest_response resp;
    rest_handle(&f->srv, &req, &resp);
    assert_int_equal(resp.status, 201);
    assert_non_null(strstr(resp.body, "\"name\":\"pb\""));
    rest_response_release(&resp);
    req.body_len = 10;
    rest_handle(&f->srv, &req, &resp);
    assert_int_equal(resp.status, 400);
    rest_response_release(&resp);
}

static void discovery_documents(void **state)
{
    struct fixture *f = *state;
    struct reply r = call(f, "GET", "/api", NULL);
    assert_string_equal(json_string_value(reply_at(&r, ".versions[0]")), "v1");
    reply_free(&r);
    r = call(f, "GET", "/apis", NULL);
    assert_string_equal(json_string_value(reply_at(&r, ".kind")), "APIGroupList");
    assert_true(json_array_size(reply_at(&r, ".groups")) >= 6);
    reply_free(&r);
    r = call(f, "GET", "/apis/gpuslice.dev", NULL);
    assert_string_equal(json_string_value(reply_at(&r, ".preferredVersion.groupVersion")),
                        "gpuslice.dev/v1alpha1");
    reply_free(&r);
    expect_status(f, "GET", "/apis/nope.io", NULL, 404, "NotFound");
    expect_status(f, "GET", "/api/v2", NULL, 404, "NotFound");
    expect_status(f, "POST", "/api", "{}", 405, "MethodNotAllowed");
    r = call(f, "GET", "/api/v1", NULL);
    bool pods = false, status = false, binding = false;
    const json_t *res = reply_at(&r, ".resources");
    for (size_t i = 0; i < json_array_size(res); i++) {
        const char *name = json_string_value(json_object_get(json_array_get(res, i), "name"));
        pods |= strcmp(name, "pods") == 0;
        status |= strcmp(name, "pods/status") == 0;
        binding |= strcmp(name, "pods/binding") == 0;
    }
    assert_true(pods && status && binding);
    reply_free(&r);
    r = call(f, "GET", "/", NULL);
    assert_true(json_array_size(reply_at(&r, ".paths")) > 8);
    reply_free(&r);
}

static void openapi_documents(void **state)
{
    struct fixture *f = *state;
    struct reply r = call(f, "GET", "/openapi/v3", NULL);
    const char *url = json_string_value(reply_at(&r, ".paths.api/v1.serverRelativeURL"));
    assert_non_null(url);
    assert_int_equal(strncmp(url, "/openapi/v3/api/v1?hash=", 24), 0);
    char *copy = strdup(url);
    reply_free(&r);
    r = call(f, "GET", copy, NULL);
    free(copy);
    assert_int_equal(r.status, 200);
    const json_t *patch = json_object_get(
        json_object_get(reply_at(&r, ".paths"), "/api/v1/namespaces/{namespace}/pods/{name}"),
        "patch");
    assert_non_null(patch);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(patch, "x-kubernetes-group-version-kind"), "kind")),
                        "Pod");
    bool field_validation = false;
    const json_t *params = json_object_get(patch, "parameters");
    for (size_t i = 0; i < json_array_size(params); i++)
        field_validation |= strcmp(json_string_value(json_object_get(json_array_get(params, i),
                                                                     "name")),
                                   "fieldValidation") == 0;
    assert_true(field_validation);
    reply_free(&r);
    expect_status(f, "GET", "/openapi/v3/apis/nope.io/v1", NULL, 404, "NotFound");
    expect_status(f, "GET", "/openapi/v2", NULL, 404, "NotFound");
}

static void watch_stream(void **state)
{
    struct fixture *f = *state;
    create_pod(f, POD("a"));
    struct watchstream *ws = NULL;
    struct reply r = rest_call(f, "GET", PODS "?watch=true&timeoutSeconds=1", NULL, NULL, NULL,
                               &ws);
    assert_int_equal(r.status, 200);
    assert_non_null(ws);
    reply_free(&r);
    create_pod(f, POD("b"));
    char *out = stream_drain(ws, 3000);
    watchstream_free(ws);
    /* The synthetic ADDED for what exists, then the change, one per line. */
    char *nl = strchr(out, '\n');
    assert_non_null(nl);
    assert_int_equal(strncmp(out, "{\"type\":\"ADDED\",\"object\":{", 26), 0);
    assert_non_null(strstr(nl + 1, "\"name\":\"b\""));
    assert_int_equal(out[strlen(out) - 1], '\n');
    free(out);

    /* From a compacted resourceVersion: an ERROR event carrying 410 Expired. */
    mem_store_compact(f->st);
    ws = NULL;
    r = rest_call(f, "GET", PODS "?watch=1&resourceVersion=1", NULL, NULL, NULL, &ws);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    out = stream_drain(ws, 3000);
    watchstream_free(ws);
    json_t *ev = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
    assert_string_equal(json_string_value(json_object_get(ev, "type")), "ERROR");
    json_t *st = json_object_get(ev, "object");
    assert_int_equal(json_integer_value(json_object_get(st, "code")), 410);
    assert_string_equal(json_string_value(json_object_get(st, "reason")), "Expired");
    json_decref(ev);
    free(out);

    expect_status(f, "GET", PODS "?watch=true&timeoutSeconds=x", NULL, 400, "BadRequest");
    expect_status(f, "GET", PODS "?watch=true&labelSelector=%3D%3D", NULL, 400, "BadRequest");
}

/* From a resourceVersion the server has not reached (a client that outlived
 * a restarted server): silence while the store waits for it, then the
 * ERROR event kube-apiserver sends, which clients read as "relist". */
static void watch_from_a_future_version(void **state)
{
    struct fixture *f = *state;
    create_pod(f, POD("a"));
    unsigned long long now = (unsigned long long)mem_store_revision(f->st);
    char target[256];
    snprintf(target, sizeof target, PODS "?watch=1&resourceVersion=%llu", now + 100);
    struct watchstream *ws = NULL;
    struct reply r = rest_call(f, "GET", target, NULL, NULL, NULL, &ws);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    char buf[256];
    assert_int_equal(watchstream_read(ws, buf, sizeof buf, 0), 0); /* still waiting */
    f->now_ns += MEM_STORE_FUTURE_WAIT_NS;
    char *out = stream_drain(ws, 3000);
    watchstream_free(ws);
    json_t *ev = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
    assert_string_equal(json_string_value(json_object_get(ev, "type")), "ERROR");
    json_t *st = json_object_get(ev, "object");
    assert_int_equal(json_integer_value(json_object_get(st, "code")), 504);
    assert_string_equal(json_string_value(json_object_get(st, "reason")), "Timeout");
    char want[128];
    snprintf(want, sizeof want, "Timeout: Too large resource version: %llu, current: %llu",
             now + 100, now);
    assert_string_equal(json_string_value(json_object_get(st, "message")), want);
    json_t *cause = json_array_get(json_object_get(json_object_get(st, "details"), "causes"), 0);
    assert_string_equal(json_string_value(json_object_get(cause, "reason")),
                        "ResourceVersionTooLarge");
    json_decref(ev);
    free(out);
}

static void watch_as_table(void **state)
{
    struct fixture *f = *state;
    create_pod(f, POD("a"));
    struct watchstream *ws = NULL;
    struct reply r = rest_call(f, "GET", PODS "?watch=true&timeoutSeconds=1&fieldSelector="
                                      "metadata.name%3Da", NULL, TABLE_ACCEPT, NULL, &ws);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    char *out = stream_drain(ws, 3000);
    watchstream_free(ws);
    json_t *ev = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
    assert_string_equal(json_string_value(json_object_get(ev, "type")), "ADDED");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "object"), "kind")),
                        "Table");
    json_decref(ev);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(crud_round_trip, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(errors_are_statuses, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(status_names_the_object, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(body_limit_and_auth, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(an_over_long_target_is_a_status,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(accept_negotiation, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(list_paging, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(tables_for_lists_and_objects,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(crd_becomes_served, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(patch_types, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(server_side_apply, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(binding_and_status, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(deletes, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(protobuf_create, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(discovery_documents, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(openapi_documents, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(watch_stream, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(watch_from_a_future_version,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(watch_as_table, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
